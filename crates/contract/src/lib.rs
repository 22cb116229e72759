//! `rafiki-contract`: checks that a server really speaks the Rafiki payouts
//! API: status codes, schemas, validation, paging, dates, auth and tenant
//! isolation, over HTTP only, so it works against any implementation (the
//! provider's sandbox, a staging deployment, our `rafiki-mock`).
//!
//! - [`run`] is the whole suite as a library call (for a `cargo test`);
//!   the `rafiki-contract` binary wraps it in a CI-friendly CLI.
//! - Each check ([`CHECKS`]) has a stable name and is counted on its own;
//!   checks that cannot run against a server are *skipped* with the
//!   reason, never passed.
//! - Generated checks use proptest with the `rafiki-rules` strategies; a
//!   failure is shrunk to its smallest input and reported with a curl
//!   reproduction (the key as `$RAFIKI_API_KEY`) and the seed that replays it.
//! - [`Proxy`] holds an application's own traffic to the same contract.
//! - [`check_receiver`] holds an application's webhook receiver to the
//!   webhook contract ([`WEBHOOK_CHECKS`]).
//!
//! The modules, bottom up (a test, `tests/layers.rs`, keeps each from
//! importing one above it): `http` (the exchange model and the transport),
//! `catalogue` (what each check is) and `coverage`, `report` (recording
//! and rendering), `judge` (every answer against the spec), `engine` (a
//! run of whatever suites it is handed), `checks` (the suites and their
//! table), `proxy` (an application's traffic) and `webhooks` (an
//! application's webhook receiver), then [`run`] here.

mod catalogue;
mod checks;
mod coverage;
mod engine;
mod http;
mod judge;
mod proxy;
mod report;
mod webhooks;

pub use catalogue::{ALL as CHECKS, CheckInfo, DEFAULT_MAX_EXAMPLES};
pub use coverage::{Coverage, Seen};
pub use engine::{
    ConfigError, DEFAULT_MAX_DURATION, Event, Progress, RunConfig, RunError, SandboxValues,
    fixture_payout,
};
pub use proxy::{
    DEFAULT_POLL_FLOOR, DEFAULT_RETRY_WINDOW, Proxy, ProxyConfig, own_checks as proxy_checks,
};
pub use report::{
    Cause, CheckResult, Failure, FailureNotice, RateLimits, Report, Spent, Totals, Verdicts,
};
pub use webhooks::{WEBHOOK_CHECKS, WebhookConfig, WebhookError, check_receiver};

/// Runs every selected check against the server in `config`.
pub async fn run(config: &RunConfig) -> Result<Report, RunError> {
    run_observed(config, |_| {}).await
}

/// [`run`], telling `observe` each time a suite finishes (for progress
/// bars), each failure as it is found, and what the run expects to spend.
pub async fn run_observed(
    config: &RunConfig,
    observe: impl Fn(Event) + Send + Sync + 'static,
) -> Result<Report, RunError> {
    engine::run(config, checks::suites(), observe).await
}
