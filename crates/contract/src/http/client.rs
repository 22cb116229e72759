//! [`Client`]: sends [`Probe`]s to one server and returns [`Exchange`]s,
//! at most `--workers` at a time, each on a connection of its own from a
//! [`Pool`] that never holds more than that many.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue, USER_AGENT,
};
use hyper::{Method, Request, Response};
use hyper_util::client::proxy::matcher::Matcher;
use tokio::sync::Semaphore;

use super::connect::{BoxError, Connector, Origin};
use super::connection::SendError;
use super::pace::{self, Limited, Pace};
use super::pool::Pool;
use super::{Answer, Exchange, KeySlot, Keys, Probe, body_bytes, describe};

/// The most times one request is sent while the server answers 429.
pub const RATE_LIMITED_TRIES: u32 = 8;
/// How often a request answered by a gateway (502, 504, or a 503 that is
/// not the API's outage) is sent again before the answer is judged.
const GATEWAY_RETRIES: u32 = 2;
/// The longest `Retry-After` the run waits out; a server that asks for
/// more has the request given up on.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(60);

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
    #[error("the API key has characters an Authorization header cannot carry")]
    KeyNotAHeader,
    #[error("the {0} header cannot carry its value")]
    NotAHeader(&'static str),
    #[error("cannot connect to {0}")]
    Connect(Origin, #[source] BoxError),
    #[error(transparent)]
    Send(#[from] SendError),
    /// The timeout, with the option that sets it, so that a slow server's
    /// user knows what to raise.
    #[error("{NO_ANSWER_IN_TIME} {} s ({}; raise it for a slow server)", .0.as_secs_f64(), .1)]
    TimedOut(Duration, &'static str),
}

/// How a request that ran out of its timeout is described: the start of
/// its exchange's error ([`crate::http::Exchange::timed_out`]).
pub(crate) const NO_ANSWER_IN_TIME: &str = "no whole answer within";

/// Whether a gateway failed the request: 502, 504, or a 503 that is not
/// the API's documented outage of a recipient's bank or operator.
fn failed_at_gateway(exchange: &Exchange) -> bool {
    let status = exchange.status();
    matches!(status, 502 | 504) || (status == 503 && !exchange.is_recipient_unavailable())
}

/// Sends probes to one server: at most `in_flight` requests at a time, on
/// at most that many connections, and at most `rate` per second.
#[derive(Debug)]
pub struct Client {
    pool: Pool,
    base_url: String,
    /// The `Authorization` values of the keys, made once (the keys are
    /// not kept otherwise).
    bearers: Bearers,
    timeout: Duration,
    /// The option that sets `timeout`, named when a request runs out of it.
    timeout_option: &'static str,
    pace: Pace,
    /// Nothing is sent again (after a 429) past this: the run's end.
    deadline: Option<Instant>,
    in_flight: Semaphore,
    max_in_flight: usize,
    sent: AtomicU64,
    /// Whether a gateway's failure is sent again ([`GATEWAY_RETRIES`]):
    /// for the API, not for an application's pages.
    retries_gateway: bool,
    /// Set once a gateway failure outlasted its retries: it is the
    /// server's state, not a blip, and later ones are judged at once.
    gateway_down: AtomicBool,
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
        let base_url = base_url.trim_end_matches('/').to_string();
        Client {
            pool: Pool::new(connector, in_flight),
            base_url,
            bearers: Bearers::of(&keys),
            timeout,
            timeout_option: "--request-timeout",
            pace: Pace::new(rate_limit),
            deadline: None,
            in_flight: Semaphore::new(in_flight),
            max_in_flight: in_flight,
            sent: AtomicU64::new(0),
            retries_gateway: true,
            gateway_down: AtomicBool::new(false),
        }
    }

    /// A client that carries no API key (its probes name none: it sends
    /// webhook events and reads an application's pages), whose timeout
    /// is set by `timeout_option`.
    pub fn without_keys(timeout: Duration, timeout_option: &'static str, in_flight: usize) -> Self {
        let keys = Keys {
            primary: String::new(),
            secondary: None,
        };
        // Every probe of such a client names a full URL.
        let client = Client::new("", keys, timeout, None, in_flight);
        Client {
            timeout_option,
            retries_gateway: false,
            ..client
        }
    }

    /// Whether a connection to the origin of `url` opens within the
    /// timeout (it is kept for the next request); why not, when it does not.
    pub async fn connect_to(&self, url: &str) -> Result<(), String> {
        let parsed =
            url::Url::parse(url).map_err(|e| describe(&ExchangeError::NotAUrl(url.into(), e)))?;
        let origin =
            Origin::of(&parsed).ok_or_else(|| describe(&ExchangeError::NotHttp(url.into())))?;
        let _slot = self.in_flight.acquire().await.expect("never closed");
        let lease = tokio::time::timeout(self.timeout, self.pool.lease(&origin))
            .await
            .map_err(|_| describe(&ExchangeError::TimedOut(self.timeout, self.timeout_option)))?
            .map_err(|e| describe(&ExchangeError::Connect(origin, e)))?;
        lease.give_back();
        Ok(())
    }

    /// The same client, sending nothing again after a 429 past `deadline`.
    pub fn until(self, deadline: Instant) -> Self {
        Client {
            deadline: Some(deadline),
            ..self
        }
    }

    /// How often the server limited the run so far, and how long it waited.
    pub fn limited(&self) -> Limited {
        self.pace.limited_so_far()
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
        self.bearers.secondary.is_some()
    }

    /// Sends a probe and records the exchange (never fails: a transport
    /// error is part of the exchange). A 429 is not an answer: the probe
    /// is sent again, unchanged (its idempotency key too), after the wait
    /// the server asks for, at most [`RATE_LIMITED_TRIES`] times and never
    /// past the run's deadline; then the exchange is [`Exchange::unjudged`].
    /// Dropping the future cancels the exchange; its connection is closed,
    /// not reused.
    pub async fn send(&self, mut probe: Probe) -> Exchange {
        let (mut tries, mut at_gateway) = (0, 0);
        loop {
            let exchange = {
                let _slot = self.in_flight.acquire().await.expect("never closed");
                // Boxed, so that the futures of checks awaiting exchanges
                // (moved about whole, one per generated case) stay small.
                Box::pin(self.send_in_slot(probe)).await
            };
            tries += 1;
            at_gateway += u32::from(failed_at_gateway(&exchange));
            match self.after_limit(exchange, tries, at_gateway) {
                AfterLimit::Done(exchange) => return exchange,
                AfterLimit::Again(wait, again) => {
                    tokio::time::sleep(wait).await;
                    probe = again;
                }
            }
        }
    }

    /// What follows `exchange`, the `tries`-th of its probe, of which
    /// `at_gateway` a gateway failed.
    fn after_limit(&self, exchange: Exchange, tries: u32, at_gateway: u32) -> AfterLimit {
        if let Some(wait) = self.gateway_retry(&exchange, at_gateway) {
            return AfterLimit::Again(wait, exchange.probe);
        }
        let Some(retry_after) = exchange
            .answer
            .as_ref()
            .ok()
            .filter(|a| a.status == 429)
            .map(|a| a.retry_after)
        else {
            if exchange.answer.is_ok() {
                self.pace.answered();
            }
            return AfterLimit::Done(exchange);
        };
        let wait = retry_after.unwrap_or_else(|| pace::backoff(tries));
        self.pace.limited(exchange.sent_at, wait);
        let past_deadline = self.deadline.is_some_and(|d| Instant::now() + wait >= d);
        let why = if tries >= RATE_LIMITED_TRIES {
            format!("still rate limited (HTTP 429) after {tries} tries")
        } else if wait > LONGEST_RETRY_AFTER {
            format!(
                "rate limited (HTTP 429): the server asked to wait {} s",
                wait.as_secs()
            )
        } else if past_deadline {
            "rate limited (HTTP 429) until after the run's end (--max-duration)".to_string()
        } else {
            return AfterLimit::Again(wait, exchange.probe);
        };
        self.pace.gave_up();
        AfterLimit::Done(Exchange {
            answer: Err(why),
            unjudged: true,
            ..exchange
        })
    }

    /// How long to wait before sending again a request a gateway failed
    /// (502, 504, a 503 without the API's outage code): a real sandbox's
    /// load balancer fails a request now and then, and any server or
    /// gateway may (docs/contract.md, "Errors"). Sent again with its
    /// idempotency key, at most [`GATEWAY_RETRIES`] times (`at_gateway`
    /// counts the probe's gateway failures, not its 429s); one that still
    /// fails is judged, and so is every gateway failure after it.
    fn gateway_retry(&self, exchange: &Exchange, at_gateway: u32) -> Option<Duration> {
        if !failed_at_gateway(exchange)
            || !self.retries_gateway
            || self.gateway_down.load(Ordering::Relaxed)
        {
            return None;
        }
        if at_gateway > GATEWAY_RETRIES {
            self.gateway_down.store(true, Ordering::Relaxed);
            return None;
        }
        let retry_after = exchange.answer.as_ref().ok().and_then(|a| a.retry_after);
        let wait = retry_after
            .unwrap_or_else(|| pace::backoff(at_gateway))
            .min(LONGEST_RETRY_AFTER);
        let past_deadline = self.deadline.is_some_and(|d| Instant::now() + wait >= d);
        (!past_deadline).then_some(wait)
    }

    /// Sends `probes` at the same moment: they wait until that many
    /// requests may be in flight together (at most
    /// [`Client::max_in_flight`]; extra probes are not sent). Those the
    /// server limits are sent again one by one, as [`Client::send`] does.
    pub async fn send_together(&self, mut probes: Vec<Probe>) -> Vec<Exchange> {
        probes.truncate(self.max_in_flight);
        let slots = u32::try_from(probes.len()).expect("a handful");
        let first = {
            let _slots = self
                .in_flight
                .acquire_many(slots)
                .await
                .expect("never closed");
            futures::future::join_all(probes.into_iter().map(|p| self.send_in_slot(p))).await
        };
        let mut exchanges = Vec::with_capacity(first.len());
        for exchange in first {
            let at_gateway = u32::from(failed_at_gateway(&exchange));
            exchanges.push(match self.after_limit(exchange, 1, at_gateway) {
                AfterLimit::Done(exchange) => exchange,
                AfterLimit::Again(wait, probe) => {
                    tokio::time::sleep(wait).await;
                    self.send(probe).await
                }
            });
        }
        exchanges
    }

    /// Sends a probe once a slot is held.
    async fn send_in_slot(&self, probe: Probe) -> Exchange {
        let sent_at = self.pace.turn().await;
        self.sent.fetch_add(1, Ordering::Relaxed);
        let url = self.url_for(&probe);
        let answer = tokio::time::timeout(self.timeout, self.try_send(&probe, &url))
            .await
            .unwrap_or(Err(ExchangeError::TimedOut(
                self.timeout,
                self.timeout_option,
            )))
            .map_err(|e| describe(&e));
        Exchange {
            probe,
            url,
            answer,
            sent_at,
            unjudged: false,
        }
    }

    /// The full URL of `probe`: its path below the base URL, or the full
    /// URL it names (a `next` link), with its query.
    fn url_for(&self, probe: &Probe) -> String {
        if is_absolute(&probe.target) {
            let mut url = probe.target.clone();
            if !probe.query.is_empty()
                && let Ok(mut parsed) = url::Url::parse(&url)
            {
                parsed.query_pairs_mut().extend_pairs(&probe.query);
                url = parsed.into();
            }
            return url;
        }
        let mut url = format!("{}{}", self.base_url, probe.target);
        if !probe.query.is_empty() {
            url.push(if probe.target.contains('?') { '&' } else { '?' });
            url.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&probe.query)
                    .finish(),
            );
        }
        url
    }

    /// Sends `probe` once. A connection taken from the pool may have been
    /// closed by the server as it was taken (its keep-alive ran out, which
    /// HTTP allows at any time): a request it ends before the server could
    /// act on it goes again, on the next idle connection or a new one (each
    /// such connection is dropped, so this ends with the idle ones).
    async fn try_send(&self, probe: &Probe, url: &str) -> Result<Answer, ExchangeError> {
        let is_read = probe.method == Method::GET;
        loop {
            let (origin, request) = self.request(probe, url)?;
            let mut lease = self
                .pool
                .lease(&origin)
                .await
                .map_err(|e| ExchangeError::Connect(origin, e))?;
            let reused = lease.is_reused();
            match lease.connection().send(request).await {
                Ok(response) => {
                    lease.give_back();
                    return Ok(self.answer(response));
                }
                Err(error) if reused && error.ended_before_answer(is_read) => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    fn answer(&self, response: Response<Bytes>) -> Answer {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = response
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| super::retry_after(v, chrono::Utc::now()));
        let body = response.into_body();
        Answer {
            status,
            content_type,
            json: serde_json::from_slice(&body).ok().map(Arc::new),
            body,
            retry_after,
        }
    }

    /// The origin to connect to and the request for `probe` at `url`, its
    /// URI the full URL (the connection cuts it to the path and query for
    /// an origin server).
    fn request(
        &self,
        probe: &Probe,
        url: &str,
    ) -> Result<(Origin, Request<Full<Bytes>>), ExchangeError> {
        let parsed = url::Url::parse(url).map_err(|e| ExchangeError::NotAUrl(url.into(), e))?;
        let origin = Origin::of(&parsed).ok_or_else(|| ExchangeError::NotHttp(url.into()))?;
        let authority = &parsed[url::Position::BeforeHost..url::Position::AfterPort];
        let uri = &parsed[..url::Position::AfterQuery];
        let bearer = match &probe.key {
            KeySlot::Primary => Some(self.bearers.primary.clone()),
            KeySlot::Secondary => self.bearers.secondary.clone(),
            KeySlot::PrimaryWithoutScheme => Some(self.bearers.primary_without_scheme.clone()),
            KeySlot::PrimaryExtended => Some(self.bearers.primary_extended.clone()),
            KeySlot::None => None,
            KeySlot::Literal(value) => Some(HeaderValue::try_from(value.as_str()).ok()),
        };
        let (body, content_type) = match &probe.body {
            Some(json) => (Bytes::from(body_bytes(json)), probe.body_type),
            None => (Bytes::new(), None),
        };
        let mut request = Request::builder()
            .method(probe.method.clone())
            .uri(uri)
            .header(HOST, authority)
            .header(USER_AGENT, USER_AGENT_VALUE)
            // As reqwest sent it, so servers see the requests they saw.
            .header(ACCEPT, "*/*")
            // Bodies are judged as sent: without this header a server may
            // compress them (RFC 9110, 12.5.3), which the checks do not undo.
            .header(ACCEPT_ENCODING, "identity");
        if let Some(bearer) = bearer {
            request = request.header(AUTHORIZATION, bearer.ok_or(ExchangeError::KeyNotAHeader)?);
        }
        if let Some(key) = &probe.idempotency_key {
            request = request.header(rafiki_rules::idempotency::HEADER, key.as_str());
        }
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let mut request = request
            .body(Full::new(body))
            .map_err(ExchangeError::Request)?;
        for (name, value) in &probe.headers {
            let header = hyper::header::HeaderName::try_from(*name)
                .ok()
                .zip(HeaderValue::try_from(value.as_str()).ok())
                .ok_or(ExchangeError::NotAHeader(name))?;
            request.headers_mut().insert(header.0, header.1);
        }
        Ok((origin, request))
    }
}

/// What follows an exchange the server may have limited.
enum AfterLimit {
    /// It is the answer (or the request was given up on, still limited).
    Done(Exchange),
    /// A 429: the probe goes again after the wait.
    Again(Duration, Probe),
}

/// Whether `target` is a full URL rather than a path below the base URL.
fn is_absolute(target: &str) -> bool {
    target.starts_with("http://") || target.starts_with("https://")
}

/// The `Authorization` header values of the keys (`None`: the key has
/// characters no header can carry).
#[derive(Debug)]
struct Bearers {
    primary: Option<HeaderValue>,
    primary_without_scheme: Option<HeaderValue>,
    primary_extended: Option<HeaderValue>,
    secondary: Option<Option<HeaderValue>>,
}

impl Bearers {
    fn of(keys: &Keys) -> Self {
        let header = |text: String| {
            let mut value = HeaderValue::try_from(text).ok()?;
            value.set_sensitive(true);
            Some(value)
        };
        Bearers {
            primary: header(format!("Bearer {}", keys.primary)),
            primary_without_scheme: header(keys.primary.clone()),
            primary_extended: header(format!("Bearer {}{}", keys.primary, super::EXTENSION)),
            secondary: keys
                .secondary
                .as_ref()
                .map(|k| header(format!("Bearer {k}"))),
        }
    }
}

#[cfg(test)]
mod cap;
#[cfg(test)]
mod tests;
