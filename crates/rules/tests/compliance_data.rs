//! Compliance is data: a second table (KE limits split per account type,
//! Uganda added) changes validation with no code change.

use rafiki_rules::{ComplianceTable, NoPaymentAccounts, Rule, validate_payout_create};
use serde_json::{Value, json};

const LATER_RULES: &str = include_str!("fixtures/compliance_two_countries.yaml");

fn later() -> ComplianceTable {
    ComplianceTable::from_yaml_str(LATER_RULES).expect("fixture table loads")
}

fn kenyan_sender() -> Value {
    json!({
        "type": "BUSINESS",
        "name": "Duka Ltd",
        "address": {"line_1": "Moi Avenue 1", "city": "Nairobi", "postal_code": "00100", "country": "KE"}
    })
}

fn kenyan_payout(value: &str, account_type: &str) -> Value {
    let account = match account_type {
        "MOBILE_MONEY" => json!({
            "type": "MOBILE_MONEY", "country": "KE", "holder": {"type": "INDIVIDUAL", "name": "Amina"},
            "mobile_money": {"number": "+254712345678", "operator": "AIRTEL"}
        }),
        _ => json!({
            "type": "BANK_ACCOUNT", "country": "KE", "holder": {"type": "BUSINESS", "name": "Duka Ltd"},
            "bank_account": {"bank_id": "bnk-1", "number": "12345678"}
        }),
    };
    json!({"amount": {"value": value, "currency": "KES"}, "payment_account": account, "sender": kenyan_sender()})
}

fn ugandan_payout(value: &str, currency: &str, operator: &str) -> Value {
    json!({
        "amount": {"value": value, "currency": currency},
        "payment_account": {
            "type": "MOBILE_MONEY", "country": "UG", "holder": {"type": "INDIVIDUAL", "name": "Okello"},
            "mobile_money": {"number": "+256772123456", "operator": operator}
        }
    })
}

fn faults(body: &Value, table: &ComplianceTable) -> Vec<(String, Rule)> {
    validate_payout_create(body, table, &NoPaymentAccounts)
        .err()
        .map(|v| v.path_rules())
        .unwrap_or_default()
}

fn one(path: &str, rule: Rule) -> Vec<(String, Rule)> {
    vec![(path.to_owned(), rule)]
}

#[test]
fn kenyan_limits_split_per_account_type() {
    let builtin = ComplianceTable::builtin();
    let later = later();
    // 300,000 KES: fine under the documented 500,000; too much for mobile money later.
    assert_eq!(
        faults(&kenyan_payout("300000", "MOBILE_MONEY"), builtin),
        vec![]
    );
    assert_eq!(
        faults(&kenyan_payout("300000", "MOBILE_MONEY"), &later),
        one("amount.value", Rule::AmountAboveMax)
    );
    assert_eq!(
        faults(&kenyan_payout("250000", "MOBILE_MONEY"), &later),
        vec![]
    );
    // 900,000 KES to a bank: refused now, accepted later.
    assert_eq!(
        faults(&kenyan_payout("900000", "BANK_ACCOUNT"), builtin),
        one("amount.value", Rule::AmountAboveMax)
    );
    assert_eq!(
        faults(&kenyan_payout("900000", "BANK_ACCOUNT"), &later),
        vec![]
    );
    assert_eq!(
        faults(&kenyan_payout("950000.01", "BANK_ACCOUNT"), &later),
        one("amount.value", Rule::AmountAboveMax)
    );
}

#[test]
fn uganda_is_served_only_by_the_later_table() {
    let body = ugandan_payout("20000", "UGX", "MTN");
    assert_eq!(
        faults(&body, ComplianceTable::builtin()),
        one("payment_account.country", Rule::UnsupportedCountry)
    );
    assert_eq!(faults(&body, &later()), vec![]);
    assert_eq!(
        faults(&ugandan_payout("499", "UGX", "MTN"), &later()),
        one("amount.value", Rule::AmountBelowMin)
    );
    assert_eq!(
        faults(&ugandan_payout("20000", "UGX", "SAFARICOM"), &later()),
        one("payment_account.mobile_money.operator", Rule::Operator)
    );
    // USD is accepted in Uganda for bank accounts only.
    assert_eq!(
        faults(&ugandan_payout("20", "USD", "MTN"), &later()),
        one("amount.currency", Rule::UnsupportedCurrency)
    );
    assert_eq!(
        faults(&ugandan_payout("20000", "KES", "MTN"), &later()),
        one("amount.currency", Rule::UnsupportedCurrency)
    );
}

#[test]
fn ugandan_sender_rules_come_from_the_table() {
    let mut body = ugandan_payout("20000", "UGX", "AIRTEL");
    // Optional in Uganda, but its name is required once a sender is given.
    body["sender"] = json!({"type": "INDIVIDUAL"});
    assert_eq!(faults(&body, &later()), one("sender.name", Rule::Required));
    body["sender"] = json!({"name": "Okello Ltd"});
    assert_eq!(faults(&body, &later()), vec![]);
}

#[test]
fn postal_code_formats_come_from_the_table() {
    let mut body = kenyan_payout("1000", "MOBILE_MONEY");
    body["sender"]["address"]["country"] = json!("US");
    body["sender"]["address"]["postal_code"] = json!("ABC");
    assert_eq!(
        faults(&body, ComplianceTable::builtin()),
        one("sender.address.postal_code", Rule::PostalCode)
    );
    // The later fixture does not format-check US codes.
    assert_eq!(faults(&body, &later()), vec![]);
}
