//! Bank accounts checked against a list of banks (what GET /banks
//! answers): a well-formed `bank_id` must name a listed bank, and a
//! well-formed `branch_id` one of *that* bank's branches.
//!
//! The format validators ([`crate::validate_payment_account`],
//! [`crate::validate_payout_create`]) check ids by syntax only, because
//! whether a bank exists depends on the server's list, not on the request.
//! These functions add the membership check on the raw JSON, so their
//! violations can be merged with the validators' in one 422:
//!
//! - only a `BANK_ACCOUNT` account's `bank_account` block is looked at (a
//!   block that does not match `type` is ignored, as validation does);
//! - ids that are missing or malformed are left to the validators (no
//!   second violation for the same fault);
//! - an unknown bank is [`Rule::UnknownBank`] at `…bank_account.bank_id`;
//!   its branch is then not judged (there is no branch list to judge it by);
//! - a branch that is not one of the listed bank's branches (a branch of
//!   another bank included) is [`Rule::UnknownBranch`] at
//!   `…bank_account.branch_id`;
//! - no `branch_id` (or `null`) for a listed bank that has branches is
//!   [`Rule::BranchRequired`] there: one reading of the provider's v1
//!   document only (fidelity U-3), so a server of the other reading (the
//!   mock by default) drops it.

use serde_json::Value;

use crate::format::{IdKind, is_id};
use crate::violations::{Rule, Violations};
use crate::wire::{AccountType, Bank};

/// Checks the bank and branch of a payment account (a JSON object with
/// `type` and `bank_account`) against `banks`. `prefix` is the account's
/// path in the request: `""` for a POST /payment-accounts body,
/// `"payment_account"` for an inline account in POST /payouts. Anything
/// that is not a well-formed BANK_ACCOUNT id gives no violation here.
pub fn check_bank_account(account: &Value, prefix: &str, banks: &[Bank]) -> Violations {
    let mut violations = Violations::new();
    let is_bank_account = account
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind == AccountType::BankAccount.as_str());
    let Some(block) = account.get("bank_account").filter(|_| is_bank_account) else {
        return violations;
    };
    let path = |leaf: &str| {
        if prefix.is_empty() {
            format!("bank_account.{leaf}")
        } else {
            format!("{prefix}.bank_account.{leaf}")
        }
    };
    let well_formed = |name: &str, kind: IdKind| {
        block
            .get(name)
            .and_then(Value::as_str)
            .filter(|id| is_id(kind, id))
    };
    let Some(bank_id) = well_formed("bank_id", IdKind::Bank) else {
        return violations;
    };
    let Some(bank) = banks.iter().find(|bank| bank.id == bank_id) else {
        violations.add(
            path("bank_id"),
            Rule::UnknownBank,
            format!("no bank `{bank_id}` (GET /banks lists the banks)"),
        );
        return violations;
    };
    let branches = bank.branches.as_deref().unwrap_or_default();
    if block.get("branch_id").is_none_or(Value::is_null) && !branches.is_empty() {
        let message = format!(
            "bank `{bank_id}` has {} branches: name one of them (GET /banks lists them)",
            branches.len()
        );
        violations.add(path("branch_id"), Rule::BranchRequired, message);
    }
    if let Some(branch_id) = well_formed("branch_id", IdKind::Branch)
        && !branches.iter().any(|branch| branch.id == branch_id)
    {
        let message = if branches.is_empty() {
            format!("bank `{bank_id}` has no branches; `{branch_id}` is not one of them")
        } else {
            format!("`{branch_id}` is not a branch of bank `{bank_id}`")
        };
        violations.add(path("branch_id"), Rule::UnknownBranch, message);
    }
    violations
}

/// [`check_bank_account`] for a POST /payouts body: looks at the inline
/// `payment_account` only when it is the payout's sole recipient (with
/// `payment_account_id` given too the body is already refused with
/// `ExactlyOneOf`; a payout to an existing account names a known account).
pub fn check_payout_bank_account(body: &Value, banks: &[Bank]) -> Violations {
    let present = |name: &str| body.get(name).is_some_and(|v| !v.is_null());
    match body.get("payment_account") {
        Some(account) if !present("payment_account_id") => {
            check_bank_account(account, "payment_account", banks)
        }
        _ => Violations::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Branch;
    use serde_json::json;

    const EQUITY: &str = "bnk-Equity1";
    const EQUITY_MAIN: &str = "brn-EquityMain";
    const KCB: &str = "bnk-Kcb1";
    const KCB_MOI: &str = "brn-KcbMoi";
    const NCBA: &str = "bnk-Ncba1";

    fn banks() -> Vec<Bank> {
        let bank = |id: &str, branches: &[&str]| Bank {
            id: id.to_owned(),
            name: id.to_owned(),
            country: "KE".to_owned(),
            branches: (!branches.is_empty()).then(|| {
                branches
                    .iter()
                    .map(|b| Branch {
                        id: (*b).to_owned(),
                        name: (*b).to_owned(),
                    })
                    .collect()
            }),
        };
        vec![
            bank(EQUITY, &[EQUITY_MAIN]),
            bank(KCB, &[KCB_MOI]),
            bank(NCBA, &[]),
        ]
    }

    fn account(bank_id: Value, branch_id: Option<&str>) -> Value {
        let mut block = json!({"bank_id": bank_id, "number": "0123456789"});
        if let Some(branch) = branch_id {
            block["branch_id"] = json!(branch);
        }
        json!({"type": "BANK_ACCOUNT", "country": "KE",
               "holder": {"type": "BUSINESS", "name": "Duka Ltd"}, "bank_account": block})
    }

    fn faults(account: &Value, prefix: &str) -> Vec<(String, Rule)> {
        check_bank_account(account, prefix, &banks()).path_rules()
    }

    #[test]
    fn listed_banks_with_their_branches_pass() {
        for (bank, branch) in [
            (EQUITY, Some(EQUITY_MAIN)),
            (KCB, Some(KCB_MOI)),
            (NCBA, None),
        ] {
            assert!(faults(&account(json!(bank), branch), "").is_empty());
        }
    }

    #[test]
    fn a_bank_with_branches_and_no_branch_id_is_named_by_its_own_rule() {
        let mut without = account(json!(EQUITY), None);
        let expected = [(
            "payment_account.bank_account.branch_id".to_owned(),
            Rule::BranchRequired,
        )];
        assert_eq!(faults(&without, "payment_account"), expected);
        without["bank_account"]["branch_id"] = Value::Null;
        assert_eq!(faults(&without, "payment_account"), expected);
    }

    #[test]
    fn unknown_banks_and_foreign_branches_are_named() {
        assert_eq!(
            faults(&account(json!("bnk-Nowhere"), None), ""),
            [("bank_account.bank_id".to_owned(), Rule::UnknownBank)]
        );
        // The branch of an unknown bank is not judged.
        assert_eq!(
            faults(
                &account(json!("bnk-Nowhere"), Some(KCB_MOI)),
                "payment_account"
            ),
            [(
                "payment_account.bank_account.bank_id".to_owned(),
                Rule::UnknownBank
            )]
        );
        for (bank, branch) in [
            (EQUITY, "brn-Nowhere"),
            (EQUITY, KCB_MOI),
            (NCBA, EQUITY_MAIN),
        ] {
            assert_eq!(
                faults(&account(json!(bank), Some(branch)), "payment_account"),
                [(
                    "payment_account.bank_account.branch_id".to_owned(),
                    Rule::UnknownBranch
                )],
                "{bank} {branch}"
            );
        }
    }

    #[test]
    fn malformed_or_irrelevant_input_is_left_to_the_validators() {
        for bank in [json!("bank-1"), json!(7), Value::Null] {
            assert!(faults(&account(bank, Some("branch-x")), "").is_empty());
        }
        assert!(faults(&account(json!(EQUITY), Some("branch-x")), "").is_empty());
        let mut mobile = account(json!("bnk-Nowhere"), None);
        mobile["type"] = json!("MOBILE_MONEY");
        assert!(faults(&mobile, "").is_empty());
        assert!(faults(&json!("not an object"), "").is_empty());
        assert!(faults(&json!({"type": "BANK_ACCOUNT"}), "").is_empty());
    }

    #[test]
    fn payouts_are_checked_only_with_an_inline_account_alone() {
        let unknown = account(json!("bnk-Nowhere"), None);
        let inline = json!({"payment_account": unknown});
        assert_eq!(
            check_payout_bank_account(&inline, &banks()).path_rules(),
            [(
                "payment_account.bank_account.bank_id".to_owned(),
                Rule::UnknownBank
            )]
        );
        let inline_with_null_id = json!({"payment_account": unknown, "payment_account_id": null});
        assert_eq!(
            check_payout_bank_account(&inline_with_null_id, &banks()).len(),
            1
        );
        let both = json!({"payment_account": unknown, "payment_account_id": "pac-1"});
        assert!(check_payout_bank_account(&both, &banks()).is_empty());
        let existing = json!({"payment_account_id": "pac-1"});
        assert!(check_payout_bank_account(&existing, &banks()).is_empty());
        assert!(check_payout_bank_account(&json!([]), &banks()).is_empty());
    }
}
