//! Model-based sequences: proptest-state-machine generates sequences of
//! steps (create, replay, reuse a key, concurrent creates, overdraw, get,
//! list, date filter, wallet read, payment account get-or-create, and,
//! where the server has the mock's control API, cancel and reverse); each
//! step's answer is compared with the model built from `rafiki-rules`
//! (idempotency, wallet accounting, lifecycle). A failing sequence is
//! shrunk and reported as a curl script with the seed.
//!
//! Sequences run on the second account's key when there is one, so that
//! nothing else touches their wallet and its arithmetic can be exact;
//! without it they run on the main key and the wallet checks are skipped.
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
use crate::property::seeded_runner;
use crate::runner::Ctx;
use amounts::Amounts;
use model::Model;
use sequence::{Sequence, StepFailure};

pub const CHECKS: &[&CheckInfo] = &[
    &IDEMPOTENCY_REPLAY,
    &IDEMPOTENCY_KEY_REUSE,
    &IDEMPOTENCY_CONCURRENT,
    &INSUFFICIENT_BALANCE,
    &WALLET_ACCOUNTING,
    &LIFECYCLE_LEGAL,
    &SUPPORT_TRANSITIONS,
];

pub async fn run(ctx: Arc<Ctx>) {
    let sample = requests::payout_body(0, 0, 0);
    let amounts = match Amounts::from_compliance(&ctx.table, &sample) {
        Ok(amounts) => amounts,
        Err(why) => {
            for check in CHECKS {
                ctx.recorder.skip(check, why.clone());
            }
            return;
        }
    };
    let control = ctx.control_api;
    let key = if ctx.client.has_secondary_key() {
        KeySlot::Secondary
    } else {
        KeySlot::Primary
    };
    if key == KeySlot::Primary {
        ctx.recorder.skip(
            &WALLET_ACCOUNTING,
            "needs an account of its own for exact arithmetic (--api-key-2)",
        );
        ctx.recorder.skip(
            &INSUFFICIENT_BALANCE,
            "needs an account of its own for exact arithmetic (--api-key-2)",
        );
    }
    if !control {
        ctx.recorder.skip(
            &SUPPORT_TRANSITIONS,
            "the server has no control API (/_sandbox)",
        );
    }
    blocking(move || run_sequences(&ctx, &amounts, key, control)).await;
}

/// The first failure of a sequence, kept while proptest shrinks it.
struct Shrunk {
    failure: StepFailure,
    script: String,
}

fn run_sequences(ctx: &Ctx, amounts: &Amounts, key: KeySlot, control: bool) {
    let cases = (ctx.max_examples / 4).max(8);
    // Shrinking re-runs whole sequences against the server: bounded in count and time.
    let mut runner = seeded_runner(ctx, &LIFECYCLE_LEGAL, cases);
    let ledger = RefCell::new(Vec::new());
    let last: RefCell<Option<Shrunk>> = RefCell::new(None);
    let shrinking = std::cell::Cell::new(false);
    let result = runner.run(
        &Model::sequences(amounts.cents.clone(), 1..14),
        |(_, steps, seen)| {
            let mut sequence =
                Sequence::start(ctx, amounts, key.clone(), control, &mut ledger.borrow_mut());
            let outcome = sequence.run(&steps, seen);
            ledger.borrow_mut().extend(sequence.ledger_entries());
            match outcome {
                Ok(()) => {
                    if !shrinking.get() {
                        sequence.record_passes();
                    }
                    Ok(())
                }
                Err(failure) => {
                    shrinking.set(true);
                    let expected = failure.expected.clone();
                    *last.borrow_mut() = Some(Shrunk {
                        failure,
                        script: sequence.script(),
                    });
                    Err(TestCaseError::fail(expected))
                }
            }
        },
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(_, (_, steps, _))) => {
            let Shrunk { failure, script } = last.into_inner().expect("a failure was recorded");
            ctx.recorder.fail(
                failure.check,
                failure.expected,
                Some(&failure.exchange),
                Some(format!("{steps:?}")),
            );
            ctx.recorder.attach_script(failure.check, script);
        }
        Err(TestError::Abort(reason)) => ctx
            .recorder
            .skip(&LIFECYCLE_LEGAL, format!("generation gave up: {reason}")),
    }
}
