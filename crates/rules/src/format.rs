//! Syntax of single values: amounts, resource ids, E.164 numbers, dates,
//! free text. Each check is a pure function of one string.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Most decimal places an amount may have: the minor unit of the currencies
/// served (KES has 2, i.e. cents).
pub const AMOUNT_MAX_DECIMAL_PLACES: usize = 2;

/// Kinds of resource identifier and their prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    PaymentAccount,
    Wallet,
    Bank,
    Branch,
    Payout,
}

impl IdKind {
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::PaymentAccount => "pac-",
            IdKind::Wallet => "wlt-",
            IdKind::Bank => "bnk-",
            IdKind::Branch => "brn-",
            IdKind::Payout => "pyt-",
        }
    }
}

/// `prefix` followed by one or more ASCII letters or digits.
pub fn is_id(kind: IdKind, text: &str) -> bool {
    text.strip_prefix(kind.prefix())
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Why an amount string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("must not be empty")]
    Empty,
    #[error(
        "must be a plain decimal number such as \"2000.99\" (digits, optionally a dot and decimals; no sign, spaces, separators or exponent)"
    )]
    NotPlainDecimal,
    #[error("must have at most {AMOUNT_MAX_DECIMAL_PLACES} decimal places")]
    TooManyDecimals,
    #[error("must not have leading zeros")]
    LeadingZero,
    #[error("is too large")]
    TooLarge,
}

/// Parses an amount: `digits[.d[d]]`, no sign, no exponent, no spaces, no
/// thousands separators, no leading zeros (`"0.50"` is fine, `"0140"` is
/// not), at most [`AMOUNT_MAX_DECIMAL_PLACES`] decimals. The scale is kept
/// (`"140.00"` stays `140.00`). Zero parses; positivity is checked by callers.
pub fn parse_amount(text: &str) -> Result<Decimal, AmountError> {
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    let (int_part, frac_part) = match text.split_once('.') {
        Some((int_part, frac_part)) => (int_part, Some(frac_part)),
        None => (text, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
        return Err(AmountError::NotPlainDecimal);
    }
    if frac_part.is_some_and(|f| f.len() > AMOUNT_MAX_DECIMAL_PLACES) {
        return Err(AmountError::TooManyDecimals);
    }
    if int_part.len() > 1 && int_part.starts_with('0') {
        return Err(AmountError::LeadingZero);
    }
    text.parse::<Decimal>().map_err(|_| AmountError::TooLarge)
}

/// E.164: `+`, then 8 to 15 digits, the first one not zero.
pub fn is_e164(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// A `YYYY-MM-DD` date that exists in the calendar (`2023-02-30` does not).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Empty or whitespace only.
pub fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Non-empty and only ASCII letters and digits.
pub fn is_alphanumeric(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        for ok in [
            "140",
            "140.00",
            "140.5",
            "0.01",
            "500000",
            "500000.00",
            "2000.99",
            "0",
        ] {
            assert!(parse_amount(ok).is_ok(), "{ok}");
        }
        assert_eq!(parse_amount("140.00").unwrap().to_string(), "140.00");
        for (bad, why) in [
            ("", AmountError::Empty),
            ("1e3", AmountError::NotPlainDecimal),
            ("-5", AmountError::NotPlainDecimal),
            ("+5", AmountError::NotPlainDecimal),
            (" 200", AmountError::NotPlainDecimal),
            ("200 ", AmountError::NotPlainDecimal),
            ("200.001", AmountError::TooManyDecimals),
            ("1,000", AmountError::NotPlainDecimal),
            ("abc", AmountError::NotPlainDecimal),
            ("200.", AmountError::NotPlainDecimal),
            (".5", AmountError::NotPlainDecimal),
            ("1.2.3", AmountError::NotPlainDecimal),
            ("0140", AmountError::LeadingZero),
            ("99999999999999999999999999999999", AmountError::TooLarge),
        ] {
            assert_eq!(parse_amount(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn ids() {
        assert!(is_id(
            IdKind::PaymentAccount,
            "pac-2WLXb8bP6sS7QRvA6AFGp7NhGs7"
        ));
        assert!(is_id(IdKind::Wallet, "wlt-1"));
        for bad in [
            "pac-", "pac", "wlt-1", "pac-a_b", "pac-a b", "PAC-1", " pac-1",
        ] {
            assert!(!is_id(IdKind::PaymentAccount, bad), "{bad}");
        }
    }

    #[test]
    fn e164() {
        for ok in [
            "+254712345678",
            "+12345678",
            "+123456789012345",
            "+254000000000",
        ] {
            assert!(is_e164(ok), "{ok}");
        }
        for bad in [
            "254712345678",
            "+0254712345",
            "+1234567",
            "+1234567890123456",
            "+2547 1234567",
            "+",
            "",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert!(parse_date("2024-02-29").is_some());
        for bad in [
            "2023-02-30",
            "2023-02-29",
            "2023-13-01",
            "2023-1-01",
            "23-01-01",
            "2023/01/01",
            "20230101",
            "2023-01-01T00:00:00Z",
            "",
        ] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
    }
}
