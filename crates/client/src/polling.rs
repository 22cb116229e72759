//! `wait_for_final_state`: poll `GET /payouts/{id}` with backoff until the
//! payout reaches the state the caller waits for, or a deadline passes.
//!
//! Payouts go PENDING → SENT → (maybe, by support) REVERSED, or PENDING →
//! FAILED / CANCELLED. SENT means the recipient has the money but is not
//! final: a caller that needs "will never change again" waits for
//! [`WaitFor::Final`]; most callers want [`WaitFor::Settled`].

use std::time::Duration;

use tokio::time::Instant;

use crate::generated::types::{self, PayoutStateCode};
use crate::{Error, RafikiClient};

/// Which states end the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// SENT, FAILED, CANCELLED or REVERSED: the outcome is known.
    Settled,
    /// FAILED, CANCELLED or REVERSED only: the payout can never change again.
    Final,
}

impl WaitFor {
    /// Whether `state` ends this wait.
    pub fn is_reached(self, state: PayoutStateCode) -> bool {
        use PayoutStateCode::*;
        match state {
            Failed | Cancelled | Reversed => true,
            Sent => self == WaitFor::Settled,
            Pending => false,
        }
    }
}

/// How to poll.
#[derive(Debug, Clone)]
pub struct PollOptions {
    pub until: WaitFor,
    /// Give up after this long.
    pub timeout: Duration,
    /// The first wait between two polls; it grows by half each time.
    pub initial_interval: Duration,
    /// The longest wait between two polls.
    pub max_interval: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            until: WaitFor::Settled,
            timeout: Duration::from_secs(120),
            initial_interval: Duration::from_millis(200),
            max_interval: Duration::from_secs(5),
        }
    }
}

impl RafikiClient {
    /// Polls the payout until `options.until` is reached and returns it.
    ///
    /// Transient failures (transport errors, 5xx) are polled through until
    /// the deadline; any other error (401, 404, ...) ends the wait at once.
    /// Running out of time gives [`Error::PollDeadline`].
    pub async fn wait_for_final_state(
        &self,
        id: &str,
        options: &PollOptions,
    ) -> Result<types::Payout, Error> {
        let started = Instant::now();
        let deadline = started + options.timeout;
        let mut interval = options.initial_interval;
        let mut last_state;
        loop {
            match self.get_payout(id).await {
                Ok(payout) if options.until.is_reached(payout.state.code) => return Ok(payout),
                Ok(payout) => last_state = payout.state.code.to_string(),
                Err(error) if error.is_retryable() => {
                    tracing::debug!(payout_id = id, %error, "wait_for_final_state: transient error");
                    last_state = format!("error: {error}");
                }
                Err(error) => return Err(error),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::PollDeadline {
                    payout_id: id.to_string(),
                    waited: now - started,
                    last_state,
                });
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
            interval = (interval + interval / 2).min(options.max_interval);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_includes_sent_but_final_does_not() {
        use PayoutStateCode::*;
        for state in [Failed, Cancelled, Reversed] {
            assert!(WaitFor::Settled.is_reached(state) && WaitFor::Final.is_reached(state));
        }
        assert!(WaitFor::Settled.is_reached(Sent));
        assert!(!WaitFor::Final.is_reached(Sent));
        assert!(!WaitFor::Settled.is_reached(Pending));
    }
}
