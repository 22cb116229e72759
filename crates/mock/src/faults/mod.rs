//! Faults on purpose: a [`FaultPlan`] makes the mock answer a share of the
//! requests of an operation (or of all, `*`) with a 500, 502 or 503, a 429
//! or a 409 IDEMPOTENCY_RACE without handling them, delay them, or handle
//! them and then close the connection before any byte of the answer (the
//! "did my payout go through?" case).
//!
//! - Rules are written in a small grammar (`create_payout=503@30%`, see
//!   [`FaultRule`]'s `FromStr`), taken by `--fault`, or as JSON by the
//!   control API (`PUT /_sandbox/faults`).
//! - Deterministic: whether rule `r` fires on the `n`-th request of an
//!   operation depends only on (seed, `r`, operation, `n`) ([`fires`]), so
//!   sequential traffic meets the same faults on every run.
//! - Faults apply to the API under `/v1` only, to requests with a known
//!   key (each account counts its own requests and has its own plan);
//!   never to `/_sandbox`.
//! - An answer injected instead of handling the request is the usual
//!   envelope `{code, message}`; the codes of the statuses the API does not
//!   document (429, 502, 503) are stated here, once ([`FaultStatus`]).

mod grammar;
mod state;
pub(crate) mod wire;

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::StatusCode;
use rafiki_rules::wire::ErrorCode;

use crate::errors::Kind;
use crate::operation::{self, Operation};

pub use grammar::FaultParseError;
pub(crate) use grammar::{parse_duration, split_share_and_times};
pub(crate) use state::{FaultState, Injected, latency, outcome};

/// Code of a 429, injected or past the rate limit (the API documents no
/// 429).
pub const RATE_LIMITED: &str = "RATE_LIMITED";
/// Code of an injected 502 (the API documents no 502).
pub const BAD_GATEWAY: &str = "BAD_GATEWAY";
/// Code of an injected 503 (the API's 503 codes are its recipients'
/// outages, which an injected fault is not).
pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";

/// Which requests a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `*`: every operation.
    All,
    /// One operation.
    Only(Operation),
}

impl Scope {
    /// Whether requests for `operation` are in scope.
    pub fn covers(self, operation: Operation) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(only) => only == operation,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("*"),
            Scope::Only(operation) => f.write_str(operation.id()),
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = FaultProblem;

    /// `*` or an operationId.
    fn from_str(text: &str) -> Result<Self, FaultProblem> {
        match text {
            "*" => Ok(Scope::All),
            id => id
                .parse()
                .map(Scope::Only)
                .map_err(|_| FaultProblem::Operation(id.to_owned())),
        }
    }
}

/// A status answered instead of handling the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultStatus {
    /// 409 IDEMPOTENCY_RACE (create_payout only): nothing is created.
    IdempotencyRace,
    /// 429 [`RATE_LIMITED`].
    TooManyRequests,
    /// 500 INTERNAL_SERVER_ERROR.
    InternalServerError,
    /// 502 [`BAD_GATEWAY`].
    BadGateway,
    /// 503 [`SERVICE_UNAVAILABLE`].
    ServiceUnavailable,
}

impl FaultStatus {
    /// Every status a fault can answer.
    pub const ALL: [FaultStatus; 5] = [
        FaultStatus::IdempotencyRace,
        FaultStatus::TooManyRequests,
        FaultStatus::InternalServerError,
        FaultStatus::BadGateway,
        FaultStatus::ServiceUnavailable,
    ];

    /// The one table: the API's code (its status is the one the rules pair
    /// with it), or the mock's own status and code.
    pub(crate) fn kind(self) -> Kind {
        match self {
            FaultStatus::IdempotencyRace => Kind::Api(ErrorCode::IdempotencyRace),
            FaultStatus::InternalServerError => Kind::Api(ErrorCode::InternalServerError),
            FaultStatus::TooManyRequests => Kind::Own(StatusCode::TOO_MANY_REQUESTS, RATE_LIMITED),
            FaultStatus::BadGateway => Kind::Own(StatusCode::BAD_GATEWAY, BAD_GATEWAY),
            FaultStatus::ServiceUnavailable => {
                Kind::Own(StatusCode::SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE)
            }
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        self.kind().status()
    }

    /// The envelope's `code`.
    pub fn code(self) -> &'static str {
        self.kind().code()
    }

    /// The fault answering `status`, if any.
    pub fn from_status(status: u16) -> Option<FaultStatus> {
        FaultStatus::ALL
            .into_iter()
            .find(|fault| fault.status().as_u16() == status)
    }
}

/// The statuses a fault can answer, for messages: `409, 429, 500, 502, 503`.
pub(crate) fn statuses() -> String {
    let statuses: Vec<String> = FaultStatus::ALL
        .iter()
        .map(|s| s.status().as_u16().to_string())
        .collect();
    statuses.join(", ")
}

/// What happens to a request a rule fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Answer `status` (with `Retry-After: retry_after` seconds when
    /// given) without handling the request: nothing is created or stored.
    Answer {
        status: FaultStatus,
        retry_after: Option<u32>,
    },
    /// Wait this long, then handle the request normally.
    Latency(Duration),
    /// Handle the request (a payout is created and its answer stored for
    /// idempotent replay), then close the connection before any byte of
    /// the answer is written.
    DropAfterHandling,
}

/// A share of requests, in millionths (exact, so a plan reads back as
/// written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Share(u32);

impl Share {
    /// Millionths in the whole.
    pub const MILLION: u32 = 1_000_000;
    /// Every request.
    pub const ALWAYS: Share = Share(Share::MILLION);

    /// `n` millionths; `None` above a million.
    pub fn from_millionths(n: u32) -> Option<Share> {
        (n <= Share::MILLION).then_some(Share(n))
    }

    /// `p` per cent; `None` above 100.
    pub fn percent(p: u32) -> Option<Share> {
        p.checked_mul(10_000).and_then(Share::from_millionths)
    }

    /// A fraction from 0 to 1, to the nearest millionth; `None` outside.
    pub fn from_fraction(fraction: f64) -> Option<Share> {
        if !(0.0..=1.0).contains(&fraction) {
            return None;
        }
        let millionths = (fraction * f64::from(Share::MILLION)).round();
        // In 0..=1e6 by the check above: the cast is exact.
        Share::from_millionths(millionths as u32)
    }

    pub fn millionths(self) -> u32 {
        self.0
    }

    /// From 0 to 1.
    pub fn fraction(self) -> f64 {
        f64::from(self.0) / f64::from(Share::MILLION)
    }
}

impl fmt::Display for Share {
    /// As a percentage: `30%`, `12.5%`, `0.0001%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = rust_decimal::Decimal::new(i64::from(self.0), 4).normalize();
        write!(f, "{percent}%")
    }
}

/// One rule: which requests, what fault, how often, at most how many
/// times. Built with [`FaultRule::new`] or parsed from the flag grammar:
///
/// ```text
/// OPERATION=FAULT[@SHARE][#TIMES]
///   OPERATION  an operationId (create_payout, list_banks, ...) or *
///   FAULT      500 | 502 | 503 | 429 | 409, each optionally +retry-after=SECONDS
///              latency:DURATION (200ms, 2s)
///              drop-after-handling
///   SHARE      30% or 0.3 (default 100%)
///   TIMES      at most this many injections, then the rule is spent
/// ```
///
/// ```
/// use rafiki_mock::faults::{FaultRule, Share};
/// let rule: FaultRule = "create_payout=503+retry-after=2@30%".parse().unwrap();
/// assert_eq!(rule.share(), Share::percent(30).unwrap());
/// assert_eq!(rule.to_string(), "create_payout=503+retry-after=2@30%");
/// let once: FaultRule = "create_payout=drop-after-handling#1".parse().unwrap();
/// assert_eq!(once.times().map(|n| n.get()), Some(1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FaultRule {
    scope: Scope,
    fault: Fault,
    share: Share,
    times: Option<NonZeroU32>,
}

impl FaultRule {
    /// A rule firing on every request in `scope` (see
    /// [`FaultRule::with_share`], [`FaultRule::with_times`]). A 409
    /// IDEMPOTENCY_RACE needs create_payout or `*` (with `*` it applies to
    /// create_payout only).
    pub fn new(scope: Scope, fault: Fault) -> Result<FaultRule, FaultProblem> {
        let race = matches!(
            fault,
            Fault::Answer {
                status: FaultStatus::IdempotencyRace,
                ..
            }
        );
        if race && !scope.covers(Operation::CreatePayout) {
            return Err(FaultProblem::RaceScope);
        }
        Ok(FaultRule {
            scope,
            fault,
            share: Share::ALWAYS,
            times: None,
        })
    }

    /// Fires on this share of the requests in scope.
    pub fn with_share(mut self, share: Share) -> Self {
        self.share = share;
        self
    }

    /// Fires at most `times` times, then is spent.
    pub fn with_times(mut self, times: NonZeroU32) -> Self {
        self.times = Some(times);
        self
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    pub fn fault(&self) -> Fault {
        self.fault
    }

    pub fn share(&self) -> Share {
        self.share
    }

    pub fn times(&self) -> Option<NonZeroU32> {
        self.times
    }

    /// Whether the rule may fire on requests for `operation` (a 409
    /// IDEMPOTENCY_RACE only on create_payout).
    pub fn applies_to(&self, operation: Operation) -> bool {
        let race = matches!(
            self.fault,
            Fault::Answer {
                status: FaultStatus::IdempotencyRace,
                ..
            }
        );
        self.scope.covers(operation) && (!race || operation == Operation::CreatePayout)
    }
}

/// The faults of an account: a seed and rules in order. Latency rules add
/// up; of the other rules, the first that fires on a request wins, and the
/// rules after it are not drawn for that request. The default is no rule.
///
/// ```
/// use rafiki_mock::{Config, faults::FaultPlan};
/// let mut config = Config::default();
/// config.faults = FaultPlan::new(7)
///     .with("create_payout=503+retry-after=0@30%".parse().unwrap())
///     .with("create_payout=drop-after-handling@10%".parse().unwrap());
/// assert_eq!(config.faults.to_string(), "seed 7: create_payout=503+retry-after=0@30%, create_payout=drop-after-handling@10%");
/// ```
pub type FaultPlan = Plan<FaultRule>;

/// A seeded list of fault rules: the API's ([`FaultPlan`]) or the
/// webhook deliveries' (`webhooks::WebhookFaultPlan`). The seed chooses
/// which requests (or deliveries) a rule with a share fires on ([`fires`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Plan<R> {
    pub seed: u64,
    pub rules: Vec<R>,
}

impl<R> Default for Plan<R> {
    fn default() -> Self {
        Plan::new(0)
    }
}

impl<R> Plan<R> {
    /// No rules yet.
    pub fn new(seed: u64) -> Self {
        Plan {
            seed,
            rules: Vec::new(),
        }
    }

    /// `rule` added after the others.
    pub fn with(mut self, rule: R) -> Self {
        self.rules.push(rule);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

impl<R: fmt::Display> fmt::Display for Plan<R> {
    /// `seed 7: create_payout=503@30%, *=latency:200ms@100%` (`no faults`
    /// when empty).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rules.is_empty() {
            return f.write_str("no faults");
        }
        write!(f, "seed {}: ", self.seed)?;
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{rule}")?;
        }
        Ok(())
    }
}

/// Whether rule number `rule` (0-based) of a plan seeded with `seed`
/// fires on request number `n` (0-based, counted per account and
/// operation since the plan was set) of `operation`, given its share: a
/// splitmix64 hash of the four, compared with the share in millionths.
pub fn fires(seed: u64, rule: usize, operation: Operation, n: u64, share: Share) -> bool {
    draw(seed, &[rule as u64, operation.index() as u64, n], share)
}

/// The one seeded draw of every fault the mock injects (the API's, and
/// the webhook deliveries'): a splitmix64 hash of `seed` and `parts`,
/// compared with `share` in millionths.
pub(crate) fn draw(seed: u64, parts: &[u64], share: Share) -> bool {
    let mut hash = mix(seed);
    for part in parts {
        hash = mix(hash ^ part);
    }
    hash % u64::from(Share::MILLION) < u64::from(share.millionths())
}

/// splitmix64's finaliser.
fn mix(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What is wrong with a fault rule (in the flag grammar or the control
/// API's JSON).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultProblem {
    #[error("expected OPERATION=FAULT[@SHARE][#TIMES], e.g. create_payout=503@30%")]
    Shape,
    #[error("unknown operation `{0}`: expected `*` or one of {ids}", ids = operation::ids())]
    Operation(String),
    #[error(
        "unknown fault `{0}`: expected a status ({statuses}, each optionally +retry-after=SECONDS), latency:DURATION (e.g. latency:200ms) or drop-after-handling",
        statuses = statuses()
    )]
    Fault(String),
    #[error("unknown option `{0}`: the one option is retry-after=SECONDS, after a status")]
    Option(String),
    #[error("retry-after `{0}` is not a whole number of seconds")]
    RetryAfter(String),
    #[error("latency `{0}` is not a duration in ms or s, e.g. 200ms or 2s")]
    Latency(String),
    #[error(
        "share `{0}` is not a percentage (30%) or a fraction (0.3) from 0 to 1, to the millionth"
    )]
    Share(String),
    #[error("times `{0}` is not a whole number of at least 1")]
    Times(String),
    #[error("409 IDEMPOTENCY_RACE is an answer of create_payout only: give create_payout or `*`")]
    RaceScope,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes_come_from_one_table() {
        let pairs: Vec<(u16, &str)> = FaultStatus::ALL
            .iter()
            .map(|s| (s.status().as_u16(), s.code()))
            .collect();
        assert_eq!(
            pairs,
            [
                (409, "IDEMPOTENCY_RACE"),
                (429, RATE_LIMITED),
                (500, "INTERNAL_SERVER_ERROR"),
                (502, BAD_GATEWAY),
                (503, SERVICE_UNAVAILABLE),
            ]
        );
        for status in FaultStatus::ALL {
            assert_eq!(
                FaultStatus::from_status(status.status().as_u16()),
                Some(status)
            );
        }
        assert_eq!(FaultStatus::from_status(404), None);
        assert_eq!(statuses(), "409, 429, 500, 502, 503");
    }

    #[test]
    fn shares_are_exact() {
        assert_eq!(Share::percent(30), Share::from_fraction(0.3));
        assert_eq!(Share::percent(101), None);
        assert_eq!(Share::from_fraction(1.5), None);
        assert_eq!(Share::from_fraction(-0.1), None);
        assert_eq!(Share::from_fraction(f64::NAN), None);
        assert_eq!(Share::from_fraction(0.3).unwrap().fraction(), 0.3);
        for (millionths, shown) in [(300_000, "30%"), (125_000, "12.5%"), (1, "0.0001%")] {
            assert_eq!(
                Share::from_millionths(millionths).unwrap().to_string(),
                shown
            );
        }
        assert_eq!(Share::ALWAYS.to_string(), "100%");
        assert_eq!(Share(0).to_string(), "0%");
    }

    #[test]
    fn draws_depend_on_seed_rule_operation_and_n_only() {
        let share = Share::percent(30).unwrap();
        let draws = |seed, rule, op| -> Vec<bool> {
            (0..2_000)
                .map(|n| fires(seed, rule, op, n, share))
                .collect()
        };
        let base = draws(0, 0, Operation::CreatePayout);
        assert_eq!(base, draws(0, 0, Operation::CreatePayout), "repeatable");
        for other in [
            draws(1, 0, Operation::CreatePayout),
            draws(0, 1, Operation::CreatePayout),
            draws(0, 0, Operation::ListPayouts),
        ] {
            assert_ne!(base, other);
        }
        let fired = base.iter().filter(|f| **f).count();
        assert!((500..700).contains(&fired), "{fired} of 2000 at 30%");
        assert!((0..100).all(|n| fires(9, 0, Operation::GetPayout, n, Share::ALWAYS)));
        assert!((0..100).all(|n| !fires(9, 0, Operation::GetPayout, n, Share(0))));
    }

    #[test]
    fn a_race_is_for_create_payout_only() {
        let race = Fault::Answer {
            status: FaultStatus::IdempotencyRace,
            retry_after: None,
        };
        assert_eq!(
            FaultRule::new(Scope::Only(Operation::ListBanks), race),
            Err(FaultProblem::RaceScope)
        );
        let everywhere = FaultRule::new(Scope::All, race).unwrap();
        assert!(everywhere.applies_to(Operation::CreatePayout));
        assert!(!everywhere.applies_to(Operation::ListPayouts));
        let drop = FaultRule::new(Scope::All, Fault::DropAfterHandling).unwrap();
        assert!(Operation::ALL.into_iter().all(|op| drop.applies_to(op)));
    }
}
