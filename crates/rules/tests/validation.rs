//! Example-based checks of payout and payment-account validation against
//! the built-in table (Kenya as `docs/contract.md#kenya-ke` states it).

use std::collections::HashMap;

use rafiki_rules::wire::{AccountType, PartyType, Wallet};
use rafiki_rules::{
    ComplianceTable, Destination, NoPaymentAccounts, Rule, account_identity, select_wallet,
    validate_payment_account, validate_payout_create,
};
use serde_json::{Value, json};

fn table() -> &'static ComplianceTable {
    ComplianceTable::builtin()
}

fn sender() -> Value {
    json!({
        "type": "INDIVIDUAL",
        "name": "Mario Rossi",
        "address": {"line_1": "Piazza del Colosseo", "line_2": "1", "line_3": "", "city": "Roma", "postal_code": "00184", "country": "IT"},
        "individual": {
            "dob": "1970-01-01",
            "identity_document": {"type": "PASSPORT", "country": "IT", "number": "YA0000000", "issued_on": "2020-01-01", "expires_on": "2030-01-01"}
        }
    })
}

fn mobile_account() -> Value {
    json!({
        "type": "MOBILE_MONEY",
        "country": "KE",
        "holder": {"type": "INDIVIDUAL", "name": "Wanjiru Kamau"},
        "mobile_money": {"number": "+254712345678", "operator": "SAFARICOM"}
    })
}

fn payout(value: &str) -> Value {
    json!({"amount": {"value": value, "currency": "KES"}, "payment_account": mobile_account(), "sender": sender()})
}

/// The sorted `(path, rule)` pairs of a payout body (empty when valid).
fn payout_faults(body: &Value) -> Vec<(String, Rule)> {
    match validate_payout_create(body, table(), &NoPaymentAccounts) {
        Ok(_) => vec![],
        Err(v) => v.path_rules(),
    }
}

fn one(path: &str, rule: Rule) -> Vec<(String, Rule)> {
    vec![(path.to_owned(), rule)]
}

fn with(mut body: Value, path: &str, value: Value) -> Value {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap();
    let mut node = &mut body;
    for part in parts {
        node = node.get_mut(part).unwrap();
    }
    if value.is_null() {
        node.as_object_mut().unwrap().remove(last);
    } else {
        node[last] = value;
    }
    body
}

#[test]
fn a_complete_kenyan_payout_is_valid_and_typed() {
    let request = validate_payout_create(&payout("2000.99"), table(), &NoPaymentAccounts).unwrap();
    assert_eq!(request.amount.value.to_string(), "2000.99");
    let sender = request.sender.as_ref().unwrap();
    assert_eq!(sender.kind, Some(PartyType::Individual));
    assert_eq!(sender.address.as_ref().unwrap().line_3.as_deref(), Some(""));
    // The typed request serialises back to the same JSON.
    assert_eq!(serde_json::to_value(&request).unwrap(), payout("2000.99"));
}

#[test]
fn kenyan_amount_boundaries() {
    assert_eq!(
        payout_faults(&payout("139.99")),
        one("amount.value", Rule::AmountBelowMin)
    );
    assert_eq!(payout_faults(&payout("140")), vec![]);
    assert_eq!(payout_faults(&payout("140.00")), vec![]);
    assert_eq!(payout_faults(&payout("500000")), vec![]);
    assert_eq!(payout_faults(&payout("500000.00")), vec![]);
    assert_eq!(
        payout_faults(&payout("500000.01")),
        one("amount.value", Rule::AmountAboveMax)
    );
    assert_eq!(
        payout_faults(&payout("0")),
        one("amount.value", Rule::AmountNotPositive)
    );
}

#[test]
fn malformed_amounts_are_format_violations() {
    for bad in ["1e3", "-5", " 200", "200.001", "", "1,000", "abc"] {
        assert_eq!(
            payout_faults(&payout(bad)),
            one("amount.value", Rule::AmountFormat),
            "{bad:?}"
        );
    }
    let number = with(payout("150"), "amount.value", json!(150));
    assert_eq!(payout_faults(&number), one("amount.value", Rule::WrongType));
}

#[test]
fn currency_rules() {
    let usd = with(payout("150"), "amount.currency", json!("USD"));
    assert_eq!(
        payout_faults(&usd),
        one("amount.currency", Rule::UnsupportedCurrency)
    );
    let fake = with(payout("150"), "amount.currency", json!("KSH"));
    assert_eq!(
        payout_faults(&fake),
        one("amount.currency", Rule::CurrencyCode)
    );
}

#[test]
fn recipient_is_exactly_one_of_id_or_inline() {
    let both = with(payout("150"), "payment_account_id", json!("pac-1"));
    assert_eq!(
        payout_faults(&both),
        one("payment_account_id", Rule::ExactlyOneOf)
    );
    let neither = with(payout("150"), "payment_account", Value::Null);
    assert_eq!(
        payout_faults(&neither),
        one("payment_account_id", Rule::ExactlyOneOf)
    );
    let null_inline = with(payout("150"), "payment_account", json!(null));
    assert_eq!(
        payout_faults(&null_inline),
        one("payment_account_id", Rule::ExactlyOneOf)
    );
}

#[test]
fn existing_accounts_are_looked_up() {
    let accounts: HashMap<String, Destination> = [
        (
            "pac-ke".to_owned(),
            Destination {
                country: "KE".into(),
                account_type: AccountType::BankAccount,
            },
        ),
        (
            "pac-fr".to_owned(),
            Destination {
                country: "FR".into(),
                account_type: AccountType::BankAccount,
            },
        ),
    ]
    .into();
    let by_id = |id: &str| {
        let body = json!({"amount": {"value": "150", "currency": "KES"}, "payment_account_id": id, "sender": sender()});
        validate_payout_create(&body, table(), &accounts).map_err(|v| v.path_rules())
    };
    assert_eq!(
        by_id("pac-ke").unwrap().payment_account_id.as_deref(),
        Some("pac-ke")
    );
    assert_eq!(
        by_id("pac-nope").unwrap_err(),
        one("payment_account_id", Rule::UnknownPaymentAccount)
    );
    assert_eq!(
        by_id("pac-fr").unwrap_err(),
        one("payment_account_id", Rule::UnsupportedCountry)
    );
    assert_eq!(
        by_id("acc-1").unwrap_err(),
        one("payment_account_id", Rule::IdPrefix)
    );
}

#[test]
fn inline_account_violations_are_prefixed() {
    let cases = [
        (
            "payment_account.mobile_money.number",
            json!("0712345678"),
            Rule::E164,
        ),
        (
            "payment_account.mobile_money.operator",
            json!("MTN"),
            Rule::Operator,
        ),
        ("payment_account.country", json!("KEN"), Rule::CountryCode),
        (
            "payment_account.country",
            json!("UG"),
            Rule::UnsupportedCountry,
        ),
        (
            "payment_account.type",
            json!("WALLET"),
            Rule::UnknownEnumValue,
        ),
        ("payment_account.holder.name", json!("   "), Rule::Blank),
        ("payment_account.holder", Value::Null, Rule::Required),
    ];
    for (path, value, rule) in cases {
        let body = with(payout("150"), path, value.clone());
        assert_eq!(payout_faults(&body), one(path, rule), "{path} = {value}");
    }
}

#[test]
fn kenya_requires_a_complete_sender() {
    let no_sender = with(payout("150"), "sender", Value::Null);
    assert_eq!(payout_faults(&no_sender), one("sender", Rule::Required));
    for path in [
        "sender.type",
        "sender.name",
        "sender.address.line_1",
        "sender.address.city",
        "sender.address.postal_code",
        "sender.address.country",
        "sender.individual.dob",
    ] {
        let body = with(payout("150"), path, Value::Null);
        assert_eq!(payout_faults(&body), one(path, Rule::Required), "{path}");
    }
    // Optional ones may go.
    for path in [
        "sender.address.line_2",
        "sender.address.line_3",
        "sender.individual.identity_document",
        "sender.individual.identity_document.issued_on",
    ] {
        assert_eq!(
            payout_faults(&with(payout("150"), path, Value::Null)),
            vec![],
            "{path}"
        );
    }
    // The document's own requirements, when a document is given.
    for field in ["type", "country", "number", "expires_on"] {
        let path = format!("sender.individual.identity_document.{field}");
        assert_eq!(
            payout_faults(&with(payout("150"), &path, Value::Null)),
            one(&path, Rule::Required),
            "{path}"
        );
    }
    // A missing address reports every required line of it.
    let no_address = with(payout("150"), "sender.address", Value::Null);
    assert_eq!(payout_faults(&no_address).len(), 4);
}

#[test]
fn business_senders_need_no_date_of_birth() {
    let business = with(
        with(payout("150"), "sender.type", json!("BUSINESS")),
        "sender.individual",
        Value::Null,
    );
    assert_eq!(payout_faults(&business), vec![]);
}

#[test]
fn sender_formats() {
    let cases = [
        ("sender.type", json!("PERSON"), Rule::UnknownEnumValue),
        (
            "sender.individual.dob",
            json!("2023-02-30"),
            Rule::DateFormat,
        ),
        (
            "sender.individual.identity_document.expires_on",
            json!("2030/01/01"),
            Rule::DateFormat,
        ),
        (
            "sender.individual.identity_document.type",
            json!("VISA"),
            Rule::UnknownEnumValue,
        ),
        ("sender.address.country", json!("XX"), Rule::CountryCode),
        ("sender.name", json!(""), Rule::Blank),
        ("sender.address", json!("Roma"), Rule::WrongType),
        ("sender", json!([]), Rule::WrongType),
    ];
    for (path, value, rule) in cases {
        let body = with(payout("150"), path, value.clone());
        assert_eq!(payout_faults(&body), one(path, rule), "{path} = {value}");
    }
}

#[test]
fn postal_codes_follow_the_address_country() {
    let uk = |code: &str| {
        with(
            with(payout("150"), "sender.address.country", json!("GB")),
            "sender.address.postal_code",
            json!(code),
        )
    };
    assert_eq!(payout_faults(&uk("SW1A 1AA")), vec![]);
    assert_eq!(
        payout_faults(&uk("00184")),
        one("sender.address.postal_code", Rule::PostalCode)
    );
    // Italy is not format-checked.
    assert_eq!(
        payout_faults(&with(
            payout("150"),
            "sender.address.postal_code",
            json!("whatever")
        )),
        vec![]
    );
}

#[test]
fn every_violation_is_collected() {
    let body = json!({
        "amount": {"value": 12, "currency": "kes"},
        "payment_account": {"type": "MOBILE_MONEY", "country": "KE", "holder": {"type": "ROBOT", "name": ""}, "mobile_money": {"number": "12", "operator": "X"}},
        "wallet_id": "w-1",
        "sender": {"type": "INDIVIDUAL", "name": "A", "address": {"line_1": "x", "city": "y", "postal_code": "z"}}
    });
    let violations = validate_payout_create(&body, table(), &NoPaymentAccounts).unwrap_err();
    let fields = violations.fields();
    let paths: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "amount.currency",
            "amount.value",
            "payment_account.holder.name",
            "payment_account.holder.type",
            "payment_account.mobile_money.number",
            "payment_account.mobile_money.operator",
            "sender.address.country",
            "sender.individual.dob",
            "wallet_id",
        ]
    );
    let body = serde_json::to_value(violations.to_error_body()).unwrap();
    assert_eq!(body["code"], "VALIDATION_FAILED");
    assert!(
        body["errors"]["fields"]["wallet_id"][0]
            .as_str()
            .unwrap()
            .contains("wlt-")
    );
}

#[test]
fn a_body_that_is_not_an_object() {
    assert_eq!(payout_faults(&json!([1, 2])), one("body", Rule::WrongType));
    let err = validate_payment_account(&json!("x"), table()).unwrap_err();
    assert_eq!(err.path_rules(), one("body", Rule::WrongType));
}

#[test]
fn standalone_payment_accounts_use_unprefixed_paths() {
    assert!(validate_payment_account(&mobile_account(), table()).is_ok());
    let bad = with(mobile_account(), "mobile_money.number", json!("+0712"));
    assert_eq!(
        validate_payment_account(&bad, table())
            .unwrap_err()
            .path_rules(),
        one("mobile_money.number", Rule::E164)
    );
    let bank = json!({
        "type": "BANK_ACCOUNT", "country": "KE", "holder": {"type": "BUSINESS", "name": "Duka Ltd"},
        "bank_account": {"bank_id": "bnk-1", "branch_id": "brn-2", "number": "0390195016650"},
        "mobile_money": {"number": "ignored", "operator": "ignored"}
    });
    let request = validate_payment_account(&bank, table()).unwrap();
    assert!(
        request.mobile_money.is_none(),
        "the block not matching the type is dropped"
    );
    for (path, value, rule) in [
        ("bank_account.bank_id", json!("bank-1"), Rule::IdPrefix),
        ("bank_account.branch_id", json!("brn-"), Rule::IdPrefix),
        ("bank_account.number", json!("12-34"), Rule::AlphaNumeric),
        ("bank_account", Value::Null, Rule::Required),
    ] {
        let body = with(bank.clone(), path, value);
        assert_eq!(
            validate_payment_account(&body, table())
                .unwrap_err()
                .path_rules(),
            one(path, rule),
            "{path}"
        );
    }
}

#[test]
fn account_identity_ignores_the_holder() {
    let a = validate_payment_account(&mobile_account(), table()).unwrap();
    let renamed = with(mobile_account(), "holder.name", json!("W. Kamau"));
    let b = validate_payment_account(&renamed, table()).unwrap();
    assert_eq!(account_identity(&a), account_identity(&b));
    let airtel = with(mobile_account(), "mobile_money.operator", json!("AIRTEL"));
    let c = validate_payment_account(&airtel, table()).unwrap();
    assert_ne!(account_identity(&a), account_identity(&c));
}

#[test]
fn wallet_selection() {
    let wallet = |id: &str, currency: &str| Wallet {
        id: id.into(),
        currency: currency.into(),
        balance: 0.into(),
        available: 0.into(),
    };
    let wallets = [
        wallet("wlt-usd", "USD"),
        wallet("wlt-kes", "KES"),
        wallet("wlt-kes2", "KES"),
    ];
    assert_eq!(select_wallet(&wallets, None, "KES").unwrap().id, "wlt-kes");
    assert_eq!(
        select_wallet(&wallets, Some("wlt-kes2"), "KES").unwrap().id,
        "wlt-kes2"
    );
    let err = select_wallet(&wallets, Some("wlt-usd"), "KES").unwrap_err();
    assert_eq!(
        (err.path.as_str(), err.rule),
        ("wallet_id", Rule::WalletCurrencyMismatch)
    );
    let err = select_wallet(&wallets, Some("wlt-x"), "KES").unwrap_err();
    assert_eq!(
        (err.path.as_str(), err.rule),
        ("wallet_id", Rule::UnknownWallet)
    );
    let err = select_wallet(&wallets, None, "EUR").unwrap_err();
    assert_eq!(
        (err.path.as_str(), err.rule),
        ("amount.currency", Rule::NoWalletForCurrency)
    );
}
