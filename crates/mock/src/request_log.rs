//! One log line per request: method, path, status, the account as its
//! redacted key (never the key) and the time taken.
//!
//! A refusal (status 400 and above, an injected fault's answer included)
//! and a connection dropped on purpose are logged at `info`, so the default
//! log shows every request a team needs to look at. An answer a client
//! expects (below 400) is logged at `debug` (`RUST_LOG=rafiki_mock=debug`
//! shows it): a sandbox under load would otherwise spend about a fifth of
//! its time writing lines nobody reads (`docs/performance.md`), and the
//! request journal keeps every request anyway (`GET /_sandbox/requests`).
//!
//! The line is an event of its own, with no span around the request:
//! events logged while a request is handled (a control action, an injected
//! fault) carry the account themselves.

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use tokio::time::Instant;
use tracing::Level;

use crate::store::AccountCell;

/// A request being answered, until its line is written.
pub(crate) struct RequestLine {
    started: Instant,
    method: Method,
    path: String,
    account: Option<String>,
}

impl RequestLine {
    /// Notes `request` of `account` as it arrives; `None` when the log
    /// filter would write no line for it whatever its answer.
    pub fn start(request: &Request, account: Option<&AccountCell>) -> Option<RequestLine> {
        if !tracing::enabled!(Level::INFO) {
            return None;
        }
        Some(RequestLine {
            started: Instant::now(),
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            account: account.map(|cell| cell.label().to_owned()),
        })
    }

    /// Writes the line for the answer `status`, or for the connection
    /// closed instead of sending it (`dropped`).
    pub fn finish(self, status: StatusCode, dropped: bool) {
        let RequestLine {
            started,
            method,
            path,
            account,
        } = self;
        let status = status.as_u16();
        let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        // `tracing`'s macros take the level as a constant: one arm each.
        if dropped {
            tracing::info!(%method, %path, status, account, latency_us, "connection dropped after handling (fault): the client got no answer");
        } else if status >= 400 {
            tracing::info!(%method, %path, status, account, latency_us, "answered");
        } else {
            tracing::debug!(%method, %path, status, account, latency_us, "answered");
        }
    }
}
