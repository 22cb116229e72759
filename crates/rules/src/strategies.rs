//! proptest strategies driven by a [`ComplianceTable`]: valid payout and
//! payment-account requests across every served country, both account
//! types and both sender types, and *single-fault* requests that break
//! exactly one named rule, returned with the `(path, Rule)` the validator
//! must report. Enabled by the `strategies` feature.
//!
//! Faults are applied to a valid request and chosen among those that make
//! sense for it (e.g. an operator fault only for mobile money accounts, a
//! missing-field fault only for fields the destination requires).

use std::collections::HashMap;
use std::sync::Arc;

use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use crate::codes::{COUNTRY_CODES, CURRENCY_CODES};
use crate::compliance::{AmountLimit, ComplianceTable, DocumentField, SenderField, SenderRules};
use crate::macros::WireEnum;
use crate::payout::Destination;
use crate::violations::Rule;
use crate::wire::{AccountType, DocumentType, PartyType};

/// A valid POST /payouts body and the accounts its `payment_account_id` may name.
#[derive(Debug, Clone)]
pub struct PayoutCase {
    pub body: Value,
    pub accounts: HashMap<String, Destination>,
}

/// A request with exactly one fault, and the violation it must produce.
#[derive(Debug, Clone)]
pub struct FaultCase {
    pub body: Value,
    /// Accounts for `payment_account_id` (empty for payment-account bodies).
    pub accounts: HashMap<String, Destination>,
    pub path: String,
    pub rule: Rule,
}

/// Valid payout bodies over every (country, account type, currency) the
/// table serves, inline or by id, with or without optional parts.
pub fn valid_payout(table: Arc<ComplianceTable>) -> impl Strategy<Value = PayoutCase> {
    let routes = routes(&table);
    (
        select(routes).prop_flat_map(|route| {
            let amount = amount_text(&route.limit);
            (Just(route), amount)
        }),
        account_parts(),
        sender_parts(),
        any::<bool>(),
        id_text("pac"),
        option::of(id_text("wlt")),
    )
        .prop_map(
            move |((route, amount), account, sender, by_id, account_id, wallet_id)| {
                let mut body = Map::new();
                body.insert(
                    "amount".into(),
                    json!({"value": amount, "currency": route.limit.currency}),
                );
                let mut accounts = HashMap::new();
                if by_id {
                    body.insert("payment_account_id".into(), json!(account_id));
                    accounts.insert(
                        account_id,
                        Destination {
                            country: route.country.clone(),
                            account_type: route.kind,
                        },
                    );
                } else {
                    body.insert(
                        "payment_account".into(),
                        build_account(&table, &route, &account),
                    );
                }
                if let Some(wallet_id) = wallet_id {
                    body.insert("wallet_id".into(), json!(wallet_id));
                }
                let rules = &table.country(&route.country).expect("route country").sender;
                if let Some(sender) = build_sender(&table, rules, &sender) {
                    body.insert("sender".into(), sender);
                }
                PayoutCase {
                    body: Value::Object(body),
                    accounts,
                }
            },
        )
}

/// Payout bodies with exactly one fault.
pub fn payout_with_one_fault(table: Arc<ComplianceTable>) -> impl Strategy<Value = FaultCase> {
    valid_payout(table.clone())
        .prop_flat_map(move |case| {
            let faults = payout_faults(&table, &case);
            (Just(case), select(faults))
        })
        .prop_map(|(case, fault)| fault.apply(case.body, case.accounts))
}

/// Valid POST /payment-accounts bodies for every served country and type.
pub fn valid_payment_account(table: Arc<ComplianceTable>) -> impl Strategy<Value = Value> {
    let routes = routes(&table);
    (select(routes), account_parts())
        .prop_map(move |(route, parts)| build_account(&table, &route, &parts))
}

/// POST /payment-accounts bodies with exactly one fault.
pub fn payment_account_with_one_fault(
    table: Arc<ComplianceTable>,
) -> impl Strategy<Value = FaultCase> {
    valid_payment_account(table.clone())
        .prop_flat_map(move |body| {
            let mut faults = account_faults(&table, "", &body);
            faults.push(Fault::new(
                "body",
                Rule::WrongType,
                vec![Edit::ReplaceBody(json!("not an object"))],
            ));
            (Just(body), select(faults))
        })
        .prop_map(|(body, fault)| fault.apply(body, HashMap::new()))
}

// ---- routes and amounts ---------------------------------------------------

/// Somewhere the table lets money go: country, account type, currency limit.
#[derive(Debug, Clone)]
struct Route {
    country: String,
    kind: AccountType,
    limit: AmountLimit,
}

fn routes(table: &ComplianceTable) -> Vec<Route> {
    let mut routes = Vec::new();
    for country in table.countries() {
        for limit in &country.limits {
            for kind in &limit.account_types {
                if *kind == AccountType::MobileMoney && country.mobile_money_operators.is_empty() {
                    continue;
                }
                routes.push(Route {
                    country: country.code.clone(),
                    kind: *kind,
                    limit: limit.clone(),
                });
            }
        }
    }
    assert!(
        !routes.is_empty(),
        "the compliance table serves no (country, account type, currency)"
    );
    routes
}

fn cents(d: Decimal) -> i64 {
    (d * Decimal::ONE_HUNDRED)
        .to_i64()
        .expect("limit fits in i64 cents")
}

fn one_cent() -> Decimal {
    Decimal::new(1, 2)
}

/// Amount strings within the limit, boundaries included, in both
/// `"140.00"` and normalised `"140"` spellings.
fn amount_text(limit: &AmountLimit) -> impl Strategy<Value = String> + use<> {
    let low = limit.min.map_or(1, cents).max(1);
    let high = limit.max.map_or(low + 100_000_000, cents);
    (
        prop_oneof![Just(low), Just(high), low..=high],
        any::<bool>(),
    )
        .prop_map(|(cents, normalise)| {
            let value = Decimal::new(cents, 2);
            if normalise {
                value.normalize().to_string()
            } else {
                value.to_string()
            }
        })
}

// ---- payment accounts -----------------------------------------------------

#[derive(Debug, Clone)]
struct AccountParts {
    holder_type: PartyType,
    holder_name: String,
    number: String,
    operator: Index,
    bank_id: String,
    branch_id: Option<String>,
    bank_number: String,
}

fn id_text(prefix: &'static str) -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{1,27}".prop_map(move |rest| format!("{prefix}-{rest}"))
}

fn name_text() -> impl Strategy<Value = String> {
    "[A-Z][a-z]{1,10}( [A-Z][a-z]{1,12}){0,2}"
}

fn account_parts() -> impl Strategy<Value = AccountParts> {
    (
        select(PartyType::ALL),
        name_text(),
        "\\+[1-9][0-9]{7,14}",
        any::<Index>(),
        id_text("bnk"),
        option::of(id_text("brn")),
        "[0-9A-Z]{6,16}",
    )
        .prop_map(
            |(holder_type, holder_name, number, operator, bank_id, branch_id, bank_number)| {
                AccountParts {
                    holder_type,
                    holder_name,
                    number,
                    operator,
                    bank_id,
                    branch_id,
                    bank_number,
                }
            },
        )
}

fn build_account(table: &ComplianceTable, route: &Route, parts: &AccountParts) -> Value {
    let mut account = json!({
        "type": route.kind.as_str(),
        "country": route.country,
        "holder": {"type": parts.holder_type.as_str(), "name": parts.holder_name},
    });
    match route.kind {
        AccountType::MobileMoney => {
            let operators = &table
                .country(&route.country)
                .expect("route country")
                .mobile_money_operators;
            account["mobile_money"] =
                json!({"number": parts.number, "operator": parts.operator.get(operators)});
        }
        AccountType::BankAccount => {
            let mut bank = json!({"bank_id": parts.bank_id, "number": parts.bank_number});
            if let Some(branch_id) = &parts.branch_id {
                bank["branch_id"] = json!(branch_id);
            }
            account["bank_account"] = bank;
        }
    }
    account
}

// ---- senders --------------------------------------------------------------

/// Address countries with a postal code valid there; those the table
/// format-checks are kept only if the sample matches the table's format.
const POSTAL_SAMPLES: &[(&str, &str)] = &[
    ("GB", "SW1A 1AA"),
    ("US", "94105"),
    ("PT", "1000-001"),
    ("IE", "D02 X285"),
    ("MT", "VLT 1117"),
    ("NG", "100001"),
    ("NL", "1012 AB"),
    ("SK", "811 01"),
    ("KE", "00100"),
    ("IT", "00184"),
    ("FR", "75001"),
    ("UG", "256"),
];

/// How many optional parts a sender has switches for.
const SENDER_SWITCHES: usize = 18;

#[derive(Debug, Clone)]
struct SenderParts {
    kind: PartyType,
    name: String,
    line_1: String,
    line_2: String,
    city: String,
    address: Index,
    dob: String,
    document_type: DocumentType,
    document_country: Index,
    document_number: String,
    issued_on: String,
    expires_on: String,
    switches: [bool; SENDER_SWITCHES],
}

fn date_text(years: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = String> {
    (years, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

fn sender_parts() -> impl Strategy<Value = SenderParts> {
    (
        (
            select(PartyType::ALL),
            name_text(),
            "[A-Za-z0-9 ]{0,20}[A-Za-z0-9]",
            "[A-Za-z0-9 ]{0,10}",
            name_text(),
            any::<Index>(),
        ),
        (
            date_text(1930..=2005),
            select(DocumentType::ALL),
            any::<Index>(),
            "[A-Z0-9]{5,12}",
            date_text(2010..=2023),
            date_text(2025..=2040),
        ),
        any::<[bool; SENDER_SWITCHES]>(),
    )
        .prop_map(
            |(
                (kind, name, line_1, line_2, city, address),
                (dob, document_type, document_country, document_number, issued_on, expires_on),
                switches,
            )| {
                SenderParts {
                    kind,
                    name,
                    line_1,
                    line_2,
                    city,
                    address,
                    dob,
                    document_type,
                    document_country,
                    document_number,
                    issued_on,
                    expires_on,
                    switches,
                }
            },
        )
}

/// Builds a sender that satisfies `rules`: every required part is present,
/// optional parts come and go with the switches.
fn build_sender(
    table: &ComplianceTable,
    rules: &SenderRules,
    parts: &SenderParts,
) -> Option<Value> {
    let switch = |i: usize| parts.switches[i];
    if !(rules.required || switch(0)) {
        return None;
    }
    let include_type = rules.required_fields.contains(&SenderField::Type) || switch(1);
    let individual = include_type && parts.kind == PartyType::Individual;
    let needs = |field: SenderField, i: usize| {
        rules.required_fields.contains(&field)
            || (individual && rules.required_fields_if_individual.contains(&field))
            || switch(i)
    };
    let mut sender = Map::new();
    if include_type {
        sender.insert("type".into(), json!(parts.kind.as_str()));
    }
    if needs(SenderField::Name, 2) {
        sender.insert("name".into(), json!(parts.name));
    }
    let samples: Vec<(&str, &str)> = POSTAL_SAMPLES
        .iter()
        .copied()
        .filter(|(country, code)| {
            table
                .postal_code_format(country)
                .is_none_or(|f| f.matches(code))
        })
        .collect();
    let (country, postal_code) = *parts.address.get(&samples);
    let mut address = Map::new();
    for (field, i, key, value) in [
        (
            SenderField::AddressLine1,
            3,
            "line_1",
            parts.line_1.as_str(),
        ),
        (
            SenderField::AddressLine2,
            4,
            "line_2",
            parts.line_2.as_str(),
        ),
        (SenderField::AddressLine3, 5, "line_3", ""),
        (SenderField::AddressCity, 6, "city", parts.city.as_str()),
        (
            SenderField::AddressPostalCode,
            7,
            "postal_code",
            postal_code,
        ),
        (SenderField::AddressCountry, 8, "country", country),
    ] {
        if needs(field, i) {
            address.insert(key.into(), json!(value));
        }
    }
    if !address.is_empty() || needs(SenderField::Address, 9) {
        sender.insert("address".into(), Value::Object(address));
    }
    let mut individual_object = Map::new();
    if needs(SenderField::IndividualDob, 10) {
        individual_object.insert("dob".into(), json!(parts.dob));
    }
    if needs(SenderField::IdentityDocument, 11) {
        let in_document = |field: DocumentField, i: usize| {
            rules.required_fields_in_identity_document.contains(&field) || switch(i)
        };
        let mut document = Map::new();
        let document_country = *parts.document_country.get(COUNTRY_CODES);
        for (field, i, key, value) in [
            (
                DocumentField::Type,
                12,
                "type",
                parts.document_type.as_str(),
            ),
            (DocumentField::Country, 13, "country", document_country),
            (
                DocumentField::Number,
                14,
                "number",
                parts.document_number.as_str(),
            ),
            (
                DocumentField::IssuedOn,
                15,
                "issued_on",
                parts.issued_on.as_str(),
            ),
            (
                DocumentField::ExpiresOn,
                16,
                "expires_on",
                parts.expires_on.as_str(),
            ),
        ] {
            if in_document(field, i) {
                document.insert(key.into(), json!(value));
            }
        }
        individual_object.insert("identity_document".into(), Value::Object(document));
    }
    if !individual_object.is_empty() || needs(SenderField::Individual, 17) {
        sender.insert("individual".into(), Value::Object(individual_object));
    }
    Some(Value::Object(sender))
}

// ---- faults ---------------------------------------------------------------

#[derive(Debug, Clone)]
enum Edit {
    Set(String, Value),
    Remove(String),
    ReplaceBody(Value),
}

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
                Edit::Set(path, value) => set_path(&mut body, &path, value),
                Edit::Remove(path) => remove_path(&mut body, &path),
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

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn get_path<'v>(body: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.')
        .try_fold(body, |node, key| node.get(key))
        .filter(|v| !v.is_null())
}

fn set_path(body: &mut Value, path: &str, value: Value) {
    let mut node = body;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        if keys.peek().is_none() {
            node[key] = value;
            return;
        }
        node = &mut node[key];
    }
}

fn remove_path(body: &mut Value, path: &str) {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (get_path_mut(body, parent), key),
        None => (Some(body), path),
    };
    if let Some(Value::Object(map)) = parent {
        map.remove(key);
    }
}

fn get_path_mut<'v>(body: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    path.split('.')
        .try_fold(body, |node, key| node.get_mut(key))
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
    if let Some(other) = CURRENCY_CODES
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
    if let Some(unserved) = COUNTRY_CODES.iter().find(|c| table.country(c).is_none()) {
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
    let has = |path: &str| get_path(sender, path).is_some();
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
