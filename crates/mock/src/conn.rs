//! Serving the router: the workspace's one accept loop (`rafiki_serve`)
//! around it. Each request goes through `traffic` (rate limit, faults,
//! journal) to the router, and gets its line in the `request_log`; a
//! response carrying [`DropConnection`] (a drop-after-handling fault, after
//! the request was handled) becomes a service error, on which hyper closes
//! the connection without writing a byte of the response.
//!
//! These two run here, around the router, rather than as axum middleware:
//! they see every request either way, and as two `from_fn` layers they
//! cost about a quarter of the mock's GET throughput (`docs/performance.md`).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::service::service_fn;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::extract::account_of;
use crate::request_log::RequestLine;
use crate::store::Store;
use crate::traffic::traffic;

/// Marks a response that must not reach the client: the connection is
/// closed instead, before any byte of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

/// What hyper gets instead of a response marked [`DropConnection`].
#[derive(Debug, thiserror::Error)]
#[error("connection closed on purpose after the request was handled (drop-after-handling fault)")]
struct DroppedOnPurpose;

/// Serves `app` on `listener` until `stop` turns `true` (or its sender is
/// gone), then shuts down gracefully (`rafiki_serve`).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    store: Arc<Store>,
    stop: watch::Receiver<bool>,
) {
    let options = rafiki_serve::Options::default();
    rafiki_serve::serve(listener, options, stop, move || {
        let (app, store) = (app.clone(), store.clone());
        service_fn(move |request: Request<Incoming>| answer(app.clone(), store.clone(), request))
    })
    .await;
}

/// The answer to `request`, or [`DroppedOnPurpose`] for one marked
/// [`DropConnection`].
async fn answer(
    app: Router,
    store: Arc<Store>,
    request: Request<Incoming>,
) -> Result<Response, DroppedOnPurpose> {
    let request = request.map(Body::new);
    let account = account_of(request.headers(), &store).cloned();
    let line = RequestLine::start(&request, account.as_deref());
    let response = traffic(&store, account, request, |request| async move {
        app.oneshot(request)
            .await
            .unwrap_or_else(|never| match never {})
    })
    .await;
    let dropped = response.extensions().get::<DropConnection>().is_some();
    if let Some(line) = line {
        line.finish(response.status(), dropped);
    }
    if dropped {
        Err(DroppedOnPurpose)
    } else {
        Ok(response)
    }
}
