//! The report as the terminal shows it: failures and warnings in detail,
//! the table of checks, and the footer (requests, totals, rate limits,
//! money, coverage).

use super::{CheckResult, Failure, RateLimits, Report, Spent};

impl Report {
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
