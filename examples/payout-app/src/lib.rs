//! An integrator's payout job, written the way an application in any
//! language talks to the API: plain HTTP and JSON (not `rafiki-client`,
//! whose types would not let two of the bugs below be written). Its
//! webhook receiver, with bugs of its own, is [`receiver`].
//!
//! The job pays two salaries and a bonus (10 % of the first salary),
//! retries what may be transient, polls each accepted payout until it has
//! an outcome, and reconciles by listing the day's payouts.
//!
//! Three classic bugs can be switched on ([`Bugs`]); `rafiki-contract
//! proxy` reports each of them once, and nothing when they are off:
//! - `new_key_on_retry`: a retry gets a fresh idempotency key, so an
//!   attempt that went through unseen becomes a second payout;
//! - `amount_as_number`: the bonus, computed in floating point, is sent as
//!   a JSON number instead of a decimal string;
//! - `first_page_only`: reconciliation reads the first page of the list and
//!   stops, missing the rest.

pub mod receiver;

use std::time::Duration;

use anyhow::{Context, bail};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

/// The planted bugs; all off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    pub new_key_on_retry: bool,
    pub amount_as_number: bool,
    pub first_page_only: bool,
}

impl Bugs {
    /// Every bug on.
    pub fn all() -> Self {
        Bugs {
            new_key_on_retry: true,
            amount_as_number: true,
            first_page_only: true,
        }
    }
}

/// How the job runs.
#[derive(Clone)]
pub struct Config {
    /// The API's base URL, `/v1` included.
    pub base_url: String,
    pub api_key: String,
    pub bugs: Bugs,
    /// The wait between two reads of a PENDING payout.
    pub poll_every: Duration,
    /// Items per page when reconciling.
    pub page_size: u32,
}

/// What the job did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Accepted payouts' ids.
    pub accepted: Vec<String>,
    /// Payouts the API refused, with its answer.
    pub refused: Vec<String>,
    /// Each accepted payout's final state (or PENDING when polling gave up).
    pub states: Vec<String>,
    /// Payouts the reconciliation found for today.
    pub reconciled: usize,
}

/// Attempts per payout, the first included.
const ATTEMPTS: u32 = 4;
/// Reads of one payout before polling gives up.
const POLLS: u32 = 100;

/// Runs the job once.
pub async fn run(config: &Config) -> anyhow::Result<Outcome> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let api = Api { http, config };
    let wallets = api.get("/wallets").await?;
    let has_kes = wallets["data"]
        .as_array()
        .is_some_and(|w| w.iter().any(|w| w["currency"] == "KES"));
    if !has_kes {
        bail!("no KES wallet to pay from");
    }
    let mut outcome = Outcome::default();
    let salaries = [
        ("Wanjiku Kamau", "+254712345678", Decimal::new(150_000, 2)),
        ("Otieno Ouma", "+254723456789", Decimal::new(230_000, 2)),
    ];
    let bonus = salaries[0].2 * Decimal::new(10, 2);
    let mut payouts: Vec<Value> = salaries
        .iter()
        .map(|(name, number, amount)| payout(name, number, json!(amount.to_string())))
        .collect();
    let bonus_value = match config.bugs.amount_as_number {
        true => json!(bonus.to_f64().unwrap_or_default()),
        false => json!(format!("{bonus:.2}")),
    };
    payouts.push(payout(salaries[0].0, salaries[0].1, bonus_value));
    for body in &payouts {
        match api.create_payout(body).await? {
            Ok(id) => outcome.accepted.push(id),
            Err(refusal) => outcome.refused.push(refusal),
        }
    }
    for id in &outcome.accepted {
        outcome.states.push(api.wait_for_outcome(id).await?);
    }
    outcome.reconciled = api.reconcile_today().await?;
    Ok(outcome)
}

struct Api<'c> {
    http: reqwest::Client,
    config: &'c Config,
}

impl Api<'_> {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.config.base_url);
        let response = self
            .http
            .get(&url)
            .bearer_auth(&self.config.api_key)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .with_context(|| format!("GET {path}"))?;
        if !status.is_success() {
            bail!("GET {path}: HTTP {status} {body}");
        }
        Ok(body)
    }

    /// Sends a payout, retrying what may be transient. `Ok(Err(_))`: the
    /// API refused it.
    async fn create_payout(&self, body: &Value) -> anyhow::Result<Result<String, String>> {
        let mut key = uuid::Uuid::new_v4().to_string();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
                if self.config.bugs.new_key_on_retry {
                    key = uuid::Uuid::new_v4().to_string();
                }
            }
            let sent = self
                .http
                .post(format!("{}/payouts", self.config.base_url))
                .bearer_auth(&self.config.api_key)
                .header("X-Idempotency-Key", &key)
                .json(body)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                // No answer: it may or may not have gone through.
                Err(_) => continue,
            };
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            match status {
                202 => {
                    let id = answer["data"]["id"].as_str().context("a payout id")?;
                    return Ok(Ok(id.to_string()));
                }
                409 if answer["code"] == "IDEMPOTENCY_RACE" => continue,
                429 | 500.. => continue,
                _ => return Ok(Err(format!("HTTP {status} {answer}"))),
            }
        }
        bail!("a payout was not accepted after {ATTEMPTS} attempts")
    }

    /// Reads a payout until it leaves PENDING.
    async fn wait_for_outcome(&self, id: &str) -> anyhow::Result<String> {
        for _ in 0..POLLS {
            let payout = self.get(&format!("/payouts/{id}")).await?;
            let state = payout["data"]["state"]["code"].as_str().unwrap_or_default();
            if state != "PENDING" {
                return Ok(state.to_string());
            }
            tokio::time::sleep(self.config.poll_every).await;
        }
        Ok("PENDING".to_string())
    }

    /// Counts today's payouts, page after page.
    async fn reconcile_today(&self) -> anyhow::Result<usize> {
        let today = chrono::Utc::now().format("%Y-%m-%d");
        let first = format!(
            "/payouts?created_at_from={today}&paging_limit={}",
            self.config.page_size
        );
        let mut page = self.get(&first).await?;
        let mut count = 0;
        loop {
            count += page["data"].as_array().map_or(0, Vec::len);
            let after = page
                .pointer("/meta/paging/cursors/after")
                .and_then(Value::as_str);
            match after {
                Some(after) if !self.config.bugs.first_page_only => {
                    page = self.get(&format!("{first}&paging_after={after}")).await?;
                }
                _ => return Ok(count),
            }
        }
    }
}

/// A payout of `value` KES to a Safaricom wallet, from the company. The
/// sender carries a date of birth (its director's) although it is a
/// business: one row of the provider's Kenya table requires one of every
/// sender, the next of individuals only, and a payout valid by both rows is
/// accepted whichever the server follows.
fn payout(name: &str, number: &str, value: Value) -> Value {
    json!({
        "amount": {"value": value, "currency": "KES"},
        "payment_account": {
            "type": "MOBILE_MONEY", "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": name},
            "mobile_money": {"operator": "SAFARICOM", "number": number},
        },
        "sender": {
            "type": "BUSINESS", "name": "Duka Payroll Ltd",
            "address": {"line_1": "1 Moi Avenue", "city": "Nairobi", "postal_code": "00100", "country": "KE"},
            "individual": {"dob": "1979-06-15"},
        },
    })
}
