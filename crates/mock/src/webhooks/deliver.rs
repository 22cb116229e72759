//! The endpoints' tasks and the HTTP requests they make. Each endpoint has
//! one task: it takes the next attempt due on the mock's clock from the
//! account's [`Outbox`] (under its lock), sends it (without), records the
//! answer, and otherwise waits: for a wake-up (an event queued, the clock
//! advanced, the endpoint deleted), for the next due time when the clock
//! is the system's, or for the server to stop.
//!
//! The client is hyper's (the mock already serves with hyper), plain HTTP.
//!
//! With a state file an attempt waits until every change made before it is
//! on disk ([`CommitGate`]): no event tells of a change a crash could lose.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::Request;
use axum::http::header::{CONTENT_TYPE, USER_AGENT};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rafiki_rules::webhooks::{PAYOUT_STATE_UPDATED, SIGNATURE_HEADER, TYPE_HEADER};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::ATTEMPT_TIMEOUT;
use super::outbox::{Answer, Attempt, Outbox, Step};
use crate::clock::Clock;
use crate::commit::CommitGate;

/// The longest a task sleeps with nothing due (a wake-up comes anyway).
const IDLE: Duration = Duration::from_secs(3600);

/// What every endpoint's task shares: the HTTP client, the clock, the
/// stop signal and the tasks themselves (so shutdown can wait for them).
pub(crate) struct Deliverer {
    client: Client<HttpConnector, Full<Bytes>>,
    clock: Arc<dyn Clock>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// With a state file: when changes are on disk.
    gate: Option<Arc<CommitGate>>,
}

impl Deliverer {
    pub fn new(clock: Arc<dyn Clock>, gate: Option<Arc<CommitGate>>) -> Self {
        Deliverer {
            client: Client::builder(TokioExecutor::new()).build_http(),
            clock,
            stop: watch::Sender::new(false),
            tasks: Mutex::new(Vec::new()),
            gate,
        }
    }

    /// Starts the task of endpoint `endpoint_id` of `outbox`.
    pub fn spawn(self: &Arc<Self>, outbox: Arc<Outbox>, endpoint_id: String, wake: Arc<Notify>) {
        let task = tokio::spawn(self.clone().work(outbox, endpoint_id, wake));
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|task| !task.is_finished());
        tasks.push(task);
    }

    /// Tells every task to stop (an attempt in flight is abandoned).
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// [`Deliverer::stop`], then waits for the tasks to end.
    pub async fn shutdown(&self) {
        self.stop();
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "webhook task ended abnormally");
            }
        }
    }

    /// One endpoint's loop (see the module docs).
    async fn work(self: Arc<Self>, outbox: Arc<Outbox>, endpoint_id: String, wake: Arc<Notify>) {
        let mut stop = self.stop.subscribe();
        loop {
            if *stop.borrow_and_update() {
                return;
            }
            let now = self.clock.now();
            match outbox.next(&endpoint_id, now) {
                Step::Gone => return,
                Step::Send(attempt) => {
                    if let Some(gate) = &self.gate {
                        outbox.before_attempt();
                        let settled = tokio::select! {
                            settled = gate.settled() => settled,
                            _ = stop.changed() => return,
                        };
                        if let Err(error) = settled {
                            tracing::error!(%error, "webhook deliveries stopped");
                            return;
                        }
                    }
                    let mut next = Some(attempt);
                    while let Some(attempt) = next.take() {
                        let answer = tokio::select! {
                            answer = self.send(&attempt) => answer,
                            _ = stop.changed() => return,
                        };
                        next = outbox.record(attempt, answer, self.clock.now());
                    }
                }
                Step::Wait(due) => {
                    // A manual clock moves only when a test advances it,
                    // which wakes the task: no wall-clock sleep is due.
                    let sleep = match (self.clock.as_manual(), due) {
                        (None, Some(due)) => (due - now).to_std().unwrap_or(Duration::ZERO),
                        _ => IDLE,
                    };
                    tokio::select! {
                        () = wake.notified() => {}
                        () = tokio::time::sleep(sleep) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
    }

    /// Sends one attempt: its status, or why there is none.
    async fn send(&self, attempt: &Attempt) -> Answer {
        let request = Request::post(attempt.url.uri().clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, super::USER_AGENT)
            .header(TYPE_HEADER, PAYOUT_STATE_UPDATED)
            .header(SIGNATURE_HEADER, &attempt.signature)
            .body(Full::new(attempt.body()));
        let request = match request {
            Ok(request) => request,
            Err(error) => return Answer::Error(format!("could not build the request: {error}")),
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, self.client.request(request)).await {
            Ok(Ok(response)) => Answer::Status(response.status()),
            Ok(Err(error)) => Answer::Error(causes(&error)),
            Err(_) => Answer::Error(format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())),
        }
    }
}

/// An error and its sources, `: `-separated (hyper's own message alone is
/// "client error (Connect)").
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
