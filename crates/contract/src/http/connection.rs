//! One HTTP/1 connection, driven by the exchange that uses it.
//!
//! hyper splits a connection in two: a [`SendRequest`] handle, and a
//! future that does the reading and writing. Usually that future is
//! spawned as a task of its own; here only the exchange using the
//! connection polls it (see [`drive`]). So an idle connection does nothing
//! at all, an exchange runs on whichever thread awaits it (no hops between
//! threads), and dropping a [`Connection`] closes its socket then and
//! there, which is what lets the pool count open connections exactly.

use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use futures::FutureExt;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, PROXY_AUTHORIZATION};
use hyper::{Request, Response, Uri};

use super::connect::Stream;

/// hyper's half of a connection that reads and writes.
type Driver = http1::Connection<Stream, Full<Bytes>>;

/// How an exchange failed once its connection was open.
#[derive(Debug, thiserror::Error)]
pub(super) enum SendError {
    #[error("the request was not answered")]
    Request(#[source] hyper::Error),
    #[error("the answer's body broke off")]
    Body(#[source] hyper::Error),
}

impl SendError {
    /// Whether the connection ended under the request before the server
    /// could have acted on it: the request was not sent at all, or (for a
    /// read, which changes nothing) no byte of an answer came. What a
    /// server's closing an idle keep-alive connection looks like when the
    /// request meets it.
    pub(super) fn ended_before_answer(&self, is_read: bool) -> bool {
        match self {
            SendError::Request(error) => {
                error.is_canceled() || (is_read && error.is_incomplete_message())
            }
            SendError::Body(_) => false,
        }
    }
}

/// A connection to a forwarding proxy (a plain-http origin behind
/// `HTTP_PROXY`): each request names its full URL, and carries the
/// proxy's credentials if it has any.
#[derive(Debug)]
pub(super) struct Forwarding {
    pub(super) authorization: Option<HeaderValue>,
}

/// An open connection, idle or used by one exchange.
#[derive(Debug)]
pub(super) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    /// `None` once the connection has ended (its socket is then closed).
    /// Boxed: hyper's state with its buffers is over a kilobyte, and a
    /// connection moves in and out of the pool at every exchange.
    driver: Option<Box<Driver>>,
    forwarding: Option<Forwarding>,
}

impl Connection {
    /// Starts HTTP/1 on `stream`.
    pub(super) async fn handshake(
        stream: Stream,
        forwarding: Option<Forwarding>,
    ) -> Result<Self, hyper::Error> {
        let (sender, driver) = http1::handshake(stream).await?;
        Ok(Connection {
            sender,
            driver: Some(Box::new(driver)),
            forwarding,
        })
    }

    /// Whether the connection can take a request now: an idle one may have
    /// been closed by the server meanwhile (its keep-alive ran out).
    pub(super) async fn is_ready(&mut self) -> bool {
        self.driver.is_some() && drive(&mut self.driver, self.sender.ready()).await.is_ok()
    }

    /// Sends `request` (its URI a full URL, its `Host` header set) and
    /// reads the whole answer.
    pub(super) async fn send(
        &mut self,
        mut request: Request<Full<Bytes>>,
    ) -> Result<Response<Bytes>, SendError> {
        match &self.forwarding {
            // A forwarding proxy gets the absolute form (`http://host/path`).
            Some(forwarding) => {
                if let Some(authorization) = &forwarding.authorization {
                    let headers = request.headers_mut();
                    headers.insert(PROXY_AUTHORIZATION, authorization.clone());
                }
            }
            // An origin server gets the origin form (`/path?query`).
            None => {
                let origin_form = request
                    .uri()
                    .path_and_query()
                    .map_or_else(|| Uri::from_static("/"), |p| Uri::from(p.clone()));
                *request.uri_mut() = origin_form;
            }
        }
        let answer = drive(&mut self.driver, self.sender.send_request(request))
            .await
            .map_err(SendError::Request)?;
        let (head, body) = answer.into_parts();
        let body = drive(&mut self.driver, body.collect())
            .await
            .map_err(SendError::Body)?
            .to_bytes();
        // A copy of its own: hyper hands the body out as a view of the
        // connection's read buffer, so an answer kept (in a cache, in a
        // sequence's history) would keep that whole buffer, and hyper
        // would take a new one for the next answer. Copied, the buffer is
        // used again and again; with kept views a run's heap peaked at
        // 11.3 MB instead of 8.8, and every new page of it is a fault.
        let body = Bytes::copy_from_slice(&body);
        Ok(Response::from_parts(head, body))
    }

    /// After a whole answer: whether another request may use the
    /// connection. Not when the server closed it (`Connection: close`) or
    /// it broke.
    pub(super) fn is_reusable(&mut self) -> bool {
        // One more turn lets hyper finish with the answer just read: it then
        // waits for the next request, or shuts the connection at the
        // server's word. Whatever is still to do happens at the next
        // `is_ready`.
        if let Some(driver) = &mut self.driver
            && driver.now_or_never().is_some()
        {
            self.driver = None;
        }
        self.driver.is_some() && !self.sender.is_closed()
    }
}

/// Runs `work` (waiting until the connection is ready, for an answer, or
/// for its body) while polling the connection that does its reading and
/// writing. When the connection ends first (closed by the server, or
/// broken), it is dropped, which closes the socket and settles `work`:
/// hyper hands it the error, or the answer that came before the end.
async fn drive<T>(driver: &mut Option<Box<Driver>>, work: impl Future<Output = T>) -> T {
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(done) = work.as_mut().poll(cx) {
            return Poll::Ready(done);
        }
        if let Some(connection) = driver
            && Pin::new(&mut **connection).poll(cx).is_ready()
        {
            *driver = None;
            return work.as_mut().poll(cx);
        }
        Poll::Pending
    })
    .await
}
