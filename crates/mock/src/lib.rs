//! # rafiki-mock
//!
//! A stateful sandbox of the Rafiki payouts API, for CI and integrators:
//! every API key is an account with its own wallets, payment accounts and
//! payouts; payouts go PENDING → SENT (or FAILED for the sandbox test
//! values) after a delay; idempotency, wallet accounting, get-or-create,
//! cursor paging and date filters behave as `docs/contract.md`
//! describes, all checked by `rafiki-rules`. A control API under
//! `/_sandbox` forces transitions, funds wallets and resets accounts,
//! switches [`faults`] on purpose (500/502/503, 429, 409, latency, a
//! connection dropped after handling) and shows each account's request
//! [`journal`]. Every change of a payout's state is sent, signed, to the
//! account's [`webhooks`] endpoints, with retries and faults of their own.
//! With [`Config::state_file`] (`--state FILE`) the whole state lives in an
//! SQLite file, on disk before any answer leaves, and survives restarts and
//! crashes; `GET`/`PUT /_sandbox/snapshot` export and import an account's
//! state as JSON.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mock = rafiki_mock::spawn(rafiki_mock::Config::default()).await?;
//! let client = rafiki_client::RafikiClient::new(mock.base_url(), rafiki_mock::DEFAULT_API_KEY)?;
//! let wallets = client.list_wallets().await?;
//! mock.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules: [`config`], [`clock`], [`store`] (state and indexes),
//! `scheduler` (lifecycle task), `routes` (the API handlers), `control`
//! (the `/_sandbox` handlers), [`errors`] (the envelope), `extract`
//! (auth, body and query extractors), `cursor`, `ids`, `banks`,
//! `amounts` (lenient amounts), [`support`] (autonomous support),
//! [`variants`] (the legal variations, [`Variant`]), [`operation`] (the
//! seven operations), [`faults`] (faults on purpose), [`journal`] (the
//! request journal), `rate_limit` (a token bucket per API key), `traffic`
//! (applying the three before the router), `request_log` (a line per answer),
//! `conn` (the accept loop that can
//! drop a connection), [`webhooks`] (signed payout events, their
//! retries, faults and deliveries journal), `durable` (the state file:
//! opening and checking it, its schema versions, the group-commit
//! writer), `commit` (what answers wait for with a state file) and
//! `snapshot` (an account's state as JSON).

mod amounts;
mod banks;
pub mod clock;
mod commit;
pub mod config;
mod conn;
mod control;
mod cursor;
mod durable;
pub mod errors;
mod extract;
pub mod faults;
mod ids;
pub mod journal;
pub mod operation;
mod rate_limit;
mod request_log;
mod routes;
mod scheduler;
mod server;
mod snapshot;
pub mod store;
pub mod support;
mod traffic;
pub mod variants;
pub mod webhooks;

pub use clock::{Clock, ManualClock, SystemClock};
pub use commit::WriteFailed;
pub use config::{
    AccountConfig, Config, ConfigError, DEFAULT_API_KEY, DEFAULT_DELAY, DEFAULT_JOURNAL_CAPACITY,
    OtherBody, UpperBound, WalletSeed,
};
pub use durable::StateError;
pub use faults::{Fault, FaultPlan, FaultRule, FaultStatus, Scope, Share};
pub use operation::Operation;
pub use server::{MockHandle, StartError, spawn, spawn_on};
pub use variants::{ApplyVariant, RATE_LIMITED_PER_SECOND, Variant, legal_variants};
pub use webhooks::{
    SigningKey, WebhookEndpoint, WebhookFault, WebhookFaultPlan, WebhookFaultRule, WebhookUrl,
};
