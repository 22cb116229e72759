//! The application's webhook receiver: the provider POSTs an event when a
//! payout's state changes, and the application keeps its own view of each
//! payout from them, instead of polling.
//!
//! Done right, each delivery is verified with `rafiki_client::webhooks`
//! (signature over the raw body, timestamp within the tolerance) and
//! refused otherwise; a verified event is acknowledged at once (2xx), as
//! anything else makes the provider send it again; an event is applied
//! once however often it comes (deliveries of one event share its id);
//! and, as deliveries can come in any order and the lifecycle never goes
//! back, a late event with an earlier state is acknowledged and changes
//! nothing. `GET /payouts/{id}` shows the view: the payout as the event
//! that set its state carried it, plus `events_applied`, the count of
//! events applied to it (what lets `rafiki-contract webhooks --observe`
//! see a duplicate applied twice).
//!
//! Four classic bugs can be switched on ([`ReceiverBugs`]);
//! `rafiki-contract webhooks` reports each of them, and nothing when they
//! are off.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use rafiki_client::types::{Payout, PayoutStateUpdatedEvent};
use rafiki_client::webhooks::{Event, SIGNATURE_HEADER, SigningKey, WebhookError, verify_event};
use rafiki_rules::lifecycle::{StateCode, reachable};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The planted bugs of the receiver; all off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverBugs {
    /// The signature is checked only when the header is there: a delivery
    /// without one is taken as it comes.
    pub no_signature_check: bool,
    /// The signature's timestamp is not checked: a captured event can be
    /// replayed at any time.
    pub no_timestamp_check: bool,
    /// Events are not deduplicated: each delivery of one event is applied.
    pub duplicate_applied_twice: bool,
    /// The last event to arrive sets the state, even an older one.
    pub stale_event_applied: bool,
}

/// How the receiver runs.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    pub signing_key: SigningKey,
    /// How far a signature's timestamp may be from this machine's clock.
    pub tolerance: Duration,
    pub bugs: ReceiverBugs,
}

impl ReceiverConfig {
    /// Verifies with `signing_key`, the default tolerance, no bug.
    pub fn new(signing_key: SigningKey) -> Self {
        ReceiverConfig {
            signing_key,
            tolerance: rafiki_client::webhooks::DEFAULT_TOLERANCE,
            bugs: ReceiverBugs::default(),
        }
    }
}

/// A running receiver; it stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
}

impl Receiver {
    /// Listens on `addr` (port 0: an ephemeral one).
    pub async fn start(config: ReceiverConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = router(config);
        let task = tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Receiver { addr, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the provider sends events.
    pub fn webhook_url(&self) -> String {
        format!("http://{}/webhooks", self.addr)
    }

    /// Where the view of a payout is, `{id}` standing for its id.
    pub fn view_template(&self) -> String {
        format!("http://{}/payouts/{{id}}", self.addr)
    }

    /// Serves until the server fails.
    pub async fn wait(mut self) -> std::io::Result<()> {
        match (&mut self.task).await {
            Ok(served) => served,
            Err(join) => Err(std::io::Error::other(join)),
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `POST /webhooks` and `GET /payouts/{id}`.
pub fn router(config: ReceiverConfig) -> Router {
    let state = Arc::new(App {
        config,
        store: Mutex::default(),
    });
    Router::new()
        .route("/webhooks", post(receive))
        .route("/payouts/{id}", get(view))
        .with_state(state)
}

struct App {
    config: ReceiverConfig,
    store: Mutex<Store>,
}

#[derive(Default)]
struct Store {
    /// Ids of the events applied.
    applied: HashSet<String>,
    payouts: HashMap<String, Known>,
}

/// What the application knows of a payout.
struct Known {
    /// As the event that set its state carried it.
    payout: Payout,
    events_applied: u64,
}

async fn receive(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    match app.verify(&headers, &body) {
        Ok(event) => {
            app.apply(event);
            StatusCode::NO_CONTENT.into_response()
        }
        // The provider sends it again, and a forger learns nothing more.
        Err(WebhookError::Signature(_)) => StatusCode::UNAUTHORIZED.into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

async fn view(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let store = app
        .store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match store.payouts.get(&id) {
        Some(known) => {
            let mut shown = serde_json::to_value(&known.payout).unwrap_or(Value::Null);
            shown["events_applied"] = json!(known.events_applied);
            Json(shown).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl App {
    /// The event a delivery carries, if it is to be believed.
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Event, WebhookError> {
        let bugs = self.config.bugs;
        if bugs.no_signature_check && !headers.contains_key(SIGNATURE_HEADER) {
            return unsigned(body);
        }
        let tolerance = match bugs.no_timestamp_check {
            true => Duration::MAX,
            false => self.config.tolerance,
        };
        verify_event(
            headers,
            body,
            &self.config.signing_key,
            tolerance,
            SystemTime::now(),
        )
    }

    /// Applies `event` once, keeping each payout's furthest state.
    fn apply(&self, event: Event) {
        let bugs = self.config.bugs;
        let Event::PayoutStateUpdated { id, payout, .. } = event else {
            // Acknowledged, as every event is; nothing here needs it.
            return;
        };
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let first_time = store.applied.insert(id);
        if !first_time && !bugs.duplicate_applied_twice {
            return;
        }
        let payout_id = payout.id.to_string();
        match store.payouts.get_mut(&payout_id) {
            None => {
                let known = Known {
                    payout: *payout,
                    events_applied: 1,
                };
                store.payouts.insert(payout_id, known);
            }
            Some(known) => {
                known.events_applied += 1;
                if bugs.stale_event_applied || later(&known.payout, &payout) {
                    known.payout = *payout;
                }
            }
        }
    }
}

/// Whether `new`'s state comes after `old`'s in the lifecycle.
fn later(old: &Payout, new: &Payout) -> bool {
    let code = |payout: &Payout| payout.state.code.to_string().parse::<StateCode>().ok();
    match (code(old), code(new)) {
        (Some(old), Some(new)) => reachable(old, new),
        _ => false,
    }
}

/// The bug `no_signature_check`: the body read as it came.
fn unsigned(body: &[u8]) -> Result<Event, WebhookError> {
    let event: PayoutStateUpdatedEvent =
        serde_json::from_slice(body).map_err(|e| WebhookError::NotAnEvent(e.to_string()))?;
    Ok(Event::PayoutStateUpdated {
        id: event.id.to_string(),
        created_at: *event.created_at,
        payout: Box::new(event.data),
    })
}
