//! Pre-validation: a request is checked offline with `rafiki-rules` and the
//! compliance data (`spec/compliance.yaml`) before it is sent, so a payout
//! that any server would refuse costs no round trip.
//!
//! A request is refused here only when the *documented* contract refuses it
//! ([`rafiki_rules::documented`]): our stricter readings (leading zeros,
//! blank text, an unserved country, ...) and what only the server can judge
//! (an unknown `payment_account_id`, a wallet of another currency) are left
//! to the server. The refusal is the error the server would give: a 422
//! [`Error::Validation`] with the same `errors.fields` paths and reasons, and
//! [`ErrorResponse::refused_locally`] set.
//!
//! Amount limits depend on where the money goes. For a payout to an existing
//! `payment_account_id`, the client knows the destination only if it has
//! seen that account (created, found or listed it); otherwise the limits
//! are left to the server.

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;

use rafiki_rules::documented::documented_only;
use rafiki_rules::wire::AccountType;
use rafiki_rules::{
    ComplianceTable, Destination, NoPaymentAccounts, PaymentAccountLookup, Violations,
};

use crate::generated::types;
use crate::{Error, ErrorResponse};

/// How many payment accounts a client remembers the destination of (about
/// 100 bytes each); accounts seen after that get their limits checked by
/// the server only.
const KNOWN_ACCOUNTS_CAP: usize = 10_000;

/// Checks a payout the way the server would, without sending it.
///
/// `Ok(())` means nothing the documented contract refuses was found; the
/// server may still refuse it for what only it can know (the account's
/// existence, the wallet's balance). For a `payment_account_id` the amount
/// limits are not checked here (the destination is unknown); a
/// [`RafikiClient`](crate::RafikiClient) checks them for accounts it has seen.
pub fn validate_payout(request: &types::PayoutCreateRequest) -> Result<(), Error> {
    check_payout(request, &NoPaymentAccounts)
}

/// Checks a payment account the way the server would, without sending it.
pub fn validate_payment_account(request: &types::PaymentAccountRequest) -> Result<(), Error> {
    let body = to_body(request)?;
    let found = rafiki_rules::validate_payment_account(&body, ComplianceTable::builtin())
        .err()
        .unwrap_or_default();
    refuse(&body, &found)
}

/// The destinations of the payment accounts one client has seen.
#[derive(Debug, Default)]
pub(crate) struct KnownAccounts(Mutex<HashMap<String, Destination>>);

impl KnownAccounts {
    /// Remembers where `account` sends money.
    pub(crate) fn learn(&self, account: &types::PaymentAccount) {
        let kind =
            serde_json::to_value(account.type_).and_then(serde_json::from_value::<AccountType>);
        let Ok(account_type) = kind else { return };
        let mut known = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if known.len() < KNOWN_ACCOUNTS_CAP || known.contains_key(account.id.as_str()) {
            let country = account.country.to_string();
            known.insert(
                account.id.to_string(),
                Destination {
                    country,
                    account_type,
                },
            );
        }
    }

    /// Checks a payout, with the amount limits of the accounts seen.
    pub(crate) fn validate_payout(
        &self,
        request: &types::PayoutCreateRequest,
    ) -> Result<(), Error> {
        check_payout(request, self)
    }
}

impl PaymentAccountLookup for KnownAccounts {
    fn destination(&self, payment_account_id: &str) -> Option<Destination> {
        let known = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        known.get(payment_account_id).cloned()
    }
}

fn check_payout(
    request: &types::PayoutCreateRequest,
    accounts: &dyn PaymentAccountLookup,
) -> Result<(), Error> {
    let body = to_body(request)?;
    let found = rafiki_rules::validate_payout_create(&body, ComplianceTable::builtin(), accounts)
        .err()
        .unwrap_or_default();
    refuse(&body, &found)
}

/// The request as the server reads it: its JSON body.
fn to_body(request: &impl Serialize) -> Result<Value, Error> {
    serde_json::to_value(request).map_err(|e| Error::InvalidRequest(e.to_string()))
}

/// The server's 422 for what the documented contract refuses in `found`,
/// if anything.
fn refuse(body: &Value, found: &Violations) -> Result<(), Error> {
    let mut refused = Violations::new();
    for violation in documented_only(found, body).into_iter() {
        if !violation.rule.depends_on_server_state() {
            refused.push(violation);
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    let body = serde_json::to_value(refused.to_error_body())
        .and_then(serde_json::from_value::<types::Error>)
        .map_err(|e| Error::InvalidRequest(format!("could not state the refusal: {e}")))?;
    Err(Error::Validation(ErrorResponse {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        body,
        retry_after: None,
        refused_locally: true,
    }))
}
