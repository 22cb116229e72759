//! Reading a raw `serde_json::Value` property by property while recording
//! violations at API property paths. `null` counts as absent. A property
//! below a value of the wrong JSON type is "unreadable": the parent's
//! WrongType is the only violation reported for that branch.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::codes::{is_country_code, is_currency_code};
use crate::format::{IdKind, is_blank, is_id, parse_amount, parse_date};
use crate::macros::WireEnum;
use crate::violations::{BODY_PATH, Rule, Violations};

/// What sits at a path.
#[derive(Debug, Clone, Copy)]
enum Slot<'v> {
    Absent,
    Present(&'v Value),
    /// Below a non-object: nothing to read and nothing more to report.
    Unreadable,
}

/// A property of the request: its path and what the request holds there.
#[derive(Debug, Clone)]
pub(crate) struct Field<'v> {
    path: String,
    slot: Slot<'v>,
}

impl<'v> Field<'v> {
    /// The body itself, or a nested object validated as a unit under `prefix`
    /// (e.g. `payment_account` inside a payout; `""` for the whole body).
    pub(crate) fn at(prefix: &str, value: Option<&'v Value>) -> Self {
        let slot = match value {
            None | Some(Value::Null) => Slot::Absent,
            Some(v) => Slot::Present(v),
        };
        Field {
            path: prefix.to_owned(),
            slot,
        }
    }

    pub(crate) fn child(&self, name: &str) -> Field<'v> {
        let path = if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        };
        let slot = match self.slot {
            Slot::Present(Value::Object(map)) => match map.get(name) {
                None | Some(Value::Null) => Slot::Absent,
                Some(v) => Slot::Present(v),
            },
            Slot::Absent => Slot::Absent,
            Slot::Present(_) | Slot::Unreadable => Slot::Unreadable,
        };
        Field { path, slot }
    }

    /// The path as written in `errors.fields` (the body itself is `body`).
    pub(crate) fn path(&self) -> &str {
        if self.path.is_empty() {
            BODY_PATH
        } else {
            &self.path
        }
    }

    pub(crate) fn is_present(&self) -> bool {
        matches!(self.slot, Slot::Present(_))
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads the enum-valued property `name` of `body` the way request bodies
/// are read (absent or `null`: Required if `required`; not a string:
/// WrongType; not one of `E`'s values: UnknownEnumValue), recording any
/// violation at `name` into `violations`. For small bodies outside the
/// payout and payment-account requests (e.g. the mock's control API).
pub fn read_enum<E: WireEnum>(
    body: &Value,
    name: &str,
    required: bool,
    violations: &mut Violations,
) -> Option<E> {
    read_property(body, name, violations, |reader, field| {
        reader.enumeration(field, required)
    })
}

/// Reads the amount-valued property `name` of `body` the way a payout's
/// `amount.value` is read (absent or `null`: Required if `required`; not a
/// string: WrongType; not the syntax of [`parse_amount`]: AmountFormat;
/// zero: AmountNotPositive), recording any violation at `name` into
/// `violations`. For small bodies outside the payout and payment-account
/// requests (e.g. the mock's control API).
pub fn read_amount(
    body: &Value,
    name: &str,
    required: bool,
    violations: &mut Violations,
) -> Option<Decimal> {
    read_property(body, name, violations, |reader, field| {
        reader.amount(field, required)
    })
}

/// Runs `read` on the property `name` of `body`, adding what it records to
/// `violations`.
fn read_property<T>(
    body: &Value,
    name: &str,
    violations: &mut Violations,
    read: impl FnOnce(&mut Reader, &Field<'_>) -> Option<T>,
) -> Option<T> {
    let mut reader = Reader {
        violations: std::mem::take(violations),
    };
    let value = read(&mut reader, &Field::at("", Some(body)).child(name));
    *violations = reader.violations;
    value
}

/// Records violations while extracting typed values. Every extractor
/// returns `None` when it recorded a violation or the property is optional
/// and absent (or unreadable). Callers build typed values from whatever was
/// read; [`Reader::finish`] discards them as soon as any violation exists, so
/// a `None` standing for an invalid optional property never escapes.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    pub(crate) violations: Violations,
}

impl Reader {
    pub(crate) fn report(&mut self, field: &Field<'_>, rule: Rule, message: impl Into<String>) {
        self.violations.add(field.path(), rule, message);
    }

    /// The raw value, after the presence check.
    fn present<'v>(&mut self, field: &Field<'v>, required: bool) -> Option<&'v Value> {
        match field.slot {
            Slot::Present(v) => Some(v),
            Slot::Absent if required => {
                self.report(field, Rule::Required, "is required");
                None
            }
            Slot::Absent | Slot::Unreadable => None,
        }
    }

    pub(crate) fn object<'v>(
        &mut self,
        field: &Field<'v>,
        required: bool,
    ) -> Option<&'v Map<String, Value>> {
        match self.present(field, required)? {
            Value::Object(map) => Some(map),
            other => {
                self.report(
                    field,
                    Rule::WrongType,
                    format!("must be an object, not {}", json_type(other)),
                );
                None
            }
        }
    }

    pub(crate) fn string<'v>(&mut self, field: &Field<'v>, required: bool) -> Option<&'v str> {
        match self.present(field, required)? {
            Value::String(s) => Some(s),
            other => {
                self.report(
                    field,
                    Rule::WrongType,
                    format!("must be a string, not {}", json_type(other)),
                );
                None
            }
        }
    }

    /// A string that is not blank.
    pub(crate) fn text<'v>(&mut self, field: &Field<'v>, required: bool) -> Option<&'v str> {
        let text = self.string(field, required)?;
        if is_blank(text) {
            self.report(field, Rule::Blank, "must not be blank");
            return None;
        }
        Some(text)
    }

    pub(crate) fn enumeration<E: WireEnum>(
        &mut self,
        field: &Field<'_>,
        required: bool,
    ) -> Option<E> {
        let text = self.string(field, required)?;
        let parsed = E::parse(text);
        if parsed.is_none() {
            self.report(
                field,
                Rule::UnknownEnumValue,
                format!("`{text}` is not one of {}", E::expected_list()),
            );
        }
        parsed
    }

    /// A positive amount: a string in the syntax of [`parse_amount`], not zero.
    pub(crate) fn amount(&mut self, field: &Field<'_>, required: bool) -> Option<Decimal> {
        let text = self.string(field, required)?;
        match parse_amount(text) {
            Ok(value) if value.is_zero() => {
                self.report(field, Rule::AmountNotPositive, "must be greater than zero");
                None
            }
            Ok(value) => Some(value),
            Err(why) => {
                self.report(field, Rule::AmountFormat, format!("`{text}` {why}"));
                None
            }
        }
    }

    pub(crate) fn id<'v>(
        &mut self,
        field: &Field<'v>,
        kind: IdKind,
        required: bool,
    ) -> Option<&'v str> {
        let text = self.string(field, required)?;
        if !is_id(kind, text) {
            self.report(
                field,
                Rule::IdPrefix,
                format!("must be `{}` followed by letters or digits", kind.prefix()),
            );
            return None;
        }
        Some(text)
    }

    pub(crate) fn country<'v>(&mut self, field: &Field<'v>, required: bool) -> Option<&'v str> {
        let text = self.string(field, required)?;
        if !is_country_code(text) {
            self.report(
                field,
                Rule::CountryCode,
                format!("`{text}` is not an ISO 3166-1 alpha-2 country code"),
            );
            return None;
        }
        Some(text)
    }

    pub(crate) fn currency<'v>(&mut self, field: &Field<'v>, required: bool) -> Option<&'v str> {
        let text = self.string(field, required)?;
        if !is_currency_code(text) {
            self.report(
                field,
                Rule::CurrencyCode,
                format!("`{text}` is not an ISO 4217 currency code"),
            );
            return None;
        }
        Some(text)
    }

    pub(crate) fn date(&mut self, field: &Field<'_>, required: bool) -> Option<NaiveDate> {
        let text = self.string(field, required)?;
        let date = parse_date(text);
        if date.is_none() {
            self.report(
                field,
                Rule::DateFormat,
                format!("`{text}` is not an existing date formatted YYYY-MM-DD"),
            );
        }
        date
    }

    /// `Ok(value)` when nothing was recorded. A `None` value with no
    /// violation cannot happen (every `None` of a required part recorded one);
    /// it is still turned into an error rather than a panic.
    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, Violations> {
        let mut violations = self.violations;
        match value {
            Some(value) if violations.is_empty() => Ok(value),
            None if violations.is_empty() => {
                violations.add(
                    BODY_PATH,
                    Rule::WrongType,
                    "could not be read (internal error in rafiki-rules)",
                );
                Err(violations)
            }
            _ => Err(violations),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn amount(body: Value, required: bool) -> (Option<Decimal>, Vec<(String, Rule)>) {
        let mut violations = Violations::new();
        let value = read_amount(&body, "amount", required, &mut violations);
        (value, violations.path_rules())
    }

    #[test]
    fn amounts_read_like_a_payout_amount_value() {
        let (value, violations) = amount(json!({"amount": "100.50", "x": 1}), true);
        assert_eq!(value.map(|v| v.to_string()).as_deref(), Some("100.50"));
        assert!(violations.is_empty());
        for (body, rule) in [
            (json!({}), Rule::Required),
            (json!({"amount": null}), Rule::Required),
            (json!({"amount": 100}), Rule::WrongType),
            (json!({"amount": "-1"}), Rule::AmountFormat),
            (json!({"amount": "1.001"}), Rule::AmountFormat),
            (json!({"amount": "0140"}), Rule::AmountFormat),
            (json!({"amount": "0.00"}), Rule::AmountNotPositive),
        ] {
            assert_eq!(
                amount(body.clone(), true),
                (None, vec![("amount".to_owned(), rule)]),
                "{body}"
            );
        }
        assert_eq!(amount(json!({}), false), (None, vec![]));
    }
}
