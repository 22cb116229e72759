//! The engine: it runs whatever table of suites it is handed, against one
//! server, into one [`Report`]: preflight (is this the API, does the key
//! work?), what the server offers (its banks, whether it honours the
//! sandbox test values), the money plan, fixtures (a few payouts the read
//! checks look for), then every selected suite, all at once with at most
//! `workers` requests in flight, by the run's deadline at the latest. It
//! never names a check: the suites (the `checks` module) sit above it.

mod banks;
mod config;
mod ctx;
mod fixtures;
mod polling;
mod preflight;
mod property;
mod spending;

use std::sync::Arc;

use rafiki_rules::ComplianceTable;
use tokio::runtime::Handle;

pub use banks::{Banks, ListedBank};
pub use config::{ConfigError, DEFAULT_MAX_DURATION, RunConfig, SandboxValues};
pub use ctx::Ctx;
pub use fixtures::{fixture_payout, just_after, valid_body};
pub use polling::{FIRST_POLL_WAIT, next_poll_wait, poll_outcome};
pub use property::{
    CaseFailure, CaseResult, Cases, Json, case_result, check_seed, panic_message, property_cases,
    run_property, try_blocking,
};

use crate::catalogue::{self, CheckInfo};
use crate::http::{Client, Keys, Operation, Probe};
use crate::judge::conformance::Conformance;
use crate::report::{FailureNotice, Recorder, Report};
use fixtures::create_fixtures;
use preflight::{has_control_api, preflight, sandbox_values, second_account};
use spending::{SPENDING_CURRENCY, Spending, plan_spending};

/// Why a run could not happen at all (exit code 2 in the CLI).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} does not look like the Rafiki payouts API: {reason}")]
    NotThisApi { url: String, reason: String },
    #[error("the API key was refused by {url} (HTTP 401)")]
    KeyRefused { url: String },
    #[error("--api-key-2 cannot be used: {0}")]
    SecondKey(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// One suite: the checks it records and how to run it.
pub struct Suite {
    /// Its name, to tell which suites finished.
    pub name: &'static str,
    pub checks: &'static [&'static CheckInfo],
    pub run: fn(Arc<Ctx>) -> futures::future::BoxFuture<'static, ()>,
}

/// What a run tells its observer as it goes.
#[derive(Debug, Clone)]
pub enum Event {
    /// A suite finished.
    Progress(Progress),
    /// A failure was found (the full report comes at the end).
    Failure(FailureNotice),
    /// What the run expects to spend, before its first payout, and
    /// whether the wallet holds it (one line).
    Money(String),
}

/// Where a run is: `finished` of `total` suites done; the last one ran
/// `checks` (the selected ones, by the names `--checks` takes).
#[derive(Debug, Clone)]
pub struct Progress {
    pub finished: usize,
    pub total: usize,
    pub checks: Vec<&'static str>,
}

/// Runs `suites` against the server in `config`, telling `observe` each
/// time a suite finishes, each failure as it is found, and what the run
/// expects to spend.
pub async fn run(
    config: &RunConfig,
    suites: Vec<Suite>,
    observe: impl Fn(Event) + Send + Sync + 'static,
) -> Result<Report, RunError> {
    let observe = Arc::new(observe);
    config.check_target()?;
    let started = std::time::Instant::now();
    let selected = config.selected_checks()?;
    let seed = config.seed.unwrap_or_else(rand::random);
    let keys = Keys {
        primary: config.api_key.clone(),
        secondary: config.api_key_2.clone(),
    };
    let deadline = started + config.max_duration;
    let client = Client::new(
        &config.base_url,
        keys,
        config.request_timeout,
        config.rate_limit,
        config.workers,
    )
    .until(deadline);
    let first_answer = preflight(&client).await?;
    let second_answer = match config.api_key_2 {
        Some(_) => Some(second_account(&client, &first_answer).await?),
        None => None,
    };
    let spec = config.spec()?;
    let paging_limit = spec.parameter_bounds("paging_limit").ok_or_else(|| {
        RunError::Internal("the spec gives paging_limit no minimum and maximum".into())
    })?;
    let operations = Operation::all_in(&spec);
    let conformance = Conformance::new(spec).map_err(|e| RunError::Internal(e.to_string()))?;
    let mut ctx = Ctx {
        client,
        recorder: Recorder::new(seed, config.strict, &selected)
            .stopping_at_first_failure(config.fail_fast)
            .with_listener({
                let observe = observe.clone();
                Box::new(move |notice| observe(Event::Failure(notice)))
            }),
        conformance,
        table: Arc::new(ComplianceTable::builtin().clone()),
        max_examples: config.max_examples.max(1),
        selected,
        fixtures: Err("not created yet".into()),
        poll_deadline: config.poll_deadline,
        control_api: false,
        banks: Banks::default(),
        sandbox_values: Err("not tried yet".into()),
        paging_limit,
        operations,
        deadline,
        fail_fast: config.fail_fast,
        spending: Spending::new(ComplianceTable::builtin()),
        runtime: Handle::current(),
    };
    let money = plan_spending(&mut ctx.spending, config, &first_answer);
    observe(Event::Money(money.line()));
    for answer in std::iter::once(&first_answer).chain(&second_answer) {
        ctx.conformance.observe(answer, &ctx.recorder);
    }
    ctx.control_api = has_control_api(&ctx.client).await;
    ctx.banks = Banks::from_body(ctx.send(Probe::get("list_banks", "/banks")).await.json());
    ctx.sandbox_values = sandbox_values(&ctx, config).await;
    ctx.fixtures = create_fixtures(&ctx).await;
    let ctx = Arc::new(ctx);

    // Every suite starts at once; the client's in-flight bound
    // (`--workers`) is what they share.
    let chosen: Vec<Suite> = suites
        .into_iter()
        .filter(|s| s.checks.iter().any(|c| ctx.is_selected(c)))
        .collect();
    let total = chosen.len();
    let finished = Arc::new(std::sync::Mutex::new(Vec::<&'static str>::new()));
    let mut tasks = Vec::new();
    let mut running: Vec<(&'static str, &'static [&'static CheckInfo])> = Vec::new();
    for suite in chosen {
        running.push((suite.name, suite.checks));
        let checks: Vec<&'static str> = suite
            .checks
            .iter()
            .filter(|c| ctx.is_selected(c))
            .map(|c| c.name)
            .collect();
        let (ctx, finished, observe) = (ctx.clone(), finished.clone(), observe.clone());
        tasks.push(tokio::spawn(async move {
            (suite.run)(ctx).await;
            let done = {
                let mut finished = finished.lock().expect("finished lock");
                finished.push(suite.name);
                finished.len()
            };
            observe(Event::Progress(Progress {
                finished: done,
                total,
                checks,
            }));
        }));
    }
    let mut all = std::pin::pin!(futures::future::join_all(tasks));
    let fail_fast = async {
        match config.fail_fast {
            true => ctx.recorder.first_failure().await,
            false => std::future::pending().await,
        }
    };
    // With --fail-fast, the suites done when the first failure came.
    let mut done_at_stop = None;
    let mut ended_early = None;
    tokio::select! {
        finished = tokio::time::timeout_at(ctx.deadline.into(), &mut all) => {
            match finished {
                Ok(results) => for result in results {
                    result.map_err(|e| RunError::Internal(format!("a check panicked: {e}")))?;
                },
                Err(_) => ended_early = Some(format!(
                    "the run reached --max-duration ({} s) first",
                    config.max_duration.as_secs_f64()
                )),
            }
        }
        () = fail_fast => {
            ended_early = Some("--fail-fast stopped the run at its first failure".to_string());
            done_at_stop = Some(finished.lock().expect("finished lock").clone());
            // Nothing is sent any more: let the suites wind down (a request
            // on its way ends by its timeout), so none outlives the run.
            let grace = std::time::Instant::now() + config.request_timeout;
            let _ = tokio::time::timeout_at(grace.min(ctx.deadline).into(), all).await;
        }
    }
    // Suites still running past the deadline (or the first failure, with
    // --fail-fast) wind down on their own: they can no longer send, and
    // nothing they record counts.
    let finished = done_at_stop.unwrap_or_else(|| finished.lock().expect("finished lock").clone());
    let unfinished: Vec<&'static CheckInfo> = running
        .iter()
        .filter(|(name, _)| !finished.contains(name))
        .flat_map(|(_, checks)| checks.iter().copied())
        .collect();
    let mut coverage = ctx.conformance.coverage();
    coverage.partial = ctx.selected.len() < catalogue::ALL.len() || !unfinished.is_empty();
    let mut report = ctx.recorder.close(
        &unfinished,
        ctx.client.requests_sent(),
        started.elapsed(),
        coverage,
    );
    report.base_url = Some(config.base_url.clone());
    report.max_examples = Some(ctx.max_examples);
    report.ended_early = ended_early.filter(|_| !unfinished.is_empty());
    report.rate_limits = ctx.client.limited().into();
    report.spending = Some(
        ctx.spending
            .spent(money.planned, money.available, SPENDING_CURRENCY),
    );
    Ok(report)
}
