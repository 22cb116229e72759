//! Support transitions through the mock's control API
//! (`support_transitions`): a cancel or reversal is answered 200 with the
//! payout in the new state exactly when the payout was in the state the
//! transition starts from, and 409 otherwise.

use rafiki_rules::lifecycle::StateCode;

use super::sequence::{Sequence, StepResult, fail};
use crate::checks::SUPPORT_TRANSITIONS;
use crate::checks::control::transition;

impl Sequence<'_> {
    /// Control API: `to` is legal exactly when the payout is in `from`.
    pub(super) async fn support(
        &mut self,
        payout: usize,
        to: StateCode,
        from: StateCode,
    ) -> StepResult {
        if !self.ctx.control_api {
            return Ok(());
        }
        let Some(position) = self.accepted(payout) else {
            return Ok(());
        };
        self.refresh_one(position).await?;
        let before = self.payouts[position].state();
        let id = self.payouts[position].id.clone().expect("accepted");
        let url = self
            .ctx
            .client
            .control_url(&format!("/_sandbox/payouts/{id}/transition"));
        let exchange = self.send(transition(url, to)).await;
        match exchange.status() {
            200 => {
                let snapshot = self.snapshot(&exchange)?;
                if snapshot.state.code != to {
                    return fail(
                        &SUPPORT_TRANSITIONS,
                        format!("200 with the payout {to}"),
                        &exchange,
                    );
                }
                self.payouts[position].history.push(snapshot);
                self.refresh_one(position).await?;
            }
            409 => {
                // States only move forward: `from` before and after the
                // call means it was `from` when the server refused.
                self.refresh_one(position).await?;
                if before == Some(from) && self.payouts[position].state() == Some(from) {
                    return fail(
                        &SUPPORT_TRANSITIONS,
                        format!("200: {from} → {to} is allowed"),
                        &exchange,
                    );
                }
            }
            _ => {
                return fail(
                    &SUPPORT_TRANSITIONS,
                    format!("200 or 409 for {to}"),
                    &exchange,
                );
            }
        }
        self.pass(&SUPPORT_TRANSITIONS);
        Ok(())
    }
}
