//! `payout-app`: runs the payout job once (see the library).
//!
//! ```sh
//! cargo run -p rafiki-mock -- --port 8080 &
//! cargo run -p rafiki-contract -- proxy --upstream http://127.0.0.1:8080/v1 --port 8081 \
//!     -- cargo run -p payout-app -- --bug amount-as-number
//! ```

use std::time::Duration;

use clap::{Parser, ValueEnum};
use payout_app::{Bugs, Config};

/// Pays two salaries and a bonus, waits for the outcomes, reconciles the day.
#[derive(Parser)]
#[command(name = "payout-app")]
struct Args {
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
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
