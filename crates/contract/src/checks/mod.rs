//! The checks: each has a stable name and a one-line description, and is
//! counted on its own. Checks are grouped into *suites* (one module each)
//! that share the requests they make; a suite runs when any of its checks
//! is selected.

pub mod auth;
pub mod control;
pub mod isolation;
pub mod listing;
pub mod payment_accounts;
pub mod payouts;
pub mod rejection;
pub mod sandbox_outcomes;
pub mod stateful;
pub mod transport;

pub use crate::catalogue::*;
use crate::engine::Suite;

/// The wallet in `currency` of a `GET /wallets` answer.
pub fn wallet_in<'a>(
    wallets: &'a crate::http::Exchange,
    currency: &str,
) -> Option<&'a serde_json::Value> {
    wallets.json()?["data"]
        .as_array()?
        .iter()
        .find(|w| w["currency"] == currency)
}

/// The decimal string at `pointer` in `json` (amounts, balances).
pub fn decimal_at(json: &serde_json::Value, pointer: &str) -> Option<rust_decimal::Decimal> {
    json.pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .and_then(|s| s.parse().ok())
}

/// The suites, in report order: the table the engine runs.
pub fn suites() -> Vec<Suite> {
    vec![
        Suite {
            name: "auth",
            checks: auth::CHECKS,
            run: |ctx| Box::pin(auth::run(ctx)),
        },
        Suite {
            name: "transport",
            checks: transport::CHECKS,
            run: |ctx| Box::pin(transport::run(ctx)),
        },
        Suite {
            name: "payouts",
            checks: payouts::CHECKS,
            run: |ctx| Box::pin(payouts::run(ctx)),
        },
        Suite {
            name: "payment_accounts",
            checks: payment_accounts::CHECKS,
            run: |ctx| Box::pin(payment_accounts::run(ctx)),
        },
        Suite {
            name: "listing",
            checks: listing::CHECKS,
            run: |ctx| Box::pin(listing::run(ctx)),
        },
        Suite {
            name: "isolation",
            checks: isolation::CHECKS,
            run: |ctx| Box::pin(isolation::run(ctx)),
        },
        Suite {
            name: "stateful",
            checks: stateful::CHECKS,
            run: |ctx| Box::pin(stateful::run(ctx)),
        },
        Suite {
            name: "sandbox_outcomes",
            checks: sandbox_outcomes::CHECKS,
            run: |ctx| Box::pin(sandbox_outcomes::run(ctx)),
        },
    ]
}
