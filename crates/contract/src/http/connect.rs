//! Opening connections: TCP, TLS for https (the system's root
//! certificates), and the proxy the environment names, read as curl reads
//! it (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`). An https
//! origin behind a proxy is reached through a `CONNECT` tunnel; a plain
//! http one by talking to the proxy itself, which then forwards each
//! request (see [`Forwarding`]).
//!
//! [`https_over`] and [`tcp`] are also how the validating proxy
//! (the proxy's forwarding) reaches its upstream.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use hyper::Uri;
use hyper::header::HeaderValue;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use super::connection::{Connection, Forwarding};

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a connection reads and writes: TLS (for an https origin) over the
/// first hop, which is TCP, or TLS to an https proxy.
pub(super) type Stream = MaybeHttpsStream<MaybeHttpsStream<TokioIo<TcpStream>>>;

/// TCP for `http` and `https` URIs alike, with `TCP_NODELAY`: a request
/// leaves at once instead of waiting to fill a segment.
pub(crate) fn tcp() -> HttpConnector {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp
}

/// `inner`'s connections, in TLS when the URI is `https` (checked against
/// the system's root certificates; HTTP/1 only).
pub(crate) fn https_over<C>(inner: C) -> std::io::Result<HttpsConnector<C>> {
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .wrap_connector(inner))
}

/// Where a connection goes: scheme, host and port (`https://host:8443`,
/// a default port left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Origin(Uri);

impl Origin {
    /// The origin of `url`; `None` unless it is an http or https URL.
    pub(super) fn of(url: &url::Url) -> Option<Self> {
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        url.origin().ascii_serialization().parse().ok().map(Origin)
    }

    fn is_https(&self) -> bool {
        self.0.scheme_str() == Some("https")
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A `Uri` of only a scheme and an authority prints a `/` after them.
        write!(f, "{}", self.0.to_string().trim_end_matches('/'))
    }
}

/// Opens HTTP/1 connections to origins, straight or through the proxy the
/// environment names for them.
#[derive(Debug)]
pub(super) struct Connector {
    proxies: Arc<Matcher>,
    user_agent: HeaderValue,
    /// Made at the first connection that may need TLS (an https origin, or
    /// any proxy): loading the system's root certificates costs a few
    /// milliseconds, and fails on a machine without them, which a run
    /// against an http server need not care about.
    tls: OnceLock<Result<Tls, String>>,
}

/// The connectors that speak TLS.
#[derive(Debug)]
struct Tls {
    /// TCP, in TLS for an https URI: to a proxy.
    direct: HttpsConnector<HttpConnector>,
    /// TLS to an https origin over its [`FirstHop`].
    https: HttpsConnector<FirstHop>,
}

impl Connector {
    /// A connector that uses the proxies `proxies` names (usually
    /// `Matcher::from_env()`); `user_agent` also goes with a `CONNECT`.
    pub(super) fn new(proxies: Matcher, user_agent: HeaderValue) -> Self {
        Connector {
            proxies: Arc::new(proxies),
            user_agent,
            tls: OnceLock::new(),
        }
    }

    fn tls(&self) -> Result<&Tls, BoxError> {
        let tls = self.tls.get_or_init(|| {
            let direct = https_over(tcp()).map_err(|e| e.to_string())?;
            let https = https_over(FirstHop {
                proxies: self.proxies.clone(),
                tcp: tcp(),
                to_proxy: direct.clone(),
                user_agent: self.user_agent.clone(),
            })
            .map_err(|e| e.to_string())?;
            Ok(Tls { direct, https })
        });
        tls.as_ref().map_err(|error| {
            format!("cannot load the system's TLS root certificates: {error}").into()
        })
    }

    /// A new connection to `origin`.
    pub(super) async fn open(&self, origin: &Origin) -> Result<Connection, BoxError> {
        let (stream, forwarding) = if origin.is_https() {
            let stream = self.tls()?.https.clone().call(origin.0.clone()).await?;
            (stream, None)
        } else {
            match self.proxies.intercept(&origin.0) {
                None => {
                    let stream = tcp().call(origin.0.clone()).await?;
                    (MaybeHttpsStream::Http(MaybeHttpsStream::Http(stream)), None)
                }
                Some(proxy) => {
                    let stream = self.tls()?.direct.clone().call(proxy.uri().clone()).await?;
                    let forwarding = Forwarding {
                        authorization: proxy.basic_auth().cloned(),
                    };
                    (MaybeHttpsStream::Http(stream), Some(forwarding))
                }
            }
        };
        Ok(Connection::handshake(stream, forwarding).await?)
    }
}

/// What an https origin's TLS runs over: TCP to the origin, or a `CONNECT`
/// tunnel through the proxy the environment names for it.
#[derive(Debug, Clone)]
struct FirstHop {
    proxies: Arc<Matcher>,
    tcp: HttpConnector,
    to_proxy: HttpsConnector<HttpConnector>,
    user_agent: HeaderValue,
}

impl Service<Uri> for FirstHop {
    type Response = MaybeHttpsStream<TokioIo<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Both connectors are always ready; each call clones what it needs.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, origin: Uri) -> Self::Future {
        match self.proxies.intercept(&origin) {
            None => {
                let connecting = self.tcp.call(origin);
                Box::pin(async move { Ok(MaybeHttpsStream::Http(connecting.await?)) })
            }
            Some(proxy) => {
                let mut headers = hyper::HeaderMap::new();
                headers.insert(hyper::header::USER_AGENT, self.user_agent.clone());
                let mut tunnel =
                    Tunnel::new(proxy.uri().clone(), self.to_proxy.clone()).with_headers(headers);
                if let Some(authorization) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(authorization.clone());
                }
                let tunnelling = tunnel.call(origin);
                Box::pin(async move { Ok(tunnelling.await?) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        let origin = |url: &str| Origin::of(&url::Url::parse(url).unwrap());
        let base = origin("http://127.0.0.1:8080/v1/payouts?limit=2").unwrap();
        assert_eq!(base.to_string(), "http://127.0.0.1:8080");
        assert_eq!(Some(base), origin("http://127.0.0.1:8080/_sandbox/health"));
        assert_eq!(
            origin("https://api.example:443/v1").unwrap().to_string(),
            "https://api.example"
        );
        assert_ne!(
            origin("http://localhost:8080"),
            origin("http://127.0.0.1:8080")
        );
        assert_eq!(origin("ftp://files.example/x"), None);
    }

    #[tokio::test]
    async fn an_http_origin_loads_no_tls_roots() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}/v1", listener.local_addr().unwrap()));
        let connector = Connector::new(Matcher::builder().build(), HeaderValue::from_static("t"));
        let origin = Origin::of(&url.unwrap()).unwrap();
        let (opened, accepted) = tokio::join!(connector.open(&origin), listener.accept());
        assert!(opened.is_ok() && accepted.is_ok());
        assert!(connector.tls.get().is_none(), "TLS was set up for http");
    }
}
