//! Spec coverage: which documented (operation, status) pairs of the spec a
//! run saw answered, which it never saw, and which a client cannot provoke
//! on purpose. Printed under the table and kept in the JSON and JUnit
//! reports, so an operation or status added to the spec shows up here as
//! "not exercised" until a check produces it.

use std::sync::atomic::{AtomicBool, Ordering};

use schemars::JsonSchema;
use serde::Serialize;
use std::collections::HashMap;

/// Whether a run saw a documented (operation, status) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "seen", content = "reason")]
pub enum Seen {
    /// At least one answer had this status.
    Exercised,
    /// No answer had it, though a check could provoke it.
    NotExercised,
    /// No answer had it, and no request can provoke it on purpose.
    Unproducible(String),
}

/// One documented (operation, status) pair and whether the run saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Pair {
    /// The spec's `operationId`.
    pub operation: String,
    /// A status the spec documents for it.
    pub status: u16,
    #[serde(flatten)]
    pub seen: Seen,
}

/// Every documented pair of the spec, in the spec's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Coverage {
    /// Every documented (operation, status) pair, in the spec's order.
    pub pairs: Vec<Pair>,
    /// Only part of the suite ran (`--checks`, `--exclude-checks`, or
    /// checks not finished): a pair not exercised may be beyond the reach
    /// of what ran, so none is called missing.
    pub partial: bool,
}

impl Coverage {
    /// Pairs with the given standing.
    pub fn count(&self, wanted: fn(&Seen) -> bool) -> usize {
        self.pairs.iter().filter(|p| wanted(&p.seen)).count()
    }

    /// `operation status` of every pair whose standing matches.
    pub fn list(&self, wanted: fn(&Seen) -> bool) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|p| wanted(&p.seen))
            .map(|p| format!("{} {}", p.operation, p.status))
            .collect()
    }

    /// Whether `operation status` was exercised.
    pub fn exercised(&self, operation: &str, status: u16) -> bool {
        self.pairs
            .iter()
            .any(|p| p.operation == operation && p.status == status && p.seen == Seen::Exercised)
    }

    /// The end of the terminal report: one sentence, then the pairs not
    /// exercised and those no request provokes on purpose, by reason.
    pub fn render(&self) -> String {
        let exercised = self.count(|s| *s == Seen::Exercised);
        let documented = self.pairs.len();
        if documented == 0 {
            // A report of what no spec operation answers (a webhook
            // receiver's) has no coverage to speak of.
            return String::new();
        }
        if self.partial {
            return format!(
                "spec coverage: {exercised} of the {documented} documented (operation, status) \
                 pairs exercised; only part of the suite ran, so none is called missing (a whole \
                 run of every check lists them)\n"
            );
        }
        let missing = self.list(|s| *s == Seen::NotExercised);
        let mut reasons: Vec<(&str, Vec<String>)> = Vec::new();
        for pair in &self.pairs {
            if let Seen::Unproducible(reason) = &pair.seen {
                let name = format!("{} {}", pair.operation, pair.status);
                match reasons.iter_mut().find(|(r, _)| r == reason) {
                    Some((_, pairs)) => pairs.push(name),
                    None => reasons.push((reason, vec![name])),
                }
            }
        }
        let unproducible: usize = reasons.iter().map(|(_, pairs)| pairs.len()).sum();
        let mut out = format!(
            "spec coverage: {exercised} of {documented} documented (operation, status) pairs \
             exercised, {} not exercised, {unproducible} not provoked on purpose\n",
            missing.len()
        );
        if !missing.is_empty() {
            out.push_str(&format!("  not exercised: {}\n", missing.join(", ")));
        }
        for (reason, pairs) in reasons {
            out.push_str(&format!("  {reason}: {}\n", pairs.join(", ")));
        }
        out
    }
}

/// Why a documented status cannot be provoked on purpose, if it cannot.
fn unproducible(status: u16) -> Option<&'static str> {
    match status {
        // The provider's idempotency page answers a used key with the stored
        // answer, so only a race (or a server that failed to store an
        // answer) gives 409: `idempotency_concurrent` tries, timing decides.
        409 => Some(
            "left to timing (idempotency_concurrent sends copies at once; none collided this run)",
        ),
        500.. => Some("server faults, which no request provokes on purpose"),
        _ => None,
    }
}

/// The documented pairs, each marked once an answer shows it. Marking
/// takes no lock and no allocation: it runs for every answer.
#[derive(Debug, Default)]
pub struct Tally {
    /// Every documented pair, in the spec's order.
    pairs: Vec<(String, u16)>,
    /// operationId, then status, to the pair's place in `pairs`.
    index: HashMap<String, HashMap<u16, usize>>,
    seen: Vec<AtomicBool>,
}

impl Tally {
    /// A tally of `documented` pairs, given in the spec's order.
    pub fn new(documented: Vec<(String, u16)>) -> Self {
        let mut index: HashMap<String, HashMap<u16, usize>> = HashMap::new();
        for (at, (operation, status)) in documented.iter().enumerate() {
            index
                .entry(operation.clone())
                .or_default()
                .insert(*status, at);
        }
        Tally {
            seen: documented.iter().map(|_| AtomicBool::new(false)).collect(),
            pairs: documented,
            index,
        }
    }

    /// Notes that `operation` answered `status`; an undocumented pair is
    /// `status_documented`'s business, not coverage's.
    pub fn saw(&self, operation: &str, status: u16) {
        if let Some(&at) = self.index.get(operation).and_then(|s| s.get(&status)) {
            self.seen[at].store(true, Ordering::Relaxed);
        }
    }

    /// Every documented pair and whether it was seen.
    pub fn coverage(&self) -> Coverage {
        let pairs = self
            .pairs
            .iter()
            .zip(&self.seen)
            .map(|((operation, status), seen)| {
                let seen = if seen.load(Ordering::Relaxed) {
                    Seen::Exercised
                } else if let Some(reason) = unproducible(*status) {
                    Seen::Unproducible(reason.to_string())
                } else {
                    Seen::NotExercised
                };
                Pair {
                    operation: operation.clone(),
                    status: *status,
                    seen,
                }
            })
            .collect();
        Coverage {
            pairs,
            partial: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_exercised_missing_or_unproducible() {
        let tally = Tally::new(
            [200, 404, 500]
                .map(|status| ("get_payout".to_string(), status))
                .to_vec(),
        );
        tally.saw("get_payout", 200);
        tally.saw("get_payout", 200);
        tally.saw("get_payout", 418);
        tally.saw("list_payouts", 200);
        let coverage = tally.coverage();
        assert!(coverage.exercised("get_payout", 200));
        assert_eq!(
            coverage.list(|s| *s == Seen::NotExercised),
            ["get_payout 404"]
        );
        assert_eq!(
            coverage.list(|s| matches!(s, Seen::Unproducible(_))),
            ["get_payout 500"]
        );
        // Undocumented statuses are status_documented's business, not coverage's.
        assert_eq!(coverage.pairs.len(), 3);
        let json = serde_json::to_value(&coverage).unwrap();
        assert_eq!(json["pairs"][1]["seen"], "not_exercised");
        assert_eq!(json["pairs"][2]["seen"], "unproducible");
    }
}
