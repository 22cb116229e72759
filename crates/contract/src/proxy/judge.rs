//! The judge: a thread of its own that takes each captured exchange, in
//! the order the answers came back, turns it into the suite's
//! [`Exchange`] (the key as a slot, never its value) and hands it to the
//! application's checks, the suite's answer checks and the server's
//! checks across exchanges. At the end it says whether anything was
//! judged at all (`traffic_judged`).

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use rafiki_rules::ComplianceTable;
use rafiki_spec::Spec;
use tokio::sync::{mpsc, oneshot};

use super::application::{ApplicationChecks, Authorization, Sent};
use super::forward::{Captured, Outcome};
use super::record::Recording;
use super::redact::Secrets;
use super::server::ServerChecks;
use super::{
    APPLICATION_CHECKS, ProxyConfig, ProxyError, SERVER_CHECKS, SESSION_CHECKS, TRAFFIC_JUDGED,
};
use crate::http::Operation;
use crate::http::{Answer, Exchange, JSON, KeySlot, Probe, cut};
use crate::judge::conformance::Conformance;
use crate::report::{FailureListener, Recorder, Report};

/// Who sent a request: a digest of its `Authorization` value (never shown),
/// so that two accounts' traffic is never compared.
pub type Account = u64;

/// When a request arrived and when its answer left.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub started: Instant,
    pub finished: Instant,
    /// When it arrived, by the wall clock (to compare with the server's
    /// `created_at`s).
    pub at: SystemTime,
}

impl Timing {
    /// Whether `self` ended before `later` began (so their order is known).
    pub fn before(&self, later: &Timing) -> bool {
        self.finished <= later.started
    }
}

/// What the judge hears: an exchange, or that the proxy stopped.
pub enum Message {
    Exchange(Box<Captured>),
    Finish,
}

/// Everything the checks need, owned by the judge's thread.
pub struct Judge {
    recorder: Recorder,
    conformance: Conformance,
    operations: Vec<Operation>,
    /// The upstream's path prefix (`/v1`): API paths are below it.
    base_path: String,
    /// For reproductions: the upstream, where the request can be sent again.
    upstream_origin: String,
    /// The upstream's base URL and the proxy's, as given to the application.
    upstream: String,
    proxy_url: String,
    traffic: Traffic,
    application: ApplicationChecks,
    server: ServerChecks,
    secrets: Secrets,
    record: Option<Recording>,
    exchanges: u64,
    started: Instant,
}

/// What came through the proxy, to tell a session that judged nothing
/// (and why) from one that did.
#[derive(Default)]
struct Traffic {
    /// Requests to operations of the API.
    to_api: u64,
    /// Of those, answered by the upstream.
    answered: u64,
    /// The first request that was to no operation of the API.
    first_elsewhere: Option<String>,
    /// Why the upstream last failed to answer.
    last_unanswered: Option<String>,
}

/// The path of `base_url` without a trailing slash (`/v1`, or empty).
pub fn base_path(base_url: &str) -> String {
    url::Url::parse(base_url)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default()
}

impl Judge {
    /// A judge of the traffic `proxy_url` forwards to `config.upstream`.
    pub fn new(
        config: &ProxyConfig,
        proxy_url: &str,
        on_finding: FailureListener,
    ) -> Result<Self, ProxyError> {
        let spec = match &config.spec {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|text| Spec::from_yaml(&text).map_err(|e| e.to_string()))
                .map_err(ProxyError::Spec)?,
            None => Spec::embedded(),
        };
        let operations = Operation::all_in(&spec);
        let conformance = Conformance::new(spec).map_err(|e| ProxyError::Spec(e.to_string()))?;
        let checks: Vec<_> = APPLICATION_CHECKS
            .iter()
            .chain(SERVER_CHECKS)
            .chain(SESSION_CHECKS)
            .copied()
            .collect();
        let recorder = Recorder::new(0, config.strict, &checks)
            .observing()
            .telling_warnings(true)
            .with_listener(on_finding);
        let record = match &config.record {
            Some(path) => Some(
                Recording::create(path).map_err(|source| ProxyError::Record {
                    path: path.clone(),
                    source,
                })?,
            ),
            None => None,
        };
        let upstream_origin = url::Url::parse(&config.upstream)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        Ok(Judge {
            recorder,
            conformance,
            operations,
            base_path: base_path(&config.upstream),
            upstream_origin,
            upstream: config.upstream.clone(),
            proxy_url: proxy_url.to_string(),
            traffic: Traffic::default(),
            application: ApplicationChecks::new(
                ComplianceTable::builtin(),
                config.retry_window,
                config.poll_floor,
            ),
            server: ServerChecks::default(),
            secrets: Secrets::default(),
            record,
            exchanges: 0,
            started: Instant::now(),
        })
    }

    /// Judges every exchange until told to finish, then closes the run.
    pub fn run(
        mut self,
        mut inbox: mpsc::UnboundedReceiver<Message>,
        report: oneshot::Sender<Report>,
    ) {
        while let Some(message) = inbox.blocking_recv() {
            match message {
                Message::Exchange(captured) => self.judge(&captured),
                Message::Finish => break,
            }
        }
        // What was already captured when the proxy stopped is judged too.
        while let Ok(Message::Exchange(captured)) = inbox.try_recv() {
            self.judge(&captured);
        }
        let _ = report.send(self.finish());
    }

    fn judge(&mut self, captured: &Captured) {
        self.exchanges += 1;
        self.secrets.learn(&captured.request_headers);
        if let Some(record) = self.record.as_mut() {
            record.write(self.exchanges, captured, &self.secrets);
        }
        let path = captured
            .path_and_query
            .split('?')
            .next()
            .unwrap_or_default();
        let operation_at = |path: &str| {
            self.operations
                .iter()
                .find(|o| o.matches(&captured.method, path))
                .map(|o| o.id)
        };
        let below_base = path
            .strip_prefix(self.base_path.as_str())
            .filter(|below| below.is_empty() || below.starts_with('/'));
        let Some(operation) = below_base.and_then(operation_at) else {
            // Outside the API (the mock's control API, unknown paths):
            // forwarded, not judged; but a path that would be an operation
            // below the base is the application's base URL set wrong.
            if below_base.is_none()
                && let Some(operation) = operation_at(path)
            {
                let exchange = self.exchange(captured, operation);
                self.application.outside_base(
                    &exchange,
                    &self.base_path,
                    &self.proxy_url,
                    &self.recorder,
                );
            }
            self.traffic
                .first_elsewhere
                .get_or_insert_with(|| format!("{} {}", captured.method, captured.path_and_query));
            return;
        };
        let exchange = self.exchange(captured, operation);
        let account = account_of(&captured.request_headers);
        let timing = Timing {
            started: captured.started,
            finished: captured.finished,
            at: captured.at,
        };
        let reached_server = !matches!(captured.outcome, Outcome::Unreachable(_));
        self.traffic.to_api += 1;
        match &exchange.answer {
            Ok(_) => self.traffic.answered += 1,
            Err(why) => self.traffic.last_unanswered = Some(why.clone()),
        }
        let sent = Sent {
            exchange: &exchange,
            body: &captured.request_body,
            authorization: Authorization::of(header(
                &captured.request_headers,
                AUTHORIZATION.as_str(),
            )),
            account,
            timing,
            reached_server,
        };
        self.application.judge(&sent, &self.recorder);
        if exchange.answer.is_ok() && reached_server {
            self.conformance.observe(&exchange, &self.recorder);
            self.server
                .judge(&exchange, account, timing, &self.recorder);
        }
    }

    /// The suite's view of one exchange; the key is only a slot.
    fn exchange(&self, captured: &Captured, operation: &'static str) -> Exchange {
        let headers = &captured.request_headers;
        let key = match Authorization::of(header(headers, AUTHORIZATION.as_str())) {
            Authorization::Missing => KeySlot::None,
            Authorization::Bearer => KeySlot::Primary,
            _ => KeySlot::PrimaryWithoutScheme,
        };
        let body_type = header(headers, CONTENT_TYPE.as_str())
            .filter(|t| t.starts_with(JSON))
            .map(|_| JSON);
        let probe = Probe {
            operation: Some(operation),
            method: captured.method.clone(),
            target: captured.path_and_query.clone(),
            query: Vec::new(),
            key,
            idempotency_key: header(headers, rafiki_rules::idempotency::HEADER).map(str::to_string),
            body: serde_json::from_slice(&captured.request_body)
                .ok()
                .map(Arc::new),
            body_type,
            headers: Vec::new(),
            reproduction: None,
        };
        let answer = match &captured.outcome {
            Outcome::Answered {
                status,
                headers,
                body,
            } => Ok(Answer {
                status: status.as_u16(),
                content_type: header(headers, CONTENT_TYPE.as_str()).map(str::to_string),
                json: serde_json::from_slice(body).ok().map(std::sync::Arc::new),
                body: self
                    .secrets
                    .scrub(&cut(&String::from_utf8_lossy(body), 4096))
                    .into(),
                retry_after: header(headers, RETRY_AFTER.as_str())
                    .and_then(|v| crate::http::retry_after(v, chrono::Utc::now())),
            }),
            Outcome::Dropped(why) => Err(format!(
                "the connection was closed without an answer ({})",
                self.secrets.scrub(why)
            )),
            Outcome::Unreachable(why) => Err(format!(
                "the upstream could not be reached ({})",
                self.secrets.scrub(why)
            )),
        };
        Exchange {
            probe,
            url: format!("{}{}", self.upstream_origin, captured.path_and_query),
            answer,
            sent_at: captured.started,
            unjudged: false,
        }
    }

    fn finish(mut self) -> Report {
        self.application.finish(&self.recorder);
        self.traffic_judged();
        if let Some(record) = self.record.as_mut() {
            record.flush();
        }
        self.recorder.close(
            &[],
            self.exchanges,
            self.started.elapsed(),
            self.conformance.coverage(),
        )
    }

    /// Whether the session judged anything: a request to the API that the
    /// upstream answered. Otherwise what came (nothing, no request to the
    /// API, no answer) and what to do about it.
    fn traffic_judged(&self) {
        let traffic = &self.traffic;
        if traffic.answered > 0 {
            return self.recorder.pass(&TRAFFIC_JUDGED);
        }
        let proxy_url = &self.proxy_url;
        let (sent, expected) = match (self.exchanges, &traffic.first_elsewhere) {
            (0, _) => (
                format!(
                    "no exchange was judged: the application sent no request through {proxy_url}"
                ),
                format!(
                    "the application's requests to the API sent through the proxy: is RAFIKI_PROXY_URL (or the application's base URL) set to {proxy_url}?"
                ),
            ),
            (requests, Some(first)) if traffic.to_api == 0 => (
                format!(
                    "no exchange was judged: none of the {requests} request(s) through the proxy was to an operation of the API (the first: {first})"
                ),
                format!(
                    "requests to the API's paths, below {proxy_url}: is the application's base URL {proxy_url}?"
                ),
            ),
            _ => (
                format!(
                    "no exchange was judged: the upstream {} answered none of the {} request(s) to the API forwarded to it (the last: {})",
                    self.upstream,
                    traffic.to_api,
                    traffic.last_unanswered.as_deref().unwrap_or("no answer")
                ),
                format!(
                    "answers from the upstream: is {} up, and is --upstream its base URL?",
                    self.upstream
                ),
            ),
        };
        self.recorder
            .fail_sent(&TRAFFIC_JUDGED, expected, sent, None);
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn account_of(headers: &HeaderMap) -> Account {
    let mut digest = std::collections::hash_map::DefaultHasher::new();
    headers
        .get(AUTHORIZATION)
        .map(|v| v.as_bytes())
        .hash(&mut digest);
    digest.finish()
}
