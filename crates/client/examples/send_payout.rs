//! Sends one payout to a Kenyan mobile-money number and polls it until it
//! settles. Runs against any server that speaks the API:
//!
//! ```sh
//! RAFIKI_API_KEY=... cargo run -p rafiki-client --example send_payout -- \
//!     --base-url https://rest.sandbox.rafiki-api.com/v1 --amount 1500 --number +254712345678
//! ```

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use rafiki_client::{ApiKey, PollOptions, RafikiClient, SANDBOX_URL, WaitFor, types};
use serde_json::json;

#[derive(Parser)]
#[command(about = "Send one payout and wait for its outcome")]
struct Args {
    /// The API's base URL, including `/v1`.
    #[arg(long, env = "RAFIKI_BASE_URL", default_value = SANDBOX_URL)]
    base_url: String,
    /// The API key (better given through the environment).
    #[arg(long, env = "RAFIKI_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Amount in KES, as a decimal (e.g. 1500 or 1500.50).
    #[arg(long, default_value = "1500")]
    amount: String,
    /// The recipient's M-PESA number, E.164.
    #[arg(long, default_value = "+254712345678")]
    number: String,
    /// Reuse an idempotency key (e.g. to resume after a crash).
    #[arg(long)]
    idempotency_key: Option<String>,
    /// Give up polling after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match send(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn send(args: Args) -> Result<()> {
    let client = RafikiClient::new(&args.base_url, ApiKey::new(args.api_key))?;
    let request: types::PayoutCreateRequest = serde_json::from_value(json!({
        "amount": {"value": args.amount, "currency": "KES"},
        "payment_account": {
            "type": "MOBILE_MONEY", "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": "Achieng Otieno"},
            "mobile_money": {"number": args.number, "operator": "SAFARICOM"}
        },
        "sender": {
            "type": "BUSINESS", "name": "Duka Supplies Ltd",
            "address": {"line_1": "12 Moi Avenue", "city": "Nairobi", "postal_code": "00100", "country": "KE"}
        }
    }))
    .context("the payout request does not fit the spec (check --amount and --number)")?;

    let created = client
        .create_payout(&request, args.idempotency_key.as_deref())
        .await?;
    println!(
        "accepted {} (idempotency key {}, {} attempt(s))",
        created.payout.id.as_str(),
        created.idempotency_key,
        created.attempts
    );
    let options = PollOptions {
        until: WaitFor::Settled,
        timeout: Duration::from_secs(args.timeout_secs),
        ..Default::default()
    };
    let payout = client
        .wait_for_final_state(&created.payout.id, &options)
        .await?;
    match &payout.state.context {
        Some(context) => println!(
            "{} is {} ({})",
            payout.id.as_str(),
            payout.state.code,
            context.as_str()
        ),
        None => println!("{} is {}", payout.id.as_str(), payout.state.code),
    }
    if let Some(receipt) = &payout.receipt {
        println!("receipt: {}", receipt.as_str());
    }
    Ok(())
}
