//! The run: preflight (is this the API, does the key work?), what the
//! server offers (its banks, whether it honours the sandbox test values),
//! fixtures (a few payouts the read checks look for), then every selected
//! suite, all at once with at most `workers` requests in flight, into one
//! [`Report`], by the run's deadline at the latest.

use std::sync::Arc;

use rafiki_rules::ComplianceTable;
use serde_json::{Value, json};
use tokio::runtime::Handle;

use crate::banks::Banks;
use crate::checks::conformance::Conformance;
use crate::checks::{self, CheckInfo};
use crate::config::{ConfigError, RunConfig, SandboxValues};
use crate::http::{Client, Exchange, Keys, Probe};
use crate::report::{FailureNotice, Recorder, Report};
use crate::spending::{Spending, available_in};

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
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a request was not sent once the run is over.
const RUN_OVER: &str = "the run is over (--max-duration passed, or --fail-fast found a failure)";

/// How often a one-shot create is tried while the recipient's bank or
/// operator is down (each time under a new key).
pub const OUTAGE_ATTEMPTS: u32 = 4;

/// Payouts (and their payment accounts) created for the read checks.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// `data` of each 202, oldest first.
    pub payouts: Vec<Value>,
}

impl Fixtures {
    /// `probe` filtered to the fixtures' creation window.
    pub fn window(&self, probe: Probe) -> Probe {
        let at = |p: Option<&Value>| {
            p.and_then(|p| p["created_at"].as_str())
                .unwrap_or_default()
                .to_string()
        };
        let last = at(self.payouts.last());
        let to = chrono::DateTime::parse_from_rfc3339(&last)
            .map_or(last, |last| just_after(last.to_utc()));
        probe
            .query("created_at_from", at(self.payouts.first()))
            .query("created_at_to", to)
    }
}

/// A `created_at_to` that lists a payout created at `at` under either
/// reading of the bound (inclusive in API.md, "created before" on the
/// provider's payout page): a millisecond later.
pub fn just_after(at: chrono::DateTime<chrono::Utc>) -> String {
    (at + chrono::TimeDelta::milliseconds(1)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// One operation of the spec, as the checks that cover every operation
/// (auth, transport) send it.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The spec's operationId.
    pub id: &'static str,
    pub method: hyper::Method,
    /// The path template, e.g. `/payouts/{id}`.
    pub path: String,
    /// Whether the operation takes a request body.
    pub has_body: bool,
    /// Whether the spec requires the `X-Idempotency-Key` header.
    pub needs_idempotency_key: bool,
}

impl Operation {
    /// Whether a request `method path` (path below the base URL, e.g.
    /// `/payouts/pyt-1`) is this operation.
    pub fn matches(&self, method: &hyper::Method, path: &str) -> bool {
        let (mut template, mut path) = (self.path.split('/'), path.split('/'));
        self.method == method
            && loop {
                match (template.next(), path.next()) {
                    (None, None) => break true,
                    (Some(t), Some(p)) if t == p || (t.starts_with('{') && !p.is_empty()) => {}
                    _ => break false,
                }
            }
    }

    /// Every operation of `spec`, in the spec's order.
    pub fn all_in(spec: &rafiki_spec::Spec) -> Vec<Operation> {
        spec.operations()
            .filter_map(|(path, method, op)| {
                Some(Operation {
                    id: intern(op.operation_id.as_deref()?),
                    method: method.to_ascii_uppercase().parse().ok()?,
                    path: path.to_string(),
                    has_body: op.request_body.is_some(),
                    needs_idempotency_key: rafiki_spec::requires_header(
                        op,
                        rafiki_rules::idempotency::HEADER,
                    ),
                })
            })
            .collect()
    }

    /// A probe of this operation: path parameters filled with `id`, and a
    /// valid body when it takes one (see [`valid_body`]).
    pub fn probe(&self, id: &str) -> Probe {
        let target: Vec<&str> = self
            .path
            .split('/')
            .map(
                |segment| match segment.starts_with('{') && segment.ends_with('}') {
                    true => id,
                    false => segment,
                },
            )
            .collect();
        Probe {
            method: self.method.clone(),
            body: self.has_body.then(|| Arc::new(valid_body(self.id))),
            idempotency_key: self
                .needs_idempotency_key
                .then(|| uuid::Uuid::new_v4().to_string()),
            ..Probe::get(self.id, target.join("/"))
        }
    }
}

/// A `&'static str` for an operationId read from a spec at run time: each
/// name is leaked once per process (a spec has a handful).
fn intern(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut names = NAMES.lock().expect("names lock");
    if let Some(known) = names.iter().find(|n| **n == name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(leaked);
    leaked
}

/// Everything a check needs.
pub struct Ctx {
    pub client: Client,
    pub recorder: Recorder,
    pub conformance: Conformance,
    pub table: Arc<ComplianceTable>,
    pub max_examples: u32,
    pub selected: Vec<&'static CheckInfo>,
    pub fixtures: Result<Fixtures, String>,
    /// How long to poll a payout for its outcome.
    pub poll_deadline: std::time::Duration,
    /// Whether the server has the mock's control API (`/_sandbox`).
    pub control_api: bool,
    /// The banks the server lists (valid bank ids come from here).
    pub banks: Banks,
    /// Whether the server honours the sandbox test values (failing numbers).
    pub sandbox_values: Result<(), String>,
    /// `paging_limit`'s documented bounds, from the spec.
    pub paging_limit: (i64, i64),
    /// Every operation of the spec.
    pub operations: Vec<Operation>,
    /// When the run ends, finished or not: nothing is sent after it.
    pub deadline: std::time::Instant,
    /// Stop at the first failure.
    pub fail_fast: bool,
    /// What the run spends, and its cap.
    pub spending: Spending,
    runtime: Handle,
}

impl Ctx {
    /// Sends a probe; the answer is judged by the conformance checks.
    /// After the run's deadline nothing is sent: the exchange carries the
    /// reason instead of an answer, and no check records it.
    pub async fn send(&self, probe: Probe) -> Exchange {
        if self.out_of_time() {
            return Exchange::not_sent(probe, RUN_OVER);
        }
        let held = match self.spending.hold(&probe) {
            Ok(held) => held,
            Err(why) => return Exchange::not_sent(probe, why),
        };
        let exchange = self.client.send(probe).await;
        self.spending.settle(held, &exchange);
        self.conformance.observe(&exchange, &self.recorder);
        exchange
    }

    /// Sends `probes` at the same moment, at most `--workers` of them (see
    /// [`Client::send_together`]); judged like [`Ctx::send`].
    pub async fn send_together(&self, probes: Vec<Probe>) -> Vec<Exchange> {
        if self.out_of_time() {
            let why = "the run's deadline (--max-duration) passed";
            return probes
                .into_iter()
                .map(|p| Exchange::not_sent(p, why))
                .collect();
        }
        // All or none: copies sent together are one case.
        let mut held = Vec::with_capacity(probes.len());
        for probe in &probes {
            match self.spending.hold(probe) {
                Ok(amount) => held.push(amount),
                Err(why) => {
                    let none = Exchange::not_sent(probe.clone(), "");
                    for amount in held {
                        self.spending.settle(amount, &none);
                    }
                    return probes
                        .into_iter()
                        .map(|p| Exchange::not_sent(p, why.clone()))
                        .collect();
                }
            }
        }
        let exchanges = self.client.send_together(probes).await;
        for (exchange, amount) in exchanges.iter().zip(held) {
            self.spending.settle(amount, exchange);
            self.conformance.observe(exchange, &self.recorder);
        }
        exchanges
    }

    /// Creates a payout under a fresh idempotency key, and again under
    /// another fresh key while the answer is a documented outage of the
    /// recipient's bank or operator (503: nothing was created), at most
    /// [`OUTAGE_ATTEMPTS`] times. For one-shot creates only: steps that
    /// resend a key on purpose use [`Ctx::send`].
    pub async fn create_payout(&self, body: impl Into<Arc<Value>>) -> Exchange {
        let body = body.into();
        let mut attempts = 1;
        loop {
            let exchange = self.send(Probe::create_payout(body.clone())).await;
            if !exchange.is_recipient_unavailable() || attempts >= OUTAGE_ATTEMPTS {
                return exchange;
            }
            attempts += 1;
        }
    }

    /// Whether the run is over: its deadline passed, or (`--fail-fast`)
    /// a failure was found.
    pub fn out_of_time(&self) -> bool {
        std::time::Instant::now() >= self.deadline || (self.fail_fast && self.recorder.has_failed())
    }

    /// Runs a future from blocking code (shrinking a failing case).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn is_selected(&self, check: &CheckInfo) -> bool {
        self.selected.contains(&check)
    }

    /// The fixtures, or a skip of `checks` with the reason.
    pub fn fixtures_or_skip(&self, checks: &[&'static CheckInfo]) -> Option<&Fixtures> {
        match &self.fixtures {
            Ok(fixtures) => Some(fixtures),
            Err(reason) => {
                for check in checks {
                    self.recorder
                        .skip(check, format!("no fixture payouts: {reason}"));
                }
                None
            }
        }
    }
}

/// One suite: the checks it records and how to run it.
struct Suite {
    /// Shown in progress reports.
    name: &'static str,
    checks: &'static [&'static CheckInfo],
    run: fn(Arc<Ctx>) -> futures::future::BoxFuture<'static, ()>,
}

fn suites() -> Vec<Suite> {
    use checks::*;
    vec![
        Suite {
            name: "auth",
            checks: auth::CHECKS,
            run: |ctx| Box::pin(auth::run(ctx)),
        },
        Suite {
            name: "transport",
            checks: transport::CHECKS,
            run: |ctx| Box::pin(transport::run(ctx)),
        },
        Suite {
            name: "payouts",
            checks: payouts::CHECKS,
            run: |ctx| Box::pin(payouts::run(ctx)),
        },
        Suite {
            name: "payment_accounts",
            checks: payment_accounts::CHECKS,
            run: |ctx| Box::pin(payment_accounts::run(ctx)),
        },
        Suite {
            name: "listing",
            checks: listing::CHECKS,
            run: |ctx| Box::pin(listing::run(ctx)),
        },
        Suite {
            name: "isolation",
            checks: isolation::CHECKS,
            run: |ctx| Box::pin(isolation::run(ctx)),
        },
        Suite {
            name: "stateful",
            checks: stateful::CHECKS,
            run: |ctx| Box::pin(stateful::run(ctx)),
        },
        Suite {
            name: "sandbox_outcomes",
            checks: sandbox_outcomes::CHECKS,
            run: |ctx| Box::pin(sandbox_outcomes::run(ctx)),
        },
    ]
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

/// Where a run is: `finished` of `total` suites done, the last one `suite`.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub finished: usize,
    pub total: usize,
    pub suite: &'static str,
}

/// Runs the suite against the server in `config`.
pub async fn run(config: &RunConfig) -> Result<Report, RunError> {
    run_observed(config, |_| {}).await
}

/// [`run`], telling `observe` each time a suite finishes (for progress
/// bars) and each failure as it is found.
pub async fn run_observed(
    config: &RunConfig,
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
    ctx.conformance.observe(&first_answer, &ctx.recorder);
    ctx.control_api = has_control_api(&ctx.client).await;
    ctx.banks = Banks::from_body(ctx.send(Probe::get("list_banks", "/banks")).await.json());
    ctx.sandbox_values = sandbox_values(&ctx, config).await;
    ctx.fixtures = create_fixtures(&ctx).await;
    let ctx = Arc::new(ctx);

    // Every suite starts at once; the client's in-flight bound
    // (`--workers`) is what they share.
    let chosen: Vec<Suite> = suites()
        .into_iter()
        .filter(|s| s.checks.iter().any(|c| ctx.is_selected(c)))
        .collect();
    let total = chosen.len();
    let finished = Arc::new(std::sync::Mutex::new(Vec::<&'static str>::new()));
    let mut tasks = Vec::new();
    let mut running: Vec<(&'static str, &'static [&'static CheckInfo])> = Vec::new();
    for suite in chosen {
        running.push((suite.name, suite.checks));
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
                suite: suite.name,
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
    tokio::select! {
        finished = tokio::time::timeout_at(ctx.deadline.into(), &mut all) => {
            if let Ok(results) = finished {
                for result in results {
                    result.map_err(|e| RunError::Internal(format!("a check panicked: {e}")))?;
                }
            }
        }
        () = fail_fast => {
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
    let mut report = ctx.recorder.close(
        &unfinished,
        ctx.client.requests_sent(),
        started.elapsed(),
        ctx.conformance.coverage(),
    );
    report.rate_limits = ctx.client.limited().into();
    report.spending = Some(
        ctx.spending
            .spent(money.planned, money.available, SPENDING_CURRENCY),
    );
    Ok(report)
}

/// The currency the run's payouts are in (the fixtures', the sequences').
const SPENDING_CURRENCY: &str = "KES";

/// What the run expects to spend and what the wallet holds.
struct MoneyPlan {
    planned: rust_decimal::Decimal,
    available: Option<rust_decimal::Decimal>,
    cap: Option<rust_decimal::Decimal>,
}

impl MoneyPlan {
    /// The one line the run says of its money before its first payout.
    fn line(&self) -> String {
        let c = SPENDING_CURRENCY;
        let planned = self.planned;
        match (self.available, self.cap) {
            (Some(available), _) if available < planned => format!(
                "the {c} wallet holds {available} {c} available; this run needs up to {planned} {c}: payouts past {} {c} are not sent and their checks skipped",
                self.cap.unwrap_or(available)
            ),
            (available, cap) => format!(
                "this run expects to spend up to {planned} {c}{}{}",
                available.map(|a| format!(" of the {a} {c} available")).unwrap_or_default(),
                cap.filter(|cap| *cap < planned)
                    .map(|cap| format!("; --max-spend caps it at {cap} {c}: payouts past it are not sent and their checks skipped"))
                    .unwrap_or_default(),
            ),
        }
    }
}

/// Reads the wallet (the preflight's `GET /wallets`), works out what the
/// run expects to spend and caps `spending` at `--max-spend` or at what
/// the wallet holds, whichever is less.
fn plan_spending(spending: &mut Spending, config: &RunConfig, wallets: &Exchange) -> MoneyPlan {
    let available = wallets
        .json()
        .and_then(|w| available_in(w, SPENDING_CURRENCY));
    let planned = expected_spend(config);
    let mut cap = config.max_spend;
    if let Some(max) = config.max_spend {
        spending.cap_at(max, format!("--max-spend {max}"));
    }
    if let Some(available) = available
        && available < planned
        && cap.is_none_or(|cap| available < cap)
    {
        cap = Some(available);
        spending.cap_at(
            available,
            format!("the {SPENDING_CURRENCY} wallet held {available} available at the start"),
        );
    }
    MoneyPlan {
        planned,
        available,
        cap,
    }
}

/// An upper estimate of what a run spends: the documented edges pay the
/// destination's exact minimum and maximum once; everything else pays
/// near the minimum (the fixtures, the generated valid payouts, the
/// sequences' creates).
fn expected_spend(config: &RunConfig) -> rust_decimal::Decimal {
    use rust_decimal::Decimal;
    let Some(limit) = ComplianceTable::builtin().country("KE").and_then(|ke| {
        ke.limit_for(
            SPENDING_CURRENCY,
            rafiki_rules::wire::AccountType::MobileMoney,
        )
    }) else {
        return Decimal::ZERO;
    };
    let (min, max) = (
        limit.min.unwrap_or(Decimal::ONE),
        limit.max.unwrap_or_default(),
    );
    let near_min = Decimal::from(config.max_examples.max(1) * MINIMUMS_PER_EXAMPLE) * min;
    (min + max + near_min).round_dp(2)
}

/// What the payouts near the minimum cost, in minimums per generated
/// example: a default run (100 examples) makes about 180 payouts, most
/// within 10.00 of the minimum (`docs/performance.md`); three leave room
/// for the rarer larger ones.
const MINIMUMS_PER_EXAMPLE: u32 = 3;

/// One `GET /wallets`: tells "down", "not this API" and "bad key" apart
/// before any check runs. The answer is judged with the others.
async fn preflight(client: &Client) -> Result<Exchange, RunError> {
    let exchange = client.send(Probe::get("list_wallets", "/wallets")).await;
    let url = exchange.url.clone();
    let answer = exchange
        .answer
        .as_ref()
        .map_err(|reason| RunError::Unreachable {
            url: url.clone(),
            reason: reason.clone(),
        })?;
    match (answer.status, answer.json.as_deref()) {
        (200, Some(body)) if body.get("data").is_some_and(Value::is_array) => Ok(exchange),
        (401, Some(body)) if body.get("code").is_some() => Err(RunError::KeyRefused { url }),
        (status, _) => Err(RunError::NotThisApi {
            url,
            reason: format!(
                "GET /wallets answered HTTP {status} without a {{\"data\": [...]}} body"
            ),
        }),
    }
}

/// Whether `/_sandbox/health` answers like the mock's control API.
async fn has_control_api(client: &Client) -> bool {
    let probe = Probe {
        operation: None,
        ..Probe::get("health", client.control_url("/_sandbox/health"))
    };
    let exchange = client.send(probe).await;
    exchange.status() == 200 && exchange.json().and_then(|j| j.get("status")).is_some()
}

/// Whether the server honours the sandbox test values: as configured, or
/// (auto) by trying one, never on a production host. `Err` says why not.
async fn sandbox_values(ctx: &Ctx, config: &RunConfig) -> Result<(), String> {
    match config.sandbox_values {
        SandboxValues::On => return Ok(()),
        SandboxValues::Off => return Err("--sandbox-values off".into()),
        SandboxValues::Auto if config.is_production() => return Err("a production host".into()),
        SandboxValues::Auto => {}
    }
    let (suffix, _) = rafiki_rules::sandbox::FAILING_MOBILE_SUFFIXES[0];
    let mut body = fixture_payout(0);
    body["payment_account"]["mobile_money"]["number"] = json!(format!("+254712{suffix}"));
    let created = ctx.create_payout(body).await;
    let Some(id) = created
        .json()
        .and_then(|j| j.pointer("/data/id"))
        .and_then(Value::as_str)
    else {
        return Err(format!(
            "a payout to the test number …{suffix} was not accepted ({})",
            created.summary()
        ));
    };
    match poll_outcome(ctx, id).await {
        Ok((state, _)) if state == "FAILED" => Ok(()),
        Ok((state, _)) => Err(format!(
            "a payout to the test number …{suffix} ended {state}, not FAILED"
        )),
        Err(why) => Err(format!("a payout to the test number …{suffix}: {why}")),
    }
}

/// The first wait between two polls of a payout.
pub const FIRST_POLL_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// The wait after `wait`: twice as long, at most 500 ms.
pub fn next_poll_wait(wait: std::time::Duration) -> std::time::Duration {
    (wait * 2).min(std::time::Duration::from_millis(500))
}

/// Polls payout `id` until it leaves PENDING: its state code and the
/// last answer; `Err` when the answer has no readable state, or the poll
/// deadline (or the run's) passes first.
pub async fn poll_outcome(ctx: &Ctx, id: &str) -> Result<(String, Exchange), String> {
    let deadline = std::time::Instant::now() + ctx.poll_deadline;
    let mut wait = FIRST_POLL_WAIT;
    loop {
        let exchange = ctx
            .send(Probe::get("get_payout", format!("/payouts/{id}")))
            .await;
        let code = exchange.payout_state().map(str::to_string);
        match code {
            None => {
                return Err(format!(
                    "no state.code in the answer ({})",
                    exchange.summary()
                ));
            }
            Some(code) if code != "PENDING" => return Ok((code, exchange)),
            Some(_) if std::time::Instant::now() >= deadline || ctx.out_of_time() => {
                return Err(format!("still PENDING after {:?}", ctx.poll_deadline));
            }
            Some(_) => {}
        }
        tokio::time::sleep(wait).await;
        wait = next_poll_wait(wait);
    }
}

/// Creates a few small payouts, one at a time so their order is known.
async fn create_fixtures(ctx: &Ctx) -> Result<Fixtures, String> {
    let mut payouts = Vec::new();
    for i in 0..5 {
        let exchange = ctx.create_payout(fixture_payout(i)).await;
        match (
            exchange.status(),
            exchange.json().and_then(|j| j.get("data")),
        ) {
            (202, Some(data)) => payouts.push(data.clone()),
            _ => return Err(format!("POST /payouts answered {}", exchange.summary())),
        }
    }
    Ok(Fixtures { payouts })
}

/// A valid body for operation `id`: a fixture payout or payment account;
/// `{}` for an operation this suite does not know.
pub fn valid_body(id: &str) -> Value {
    match id {
        "create_payout" => fixture_payout(0),
        "get_or_create_payment_account" => fixture_payout(0)["payment_account"].clone(),
        _ => json!({}),
    }
}

/// A small valid Kenyan payout (not one of the sandbox's failing numbers).
pub fn fixture_payout(i: u32) -> Value {
    json!({
        "amount": {"value": format!("{}.00", 140 + i), "currency": "KES"},
        "payment_account": {
            "type": "MOBILE_MONEY", "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": "Contract Fixture"},
            "mobile_money": {"number": format!("+25471234{:04}", 5670 + i), "operator": "SAFARICOM"}
        },
        "sender": {
            "type": "BUSINESS", "name": "Rafiki Contract Suite",
            "address": {"line_1": "1 Test Road", "city": "Nairobi", "postal_code": "00100", "country": "KE"}
        }
    })
}
