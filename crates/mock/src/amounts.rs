//! Lenient amounts (with [`crate::Config::lenient_amounts`]): an
//! `amount.value` with leading zeros (`"0140"`, `"00140.50"`) is read as
//! the number it spells. The body is normalised before validation, so the
//! rules crate's strict format check, the amount limits and the wallet
//! arithmetic all see the plain number (`"140"`, `"140.50"`); the text as
//! sent is kept so that answers echo it back unchanged.

use std::borrow::Cow;

use rafiki_rules::format::parse_amount;
use serde_json::Value;

/// The body to validate, and the amount's text as sent when it differs
/// from what is validated. Only a leading-zero amount that is otherwise
/// well formed is rewritten; anything else is left for the validator to
/// report as sent.
pub(crate) fn normalise(body: &Value) -> (Cow<'_, Value>, Option<String>) {
    let Some(text) = body.pointer("/amount/value").and_then(Value::as_str) else {
        return (Cow::Borrowed(body), None);
    };
    let Some(plain) = without_leading_zeros(text) else {
        return (Cow::Borrowed(body), None);
    };
    let raw = text.to_owned();
    let mut normalised = body.clone();
    normalised["amount"]["value"] = Value::String(plain);
    (Cow::Owned(normalised), Some(raw))
}

/// `"00140.50"` → `"140.50"`, `"000.5"` → `"0.5"`; `None` when `text` has
/// no leading zero to drop or would still not be a well-formed amount.
fn without_leading_zeros(text: &str) -> Option<String> {
    let int_len = text.find('.').unwrap_or(text.len());
    let zeros = text[..int_len].bytes().take_while(|&b| b == b'0').count();
    // Keep one digit before the point ("0.50", "0").
    let drop = zeros.min(int_len.saturating_sub(1));
    if drop == 0 {
        return None;
    }
    let plain = &text[drop..];
    parse_amount(plain).is_ok().then(|| plain.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leading_zeros_are_dropped_from_well_formed_amounts_only() {
        for (text, plain) in [
            ("0140", Some("140")),
            ("00140.50", Some("140.50")),
            ("000.5", Some("0.5")),
            ("00", Some("0")),
            ("140", None),
            ("0.50", None),
            ("0", None),
            ("0140.001", None),
            ("0-1", None),
            ("00.", None),
            ("", None),
            ("0x10", None),
        ] {
            assert_eq!(without_leading_zeros(text).as_deref(), plain, "{text:?}");
        }
    }

    #[test]
    fn bodies_are_rewritten_only_when_needed() {
        let body = json!({"amount": {"value": "00140.50", "currency": "KES"}, "x": 1});
        let (normalised, raw) = normalise(&body);
        assert_eq!(raw.as_deref(), Some("00140.50"));
        assert_eq!(
            *normalised,
            json!({"amount": {"value": "140.50", "currency": "KES"}, "x": 1})
        );
        for untouched in [
            json!({"amount": {"value": "140.50"}}),
            json!({"amount": {"value": 140}}),
            json!({"amount": "0140"}),
            json!([]),
        ] {
            let (normalised, raw) = normalise(&untouched);
            assert!(matches!(normalised, Cow::Borrowed(_)) && raw.is_none());
        }
    }
}
