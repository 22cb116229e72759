//! An account's faults at run time: its plan, how many requests of each
//! operation it has seen since the plan was set, and how many times each
//! rule fired.

use std::time::Duration;

use super::{Fault, FaultPlan, FaultRule, fires};
use crate::operation::Operation;

/// One account's plan and counters.
#[derive(Debug)]
pub(crate) struct FaultState {
    plan: FaultPlan,
    /// Requests seen per operation ([`Operation::index`]).
    seen: [u64; Operation::ALL.len()],
    /// Injections per rule.
    injected: Vec<u32>,
}

/// A rule that fired on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Injected {
    /// Its index in the plan.
    pub rule: usize,
    /// The rule, in the flag grammar (for logs and messages).
    pub text: String,
    pub fault: Fault,
}

impl FaultState {
    pub fn new(plan: FaultPlan) -> Self {
        let injected = vec![0; plan.rules.len()];
        FaultState {
            plan,
            seen: [0; Operation::ALL.len()],
            injected,
        }
    }

    /// Replaces the plan; every counter starts again from zero.
    pub fn replace(&mut self, plan: FaultPlan) {
        *self = FaultState::new(plan);
    }

    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// The rules with how many times each fired.
    pub fn rules(&self) -> impl Iterator<Item = (&FaultRule, u32)> {
        self.plan.rules.iter().zip(self.injected.iter().copied())
    }

    /// The rules that fire on the next request for `operation`, in plan
    /// order: every latency rule that fires, and at most one other (the
    /// first that fires; the rules after it are not drawn). A spent rule
    /// is not drawn.
    pub fn decide(&mut self, operation: Operation) -> Vec<Injected> {
        let n = self.seen[operation.index()];
        self.seen[operation.index()] += 1;
        let mut fired = Vec::new();
        let mut answered = false;
        for (index, rule) in self.plan.rules.iter().enumerate() {
            let spent = rule
                .times()
                .is_some_and(|times| self.injected[index] >= times.get());
            let latency = matches!(rule.fault(), Fault::Latency(_));
            if spent || !rule.applies_to(operation) || (answered && !latency) {
                continue;
            }
            if fires(self.plan.seed, index, operation, n, rule.share()) {
                self.injected[index] += 1;
                answered |= !latency;
                fired.push(Injected {
                    rule: index,
                    text: rule.to_string(),
                    fault: rule.fault(),
                });
            }
        }
        fired
    }
}

/// The added latency of what fired.
pub(crate) fn latency(fired: &[Injected]) -> Duration {
    fired
        .iter()
        .filter_map(|injected| match injected.fault {
            Fault::Latency(duration) => Some(duration),
            _ => None,
        })
        .sum()
}

/// What fired instead of (or after) handling, if anything.
pub(crate) fn outcome(fired: &[Injected]) -> Option<&Injected> {
    fired
        .iter()
        .find(|injected| !matches!(injected.fault, Fault::Latency(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seed: u64, rules: &[&str]) -> FaultPlan {
        rules.iter().fold(FaultPlan::new(seed), |plan, rule| {
            plan.with(rule.parse().unwrap())
        })
    }

    fn faults(fired: Vec<Injected>) -> Vec<String> {
        fired.into_iter().map(|i| i.fault.to_string()).collect()
    }

    #[test]
    fn times_spend_a_rule_and_the_next_one_takes_over() {
        let mut state = FaultState::new(plan(
            0,
            &["create_payout=503#1", "create_payout=409+retry-after=0#1"],
        ));
        let op = Operation::CreatePayout;
        assert_eq!(faults(state.decide(op)), ["503"]);
        assert_eq!(faults(state.decide(op)), ["409+retry-after=0"]);
        assert!(state.decide(op).is_empty());
        assert!(state.decide(Operation::ListPayouts).is_empty());
        let counts: Vec<u32> = state.rules().map(|(_, n)| n).collect();
        assert_eq!(counts, [1, 1]);
    }

    #[test]
    fn latency_adds_up_and_the_first_answer_wins() {
        let mut state = FaultState::new(plan(
            3,
            &[
                "*=latency:10ms",
                "*=502",
                "*=latency:5ms",
                "*=drop-after-handling",
            ],
        ));
        let fired = state.decide(Operation::GetPayout);
        assert_eq!(latency(&fired), Duration::from_millis(15));
        assert_eq!(outcome(&fired).map(|i| i.rule), Some(1));
        assert_eq!(faults(fired), ["latency:10ms", "502", "latency:5ms"]);
        let counts: Vec<u32> = state.rules().map(|(_, n)| n).collect();
        assert_eq!(
            counts,
            [1, 1, 1, 0],
            "the rule after the answer is not drawn"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_faults_and_replacing_restarts_the_count() {
        let rules = [
            "create_payout=503@30%",
            "create_payout=drop-after-handling@20%",
        ];
        let run = |state: &mut FaultState| -> Vec<Vec<String>> {
            (0..200)
                .map(|_| faults(state.decide(Operation::CreatePayout)))
                .collect()
        };
        let mut state = FaultState::new(plan(11, &rules));
        let first = run(&mut state);
        assert_eq!(first, run(&mut FaultState::new(plan(11, &rules))));
        assert_ne!(first, run(&mut FaultState::new(plan(12, &rules))));
        state.replace(plan(11, &rules));
        assert_eq!(first, run(&mut state));
        let count = |fault: &str| {
            first
                .iter()
                .filter(|f| f.first().is_some_and(|f| f == fault))
                .count()
        };
        assert!((40..80).contains(&count("503")), "{}", count("503"));
        assert!((15..50).contains(&count("drop-after-handling")));
    }
}
