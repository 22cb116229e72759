//! The accept loop: each connection is served by hyper's HTTP/1 server
//! around the router, so that a response carrying [`DropConnection`] (a
//! drop-after-handling fault, after the request was handled) becomes a
//! service error, on which hyper closes the connection without writing a
//! byte of the response. Graceful shutdown: on the stop signal no new
//! connection is accepted, requests in progress finish, idle keep-alive
//! connections are closed, and `serve` returns when all are done.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
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
/// gone), then shuts down gracefully.
pub(crate) async fn serve(listener: TcpListener, app: Router, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let app = app.clone();
        let service = service_fn(move |request: Request<Incoming>| answer(app.clone(), request));
        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
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

/// Resolves once the stop signal is `true` or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// A failed accept: a connection that failed before it was accepted is
/// skipped; anything else (e.g. too many open files) is logged and waited
/// out for a moment, as axum's own server does.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accept failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
