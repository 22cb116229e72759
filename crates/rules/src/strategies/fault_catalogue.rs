//! The fault catalogue: single-fault requests. Each [`Fault`] breaks exactly
//! one rule of a valid request (a wrong type, a missing or malformed
//! property, an amount out of limits, an unserved country or currency, a
//! sender part the destination requires, ...) and carries the `(path, Rule)`
//! the validator must report. Faults are chosen among those that make sense
//! for the request at hand: an operator fault only for mobile money
//! accounts, a missing-field fault only for fields the destination requires.

use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::Index;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::json_path::{self, join};
use super::valid_requests::{
    PayoutCase, mostly_inline_payout, valid_payment_account, valid_payout,
};
use crate::codes::{country_codes, currency_codes};
use crate::compliance::{ComplianceTable, SenderField, SenderRules};
use crate::macros::WireEnum;
use crate::payout::Destination;
use crate::violations::Rule;
use crate::wire::AccountType;

/// A request with exactly one fault, and the violation it must produce.
#[derive(Debug, Clone)]
pub struct FaultCase {
    pub body: Value,
    /// Accounts for `payment_account_id` (empty for payment-account bodies).
    pub accounts: HashMap<String, Destination>,
    pub path: String,
    pub rule: Rule,
}

/// Payout bodies with exactly one fault.
pub fn payout_with_one_fault(table: Arc<ComplianceTable>) -> impl Strategy<Value = FaultCase> {
    faults_of(table.clone(), valid_payout(table))
}

/// Payout bodies with exactly one fault, the payment account inline but
/// one in ten times (by id then): for a server with no accounts yet, where
/// only an inline account's faults are judged from the request alone,
/// while the faults of a `payment_account_id` itself still come up.
pub fn mostly_inline_payout_with_one_fault(
    table: Arc<ComplianceTable>,
) -> impl Strategy<Value = FaultCase> {
    faults_of(table.clone(), mostly_inline_payout(table))
}

/// `cases` with one fault each.
fn faults_of(
    table: Arc<ComplianceTable>,
    cases: impl Strategy<Value = PayoutCase>,
) -> impl Strategy<Value = FaultCase> {
    // The fault is picked by index among the case's own (no strategy made
    // per case, as a flat map would).
    (cases, any::<Index>()).prop_map(move |(case, pick)| {
        Fault::pick(payout_faults(&table, &case), pick).apply(case.body, case.accounts)
    })
}

/// POST /payment-accounts bodies with exactly one fault.
pub fn payment_account_with_one_fault(
    table: Arc<ComplianceTable>,
) -> impl Strategy<Value = FaultCase> {
    (valid_payment_account(table.clone()), any::<Index>()).prop_map(move |(body, pick)| {
        let mut faults = account_faults(&table, "", &body);
        faults.push(Fault::new(
            "body",
            Rule::WrongType,
            vec![Edit::ReplaceBody(json!("not an object"))],
        ));
        Fault::pick(faults, pick).apply(body, HashMap::new())
    })
}

/// One change to a valid body.
#[derive(Debug, Clone)]
enum Edit {
    Set(String, Value),
    Remove(String),
    ReplaceBody(Value),
}

/// A fault: the edits that break one rule, and where and which rule the
/// validator must then report.
#[derive(Debug, Clone)]
struct Fault {
    path: String,
    rule: Rule,
    edits: Vec<Edit>,
}

impl Fault {
    fn new(path: impl Into<String>, rule: Rule, edits: Vec<Edit>) -> Self {
        Fault {
            path: path.into(),
            rule,
            edits,
        }
    }

    /// `path` set to `value`, reported at `path`.
    fn set(path: &str, rule: Rule, value: Value) -> Self {
        Fault::new(path, rule, vec![Edit::Set(path.to_owned(), value)])
    }

    /// `path` removed, reported at `path` as Required.
    fn remove(path: &str) -> Self {
        Fault::new(path, Rule::Required, vec![Edit::Remove(path.to_owned())])
    }

    /// The fault `pick` falls on among a case's `faults`.
    fn pick(mut faults: Vec<Fault>, pick: Index) -> Self {
        faults.swap_remove(pick.index(faults.len()))
    }

    fn apply(self, mut body: Value, accounts: HashMap<String, Destination>) -> FaultCase {
        for edit in self.edits {
            match edit {
                Edit::Set(path, value) => json_path::set(&mut body, &path, value),
                Edit::Remove(path) => json_path::remove(&mut body, &path),
                Edit::ReplaceBody(value) => body = value,
            }
        }
        FaultCase {
            body,
            accounts,
            path: self.path,
            rule: self.rule,
        }
    }
}

fn one_cent() -> Decimal {
    Decimal::new(1, 2)
}

/// Strings that are no amount.
const BAD_AMOUNTS: &[&str] = &[
    "1e3", "-5", " 200", "200.001", "", "1,000", "abc", "0140", "200.",
];

fn payout_faults(table: &ComplianceTable, case: &PayoutCase) -> Vec<Fault> {
    let body = &case.body;
    let mut faults = vec![
        Fault::set("amount.value", Rule::WrongType, json!(150)),
        Fault::set("amount.value", Rule::AmountNotPositive, json!("0")),
        Fault::remove("amount.value"),
        Fault::remove("amount"),
        Fault::set("amount", Rule::WrongType, json!("150 KES")),
        Fault::remove("amount.currency"),
        Fault::set("amount.currency", Rule::CurrencyCode, json!("KSH")),
        Fault::set("amount.currency", Rule::CurrencyCode, json!("kes")),
        Fault::set("wallet_id", Rule::IdPrefix, json!("wallet-1")),
        Fault::set("wallet_id", Rule::WrongType, json!(7)),
        Fault::new("body", Rule::WrongType, vec![Edit::ReplaceBody(json!([]))]),
    ];
    faults.extend(
        BAD_AMOUNTS
            .iter()
            .map(|bad| Fault::set("amount.value", Rule::AmountFormat, json!(bad))),
    );

    let currency = body["amount"]["currency"].as_str().unwrap_or_default();
    let (country_code, kind) = destination_of(case);
    let country = table
        .country(&country_code)
        .expect("valid cases pay served countries");
    let limit = country
        .limit_for(currency, kind)
        .expect("valid cases use an accepted currency");
    if let Some(min) = limit.min
        && min - one_cent() >= one_cent()
    {
        faults.push(Fault::set(
            "amount.value",
            Rule::AmountBelowMin,
            json!((min - one_cent()).to_string()),
        ));
    }
    if let Some(max) = limit.max {
        faults.push(Fault::set(
            "amount.value",
            Rule::AmountAboveMax,
            json!((max + one_cent()).to_string()),
        ));
    }
    if let Some(other) = currency_codes()
        .iter()
        .find(|c| country.limit_for(c, kind).is_none())
    {
        faults.push(Fault::set(
            "amount.currency",
            Rule::UnsupportedCurrency,
            json!(other),
        ));
    }

    let inline = body.get("payment_account").is_some();
    let (present, absent) = if inline {
        ("payment_account", "payment_account_id")
    } else {
        ("payment_account_id", "payment_account")
    };
    faults.push(Fault::new(
        "payment_account_id",
        Rule::ExactlyOneOf,
        vec![Edit::Remove(present.into())],
    ));
    let extra = if inline {
        json!("pac-extra")
    } else {
        json!({"type": "MOBILE_MONEY"})
    };
    faults.push(Fault::new(
        "payment_account_id",
        Rule::ExactlyOneOf,
        vec![Edit::Set(absent.into(), extra)],
    ));
    if inline {
        faults.extend(account_faults(
            table,
            "payment_account",
            &body["payment_account"],
        ));
        faults.push(Fault::set(
            "payment_account",
            Rule::WrongType,
            json!("pac-1"),
        ));
    } else {
        faults.push(Fault::set(
            "payment_account_id",
            Rule::IdPrefix,
            json!("acc-1"),
        ));
        faults.push(Fault::set(
            "payment_account_id",
            Rule::IdPrefix,
            json!("pac-"),
        ));
        faults.push(Fault::set("payment_account_id", Rule::WrongType, json!(12)));
        let unknown = (0..)
            .map(|n| format!("pac-unknown{n}"))
            .find(|id| !case.accounts.contains_key(id))
            .expect("some id is free");
        faults.push(Fault::set(
            "payment_account_id",
            Rule::UnknownPaymentAccount,
            json!(unknown),
        ));
    }
    faults.extend(sender_faults(table, &country.sender, body));
    faults
}

/// The destination country and account type of a valid case.
fn destination_of(case: &PayoutCase) -> (String, AccountType) {
    if let Some(id) = case.body["payment_account_id"].as_str() {
        let destination = &case.accounts[id];
        return (destination.country.clone(), destination.account_type);
    }
    let account = &case.body["payment_account"];
    let kind =
        AccountType::parse(account["type"].as_str().unwrap_or_default()).expect("valid type");
    (
        account["country"].as_str().unwrap_or_default().to_owned(),
        kind,
    )
}

/// Faults of a payment account found at `prefix` (`""` for the standalone body).
fn account_faults(table: &ComplianceTable, prefix: &str, account: &Value) -> Vec<Fault> {
    let at = |name: &str| join(prefix, name);
    let mut faults = vec![
        Fault::set(&at("type"), Rule::UnknownEnumValue, json!("WALLET")),
        Fault::remove(&at("type")),
        Fault::set(&at("country"), Rule::CountryCode, json!("KEN")),
        Fault::set(&at("country"), Rule::CountryCode, json!("XX")),
        Fault::set(&at("country"), Rule::WrongType, json!(254)),
        Fault::remove(&at("country")),
        Fault::remove(&at("holder")),
        Fault::set(&at("holder"), Rule::WrongType, json!("Amina")),
        Fault::set(&at("holder.type"), Rule::UnknownEnumValue, json!("ROBOT")),
        Fault::set(&at("holder.name"), Rule::Blank, json!("   ")),
        Fault::remove(&at("holder.name")),
    ];
    if let Some(unserved) = country_codes().iter().find(|c| table.country(c).is_none()) {
        faults.push(Fault::set(
            &at("country"),
            Rule::UnsupportedCountry,
            json!(unserved),
        ));
    }
    let country = table
        .country(account["country"].as_str().unwrap_or_default())
        .expect("served");
    if account.get("mobile_money").is_some() {
        faults.push(Fault::remove(&at("mobile_money")));
        faults.push(Fault::set(
            &at("mobile_money.number"),
            Rule::WrongType,
            json!(254712345678u64),
        ));
        for bad in [
            "0712345678",
            "+0712345678",
            "+1234567",
            "+1234567890123456",
            "+254 712345678",
        ] {
            faults.push(Fault::set(
                &at("mobile_money.number"),
                Rule::E164,
                json!(bad),
            ));
        }
        faults.push(Fault::remove(&at("mobile_money.operator")));
        let foreign = [
            "VODAFONE",
            "ORANGE",
            "MTN",
            "AIRTEL",
            "SAFARICOM",
            "safaricom",
        ]
        .into_iter()
        .find(|o| !country.allows_operator(o));
        if let Some(operator) = foreign {
            faults.push(Fault::set(
                &at("mobile_money.operator"),
                Rule::Operator,
                json!(operator),
            ));
        }
    }
    if account.get("bank_account").is_some() {
        faults.push(Fault::remove(&at("bank_account")));
        faults.push(Fault::set(
            &at("bank_account.bank_id"),
            Rule::IdPrefix,
            json!("bank-1"),
        ));
        faults.push(Fault::remove(&at("bank_account.bank_id")));
        faults.push(Fault::set(
            &at("bank_account.branch_id"),
            Rule::IdPrefix,
            json!("brn-"),
        ));
        faults.push(Fault::set(
            &at("bank_account.number"),
            Rule::AlphaNumeric,
            json!("12-34"),
        ));
        faults.push(Fault::set(
            &at("bank_account.number"),
            Rule::Blank,
            json!(" "),
        ));
        faults.push(Fault::remove(&at("bank_account.number")));
    }
    faults
}

fn sender_faults(table: &ComplianceTable, rules: &SenderRules, body: &Value) -> Vec<Fault> {
    let mut faults = vec![Fault::set("sender", Rule::WrongType, json!("Mario Rossi"))];
    let Some(sender) = body.get("sender") else {
        return faults;
    };
    if rules.required {
        faults.push(Fault::remove("sender"));
    }
    let has = |path: &str| json_path::get(sender, path).is_some();
    let individual = sender["type"] == json!("INDIVIDUAL");
    // Removing a field the destination requires.
    for field in <SenderField as WireEnum>::ALL {
        let required = rules.required_fields.contains(field)
            || (individual && rules.required_fields_if_individual.contains(field));
        // Removing a parent object would report each required child instead.
        let leaf = !matches!(
            field,
            SenderField::Address | SenderField::Individual | SenderField::IdentityDocument
        );
        if required && leaf && has(field.as_str()) {
            faults.push(Fault::remove(&join("sender", field.as_str())));
        }
    }
    faults.push(Fault::set(
        "sender.type",
        Rule::UnknownEnumValue,
        json!("PERSON"),
    ));
    if has("name") {
        faults.push(Fault::set("sender.name", Rule::Blank, json!(" ")));
    }
    if has("address") {
        faults.push(Fault::set(
            "sender.address",
            Rule::WrongType,
            json!("Piazza del Colosseo"),
        ));
        faults.push(Fault::set(
            "sender.address.country",
            Rule::CountryCode,
            json!("ITA"),
        ));
        faults.push(Fault::set("sender.address.city", Rule::Blank, json!("")));
        faults.push(Fault::set(
            "sender.address.line_2",
            Rule::WrongType,
            json!(1),
        ));
        for country in table.postal_code_countries() {
            let format = table.postal_code_format(country).expect("listed");
            if let Some(bad) = ["!!", "0", "ABCDEFGHIJKLMNOP"]
                .into_iter()
                .find(|code| !format.matches(code))
            {
                faults.push(Fault::new(
                    "sender.address.postal_code",
                    Rule::PostalCode,
                    vec![
                        Edit::Set("sender.address.country".into(), json!(country)),
                        Edit::Set("sender.address.postal_code".into(), json!(bad)),
                    ],
                ));
            }
        }
    }
    if has("individual") {
        for bad in ["1990-02-30", "1990-2-3", "01/02/1990", "2023-02-29"] {
            faults.push(Fault::set(
                "sender.individual.dob",
                Rule::DateFormat,
                json!(bad),
            ));
        }
    }
    if has("individual.identity_document") {
        let document = "sender.individual.identity_document";
        faults.push(Fault::set(
            &join(document, "type"),
            Rule::UnknownEnumValue,
            json!("VISA"),
        ));
        faults.push(Fault::set(
            &join(document, "country"),
            Rule::CountryCode,
            json!("ZZ"),
        ));
        faults.push(Fault::set(
            &join(document, "number"),
            Rule::Blank,
            json!("  "),
        ));
        faults.push(Fault::set(
            &join(document, "expires_on"),
            Rule::DateFormat,
            json!("2030-13-01"),
        ));
        faults.push(Fault::set(
            &join(document, "issued_on"),
            Rule::DateFormat,
            json!("yesterday"),
        ));
        for field in &rules.required_fields_in_identity_document {
            if has(&join("individual.identity_document", field.as_str())) {
                faults.push(Fault::remove(&join(document, field.as_str())));
            }
        }
    }
    faults
}
