//! A webhook receiver: verifies each delivery, acknowledges it at once and
//! applies each event exactly once, keeping every payout's furthest state.
//!
//! ```sh
//! RAFIKI_WEBHOOK_SIGNING_KEY=... cargo run -p rafiki-client --example webhook_receiver -- --port 8090
//! ```
//!
//! Then configure `http://<this host>:8090/webhooks` as a callback URL.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Router, routing::post};
use clap::Parser;
use rafiki_client::webhooks::{self, DEFAULT_TOLERANCE, Event, SigningKey, WebhookError};
use rafiki_rules::lifecycle::{self, StateCode};

#[derive(Parser)]
#[command(about = "Receive Rafiki webhooks on POST /webhooks")]
struct Args {
    /// The port to listen on, on 127.0.0.1.
    #[arg(long, default_value_t = 8090)]
    port: u16,
}

/// The environment variable that holds the signing key (never an argument:
/// arguments show in process lists).
const KEY_VAR: &str = "RAFIKI_WEBHOOK_SIGNING_KEY";

struct Receiver {
    key: SigningKey,
    applied: Mutex<Applied>,
}

/// What the events have done so far. A real receiver keeps this in its
/// database and records an event's id in the same transaction as its
/// effect, so that a crash between the two cannot apply it twice.
#[derive(Default)]
struct Applied {
    /// Ids of the events applied: a delivery sent again carries the same id.
    events: HashSet<String>,
    /// The furthest state seen per payout id.
    states: HashMap<String, StateCode>,
}

impl Applied {
    /// Applies `event` unless it was applied before; returns whether a
    /// payout's state changed.
    fn apply(&mut self, event: Event) -> bool {
        if !self.events.insert(event.id().to_owned()) {
            return false;
        }
        let Event::PayoutStateUpdated { payout, .. } = event else {
            // Not a type we act on; acknowledged all the same.
            return false;
        };
        let new: StateCode = payout
            .state
            .code
            .to_string()
            .parse()
            .expect("the spec and rafiki-rules list the same states");
        let known = self.states.get(payout.id.as_str()).copied();
        // Events may arrive in any order, and the lifecycle never goes
        // back: only a state further along is news (a late PENDING after
        // SENT changes nothing).
        if known.is_some_and(|known| !lifecycle::reachable(known, new)) {
            return false;
        }
        self.states.insert(payout.id.to_string(), new);
        true
    }
}

/// Verifies, then answers at once: the sender retries anything but a 2xx,
/// so slow work belongs after the answer (a queue), not before it.
async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let now = SystemTime::now();
    match webhooks::verify_event(&headers, &body, &receiver.key, DEFAULT_TOLERANCE, now) {
        Ok(event) => {
            let (id, type_name) = (event.id().to_owned(), event.type_name().to_owned());
            let changed = receiver.applied.lock().expect("not poisoned").apply(event);
            println!(
                "{type_name} {id}: {}",
                if changed { "applied" } else { "no change" }
            );
            StatusCode::NO_CONTENT
        }
        // Not shown to come from the provider.
        Err(error @ WebhookError::Signature(_)) => {
            eprintln!("refused: {error}");
            StatusCode::UNAUTHORIZED
        }
        Err(error) => {
            eprintln!("refused: {error}");
            StatusCode::BAD_REQUEST
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match serve(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> Result<()> {
    let key = SigningKey::from_env(KEY_VAR)
        .with_context(|| format!("set {KEY_VAR} to the signing key the portal shows"))?;
    let receiver = Arc::new(Receiver {
        key,
        applied: Mutex::default(),
    });
    let app = Router::new()
        .route("/webhooks", post(receive))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("binding port {}", args.port))?;
    println!("listening on http://{}/webhooks", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafiki_client::types;
    use serde_json::json;

    fn state_updated(event_id: &str, state: &str) -> Event {
        let payout: types::Payout = serde_json::from_value(json!({
            "id": "pyt-1", "amount": {"value": "1500.00", "currency": "KES"},
            "payment_account_id": "pac-1", "wallet_id": "wlt-1",
            "state": {"code": state}, "created_at": "2026-01-31T09:30:00Z"
        }))
        .unwrap();
        Event::PayoutStateUpdated {
            id: event_id.into(),
            created_at: "2026-01-31T09:31:00Z".parse().unwrap(),
            payout: Box::new(payout),
        }
    }

    #[test]
    fn each_event_once_and_only_states_further_along() {
        let mut applied = Applied::default();
        assert!(applied.apply(state_updated("wbh-1", "PENDING")));
        assert!(applied.apply(state_updated("wbh-2", "SENT")));
        assert!(
            !applied.apply(state_updated("wbh-2", "SENT")),
            "a duplicate"
        );
        assert!(!applied.apply(state_updated("wbh-3", "PENDING")), "late");
        assert!(!applied.apply(state_updated("wbh-4", "FAILED")), "a branch");
        assert!(applied.apply(state_updated("wbh-5", "REVERSED")));
        assert_eq!(applied.states["pyt-1"], StateCode::Reversed);
    }
}
