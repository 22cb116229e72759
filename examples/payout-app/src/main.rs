//! `payout-app`: runs the payout job once (see the library), or, as
//! `payout-app receive`, serves its webhook receiver until stopped.
//!
//! ```sh
//! cargo run -p rafiki-mock -- --port 8080 &
//! cargo run -p rafiki-contract -- proxy --upstream http://127.0.0.1:8080/v1 --port 8081 \
//!     -- cargo run -p payout-app -- --bug amount-as-number
//!
//! export RAFIKI_WEBHOOK_SIGNING_KEY=whsk_test_payout_app
//! cargo run -p payout-app -- receive --port 3000 --bug duplicate-applied-twice &
//! cargo run -p rafiki-contract -- webhooks --target http://127.0.0.1:3000/webhooks \
//!     --observe 'http://127.0.0.1:3000/payouts/{id}'
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use payout_app::receiver::{Receiver, ReceiverBugs, ReceiverConfig};
use payout_app::{Bugs, Config};
use rafiki_client::webhooks::SigningKey;

/// Pays two salaries and a bonus, waits for the outcomes, reconciles the
/// day; or receives the provider's webhooks (`receive`).
#[derive(Parser)]
#[command(name = "payout-app", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    job: JobArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the webhook receiver (POST /webhooks) and the application's
    /// view of each payout (GET /payouts/{id}) until stopped.
    Receive(ReceiveArgs),
}

#[derive(Args)]
struct JobArgs {
    /// The API's base URL, /v1 included (under `rafiki-contract proxy -- ...`,
    /// the proxy's).
    #[arg(
        long,
        env = "RAFIKI_PROXY_URL",
        default_value = "http://127.0.0.1:8080/v1"
    )]
    base_url: String,
    #[arg(
        long,
        env = "RAFIKI_API_KEY",
        default_value = "sk_test_rafiki_mock",
        hide_env_values = true
    )]
    api_key: String,
    /// A planted bug to switch on (repeatable).
    #[arg(long = "bug", value_enum)]
    bugs: Vec<Bug>,
    /// Milliseconds between two reads of a PENDING payout.
    #[arg(long, default_value_t = 1000)]
    poll_every_ms: u64,
    /// Items per page when reconciling.
    #[arg(long, default_value_t = 2)]
    page_size: u32,
}

#[derive(Clone, Copy, ValueEnum)]
enum Bug {
    NewKeyOnRetry,
    AmountAsNumber,
    FirstPageOnly,
}

#[derive(Args)]
struct ReceiveArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0: an ephemeral one; the URLs are printed at start).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// The key the provider signs this receiver's events with.
    #[arg(long, env = "RAFIKI_WEBHOOK_SIGNING_KEY", hide_env_values = true)]
    signing_key: String,
    /// Seconds a signature's timestamp may be from this machine's clock.
    #[arg(long, default_value_t = rafiki_client::webhooks::DEFAULT_TOLERANCE.as_secs())]
    tolerance: u64,
    /// A planted bug to switch on (repeatable).
    #[arg(long = "bug", value_enum)]
    bugs: Vec<ReceiverBug>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReceiverBug {
    NoSignatureCheck,
    NoTimestampCheck,
    DuplicateAppliedTwice,
    StaleEventApplied,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Receive(args)) => receive(args).await,
        None => job(cli.job).await,
    }
}

async fn job(args: JobArgs) -> anyhow::Result<()> {
    let mut bugs = Bugs::default();
    for bug in args.bugs {
        match bug {
            Bug::NewKeyOnRetry => bugs.new_key_on_retry = true,
            Bug::AmountAsNumber => bugs.amount_as_number = true,
            Bug::FirstPageOnly => bugs.first_page_only = true,
        }
    }
    let config = Config {
        base_url: args.base_url,
        api_key: args.api_key,
        bugs,
        poll_every: Duration::from_millis(args.poll_every_ms),
        page_size: args.page_size,
    };
    let outcome = payout_app::run(&config).await?;
    println!(
        "payout-app: {} accepted ({}), {} refused, {} reconciled today",
        outcome.accepted.len(),
        outcome.states.join(", "),
        outcome.refused.len(),
        outcome.reconciled
    );
    for refusal in &outcome.refused {
        println!("payout-app: refused: {refusal}");
    }
    Ok(())
}

async fn receive(args: ReceiveArgs) -> anyhow::Result<()> {
    let mut config = ReceiverConfig::new(SigningKey::new(args.signing_key)?);
    config.tolerance = Duration::from_secs(args.tolerance);
    for bug in args.bugs {
        let bugs: &mut ReceiverBugs = &mut config.bugs;
        match bug {
            ReceiverBug::NoSignatureCheck => bugs.no_signature_check = true,
            ReceiverBug::NoTimestampCheck => bugs.no_timestamp_check = true,
            ReceiverBug::DuplicateAppliedTwice => bugs.duplicate_applied_twice = true,
            ReceiverBug::StaleEventApplied => bugs.stale_event_applied = true,
        }
    }
    let receiver = Receiver::start(config, SocketAddr::new(args.host, args.port)).await?;
    println!(
        "payout-app: receiving webhooks at {}; payouts shown at {}",
        receiver.webhook_url(),
        receiver.view_template()
    );
    receiver.wait().await?;
    Ok(())
}
