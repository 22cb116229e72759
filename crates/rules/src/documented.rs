//! Which refusals the documented contract makes, and which only our
//! stricter reading of it makes (`docs/contract.md`, "Documented or ours").
//!
//! The validators in this crate refuse everything our spec refuses. Two
//! users must not go that far: the contract suite, which may *fail* a server
//! only for what the documented contract forbids (the rest is a warning),
//! and the client's pre-validation, which may refuse a request without
//! sending it only when any server following the contract would refuse it.
//! Both ask [`is_documented_refusal`].

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::codes::is_currency_code;
use crate::violations::{Rule, Violation, Violations};

/// The documented shape of a decimal string: digits with an optional
/// fraction. Ours (`spec/openapi.yaml` `DecimalString.pattern`) also refuses
/// leading zeros and, for amounts, more than two decimals. The spec carries
/// this pattern as `x-documented-pattern`; a test keeps the two equal.
pub const DOCUMENTED_DECIMAL_PATTERN: &str = "^[0-9]+(\\.[0-9]+)?$";

static DOCUMENTED_DECIMAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(DOCUMENTED_DECIMAL_PATTERN).expect("a valid pattern"));

/// The row of `docs/fidelity.md` that a documented refusal for breaking
/// `rule` rests on; `None` when only our stricter reading refuses it
/// (`docs/contract.md`, "Our decisions"). One place for the answer:
/// [`is_documented_refusal`] refuses nothing a row does not back, and a
/// test holds every row named here to exist and not be ours.
pub fn fidelity_row(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        // Ours: blank text, an unserved (but real) country or currency; a
        // branch that is not among its bank's listed branches (the pages
        // only say to take banks and branches from GET /banks); a wallet in
        // another currency, or none for the amount's (no conversion).
        Rule::Blank
        | Rule::UnsupportedCountry
        | Rule::UnsupportedCurrency
        | Rule::UnknownBranch
        | Rule::BranchRequired
        | Rule::WalletCurrencyMismatch
        | Rule::NoWalletForCurrency => return None,
        Rule::Required => "VAL-1",
        Rule::WrongType => "VAL-2",
        Rule::UnknownEnumValue => "VAL-3",
        Rule::IdPrefix => "VAL-4",
        Rule::AmountFormat | Rule::CurrencyCode => "PO-6",
        Rule::AmountNotPositive | Rule::AmountBelowMin | Rule::AmountAboveMax => "PO-7",
        Rule::CountryCode => "PA-2",
        Rule::E164 | Rule::Operator => "PA-3",
        Rule::AlphaNumeric | Rule::UnknownBank => "PA-4",
        Rule::DateFormat => "PO-15",
        Rule::DateTimeFormat => "LIST-3",
        Rule::PostalCode => "PO-14",
        Rule::ExactlyOneOf | Rule::UnknownPaymentAccount => "PO-3",
        Rule::UnknownWallet => "PO-5",
        Rule::IdempotencyKey => "IDEM-1",
        Rule::PagingLimit => "PAG-3",
    })
}

/// Whether the documented contract refuses `value` (absent: `None`) for
/// breaking `rule`, or only our stricter rules do (`false`).
pub fn is_documented_refusal(rule: Rule, value: Option<&Value>) -> bool {
    if fidelity_row(rule).is_none() {
        return false;
    }
    let text = value.and_then(Value::as_str);
    match rule {
        // A decimal string by the documented reading ("0140", "200.001") is refused only by us.
        Rule::AmountFormat => !text.is_some_and(|t| DOCUMENTED_DECIMAL.is_match(t)),
        // "kes": a code in the wrong case.
        Rule::CurrencyCode => !text.is_some_and(|t| is_currency_code(&t.to_ascii_uppercase())),
        Rule::Operator => text.is_none_or(|t| t == t.to_ascii_uppercase()),
        // "pac-" with nothing after the prefix: the prefix is documented, the rest is ours.
        Rule::IdPrefix => !text.is_some_and(|t| t.ends_with('-') && t.len() == 4),
        // Neither recipient is refused as documented (each is "required if
        // the other is empty"); both at once only by API.md's "exactly
        // one", which the provider's pages do not say.
        Rule::ExactlyOneOf => value.is_none(),
        // E.164 allows up to 15 digits; our lower bound of 8 is ours.
        Rule::E164 => !text.is_some_and(|t| {
            let digits = t.strip_prefix('+').unwrap_or("");
            (1..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0')
        }),
        // The provider names the countries whose postal codes it checks, not
        // their formats (our regexes): only what is no postal code anywhere
        // is a documented refusal. "GIR 0AA" may be refused by us alone.
        Rule::PostalCode => !text.is_some_and(|t| {
            (2..=10).contains(&t.len())
                && t.bytes()
                    .any(|b| b.is_ascii_digit() || b.is_ascii_alphabetic())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
        }),
        _ => true,
    }
}

/// The value at a dotted API property path (`sender.address.city`) in a
/// request body; `None` when some part of the path is absent.
pub fn value_at<'b>(body: &'b Value, path: &str) -> Option<&'b Value> {
    if path.is_empty() {
        return Some(body);
    }
    path.split('.').try_fold(body, |node, key| node.get(key))
}

/// Whether the documented contract refuses what `violation` found in `body`.
pub fn is_documented(violation: &Violation, body: &Value) -> bool {
    is_documented_refusal(violation.rule, value_at(body, &violation.path))
}

/// The violations of `body` that the documented contract also refuses.
pub fn documented_only(violations: &Violations, body: &Value) -> Violations {
    let mut kept = Violations::new();
    for violation in violations.iter().filter(|v| is_documented(v, body)) {
        kept.push(violation.clone());
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn our_opinions_are_told_from_the_documented_contract() {
        let documented = |rule, value: Value| is_documented_refusal(rule, Some(&value));
        assert!(!documented(Rule::AmountFormat, json!("0140")));
        assert!(!documented(Rule::AmountFormat, json!("200.001")));
        assert!(documented(Rule::AmountFormat, json!("1,000")));
        assert!(documented(Rule::AmountFormat, json!("abc")));
        assert!(!documented(Rule::CurrencyCode, json!("kes")));
        assert!(documented(Rule::CurrencyCode, json!("KSH")));
        assert!(!documented(Rule::Operator, json!("safaricom")));
        assert!(documented(Rule::Operator, json!("VODAFONE")));
        assert!(!documented(Rule::IdPrefix, json!("pac-")));
        assert!(documented(Rule::IdPrefix, json!("acc-1")));
        assert!(!documented(Rule::E164, json!("+1234567")));
        assert!(documented(Rule::E164, json!("+1234567890123456")));
        assert!(documented(Rule::E164, json!("0712345678")));
        assert!(!documented(Rule::Blank, json!(" ")));
        assert!(is_documented_refusal(Rule::Required, None));
        // Neither recipient: documented; both (an id is there): API.md's.
        assert!(is_documented_refusal(Rule::ExactlyOneOf, None));
        assert!(!documented(Rule::ExactlyOneOf, json!("pac-1")));
        assert!(documented(Rule::UnknownBank, json!("bnk-x")));
        assert!(!documented(Rule::PostalCode, json!("GIR 0AA")));
        for nowhere in ["!!", "0", "ABCDEFGHIJKLMNOP"] {
            assert!(documented(Rule::PostalCode, json!(nowhere)), "{nowhere}");
        }
    }

    #[test]
    fn only_documented_violations_are_kept() {
        let body = json!({"amount": {"value": "0140", "currency": "KES"},
                          "sender": {"name": " ", "address": {"city": "Nairobi"}}});
        let mut found = Violations::new();
        found.add("amount.value", Rule::AmountFormat, "leading zero");
        found.add("sender.name", Rule::Blank, "blank");
        found.add("sender.address.line_1", Rule::Required, "missing");
        let kept = documented_only(&found, &body);
        assert_eq!(
            kept.path_rules(),
            vec![("sender.address.line_1".to_owned(), Rule::Required)]
        );
        assert_eq!(
            value_at(&body, "sender.address.city"),
            Some(&json!("Nairobi"))
        );
    }
}
