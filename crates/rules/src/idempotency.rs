//! Idempotency of POST /payouts as a pure decision over the stored entry
//! for (API key's account, URL, key).
//!
//! "Same body" means `serde_json::Value` equality of the parsed bodies:
//! object key order and whitespace do not matter, array order does, and
//! numbers compare as serde_json compares them (`1` and `1.0` differ).

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::violations::{Rule, Violation};

/// The request header carrying the key (also the violation path).
pub const HEADER: &str = "X-Idempotency-Key";

/// How long a stored response is replayed.
pub const RETENTION: TimeDelta = TimeDelta::hours(24);

/// Longest accepted key.
pub const MAX_KEY_LEN: usize = 255;

/// Validates the header value: required, 1..=255 characters. The provider
/// sets no other format (`docs/contract.md#idempotency`), so any text an
/// HTTP header carries passes (visible ASCII, spaces and tabs); only
/// control characters, which no header can carry, are refused.
pub fn validate_key(key: Option<&str>) -> Result<&str, Violation> {
    let fail = |message: &str| Violation::new(HEADER, Rule::IdempotencyKey, message);
    let key =
        key.ok_or_else(|| Violation::new(HEADER, Rule::Required, "the header is required"))?;
    if key.is_empty() {
        return Err(fail("must not be empty"));
    }
    if key.chars().count() > MAX_KEY_LEN {
        return Err(fail("must be at most 255 characters"));
    }
    if key.chars().any(|c| c.is_control() && c != '\t') {
        return Err(fail("must not contain control characters"));
    }
    Ok(key)
}

/// Where the first request with this key stands.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryStatus<R> {
    /// Still being processed.
    InFlight,
    /// Done; `R` is the stored response (status and body) to replay.
    Completed(R),
}

/// What the server remembers about a key.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry<R> {
    pub body: Value,
    pub status: EntryStatus<R>,
    pub stored_at: DateTime<Utc>,
}

/// What a used key sent with another body gets: the sources differ
/// (`docs/contract.md#idempotency`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OtherBody {
    /// The provider's idempotency page: a repeat to the same URL with the
    /// same key gets the stored answer, whatever its body.
    #[default]
    Replay,
    /// API.md's reading: 409 IDEMPOTENCY_KEY_ALREADY_USED.
    Refuse,
}

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision<'a, R> {
    /// First use of the key: process it and store the entry.
    Fresh,
    /// A stored entry older than [`RETENTION`]: forget it and process as fresh.
    Expired,
    /// First request done (and the same body, or [`OtherBody::Replay`]):
    /// answer the stored response again.
    Replay(&'a R),
    /// Different body under [`OtherBody::Refuse`]: 409
    /// IDEMPOTENCY_KEY_ALREADY_USED.
    KeyAlreadyUsed,
    /// The first request is still processing: 409 IDEMPOTENCY_RACE.
    Race,
}

/// Decides how to answer `body` given the entry stored for its key.
///
/// Order of the checks: expiry first (an entry at or past [`RETENTION`] is
/// gone, even one still in flight), then, under [`OtherBody::Refuse`], the
/// body (a different body is KEY_ALREADY_USED even while the first request
/// is in flight: retrying would not help), then the status (in flight:
/// RACE; completed: replay).
pub fn decide<'a, R>(
    stored: Option<&'a StoredEntry<R>>,
    body: &Value,
    now: DateTime<Utc>,
    other_body: OtherBody,
) -> Decision<'a, R> {
    let Some(entry) = stored else {
        return Decision::Fresh;
    };
    if now - entry.stored_at >= RETENTION {
        return Decision::Expired;
    }
    if other_body == OtherBody::Refuse && entry.body != *body {
        return Decision::KeyAlreadyUsed;
    }
    match &entry.status {
        EntryStatus::InFlight => Decision::Race,
        EntryStatus::Completed(response) => Decision::Replay(response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn decisions() {
        let body =
            json!({"amount": {"value": "150", "currency": "KES"}, "payment_account_id": "pac-1"});
        let reordered: Value = serde_json::from_str(
            r#"{ "payment_account_id":"pac-1",  "amount":{"currency":"KES","value":"150"} }"#,
        )
        .unwrap();
        let done = StoredEntry {
            body: body.clone(),
            status: EntryStatus::Completed(202u16),
            stored_at: at("2024-01-01T00:00:00Z"),
        };
        let busy = StoredEntry {
            status: EntryStatus::InFlight,
            ..done.clone()
        };
        let now = at("2024-01-01T01:00:00Z");
        let other =
            json!({"amount": {"value": "151", "currency": "KES"}, "payment_account_id": "pac-1"});
        for policy in [OtherBody::Replay, OtherBody::Refuse] {
            let decide = |entry, body, now| decide(entry, body, now, policy);
            assert_eq!(decide(None, &body, now), Decision::Fresh);
            assert_eq!(decide(Some(&done), &reordered, now), Decision::Replay(&202));
            assert_eq!(decide(Some(&busy), &body, now), Decision::Race);
            assert_eq!(
                decide(Some(&done), &body, at("2024-01-01T23:59:59Z")),
                Decision::Replay(&202)
            );
            assert_eq!(
                decide(Some(&done), &other, at("2024-01-02T00:00:00Z")),
                Decision::Expired
            );
            assert_eq!(
                decide(Some(&busy), &body, at("2024-01-03T00:00:00Z")),
                Decision::Expired
            );
        }
        // Another body: the stored answer (the provider), or refused (API.md).
        let replay = |entry, body| decide(entry, body, now, OtherBody::Replay);
        assert_eq!(replay(Some(&done), &other), Decision::Replay(&202));
        assert_eq!(replay(Some(&busy), &other), Decision::Race);
        let refuse = |entry, body| decide(entry, body, now, OtherBody::Refuse);
        assert_eq!(refuse(Some(&done), &other), Decision::KeyAlreadyUsed);
        assert_eq!(refuse(Some(&busy), &other), Decision::KeyAlreadyUsed);
    }

    #[test]
    fn numbers_compare_as_serde_json_does() {
        assert_ne!(json!({"a": 1}), json!({"a": 1.0}));
    }

    #[test]
    fn keys() {
        assert_eq!(
            validate_key(Some("5f0c7a52-4c1e-4c55-9a55-3c0f7d1e2b3a")),
            Ok("5f0c7a52-4c1e-4c55-9a55-3c0f7d1e2b3a")
        );
        assert_eq!(validate_key(None).unwrap_err().rule, Rule::Required);
        let long = "k".repeat(255);
        assert!(validate_key(Some(&long)).is_ok());
        for free_form in ["has space", "tab\tinside", "order 42 / retry"] {
            assert_eq!(validate_key(Some(free_form)), Ok(free_form));
        }
        for bad in ["", "line\nbreak", "nul\0", &"k".repeat(256)] {
            let v = validate_key(Some(bad)).unwrap_err();
            assert_eq!(
                (v.path.as_str(), v.rule),
                (HEADER, Rule::IdempotencyKey),
                "{bad:?}"
            );
        }
    }
}
