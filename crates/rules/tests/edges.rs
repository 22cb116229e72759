//! The documented edges of a compliance table: each case is judged by the
//! validator exactly as it says, and the list follows the table's data.

use std::collections::BTreeSet;

use rafiki_rules::edges::{EdgeCase, EdgeExpect, payout_edges};
use rafiki_rules::sandbox::{SandboxOutcome, sandbox_outcome};
use rafiki_rules::{ComplianceTable, NoPaymentAccounts, Rule, validate_payout_create};

const LATER_RULES: &str = include_str!("fixtures/compliance_two_countries.yaml");

fn later_table() -> ComplianceTable {
    ComplianceTable::from_yaml_str(LATER_RULES).expect("fixture loads")
}

/// Every case of `table` gets exactly its expected answer from the validator.
fn assert_validator_agrees(table: &ComplianceTable, cases: &[EdgeCase]) {
    for case in cases {
        assert!(case.body.get("payment_account").is_some(), "{}", case.name);
        assert!(
            case.body.get("payment_account_id").is_none(),
            "{}",
            case.name
        );
        assert!(case.body.get("wallet_id").is_none(), "{}", case.name);
        let result = validate_payout_create(&case.body, table, &NoPaymentAccounts);
        match &case.expect {
            EdgeExpect::Accepted => {
                let request = result.unwrap_or_else(|v| {
                    panic!("{}: expected valid, got {:?}", case.name, v.path_rules())
                });
                let account = request.payment_account.expect("inline account");
                assert_eq!(
                    sandbox_outcome(&account),
                    SandboxOutcome::SENT,
                    "{}: the sandbox would fail this account",
                    case.name
                );
            }
            EdgeExpect::Rejected { path, rule } => {
                let violations = match result {
                    Ok(_) => panic!("{}: expected {path} {rule:?}, got valid", case.name),
                    Err(v) => v.path_rules(),
                };
                assert_eq!(violations, [(path.clone(), *rule)], "{}", case.name);
            }
        }
    }
}

fn names(cases: &[EdgeCase]) -> Vec<&str> {
    cases.iter().map(|c| c.name.as_str()).collect()
}

fn expect_of<'c>(cases: &'c [EdgeCase], name: &str) -> &'c EdgeExpect {
    &cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name:?} among {:#?}", names(cases)))
        .expect
}

fn rejected(path: &str, rule: Rule) -> EdgeExpect {
    EdgeExpect::Rejected {
        path: path.to_owned(),
        rule,
    }
}

fn assert_unique_names(cases: &[EdgeCase]) {
    let mut seen = BTreeSet::new();
    for name in names(cases) {
        assert!(seen.insert(name), "duplicate case name {name:?}");
    }
}

#[test]
fn builtin_edges_are_judged_as_expected() {
    let table = ComplianceTable::builtin();
    let cases = payout_edges(table);
    assert_validator_agrees(table, &cases);
    assert_unique_names(&cases);
}

#[test]
fn builtin_kenya_amount_edges_for_both_account_types() {
    let cases = payout_edges(ComplianceTable::builtin());
    for kind in ["MOBILE_MONEY", "BANK_ACCOUNT"] {
        let at = |what: &str| format!("KE {kind} KES amount at {what}");
        assert_eq!(
            expect_of(&cases, &at("min - 0.01 (139.99)")),
            &rejected("amount.value", Rule::AmountBelowMin)
        );
        // Paid once per limit, by its first account type: each costs money.
        let paid = |name: &str| match kind {
            "MOBILE_MONEY" => expect_of(&cases, &at(name)) == &EdgeExpect::Accepted,
            _ => !names(&cases).contains(&at(name).as_str()),
        };
        assert!(paid("min (140.00)"), "{kind}");
        assert!(paid("max (500000.00)"), "{kind}");
        assert_eq!(
            expect_of(&cases, &at("max + 0.01 (500000.01)")),
            &rejected("amount.value", Rule::AmountAboveMax)
        );
        let case = cases
            .iter()
            .find(|c| c.name == at("min - 0.01 (139.99)"))
            .unwrap();
        assert_eq!(case.body["amount"]["value"], "139.99");
        assert_eq!(case.body["payment_account"]["type"], kind);
    }
}

#[test]
fn builtin_kenya_sender_edges() {
    let cases = payout_edges(ComplianceTable::builtin());
    assert_eq!(
        expect_of(&cases, "KE sender absent"),
        &rejected("sender", Rule::Required)
    );
    for path in [
        "sender.type",
        "sender.name",
        "sender.address.line_1",
        "sender.address.city",
        "sender.address.postal_code",
        "sender.address.country",
        "sender.individual.dob",
        "sender.individual.identity_document.type",
        "sender.individual.identity_document.country",
        "sender.individual.identity_document.number",
        "sender.individual.identity_document.expires_on",
    ] {
        assert_eq!(
            expect_of(&cases, &format!("KE {path} absent")),
            &rejected(path, Rule::Required)
        );
    }
    // Once per country, and nothing the table does not require.
    let sender_cases = cases.iter().filter(|c| c.name.contains("sender")).count();
    assert_eq!(sender_cases, 12, "{:#?}", names(&cases));
}

#[test]
fn a_changed_table_changes_the_cases() {
    let table = later_table();
    let cases = payout_edges(&table);
    assert_validator_agrees(&table, &cases);
    assert_unique_names(&cases);
    let has = |name: &str| names(&cases).contains(&name);

    // Kenya's limits, now split per account type.
    assert_eq!(
        expect_of(&cases, "KE MOBILE_MONEY KES amount at max (250000.00)"),
        &EdgeExpect::Accepted
    );
    assert_eq!(
        expect_of(
            &cases,
            "KE MOBILE_MONEY KES amount at max + 0.01 (250000.01)"
        ),
        &rejected("amount.value", Rule::AmountAboveMax)
    );
    assert_eq!(
        expect_of(&cases, "KE BANK_ACCOUNT KES amount at max (950000.00)"),
        &EdgeExpect::Accepted
    );
    assert_eq!(
        expect_of(
            &cases,
            "KE BANK_ACCOUNT KES amount at max + 0.01 (950000.01)"
        ),
        &rejected("amount.value", Rule::AmountAboveMax)
    );
    assert!(!has("KE MOBILE_MONEY KES amount at max (500000.00)"));

    // Uganda: two currencies, USD for bank accounts only, an optional sender.
    for kind in ["MOBILE_MONEY", "BANK_ACCOUNT"] {
        assert_eq!(
            expect_of(
                &cases,
                &format!("UG {kind} UGX amount at min - 0.01 (499.99)")
            ),
            &rejected("amount.value", Rule::AmountBelowMin)
        );
        let max = format!("UG {kind} UGX amount at max (5000000.00)");
        match kind {
            "MOBILE_MONEY" => assert_eq!(expect_of(&cases, &max), &EdgeExpect::Accepted),
            _ => assert!(!has(&max), "UGX's max is paid once, by mobile money"),
        }
    }
    assert_eq!(
        expect_of(&cases, "UG BANK_ACCOUNT USD amount at min - 0.01 (1.49)"),
        &rejected("amount.value", Rule::AmountBelowMin)
    );
    assert_eq!(
        expect_of(&cases, "UG BANK_ACCOUNT USD amount at min (1.50)"),
        &EdgeExpect::Accepted
    );
    assert_eq!(
        expect_of(&cases, "UG BANK_ACCOUNT USD amount at max + 0.01 (1000.01)"),
        &rejected("amount.value", Rule::AmountAboveMax)
    );
    assert!(
        !names(&cases)
            .iter()
            .any(|n| n.starts_with("UG MOBILE_MONEY USD"))
    );
    assert_eq!(
        expect_of(&cases, "UG sender.name absent"),
        &rejected("sender.name", Rule::Required)
    );
    assert!(!has("UG sender absent"), "UG does not require a sender");
    let ug_sender_cases = cases
        .iter()
        .filter(|c| c.name.starts_with("UG sender"))
        .count();
    assert_eq!(ug_sender_cases, 1);
    // Mobile money uses the country's first operator.
    let ug_mobile = cases
        .iter()
        .find(|c| c.name.starts_with("UG MOBILE_MONEY"))
        .unwrap();
    assert_eq!(
        ug_mobile.body["payment_account"]["mobile_money"]["operator"],
        "MTN"
    );
}

#[test]
fn edges_without_a_bound_or_without_operators_are_left_out() {
    let table = ComplianceTable::from_yaml_str(
        "countries:\n  UG:\n    name: Uganda\n    limits:\n      - {currency: UGX, max: \"100\"}\n      - {currency: USD, min: \"0.01\"}\n",
    )
    .unwrap();
    let cases = payout_edges(&table);
    assert_validator_agrees(&table, &cases);
    // No operators: bank accounts only. No min: no low edges; min 0.01: no
    // edge below it; no max: no high edges. No sender rules: no sender cases.
    assert_eq!(
        names(&cases),
        [
            "UG BANK_ACCOUNT UGX amount at max (100.00)",
            "UG BANK_ACCOUNT UGX amount at max + 0.01 (100.01)",
            "UG BANK_ACCOUNT USD amount at min (0.01)",
        ]
    );
}

#[test]
fn parent_objects_count_only_when_no_child_is_required() {
    let table = ComplianceTable::from_yaml_str(
        "countries:\n  KE:\n    name: Kenya\n    limits:\n      - {currency: KES, min: \"140\", max: \"500000\"}\n    sender:\n      required_fields: [address, address.city]\n      required_fields_if_individual: [individual]\n",
    )
    .unwrap();
    let cases = payout_edges(&table);
    assert_validator_agrees(&table, &cases);
    let sender_names: Vec<&str> = names(&cases)
        .into_iter()
        .filter(|n| n.contains("sender"))
        .collect();
    assert_eq!(
        sender_names,
        [
            "KE sender.address.city absent",
            "KE sender.individual absent"
        ]
    );
}

#[test]
fn edges_are_deterministic() {
    let table = ComplianceTable::builtin();
    assert_eq!(payout_edges(table), payout_edges(table));
}
