//! Reading payouts again and waiting for them: a payout from an answer,
//! a re-read that appends a snapshot and judges the whole history legal
//! (`lifecycle_legal`), re-reads of every payout, and, once per lane,
//! polling every payout it created until each has settled.

use std::time::Instant;

use rafiki_rules::lifecycle::{StateCode, check_history};
use rafiki_rules::wire::Payout;
use serde::Deserialize;
use serde_json::Value;

use super::requests::get_payout;
use super::sequence::{Sequence, StepFailure, StepResult, Tracked, fail};
use crate::checks::LIFECYCLE_LEGAL;
use crate::engine::{Ctx, FIRST_POLL_WAIT, next_poll_wait};
use crate::http::{Exchange, KeySlot};

/// The payout in an answer's `data`, which must have an id (an empty one
/// would make every id-less snapshot look like the same payout); `Err`
/// says what was expected.
fn payout_in(exchange: &Exchange) -> Result<Payout, String> {
    let data = exchange
        .json()
        .and_then(|j| j.get("data"))
        .unwrap_or(&Value::Null);
    let payout = Payout::deserialize(data).map_err(|e| format!("a payout in `data` ({e})"))?;
    if payout.id.is_empty() {
        return Err("a payout with an `id` in `data`, got an empty one".into());
    }
    Ok(payout)
}

/// Appends the payout read in `exchange` to `tracked`'s history and judges
/// the whole history (`lifecycle_legal`): `Err` says what was expected. A
/// state that polling missed (PENDING then REVERSED) is a legal
/// observation (`docs/contract.md#payout-lifecycle`), not a warning.
fn append_read(tracked: &mut Tracked, exchange: &Exchange) -> Result<(), String> {
    let id = tracked.id.as_deref().unwrap_or_default();
    if exchange.status() != 200 {
        return Err(format!("200 for payout {id}"));
    }
    tracked.history.push(payout_in(exchange)?);
    let states: Vec<&str> = tracked
        .history
        .iter()
        .map(|p| p.state.code.as_str())
        .collect();
    check_history(&tracked.history).map_err(|error| {
        format!(
            "a legal history for {id}, got {}: {error}",
            states.join(" → ")
        )
    })
}

impl Sequence<'_> {
    /// The payout in an answer's `data` (see [`payout_in`]).
    pub(super) fn snapshot(&self, exchange: &Exchange) -> Result<Payout, StepFailure> {
        payout_in(exchange).or_else(|expected| fail(&LIFECYCLE_LEGAL, expected, exchange))
    }

    /// GETs one payout, appends the snapshot and checks the whole history.
    pub(super) async fn refresh_one(&mut self, position: usize) -> StepResult {
        let id = self.payouts[position]
            .id
            .clone()
            .expect("only accepted payouts are refreshed");
        let exchange = self.send(get_payout(&id)).await;
        let read = append_read(&mut self.payouts[position], &exchange);
        if self.payouts[position].inherited.is_some() {
            // An earlier sequence's payout: its history is judged when the
            // lane settles, not here (this sequence did not create it).
            return Ok(());
        }
        match read {
            Err(expected) => fail(&LIFECYCLE_LEGAL, expected, &exchange),
            Ok(()) => {
                self.pass(&LIFECYCLE_LEGAL);
                Ok(())
            }
        }
    }

    /// Re-reads every accepted payout that may still move: PENDING ones,
    /// and SENT ones (support may reverse them); every payout's state
    /// after. FAILED, CANCELLED and REVERSED are final: their money never
    /// moves again, and the lane's settle still reads each of them.
    pub(super) async fn refresh_all(&mut self) -> Result<Vec<Option<StateCode>>, StepFailure> {
        self.refresh_where(|state| !state.is_some_and(StateCode::is_final))
            .await
    }

    /// Re-reads every accepted payout still PENDING, the only state a
    /// payout leaves by itself (a reversal of a SENT one is support's
    /// doing, looked for when the wallet shows more money than the model
    /// predicts); every payout's state after.
    pub(super) async fn refresh_pending(&mut self) -> Result<Vec<Option<StateCode>>, StepFailure> {
        self.refresh_where(|state| matches!(state, None | Some(StateCode::Pending)))
            .await
    }

    async fn refresh_where(
        &mut self,
        moving: impl Fn(Option<StateCode>) -> bool,
    ) -> Result<Vec<Option<StateCode>>, StepFailure> {
        for position in 0..self.payouts.len() {
            let payout = &self.payouts[position];
            if payout.id.is_some() && moving(payout.state()) {
                self.refresh_one(position).await?;
            }
        }
        Ok(self.payouts.iter().map(Tracked::state).collect())
    }
}

/// The lane's last word on its payouts: polls every one (concurrently, up
/// to `--workers` in flight, backing off from 10 ms to 500 ms) until it has
/// been read settled (anything but PENDING) twice in a row, or the poll
/// deadline passes; every history must be a legal walk
/// (`lifecycle_legal`). A payout still PENDING at the deadline is not a
/// failure. A broken history is reported with its payout's reads; it is
/// not shrunk (the sequence that created it is long gone, and its repro is
/// "create it, read it").
pub(super) async fn settle_lane(ctx: &Ctx, key: &KeySlot, ledger: &mut [Tracked]) {
    let deadline = Instant::now() + ctx.poll_deadline;
    let mut wait = FIRST_POLL_WAIT;
    let mut open: Vec<usize> = (0..ledger.len())
        .filter(|&i| ledger[i].id.is_some())
        .collect();
    while !open.is_empty() && Instant::now() < deadline && !ctx.out_of_time() {
        let reads = open.iter().map(|&i| {
            let id = ledger[i].id.as_deref().expect("accepted");
            ctx.send(get_payout(id).key(key.clone()))
        });
        let answers = futures::future::join_all(reads).await;
        let mut still_open = Vec::new();
        for (i, exchange) in open.into_iter().zip(answers) {
            match judge_read(&mut ledger[i], &exchange) {
                Ok(true) => ctx.recorder.pass(&LIFECYCLE_LEGAL),
                Ok(false) => still_open.push(i),
                Err(expected) => ctx.recorder.fail(
                    &LIFECYCLE_LEGAL,
                    expected,
                    Some(&exchange),
                    Some(creation_of(&ledger[i])),
                ),
            }
        }
        open = still_open;
        if !open.is_empty() {
            tokio::time::sleep(wait).await;
            wait = next_poll_wait(wait);
        }
    }
}

/// Judges one more read of a payout ([`append_read`]): `Ok(true)` once it
/// has been read settled twice in a row, `Ok(false)` while it may still
/// move.
fn judge_read(tracked: &mut Tracked, exchange: &Exchange) -> Result<bool, String> {
    append_read(tracked, exchange)?;
    let settled = |p: &&Payout| p.state.code != StateCode::Pending;
    Ok(tracked.history.iter().rev().take(2).filter(settled).count() == 2)
}

/// How the payout was created, for a report: its body and key.
fn creation_of(tracked: &Tracked) -> String {
    format!(
        "payout {} created with X-Idempotency-Key {} and body {}",
        tracked.id.as_deref().unwrap_or("?"),
        tracked.idempotency_key,
        tracked.body
    )
}
