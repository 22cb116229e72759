//! How fast a [`Client`](super::Client) sends: never faster than
//! `--rate-limit`, and slower while the server answers 429.
//!
//! A 429 is the server's pace, not a verdict (`docs/contract.md#errors`:
//! any server or gateway may send one). On a 429 every request waits out
//! the server's `Retry-After` (else a backoff from 1 s), and the rate is
//! halved (the first time, from what was really sent in the last second),
//! at most once per round of requests that were already on their way.
//! Each second's worth of answers without one raises the rate again by one
//! request per second, so a run settles just under the server's limit
//! instead of hitting it on every request.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The first wait after a 429 without `Retry-After`; it doubles per try.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait after a 429 without `Retry-After`.
const MAX_BACKOFF: Duration = Duration::from_secs(16);
/// The slowest the run goes: one request every 10 seconds.
const SLOWEST_GAP: Duration = Duration::from_secs(10);

/// The wait before try `tries + 1` of a request limited `tries` times
/// without a `Retry-After`.
pub(super) fn backoff(tries: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << tries.saturating_sub(1).min(16))
        .min(MAX_BACKOFF)
}

/// How often the run was limited and how long it waited (for the report).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limited {
    /// 429 answers (each was sent again after the wait, or given up on).
    pub answers: u64,
    /// Requests given up on, still limited after the bound.
    pub gave_up: u64,
    /// Time during which sending was paused for the server, in total.
    pub paused: Duration,
    /// The slowest rate the run went down to, in requests per second.
    pub slowest_rate: Option<f64>,
}

/// The pace of one client.
#[derive(Debug)]
pub(super) struct Pace {
    /// `--rate-limit` as a gap between two sends: the run never goes faster.
    floor: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Between two sends (zero: as fast as the in-flight bound allows).
    gap: Duration,
    /// When the next request may go.
    next: Instant,
    /// Nothing goes before this (the server's `Retry-After`).
    paused_until: Instant,
    /// When the rate was last cut: only a request sent after it cuts it again.
    cut_at: Option<Instant>,
    /// Answers without a 429 since the last change of rate.
    clean: u32,
    /// When the requests of the last second went (to cut from the real rate).
    recent: VecDeque<Instant>,
    limited: Limited,
}

impl Pace {
    /// At most `rate` requests per second, or as fast as allowed (`None`).
    pub(super) fn new(rate: Option<u32>) -> Self {
        let floor = rate
            .filter(|r| *r > 0)
            .map_or(Duration::ZERO, |r| Duration::from_secs(1) / r);
        let now = Instant::now();
        Pace {
            floor,
            state: Mutex::new(State {
                gap: floor,
                next: now,
                paused_until: now,
                cut_at: None,
                clean: 0,
                recent: VecDeque::new(),
                limited: Limited::default(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this request's turn; returns when it went.
    pub(super) async fn turn(&self) -> Instant {
        let start = {
            let mut state = self.state();
            let now = Instant::now();
            let start = now.max(state.next).max(state.paused_until);
            state.next = start + state.gap;
            while state
                .recent
                .front()
                .is_some_and(|t| start.duration_since(*t) > Duration::from_secs(1))
            {
                state.recent.pop_front();
            }
            state.recent.push_back(start);
            start
        };
        tokio::time::sleep_until(start.into()).await;
        start
    }

    /// A request sent at `sent_at` was answered 429, asking to wait `wait`:
    /// nothing goes until then, and the rate is cut.
    pub(super) fn limited(&self, sent_at: Instant, wait: Duration) {
        let mut state = self.state();
        let now = Instant::now();
        state.limited.answers += 1;
        let until = now + wait;
        if until > state.paused_until {
            let from = state.paused_until.max(now);
            state.limited.paused += until - from;
            state.paused_until = until;
        }
        // Requests already on their way when the rate was cut say nothing
        // about the new rate.
        if state.cut_at.is_some_and(|cut| sent_at < cut) {
            return;
        }
        let current = match state.gap.is_zero() {
            true => Duration::from_secs(1) / u32::try_from(state.recent.len().max(1)).unwrap_or(1),
            false => state.gap,
        };
        state.gap = (current * 2).clamp(self.floor, SLOWEST_GAP);
        state.cut_at = Some(now);
        state.clean = 0;
        let rate = 1.0 / state.gap.as_secs_f64();
        let slowest = state.limited.slowest_rate.get_or_insert(rate);
        *slowest = slowest.min(rate);
    }

    /// A request was answered without a 429: after a second's worth of
    /// such answers the rate goes up by one request per second.
    pub(super) fn answered(&self) {
        let mut state = self.state();
        if state.gap <= self.floor || state.gap.is_zero() {
            return;
        }
        state.clean += 1;
        let rate = 1.0 / state.gap.as_secs_f64();
        if f64::from(state.clean) >= rate {
            state.clean = 0;
            state.gap = Duration::from_secs_f64(1.0 / (rate + 1.0)).max(self.floor);
        }
    }

    /// A request was given up on, still limited.
    pub(super) fn gave_up(&self) {
        self.state().limited.gave_up += 1;
    }

    pub(super) fn limited_so_far(&self) -> Limited {
        self.state().limited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_and_is_capped() {
        let waits: Vec<u64> = (1..=7).map(|t| backoff(t).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 16, 16]);
    }

    #[tokio::test]
    async fn a_429_pauses_everyone_and_halves_the_rate_once_per_round() {
        let pace = Pace::new(Some(100));
        let sent = pace.turn().await;
        pace.limited(sent, Duration::from_millis(30));
        // A second 429 of a request sent before the cut does not cut again.
        pace.limited(sent, Duration::from_millis(30));
        let limited = pace.limited_so_far();
        assert_eq!(limited.answers, 2);
        assert_eq!(limited.slowest_rate, Some(50.0));
        assert!(limited.paused >= Duration::from_millis(30), "{limited:?}");
        let next = pace.turn().await;
        assert!(next.duration_since(sent) >= Duration::from_millis(30));
    }

    #[tokio::test]
    async fn clean_answers_raise_the_rate_but_never_past_the_configured_one() {
        let pace = Pace::new(Some(10));
        let sent = pace.turn().await;
        pace.limited(sent, Duration::ZERO);
        assert_eq!(pace.state().gap, Duration::from_millis(200));
        for _ in 0..5 {
            pace.answered();
        }
        assert_eq!(pace.state().gap, Duration::from_secs_f64(1.0 / 6.0));
        for _ in 0..1000 {
            pace.answered();
        }
        assert_eq!(pace.state().gap, Duration::from_millis(100));
    }
}
