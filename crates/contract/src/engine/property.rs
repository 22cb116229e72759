//! Running generated cases against the server: seeded from the run's seed
//! and the check's name (so `--seed` replays them), generated up front and
//! sent from async code, concurrently, judged in the order they were
//! generated; the first failing case is shrunk and reported with the
//! exchange of the smallest failing input.
//!
//! Why not `TestRunner::run`: it calls the property from blocking code, one
//! case at a time, and every request then hops between that thread and the
//! runtime's (about three times the CPU of a request sent from a task).
//! Proptest's value trees are used directly instead. Shrinking, which is
//! rare and one try at a time, runs on a blocking thread, since the trees
//! of boxed strategies cannot cross threads.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::catalogue::CheckInfo;
use crate::engine::Ctx;
use crate::http::Exchange;
use crate::report::Verdict;

/// The most tries a shrink makes (each sends requests again).
const MAX_SHRINK_TRIES: u32 = 64;

/// The longest a shrink may take.
const MAX_SHRINK_TIME: Duration = Duration::from_secs(20);

/// A generated JSON body; reports print it as JSON.
#[derive(Debug, Clone)]
pub struct Json(pub serde_json::Value);

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why one generated case failed.
pub struct CaseFailure {
    pub expected: String,
    pub exchange: Box<Exchange>,
}

impl CaseFailure {
    pub fn new(expected: impl Into<String>, exchange: Exchange) -> Self {
        CaseFailure {
            expected: expected.into(),
            exchange: Box::new(exchange),
        }
    }
}

/// A property's verdict on one case.
pub type CaseResult = Result<(), CaseFailure>;

/// A [`Verdict`] on one generated case as a [`CaseResult`]: a warning or
/// a skip is recorded, not returned, so that shrinking only chases
/// failures. `input` describes the case for a warning; it is only built
/// for one.
pub fn case_result(
    ctx: &Ctx,
    check: &'static CheckInfo,
    verdict: Verdict,
    exchange: Exchange,
    input: impl FnOnce() -> String,
) -> CaseResult {
    match verdict {
        Verdict::Pass => Ok(()),
        Verdict::Warn(expected) => {
            ctx.recorder
                .warn(check, expected, Some(&exchange), Some(input()));
            Ok(())
        }
        Verdict::Fail(expected) => Err(CaseFailure::new(expected, exchange)),
        Verdict::Skip(reason) => {
            ctx.recorder.skip(check, reason);
            Ok(())
        }
    }
}

/// Derives a check's own seed from the run's seed (FNV-1a over its name).
pub fn check_seed(seed: u64, check: &CheckInfo) -> [u8; 16] {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in check.name.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&hash.rotate_left(i as u32 * 16).to_le_bytes());
    }
    bytes
}

/// One stream of generated cases of a check: the same run seed, check and
/// stream always give the same cases, in the same order.
pub struct Cases<S> {
    check: &'static CheckInfo,
    strategy: S,
    seed: [u8; 16],
    count: u32,
}

impl<S: Strategy> Cases<S> {
    /// `count` cases of `strategy` for `check`. Stream 0 is a property's;
    /// independent streams of the same check (the sequence lanes) take
    /// other numbers.
    pub fn new(
        run_seed: u64,
        check: &'static CheckInfo,
        stream: u64,
        count: u32,
        strategy: S,
    ) -> Self {
        Cases {
            check,
            strategy,
            seed: check_seed(run_seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15), check),
            count,
        }
    }

    fn runner(&self) -> TestRunner {
        let config = Config {
            cases: self.count,
            failure_persistence: None,
            ..Config::default()
        };
        // XorShift: the cheapest of proptest's generators (ChaCha's
        // strength buys nothing here), and as reproducible from the seed.
        TestRunner::new_with_rng(
            config,
            TestRng::from_seed(RngAlgorithm::XorShift, &self.seed),
        )
    }

    /// Every case, in order; with the reason when generation gave up
    /// early (its filters refused too many candidates).
    pub fn generate(&self) -> (Vec<S::Value>, Option<String>) {
        let mut runner = self.runner();
        let mut values = Vec::with_capacity(self.count as usize);
        for _ in 0..self.count {
            match self.strategy.new_tree(&mut runner) {
                Ok(tree) => values.push(tree.current()),
                Err(reason) => return (values, Some(reason.to_string())),
            }
        }
        (values, None)
    }

    /// Case `index` again, as [`Cases::generate`] made it (the same seed
    /// gives the same trees), with its value tree.
    fn tree(&self, index: usize) -> Option<S::Tree> {
        let mut runner = self.runner();
        let mut tree = None;
        for _ in 0..=index {
            tree = self.strategy.new_tree(&mut runner).ok();
        }
        tree
    }

    /// Shrinks case `index`, which failed with `failure`: `still_fails`
    /// sends a candidate and says how it failed, if it did. The case is
    /// tried again first (a server that no longer fails it keeps the
    /// first failure, unshrunk); then it is simplified while it fails, at
    /// most [`MAX_SHRINK_TRIES`] tries and [`MAX_SHRINK_TIME`], and not
    /// once `stop` says the run is over. Blocking: each try sends requests.
    /// The smallest failing case and its failure.
    pub fn shrink<F>(
        &self,
        index: usize,
        failure: F,
        mut still_fails: impl FnMut(S::Value) -> Option<F>,
        stop: impl Fn() -> bool,
    ) -> (S::Value, F) {
        let Some(mut tree) = self.tree(index) else {
            unreachable!("case {index} was generated once from the same seed")
        };
        let (mut minimal, mut failure) = (tree.current(), failure);
        match still_fails(tree.current()) {
            Some(again) => failure = again,
            None => return (minimal, failure),
        }
        let started = Instant::now();
        let mut tries = 0;
        let mut simpler = tree.simplify();
        while simpler && tries < MAX_SHRINK_TRIES && started.elapsed() < MAX_SHRINK_TIME && !stop()
        {
            tries += 1;
            simpler = match still_fails(tree.current()) {
                Some(smaller) => {
                    (minimal, failure) = (tree.current(), smaller);
                    tree.simplify()
                }
                None => tree.complicate(),
            };
        }
        (minimal, failure)
    }
}

impl<S: Strategy> Cases<S>
where
    S::Value: std::fmt::Display,
{
    /// How case `index` is shown in a report (made again: the values
    /// sent are not kept, as only a failure needs one shown). Its
    /// `Display`, written for a reader, never its `Debug`.
    fn describe(&self, index: usize) -> String {
        self.tree(index).map_or_else(
            || format!("case {index}"),
            |tree| tree.current().to_string(),
        )
    }
}

/// The cases [`run_property`] runs for `check`: `ctx.max_examples` of
/// `strategy`.
pub fn property_cases<S: Strategy>(ctx: &Ctx, check: &'static CheckInfo, strategy: S) -> Cases<S> {
    Cases::new(ctx.recorder.seed(), check, 0, ctx.max_examples, strategy)
}

/// Runs `property` on `cases` (made by [`property_cases`]): up to
/// `--workers` cases at once, passes recorded in order up to the first
/// failing case, which is then shrunk and recorded with its smallest
/// input (its `Display`: reports show inputs as a person writes them).
/// A property that panics fails its check with the case that made it panic.
pub async fn run_property<S, P, F>(ctx: &Arc<Ctx>, cases: Cases<S>, property: P)
where
    S: Strategy + Send + 'static,
    S::Value: Clone + Send + std::fmt::Display + 'static,
    P: Fn(Arc<Ctx>, S::Value) -> F + Send + 'static,
    F: Future<Output = CaseResult> + Send + 'static,
{
    let check = cases.check;
    let (values, gave_up) = cases.generate();
    let runs = values.into_iter().enumerate().map(|(index, value)| {
        let case = std::panic::AssertUnwindSafe(property(ctx.clone(), value)).catch_unwind();
        async move { (index, case.await) }
    });
    let mut results = futures::stream::iter(runs).buffered(ctx.client.max_in_flight());
    let mut failed = None;
    while let Some((index, result)) = results.next().await {
        if ctx.out_of_time() {
            return; // Past the run's end nothing counts: wind down.
        }
        match result {
            Ok(Ok(())) => ctx.recorder.pass(check),
            // Not sent, or limited past the bound: a skip with the reason
            // (the recorder's), and nothing to shrink.
            Ok(Err(failure)) if failure.exchange.unjudged => {
                ctx.recorder
                    .fail(check, failure.expected, Some(&failure.exchange), None);
            }
            Ok(Err(failure)) => {
                failed = Some((index, failure));
                break;
            }
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                ctx.recorder.fail(
                    check,
                    format!("the check to run to its end (it panicked: {message})"),
                    None,
                    Some(cases.describe(index)),
                );
                return;
            }
        }
    }
    // Cases still in flight are dropped: their answers are not judged.
    drop(results);
    let Some((index, failure)) = failed else {
        if let Some(reason) = gave_up {
            ctx.recorder
                .skip(check, format!("generation gave up: {reason}"));
        }
        return;
    };
    let unshrunk = cases.describe(index);
    let shrinking = ctx.clone();
    let shrunk = tokio::task::spawn_blocking(move || {
        let ctx = &shrinking;
        cases.shrink(
            index,
            failure,
            |value| try_blocking(ctx, property(ctx.clone(), value))?.err(),
            || ctx.out_of_time(),
        )
    })
    .await;
    match shrunk {
        Ok((minimal, failure)) => ctx.recorder.fail(
            check,
            failure.expected,
            Some(&failure.exchange),
            Some(minimal.to_string()),
        ),
        Err(error) => ctx.recorder.fail(
            check,
            format!("the check to run to its end (shrinking ended: {error})"),
            None,
            Some(unshrunk),
        ),
    }
}

/// Runs one shrinking try to its end on this blocking thread: `None` when
/// it panicked (such a try is not counted as failing the same way).
pub fn try_blocking<T>(ctx: &Ctx, attempt: impl Future<Output = T>) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.block_on(attempt))).ok()
}

/// What a panic said, when it said it with a string.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::catalogue::VALID_PAYOUT_ACCEPTED;

    fn cases(seed: u64, stream: u64) -> Cases<impl Strategy<Value = u32>> {
        Cases::new(seed, &VALID_PAYOUT_ACCEPTED, stream, 50, 0u32..10_000)
    }

    #[test]
    fn the_same_seed_and_stream_give_the_same_cases() {
        assert_eq!(cases(7, 0).generate().0, cases(7, 0).generate().0);
        assert_ne!(cases(7, 0).generate().0, cases(8, 0).generate().0);
        assert_ne!(cases(7, 0).generate().0, cases(7, 1).generate().0);
        assert_eq!(cases(7, 0).generate().0.len(), 50);
    }

    #[test]
    fn a_failing_case_shrinks_to_the_smallest_that_still_fails() {
        let cases = cases(7, 0);
        let (values, _) = cases.generate();
        let index = values.iter().position(|v| *v >= 100).unwrap();
        let mut tries = Vec::new();
        let fails = |v: u32| {
            tries.push(v);
            (v >= 100).then(|| format!("{v} is too big"))
        };
        let (minimal, failure) = cases.shrink(index, "first".to_string(), fails, || false);
        assert_eq!((minimal, failure.as_str()), (100, "100 is too big"));
        // The case itself is tried again first.
        assert_eq!(tries[0], values[index]);
        assert!(
            tries.len() as u32 <= MAX_SHRINK_TRIES + 1,
            "{}",
            tries.len()
        );
    }

    #[test]
    fn a_case_that_no_longer_fails_keeps_its_first_failure() {
        let cases = cases(7, 0);
        let (minimal, failure) = cases.shrink(3, "first", |_| None, || false);
        assert_eq!((minimal, failure), (cases.generate().0[3], "first"));
    }

    #[test]
    fn shrinking_stops_when_the_run_is_over() {
        let cases = cases(7, 0);
        let (values, _) = cases.generate();
        let index = values.iter().position(|v| *v >= 100).unwrap();
        let mut tries = 0;
        let (minimal, _) = cases.shrink(
            index,
            "first",
            |_| {
                tries += 1;
                Some("again")
            },
            || true,
        );
        assert_eq!((minimal, tries), (values[index], 1));
    }
}
