//! `rafiki-mock`: the sandbox server as a standalone binary.
//!
//! ```sh
//! cargo run -p rafiki-mock -- --port 8080
//! RAFIKI_MOCK_API_KEYS=sk_test_a,sk_test_b cargo run -p rafiki-mock -- --wallet KES:500000.00 --wallet USD:1000.00
//! cargo run -p rafiki-mock -- --variant autonomous_support --compliance my-limits.yaml
//! cargo run -p rafiki-mock -- --rate-limit-per-key 5
//! cargo run -p rafiki-mock -- --fault 'create_payout=503+retry-after=1@30%' --fault 'create_payout=drop-after-handling@10%' --fault-seed 7
//! cargo run -p rafiki-mock -- --webhook-url http://127.0.0.1:3000/webhooks --webhook-signing-key whsk_test_local --webhook-fault 'duplicate@20%'
//! cargo run -p rafiki-mock -- --state team-sandbox.db
//! ```
//!
//! Exit status: 0 when stopped by Ctrl-C or SIGTERM; 2 when it cannot start
//! (a bad flag, as clap reports it, or one line on stderr naming the problem
//! and the fix: a compliance file that does not load, an address it cannot
//! listen on, a refused API key, a state file it cannot use).

use std::fmt;
use std::io::{ErrorKind, IsTerminal};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use rafiki_mock::{
    Config, ConfigError, DEFAULT_API_KEY, FaultPlan, FaultRule, MockHandle, SigningKey, StartError,
    StateError, Variant, WalletSeed, WebhookEndpoint, WebhookFaultPlan, WebhookFaultRule,
    WebhookUrl,
};
use rafiki_rules::{ComplianceError, ComplianceTable};
use tracing_subscriber::EnvFilter;

/// A stateful sandbox of the Rafiki payouts API (base URL `http://HOST:PORT/v1`).
#[derive(Debug, Parser)]
#[command(name = "rafiki-mock", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0: an ephemeral port, printed at start).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// An API key, i.e. an account (repeatable). Default: sk_test_rafiki_mock.
    #[arg(
        long = "api-key",
        env = "RAFIKI_MOCK_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    api_keys: Vec<String>,
    /// Milliseconds a payout stays PENDING before it is SENT or FAILED
    /// [default: 300, or the variant's].
    #[arg(long = "delay-ms")]
    delay_ms: Option<u64>,
    /// A wallet every account starts with, CURRENCY:AMOUNT (repeatable).
    /// Default: KES:10000000.00.
    #[arg(long = "wallet")]
    wallets: Vec<WalletSeed>,
    /// Base URL written into `next` links (default: from the Host header).
    #[arg(long)]
    public_base_url: Option<String>,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = rafiki_mock::config::DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// The compliance table (YAML, the shape of spec/compliance.yaml)
    /// requests are validated with [default: the built-in table].
    #[arg(long, value_name = "FILE")]
    compliance: Option<PathBuf>,
    /// Do not serve the control API: every /_sandbox path answers 404.
    #[arg(long)]
    no_control_api: bool,
    /// Accept amounts with leading zeros ("0140") and echo them as sent.
    #[arg(long)]
    lenient_amounts: bool,
    /// Support cancels some PENDING payouts and reverses some SENT ones on
    /// its own (chosen by payout id).
    #[arg(long)]
    autonomous_support: bool,
    /// Items per page when a list request has no paging_limit (1..=50)
    /// [default: 10, or the variant's].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=50))]
    default_page_size: Option<u32>,
    /// A legal variation to show (repeatable): leading_zero_amounts,
    /// slow_settlement, autonomous_support, page_size_7, key_reuse_refused,
    /// created_at_to_exclusive, recipient_outages, branches_unchecked,
    /// rate_limited, dob_for_every_sender, branch_required. Explicit flags
    /// win over what a variant sets (dob_for_every_sender applies to the
    /// --compliance table).
    #[arg(long = "variant", value_name = "NAME")]
    variants: Vec<Variant>,
    /// At most N requests per second per API key to /v1 (a burst of N,
    /// refilled at N a second); past that 429 RATE_LIMITED with
    /// Retry-After [default: no limit, or the variant's].
    #[arg(long, value_name = "N")]
    rate_limit_per_key: Option<NonZeroU32>,
    /// A fault to inject on purpose (repeatable; every account starts with
    /// these): OPERATION=FAULT[@SHARE][#TIMES], where OPERATION is an
    /// operationId or *, FAULT is 500, 502, 503, 429 or 409 (each optionally
    /// +retry-after=SECONDS), latency:200ms or drop-after-handling, SHARE is
    /// 30% or 0.3 (default 100%), TIMES caps the injections. E.g.
    /// create_payout=503+retry-after=2@30%, '*=latency:200ms',
    /// create_payout=drop-after-handling#1.
    #[arg(long = "fault", value_name = "RULE")]
    faults: Vec<FaultRule>,
    /// The seed that chooses which requests the faults, and which
    /// deliveries the webhook faults, fire on.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// Where to deliver payout events (repeatable, at most 5): every
    /// account gets each of these endpoints. An http:// URL, e.g.
    /// http://127.0.0.1:3000/webhooks.
    #[arg(long = "webhook-url", value_name = "URL")]
    webhook_urls: Vec<WebhookUrl>,
    /// The signing key of the --webhook-url endpoints (default: one
    /// generated per endpoint, whsk_ and 32 letters and digits; GET
    /// /_sandbox/webhooks shows it).
    #[arg(long, value_name = "KEY", requires = "webhook_urls")]
    webhook_signing_key: Option<SigningKey>,
    /// A fault to inject on purpose into webhook deliveries (repeatable):
    /// FAULT[@SHARE][#TIMES], where FAULT is duplicate, out-of-order,
    /// delay:2s, bad-signature or stale-timestamp. E.g. duplicate@30%,
    /// delay:2s#1.
    #[arg(long = "webhook-fault", value_name = "RULE")]
    webhook_faults: Vec<WebhookFaultRule>,
    /// Requests each account's journal keeps (GET /_sandbox/requests); the
    /// oldest are dropped.
    #[arg(long, default_value_t = rafiki_mock::DEFAULT_JOURNAL_CAPACITY)]
    journal_capacity: usize,
    /// Keep the whole state in this SQLite file (created if missing):
    /// every change is on disk before its answer, and the mock started
    /// again on the file goes on where it stopped [default: in memory].
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

/// The exit status of a mock that never served: the one clap gives a bad
/// flag, so a script needs one test for "did not start".
const CANNOT_START: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    let (handle, stop) = match start(args).await {
        Ok(started) => started,
        Err(problem) => {
            // One line, written here rather than returned from main: an
            // error returned from main prints its Debug form, a backtrace
            // under RUST_BACKTRACE and each cause again.
            eprintln!("rafiki-mock: {problem}");
            return ExitCode::from(CANNOT_START);
        }
    };
    println!("rafiki-mock serving {}", handle.base_url());
    stop.wait().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    ExitCode::SUCCESS
}

/// Builds the configuration from the flags and starts the server.
async fn start(args: Args) -> Result<(MockHandle, StopSignal), Problem> {
    let keys = if args.api_keys.is_empty() {
        vec![DEFAULT_API_KEY.to_owned()]
    } else {
        args.api_keys
    };
    let wallets = if args.wallets.is_empty() {
        vec![WalletSeed::default_kes()]
    } else {
        args.wallets
    };
    let mut config = Config::with_keys(keys, &wallets);
    // Before the variants: `dob_for_every_sender` reads the table it is given.
    if let Some(path) = args.compliance {
        let yaml =
            std::fs::read_to_string(&path).map_err(|source| Problem::ComplianceUnreadable {
                path: path.clone(),
                source,
            })?;
        let table = ComplianceTable::from_yaml_str(&yaml)
            .map_err(|source| Problem::ComplianceInvalid { path, source })?;
        config.compliance = Arc::new(table);
    }
    for variant in &args.variants {
        variant.apply(&mut config);
    }
    if let Some(delay_ms) = args.delay_ms {
        config.processing_delay = Duration::from_millis(delay_ms);
    }
    if let Some(size) = args.default_page_size {
        config.default_page_size = size;
    }
    if let Some(limit) = args.rate_limit_per_key {
        config.rate_limit_per_key = Some(limit);
    }
    config.control_api &= !args.no_control_api;
    config.lenient_amounts |= args.lenient_amounts;
    config.autonomous_support |= args.autonomous_support;
    config.public_base_url = args.public_base_url;
    config.body_limit = args.body_limit;
    config.faults = FaultPlan {
        seed: args.fault_seed,
        rules: args.faults,
    };
    config.journal_capacity = args.journal_capacity;
    for url in args.webhook_urls {
        config = config.with_webhook(WebhookEndpoint::new(url, args.webhook_signing_key.clone()));
    }
    config.webhook_faults = WebhookFaultPlan {
        seed: args.fault_seed,
        rules: args.webhook_faults,
    };
    config.state_file = args.state;
    // Before the port is taken, so that a failure here is a start-up error
    // too and not one after "serving" was printed.
    let stop = StopSignal::new().map_err(Problem::Signals)?;
    let handle = rafiki_mock::spawn_on(config, SocketAddr::new(args.host, args.port)).await?;
    Ok((handle, stop))
}

/// Why the binary did not start, each said in one line with its fix.
#[derive(Debug)]
enum Problem {
    ComplianceUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    ComplianceInvalid {
        path: PathBuf,
        source: ComplianceError,
    },
    Start(StartError),
    Signals(std::io::Error),
}

impl From<StartError> for Problem {
    fn from(error: StartError) -> Self {
        Problem::Start(error)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::ComplianceUnreadable { path, source } => write!(
                f,
                "cannot read the compliance table {}: {} (pass --compliance a YAML file shaped like spec/compliance.yaml, or leave it out for the built-in table)",
                path.display(),
                io_reason(source),
            ),
            Problem::ComplianceInvalid { path, source } => write!(
                f,
                "the compliance table {} does not load: {source} (correct it, or leave out --compliance for the built-in table)",
                path.display(),
            ),
            Problem::Start(StartError::Bind { addr, source }) => {
                write!(f, "cannot listen on {addr}: {}", io_reason(source))?;
                match source.kind() {
                    ErrorKind::AddrInUse => {
                        f.write_str(" (another rafiki-mock? pass --port 0 for a free port)")
                    }
                    ErrorKind::AddrNotAvailable => f.write_str(
                        " (--host must be an address of this machine, e.g. 127.0.0.1, or 0.0.0.0 for all)",
                    ),
                    ErrorKind::PermissionDenied => f.write_str(
                        " (ports below 1024 need privileges: pass --port 8080, or --port 0 for a free port)",
                    ),
                    _ => Ok(()),
                }
            }
            Problem::Start(StartError::Config(error)) => {
                // No wildcard: a new refusal gets its own fix.
                let fix = match error {
                    ConfigError::NoAccounts
                    | ConfigError::BadKey(_)
                    | ConfigError::DuplicateKey(_) => {
                        "check --api-key and RAFIKI_MOCK_API_KEYS: comma-separated keys, each once"
                    }
                    ConfigError::PageSize(_) => "pass --default-page-size 1 to 50",
                    ConfigError::TooManyWebhooks { .. } => "give fewer --webhook-url",
                };
                write!(f, "{error} ({fix})")
            }
            Problem::Start(StartError::State(error)) => {
                // No wildcard: a new refusal gets its own fix.
                let fix = match error {
                    StateError::Open { .. } => {
                        "pass --state a file in a directory this user can write"
                    }
                    StateError::Locked { .. } => {
                        "one mock per file: stop the other one, or pass another --state file"
                    }
                    StateError::NotOurs { .. } => {
                        "pass --state a new file, or one rafiki-mock wrote; the file was left as it was"
                    }
                    StateError::Newer { .. } => {
                        "run the newer rafiki-mock on it, or pass another --state file; the file was left as it was"
                    }
                    StateError::Corrupt { .. } | StateError::Sqlite { .. } => {
                        "restore it from a copy, or pass another --state file; the file was left as it was"
                    }
                };
                write!(f, "{error} ({fix})")
            }
            Problem::Start(StartError::Write(error)) => write!(f, "{error}"),
            Problem::Signals(source) => write!(
                f,
                "cannot listen for Ctrl-C and SIGTERM: {}",
                io_reason(source)
            ),
        }
    }
}

/// An I/O error in words: its kind for the common ones, without the
/// `(os error N)` that `io::Error`'s Display appends.
fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        ErrorKind::NotFound => "no such file".to_owned(),
        ErrorKind::PermissionDenied => "permission denied".to_owned(),
        ErrorKind::AddrInUse => "address in use".to_owned(),
        ErrorKind::AddrNotAvailable => "address not available".to_owned(),
        ErrorKind::IsADirectory => "is a directory".to_owned(),
        ErrorKind::InvalidData => "not UTF-8 text".to_owned(),
        _ => error.to_string(),
    }
}

/// Ctrl-C, or SIGTERM on Unix (what `docker stop` and CI runners send).
/// Registered at start, so that waiting for them cannot fail later.
struct StopSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignal {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignal {})
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        {
            let StopSignal {
                mut interrupt,
                mut terminate,
            } = self;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            // Only fails when the handler cannot be installed: stop then
            // rather than serve with no way to stop cleanly.
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
