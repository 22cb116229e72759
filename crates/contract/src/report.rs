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

use std::sync::Mutex;

use schemars::JsonSchema;
use serde::Serialize;
use std::collections::HashMap;

use crate::catalogue::CheckInfo;
use crate::coverage::{Coverage, Seen};
use crate::http::Exchange;

/// How many failures per check keep their full details.
const DETAILED_FAILURES: usize = 5;

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

/// A failure as soon as it is recorded (the full report comes at the end).
#[derive(Debug, Clone)]
pub struct FailureNotice {
    pub check: &'static str,
    /// Only a warning (our stricter reading); told only to listeners that
    /// asked for warnings.
    pub warning: bool,
    pub expected: String,
    /// Since the run started.
    pub after: std::time::Duration,
}

/// Told of each failure as it is recorded.
pub type FailureListener = Box<dyn Fn(FailureNotice) + Send + Sync>;

/// Collects outcomes from concurrently running checks.
pub struct Recorder {
    seed: u64,
    /// Warnings count as failures.
    strict: bool,
    /// Results, until the run is closed (its deadline passed); later
    /// outcomes are dropped.
    /// (Hashed: a lookup per recorded pass, thousands a run; the report
    /// lists them by name.)
    results: Mutex<Option<HashMap<&'static str, CheckResult>>>,
    started: std::time::Instant,
    /// When the first failure was recorded, since `started`.
    first_failure: std::sync::OnceLock<std::time::Duration>,
    /// Wakes whoever waits for the first failure (`--fail-fast`).
    failed: tokio::sync::Notify,
    listener: Option<FailureListener>,
    /// `--fail-fast`: after the first failure nothing more is recorded.
    stop_at_first: bool,
    /// The listener hears warnings too.
    tell_warnings: bool,
    /// Failures can be replayed with the seed (not so for observed traffic).
    replayable: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("seed", &self.seed)
            .field("strict", &self.strict)
            .field("first_failure", &self.first_failure.get())
            .finish_non_exhaustive()
    }
}

impl Recorder {
    pub fn new(seed: u64, strict: bool, checks: &[&'static CheckInfo]) -> Self {
        let results = checks
            .iter()
            .map(|c| {
                let result = CheckResult {
                    name: c.name,
                    description: c.description,
                    basis: c.basis,
                    ..Default::default()
                };
                (c.name, result)
            })
            .collect();
        Recorder {
            seed,
            strict,
            results: Mutex::new(Some(results)),
            started: std::time::Instant::now(),
            first_failure: std::sync::OnceLock::new(),
            failed: tokio::sync::Notify::new(),
            listener: None,
            stop_at_first: false,
            tell_warnings: false,
            replayable: true,
        }
    }

    /// Records nothing after the first failure (`--fail-fast`: what the
    /// checks still running see then is not judged).
    pub fn stopping_at_first_failure(mut self, stop: bool) -> Self {
        self.stop_at_first = stop;
        self
    }

    /// Tells `listener` of every failure as it is recorded.
    pub fn with_listener(mut self, listener: FailureListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Tells the listener of warnings as well as failures.
    pub fn telling_warnings(mut self, tell: bool) -> Self {
        self.tell_warnings = tell;
        self
    }

    /// What is recorded was observed, not generated: no seed replays it.
    pub fn observing(mut self) -> Self {
        self.replayable = false;
        self
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether a failure has been recorded.
    pub fn has_failed(&self) -> bool {
        self.first_failure.get().is_some()
    }

    /// Resolves once a failure has been recorded.
    pub async fn first_failure(&self) {
        let notified = self.failed.notified();
        if !self.has_failed() {
            notified.await;
        }
    }

    fn with(&self, check: &'static CheckInfo, f: impl FnOnce(&mut CheckResult)) {
        let mut results = self.results.lock().expect("recorder lock");
        // Under the lock, so that of failures found together one is first.
        if self.stop_at_first && self.has_failed() {
            return;
        }
        // Checks that were not selected are not recorded, nor anything after the deadline.
        if let Some(result) = results.as_mut().and_then(|r| r.get_mut(check.name)) {
            f(result);
        }
    }

    pub fn pass(&self, check: &'static CheckInfo) {
        self.with(check, |r| r.passed += 1);
    }

    pub fn skip(&self, check: &'static CheckInfo, reason: impl Into<String>) {
        let reason = reason.into();
        self.with(check, |r| {
            r.skipped += 1;
            r.skip_reason.get_or_insert(reason);
        });
    }

    /// Records a failure; `exchange` supplies the answer and the curl line.
    pub fn fail(
        &self,
        check: &'static CheckInfo,
        expected: impl Into<String>,
        exchange: Option<&Exchange>,
        input: Option<String>,
    ) {
        if let Some(why) = exchange.and_then(Exchange::unjudged_because) {
            return self.skip(check, why.to_string());
        }
        let failure = self.failure(expected.into(), exchange, input);
        let notice = FailureNotice {
            check: check.name,
            warning: false,
            expected: failure.expected.clone(),
            after: self.started.elapsed(),
        };
        let mut recorded = false;
        self.with(check, |r| {
            recorded = true;
            r.failed += 1;
            if r.failures.len() < DETAILED_FAILURES {
                r.failures.push(failure);
            }
            self.first_failure.get_or_init(|| notice.after);
        });
        if recorded {
            self.failed.notify_waiters();
            if let Some(listener) = &self.listener {
                listener(notice);
            }
        }
    }

    /// Counts one more case like one already recorded in full (the same
    /// mistake made again): a failure, or a warning when `warning` (then a
    /// failure when the run is strict); neither detailed nor told again.
    pub fn again(&self, check: &'static CheckInfo, warning: bool) {
        self.with(check, |r| match warning && !self.strict {
            true => r.warned += 1,
            false => r.failed += 1,
        });
    }

    /// Records a case that breaks only our stricter reading of the contract
    /// (`expected` says which); a failure when the run is strict.
    pub fn warn(
        &self,
        check: &'static CheckInfo,
        expected: impl Into<String>,
        exchange: Option<&Exchange>,
        input: Option<String>,
    ) {
        if let Some(why) = exchange.and_then(Exchange::unjudged_because) {
            return self.skip(check, why.to_string());
        }
        let expected = format!("(stricter than documented) {}", expected.into());
        if self.strict {
            return self.fail(check, expected, exchange, input);
        }
        let warning = self.failure(expected, exchange, input);
        // Only a listener that asked for warnings hears them: the notice is
        // made for it alone.
        let listener = self.listener.as_ref().filter(|_| self.tell_warnings);
        let notice = listener.map(|_| FailureNotice {
            check: check.name,
            warning: true,
            expected: warning.expected.clone(),
            after: self.started.elapsed(),
        });
        let mut recorded = false;
        self.with(check, |r| {
            recorded = true;
            r.warned += 1;
            if r.warnings.len() < DETAILED_FAILURES {
                r.warnings.push(warning);
            }
        });
        if let (Some(listener), Some(notice), true) = (listener, notice, recorded) {
            listener(notice);
        }
    }

    fn failure(
        &self,
        expected: String,
        exchange: Option<&Exchange>,
        input: Option<String>,
    ) -> Failure {
        Failure {
            expected,
            actual: exchange.map_or_else(|| "-".to_string(), Exchange::summary),
            input,
            curl: exchange.map(Exchange::curl),
            seed: self.replayable.then_some(self.seed),
        }
    }

    /// Records a [`Verdict`] of one case.
    pub fn verdict(
        &self,
        check: &'static CheckInfo,
        verdict: Verdict,
        exchange: &Exchange,
        input: Option<String>,
    ) {
        match verdict {
            Verdict::Pass => self.pass(check),
            Verdict::Warn(expected) => self.warn(check, expected, Some(exchange), input),
            Verdict::Fail(expected) => self.fail(check, expected, Some(exchange), input),
            Verdict::Skip(reason) => self.skip(check, reason),
        }
    }

    /// Replaces the reproduction of `check`'s latest failure with a script
    /// (a whole shrunk sequence).
    pub fn attach_script(&self, check: &'static CheckInfo, script: String) {
        self.with(check, |r| {
            if let Some(failure) = r.failures.last_mut() {
                failure.curl = Some(script);
            }
        });
    }

    /// Records `ok` as a pass, or a failure with `expected`.
    pub fn expect(
        &self,
        check: &'static CheckInfo,
        ok: bool,
        expected: impl FnOnce() -> String,
        exchange: &Exchange,
    ) {
        if ok {
            self.pass(check)
        } else {
            self.fail(check, expected(), Some(exchange), None)
        }
    }

    /// Ends the run: `unfinished` checks are marked so, and nothing
    /// recorded after this counts.
    pub fn close(
        &self,
        unfinished: &[&'static CheckInfo],
        requests: u64,
        elapsed: std::time::Duration,
        coverage: Coverage,
    ) -> Report {
        let results = self
            .results
            .lock()
            .expect("recorder lock")
            .take()
            .unwrap_or_default();
        let mut checks: Vec<CheckResult> = results.into_values().collect();
        checks.sort_unstable_by_key(|check| check.name);
        for check in &mut checks {
            check.unfinished = unfinished.iter().any(|c| c.name == check.name);
        }
        Report {
            seed: self.replayable.then_some(self.seed),
            strict: self.strict,
            requests,
            elapsed_ms: elapsed.as_millis() as u64,
            first_failure_ms: self.first_failure.get().map(|d| d.as_millis() as u64),
            checks,
            coverage,
            rate_limits: RateLimits::default(),
            spending: None,
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

impl Spent {
    fn render(&self) -> String {
        let c = &self.currency;
        let cap = self
            .cap
            .as_ref()
            .map(|cap| format!(", capped at {cap} {c}"))
            .unwrap_or_default();
        let skipped = match self.skipped {
            0 => String::new(),
            n => format!("; {n} payout(s) not sent, past the cap"),
        };
        format!(
            "spent {} {c} on {} payout(s) (expected up to {} {c}{cap}){skipped}\n",
            self.spent, self.payouts, self.planned
        )
    }
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

impl RateLimits {
    /// One line for the table's footer; `None` when the run was never limited.
    fn render(&self) -> Option<String> {
        if self.limited_answers == 0 {
            return None;
        }
        let slowest = self
            .slowest_rate
            .map(|r| format!(", slowest pace {r}/s"))
            .unwrap_or_default();
        let gave_up = match self.gave_up {
            0 => String::new(),
            n => format!("; {n} request(s) given up on, still limited (their checks skipped)"),
        };
        Some(format!(
            "rate limited: {} answer(s) 429, sent again after waiting {:.1} s in all{slowest}{gave_up}\n",
            self.limited_answers,
            self.waited_ms as f64 / 1000.0,
        ))
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
    /// traffic is not replayed).
    pub seed: Option<u64>,
    /// Warnings counted as failures (`--strict`).
    pub strict: bool,
    /// Requests sent to the server.
    pub requests: u64,
    /// Wall time of the run, preflight included.
    pub elapsed_ms: u64,
    /// When the first failure was found, since the run started.
    pub first_failure_ms: Option<u64>,
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

    /// The failures and warnings in detail, then the table of checks.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            render_cases(&mut out, check, "✗", &check.failures, check.failed);
            render_cases(&mut out, check, "!", &check.warnings, check.warned);
        }
        for check in self.unfinished() {
            out.push_str(&format!(
                "\n… {} — not finished: the run ended first (--max-duration, or --fail-fast)\n",
                check.name
            ));
        }
        let width = self
            .checks
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        out.push_str(&format!(
            "\n{:width$}  {:>7} {:>6} {:>6} {:>7}  verdict\n",
            "check", "passed", "failed", "warned", "skipped"
        ));
        for c in &self.checks {
            let note = c
                .skip_reason
                .as_deref()
                .filter(|_| c.passed == 0 && c.failed == 0 && c.warned == 0)
                .unwrap_or("");
            out.push_str(&format!(
                "{:width$}  {:>7} {:>6} {:>6} {:>7}  {} {}\n",
                c.name,
                c.passed,
                c.failed,
                c.warned,
                c.skipped,
                c.verdict(),
                note
            ));
        }
        let totals = self.totals();
        let rate = self.requests as f64 / (self.elapsed_ms.max(1) as f64 / 1000.0);
        let seed = self.seed.map(|s| format!(", seed {s}")).unwrap_or_default();
        out.push_str(&format!(
            "\n{} requests in {:.2} s ({rate:.0}/s){seed}\n{} passed, {} failed, {} warned, {} skipped{}\n",
            self.requests,
            self.elapsed_ms as f64 / 1000.0,
            totals.passed,
            totals.failed,
            totals.warned,
            totals.skipped,
            if self.strict { " (strict: warnings fail)" } else { "" },
        ));
        if let Some(line) = self.rate_limits.render() {
            out.push_str(&line);
        }
        if let Some(spent) = &self.spending {
            out.push_str(&spent.render());
        }
        if let Some(ms) = self.first_failure_ms {
            out.push_str(&format!(
                "first failure found after {:.2} s\n",
                ms as f64 / 1000.0
            ));
        }
        out.push_str(&self.coverage.render());
        out
    }

    /// Sums over every check.
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

    /// JUnit XML: one test case per check; warnings go to its system-out.
    pub fn junit(&self) -> String {
        use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};
        let mut suite = TestSuite::new("rafiki-contract");
        for check in &self.checks {
            let status = if check.failed > 0 {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!(
                    "{} of {} cases failed",
                    check.failed,
                    check.failed + check.passed
                ));
                status.set_description(describe_cases(check, &check.failures));
                status
            } else if check.unfinished {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_message(
                    "not finished: the run ended first (--max-duration, or --fail-fast)",
                );
                status
            } else if check.passed == 0 && check.warned == 0 {
                let mut status = TestCaseStatus::skipped();
                status.set_message(
                    check
                        .skip_reason
                        .clone()
                        .unwrap_or_else(|| "no case ran".into()),
                );
                status
            } else {
                TestCaseStatus::success()
            };
            let mut case = TestCase::new(check.name, status);
            case.set_classname("rafiki-contract");
            if check.warned > 0 {
                case.set_system_out(format!(
                    "WARNING: {} case(s) broke only our stricter reading of the contract\n{}",
                    check.warned,
                    describe_cases(check, &check.warnings)
                ));
                case.add_property(quick_junit::Property::new(
                    "warnings",
                    check.warned.to_string(),
                ));
            }
            case.add_property(quick_junit::Property::new("basis", check.basis));
            suite.add_test_case(case);
        }
        let coverage = &self.coverage;
        for (name, value) in [
            (
                "coverage.exercised",
                format!(
                    "{} of {}",
                    coverage.count(|s| *s == Seen::Exercised),
                    coverage.pairs.len()
                ),
            ),
            (
                "coverage.not_exercised",
                coverage.list(|s| *s == Seen::NotExercised).join(", "),
            ),
            (
                "coverage.unproducible",
                coverage
                    .list(|s| matches!(s, Seen::Unproducible(_)))
                    .join(", "),
            ),
            (
                "rate_limits.limited_answers",
                self.rate_limits.limited_answers.to_string(),
            ),
            (
                "rate_limits.waited_ms",
                self.rate_limits.waited_ms.to_string(),
            ),
            ("rate_limits.gave_up", self.rate_limits.gave_up.to_string()),
            (
                "spending.spent",
                self.spending
                    .as_ref()
                    .map(|s| format!("{} {}", s.spent, s.currency))
                    .unwrap_or_default(),
            ),
        ] {
            suite.add_property(quick_junit::Property::new(name, value));
        }
        let mut report = Junit::new("rafiki-contract");
        report.add_test_suite(suite);
        report.to_string().expect("JUnit serialises")
    }

    /// The JSON report (`--json`).
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }

    /// The JSON Schema (draft 2020-12) of [`Report::json`], pretty-printed
    /// with a final newline: what `report.schema.json` holds.
    pub fn json_schema() -> String {
        let generator = schemars::generate::SchemaSettings::draft2020_12()
            .for_serialize()
            .into_generator();
        let schema = generator.into_root_schema_for::<Report>();
        let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
        text.push('\n');
        text
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

/// The detailed cases of one kind (failures `✗` or warnings `!`) of a check.
fn render_cases(out: &mut String, check: &CheckResult, mark: &str, cases: &[Failure], count: u64) {
    if count == 0 {
        return;
    }
    let kind = if mark == "!" { "warning" } else { "failure" };
    out.push_str(&format!(
        "\n{mark} {} — {} ({kind})\n",
        check.name, check.description
    ));
    for case in cases {
        out.push_str(&format!(
            "  expected: {}\n  got:      {}\n",
            case.expected, case.actual
        ));
        if let Some(input) = &case.input {
            out.push_str(&format!("  input:    {input}\n"));
        }
        if let Some(curl) = &case.curl {
            out.push_str(&format!("  repro:    {curl}\n"));
        }
        match case.seed {
            Some(seed) => out.push_str(&format!(
                "  replay:   rafiki-contract run --seed {seed} --checks {}\n\n",
                check.name
            )),
            None => out.push('\n'),
        }
    }
    if count as usize > cases.len() {
        out.push_str(&format!("  (+{} more)\n", count as usize - cases.len()));
    }
}

/// Cases as JUnit text.
fn describe_cases(check: &CheckResult, cases: &[Failure]) -> String {
    let detail: Vec<String> = cases
        .iter()
        .map(|f| {
            let replay = f
                .seed
                .map(|seed| format!("\nreplay: --seed {seed} --checks {}", check.name))
                .unwrap_or_default();
            format!(
                "expected: {}\ngot: {}\nrepro: {}{replay}",
                f.expected,
                f.actual,
                f.curl.as_deref().unwrap_or("-"),
            )
        })
        .collect();
    detail.join("\n\n")
}
