//! The reference state machine: what steps a sequence may take. It only
//! needs to know how many payouts exist so far, and the range amounts are
//! drawn from (from [`super::amounts`]); the expected answers are computed
//! against the server's observed state by the judges that
//! [`super::sequence`] hands each step to, with the rules crate's models.

use std::ops::RangeInclusive;

use proptest::prelude::*;
use proptest::sample::SizeRange;
use proptest_state_machine::Sequential;

use super::requests::amount_text;

/// One step of a sequence. Indices refer to earlier steps' payouts or
/// accounts (taken modulo how many really exist).
#[derive(Debug, Clone)]
pub enum Step {
    /// A new payout with a fresh idempotency key.
    Create {
        cents: u32,
        account: u8,
    },
    /// A new payout to sandbox test number `test_value` (an index into the
    /// failing numbers), which ends FAILED where the server honours them
    /// (elsewhere an ordinary create).
    CreateFailing {
        cents: u32,
        test_value: u8,
    },
    /// Payout `payout`'s request again, same key and body.
    Replay {
        payout: usize,
    },
    /// Payout `payout`'s key with another amount.
    ReuseKey {
        payout: usize,
        cents: u32,
    },
    /// `copies` identical requests with one key, at once.
    Concurrent {
        cents: u32,
        account: u8,
        copies: u8,
    },
    /// A payout just above the wallet's available amount.
    Overdraw,
    Get {
        payout: usize,
    },
    WalkList,
    DateFiltered {
        payout: usize,
    },
    ReadWallet,
    GetOrCreateAccount {
        account: u8,
    },
    /// Control API: PENDING → CANCELLED.
    Cancel {
        payout: usize,
    },
    /// Control API: SENT → REVERSED.
    Reverse {
        payout: usize,
    },
}

impl Step {
    /// The step as a person would write it, amounts in `currency`
    /// (reports show a failing sequence this way, never as Rust).
    pub fn describe(&self, currency: &str) -> String {
        // As sent: cents become a two-place decimal, never a float.
        let money = |cents: u32| format!("{} {currency}", amount_text(cents));
        match *self {
            Step::Create { cents, account } => {
                format!("a {} payout to account {account}", money(cents))
            }
            Step::CreateFailing { cents, test_value } => {
                let suffixes = rafiki_rules::sandbox::FAILING_MOBILE_SUFFIXES;
                let (suffix, _) = suffixes[usize::from(test_value) % suffixes.len()];
                format!(
                    "a {} payout to the sandbox failing number …{suffix}",
                    money(cents)
                )
            }
            Step::Replay { payout } => {
                format!("payout {payout}'s request again (same key, same body)")
            }
            Step::ReuseKey { payout, cents } => format!(
                "payout {payout}'s key with another amount ({}, or a cent more if that is payout {payout}'s)",
                money(cents)
            ),
            Step::Concurrent {
                cents,
                account,
                copies,
            } => format!(
                "{copies} concurrent copies of a {} payout to account {account}",
                money(cents)
            ),
            Step::Overdraw => "a payout just above the wallet's available amount".into(),
            Step::Get { payout } => format!("read payout {payout}"),
            Step::WalkList => "walk the list of payouts".into(),
            Step::DateFiltered { payout } => {
                format!("list the payouts dated around payout {payout}'s creation")
            }
            Step::ReadWallet => "read the wallet".into(),
            Step::GetOrCreateAccount { account } => format!("get or create account {account}"),
            Step::Cancel { payout } => format!("cancel payout {payout} (control API)"),
            Step::Reverse { payout } => format!("reverse payout {payout} (control API)"),
        }
    }
}

/// A sequence's steps as a report shows them: each [`Step::describe`]d,
/// `; `-separated, payouts numbered from 0 in the order they were created.
pub fn describe(steps: &[Step], currency: &str) -> String {
    steps
        .iter()
        .map(|step| step.describe(currency))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the generator needs to know.
#[derive(Debug, Clone)]
pub struct Model {
    pub creates: usize,
    /// Payout amounts, in cents ([`super::amounts::Amounts::cents`]).
    pub cents: RangeInclusive<u32>,
}

/// The strategy of a whole sequence: up to `size` steps. Built by hand
/// rather than with `ReferenceStateMachine::sequential_strategy`, whose
/// initial state cannot take the amounts, which come from the run's
/// compliance data.
pub type Sequences = Sequential<Model, Step, BoxedStrategy<Model>, BoxedStrategy<Step>>;

impl Model {
    /// Sequences of `size` steps whose amounts (in cents) come from `cents`.
    pub fn sequences(cents: RangeInclusive<u32>, size: impl Into<SizeRange>) -> Sequences {
        let start = Model { creates: 0, cents };
        Sequential::new(
            size.into(),
            move || Just(start.clone()).boxed(),
            Model::preconditions,
            Model::transitions,
            Model::apply,
        )
    }

    fn transitions(state: &Model) -> BoxedStrategy<Step> {
        // Mostly within 10.00 of the smallest amount: against a real
        // sandbox every accepted create is paid for; now and then anywhere
        // in the range, so that creates still drain a topped-up wallet.
        let (low, high) = (*state.cents.start(), *state.cents.end());
        let cents = || prop_oneof![19 => low..=high.min(low + 1_000), 1 => low..=high];
        let create = (cents(), 0u8..4).prop_map(|(cents, account)| Step::Create { cents, account });
        let failing = (cents(), 0u8..7)
            .prop_map(|(cents, test_value)| Step::CreateFailing { cents, test_value });
        if state.creates == 0 {
            return prop_oneof![
                4 => create,
                1 => failing,
                1 => (cents(), 0u8..4, 2u8..9).prop_map(|(cents, account, copies)| Step::Concurrent { cents, account, copies }),
                1 => (0u8..4).prop_map(|account| Step::GetOrCreateAccount { account }),
                1 => Just(Step::ReadWallet),
                1 => Just(Step::Overdraw),
            ]
            .boxed();
        }
        let payout = 0..state.creates;
        prop_oneof![
            4 => create,
            1 => failing,
            2 => payout.clone().prop_map(|payout| Step::Replay { payout }),
            2 => (payout.clone(), cents()).prop_map(|(payout, cents)| Step::ReuseKey { payout, cents }),
            1 => (cents(), 0u8..4, 2u8..9).prop_map(|(cents, account, copies)| Step::Concurrent { cents, account, copies }),
            1 => Just(Step::Overdraw),
            3 => payout.clone().prop_map(|payout| Step::Get { payout }),
            1 => Just(Step::WalkList),
            1 => payout.clone().prop_map(|payout| Step::DateFiltered { payout }),
            2 => Just(Step::ReadWallet),
            1 => (0u8..4).prop_map(|account| Step::GetOrCreateAccount { account }),
            2 => payout.clone().prop_map(|payout| Step::Cancel { payout }),
            2 => payout.prop_map(|payout| Step::Reverse { payout }),
        ]
        .boxed()
    }

    fn apply(mut state: Model, step: &Step) -> Model {
        if matches!(
            step,
            Step::Create { .. } | Step::CreateFailing { .. } | Step::Concurrent { .. }
        ) {
            state.creates += 1;
        }
        state
    }

    fn preconditions(state: &Model, step: &Step) -> bool {
        match step {
            Step::Replay { payout }
            | Step::ReuseKey { payout, .. }
            | Step::Get { payout }
            | Step::DateFiltered { payout }
            | Step::Cancel { payout }
            | Step::Reverse { payout } => *payout < state.creates,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_a_person_writes_them() {
        let steps = [
            Step::Concurrent {
                cents: 59798,
                account: 1,
                copies: 6,
            },
            Step::Create {
                cents: 14000,
                account: 0,
            },
            Step::Replay { payout: 0 },
            Step::Overdraw,
        ];
        assert_eq!(
            describe(&steps, "KES"),
            "6 concurrent copies of a 597.98 KES payout to account 1; \
             a 140.00 KES payout to account 0; \
             payout 0's request again (same key, same body); \
             a payout just above the wallet's available amount"
        );
        let failing = Step::CreateFailing {
            cents: 5,
            test_value: 1,
        };
        assert_eq!(
            failing.describe("KES"),
            "a 0.05 KES payout to the sandbox failing number …000101"
        );
    }
}
