//! `rafiki-contract proxy`: the suite's oracle where an integrator's own
//! traffic flows. The application talks to the proxy instead of the API;
//! every request is forwarded unchanged ([`forward`]) and each exchange is
//! judged as it passes ([`judge`]):
//!
//! - the application's side ([`application`]): requests the documented
//!   contract or the compliance rules refuse, a payout without an
//!   idempotency key, the same payout sent again under a new key, amounts
//!   as JSON numbers, a key without `Bearer`, a path outside the API's
//!   base, a list walk stopped before its last page, polling faster than
//!   a floor;
//! - the server's side ([`server`], plus the suite's answer checks):
//!   documented statuses, schemas, the error envelope, legal payout
//!   histories across the reads it sees, idempotent replays.
//!
//! Before listening, the proxy asks the upstream whether it is the API
//! (as `run` does, without a key: [`crate::judge::recognise`]), and does
//! not start on one that is not, or does not answer. Findings are told as
//! they are found (one line each; API keys are never shown), and
//! [`Proxy::finish`] closes the run with the same [`Report`] the suite
//! writes (terminal, JUnit, JSON). A session that judged nothing fails
//! (`traffic_judged`): it proves nothing about the application.

pub mod application;
pub mod forward;
pub mod judge;
pub mod record;
pub mod redact;
pub mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::catalogue::{
    CLIENT_DECODES, CONTENT_TYPE_JSON, CheckInfo, ERROR_ENVELOPE, IDEMPOTENCY_KEY_REUSE,
    IDEMPOTENCY_REPLAY, LIFECYCLE_LEGAL, RESPONSE_SCHEMA, STATUS_DOCUMENTED, check_list,
};
use crate::judge::recognise::NotTheApi;
use crate::report::{FailureListener, Report};

check_list! { APPLICATION_CHECKS;
    APP_REQUEST_VALID = "app_request_valid": "every payout and payment account the application sends keeps the documented contract and the compliance rules",
        basis: "what the documented contract refuses (shape, types, enums, E.164, ISO codes, compliance limits and sender fields) fails, named by field and rule as the server's 422 names it; what only our stricter reading refuses warns, and so does what one reading of unclear pages refuses (a Kenyan business sender without a date of birth; a bank account without the branch of a bank GET /banks listed with branches); what only the server can judge (unknown accounts, balances) is left to it";
    APP_IDEMPOTENCY_KEY = "app_idempotency_key": "every POST /payouts carries a usable X-Idempotency-Key",
        basis: "the header is required (1 to 255 characters): without it the server refuses the payout, and no retry of it can be safe";
    APP_RETRY_SAME_KEY = "app_retry_same_key": "a payout sent again is sent under its first idempotency key",
        basis: "the idempotency page: a request re-attempted after an unknown or unsafe error reuses its key, and only the same key makes a retry safe: the same body under a new key, within --retry-window of an attempt whose outcome the application could not know (no answer, 5xx, 409 IDEMPOTENCY_RACE), fails; after one answered 2xx it only warns (a second payout of the same may be meant); a payout since seen FAILED, CANCELLED or REVERSED may be sent again under a new key, and one the first page of the unfiltered payout list, read since, shows was not made (no payout of its amount created since, the page reaching back past the attempt) only warns (the first may still complete: only its key is sure), and a body sent again under a key it was sent with before is a retry";
    APP_AMOUNTS_AS_STRINGS = "app_amounts_as_strings": "amounts are sent as decimal strings, never JSON numbers",
        basis: "amount.value is a decimal string (\"150.50\"); a JSON number is refused by the server, and a float loses cents on the way";
    APP_PAGES_COMPLETE = "app_pages_complete": "a list the application reads in full is followed to its last page",
        basis: "ours, so it warns: the pages let a client read pages \"as necessary\"; a list read with a date filter, or paged at all, is taken to be wanted whole, and stopping before the page without a next cursor misses items (judged when the proxy stops)";
    APP_POLLING_FLOOR = "app_polling_floor": "a PENDING payout is polled no more often than --poll-floor",
        basis: "ours, so it warns: the pages say only to poll at intervals; the floor is the integrator's own (default 1 s): payouts settle in seconds to minutes, and polling faster only spends the rate limit";
    APP_AUTHORIZATION = "app_authorization": "every request to the API carries `Authorization: Bearer <key>`",
        basis: "every operation needs `Authorization: Bearer <api key>`; without the scheme (the key alone, as the provider's generated samples send it), with another scheme or with no header, the server answers 401";
    APP_BASE_URL = "app_base_url": "every request to the API goes below its base URL (`/v1`)",
        basis: "every path of the API is below the base URL, its version included: a request for `/payouts` where the base is `/v1` misses the API (a path that would be no operation below the base, such as the mock's `/_sandbox`, is not judged)";
}

check_list! { SESSION_CHECKS;
    TRAFFIC_JUDGED = "traffic_judged": "the session judged the application's traffic: its requests to the API came through the proxy, and the upstream answered",
        basis: "a session that judged nothing shows nothing about the application: it fails when no request came through the proxy, none was to an operation of the API, or the upstream answered none of them";
}

/// The proxy's own checks (besides [`SERVER_CHECKS`]), as `list-checks`
/// shows them.
pub fn own_checks() -> impl Iterator<Item = &'static CheckInfo> {
    APPLICATION_CHECKS.iter().chain(SESSION_CHECKS).copied()
}

/// What the proxy judges of the server: the suite's checks on every
/// answer, and those that span the exchanges it sees.
pub static SERVER_CHECKS: &[&CheckInfo] = &[
    &STATUS_DOCUMENTED,
    &RESPONSE_SCHEMA,
    &CLIENT_DECODES,
    &CONTENT_TYPE_JSON,
    &ERROR_ENVELOPE,
    &LIFECYCLE_LEGAL,
    &IDEMPOTENCY_REPLAY,
    &IDEMPOTENCY_KEY_REUSE,
];

/// Defaults of the proxy's options.
pub const DEFAULT_RETRY_WINDOW: Duration = Duration::from_secs(300);
pub const DEFAULT_POLL_FLOOR: Duration = Duration::from_secs(1);

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The API's base URL, `/v1` included (the sandbox, a staging server,
    /// a `rafiki-mock`). The proxy serves the same paths.
    pub upstream: String,
    /// Where to listen (port 0: an ephemeral one).
    pub listen: SocketAddr,
    /// How long after an attempt the same payout under a new key counts
    /// as a duplicate.
    pub retry_window: Duration,
    /// The shortest gap between two reads of a PENDING payout.
    pub poll_floor: Duration,
    /// Write every exchange here (JSON lines, keys redacted).
    pub record: Option<PathBuf>,
    /// Warnings count as failures.
    pub strict: bool,
    /// An OpenAPI document to judge answers by (default: the built-in spec).
    pub spec: Option<PathBuf>,
}

impl ProxyConfig {
    /// Forwards to `upstream`, from `127.0.0.1` on an ephemeral port.
    pub fn new(upstream: impl Into<String>) -> Self {
        ProxyConfig {
            upstream: upstream.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            retry_window: DEFAULT_RETRY_WINDOW,
            poll_floor: DEFAULT_POLL_FLOOR,
            record: None,
            strict: false,
            spec: None,
        }
    }
}

/// Why the proxy did not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("{0}")]
    Upstream(String),
    /// The upstream did not answer the proxy's first request.
    #[error("cannot reach --upstream {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The upstream answered, but not as the API does.
    #[error("--upstream {url} does not look like the Rafiki payouts API: {why}")]
    NotTheApi { url: String, why: NotTheApi },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the spec: {0}")]
    Spec(String),
    #[error("cannot write the record {path}: {source}")]
    Record {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A running proxy.
pub struct Proxy {
    base_url: String,
    listening: forward::Listening,
    judge: mpsc::UnboundedSender<judge::Message>,
    report: oneshot::Receiver<Report>,
}

impl Proxy {
    /// Asks the upstream whether it is the API, then starts listening;
    /// `on_finding` hears every failure and warning as it is found.
    pub async fn start(
        config: ProxyConfig,
        on_finding: FailureListener,
    ) -> Result<Self, ProxyError> {
        let upstream = forward::Upstream::new(&config.upstream).map_err(ProxyError::Upstream)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ProxyError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Listen {
            addr: config.listen,
            source,
        })?;
        upstream.check().await?;
        let base_url = format!("http://{addr}{}", judge::base_path(&config.upstream));
        let judge = judge::Judge::new(&config, &base_url, on_finding)?;
        // Judging runs on a thread of its own: the runtime's workers only
        // forward, so judging never delays an answer.
        let (to_judge, inbox) = mpsc::unbounded_channel();
        let (report, finished) = oneshot::channel();
        std::thread::Builder::new()
            .name("rafiki-proxy-judge".into())
            .spawn(move || judge.run(inbox, report))
            .map_err(|e| ProxyError::Upstream(format!("cannot start the judge: {e}")))?;
        let listening = forward::serve(listener, addr, upstream, to_judge.clone());
        Ok(Proxy {
            base_url,
            listening,
            judge: to_judge,
            report: finished,
        })
    }

    /// The address the application should use instead of the upstream's
    /// (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.listening.addr
    }

    /// Stops listening, lets requests in flight finish, judges what can
    /// only be judged at the end (list walks left open), and returns the
    /// report.
    pub async fn finish(self) -> Report {
        self.listening.stop().await;
        let _ = self.judge.send(judge::Message::Finish);
        self.report
            .await
            .expect("the judge does not panic on any exchange")
    }
}
