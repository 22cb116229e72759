//! Property tests: generated requests against the validators (for the
//! built-in table and a second one), histories against the lifecycle, and
//! random operation sequences against the wallet model.

use std::sync::Arc;

use proptest::prelude::*;
use rafiki_rules::lifecycle::{StateCode, check_history};
use rafiki_rules::strategies::{
    FaultCase, mostly_inline_payout_with_one_fault, payment_account_with_one_fault,
    payout_with_one_fault, valid_payment_account, valid_payout,
};
use rafiki_rules::wallet::{self, Balances, WalletError};
use rafiki_rules::wire::{Money, Payout, PayoutState};
use rafiki_rules::{
    ComplianceTable, NoPaymentAccounts, validate_payment_account, validate_payout_create,
};
use rust_decimal::Decimal;
use serde_json::json;

fn builtin() -> Arc<ComplianceTable> {
    Arc::new(ComplianceTable::builtin().clone())
}

fn later() -> Arc<ComplianceTable> {
    Arc::new(
        ComplianceTable::from_yaml_str(include_str!("fixtures/compliance_two_countries.yaml"))
            .unwrap(),
    )
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The validation of a single-fault request reports exactly its fault.
fn assert_only_the_fault<T: std::fmt::Debug>(
    validated: Result<T, rafiki_rules::Violations>,
    case: &FaultCase,
) -> Result<(), TestCaseError> {
    let violations = validated.expect_err("a single-fault request must be refused");
    prop_assert_eq!(
        violations.path_rules(),
        vec![(case.path.clone(), case.rule)],
        "body: {}",
        case.body
    );
    Ok(())
}

fn assert_payout_fault(table: &ComplianceTable, case: &FaultCase) -> Result<(), TestCaseError> {
    assert_only_the_fault(
        validate_payout_create(&case.body, table, &case.accounts),
        case,
    )
}

fn assert_account_fault(table: &ComplianceTable, case: &FaultCase) -> Result<(), TestCaseError> {
    assert_only_the_fault(validate_payment_account(&case.body, table), case)
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn valid_payouts_validate_clean(case in valid_payout(builtin())) {
        let result = validate_payout_create(&case.body, &builtin(), &case.accounts);
        prop_assert!(result.is_ok(), "{:?}\nbody: {}", result.err(), case.body);
        // The typed request round-trips to the same JSON.
        prop_assert_eq!(serde_json::to_value(result.unwrap()).unwrap(), case.body);
    }

    #[test]
    fn valid_payouts_validate_clean_under_another_table(case in valid_payout(later())) {
        let result = validate_payout_create(&case.body, &later(), &case.accounts);
        prop_assert!(result.is_ok(), "{:?}\nbody: {}", result.err(), case.body);
    }

    #[test]
    fn single_fault_payouts_report_exactly_that_fault(case in payout_with_one_fault(builtin())) {
        assert_payout_fault(&builtin(), &case)?;
    }

    #[test]
    fn single_fault_payouts_report_exactly_that_fault_under_another_table(case in payout_with_one_fault(later())) {
        assert_payout_fault(&later(), &case)?;
    }

    #[test]
    fn mostly_inline_single_fault_payouts_report_exactly_that_fault(case in mostly_inline_payout_with_one_fault(builtin())) {
        assert_payout_fault(&builtin(), &case)?;
    }

    #[test]
    fn valid_payment_accounts_validate_clean(body in valid_payment_account(later())) {
        let result = validate_payment_account(&body, &later());
        prop_assert!(result.is_ok(), "{:?}\nbody: {}", result.err(), body);
        prop_assert_eq!(serde_json::to_value(result.unwrap()).unwrap(), body);
    }

    #[test]
    fn single_fault_payment_accounts_report_exactly_that_fault(case in payment_account_with_one_fault(builtin())) {
        assert_account_fault(&builtin(), &case)?;
    }

    #[test]
    fn single_fault_payment_accounts_under_another_table(case in payment_account_with_one_fault(later())) {
        assert_account_fault(&later(), &case)?;
    }
}

/// Kenyan amounts near both boundaries: accepted iff 140.00 <= v <= 500000.00.
fn kenyan_payout(value: &str) -> serde_json::Value {
    json!({
        "amount": {"value": value, "currency": "KES"},
        "payment_account": {
            "type": "BANK_ACCOUNT", "country": "KE", "holder": {"type": "BUSINESS", "name": "Duka Ltd"},
            "bank_account": {"bank_id": "bnk-1", "number": "12345678"}
        },
        "sender": {
            "type": "BUSINESS", "name": "Duka Ltd",
            "address": {"line_1": "Moi Avenue 1", "city": "Nairobi", "postal_code": "00100", "country": "KE"}
        }
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn kenyan_amount_boundaries(cents in prop_oneof![13_900i64..=14_100, 49_999_900i64..=50_000_100]) {
        let value = Decimal::new(cents, 2).to_string();
        let accepted = validate_payout_create(&kenyan_payout(&value), ComplianceTable::builtin(), &NoPaymentAccounts).is_ok();
        prop_assert_eq!(accepted, (14_000..=50_000_000).contains(&cents), "{}", value);
    }
}

#[test]
fn kenyan_amount_boundary_values() {
    let ok = |v: &str| {
        validate_payout_create(
            &kenyan_payout(v),
            ComplianceTable::builtin(),
            &NoPaymentAccounts,
        )
        .is_ok()
    };
    assert!(!ok("139.99"));
    assert!(ok("140"));
    assert!(ok("500000"));
    assert!(!ok("500000.01"));
}

// ---- lifecycle ------------------------------------------------------------

const STATES: [StateCode; 5] = [
    StateCode::Pending,
    StateCode::Sent,
    StateCode::Failed,
    StateCode::Cancelled,
    StateCode::Reversed,
];

/// Written by hand from `docs/contract.md#payout-lifecycle`, not from the crate's table:
/// every (from, to) with `to` reachable from `from` in one or more steps.
const REACHABLE: [(StateCode, StateCode); 5] = [
    (StateCode::Pending, StateCode::Sent),
    (StateCode::Pending, StateCode::Failed),
    (StateCode::Pending, StateCode::Cancelled),
    (StateCode::Pending, StateCode::Reversed),
    (StateCode::Sent, StateCode::Reversed),
];

fn snapshot(code: StateCode) -> Payout {
    Payout {
        id: "pyt-1".into(),
        amount: Money {
            value: Decimal::new(15000, 2),
            currency: "KES".into(),
        },
        payment_account_id: "pac-1".into(),
        wallet_id: "wlt-1".into(),
        sender: None,
        state: PayoutState {
            code,
            context: None,
        },
        created_at: "2024-01-02T03:04:05Z".parse().unwrap(),
        receipt: None,
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn histories_are_accepted_iff_they_are_walks(states in prop::collection::vec(prop::sample::select(STATES.to_vec()), 0..7)) {
        let expected = states.windows(2).all(|w| w[0] == w[1] || REACHABLE.contains(&(w[0], w[1])));
        let snapshots: Vec<Payout> = states.iter().copied().map(snapshot).collect();
        prop_assert_eq!(check_history(&snapshots).is_ok(), expected, "{:?}", states);
    }

    #[test]
    fn legal_walks_with_repeats_are_accepted(path in prop::sample::select(vec![
        vec![StateCode::Pending, StateCode::Sent, StateCode::Reversed],
        vec![StateCode::Pending, StateCode::Failed],
        vec![StateCode::Pending, StateCode::Cancelled],
    ]), repeats in prop::collection::vec(1usize..4, 3), skip_middle in any::<bool>()) {
        let mut states = Vec::new();
        for (i, state) in path.iter().enumerate() {
            if skip_middle && i == 1 && path.len() == 3 {
                continue;
            }
            states.extend(std::iter::repeat_n(*state, repeats[i]));
        }
        let snapshots: Vec<Payout> = states.iter().copied().map(snapshot).collect();
        prop_assert!(check_history(&snapshots).is_ok(), "{:?}", states);
    }
}

// ---- wallet ---------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    /// Accept a new payout of this many cents.
    Accept(i64),
    /// Move the n-th payout in flight (modulo) to SENT, FAILED or CANCELLED.
    Finish(usize, StateCode),
    /// Reverse the n-th sent payout (modulo).
    Reverse(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..200_000).prop_map(Op::Accept),
        (
            any::<usize>(),
            prop::sample::select(vec![
                StateCode::Sent,
                StateCode::Failed,
                StateCode::Cancelled
            ])
        )
            .prop_map(|(n, to)| Op::Finish(n, to)),
        any::<usize>().prop_map(Op::Reverse),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn wallet_never_overdraws(start_cents in 0i64..1_000_000, ops in prop::collection::vec(op(), 0..40)) {
        let start = Decimal::new(start_cents, 2);
        let mut wallet = Balances::new(start, start);
        let mut pending: Vec<Decimal> = Vec::new();
        let mut sent: Vec<Decimal> = Vec::new();
        for op in ops {
            match op {
                Op::Accept(cents) => {
                    let amount = Decimal::new(cents, 2);
                    match wallet::effect_of(None, StateCode::Pending).unwrap().apply(wallet, amount) {
                        Ok(next) => { wallet = next; pending.push(amount); }
                        Err(WalletError::InsufficientBalance { .. }) => prop_assert!(amount > wallet.available),
                        Err(other) => prop_assert!(false, "unexpected {other}"),
                    }
                }
                Op::Finish(n, to) if !pending.is_empty() => {
                    let amount = pending.remove(n % pending.len());
                    let effect = wallet::effect_of(Some(StateCode::Pending), to).unwrap();
                    wallet = effect.apply(wallet, amount).unwrap();
                    if to == StateCode::Sent { sent.push(amount); }
                }
                Op::Reverse(n) if !sent.is_empty() => {
                    let amount = sent.remove(n % sent.len());
                    let effect = wallet::effect_of(Some(StateCode::Sent), StateCode::Reversed).unwrap();
                    wallet = effect.apply(wallet, amount).unwrap();
                }
                Op::Finish(..) | Op::Reverse(_) => {}
            }
            let reserved: Decimal = pending.iter().sum();
            let paid_out: Decimal = sent.iter().sum();
            prop_assert!(wallet.available >= Decimal::ZERO);
            prop_assert!(wallet.available <= wallet.balance);
            prop_assert_eq!(wallet.reserved(), reserved);
            prop_assert_eq!(wallet.balance, start - paid_out);
        }
    }
}

/// The contract suite's fault cases (`mostly_inline_payout_with_one_fault`)
/// name the payment account inline nearly always, and by id now and then,
/// so that the faults of a `payment_account_id` itself still come up.
#[test]
fn mostly_inline_fault_cases_still_name_accounts_by_id() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let strategy = mostly_inline_payout_with_one_fault(builtin());
    let mut runner = TestRunner::deterministic();
    let cases: Vec<FaultCase> = (0..400)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let by_id = cases.iter().filter(|c| !c.accounts.is_empty()).count();
    assert!((10..=100).contains(&by_id), "{by_id} of 400 by id");
    assert!(
        cases
            .iter()
            .any(|c| !c.accounts.is_empty() && c.path == "payment_account_id"),
        "no fault of a payment_account_id"
    );
}
