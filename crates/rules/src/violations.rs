//! Violations: what was wrong with a request, where (the API property path as
//! used in `errors.fields`), and which rule it broke (a machine-readable
//! [`Rule`]), plus rendering into the API's error envelope.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::wire::{ErrorBody, ErrorCode, ErrorDetails};

/// Path used when the request body as a whole is wrong (not a JSON object).
pub const BODY_PATH: &str = "body";

/// Which rule a value broke. Stable identifiers meant for tests and tooling;
/// the human wording lives in [`Violation::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Rule {
    /// A required property is absent (or `null`).
    Required,
    /// The JSON type is wrong (e.g. a number where a string is expected).
    WrongType,
    /// A text property is empty or only whitespace.
    Blank,
    /// A string is not one of the enum's values.
    UnknownEnumValue,
    /// `amount.value` is not a plain decimal with at most 2 decimal places.
    AmountFormat,
    /// `amount.value` is zero.
    AmountNotPositive,
    /// `amount.value` is below the destination's minimum.
    AmountBelowMin,
    /// `amount.value` is above the destination's maximum.
    AmountAboveMax,
    /// The currency is a real one but not accepted for the destination.
    UnsupportedCurrency,
    /// Not an ISO 4217 currency code.
    CurrencyCode,
    /// Not an ISO 3166-1 alpha-2 country code.
    CountryCode,
    /// A real country that the compliance table does not serve.
    UnsupportedCountry,
    /// An identifier without its prefix (`pac-`, `wlt-`, `bnk-`, `brn-`, `pyt-`)
    /// followed by one or more ASCII alphanumerics.
    IdPrefix,
    /// Not an E.164 phone number.
    E164,
    /// The mobile money operator is not served in that country.
    Operator,
    /// Not an existing `YYYY-MM-DD` date.
    DateFormat,
    /// Not an RFC 3339 date-time nor a `YYYY-MM-DD` date (list filters).
    DateTimeFormat,
    /// The postal code does not match the address country's format.
    PostalCode,
    /// Exactly one of two alternative properties must be given.
    ExactlyOneOf,
    /// A bank account number that is not ASCII alphanumeric.
    AlphaNumeric,
    /// `payment_account_id` names no payment account of this API key.
    UnknownPaymentAccount,
    /// `wallet_id` names no wallet of this API key.
    UnknownWallet,
    /// The chosen wallet holds another currency than the amount.
    WalletCurrencyMismatch,
    /// No wallet holds the amount's currency.
    NoWalletForCurrency,
    /// The idempotency key is missing, too long or has invisible characters.
    IdempotencyKey,
    /// `paging_limit` is not an integer in 1..=50.
    PagingLimit,
    /// A well-formed `bank_id` that names no bank of the server's list
    /// (GET /banks); see [`crate::banks`].
    UnknownBank,
    /// A well-formed `branch_id` that is not a branch of the account's bank
    /// (a branch of another bank included); see [`crate::banks`].
    UnknownBranch,
    /// No `branch_id` for a bank that has branches: required by one reading
    /// of the provider's v1 document only (`docs/contract.md`, fidelity
    /// U-3); see [`crate::banks`].
    BranchRequired,
}

impl Rule {
    /// Every rule (for tests that walk them all).
    pub const ALL: [Rule; 29] = [
        Rule::Required,
        Rule::WrongType,
        Rule::Blank,
        Rule::UnknownEnumValue,
        Rule::AmountFormat,
        Rule::AmountNotPositive,
        Rule::AmountBelowMin,
        Rule::AmountAboveMax,
        Rule::UnsupportedCurrency,
        Rule::CurrencyCode,
        Rule::CountryCode,
        Rule::UnsupportedCountry,
        Rule::IdPrefix,
        Rule::E164,
        Rule::Operator,
        Rule::DateFormat,
        Rule::DateTimeFormat,
        Rule::PostalCode,
        Rule::ExactlyOneOf,
        Rule::AlphaNumeric,
        Rule::UnknownPaymentAccount,
        Rule::UnknownWallet,
        Rule::WalletCurrencyMismatch,
        Rule::NoWalletForCurrency,
        Rule::IdempotencyKey,
        Rule::PagingLimit,
        Rule::UnknownBank,
        Rule::UnknownBranch,
        Rule::BranchRequired,
    ];

    /// Whether the verdict depends on the server's state (the caller's
    /// accounts and wallets), not on the request alone: only the server
    /// can tell, so an offline check must leave these to it.
    pub fn depends_on_server_state(self) -> bool {
        matches!(
            self,
            Rule::UnknownPaymentAccount
                | Rule::UnknownWallet
                | Rule::WalletCurrencyMismatch
                | Rule::NoWalletForCurrency
        )
    }
}

/// The rule's name as a person writes it (`postal code`, `unknown bank`),
/// for reports and messages; the serde name (`POSTAL_CODE`) stays the
/// machine-readable one.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Required => "required",
            Rule::WrongType => "wrong JSON type",
            Rule::Blank => "blank text",
            Rule::UnknownEnumValue => "unknown enum value",
            Rule::AmountFormat => "amount format",
            Rule::AmountNotPositive => "amount not positive",
            Rule::AmountBelowMin => "amount below the minimum",
            Rule::AmountAboveMax => "amount above the maximum",
            Rule::UnsupportedCurrency => "unsupported currency",
            Rule::CurrencyCode => "currency code",
            Rule::CountryCode => "country code",
            Rule::UnsupportedCountry => "unsupported country",
            Rule::IdPrefix => "id prefix",
            Rule::E164 => "E.164 number",
            Rule::Operator => "mobile money operator",
            Rule::DateFormat => "date format",
            Rule::DateTimeFormat => "date-time format",
            Rule::PostalCode => "postal code",
            Rule::ExactlyOneOf => "exactly one of two",
            Rule::AlphaNumeric => "alphanumeric",
            Rule::UnknownPaymentAccount => "unknown payment account",
            Rule::UnknownWallet => "unknown wallet",
            Rule::WalletCurrencyMismatch => "wallet in another currency",
            Rule::NoWalletForCurrency => "no wallet in the currency",
            Rule::IdempotencyKey => "idempotency key",
            Rule::PagingLimit => "paging limit",
            Rule::UnknownBank => "unknown bank",
            Rule::UnknownBranch => "unknown branch",
            Rule::BranchRequired => "branch required at a bank with branches",
        })
    }
}

/// One broken rule at one property path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Property path as the API writes it in `errors.fields`, e.g.
    /// `sender.address.city` or `payment_account.mobile_money.number`.
    pub path: String,
    /// The rule that was broken.
    pub rule: Rule,
    /// A human explanation, suitable for `errors.fields[path]`.
    pub message: String,
}

impl Violation {
    pub fn new(path: impl Into<String>, rule: Rule, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            rule,
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.rule)
    }
}

impl std::error::Error for Violation {}

/// Every violation found in one request, in discovery order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violations(Vec<Violation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, violation: Violation) {
        self.0.push(violation);
    }

    /// Records a violation built from its parts.
    pub fn add(&mut self, path: impl Into<String>, rule: Rule, message: impl Into<String>) {
        self.push(Violation::new(path, rule, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Violation> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// The `(path, rule)` pairs, sorted: handy for exact assertions in tests.
    pub fn path_rules(&self) -> Vec<(String, Rule)> {
        let mut pairs: Vec<_> = self.0.iter().map(|v| (v.path.clone(), v.rule)).collect();
        pairs.sort();
        pairs
    }

    /// Whether some violation sits at `path` for `rule`.
    pub fn contains(&self, path: &str, rule: Rule) -> bool {
        self.0.iter().any(|v| v.path == path && v.rule == rule)
    }

    /// The `errors.fields` map of a 422 body: property path to reasons.
    pub fn fields(&self) -> BTreeMap<String, Vec<String>> {
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for v in &self.0 {
            fields
                .entry(v.path.clone())
                .or_default()
                .push(v.message.clone());
        }
        fields
    }

    /// The full 422 `VALIDATION_FAILED` body.
    pub fn to_error_body(&self) -> ErrorBody {
        ErrorBody {
            code: ErrorCode::ValidationFailed,
            message: "Validation failed.".to_owned(),
            errors: Some(ErrorDetails {
                fields: self.fields(),
            }),
        }
    }

    /// `Ok(value)` when nothing was recorded, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Violations> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<Violation> for Violations {
    fn from(violation: Violation) -> Self {
        Self(vec![violation])
    }
}

impl IntoIterator for Violations {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} violation(s)", self.0.len())?;
        for v in &self.0 {
            write!(f, "; {v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_words() {
        for rule in Rule::ALL {
            let name = rule.to_string();
            let debug = format!("{rule:?}");
            assert_ne!(name, debug, "{debug} is shown as its Rust name");
            assert!(
                !name.contains('_') && name.chars().next().is_some_and(|c| !c.is_uppercase())
                    || name.starts_with("E.164"),
                "{debug}: `{name}` is not a lower-case phrase"
            );
        }
        let violation = Violation::new("sender.address.postal_code", Rule::PostalCode, "bad");
        assert_eq!(
            violation.to_string(),
            "sender.address.postal_code: bad (postal code)"
        );
    }

    #[test]
    fn fields_groups_messages_by_path() {
        let mut v = Violations::new();
        v.add("amount.value", Rule::AmountFormat, "bad");
        v.add("sender", Rule::Required, "missing");
        v.add("amount.value", Rule::AmountBelowMin, "low");
        let fields = v.fields();
        assert_eq!(
            fields["amount.value"],
            vec!["bad".to_owned(), "low".to_owned()]
        );
        assert_eq!(fields["sender"], vec!["missing".to_owned()]);
        let body = serde_json::to_value(v.to_error_body()).unwrap();
        assert_eq!(body["code"], "VALIDATION_FAILED");
        assert_eq!(body["errors"]["fields"]["sender"][0], "missing");
    }
}
