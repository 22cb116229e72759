//! What a run found: per-check pass/fail/warn/skip counts, failures and
//! warnings with their reproduction, and the renderings (terminal table,
//! JUnit XML, JSON).
//!
//! A *failure* breaks the documented contract; a *warning* breaks only a
//! choice of ours that is stricter than the provider documents (see each
//! check's `basis`). Warnings never fail a run unless it is strict.
//!
//! The JSON report (`--json`) is [`Report`] serialised; its JSON Schema
//! ([`Report::json_schema`], derived with schemars) is published as
//! `crates/contract/report.schema.json`, kept fresh by a test.
//!
//! Here the report's data; the [`Recorder`] that fills it in `recorder`,
//! and one renderer per format: `terminal`, `junit`, `json`.

mod json;
mod junit;
mod recorder;
mod terminal;

use schemars::JsonSchema;
use serde::Serialize;

use crate::coverage::Coverage;

pub use recorder::{FailureListener, FailureNotice, Recorder};

/// A seed written as a decimal string: seeds go up to 2^64, and a JSON
/// number above 2^53 is read as another number by anything that reads
/// numbers as doubles (JavaScript, jq), which would replay another run.
fn seed_text<S: serde::Serializer>(seed: &Option<u64>, out: S) -> Result<S::Ok, S::Error> {
    match seed {
        Some(seed) => out.serialize_some(&seed.to_string()),
        None => out.serialize_none(),
    }
}

/// One failure (or warning), ready to act on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Failure {
    /// What the contract (or, for a warning, our stricter reading) expected.
    pub expected: String,
    /// What came back (status and body, shortened), or `-`.
    pub actual: String,
    /// The (shrunk, for generated checks) input, when there was one.
    pub input: Option<String>,
    /// A shell command that sends the failing request again.
    pub curl: Option<String>,
    /// Replays the run: `--seed N --checks NAME`; `None` for what the
    /// proxy observed (the application's traffic cannot be replayed).
    /// Written as a decimal string, which readers of doubles read whole.
    #[serde(serialize_with = "seed_text")]
    #[schemars(with = "Option<String>")]
    pub seed: Option<u64>,
}

/// A check's tally.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct CheckResult {
    /// The check's stable name (as `--checks` takes it).
    pub name: &'static str,
    /// What it holds the server to.
    pub description: &'static str,
    /// Cases that held.
    pub passed: u64,
    /// Cases that broke the documented contract (or, with `--strict`, our
    /// stricter reading).
    pub failed: u64,
    /// Cases that broke only our stricter reading of the contract.
    pub warned: u64,
    /// Cases not judged (see `skip_reason`).
    pub skipped: u64,
    /// Why it was skipped (first reason given).
    pub skip_reason: Option<String>,
    /// What a failure of this check rests on.
    pub basis: &'static str,
    /// Still running when the run's deadline passed: the counts are what it
    /// had seen by then.
    pub unfinished: bool,
    /// The first few failures in detail (`failed` counts them all).
    pub failures: Vec<Failure>,
    /// The first few warnings in detail (`warned` counts them all).
    pub warnings: Vec<Failure>,
}

impl CheckResult {
    pub fn verdict(&self) -> &'static str {
        if self.failed > 0 {
            "FAILED"
        } else if self.unfinished {
            "not finished"
        } else if self.warned > 0 {
            "warning"
        } else if self.passed > 0 {
            "passed"
        } else {
            "skipped"
        }
    }
}

/// What the run spent on payouts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Spent {
    /// The payouts' currency.
    pub currency: String,
    /// The wallet's `available` before the first payout, when it was read.
    pub available_at_start: Option<String>,
    /// What the run said it expected to spend, at most.
    pub planned: String,
    /// The most it was allowed to spend (`--max-spend`, or a short wallet).
    pub cap: Option<String>,
    /// The amounts of the payouts the server accepted (each once;
    /// payouts that later failed included).
    pub spent: String,
    /// How many payouts the server accepted.
    pub payouts: u64,
    /// Creates not sent because they did not fit under the cap.
    pub skipped: u64,
}

/// Failures that answers of one kind caused, across checks: one fault of
/// the server (a 502 on every fifth create) often fails many checks.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Cause {
    /// The answer: `HTTP 502`, `HTTP 422 VALIDATION_ERROR` (status and
    /// error code), or `no answer`.
    pub answer: String,
    /// The operation it answered (the spec's operationId), or the method
    /// and path of a request outside the spec.
    pub operation: String,
    /// Failures recorded on such answers.
    pub failures: u64,
    /// The checks that failed on them, by name.
    pub checks: Vec<&'static str>,
}

/// How the server's rate limit slowed the run. A 429 is the server's pace,
/// never a verdict: the request was sent again after the wait.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct RateLimits {
    /// Answers 429 the run met (each request was sent again after the wait).
    pub limited_answers: u64,
    /// Requests given up on, still limited after the bound; the checks
    /// that needed them were skipped with that reason.
    pub gave_up: u64,
    /// How long sending was paused for the server, in all, in ms.
    pub waited_ms: u64,
    /// The slowest pace the run went down to, in requests per second.
    pub slowest_rate: Option<f64>,
}

impl From<crate::http::Limited> for RateLimits {
    fn from(limited: crate::http::Limited) -> Self {
        RateLimits {
            limited_answers: limited.answers,
            gave_up: limited.gave_up,
            waited_ms: limited.paused.as_millis() as u64,
            slowest_rate: limited.slowest_rate.map(|r| (r * 10.0).round() / 10.0),
        }
    }
}

/// A judgement of one case: held, broke only our stricter reading, or
/// broke the documented contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// What our stricter reading expected.
    Warn(String),
    /// What the documented contract expected.
    Fail(String),
    /// Not judged, and why (e.g. a documented outage answered instead).
    Skip(String),
}

/// The outcome of a run; serialised, the JSON report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Report {
    /// Replays the run (`--seed`); `None` for a proxy's report (observed
    /// traffic is not replayed). Written as a decimal string, which
    /// readers of doubles read whole.
    #[serde(serialize_with = "seed_text")]
    #[schemars(with = "Option<String>")]
    pub seed: Option<u64>,
    /// The server checked (`--base-url`); `None` for the embedded mock,
    /// which a replay starts afresh, and for a proxy's report.
    pub base_url: Option<String>,
    /// Generated cases per property check (`--max-examples`), which a
    /// replay needs as much as the seed; `None` for a proxy's report.
    pub max_examples: Option<u32>,
    /// Warnings counted as failures (`--strict`).
    pub strict: bool,
    /// Requests sent to the server.
    pub requests: u64,
    /// Wall time of the run, preflight included.
    pub elapsed_ms: u64,
    /// When the first failure was found, since the run started.
    pub first_failure_ms: Option<u64>,
    /// Why some checks did not finish (`--max-duration`, `--fail-fast`);
    /// `None` when every check finished.
    pub ended_early: Option<String>,
    /// Failures grouped by the answer they were found on, the most first.
    pub causes: Vec<Cause>,
    /// Every check that was selected, by name.
    pub checks: Vec<CheckResult>,
    /// Which documented (operation, status) pairs the run saw.
    pub coverage: Coverage,
    /// How the server's rate limit slowed the run.
    pub rate_limits: RateLimits,
    /// What the run spent on payouts (`None`: a proxy's report).
    pub spending: Option<Spent>,
}

impl Report {
    /// Whether a check failed or could not finish.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.failed > 0 || c.unfinished)
    }

    /// The checks still running when the deadline passed.
    pub fn unfinished(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| c.unfinished)
    }

    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The command that replays a failure: the same seed and check, against
    /// the same server. The keys come from the environment and are never
    /// printed; the note on them is a shell comment, so the line pastes.
    pub fn replay_command(&self, seed: u64, check: &str) -> String {
        let examples = match self.max_examples {
            Some(n) if n != crate::catalogue::DEFAULT_MAX_EXAMPLES => {
                format!(" --max-examples {n}")
            }
            _ => String::new(),
        };
        match &self.base_url {
            Some(url) => format!(
                "rafiki-contract run --base-url {url} --seed {seed}{examples} --checks {check}  \
                 # with this run's RAFIKI_API_KEY (and RAFIKI_API_KEY_2) exported"
            ),
            None => format!("rafiki-contract run --seed {seed}{examples} --checks {check}"),
        }
    }

    /// How many checks ended with each verdict.
    pub fn verdicts(&self) -> Verdicts {
        let mut verdicts = Verdicts::default();
        for check in &self.checks {
            let count = match check.verdict() {
                "FAILED" => &mut verdicts.failed,
                "not finished" => &mut verdicts.unfinished,
                "warning" => &mut verdicts.warned,
                "passed" => &mut verdicts.passed,
                _ => &mut verdicts.skipped,
            };
            *count += 1;
        }
        verdicts
    }

    /// Sums of cases over every check.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for c in &self.checks {
            totals.passed += c.passed;
            totals.failed += c.failed;
            totals.warned += c.warned;
            totals.skipped += c.skipped;
        }
        totals
    }
}

/// Case counts over a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub passed: u64,
    pub failed: u64,
    pub warned: u64,
    /// Cases not judged (see `skip_reason`).
    pub skipped: u64,
}

/// How many checks ended with each verdict ([`CheckResult::verdict`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdicts {
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub skipped: usize,
    pub unfinished: usize,
}
