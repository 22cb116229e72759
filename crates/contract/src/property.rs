//! Running a proptest property against the server: seeded from the run's
//! seed and the check's name (so `--seed` replays it), shrunk on failure,
//! and reported with the exchange of the smallest failing input.

use std::cell::{Cell, RefCell};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::checks::CheckInfo;
use crate::http::Exchange;
use crate::report::Verdict;
use crate::runner::Ctx;

/// A generated JSON body; reports print it as JSON.
#[derive(Clone)]
pub struct Json(pub serde_json::Value);

impl std::fmt::Debug for Json {
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
pub fn check_seed(seed: u64, check: &CheckInfo) -> [u8; 32] {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in check.name.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&hash.rotate_left(i as u32 * 16).to_le_bytes());
    }
    bytes
}

/// The runner for `cases` cases of `check`: seeded from the run's seed and
/// the check's name, shrinking bounded in count and time (each try sends
/// requests again), no failure persistence.
pub fn seeded_runner(ctx: &Ctx, check: &CheckInfo, cases: u32) -> TestRunner {
    seeded_stream(ctx, check, cases, 0)
}

/// [`seeded_runner`] for one of several independent streams of cases of
/// the same check (stream 0 is [`seeded_runner`]'s).
pub fn seeded_stream(ctx: &Ctx, check: &CheckInfo, cases: u32, stream: u64) -> TestRunner {
    let config = Config {
        cases,
        max_shrink_iters: 64,
        max_shrink_time: 20_000,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(
        RngAlgorithm::ChaCha,
        &check_seed(
            ctx.recorder.seed() ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            check,
        ),
    );
    TestRunner::new_with_rng(config, rng)
}

/// Runs `property` on up to `ctx.max_examples` cases of `strategy`.
/// Blocking: call it from `spawn_blocking` (it sends with `ctx.send_blocking`).
pub fn run_property<S>(
    ctx: &Ctx,
    check: &'static CheckInfo,
    strategy: S,
    property: impl Fn(&Ctx, &S::Value) -> CaseResult,
) where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let mut runner = seeded_runner(ctx, check, ctx.max_examples);
    let failing = Cell::new(false);
    let last_failure: RefCell<Option<CaseFailure>> = RefCell::new(None);
    let result = runner.run(&strategy, |value| match property(ctx, &value) {
        // Past the run's deadline nothing is sent or recorded: wind down.
        _ if ctx.out_of_time() => Ok(()),
        Ok(()) => {
            // Passes count as they happen (a run cut short keeps them),
            // but not the re-runs of shrinking.
            if !failing.get() {
                ctx.recorder.pass(check);
            }
            Ok(())
        }
        Err(failure) => {
            failing.set(true);
            let expected = failure.expected.clone();
            *last_failure.borrow_mut() = Some(failure);
            Err(TestCaseError::fail(expected))
        }
    });
    match result {
        Ok(()) => {}
        // The last failing case is the shrunk one.
        Err(TestError::Fail(reason, minimal)) => match last_failure.into_inner() {
            Some(failure) => ctx.recorder.fail(
                check,
                failure.expected,
                Some(&failure.exchange),
                Some(format!("{minimal:?}")),
            ),
            // Proptest's own failure: the property panicked.
            None => ctx.recorder.fail(
                check,
                format!("the check to run to its end ({reason})"),
                None,
                Some(format!("{minimal:?}")),
            ),
        },
        Err(TestError::Abort(reason)) => ctx
            .recorder
            .skip(check, format!("generation gave up: {reason}")),
    }
}
