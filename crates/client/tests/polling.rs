//! `wait_for_final_state` against a server whose payout moves on.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{client, payout_json};
use rafiki_client::{Error, PollOptions, WaitFor, types::PayoutStateCode};

/// Serves `GET /payouts/pyt-1` walking through `states`, one per poll.
async fn walking(states: &'static [&'static str]) -> (String, Arc<AtomicUsize>) {
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = polls.clone();
    let app = Router::new().route(
        "/payouts/pyt-1",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move { axum::Json(serde_json::json!({"data": payout_json("pyt-1", states[n.min(states.len() - 1)])})) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base_url, polls)
}

fn fast(until: WaitFor, timeout: Duration) -> PollOptions {
    PollOptions {
        until,
        timeout,
        initial_interval: Duration::from_millis(1),
        max_interval: Duration::from_millis(5),
    }
}

#[tokio::test]
async fn settled_stops_at_sent_and_final_waits_for_reversed() {
    let (base_url, polls) = walking(&["PENDING", "PENDING", "SENT", "SENT", "REVERSED"]).await;
    let api = client(&base_url);
    let sent = api
        .wait_for_final_state("pyt-1", &fast(WaitFor::Settled, Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(sent.state.code, PayoutStateCode::Sent);
    assert_eq!(polls.load(Ordering::SeqCst), 3);
    let reversed = api
        .wait_for_final_state("pyt-1", &fast(WaitFor::Final, Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(reversed.state.code, PayoutStateCode::Reversed);
}

#[tokio::test]
async fn a_payout_that_never_settles_hits_the_deadline() {
    let (base_url, _) = walking(&["PENDING"]).await;
    let error = client(&base_url)
        .wait_for_final_state("pyt-1", &fast(WaitFor::Settled, Duration::from_millis(50)))
        .await
        .unwrap_err();
    match error {
        Error::PollDeadline {
            payout_id,
            last_state,
            ..
        } => {
            assert_eq!(
                (payout_id.as_str(), last_state.as_str()),
                ("pyt-1", "PENDING")
            );
        }
        other => panic!("{other:?}"),
    }
}
