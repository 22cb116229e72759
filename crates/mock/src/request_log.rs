//! One log line per answered request: method, path, status, the account
//! as its redacted key (never the key) and the time taken.
//!
//! A refusal (status 400 and above, an injected fault's answer included) is
//! logged at `info`, so the default log shows every request a team needs to
//! look at. An answer a client expects (below 400) is logged at `debug`
//! (`RUST_LOG=rafiki_mock=debug` shows it): a sandbox under load would
//! otherwise spend about a quarter of its time writing lines nobody reads
//! (`docs/performance.md`), and the request journal keeps every request
//! anyway (`GET /_sandbox/requests`).
//!
//! The line is an event of its own, with no span around the request:
//! events a handler logs (a control action, an injected fault) carry the
//! account themselves.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use tokio::time::Instant;
use tracing::Level;

use crate::extract::account_of;
use crate::server::AppState;

/// The middleware (see the module docs); the outermost layer, so the line
/// shows the answer sent, whoever made it.
pub(crate) async fn request_log(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // Nothing is kept unless some line could be written: a filter of
    // `warn` costs this layer one look-up.
    if !tracing::enabled!(Level::INFO) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let account = account_of(request.headers(), &app.store).map(|cell| cell.label().to_owned());
    let response = next.run(request).await;
    let status = response.status();
    let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    // `tracing`'s macros take the level as a constant: one arm each.
    if is_refusal(status) {
        tracing::info!(%method, %path, status = status.as_u16(), account, latency_us, "answered");
    } else {
        tracing::debug!(%method, %path, status = status.as_u16(), account, latency_us, "answered");
    }
    response
}

/// Whether an answer is logged at `info` rather than `debug`.
fn is_refusal(status: StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}
