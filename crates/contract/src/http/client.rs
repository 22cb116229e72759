//! [`Client`]: sends [`Probe`]s to one server and returns [`Exchange`]s,
//! at most `--workers` at a time, each on a connection of its own from a
//! [`Pool`] that never holds more than that many.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue, USER_AGENT};
use hyper::{Request, Response};
use hyper_util::client::proxy::matcher::Matcher;
use tokio::sync::{Mutex, Semaphore};

use super::connect::{BoxError, Connector, Origin};
use super::connection::SendError;
use super::pool::Pool;
use super::{Answer, Exchange, KeySlot, Keys, Probe, describe};

const USER_AGENT_VALUE: &str = concat!("rafiki-contract/", env!("CARGO_PKG_VERSION"));

/// Why an exchange has no answer.
#[derive(Debug, thiserror::Error)]
enum ExchangeError {
    #[error("`{0}` is not a URL")]
    NotAUrl(String, #[source] url::ParseError),
    #[error("`{0}` is not an http or https URL")]
    NotHttp(String),
    #[error("the request cannot be made")]
    Request(#[source] hyper::http::Error),
    #[error("cannot connect to {0}")]
    Connect(Origin, #[source] BoxError),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("no whole answer within {0:?}")]
    TimedOut(Duration),
}

/// Sends probes to one server: at most `in_flight` requests at a time, on
/// at most that many connections, and at most `rate` per second.
#[derive(Debug)]
pub struct Client {
    pool: Pool,
    base_url: String,
    keys: Keys,
    timeout: Duration,
    pacing: Option<(Duration, Mutex<Instant>)>,
    in_flight: Semaphore,
    max_in_flight: usize,
    sent: AtomicU64,
}

impl Client {
    /// A client of the server at `base_url`, through the proxy the
    /// environment names for it (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`),
    /// if any.
    pub fn new(
        base_url: &str,
        keys: Keys,
        timeout: Duration,
        rate_limit: Option<u32>,
        in_flight: usize,
    ) -> Self {
        let in_flight = in_flight.max(1);
        let connector = Connector::new(
            Matcher::from_env(),
            HeaderValue::from_static(USER_AGENT_VALUE),
        );
        let pacing = rate_limit
            .filter(|r| *r > 0)
            .map(|r| (Duration::from_secs(1) / r, Mutex::new(Instant::now())));
        Client {
            pool: Pool::new(connector, in_flight),
            base_url: base_url.trim_end_matches('/').to_string(),
            keys,
            timeout,
            pacing,
            in_flight: Semaphore::new(in_flight),
            max_in_flight: in_flight,
            sent: AtomicU64::new(0),
        }
    }

    /// The same client, through the proxies `proxies` names instead of the
    /// environment's (tests).
    #[cfg(test)]
    fn with_proxies(self, proxies: Matcher) -> Self {
        let connector = Connector::new(proxies, HeaderValue::from_static(USER_AGENT_VALUE));
        Client {
            pool: Pool::new(connector, self.max_in_flight),
            ..self
        }
    }

    /// How many requests may be in flight at once (`--workers`).
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The URL of the mock's control API path `path` (`/_sandbox/...`),
    /// which lives beside `/v1`, not under it.
    pub fn control_url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches("/v1"))
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn has_secondary_key(&self) -> bool {
        self.keys.secondary.is_some()
    }

    /// Sends a probe and records the exchange (never fails: a transport
    /// error is part of the exchange). Dropping the future cancels the
    /// exchange; its connection is closed, not reused.
    pub async fn send(&self, probe: Probe) -> Exchange {
        let _slot = self.in_flight.acquire().await.expect("never closed");
        // Boxed, so that the futures of checks awaiting exchanges (moved
        // about whole, one per generated case) stay small.
        Box::pin(self.send_in_slot(probe)).await
    }

    /// Sends `probes` at the same moment: they wait until that many
    /// requests may be in flight together (at most
    /// [`Client::max_in_flight`]; extra probes are not sent).
    pub async fn send_together(&self, mut probes: Vec<Probe>) -> Vec<Exchange> {
        probes.truncate(self.max_in_flight);
        let slots = u32::try_from(probes.len()).expect("a handful");
        let _slots = self
            .in_flight
            .acquire_many(slots)
            .await
            .expect("never closed");
        futures::future::join_all(probes.into_iter().map(|p| self.send_in_slot(p))).await
    }

    /// Sends a probe once a slot is held.
    async fn send_in_slot(&self, probe: Probe) -> Exchange {
        self.pace().await;
        self.sent.fetch_add(1, Ordering::Relaxed);
        let url = self.url_for(&probe);
        let started = Instant::now();
        let answer = tokio::time::timeout(self.timeout, self.try_send(&probe, &url))
            .await
            .unwrap_or(Err(ExchangeError::TimedOut(self.timeout)))
            .map_err(|e| describe(&e));
        Exchange {
            probe,
            url,
            answer,
            elapsed: started.elapsed(),
        }
    }

    fn url_for(&self, probe: &Probe) -> String {
        let base = if probe.target.starts_with("http://") || probe.target.starts_with("https://") {
            probe.target.clone()
        } else {
            format!("{}{}", self.base_url, probe.target)
        };
        if probe.query.is_empty() {
            return base;
        }
        match url::Url::parse(&base) {
            Ok(mut url) => {
                url.query_pairs_mut().extend_pairs(&probe.query);
                url.to_string()
            }
            Err(_) => base,
        }
    }

    async fn try_send(&self, probe: &Probe, url: &str) -> Result<Answer, ExchangeError> {
        let parsed = url::Url::parse(url).map_err(|e| ExchangeError::NotAUrl(url.into(), e))?;
        let origin = Origin::of(&parsed).ok_or_else(|| ExchangeError::NotHttp(url.into()))?;
        let request = self.request(probe, &parsed)?;
        let mut lease = self
            .pool
            .lease(&origin)
            .await
            .map_err(|e| ExchangeError::Connect(origin, e))?;
        let response = lease.connection().send(request).await?;
        lease.give_back();
        Ok(answer(response))
    }

    /// The request for `probe`, its URI the full `url` (the connection
    /// cuts it to the path and query for an origin server).
    fn request(
        &self,
        probe: &Probe,
        url: &url::Url,
    ) -> Result<Request<Full<Bytes>>, ExchangeError> {
        let authority = &url[url::Position::BeforeHost..url::Position::AfterPort];
        let mut request = Request::builder()
            .method(probe.method.clone())
            .uri(&url[..url::Position::AfterQuery])
            .header(HOST, authority)
            .header(USER_AGENT, USER_AGENT_VALUE)
            // As reqwest sent it, so servers see the requests they saw.
            .header(ACCEPT, "*/*");
        let bearer = match &probe.key {
            KeySlot::Primary => Some(format!("Bearer {}", self.keys.primary)),
            KeySlot::Secondary => self.keys.secondary.as_ref().map(|k| format!("Bearer {k}")),
            KeySlot::PrimaryWithoutScheme => Some(self.keys.primary.clone()),
            KeySlot::None => None,
            KeySlot::Literal(value) => Some(value.clone()),
        };
        if let Some(bearer) = bearer {
            request = request.header(AUTHORIZATION, bearer);
        }
        if let Some(key) = &probe.idempotency_key {
            request = request.header(rafiki_rules::idempotency::HEADER, key);
        }
        let mut body = Bytes::new();
        if let Some(json) = &probe.body {
            body = Bytes::from(json.to_string());
            if let Some(content_type) = probe.body_type {
                request = request.header(CONTENT_TYPE, content_type);
            }
        }
        request
            .body(Full::new(body))
            .map_err(ExchangeError::Request)
    }

    async fn pace(&self) {
        if let Some((gap, next)) = &self.pacing {
            let mut next = next.lock().await;
            let now = Instant::now();
            if *next > now {
                tokio::time::sleep(*next - now).await;
            }
            *next = (*next).max(now) + *gap;
        }
    }
}

fn answer(response: Response<Bytes>) -> Answer {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.into_body();
    Answer {
        status,
        content_type,
        json: serde_json::from_slice(&body).ok(),
        body,
    }
}

#[cfg(test)]
mod tests;
