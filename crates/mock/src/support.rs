//! Autonomous support (with [`crate::Config::autonomous_support`]): support
//! staff act on payouts without being asked, as they may on the real API.
//! Which payouts they touch is a pure function of the payout id, so a run
//! is reproducible from its ids:
//!
//! - a quarter of the payouts ([`SupportPlan::Cancel`]) are CANCELLED when
//!   they fall due, instead of being settled (the reservation is released);
//! - another quarter ([`SupportPlan::Reverse`]) are SENT as usual, then
//!   REVERSED one processing delay later (balance and available credited
//!   back);
//! - the rest are left alone.
//!
//! Only payouts whose sandbox outcome is SENT are touched: the sandbox test
//! values keep failing with their documented context. Every move is a legal
//! lifecycle transition (PENDING → CANCELLED, SENT → REVERSED) with the
//! wallet effect the control API's transitions apply.
//!
//! Outages (with [`crate::Config::recipient_outages`]) are chosen the same
//! way, by the payout's idempotency key: [`is_outage`].

/// What support does to one payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SupportPlan {
    /// Nothing: the payout is settled as the sandbox outcome says.
    LeaveAlone,
    /// CANCELLED at its due time instead of being settled.
    Cancel,
    /// SENT at its due time, REVERSED one processing delay later.
    Reverse,
}

/// The plan for the payout `payout_id` when support acts on its own: by
/// the FNV-1a hash of the id, modulo 4 (0 cancel, 1 reverse, else leave).
pub fn plan(payout_id: &str) -> SupportPlan {
    match fnv1a(payout_id.as_bytes()) % 4 {
        0 => SupportPlan::Cancel,
        1 => SupportPlan::Reverse,
        _ => SupportPlan::LeaveAlone,
    }
}

/// Whether the payout sent with idempotency key `key` meets an outage of
/// its recipient's bank or operator (with
/// [`crate::Config::recipient_outages`]): one key in eight, by the FNV-1a
/// hash of the key, so a retry with the key meets it again.
pub fn is_outage(key: &str) -> bool {
    fnv1a(key.as_bytes()) % 8 == 7
}

/// 64-bit FNV-1a: stable across platforms, Rust versions and runs (unlike
/// `std`'s default hasher, whose algorithm may change).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_a_stable_function_of_the_id() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let ids: Vec<String> = (0..400).map(|i| format!("pyt-{i:027}")).collect();
        let count = |wanted| ids.iter().filter(|id| plan(id) == wanted).count();
        for wanted in [SupportPlan::Cancel, SupportPlan::Reverse] {
            assert!(
                (60..=140).contains(&count(wanted)),
                "{wanted:?}: {}",
                count(wanted)
            );
        }
        assert!(ids.iter().all(|id| plan(id) == plan(&id.clone())));
    }
}
