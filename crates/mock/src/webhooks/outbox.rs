//! One account's webhooks: its endpoints, each with its queue of
//! deliveries, the webhook fault plan and the deliveries journal, behind
//! one mutex held for short synchronous sections only, never across an
//! HTTP call.
//!
//! Lock order: the account's state lock may be held while this one is
//! taken (an event is queued in the critical section of the change it
//! tells of, so events queue in the order the changes happened); this one
//! is never held while taking the account's.
//!
//! With a state file, a [`WebhookSink`] is told of every change of the
//! endpoints and of the deliveries not yet done, under this lock
//! ([`super::rows`]); the outbox starts from what the file kept.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use rafiki_rules::webhooks::{PAYOUT_STATE_UPDATED, signature_header};
use serde::Serialize;
use tokio::sync::Notify;

use super::faults::{self, Applied, WebhookFaultState};
use super::journal::{AttemptEntry, AttemptOutcome, DeliveryJournal, EntryFault};
use super::rows::{DeliveryRow, EndpointRow, Origin, WebhookChange, WebhookImage, WebhookSink};
use super::wire::EndpointView;
use super::{
    Deliverer, MAX_ENDPOINTS, OUT_OF_ORDER_HOLD, RETRY_WAITS, STALE_BY, SigningKey,
    WebhookEndpoint, WebhookFault, WebhookFaultPlan, WebhookUrl,
};
use crate::errors::ApiError;
use crate::ids;

/// What a `bad-signature` fault appends to the endpoint's key to sign
/// with another one.
const OTHER_KEY_SUFFIX: &str = "_not_this_endpoint";

/// An account's webhooks (see the module docs).
pub(crate) struct Outbox {
    deliverer: Arc<Deliverer>,
    state: Mutex<State>,
    /// With a state file: waits until the critical section that queued a
    /// delivery has handed its changes to the file (set once the account
    /// exists; see [`Outbox::before_attempt`]).
    handed: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

struct State {
    /// In the order they were added.
    endpoints: Vec<Endpoint>,
    faults: WebhookFaultState,
    /// Orders queue entries due at the same time: event order.
    next_seq: u64,
    journal: DeliveryJournal,
    /// Told of every change of the endpoints and of their queues (`None`:
    /// in memory only).
    sink: Option<Arc<dyn WebhookSink>>,
    /// The state file's order of the endpoints: the next one added comes
    /// after every one there (deleted ones included).
    next_position: u64,
}

/// Due time (the mock's clock), then order of queueing.
type QueueKey = (DateTime<Utc>, u64);

struct Endpoint {
    id: String,
    url: WebhookUrl,
    key: SigningKey,
    origin: Origin,
    /// Wakes the endpoint's task: something was queued, the clock moved,
    /// or the endpoint was deleted.
    wake: Arc<Notify>,
    queue: BTreeMap<QueueKey, Delivery>,
}

/// One event on its way to one endpoint: the next attempt to make.
#[derive(Clone)]
pub(crate) struct Delivery {
    event: Arc<Event>,
    /// The attempt this makes, from 1.
    attempt: u32,
    /// The faults drawn for the delivery; they act on attempt 1 only.
    faults: Vec<Applied>,
    /// Out of order, still waiting for its payout's next event.
    held: bool,
}

/// An event: what every attempt to deliver it sends, byte for byte.
pub(crate) struct Event {
    pub id: String,
    pub payout_id: String,
    pub body: Bytes,
}

/// The body of an event.
#[derive(Serialize)]
struct Envelope<'a, T> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    data: &'a T,
    created_at: DateTime<Utc>,
}

/// A request to make, prepared (and signed) under the lock.
pub(crate) struct Attempt {
    pub endpoint_id: String,
    pub url: WebhookUrl,
    pub delivery: Delivery,
    /// The second send of a `duplicate` fault.
    pub copy: bool,
    /// The mock's clock when it was prepared.
    pub sent_at: DateTime<Utc>,
    /// The `X-Rafiki-Webhook-Signature` value.
    pub signature: String,
}

impl Attempt {
    pub fn body(&self) -> Bytes {
        self.delivery.event.body.clone()
    }

    pub fn event_id(&self) -> &str {
        &self.delivery.event.id
    }

    pub fn number(&self) -> u32 {
        self.delivery.attempt
    }

    /// The faults acting on this attempt.
    fn faults(&self) -> &[Applied] {
        match self.delivery.attempt {
            1 => &self.delivery.faults,
            _ => &[],
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Status(StatusCode),
    /// No answer: why.
    Error(String),
}

/// What an endpoint's task does next.
pub(crate) enum Step {
    Send(Attempt),
    /// Nothing due: wait for a wake-up, or until the next due time.
    Wait(Option<DateTime<Utc>>),
    /// The endpoint was deleted.
    Gone,
}

impl Outbox {
    /// An account's outbox with its configured endpoints (their tasks start
    /// with [`Outbox::start`]), and with what a state file kept of it
    /// (`restored`): endpoints added through the control API stay, those
    /// of the configuration stay while it still names their URL (same id,
    /// the configured key or else the stored one), the others are dropped
    /// with their queues; the deliveries not yet done are queued again.
    pub fn new(
        deliverer: Arc<Deliverer>,
        configured: &[WebhookEndpoint],
        plan: WebhookFaultPlan,
        journal_capacity: usize,
        now: DateTime<Utc>,
        restored: WebhookImage,
        sink: Option<Arc<dyn WebhookSink>>,
    ) -> Self {
        let mut unmatched: Vec<&WebhookEndpoint> = configured.iter().collect();
        let mut endpoints = Vec::new();
        for row in restored.endpoints {
            let kept = match row.origin {
                Origin::ControlApi => Some(row.key),
                Origin::Config => unmatched
                    .iter()
                    .position(|e| e.url == row.url)
                    .map(|i| unmatched.remove(i).signing_key.clone().unwrap_or(row.key)),
            };
            match kept {
                Some(key) => endpoints.push(Endpoint {
                    key,
                    ..Endpoint::new(row.url, None, row.origin, row.id)
                }),
                None => record(&sink, || WebhookChange::EndpointRemoved(row.id)),
            }
        }
        for e in unmatched {
            let id = ids::new_id(ids::WEBHOOK_ENDPOINT, now);
            let endpoint = Endpoint::new(e.url.clone(), e.signing_key.clone(), Origin::Config, id);
            endpoints.push(endpoint);
        }
        for (position, endpoint) in (0u64..).zip(&endpoints) {
            record(&sink, || WebhookChange::Endpoint {
                row: endpoint.row(),
                position,
            });
        }
        if endpoints.len() > MAX_ENDPOINTS {
            tracing::warn!(
                endpoints = endpoints.len(),
                "an account has more webhook endpoints than {MAX_ENDPOINTS} (the state file's and the configured ones); none can be added until some are deleted"
            );
        }
        // Positions from 1 (`take` numbers from 1); the next one added
        // follows them.
        let endpoints_len = endpoints.len() as u64;
        let mut next_seq = 0;
        for row in restored.deliveries {
            let Some(endpoint) = endpoints.iter_mut().find(|e| e.id == row.endpoint_id) else {
                continue;
            };
            next_seq = next_seq.max(row.due.1);
            let delivery = Delivery {
                event: Arc::new(Event {
                    id: row.event_id,
                    payout_id: row.payout_id,
                    body: row.body,
                }),
                attempt: row.attempt,
                faults: row.faults,
                held: row.held,
            };
            endpoint.queue.insert(row.due, delivery);
        }
        Outbox {
            deliverer,
            state: Mutex::new(State {
                endpoints,
                faults: WebhookFaultState::new(plan),
                next_seq,
                journal: DeliveryJournal::new(journal_capacity),
                sink,
                next_position: endpoints_len,
            }),
            handed: OnceLock::new(),
        }
    }

    /// With a state file: `wait` returns once the account's critical
    /// section under way, if any, has handed its changes to the file (it
    /// takes and releases the account's lock).
    pub fn wait_for_changes_with(&self, wait: Box<dyn Fn() + Send + Sync>) {
        let _ = self.handed.set(wait);
    }

    /// Before an attempt goes out: the change that queued it (and its
    /// delivery's row) has been handed to the state file, so the
    /// deliverer's wait for the file covers it. Nothing without a file.
    pub(super) fn before_attempt(&self) {
        if let Some(wait) = self.handed.get() {
            wait();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a task for each endpoint (once the server runs).
    pub fn start(self: &Arc<Self>) {
        let tasks: Vec<(String, Arc<Notify>)> = self
            .lock()
            .endpoints
            .iter()
            .map(|e| (e.id.clone(), e.wake.clone()))
            .collect();
        for (id, wake) in tasks {
            self.deliverer.spawn(self.clone(), id, wake);
        }
    }

    /// Adds an endpoint with a generated key and starts its task; refused
    /// past [`MAX_ENDPOINTS`].
    pub fn add(
        self: &Arc<Self>,
        url: WebhookUrl,
        now: DateTime<Utc>,
    ) -> Result<EndpointView, ApiError> {
        let (view, id, wake) = {
            let mut state = self.lock();
            if state.endpoints.len() >= MAX_ENDPOINTS {
                return Err(ApiError::WebhookEndpointLimit { max: MAX_ENDPOINTS });
            }
            let id = ids::new_id(ids::WEBHOOK_ENDPOINT, now);
            let endpoint = Endpoint::new(url, None, Origin::ControlApi, id);
            let shown = (endpoint.view(), endpoint.id.clone(), endpoint.wake.clone());
            let position = take(&mut state.next_position);
            record(&state.sink, || WebhookChange::Endpoint {
                row: endpoint.row(),
                position,
            });
            state.endpoints.push(endpoint);
            shown
        };
        self.deliverer.spawn(self.clone(), id, wake);
        Ok(view)
    }

    /// The endpoints, keys included.
    pub fn list(&self) -> Vec<EndpointView> {
        self.lock().endpoints.iter().map(Endpoint::view).collect()
    }

    /// Deletes an endpoint: what it had queued is dropped, its task ends.
    /// `false` when there is no such endpoint.
    pub fn remove(&self, id: &str) -> bool {
        let mut state = self.lock();
        let Some(index) = state.endpoints.iter().position(|e| e.id == id) else {
            return false;
        };
        let endpoint = state.endpoints.remove(index);
        record(&state.sink, || {
            WebhookChange::EndpointRemoved(endpoint.id.clone())
        });
        endpoint.wake.notify_one();
        true
    }

    /// Queues the event of a change of payout `payout_id`, whose state is
    /// now `data` (as GET /v1/payouts/{id} shows it), made at `at`, for
    /// every endpoint. Called in the critical section of the change, which
    /// saves the deliveries' rows it answers (with a state file) with the
    /// change itself.
    #[must_use]
    pub fn payout_changed(
        &self,
        payout_id: &str,
        data: &impl Serialize,
        at: DateTime<Utc>,
    ) -> Vec<WebhookChange> {
        let mut rows = Vec::new();
        let mut state = self.lock();
        if state.endpoints.is_empty() {
            return rows;
        }
        let id = ids::new_id(ids::WEBHOOK_EVENT, at);
        let envelope = Envelope {
            id: &id,
            kind: PAYOUT_STATE_UPDATED,
            data,
            created_at: at,
        };
        let body = match serde_json::to_vec(&envelope) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(%error, payout_id, "could not serialise a webhook event");
                return rows;
            }
        };
        let event = Arc::new(Event {
            id,
            payout_id: payout_id.to_owned(),
            body: body.into(),
        });
        let State {
            endpoints,
            faults,
            next_seq,
            sink,
            ..
        } = &mut *state;
        let mut saved = sink.is_some().then_some(&mut rows);
        for endpoint in endpoints {
            let applied = faults.decide();
            endpoint.enqueue(event.clone(), applied, at, next_seq, saved.as_deref_mut());
        }
        rows
    }

    /// Wakes every endpoint's task (the clock moved).
    pub fn wake(&self) {
        for endpoint in &self.lock().endpoints {
            endpoint.wake.notify_one();
        }
    }

    /// Replaces the webhook fault plan (its counters start from zero).
    pub fn set_faults(&self, plan: WebhookFaultPlan) {
        self.lock().faults = WebhookFaultState::new(plan);
    }

    /// Runs `f` on the deliveries journal.
    pub fn journal<R>(&self, f: impl FnOnce(&mut DeliveryJournal) -> R) -> R {
        f(&mut self.lock().journal)
    }

    /// The next attempt of endpoint `endpoint_id` due at `now`, signed.
    pub(super) fn next(&self, endpoint_id: &str, now: DateTime<Utc>) -> Step {
        let mut state = self.lock();
        let Some(endpoint) = state.endpoints.iter_mut().find(|e| e.id == endpoint_id) else {
            return Step::Gone;
        };
        let Some(entry) = endpoint.queue.first_entry() else {
            return Step::Wait(None);
        };
        let (due, _) = *entry.key();
        if due > now {
            return Step::Wait(Some(due));
        }
        let delivery = entry.remove();
        Step::Send(endpoint.attempt(delivery, now, false))
    }

    /// Records how `attempt` ended and queues its retry when one is due.
    /// Answers the copy to send now when the attempt was the first of a
    /// `duplicate` delivery.
    pub(super) fn record(
        &self,
        attempt: Attempt,
        answer: Answer,
        now: DateTime<Utc>,
    ) -> Option<Attempt> {
        let mut state = self.lock();
        let State {
            endpoints,
            next_seq,
            journal,
            sink,
            ..
        } = &mut *state;
        let endpoint = endpoints.iter_mut().find(|e| e.id == attempt.endpoint_id);
        let number = attempt.number();
        let delivered = matches!(&answer, Answer::Status(status) if status.is_success());
        let retry_wait = RETRY_WAITS.get(number as usize - 1);
        let (outcome, next_attempt_at) = match (delivered, retry_wait) {
            (true, _) => (AttemptOutcome::Delivered, None),
            _ if attempt.copy || endpoint.is_none() => (AttemptOutcome::Failed, None),
            (false, Some(wait)) => (
                AttemptOutcome::RetryScheduled,
                Some(later(attempt.sent_at, *wait)),
            ),
            (false, None) => (AttemptOutcome::GivenUp, None),
        };
        let (status, error) = match &answer {
            Answer::Status(status) => (Some(status.as_u16()), None),
            Answer::Error(error) => (None, Some(error.clone())),
        };
        tracing::info!(
            event_id = %attempt.event_id(),
            endpoint_id = %attempt.endpoint_id,
            url = %attempt.url,
            attempt = number,
            copy = attempt.copy,
            status,
            error,
            outcome = outcome.as_str(),
            "webhook attempt"
        );
        journal.record(AttemptEntry {
            seq: 0,
            event_id: attempt.event_id().to_owned(),
            event_type: PAYOUT_STATE_UPDATED,
            payout_id: attempt.delivery.event.payout_id.clone(),
            endpoint_id: attempt.endpoint_id.clone(),
            url: attempt.url.to_string(),
            attempt: number,
            copy: attempt.copy,
            sent_at: attempt.sent_at,
            status,
            error,
            outcome,
            next_attempt_at,
            faults: EntryFault::of(attempt.faults()),
        });
        let endpoint = endpoint?;
        if let Some(due) = next_attempt_at {
            let retry = Delivery {
                attempt: number + 1,
                held: false,
                ..attempt.delivery.clone()
            };
            let key = (due, take(next_seq));
            record(sink, || {
                WebhookChange::Delivery(endpoint.row_of(key, &retry))
            });
            endpoint.queue.insert(key, retry);
        } else if !attempt.copy {
            record(sink, || WebhookChange::DeliveryDone {
                endpoint_id: endpoint.id.clone(),
                event_id: attempt.event_id().to_owned(),
            });
        }
        let duplicate = !attempt.copy && faults::has(attempt.faults(), WebhookFault::Duplicate);
        duplicate.then(|| endpoint.attempt(attempt.delivery, now, true))
    }
}

impl Endpoint {
    fn new(url: WebhookUrl, key: Option<SigningKey>, origin: Origin, id: String) -> Self {
        Endpoint {
            id,
            url,
            key: key.unwrap_or_else(SigningKey::generate),
            origin,
            wake: Arc::new(Notify::new()),
            queue: BTreeMap::new(),
        }
    }

    fn row(&self) -> EndpointRow {
        EndpointRow {
            id: self.id.clone(),
            url: self.url.clone(),
            key: self.key.clone(),
            origin: self.origin,
        }
    }

    /// The row of `delivery`, queued at `key`.
    fn row_of(&self, key: QueueKey, delivery: &Delivery) -> DeliveryRow {
        DeliveryRow {
            endpoint_id: self.id.clone(),
            event_id: delivery.event.id.clone(),
            payout_id: delivery.event.payout_id.clone(),
            body: delivery.event.body.clone(),
            attempt: delivery.attempt,
            faults: delivery.faults.clone(),
            held: delivery.held,
            due: key,
        }
    }

    fn view(&self) -> EndpointView {
        EndpointView {
            id: self.id.clone(),
            url: self.url.to_string(),
            signing_key: self.key.expose().to_owned(),
        }
    }

    /// Queues the first attempt of `event`, due at `at` unless a fault
    /// says otherwise. Deliveries of the same payout held back for its next
    /// event (`out-of-order`) go right after this one.
    fn enqueue(
        &mut self,
        event: Arc<Event>,
        faults: Vec<Applied>,
        at: DateTime<Utc>,
        seq: &mut u64,
        mut rows: Option<&mut Vec<WebhookChange>>,
    ) {
        let held = faults::has(&faults, WebhookFault::OutOfOrder);
        let hold = if held {
            OUT_OF_ORDER_HOLD
        } else {
            Duration::ZERO
        };
        let due = later(at, faults::delay(&faults) + hold);
        let waiting: Vec<QueueKey> = self
            .queue
            .iter()
            .filter(|(_, d)| d.held && d.event.payout_id == event.payout_id)
            .map(|(key, _)| *key)
            .collect();
        let delivery = Delivery {
            event,
            attempt: 1,
            faults,
            held,
        };
        let key = (due, take(seq));
        if let Some(rows) = rows.as_deref_mut() {
            rows.push(WebhookChange::Delivery(self.row_of(key, &delivery)));
        }
        self.queue.insert(key, delivery);
        // They travel with this one: held with it if it is held too.
        for key in waiting {
            if let Some(mut delivery) = self.queue.remove(&key) {
                delivery.held = held;
                let key = (due, take(seq));
                if let Some(rows) = rows.as_deref_mut() {
                    rows.push(WebhookChange::Delivery(self.row_of(key, &delivery)));
                }
                self.queue.insert(key, delivery);
            }
        }
        self.wake.notify_one();
    }

    /// `delivery`'s attempt, signed at `now` (as its faults say).
    fn attempt(&self, delivery: Delivery, now: DateTime<Utc>, copy: bool) -> Attempt {
        let mut attempt = Attempt {
            endpoint_id: self.id.clone(),
            url: self.url.clone(),
            delivery,
            copy,
            sent_at: now,
            signature: String::new(),
        };
        let faults = attempt.faults();
        let (stale, forged) = (
            faults::has(faults, WebhookFault::StaleTimestamp),
            faults::has(faults, WebhookFault::BadSignature),
        );
        let mut t = now.timestamp();
        if stale {
            t = t.saturating_sub(i64::try_from(STALE_BY.as_secs()).unwrap_or(i64::MAX));
        }
        let other_key;
        let key = if forged {
            other_key = format!("{}{OTHER_KEY_SUFFIX}", self.key.expose());
            &other_key
        } else {
            self.key.expose()
        };
        attempt.signature = signature_header(key, t, &attempt.delivery.event.body);
        attempt
    }
}

/// Tells the sink, if any, of a change (built only when there is one).
fn record(sink: &Option<Arc<dyn WebhookSink>>, change: impl FnOnce() -> WebhookChange) {
    if let Some(sink) = sink {
        sink.push(change());
    }
}

/// The next number of a sequence.
fn take(seq: &mut u64) -> u64 {
    *seq += 1;
    *seq
}

/// `at + by`, saturating at the end of time.
fn later(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(by)
        .ok()
        .and_then(|by| at.checked_add_signed(by))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
