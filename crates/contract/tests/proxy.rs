//! `rafiki-contract proxy` as a library: traffic goes through unchanged
//! (headers, bodies, a dropped connection), and each finding follows from
//! the exchange that shows it, on the application's side and the server's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use rafiki_contract::Report;
use rafiki_contract::{Proxy, ProxyConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "sk_test_proxy_key_0001";

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
            let line = format!("{} {}: {}", f.warning, f.check, f.expected);
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
    let app = Router::new().fallback(
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

#[tokio::test]
async fn an_upstream_that_drops_the_connection_gets_it_dropped() {
    // Reads a request, then closes without a byte of answer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
        }
    });
    let (proxy, _) = proxy(ProxyConfig::new(&upstream)).await;
    let mut app = tokio::net::TcpStream::connect(proxy.addr()).await.unwrap();
    app.write_all(b"GET /v1/wallets HTTP/1.1\r\nhost: x\r\nauthorization: Bearer k\r\n\r\n")
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
    assert_eq!(
        report.totals().failed,
        0,
        "a lost connection is nobody's finding"
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
    let mut config = rafiki_mock::Config::with_keys(
        [KEY.to_string()],
        &[rafiki_mock::WalletSeed::default_kes()],
    );
    config.processing_delay = Duration::from_secs(600);
    let mock = rafiki_mock::spawn(config).await.unwrap();
    let mut proxy_config = ProxyConfig::new(mock.base_url());
    proxy_config.poll_floor = Duration::from_secs(60);
    let (proxy, told) = proxy(proxy_config).await;
    let app = App {
        http: reqwest::Client::new(),
        base_url: proxy.base_url().to_string(),
    };

    let first = app.post(&payout(json!("150.00")), Some("key-1")).await;
    assert_eq!(first.status(), 202);
    let id = first.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The same payout again under its own key: a safe retry.
    assert_eq!(
        app.post(&payout(json!("150.00")), Some("key-1"))
            .await
            .status(),
        202
    );
    // The same payout under a new key: the duplicate-payout bug.
    app.post(&payout(json!("150.00")), Some("key-2")).await;
    // No key; an amount as a number; a missing sender; a blank city (ours only).
    app.post(&payout(json!("200.00")), None).await;
    app.post(&payout(json!(250.5)), Some("key-3")).await;
    let mut no_sender = payout(json!("300.00"));
    no_sender.as_object_mut().unwrap().remove("sender");
    app.post(&no_sender, Some("key-4")).await;
    let mut blank_city = payout(json!("310.00"));
    blank_city["sender"]["address"]["city"] = json!("  ");
    app.post(&blank_city, Some("key-5")).await;
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

    assert_eq!(counts(&report, "app_retry_same_key"), (5, 1, 0), "{render}");
    assert_eq!(counts(&report, "app_idempotency_key").1, 1, "{render}");
    assert_eq!(counts(&report, "app_amounts_as_strings").1, 1, "{render}");
    // The number is the amounts check's finding, not app_request_valid's
    // too; the missing sender fails; the blank city only warns.
    assert_eq!(counts(&report, "app_request_valid"), (5, 1, 1), "{render}");
    assert_eq!(counts(&report, "app_polling_floor").1, 1, "{render}");
    assert_eq!(counts(&report, "app_pages_complete"), (1, 1, 0), "{render}");
    assert_eq!(counts(&report, "idempotency_replay"), (1, 0, 0), "{render}");
    assert_eq!(report.totals().failed, 6, "{render}");
    let told = told.lock().unwrap().join("\n");
    for (check, shows) in [
        ("app_retry_same_key", "`key-1`"),
        ("app_retry_same_key", "new key `key-2`"),
        ("app_amounts_as_strings", "250.5"),
        ("app_request_valid", "`sender` (REQUIRED"),
        ("app_request_valid", "`sender.address.city`"),
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

#[tokio::test]
async fn the_server_is_judged_across_reads_and_replays() {
    // Reads a payout SENT, then PENDING; makes a new payout for every POST.
    let reads = Arc::new(Mutex::new(0));
    let app = Router::new()
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
    let app = App {
        http: reqwest::Client::new(),
        base_url: proxy.base_url().to_string(),
    };
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
    let app = Router::new().fallback(|headers: HeaderMap| async move {
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
    let app = App {
        http: reqwest::Client::new(),
        base_url: proxy.base_url().to_string(),
    };
    app.post(&payout(json!("150.00")), Some("k")).await;
    let report = proxy.finish().await;
    assert!(report.failed(), "a 502 is not documented");
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
    let mock = rafiki_mock::spawn(rafiki_mock::Config::with_keys(
        [KEY],
        &[rafiki_mock::WalletSeed::default_kes()],
    ))
    .await
    .unwrap();
    let (proxy, told) = proxy(ProxyConfig::new(mock.base_url())).await;
    let app = App {
        http: reqwest::Client::new(),
        base_url: proxy.base_url().to_string(),
    };
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
