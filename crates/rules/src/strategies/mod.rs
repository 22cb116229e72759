//! proptest strategies driven by a [`ComplianceTable`](crate::ComplianceTable)
//! (the `strategies` feature): valid payout and payment-account requests
//! across every served country, both account types and both sender types
//! ([`valid_payout`], [`valid_inline_payout`], [`valid_payment_account`]),
//! and single-fault requests that break exactly one named rule, returned
//! with the `(path, Rule)` the validator must report
//! ([`payout_with_one_fault`], [`mostly_inline_payout_with_one_fault`],
//! [`payment_account_with_one_fault`]).

mod fault_catalogue;
mod json_path;
mod text;
mod valid_requests;

pub use fault_catalogue::{
    FaultCase, mostly_inline_payout_with_one_fault, payment_account_with_one_fault,
    payout_with_one_fault,
};
pub use valid_requests::{PayoutCase, valid_inline_payout, valid_payment_account, valid_payout};
