//! `rafiki-contract proxy` as a library: traffic goes through unchanged
//! (headers, bodies, a dropped connection), and each finding follows from
//! the exchange that shows it, on the application's side and the server's;
//! and as the binary: it refuses an upstream that is not the API, and a
//! session that judged nothing fails with one line saying why.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use rafiki_contract::Report;
use rafiki_contract::{Proxy, ProxyConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "sk_test_proxy_key_0001";

/// What the API answers `GET /v1/wallets` without a key: the proxy asks
/// it before it starts.
async fn unauthorized() -> axum::response::Response {
    let body = json!({"code": "UNAUTHORIZED", "message": "Bearer <key> is required."});
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

/// `app`, answering the proxy's first request as the API does.
fn api(app: Router) -> Router {
    app.route("/v1/wallets", get(unauthorized))
}

/// Serves `app` on an ephemeral port; its base URL (`/v1`).
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A proxy in front of `upstream`, and the findings it told, as lines.
async fn proxy(config: ProxyConfig) -> (Proxy, Arc<Mutex<Vec<String>>>) {
    let told = Arc::new(Mutex::new(Vec::new()));
    let sink = told.clone();
    let proxy = Proxy::start(
        config,
        Box::new(move |f| {
            let line = format!(
                "{} {}: {}; expected {}",
                f.warning, f.check, f.actual, f.expected
            );
            sink.lock().unwrap().push(line);
        }),
    )
    .await
    .unwrap();
    (proxy, told)
}

fn counts(report: &Report, check: &str) -> (u64, u64, u64) {
    let c = report.check(check).unwrap();
    (c.passed, c.failed, c.warned)
}

/// What the recording upstream saw of one request.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: Method,
    uri: Uri,
    headers: Vec<(String, Vec<u8>)>,
    body: Bytes,
}

fn pairs(headers: &HeaderMap) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect()
}

/// Records every request and answers with an unusual, fixed answer:
/// repeated headers, a fixed Date, a body that is not UTF-8.
async fn recording_upstream() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = api(Router::new()).fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(Seen {
                    method,
                    uri,
                    headers: pairs(&headers),
                    body,
                });
                let mut response =
                    (StatusCode::IM_A_TEAPOT, vec![0xff_u8, 0, b'{', 0xfe]).into_response();
                let h = response.headers_mut();
                h.insert("date", "Mon, 01 Jan 2024 00:00:00 GMT".parse().unwrap());
                h.insert(
                    "content-type",
                    "application/x-odd; charset=latin1".parse().unwrap(),
                );
                h.append("x-multi", "first".parse().unwrap());
                h.append("x-multi", "second, with comma".parse().unwrap());
                h.insert("set-cookie", "a=b; Path=/".parse().unwrap());
                response
            }
        },
    );
    (serve(app).await, seen)
}

async fn send(client: &reqwest::Client, base_url: &str) -> (u16, Vec<(String, Vec<u8>)>, Bytes) {
    let response = client
        .post(format!(
            "{base_url}/payouts/odd%2Fpath?b=2&a=1&a=%20x+y&empty="
        ))
        .header("authorization", format!("Bearer {KEY}"))
        .header("x-idempotency-key", "k-1")
        .header("x-repeated", "one")
        .header("x-repeated", "two")
        .header("content-type", "text/plain; charset=utf-8")
        .header("accept-language", "sw-KE")
        .body(vec![0x00_u8, 0xff, b'a', b'\n'])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = pairs(response.headers());
    (status, headers, response.bytes().await.unwrap())
}

#[tokio::test]
async fn requests_and_answers_pass_through_unchanged() {
    let (upstream, seen) = recording_upstream().await;
    let (proxy, _) = proxy(ProxyConfig::new(&upstream)).await;
    let client = reqwest::Client::new();
    let direct = send(&client, &upstream).await;
    let proxied = send(&client, proxy.base_url()).await;
    assert_eq!(proxied, direct, "the answer, proxied and direct");
    assert_eq!(proxied.2.as_ref(), [0xff, 0, b'{', 0xfe]);
    let seen = seen.lock().unwrap().clone();
    let [direct, proxied] = [&seen[0], &seen[1]];
    let without_host = |s: &Seen| -> Vec<(String, Vec<u8>)> {
        s.headers
            .iter()
            .filter(|(n, _)| n != "host")
            .cloned()
            .collect()
    };
    assert_eq!(proxied.method, direct.method);
    assert_eq!(proxied.uri, direct.uri, "path and query byte for byte");
    assert_eq!(without_host(proxied), without_host(direct), "headers");
    assert_eq!(proxied.body, direct.body);
    let host = |s: &Seen| {
        s.headers
            .iter()
            .find(|(n, _)| n == "host")
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(host(proxied), host(direct), "Host names the upstream");
    proxy.finish().await;
}

/// What `unauthorized` answers, on the wire, closing the connection.
fn unauthorized_on_the_wire() -> Vec<u8> {
    let body = r#"{"code":"UNAUTHORIZED","message":"A key, please."}"#;
    format!(
        "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn an_upstream_that_drops_the_connection_gets_it_dropped() {
    // Answers the proxy's first request as the API; then reads a request
    // and closes without a byte of answer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let read = stream.read(&mut buffer).await.unwrap_or(0);
            if buffer[..read].starts_with(b"GET /v1/wallets ") {
                let _ = stream.write_all(&unauthorized_on_the_wire()).await;
            }
        }
    });
    let (proxy, _) = proxy(ProxyConfig::new(&upstream)).await;
    let mut app = tokio::net::TcpStream::connect(proxy.addr()).await.unwrap();
    app.write_all(b"GET /v1/banks HTTP/1.1\r\nhost: x\r\nauthorization: Bearer k\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), app.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection is closed");
    assert!(
        answer.is_empty(),
        "no answer is invented: {:?}",
        String::from_utf8_lossy(&answer)
    );
    let report = proxy.finish().await;
    assert_eq!(report.requests, 1);
    // A lost connection is nobody's finding; but the session, which saw
    // no answer at all, judged nothing.
    let render = report.render();
    assert_eq!(report.totals().failed, 1, "{render}");
    let traffic = report.check("traffic_judged").unwrap();
    assert_eq!(traffic.failed, 1, "{render}");
    assert!(
        traffic.failures[0]
            .actual
            .contains("answered none of the 1 request(s)"),
        "{render}"
    );
}

/// A payout body the documented contract accepts, for `value`.
fn payout(value: Value) -> Value {
    let mut body = rafiki_contract::fixture_payout(0);
    body["amount"]["value"] = value;
    body
}

struct App {
    http: reqwest::Client,
    base_url: String,
}

impl App {
    /// An application whose base URL is `proxy`'s.
    fn through(proxy: &Proxy) -> App {
        App {
            http: reqwest::Client::new(),
            base_url: proxy.base_url().to_string(),
        }
    }

    async fn post(&self, body: &Value, key: Option<&str>) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/payouts", self.base_url))
            .bearer_auth(KEY)
            .json(body);
        if let Some(key) = key {
            request = request.header("x-idempotency-key", key);
        }
        request.send().await.unwrap()
    }

    /// Posts `body` under `key`, which must be accepted: the payout's id.
    async fn accepted(&self, body: &Value, key: &str) -> String {
        let response = self.post(body, Some(key)).await;
        assert_eq!(response.status(), 202, "{key}");
        let answer: Value = response.json().await.unwrap();
        answer["data"]["id"].as_str().unwrap().to_string()
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }
}

#[tokio::test]
async fn the_application_is_judged_by_what_it_sends() {
    let mut config = mock_config();
    config.processing_delay = Duration::from_secs(600);
    // The first create gets a 500: whether it was made is unknown.
    config.faults = rafiki_mock::FaultPlan::new(0).with("create_payout=500#1".parse().unwrap());
    let mock = rafiki_mock::spawn(config).await.unwrap();
    let mut proxy_config = ProxyConfig::new(mock.base_url());
    proxy_config.poll_floor = Duration::from_secs(60);
    let (proxy, told) = proxy(proxy_config).await;
    let app = App::through(&proxy);

    // After a 500, the same payout under a new key: the duplicate-payout bug.
    assert_eq!(
        app.post(&payout(json!("170.00")), Some("key-0"))
            .await
            .status(),
        500
    );
    app.post(&payout(json!("170.00")), Some("key-0b")).await;
    let id = app.accepted(&payout(json!("150.00")), "key-1").await;
    // The same payout again under its own key: a safe retry.
    assert_eq!(
        app.post(&payout(json!("150.00")), Some("key-1"))
            .await
            .status(),
        202
    );
    // The same payout under a new key after it was accepted: maybe meant
    // (a warning); then the first again under its own key (a retry).
    app.post(&payout(json!("150.00")), Some("key-2")).await;
    app.post(&payout(json!("150.00")), Some("key-1")).await;
    // A payout the application saw CANCELLED, sent again under a new key:
    // a new attempt, not a duplicate.
    let cancelled = app.accepted(&payout(json!("180.00")), "key-8").await;
    let root = mock.base_url().trim_end_matches("/v1").to_string();
    let moved = app
        .http
        .post(format!("{root}/_sandbox/payouts/{cancelled}/transition"))
        .bearer_auth(KEY)
        .json(&json!({"to": "CANCELLED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let seen = app.get(&format!("/payouts/{cancelled}")).await;
    assert_eq!(seen["data"]["state"]["code"], "CANCELLED");
    app.post(&payout(json!("180.00")), Some("key-9")).await;
    // No key; an amount as a number; a missing sender; a blank city (ours only).
    app.post(&payout(json!("200.00")), None).await;
    app.post(&payout(json!(250.5)), Some("key-3")).await;
    let mut no_sender = payout(json!("300.00"));
    no_sender.as_object_mut().unwrap().remove("sender");
    app.post(&no_sender, Some("key-4")).await;
    let mut blank_city = payout(json!("310.00"));
    blank_city["sender"]["address"]["city"] = json!("  ");
    app.post(&blank_city, Some("key-5")).await;
    // A business sender without a date of birth: valid as the mock reads
    // the Kenya table, refused by its other row: a warning.
    let mut business = payout(json!("320.00"));
    business["sender"]["type"] = json!("BUSINESS");
    business["sender"]
        .as_object_mut()
        .unwrap()
        .remove("individual");
    assert_eq!(app.post(&business, Some("key-6")).await.status(), 202);
    // Three quick reads of a PENDING payout: one finding.
    for _ in 0..3 {
        app.get(&format!("/payouts/{id}")).await;
    }
    // A date-filtered list read one page only, twice: one finding; the
    // same list by another filter read to the end: a pass.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    for _ in 0..2 {
        app.get(&format!("/payouts?created_at_from={today}&paging_limit=1"))
            .await;
    }
    let mut page = app
        .get("/payouts?created_at_to=2999-01-01&paging_limit=2")
        .await;
    while let Some(after) = page
        .pointer("/meta/paging/cursors/after")
        .and_then(Value::as_str)
    {
        page = app
            .get(&format!(
                "/payouts?created_at_to=2999-01-01&paging_limit=2&paging_after={after}"
            ))
            .await;
    }
    let report = proxy.finish().await;
    let render = report.render();

    assert_eq!(
        counts(&report, "app_retry_same_key"),
        (10, 1, 1),
        "{render}"
    );
    assert_eq!(counts(&report, "app_idempotency_key").1, 1, "{render}");
    assert_eq!(counts(&report, "app_amounts_as_strings").1, 1, "{render}");
    // The number is the amounts check's finding, not app_request_valid's
    // too; the missing sender fails; the blank city and the business
    // without a date of birth only warn.
    assert_eq!(counts(&report, "app_request_valid"), (10, 1, 2), "{render}");
    // Both floors are ours: warnings.
    assert_eq!(counts(&report, "app_polling_floor").2, 1, "{render}");
    assert_eq!(counts(&report, "app_pages_complete"), (1, 0, 1), "{render}");
    assert_eq!(counts(&report, "idempotency_replay"), (2, 0, 0), "{render}");
    assert_eq!(report.totals().failed, 4, "{render}");
    assert_eq!(
        counts(&report, "app_authorization").1,
        0,
        "every request had its Bearer key: {render}"
    );
    assert_eq!(counts(&report, "traffic_judged"), (1, 0, 0), "{render}");
    let told = told.lock().unwrap().join("\n");
    for (check, shows) in [
        ("app_retry_same_key", "`key-0` (answered 500"),
        ("app_retry_same_key", "new key `key-0b`"),
        ("app_amounts_as_strings", "as the JSON number 250.5;"),
        ("app_request_valid", "sent no `sender`; expected"),
        ("app_request_valid", "(`sender`: is required)"),
        (
            "app_request_valid",
            "sent `sender.address.city` \"  \"; expected",
        ),
        (
            "app_request_valid",
            "sent no `sender.individual.dob`; expected (stricter than documented) a payout every reading of the documentation accepts",
        ),
        ("app_polling_floor", &id),
        ("app_pages_complete", "created_at_from="),
    ] {
        assert!(
            told.lines().any(|l| l.contains(check) && l.contains(shows)),
            "{check} told with {shows}:\n{told}"
        );
    }
    mock.shutdown().await;
}

/// After a create whose outcome it could not know, an application that
/// reads the payout list and finds no such payout, then sends it again
/// under a new key, is warned (the first may still complete); where the
/// list shows the payout made, the new key is still the duplicate-payout
/// bug.
#[tokio::test]
async fn a_list_read_showing_no_payout_reconciles_an_unknown_outcome() {
    // (the fault on the first create, whether it was made, the verdicts
    // on the payout sent again under a new key after the list read)
    for (fault, made, verdicts) in [
        ("create_payout=500#1", false, (2, 0, 1)),
        ("create_payout=drop-after-handling#1", true, (2, 1, 0)),
    ] {
        let mut config = mock_config();
        config.faults = rafiki_mock::FaultPlan::new(0).with(fault.parse().unwrap());
        let mock = rafiki_mock::spawn(config).await.unwrap();
        let (proxy, _) = proxy(ProxyConfig::new(mock.base_url())).await;
        let app = App::through(&proxy);
        let first = app
            .http
            .post(format!("{}/payouts", app.base_url))
            .bearer_auth(KEY)
            .header("x-idempotency-key", "unknown")
            .json(&payout(json!("170.00")))
            .send()
            .await;
        assert!(first.is_err() || first.unwrap().status() == 500, "{fault}");
        // Another payout meanwhile: the list shows it either way.
        app.accepted(&payout(json!("140.00")), "other").await;
        let page = app.get("/payouts").await;
        let listed = page["data"].as_array().unwrap().len();
        assert_eq!(listed, if made { 2 } else { 1 }, "{fault}: {page}");
        app.post(&payout(json!("170.00")), Some("after-looking"))
            .await;
        let report = proxy.finish().await;
        assert_eq!(
            counts(&report, "app_retry_same_key"),
            verdicts,
            "{fault}: {}",
            report.render()
        );
        mock.shutdown().await;
    }
}

/// A bank account at a bank the application was listed with branches,
/// sent without `branch_id`: the default mock takes it, one reading of the
/// provider's document refuses it, so the proxy warns; with the branch it
/// passes.
#[tokio::test]
async fn a_bank_account_without_the_branch_its_bank_has_warns() {
    let config = mock_config();
    let mock = rafiki_mock::spawn(config).await.unwrap();
    let (proxy, told) = proxy(ProxyConfig::new(mock.base_url())).await;
    let app = App::through(&proxy);
    let banks = app.get("/banks").await;
    let bank = banks["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|bank| bank["branches"].is_array())
        .unwrap();
    let mut account = json!({"type": "BANK_ACCOUNT", "country": "KE",
        "holder": {"type": "BUSINESS", "name": "Duka Ltd"},
        "bank_account": {"bank_id": bank["id"], "number": "0123456789"}});
    let post = |account: Value| {
        app.http
            .post(format!("{}/payment-accounts", app.base_url))
            .bearer_auth(KEY)
            .json(&account)
            .send()
    };
    assert_eq!(post(account.clone()).await.unwrap().status(), 201);
    account["bank_account"]["branch_id"] = bank["branches"][0]["id"].clone();
    assert_eq!(post(account).await.unwrap().status(), 201);
    let report = proxy.finish().await;
    assert_eq!(
        counts(&report, "app_request_valid"),
        (1, 0, 1),
        "{}",
        report.render()
    );
    let told = told.lock().unwrap().join("\n");
    assert!(
        told.contains("no `bank_account.branch_id`") && told.contains("name one of them"),
        "{told}"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn the_server_is_judged_across_reads_and_replays() {
    // Reads a payout SENT, then PENDING; makes a new payout for every POST.
    let reads = Arc::new(Mutex::new(0));
    let app = api(Router::new())
        .route(
            "/v1/payouts/{id}",
            axum::routing::get(move || {
                let reads = reads.clone();
                async move {
                    let mut reads = reads.lock().unwrap();
                    *reads += 1;
                    let state = if *reads == 1 { "SENT" } else { "PENDING" };
                    axum::Json(payout_answer("pyt-1", state))
                }
            }),
        )
        .route(
            "/v1/payouts",
            axum::routing::post(|| async {
                let id = format!("pyt-{}", uuid::Uuid::new_v4().simple());
                (
                    StatusCode::ACCEPTED,
                    axum::Json(payout_answer(&id, "PENDING")),
                )
            }),
        );
    let upstream = serve(app).await;
    let (proxy, _) = proxy(ProxyConfig::new(&upstream)).await;
    let app = App::through(&proxy);
    app.get("/payouts/pyt-1").await;
    app.get("/payouts/pyt-1").await;
    let body = payout(json!("150.00"));
    app.post(&body, Some("same")).await;
    app.post(&body, Some("same")).await;
    let report = proxy.finish().await;
    let render = report.render();
    assert_eq!(counts(&report, "lifecycle_legal").1, 1, "{render}");
    assert!(render.contains("read SENT and then PENDING"), "{render}");
    assert_eq!(counts(&report, "idempotency_replay").1, 1, "{render}");
}

/// A payout as a server answers it.
fn payout_answer(id: &str, state: &str) -> Value {
    json!({"data": {"id": id, "amount": {"value": "150.00", "currency": "KES"},
        "payment_account_id": "pac-1", "wallet_id": "wlt-1", "state": {"code": state},
        "created_at": "2026-01-01T00:00:00Z"}})
}

#[tokio::test]
async fn keys_never_reach_findings_reports_or_the_record() {
    // A server that echoes the key it was given.
    let app = api(Router::new()).fallback(|headers: HeaderMap| async move {
        let key = headers["authorization"].to_str().unwrap().to_string();
        let body = json!({"code": "UNAUTHORIZED", "message": format!("unknown key {key}")});
        (StatusCode::BAD_GATEWAY, axum::Json(body)).into_response()
    });
    let upstream = serve(app).await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("exchanges.jsonl");
    let mut config = ProxyConfig::new(&upstream);
    config.record = Some(record.clone());
    let (proxy, told) = proxy(config).await;
    let app = App::through(&proxy);
    app.post(&payout(json!("150.00")), Some("k")).await;
    let report = proxy.finish().await;
    assert!(report.failed(), "a 502 is not documented");
    let render = report.render();
    assert!(
        render.contains("a status documented for create_payout (202, 400, 401, "),
        "statuses as a person writes them:\n{render}"
    );
    let record = std::fs::read_to_string(&record).unwrap();
    assert!(record.contains("Bearer <redacted>"), "{record}");
    for (what, text) in [
        ("findings", told.lock().unwrap().join("\n")),
        ("render", report.render()),
        ("json", report.json()),
        ("junit", report.junit()),
        ("record", record),
    ] {
        assert!(!text.contains(KEY), "{what} shows the key:\n{text}");
    }
}

#[tokio::test]
async fn the_same_mistake_again_is_counted_but_told_once() {
    let mock = rafiki_mock::spawn(mock_config()).await.unwrap();
    let (proxy, told) = proxy(ProxyConfig::new(mock.base_url())).await;
    let app = App::through(&proxy);
    for n in 0..3 {
        app.post(&payout(json!(150 + n)), Some(&format!("k-{n}")))
            .await;
    }
    let report = proxy.finish().await;
    let amounts = report.check("app_amounts_as_strings").unwrap();
    assert_eq!(amounts.failed, 3, "{}", report.render());
    assert_eq!(amounts.failures.len(), 1, "one in detail");
    assert_eq!(told.lock().unwrap().len(), 1, "{:?}", told.lock().unwrap());
    mock.shutdown().await;
}

/// The binary with `args`, from an async test (the servers it talks to
/// run on the test's runtime meanwhile).
async fn binary(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::contract(&args)
    })
    .await
    .unwrap()
}

/// The one line on stderr.
fn stderr_line(output: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_string();
    assert_eq!(text.lines().count(), 1, "one clear line, got: {text}");
    text
}

/// The mock the application's traffic goes to: one account, `KEY`, with
/// the default KES wallet.
fn mock_config() -> rafiki_mock::Config {
    rafiki_mock::Config::with_keys([KEY], &[rafiki_mock::WalletSeed::default_kes()])
}

async fn mock() -> rafiki_mock::MockHandle {
    let mut config = mock_config();
    config.processing_delay = Duration::from_secs(600);
    rafiki_mock::spawn(config).await.unwrap()
}

#[tokio::test]
async fn an_upstream_without_its_version_is_refused_naming_the_fix() {
    let mock = mock().await;
    let without_version = mock.base_url().trim_end_matches("/v1").to_string();
    let output = binary(&[
        "proxy",
        "--upstream",
        &without_version,
        "--port",
        "0",
        "--",
        "true",
    ])
    .await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let line = stderr_line(&output);
    assert_eq!(
        line,
        format!(
            "rafiki-contract proxy: --upstream {without_version} does not look like the Rafiki payouts API: GET /wallets answered HTTP 404 (no such path): is /v1 missing from --upstream?"
        )
    );
    assert!(output.stdout.is_empty(), "nothing forwarded: {output:?}");
    mock.shutdown().await;
}

#[tokio::test]
async fn an_upstream_that_does_not_answer_is_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let upstream = format!("http://127.0.0.1:{port}/v1");
    let output = binary(&["proxy", "--upstream", &upstream, "--port", "0"]).await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let line = stderr_line(&output);
    assert!(
        line.starts_with(&format!(
            "rafiki-contract proxy: cannot reach --upstream {upstream}: "
        )),
        "{line}"
    );
    assert!(line.to_lowercase().contains("connection refused"), "{line}");
}

#[tokio::test]
async fn an_upstream_is_the_api_by_its_documented_answers_only() {
    // A rate limit is a pace, not a verdict: the proxy starts.
    let limited =
        serve(Router::new().fallback(|| async { (StatusCode::TOO_MANY_REQUESTS, "slow down") }))
            .await;
    let (proxy, _) = proxy(ProxyConfig::new(&limited)).await;
    proxy.finish().await;
    // A page that is not the API's: refused, saying what it answered.
    let page = serve(Router::new().fallback(|| async { "<html>hello</html>" })).await;
    let Err(error) = Proxy::start(ProxyConfig::new(&page), Box::new(|_| {})).await else {
        panic!("a proxy started in front of a web page");
    };
    assert_eq!(
        error.to_string(),
        format!(
            "--upstream {page} does not look like the Rafiki payouts API: GET /wallets answered HTTP 200 without a {{\"data\": [...]}} body or the error envelope"
        )
    );
}

#[tokio::test]
async fn a_session_that_judged_nothing_fails_with_one_line() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("proxy.json");
    let output = binary(&[
        "proxy",
        "--upstream",
        mock.base_url(),
        "--port",
        "0",
        "--json",
        json.to_str().unwrap(),
        "--",
        "true",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let told: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("rafiki-contract proxy: ✗"))
        .collect();
    assert_eq!(told.len(), 1, "{stdout}");
    let proxy_url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("rafiki-contract proxy: forwarding "))
        .and_then(|l| l.split(' ').next())
        .unwrap();
    assert!(
        told[0].starts_with(&format!(
            "rafiki-contract proxy: ✗ traffic_judged: no exchange was judged: the application sent no request through {proxy_url}; expected "
        )),
        "{stdout}"
    );
    assert!(
        told[0].contains(&format!(
            "is RAFIKI_PROXY_URL (or the application's base URL) set to {proxy_url}?"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed"), "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let traffic = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "traffic_judged")
        .unwrap();
    assert_eq!(traffic["failed"], 1, "{report}");
    mock.shutdown().await;
}

#[tokio::test]
async fn an_upstream_that_never_answered_fails_the_session_naming_it() {
    // Answers the proxy's first request as the API, then stops listening.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}/v1", listener.local_addr().unwrap());
    let (gone, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buffer = [0u8; 4096];
        let _ = stream.read(&mut buffer).await;
        stream.write_all(&unauthorized_on_the_wire()).await.unwrap();
        drop(listener);
        gone.send(()).unwrap();
    });
    let (proxy, told) = proxy(ProxyConfig::new(&upstream)).await;
    stopped.await.unwrap();
    let app = reqwest::Client::new();
    let answer = app
        .get(format!("{}/wallets", proxy.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 502);
    let report = proxy.finish().await;
    let render = report.render();
    let traffic = report.check("traffic_judged").unwrap();
    assert_eq!(traffic.failed, 1, "{render}");
    let actual = &traffic.failures[0].actual;
    assert!(
        actual.starts_with(&format!(
            "no exchange was judged: the upstream {upstream} answered none of the 1 request(s) to the API forwarded to it (the last: the upstream could not be reached ("
        )),
        "{render}"
    );
    assert!(
        told.lock().unwrap().iter().any(|l| l.contains(actual)),
        "told as found: {:?}",
        told.lock().unwrap()
    );
}

#[tokio::test]
async fn the_application_is_told_what_it_sent() {
    let mock = mock().await;
    let (proxy, told) = proxy(ProxyConfig::new(mock.base_url())).await;
    let base_url = proxy.base_url().to_string();
    let app = App {
        http: reqwest::Client::new(),
        base_url: base_url.clone(),
    };
    // An amount written as the JSON number 2500.00, as the application wrote it.
    let body = payout(json!("2500.00"))
        .to_string()
        .replace("\"2500.00\"", "2500.00");
    assert!(
        body.contains(":2500.00,") || body.contains(":2500.00}"),
        "{body}"
    );
    let number = app
        .http
        .post(format!("{base_url}/payouts"))
        .bearer_auth(KEY)
        .header("x-idempotency-key", "n-1")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(number.status(), 422);
    // The key alone, without its scheme.
    let bare = app
        .http
        .get(format!("{base_url}/wallets"))
        .header("authorization", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 401);
    // A base URL without /v1.
    let outside = app
        .http
        .post(format!("{}/payouts", base_url.trim_end_matches("/v1")))
        .bearer_auth(KEY)
        .header("x-idempotency-key", "o-1")
        .json(&payout(json!("150.00")))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 404);
    // Two payouts, then the first page of their list only, unfiltered.
    app.post(&payout(json!("151.00")), Some("p-1")).await;
    app.post(&payout(json!("152.00")), Some("p-2")).await;
    let page = app.get("/payouts?paging_limit=1").await;
    assert!(
        page.pointer("/meta/paging/cursors/after").is_some(),
        "{page}"
    );
    let report = proxy.finish().await;
    let render = report.render();

    let amounts = report.check("app_amounts_as_strings").unwrap();
    assert_eq!(
        amounts.failures[0].actual, "POST /v1/payouts sent amount.value as the JSON number 2500.00",
        "{render}"
    );
    assert!(
        amounts.failures[0]
            .expected
            .starts_with("amount.value as a decimal string (\"2500.00\")"),
        "{render}"
    );
    let authorization = report.check("app_authorization").unwrap();
    assert_eq!(authorization.failed, 1, "{render}");
    assert_eq!(
        authorization.failures[0].actual,
        "GET /v1/wallets sent an Authorization header without the `Bearer ` scheme (the key alone, it seems)",
        "{render}"
    );
    assert!(
        authorization.failures[0]
            .expected
            .starts_with("`Authorization: Bearer <api key>` on every request"),
        "{render}"
    );
    let base = report.check("app_base_url").unwrap();
    assert_eq!(base.failed, 1, "{render}");
    assert_eq!(
        base.failures[0].actual, "POST /payouts went outside the API's base path /v1",
        "{render}"
    );
    assert_eq!(
        base.failures[0].expected,
        format!(
            "POST /v1/payouts, below the API's base URL: the application's base URL lacks /v1 (set it to {base_url})"
        ),
        "{render}"
    );
    let pages = report.check("app_pages_complete").unwrap();
    assert_eq!(
        (pages.passed, pages.failed, pages.skipped),
        (0, 0, 1),
        "{render}"
    );
    assert!(
        pages.skip_reason.as_deref().unwrap_or_default().starts_with(
            "GET /v1/payouts?paging_limit=1 was left after its first page, without a date filter"
        ),
        "{render}"
    );
    let told = told.lock().unwrap().join("\n");
    assert!(
        told.contains("app_amounts_as_strings: POST /v1/payouts sent amount.value as the JSON number 2500.00; expected amount.value as a decimal string (\"2500.00\")"),
        "{told}"
    );
    // Read as a person writes, never as Rust debugs; and never the key.
    for (what, text) in [("told", told), ("render", render), ("json", report.json())] {
        for debug in ["Some(", "None", "[(", "Required", "WithoutScheme"] {
            assert!(!text.contains(debug), "{what} shows `{debug}`:\n{text}");
        }
        assert!(!text.contains(KEY), "{what} shows the key:\n{text}");
    }
    mock.shutdown().await;
}
