//! What a run found: per-check pass/fail/skip counts, failures with their
//! reproduction, and the renderings (terminal table, JUnit XML, JSON).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use crate::checks::CheckInfo;
use crate::http::Exchange;

/// How many failures per check keep their full details.
const DETAILED_FAILURES: usize = 5;

/// One failure, ready to act on.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub expected: String,
    pub actual: String,
    /// The (shrunk, for generated checks) input, when there was one.
    pub input: Option<String>,
    /// A shell command that sends the failing request again.
    pub curl: Option<String>,
    /// Replays the run: `--seed N --checks NAME`.
    pub seed: u64,
}

/// A check's tally.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckResult {
    pub name: &'static str,
    pub description: &'static str,
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
    /// Why it was skipped (first reason given).
    pub skip_reason: Option<String>,
    pub failures: Vec<Failure>,
}

impl CheckResult {
    pub fn verdict(&self) -> &'static str {
        if self.failed > 0 {
            "FAILED"
        } else if self.passed > 0 {
            "passed"
        } else {
            "skipped"
        }
    }
}

/// Collects outcomes from concurrently running checks.
#[derive(Debug)]
pub struct Recorder {
    seed: u64,
    results: Mutex<BTreeMap<&'static str, CheckResult>>,
}

impl Recorder {
    pub fn new(seed: u64, checks: &[&'static CheckInfo]) -> Self {
        let results = checks
            .iter()
            .map(|c| (c.name, CheckResult { name: c.name, description: c.description, ..Default::default() }))
            .collect();
        Recorder { seed, results: Mutex::new(results) }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn with(&self, check: &'static CheckInfo, f: impl FnOnce(&mut CheckResult)) {
        let mut results = self.results.lock().expect("recorder lock");
        // Checks that were not selected are not recorded.
        if let Some(result) = results.get_mut(check.name) {
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
        let seed = self.seed;
        let failure = Failure {
            expected: expected.into(),
            actual: exchange.map_or_else(|| "-".to_string(), Exchange::summary),
            input,
            curl: exchange.map(Exchange::curl),
            seed,
        };
        self.with(check, |r| {
            r.failed += 1;
            if r.failures.len() < DETAILED_FAILURES {
                r.failures.push(failure);
            }
        });
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
    pub fn expect(&self, check: &'static CheckInfo, ok: bool, expected: impl FnOnce() -> String, exchange: &Exchange) {
        if ok { self.pass(check) } else { self.fail(check, expected(), Some(exchange), None) }
    }

    pub fn finish(self, requests: u64, elapsed: std::time::Duration) -> Report {
        Report {
            seed: self.seed,
            requests,
            elapsed_ms: elapsed.as_millis() as u64,
            checks: self.results.into_inner().expect("recorder lock").into_values().collect(),
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub seed: u64,
    /// Requests sent to the server.
    pub requests: u64,
    /// Wall time of the run, preflight included.
    pub elapsed_ms: u64,
    pub checks: Vec<CheckResult>,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.failed > 0)
    }

    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The failures in detail, then the table of checks.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for check in self.checks.iter().filter(|c| c.failed > 0) {
            out.push_str(&format!("\n✗ {} — {}\n", check.name, check.description));
            for failure in &check.failures {
                out.push_str(&format!("  expected: {}\n  got:      {}\n", failure.expected, failure.actual));
                if let Some(input) = &failure.input {
                    out.push_str(&format!("  input:    {input}\n"));
                }
                if let Some(curl) = &failure.curl {
                    out.push_str(&format!("  repro:    {curl}\n"));
                }
                out.push_str(&format!("  replay:   rafiki-contract run --seed {} --checks {}\n\n", failure.seed, check.name));
            }
            if check.failed as usize > check.failures.len() {
                out.push_str(&format!("  (+{} more failures)\n", check.failed as usize - check.failures.len()));
            }
        }
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(5).max(5);
        out.push_str(&format!("\n{:width$}  {:>7} {:>6} {:>7}  verdict\n", "check", "passed", "failed", "skipped"));
        for c in &self.checks {
            let note = c.skip_reason.as_deref().filter(|_| c.passed == 0 && c.failed == 0).unwrap_or("");
            out.push_str(&format!(
                "{:width$}  {:>7} {:>6} {:>7}  {} {}\n",
                c.name,
                c.passed,
                c.failed,
                c.skipped,
                c.verdict(),
                note
            ));
        }
        let (passed, failed, skipped) = self.totals();
        let rate = self.requests as f64 / (self.elapsed_ms.max(1) as f64 / 1000.0);
        out.push_str(&format!(
            "\n{} requests in {:.2} s ({rate:.0}/s), seed {}\n{passed} passed, {failed} failed, {skipped} skipped\n",
            self.requests,
            self.elapsed_ms as f64 / 1000.0,
            self.seed
        ));
        out
    }

    /// Sums over every check.
    pub fn totals(&self) -> (u64, u64, u64) {
        self.checks.iter().fold((0, 0, 0), |(p, f, s), c| (p + c.passed, f + c.failed, s + c.skipped))
    }

    /// JUnit XML: one test case per check.
    pub fn junit(&self) -> String {
        use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};
        let mut suite = TestSuite::new("rafiki-contract");
        for check in &self.checks {
            let status = if check.failed > 0 {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!("{} of {} cases failed", check.failed, check.failed + check.passed));
                let detail: Vec<String> = check
                    .failures
                    .iter()
                    .map(|f| {
                        format!(
                            "expected: {}\ngot: {}\nrepro: {}\nreplay: --seed {} --checks {}",
                            f.expected,
                            f.actual,
                            f.curl.as_deref().unwrap_or("-"),
                            f.seed,
                            check.name
                        )
                    })
                    .collect();
                status.set_description(detail.join("\n\n"));
                status
            } else if check.passed == 0 {
                let mut status = TestCaseStatus::skipped();
                status.set_message(check.skip_reason.clone().unwrap_or_else(|| "no case ran".into()));
                status
            } else {
                TestCaseStatus::success()
            };
            let mut case = TestCase::new(check.name, status);
            case.set_classname("rafiki-contract");
            suite.add_test_case(case);
        }
        let mut report = Junit::new("rafiki-contract");
        report.add_test_suite(suite);
        report.to_string().expect("JUnit serialises")
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }
}
