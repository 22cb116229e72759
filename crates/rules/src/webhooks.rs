//! Webhook signatures: how an event's `X-Rafiki-Webhook-Signature` header
//! is made and checked (docs/contract.md, "Webhooks"). The mock signs with
//! [`signature_header`], the client's verifier and the contract suite check
//! with [`verify_signature`]: one definition of the signed bytes for all.
//!
//! The provider documents the header's shape, `t=<unix seconds>,
//! v1=<hex digest>`, and that a signing key of its making signs each
//! event. What is signed and with which digest is not written down; we
//! use the convention that shape stands for (HMAC-SHA256 in lowercase hex
//! over `"<t>.<raw body>"`, the key's UTF-8 bytes as the HMAC key). That
//! reading is *ours*, and this module is the only place that holds it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Rafiki-Webhook-Signature";

/// The header that names the event type (as the body's `type` does).
pub const TYPE_HEADER: &str = "X-Rafiki-Webhook-Type";

/// The event sent when a payout's state changes; its `data` is the payout
/// as `GET /payouts/{id}` shows it.
pub const PAYOUT_STATE_UPDATED: &str = "payout.state-updated";

/// How far a signature's timestamp may be from the receiver's clock, in
/// seconds, unless the receiver chooses otherwise (*ours*: five minutes,
/// the common default for this header shape; the provider names none).
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// What the `v1` digest is made over. Ours is [`SignedText::TimestampDotBody`]
/// (the mock signs with it, [`verify_signature`] checks it); the others
/// are readings a receiver written from the same page may have taken,
/// which the contract suite tries before it calls a receiver's refusal of
/// a genuine event a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedText {
    /// `"<t>.<raw body>"`: ours.
    TimestampDotBody,
    /// The raw body alone.
    Body,
    /// `"<t><raw body>"`, nothing between.
    TimestampBody,
}

impl SignedText {
    /// Ours first.
    pub const ALL: [SignedText; 3] = [
        SignedText::TimestampDotBody,
        SignedText::Body,
        SignedText::TimestampBody,
    ];

    /// What is signed, in words.
    pub fn describe(self) -> &'static str {
        match self {
            SignedText::TimestampDotBody => "\"<t>.<raw body>\"",
            SignedText::Body => "the raw body alone",
            SignedText::TimestampBody => "\"<t><raw body>\" (no dot)",
        }
    }

    /// The MAC of one event, before its bytes are added.
    fn mac(self, key: &str, timestamp: i64) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes a key of any length");
        match self {
            SignedText::TimestampDotBody => {
                mac.update(timestamp.to_string().as_bytes());
                mac.update(b".");
            }
            SignedText::TimestampBody => mac.update(timestamp.to_string().as_bytes()),
            SignedText::Body => {}
        }
        mac
    }

    /// The `X-Rafiki-Webhook-Signature` value for `body` sent at
    /// `timestamp` (unix seconds), signed with `key` over this text.
    pub fn header(self, key: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.mac(key, timestamp);
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        format!("t={timestamp}, v1={}", hex::encode(digest))
    }
}

/// The `X-Rafiki-Webhook-Signature` value for `body` sent at `timestamp`
/// (unix seconds), signed with `key` (ours: over `"<t>.<raw body>"`).
pub fn signature_header(key: &str, timestamp: i64, body: &[u8]) -> String {
    SignedText::TimestampDotBody.header(key, timestamp, body)
}

/// Why a signature was refused. The messages name the problem, never the
/// key or a digest that would help forge one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no {SIGNATURE_HEADER} header")]
    Missing,
    #[error("{SIGNATURE_HEADER} is malformed: {0}")]
    Malformed(String),
    #[error("the signature's timestamp is {age} s old, past the tolerance of {tolerance} s")]
    TooOld { age: u64, tolerance: u64 },
    #[error(
        "the signature's timestamp is {ahead} s in the future, past the tolerance of {tolerance} s"
    )]
    InFuture { ahead: u64, tolerance: u64 },
    #[error("no v1 digest matches the body signed with this key")]
    Mismatch,
}

/// A parsed signature header: its timestamp and every `v1` digest (more
/// than one while a key is being replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub timestamp: i64,
    pub digests: Vec<Vec<u8>>,
}

impl std::str::FromStr for Signature {
    type Err = SignatureError;

    /// `t=<unix seconds>, v1=<hex>[, v1=<hex>...]`; spaces around the
    /// commas are optional, and other schemes (`v0=`) are ignored, so a
    /// later version of the header still parses.
    fn from_str(header: &str) -> Result<Self, SignatureError> {
        let malformed = |why: &str| SignatureError::Malformed(why.to_string());
        let mut timestamp = None;
        let mut digests = Vec::new();
        for part in header.split(',') {
            let (name, value) = part
                .trim()
                .split_once('=')
                .ok_or_else(|| malformed("each part is name=value, separated by commas"))?;
            match name {
                "t" if timestamp.is_some() => return Err(malformed("more than one t=")),
                "t" => {
                    let t = value
                        .parse::<i64>()
                        .map_err(|_| malformed("t= is not a whole number of unix seconds"))?;
                    timestamp = Some(t);
                }
                "v1" => digests.push(
                    hex::decode(value).map_err(|_| malformed("a v1= digest is not hexadecimal"))?,
                ),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or_else(|| malformed("no t= timestamp"))?;
        if digests.is_empty() {
            return Err(malformed("no v1= digest"));
        }
        Ok(Signature { timestamp, digests })
    }
}

/// Checks `header` (the `X-Rafiki-Webhook-Signature` value, if any) over
/// the raw `body` with `key`: the timestamp within `tolerance_secs` of
/// `now` (unix seconds) either way, bounds included, and one of the `v1`
/// digests matching (compared in constant time). Returns the timestamp.
pub fn verify_signature(
    header: Option<&str>,
    body: &[u8],
    key: &str,
    tolerance_secs: u64,
    now: i64,
) -> Result<i64, SignatureError> {
    let signature: Signature = header.ok_or(SignatureError::Missing)?.parse()?;
    let age = now.saturating_sub(signature.timestamp);
    if age > 0 && age.unsigned_abs() > tolerance_secs {
        return Err(SignatureError::TooOld {
            age: age.unsigned_abs(),
            tolerance: tolerance_secs,
        });
    }
    if age < 0 && age.unsigned_abs() > tolerance_secs {
        return Err(SignatureError::InFuture {
            ahead: age.unsigned_abs(),
            tolerance: tolerance_secs,
        });
    }
    let mut expected = SignedText::TimestampDotBody.mac(key, signature.timestamp);
    expected.update(body);
    // Each candidate is checked by `verify_slice`, in constant time.
    let matches = signature
        .digests
        .iter()
        .any(|digest| expected.clone().verify_slice(digest).is_ok());
    match matches {
        true => Ok(signature.timestamp),
        false => Err(SignatureError::Mismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "whsk_test_key";
    const BODY: &[u8] = br#"{"id":"wbh-1","type":"payout.state-updated"}"#;

    #[test]
    fn a_signed_body_verifies_and_any_change_does_not() {
        let header = signature_header(KEY, 1_700_000_000, BODY);
        assert!(header.starts_with("t=1700000000, v1="), "{header}");
        assert_eq!(
            verify_signature(Some(&header), BODY, KEY, 300, 1_700_000_000),
            Ok(1_700_000_000)
        );
        let tampered = br#"{"id":"wbh-2","type":"payout.state-updated"}"#;
        for (body, key) in [(&tampered[..], KEY), (BODY, "whsk_other")] {
            assert_eq!(
                verify_signature(Some(&header), body, key, 300, 1_700_000_000),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn each_reading_signs_its_own_text_and_only_ours_verifies() {
        let t = 1_700_000_000;
        let headers: Vec<String> = SignedText::ALL
            .iter()
            .map(|text| text.header(KEY, t, BODY))
            .collect();
        assert_eq!(headers[0], signature_header(KEY, t, BODY));
        assert!(headers[1] != headers[0] && headers[2] != headers[0] && headers[1] != headers[2]);
        // Over the raw body alone, the digest does not depend on `t`.
        let v1 = |header: &str| header.split_once("v1=").unwrap().1.to_owned();
        assert_eq!(
            v1(&headers[1]),
            v1(&SignedText::Body.header(KEY, t + 1, BODY))
        );
        for other in &headers[1..] {
            assert_eq!(
                verify_signature(Some(other), BODY, KEY, 300, t),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn the_digest_is_hmac_sha256_over_t_dot_body() {
        // Computed independently: printf '1.{}' | openssl dgst -sha256 -hmac k
        assert_eq!(
            signature_header("k", 1, b"{}"),
            "t=1, v1=3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158"
        );
    }

    #[test]
    fn the_tolerance_holds_at_its_bound_and_not_past_it() {
        let header = signature_header(KEY, 1000, BODY);
        let at = |now| verify_signature(Some(&header), BODY, KEY, 300, now);
        assert!(at(1300).is_ok() && at(700).is_ok());
        assert_eq!(
            at(1301),
            Err(SignatureError::TooOld {
                age: 301,
                tolerance: 300
            })
        );
        assert_eq!(
            at(699),
            Err(SignatureError::InFuture {
                ahead: 301,
                tolerance: 300
            })
        );
    }

    #[test]
    fn headers_that_do_not_parse_are_named() {
        let check = |header: &str| verify_signature(Some(header), BODY, KEY, 300, 1000);
        assert_eq!(
            verify_signature(None, BODY, KEY, 300, 0),
            Err(SignatureError::Missing)
        );
        for header in [
            "",
            "t=1000",
            "v1=00",
            "t=soon, v1=00",
            "t=1000, v1=zz",
            "t=1,t=2,v1=00",
        ] {
            assert!(
                matches!(check(header), Err(SignatureError::Malformed(_))),
                "{header}"
            );
        }
    }

    #[test]
    fn any_of_several_digests_may_match() {
        let good = signature_header(KEY, 1000, BODY);
        let digest = good.split("v1=").nth(1).unwrap();
        let rotated = format!("t=1000,v1={},v1={digest}", "0".repeat(64));
        assert_eq!(
            verify_signature(Some(&rotated), BODY, KEY, 300, 1000),
            Ok(1000)
        );
    }
}
