//! The `rafiki-mock` binary's flags for the legal variations, the
//! compliance table, faults, the journal, the rate limit and webhooks:
//! started on an ephemeral port, driven over HTTP, stopped.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Running, run_binary};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_rafiki-mock");
const KEY: &str = "sk_test_rafiki_mock";

/// Starts the binary with `args` (plus `--port 0`) and reads the base URL
/// it prints.
fn run(args: &[&str]) -> Running {
    run_binary(args)
}

/// The binary's exit status and stderr for `args` (which must stop it).
fn refused(args: &[&str]) -> (i32, String) {
    let output = Command::new(BIN)
        .args(["--port", "0"])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A file removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!("rafiki-mock-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn payout(amount: &str) -> Value {
    json!({
        "amount": {"value": amount, "currency": "KES"},
        "payment_account": {"type": "MOBILE_MONEY", "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": "Achieng Otieno"},
            "mobile_money": {"number": "+254712345678", "operator": "SAFARICOM"}},
        "sender": {"type": "BUSINESS", "name": "Duka Supplies Ltd",
            "address": {"line_1": "12 Moi Avenue", "city": "Nairobi", "postal_code": "00100", "country": "KE"}}
    })
}

async fn post(http: &reqwest::Client, base_url: &str, body: &Value, key: &str) -> (u16, Value) {
    let response = http
        .post(format!("{base_url}/payouts"))
        .bearer_auth(KEY)
        .header("X-Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = http.get(url).bearer_auth(KEY).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn flags_select_the_variations_and_the_compliance_table() {
    let table = TempFile::new(
        "wide.yaml",
        "countries:\n  KE:\n    name: Kenya\n    limits:\n      - {currency: KES, min: \"140\", max: \"600000\"}\n    mobile_money_operators: [SAFARICOM]\n",
    );
    let mock = run(&[
        "--variant",
        "autonomous_support",
        "--lenient-amounts",
        "--default-page-size",
        "3",
        "--compliance",
        table.path(),
    ]);
    let http = reqwest::Client::new();
    let root = mock.base_url.trim_end_matches("/v1");
    let (status, body) = get(&http, &format!("{root}/_sandbox/health")).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--no-control-api"),
        "{body}"
    );
    let (status, body) = post(&http, &mock.base_url, &payout("550000.00"), "wide").await;
    assert_eq!(status, 202, "the file's limit: {body}");
    let (status, body) = post(&http, &mock.base_url, &payout("0150"), "lenient").await;
    assert_eq!(
        (status, body["data"]["amount"]["value"].as_str()),
        (202, Some("0150"))
    );
    for i in 0..2 {
        post(
            &http,
            &mock.base_url,
            &payout("150.00"),
            &format!("more-{i}"),
        )
        .await;
    }
    let (status, page) = get(&http, &format!("{}/payouts", mock.base_url)).await;
    assert_eq!(status, 200);
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    assert!(
        page["meta"]["paging"]["next"]
            .as_str()
            .unwrap()
            .contains("paging_limit=3")
    );
}

#[tokio::test]
async fn flags_set_the_faults_and_the_journal() {
    let mock = run(&[
        "--fault",
        "list_wallets=503+retry-after=1#1",
        "--fault",
        "*=latency:1ms",
        "--fault-seed",
        "3",
        "--journal-capacity",
        "2",
    ]);
    let http = reqwest::Client::new();
    let wallets = format!("{}/wallets", mock.base_url);
    let response = http.get(&wallets).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(get(&http, &wallets).await.0, 200, "the rule is spent");
    let root = mock.base_url.trim_end_matches("/v1");
    let (_, plan) = get(&http, &format!("{root}/_sandbox/faults")).await;
    assert_eq!(plan["seed"], 3);
    let flags: Vec<&Value> = plan["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["flag"])
        .collect();
    assert_eq!(
        flags,
        [
            &json!("list_wallets=503+retry-after=1@100%#1"),
            &json!("*=latency:1ms@100%")
        ]
    );
    get(&http, &wallets).await;
    let (_, journal) = get(&http, &format!("{root}/_sandbox/requests")).await;
    assert_eq!(
        journal["meta"],
        json!({"capacity": 2, "total": 3, "dropped": 1, "matched": 2})
    );
}

#[tokio::test]
async fn flags_set_the_webhook_endpoints_and_their_faults() {
    // Nothing listens on port 9 (discard): every attempt is refused.
    let url = "http://127.0.0.1:9/webhooks";
    let mock = run(&[
        "--webhook-url",
        url,
        "--webhook-signing-key",
        "whsk_test_local",
        "--webhook-fault",
        "duplicate#1",
    ]);
    let http = reqwest::Client::new();
    let root = mock.base_url.trim_end_matches("/v1").to_owned();
    let (_, endpoints) = get(&http, &format!("{root}/_sandbox/webhooks")).await;
    assert_eq!(endpoints["data"][0]["url"], url);
    assert_eq!(endpoints["data"][0]["signing_key"], "whsk_test_local");
    let (status, _) = post(&http, &mock.base_url, &payout("150.00"), KEY).await;
    assert_eq!(status, 202);
    // The first attempt and its copy, both refused (bounded wait).
    let deliveries = format!("{root}/_sandbox/webhooks/deliveries");
    let mut journal = Value::Null;
    for _ in 0..500 {
        journal = get(&http, &deliveries).await.1;
        if journal["data"].as_array().is_some_and(|d| d.len() >= 2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let copies: Vec<&Value> = journal["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["attempt"] == 1)
        .map(|e| &e["copy"])
        .collect();
    assert_eq!(copies, [&json!(false), &json!(true)], "{journal}");
    assert_eq!(journal["data"][0]["faults"][0]["fault"], "duplicate");
    assert!(journal["data"][0]["error"].is_string(), "{journal}");
}

#[tokio::test]
async fn the_rate_limit_flag_refuses_a_burst_past_it() {
    let mock = run(&["--rate-limit-per-key", "2"]);
    let http = reqwest::Client::new();
    let wallets = format!("{}/wallets", mock.base_url);
    let burst = (0..10).map(|_| http.get(&wallets).bearer_auth(KEY).send());
    let statuses: Vec<u16> = futures::future::join_all(burst)
        .await
        .into_iter()
        .map(|response| response.unwrap().status().as_u16())
        .collect();
    let served = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        served >= 2 && refused >= 1 && served + refused == 10,
        "{statuses:?}"
    );
}

/// A start-up problem is one line on stderr, with the fix, and exit 2:
/// no backtrace even under `RUST_BACKTRACE=1`, no cause said twice.
#[test]
fn start_up_problems_are_one_line_with_the_fix() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let busy_addr = format!("cannot listen on 127.0.0.1:{port}: ");
    let missing = "/nonexistent/rafiki-compliance.yaml";
    let unreadable = format!("cannot read the compliance table {missing}: ");
    let cases: [(&[&str], &[&str]); 2] = [
        (
            &["--port", &port],
            &[&busy_addr, "address in use", "pass --port 0"],
        ),
        (
            &["--port", "0", "--compliance", missing],
            &[&unreadable, "no such file", "leave it out"],
        ),
    ];
    for (args, parts) in cases {
        let output = Command::new(BIN)
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: nothing served");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line, not\n{stderr}");
        let line = lines[0];
        assert!(line.starts_with("rafiki-mock: "), "{line}");
        for part in parts {
            assert_eq!(line.matches(part).count(), 1, "{part:?} once in {line}");
        }
        for repeat in ["Stack backtrace", "Caused by", "os error"] {
            assert!(!line.contains(repeat), "{line}");
        }
    }
    drop(busy);
}

#[test]
fn bad_flags_stop_the_binary_with_a_reason() {
    let (code, stderr) = refused(&["--compliance", "/nonexistent/rafiki-compliance.yaml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("compliance"), "{stderr}");
    let broken = TempFile::new("broken.yaml", "countries: {}\n");
    let (code, stderr) = refused(&["--compliance", broken.path()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("compliance entry `countries`: must list at least one country"),
        "{stderr}"
    );
    let (code, stderr) = refused(&[
        "--api-key",
        "sk_test_rafiki_twice",
        "--api-key",
        "sk_test_rafiki_twice",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("configured twice"), "{stderr}");
    assert!(
        !stderr.contains("sk_test_rafiki_twice"),
        "the key is redacted: {stderr}"
    );
    let (code, stderr) = refused(&["--default-page-size", "51"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, stderr) = refused(&["--rate-limit-per-key", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--rate-limit-per-key"), "{stderr}");
    let (code, stderr) = refused(&["--variant", "nope"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("page_size_7"), "{stderr}");
    for (fault, reason) in [
        ("create_payout=404", "unknown fault `404`"),
        ("list_banks=409", "create_payout only"),
        ("create_payout=503@300%", "share `300%`"),
        ("payouts=503", "unknown operation `payouts`"),
    ] {
        let (code, stderr) = refused(&["--fault", fault]);
        assert_eq!(code, 2, "{fault}: {stderr}");
        assert!(stderr.contains(reason), "{fault}: {stderr}");
    }
    for (args, reason) in [
        (
            &["--webhook-url", "https://example.com/x"][..],
            "not an http:// URL",
        ),
        (
            &["--webhook-fault", "twice"],
            "unknown webhook fault `twice`",
        ),
        (&["--webhook-fault", "delay:2x"], "delay `2x`"),
        (&["--webhook-signing-key", "whsk_x"], "--webhook-url"),
    ] {
        let (code, stderr) = refused(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}
