//! `rafiki-serve`: the one accept loop of the workspace's HTTP/1 servers
//! (`rafiki-mock` and the contract suite's proxy). Each connection is
//! served by hyper's HTTP/1 server around the caller's service. On the stop
//! signal no new connection is accepted, requests in progress finish, idle
//! keep-alive connections are closed, and [`serve`] returns once all are
//! done (or once the drain bound passed, when there is one).

use std::error::Error as StdError;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How a server's connections are served.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Whether hyper adds a `Date` header (a proxy passes its upstream's on
    /// instead).
    pub date_header: bool,
    /// How long connections may take to finish once stopped; `None`: as
    /// long as they need.
    pub drain: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            date_header: true,
            drain: None,
        }
    }
}

/// Serves `listener`'s connections with a service made by `service` for
/// each, until `stop` turns `true` (or its sender is gone), then shuts
/// down gracefully.
pub async fn serve<M, S, B>(
    listener: TcpListener,
    options: Options,
    mut stop: watch::Receiver<bool>,
    service: M,
) where
    M: Fn() -> S,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.auto_date_header(options.date_header);
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
        let _ = stream.set_nodelay(true);
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service()));
        tokio::spawn(async move {
            // An error here is a connection closed or dropped, on either side.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed");
            }
        });
    }
    drop(listener);
    match options.drain {
        Some(bound) => {
            let _ = tokio::time::timeout(bound, graceful.shutdown()).await;
        }
        None => graceful.shutdown().await,
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
/// out for a moment, as axum's own server does, rather than spun on.
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

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::service::service_fn;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn serves_until_stopped_then_returns() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(listener, Options::default(), stopped, || {
            service_fn(|_request| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hi"))))
            })
        }));
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("hi"), "{answer}");
        stop.send(true).unwrap();
        server.await.unwrap();
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
