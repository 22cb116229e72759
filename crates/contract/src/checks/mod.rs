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
