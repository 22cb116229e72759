//! Generators of valid requests: every (country, account type, currency)
//! route the compliance table serves, amounts within its limits (bounds
//! included), payment accounts of both types, and senders that carry every
//! part the destination requires while optional parts come and go. Each
//! generated POST /payouts body is returned with the payment accounts its
//! `payment_account_id` may name.

use std::collections::HashMap;
use std::iter;
use std::ops::RangeInclusive;
use std::sync::Arc;

use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use super::text::text;
use crate::codes::country_codes;
use crate::compliance::{AmountLimit, ComplianceTable, DocumentField, SenderField, SenderRules};
use crate::macros::WireEnum;
use crate::payout::Destination;
use crate::wire::{AccountType, DocumentType, PartyType};

/// A valid POST /payouts body and the accounts its `payment_account_id` may name.
#[derive(Debug, Clone)]
pub struct PayoutCase {
    pub body: Value,
    pub accounts: HashMap<String, Destination>,
}

/// Valid payout bodies over every (country, account type, currency) the
/// table serves, inline or by id, with or without optional parts.
pub fn valid_payout(table: Arc<ComplianceTable>) -> impl Strategy<Value = PayoutCase> {
    payouts(table, option::of(id_text("pac")))
}

/// Valid payout bodies with the payment account inline (never by id), so
/// that a server with no accounts yet must take them too.
pub fn valid_inline_payout(table: Arc<ComplianceTable>) -> impl Strategy<Value = PayoutCase> {
    payouts(table, Just(None))
}

/// Valid payout bodies with the payment account inline but one in ten
/// times, when it is named by id.
pub(super) fn mostly_inline_payout(
    table: Arc<ComplianceTable>,
) -> impl Strategy<Value = PayoutCase> {
    payouts(table, option::weighted(0.1, id_text("pac")))
}

/// Valid payout bodies whose payment account is named by the id
/// `account_id` gives, or inline when it gives none.
fn payouts(
    table: Arc<ComplianceTable>,
    account_id: impl Strategy<Value = Option<String>>,
) -> impl Strategy<Value = PayoutCase> {
    let routes = routes(&table);
    let addresses = postal_addresses(&table);
    (
        select(routes),
        amount_in_limit(),
        account_parts(),
        sender_parts(),
        account_id,
        option::of(id_text("wlt")),
    )
        .prop_map(
            move |(route, amount, account, sender, account_id, wallet_id)| {
                let amount = amount.text(&route.limit);
                let mut body = Map::new();
                body.insert(
                    "amount".into(),
                    json!({"value": amount, "currency": route.limit.currency}),
                );
                let mut accounts = HashMap::new();
                if let Some(account_id) = account_id {
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
                if let Some(sender) = build_sender(rules, &addresses, &sender) {
                    body.insert("sender".into(), sender);
                }
                PayoutCase {
                    body: Value::Object(body),
                    accounts,
                }
            },
        )
}

/// Valid POST /payment-accounts bodies for every served country and type.
pub fn valid_payment_account(table: Arc<ComplianceTable>) -> impl Strategy<Value = Value> {
    let routes = routes(&table);
    (select(routes), account_parts())
        .prop_map(move |(route, parts)| build_account(&table, &route, &parts))
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

/// Where in a route's limit an amount is, and how it is spelled: the
/// minimum or some cents above it, as `"140.00"` or normalised `"140"`. (Drawn
/// apart from the route, so that no strategy has to be made per route.)
#[derive(Debug, Clone)]
struct AmountInLimit {
    place: PlaceInLimit,
    normalise: bool,
}

#[derive(Debug, Clone)]
enum PlaceInLimit {
    Min,
    /// Cents above the minimum, taken modulo the limit's span.
    Between(u64),
}

/// Most amounts just above the minimum: a suite run against a real
/// sandbox pays for every one it sends. The maximum is left to the
/// documented edges (`crate::edges`), which pay it once a run.
fn amount_in_limit() -> impl Strategy<Value = AmountInLimit> {
    (
        prop_oneof![
            2 => Just(PlaceInLimit::Min),
            // Up to 10.00 above the minimum.
            7 => (0u64..=1_000).prop_map(PlaceInLimit::Between),
            // Up to 200.00 above it, now and then.
            1 => (0u64..=20_000).prop_map(PlaceInLimit::Between),
        ],
        any::<bool>(),
    )
        .prop_map(|(place, normalise)| AmountInLimit { place, normalise })
}

impl AmountInLimit {
    /// The amount within `limit`, boundaries included.
    fn text(&self, limit: &AmountLimit) -> String {
        let low = limit.min.map_or(1, cents).max(1);
        let high = limit.max.map_or(low + 100_000_000, cents);
        let cents = match self.place {
            PlaceInLimit::Min => low,
            PlaceInLimit::Between(above) => {
                let span =
                    u64::try_from(high - low).expect("a limit's max is not below its min") + 1;
                low + i64::try_from(above % span).expect("within the limit's span")
            }
        };
        let value = Decimal::new(cents, 2);
        if self.normalise {
            value.normalize().to_string()
        } else {
            value.to_string()
        }
    }
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

// ---- text ----------------------------------------------------------------

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LETTERS_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LETTERS_DIGITS_SPACE: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ";

/// `prefix-` followed by 1 to 27 letters or digits.
fn id_text(prefix: &'static str) -> impl Strategy<Value = String> {
    // `concat`, not `format!`: a case builds many of these (so below).
    text(LETTERS_DIGITS, 1..=27).prop_map(move |rest| [prefix, "-", &rest].concat())
}

/// One to three capitalised words (`[A-Z][a-z]{1,10}( [A-Z][a-z]{1,12}){0,2}`).
fn name_text() -> impl Strategy<Value = String> {
    let word = |rest: RangeInclusive<usize>| {
        (text(UPPER, 1..=1), text(LOWER, rest)).prop_map(|(first, rest)| first + &rest)
    };
    (word(1..=10), proptest::collection::vec(word(1..=12), 0..=2))
        .prop_map(|(first, more)| iter::once(first).chain(more).collect::<Vec<_>>().join(" "))
}

/// `shape` (`+2547########`) with its `#`s filled by the last digits of
/// `number` (an E.164 number of at least 8 digits), in order.
fn in_shape(shape: &str, number: &str) -> String {
    let wanted = shape.bytes().filter(|b| *b == b'#').count();
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let mut fill = digits[digits.len().saturating_sub(wanted)..].iter();
    shape
        .chars()
        .map(|c| match c {
            '#' => fill.next().copied().unwrap_or('0'),
            other => other,
        })
        .collect()
}

/// An E.164 number (`\+[1-9][0-9]{7,14}`).
fn phone_text() -> impl Strategy<Value = String> {
    (text(&DIGITS[1..], 1..=1), text(DIGITS, 7..=14))
        .prop_map(|(first, rest)| ["+", &first, &rest].concat())
}

fn account_parts() -> impl Strategy<Value = AccountParts> {
    (
        select(PartyType::ALL),
        name_text(),
        phone_text(),
        any::<Index>(),
        id_text("bnk"),
        option::of(id_text("brn")),
        text(UPPER_DIGITS, 6..=16),
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
            let country = table.country(&route.country).expect("route country");
            let number = match &country.mobile_number_shape {
                Some(shape) => in_shape(shape, &parts.number),
                None => parts.number.clone(),
            };
            let operator = parts.operator.get(&country.mobile_money_operators);
            account["mobile_money"] = json!({"number": number, "operator": operator});
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

/// The (country, postal code) pairs of [`POSTAL_SAMPLES`] that `table`
/// takes: worked out once per strategy, not per case (matching them all
/// was half of the cost of building a sender).
fn postal_addresses(table: &ComplianceTable) -> Vec<(&'static str, &'static str)> {
    POSTAL_SAMPLES
        .iter()
        .copied()
        .filter(|(country, code)| {
            table
                .postal_code_format(country)
                .is_none_or(|f| f.matches(code))
        })
        .collect()
}

/// A part of a sender that a valid request may include even where the
/// destination does not require it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptionalPart {
    /// The `sender` object itself.
    Sender,
    /// A property of `sender`.
    Field(SenderField),
    /// A property of `sender.individual.identity_document`.
    Document(DocumentField),
}

impl OptionalPart {
    /// Every optional part: the sender, each of its fields, each document
    /// field. The list follows the wire enums, so it grows with them.
    fn all() -> Vec<OptionalPart> {
        iter::once(OptionalPart::Sender)
            .chain(SenderField::ALL.iter().copied().map(OptionalPart::Field))
            .chain(
                DocumentField::ALL
                    .iter()
                    .copied()
                    .map(OptionalPart::Document),
            )
            .collect()
    }
}

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
    /// The optional parts switched on; any part not listed is left out
    /// unless the destination requires it.
    included: Vec<OptionalPart>,
}

impl SenderParts {
    fn includes(&self, part: OptionalPart) -> bool {
        self.included.contains(&part)
    }
}

/// A date `YYYY-MM-DD` in `years` (days 1 to 28: every month has them).
fn date_text(years: RangeInclusive<u32>) -> impl Strategy<Value = String> {
    (years, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| {
        let mut date = String::with_capacity(10);
        for (number, width) in [(y, 4), (m, 2), (d, 2)] {
            if !date.is_empty() {
                date.push('-');
            }
            for place in (0..width).rev() {
                date.push(char::from(b'0' + (number / 10u32.pow(place) % 10) as u8));
            }
        }
        date
    })
}

fn sender_parts() -> impl Strategy<Value = SenderParts> {
    let parts = OptionalPart::all();
    let count = parts.len();
    (
        (
            select(PartyType::ALL),
            name_text(),
            (
                text(LETTERS_DIGITS_SPACE, 0..=20),
                text(LETTERS_DIGITS, 1..=1),
            )
                .prop_map(|(line, last)| line + &last),
            text(LETTERS_DIGITS_SPACE, 0..=10),
            name_text(),
            any::<Index>(),
        ),
        (
            date_text(1930..=2005),
            select(DocumentType::ALL),
            any::<Index>(),
            text(UPPER_DIGITS, 5..=12),
            date_text(2010..=2023),
            // Not expired: a server may refuse an expired document.
            date_text(2031..=2040),
        ),
        subsequence(parts, 0..=count),
    )
        .prop_map(
            |(
                (kind, name, line_1, line_2, city, address),
                (dob, document_type, document_country, document_number, issued_on, expires_on),
                included,
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
                    included,
                }
            },
        )
}

/// Builds a sender that satisfies `rules` under every documented reading:
/// every required part is present (those only one reading requires too),
/// optional parts come and go with `parts.included`; the address is one of
/// `addresses` (see [`postal_addresses`]).
fn build_sender(
    rules: &SenderRules,
    addresses: &[(&str, &str)],
    parts: &SenderParts,
) -> Option<Value> {
    if !(rules.required || parts.includes(OptionalPart::Sender)) {
        return None;
    }
    let include_type = rules.required_fields.contains(&SenderField::Type)
        || parts.includes(OptionalPart::Field(SenderField::Type));
    let individual = include_type && parts.kind == PartyType::Individual;
    let needs = |field: SenderField| {
        rules.required_fields.contains(&field)
            || (individual && rules.required_fields_if_individual.contains(&field))
            || rules.required_fields_in_one_reading.contains(&field)
            || parts.includes(OptionalPart::Field(field))
    };
    let mut sender = Map::new();
    if include_type {
        sender.insert("type".into(), json!(parts.kind.as_str()));
    }
    if needs(SenderField::Name) {
        sender.insert("name".into(), json!(parts.name));
    }
    let (country, postal_code) = *parts.address.get(addresses);
    let mut address = Map::new();
    for (field, key, value) in [
        (SenderField::AddressLine1, "line_1", parts.line_1.as_str()),
        (SenderField::AddressLine2, "line_2", parts.line_2.as_str()),
        (SenderField::AddressLine3, "line_3", ""),
        (SenderField::AddressCity, "city", parts.city.as_str()),
        (SenderField::AddressPostalCode, "postal_code", postal_code),
        (SenderField::AddressCountry, "country", country),
    ] {
        if needs(field) {
            address.insert(key.into(), json!(value));
        }
    }
    if !address.is_empty() || needs(SenderField::Address) {
        sender.insert("address".into(), Value::Object(address));
    }
    let mut individual_object = Map::new();
    if needs(SenderField::IndividualDob) {
        individual_object.insert("dob".into(), json!(parts.dob));
    }
    if needs(SenderField::IdentityDocument) {
        let in_document = |field: DocumentField| {
            rules.required_fields_in_identity_document.contains(&field)
                || parts.includes(OptionalPart::Document(field))
        };
        let mut document = Map::new();
        let document_country = *parts.document_country.get(country_codes());
        for (field, value) in [
            (DocumentField::Type, parts.document_type.as_str()),
            (DocumentField::Country, document_country),
            (DocumentField::Number, parts.document_number.as_str()),
            (DocumentField::IssuedOn, parts.issued_on.as_str()),
            (DocumentField::ExpiresOn, parts.expires_on.as_str()),
        ] {
            if in_document(field) {
                document.insert(field.as_str().into(), json!(value));
            }
        }
        individual_object.insert("identity_document".into(), Value::Object(document));
    }
    if !individual_object.is_empty() || needs(SenderField::Individual) {
        sender.insert("individual".into(), Value::Object(individual_object));
    }
    Some(Value::Object(sender))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use regex::Regex;

    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Regex::new(&format!("^(?:{pattern})$"))
            .unwrap()
            .is_match(text)
    }

    proptest! {
        #[test]
        fn text_keeps_to_the_shapes_it_stands_for(
            id in id_text("pac"),
            name in name_text(),
            phone in phone_text(),
            line in text(LETTERS_DIGITS_SPACE, 0..=10),
            date in date_text(1930..=2040),
        ) {
            prop_assert!(matches("pac-[A-Za-z0-9]{1,27}", &id), "{id}");
            prop_assert!(matches("[A-Z][a-z]{1,10}( [A-Z][a-z]{1,12}){0,2}", &name), "{name}");
            prop_assert!(matches("\\+[1-9][0-9]{7,14}", &phone), "{phone}");
            prop_assert!(matches("[A-Za-z0-9 ]{0,10}", &line), "{line:?}");
            prop_assert!(matches("(19[3-9][0-9]|20[0-4][0-9])-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])", &date), "{date}");
            let kenyan = in_shape("+2547########", &phone);
            prop_assert!(matches("\\+2547[0-9]{8}", &kenyan), "{kenyan}");
            prop_assert!(phone.ends_with(&kenyan[kenyan.len() - 7..]), "{phone} {kenyan}");
        }
    }
}
