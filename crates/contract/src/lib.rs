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
//!
//! The modules, bottom up: `http` (requests and answers on the wire),
//! `checks::conformance` and `report` (judging and recording), `runner`,
//! `property` and `spending` (the engine), `checks` (the suites), `proxy`.

mod banks;
mod checks;
mod config;
mod coverage;
mod http;
mod property;
mod proxy;
mod report;
mod runner;
mod spending;

pub use checks::{ALL as CHECKS, CheckInfo};
pub use config::{ConfigError, DEFAULT_MAX_DURATION, RunConfig, SandboxValues};
pub use coverage::{Coverage, Seen};
pub use proxy::{DEFAULT_POLL_FLOOR, DEFAULT_RETRY_WINDOW, Proxy, ProxyConfig};
pub use report::{CheckResult, Failure, FailureNotice, RateLimits, Report, Spent, Totals};
pub use runner::{Event, Progress, RunError, fixture_payout, run, run_observed};
