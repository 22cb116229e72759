//! The report as the terminal shows it: failures and warnings in detail,
//! the table of checks, and the footer (requests, totals, rate limits,
//! money, coverage).

use std::collections::BTreeSet;

use super::{CheckResult, Failure, RateLimits, Report, Spent};

impl Report {
    /// The failures and warnings in detail, then the table of checks.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            self.render_cases(&mut out, check, "✗", &check.failures, check.failed);
            self.render_cases(&mut out, check, "!", &check.warnings, check.warned);
        }
        let why = self.ended_early.as_deref().unwrap_or("the run ended first");
        for check in self.unfinished() {
            out.push_str(&format!("\n… {} — not finished: {why}\n", check.name));
        }
        out.push_str(&self.render_causes());
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
            // Every skip says why, whatever else the check saw.
            let note = match (&c.skip_reason, c.skipped, c.verdict()) {
                (Some(reason), _, "skipped") => format!(": {reason}"),
                (Some(reason), 1.., _) => format!(" ({} skipped: {reason})", c.skipped),
                _ => String::new(),
            };
            out.push_str(&format!(
                "{:width$}  {:>7} {:>6} {:>6} {:>7}  {}{note}\n",
                c.name,
                c.passed,
                c.failed,
                c.warned,
                c.skipped,
                c.verdict(),
            ));
        }
        out.push_str(&self.render_summary());
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

    /// Checks by verdict, then what they judged (observations, not
    /// tests: one check judges many answers), then the requests.
    fn render_summary(&self) -> String {
        let v = self.verdicts();
        let mut checks = vec![
            format!("{} passed", v.passed),
            format!("{} failed", v.failed),
            format!("{} warned", v.warned),
            format!("{} skipped", v.skipped),
        ];
        if v.unfinished > 0 {
            let why = self.ended_early.as_deref().unwrap_or("the run ended first");
            checks.push(format!("{} not finished ({why})", v.unfinished));
        }
        let strict = if self.strict {
            " (strict: warnings fail)"
        } else {
            ""
        };
        let t = self.totals();
        let rate = self.requests as f64 / (self.elapsed_ms.max(1) as f64 / 1000.0);
        // What a replay repeats, and what it cannot: the server's timing.
        let seed = self
            .seed
            .map(|s| {
                format!(
                    ", seed {s} (the same seed sends the same cases; how often payouts are \
                     polled and how concurrent copies interleave follow the server's timing)"
                )
            })
            .unwrap_or_default();
        format!(
            "\n{} checks: {}{strict}\n\
             observations: {} held, {} broke the documented contract, {} broke only our stricter reading, {} not judged\n\
             {} requests in {:.2} s ({rate:.0}/s){seed}\n",
            self.checks.len(),
            checks.join(", "),
            t.passed,
            t.failed,
            t.warned,
            t.skipped,
            self.requests,
            self.elapsed_ms as f64 / 1000.0,
        )
    }

    /// Failures grouped by the answer they were found on (status and error
    /// code), with the operations that gave it, when that says more than
    /// the list of checks: one kind of answer failing several checks, or
    /// several kinds.
    fn render_causes(&self) -> String {
        let mut answers: Vec<(&str, u64, BTreeSet<&str>, Vec<String>)> = Vec::new();
        for cause in &self.causes {
            let at = match answers.iter().position(|a| a.0 == cause.answer) {
                Some(at) => at,
                None => {
                    answers.push((&cause.answer, 0, BTreeSet::new(), Vec::new()));
                    answers.len() - 1
                }
            };
            let (_, failures, checks, operations) = &mut answers[at];
            *failures += cause.failures;
            checks.extend(cause.checks.iter().copied());
            operations.push(format!("{} {}", cause.operation, cause.failures));
        }
        if answers.is_empty() || (answers.len() == 1 && answers[0].2.len() == 1) {
            return String::new();
        }
        answers.sort_by_key(|answer| std::cmp::Reverse(answer.1));
        let mut out = String::from("\nfailures by the answer they were found on:\n");
        for (answer, failures, checks, operations) in &answers {
            out.push_str(&format!(
                "  {answer}: {failures} failure(s) in {} check(s) ({}); answered by {}\n",
                checks.len(),
                checks.iter().copied().collect::<Vec<_>>().join(", "),
                operations.join(", ")
            ));
        }
        let grouped: u64 = answers.iter().map(|a| a.1).sum();
        let rest = self.totals().failed.saturating_sub(grouped);
        if rest > 0 {
            out.push_str(&format!(
                "  {rest} more failure(s) not found on one answer (a sequence, a count, a repeat)\n"
            ));
        }
        out
    }

    /// The detailed cases of one kind (failures `✗` or warnings `!`) of a check.
    fn render_cases(
        &self,
        out: &mut String,
        check: &CheckResult,
        mark: &str,
        cases: &[Failure],
        count: u64,
    ) {
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
            out.push('\n');
        }
        if count as usize > cases.len() {
            out.push_str(&format!("  (+{} more)\n", count as usize - cases.len()));
        }
        // One run replays every case of the check.
        if let Some(seed) = cases.iter().find_map(|case| case.seed) {
            out.push_str(&format!(
                "  replay:   {}\n",
                self.replay_command(seed, check.name)
            ));
        }
    }
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
