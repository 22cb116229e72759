//! Sandbox test values: which payment accounts make a payout fail, and how.

use crate::lifecycle::{FailureContext, StateCode};
use crate::wire::PaymentAccountRequest;

/// Mobile numbers ending in these digits fail, with this context.
pub const FAILING_MOBILE_SUFFIXES: &[(&str, Option<FailureContext>)] = &[
    ("000100", None),
    (
        "000101",
        Some(FailureContext::PaymentAccountInvalidAccountNumber),
    ),
    (
        "000102",
        Some(FailureContext::PaymentAccountBalanceMaxedOut),
    ),
    (
        "000103",
        Some(FailureContext::PaymentAccountPerTransactionLimitReached),
    ),
    (
        "000104",
        Some(FailureContext::PaymentAccountDailyLimitReached),
    ),
    (
        "000105",
        Some(FailureContext::PaymentAccountMonthlyLimitReached),
    ),
    ("000106", Some(FailureContext::PaymentAccountLimitReached)),
];

/// Bank account numbers that fail (without context).
pub const FAILING_BANK_ACCOUNT_NUMBERS: &[&str] = &["0390195016650"];

/// Where a sandbox payout ends (after PENDING).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxOutcome {
    pub code: StateCode,
    pub context: Option<FailureContext>,
}

impl SandboxOutcome {
    pub const SENT: SandboxOutcome = SandboxOutcome {
        code: StateCode::Sent,
        context: None,
    };

    fn failed(context: Option<FailureContext>) -> Self {
        SandboxOutcome {
            code: StateCode::Failed,
            context,
        }
    }
}

/// The final state of a valid sandbox payout to `account`: FAILED for the
/// test values above, SENT otherwise.
pub fn sandbox_outcome(account: &PaymentAccountRequest) -> SandboxOutcome {
    if let Some(mobile) = &account.mobile_money
        && let Some((_, context)) = FAILING_MOBILE_SUFFIXES
            .iter()
            .find(|(suffix, _)| mobile.number.ends_with(suffix))
    {
        return SandboxOutcome::failed(*context);
    }
    if let Some(bank) = &account.bank_account
        && FAILING_BANK_ACCOUNT_NUMBERS.contains(&bank.number.as_str())
    {
        return SandboxOutcome::failed(None);
    }
    SandboxOutcome::SENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AccountType, BankAccount, Holder, MobileMoney, PartyType};

    fn mobile(number: &str) -> PaymentAccountRequest {
        PaymentAccountRequest {
            kind: AccountType::MobileMoney,
            country: "KE".into(),
            holder: Holder {
                kind: PartyType::Individual,
                name: "Wanjiru".into(),
            },
            mobile_money: Some(MobileMoney {
                number: number.into(),
                operator: "SAFARICOM".into(),
            }),
            bank_account: None,
        }
    }

    fn bank(number: &str) -> PaymentAccountRequest {
        PaymentAccountRequest {
            kind: AccountType::BankAccount,
            country: "KE".into(),
            holder: Holder {
                kind: PartyType::Business,
                name: "Duka Ltd".into(),
            },
            mobile_money: None,
            bank_account: Some(BankAccount {
                bank_id: "bnk-1".into(),
                branch_id: None,
                number: number.into(),
            }),
        }
    }

    #[test]
    fn outcomes() {
        assert_eq!(
            sandbox_outcome(&mobile("+254712345678")),
            SandboxOutcome::SENT
        );
        assert_eq!(
            sandbox_outcome(&mobile("+254700000100")),
            SandboxOutcome::failed(None)
        );
        assert_eq!(
            sandbox_outcome(&mobile("+254700000103")),
            SandboxOutcome::failed(Some(
                FailureContext::PaymentAccountPerTransactionLimitReached
            ))
        );
        assert_eq!(
            sandbox_outcome(&mobile("+254700000107")),
            SandboxOutcome::SENT
        );
        assert_eq!(
            sandbox_outcome(&bank("0390195016650")),
            SandboxOutcome::failed(None)
        );
        assert_eq!(
            sandbox_outcome(&bank("0390195016651")),
            SandboxOutcome::SENT
        );
        let contexts: Vec<_> = FAILING_MOBILE_SUFFIXES
            .iter()
            .filter_map(|(_, c)| *c)
            .collect();
        assert_eq!(contexts.len(), 6);
    }
}
