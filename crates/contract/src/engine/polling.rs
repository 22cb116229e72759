//! Waiting for a payout's outcome: polls with a growing wait, within the
//! poll deadline and the run's.

use super::Ctx;
use crate::http::{Exchange, Probe};

/// The first wait between two polls of a payout.
pub const FIRST_POLL_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// The wait after `wait`: twice as long, at most 500 ms.
pub fn next_poll_wait(wait: std::time::Duration) -> std::time::Duration {
    (wait * 2).min(std::time::Duration::from_millis(500))
}

/// Polls payout `id` until it leaves PENDING: its state code and the
/// last answer; `Err` when the answer has no readable state, or the poll
/// deadline (or the run's) passes first.
pub async fn poll_outcome(ctx: &Ctx, id: &str) -> Result<(String, Exchange), String> {
    let deadline = std::time::Instant::now() + ctx.poll_deadline;
    let mut wait = FIRST_POLL_WAIT;
    loop {
        let exchange = ctx
            .send(Probe::get("get_payout", format!("/payouts/{id}")))
            .await;
        let code = exchange.payout_state().map(str::to_string);
        match code {
            None => {
                return Err(format!(
                    "no state.code in the answer ({})",
                    exchange.summary()
                ));
            }
            Some(code) if code != "PENDING" => return Ok((code, exchange)),
            Some(_) if std::time::Instant::now() >= deadline || ctx.out_of_time() => {
                return Err(format!(
                    "still PENDING after {} s",
                    ctx.poll_deadline.as_secs_f64()
                ));
            }
            Some(_) => {}
        }
        tokio::time::sleep(wait).await;
        wait = next_poll_wait(wait);
    }
}
