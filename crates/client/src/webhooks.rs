//! Receiving webhooks: [`verify_event`] checks an event's signature over
//! the raw body, then reads the body into an [`Event`]
//! (docs/contract.md, "Webhooks").
//!
//! What is signed, and how, is defined once in `rafiki_rules::webhooks`;
//! this module adds what a receiver needs around it: the headers, the
//! clock, a key that never prints, and the event types generated from the
//! spec.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use rafiki_rules::webhooks::{DEFAULT_TOLERANCE_SECS, signature_header, verify_signature};
use reqwest::header::HeaderMap;

pub use rafiki_rules::webhooks::{
    PAYOUT_STATE_UPDATED, SIGNATURE_HEADER, SignatureError, TYPE_HEADER,
};

use crate::types;

/// How far a signature's timestamp may be from the receiver's clock,
/// either way, unless you choose otherwise: five minutes (*ours*; the
/// provider names no figure).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(DEFAULT_TOLERANCE_SECS);

/// The key a webhook configuration signs its events with (the provider
/// makes it; the portal shows it). Its `Debug` and `Display` print
/// `SigningKey(<redacted>)`, so it can sit in logged structs.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(String);

/// Why a [`SigningKey`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningKeyError {
    /// An empty key would accept events anyone can sign.
    #[error("the webhook signing key is empty")]
    Empty,
    #[error("{0} is not set (or not Unicode)")]
    NotSet(String),
}

impl SigningKey {
    /// Wraps a key. Surrounding whitespace (e.g. from an env file) is
    /// trimmed; what is left must not be empty.
    pub fn new(key: impl Into<String>) -> Result<Self, SigningKeyError> {
        let key = key.into().trim().to_string();
        match key.is_empty() {
            true => Err(SigningKeyError::Empty),
            false => Ok(SigningKey(key)),
        }
    }

    /// Reads the key from an environment variable (e.g.
    /// `RAFIKI_WEBHOOK_SIGNING_KEY`).
    pub fn from_env(var: &str) -> Result<Self, SigningKeyError> {
        let key = std::env::var(var).map_err(|_| SigningKeyError::NotSet(var.to_string()))?;
        SigningKey::new(key)
    }

    /// The `X-Rafiki-Webhook-Signature` value the provider would send for
    /// `body` at `at`: for testing a receiver.
    pub fn sign(&self, body: &[u8], at: SystemTime) -> String {
        signature_header(&self.0, unix_seconds(at), body)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl fmt::Display for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A verified event. A type this client does not know is an event too
/// ([`Event::Unknown`]): acknowledge it like any other.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A payout's state changed; `payout` is the payout as
    /// `GET /payouts/{id}` returns it.
    PayoutStateUpdated {
        /// `wbh-...`: the same on every delivery of this event.
        id: String,
        created_at: DateTime<Utc>,
        /// Boxed: a payout is several times the size of the other variants.
        payout: Box<types::Payout>,
    },
    /// An event of a type this client does not know, `data` as sent.
    Unknown {
        id: String,
        created_at: DateTime<Utc>,
        type_name: String,
        data: serde_json::Value,
    },
}

impl Event {
    /// The event's id: deliveries of one event share it, so a receiver
    /// dedupes by it.
    pub fn id(&self) -> &str {
        match self {
            Event::PayoutStateUpdated { id, .. } | Event::Unknown { id, .. } => id,
        }
    }

    /// The event's type, as the body and `X-Rafiki-Webhook-Type` name it.
    pub fn type_name(&self) -> &str {
        match self {
            Event::PayoutStateUpdated { .. } => PAYOUT_STATE_UPDATED,
            Event::Unknown { type_name, .. } => type_name,
        }
    }

    /// When the provider made the event (not when this delivery was sent).
    pub fn created_at(&self) -> DateTime<Utc> {
        match self {
            Event::PayoutStateUpdated { created_at, .. } | Event::Unknown { created_at, .. } => {
                *created_at
            }
        }
    }
}

/// Why a request is not an event to act on. The messages name the
/// problem, never the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The signature is missing, malformed, outside the tolerance or
    /// does not match: the request may not come from the provider.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("no {TYPE_HEADER} header")]
    TypeMissing,
    #[error("{TYPE_HEADER} is malformed: {0}")]
    TypeMalformed(String),
    #[error("{TYPE_HEADER} says `{header}` but the body's type is `{body}`")]
    TypeMismatch { header: String, body: String },
    /// Signed, but not the event envelope (`id`, `type`, `data`,
    /// `created_at`).
    #[error("the body is not a webhook event: {0}")]
    NotAnEvent(String),
    /// Signed, of a known type, but `data` is not what that type carries.
    #[error("the data of this {type_name} event cannot be read: {reason}")]
    UnreadableData { type_name: String, reason: String },
}

/// Verifies one delivery and reads its event: the signature over the raw
/// `body` with `key`, its timestamp within `tolerance` of `now` either way
/// (bounds included, whole seconds), then the type header against the
/// body's `type`, then the body.
///
/// Pass the body exactly as received: the digest is over its bytes, and
/// any re-encoding of parsed JSON changes them. `now` is a parameter so
/// that tests can fix the clock; a receiver passes `SystemTime::now()`.
pub fn verify_event(
    headers: &HeaderMap,
    body: &[u8],
    key: &SigningKey,
    tolerance: Duration,
    now: SystemTime,
) -> Result<Event, WebhookError> {
    // Nothing is read from a body before its signature holds.
    let signature = single_header(headers, SIGNATURE_HEADER).map_err(SignatureError::Malformed)?;
    verify_signature(
        signature,
        body,
        &key.0,
        tolerance.as_secs(),
        unix_seconds(now),
    )?;
    let type_header = single_header(headers, TYPE_HEADER)
        .map_err(WebhookError::TypeMalformed)?
        .ok_or(WebhookError::TypeMissing)?;
    let envelope: types::WebhookEvent =
        serde_json::from_slice(body).map_err(|e| WebhookError::NotAnEvent(e.to_string()))?;
    if envelope.type_.as_str() != type_header {
        return Err(WebhookError::TypeMismatch {
            header: type_header.to_string(),
            body: envelope.type_.to_string(),
        });
    }
    match envelope.type_.as_str() {
        PAYOUT_STATE_UPDATED => {
            // Read again as the generated event type, so `data` is held
            // to the spec's Payout.
            let event: types::PayoutStateUpdatedEvent =
                serde_json::from_slice(body).map_err(|e| WebhookError::UnreadableData {
                    type_name: PAYOUT_STATE_UPDATED.to_string(),
                    reason: e.to_string(),
                })?;
            Ok(Event::PayoutStateUpdated {
                id: event.id.to_string(),
                created_at: *event.created_at,
                payout: Box::new(event.data),
            })
        }
        _ => Ok(Event::Unknown {
            id: envelope.id.to_string(),
            created_at: *envelope.created_at,
            type_name: envelope.type_.to_string(),
            data: serde_json::Value::Object(envelope.data),
        }),
    }
}

/// The header's one value as text, `None` when absent. Sent twice, it is
/// ambiguous, so refused rather than one copy picked.
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, String> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("sent more than once".to_string());
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| "not visible ASCII text".to_string())
}

/// Whole seconds since the Unix epoch, negative before it.
fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn key() -> SigningKey {
        SigningKey::new("whsk_test_receiver").unwrap()
    }

    fn payout_event() -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": "wbh-1",
            "type": PAYOUT_STATE_UPDATED,
            "data": {
                "id": "pyt-1",
                "amount": {"value": "1500.00", "currency": "KES"},
                "payment_account_id": "pac-1",
                "wallet_id": "wlt-1",
                "state": {"code": "SENT"},
                "receipt": "QK71ABCDEF",
                "created_at": "2026-01-31T09:30:00Z"
            },
            "created_at": "2026-01-31T09:31:00Z"
        }))
        .unwrap()
    }

    fn unknown_event() -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": "wbh-2",
            "type": "payment-account.created",
            "data": {"id": "pac-1"},
            "created_at": "2026-01-31T09:31:00Z"
        }))
        .unwrap()
    }

    /// One delivery: the headers as sent (`None`: left out) and the body.
    struct Delivery {
        signature: Option<String>,
        type_header: Option<&'static str>,
        body: Vec<u8>,
    }

    impl Delivery {
        /// Signed with the test key at `signed_at`, with the type header.
        fn signed(body: Vec<u8>, type_header: &'static str, signed_at: u64) -> Self {
            Delivery {
                signature: Some(key().sign(&body, at(signed_at))),
                type_header: Some(type_header),
                body,
            }
        }

        fn headers(&self) -> HeaderMap {
            let mut headers = HeaderMap::new();
            if let Some(signature) = &self.signature {
                headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
            }
            if let Some(type_header) = self.type_header {
                headers.insert(TYPE_HEADER, type_header.parse().unwrap());
            }
            headers
        }

        fn verify(&self, now: u64) -> Result<Event, WebhookError> {
            verify_event(
                &self.headers(),
                &self.body,
                &key(),
                DEFAULT_TOLERANCE,
                at(now),
            )
        }
    }

    fn digest_of(signature: &str) -> &str {
        signature.split("v1=").nth(1).unwrap()
    }

    #[test]
    fn a_signed_payout_event_is_read_into_the_generated_payout() {
        let event = Delivery::signed(payout_event(), PAYOUT_STATE_UPDATED, NOW)
            .verify(NOW)
            .unwrap();
        assert_eq!(event.id(), "wbh-1");
        assert_eq!(event.type_name(), PAYOUT_STATE_UPDATED);
        assert_eq!(event.created_at().to_rfc3339(), "2026-01-31T09:31:00+00:00");
        let Event::PayoutStateUpdated { payout, .. } = event else {
            panic!("{event:?}")
        };
        assert_eq!(payout.id.as_str(), "pyt-1");
        assert_eq!(payout.state.code, types::PayoutStateCode::Sent);
    }

    #[test]
    fn deliveries_that_must_be_refused_name_their_problem() {
        let good = || Delivery::signed(payout_event(), PAYOUT_STATE_UPDATED, NOW);
        let signed_at = |t| Delivery::signed(payout_event(), PAYOUT_STATE_UPDATED, t);
        let tolerance = DEFAULT_TOLERANCE_SECS;
        let malformed = |why: &str| Err(SignatureError::Malformed(why.to_string()).into());
        let cases: Vec<(&str, Delivery, Result<&str, WebhookError>)> = vec![
            ("valid", good(), Ok("wbh-1")),
            (
                "no signature header",
                Delivery {
                    signature: None,
                    ..good()
                },
                Err(SignatureError::Missing.into()),
            ),
            (
                "signature without t=",
                Delivery {
                    signature: Some(format!("v1={}", "0".repeat(64))),
                    ..good()
                },
                malformed("no t= timestamp"),
            ),
            (
                "signature without v1=",
                Delivery {
                    signature: Some(format!("t={NOW}")),
                    ..good()
                },
                malformed("no v1= digest"),
            ),
            (
                "t= not a number",
                Delivery {
                    signature: Some(format!("t=soon, v1={}", "0".repeat(64))),
                    ..good()
                },
                malformed("t= is not a whole number of unix seconds"),
            ),
            (
                "signed with another key",
                Delivery {
                    signature: Some(
                        SigningKey::new("whsk_other")
                            .unwrap()
                            .sign(&payout_event(), at(NOW)),
                    ),
                    ..good()
                },
                Err(SignatureError::Mismatch.into()),
            ),
            (
                "body changed after signing",
                Delivery {
                    body: String::from_utf8(payout_event())
                        .unwrap()
                        .replace("SENT", "FAILED")
                        .into_bytes(),
                    ..good()
                },
                Err(SignatureError::Mismatch.into()),
            ),
            (
                "signed exactly at the tolerance ago",
                signed_at(NOW - tolerance),
                Ok("wbh-1"),
            ),
            (
                "signed one second past the tolerance ago",
                signed_at(NOW - tolerance - 1),
                Err(SignatureError::TooOld {
                    age: tolerance + 1,
                    tolerance,
                }
                .into()),
            ),
            (
                "signed exactly at the tolerance ahead",
                signed_at(NOW + tolerance),
                Ok("wbh-1"),
            ),
            (
                "signed one second past the tolerance ahead",
                signed_at(NOW + tolerance + 1),
                Err(SignatureError::InFuture {
                    ahead: tolerance + 1,
                    tolerance,
                }
                .into()),
            ),
            (
                "two v1 digests, the second matching (a key being replaced)",
                Delivery {
                    signature: Some(format!(
                        "t={NOW}, v1={}, v1={}",
                        "0".repeat(64),
                        digest_of(&good().signature.unwrap())
                    )),
                    ..good()
                },
                Ok("wbh-1"),
            ),
            (
                "two v1 digests, neither matching",
                Delivery {
                    signature: Some(format!(
                        "t={NOW}, v1={}, v1={}",
                        "0".repeat(64),
                        "1".repeat(64)
                    )),
                    ..good()
                },
                Err(SignatureError::Mismatch.into()),
            ),
            (
                "no type header",
                Delivery {
                    type_header: None,
                    ..good()
                },
                Err(WebhookError::TypeMissing),
            ),
            (
                "type header disagreeing with the body",
                Delivery::signed(payout_event(), "payout.created", NOW),
                Err(WebhookError::TypeMismatch {
                    header: "payout.created".into(),
                    body: PAYOUT_STATE_UPDATED.into(),
                }),
            ),
            (
                "an unknown type is an event",
                Delivery::signed(unknown_event(), "payment-account.created", NOW),
                Ok("wbh-2"),
            ),
        ];
        let mut wrong = Vec::new();
        for (name, delivery, expected) in cases {
            let got = delivery.verify(NOW);
            let got = got.as_ref().map(Event::id).map_err(Clone::clone);
            if got != expected {
                wrong.push(format!("{name}: got {got:?}, expected {expected:?}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn a_header_sent_twice_or_not_as_text_is_malformed() {
        let delivery = Delivery::signed(payout_event(), PAYOUT_STATE_UPDATED, NOW);
        let verify = |headers: &HeaderMap| {
            verify_event(headers, &delivery.body, &key(), DEFAULT_TOLERANCE, at(NOW))
        };
        let mut twice = delivery.headers();
        twice.append(
            SIGNATURE_HEADER,
            delivery.signature.as_deref().unwrap().parse().unwrap(),
        );
        assert_eq!(
            verify(&twice),
            Err(SignatureError::Malformed("sent more than once".into()).into())
        );
        let mut not_text = delivery.headers();
        not_text.insert(
            TYPE_HEADER,
            HeaderValue::from_bytes(b"payout.\xffstate").unwrap(),
        );
        assert_eq!(
            verify(&not_text),
            Err(WebhookError::TypeMalformed("not visible ASCII text".into()))
        );
    }

    #[test]
    fn signed_bodies_that_are_not_events_are_refused_after_the_signature() {
        let not_envelope =
            serde_json::to_vec(&json!({"id": "evt-1", "type": PAYOUT_STATE_UPDATED})).unwrap();
        let result = Delivery::signed(not_envelope, PAYOUT_STATE_UPDATED, NOW).verify(NOW);
        assert!(
            matches!(result, Err(WebhookError::NotAnEvent(_))),
            "{result:?}"
        );

        let not_a_payout = serde_json::to_vec(&json!({
            "id": "wbh-3", "type": PAYOUT_STATE_UPDATED,
            "data": {"id": "pyt-1"}, "created_at": "2026-01-31T09:31:00Z"
        }))
        .unwrap();
        let result = Delivery::signed(not_a_payout, PAYOUT_STATE_UPDATED, NOW).verify(NOW);
        assert!(
            matches!(&result, Err(WebhookError::UnreadableData { type_name, .. }) if type_name == PAYOUT_STATE_UPDATED),
            "{result:?}"
        );

        // Unsigned, the same body is refused for its signature first.
        let unsigned = Delivery {
            signature: None,
            type_header: Some(PAYOUT_STATE_UPDATED),
            body: b"not json".to_vec(),
        };
        assert_eq!(unsigned.verify(NOW), Err(SignatureError::Missing.into()));
    }

    #[test]
    fn an_unknown_type_keeps_its_data() {
        let event = Delivery::signed(unknown_event(), "payment-account.created", NOW)
            .verify(NOW)
            .unwrap();
        assert_eq!(
            event,
            Event::Unknown {
                id: "wbh-2".into(),
                created_at: "2026-01-31T09:31:00Z".parse().unwrap(),
                type_name: "payment-account.created".into(),
                data: json!({"id": "pac-1"}),
            }
        );
    }

    #[test]
    fn the_signing_key_never_prints_and_is_never_empty() {
        let key = SigningKey::new(" whsk_live_very_secret \n").unwrap();
        let shown = format!("{key:?} {key} {:#?}", Some(&key));
        assert!(!shown.contains("very_secret"), "{shown}");
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
        assert_eq!(SigningKey::new(" \n"), Err(SigningKeyError::Empty));
        assert_eq!(
            SigningKey::from_env("RAFIKI_TEST_NO_SUCH_VARIABLE"),
            Err(SigningKeyError::NotSet(
                "RAFIKI_TEST_NO_SUCH_VARIABLE".into()
            ))
        );
    }

    /// The key's trimmed form is what signs: a key read with a trailing
    /// newline verifies what the provider signed with the bare key.
    #[test]
    fn a_trimmed_key_verifies_what_the_bare_key_signed() {
        let body = payout_event();
        let signature = signature_header("whsk_test_receiver", NOW as i64, &body);
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        headers.insert(TYPE_HEADER, PAYOUT_STATE_UPDATED.parse().unwrap());
        let key = SigningKey::new("whsk_test_receiver\n").unwrap();
        assert!(verify_event(&headers, &body, &key, DEFAULT_TOLERANCE, at(NOW)).is_ok());
    }
}
