//! Reading payouts again and waiting for them: a payout from an answer,
//! a re-read that appends a snapshot and judges the whole history legal
//! (`lifecycle_legal`), re-reads of every payout, and polling until this
//! sequence's payouts, or earlier sequences' ones, settle (SENT or final)
//! or the poll deadline passes.

use std::time::{Duration, Instant};

use rafiki_rules::lifecycle::{StateCode, check_history};
use rafiki_rules::wire::Payout;
use serde_json::Value;

use super::money::LedgerEntry;
use super::requests::get_payout;
use super::sequence::{Sequence, StepFailure, StepResult, Tracked, fail};
use crate::checks::LIFECYCLE_LEGAL;
use crate::http::{Exchange, Probe};

/// The wait between two polls of a payout.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

impl Sequence<'_> {
    /// The payout in an answer's `data`, which must have an id (an empty
    /// one would make every id-less snapshot look like the same payout).
    pub(super) fn snapshot(&self, exchange: &Exchange) -> Result<Payout, StepFailure> {
        let data = exchange
            .json()
            .and_then(|j| j.get("data"))
            .cloned()
            .unwrap_or(Value::Null);
        let payout: Payout = serde_json::from_value(data).map_err(|e| StepFailure {
            check: &LIFECYCLE_LEGAL,
            expected: format!("a payout in `data` ({e})"),
            exchange: Box::new(exchange.clone()),
        })?;
        if payout.id.is_empty() {
            return fail(
                &LIFECYCLE_LEGAL,
                "a payout with an `id` in `data`, got an empty one",
                exchange,
            );
        }
        Ok(payout)
    }

    /// GETs one payout, appends the snapshot and checks the whole history.
    pub(super) fn refresh_one(&mut self, position: usize) -> StepResult {
        let id = self.payouts[position]
            .id
            .clone()
            .expect("only accepted payouts are refreshed");
        let exchange = self.send(get_payout(&id));
        if exchange.status() != 200 {
            return fail(&LIFECYCLE_LEGAL, format!("200 for payout {id}"), &exchange);
        }
        let snapshot = self.snapshot(&exchange)?;
        let tracked = &mut self.payouts[position];
        tracked.history.push(snapshot);
        let states: Vec<StateCode> = tracked.history.iter().map(|p| p.state.code).collect();
        if let Err(error) = check_history(&tracked.history) {
            return fail(
                &LIFECYCLE_LEGAL,
                format!("a legal history for {id}, got {states:?}: {error}"),
                &exchange,
            );
        }
        // Polling may miss SENT; a reversal we never saw sent is legal, but worth a look.
        let newly_reversed = states.last() == Some(&StateCode::Reversed)
            && states.iter().filter(|s| **s == StateCode::Reversed).count() == 1;
        if newly_reversed && !states.contains(&StateCode::Sent) {
            let expected = format!("SENT observed before REVERSED for {id}, got {states:?}");
            self.ctx
                .recorder
                .warn(&LIFECYCLE_LEGAL, expected, Some(&exchange), None);
        }
        self.pass(&LIFECYCLE_LEGAL);
        Ok(())
    }

    /// Re-reads every accepted payout; every payout's state after.
    pub(super) fn refresh_all(&mut self) -> Result<Vec<Option<StateCode>>, StepFailure> {
        for position in 0..self.payouts.len() {
            if self.payouts[position].id.is_some() {
                self.refresh_one(position)?;
            }
        }
        Ok(self.payouts.iter().map(Tracked::state).collect())
    }

    /// Polls every accepted payout until it settles (SENT or final) or the
    /// deadline passes; a payout still PENDING then is not a failure.
    pub(super) fn settle_all(&mut self) -> StepResult {
        let deadline = Instant::now() + self.ctx.poll_deadline;
        loop {
            let pending: Vec<usize> = (0..self.payouts.len())
                .filter(|&i| {
                    self.payouts[i].id.is_some()
                        && self.payouts[i].state() == Some(StateCode::Pending)
                })
                .collect();
            if pending.is_empty() || Instant::now() >= deadline || self.ctx.out_of_time() {
                return Ok(());
            }
            std::thread::sleep(POLL_INTERVAL);
            for position in pending {
                self.refresh_one(position)?;
            }
        }
    }

    /// Waits for earlier sequences' payouts to settle; false if some did
    /// not (the money baseline is then unknown). Each payout is waited for
    /// once: one stuck PENDING does not stall every later sequence.
    pub(super) fn settle_ledger(&mut self, ledger: &mut [LedgerEntry]) -> bool {
        let deadline = Instant::now() + self.ctx.poll_deadline;
        loop {
            let mut waiting = false;
            let mut unsettled = false;
            for entry in ledger
                .iter_mut()
                .filter(|e| e.state == StateCode::Pending || e.state == StateCode::Sent)
            {
                let probe = Probe {
                    key: self.key.clone(),
                    ..get_payout(&entry.id)
                };
                let exchange = self.ctx.send_blocking(probe);
                match exchange.payout_state().and_then(|c| c.parse().ok()) {
                    Some(state) => entry.state = state,
                    None => {
                        // No readable state (judged where it was read): nothing to wait for.
                        entry.waited = true;
                        unsettled = true;
                        continue;
                    }
                }
                if entry.state == StateCode::Pending {
                    unsettled = true;
                    waiting |= !entry.waited;
                }
            }
            if !unsettled {
                return true;
            }
            if !waiting || Instant::now() >= deadline || self.ctx.out_of_time() {
                for entry in ledger.iter_mut() {
                    entry.waited = true;
                }
                return false;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}
