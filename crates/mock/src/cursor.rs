//! The opaque paging cursor: base64url (no padding; padding is accepted
//! on input) of a kind byte and the sort key `(created_at, seq)` of the
//! last item of the page. The next page holds the keys strictly below it,
//! so items inserted meanwhile (which sort above the first page) never
//! shift what the walk visits.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Utc};

/// Position of an item in a newest-first list: its creation time, then a
/// per-account sequence number (later = newer) to break ties.
pub type SortKey = (DateTime<Utc>, u64);

/// Which list a cursor belongs to (a payouts cursor is refused by the
/// payment accounts list and vice versa).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Payouts = b'p' as isize,
    PaymentAccounts = b'a' as isize,
}

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LEN: usize = 1 + 8 + 4 + 8;

/// The cursor pointing after `key`.
pub fn encode(kind: ListKind, key: SortKey) -> String {
    let mut bytes = [0u8; LEN];
    bytes[0] = kind as u8;
    bytes[1..9].copy_from_slice(&key.0.timestamp().to_be_bytes());
    bytes[9..13].copy_from_slice(&key.0.timestamp_subsec_nanos().to_be_bytes());
    bytes[13..].copy_from_slice(&key.1.to_be_bytes());
    ENGINE.encode(bytes)
}

/// The key a cursor points after; `None` for anything this server did not
/// hand out for this list.
pub fn decode(kind: ListKind, cursor: &str) -> Option<SortKey> {
    let bytes = ENGINE.decode(cursor).ok()?;
    let bytes: [u8; LEN] = bytes.try_into().ok()?;
    if bytes[0] != kind as u8 {
        return None;
    }
    let seconds = i64::from_be_bytes(bytes[1..9].try_into().ok()?);
    let nanos = u32::from_be_bytes(bytes[9..13].try_into().ok()?);
    let seq = u64::from_be_bytes(bytes[13..].try_into().ok()?);
    Some((DateTime::from_timestamp(seconds, nanos)?, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let key: SortKey = ("2026-01-31T09:30:00.123456789Z".parse().unwrap(), 42);
        let cursor = encode(ListKind::Payouts, key);
        assert!(
            cursor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{cursor}"
        );
        assert_eq!(decode(ListKind::Payouts, &cursor), Some(key));
        assert_eq!(decode(ListKind::PaymentAccounts, &cursor), None);
        for bad in [
            "",
            "abc",
            "!!!!",
            &cursor[1..],
            "cGFjLTJXTFhiOGJQNnNTN1FSdkE2QUZHcDdOaEdzNw==",
        ] {
            assert_eq!(decode(ListKind::Payouts, bad), None, "{bad:?}");
        }
    }
}
