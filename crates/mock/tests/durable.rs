//! `--state FILE`: nothing acknowledged is lost. A crash (SIGKILL) at 20
//! points of a load of concurrent creates loses no acknowledged payout and
//! duplicates none; a restart settles what fell due meanwhile and resumes
//! webhook deliveries; a file the mock cannot use is refused in one line,
//! exit code 2, untouched; a snapshot moves an account's state between
//! mocks.

mod common;

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{Running, run_binary};
use hmac::{Hmac, Mac};
use rafiki_mock::{Config, ManualClock, MockHandle, WalletSeed};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;

const BIN: &str = env!("CARGO_BIN_EXE_rafiki-mock");
const KEY: &str = "sk_test_rafiki_durable_suite";
const INITIAL: &str = "1000000000.00";
/// Long enough that nothing settles during a test that does not ask it to.
const NEVER_MS: &str = "3600000";

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// A payout body whose sender is named after its idempotency key, so a
/// list tells which key each payout came from.
fn payout(key: &str, amount: &str, number: &str) -> Value {
    json!({
        "amount": {"value": amount, "currency": "KES"},
        "payment_account": {"type": "MOBILE_MONEY", "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": "Achieng Otieno"},
            "mobile_money": {"number": number, "operator": "SAFARICOM"}},
        "sender": {"type": "BUSINESS", "name": key,
            "address": {"line_1": "12 Moi Avenue", "city": "Nairobi", "postal_code": "00100", "country": "KE"}}
    })
}

/// The binary on `state`, SIGKILLed when dropped.
impl Running {
    fn start(state: &Path) -> Running {
        let wallet = format!("KES:{INITIAL}");
        let flags = [
            "--api-key",
            KEY,
            "--delay-ms",
            NEVER_MS,
            "--wallet",
            &wallet,
        ];
        let flags = flags.iter().map(OsStr::new);
        run_binary(flags.chain([OsStr::new("--state"), state.as_os_str()]))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A payout a client was told was accepted (202).
#[derive(Clone, Debug)]
struct Acked {
    key: String,
    id: String,
    amount: Decimal,
    body: Value,
}

/// A create whose answer never came (the connection died).
#[derive(Clone, Debug)]
struct Unanswered {
    key: String,
    amount: Decimal,
    body: Value,
}

/// POST /payouts; `Err` when no answer came.
async fn create(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    body: &Value,
) -> Result<(u16, Value), reqwest::Error> {
    let response = http
        .post(format!("{base}/payouts"))
        .bearer_auth(KEY)
        .header("X-Idempotency-Key", key)
        .json(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = http.get(url).bearer_auth(KEY).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// One client: creates payouts under keys of its own until the mock stops
/// answering.
async fn client_load(
    http: reqwest::Client,
    base: String,
    name: String,
    stop: Arc<AtomicBool>,
) -> (Vec<Acked>, Option<Unanswered>) {
    let mut acked = Vec::new();
    for n in 0u32.. {
        if stop.load(Ordering::Relaxed) {
            return (acked, None);
        }
        let key = format!("{name}-{n}");
        let amount = format!("{}.{:02}", 150 + n % 50, n % 100);
        let body = payout(&key, &amount, "+254712345678");
        match create(&http, &base, &key, &body).await {
            Ok((202, answer)) => acked.push(Acked {
                id: answer["data"]["id"].as_str().unwrap().to_owned(),
                key,
                amount: dec(&amount),
                body,
            }),
            Ok((status, answer)) => panic!("{key}: {status} {answer}"),
            Err(_) => {
                return (
                    acked,
                    Some(Unanswered {
                        key,
                        amount: dec(&amount),
                        body,
                    }),
                );
            }
        }
    }
    unreachable!()
}

/// Every payout of the account, following `next`.
async fn all_payouts(http: &reqwest::Client, base: &str) -> Vec<Value> {
    let mut url = format!("{base}/payouts?paging_limit=50");
    let mut all = Vec::new();
    loop {
        let (status, page) = get(http, &url).await;
        assert_eq!(status, 200, "{page}");
        all.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["meta"]["paging"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return all,
        }
    }
}

/// The account's only wallet: (balance, available).
async fn wallet(http: &reqwest::Client, base: &str) -> (Decimal, Decimal) {
    let (_, wallets) = get(http, &format!("{base}/wallets")).await;
    let wallet = &wallets["data"][0];
    (
        dec(wallet["balance"].as_str().unwrap()),
        dec(wallet["available"].as_str().unwrap()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_point_loses_no_acknowledged_payout_and_duplicates_none() {
    const ROUNDS: u64 = 20;
    const CLIENTS: usize = 6;
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut mock = Running::start(&file);
    let mut acked: Vec<Acked> = Vec::new();
    let mut replays = 0usize;
    let mut figures = Vec::new();
    for round in 0..ROUNDS {
        // 20 kill points, evenly spaced from 5 ms to 200 ms.
        let kill_after = Duration::from_micros(5_000 + round * 195_000 / (ROUNDS - 1));
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                tokio::spawn(client_load(
                    http.clone(),
                    mock.base_url.clone(),
                    format!("r{round}-c{c}"),
                    stop.clone(),
                ))
            })
            .collect();
        // The kill point itself: a wait on purpose, not a poll.
        tokio::time::sleep(kill_after).await;
        drop(mock); // SIGKILL
        stop.store(true, Ordering::Relaxed);
        let mut this_round = Vec::new();
        let mut unanswered = Vec::new();
        for client in clients {
            let (done, lost) = client.await.unwrap();
            this_round.extend(done);
            unanswered.extend(lost);
        }
        let answered = this_round.len();

        mock = Running::start(&file);
        let base = mock.base_url.clone();
        // The clients retry what got no answer, under the same keys.
        for Unanswered { key, amount, body } in &unanswered {
            let (status, answer) = create(&http, &base, key, body).await.unwrap();
            assert_eq!(status, 202, "{key} retried: {answer}");
            this_round.push(Acked {
                id: answer["data"]["id"].as_str().unwrap().to_owned(),
                key: key.clone(),
                amount: *amount,
                body: body.clone(),
            });
        }
        // Every acknowledged payout is there, and its key replays it.
        for a in &this_round {
            let (status, found) = get(&http, &format!("{base}/payouts/{}", a.id)).await;
            assert_eq!(
                status, 200,
                "round {round}: {} ({}) lost: {found}",
                a.id, a.key
            );
            assert_eq!(
                dec(found["data"]["amount"]["value"].as_str().unwrap()),
                a.amount
            );
            let (status, replay) = create(&http, &base, &a.key, &a.body).await.unwrap();
            assert_eq!(
                (status, replay["data"]["id"].as_str()),
                (202, Some(a.id.as_str()))
            );
            replays += 1;
        }
        acked.extend(this_round);
        check_account(&http, &base, &acked).await;
        figures.push(format!(
            "round {round:>2}: killed after {:>5.1} ms, {answered:>3} acknowledged, {:>2} unanswered",
            kill_after.as_secs_f64() * 1e3,
            unanswered.len()
        ));
    }
    // At the end, every key ever acknowledged still replays its payout.
    let base = mock.base_url.clone();
    for a in &acked {
        let (status, replay) = create(&http, &base, &a.key, &a.body).await.unwrap();
        assert_eq!(
            (status, replay["data"]["id"].as_str()),
            (202, Some(a.id.as_str()))
        );
        replays += 1;
    }
    println!("{}", figures.join("\n"));
    println!(
        "crash test: {ROUNDS} kills, {} payouts acknowledged, {replays} replays checked, {:.1?}",
        acked.len(),
        started.elapsed()
    );
    assert!(
        figures
            .iter()
            .filter(|f| !f.ends_with(" 0 unanswered"))
            .count()
            > 0,
        "no kill caught a request in flight"
    );
}

/// The account holds exactly the acknowledged payouts, one per key, and
/// its wallet what they imply.
async fn check_account(http: &reqwest::Client, base: &str, acked: &[Acked]) {
    let listed = all_payouts(http, base).await;
    let mut per_key: HashMap<&str, usize> = HashMap::new();
    for payout in &listed {
        *per_key
            .entry(payout["sender"]["name"].as_str().unwrap())
            .or_default() += 1;
    }
    let twice: Vec<_> = per_key.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "payouts created twice: {twice:?}");
    let ids: HashSet<&str> = listed.iter().map(|p| p["id"].as_str().unwrap()).collect();
    let missing: Vec<_> = acked
        .iter()
        .filter(|a| !ids.contains(a.id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not listed: {missing:?}"
    );
    assert_eq!(listed.len(), acked.len(), "payouts nobody was told of");
    let spent: Decimal = acked.iter().map(|a| a.amount).sum();
    assert_eq!(
        wallet(http, base).await,
        (dec(INITIAL), dec(INITIAL) - spent),
        "(balance, available) after {} payouts",
        acked.len()
    );
}

/// The refusal of `state`: exit code and stderr.
fn refused(state: &Path) -> (i32, String) {
    let output = Command::new(BIN)
        .args(["--port", "0", "--api-key", KEY, "--state"])
        .arg(state)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn hash(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// Refused with one line on stderr naming the file and saying `why`, exit
/// code 2, the file's bytes unchanged.
fn assert_refused(state: &Path, why: &str) {
    let before = hash(state);
    let (code, stderr) = refused(state);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(why), "{stderr}");
    assert!(stderr.contains(state.to_str().unwrap()), "{stderr}");
    assert_eq!(hash(state), before, "{} changed", state.display());
}

/// A state file of a mock that created a few payouts, closed cleanly.
async fn state_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let mut config = config(Arc::new(ManualClock::starting_now()), &path);
    config.processing_delay = Duration::from_secs(3600);
    let mock = rafiki_mock::spawn(config).await.unwrap();
    let http = reqwest::Client::new();
    for n in 0..20 {
        let key = format!("seed-{n}");
        let (status, _) = create(
            &http,
            mock.base_url(),
            &key,
            &payout(&key, "150.00", "+254712345678"),
        )
        .await
        .unwrap();
        assert_eq!(status, 202);
    }
    mock.shutdown().await;
    path
}

#[tokio::test]
async fn a_file_it_cannot_use_is_refused_in_one_line_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database, just some notes\n".repeat(10)).unwrap();
    assert_refused(
        &text,
        "is not a rafiki-mock state file: it is not an SQLite database",
    );

    let other = dir.path().join("other-app.db");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hello');")
        .unwrap();
    drop(conn);
    assert_refused(&other, "an SQLite database of another application");

    let corrupt = state_file(dir.path(), "corrupt.db").await;
    let mut bytes = std::fs::read(&corrupt).unwrap();
    // Page 2 (4096-byte pages): the root page of the first table.
    bytes[4096..8192].fill(0xA5);
    std::fs::write(&corrupt, bytes).unwrap();
    assert_refused(&corrupt, "is corrupt");

    let newer = state_file(dir.path(), "newer.db").await;
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.pragma_update(None, "user_version", 2).unwrap();
    drop(conn);
    assert_refused(
        &newer,
        "was written by a newer rafiki-mock (schema version 2; this one reads up to 1)",
    );

    let held = state_file(dir.path(), "held.db").await;
    let running = Running::start(&held);
    assert_refused(
        &held,
        &format!("is in use by another rafiki-mock (pid {})", running.pid()),
    );
    // The first mock is unharmed.
    let http = reqwest::Client::new();
    assert_eq!(all_payouts(&http, &running.base_url).await.len(), 20);
}

/// An in-process configuration on `state` with `clock`: one KES wallet,
/// payouts due 300 ms after they are created.
fn config(clock: Arc<ManualClock>, state: &Path) -> Config {
    let wallet = WalletSeed {
        currency: "KES".into(),
        balance: dec(INITIAL),
    };
    let mut config = Config::with_keys([KEY], &[wallet]).manual_clock(clock);
    config.processing_delay = Duration::from_millis(300);
    config.state_file = Some(state.to_path_buf());
    config
}

/// One request a receiver got: its headers and body.
type Delivery = (HeaderMap, Bytes);

/// A webhook receiver that answers 500 to its first request, 200 after.
struct Receiver {
    url: String,
    received: watch::Receiver<Vec<Delivery>>,
}

async fn receiver() -> Receiver {
    let (sender, received) = watch::channel(Vec::new());
    let app = Router::new()
        .route("/webhooks", post(receive))
        .with_state(Arc::new(sender));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, received }
}

async fn receive(
    State(record): State<Arc<watch::Sender<Vec<Delivery>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut first = false;
    record.send_modify(|all| {
        first = all.is_empty();
        all.push((headers, body));
    });
    if first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

impl Receiver {
    async fn wait_for(&mut self, n: usize) -> Vec<Delivery> {
        let waited = tokio::time::timeout(
            Duration::from_secs(10),
            self.received.wait_for(|all| all.len() >= n),
        )
        .await
        .is_ok();
        let all = self.received.borrow().clone();
        assert!(waited, "{} deliveries, expected {n}", all.len());
        all
    }
}

/// Whether `body` is signed with `key` in `headers` (checked here, with
/// code of the test's own).
fn signed_with(headers: &HeaderMap, body: &[u8], key: &str) -> bool {
    let header = headers["x-rafiki-webhook-signature"].to_str().unwrap();
    let mut t = "";
    let mut v1 = Vec::new();
    for part in header.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("t", value)) => t = value,
            Some(("v1", value)) => v1.push(value),
            _ => {}
        }
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    v1.contains(&hex::encode(mac.finalize().into_bytes()).as_str())
}

async fn control(
    mock: &MockHandle,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let request = reqwest::Client::new()
        .request(method, format!("{}{path}", common::root(mock)))
        .bearer_auth(KEY);
    common::send_json(request, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_settles_what_fell_due_meanwhile_and_resumes_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    let clock = Arc::new(ManualClock::new("2026-01-31T09:30:00Z".parse().unwrap()));
    let mut receiver = receiver().await;
    let http = reqwest::Client::new();

    let mock = rafiki_mock::spawn(config(clock.clone(), &file))
        .await
        .unwrap();
    let (status, endpoint) = control(
        &mock,
        reqwest::Method::POST,
        "/_sandbox/webhooks",
        Some(json!({"url": receiver.url})),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");
    let key = endpoint["signing_key"].as_str().unwrap().to_owned();
    let body = payout("settle-me", "2500.00", "+254712345678");
    let (status, created) = create(&http, mock.base_url(), "settle-me", &body)
        .await
        .unwrap();
    assert_eq!(status, 202);
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    // The PENDING event's first attempt gets a 500: a retry is due 1 s later.
    let first = receiver.wait_for(1).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, journal) = control(
            &mock,
            reqwest::Method::GET,
            "/_sandbox/webhooks/deliveries",
            None,
        )
        .await;
        if journal["data"][0]["outcome"] == "retry_scheduled" {
            break;
        }
        assert!(Instant::now() < deadline, "{journal}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    mock.shutdown().await;

    // Down past the payout's settle time and the retry's due time.
    clock.advance(Duration::from_secs(2));
    let mock = rafiki_mock::spawn(config(clock.clone(), &file))
        .await
        .unwrap();
    let (_, endpoints) = control(&mock, reqwest::Method::GET, "/_sandbox/webhooks", None).await;
    assert_eq!(endpoints["data"][0]["id"], endpoint["id"]);
    assert_eq!(endpoints["data"][0]["signing_key"], key.as_str());
    let (_, before) = get(&http, &format!("{}/payouts/{id}", mock.base_url())).await;
    assert_eq!(before["data"]["state"]["code"], "PENDING");
    assert_eq!(mock.run_due(), 1, "the payout due while the mock was down");
    let (_, after) = get(&http, &format!("{}/payouts/{id}", mock.base_url())).await;
    assert_eq!(after["data"]["state"]["code"], "SENT", "{after}");
    assert!(after["data"]["receipt"].is_string());
    let balance = dec(INITIAL) - dec("2500.00");
    assert_eq!(wallet(&http, mock.base_url()).await, (balance, balance));
    // The PENDING event again (same id and bytes, same key), then SENT's.
    let all = receiver.wait_for(3).await;
    let retried = all.iter().skip(1).find(|(_, b)| *b == first[0].1);
    let (headers, bytes) = retried.expect("the PENDING event delivered again after the restart");
    assert!(signed_with(headers, bytes, &key));
    let sent = all.iter().skip(1).find(|(_, b)| *b != first[0].1).unwrap();
    let event: Value = serde_json::from_slice(&sent.1).unwrap();
    assert_eq!(event["data"]["state"]["code"], "SENT");
    assert!(signed_with(&sent.0, &sent.1, &key));
    // The stored answer replays byte for byte (the PENDING one).
    let (status, replay) = create(&http, mock.base_url(), "settle-me", &body)
        .await
        .unwrap();
    assert_eq!((status, &replay), (202, &created));
    mock.shutdown().await;
}

/// What a client sees of an account: wallets, payment accounts, every
/// payout by list and by id.
async fn seen(mock: &MockHandle) -> Vec<Value> {
    let http = reqwest::Client::new();
    let base = mock.base_url();
    let mut seen = vec![
        get(&http, &format!("{base}/wallets")).await.1,
        get(&http, &format!("{base}/payment-accounts?paging_limit=50"))
            .await
            .1,
    ];
    let payouts = all_payouts(&http, base).await;
    for payout in &payouts {
        seen.push(
            get(
                &http,
                &format!("{base}/payouts/{}", payout["id"].as_str().unwrap()),
            )
            .await
            .1,
        );
    }
    seen.push(Value::Array(payouts));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_exported_and_imported_elsewhere_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let start: chrono::DateTime<chrono::Utc> = "2026-01-31T09:30:00Z".parse().unwrap();
    let http = reqwest::Client::new();
    // The source: in memory. SENT, FAILED and PENDING payouts, and a 422
    // stored for replay.
    let mut source_config = config(
        Arc::new(ManualClock::new(start)),
        &dir.path().join("unused"),
    );
    source_config.state_file = None;
    let source = rafiki_mock::spawn(source_config).await.unwrap();
    let base = source.base_url().to_owned();
    for (key, number) in [("sent", "+254712345678"), ("failed", "+254712000104")] {
        let (status, _) = create(&http, &base, key, &payout(key, "150.00", number))
            .await
            .unwrap();
        assert_eq!(status, 202);
    }
    source.advance(Duration::from_secs(1));
    let (status, _) = create(
        &http,
        &base,
        "pending",
        &payout("pending", "0150.50", "+254712345679"),
    )
    .await
    .unwrap();
    assert_eq!(status, 422, "strict amounts refuse leading zeros");
    let (status, _) = create(
        &http,
        &base,
        "pending2",
        &payout("pending2", "150.50", "+254712345679"),
    )
    .await
    .unwrap();
    assert_eq!(status, 202);
    let (status, _) = create(
        &http,
        &base,
        "big",
        &payout("big", "500000.00", "+254712345670"),
    )
    .await
    .unwrap();
    assert_eq!(status, 202);
    let (_, account) = get(&http, &format!("{base}/payment-accounts?paging_limit=1")).await;
    assert!(account["data"][0]["id"].is_string());
    let (status, _) = control(
        &source,
        reqwest::Method::PUT,
        "/_sandbox/snapshot",
        Some(json!([])),
    )
    .await;
    assert_eq!(status, 422);
    let (status, snapshot) =
        control(&source, reqwest::Method::GET, "/_sandbox/snapshot", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        snapshot["payouts"].as_array().unwrap().len(),
        4,
        "{snapshot}"
    );
    assert_eq!(snapshot["idempotency"].as_array().unwrap().len(), 5);

    // The target: on a file, with a wallet of its own, replaced whole.
    let file = dir.path().join("target.db");
    let target = rafiki_mock::spawn(config(Arc::new(ManualClock::new(start)), &file))
        .await
        .unwrap();
    let (status, imported) = control(
        &target,
        reqwest::Method::PUT,
        "/_sandbox/snapshot",
        Some(snapshot.clone()),
    )
    .await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported, snapshot);
    assert_eq!(seen(&target).await, seen(&source).await);
    // Stored answers replay on the target as on the source, byte for byte.
    for key in ["sent", "failed", "pending", "pending2"] {
        let body = payout(
            key,
            if key == "pending" {
                "0150.50"
            } else {
                "150.50"
            },
            "+254712345679",
        );
        let on_source = http
            .post(format!("{base}/payouts"))
            .bearer_auth(KEY)
            .header("X-Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let on_target = http
            .post(format!("{}/payouts", target.base_url()))
            .bearer_auth(KEY)
            .header("X-Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(on_source.status(), on_target.status(), "{key}");
        assert_eq!(
            on_source.bytes().await.unwrap(),
            on_target.bytes().await.unwrap(),
            "{key}"
        );
    }
    // A bad snapshot changes nothing and names the problem.
    let mut bad = snapshot.clone();
    bad["payouts"][0]["wallet_id"] = json!("wlt-nope");
    let (status, refusal) = control(
        &target,
        reqwest::Method::PUT,
        "/_sandbox/snapshot",
        Some(bad),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refusal["errors"]["fields"]["payouts[0].wallet_id"].is_array(),
        "{refusal}"
    );
    // The import is on disk: a restart answers the same.
    let before = seen(&target).await;
    target.shutdown().await;
    let target = rafiki_mock::spawn(config(Arc::new(ManualClock::new(start)), &file))
        .await
        .unwrap();
    assert_eq!(seen(&target).await, before);
    // And its PENDING payouts settle there.
    assert_eq!(target.advance(Duration::from_secs(2)), 2);
    source.shutdown().await;
    target.shutdown().await;
}

/// How many payouts a file-backed mock accepted in a burst, and that all
/// of them are there after a clean restart (the writer's queue is flushed
/// on shutdown).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_share_commits_and_all_survive_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    let clock = Arc::new(ManualClock::new("2026-01-31T09:30:00Z".parse().unwrap()));
    let mock = rafiki_mock::spawn(config(clock.clone(), &file))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (http, base, next) = (http.clone(), mock.base_url().to_owned(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= 400 {
                        break;
                    }
                    let key = format!("burst-{n}");
                    let (status, _) =
                        create(&http, &base, &key, &payout(&key, "150.00", "+254712345678"))
                            .await
                            .unwrap();
                    assert_eq!(status, 202);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    mock.shutdown().await;
    let mock = rafiki_mock::spawn(config(clock, &file)).await.unwrap();
    assert_eq!(all_payouts(&http, mock.base_url()).await.len(), 400);
    let spent = dec("150.00") * Decimal::from(400);
    assert_eq!(
        wallet(&http, mock.base_url()).await,
        (dec(INITIAL), dec(INITIAL) - spent)
    );
    mock.shutdown().await;
}

/// Every kind of change a client can make is there after a restart:
/// funding, a support transition, a payment account, a webhook endpoint
/// added and one deleted, a reset and what follows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_change_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    let clock = Arc::new(ManualClock::new("2026-01-31T09:30:00Z".parse().unwrap()));
    let http = reqwest::Client::new();
    let restart = |mock: MockHandle| {
        let (clock, file) = (clock.clone(), file.clone());
        async move {
            mock.shutdown().await;
            rafiki_mock::spawn(config(clock, &file)).await.unwrap()
        }
    };
    let mock = rafiki_mock::spawn(config(clock.clone(), &file))
        .await
        .unwrap();
    let (_, wallets) = get(&http, &format!("{}/wallets", mock.base_url())).await;
    let wallet_id = wallets["data"][0]["id"].as_str().unwrap().to_owned();

    let (status, _) = control(
        &mock,
        reqwest::Method::POST,
        &format!("/_sandbox/wallets/{wallet_id}/fund"),
        Some(json!({"amount": "100.00"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, created) = create(
        &http,
        mock.base_url(),
        "cancel-me",
        &payout("cancel-me", "150.00", "+254712345678"),
    )
    .await
    .unwrap();
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (status, _) = control(
        &mock,
        reqwest::Method::POST,
        &format!("/_sandbox/payouts/{id}/transition"),
        Some(json!({"to": "CANCELLED"})),
    )
    .await;
    assert_eq!(status, 200);
    let account = json!({"type": "BANK_ACCOUNT", "country": "KE", "holder": {"type": "BUSINESS", "name": "Duka Ltd"},
        "bank_account": {"bank_id": "bnk-2WLXb8bP6sS7QRvA6AFGp7NhGs7", "number": "0123456789"}});
    let response = http
        .post(format!("{}/payment-accounts", mock.base_url()))
        .bearer_auth(KEY)
        .json(&account)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let (_, kept) = control(
        &mock,
        reqwest::Method::POST,
        "/_sandbox/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/kept"})),
    )
    .await;
    let (_, gone) = control(
        &mock,
        reqwest::Method::POST,
        "/_sandbox/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/gone"})),
    )
    .await;
    let (status, _) = control(
        &mock,
        reqwest::Method::DELETE,
        &format!("/_sandbox/webhooks/{}", gone["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 204);

    let mock = restart(mock).await;
    let funded = dec(INITIAL) + dec("100.00");
    assert_eq!(
        wallet(&http, mock.base_url()).await,
        (funded, funded),
        "funded, the payout's reservation released"
    );
    let (_, payout_now) = get(&http, &format!("{}/payouts/{id}", mock.base_url())).await;
    assert_eq!(payout_now["data"]["state"]["code"], "CANCELLED");
    let response = http
        .post(format!("{}/payment-accounts", mock.base_url()))
        .bearer_auth(KEY)
        .json(&account)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the payment account is known: get, not create"
    );
    let (_, endpoints) = control(&mock, reqwest::Method::GET, "/_sandbox/webhooks", None).await;
    assert_eq!(endpoints["data"], json!([kept]));

    let (status, _) = control(&mock, reqwest::Method::POST, "/_sandbox/reset", None).await;
    assert_eq!(status, 200);
    let mock = restart(mock).await;
    assert_eq!(
        wallet(&http, mock.base_url()).await,
        (dec(INITIAL), dec(INITIAL)),
        "the seeded balance"
    );
    let (_, wallets_now) = get(&http, &format!("{}/wallets", mock.base_url())).await;
    assert_eq!(
        wallets_now["data"][0]["id"],
        wallet_id.as_str(),
        "same wallet id"
    );
    assert!(all_payouts(&http, mock.base_url()).await.is_empty());
    let (status, again) = create(
        &http,
        mock.base_url(),
        "cancel-me",
        &payout("cancel-me", "150.00", "+254712345678"),
    )
    .await
    .unwrap();
    assert_eq!(status, 202);
    assert_ne!(
        again["data"]["id"], created["data"]["id"],
        "the key was forgotten by the reset"
    );
    mock.shutdown().await;
}

/// `--webhook-url` endpoints keep their id and key across a restart while
/// configured, and go when the configuration no longer names them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_endpoints_stay_while_configured() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    let clock = Arc::new(ManualClock::new("2026-01-31T09:30:00Z".parse().unwrap()));
    let with_endpoint = || {
        config(clock.clone(), &file).with_webhook(rafiki_mock::WebhookEndpoint::new(
            "http://127.0.0.1:9/configured".parse().unwrap(),
            None,
        ))
    };
    let mock = rafiki_mock::spawn(with_endpoint()).await.unwrap();
    let (_, first) = control(&mock, reqwest::Method::GET, "/_sandbox/webhooks", None).await;
    mock.shutdown().await;
    let mock = rafiki_mock::spawn(with_endpoint()).await.unwrap();
    let (_, second) = control(&mock, reqwest::Method::GET, "/_sandbox/webhooks", None).await;
    assert_eq!(second, first, "same id, same generated key");
    mock.shutdown().await;
    let mock = rafiki_mock::spawn(config(clock.clone(), &file))
        .await
        .unwrap();
    let (_, third) = control(&mock, reqwest::Method::GET, "/_sandbox/webhooks", None).await;
    assert_eq!(third["data"], json!([]));
    mock.shutdown().await;
}
