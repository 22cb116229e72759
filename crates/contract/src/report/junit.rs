//! The report as JUnit XML: one test case per check; warnings go to its
//! system-out; coverage, rate limits and spending as suite properties.

use super::{CheckResult, Failure, Report};
use crate::coverage::Seen;

impl Report {
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
                status.set_description(self.describe_cases(check, &check.failures));
                status
            } else if check.unfinished {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_message(format!(
                    "not finished: {}",
                    self.ended_early.as_deref().unwrap_or("the run ended first")
                ));
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
                    self.describe_cases(check, &check.warnings)
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

    /// Cases as JUnit text.
    fn describe_cases(&self, check: &CheckResult, cases: &[Failure]) -> String {
        let detail: Vec<String> = cases
            .iter()
            .map(|f| {
                let replay = f
                    .seed
                    .map(|seed| format!("\nreplay: {}", self.replay_command(seed, check.name)))
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
}
