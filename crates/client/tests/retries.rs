//! `create_payout` retries against a scripted server, for what the real
//! mock never sends: a 500 whose body is not the API's, a 422 that stops
//! at once, no server at all. The transient answers the mock can inject
//! (503, 502, 429, 409 IDEMPOTENCY_RACE, a connection dropped after the
//! payout was created), the bound on attempts and a `Retry-After` beyond
//! the policy are tested against the real mock in
//! `tests/tests/client_retries_against_faults.rs` (crate rafiki-e2e).

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use common::{client, create_request, error_json, payout_json};
use rafiki_client::Error;

/// A server that answers each `POST /payouts` with the next scripted
/// answer (repeating the last), and records the idempotency keys it saw.
struct Scripted {
    base_url: String,
    keys: Arc<Mutex<Vec<String>>>,
}

async fn scripted(answers: Vec<(u16, &'static str, serde_json::Value)>) -> Scripted {
    let keys = Arc::new(Mutex::new(Vec::new()));
    let seen = keys.clone();
    let answers = Arc::new(answers);
    let app = Router::new().route(
        "/payouts",
        post(move |headers: HeaderMap| {
            let seen = seen.clone();
            let answers = answers.clone();
            async move {
                let key = headers
                    .get("x-idempotency-key")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(key);
                    seen.len() - 1
                };
                let (status, retry_after, body) = answers[n.min(answers.len() - 1)].clone();
                let mut response =
                    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
                if !retry_after.is_empty() {
                    response
                        .headers_mut()
                        .insert("retry-after", retry_after.parse().unwrap());
                }
                response
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Scripted { base_url, keys }
}

#[tokio::test]
async fn a_500_with_a_foreign_body_is_retried_too() {
    // progenitor cannot decode "oops" as the error body and drops the status.
    let server = scripted(vec![
        (500, "", serde_json::json!("oops")),
        (
            202,
            "",
            serde_json::json!({"data": payout_json("pyt-1", "PENDING")}),
        ),
    ])
    .await;
    let created = client(&server.base_url)
        .create_payout(&create_request(), None)
        .await
        .unwrap();
    assert_eq!(created.attempts, 2);
    let keys = server.keys.lock().unwrap().clone();
    assert_eq!(
        keys,
        [created.idempotency_key.clone(), created.idempotency_key]
    );
}

#[tokio::test]
async fn a_422_stops_at_once_and_hands_back_the_key() {
    let server = scripted(vec![(422, "", error_json("VALIDATION_FAILED"))]).await;
    let error = client(&server.base_url)
        .create_payout(&create_request(), Some("my-key"))
        .await
        .unwrap_err();
    assert!(matches!(error.error, Error::Validation(_)));
    assert_eq!(
        (error.attempts, error.idempotency_key.as_str()),
        (1, "my-key")
    );
    assert_eq!(server.keys.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_as_transport() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = client(&base_url)
        .create_payout(&create_request(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error.error, Error::Transport(_)),
        "{:?}",
        error.error
    );
    assert_eq!(error.attempts, 3);
}
