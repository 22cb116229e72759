//! The documented edges of a compliance table as a fixed list of POST
//! /payouts cases, so a contract run tries every one of them every time
//! instead of hoping a random generator lands on them.
//!
//! Everything comes from the [`ComplianceTable`]: for each served
//! (country, currency limit, account type) the amounts just inside and just
//! outside the limit, and for each country one case per sender field it
//! requires (and `sender` itself when required) left out of an otherwise
//! complete body. Adding a country or changing a limit in the YAML changes
//! the cases; the code only interprets the table.
//!
//! Bodies carry the payment account inline and no `wallet_id`. Test values
//! stay clear of the sandbox's failing numbers (see [`crate::sandbox`]), so
//! an accepted case also ends SENT on the sandbox. Bank ids are well formed
//! placeholders: a suite running against a real server replaces them with
//! ids the server lists.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::codes::country_codes;
use crate::compliance::{AmountLimit, ComplianceTable, CountryRules, SenderField, SenderRules};
use crate::macros::WireEnum;
use crate::violations::Rule;
use crate::wire::AccountType;

/// One edge of the table: a POST /payouts body and what the API must answer.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeCase {
    /// Short, stable, human-readable: e.g. "KE MOBILE_MONEY KES amount at max + 0.01 (500000.01)".
    pub name: String,
    /// A POST /payouts body with the payment account inline (`payment_account`), no `wallet_id`.
    pub body: Value,
    pub expect: EdgeExpect,
}

/// The answer an [`EdgeCase`] must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeExpect {
    /// The body is valid.
    Accepted,
    /// The body breaks exactly one rule, reported at `path`.
    Rejected { path: String, rule: Rule },
}

impl EdgeExpect {
    fn rejected(path: impl Into<String>, rule: Rule) -> Self {
        EdgeExpect::Rejected {
            path: path.into(),
            rule,
        }
    }
}

/// Every documented edge of `table`, in a fixed order: countries by code;
/// within a country its amount cases (limits in table order, then account
/// types in the limit's order; min - 0.01, min, max, max + 0.01, the
/// accepted min and max only for a limit's first account type), then its
/// sender cases (`sender` absent, then each required field absent).
///
/// - Amount cases exist for every limit and account type it covers, except
///   MOBILE_MONEY in a country listing no operators (nothing can be paid
///   there). A limit without `min` (or `max`) has no cases for that bound;
///   min - 0.01 is left out when it would be below 0.01, and an edge amount
///   of zero (a `min` of 0) is left out as it is `AmountNotPositive`, not a
///   limit.
/// - Sender cases use the country's first route (first limit and account
///   type that can carry a payout) with an amount inside its limit, and an
///   INDIVIDUAL sender giving every field and an identity document, so the
///   fields required only for individuals and inside a document count too.
///   A required parent object (`address`, `individual`) is left out only
///   when none of its children is required, since removing it would
///   otherwise report each required child as well.
pub fn payout_edges(table: &ComplianceTable) -> Vec<EdgeCase> {
    let sender = base_sender(table);
    let mut cases = Vec::new();
    for country in table.countries() {
        let routes = routes(country);
        for (index, route) in routes.iter().enumerate() {
            // A payout at an accepted edge spends money on a real sandbox:
            // each limit's min and max are paid once, by its first route;
            // the refusals are tried on every route.
            let first = !routes[..index]
                .iter()
                .any(|r| std::ptr::eq(r.limit, route.limit));
            amount_cases(country, route, first, &sender, &mut cases);
        }
        if let Some((route, amount)) = routes
            .iter()
            .find_map(|route| inner_amount(route.limit).map(|amount| (route, amount)))
        {
            let body = payout_body(country, route, amount, &sender);
            sender_cases(country, &body, &mut cases);
        }
    }
    cases
}

// ---- routes and amounts ---------------------------------------------------

/// One account type a limit covers in a country.
struct Route<'t> {
    kind: AccountType,
    limit: &'t AmountLimit,
}

/// The country's routes in table order; MOBILE_MONEY only with operators.
fn routes(country: &CountryRules) -> Vec<Route<'_>> {
    let mut routes = Vec::new();
    for limit in &country.limits {
        for kind in &limit.account_types {
            if *kind == AccountType::MobileMoney && country.mobile_money_operators.is_empty() {
                continue;
            }
            routes.push(Route { kind: *kind, limit });
        }
    }
    routes
}

fn one_cent() -> Decimal {
    Decimal::new(1, 2)
}

/// `amount` written with exactly two decimals (`"139.99"`, `"140.00"`).
fn cents_text(amount: Decimal) -> String {
    let mut amount = amount;
    amount.rescale(2);
    amount.to_string()
}

fn amount_cases(
    country: &CountryRules,
    route: &Route<'_>,
    pay: bool,
    sender: &Value,
    out: &mut Vec<EdgeCase>,
) {
    let limit = route.limit;
    let prefix = format!("{} {} {}", country.code, route.kind, limit.currency);
    let mut push = |what: &str, amount: Decimal, expect: EdgeExpect| {
        let text = cents_text(amount);
        out.push(EdgeCase {
            name: format!("{prefix} amount at {what} ({text})"),
            body: payout_body(country, route, amount, sender),
            expect,
        });
    };
    if let Some(min) = limit.min {
        let below = min - one_cent();
        if below >= one_cent() {
            push(
                "min - 0.01",
                below,
                EdgeExpect::rejected("amount.value", Rule::AmountBelowMin),
            );
        }
        if pay && min >= one_cent() {
            push("min", min, EdgeExpect::Accepted);
        }
    }
    if let Some(max) = limit.max {
        if pay && max >= one_cent() {
            push("max", max, EdgeExpect::Accepted);
        }
        push(
            "max + 0.01",
            max + one_cent(),
            EdgeExpect::rejected("amount.value", Rule::AmountAboveMax),
        );
    }
}

/// An amount inside `limit`, a unit above its minimum (the sender edges
/// are refused by a conforming server, but a server that accepts one
/// spends it), or `None` when the limit admits no positive amount.
fn inner_amount(limit: &AmountLimit) -> Option<Decimal> {
    let low = limit.min.unwrap_or_default().max(one_cent());
    match limit.max {
        Some(max) if max < low => None,
        Some(max) => Some((low + Decimal::ONE).min(max)),
        None => Some(low),
    }
}

// ---- bodies ---------------------------------------------------------------

/// Mobile number of the edge cases: well formed, and not one of the sandbox's
/// failing suffixes (`000100`..`000106`).
const MOBILE_NUMBER: &str = "+254712345678";
const BANK_ID: &str = "bnk-2WLXb8bP6sS7QRvA6AFGp7NhGs7";
const BRANCH_ID: &str = "brn-2WLXbB7nQ1kP0aZ3mV5tY8uR4eW";
/// Bank account number: alphanumeric, not a sandbox failing number.
const BANK_ACCOUNT_NUMBER: &str = "0390195016651";

/// A complete, valid body paying `amount` along `route`.
fn payout_body(
    country: &CountryRules,
    route: &Route<'_>,
    amount: Decimal,
    sender: &Value,
) -> Value {
    let mut account = json!({
        "type": route.kind.as_str(),
        "country": country.code,
    });
    match route.kind {
        AccountType::MobileMoney => {
            account["holder"] = json!({"type": "INDIVIDUAL", "name": "Wanjiru Kamau"});
            account["mobile_money"] = json!({
                "number": MOBILE_NUMBER,
                "operator": country.mobile_money_operators[0],
            });
        }
        AccountType::BankAccount => {
            account["holder"] = json!({"type": "BUSINESS", "name": "Duka Ltd"});
            account["bank_account"] = json!({
                "bank_id": BANK_ID,
                "branch_id": BRANCH_ID,
                "number": BANK_ACCOUNT_NUMBER,
            });
        }
    }
    json!({
        "amount": {"value": cents_text(amount), "currency": route.limit.currency},
        "payment_account": account,
        "sender": sender,
    })
}

/// Sender addresses with a postal code valid in that country, preferred in
/// this order. One whose country the table format-checks is used only if
/// the code matches the table's format.
const ADDRESSES: &[(&str, &str, &str)] = &[
    ("GB", "SW1A 1AA", "London"),
    ("US", "94105", "San Francisco"),
    ("PT", "1000-001", "Lisboa"),
    ("IE", "D02 X285", "Dublin"),
    ("MT", "VLT 1117", "Valletta"),
    ("NG", "100001", "Lagos"),
    ("NL", "1012 AB", "Amsterdam"),
    ("SK", "811 01", "Bratislava"),
    ("KE", "00100", "Nairobi"),
    ("IT", "00184", "Roma"),
];

/// The sender's address country, postal code and city: a format-checked
/// country with a matching code if there is one, else a country the table
/// does not check.
fn sender_address(table: &ComplianceTable) -> (&'static str, &'static str, &'static str) {
    let checked = ADDRESSES.iter().find(|(country, code, _)| {
        table
            .postal_code_format(country)
            .is_some_and(|f| f.matches(code))
    });
    let unchecked = || {
        ADDRESSES
            .iter()
            .find(|(country, _, _)| table.postal_code_format(country).is_none())
            .copied()
            .or_else(|| {
                country_codes()
                    .iter()
                    .find(|c| table.postal_code_format(c).is_none())
                    .map(|c| (*c, "00100", "Capital City"))
            })
    };
    checked
        .copied()
        .or_else(unchecked)
        .expect("some address country's postal code is unchecked or has a sample")
}

/// An INDIVIDUAL sender with every field and an identity document: it
/// satisfies any sender rule a table can state.
fn base_sender(table: &ComplianceTable) -> Value {
    let (country, postal_code, city) = sender_address(table);
    json!({
        "type": "INDIVIDUAL",
        "name": "Jane Smith",
        "address": {
            "line_1": "1 High Street",
            "line_2": "Flat 2",
            "line_3": "Second floor",
            "city": city,
            "postal_code": postal_code,
            "country": country,
        },
        "individual": {
            "dob": "1970-01-01",
            "identity_document": {
                "type": "PASSPORT",
                "country": country,
                "number": "P1234567",
                "issued_on": "2020-01-01",
                "expires_on": "2040-01-01",
            },
        },
    })
}

// ---- sender cases ---------------------------------------------------------

fn sender_cases(country: &CountryRules, body: &Value, out: &mut Vec<EdgeCase>) {
    let rules = &country.sender;
    let mut push = |path: String| {
        let mut body = body.clone();
        remove_path(&mut body, &path);
        out.push(EdgeCase {
            name: format!("{} {path} absent", country.code),
            body,
            expect: EdgeExpect::rejected(path, Rule::Required),
        });
    };
    if rules.required {
        push("sender".to_owned());
    }
    for field in <SenderField as WireEnum>::ALL {
        if removal_reports_only_itself(rules, *field) {
            push(format!("sender.{}", field.as_str()));
        }
    }
    for field in &rules.required_fields_in_identity_document {
        push(format!(
            "sender.individual.identity_document.{}",
            field.as_str()
        ));
    }
}

/// Whether the INDIVIDUAL base sender without `field` is refused with
/// exactly one violation, at `field`.
fn removal_reports_only_itself(rules: &SenderRules, field: SenderField) -> bool {
    // Without `type` the sender is no longer an individual: only an
    // unconditional requirement applies.
    let required = |f: SenderField| {
        rules.required_fields.contains(&f)
            || (f != SenderField::Type && rules.required_fields_if_individual.contains(&f))
    };
    if !required(field) {
        return false;
    }
    // The validator still reads the children of an absent parent and
    // reports those it requires (but not a document's: those apply only to
    // a given document).
    let children: &[SenderField] = match field {
        SenderField::Address => &[
            SenderField::AddressLine1,
            SenderField::AddressLine2,
            SenderField::AddressLine3,
            SenderField::AddressCity,
            SenderField::AddressPostalCode,
            SenderField::AddressCountry,
        ],
        SenderField::Individual => &[SenderField::IndividualDob, SenderField::IdentityDocument],
        _ => &[],
    };
    !children.iter().any(|child| required(*child))
}

/// Removes the property at dotted `path` (its parents exist in base bodies).
fn remove_path(body: &mut Value, path: &str) {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (
            parent.split('.').try_fold(body, |node, k| node.get_mut(k)),
            key,
        ),
        None => (Some(body), path),
    };
    if let Some(Value::Object(map)) = parent {
        map.remove(key);
    }
}
