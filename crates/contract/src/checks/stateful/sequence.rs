//! One sequence against the server: the state it keeps (the payouts it
//! tracked, earlier sequences' payouts still in flight, the accounts it
//! knows, every exchange for the curl script, the passes it earned), how a
//! step fails ([`StepFailure`]), and the loop that runs each [`Step`]
//! through its judge and reads the wallet one last time. Nothing waits for
//! a payout to settle here: the lane does that once, at its end
//! ([`super::polling::settle_lane`]). The judges themselves live in the
//! sibling modules, one job each.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rafiki_rules::lifecycle::StateCode;
use rafiki_rules::wire::Payout;
use rust_decimal::Decimal;
use serde_json::Value;

use super::amounts::Amounts;
use super::model::Step;
use super::money::Baseline;
use super::requests::{FAILING_ACCOUNT, payout_body};
use crate::checks::{CheckInfo, INSUFFICIENT_BALANCE, WALLET_ACCOUNTING};
use crate::engine::Ctx;
use crate::http::{Exchange, KeySlot, Probe, curl};

/// A step whose answer broke the model.
pub struct StepFailure {
    pub check: &'static CheckInfo,
    pub expected: String,
    pub exchange: Box<Exchange>,
}

pub(super) type StepResult = Result<(), StepFailure>;

pub(super) fn fail<T>(
    check: &'static CheckInfo,
    expected: impl Into<String>,
    exchange: &Exchange,
) -> Result<T, StepFailure> {
    Err(StepFailure {
        check,
        expected: expected.into(),
        exchange: Box::new(exchange.clone()),
    })
}

/// The id at `pointer` in an answer (`/data/id`, `/data/payment_account_id`).
/// An empty one is no id: two answers without one are never "the same".
pub(super) fn id_at<'e>(exchange: &'e Exchange, pointer: &str) -> Option<&'e str> {
    exchange
        .json()?
        .pointer(pointer)?
        .as_str()
        .filter(|id| !id.is_empty())
}

/// A payout the sequence created (or tried to).
#[derive(Debug, Clone)]
pub(super) struct Tracked {
    pub(super) idempotency_key: String,
    pub(super) body: Arc<Value>,
    pub(super) amount: Decimal,
    /// The first answer's status (202 or 402).
    pub(super) status: u16,
    /// Set when the server accepted it.
    pub(super) id: Option<String>,
    /// Every snapshot seen, oldest first.
    pub(super) history: Vec<Payout>,
    /// For an earlier sequence's payout: its state when this sequence read
    /// its money baseline (the model counts only what moved since).
    pub(super) inherited: Option<StateCode>,
}

impl Tracked {
    /// A create answered `status`, not yet named or read back.
    pub(super) fn new(
        idempotency_key: String,
        body: impl Into<Arc<Value>>,
        amount: Decimal,
        status: u16,
    ) -> Self {
        Tracked {
            idempotency_key,
            body: body.into(),
            amount,
            status,
            id: None,
            history: Vec::new(),
            inherited: None,
        }
    }

    pub(super) fn state(&self) -> Option<StateCode> {
        self.history.last().map(|p| p.state.code)
    }
}

pub struct Sequence<'a> {
    pub(super) ctx: &'a Ctx,
    pub(super) key: KeySlot,
    /// The amounts it pays, from the compliance data.
    pub(super) amounts: &'a Amounts,
    /// Makes this sequence's payment accounts its own.
    pub(super) tag: u32,
    pub(super) baseline: Option<Baseline>,
    /// Earlier sequences' payouts that were SENT at the baseline (support
    /// may still reverse one).
    pub(super) ledger: Vec<Tracked>,
    /// This sequence's payouts, after earlier ones that were PENDING at
    /// the baseline (`inherited`).
    pub(super) payouts: Vec<Tracked>,
    /// Model payout index → position in `payouts`.
    pub(super) index: Vec<usize>,
    /// Account index → id, once known to exist.
    pub(super) accounts: HashMap<u8, Option<String>>,
    /// Every request sent (the probe and its URL), for the curl script.
    pub(super) requests: Vec<(Probe, String)>,
    pub(super) passes: Vec<&'static CheckInfo>,
    /// What it added to the wallet through the control API (top-ups).
    pub(super) funded: rust_decimal::Decimal,
}

impl<'a> Sequence<'a> {
    /// Starts a sequence tagged `tag` after the lane's earlier ones (`ledger`: their
    /// accepted payouts). With an account of its own it tops the wallet up
    /// when the control API allows and reads the money baseline, together
    /// with the state of every earlier payout still in flight: nothing
    /// waits for them to settle.
    pub async fn start(
        ctx: &'a Ctx,
        amounts: &'a Amounts,
        key: KeySlot,
        tag: u32,
        ledger: &[Tracked],
    ) -> Self {
        let mut sequence = Sequence {
            ctx,
            key,
            amounts,
            tag,
            baseline: None,
            ledger: Vec::new(),
            payouts: Vec::new(),
            index: Vec::new(),
            accounts: HashMap::new(),
            requests: Vec::new(),
            passes: Vec::new(),
            funded: rust_decimal::Decimal::ZERO,
        };
        if sequence.key == KeySlot::Secondary {
            sequence.inherit(ledger);
            sequence.baseline = sequence.read_baseline().await;
            if sequence.baseline.is_none() {
                // Never a silent pass: say why the money was not judged.
                for check in [&INSUFFICIENT_BALANCE, &WALLET_ACCOUNTING] {
                    ctx.recorder.skip(
                        check,
                        "the second account's wallet could not be read while its payouts held still",
                    );
                }
            }
        }
        sequence
    }

    /// Earlier payouts the money model must follow: PENDING ones join the
    /// payouts (re-read with them), SENT ones the ledger (a reversal is
    /// looked for only when the wallet shows more money than predicted).
    fn inherit(&mut self, ledger: &[Tracked]) {
        for tracked in ledger {
            match tracked.state() {
                Some(StateCode::Pending) => self.payouts.push(Tracked {
                    inherited: Some(StateCode::Pending),
                    ..tracked.clone()
                }),
                Some(StateCode::Sent) => self.ledger.push(tracked.clone()),
                _ => {}
            }
        }
    }

    /// The payouts this sequence got accepted and the earlier ones it read
    /// again, for the lane's ledger.
    pub fn ledger_entries(self) -> Vec<Tracked> {
        self.payouts
            .into_iter()
            .filter(|p| p.id.is_some())
            .map(|p| Tracked {
                inherited: None,
                ..p
            })
            .collect()
    }

    pub fn record_passes(&self) {
        for check in &self.passes {
            self.ctx.recorder.pass(check);
        }
    }

    /// The sequence's requests as a shell script.
    pub fn script(&self) -> String {
        let mut script = String::from("# the shrunk sequence, request by request\n");
        for (probe, url) in &self.requests {
            script.push_str(&curl(probe, url));
            script.push('\n');
        }
        script
    }

    pub(super) async fn send(&mut self, probe: Probe) -> Exchange {
        let probe = self.as_lane(probe);
        let exchange = self.ctx.send(probe).await;
        self.note_sent(&exchange);
        exchange
    }

    /// [`Sequence::send`] for a create above the available the lane's
    /// wallet showed just before ([`crate::engine::Ctx::send_to_be_refused`]).
    pub(super) async fn send_to_be_refused(&mut self, probe: Probe) -> Exchange {
        let probe = self.as_lane(probe);
        let exchange = self.ctx.send_to_be_refused(probe).await;
        self.note_sent(&exchange);
        exchange
    }

    /// `probe` sent with the lane's key.
    fn as_lane(&self, probe: Probe) -> Probe {
        Probe {
            key: self.key.clone(),
            ..probe
        }
    }

    /// Keeps a sent request for the script (its answer is not kept: a
    /// failure carries the one it rests on).
    pub(super) fn note_sent(&mut self, exchange: &Exchange) {
        self.requests
            .push((exchange.probe.clone(), exchange.url.clone()));
    }

    pub(super) fn pass(&mut self, check: &'static CheckInfo) {
        self.passes.push(check);
    }

    /// Runs every step, then reads the wallet one last time.
    pub async fn run(&mut self, steps: &[Step], seen: Option<Arc<AtomicUsize>>) -> StepResult {
        for step in steps {
            if let Some(seen) = &seen {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            let result = self.step(step).await;
            self.selected(result)?;
        }
        if self.baseline.is_some() {
            let read = self.read_wallet().await;
            self.selected(read)?;
        }
        Ok(())
    }

    /// Failures of checks that were not selected do not stop a sequence.
    fn selected(&self, result: StepResult) -> StepResult {
        match result {
            Err(failure) if !self.ctx.is_selected(failure.check) => Ok(()),
            other => other,
        }
    }

    /// Hands a step to its judge.
    async fn step(&mut self, step: &Step) -> StepResult {
        match *step {
            Step::Create { cents, account } => {
                let body = payout_body(self.tag, cents, account);
                let position = self.create(body, account).await?;
                self.index.push(position);
                Ok(())
            }
            Step::CreateFailing { cents, test_value } => {
                let body = self.failing_payout_body(cents, test_value);
                let position = self.create(body, FAILING_ACCOUNT).await?;
                self.index.push(position);
                Ok(())
            }
            Step::Replay { payout } => self.replay(payout).await,
            Step::ReuseKey { payout, cents } => self.reuse_key(payout, cents).await,
            Step::Concurrent {
                cents,
                account,
                copies,
            } => self.concurrent(cents, account, copies).await,
            Step::Overdraw => self.overdraw().await,
            Step::Get { payout } => match self.accepted(payout) {
                Some(position) => self.refresh_one(position).await,
                None => Ok(()),
            },
            Step::WalkList => self.walk_list().await,
            Step::DateFiltered { payout } => self.date_filtered(payout).await,
            Step::ReadWallet => match self.baseline {
                Some(_) => self.read_wallet().await,
                None => Ok(()),
            },
            Step::GetOrCreateAccount { account } => self.get_or_create_account(account).await,
            Step::Cancel { payout } => {
                self.support(payout, StateCode::Cancelled, StateCode::Pending)
                    .await
            }
            Step::Reverse { payout } => {
                self.support(payout, StateCode::Reversed, StateCode::Sent)
                    .await
            }
        }
    }

    /// The position of model payout `payout` when the server accepted it.
    pub(super) fn accepted(&self, payout: usize) -> Option<usize> {
        let position = *self.index.get(payout)?;
        self.payouts[position].id.as_ref().map(|_| position)
    }
}

#[cfg(test)]
mod tests {

    use serde_json::json;

    use super::*;
    use crate::http::Answer;

    fn answer(json: Value) -> Exchange {
        Exchange {
            probe: Probe::get("get_payout", "/payouts/x"),
            url: String::new(),
            answer: Ok(Answer {
                status: 200,
                content_type: Some("application/json".into()),
                body: json.to_string().into(),
                json: Some(std::sync::Arc::new(json)),
                retry_after: None,
            }),
            sent_at: std::time::Instant::now(),
            unjudged: false,
        }
    }

    #[test]
    fn an_absent_or_empty_id_is_no_id() {
        let with = answer(json!({"data": {"id": "pyt-1"}}));
        assert_eq!(id_at(&with, "/data/id"), Some("pyt-1"));
        for without in [
            json!({"data": {}}),
            json!({"data": {"id": ""}}),
            json!({"data": {"id": null}}),
            json!({"data": {"id": 7}}),
        ] {
            assert_eq!(
                id_at(&answer(without.clone()), "/data/id"),
                None,
                "{without}"
            );
        }
        let refused = Exchange::not_sent(Probe::get("get_payout", "/payouts/x"), "deadline");
        assert_eq!(id_at(&refused, "/data/id"), None);
    }
}
