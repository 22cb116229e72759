//! [`Ctx`]: everything a suite needs while it runs: the client, the
//! recorder, the judges, what the server offers, the fixtures, the
//! deadline and the money the run may spend.

use std::sync::Arc;

use rafiki_rules::ComplianceTable;
use rust_decimal::Decimal;
use serde_json::Value;
use tokio::runtime::Handle;

use super::banks::Banks;
use super::fixtures::Fixtures;
use super::spending::Spending;
use crate::catalogue::CheckInfo;
use crate::http::{Client, Exchange, KeySlot, Operation, Probe};
use crate::judge::conformance::Conformance;
use crate::report::Recorder;

/// Why a request was not sent once the run is over.
const RUN_OVER: &str = "the run is over (--max-duration passed, or --fail-fast found a failure)";

/// How often a one-shot create is tried while the recipient's bank or
/// operator is down (each time under a new key).
pub const OUTAGE_ATTEMPTS: u32 = 4;

/// Everything a check needs.
pub struct Ctx {
    pub client: Client,
    pub recorder: Recorder,
    pub conformance: Conformance,
    pub table: Arc<ComplianceTable>,
    pub max_examples: u32,
    pub selected: Vec<&'static CheckInfo>,
    pub fixtures: Result<Fixtures, String>,
    /// How long to poll a payout for its outcome.
    pub poll_deadline: std::time::Duration,
    /// Whether the server has the mock's control API (`/_sandbox`).
    pub control_api: bool,
    /// The banks the server lists (valid bank ids come from here).
    pub banks: Banks,
    /// Whether the server honours the sandbox test values (failing numbers).
    pub sandbox_values: Result<(), String>,
    /// `paging_limit`'s documented bounds, from the spec.
    pub paging_limit: (i64, i64),
    /// Every operation of the spec.
    pub operations: Vec<Operation>,
    /// When the run ends, finished or not: nothing is sent after it.
    pub deadline: std::time::Instant,
    /// Stop at the first failure.
    pub fail_fast: bool,
    /// What the run spends, and its cap.
    pub spending: Spending,
    pub(super) runtime: Handle,
}

impl Ctx {
    /// Sends a probe; the answer is judged by the conformance checks.
    /// After the run's deadline nothing is sent: the exchange carries the
    /// reason instead of an answer, and no check records it.
    pub async fn send(&self, probe: Probe) -> Exchange {
        self.send_held(probe, Spending::hold).await
    }

    /// [`Ctx::send`] for a create the documented contract refuses (above
    /// its wallet's available, or breaking a documented rule): held against
    /// `--max-spend` only ([`Spending::hold_to_be_refused`]).
    pub async fn send_to_be_refused(&self, probe: Probe) -> Exchange {
        self.send_held(probe, Spending::hold_to_be_refused).await
    }

    async fn send_held(
        &self,
        probe: Probe,
        hold: fn(&Spending, &Probe) -> Result<Option<Decimal>, String>,
    ) -> Exchange {
        if self.out_of_time() {
            return Exchange::not_sent(probe, RUN_OVER);
        }
        let held = match hold(&self.spending, &probe) {
            Ok(held) => held,
            Err(why) => return Exchange::not_sent(probe, why),
        };
        let exchange = self.client.send(probe).await;
        self.spending.settle(held, &exchange);
        self.conformance.observe(&exchange, &self.recorder);
        exchange
    }

    /// Sends `probes` at the same moment, at most `--workers` of them (see
    /// [`Client::send_together`]); judged like [`Ctx::send`].
    pub async fn send_together(&self, probes: Vec<Probe>) -> Vec<Exchange> {
        if self.out_of_time() {
            let why = "the run's deadline (--max-duration) passed";
            return probes
                .into_iter()
                .map(|p| Exchange::not_sent(p, why))
                .collect();
        }
        let held = match self.spending.hold_all(&probes) {
            Ok(held) => held,
            Err(why) => {
                return probes
                    .into_iter()
                    .map(|p| Exchange::not_sent(p, why.clone()))
                    .collect();
            }
        };
        let exchanges = self.client.send_together(probes).await;
        for (exchange, amount) in exchanges.iter().zip(held) {
            self.spending.settle(amount, exchange);
            self.conformance.observe(exchange, &self.recorder);
        }
        exchanges
    }

    /// Creates a payout under a fresh idempotency key, and again under
    /// another fresh key while the answer is a documented outage of the
    /// recipient's bank or operator (503: nothing was created), at most
    /// [`OUTAGE_ATTEMPTS`] times. For one-shot creates only: steps that
    /// resend a key on purpose use [`Ctx::send`].
    pub async fn create_payout(&self, body: impl Into<Arc<Value>>) -> Exchange {
        self.create_payout_as(body, KeySlot::Primary).await
    }

    /// [`Ctx::create_payout`] with the key in `key`.
    pub async fn create_payout_as(&self, body: impl Into<Arc<Value>>, key: KeySlot) -> Exchange {
        let body = body.into();
        let mut attempts = 1;
        loop {
            let probe = Probe::create_payout(body.clone()).key(key.clone());
            let exchange = self.send(probe).await;
            if !exchange.is_recipient_unavailable() || attempts >= OUTAGE_ATTEMPTS {
                return exchange;
            }
            attempts += 1;
        }
    }

    /// Whether the run is over: its deadline passed, or (`--fail-fast`)
    /// a failure was found.
    pub fn out_of_time(&self) -> bool {
        std::time::Instant::now() >= self.deadline || (self.fail_fast && self.recorder.has_failed())
    }

    /// Runs a future from blocking code (shrinking a failing case).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn is_selected(&self, check: &CheckInfo) -> bool {
        self.selected.contains(&check)
    }

    /// The fixtures, or a skip of `checks` with the reason.
    pub fn fixtures_or_skip(&self, checks: &[&'static CheckInfo]) -> Option<&Fixtures> {
        match &self.fixtures {
            Ok(fixtures) => Some(fixtures),
            Err(reason) => {
                for check in checks {
                    self.recorder
                        .skip(check, format!("no fixture payouts: {reason}"));
                }
                None
            }
        }
    }
}
