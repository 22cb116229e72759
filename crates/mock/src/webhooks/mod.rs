//! Webhooks: the mock tells each account's endpoints of every state change
//! of its payouts, signed, as `docs/contract.md` ("Webhooks") describes.
//!
//! - An *event* is one state change of one payout, its first state
//!   (PENDING at creation) included, whoever made it: the API, support
//!   through the control API, or the scheduler. Its body is written once:
//!   `{"id": "wbh-…", "type": "payout.state-updated", "data": <the payout
//!   as GET /v1/payouts/{id} shows it then>, "created_at": <the change's
//!   time on the mock's clock>}`.
//! - A *delivery* is one event to one endpoint, in at most [`ATTEMPTS`]
//!   attempts: a POST of those same bytes, signed afresh each time with
//!   `rafiki_rules::webhooks::signature_header` (the one definition of a
//!   signature). An answer other than 2xx, or none within
//!   [`ATTEMPT_TIMEOUT`], is retried after the next of [`RETRY_WAITS`].
//! - Each endpoint has a queue ordered by due time (the mock's clock),
//!   then by event order, and a task that sends from it one request at a
//!   time, with no lock held across the call: an endpoint's first attempts
//!   go out in event order, a slow endpoint holds up only itself, and the
//!   API's answers never wait for a delivery. With a
//!   [`crate::clock::ManualClock`] the tasks still run, but what is due
//!   moves only with the clock ([`crate::MockHandle::advance`] wakes them).
//! - Faults on purpose ([`WebhookFaultPlan`], `--webhook-fault`) duplicate,
//!   reorder, delay or mis-sign a share of the deliveries.
//! - Every attempt is recorded in the account's deliveries journal
//!   (`GET /_sandbox/webhooks/deliveries`).
//!
//! Endpoints come from [`crate::AccountConfig::webhooks`] (`--webhook-url`)
//! and from the control API (`POST /_sandbox/webhooks`); an account has at
//! most [`MAX_ENDPOINTS`]. Signing keys never reach logs or `Debug`
//! output ([`SigningKey`]).

mod deliver;
mod faults;
mod journal;
mod outbox;
mod rows;
pub(crate) mod wire;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use axum::http::Uri;
use axum::http::uri::Scheme;
use rand::Rng;
use rand::distr::Alphanumeric;

use crate::config::redact_key;

pub(crate) use deliver::Deliverer;
pub(crate) use faults::Applied;
pub use faults::{
    WebhookFault, WebhookFaultParseError, WebhookFaultPlan, WebhookFaultProblem, WebhookFaultRule,
};
pub(crate) use journal::DeliveryFilter;
pub(crate) use outbox::Outbox;
pub(crate) use rows::{DeliveryRow, EndpointRow, Origin, WebhookChange, WebhookImage, WebhookSink};

/// The waits between a delivery's attempts, on the mock's clock: after a
/// failed attempt `n` (from 1) the next is due `RETRY_WAITS[n - 1]` after
/// it was made. The schedule is *ours*: the provider documents retries
/// but not their timing.
pub const RETRY_WAITS: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];
/// Attempts of one delivery in all: the first and one after each wait.
pub const ATTEMPTS: u32 = RETRY_WAITS.len() as u32 + 1;
/// How long (wall clock) an attempt may wait for its answer's status
/// line before it counts as failed.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Endpoints an account may have; a sixth is refused (422).
pub const MAX_ENDPOINTS: usize = 5;
/// The `User-Agent` of every delivery.
pub const USER_AGENT: &str = "Rafiki-Webhooks/1.0";
/// How a generated signing key starts.
pub const SIGNING_KEY_PREFIX: &str = "whsk_";
/// Random characters after [`SIGNING_KEY_PREFIX`] in a generated key.
const SIGNING_KEY_LEN: usize = 32;
/// The longest an `out-of-order` delivery waits for its payout's next
/// event (mock clock); past it, it goes out anyway, so a payout's last
/// event is late but never lost.
pub const OUT_OF_ORDER_HOLD: Duration = Duration::from_secs(30);
/// How old a `stale-timestamp` fault makes the signature's `t`: far past
/// any receiver's tolerance (five minutes by default).
pub const STALE_BY: Duration = Duration::from_secs(3600);

/// An endpoint the mock delivers to: an absolute `http://` URL with a
/// host. Plain HTTP only: the mock has no TLS client, and its receivers
/// are local (a tunnel gives an http address too).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(Uri);

/// Why a URL is not one the mock can deliver to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("`{0}` is not a URL; expected e.g. http://127.0.0.1:3000/webhooks")]
    NotAUrl(String),
    #[error(
        "`{0}` is not an http:// URL: the mock delivers over plain HTTP only (e.g. http://127.0.0.1:3000/webhooks)"
    )]
    Scheme(String),
    #[error("`{0}` names no host; expected e.g. http://127.0.0.1:3000/webhooks")]
    NoHost(String),
}

impl FromStr for WebhookUrl {
    type Err = UrlProblem;

    fn from_str(text: &str) -> Result<Self, UrlProblem> {
        let uri: Uri = text
            .parse()
            .map_err(|_| UrlProblem::NotAUrl(text.to_owned()))?;
        if uri.scheme() != Some(&Scheme::HTTP) {
            return Err(UrlProblem::Scheme(text.to_owned()));
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(UrlProblem::NoHost(text.to_owned()));
        }
        Ok(WebhookUrl(uri))
    }
}

impl WebhookUrl {
    pub(crate) fn uri(&self) -> &Uri {
        &self.0
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.0)
    }
}

/// An endpoint's signing key. Its `Debug` shows only what
/// [`redact_key`] keeps, and it has no `Display`: the key is read with
/// [`SigningKey::expose`], where it is meant to be shown (the control
/// API's answers, as the provider's portal shows it) or used (signing).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(String);

/// Why a signing key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook signing key must be non-empty visible ASCII (no spaces)")]
pub struct SigningKeyProblem;

impl SigningKey {
    /// A fresh key: [`SIGNING_KEY_PREFIX`] and 32 random letters and digits.
    pub fn generate() -> Self {
        let random: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(SIGNING_KEY_LEN)
            .map(char::from)
            .collect();
        SigningKey(format!("{SIGNING_KEY_PREFIX}{random}"))
    }

    /// The key itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for SigningKey {
    type Err = SigningKeyProblem;

    fn from_str(text: &str) -> Result<Self, SigningKeyProblem> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SigningKeyProblem);
        }
        Ok(SigningKey(text.to_owned()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", redact_key(&self.0))
    }
}

/// An endpoint an account starts with ([`crate::AccountConfig::webhooks`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub url: WebhookUrl,
    /// `None`: a key is generated ([`SigningKey::generate`]).
    pub signing_key: Option<SigningKey>,
}

impl WebhookEndpoint {
    /// An endpoint at `url` signing with `key` (`None`: generated).
    pub fn new(url: WebhookUrl, key: Option<SigningKey>) -> Self {
        WebhookEndpoint {
            url,
            signing_key: key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        let url: WebhookUrl = "http://127.0.0.1:3000/webhooks".parse().unwrap();
        assert_eq!(url.to_string(), "http://127.0.0.1:3000/webhooks");
        assert_eq!(
            "http://localhost"
                .parse::<WebhookUrl>()
                .unwrap()
                .to_string(),
            "http://localhost/"
        );
        for (bad, problem) in [
            ("not a url", UrlProblem::NotAUrl("not a url".into())),
            ("", UrlProblem::NotAUrl(String::new())),
            (
                "https://example.com/hooks",
                UrlProblem::Scheme("https://example.com/hooks".into()),
            ),
            (
                "ftp://example.com",
                UrlProblem::Scheme("ftp://example.com".into()),
            ),
            ("/webhooks", UrlProblem::Scheme("/webhooks".into())),
            (
                "localhost:3000",
                UrlProblem::Scheme("localhost:3000".into()),
            ),
        ] {
            assert_eq!(bad.parse::<WebhookUrl>(), Err(problem), "{bad}");
        }
    }

    #[test]
    fn keys_are_generated_checked_and_never_shown_by_debug() {
        let key = SigningKey::generate();
        let text = key.expose();
        assert!(text.starts_with(SIGNING_KEY_PREFIX), "{text}");
        assert_eq!(text.len(), SIGNING_KEY_PREFIX.len() + SIGNING_KEY_LEN);
        assert_ne!(key, SigningKey::generate());
        assert!(!format!("{key:?}").contains(text));
        let fixed: SigningKey = "whsk_test_local".parse().unwrap();
        assert_eq!(format!("{fixed:?}"), "SigningKey(…)");
        let endpoint = WebhookEndpoint::new("http://h/".parse().unwrap(), Some(fixed));
        assert!(!format!("{endpoint:?}").contains("whsk_test_local"));
        assert_eq!("".parse::<SigningKey>(), Err(SigningKeyProblem));
        assert_eq!("a b".parse::<SigningKey>(), Err(SigningKeyProblem));
    }

    #[test]
    fn the_schedule_is_five_attempts() {
        assert_eq!(ATTEMPTS, 5);
        assert_eq!(
            RETRY_WAITS.iter().sum::<Duration>(),
            Duration::from_secs(15)
        );
    }
}
