//! Running a sequence against the server and judging every answer.
//!
//! The money model (after `rafiki_rules::wallet`): from a baseline
//! `(available, balance)` read when every earlier payout had settled,
//! `available = A0 − Σ amount of payouts PENDING or SENT` and
//! `balance = B0 − Σ amount of payouts SENT` (FAILED and CANCELLED release,
//! REVERSED credits both back). States are the last ones *observed*; when
//! an answer shows more money than predicted, every payout is re-read
//! first (support may have cancelled or reversed one) before any failure.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rafiki_rules::lifecycle::{StateCode, check_history};
use rafiki_rules::wire::Payout;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use super::model::Step;
use crate::checks::decimal_at;
use crate::checks::listing::walk;
use crate::checks::{
    CheckInfo, DATE_FILTER_BOUNDARIES, IDEMPOTENCY_CONCURRENT, IDEMPOTENCY_KEY_REUSE,
    IDEMPOTENCY_REPLAY, INSUFFICIENT_BALANCE, LIFECYCLE_LEGAL, PAGINATION_WALK,
    SUPPORT_TRANSITIONS, VALID_PAYMENT_ACCOUNT_ACCEPTED, VALID_PAYOUT_ACCEPTED, WALLET_ACCOUNTING,
};
use crate::http::{Exchange, KeySlot, Probe};
use crate::runner::{Ctx, fixture_payout};

/// The smallest and largest Kenyan payout.
const KE_MIN: Decimal = Decimal::from_parts(140, 0, 0, false, 0);
const KE_MAX: Decimal = Decimal::from_parts(500_000, 0, 0, false, 0);

/// The account index of payouts to sandbox test numbers (apart from the
/// sequence's own accounts 0 to 3).
const FAILING_ACCOUNT: u8 = u8::MAX;

/// The wait between two polls of a payout.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// A step whose answer broke the model.
pub struct StepFailure {
    pub check: &'static CheckInfo,
    pub expected: String,
    pub exchange: Box<Exchange>,
}

type StepResult = Result<(), StepFailure>;

fn fail<T>(
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

/// A payout the sequence created (or tried to).
#[derive(Debug, Clone)]
struct Tracked {
    idempotency_key: String,
    body: Value,
    amount: Decimal,
    /// The first answer's status (202 or 402).
    status: u16,
    /// Set when the server accepted it.
    id: Option<String>,
    /// Every snapshot seen, oldest first.
    history: Vec<Payout>,
}

impl Tracked {
    fn state(&self) -> Option<StateCode> {
        self.history.last().map(|p| p.state.code)
    }
}

/// A payout of an earlier sequence, settled when this one started.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    id: String,
    amount: Decimal,
    state: StateCode,
    /// Already waited for once: a later sequence reads it but does not wait.
    waited: bool,
}

/// An earlier sequence's payout as read again: its amount and state now.
struct Reread {
    amount: Decimal,
    state: Option<String>,
}

/// One read of a wallet.
struct WalletRead {
    exchange: Exchange,
    available: Decimal,
    balance: Decimal,
    id: String,
}

/// What a create is judged against: the available read just before it,
/// and every payout's state then.
struct Funds {
    available: Decimal,
    states: Vec<Option<StateCode>>,
}

/// The wallet the money model follows.
#[derive(Debug, Clone)]
struct Baseline {
    currency: String,
    available: Decimal,
    balance: Decimal,
}

pub struct Sequence<'a> {
    ctx: &'a Ctx,
    key: KeySlot,
    control: bool,
    /// Makes this sequence's payment accounts its own.
    tag: u32,
    baseline: Option<Baseline>,
    ledger: Vec<LedgerEntry>,
    payouts: Vec<Tracked>,
    /// Model payout index → position in `payouts`.
    index: Vec<usize>,
    /// Account index → id, once known to exist.
    accounts: HashMap<u8, Option<String>>,
    exchanges: Vec<Exchange>,
    passes: Vec<&'static CheckInfo>,
}

fn amount_text(cents: u32) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

impl<'a> Sequence<'a> {
    /// Waits for earlier payouts to settle, tops the wallet up when the
    /// control API allows, and reads the money baseline.
    pub fn start(ctx: &'a Ctx, key: KeySlot, control: bool, ledger: &mut [LedgerEntry]) -> Self {
        let mut sequence = Sequence {
            ctx,
            key,
            control,
            tag: rand::random::<u32>() % 100_000,
            baseline: None,
            ledger: Vec::new(),
            payouts: Vec::new(),
            index: Vec::new(),
            accounts: HashMap::new(),
            exchanges: Vec::new(),
            passes: Vec::new(),
        };
        let settled = sequence.settle_ledger(ledger);
        sequence.ledger = ledger.to_vec();
        if settled && sequence.key == KeySlot::Secondary {
            sequence.baseline = sequence.read_baseline();
        }
        sequence
    }

    /// The payouts this sequence got accepted, for the next ones' ledger.
    pub fn ledger_entries(&self) -> Vec<LedgerEntry> {
        self.payouts
            .iter()
            .filter_map(|p| {
                Some(LedgerEntry {
                    id: p.id.clone()?,
                    amount: p.amount,
                    state: p.state().unwrap_or(StateCode::Pending),
                    waited: false,
                })
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
        for exchange in &self.exchanges {
            script.push_str(&exchange.curl());
            script.push('\n');
        }
        script
    }

    fn send(&mut self, probe: Probe) -> Exchange {
        let exchange = self.ctx.send_blocking(Probe {
            key: self.key.clone(),
            ..probe
        });
        self.exchanges.push(exchange.clone());
        exchange
    }

    fn pass(&mut self, check: &'static CheckInfo) {
        self.passes.push(check);
    }

    /// Runs every step, then polls every payout until it settles.
    pub fn run(&mut self, steps: &[Step], seen: Option<Arc<AtomicUsize>>) -> StepResult {
        for step in steps {
            if let Some(seen) = &seen {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            let result = self.step(step);
            self.selected(result)?;
        }
        let settled = self.settle_all();
        self.selected(settled)?;
        if self.baseline.is_some() {
            let read = self.read_wallet();
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

    fn step(&mut self, step: &Step) -> StepResult {
        match *step {
            Step::Create { cents, account } => {
                let body = self.payout_body(cents, account);
                let position = self.create(body, account)?;
                self.index.push(position);
                Ok(())
            }
            Step::CreateFailing { cents, test_value } => {
                let mut body = self.payout_body(cents, 0);
                let suffixes = rafiki_rules::sandbox::FAILING_MOBILE_SUFFIXES;
                if self.ctx.sandbox_values.is_ok() {
                    let (suffix, _) = suffixes[usize::from(test_value) % suffixes.len()];
                    body["payment_account"]["mobile_money"]["number"] =
                        json!(format!("+254712{suffix}"));
                }
                let position = self.create(body, FAILING_ACCOUNT)?;
                self.index.push(position);
                Ok(())
            }
            Step::Replay { payout } => self.replay(payout),
            Step::ReuseKey { payout, cents } => self.reuse_key(payout, cents),
            Step::Concurrent {
                cents,
                account,
                copies,
            } => self.concurrent(cents, account, copies),
            Step::Overdraw => self.overdraw(),
            Step::Get { payout } => match self.accepted(payout) {
                Some(position) => self.refresh_one(position),
                None => Ok(()),
            },
            Step::WalkList => self.walk_list(),
            Step::DateFiltered { payout } => self.date_filtered(payout),
            Step::ReadWallet => match self.baseline {
                Some(_) => self.read_wallet(),
                None => Ok(()),
            },
            Step::GetOrCreateAccount { account } => self.get_or_create_account(account),
            Step::Cancel { payout } => {
                self.support(payout, StateCode::Cancelled, StateCode::Pending)
            }
            Step::Reverse { payout } => self.support(payout, StateCode::Reversed, StateCode::Sent),
        }
    }

    // ---- requests -----------------------------------------------------------

    fn account_body(&self, account: u8) -> Value {
        // Never ends in the sandbox's failing suffixes (…000100 to …000106).
        let number = format!("+2547{:05}{}9{}", self.tag, account % 10, 9);
        json!({
            "type": "MOBILE_MONEY", "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": format!("Sequence {} Recipient {account}", self.tag)},
            "mobile_money": {"number": number, "operator": "SAFARICOM"}
        })
    }

    /// The fixture payout (same sender) with this amount and account.
    fn payout_body(&self, cents: u32, account: u8) -> Value {
        let mut body = fixture_payout(0);
        body["amount"]["value"] = json!(amount_text(cents));
        body["payment_account"] = self.account_body(account);
        body
    }

    fn accepted(&self, payout: usize) -> Option<usize> {
        let position = *self.index.get(payout)?;
        self.payouts[position].id.as_ref().map(|_| position)
    }

    /// Notes that payment account `account` exists (with its id, when an
    /// accepted payout named it) or may exist (a refused payout may or may
    /// not have created its inline account).
    fn note_account(&mut self, account: u8, exchange: &Exchange) {
        let id = exchange
            .json()
            .and_then(|j| j.pointer("/data/payment_account_id"))
            .and_then(Value::as_str);
        match id {
            Some(id) => {
                self.accounts.insert(account, Some(id.to_string()));
            }
            None => {
                self.accounts.entry(account).or_insert(None);
            }
        }
    }

    /// Posts a payout to account `account` and judges it against the money
    /// model; returns its position.
    fn create(&mut self, body: Value, account: u8) -> Result<usize, StepFailure> {
        let amount = decimal_at(&body, "/amount/value").expect("our own bodies have amounts");
        let funds = self.funds_before()?;
        let probe = Probe::create_payout(body.clone());
        let idempotency_key = probe
            .idempotency_key
            .clone()
            .expect("create_payout sets a key");
        let exchange = self.send(probe);
        self.note_account(account, &exchange);
        let mut tracked = Tracked {
            idempotency_key,
            body,
            amount,
            status: exchange.status(),
            id: None,
            history: Vec::new(),
        };
        match exchange.status() {
            202 => {
                let snapshot = self.snapshot(&exchange)?;
                if snapshot.state.code != StateCode::Pending {
                    return fail(&LIFECYCLE_LEGAL, "202 with the payout PENDING", &exchange);
                }
                if let Some(funds) = &funds {
                    self.judge_funds(amount, funds, true, &exchange)?;
                }
                tracked.id = Some(snapshot.id.clone());
                tracked.history.push(snapshot);
                self.payouts.push(tracked);
            }
            402 => {
                if exchange.error_code() != Some("WALLET_INSUFFICIENT_BALANCE") {
                    return fail(
                        &INSUFFICIENT_BALANCE,
                        "402 with code WALLET_INSUFFICIENT_BALANCE",
                        &exchange,
                    );
                }
                if let Some(funds) = &funds {
                    self.judge_funds(amount, funds, false, &exchange)?;
                }
                self.payouts.push(tracked);
            }
            _ => {
                return fail(
                    &VALID_PAYOUT_ACCEPTED,
                    "202 (or 402 when the wallet is short) for a valid payout",
                    &exchange,
                );
            }
        }
        Ok(self.payouts.len() - 1)
    }

    /// Resends a create with its key and body: the first answer again
    /// (the same payout, or the same 402), and nothing new.
    fn replay(&mut self, payout: usize) -> StepResult {
        let Some(&position) = self.index.get(payout) else {
            return Ok(());
        };
        let original = self.payouts[position].clone();
        let mut probe = Probe::create_payout(original.body.clone());
        probe.idempotency_key = Some(original.idempotency_key.clone());
        let exchange = self.send(probe);
        let id = exchange
            .json()
            .and_then(|j| j.pointer("/data/id"))
            .and_then(Value::as_str);
        let same = match original.id.as_deref() {
            Some(original_id) => exchange.status() == 202 && id == Some(original_id),
            None => {
                exchange.status() == original.status
                    && exchange.error_code() == Some("WALLET_INSUFFICIENT_BALANCE")
            }
        };
        if !same {
            let first = original.id.map_or_else(
                || format!("HTTP {}", original.status),
                |id| format!("202 with {id}"),
            );
            return fail(
                &IDEMPOTENCY_REPLAY,
                format!("the first answer again ({first})"),
                &exchange,
            );
        }
        self.pass(&IDEMPOTENCY_REPLAY);
        Ok(())
    }

    fn reuse_key(&mut self, payout: usize, cents: u32) -> StepResult {
        let Some(&position) = self.index.get(payout) else {
            return Ok(());
        };
        let original = self.payouts[position].clone();
        let mut body = original.body.clone();
        let mut changed = cents;
        if Decimal::new(i64::from(changed), 2) == original.amount {
            changed += 1;
        }
        body["amount"]["value"] = json!(amount_text(changed));
        let mut probe = Probe::create_payout(body);
        probe.idempotency_key = Some(original.idempotency_key);
        let exchange = self.send(probe);
        if exchange.status() != 409 || exchange.error_code() != Some("IDEMPOTENCY_KEY_ALREADY_USED")
        {
            return fail(
                &IDEMPOTENCY_KEY_REUSE,
                "409 IDEMPOTENCY_KEY_ALREADY_USED for a used key with another body",
                &exchange,
            );
        }
        self.pass(&IDEMPOTENCY_KEY_REUSE);
        Ok(())
    }

    fn concurrent(&mut self, cents: u32, account: u8, copies: u8) -> StepResult {
        let body = self.payout_body(cents, account);
        let amount = Decimal::new(i64::from(cents), 2);
        let funds = self.funds_before()?;
        let probe = Probe {
            key: self.key.clone(),
            ..Probe::create_payout(body.clone())
        };
        let key = probe
            .idempotency_key
            .clone()
            .expect("create_payout sets a key");
        let sends = (0..copies).map(|_| self.ctx.send(probe.clone()));
        let answers: Vec<Exchange> = self.ctx.block_on(futures::future::join_all(sends));
        self.exchanges.extend(answers.iter().cloned());
        for answer in &answers {
            self.note_account(account, answer);
        }
        let mut ids: Vec<&str> = answers
            .iter()
            .filter(|e| e.status() == 202)
            .filter_map(|e| e.json()?.pointer("/data/id")?.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let short = answers.iter().any(|e| e.status() == 402);
        let decided = answers.iter().any(|e| matches!(e.status(), 202 | 402));
        let stray = answers.iter().find(|e| match e.status() {
            202 | 402 => false,
            409 => e.error_code() != Some("IDEMPOTENCY_RACE"),
            _ => true,
        });
        if let Some(stray) = stray {
            return fail(
                &IDEMPOTENCY_CONCURRENT,
                "202 (one payout), 402, or 409 IDEMPOTENCY_RACE",
                stray,
            );
        }
        if ids.len() > 1 || (ids.len() == 1 && short) || !decided {
            let last = answers.last().expect("at least two copies");
            return fail(
                &IDEMPOTENCY_CONCURRENT,
                format!(
                    "one outcome for {copies} requests with key {key}: got payouts {ids:?}, 402: {short}"
                ),
                last,
            );
        }
        self.pass(&IDEMPOTENCY_CONCURRENT);
        let accepted = answers.iter().find(|e| e.status() == 202);
        if let Some(funds) = &funds {
            let answer = accepted.unwrap_or_else(|| answers.last().expect("at least two copies"));
            self.judge_funds(amount, funds, accepted.is_some(), answer)?;
        }
        let status = if accepted.is_some() { 202 } else { 402 };
        let mut tracked = Tracked {
            idempotency_key: key,
            body,
            amount,
            status,
            id: None,
            history: Vec::new(),
        };
        if let Some(accepted) = accepted {
            let snapshot = self.snapshot(accepted)?;
            tracked.id = Some(snapshot.id.clone());
            tracked.history.push(snapshot);
        }
        self.payouts.push(tracked);
        self.index.push(self.payouts.len() - 1);
        Ok(())
    }

    fn overdraw(&mut self) -> StepResult {
        let Some(available) = self.funds_before()?.map(|f| f.available) else {
            return Ok(());
        };
        let amount = (available + Decimal::new(1, 2)).max(KE_MIN);
        if amount > KE_MAX {
            return Ok(());
        }
        let cents = (amount * Decimal::ONE_HUNDRED).to_u32().unwrap_or(u32::MAX);
        let body = self.payout_body(cents, 0);
        self.create(body, 0).map(|_| ())
    }

    // ---- reads ----------------------------------------------------------------

    fn snapshot(&self, exchange: &Exchange) -> Result<Payout, StepFailure> {
        let data = exchange
            .json()
            .and_then(|j| j.get("data"))
            .cloned()
            .unwrap_or(Value::Null);
        serde_json::from_value(data).map_err(|e| StepFailure {
            check: &LIFECYCLE_LEGAL,
            expected: format!("a payout in `data` ({e})"),
            exchange: Box::new(exchange.clone()),
        })
    }

    /// GETs one payout, appends the snapshot and checks the whole history.
    fn refresh_one(&mut self, position: usize) -> StepResult {
        let id = self.payouts[position]
            .id
            .clone()
            .expect("only accepted payouts are refreshed");
        let exchange = self.send(Probe::get("get_payout", format!("/payouts/{id}")));
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

    fn refresh_all(&mut self) -> Result<Vec<Option<StateCode>>, StepFailure> {
        for position in 0..self.payouts.len() {
            if self.payouts[position].id.is_some() {
                self.refresh_one(position)?;
            }
        }
        Ok(self.payouts.iter().map(Tracked::state).collect())
    }

    /// The wallet's available as read just before a create, with every
    /// payout's state then; `None` without an account of our own (or an
    /// unreadable wallet).
    fn funds_before(&mut self) -> Result<Option<Funds>, StepFailure> {
        let Some(currency) = self.baseline.as_ref().map(|b| b.currency.clone()) else {
            return Ok(None);
        };
        let states = self.refresh_all()?;
        Ok(self.wallet(&currency).map(|wallet| Funds {
            available: wallet.available,
            states,
        }))
    }

    /// Judges a create's answer (`accepted`: 202, else 402) by what the
    /// provider documents: `available` is what can be spent now. A payout
    /// above the available read just before must be refused, unless some
    /// payout was released meanwhile (FAILED, CANCELLED, REVERSED); one
    /// within it must be accepted, unless the wallet no longer covers it
    /// after (a server that takes money at SENT may have settled one).
    fn judge_funds(
        &mut self,
        amount: Decimal,
        funds: &Funds,
        accepted: bool,
        exchange: &Exchange,
    ) -> StepResult {
        let available = funds.available;
        if accepted && amount > available {
            // Only a release (FAILED, CANCELLED, REVERSED) can free money; SENT never does.
            let after = self.refresh_all()?;
            let released = funds.states.iter().zip(&after).any(|(before, now)| {
                before != now
                    && matches!(
                        now,
                        Some(StateCode::Failed | StateCode::Cancelled | StateCode::Reversed)
                    )
            });
            if !released && !self.ledger_moved() {
                return fail(
                    &INSUFFICIENT_BALANCE,
                    format!("402: {amount} is more than the {available} available"),
                    exchange,
                );
            }
            self.ctx.recorder.warn(
                &INSUFFICIENT_BALANCE,
                format!(
                    "402: {amount} above {available} available (a payout was released meanwhile)"
                ),
                Some(exchange),
                None,
            );
        } else if !accepted && amount <= available {
            let currency = self
                .baseline
                .as_ref()
                .expect("funds come with a baseline")
                .currency
                .clone();
            let after = self.wallet(&currency).map(|w| w.available);
            if after.is_some_and(|after| amount <= after) {
                return fail(
                    &INSUFFICIENT_BALANCE,
                    format!("202: {amount} is within the {available} available"),
                    exchange,
                );
            }
            self.ctx.recorder.warn(
                &INSUFFICIENT_BALANCE,
                format!("202: {amount} within {available} available (read before)"),
                Some(exchange),
                None,
            );
        }
        self.pass(&INSUFFICIENT_BALANCE);
        Ok(())
    }

    /// Whether an earlier sequence's SENT payout is no longer SENT (support
    /// may have reversed it, crediting the wallet) since this one started.
    fn ledger_moved(&mut self) -> bool {
        self.sent_ledger_now()
            .iter()
            .any(|r| r.state.as_deref() != Some("SENT"))
    }

    /// Money credited back since the baseline by reversals of earlier payouts.
    fn ledger_credit(&mut self) -> Decimal {
        self.sent_ledger_now()
            .iter()
            .filter(|r| r.state.as_deref() == Some("REVERSED"))
            .map(|r| r.amount)
            .sum()
    }

    /// Earlier sequences' payouts that were SENT when this one started,
    /// read again now.
    fn sent_ledger_now(&mut self) -> Vec<Reread> {
        let sent: Vec<LedgerEntry> = self
            .ledger
            .iter()
            .filter(|e| e.state == StateCode::Sent)
            .cloned()
            .collect();
        sent.into_iter()
            .map(|entry| {
                let exchange =
                    self.send(Probe::get("get_payout", format!("/payouts/{}", entry.id)));
                Reread {
                    amount: entry.amount,
                    state: exchange.payout_state().map(str::to_string),
                }
            })
            .collect()
    }

    /// `(available, balance)` the model expects.
    fn expected_money(&self, credit: Decimal) -> (Decimal, Decimal) {
        let baseline = self.baseline.as_ref().expect("only called with a baseline");
        let (mut available, mut balance) = (baseline.available + credit, baseline.balance + credit);
        for payout in self.payouts.iter().filter(|p| p.id.is_some()) {
            match payout.state() {
                Some(StateCode::Pending) => available -= payout.amount,
                Some(StateCode::Sent) => {
                    available -= payout.amount;
                    balance -= payout.amount;
                }
                _ => {}
            }
        }
        (available, balance)
    }

    fn wallet(&mut self, currency: &str) -> Option<WalletRead> {
        let exchange = self.send(Probe::get("list_wallets", "/wallets"));
        let wallet = exchange.json()?["data"]
            .as_array()?
            .iter()
            .find(|w| w["currency"] == currency)?
            .clone();
        Some(WalletRead {
            available: decimal_at(&wallet, "/available")?,
            balance: decimal_at(&wallet, "/balance")?,
            id: wallet["id"].as_str()?.to_string(),
            exchange,
        })
    }

    fn read_baseline(&mut self) -> Option<Baseline> {
        let mut wallet = self.wallet("KES")?;
        if self.control && wallet.available < Decimal::new(5_000, 0) {
            let url = self
                .ctx
                .client
                .control_url(&format!("/_sandbox/wallets/{}/fund", wallet.id));
            self.send(Probe {
                operation: None,
                ..Probe::post("fund", url, json!({"amount": "20000.00"}))
            });
            wallet = self.wallet("KES")?;
        }
        Some(Baseline {
            currency: "KES".into(),
            available: wallet.available,
            balance: wallet.balance,
        })
    }

    /// Reads the wallet between two rounds of payout reads (this
    /// sequence's); when no state moved in between, the amounts must be the
    /// model's, after crediting reversals of earlier sequences' payouts. A
    /// read during which something moved is retried, a few times. Only a
    /// negative `available` breaks a documented promise; the rest is our
    /// model of the wallet, so a mismatch warns.
    fn read_wallet(&mut self) -> StepResult {
        const ATTEMPTS: usize = 4;
        let currency = self
            .baseline
            .as_ref()
            .expect("only called with a baseline")
            .currency
            .clone();
        for _ in 0..ATTEMPTS {
            let before = self.refresh_all()?;
            let Some(WalletRead {
                exchange,
                available,
                balance,
                ..
            }) = self.wallet(&currency)
            else {
                let last = self.exchanges.last().expect("sent").clone();
                return fail(&WALLET_ACCOUNTING, format!("a {currency} wallet"), &last);
            };
            if available < Decimal::ZERO {
                return fail(
                    &WALLET_ACCOUNTING,
                    format!("available never below zero, got {available}"),
                    &exchange,
                );
            }
            if self.refresh_all()? != before {
                continue; // something settled meanwhile: read again
            }
            let mut want = self.expected_money(Decimal::ZERO);
            if want != (available, balance) {
                // Support may have reversed an earlier sequence's payout.
                let credit = self.ledger_credit();
                want = self.expected_money(credit);
            }
            if want == (available, balance) && available <= balance {
                self.pass(&WALLET_ACCOUNTING);
            } else {
                let expected = format!(
                    "available {} and balance {} (our wallet model: reserve, settle, release), got {available} and {balance}",
                    want.0, want.1
                );
                self.ctx
                    .recorder
                    .warn(&WALLET_ACCOUNTING, expected, Some(&exchange), None);
            }
            return Ok(());
        }
        Ok(()) // states kept moving: no exact expectation this time
    }

    fn walk_list(&mut self) -> StepResult {
        let accepted: Vec<&Tracked> = self.payouts.iter().filter(|p| p.id.is_some()).collect();
        let (Some(first), Some(last)) = (accepted.first(), accepted.last()) else {
            return Ok(());
        };
        let at = |p: &Tracked| {
            p.history[0]
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        };
        let ids: Vec<String> = accepted.iter().filter_map(|p| p.id.clone()).collect();
        // The window of this sequence's payouts: a bounded walk, whatever else the account holds.
        let probe = Probe {
            key: self.key.clone(),
            ..Probe::get("list_payouts", "/payouts")
        }
        .query("created_at_from", at(first))
        .query("created_at_to", at(last))
        .query("paging_limit", "3");
        match self.ctx.block_on(walk(self.ctx, probe, 100)) {
            Ok(seen) if !seen.complete => Ok(()), // too busy a window to judge
            Ok(seen) => {
                let last = seen.last.clone().expect("a walk has a page");
                self.exchanges.push(last.clone());
                for id in &ids {
                    let count = seen.ids.iter().filter(|s| *s == id).count();
                    if count != 1 {
                        return fail(
                            &PAGINATION_WALK,
                            format!("payout {id} listed once, it was listed {count} times"),
                            &last,
                        );
                    }
                }
                self.pass(&PAGINATION_WALK);
                Ok(())
            }
            Err(page) => fail(&PAGINATION_WALK, "200 for every page", &page),
        }
    }

    fn date_filtered(&mut self, payout: usize) -> StepResult {
        let Some(position) = self.accepted(payout) else {
            return Ok(());
        };
        let tracked = &self.payouts[position];
        let id = tracked.id.clone().expect("accepted");
        let at = tracked.history[0]
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let exchange = self.send(
            Probe::get("list_payouts", "/payouts")
                .query("created_at_from", at.clone())
                .query("created_at_to", at.clone())
                .query("paging_limit", "50"),
        );
        let listed = exchange
            .json()
            .and_then(|j| j["data"].as_array().cloned())
            .unwrap_or_default();
        if exchange.status() != 200 || !listed.iter().any(|p| p["id"] == id.as_str()) {
            return fail(
                &DATE_FILTER_BOUNDARIES,
                format!("payout {id} listed with created_at_from = created_at_to = {at}"),
                &exchange,
            );
        }
        self.pass(&DATE_FILTER_BOUNDARIES);
        Ok(())
    }

    fn get_or_create_account(&mut self, account: u8) -> StepResult {
        let body = self.account_body(account);
        let exchange = self.send(Probe::post(
            "get_or_create_payment_account",
            "/payment-accounts",
            body,
        ));
        let id = exchange
            .json()
            .and_then(|j| j.pointer("/data/id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        // A first post may find the account already there (an earlier run
        // against the same server may have used the same number).
        let ok = match self.accounts.get(&account) {
            None | Some(None) => matches!(exchange.status(), 200 | 201),
            Some(Some(known)) => exchange.status() == 200 && id.as_deref() == Some(known),
        };
        if !ok {
            let expected = match self.accounts.get(&account) {
                Some(Some(known)) => format!("200 with the existing account {known}"),
                _ => "201 (or 200 if it already existed)".to_string(),
            };
            return fail(&VALID_PAYMENT_ACCOUNT_ACCEPTED, expected, &exchange);
        }
        self.accounts.insert(account, id);
        self.pass(&VALID_PAYMENT_ACCOUNT_ACCEPTED);
        Ok(())
    }

    /// Control API: `to` is legal exactly when the payout is in `from`.
    fn support(&mut self, payout: usize, to: StateCode, from: StateCode) -> StepResult {
        if !self.control {
            return Ok(());
        }
        let Some(position) = self.accepted(payout) else {
            return Ok(());
        };
        self.refresh_one(position)?;
        let before = self.payouts[position].state();
        let id = self.payouts[position].id.clone().expect("accepted");
        let url = self
            .ctx
            .client
            .control_url(&format!("/_sandbox/payouts/{id}/transition"));
        let exchange = self.send(Probe {
            operation: None,
            ..Probe::post("transition", url, json!({"to": to.to_string()}))
        });
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
                self.refresh_one(position)?;
            }
            409 => {
                // States only move forward: `from` before and after the
                // call means it was `from` when the server refused.
                self.refresh_one(position)?;
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

    // ---- settling -------------------------------------------------------------

    /// Polls every accepted payout until it settles (SENT or final) or the
    /// deadline passes; a payout still PENDING then is not a failure.
    fn settle_all(&mut self) -> StepResult {
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
    fn settle_ledger(&mut self, ledger: &mut [LedgerEntry]) -> bool {
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
                    ..Probe::get("get_payout", format!("/payouts/{}", entry.id))
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
