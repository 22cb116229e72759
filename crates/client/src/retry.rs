//! Safe retries for `POST /payouts`.
//!
//! A payout is retried only under its one idempotency key, so the server
//! can never create it twice; and only when the failure was transient
//! (see [`Error::is_retryable`]): connection errors (including a connection
//! closed before the answer: the payout may exist, and the retry under the
//! same key gets it back), 5xx, 429 and 409 IDEMPOTENCY_RACE. A 429 means
//! the request was not handled, so retrying it under the same key is as
//! safe as any retry. The wait between attempts grows exponentially with
//! jitter, and a server's `Retry-After` is honoured: the wait is the longer
//! of the two (if it asks for longer than [`RetryPolicy::max_delay`], the
//! client gives up instead of hanging).

use std::time::Duration;

use rand::Rng;

use crate::generated::types;
use crate::{Error, RafikiClient};

/// How many times and how patiently to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (at least 1).
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles after each attempt.
    pub base_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait after failed attempt number `attempt` (1-based): "equal
    /// jitter", a random point in the upper half of the exponential step,
    /// so concurrent clients spread out but never retry instantly.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let step = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_delay);
        let half = step / 2;
        half + rand::rng().random_range(Duration::ZERO..=half)
    }

    /// The wait before the next attempt, or `None` to stop: the attempts
    /// are used up, the error is not transient, or the server asked to wait
    /// longer than `max_delay`.
    pub fn next_delay(&self, attempt: u32, error: &Error) -> Option<Duration> {
        if attempt >= self.max_attempts.max(1) || !error.is_retryable() {
            return None;
        }
        let backoff = self.backoff(attempt);
        match error.retry_after() {
            Some(asked) if asked > self.max_delay => None,
            Some(asked) => Some(asked.max(backoff)),
            None => Some(backoff),
        }
    }
}

/// A payout the server accepted (202).
#[derive(Debug, Clone)]
pub struct CreatedPayout {
    /// The payout, PENDING.
    pub payout: types::Payout,
    /// The idempotency key it was sent with (keep it to retry later).
    pub idempotency_key: String,
    /// How many attempts it took.
    pub attempts: u32,
}

/// A payout that was not accepted. Keep `idempotency_key`: sending the
/// same body again with it later can never create a second payout.
#[derive(Debug, thiserror::Error)]
#[error("payout not accepted after {attempts} attempt(s) with idempotency key {idempotency_key}")]
pub struct CreatePayoutError {
    pub idempotency_key: String,
    pub attempts: u32,
    #[source]
    pub error: Error,
}

impl RafikiClient {
    /// `POST /payouts` with safe retries (see the module docs).
    ///
    /// With `idempotency_key: None` a fresh UUIDv4 is made; every attempt
    /// uses the same key. The payout is checked first (see
    /// [`ClientBuilder::validate_requests`](crate::ClientBuilder::validate_requests)):
    /// a refusal comes back with `attempts: 0`.
    pub async fn create_payout(
        &self,
        request: &types::PayoutCreateRequest,
        idempotency_key: Option<&str>,
    ) -> Result<CreatedPayout, CreatePayoutError> {
        let key = idempotency_key.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
        if let Err(error) = self.check_payout(request) {
            return Err(CreatePayoutError {
                idempotency_key: key,
                attempts: 0,
                error,
            });
        }
        let mut attempt = 1;
        loop {
            let result = self
                .inner
                .create_payout()
                .x_idempotency_key(key.as_str())
                .body(request.clone())
                .send()
                .await;
            let error = match result {
                Ok(accepted) => {
                    return Ok(CreatedPayout {
                        payout: accepted.into_inner().data,
                        idempotency_key: key,
                        attempts: attempt,
                    });
                }
                Err(e) => Error::from_generated(e).await,
            };
            match self.retry.next_delay(attempt, &error) {
                Some(delay) => {
                    tracing::warn!(idempotency_key = %key, attempt, ?delay, %error, "create_payout: retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => {
                    return Err(CreatePayoutError {
                        idempotency_key: key,
                        attempts: attempt,
                        error,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn error(status: u16, code: &str, retry_after: Option<Duration>) -> Error {
        let body =
            serde_json::from_value(serde_json::json!({"code": code, "message": "m"})).unwrap();
        Error::from_body(StatusCode::from_u16(status).unwrap(), body, retry_after)
    }

    #[test]
    fn backoff_grows_exponentially_within_jitter_bounds() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for (attempt, step_ms) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (9, 1000)] {
            for _ in 0..50 {
                let d = policy.backoff(attempt).as_millis();
                assert!(
                    (step_ms / 2..=step_ms).contains(&d),
                    "attempt {attempt}: {d} ms"
                );
            }
        }
    }

    #[test]
    fn stops_on_permanent_errors_and_when_attempts_run_out() {
        let policy = RetryPolicy::default();
        assert!(
            policy
                .next_delay(1, &error(422, "VALIDATION_FAILED", None))
                .is_none()
        );
        assert!(
            policy
                .next_delay(1, &error(409, "IDEMPOTENCY_KEY_ALREADY_USED", None))
                .is_none()
        );
        assert!(
            policy
                .next_delay(1, &error(500, "INTERNAL_SERVER_ERROR", None))
                .is_some()
        );
        assert!(
            policy
                .next_delay(5, &error(500, "INTERNAL_SERVER_ERROR", None))
                .is_none()
        );
        assert!(
            RetryPolicy::none()
                .next_delay(1, &error(500, "X", None))
                .is_none()
        );
    }

    #[test]
    fn honours_retry_after_or_gives_up_when_it_is_too_long() {
        let policy = RetryPolicy::default();
        let race = error(409, "IDEMPOTENCY_RACE", Some(Duration::from_secs(3)));
        assert!(policy.next_delay(1, &race).unwrap() >= Duration::from_secs(3));
        let too_long = error(503, "UNAVAILABLE", Some(Duration::from_secs(60)));
        assert!(policy.next_delay(1, &too_long).is_none());
    }

    #[test]
    fn a_429_is_retried_after_its_retry_after() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(5),
        };
        let throttled = error(429, "RATE_LIMITED", Some(Duration::from_secs(2)));
        assert!(matches!(throttled, Error::RateLimited(_)));
        let wait = policy.next_delay(1, &throttled).unwrap();
        assert!(wait >= Duration::from_secs(2), "{wait:?}");
        let bare = error(429, "TOO_MANY_REQUESTS", None);
        assert!(policy.next_delay(1, &bare).unwrap() <= Duration::from_millis(1));
        assert!(policy.next_delay(3, &bare).is_none(), "attempts run out");
        let too_long = error(429, "RATE_LIMITED", Some(Duration::from_secs(6)));
        assert!(policy.next_delay(1, &too_long).is_none());
    }
}
