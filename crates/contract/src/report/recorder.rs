//! [`Recorder`]: collects the outcomes of checks running at once, tells
//! listeners of failures as they are found, and closes into a [`Report`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use super::{Cause, CheckResult, Failure, Report, Verdict};
use crate::catalogue::CheckInfo;
use crate::coverage::Coverage;
use crate::http::Exchange;

/// How many failures per check keep their full details.
const DETAILED_FAILURES: usize = 5;
/// What a warning's `expected` starts with.
const STRICTER: &str = "(stricter than documented)";

/// (answer, operation) of [`cause_of`] to how many failures were found on
/// such answers, and by which checks.
type CauseTally = BTreeMap<(String, String), (u64, BTreeSet<&'static str>)>;

/// A failure as soon as it is recorded (the full report comes at the end).
#[derive(Debug, Clone)]
pub struct FailureNotice {
    pub check: &'static str,
    /// Only a warning (our stricter reading); told only to listeners that
    /// asked for warnings.
    pub warning: bool,
    pub expected: String,
    /// What came back (the answer, shortened), or, for what the proxy
    /// found in an application's request, what the application sent.
    pub actual: String,
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
    /// Failures by the answer they were found on.
    causes: Mutex<CauseTally>,
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
            causes: Mutex::default(),
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
        self.record_failure(
            check,
            self.failure(expected.into(), exchange, input),
            exchange,
        );
    }

    /// Records a failure of a request an application sent (the proxy's
    /// findings): `sent` says what it sent, and stands where the answer
    /// would (`actual`); `expected` is what the contract expects of it.
    pub fn fail_sent(
        &self,
        check: &'static CheckInfo,
        expected: impl Into<String>,
        sent: impl Into<String>,
        exchange: Option<&Exchange>,
    ) {
        let failure = Failure {
            actual: sent.into(),
            ..self.failure(expected.into(), exchange, None)
        };
        // The application's request is the cause, not the answer: not
        // grouped by answer.
        self.record_failure(check, failure, None);
    }

    /// Records `failure`; one found on `exchange`'s answer counts towards
    /// that answer's cause.
    fn record_failure(
        &self,
        check: &'static CheckInfo,
        failure: Failure,
        exchange: Option<&Exchange>,
    ) {
        let notice = self.notice(check, false, &failure);
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
            if let Some(exchange) = exchange {
                let mut causes = self.causes.lock().expect("causes lock");
                let (count, checks) = causes.entry(cause_of(exchange)).or_default();
                *count += 1;
                checks.insert(check.name);
            }
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
        let expected = format!("{STRICTER} {}", expected.into());
        if self.strict {
            return self.fail(check, expected, exchange, input);
        }
        self.record_warning(check, self.failure(expected, exchange, input));
    }

    /// [`Recorder::warn`] of a request an application sent, as
    /// [`Recorder::fail_sent`] records a failure of one.
    pub fn warn_sent(
        &self,
        check: &'static CheckInfo,
        expected: impl Into<String>,
        sent: impl Into<String>,
        exchange: Option<&Exchange>,
    ) {
        let expected = format!("{STRICTER} {}", expected.into());
        if self.strict {
            return self.fail_sent(check, expected, sent, exchange);
        }
        let warning = Failure {
            actual: sent.into(),
            ..self.failure(expected, exchange, None)
        };
        self.record_warning(check, warning);
    }

    fn record_warning(&self, check: &'static CheckInfo, warning: Failure) {
        // Only a listener that asked for warnings hears them: the notice is
        // made for it alone.
        let listener = self.listener.as_ref().filter(|_| self.tell_warnings);
        let notice = listener.map(|_| self.notice(check, true, &warning));
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

    /// What a listener is told of `case`, as it is recorded.
    fn notice(&self, check: &'static CheckInfo, warning: bool, case: &Failure) -> FailureNotice {
        FailureNotice {
            check: check.name,
            warning,
            expected: case.expected.clone(),
            actual: case.actual.clone(),
            after: self.started.elapsed(),
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
            let judged = check.passed + check.failed + check.warned + check.skipped;
            if judged == 0 && !check.unfinished {
                // Never a silent row: a check nothing reached says so.
                check.skipped = 1;
                check.skip_reason = Some(match self.replayable {
                    true => "no case of this run reached it (an earlier failure may have \
                             stopped the sequence that tries it)"
                        .into(),
                    false => "the traffic seen gave it nothing to judge".into(),
                });
            }
        }
        let mut causes: Vec<Cause> = std::mem::take(&mut *self.causes.lock().expect("causes lock"))
            .into_iter()
            .map(|((answer, operation), (failures, checks))| Cause {
                answer,
                operation,
                failures,
                checks: checks.into_iter().collect(),
            })
            .collect();
        causes.sort_by_key(|cause| std::cmp::Reverse(cause.failures));
        Report {
            seed: self.replayable.then_some(self.seed),
            base_url: None,
            max_examples: None,
            ended_early: None,
            causes,
            strict: self.strict,
            requests,
            elapsed_ms: elapsed.as_millis() as u64,
            first_failure_ms: self.first_failure.get().map(|d| d.as_millis() as u64),
            checks,
            coverage,
            rate_limits: Default::default(),
            spending: None,
        }
    }
}

/// The answer a failure was found on, as the report groups it: the status
/// and error code (or `no answer`), and the operation.
fn cause_of(exchange: &Exchange) -> (String, String) {
    let answer = match (&exchange.answer, exchange.error_code()) {
        (Err(_), _) => "no answer".to_string(),
        (Ok(answer), Some(code)) => format!("HTTP {} {code}", answer.status),
        (Ok(answer), None) => format!("HTTP {}", answer.status),
    };
    let operation = match exchange.probe.operation {
        Some(operation) => operation.to_string(),
        None => format!("{} {}", exchange.probe.method, exchange.probe.target),
    };
    (answer, operation)
}
