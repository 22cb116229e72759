//! Talking to the server under test: one [`Probe`] per request, answered by
//! an [`Exchange`] that keeps both sides for checks and reproductions.
//!
//! Only HTTP is used, so the suite works against any server. API keys are
//! never stored in an exchange: requests name the key they use
//! ([`KeySlot`]), and reproductions print it as `$RAFIKI_API_KEY`.
//!
//! [`Client`] sends probes, on HTTP/1 connections of its own (`pool`,
//! `connection`, `connect`): never more of them open than `--workers`.

mod client;
pub(crate) mod connect;
mod connection;
mod operation;
mod pace;
mod pool;

use std::sync::Arc;
use std::time::Duration;

use hyper::Method;
use rafiki_rules::wire::ErrorCode;
use serde_json::Value;

pub use client::Client;
pub use operation::Operation;
pub use pace::Limited;

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
    /// The main key with characters added: a key that begins with a real
    /// one is not it.
    PrimaryExtended,
    /// No `Authorization` header at all.
    None,
    /// This literal header value (for wrong-key probes; never a real key).
    Literal(String),
}

/// What [`KeySlot::PrimaryExtended`] adds to the main key.
pub(crate) const EXTENSION: &str = "x";

impl KeySlot {
    fn curl_header(&self) -> Option<String> {
        match self {
            KeySlot::Primary => Some("\"Authorization: Bearer $RAFIKI_API_KEY\"".into()),
            KeySlot::Secondary => Some("\"Authorization: Bearer $RAFIKI_API_KEY_2\"".into()),
            KeySlot::PrimaryWithoutScheme => Some("\"Authorization: $RAFIKI_API_KEY\"".into()),
            KeySlot::PrimaryExtended => Some(format!(
                "\"Authorization: Bearer ${{RAFIKI_API_KEY}}{EXTENSION}\""
            )),
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
    /// (Shared: the check that sent it often keeps it, to compare.)
    pub body: Option<Arc<Value>>,
    /// The `Content-Type` the body is sent with; `None` sends none.
    pub body_type: Option<&'static str>,
    /// Headers of its own (a webhook event's type and signature), set
    /// after the client's, so one of the same name replaces the client's.
    pub headers: Vec<(&'static str, String)>,
    /// How to send it again when the request itself cannot say how (its
    /// signature is made from the clock as it is sent): a shell script
    /// given instead of the request's own curl line.
    pub reproduction: Option<String>,
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
            headers: Vec::new(),
            reproduction: None,
        }
    }

    pub fn post(
        operation: &'static str,
        path: impl Into<String>,
        body: impl Into<Arc<Value>>,
    ) -> Self {
        Probe {
            method: Method::POST,
            body: Some(body.into()),
            ..Probe::get(operation, path)
        }
    }

    /// `POST /payouts` with a fresh idempotency key.
    pub fn create_payout(body: impl Into<Arc<Value>>) -> Self {
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
    /// The body parsed as JSON, when it was JSON (shared by answers with
    /// the same body: see [`Client`]).
    pub json: Option<Arc<Value>>,
    /// The raw body, as it came (shown cut, as text, by
    /// [`Exchange::summary`]: only reports need it as text).
    pub body: bytes::Bytes,
    /// How long the server asked to wait (`Retry-After`, in seconds or as
    /// an HTTP date), when it did.
    pub retry_after: Option<Duration>,
}

/// A `Retry-After` value as a wait from `now`: whole seconds, or an HTTP
/// date (RFC 9110 section 10.2.3); a date in the past is no wait.
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.to_utc() - now).to_std().unwrap_or(Duration::ZERO))
}

/// A request and its answer (or the transport error).
#[derive(Debug, Clone)]
pub struct Exchange {
    pub probe: Probe,
    /// The full URL that was requested.
    pub url: String,
    pub answer: Result<Answer, String>,
    /// When it was sent (or would have been).
    pub sent_at: std::time::Instant,
    /// No check may judge it: the run never sent it (its deadline, its
    /// spending cap) or the server kept limiting it (429); `answer` says
    /// why. A verdict recorded on it is a skip with that reason.
    pub unjudged: bool,
}

impl Exchange {
    /// The status, or 0 when there was no answer.
    pub fn status(&self) -> u16 {
        self.answer.as_ref().map_or(0, |a| a.status)
    }

    /// Whether no whole answer came within the client's timeout.
    pub fn timed_out(&self) -> bool {
        self.answer
            .as_ref()
            .is_err_and(|why| why.starts_with(client::NO_ANSWER_IN_TIME))
    }

    /// The JSON body, if any.
    pub fn json(&self) -> Option<&Value> {
        self.answer.as_ref().ok().and_then(|a| a.json.as_deref())
    }

    /// `errors.fields` keys of an error body.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()
            .and_then(|j| j.pointer("/errors/fields"))
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A list page's `meta.paging.next`, as a full URL: a relative link
    /// is resolved against the URL this page was read at (RFC 3986), and
    /// an empty one is no link (a last page written by a server that
    /// gives every string field).
    pub fn next_page(&self) -> Option<String> {
        let next = self.paging("/next")?;
        let resolved = url::Url::parse(&self.url).and_then(|base| base.join(next));
        Some(resolved.map_or_else(|_| next.to_string(), String::from))
    }

    /// A list page's `meta.paging.cursors.after`; an empty one is none.
    pub fn next_cursor(&self) -> Option<&str> {
        self.paging("/cursors/after")
    }

    /// A non-empty text at `pointer` below the page's `meta.paging`.
    fn paging(&self, pointer: &str) -> Option<&str> {
        self.json()?
            .get("meta")?
            .get("paging")?
            .pointer(pointer)?
            .as_str()
            .filter(|text| !text.is_empty())
    }

    /// An answer's `data.id` (the payout or payment account it names).
    pub fn data_id(&self) -> Option<&str> {
        self.json()
            .and_then(|j| j.pointer("/data/id"))
            .and_then(Value::as_str)
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

    /// A request that was never sent, and why (it is not judged).
    pub fn not_sent(probe: Probe, why: impl Into<String>) -> Self {
        Exchange {
            url: probe.target.clone(),
            probe,
            answer: Err(why.into()),
            sent_at: std::time::Instant::now(),
            unjudged: true,
        }
    }

    /// Why no check may judge it, when none may (see [`Exchange::unjudged`]).
    pub fn unjudged_because(&self) -> Option<&str> {
        match (&self.answer, self.unjudged) {
            (Err(why), true) => Some(why),
            _ => None,
        }
    }

    /// A one-line summary of the answer for reports.
    pub fn summary(&self) -> String {
        match &self.answer {
            Ok(a) if a.body.is_empty() => format!("HTTP {} (no body)", a.status),
            Ok(a) => format!(
                "HTTP {} {}",
                a.status,
                cut(&String::from_utf8_lossy(&a.body), 400)
            ),
            Err(e) => format!("no answer: {e}"),
        }
    }

    /// A shell command that sends the same request; keys appear as
    /// `$RAFIKI_API_KEY` / `$RAFIKI_API_KEY_2`.
    pub fn curl(&self) -> String {
        match &self.probe.reproduction {
            Some(script) => script.clone(),
            None => curl(&self.probe, &self.url),
        }
    }
}

/// The wallet in `currency` of a `GET /wallets` answer. With several in
/// one currency, the one with the most `available` (the first of those):
/// which one pays a payout that names none is not documented ("the one
/// that matches"), and the suite's money goes furthest there.
pub fn wallet_in<'a>(wallets: &'a Exchange, currency: &str) -> Option<&'a Value> {
    let in_currency = wallets.json()?["data"]
        .as_array()?
        .iter()
        .filter(|w| w["currency"] == currency);
    let mut best: Option<(&Value, Option<rust_decimal::Decimal>)> = None;
    for wallet in in_currency {
        let available = decimal_at(wallet, "/available");
        if best.is_none_or(|(_, most)| available > most) {
            best = Some((wallet, available));
        }
    }
    best.map(|(wallet, _)| wallet)
}

/// The least `available` of the wallets in `currency` of a `GET /wallets`
/// answer, and how many there are: with several, a payout that names none
/// may be paid from any of them (the provider says "the one that matches"),
/// so only what the poorest covers is covered for sure.
pub fn least_available(
    wallets: &Exchange,
    currency: &str,
) -> Option<(rust_decimal::Decimal, usize)> {
    let figures: Vec<rust_decimal::Decimal> = wallets.json()?["data"]
        .as_array()?
        .iter()
        .filter(|w| w["currency"] == currency)
        .map(|w| decimal_at(w, "/available"))
        .collect::<Option<_>>()?;
    Some((figures.iter().min().copied()?, figures.len()))
}

/// The decimal string at `pointer` in `json` (amounts, balances).
pub fn decimal_at(json: &Value, pointer: &str) -> Option<rust_decimal::Decimal> {
    json.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

/// A shell command that sends `probe` to `url`; keys appear as
/// `$RAFIKI_API_KEY` / `$RAFIKI_API_KEY_2`.
pub fn curl(probe: &Probe, url: &str) -> String {
    let mut parts = vec![
        "curl -sS -i".to_string(),
        format!("-X {}", probe.method),
        shell_quote(url),
    ];
    if let Some(header) = probe.key.curl_header() {
        parts.push(format!("-H {header}"));
    }
    if let Some(key) = &probe.idempotency_key {
        parts.push(format!(
            "-H {}",
            shell_quote(&format!("{}: {key}", rafiki_rules::idempotency::HEADER))
        ));
    }
    for (name, value) in &probe.headers {
        parts.push(format!("-H {}", shell_quote(&format!("{name}: {value}"))));
    }
    if let Some(body) = &probe.body {
        // Without one, curl's --data-raw would add a form content type;
        // an empty `Content-Type:` tells curl to send none.
        let header = match probe.body_type {
            Some(content_type) => format!("Content-Type: {content_type}"),
            None => "Content-Type:".to_string(),
        };
        parts.push(format!("-H {}", shell_quote(&header)));
        let text = String::from_utf8(body_bytes(body)).expect("JSON is UTF-8");
        parts.push(format!("--data-raw {}", shell_quote(&text)));
    }
    parts.join(" ")
}

/// The bytes a JSON body is sent as: what a signature over the body signs.
pub fn body_bytes(json: &Value) -> Vec<u8> {
    serde_json::to_vec(json).expect("a JSON value serializes")
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

/// An error with its causes, in one line.
pub(crate) fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-05T07:28:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Sat, 05 Dec 2026 07:28:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            retry_after("Sat, 05 Dec 2026 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-1", now), None);
    }

    /// A 200 answer with `body`, as read at `url`.
    fn answered(url: &str, body: Value) -> Exchange {
        Exchange {
            url: url.into(),
            answer: Ok(Answer {
                status: 200,
                content_type: Some("application/json".into()),
                json: Some(Arc::new(body)),
                body: bytes::Bytes::new(),
                retry_after: None,
            }),
            ..Exchange::not_sent(Probe::get("list_payouts", "/payouts"), "")
        }
    }

    #[test]
    fn of_several_wallets_in_a_currency_the_one_with_most_available_is_taken() {
        let wallet = |id: &str, currency: &str, available: &str| json!({"id": id, "currency": currency, "balance": available, "available": available});
        let wallets = answered(
            "https://api.example/v1/wallets",
            json!({"data": [
                wallet("wlt-empty", "KES", "0.00"),
                wallet("wlt-usd", "USD", "900.00"),
                wallet("wlt-rich", "KES", "500.00"),
                wallet("wlt-also", "KES", "500.00"),
            ]}),
        );
        assert_eq!(wallet_in(&wallets, "KES").unwrap()["id"], "wlt-rich");
        assert_eq!(wallet_in(&wallets, "USD").unwrap()["id"], "wlt-usd");
        assert!(wallet_in(&wallets, "EUR").is_none());
    }

    #[test]
    fn a_next_link_is_resolved_against_its_page_and_an_empty_one_is_none() {
        let page = |paging: Value| {
            answered(
                "https://api.example/v1/payouts?paging_limit=2",
                json!({"data": [], "meta": {"paging": paging}}),
            )
        };
        let full = "https://api.example/v1/payouts?paging_after=YQ";
        for (next, resolved) in [
            (full, full),
            ("/v1/payouts?paging_after=YQ", full),
            ("payouts?paging_after=YQ", full),
        ] {
            let exchange = page(json!({"next": next, "cursors": {"after": "YQ"}}));
            assert_eq!(exchange.next_page().as_deref(), Some(resolved), "{next}");
            assert_eq!(exchange.next_cursor(), Some("YQ"));
        }
        let last = page(json!({"next": "", "cursors": {"after": ""}}));
        assert_eq!((last.next_page(), last.next_cursor()), (None, None));
    }

    #[test]
    fn curl_reproduction_names_the_key_variable_not_the_key() {
        let probe = Probe::create_payout(json!({"amount": {"value": "it's", "currency": "KES"}}));
        let exchange = Exchange {
            url: "http://127.0.0.1:1/v1/payouts".into(),
            answer: Err("refused".into()),
            ..Exchange::not_sent(probe, "")
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
