//! Forwarding, byte for byte: every request the application sends goes to
//! the upstream as it came (method, path and query, headers, body), and
//! the upstream's answer goes back as it came (status, headers, body). A
//! copy of both sides ([`Captured`]) is handed to the judge *after* the
//! answer is on its way, so judging never delays the application.
//!
//! What does change is per connection, as for any HTTP proxy: `Host` names
//! the upstream, and hop-by-hop headers (`Connection`, `Keep-Alive`,
//! `Transfer-Encoding`, ...) belong to each side's own connection. When the
//! upstream drops the connection without an answer, the proxy drops the
//! application's connection too (it does not invent a 502); only an
//! upstream that cannot be reached at all gets a 502 from the proxy.
//!
//! Before the first, [`Upstream::check`] asks the upstream whether it is
//! the API at all, with the client that will forward.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::ProxyError;
use super::judge::Message;
use crate::http::connect::{https_over, tcp};
use crate::http::describe;
use crate::judge::recognise::{self, Recognised};

/// How long a stopping proxy lets requests in flight finish.
const DRAIN: Duration = Duration::from_secs(5);
/// How long the first request to the upstream may take (as long as `run`
/// gives a request by default).
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// Headers that belong to one connection, never forwarded (RFC 9110
/// §7.6.1), plus `Host`, which names the upstream instead.
const PER_CONNECTION: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// One request and what became of it, as the application sent it and as
/// the upstream answered.
#[derive(Debug, Clone)]
pub struct Captured {
    /// When the request arrived (wall clock, for the record).
    pub at: SystemTime,
    /// When the request arrived and when its answer left (or was lost).
    pub started: Instant,
    pub finished: Instant,
    pub method: hyper::Method,
    /// The path and query, as sent.
    pub path_and_query: String,
    pub request_headers: HeaderMap,
    pub request_body: Bytes,
    pub outcome: Outcome,
}

/// What the application got.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The upstream's answer, passed on unchanged.
    Answered {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    /// The upstream closed the connection without (a whole) answer; the
    /// application's connection was closed the same way.
    Dropped(String),
    /// The upstream could not be reached; the proxy answered 502.
    Unreachable(String),
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// Where to forward to, and the client that forwards.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The base URL as given (`https://host/v1`).
    base_url: String,
    /// `scheme://authority`, without a path.
    origin: String,
    /// The `Host` value forwarded requests carry.
    host: HeaderValue,
    client: HyperClient<Connector, Full<Bytes>>,
}

impl Upstream {
    /// The origin of `base_url` (`https://host/v1` → `https://host`).
    pub fn new(base_url: &str) -> Result<Self, String> {
        let uri: Uri = base_url
            .parse()
            .map_err(|e| format!("--upstream `{base_url}` is not a URL: {e}"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(format!(
                "--upstream `{base_url}` needs a scheme and a host (http://127.0.0.1:8080/v1)"
            ));
        };
        if scheme != "http" && scheme != "https" {
            return Err(format!("--upstream `{base_url}`: only http and https"));
        }
        let host = HeaderValue::from_str(authority.as_str())
            .map_err(|e| format!("--upstream `{base_url}`: {e}"))?;
        let https = https_over(tcp())
            .map_err(|e| format!("no TLS root certificates for an https upstream: {e}"))?;
        Ok(Upstream {
            base_url: base_url.trim_end_matches('/').to_string(),
            origin: format!("{scheme}://{authority}"),
            host,
            client: HyperClient::builder(TokioExecutor::new()).build(https),
        })
    }

    /// Asks `GET {base}/wallets`, without a key (the proxy has none), and
    /// judges the answer as `run` judges its first (`judge::recognise`):
    /// the API answers 401 in its error envelope (or serves the list, or
    /// limits the rate). Anything else, or no answer, says why not.
    pub async fn check(&self) -> Result<Recognised, ProxyError> {
        let url = format!("{}{}", self.base_url, recognise::PATH);
        let unreachable = |reason: String| ProxyError::Unreachable {
            url: self.base_url.clone(),
            reason,
        };
        let request = Request::get(url.as_str())
            .header(HOST, self.host.clone())
            .header(ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| unreachable(e.to_string()))?;
        let answer = async {
            let (head, body) = self.client.request(request).await?.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((head.status, body))
        };
        let (status, body) = match tokio::time::timeout(CHECK_TIMEOUT, answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => return Err(unreachable(first_cause(&*error))),
            Err(_) => {
                return Err(unreachable(format!(
                    "GET {} got no answer within {} s",
                    recognise::PATH,
                    CHECK_TIMEOUT.as_secs()
                )));
            }
        };
        let json = serde_json::from_slice(&body).ok();
        recognise::recognise(&self.base_url, "--upstream", status.as_u16(), json.as_ref()).map_err(
            |why| ProxyError::NotTheApi {
                url: self.base_url.clone(),
                why,
            },
        )
    }
}

/// What went wrong at bottom (`connection refused`, a TLS certificate),
/// without the layers that only wrap it.
fn first_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    match cause.to_string() {
        text if text.is_empty() => describe(error),
        text => text,
    }
}

/// Sends what the application sent, and hands a copy to the judge.
struct Forwarder {
    upstream: Upstream,
    judge: mpsc::UnboundedSender<Message>,
}

/// A listening proxy: stop it with [`Listening::stop`].
pub struct Listening {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Listening {
    /// Stops accepting, lets requests in flight finish (for a few seconds
    /// at most), and returns once every connection is closed.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Listens on `listener` (at `addr`) and forwards to `upstream`; every
/// exchange is sent to `judge`.
pub fn serve(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: Upstream,
    judge: mpsc::UnboundedSender<Message>,
) -> Listening {
    let forwarder = Arc::new(Forwarder { upstream, judge });
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, forwarder, stopped));
    Listening { addr, stop, task }
}

/// Serves the proxy's connections (`rafiki_serve`, the workspace's one
/// accept loop) until stopped; requests in flight get [`DRAIN`] to finish.
async fn accept_loop(
    listener: TcpListener,
    forwarder: Arc<Forwarder>,
    stopped: watch::Receiver<bool>,
) {
    let options = rafiki_serve::Options {
        // The upstream's Date header (if any) is passed on; none is added.
        date_header: false,
        drain: Some(DRAIN),
    };
    rafiki_serve::serve(listener, options, stopped, move || {
        let forwarder = forwarder.clone();
        hyper::service::service_fn(move |request| {
            let forwarder = forwarder.clone();
            async move { forwarder.forward(request).await }
        })
    })
    .await;
}

/// A request the proxy answers by closing the connection (the upstream did).
#[derive(Debug, thiserror::Error)]
#[error("the upstream closed the connection without an answer")]
struct DropConnection;

impl Forwarder {
    async fn forward(
        &self,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, DropConnection> {
        let (at, started) = (SystemTime::now(), Instant::now());
        let (parts, body) = request.into_parts();
        // An application that stops sending its body mid-way gets nothing.
        let body = body.collect().await.map_err(|_| DropConnection)?.to_bytes();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
        let mut upstream = Request::builder()
            .method(parts.method.clone())
            .uri(format!("{}{path_and_query}", self.upstream.origin))
            .body(Full::new(body.clone()))
            .map_err(|_| DropConnection)?;
        *upstream.headers_mut() = end_to_end(&parts.headers);
        upstream
            .headers_mut()
            .insert(HOST, self.upstream.host.clone());
        let (outcome, response) = match self.upstream.client.request(upstream).await {
            Ok(answer) => {
                let (head, body) = answer.into_parts();
                match body.collect().await {
                    Ok(body) => {
                        let body = body.to_bytes();
                        let headers = end_to_end(&head.headers);
                        let mut response = Response::new(Full::new(body.clone()));
                        *response.status_mut() = head.status;
                        *response.headers_mut() = headers.clone();
                        let outcome = Outcome::Answered {
                            status: head.status,
                            headers,
                            body,
                        };
                        (outcome, Ok(response))
                    }
                    Err(error) => (
                        Outcome::Dropped(format!("the answer's body broke off: {error}")),
                        Err(DropConnection),
                    ),
                }
            }
            Err(error) if error.is_connect() => {
                let why = first_cause(&error);
                (Outcome::Unreachable(why.clone()), Ok(unreachable(&why)))
            }
            Err(error) => (Outcome::Dropped(describe(&error)), Err(DropConnection)),
        };
        let _ = self.judge.send(Message::Exchange(Box::new(Captured {
            at,
            started,
            finished: Instant::now(),
            method: parts.method,
            path_and_query,
            request_headers: parts.headers,
            request_body: body,
            outcome,
        })));
        response
    }
}

/// `headers` without the per-connection ones (and without `Host`).
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let listed_in_connection: Vec<HeaderName> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    let mut kept = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let per_connection = name == HOST
            || PER_CONNECTION.contains(&name.as_str())
            || listed_in_connection.contains(name);
        if !per_connection {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

/// The proxy's own answer when the upstream cannot be reached.
fn unreachable(why: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "code": "PROXY_UPSTREAM_UNREACHABLE",
        "message": format!("rafiki-contract proxy could not reach the upstream: {why}"),
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_connection_headers_stay_behind() {
        let mut headers = HeaderMap::new();
        headers.insert("connection", HeaderValue::from_static("close, x-hop"));
        headers.insert("x-hop", HeaderValue::from_static("1"));
        headers.insert("host", HeaderValue::from_static("127.0.0.1:9"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        headers.append("x-kept", HeaderValue::from_static("a"));
        headers.append("x-kept", HeaderValue::from_static("b"));
        headers.insert("authorization", HeaderValue::from_static("Bearer k"));
        let kept = end_to_end(&headers);
        let names: Vec<&str> = kept.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-kept", "authorization"]);
        assert_eq!(kept.get_all("x-kept").iter().count(), 2);
    }

    #[test]
    fn the_upstream_is_an_origin() {
        let upstream = Upstream::new("https://rest.sandbox.rafiki-api.com/v1").unwrap();
        assert_eq!(upstream.origin, "https://rest.sandbox.rafiki-api.com");
        assert_eq!(upstream.host, "rest.sandbox.rafiki-api.com");
        assert!(Upstream::new("127.0.0.1:8080").is_err());
        assert!(Upstream::new("ftp://x/v1").is_err());
    }
}
