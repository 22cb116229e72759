//! Serving the router: the workspace's one accept loop (`rafiki_serve`)
//! around it, so that a response carrying [`DropConnection`] (a
//! drop-after-handling fault, after the request was handled) becomes a
//! service error, on which hyper closes the connection without writing a
//! byte of the response.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::service::service_fn;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

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
pub(crate) async fn serve(listener: TcpListener, app: Router, stop: watch::Receiver<bool>) {
    let options = rafiki_serve::Options::default();
    rafiki_serve::serve(listener, options, stop, move || {
        let app = app.clone();
        service_fn(move |request: Request<Incoming>| answer(app.clone(), request))
    })
    .await;
}

/// The router's response, or [`DroppedOnPurpose`] for one marked
/// [`DropConnection`].
async fn answer(app: Router, request: Request<Incoming>) -> Result<Response, DroppedOnPurpose> {
    let response = app
        .oneshot(request.map(Body::new))
        .await
        .unwrap_or_else(|never| match never {});
    if response.extensions().get::<DropConnection>().is_some() {
        tracing::info!(
            status = response.status().as_u16(),
            "connection dropped after handling (fault)"
        );
        Err(DroppedOnPurpose)
    } else {
        Ok(response)
    }
}
