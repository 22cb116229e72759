//! The rate limit of [`crate::Config::rate_limit_per_key`]: a token bucket
//! per API key holding `N` tokens and refilled at `N` per second, on the
//! runtime's monotonic clock. A request takes a token or is refused with
//! the time until the next one.
//!
//! Not the mock's [`crate::Clock`]: that clock gives wall time, which may
//! step back, and a `ManualClock` stands still, so a limit read from it
//! would never refill in the tests that use one.

use std::num::NonZeroU32;
use std::time::Duration;

use tokio::time::Instant;

/// One key's bucket. It is kept as the instant it will be full again, so
/// that taking and refilling are exact `Duration` arithmetic: at `now` it
/// holds `N - (full_at - now) / interval` tokens (`N` once `full_at` has
/// passed).
#[derive(Debug)]
pub(crate) struct TokenBucket {
    per_second: NonZeroU32,
    /// The time one token takes to refill: a second over `N`.
    interval: Duration,
    /// `None` until the first request: a new bucket is full.
    full_at: Option<Instant>,
}

impl TokenBucket {
    pub fn new(per_second: NonZeroU32) -> Self {
        TokenBucket {
            per_second,
            interval: Duration::from_secs(1) / per_second.get(),
            full_at: None,
        }
    }

    /// The limit, for messages.
    pub fn per_second(&self) -> NonZeroU32 {
        self.per_second
    }

    /// Takes a token at `now`, or answers how long until one refills (the
    /// bucket is then left as it was: a refused request costs nothing).
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let full_at = self.full_at.map_or(now, |at| at.max(now));
        let taken = full_at + self.interval;
        let capacity = self.interval * self.per_second.get();
        let lacking = taken.saturating_duration_since(now);
        if lacking > capacity {
            return Err(lacking - capacity);
        }
        self.full_at = Some(taken);
        Ok(())
    }
}

/// A wait as `Retry-After` says it: whole seconds, rounded up, at least 1
/// (a 0 would invite the client to hammer the server at once).
pub(crate) fn retry_after_seconds(wait: Duration) -> u32 {
    let rounded_up = wait
        .as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0));
    u32::try_from(rounded_up.max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(per_second: u32) -> TokenBucket {
        TokenBucket::new(NonZeroU32::new(per_second).unwrap())
    }

    #[test]
    fn a_full_bucket_lets_a_burst_of_n_through_then_refuses_until_a_token_refills() {
        let mut limit = bucket(10);
        let start = Instant::now();
        for i in 0..10 {
            assert_eq!(limit.take(start), Ok(()), "request {i}");
        }
        assert_eq!(limit.take(start), Err(Duration::from_millis(100)));
        let later = start + Duration::from_millis(40);
        assert_eq!(limit.take(later), Err(Duration::from_millis(60)));
        let refilled = start + Duration::from_millis(100);
        assert_eq!(limit.take(refilled), Ok(()));
        assert!(limit.take(refilled).is_err(), "one token only");
        let after_a_second = refilled + Duration::from_secs(1);
        for i in 0..10 {
            assert_eq!(limit.take(after_a_second), Ok(()), "refilled {i}");
        }
        assert!(limit.take(after_a_second).is_err(), "never above N");
    }

    #[test]
    fn a_client_pacing_itself_at_n_per_second_is_never_refused() {
        let mut limit = bucket(7);
        let start = Instant::now();
        let interval = Duration::from_secs(1) / 7;
        for i in 0..1_000 {
            assert_eq!(limit.take(start + interval * i), Ok(()), "request {i}");
        }
    }

    #[test]
    fn a_refusal_takes_no_token() {
        let mut limit = bucket(1);
        let start = Instant::now();
        assert_eq!(limit.take(start), Ok(()));
        for ms in [0, 200, 999] {
            let at = start + Duration::from_millis(ms);
            assert_eq!(
                limit.take(at),
                Err(Duration::from_millis(1000 - ms)),
                "{ms}"
            );
        }
        assert_eq!(limit.take(start + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        for (wait, seconds) in [
            (Duration::ZERO, 1),
            (Duration::from_nanos(1), 1),
            (Duration::from_millis(100), 1),
            (Duration::from_secs(1), 1),
            (Duration::from_millis(1001), 2),
            (Duration::MAX, u32::MAX),
        ] {
            assert_eq!(retry_after_seconds(wait), seconds, "{wait:?}");
        }
    }
}
