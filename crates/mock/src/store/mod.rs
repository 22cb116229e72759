//! In-memory state, one [`AccountCell`] per API key.
//!
//! Each account sits behind its own mutex, held only for short synchronous
//! sections (never across an `.await`). Inside:
//!
//! - wallets, in seeding order (the order [`select_wallet`] searches);
//! - payment accounts by id, plus an identity index (get-or-create answers
//!   200 for a known identity) and a `(created_at, seq)` order index;
//! - payouts by id (each with the amount's text as sent, when lenient
//!   amounts kept it, and its autonomous support plan), plus the order
//!   index for newest-first pages, plus the scheduler's queue by due time
//!   (PENDING payouts to settle, and SENT payouts support will reverse);
//! - idempotency entries by key, plus their insertion log so expired ones
//!   are dropped in O(1) amortised time;
//! - the account's webhook [`Outbox`] (behind its own lock), told of every
//!   change of a payout's state inside the critical section that makes it;
//! - with a state file (`--state`), a [`ChangeSink`] told of every change
//!   of those rows in the same critical section ([`image`]: the rows, and
//!   an account rebuilt from them).
//!
//! Pages walk the order index backwards from a bound (`range(..).rev()`):
//! a page costs O(log n + page size) whatever the number of items.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use rafiki_rules::idempotency::{self, Decision, EntryStatus, OtherBody, StoredEntry};
use rafiki_rules::lifecycle::{FailureContext, StateCode};
use rafiki_rules::sandbox::{SandboxOutcome, sandbox_outcome};
use rafiki_rules::wallet::{self, Balances, WalletError, effect_of};
use rafiki_rules::wire::{
    AccountType, Holder, MobileMoney, Money, PartyType, PaymentAccount, PaymentAccountRequest,
    Payout, PayoutCreateRequest, PayoutState, Recipient, Wallet,
};
use rafiki_rules::{
    AccountIdentity, ComplianceTable, Destination, PaymentAccountLookup, Rule, account_identity,
    select_wallet,
};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::commit::{CommitGate, LastTicket, WriteFailed};
use crate::config::{Config, redact_key};
use crate::cursor::SortKey;
use crate::errors::{ApiError, json_bytes};
use crate::faults::{FaultPlan, FaultState};
use crate::ids;
use crate::journal::Journal;
use crate::rate_limit::TokenBucket;
use crate::support::{self, SupportPlan};
use crate::webhooks::{Deliverer, Outbox, WebhookFaultPlan, WebhookImage, WebhookSink};

mod image;

pub(crate) use image::{
    AccountImage, Change, ChangeSink, IdempotencyRow, PaymentAccountRow, PayoutRow, WalletRow,
    default_due,
};

/// The largest balance funding may reach (10^18): far below what
/// `Decimal` holds, so reversals crediting money back never overflow.
pub const MAX_BALANCE: Decimal = Decimal::from_parts(2_808_348_672, 232_830_643, 0, false, 0);

/// Most due payouts settled per lock hold (the rest on the next round).
const SETTLE_BATCH: usize = 512;

/// The whole server state.
pub struct Store {
    accounts: HashMap<String, Arc<AccountCell>>,
    clock: Arc<dyn Clock>,
    delay: TimeDelta,
    compliance: Arc<ComplianceTable>,
    /// Whether support cancels and reverses payouts on its own.
    autonomous_support: bool,
    /// Wakes the scheduler when a payout lands in an empty queue.
    pub(crate) wake: Notify,
    /// The webhook endpoints' tasks, every account's.
    deliverer: Arc<Deliverer>,
    /// With a state file: when changes are on disk.
    gate: Option<Arc<CommitGate>>,
}

/// What a state file gives each configured account (`crate::durable`).
pub(crate) trait Persistence {
    /// The account of `api_key` as stored (if it is), its webhooks, and
    /// where its changes go.
    fn restore(&self, api_key: &str) -> Restored;
    /// When changes are on disk.
    fn gate(&self) -> Arc<CommitGate>;
}

/// One account as a state file has it.
pub(crate) struct Restored {
    /// `None`: the file does not know the account yet (it is seeded).
    pub image: Option<AccountImage>,
    pub webhooks: WebhookImage,
    pub sink: Arc<dyn ChangeSink>,
    pub webhook_sink: Arc<dyn WebhookSink>,
    /// Raised by the two sinks.
    pub last_ticket: Arc<LastTicket>,
}

/// One account: its state and what a reset restores, and beside them (each
/// behind its own lock, untouched by a reset) its fault plan, its request
/// journal, its rate limit and its webhooks.
pub struct AccountCell {
    label: String,
    state: Mutex<Account>,
    faults: Mutex<FaultState>,
    journal: Mutex<Journal>,
    /// `None` without [`Config::rate_limit_per_key`].
    rate_limit: Option<Mutex<TokenBucket>>,
    /// Also held by the state, which tells it of payout changes.
    outbox: Arc<Outbox>,
    /// The account's latest change for the state file; `None` without one.
    last_ticket: Option<Arc<LastTicket>>,
}

/// A page: the items, and the key of the last one when more follow.
pub(crate) struct PageOf<T> {
    pub items: Vec<T>,
    pub after: Option<SortKey>,
}

/// A payout as every answer shows it: the wire payout, with
/// `amount.value` written exactly as the client sent it when lenient
/// amounts accepted a text the number does not reproduce (`"0140"`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PayoutView<'a> {
    pub payout: &'a Payout,
    pub amount_text: Option<&'a str>,
}

impl Serialize for PayoutView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(text) = self.amount_text else {
            return self.payout.serialize(serializer);
        };
        let mut value = serde_json::to_value(self.payout).map_err(serde::ser::Error::custom)?;
        value["amount"]["value"] = Value::String(text.to_owned());
        value.serialize(serializer)
    }
}

/// Bounds of a page over an order index: `from` inclusive, `below` exclusive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageQuery {
    pub from: Option<SortKey>,
    pub below: Option<SortKey>,
    pub limit: usize,
}

/// A response kept for idempotent replay: status and exact body bytes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredResponse {
    pub status: StatusCode,
    pub body: Bytes,
}

impl StoredResponse {
    pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(value)
            .map_err(|e| ApiError::Internal(format!("serialising a response: {e}")))?;
        Ok(StoredResponse {
            status,
            body: body.into(),
        })
    }

    pub fn error(error: &ApiError) -> Self {
        StoredResponse {
            status: error.status(),
            body: error.body_bytes().into(),
        }
    }
}

impl IntoResponse for StoredResponse {
    fn into_response(self) -> Response {
        json_bytes(self.status, self.body)
    }
}

/// How an idempotent POST starts.
pub(crate) enum Begin<'a> {
    /// First use (or an expired one): process it, then [`InFlight::finish`].
    Proceed(InFlight<'a>),
    /// Answer the stored response again.
    Replay(StoredResponse),
    /// 409.
    Refuse(ApiError),
}

/// A key marked in flight; dropping it unfinished (a panic, an internal
/// error) forgets the key so that a retry can proceed.
pub(crate) struct InFlight<'a> {
    cell: &'a AccountCell,
    key: String,
    finished: bool,
}

impl InFlight<'_> {
    /// Runs `f` under the account lock and stores its response for replay
    /// in the same critical section; an `Err` is not stored.
    pub fn finish(
        mut self,
        f: impl FnOnce(&mut Account) -> Result<StoredResponse, ApiError>,
    ) -> Result<StoredResponse, ApiError> {
        let mut account = self.cell.lock();
        let response = f(&mut account)?;
        if let Some(entry) = account.idempotency.get_mut(&self.key) {
            entry.status = EntryStatus::Completed(response.clone());
            let (body, stored_at) = (entry.body.clone(), entry.stored_at);
            account.record(|_| {
                Change::Idempotency(IdempotencyRow {
                    key: self.key.clone(),
                    body,
                    stored_at,
                    response: response.clone(),
                })
            });
        }
        self.finished = true;
        Ok(response)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let mut account = self.cell.lock();
            if matches!(account.idempotency.get(&self.key), Some(entry) if entry.status == EntryStatus::InFlight)
            {
                account.idempotency.remove(&self.key);
            }
        }
    }
}

impl Account {
    /// The type of the account a valid payout request pays.
    pub(crate) fn recipient_type(&self, request: &PayoutCreateRequest) -> Option<AccountType> {
        match request.recipient()? {
            Recipient::Existing(id) => self.payment_accounts.get(id).map(|a| a.account.kind),
            Recipient::Inline(inline) => Some(inline.kind),
        }
    }
}

/// Everything one API key owns.
pub struct Account {
    seq: u64,
    wallets: Vec<Wallet>,
    /// What a reset gives back (the seeded wallets, or an import's).
    seeds: Vec<Wallet>,
    payment_accounts: HashMap<String, PaymentAccount>,
    identities: HashMap<AccountIdentity, String>,
    account_order: BTreeMap<SortKey, String>,
    payouts: HashMap<String, PayoutRecord>,
    payout_order: BTreeMap<SortKey, String>,
    pending: BTreeMap<SortKey, String>,
    idempotency: HashMap<String, StoredEntry<StoredResponse>>,
    idempotency_log: VecDeque<(DateTime<Utc>, String)>,
    /// Told of every change of a payout's state (a reset keeps it).
    outbox: Arc<Outbox>,
    /// Told of every change of the rows above (`None`: in memory only).
    sink: Option<Arc<dyn ChangeSink>>,
    /// The changes of the critical section under way, handed to the sink
    /// together when it ends ([`AccountGuard`]).
    unsaved: Vec<Change>,
}

struct PayoutRecord {
    payout: Payout,
    /// `amount.value` as sent, when lenient amounts accepted a text that
    /// differs from the number's own (`"0140"` for 140).
    amount_text: Option<String>,
    /// Where the scheduler takes it.
    outcome: SandboxOutcome,
    /// What autonomous support does to it.
    support: SupportPlan,
    /// Its key in the list order.
    order: SortKey,
    /// Its key in the scheduler queue while queued.
    due: Option<SortKey>,
}

impl PayoutRecord {
    fn view(&self) -> PayoutView<'_> {
        PayoutView {
            payout: &self.payout,
            amount_text: self.amount_text.as_deref(),
        }
    }
}

/// What [`Account::create_payout`] needs besides the request.
pub(crate) struct Accept {
    pub now: DateTime<Utc>,
    /// The processing delay.
    pub delay: TimeDelta,
    /// `amount.value` as sent, when it differs from the validated text.
    pub amount_text: Option<String>,
    /// Whether autonomous support plans for the payout.
    pub autonomous_support: bool,
}

impl Store {
    /// A store with the configured accounts, seeded, in memory only.
    pub fn new(config: &Config) -> Self {
        Store::build(config, None)
    }

    /// A store with the configured accounts: as `persistence` has them
    /// (seeded when it has none), each telling it of every change; or,
    /// without it, seeded and in memory only.
    pub(crate) fn build(config: &Config, persistence: Option<&dyn Persistence>) -> Self {
        let now = config.clock.now();
        let gate = persistence.map(Persistence::gate);
        let deliverer = Arc::new(Deliverer::new(config.clock.clone(), gate.clone()));
        let accounts = config
            .accounts
            .iter()
            .map(|account| {
                let restored = persistence.map(|p| p.restore(&account.api_key));
                let (image, webhooks, sink, webhook_sink, last_ticket) = match restored {
                    Some(r) => (
                        r.image,
                        r.webhooks,
                        Some(r.sink),
                        Some(r.webhook_sink),
                        Some(r.last_ticket),
                    ),
                    None => (None, WebhookImage::default(), None, None, None),
                };
                let outbox = Arc::new(Outbox::new(
                    deliverer.clone(),
                    &account.webhooks,
                    config.webhook_faults.clone(),
                    config.journal_capacity,
                    now,
                    webhooks,
                    webhook_sink,
                ));
                let state = match image {
                    Some(image) => {
                        Account::from_image(image, config.autonomous_support, outbox.clone(), sink)
                    }
                    None => {
                        let seeds: Vec<Wallet> = account
                            .wallets
                            .iter()
                            .map(|seed| Wallet {
                                id: ids::new_id(ids::WALLET, now),
                                currency: seed.currency.clone(),
                                balance: seed.balance,
                                available: seed.balance,
                            })
                            .collect();
                        let mut state = Account::new(seeds.clone(), seeds, outbox.clone(), sink);
                        state.record(|_| Change::Cleared { seq: 0 });
                        state.record(Account::wallets_changed);
                        state.save();
                        state
                    }
                };
                let cell = AccountCell {
                    label: redact_key(&account.api_key),
                    state: Mutex::new(state),
                    faults: Mutex::new(FaultState::new(config.faults.clone())),
                    journal: Mutex::new(Journal::new(config.journal_capacity)),
                    rate_limit: config
                        .rate_limit_per_key
                        .map(|per_second| Mutex::new(TokenBucket::new(per_second))),
                    outbox,
                    last_ticket,
                };
                let cell = Arc::new(cell);
                if persistence.is_some() {
                    let account = Arc::downgrade(&cell);
                    cell.outbox.wait_for_changes_with(Box::new(move || {
                        if let Some(cell) = account.upgrade() {
                            drop(cell.lock());
                        }
                    }));
                }
                (account.api_key.clone(), cell)
            })
            .collect();
        Store {
            accounts,
            clock: config.clock.clone(),
            delay: TimeDelta::from_std(config.processing_delay).unwrap_or(TimeDelta::MAX),
            compliance: config.compliance.clone(),
            autonomous_support: config.autonomous_support,
            wake: Notify::new(),
            deliverer,
            gate,
        }
    }

    /// Waits until every change made so far is on disk (at once without a
    /// state file): an answer must not show what a crash could lose.
    pub(crate) async fn settled(&self) -> Result<(), WriteFailed> {
        match &self.gate {
            Some(gate) => gate.settled().await,
            None => Ok(()),
        }
    }

    /// Waits until every change of `cell`'s account made so far is on disk
    /// (at once without a state file): an answer about one account does
    /// not wait for another's writes.
    pub(crate) async fn settled_for(&self, cell: &AccountCell) -> Result<(), WriteFailed> {
        match (&self.gate, &cell.last_ticket) {
            (Some(gate), Some(last)) => gate.settled_through(last.get()).await,
            _ => Ok(()),
        }
    }

    /// Whether changes go to a state file.
    pub(crate) fn is_durable(&self) -> bool {
        self.gate.is_some()
    }

    /// The processing delay.
    pub(crate) fn delay(&self) -> TimeDelta {
        self.delay
    }

    /// Whether support acts on its own ([`Config::autonomous_support`]).
    pub(crate) fn autonomous_support(&self) -> bool {
        self.autonomous_support
    }

    /// The account of an API key.
    pub fn account(&self, api_key: &str) -> Option<&Arc<AccountCell>> {
        self.accounts.get(api_key)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    pub(crate) fn compliance(&self) -> &ComplianceTable {
        &self.compliance
    }

    /// How a payout accepted now is processed.
    pub(crate) fn accept(&self, now: DateTime<Utc>, amount_text: Option<String>) -> Accept {
        Accept {
            now,
            delay: self.delay,
            amount_text,
            autonomous_support: self.autonomous_support,
        }
    }

    /// Settles every payout due by now in every account. Returns how many
    /// moved and the earliest due time still queued.
    pub fn run_due(&self) -> (usize, Option<DateTime<Utc>>) {
        let now = self.now();
        let mut moved = 0;
        let mut next: Option<DateTime<Utc>> = None;
        for cell in self.accounts.values() {
            loop {
                let mut account = cell.lock();
                let (count, due) = account.settle_due(now, self.delay, SETTLE_BATCH);
                drop(account);
                moved += count;
                if count < SETTLE_BATCH {
                    next = match (next, due) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    break;
                }
            }
        }
        (moved, next)
    }

    /// Gives every account `plan` (its counters start again from zero).
    pub fn set_faults(&self, plan: &FaultPlan) {
        for cell in self.accounts.values() {
            cell.faults().replace(plan.clone());
        }
    }

    /// Gives every account the webhook fault plan `plan` (its counters
    /// start again from zero).
    pub fn set_webhook_faults(&self, plan: &WebhookFaultPlan) {
        for cell in self.accounts.values() {
            cell.outbox.set_faults(plan.clone());
        }
    }

    /// Starts the task of every configured webhook endpoint (in the
    /// server's runtime).
    pub(crate) fn start_webhooks(&self) {
        for cell in self.accounts.values() {
            cell.outbox.start();
        }
    }

    /// Wakes every webhook endpoint's task: the clock moved, so retries and
    /// delayed deliveries may be due.
    pub(crate) fn wake_webhooks(&self) {
        for cell in self.accounts.values() {
            cell.outbox.wake();
        }
    }

    /// Stops the webhook tasks (without waiting).
    pub(crate) fn stop_webhooks(&self) {
        self.deliverer.stop();
    }

    /// Stops the webhook tasks and waits for them to end.
    pub(crate) async fn shutdown_webhooks(&self) {
        self.deliverer.shutdown().await;
    }

    /// How many payouts and payment accounts the account of `api_key`
    /// holds.
    pub fn counts(&self, api_key: &str) -> Option<(usize, usize)> {
        let account = self.account(api_key)?.lock();
        Some((account.payout_count(), account.payment_account_count()))
    }

    /// Benchmark and demo hook: inserts `count` SENT payouts (and one
    /// payment account) straight into the account of `api_key`, without
    /// HTTP or wallet effects, created one millisecond apart and ending
    /// now. Returns their ids, oldest first; `None` for an unknown key or
    /// an account without wallets.
    pub fn seed_sent_payouts(&self, api_key: &str, count: usize) -> Option<Vec<String>> {
        let now = self.now();
        let mut account = self.account(api_key)?.lock();
        let wallet = account.wallets.first()?.clone();
        let recipient = PaymentAccountRequest {
            kind: AccountType::MobileMoney,
            country: "KE".into(),
            holder: Holder {
                kind: PartyType::Individual,
                name: "Seeded Recipient".into(),
            },
            mobile_money: Some(MobileMoney {
                number: "+254712345678".into(),
                operator: "SAFARICOM".into(),
            }),
            bank_account: None,
        };
        let (payment_account, _) = account.get_or_create_account(recipient, now);
        let payment_account_id = payment_account.id.clone();
        let mut ids = Vec::with_capacity(count);
        account.payouts.reserve(count);
        for i in 0..count {
            let back = i64::try_from(count - i).unwrap_or(i64::MAX);
            let created_at = now - TimeDelta::milliseconds(back);
            let payout = Payout {
                id: ids::new_id(ids::PAYOUT, created_at),
                amount: Money {
                    value: Decimal::new(150_000 + i64::try_from(i % 1000).unwrap_or(0), 2),
                    currency: wallet.currency.clone(),
                },
                payment_account_id: payment_account_id.clone(),
                wallet_id: wallet.id.clone(),
                sender: None,
                state: PayoutState {
                    code: StateCode::Sent,
                    context: None,
                },
                created_at,
                receipt: Some(ids::new_receipt()),
            };
            let id = payout.id.clone();
            account.insert_payout(payout, None, SandboxOutcome::SENT, SupportPlan::LeaveAlone);
            account.record(|a| a.payout_changed(&id).expect("just inserted"));
            ids.push(id);
        }
        Some(ids)
    }
}

impl AccountCell {
    /// Locks the account. A panic elsewhere never makes it unusable: the
    /// state is consistent between statements that take the lock.
    pub(crate) fn lock(&self) -> AccountGuard<'_> {
        AccountGuard(
            self.state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// The redacted API key, for logs.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The account's fault plan and counters.
    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultState> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The account's request journal.
    pub(crate) fn journal(&self) -> MutexGuard<'_, Journal> {
        self.journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The account's webhooks.
    pub(crate) fn webhooks(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// The account's rate limit, if it has one.
    pub(crate) fn rate_limit(&self) -> Option<MutexGuard<'_, TokenBucket>> {
        self.rate_limit.as_ref().map(|bucket| {
            bucket
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        })
    }

    /// Marks `key` in flight, or says how to answer instead.
    pub(crate) fn begin(
        &self,
        key: &str,
        body: &Value,
        now: DateTime<Utc>,
        other_body: OtherBody,
    ) -> Begin<'_> {
        let mut account = self.lock();
        account.prune_idempotency(now);
        match idempotency::decide(account.idempotency.get(key), body, now, other_body) {
            Decision::Fresh | Decision::Expired => {
                let entry = StoredEntry {
                    body: body.clone(),
                    status: EntryStatus::InFlight,
                    stored_at: now,
                };
                account.idempotency.insert(key.to_owned(), entry);
                account.idempotency_log.push_back((now, key.to_owned()));
                Begin::Proceed(InFlight {
                    cell: self,
                    key: key.to_owned(),
                    finished: false,
                })
            }
            Decision::Replay(response) => Begin::Replay(response.clone()),
            Decision::KeyAlreadyUsed => Begin::Refuse(ApiError::IdempotencyKeyAlreadyUsed),
            Decision::Race => Begin::Refuse(ApiError::IdempotencyRace),
        }
    }

    /// Empties the account and gives it back its seeded wallets (same ids);
    /// its webhooks stay.
    pub(crate) fn reset(&self) -> Vec<Wallet> {
        let mut account = self.lock();
        let seq = account.seq;
        let seeds = account.seeds.clone();
        let sink = account.sink.take();
        *account = Account {
            seq,
            ..Account::new(seeds.clone(), seeds, self.outbox.clone(), sink)
        };
        account.record(|a| Change::Cleared { seq: a.seq });
        account.record(Account::wallets_changed);
        account.wallets.clone()
    }
}

/// The account, locked. When it is released, the changes made meanwhile
/// go to the sink, if any, as one unit: the state file writes them in one
/// transaction, so a crash never keeps half of a critical section (a
/// payout without the idempotency record that answers its retries).
pub(crate) struct AccountGuard<'a>(MutexGuard<'a, Account>);

impl std::ops::Deref for AccountGuard<'_> {
    type Target = Account;

    fn deref(&self) -> &Account {
        &self.0
    }
}

impl std::ops::DerefMut for AccountGuard<'_> {
    fn deref_mut(&mut self) -> &mut Account {
        &mut self.0
    }
}

impl Drop for AccountGuard<'_> {
    fn drop(&mut self) {
        // Still under the lock: units reach the sink in the order they
        // were made.
        self.0.save();
    }
}

/// Validation resolves `payment_account_id` through the account (taking
/// the lock briefly; never call it while holding the lock).
impl PaymentAccountLookup for AccountCell {
    fn destination(&self, id: &str) -> Option<Destination> {
        let account = self.lock();
        account.payment_accounts.get(id).map(|a| Destination {
            country: a.account.country.clone(),
            account_type: a.account.kind,
        })
    }
}

impl Account {
    fn new(
        wallets: Vec<Wallet>,
        seeds: Vec<Wallet>,
        outbox: Arc<Outbox>,
        sink: Option<Arc<dyn ChangeSink>>,
    ) -> Self {
        Account {
            seq: 0,
            wallets,
            seeds,
            payment_accounts: HashMap::new(),
            identities: HashMap::new(),
            account_order: BTreeMap::new(),
            payouts: HashMap::new(),
            payout_order: BTreeMap::new(),
            pending: BTreeMap::new(),
            idempotency: HashMap::new(),
            idempotency_log: VecDeque::new(),
            outbox,
            sink,
            unsaved: Vec::new(),
        }
    }

    /// Tells the webhooks that payout `id` changed at `at` (its first
    /// state included), with the payout as it now is.
    fn announce(&mut self, id: &str, at: DateTime<Utc>) {
        if let Some(record) = self.payouts.get(id) {
            let queued = self.outbox.payout_changed(id, &record.view(), at);
            for row in queued {
                self.record(|_| Change::Webhook(row));
            }
        }
    }

    fn next_key(&mut self, at: DateTime<Utc>) -> SortKey {
        self.seq += 1;
        (at, self.seq)
    }

    pub(crate) fn wallets(&self) -> &[Wallet] {
        &self.wallets
    }

    pub(crate) fn payout(&self, id: &str) -> Option<PayoutView<'_>> {
        self.payouts.get(id).map(PayoutRecord::view)
    }

    pub(crate) fn payout_count(&self) -> usize {
        self.payouts.len()
    }

    pub(crate) fn payment_account_count(&self) -> usize {
        self.payment_accounts.len()
    }

    /// Get-or-create by [`account_identity`]: the stored account and
    /// whether it was created now.
    pub(crate) fn get_or_create_account(
        &mut self,
        request: PaymentAccountRequest,
        now: DateTime<Utc>,
    ) -> (&PaymentAccount, bool) {
        let identity = account_identity(&request);
        let existing = identity
            .as_ref()
            .and_then(|i| self.identities.get(i))
            .cloned();
        let (id, created) = match existing {
            Some(id) => (id, false),
            None => {
                let key = self.next_key(now);
                let id = ids::new_id(ids::PAYMENT_ACCOUNT, now);
                if let Some(identity) = identity {
                    self.identities.insert(identity, id.clone());
                }
                self.account_order.insert(key, id.clone());
                let account = PaymentAccount {
                    id: id.clone(),
                    account: request,
                    created_at: now,
                };
                self.record(|_| {
                    Change::PaymentAccount(PaymentAccountRow {
                        account: account.clone(),
                        order: key,
                    })
                });
                self.payment_accounts.insert(id.clone(), account);
                (id, true)
            }
        };
        (&self.payment_accounts[&id], created)
    }

    /// Accepts a validated payout: picks the wallet, reserves the amount
    /// (402 when `available` is short), resolves or creates the payment
    /// account and queues the payout for the scheduler. Nothing changes
    /// unless every step succeeds. Also says whether the scheduler's queue
    /// was empty (so it needs waking).
    pub(crate) fn create_payout(
        &mut self,
        request: PayoutCreateRequest,
        accept: Accept,
    ) -> Result<(PayoutView<'_>, bool), ApiError> {
        let Accept {
            now,
            delay,
            amount_text,
            autonomous_support,
        } = accept;
        let wallet = select_wallet(
            &self.wallets,
            request.wallet_id.as_deref(),
            &request.amount.currency,
        )?;
        let wallet_id = wallet.id.clone();
        let reserved = wallet::reserve(
            Balances::new(wallet.balance, wallet.available),
            request.amount.value,
        )
        .map_err(|e| match e {
            WalletError::InsufficientBalance { .. } => ApiError::InsufficientBalance {
                wallet_id: wallet_id.clone(),
            },
            other => ApiError::Internal(format!("reserving: {other}")),
        })?;
        let (payment_account_id, outcome) = match request.recipient() {
            Some(Recipient::Existing(id)) => {
                let account = self.payment_accounts.get(id).ok_or_else(|| {
                    ApiError::invalid(
                        "payment_account_id",
                        Rule::UnknownPaymentAccount,
                        format!("no payment account `{id}`"),
                    )
                })?;
                (account.id.clone(), sandbox_outcome(&account.account))
            }
            Some(Recipient::Inline(inline)) => {
                let (account, _) = self.get_or_create_account(inline.clone(), now);
                (account.id.clone(), sandbox_outcome(&account.account))
            }
            None => {
                return Err(ApiError::invalid(
                    "payment_account_id",
                    Rule::ExactlyOneOf,
                    "one of payment_account_id or payment_account is required",
                ));
            }
        };
        if let Some(wallet) = self.wallets.iter_mut().find(|w| w.id == wallet_id) {
            wallet.available = reserved.available;
            wallet.balance = reserved.balance;
        }
        let payout = Payout {
            id: ids::new_id(ids::PAYOUT, now),
            amount: request.amount,
            payment_account_id,
            wallet_id,
            sender: request.sender,
            state: PayoutState {
                code: rafiki_rules::lifecycle::INITIAL,
                context: None,
            },
            created_at: now,
            receipt: None,
        };
        let was_idle = self.pending.is_empty();
        let id = payout.id.clone();
        // Support only touches payouts the sandbox would send.
        let plan = if autonomous_support && outcome.code == StateCode::Sent {
            support::plan(&id)
        } else {
            SupportPlan::LeaveAlone
        };
        let (_, seq) = self.insert_payout(payout, amount_text, outcome, plan);
        self.queue(&id, (later(now, delay), seq));
        self.record(Account::wallets_changed);
        self.record(|a| a.payout_changed(&id).expect("just inserted"));
        self.announce(&id, now);
        let record = &self.payouts[&id];
        Ok((record.view(), was_idle))
    }

    /// Inserts into the id map and the order index; returns the order key.
    fn insert_payout(
        &mut self,
        payout: Payout,
        amount_text: Option<String>,
        outcome: SandboxOutcome,
        support: SupportPlan,
    ) -> SortKey {
        let key = self.next_key(payout.created_at);
        self.payout_order.insert(key, payout.id.clone());
        self.payouts.insert(
            payout.id.clone(),
            PayoutRecord {
                payout,
                amount_text,
                outcome,
                support,
                order: key,
                due: None,
            },
        );
        key
    }

    /// Puts a payout in the scheduler's queue at `due` (a payout is queued
    /// at most once: any earlier entry is replaced).
    fn queue(&mut self, id: &str, due: SortKey) {
        let Some(record) = self.payouts.get_mut(id) else {
            return;
        };
        if let Some(old) = record.due.replace(due) {
            self.pending.remove(&old);
        }
        self.pending.insert(due, id.to_owned());
    }

    /// Moves a payout to `to` at `at` if the lifecycle allows it, applying
    /// the wallet effect, and tells the webhooks. `context` is kept only
    /// for FAILED; SENT gets a receipt.
    pub(crate) fn transition(
        &mut self,
        id: &str,
        to: StateCode,
        context: Option<FailureContext>,
        at: DateTime<Utc>,
    ) -> Result<PayoutView<'_>, ApiError> {
        let record = self.payouts.get_mut(id).ok_or(ApiError::NotFound)?;
        let from = record.payout.state.code;
        let effect = effect_of(Some(from), to).ok_or(ApiError::IllegalTransition { from, to })?;
        let wallet = self
            .wallets
            .iter_mut()
            .find(|w| w.id == record.payout.wallet_id)
            .ok_or_else(|| ApiError::Internal(format!("payout {id} has no wallet")))?;
        let after = effect
            .apply(
                Balances::new(wallet.balance, wallet.available),
                record.payout.amount.value,
            )
            .map_err(|e| ApiError::Internal(format!("{effect:?} of payout {id}: {e}")))?;
        wallet.balance = after.balance;
        wallet.available = after.available;
        record.payout.state = PayoutState::new(to, context.filter(|_| to == StateCode::Failed));
        if to == StateCode::Sent && record.payout.receipt.is_none() {
            record.payout.receipt = Some(ids::new_receipt());
        }
        if let Some(due) = record.due.take() {
            self.pending.remove(&due);
        }
        self.record(Account::wallets_changed);
        self.record(|a| a.payout_changed(id).expect("it exists"));
        self.announce(id, at);
        Ok(self.payouts[id].view())
    }

    /// Moves up to `max` payouts due at `now`: a PENDING payout is settled
    /// (or, when support plans it, CANCELLED); a SENT payout support plans
    /// to reverse is REVERSED `delay` after it was due to be SENT. Returns
    /// how many moved and the next due time.
    fn settle_due(
        &mut self,
        now: DateTime<Utc>,
        delay: TimeDelta,
        max: usize,
    ) -> (usize, Option<DateTime<Utc>>) {
        let mut moved = 0;
        while moved < max {
            let Some(entry) = self.pending.first_entry() else {
                break;
            };
            let (due, seq) = *entry.key();
            if due > now {
                break;
            }
            let id = entry.remove();
            let Some(record) = self.payouts.get_mut(&id) else {
                continue;
            };
            record.due = None;
            let (from, plan, outcome) = (record.payout.state.code, record.support, record.outcome);
            let (to, context) = match (from, plan) {
                (StateCode::Pending, SupportPlan::Cancel) => (StateCode::Cancelled, None),
                (StateCode::Pending, _) => (outcome.code, outcome.context),
                (StateCode::Sent, SupportPlan::Reverse) => (StateCode::Reversed, None),
                // Moved meanwhile (e.g. by the control API): nothing left to do.
                _ => continue,
            };
            match self.transition(&id, to, context, now) {
                Ok(_) => {
                    if matches!(to, StateCode::Cancelled | StateCode::Reversed) {
                        tracing::info!(payout_id = %id, state = %to, "support: transition");
                    }
                    if to == StateCode::Sent && plan == SupportPlan::Reverse {
                        self.queue(&id, (later(due, delay), seq));
                        self.record(|a| a.payout_changed(&id).expect("it exists"));
                    }
                }
                Err(error) => {
                    tracing::error!(payout_id = %id, %error, "scheduler could not settle a payout");
                }
            }
            moved += 1;
        }
        (moved, self.pending.first_key_value().map(|(key, _)| key.0))
    }

    /// Credits a wallet (the control API's funding).
    /// A balance above [`MAX_BALANCE`] is refused (422), so no later
    /// credit can overflow `Decimal`.
    pub(crate) fn fund(&mut self, wallet_id: &str, amount: Decimal) -> Result<&Wallet, ApiError> {
        let wallet = self
            .wallets
            .iter_mut()
            .find(|w| w.id == wallet_id)
            .ok_or(ApiError::NotFound)?;
        if wallet
            .balance
            .checked_add(amount)
            .is_none_or(|total| total > MAX_BALANCE)
        {
            return Err(ApiError::invalid(
                "amount",
                Rule::AmountAboveMax,
                format!("the wallet's balance may not exceed {MAX_BALANCE}"),
            ));
        }
        let after = wallet::credit_back(Balances::new(wallet.balance, wallet.available), amount)
            .map_err(|e| ApiError::invalid("amount", Rule::AmountNotPositive, e.to_string()))?;
        wallet.balance = after.balance;
        wallet.available = after.available;
        self.record(Account::wallets_changed);
        Ok(self
            .wallets
            .iter()
            .find(|w| w.id == wallet_id)
            .expect("just funded"))
    }

    pub(crate) fn payout_page(&self, query: PageQuery) -> PageOf<PayoutView<'_>> {
        let (ids, after) = page_ids(&self.payout_order, query);
        PageOf {
            items: ids.into_iter().filter_map(|id| self.payout(id)).collect(),
            after,
        }
    }

    pub(crate) fn payment_account_page(&self, query: PageQuery) -> PageOf<&PaymentAccount> {
        let (ids, after) = page_ids(&self.account_order, query);
        PageOf {
            items: ids
                .into_iter()
                .filter_map(|id| self.payment_accounts.get(id))
                .collect(),
            after,
        }
    }

    /// Forgets entries older than the retention, oldest first.
    fn prune_idempotency(&mut self, now: DateTime<Utc>) {
        while let Some((stored_at, _)) = self.idempotency_log.front() {
            if now - *stored_at < idempotency::RETENTION {
                break;
            }
            let (stored_at, key) = self.idempotency_log.pop_front().expect("front exists");
            if self
                .idempotency
                .get(&key)
                .is_some_and(|entry| entry.stored_at == stored_at)
            {
                self.idempotency.remove(&key);
                self.record(|_| Change::IdempotencyExpired(key));
            }
        }
    }
}

/// `at + delay`, saturating at the end of time.
fn later(at: DateTime<Utc>, delay: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(delay)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Up to `limit` ids, newest first, with keys in `[from, below)`; plus the
/// last key when more items follow.
fn page_ids(
    order: &BTreeMap<SortKey, String>,
    query: PageQuery,
) -> (Vec<&String>, Option<SortKey>) {
    if let (Some(from), Some(below)) = (query.from, query.below)
        && from >= below
    {
        return (Vec::new(), None);
    }
    let lower = query.from.map_or(Bound::Unbounded, Bound::Included);
    let upper = query.below.map_or(Bound::Unbounded, Bound::Excluded);
    let mut entries = order.range((lower, upper)).rev();
    let mut ids = Vec::with_capacity(query.limit);
    let mut last = None;
    for (key, id) in entries.by_ref().take(query.limit) {
        ids.push(id);
        last = Some(*key);
    }
    let more = entries.next().is_some();
    (ids, last.filter(|_| more))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seconds: i64, seq: u64) -> SortKey {
        (DateTime::from_timestamp(seconds, 0).unwrap(), seq)
    }

    #[test]
    fn max_balance_is_ten_to_the_eighteenth() {
        assert_eq!(MAX_BALANCE, Decimal::from(1_000_000_000_000_000_000u64));
    }

    #[test]
    fn pages_walk_newest_first_within_bounds() {
        let order: BTreeMap<SortKey, String> = (1..=10)
            .map(|i| (key(i, i as u64), format!("x{i}")))
            .collect();
        let all = PageQuery {
            from: None,
            below: None,
            limit: 4,
        };
        let (ids, after) = page_ids(&order, all);
        assert_eq!(ids, ["x10", "x9", "x8", "x7"]);
        assert_eq!(after, Some(key(7, 7)));
        let (ids, after) = page_ids(
            &order,
            PageQuery {
                below: after,
                ..all
            },
        );
        assert_eq!(ids, ["x6", "x5", "x4", "x3"]);
        let (ids, after) = page_ids(
            &order,
            PageQuery {
                below: after,
                ..all
            },
        );
        assert_eq!(
            (ids, after),
            (vec![&"x2".to_owned(), &"x1".to_owned()], None)
        );
        let window = PageQuery {
            from: Some(key(3, 0)),
            below: Some(key(5, 0)),
            limit: 10,
        };
        assert_eq!(page_ids(&order, window).0, ["x4", "x3"]);
        let inverted = PageQuery {
            from: Some(key(5, 0)),
            below: Some(key(3, 0)),
            limit: 10,
        };
        assert!(page_ids(&order, inverted).0.is_empty());
        let exact = PageQuery {
            from: Some(key(4, 0)),
            below: Some(key(4, 0)),
            limit: 10,
        };
        assert!(page_ids(&order, exact).0.is_empty());
    }
}
