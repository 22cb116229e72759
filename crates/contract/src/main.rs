//! `rafiki-contract run`: the contract suite as a CI step.
//!
//! With no `--base-url` it starts the embedded `rafiki-mock` (two accounts)
//! and checks it (feature `embedded-mock`, on by default); with
//! `--base-url` and a key it checks any server.
//! `rafiki-contract proxy`: sits between an application and the API,
//! forwards its traffic unchanged and judges both sides (see
//! `rafiki_contract::proxy`); it stops at Ctrl-C, after `--duration`, or
//! when the command it wraps ends.
//! `rafiki-contract webhooks`: sends an application's webhook receiver
//! events, signed and forged, and judges its answers (see
//! `rafiki_contract::check_receiver`).
//!
//! Exit codes: 0 every check held, 1 a check failed, 2 usage or connection
//! problem (one line on stderr); a wrapped command that fails gives its
//! own non-zero code when no check failed. The proxy exits 2 when its
//! upstream does not answer as the API before it starts, and 1 when the
//! session judged nothing (check `traffic_judged`: no request came through
//! it, none was to the API, or the upstream answered none), with a line
//! saying which and what to do.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rafiki_contract::{
    CHECKS, CheckInfo, Event, FailureNotice, Report, RunConfig, RunError, SandboxValues,
};
use rafiki_contract::{Proxy, ProxyConfig, WEBHOOK_CHECKS, WebhookConfig};
use tokio::runtime::{Builder, Runtime};

/// The runner allocates a great deal per request, and glibc's malloc was
/// a large part of its CPU (`docs/performance.md`); mimalloc takes less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rafiki-contract",
    version,
    about = "Contract suite for Rafiki payouts API servers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the checks (against the embedded mock unless --base-url is given).
    Run(Box<RunArgs>),
    /// Forward an application's traffic to a server unchanged, judging
    /// what the application sends and what the server answers.
    Proxy(Box<ProxyArgs>),
    /// Send an application's webhook receiver events, correctly signed
    /// and not, and judge its answers (and, with --observe, their effects).
    Webhooks(Box<WebhooksArgs>),
    /// List the checks with their descriptions.
    ListChecks,
}

#[derive(clap::Args)]
struct WebhooksArgs {
    /// The receiver's URL, where events are POSTed.
    #[arg(long, value_name = "URL")]
    target: String,
    /// The key the receiver verifies signatures with (never printed).
    #[arg(long, env = "RAFIKI_WEBHOOK_SIGNING_KEY", hide_env_values = true)]
    signing_key: Option<String>,
    /// Where the application shows a payout as JSON, {id} standing for
    /// its id (e.g. http://127.0.0.1:3000/payouts/{id}); without it the
    /// checks of what events did are skipped.
    #[arg(long, value_name = "URL-TEMPLATE")]
    observe: Option<String>,
    /// JSON pointer to the payout's state code in the view.
    #[arg(long, value_name = "POINTER", default_value = WebhookConfig::DEFAULT_STATE_POINTER)]
    state_pointer: String,
    /// JSON pointer to the view's count of the events applied to the
    /// payout (webhook_duplicate_one_effect is skipped without one).
    #[arg(long, value_name = "POINTER", default_value = WebhookConfig::DEFAULT_EFFECTS_POINTER)]
    effects_pointer: String,
    /// Seconds a signature's timestamp may be from the receiver's clock.
    #[arg(long, value_name = "S", default_value_t = rafiki_rules::webhooks::DEFAULT_TOLERANCE_SECS)]
    tolerance: u64,
    /// Seconds the receiver (and the view) has to answer.
    #[arg(long, value_name = "S", default_value_t = WebhookConfig::DEFAULT_TIMEOUT.as_secs())]
    timeout: u64,
    /// Seconds an acknowledged event may take to show in the view.
    #[arg(long, value_name = "S", default_value_t = WebhookConfig::DEFAULT_SETTLE.as_secs())]
    settle: u64,
    #[command(flatten)]
    reports: ReportFiles,
    /// Fail on warnings too (verdicts that rest only on our conventions,
    /// such as the timestamp tolerance).
    #[arg(long)]
    strict: bool,
}

#[derive(clap::Args)]
struct ProxyArgs {
    /// The API's base URL, /v1 included (the sandbox, a staging server, a
    /// rafiki-mock). The application uses http://HOST:PORT/v1 instead. It
    /// is asked GET /wallets without a key first: the proxy does not start
    /// unless it answers as the API does.
    #[arg(long, env = "RAFIKI_UPSTREAM")]
    upstream: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0: an ephemeral one; the URL is printed at start).
    #[arg(long, default_value_t = 8081)]
    port: u16,
    /// Stop after this many seconds (otherwise at Ctrl-C, SIGTERM, or when
    /// the wrapped command ends).
    #[arg(long)]
    duration: Option<u64>,
    /// Write every exchange to this file as JSON lines (keys redacted).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Seconds after an attempt during which the same payout sent under a
    /// new idempotency key is reported as a duplicate.
    #[arg(long, default_value_t = rafiki_contract::DEFAULT_RETRY_WINDOW.as_secs())]
    retry_window: u64,
    /// The shortest gap, in milliseconds, between two reads of a PENDING payout.
    #[arg(long, default_value_t = rafiki_contract::DEFAULT_POLL_FLOOR.as_millis() as u64)]
    poll_floor_ms: u64,
    #[command(flatten)]
    reports: ReportFiles,
    /// Fail on warnings too (verdicts that rest only on our stricter spec).
    #[arg(long)]
    strict: bool,
    /// OpenAPI 3.0 document to judge answers by (default: the built-in spec).
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// A command to run through the proxy (after `--`): it gets the
    /// proxy's base URL in RAFIKI_PROXY_URL, and the proxy stops when it ends.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Base URL of the server under test, including /v1. Omit to check the embedded mock.
    #[arg(long, env = "RAFIKI_BASE_URL")]
    base_url: Option<String>,
    /// API key of the account under test.
    #[arg(long, env = "RAFIKI_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// A second account's key, for the tenant-isolation check.
    #[arg(long, env = "RAFIKI_API_KEY_2", hide_env_values = true)]
    api_key_2: Option<String>,
    /// Only these checks (comma-separated names; see `list-checks`).
    #[arg(long, value_delimiter = ',')]
    checks: Vec<String>,
    /// Skip these checks.
    #[arg(long, value_delimiter = ',')]
    exclude_checks: Vec<String>,
    /// Generated cases per property check.
    #[arg(long, default_value_t = rafiki_contract::DEFAULT_MAX_EXAMPLES)]
    max_examples: u32,
    /// Requests in flight at once, so connections at most (suites and
    /// sequence lanes run concurrently and share them).
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// At most this many requests per second.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    request_timeout: u64,
    /// Seconds to poll a payout for its outcome (PENDING after that is not a failure).
    #[arg(long, default_value_t = 30)]
    poll_deadline: u64,
    /// Replay a run (printed at the end of every run).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    reports: ReportFiles,
    /// Allow a production host (payouts there move real money).
    #[arg(long)]
    allow_production: bool,
    /// Fail on warnings too (verdicts that rest only on our stricter spec).
    #[arg(long)]
    strict: bool,
    /// Bound of the whole run in seconds; checks still running then are
    /// reported as not finished.
    #[arg(long, default_value_t = rafiki_contract::DEFAULT_MAX_DURATION.as_secs())]
    max_duration: u64,
    /// Stop at the first failure, with its full report (the checks still
    /// running are reported as not finished).
    #[arg(long)]
    fail_fast: bool,
    /// Use the sandbox test values (failing numbers): auto tries one first
    /// and never runs on a production host.
    #[arg(long, value_enum, default_value_t = SandboxValues::Auto)]
    sandbox_values: SandboxValues,
    /// OpenAPI 3.0 document to judge answers by (default: the built-in
    /// spec/openapi.yaml).
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Spend at most this much on payouts (in KES, e.g. 600000); payouts
    /// past it are not sent and their checks skipped. The run says what it
    /// expects to spend before its first payout.
    #[arg(long, value_name = "AMOUNT")]
    max_spend: Option<rust_decimal::Decimal>,
}

/// Keys of the embedded mock's two accounts.
#[cfg(feature = "embedded-mock")]
const EMBEDDED_KEYS: [&str; 2] = ["sk_test_contract_a", "sk_test_contract_b"];

/// Starts the embedded mock; it lives as long as the returned handle.
#[cfg(feature = "embedded-mock")]
async fn embedded_mock() -> Result<(RunConfig, Option<rafiki_mock::MockHandle>), String> {
    let mock = rafiki_mock::spawn(rafiki_mock::Config::for_contract_suite(EMBEDDED_KEYS))
        .await
        .map_err(|e| format!("cannot start the embedded mock: {e}"))?;
    let mut config = RunConfig::new(mock.base_url(), EMBEDDED_KEYS[0]);
    config.api_key_2 = Some(EMBEDDED_KEYS[1].to_string());
    Ok((config, Some(mock)))
}

/// Built without the embedded mock: a server must be named.
#[cfg(not(feature = "embedded-mock"))]
async fn embedded_mock() -> Result<(RunConfig, Option<()>), String> {
    Err("no --base-url: this build has no embedded mock (feature `embedded-mock`)".into())
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::ListChecks => {
            println!("run (and, on every answer it sees, proxy):\n");
            CHECKS.iter().for_each(|check| print_check(check));
            println!("\nproxy only (the application's side, and the session):\n");
            rafiki_contract::proxy_checks().for_each(print_check);
            println!("\nwebhooks (an application's webhook receiver):\n");
            WEBHOOK_CHECKS.iter().for_each(|check| print_check(check));
            ExitCode::SUCCESS
        }
        // The proxy serves an application's connections and judges on a
        // thread of its own: the usual runtime, a worker per core.
        Command::Proxy(args) => match runtime(Builder::new_multi_thread()).block_on(proxy(*args)) {
            Ok(code) => ExitCode::from(code),
            Err(message) => {
                eprintln!("rafiki-contract proxy: {message}");
                ExitCode::from(2)
            }
        },
        // A dozen requests, mostly one after the other: one thread.
        Command::Webhooks(args) => {
            match runtime(Builder::new_current_thread()).block_on(webhooks(*args)) {
                Ok(code) => ExitCode::from(code),
                Err(message) => {
                    eprintln!("rafiki-contract webhooks: {message}");
                    ExitCode::from(2)
                }
            }
        }
        // A run waits on the network far more than it computes: one thread
        // does it all, with no hand-offs between threads (a third less CPU
        // per request than a worker per core, by the suite benchmark).
        Command::Run(args) => match runtime(Builder::new_current_thread()).block_on(run(*args)) {
            // Checks cut off by --max-duration may still be winding down: do not wait for them.
            Ok(code) => {
                use std::io::Write;
                let _ = std::io::stdout().flush();
                std::process::exit(code)
            }
            Err(message) => {
                eprintln!("rafiki-contract: {message}");
                ExitCode::from(2)
            }
        },
    }
}

/// One check of `list-checks`: its name, what it holds, what it rests on.
fn print_check(check: &CheckInfo) {
    println!(
        "{:32} {}\n{:32} rests on: {}",
        check.name, check.description, "", check.basis
    );
}

/// A runtime from `builder`, with its clock and I/O.
fn runtime(mut builder: Builder) -> Runtime {
    builder
        .enable_all()
        .build()
        .expect("a tokio runtime (threads, an epoll instance) can be made")
}

async fn run(args: RunArgs) -> Result<i32, String> {
    args.reports.check_writable()?;
    // The embedded mock lives as long as the run.
    let (mut config, _mock) = match &args.base_url {
        Some(url) => {
            let key = args
                .api_key
                .clone()
                .ok_or("no API key: pass --api-key or set RAFIKI_API_KEY")?;
            let mut config = RunConfig::new(url, key);
            config.api_key_2 = args.api_key_2.clone();
            (config, None)
        }
        None => embedded_mock().await?,
    };
    config.checks = args.checks;
    config.exclude_checks = args.exclude_checks;
    config.max_examples = args.max_examples;
    config.workers = args.workers;
    config.rate_limit = args.rate_limit;
    config.request_timeout = Duration::from_secs(args.request_timeout);
    config.seed = args.seed;
    config.poll_deadline = Duration::from_secs(args.poll_deadline);
    config.allow_production = args.allow_production;
    config.strict = args.strict;
    config.max_duration = Duration::from_secs(args.max_duration);
    config.fail_fast = args.fail_fast;
    config.sandbox_values = args.sandbox_values;
    config.spec = args.spec;
    config.max_spend = args.max_spend;

    // A usage mistake is one line, before any other.
    config.check_target().map_err(|e| e.to_string())?;
    config.selected_checks().map_err(|e| e.to_string())?;
    // What the run says as it goes is for the person watching: stderr,
    // so that stdout holds the report alone.
    let progress = progress(&config.base_url);
    let bar = progress.clone();
    let full_report = args.reports.place();
    let result = rafiki_contract::run_observed(&config, move |event| {
        let line = match event {
            Event::Progress(p) if !bar.is_hidden() => {
                bar.set_length(p.total as u64);
                bar.set_position(p.finished as u64);
                bar.set_message(one_line(&format!("{} done", p.checks.join(", ")), 60));
                return;
            }
            Event::Progress(p) => format!(
                "rafiki-contract: done ({}/{}): {}",
                p.finished,
                p.total,
                p.checks.join(", ")
            ),
            Event::Money(line) => format!("rafiki-contract: {line}"),
            Event::Failure(f) => {
                // Most expectations already name what came back.
                let got = match f.expected.contains(", got ") {
                    true => String::new(),
                    false => format!("; got {}", one_line(&f.actual, 80)),
                };
                format!(
                    "rafiki-contract: ✗ {} failed after {:.2} s: expected {}{got} (full report {full_report})",
                    f.check,
                    f.after.as_secs_f64(),
                    one_line(&f.expected, 160),
                )
            }
        };
        match bar.is_hidden() {
            true => eprintln!("{line}"),
            false => bar.println(line),
        }
    })
    .await;
    progress.finish_and_clear();
    let mut report = result.map_err(|e: RunError| e.to_string())?;
    if args.base_url.is_none() {
        // The embedded mock's address dies with the run: a replay starts
        // its own, so the replay line names no server.
        report.base_url = None;
    }
    print!("{}", report.render());
    args.reports.write(&report)?;
    Ok(if report.failed() { 1 } else { 0 })
}

async fn proxy(args: ProxyArgs) -> Result<u8, String> {
    args.reports.check_writable()?;
    writable("--record", args.record.as_ref())?;
    let mut config = ProxyConfig::new(&args.upstream);
    config.listen = SocketAddr::new(args.host, args.port);
    config.retry_window = Duration::from_secs(args.retry_window);
    config.poll_floor = Duration::from_millis(args.poll_floor_ms);
    config.record = args.record.clone();
    config.strict = args.strict;
    config.spec = args.spec.clone();
    let full_report = args.reports.place();
    let proxy = Proxy::start(
        config,
        Box::new(move |finding: FailureNotice| {
            // What was sent (or answered), then what the contract expects.
            let mark = if finding.warning { "! warning" } else { "✗" };
            println!(
                "rafiki-contract proxy: {mark} {}: {}; expected {} (full report {full_report})",
                finding.check,
                one_line(&finding.actual, 240),
                one_line(&finding.expected, 240)
            );
        }),
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "rafiki-contract proxy: forwarding {} to {}",
        proxy.base_url(),
        args.upstream
    );
    let command_code = tokio::select! {
        code = wrapped(&args.command, proxy.base_url()), if !args.command.is_empty() => code?,
        () = stop_after(args.duration) => 0,
        result = stop_signal() => {
            result.map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
            0
        }
    };
    let report = proxy.finish().await;
    print!("{}", report.render());
    args.reports.write(&report)?;
    if report.failed() {
        return Ok(1);
    }
    if command_code != 0 {
        // Otherwise "0 failed" and a red job would leave the reader guessing.
        eprintln!(
            "rafiki-contract proxy: no check failed; exit code {command_code} is the wrapped command's (`{}` failed)",
            args.command[0]
        );
    }
    Ok(command_code)
}

async fn webhooks(args: WebhooksArgs) -> Result<u8, String> {
    args.reports.check_writable()?;
    let key = args
        .signing_key
        .ok_or("no signing key: pass --signing-key or set RAFIKI_WEBHOOK_SIGNING_KEY")?;
    let mut config = WebhookConfig::new(&args.target, key);
    config.observe = args.observe;
    config.state_pointer = args.state_pointer;
    config.effects_pointer = args.effects_pointer;
    config.tolerance = Duration::from_secs(args.tolerance);
    config.timeout = Duration::from_secs(args.timeout);
    config.settle = Duration::from_secs(args.settle);
    config.strict = args.strict;
    let report = rafiki_contract::check_receiver(&config)
        .await
        .map_err(|e| e.to_string())?;
    print!("{}", report.render());
    args.reports.write(&report)?;
    Ok(if report.failed() { 1 } else { 0 })
}

/// Runs the wrapped command with RAFIKI_PROXY_URL set; its exit code.
async fn wrapped(command: &[String], base_url: &str) -> Result<u8, String> {
    let status = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .env("RAFIKI_PROXY_URL", base_url)
        .status()
        .await
        .map_err(|e| format!("cannot run `{}`: {e}", command[0]))?;
    Ok(match status.code() {
        Some(0) => 0,
        Some(code) => u8::try_from(code).unwrap_or(1).max(1),
        None => 1,
    })
}

/// Resolves after `seconds`, or never.
async fn stop_after(seconds: Option<u64>) {
    match seconds {
        Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
        None => std::future::pending().await,
    }
}

/// Ctrl-C, or SIGTERM on Unix (what CI runners send).
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}

/// `text` on one line, cut to `limit` characters.
fn one_line(text: &str, limit: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(limit) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    }
}

/// A progress bar (suites done) on a terminal; plain lines otherwise
/// (both on stderr).
fn progress(base_url: &str) -> indicatif::ProgressBar {
    if std::io::stderr().is_terminal() {
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} [{bar:30}] {pos}/{len} suites {msg}",
        )
        .expect("valid template")
        .progress_chars("=> ");
        let bar = indicatif::ProgressBar::new(0)
            .with_style(style)
            .with_message(format!("checking {base_url}"));
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    } else {
        eprintln!("rafiki-contract: checking {base_url}");
        indicatif::ProgressBar::hidden()
    }
}

/// The report files every command can write at its end.
#[derive(clap::Args)]
struct ReportFiles {
    /// Write a JUnit XML report here at the end.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write a JSON report here at the end.
    #[arg(long)]
    json: Option<PathBuf>,
}

impl ReportFiles {
    /// A report that cannot be written is found out before anything is sent.
    fn check_writable(&self) -> Result<(), String> {
        writable("--junit", self.junit.as_ref())?;
        writable("--json", self.json.as_ref())
    }

    /// Where the full report goes, in words.
    fn place(&self) -> String {
        match (&self.json, &self.junit) {
            (Some(path), _) | (None, Some(path)) => format!("in {} and at the end", path.display()),
            (None, None) => "at the end".to_string(),
        }
    }

    fn write(&self, report: &Report) -> Result<(), String> {
        // Each is rendered only when asked for (JUnit's costs about what a
        // dozen requests do).
        let junit_text: fn(&Report) -> String = Report::junit;
        for (path, render) in [(&self.junit, junit_text), (&self.json, Report::json)] {
            if let Some(path) = path {
                std::fs::write(path, render(report))
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
        }
        Ok(())
    }
}

/// Whether the report file at `path` (given with `flag`) can be written:
/// opened (created if need be, and then removed again) before the run
/// sends anything.
fn writable(flag: &str, path: Option<&PathBuf>) -> Result<(), String> {
    let Some(path) = path else {
        return Ok(());
    };
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            format!(
                "cannot write the {flag} file {}: {e}; nothing was sent",
                path.display()
            )
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}
