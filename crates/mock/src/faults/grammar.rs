//! The flag grammar of a [`FaultRule`] (`--fault`):
//! `OPERATION=FAULT[@SHARE][#TIMES]`, read by `FromStr` and written back
//! by `Display` (`parse(rule.to_string()) == rule`).

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;

use super::{Fault, FaultProblem, FaultRule, FaultStatus, Scope, Share};

/// The option of a status fault.
const RETRY_AFTER: &str = "retry-after";
/// The prefix of a latency fault.
const LATENCY: &str = "latency:";
/// The drop fault.
const DROP_AFTER_HANDLING: &str = "drop-after-handling";

/// A rule that does not parse: the text as given and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault rule `{rule}`: {problem}")]
pub struct FaultParseError {
    pub rule: String,
    pub problem: FaultProblem,
}

impl FromStr for FaultRule {
    type Err = FaultParseError;

    /// `OPERATION=FAULT[@SHARE][#TIMES]`, e.g. `create_payout=503@30%`,
    /// `create_payout=503+retry-after=2@0.3`, `*=latency:200ms`,
    /// `create_payout=drop-after-handling@10%#1`.
    fn from_str(text: &str) -> Result<Self, FaultParseError> {
        parse(text.trim()).map_err(|problem| FaultParseError {
            rule: text.to_owned(),
            problem,
        })
    }
}

fn parse(text: &str) -> Result<FaultRule, FaultProblem> {
    let (scope, rest) = text.split_once('=').ok_or(FaultProblem::Shape)?;
    let scope: Scope = scope.trim().parse()?;
    let (fault, share, times) = split_share_and_times(rest)?;
    let rule = FaultRule::new(scope, parse_fault(fault)?)?.with_share(share);
    Ok(match times {
        Some(times) => rule.with_times(times),
        None => rule,
    })
}

/// `FAULT[@SHARE][#TIMES]` split into the fault's text (trimmed), the
/// share (default 100%) and the cap: the tail every fault grammar of the
/// mock shares (the webhook faults' too).
pub(crate) fn split_share_and_times(
    text: &str,
) -> Result<(&str, Share, Option<NonZeroU32>), FaultProblem> {
    let (rest, times) = match text.rsplit_once('#') {
        Some((rest, times)) => (rest, Some(parse_times(times.trim())?)),
        None => (text, None),
    };
    let (fault, share) = match rest.rsplit_once('@') {
        Some((fault, share)) => (fault, parse_share(share.trim())?),
        None => (rest, Share::ALWAYS),
    };
    Ok((fault.trim(), share, times))
}

/// `503`, `503+retry-after=2`, `latency:200ms`, `drop-after-handling`.
fn parse_fault(text: &str) -> Result<Fault, FaultProblem> {
    let mut parts = text.split('+');
    let base = parts.next().unwrap_or_default();
    let mut retry_after = None;
    for option in parts {
        match option.split_once('=') {
            Some((RETRY_AFTER, seconds)) => {
                let seconds = seconds
                    .parse()
                    .map_err(|_| FaultProblem::RetryAfter(seconds.to_owned()))?;
                retry_after = Some(seconds);
            }
            _ => return Err(FaultProblem::Option(option.to_owned())),
        }
    }
    if let Some(status) = base.parse().ok().and_then(FaultStatus::from_status) {
        return Ok(Fault::Answer {
            status,
            retry_after,
        });
    }
    let fault = if base == DROP_AFTER_HANDLING {
        Fault::DropAfterHandling
    } else if let Some(duration) = base.strip_prefix(LATENCY) {
        Fault::Latency(
            parse_duration(duration).ok_or_else(|| FaultProblem::Latency(duration.to_owned()))?,
        )
    } else {
        return Err(FaultProblem::Fault(base.to_owned()));
    };
    match retry_after {
        Some(seconds) => Err(FaultProblem::Option(format!("{RETRY_AFTER}={seconds}"))),
        None => Ok(fault),
    }
}

/// `200ms` or `2s` (also the webhook faults' `delay:2s`); `None` for
/// anything else.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let (number, millis_per_unit) = match text.strip_suffix("ms") {
        Some(number) => (number, 1),
        None => (text.strip_suffix('s')?, 1000),
    };
    let number: u64 = number.parse().ok()?;
    Some(Duration::from_millis(number.checked_mul(millis_per_unit)?))
}

/// `30%` or `0.3`, exact to the millionth.
fn parse_share(text: &str) -> Result<Share, FaultProblem> {
    let bad = || FaultProblem::Share(text.to_owned());
    let fraction = match text.strip_suffix('%') {
        Some(percent) => percent.parse::<Decimal>().map_err(|_| bad())? / Decimal::ONE_HUNDRED,
        None => text.parse::<Decimal>().map_err(|_| bad())?,
    };
    let millionths = fraction * Decimal::from(Share::MILLION);
    if millionths.fract() != Decimal::ZERO {
        return Err(bad());
    }
    u32::try_from(millionths)
        .ok()
        .and_then(Share::from_millionths)
        .ok_or_else(bad)
}

fn parse_times(text: &str) -> Result<NonZeroU32, FaultProblem> {
    text.parse()
        .map_err(|_| FaultProblem::Times(text.to_owned()))
}

impl fmt::Display for Fault {
    /// `503+retry-after=2`, `latency:200ms`, `drop-after-handling`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Answer {
                status,
                retry_after,
            } => {
                write!(f, "{}", status.status().as_u16())?;
                if let Some(seconds) = retry_after {
                    write!(f, "+{RETRY_AFTER}={seconds}")?;
                }
                Ok(())
            }
            Fault::Latency(duration) => write!(f, "{LATENCY}{}ms", duration.as_millis()),
            Fault::DropAfterHandling => f.write_str(DROP_AFTER_HANDLING),
        }
    }
}

impl fmt::Display for FaultRule {
    /// The flag grammar: `create_payout=503+retry-after=2@30%#1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}@{}", self.scope, self.fault, self.share)?;
        if let Some(times) = self.times {
            write!(f, "#{times}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::Operation;

    fn rule(text: &str) -> FaultRule {
        text.parse()
            .unwrap_or_else(|e| panic!("{text} does not parse: {e}"))
    }

    fn problem(text: &str) -> FaultProblem {
        match text.parse::<FaultRule>() {
            Ok(rule) => panic!("{text} parsed as {rule:?}"),
            Err(error) => {
                assert_eq!(error.rule, text);
                error.problem
            }
        }
    }

    #[test]
    fn the_grammar_reads_every_kind_of_fault() {
        let status = |status, retry_after| Fault::Answer {
            status,
            retry_after,
        };
        let cases = [
            (
                "create_payout=503@30%",
                Scope::Only(Operation::CreatePayout),
                status(FaultStatus::ServiceUnavailable, None),
                300_000,
                None,
            ),
            (
                "create_payout=503+retry-after=2@0.3",
                Scope::Only(Operation::CreatePayout),
                status(FaultStatus::ServiceUnavailable, Some(2)),
                300_000,
                None,
            ),
            (
                "*=latency:200ms@100%",
                Scope::All,
                Fault::Latency(Duration::from_millis(200)),
                1_000_000,
                None,
            ),
            (
                "list_payouts=latency:2s",
                Scope::Only(Operation::ListPayouts),
                Fault::Latency(Duration::from_secs(2)),
                1_000_000,
                None,
            ),
            (
                "create_payout=drop-after-handling@10%#1",
                Scope::Only(Operation::CreatePayout),
                Fault::DropAfterHandling,
                100_000,
                Some(1),
            ),
            (
                " get_payout = 502 @ 12.5% # 3 ",
                Scope::Only(Operation::GetPayout),
                status(FaultStatus::BadGateway, None),
                125_000,
                Some(3),
            ),
            (
                "*=429+retry-after=0#2",
                Scope::All,
                status(FaultStatus::TooManyRequests, Some(0)),
                1_000_000,
                Some(2),
            ),
            (
                "create_payout=409",
                Scope::Only(Operation::CreatePayout),
                status(FaultStatus::IdempotencyRace, None),
                1_000_000,
                None,
            ),
            (
                "list_banks=500@0",
                Scope::Only(Operation::ListBanks),
                status(FaultStatus::InternalServerError, None),
                0,
                None,
            ),
        ];
        for (text, scope, fault, millionths, times) in cases {
            let parsed = rule(text);
            assert_eq!(parsed.scope(), scope, "{text}");
            assert_eq!(parsed.fault(), fault, "{text}");
            assert_eq!(parsed.share().millionths(), millionths, "{text}");
            assert_eq!(parsed.times().map(NonZeroU32::get), times, "{text}");
            assert_eq!(rule(&parsed.to_string()), parsed, "{text} round trip");
        }
        assert_eq!(
            rule("create_payout=503+retry-after=2@0.3").to_string(),
            "create_payout=503+retry-after=2@30%"
        );
        assert_eq!(rule("*=latency:2s").to_string(), "*=latency:2000ms@100%");
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let cases = [
            ("create_payout", FaultProblem::Shape),
            ("", FaultProblem::Shape),
            ("payouts=503", FaultProblem::Operation("payouts".into())),
            ("create_payout=404", FaultProblem::Fault("404".into())),
            (
                "create_payout=teapot@5%",
                FaultProblem::Fault("teapot".into()),
            ),
            (
                "create_payout=503+retry=2",
                FaultProblem::Option("retry=2".into()),
            ),
            (
                "create_payout=503+retry-after=soon",
                FaultProblem::RetryAfter("soon".into()),
            ),
            (
                "create_payout=503+retry-after=-1",
                FaultProblem::RetryAfter("-1".into()),
            ),
            (
                "create_payout=latency:200ms+retry-after=1",
                FaultProblem::Option("retry-after=1".into()),
            ),
            (
                "create_payout=latency:fast",
                FaultProblem::Latency("fast".into()),
            ),
            (
                "create_payout=latency:200",
                FaultProblem::Latency("200".into()),
            ),
            ("create_payout=503@150%", FaultProblem::Share("150%".into())),
            ("create_payout=503@1.5", FaultProblem::Share("1.5".into())),
            ("create_payout=503@-1%", FaultProblem::Share("-1%".into())),
            (
                "create_payout=503@0.00000001",
                FaultProblem::Share("0.00000001".into()),
            ),
            ("create_payout=503@lots", FaultProblem::Share("lots".into())),
            ("create_payout=503#0", FaultProblem::Times("0".into())),
            ("create_payout=503#once", FaultProblem::Times("once".into())),
            ("list_banks=409", FaultProblem::RaceScope),
        ];
        for (text, expected) in cases {
            assert_eq!(problem(text), expected, "{text}");
        }
        let message = "payouts=503".parse::<FaultRule>().unwrap_err().to_string();
        assert!(
            message.starts_with("fault rule `payouts=503`: unknown operation `payouts`")
                && message.contains("create_payout"),
            "{message}"
        );
        let message = problem("create_payout=404").to_string();
        assert!(message.contains("409, 429, 500, 502, 503"), "{message}");
    }
}
