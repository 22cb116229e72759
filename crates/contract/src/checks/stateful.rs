//! Model-based sequences: proptest-state-machine generates sequences of
//! steps (create, replay, reuse a key, concurrent creates, overdraw, get,
//! list, date filter, wallet read, payment account get-or-create, and,
//! where the server has the mock's control API, cancel and reverse); each
//! step's answer is compared with the model built from `rafiki-rules`
//! (idempotency, wallet accounting, lifecycle). A failing sequence is
//! shrunk and reported as a curl script with the seed.
//!
//! Sequences run in *lanes*, concurrently (one per `--workers` slot, at
//! most [`MAX_LANES`]), each its own seeded proptest runner. The money lane
//! runs on the second account's key when there is one, so that nothing
//! else touches its wallet and the arithmetic can be exact; the other
//! lanes, and every lane without a second key, run on the main key with
//! the wallet checks left out (skipped, with the reason, when no lane
//! judges money).
//!
//! Nothing waits for a payout to settle between sequences: a sequence
//! reads its money baseline together with the earlier payouts still in
//! flight and counts what they do meanwhile, and each lane, once its
//! sequences are done, polls all its payouts until they settled and
//! judges their whole histories (`polling::settle_lane`).
//!
//! Real servers differ: payouts may settle in milliseconds or seconds, and
//! support may cancel or reverse them by hand. The model therefore never
//! assumes a state it has not observed: before predicting money it
//! re-reads every payout, and a legal history is never a failure.
//!
//! Layout (`stateful/`): `model` generates the steps; `sequence` runs them
//! and hands each to its judge: `creates`, `idempotency`, `balance`
//! (against the money model of `money`), `lists`, `accounts`, `support`;
//! `polling` re-reads payouts and waits for them to settle; `requests`
//! builds the bodies and probes; `amounts` derives what is paid (generated
//! amounts, wallet top-up) from the compliance data's limits.

mod accounts;
mod amounts;
mod balance;
mod creates;
mod idempotency;
mod lists;
mod model;
mod money;
mod polling;
mod requests;
mod sequence;
mod support;

use std::cell::RefCell;
use std::sync::Arc;

use proptest::test_runner::{TestCaseError, TestError};

use super::payouts::blocking;
use super::{
    CheckInfo, IDEMPOTENCY_CONCURRENT, IDEMPOTENCY_KEY_REUSE, IDEMPOTENCY_REPLAY,
    INSUFFICIENT_BALANCE, LIFECYCLE_LEGAL, SUPPORT_TRANSITIONS, WALLET_ACCOUNTING,
};
use crate::http::KeySlot;
use crate::property::seeded_stream;
use crate::runner::Ctx;
use amounts::Amounts;
use model::{Model, Step};
use polling::settle_lane;
use sequence::{Sequence, StepFailure, Tracked};

pub const CHECKS: &[&CheckInfo] = &[
    &IDEMPOTENCY_REPLAY,
    &IDEMPOTENCY_KEY_REUSE,
    &IDEMPOTENCY_CONCURRENT,
    &INSUFFICIENT_BALANCE,
    &WALLET_ACCOUNTING,
    &LIFECYCLE_LEGAL,
    &SUPPORT_TRANSITIONS,
];

/// The most lanes of sequences that run at once.
pub const MAX_LANES: usize = 4;

/// One stream of sequences: its key, whether it judges money, its cases.
#[derive(Debug, Clone)]
struct Lane {
    number: u64,
    key: KeySlot,
    cases: u32,
}

impl Lane {
    /// `cases` sequences spread over one lane per `--workers` slot: the
    /// first on the second account (when there is one), the rest on the
    /// main key.
    fn spread(cases: u32, workers: usize, secondary: bool) -> Vec<Lane> {
        let count = workers.clamp(1, MAX_LANES) as u32;
        (0..count)
            .map(|number| Lane {
                number: u64::from(number),
                key: match (number, secondary) {
                    (0, true) => KeySlot::Secondary,
                    _ => KeySlot::Primary,
                },
                cases: cases / count + u32::from(number < cases % count),
            })
            .filter(|lane| lane.cases > 0)
            .collect()
    }
}

pub async fn run(ctx: Arc<Ctx>) {
    let sample = requests::payout_body(0, 0, 0);
    let amounts = match Amounts::from_compliance(&ctx.table, &sample) {
        Ok(amounts) => Arc::new(amounts),
        Err(why) => {
            for check in CHECKS {
                ctx.recorder.skip(check, why.clone());
            }
            return;
        }
    };
    let secondary = ctx.client.has_secondary_key();
    if !secondary {
        ctx.recorder.skip(
            &WALLET_ACCOUNTING,
            "needs an account of its own for exact arithmetic (--api-key-2)",
        );
        ctx.recorder.skip(
            &INSUFFICIENT_BALANCE,
            "needs an account of its own for exact arithmetic (--api-key-2)",
        );
    }
    if !ctx.control_api {
        ctx.recorder.skip(
            &SUPPORT_TRANSITIONS,
            "the server has no control API (/_sandbox)",
        );
    }
    let cases = (ctx.max_examples / 4).max(8);
    let lanes = Lane::spread(cases, ctx.client.max_in_flight(), secondary);
    let runs = lanes.into_iter().map(|lane| {
        let (ctx, amounts) = (ctx.clone(), amounts.clone());
        blocking(move || run_lane(&ctx, &amounts, &lane))
    });
    futures::future::join_all(runs).await;
}

/// The first failure of a sequence, kept while proptest shrinks it.
struct Shrunk {
    failure: StepFailure,
    script: String,
}

/// Runs one lane's sequences, then settles every payout they created.
fn run_lane(ctx: &Ctx, amounts: &Amounts, lane: &Lane) {
    let control = ctx.control_api;
    let key = lane.key.clone();
    // Shrinking re-runs whole sequences against the server: bounded in count and time.
    let mut runner = seeded_stream(ctx, &LIFECYCLE_LEGAL, lane.cases, lane.number);
    let ledger: RefCell<Vec<Tracked>> = RefCell::new(Vec::new());
    if key == KeySlot::Secondary {
        documented_edge(ctx, amounts, &key, &mut ledger.borrow_mut());
    }
    let last: RefCell<Option<Shrunk>> = RefCell::new(None);
    let shrinking = std::cell::Cell::new(false);
    let result = runner.run(
        &Model::sequences(amounts.cents.clone(), 1..14),
        |(_, steps, seen)| {
            let mut sequence =
                Sequence::start(ctx, amounts, key.clone(), control, &ledger.borrow());
            let outcome = sequence.run(&steps, seen);
            let passed = outcome.is_ok();
            if passed && !shrinking.get() {
                sequence.record_passes();
            }
            let script = sequence.script();
            merge(&mut ledger.borrow_mut(), sequence.ledger_entries());
            match outcome {
                Ok(()) => Ok(()),
                Err(failure) => {
                    shrinking.set(true);
                    let expected = failure.expected.clone();
                    *last.borrow_mut() = Some(Shrunk { failure, script });
                    Err(TestCaseError::fail(expected))
                }
            }
        },
    );
    settle_lane(ctx, &key, &mut ledger.borrow_mut());
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, (_, steps, _))) => match last.into_inner() {
            Some(Shrunk { failure, script }) => {
                ctx.recorder.fail(
                    failure.check,
                    failure.expected,
                    Some(&failure.exchange),
                    Some(format!("{steps:?}")),
                );
                ctx.recorder.attach_script(failure.check, script);
            }
            // Proptest's own failure: the sequence panicked.
            None => ctx.recorder.fail(
                &LIFECYCLE_LEGAL,
                format!("the sequence to run to its end ({reason})"),
                None,
                Some(format!("{steps:?}")),
            ),
        },
        Err(TestError::Abort(reason)) => ctx
            .recorder
            .skip(&LIFECYCLE_LEGAL, format!("generation gave up: {reason}")),
    }
}

/// The money lane's documented edge, on every run before anything random:
/// a payout just above the available amount (402), then a wallet read.
fn documented_edge(ctx: &Ctx, amounts: &Amounts, key: &KeySlot, ledger: &mut Vec<Tracked>) {
    let mut sequence = Sequence::start(ctx, amounts, key.clone(), ctx.control_api, ledger);
    let outcome = sequence.run(&[Step::Overdraw, Step::ReadWallet], None);
    match outcome {
        Ok(()) => sequence.record_passes(),
        Err(failure) => {
            let steps = "[Overdraw, ReadWallet] (the documented edge, not generated)";
            ctx.recorder.fail(
                failure.check,
                failure.expected,
                Some(&failure.exchange),
                Some(steps.to_string()),
            );
            ctx.recorder.attach_script(failure.check, sequence.script());
        }
    }
    merge(ledger, sequence.ledger_entries());
}

/// Updates the lane's ledger with a sequence's payouts: newer reads of a
/// payout replace the older ones, new payouts are added.
fn merge(ledger: &mut Vec<Tracked>, entries: Vec<Tracked>) {
    for entry in entries {
        match ledger.iter_mut().find(|known| known.id == entry.id) {
            Some(known) => *known = entry,
            None => ledger.push(entry),
        }
    }
}
