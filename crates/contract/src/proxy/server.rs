//! The server's side across exchanges (each answer on its own is judged by
//! the suite's conformance checks): every payout read must continue a
//! legal history, and a key's replay must be its first answer.
//!
//! Only exchanges whose order is known are compared: a read that began
//! before another ended may show either one's state, so two overlapping
//! reads are judged in whichever order is legal.

use std::collections::HashMap;
use std::sync::Arc;

use rafiki_rules::lifecycle::check_history;
use rafiki_rules::wire::{ErrorCode, Payout};
use serde_json::Value;

use super::judge::{Account, Timing};
use crate::catalogue::{IDEMPOTENCY_KEY_REUSE, IDEMPOTENCY_REPLAY, LIFECYCLE_LEGAL};
use crate::http::Exchange;
use crate::report::Recorder;

/// The most payouts and keys followed at once.
const TRACKED: usize = 10_000;

/// The latest read of every payout, and the first answer of every key.
#[derive(Default)]
pub struct ServerChecks {
    payouts: HashMap<(Account, String), Snapshot>,
    keys: HashMap<(Account, String), FirstAnswer>,
}

struct Snapshot {
    payout: Payout,
    timing: Timing,
}

/// A key's first 202: the body it was sent with and the payout it made.
struct FirstAnswer {
    body: Arc<Value>,
    payout_id: String,
    timing: Timing,
}

impl ServerChecks {
    /// Judges one answered exchange.
    pub fn judge(
        &mut self,
        exchange: &Exchange,
        account: Account,
        timing: Timing,
        recorder: &Recorder,
    ) {
        let data = exchange.json().and_then(|j| j.get("data"));
        match (
            exchange.probe.operation.unwrap_or_default(),
            exchange.status(),
            data,
        ) {
            ("create_payout", status, data) => {
                self.replay(exchange, account, timing, recorder);
                if let (202, Some(payout)) = (status, data) {
                    self.read(payout, exchange, account, timing, recorder);
                }
            }
            ("get_payout", 200, Some(payout)) => {
                self.read(payout, exchange, account, timing, recorder);
            }
            ("list_payouts", 200, Some(Value::Array(payouts))) => {
                for payout in payouts {
                    self.read(payout, exchange, account, timing, recorder);
                }
            }
            _ => {}
        }
    }

    /// One more read of a payout: it must continue its history.
    fn read(
        &mut self,
        payout: &Value,
        exchange: &Exchange,
        account: Account,
        timing: Timing,
        recorder: &Recorder,
    ) {
        // A payout that does not read is response_schema's to report.
        let Ok(payout) = serde_json::from_value::<Payout>(payout.clone()) else {
            return;
        };
        let key = (account, payout.id.clone());
        let Some(last) = self.payouts.get_mut(&key) else {
            if self.payouts.len() < TRACKED {
                self.payouts.insert(key, Snapshot { payout, timing });
            }
            return;
        };
        let mut pair = [last.payout.clone(), payout];
        let overlapping = !last.timing.before(&timing);
        let legal_backwards = |pair: &mut [Payout; 2]| {
            pair.reverse();
            let legal = check_history(pair).is_ok();
            pair.reverse();
            legal
        };
        let verdict = match check_history(&pair) {
            Err(_) if overlapping && legal_backwards(&mut pair) => Ok(()),
            verdict => verdict,
        };
        match verdict {
            Ok(()) => recorder.pass(&LIFECYCLE_LEGAL),
            Err(error) => recorder.fail(
                &LIFECYCLE_LEGAL,
                format!(
                    "payout {} read {} and then {}: a legal history ({error})",
                    key.1, pair[0].state.code, pair[1].state.code
                ),
                Some(exchange),
                None,
            ),
        }
        if last.timing.finished <= timing.finished {
            let [_, payout] = pair;
            *last = Snapshot { payout, timing };
        }
    }

    /// A key sent again after its first 202: the same body gets the same
    /// payout; another body never gets a second payout.
    fn replay(
        &mut self,
        exchange: &Exchange,
        account: Account,
        timing: Timing,
        recorder: &Recorder,
    ) {
        let (Some(key), Some(body)) = (&exchange.probe.idempotency_key, &exchange.probe.body)
        else {
            return;
        };
        let payout_id = exchange.data_id();
        let status = exchange.status();
        let slot = (account, key.clone());
        let Some(first) = self.keys.get(&slot) else {
            if let (202, Some(id), true) = (status, payout_id, self.keys.len() < TRACKED) {
                let first = FirstAnswer {
                    body: body.clone(),
                    payout_id: id.to_string(),
                    timing,
                };
                self.keys.insert(slot, first);
            }
            return;
        };
        // Concurrent with the first, a failing server, or a key still in
        // process: not a replay to judge.
        if !first.timing.before(&timing)
            || status >= 500
            || exchange.is_error(ErrorCode::IdempotencyRace)
        {
            return;
        }
        let same_payout = status == 202 && payout_id == Some(first.payout_id.as_str());
        if first.body == *body {
            match same_payout {
                true => recorder.pass(&IDEMPOTENCY_REPLAY),
                false => recorder.fail(
                    &IDEMPOTENCY_REPLAY,
                    format!(
                        "key `{key}` sent again with the same body: its first answer again (202 with payout {})",
                        first.payout_id
                    ),
                    Some(exchange),
                    None,
                ),
            }
        } else if same_payout {
            recorder.pass(&IDEMPOTENCY_KEY_REUSE);
        } else if status == 202 {
            recorder.fail(
                &IDEMPOTENCY_KEY_REUSE,
                format!(
                    "key `{key}`, which made payout {}, sent with another body: never a second payout under one key, got {}",
                    first.payout_id,
                    payout_id.unwrap_or("a payout without an id")
                ),
                Some(exchange),
                None,
            );
        } else if exchange.is_error(ErrorCode::IdempotencyKeyAlreadyUsed) {
            // API.md's answer to another body; the provider's page gives
            // the stored answer back. Both documented: both pass.
            recorder.pass(&IDEMPOTENCY_KEY_REUSE);
        }
    }
}
