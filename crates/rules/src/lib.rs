//! # rafiki-rules
//!
//! A pure oracle for the Rafiki payouts API: given a request, a sequence of
//! observed payout states, a wallet, an idempotency entry or list query
//! values, it says what the API does according to the wire contract. No I/O,
//! no async, no HTTP: the mock server enforces these rules and the contract
//! suite uses them as its model, so both agree by construction.
//!
//! ## Design
//!
//! - **Own wire types.** [`wire`] defines serde types mirroring the wire
//!   format field for field. The generated HTTP client has its own types;
//!   the mock and the contract suite use these, so they do not depend on a
//!   code generator's naming and carry no HTTP dependency.
//! - **Validation on `serde_json::Value`.** [`validate_payout_create`] and
//!   [`validate_payment_account`] read the raw JSON property by property.
//!   Deserialising straight into structs would stop at the first problem
//!   with a serde message; reading the `Value` lets a wrong JSON type, a
//!   missing property or an unknown enum value become a [`Violation`] at the
//!   API's property path, and lets *every* violation be collected. Typed
//!   request structs are returned only once nothing was found.
//! - **Compliance is data.** Country limits, currencies, operators, sender
//!   requirements and postal code formats live in `spec/compliance.yaml`
//!   ([`ComplianceTable`]); the code only interprets them.
//! - **Exact money.** Amounts are [`rust_decimal::Decimal`], parsed from
//!   strings and serialised as strings; no floats anywhere.
//! - **Generated diagrams.** [`lifecycle::mermaid`] and [`lifecycle::dot`]
//!   are derived from the transition table; the README embeds the former
//!   and a test keeps it in sync.
//!
//! With the `strategies` feature, `strategies` offers proptest generators
//! of valid and single-fault requests driven by a compliance table.

mod macros;
mod reader;
mod sender;

pub mod banks;
pub mod codes;
pub mod compliance;
pub mod documented;
pub mod edges;
pub mod format;
pub mod idempotency;
pub mod lifecycle;
pub mod listing;
pub mod payment_account;
pub mod payout;
pub mod sandbox;
pub mod violations;
pub mod wallet;
pub mod webhooks;
pub mod wire;

#[cfg(feature = "strategies")]
pub mod strategies;

pub use banks::{check_bank_account, check_payout_bank_account};
pub use compliance::{ComplianceError, ComplianceTable};
pub use macros::WireEnum;
pub use payment_account::{AccountIdentity, account_identity, validate_payment_account};
pub use payout::{
    Destination, NoPaymentAccounts, PaymentAccountLookup, select_wallet, validate_payout_create,
};
pub use reader::{read_amount, read_enum};
pub use violations::{Rule, Violation, Violations};
