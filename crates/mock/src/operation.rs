//! The API's seven operations, named by the spec's `operationId`s, each
//! with its method and route. The router is built from this table, and
//! faults ([`crate::faults`]) and the request journal name operations by
//! it; a test holds it equal to `spec/openapi.yaml`.

use std::fmt;
use std::str::FromStr;

use axum::http::Method;

/// One operation of the API under `/v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    ListBanks,
    ListWallets,
    ListPaymentAccounts,
    GetOrCreatePaymentAccount,
    ListPayouts,
    CreatePayout,
    GetPayout,
}

/// Where the API lives: every operation's route starts with it.
pub const API_PREFIX: &str = "/v1";

/// Where an operation's route has its path parameter.
const PATH_PARAMETER: &str = "{id}";

impl Operation {
    /// Every operation, in the order of `docs/contract.md`'s table.
    pub const ALL: [Operation; 7] = [
        Operation::ListBanks,
        Operation::ListWallets,
        Operation::ListPaymentAccounts,
        Operation::GetOrCreatePaymentAccount,
        Operation::ListPayouts,
        Operation::CreatePayout,
        Operation::GetPayout,
    ];

    /// Its `operationId` in `spec/openapi.yaml`.
    pub fn id(self) -> &'static str {
        self.entry().0
    }

    /// Its HTTP method.
    pub fn method(self) -> Method {
        self.entry().1
    }

    /// Its route as the router writes it, `/v1` included
    /// (`/v1/payouts/{id}`).
    pub fn route(self) -> &'static str {
        self.entry().2
    }

    /// Its place in [`Operation::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The operation a request with this method and path is for: the
    /// method is the operation's, and the path its route with any
    /// non-empty segment in place of `{id}`.
    pub fn of(method: &Method, path: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| {
            op.method() == *method && {
                let (mut route, mut given) = (op.route().split('/'), path.split('/'));
                loop {
                    match (route.next(), given.next()) {
                        (None, None) => break true,
                        (Some(PATH_PARAMETER), Some(segment)) if !segment.is_empty() => {}
                        (Some(expected), Some(segment)) if expected == segment => {}
                        _ => break false,
                    }
                }
            }
        })
    }

    /// The one table: operationId, method, route.
    fn entry(self) -> (&'static str, Method, &'static str) {
        match self {
            Operation::ListBanks => ("list_banks", Method::GET, "/v1/banks"),
            Operation::ListWallets => ("list_wallets", Method::GET, "/v1/wallets"),
            Operation::ListPaymentAccounts => {
                ("list_payment_accounts", Method::GET, "/v1/payment-accounts")
            }
            Operation::GetOrCreatePaymentAccount => (
                "get_or_create_payment_account",
                Method::POST,
                "/v1/payment-accounts",
            ),
            Operation::ListPayouts => ("list_payouts", Method::GET, "/v1/payouts"),
            Operation::CreatePayout => ("create_payout", Method::POST, "/v1/payouts"),
            Operation::GetPayout => ("get_payout", Method::GET, "/v1/payouts/{id}"),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// An operationId that is none of the API's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown operation `{0}`: expected one of {ids}", ids = ids())]
pub struct UnknownOperation(pub String);

/// The operationIds, comma-separated (for error messages).
pub(crate) fn ids() -> String {
    let ids: Vec<&str> = Operation::ALL.iter().map(|op| op.id()).collect();
    ids.join(", ")
}

impl FromStr for Operation {
    type Err = UnknownOperation;

    fn from_str(id: &str) -> Result<Self, UnknownOperation> {
        Operation::ALL
            .into_iter()
            .find(|op| op.id() == id)
            .ok_or_else(|| UnknownOperation(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_map_to_their_operation() {
        let cases = [
            (Method::GET, "/v1/banks", Some(Operation::ListBanks)),
            (Method::POST, "/v1/payouts", Some(Operation::CreatePayout)),
            (Method::GET, "/v1/payouts", Some(Operation::ListPayouts)),
            (Method::GET, "/v1/payouts/pyt-1", Some(Operation::GetPayout)),
            (
                Method::POST,
                "/v1/payment-accounts",
                Some(Operation::GetOrCreatePaymentAccount),
            ),
            (Method::GET, "/v1/payouts/", None),
            (Method::GET, "/v1/payouts/pyt-1/x", None),
            (Method::DELETE, "/v1/payouts", None),
            (Method::POST, "/v1/payouts/pyt-1", None),
            (Method::GET, "/v1/bank", None),
            (Method::GET, "/_sandbox/health", None),
        ];
        for (method, path, expected) in cases {
            assert_eq!(Operation::of(&method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn every_route_is_under_the_api_prefix() {
        for op in Operation::ALL {
            assert!(op.route().starts_with(&format!("{API_PREFIX}/")), "{op}");
        }
    }

    #[test]
    fn ids_round_trip() {
        for op in Operation::ALL {
            assert_eq!(op.id().parse::<Operation>(), Ok(op));
            assert_eq!(Operation::ALL[op.index()], op);
        }
        let error = "create_payouts".parse::<Operation>().unwrap_err();
        assert!(
            error.to_string().contains("create_payout, get_payout"),
            "{error}"
        );
    }
}
