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

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use futures::FutureExt;

use super::{
    CheckInfo, IDEMPOTENCY_CONCURRENT, IDEMPOTENCY_KEY_REUSE, IDEMPOTENCY_REPLAY,
    INSUFFICIENT_BALANCE, LIFECYCLE_LEGAL, SUPPORT_TRANSITIONS, WALLET_ACCOUNTING,
};
use crate::engine::Ctx;
use crate::engine::{Cases, check_seed, panic_message, try_blocking};
use crate::http::KeySlot;
use amounts::Amounts;
use model::{Model, Sequences, Step, describe};
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
    let runs = lanes
        .iter()
        .map(|lane| run_lane(ctx.clone(), amounts.clone(), lane));
    futures::future::join_all(runs).await;
}

/// A failing sequence: how it failed and its requests as a script.
struct Shrunk {
    failure: StepFailure,
    script: String,
}

impl Shrunk {
    /// Records the failure, with the steps that led to it (`steps`) and
    /// the script.
    fn record(self, ctx: &Ctx, steps: String) {
        let Shrunk { failure, script } = self;
        ctx.recorder.fail(
            failure.check,
            failure.expected,
            Some(&failure.exchange),
            Some(steps),
        );
        ctx.recorder.attach_script(failure.check, script);
    }
}

/// The lane's sequences (the same seed and lane, the same sequences).
fn lane_cases(ctx: &Ctx, amounts: &Amounts, lane: &Lane) -> Cases<Sequences> {
    let strategy = Model::sequences(amounts.cents.clone(), 1..14);
    Cases::new(
        ctx.recorder.seed(),
        &LIFECYCLE_LEGAL,
        lane.number,
        lane.cases,
        strategy,
    )
}

/// Runs one lane's sequences one after another, shrinks the first that
/// fails, then settles every payout they created.
async fn run_lane(ctx: Arc<Ctx>, amounts: Arc<Amounts>, lane: &Lane) {
    let key = lane.key.clone();
    let mut book = Book::new(lane.number);
    let start = match key {
        KeySlot::Secondary => balance::wallet_now(&ctx, &key, &amounts.currency).await,
        _ => None,
    };
    if lane.number == 0 {
        documented_edges(&ctx, &amounts, &key, &mut book).await;
    }
    let (sequences, gave_up) = lane_cases(&ctx, &amounts, lane).generate();
    let mut failed = None;
    for (index, (_, steps, seen)) in sequences.iter().enumerate() {
        if ctx.out_of_time() {
            break;
        }
        let run = run_sequence(&ctx, &amounts, &key, &mut book, steps, seen.clone(), true);
        match std::panic::AssertUnwindSafe(run).catch_unwind().await {
            Ok(Ok(())) => {}
            // A step the run did not send (its deadline, its spending cap)
            // or the server kept limiting: the lane's model no longer
            // knows the wallet, so the lane stops; recorded as a skip.
            Ok(Err(Shrunk { failure, .. })) if failure.exchange.unjudged => {
                let StepFailure {
                    check,
                    expected,
                    exchange,
                } = failure;
                ctx.recorder.fail(check, expected, Some(&exchange), None);
                break;
            }
            Ok(Err(shrunk)) => {
                failed = Some((index, shrunk));
                break;
            }
            Err(panic) => {
                ctx.recorder.fail(
                    &LIFECYCLE_LEGAL,
                    format!(
                        "the sequence to run to its end (it panicked: {})",
                        panic_message(panic.as_ref())
                    ),
                    None,
                    Some(describe(steps, &amounts.currency)),
                );
                break;
            }
        }
    }
    let currency = amounts.currency.clone();
    if let Some((index, first)) = failed {
        let (shared, amounts, lane, key) =
            (ctx.clone(), amounts.clone(), lane.clone(), key.clone());
        let shrinking = tokio::task::spawn_blocking(move || {
            let ctx = shared;
            // The strategy's value trees stay on this thread (see the engine's property runner).
            let cases = lane_cases(&ctx, &amounts, &lane);
            let shrunk = cases.shrink(
                index,
                first,
                |(_, steps, seen)| {
                    let run = run_sequence(&ctx, &amounts, &key, &mut book, &steps, seen, false);
                    try_blocking(&ctx, run)?.err()
                },
                || ctx.out_of_time(),
            );
            (shrunk, book)
        });
        match shrinking.await {
            Ok((((_, steps, _), shrunk), shrunk_book)) => {
                shrunk.record(&ctx, describe(&steps, &currency));
                book = shrunk_book;
            }
            Err(error) => {
                ctx.recorder.fail(
                    &LIFECYCLE_LEGAL,
                    format!("the sequence to run to its end (shrinking ended: {error})"),
                    None,
                    Some(describe(&sequences[index].1, &currency)),
                );
                return;
            }
        }
    } else if let Some(reason) = gave_up {
        ctx.recorder
            .skip(&LIFECYCLE_LEGAL, format!("generation gave up: {reason}"));
    }
    settle_lane(&ctx, &key, &mut book.ledger).await;
    if let Some(start) = start {
        balance::conserved(&ctx, &key, &start, book.funded, &book.ledger).await;
    }
}

/// What a lane's sequences leave behind for the next ones and for its end.
struct Book {
    /// The lane's number and how many sequences it has started (shrinking's
    /// runs included): with the run's seed they give each sequence its tag.
    lane: u64,
    started: u64,
    /// Every payout the lane's sequences had accepted, as last read.
    ledger: Vec<Tracked>,
    /// What they added to the wallet through the control API (top-ups).
    funded: rust_decimal::Decimal,
}

impl Book {
    fn new(lane: u64) -> Self {
        Book {
            lane,
            started: 0,
            ledger: Vec::new(),
            funded: rust_decimal::Decimal::ZERO,
        }
    }

    /// The next sequence's tag, which makes its payment accounts its own
    /// (distinct phone numbers, `requests::account_body`). Tags have five
    /// digits (a phone number has no room for more), so they are not drawn
    /// at random: among the few hundred sequences of a run two would often
    /// draw the same one, and a sequence paying another's account looks
    /// like a hidden second payout (`idempotency::no_hidden_payouts`). Each
    /// lane counts through a block of its own, from an offset the run's
    /// seed picks, so a replay (`--seed`) sends the same accounts in the
    /// same order and no two sequences of a run share one.
    fn next_tag(&mut self, seed: u64) -> u32 {
        let [a, b, c, d, e, f, g, h, ..] = check_seed(seed, &LIFECYCLE_LEGAL);
        let offset = u64::from_le_bytes([a, b, c, d, e, f, g, h]) % TAGS_PER_LANE;
        let block = self.lane % MAX_LANES as u64;
        let tag = block * TAGS_PER_LANE + (offset + self.started) % TAGS_PER_LANE;
        self.started += 1;
        u32::try_from(tag).expect("below 100,000")
    }
}

/// Sequence tags (five digits) each lane has to itself.
const TAGS_PER_LANE: u64 = 100_000 / MAX_LANES as u64;

/// Runs one sequence after the lane's earlier ones (`book`), and adds
/// its payouts and top-ups to the book; with `record`, its passes count (not while
/// shrinking).
async fn run_sequence(
    ctx: &Ctx,
    amounts: &Amounts,
    key: &KeySlot,
    book: &mut Book,
    steps: &[Step],
    seen: Option<Arc<AtomicUsize>>,
    record: bool,
) -> Result<(), Shrunk> {
    let tag = book.next_tag(ctx.recorder.seed());
    let mut sequence = Sequence::start(ctx, amounts, key.clone(), tag, &book.ledger).await;
    let outcome = sequence.run(steps, seen).await;
    if outcome.is_ok() && record {
        sequence.record_passes();
    }
    // The curl script is only for a failure's report.
    let outcome = outcome.map_err(|failure| Shrunk {
        failure,
        script: sequence.script(),
    });
    book.funded += sequence.funded;
    merge(&mut book.ledger, sequence.ledger_entries());
    outcome
}

/// The documented edges, on every run before anything random, on the
/// first lane (the money lane when there is a second key): a payout, then
/// its request again (the same answer), its key with another amount (the
/// first answer again), identical creates at once under one key (one
/// payout), and a payout just above the available amount (402) followed by
/// a wallet read; then no payout was made that no answer named. Chance decides how often sequences meet these; a server
/// that gets one wrong is caught on every run.
async fn documented_edges(ctx: &Ctx, amounts: &Amounts, key: &KeySlot, book: &mut Book) {
    let cents = *amounts.cents.start();
    let steps = [
        Step::Create { cents, account: 0 },
        Step::Replay { payout: 0 },
        // The judge makes the amount differ from the first.
        Step::ReuseKey { payout: 0, cents },
        Step::Concurrent {
            cents,
            account: 1,
            copies: 4,
        },
        Step::Overdraw,
        Step::ReadWallet,
    ];
    let before = book.ledger.len();
    match run_sequence(ctx, amounts, key, book, &steps, None, true).await {
        Ok(()) => idempotency::no_hidden_payouts(ctx, key, &book.ledger[before..]).await,
        Err(shrunk) => shrunk.record(
            ctx,
            format!(
                "{} (the documented edges, not generated)",
                describe(&steps, &amounts.currency)
            ),
        ),
    }
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// No two sequences of a run share a tag (so none pays another's
    /// account), far beyond a default run's few hundred, and the same seed
    /// gives the same tags.
    #[test]
    fn a_runs_sequences_never_share_a_tag() {
        for seed in [0, 7, u64::MAX] {
            let mut books: Vec<Book> = (0..MAX_LANES as u64).map(Book::new).collect();
            let mut seen = HashSet::new();
            for round in 0..5_000 {
                for book in &mut books {
                    let tag = book.next_tag(seed);
                    assert!(tag < 100_000, "{tag} has more than five digits");
                    assert!(seen.insert(tag), "tag {tag} drawn twice (round {round})");
                }
            }
            let mut again = Book::new(2);
            let first: Vec<u32> = (0..3).map(|_| again.next_tag(seed)).collect();
            let mut lane = Book::new(2);
            assert_eq!(
                first,
                (0..3).map(|_| lane.next_tag(seed)).collect::<Vec<_>>()
            );
        }
    }
}
