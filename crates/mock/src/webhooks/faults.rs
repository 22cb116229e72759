//! Faults on purpose in webhook deliveries (`--webhook-fault`): the ways a
//! real sender's deliveries go wrong that a receiver must survive. The
//! grammar is the API faults' tail without an operation,
//! `FAULT[@SHARE][#TIMES]`, read with the same pieces
//! ([`crate::faults`]'s share and cap parsing) and drawn with the same
//! seeded hash.
//!
//! Faults are drawn once per delivery (one event to one endpoint), when
//! the event happens: whether rule `r` fires on the account's `n`-th
//! delivery (from 0, since the plan was set) depends only on the seed,
//! `r` and `n`. Every rule that fires applies (delays add up). They act on
//! the delivery's first attempt; retries go out as usual.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use crate::faults::{FaultProblem, Share, draw, parse_duration, split_share_and_times};

const DUPLICATE: &str = "duplicate";
const OUT_OF_ORDER: &str = "out-of-order";
const DELAY: &str = "delay:";
const BAD_SIGNATURE: &str = "bad-signature";
const STALE_TIMESTAMP: &str = "stale-timestamp";

/// What a rule does to a delivery's first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookFault {
    /// Sent twice, back to back: the same event id and body, each copy
    /// signed afresh.
    Duplicate,
    /// Held back until the payout's next event has gone to the endpoint,
    /// then sent (at most [`super::OUT_OF_ORDER_HOLD`] later).
    OutOfOrder,
    /// Due this much later on the mock's clock.
    Delay(Duration),
    /// Its `v1` digest made with another key than the endpoint's.
    BadSignature,
    /// Its `t` [`super::STALE_BY`] before now (the digest matching that
    /// `t`).
    StaleTimestamp,
}

impl fmt::Display for WebhookFault {
    /// The grammar: `duplicate`, `delay:2000ms`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookFault::Duplicate => f.write_str(DUPLICATE),
            WebhookFault::OutOfOrder => f.write_str(OUT_OF_ORDER),
            WebhookFault::Delay(delay) => write!(f, "{DELAY}{}ms", delay.as_millis()),
            WebhookFault::BadSignature => f.write_str(BAD_SIGNATURE),
            WebhookFault::StaleTimestamp => f.write_str(STALE_TIMESTAMP),
        }
    }
}

/// One rule: a fault, the share of deliveries it fires on, and at most how
/// many times.
///
/// ```
/// use rafiki_mock::webhooks::{WebhookFault, WebhookFaultRule};
/// let rule: WebhookFaultRule = "delay:2s@30%#1".parse().unwrap();
/// assert_eq!(rule.fault(), WebhookFault::Delay(std::time::Duration::from_secs(2)));
/// assert_eq!(rule.to_string(), "delay:2000ms@30%#1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookFaultRule {
    fault: WebhookFault,
    share: Share,
    times: Option<NonZeroU32>,
}

impl WebhookFaultRule {
    /// Fires on every delivery.
    pub fn new(fault: WebhookFault) -> Self {
        WebhookFaultRule {
            fault,
            share: Share::ALWAYS,
            times: None,
        }
    }

    /// Fires on this share of the deliveries.
    pub fn with_share(mut self, share: Share) -> Self {
        self.share = share;
        self
    }

    /// Fires at most `times` times, then is spent.
    pub fn with_times(mut self, times: NonZeroU32) -> Self {
        self.times = Some(times);
        self
    }

    pub fn fault(&self) -> WebhookFault {
        self.fault
    }

    pub fn share(&self) -> Share {
        self.share
    }

    pub fn times(&self) -> Option<NonZeroU32> {
        self.times
    }
}

/// A rule that does not parse: the text as given and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook fault rule `{rule}`: {problem}")]
pub struct WebhookFaultParseError {
    pub rule: String,
    pub problem: WebhookFaultProblem,
}

/// What is wrong with a webhook fault rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookFaultProblem {
    #[error(
        "unknown webhook fault `{0}`: expected {DUPLICATE}, {OUT_OF_ORDER}, {DELAY}DURATION (e.g. {DELAY}2s), {BAD_SIGNATURE} or {STALE_TIMESTAMP}"
    )]
    Fault(String),
    #[error("delay `{0}` is not a duration in ms or s, e.g. 500ms or 2s")]
    Delay(String),
    /// The share or the cap, as the API faults' grammar reads them.
    #[error(transparent)]
    Tail(FaultProblem),
}

impl FromStr for WebhookFaultRule {
    type Err = WebhookFaultParseError;

    /// `FAULT[@SHARE][#TIMES]`: `duplicate@30%`, `delay:2s#1`,
    /// `bad-signature@0.1`.
    fn from_str(text: &str) -> Result<Self, WebhookFaultParseError> {
        parse(text.trim()).map_err(|problem| WebhookFaultParseError {
            rule: text.to_owned(),
            problem,
        })
    }
}

fn parse(text: &str) -> Result<WebhookFaultRule, WebhookFaultProblem> {
    let (fault, share, times) = split_share_and_times(text).map_err(WebhookFaultProblem::Tail)?;
    let fault = match fault {
        DUPLICATE => WebhookFault::Duplicate,
        OUT_OF_ORDER => WebhookFault::OutOfOrder,
        BAD_SIGNATURE => WebhookFault::BadSignature,
        STALE_TIMESTAMP => WebhookFault::StaleTimestamp,
        other => match other.strip_prefix(DELAY) {
            Some(delay) => WebhookFault::Delay(
                parse_duration(delay)
                    .ok_or_else(|| WebhookFaultProblem::Delay(delay.to_owned()))?,
            ),
            None => return Err(WebhookFaultProblem::Fault(other.to_owned())),
        },
    };
    let rule = WebhookFaultRule::new(fault).with_share(share);
    Ok(match times {
        Some(times) => rule.with_times(times),
        None => rule,
    })
}

impl fmt::Display for WebhookFaultRule {
    /// The grammar: `delay:2000ms@30%#1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.fault, self.share)?;
        if let Some(times) = self.times {
            write!(f, "#{times}")?;
        }
        Ok(())
    }
}

/// The webhook faults of an account: a seed and rules in order (default:
/// none).
///
/// ```
/// use rafiki_mock::webhooks::WebhookFaultPlan;
/// let plan = WebhookFaultPlan::new(7).with("duplicate@30%".parse().unwrap());
/// assert_eq!(plan.to_string(), "seed 7: duplicate@30%");
/// ```
pub type WebhookFaultPlan = crate::faults::Plan<WebhookFaultRule>;

/// A rule that fired on a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Its index in the plan.
    pub rule: usize,
    pub fault: WebhookFault,
}

/// One account's webhook plan and counters.
#[derive(Debug)]
pub(crate) struct WebhookFaultState {
    plan: WebhookFaultPlan,
    /// Deliveries drawn since the plan was set.
    drawn: u64,
    /// Injections per rule.
    injected: Vec<u32>,
}

impl WebhookFaultState {
    pub fn new(plan: WebhookFaultPlan) -> Self {
        let injected = vec![0; plan.rules.len()];
        WebhookFaultState {
            plan,
            drawn: 0,
            injected,
        }
    }

    /// The rules that fire on the next delivery, in plan order (a spent
    /// rule is not drawn).
    pub fn decide(&mut self) -> Vec<Applied> {
        let n = self.drawn;
        self.drawn += 1;
        let mut fired = Vec::new();
        for (index, rule) in self.plan.rules.iter().enumerate() {
            let spent = rule
                .times
                .is_some_and(|times| self.injected[index] >= times.get());
            // Two parts, where an API fault's draw has three: a stream of
            // its own, whatever the seed.
            if !spent && draw(self.plan.seed, &[index as u64, n], rule.share) {
                self.injected[index] += 1;
                fired.push(Applied {
                    rule: index,
                    fault: rule.fault,
                });
            }
        }
        fired
    }
}

/// The added delay of what fired.
pub(crate) fn delay(applied: &[Applied]) -> Duration {
    applied
        .iter()
        .filter_map(|a| match a.fault {
            WebhookFault::Delay(delay) => Some(delay),
            _ => None,
        })
        .sum()
}

/// Whether `fault` is among what fired.
pub(crate) fn has(applied: &[Applied], fault: WebhookFault) -> bool {
    applied.iter().any(|a| a.fault == fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_reads_every_fault_and_writes_it_back() {
        for (text, fault, millionths, times, shown) in [
            (
                "duplicate",
                WebhookFault::Duplicate,
                1_000_000,
                None,
                "duplicate@100%",
            ),
            (
                "out-of-order@30%",
                WebhookFault::OutOfOrder,
                300_000,
                None,
                "out-of-order@30%",
            ),
            (
                " delay:2s # 1 ",
                WebhookFault::Delay(Duration::from_secs(2)),
                1_000_000,
                Some(1),
                "delay:2000ms@100%#1",
            ),
            (
                "bad-signature@0.1#3",
                WebhookFault::BadSignature,
                100_000,
                Some(3),
                "bad-signature@10%#3",
            ),
            (
                "stale-timestamp@12.5%",
                WebhookFault::StaleTimestamp,
                125_000,
                None,
                "stale-timestamp@12.5%",
            ),
        ] {
            let rule: WebhookFaultRule = text.parse().unwrap();
            assert_eq!(rule.fault(), fault, "{text}");
            assert_eq!(rule.share().millionths(), millionths, "{text}");
            assert_eq!(rule.times().map(NonZeroU32::get), times, "{text}");
            assert_eq!(rule.to_string(), shown, "{text}");
            assert_eq!(shown.parse::<WebhookFaultRule>().unwrap(), rule, "{text}");
        }
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let problem = |text: &str| text.parse::<WebhookFaultRule>().unwrap_err().problem;
        assert_eq!(problem("twice"), WebhookFaultProblem::Fault("twice".into()));
        assert_eq!(
            problem("create_payout=503"),
            WebhookFaultProblem::Fault("create_payout=503".into())
        );
        assert_eq!(
            problem("delay:soon"),
            WebhookFaultProblem::Delay("soon".into())
        );
        assert_eq!(
            problem("duplicate@150%"),
            WebhookFaultProblem::Tail(FaultProblem::Share("150%".into()))
        );
        assert_eq!(
            problem("duplicate#0"),
            WebhookFaultProblem::Tail(FaultProblem::Times("0".into()))
        );
        let message = "twice".parse::<WebhookFaultRule>().unwrap_err().to_string();
        assert!(
            message.starts_with("webhook fault rule `twice`: unknown webhook fault `twice`")
                && message.contains("stale-timestamp"),
            "{message}"
        );
    }

    #[test]
    fn draws_are_seeded_capped_and_combined() {
        let plan = |seed, rules: &[&str]| {
            rules
                .iter()
                .fold(WebhookFaultPlan::new(seed), |plan, rule| {
                    plan.with(rule.parse().unwrap())
                })
        };
        let run = |state: &mut WebhookFaultState| -> Vec<Vec<Applied>> {
            (0..200).map(|_| state.decide()).collect()
        };
        let rules = ["duplicate@30%", "delay:1s@50%"];
        let first = run(&mut WebhookFaultState::new(plan(3, &rules)));
        assert_eq!(first, run(&mut WebhookFaultState::new(plan(3, &rules))));
        assert_ne!(first, run(&mut WebhookFaultState::new(plan(4, &rules))));
        let duplicates = first
            .iter()
            .filter(|a| has(a, WebhookFault::Duplicate))
            .count();
        assert!((40..80).contains(&duplicates), "{duplicates}");
        assert!(first.iter().any(|a| a.len() == 2), "rules combine");

        let mut once =
            WebhookFaultState::new(plan(0, &["bad-signature#1", "delay:1s", "delay:2s"]));
        let applied = once.decide();
        assert!(has(&applied, WebhookFault::BadSignature));
        assert_eq!(delay(&applied), Duration::from_secs(3), "delays add up");
        assert!(!has(&once.decide(), WebhookFault::BadSignature), "spent");
    }
}
