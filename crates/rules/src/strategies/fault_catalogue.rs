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
        Faults::pick(|faults| payout_faults(&table, &case, faults), pick)
            .apply(case.body, case.accounts)
    })
}

/// POST /payment-accounts bodies with exactly one fault.
pub fn payment_account_with_one_fault(
    table: Arc<ComplianceTable>,
) -> impl Strategy<Value = FaultCase> {
    (valid_payment_account(table.clone()), any::<Index>()).prop_map(move |(body, pick)| {
        let list = |faults: &mut Faults| {
            account_faults(&table, "", &body, faults);
            faults.add(|| {
                Fault::new(
                    "body",
                    Rule::WrongType,
                    vec![Edit::ReplaceBody(json!("not an object"))],
                )
            });
        };
        Faults::pick(list, pick).apply(body, HashMap::new())
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

/// The faults of one case as they are listed: each is counted, and only
/// the one picked is made (a case has about forty and uses one).
struct Faults {
    listed: usize,
    wanted: Option<usize>,
    picked: Option<Fault>,
}

impl Faults {
    /// A sink that makes the fault listed `wanted`-th (none: it only counts).
    fn wanting(wanted: Option<usize>) -> Self {
        Faults {
            listed: 0,
            wanted,
            picked: None,
        }
    }

    /// The fault `pick` falls on among those `list` lists: listed once to
    /// count them, then again to make just that one.
    fn pick(list: impl Fn(&mut Faults), pick: Index) -> Fault {
        let mut counted = Faults::wanting(None);
        list(&mut counted);
        let mut picking = Faults::wanting(Some(pick.index(counted.listed)));
        list(&mut picking);
        picking
            .picked
            .expect("a case lists the same faults each time, at least one")
    }

    /// Lists one fault; `make` runs only if it is the one picked.
    fn add(&mut self, make: impl FnOnce() -> Fault) {
        if self.wanted == Some(self.listed) {
            self.picked = Some(make());
        }
        self.listed += 1;
    }
}

fn one_cent() -> Decimal {
    Decimal::new(1, 2)
}

/// Strings that are no amount.
const BAD_AMOUNTS: &[&str] = &[
    "1e3", "-5", " 200", "200.001", "", "1,000", "abc", "0140", "200.",
];

fn payout_faults(table: &ComplianceTable, case: &PayoutCase, faults: &mut Faults) {
    let body = &case.body;
    faults.add(|| Fault::set("amount.value", Rule::WrongType, json!(150)));
    faults.add(|| Fault::set("amount.value", Rule::AmountNotPositive, json!("0")));
    faults.add(|| Fault::remove("amount.value"));
    faults.add(|| Fault::remove("amount"));
    faults.add(|| Fault::set("amount", Rule::WrongType, json!("150 KES")));
    faults.add(|| Fault::remove("amount.currency"));
    faults.add(|| Fault::set("amount.currency", Rule::CurrencyCode, json!("KSH")));
    faults.add(|| Fault::set("amount.currency", Rule::CurrencyCode, json!("kes")));
    faults.add(|| Fault::set("wallet_id", Rule::IdPrefix, json!("wallet-1")));
    faults.add(|| Fault::set("wallet_id", Rule::WrongType, json!(7)));
    faults.add(|| Fault::new("body", Rule::WrongType, vec![Edit::ReplaceBody(json!([]))]));
    for bad in BAD_AMOUNTS {
        faults.add(|| Fault::set("amount.value", Rule::AmountFormat, json!(bad)));
    }

    let currency = body["amount"]["currency"].as_str().unwrap_or_default();
    let (country_code, kind) = destination_of(case);
    let country = table
        .country(country_code)
        .expect("valid cases pay served countries");
    let limit = country
        .limit_for(currency, kind)
        .expect("valid cases use an accepted currency");
    if let Some(min) = limit.min
        && min - one_cent() >= one_cent()
    {
        faults.add(|| {
            Fault::set(
                "amount.value",
                Rule::AmountBelowMin,
                json!((min - one_cent()).to_string()),
            )
        });
    }
    if let Some(max) = limit.max {
        faults.add(|| {
            Fault::set(
                "amount.value",
                Rule::AmountAboveMax,
                json!((max + one_cent()).to_string()),
            )
        });
    }
    if let Some(other) = currency_codes()
        .iter()
        .find(|c| country.limit_for(c, kind).is_none())
    {
        faults.add(|| Fault::set("amount.currency", Rule::UnsupportedCurrency, json!(other)));
    }

    let inline = body.get("payment_account").is_some();
    let (present, absent) = if inline {
        ("payment_account", "payment_account_id")
    } else {
        ("payment_account_id", "payment_account")
    };
    faults.add(|| {
        Fault::new(
            "payment_account_id",
            Rule::ExactlyOneOf,
            vec![Edit::Remove(present.into())],
        )
    });
    faults.add(|| {
        let extra = if inline {
            json!("pac-extra")
        } else {
            json!({"type": "MOBILE_MONEY"})
        };
        Fault::new(
            "payment_account_id",
            Rule::ExactlyOneOf,
            vec![Edit::Set(absent.into(), extra)],
        )
    });
    if inline {
        account_faults(table, "payment_account", &body["payment_account"], faults);
        faults.add(|| Fault::set("payment_account", Rule::WrongType, json!("pac-1")));
    } else {
        faults.add(|| Fault::set("payment_account_id", Rule::IdPrefix, json!("acc-1")));
        faults.add(|| Fault::set("payment_account_id", Rule::IdPrefix, json!("pac-")));
        faults.add(|| Fault::set("payment_account_id", Rule::WrongType, json!(12)));
        faults.add(|| {
            let unknown = (0..)
                .map(|n| format!("pac-unknown{n}"))
                .find(|id| !case.accounts.contains_key(id))
                .expect("some id is free");
            Fault::set(
                "payment_account_id",
                Rule::UnknownPaymentAccount,
                json!(unknown),
            )
        });
    }
    sender_faults(table, &country.sender, body, faults);
}

/// The destination country and account type of a valid case.
fn destination_of(case: &PayoutCase) -> (&str, AccountType) {
    if let Some(id) = case.body["payment_account_id"].as_str() {
        let destination = &case.accounts[id];
        return (&destination.country, destination.account_type);
    }
    let account = &case.body["payment_account"];
    let kind =
        AccountType::parse(account["type"].as_str().unwrap_or_default()).expect("valid type");
    (account["country"].as_str().unwrap_or_default(), kind)
}

/// Faults of a payment account found at `prefix` (`""` for the standalone body).
fn account_faults(table: &ComplianceTable, prefix: &str, account: &Value, faults: &mut Faults) {
    let at = |name: &str| join(prefix, name);
    faults.add(|| Fault::set(&at("type"), Rule::UnknownEnumValue, json!("WALLET")));
    faults.add(|| Fault::remove(&at("type")));
    faults.add(|| Fault::set(&at("country"), Rule::CountryCode, json!("KEN")));
    faults.add(|| Fault::set(&at("country"), Rule::CountryCode, json!("XX")));
    faults.add(|| Fault::set(&at("country"), Rule::WrongType, json!(254)));
    faults.add(|| Fault::remove(&at("country")));
    faults.add(|| Fault::remove(&at("holder")));
    faults.add(|| Fault::set(&at("holder"), Rule::WrongType, json!("Amina")));
    faults.add(|| Fault::set(&at("holder.type"), Rule::UnknownEnumValue, json!("ROBOT")));
    faults.add(|| Fault::set(&at("holder.name"), Rule::Blank, json!("   ")));
    faults.add(|| Fault::remove(&at("holder.name")));
    if let Some(unserved) = country_codes().iter().find(|c| table.country(c).is_none()) {
        faults.add(|| Fault::set(&at("country"), Rule::UnsupportedCountry, json!(unserved)));
    }
    let country = table
        .country(account["country"].as_str().unwrap_or_default())
        .expect("served");
    if account.get("mobile_money").is_some() {
        faults.add(|| Fault::remove(&at("mobile_money")));
        faults.add(|| {
            Fault::set(
                &at("mobile_money.number"),
                Rule::WrongType,
                json!(254712345678u64),
            )
        });
        for bad in [
            "0712345678",
            "+0712345678",
            "+1234567",
            "+1234567890123456",
            "+254 712345678",
        ] {
            faults.add(|| Fault::set(&at("mobile_money.number"), Rule::E164, json!(bad)));
        }
        faults.add(|| Fault::remove(&at("mobile_money.operator")));
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
            faults.add(|| {
                Fault::set(
                    &at("mobile_money.operator"),
                    Rule::Operator,
                    json!(operator),
                )
            });
        }
    }
    if account.get("bank_account").is_some() {
        faults.add(|| Fault::remove(&at("bank_account")));
        faults.add(|| Fault::set(&at("bank_account.bank_id"), Rule::IdPrefix, json!("bank-1")));
        faults.add(|| Fault::remove(&at("bank_account.bank_id")));
        faults.add(|| Fault::set(&at("bank_account.branch_id"), Rule::IdPrefix, json!("brn-")));
        faults.add(|| {
            Fault::set(
                &at("bank_account.number"),
                Rule::AlphaNumeric,
                json!("12-34"),
            )
        });
        faults.add(|| Fault::set(&at("bank_account.number"), Rule::Blank, json!(" ")));
        faults.add(|| Fault::remove(&at("bank_account.number")));
    }
}

fn sender_faults(table: &ComplianceTable, rules: &SenderRules, body: &Value, faults: &mut Faults) {
    faults.add(|| Fault::set("sender", Rule::WrongType, json!("Mario Rossi")));
    let Some(sender) = body.get("sender") else {
        return;
    };
    if rules.required {
        faults.add(|| Fault::remove("sender"));
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
            faults.add(|| Fault::remove(&join("sender", field.as_str())));
        }
    }
    faults.add(|| Fault::set("sender.type", Rule::UnknownEnumValue, json!("PERSON")));
    if has("name") {
        faults.add(|| Fault::set("sender.name", Rule::Blank, json!(" ")));
    }
    if has("address") {
        faults.add(|| {
            Fault::set(
                "sender.address",
                Rule::WrongType,
                json!("Piazza del Colosseo"),
            )
        });
        faults.add(|| Fault::set("sender.address.country", Rule::CountryCode, json!("ITA")));
        faults.add(|| Fault::set("sender.address.city", Rule::Blank, json!("")));
        faults.add(|| Fault::set("sender.address.line_2", Rule::WrongType, json!(1)));
        for country in table.postal_code_countries() {
            let format = table.postal_code_format(country).expect("listed");
            if let Some(bad) = ["!!", "0", "ABCDEFGHIJKLMNOP"]
                .into_iter()
                .find(|code| !format.matches(code))
            {
                faults.add(|| {
                    Fault::new(
                        "sender.address.postal_code",
                        Rule::PostalCode,
                        vec![
                            Edit::Set("sender.address.country".into(), json!(country)),
                            Edit::Set("sender.address.postal_code".into(), json!(bad)),
                        ],
                    )
                });
            }
        }
    }
    if has("individual") {
        for bad in ["1990-02-30", "1990-2-3", "01/02/1990", "2023-02-29"] {
            faults.add(|| Fault::set("sender.individual.dob", Rule::DateFormat, json!(bad)));
        }
    }
    if has("individual.identity_document") {
        let document = "sender.individual.identity_document";
        let at = |name: &str| join(document, name);
        faults.add(|| Fault::set(&at("type"), Rule::UnknownEnumValue, json!("VISA")));
        faults.add(|| Fault::set(&at("country"), Rule::CountryCode, json!("ZZ")));
        faults.add(|| Fault::set(&at("number"), Rule::Blank, json!("  ")));
        faults.add(|| Fault::set(&at("expires_on"), Rule::DateFormat, json!("2030-13-01")));
        faults.add(|| Fault::set(&at("issued_on"), Rule::DateFormat, json!("yesterday")));
        for field in &rules.required_fields_in_identity_document {
            if has(&join("individual.identity_document", field.as_str())) {
                faults.add(|| Fault::remove(&at(field.as_str())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Lists three faults, each at its own path.
    fn three(faults: &mut Faults) {
        for path in ["a", "b", "c"] {
            faults.add(|| Fault::remove(path));
        }
    }

    proptest! {
        #[test]
        fn the_fault_picked_is_the_one_the_index_falls_on(pick in any::<Index>()) {
            let picked = Faults::pick(three, pick);
            prop_assert_eq!(picked.path, ["a", "b", "c"][pick.index(3)]);
        }
    }

    #[test]
    fn only_the_fault_picked_is_made() {
        let mut made = 0;
        let mut faults = Faults::wanting(Some(1));
        for path in ["a", "b", "c"] {
            faults.add(|| {
                made += 1;
                Fault::remove(path)
            });
        }
        assert_eq!((made, faults.listed), (1, 3));
        assert_eq!(faults.picked.map(|f| f.path), Some("b".to_string()));
    }
}
