//! Fixtures shared by the mock's integration tests: a server on an
//! ephemeral port with a manual clock and two accounts, typed requests, the
//! typed client of the control API (`rafiki_client::sandbox`), and raw HTTP
//! helpers for hostile input.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use rafiki_client::sandbox::{self, types as control};
use rafiki_client::{RafikiClient, RetryPolicy, types};
use rafiki_mock::{Config, ManualClock, MockHandle, WalletSeed};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// The main account's key.
pub const KEY: &str = "sk_test_mock_suite_alpha";
/// Another account.
pub const OTHER_KEY: &str = "sk_test_mock_suite_beta_";
/// The processing delay of test servers.
pub const DELAY: Duration = Duration::from_millis(300);

/// A running mock, its clock, and clients for [`KEY`]: the API's, the
/// control API's, and plain HTTP.
pub struct Env {
    pub mock: MockHandle,
    pub clock: Arc<ManualClock>,
    pub client: RafikiClient,
    pub control: sandbox::Client,
    pub http: reqwest::Client,
}

/// What a typed control call answers: the body, or progenitor's error
/// (`.status()` gives the HTTP status of an error answer).
pub type Control<T> = Result<T, sandbox::Error<control::Error>>;

/// Two accounts, each with one KES wallet of `balance`, a manual clock.
pub async fn start_with_balance(balance: &str) -> Env {
    start_configured(balance, |_| {}).await
}

/// [`start_with_balance`], with `change` applied to the configuration last.
pub async fn start_configured(balance: &str, change: impl FnOnce(&mut Config)) -> Env {
    let clock = Arc::new(ManualClock::new("2026-01-31T09:30:00Z".parse().unwrap()));
    let wallet = WalletSeed {
        currency: "KES".into(),
        balance: balance.parse().unwrap(),
    };
    let mut config = Config::with_keys([KEY, OTHER_KEY], &[wallet]).manual_clock(clock.clone());
    config.processing_delay = DELAY;
    config.panic_route = true;
    change(&mut config);
    let mock = rafiki_mock::spawn(config).await.expect("mock starts");
    let client = client(&mock, KEY);
    let control = control_client(&mock, KEY);
    Env {
        clock,
        client,
        control,
        http: reqwest::Client::new(),
        mock,
    }
}

/// [`start_with_balance`] with 10,000,000.00 KES.
pub async fn start() -> Env {
    start_with_balance("10000000.00").await
}

/// A client that never retries (tests observe every answer).
pub fn client(mock: &MockHandle, key: &str) -> RafikiClient {
    RafikiClient::builder(mock.base_url(), key)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The server's root: `base_url` without `/v1`, where `/_sandbox` lives.
pub fn root(mock: &MockHandle) -> String {
    mock.base_url().trim_end_matches("/v1").to_owned()
}

/// A typed control-API client for `key`'s account.
pub fn control_client(mock: &MockHandle, key: &str) -> sandbox::Client {
    sandbox::connect(&root(mock), key).unwrap()
}

/// A transition to `state`, without a failure context.
pub fn to(state: control::PayoutStateCode) -> control::TransitionRequest {
    control::TransitionRequest {
        to: state,
        context: None,
    }
}

/// The status and `code` of a control call that must have been refused
/// with a documented error.
pub fn refusal<T: std::fmt::Debug>(answer: Control<T>) -> (u16, String) {
    match answer {
        Err(sandbox::Error::ErrorResponse(body)) => {
            (body.status().as_u16(), body.code.as_str().to_owned())
        }
        other => panic!("expected a documented error answer, got {other:?}"),
    }
}

/// The keys of a 422's `errors.fields`, sorted.
pub fn error_fields(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body["errors"]["fields"]
        .as_object()
        .map(|fields| fields.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// A valid KE payout body to a SAFARICOM number.
pub fn payout_json(number: &str, amount: &str) -> Value {
    json!({
        "amount": {"value": amount, "currency": "KES"},
        "payment_account": {
            "type": "MOBILE_MONEY",
            "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": "Achieng Otieno"},
            "mobile_money": {"number": number, "operator": "SAFARICOM"}
        },
        "sender": {
            "type": "BUSINESS",
            "name": "Duka Supplies Ltd",
            "address": {"line_1": "12 Moi Avenue", "city": "Nairobi", "postal_code": "00100", "country": "KE"}
        }
    })
}

/// The same body, typed for the client.
pub fn payout_request(number: &str, amount: &str) -> types::PayoutCreateRequest {
    serde_json::from_value(payout_json(number, amount)).unwrap()
}

pub fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

impl Env {
    /// `base_url` without `/v1`: where `/_sandbox` lives.
    pub fn root(&self) -> String {
        root(&self.mock)
    }

    /// Creates a payout through the typed client with a fresh key.
    pub async fn create(&self, number: &str, amount: &str) -> types::Payout {
        self.client
            .create_payout(&payout_request(number, amount), None)
            .await
            .expect("payout accepted")
            .payout
    }

    /// The payout as GET answers it now.
    pub async fn fetch(&self, id: &types::PayoutId) -> types::Payout {
        self.client
            .get_payout(id.as_str())
            .await
            .expect("payout found")
    }

    /// The only wallet of the main account.
    pub async fn wallet(&self) -> types::Wallet {
        self.client.list_wallets().await.unwrap().remove(0)
    }

    /// `(balance, available)` of that wallet.
    pub async fn balances(&self) -> (Decimal, Decimal) {
        let wallet = self.wallet().await;
        (wallet.balance, wallet.available)
    }

    /// A raw request with the main key; answers status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let request = self
            .http
            .request(method, format!("{}{path}", self.root()))
            .bearer_auth(KEY);
        send_json(request, body).await
    }

    /// `POST /v1/payouts` with a raw JSON body and the idempotency key
    /// `key`; answers status and JSON body.
    pub async fn post_payout(&self, body: &Value, key: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/payouts", self.mock.base_url()))
            .bearer_auth(KEY)
            .header("X-Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// `GET {path}` under `/v1` with the main key; status and JSON body.
    pub async fn get_v1(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, &format!("/v1{path}"), None)
            .await
    }

    /// `POST /_sandbox/wallets/{id}/fund` with `{"amount": amount}`,
    /// through the typed control client: the wallet after funding.
    pub async fn fund(&self, wallet_id: &str, amount: &str) -> Control<control::Wallet> {
        let amount = amount.parse().expect("a fund amount the spec allows");
        let answer = self
            .control
            .sandbox_fund_wallet()
            .id(wallet_id)
            .body(control::FundRequest { amount })
            .send()
            .await;
        answer.map(|wallet| wallet.into_inner().data)
    }

    /// `POST /_sandbox/payouts/{id}/transition`, through the typed control
    /// client: the payout in its new state.
    pub async fn transition(
        &self,
        id: &str,
        request: control::TransitionRequest,
    ) -> Control<control::Payout> {
        let answer = self
            .control
            .sandbox_transition_payout()
            .id(id)
            .body(request)
            .send()
            .await;
        answer.map(|payout| payout.into_inner().data)
    }
}

/// A fault rule in the flag grammar (`create_payout=503@30%`), as the
/// control API's typed JSON.
pub fn typed_rule(flag: &str) -> control::FaultRule {
    let rule: rafiki_mock::FaultRule = flag.parse().unwrap();
    let (kind, status, retry_after_seconds, latency_ms) = match rule.fault() {
        rafiki_mock::Fault::Answer {
            status,
            retry_after,
        } => (
            control::FaultRuleKind::Status,
            Some(i64::from(status.status().as_u16()).try_into().unwrap()),
            retry_after,
            None,
        ),
        rafiki_mock::Fault::Latency(wait) => (
            control::FaultRuleKind::Latency,
            None,
            None,
            Some(u32::try_from(wait.as_millis()).unwrap()),
        ),
        rafiki_mock::Fault::DropAfterHandling => {
            (control::FaultRuleKind::DropAfterHandling, None, None, None)
        }
    };
    control::FaultRule {
        operation: rule.scope().to_string().parse().unwrap(),
        kind,
        status,
        retry_after_seconds,
        latency_ms,
        share: Some(rule.share().fraction()),
        times: rule.times(),
        flag: None,
        injected: None,
    }
}

impl Env {
    /// `PUT /_sandbox/faults` with `seed` and `flags` (the flag grammar),
    /// through the typed control client: the plan in force.
    pub async fn put_faults(&self, seed: u64, flags: &[&str]) -> control::FaultPlan {
        let plan = control::FaultPlan {
            seed: Some(seed),
            rules: flags.iter().map(|flag| typed_rule(flag)).collect(),
        };
        self.control
            .sandbox_replace_faults()
            .body(plan)
            .send()
            .await
            .expect("the plan is accepted")
            .into_inner()
    }

    /// `GET /_sandbox/requests` with the query `query` (raw, e.g.
    /// `method=POST&limit=2`): status and JSON body.
    pub async fn journal(&self, query: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::GET,
            &format!("/_sandbox/requests?{query}"),
            None,
        )
        .await
    }
}

/// Collects everything logged (a `tracing_subscriber` writer).
#[derive(Clone, Default)]
pub struct Captured(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// The `rafiki-mock` binary, started by [`run_binary`]; killed (SIGKILL:
/// no chance to flush anything) when dropped.
pub struct Running {
    pub child: std::process::Child,
    pub base_url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with `args` (plus `--port 0`, logs at `warn`) and
/// reads the base URL it prints.
pub fn run_binary<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Running {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_rafiki-mock"))
        .args(["--port", "0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base_url = line
        .trim()
        .strip_prefix("rafiki-mock serving ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    Running { child, base_url }
}

/// How long [`wait_until`] waits for what happens in the background
/// (webhook attempts are made after the answer that caused them).
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `read` until `done` holds, at most [`PATIENCE`]; answers what it
/// read last.
pub async fn wait_until<T: std::fmt::Debug, F: std::future::Future<Output = T>>(
    read: impl Fn() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let value = read().await;
        if done(&value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {value:?} after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends `request` with `body` (as JSON, if any); answers the status and
/// the JSON body (`null` for an empty one; a body that is not JSON panics,
/// naming it).
pub async fn send_json(mut request: reqwest::RequestBuilder, body: Option<Value>) -> (u16, Value) {
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    if bytes.is_empty() {
        return (status, Value::Null);
    }
    (
        status,
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes))),
    )
}
