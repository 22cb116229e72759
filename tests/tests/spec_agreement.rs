//! The crates agree with each other: what the rules crate calls a valid
//! request is valid under our OpenAPI spec, both read a decimal the same
//! documented way, and the README's lifecycle diagram is the one generated
//! from the state machine.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use rafiki_rules::{ComplianceTable, strategies};
use rafiki_spec::Spec;

fn validators() -> &'static (jsonschema::Validator, jsonschema::Validator) {
    static V: OnceLock<(jsonschema::Validator, jsonschema::Validator)> = OnceLock::new();
    V.get_or_init(|| {
        let spec = Spec::embedded();
        (
            spec.validator("PayoutCreateRequest").unwrap(),
            spec.validator("PaymentAccountRequest").unwrap(),
        )
    })
}

fn table() -> Arc<ComplianceTable> {
    Arc::new(ComplianceTable::builtin().clone())
}

fn schema_errors(validator: &jsonschema::Validator, body: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn valid_payouts_by_the_rules_are_valid_by_the_spec(case in strategies::valid_payout(table())) {
        let errors = schema_errors(&validators().0, &case.body);
        prop_assert!(errors.is_empty(), "{errors:?}\n{:#}", case.body);
    }

    #[test]
    fn valid_payment_accounts_by_the_rules_are_valid_by_the_spec(body in strategies::valid_payment_account(table())) {
        let errors = schema_errors(&validators().1, &body);
        prop_assert!(errors.is_empty(), "{errors:?}\n{body:#}");
    }
}

#[test]
fn readme_lifecycle_diagram_is_the_generated_one() {
    let readme = include_str!("../../README.md");
    let block = readme
        .split("```mermaid\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README.md has a ```mermaid block");
    assert_eq!(
        block,
        rafiki_rules::lifecycle::mermaid(),
        "README.md's diagram is stale: paste `rafiki_rules::lifecycle::mermaid()` into it"
    );
}

#[test]
fn the_documented_decimal_pattern_is_the_specs() {
    let pointer = format!(
        "/components/schemas/DecimalString/{}",
        rafiki_spec::DOCUMENTED_PATTERN
    );
    assert_eq!(
        Spec::embedded().json().pointer(&pointer),
        Some(&serde_json::json!(
            rafiki_rules::documented::DOCUMENTED_DECIMAL_PATTERN
        )),
        "spec/openapi.yaml {pointer} and rafiki_rules::documented::DOCUMENTED_DECIMAL_PATTERN differ"
    );
}
