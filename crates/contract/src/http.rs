//! Talking to the server under test: one [`Probe`] per request, answered by
//! an [`Exchange`] that keeps both sides for checks and reproductions.
//!
//! Only HTTP is used, so the suite works against any server. API keys are
//! never stored in an exchange: requests name the key they use
//! ([`KeySlot`]), and reproductions print it as `$RAFIKI_API_KEY`.

pub(crate) mod connect;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rafiki_rules::wire::ErrorCode;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};

/// Which credentials a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySlot {
    /// The main key (`--api-key`).
    Primary,
    /// The second account's key (`--api-key-2`).
    Secondary,
    /// The main key without the `Bearer ` scheme, as the provider's
    /// generated examples send it.
    PrimaryWithoutScheme,
    /// No `Authorization` header at all.
    None,
    /// This literal header value (for wrong-key probes; never a real key).
    Literal(String),
}

impl KeySlot {
    fn curl_header(&self) -> Option<String> {
        match self {
            KeySlot::Primary => Some("\"Authorization: Bearer $RAFIKI_API_KEY\"".into()),
            KeySlot::Secondary => Some("\"Authorization: Bearer $RAFIKI_API_KEY_2\"".into()),
            KeySlot::PrimaryWithoutScheme => Some("\"Authorization: $RAFIKI_API_KEY\"".into()),
            KeySlot::None => None,
            KeySlot::Literal(value) => Some(shell_quote(&format!("Authorization: {value}"))),
        }
    }
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The spec's operationId, when the request targets a documented operation.
    pub operation: Option<&'static str>,
    pub method: Method,
    /// Either a path below the base URL (`/payouts`) or a full URL (a `next` link).
    pub target: String,
    pub query: Vec<(String, String)>,
    pub key: KeySlot,
    pub idempotency_key: Option<String>,
    pub body: Option<Value>,
    /// The `Content-Type` the body is sent with; `None` sends none.
    pub body_type: Option<&'static str>,
}

/// The one content type of every request body the API documents.
pub const JSON: &str = "application/json";

impl Probe {
    pub fn get(operation: &'static str, path: impl Into<String>) -> Self {
        Probe {
            operation: Some(operation),
            method: Method::GET,
            target: path.into(),
            query: Vec::new(),
            key: KeySlot::Primary,
            idempotency_key: None,
            body: None,
            body_type: Some(JSON),
        }
    }

    pub fn post(operation: &'static str, path: impl Into<String>, body: Value) -> Self {
        Probe {
            method: Method::POST,
            body: Some(body),
            ..Probe::get(operation, path)
        }
    }

    /// `POST /payouts` with a fresh idempotency key.
    pub fn create_payout(body: Value) -> Self {
        Probe {
            idempotency_key: Some(uuid::Uuid::new_v4().to_string()),
            ..Probe::post("create_payout", "/payouts", body)
        }
    }

    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_string(), value.into()));
        self
    }

    pub fn key(mut self, key: KeySlot) -> Self {
        self.key = key;
        self
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    /// The body parsed as JSON, when it was JSON.
    pub json: Option<Value>,
    /// The raw body (cut to a few KiB) for reports.
    pub text: String,
}

/// A request and its answer (or the transport error).
#[derive(Debug, Clone)]
pub struct Exchange {
    pub probe: Probe,
    /// The full URL that was requested.
    pub url: String,
    pub answer: Result<Answer, String>,
    pub elapsed: Duration,
}

impl Exchange {
    /// The status, or 0 when there was no answer.
    pub fn status(&self) -> u16 {
        self.answer.as_ref().map_or(0, |a| a.status)
    }

    /// The JSON body, if any.
    pub fn json(&self) -> Option<&Value> {
        self.answer.as_ref().ok().and_then(|a| a.json.as_ref())
    }

    /// `errors.fields` keys of an error body.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()
            .and_then(|j| j.pointer("/errors/fields"))
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A payout answer's `data.state.code`.
    pub fn payout_state(&self) -> Option<&str> {
        self.json()
            .and_then(|j| j.pointer("/data/state/code"))
            .and_then(Value::as_str)
    }

    /// The error body's `code`.
    pub fn error_code(&self) -> Option<&str> {
        self.json()
            .and_then(|j| j.get("code"))
            .and_then(Value::as_str)
    }

    /// Whether the answer is the error `code` with the status the API pairs
    /// it with (`rafiki_rules::wire::ErrorCode::http_status`).
    pub fn is_error(&self, code: ErrorCode) -> bool {
        self.status() == code.http_status() && self.error_code() == Some(code.as_str())
    }

    /// A documented 503 on creating a payout: the recipient's bank or
    /// mobile-money operator cannot take payouts for the moment, and
    /// nothing was created (`docs/contract.md#errors`).
    pub fn is_recipient_unavailable(&self) -> bool {
        self.status() == 503 && ErrorCode::carried_by(503).any(|code| self.is_error(code))
    }

    /// A request that was never sent, and why.
    pub fn not_sent(probe: Probe, why: &str) -> Self {
        Exchange {
            url: probe.target.clone(),
            probe,
            answer: Err(why.to_string()),
            elapsed: Duration::ZERO,
        }
    }

    /// A one-line summary of the answer for reports.
    pub fn summary(&self) -> String {
        match &self.answer {
            Ok(a) => format!("HTTP {} {}", a.status, cut(&a.text, 400)),
            Err(e) => format!("no answer: {e}"),
        }
    }

    /// A shell command that sends the same request; keys appear as
    /// `$RAFIKI_API_KEY` / `$RAFIKI_API_KEY_2`.
    pub fn curl(&self) -> String {
        let mut parts = vec![
            "curl -sS -i".to_string(),
            format!("-X {}", self.probe.method),
            shell_quote(&self.url),
        ];
        if let Some(header) = self.probe.key.curl_header() {
            parts.push(format!("-H {header}"));
        }
        if let Some(key) = &self.probe.idempotency_key {
            parts.push(format!(
                "-H {}",
                shell_quote(&format!("{}: {key}", rafiki_rules::idempotency::HEADER))
            ));
        }
        if let Some(body) = &self.probe.body {
            // Without one, curl's --data-raw would add a form content type;
            // an empty `Content-Type:` tells curl to send none.
            let header = match self.probe.body_type {
                Some(content_type) => format!("Content-Type: {content_type}"),
                None => "Content-Type:".to_string(),
            };
            parts.push(format!("-H {}", shell_quote(&header)));
            parts.push(format!("--data-raw {}", shell_quote(&body.to_string())));
        }
        parts.join(" ")
    }
}

/// Quotes for POSIX shells.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

pub(crate) fn cut(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The keys; kept here only, never in an [`Exchange`].
#[derive(Clone)]
pub struct Keys {
    pub primary: String,
    pub secondary: Option<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

/// Sends probes to one server: at most `in_flight` requests at a time
/// (so at most that many connections), and at most `rate` per second.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    keys: Keys,
    pacing: Option<(Duration, Mutex<Instant>)>,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    sent: AtomicU64,
}

impl Client {
    pub fn new(
        base_url: &str,
        keys: Keys,
        timeout: Duration,
        rate_limit: Option<u32>,
        in_flight: usize,
    ) -> reqwest::Result<Self> {
        let in_flight = in_flight.max(1);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(in_flight)
            .user_agent(concat!("rafiki-contract/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let pacing = rate_limit
            .filter(|r| *r > 0)
            .map(|r| (Duration::from_secs(1) / r, Mutex::new(Instant::now())));
        Ok(Client {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            keys,
            pacing,
            in_flight: Arc::new(Semaphore::new(in_flight)),
            max_in_flight: in_flight,
            sent: AtomicU64::new(0),
        })
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
    /// error is part of the exchange).
    pub async fn send(&self, probe: Probe) -> Exchange {
        let _slot = self.in_flight.acquire().await.expect("never closed");
        self.send_in_slot(probe).await
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
        let answer = self.try_send(&probe, &url).await;
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

    async fn try_send(&self, probe: &Probe, url: &str) -> Result<Answer, String> {
        let mut request = self.http.request(probe.method.clone(), url);
        let bearer = match &probe.key {
            KeySlot::Primary => Some(format!("Bearer {}", self.keys.primary)),
            KeySlot::Secondary => self.keys.secondary.as_ref().map(|k| format!("Bearer {k}")),
            KeySlot::PrimaryWithoutScheme => Some(self.keys.primary.clone()),
            KeySlot::None => None,
            KeySlot::Literal(value) => Some(value.clone()),
        };
        if let Some(bearer) = bearer {
            request = request.header(reqwest::header::AUTHORIZATION, bearer);
        }
        if let Some(key) = &probe.idempotency_key {
            request = request.header(rafiki_rules::idempotency::HEADER, key);
        }
        if let Some(body) = &probe.body {
            request = request.body(body.to_string());
            if let Some(content_type) = probe.body_type {
                request = request.header(reqwest::header::CONTENT_TYPE, content_type);
            }
        }
        let request = request.build().map_err(|e| describe(&e))?;
        // The exchange runs as a task of its own, on a runtime worker beside
        // hyper's connection task. Property checks call us from blocking
        // threads (`Ctx::send_blocking`): awaited there, every step of the
        // exchange (request out, head in, body wanted, body in) would hop
        // between that thread and a worker; this way only its end does.
        let http = self.http.clone();
        let exchange = tokio::spawn(async move {
            let response = http.execute(request).await.map_err(|e| describe(&e))?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = response.bytes().await.map_err(|e| describe(&e))?;
            let json = serde_json::from_slice(&bytes).ok();
            Ok(Answer {
                status,
                content_type,
                json,
                text: cut(&String::from_utf8_lossy(&bytes), 4096),
            })
        });
        // Dropping the caller's future cancels the exchange, as it did when
        // it was awaited here.
        let mut exchange = AbortOnDrop(exchange);
        match (&mut exchange.0).await {
            Ok(answer) => answer,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => Err(format!("the request's task ended: {error}")),
        }
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

/// A spawned task that is aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A transport error with its cause chain, in one line.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn rate_limit_spaces_requests_out() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let keys = Keys {
            primary: "k".into(),
            secondary: None,
        };
        let client = Client::new(
            &format!("http://127.0.0.1:{port}/v1"),
            keys,
            Duration::from_secs(1),
            Some(50),
            4,
        )
        .unwrap();
        let started = Instant::now();
        for _ in 0..6 {
            let exchange = client.send(Probe::get("list_wallets", "/wallets")).await;
            assert!(exchange.answer.is_err(), "nothing listens there");
        }
        // 6 requests at 50/s: the last leaves at least 5 gaps of 20 ms after the first.
        assert!(
            started.elapsed() >= Duration::from_millis(100),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(client.requests_sent(), 6);
    }

    #[test]
    fn curl_reproduction_names_the_key_variable_not_the_key() {
        let probe = Probe::create_payout(json!({"amount": {"value": "it's", "currency": "KES"}}));
        let exchange = Exchange {
            probe,
            url: "http://127.0.0.1:1/v1/payouts".into(),
            answer: Err("refused".into()),
            elapsed: Duration::ZERO,
        };
        let curl = exchange.curl();
        assert!(
            curl.contains("\"Authorization: Bearer $RAFIKI_API_KEY\""),
            "{curl}"
        );
        assert!(curl.contains("X-Idempotency-Key: "), "{curl}");
        assert!(
            curl.contains(r#"it'\''s"#),
            "single quotes are escaped: {curl}"
        );
    }
}
