//! Resource identifiers (`pyt-`, `pac-`, `wlt-`, and the webhooks' `wbh-`
//! and `whe-`, + 27 base62 characters, KSUID-like: 4 bytes of seconds, 8
//! bytes of a process-wide counter and 8 random bytes, so ids never repeat
//! within a process) and receipts.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// KSUID's epoch (2014-05-13).
const EPOCH: i64 = 1_400_000_000;
/// Characters after the prefix.
pub const ID_LEN: usize = 27;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A payout id.
pub const PAYOUT: &str = "pyt-";
/// A payment account id.
pub const PAYMENT_ACCOUNT: &str = "pac-";
/// A wallet id.
pub const WALLET: &str = "wlt-";
/// A webhook event id (the same in every attempt to deliver it).
pub const WEBHOOK_EVENT: &str = "wbh-";
/// A webhook endpoint id.
pub const WEBHOOK_ENDPOINT: &str = "whe-";

/// A fresh id: `prefix` + 27 base62 characters.
pub fn new_id(prefix: &str, now: DateTime<Utc>) -> String {
    let mut bytes = [0u8; 20];
    let seconds = u32::try_from((now.timestamp() - EPOCH).max(0)).unwrap_or(u32::MAX);
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    bytes[4..12].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    bytes[12..].copy_from_slice(&rand::random::<u64>().to_be_bytes());
    let mut id = String::with_capacity(prefix.len() + ID_LEN);
    id.push_str(prefix);
    id.push_str(&base62(bytes));
    id
}

/// The 160-bit big-endian number as exactly 27 base62 digits.
fn base62(mut number: [u8; 20]) -> String {
    let mut digits = [b'0'; ID_LEN];
    for digit in digits.iter_mut().rev() {
        let mut remainder = 0u32;
        for byte in number.iter_mut() {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            remainder = acc % 62;
        }
        *digit = BASE62[remainder as usize];
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

/// A telco/bank-style reference for a SENT payout: 10 upper-case letters
/// and digits, e.g. `RFK7Q2M9XA`.
pub fn new_receipt() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut receipt = String::from("RFK");
    let mut bits = rand::random::<u64>();
    for _ in 0..7 {
        receipt.push(char::from(ALPHABET[(bits % 36) as usize]));
        bits /= 36;
    }
    receipt
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_have_the_prefix_and_27_alphanumerics_and_never_repeat() {
        let now = Utc::now();
        let ids: HashSet<String> = (0..10_000).map(|_| new_id(PAYOUT, now)).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(50) {
            let rest = id.strip_prefix("pyt-").unwrap();
            assert_eq!(rest.len(), ID_LEN);
            assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
        assert_eq!(base62([0xff; 20]).len(), ID_LEN);
        assert_eq!(base62([0; 20]), "0".repeat(ID_LEN));
    }

    #[test]
    fn receipts() {
        let receipt = new_receipt();
        assert_eq!(receipt.len(), 10);
        assert!(
            receipt
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
    }
}
