//! `rafiki-contract`: checks that a server really speaks the Rafiki payouts
//! API: status codes, schemas, validation, paging, dates, auth and tenant
//! isolation, over HTTP only, so it works against any implementation (the
//! provider's sandbox, a staging deployment, our `rafiki-mock`).
//!
//! - [`run`] is the whole suite as a library call (for a `cargo test`);
//!   the `rafiki-contract` binary wraps it in a CI-friendly CLI.
//! - Each check ([`checks::ALL`]) has a stable name and is counted on its
//!   own; checks that cannot run against a server are *skipped* with the
//!   reason, never passed.
//! - Generated checks use proptest with the `rafiki-rules` strategies; a
//!   failure is shrunk to its smallest input and reported with a curl
//!   reproduction (the key as `$RAFIKI_API_KEY`) and the seed that replays it.

pub mod banks;
pub mod checks;
pub mod config;
pub mod coverage;
pub mod http;
pub mod json;
pub mod process;
pub mod property;
pub mod proxy;
pub mod report;
pub mod runner;
pub mod spending;

pub use config::{ConfigError, RunConfig, SandboxValues};
pub use coverage::{Coverage, Seen};
pub use report::{CheckResult, Failure, FailureNotice, RateLimits, Report, Spent, Totals, Verdict};
pub use runner::{Event, Progress, RunError, run, run_observed};
