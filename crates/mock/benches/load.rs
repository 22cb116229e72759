//! Load benchmark: `cargo bench -p rafiki-mock --bench load`.
//!
//! For each store size (default 1,000 and 1,000,000 payouts, seeded
//! straight into the store, not over HTTP) it starts an in-process mock on
//! loopback and drives it with a bounded load generator: `CONCURRENCY`
//! tokio tasks sharing one reqwest client send `REQUESTS` requests per
//! operation, then stop. It reports requests per second, p50/p99 latency
//! and the error count for `GET /payouts/{id}` (random seeded ids), a list
//! page (`GET /payouts?paging_limit=20`, half of them from a random
//! position via `created_at_to`) and `POST /payouts` (fresh idempotency
//! keys). The load generator shares the machine's cores with the server,
//! so the figures are a lower bound.
//!
//! Each size runs in memory, then (for the sizes of
//! `RAFIKI_BENCH_FILE_SIZES`) again with a state file (`--state`, in the
//! temporary directory, removed afterwards): every create then waits for
//! its group commit's sync.
//!
//! Environment: `RAFIKI_BENCH_SIZES` (comma-separated, default
//! `1000,1000000`), `RAFIKI_BENCH_FILE_SIZES` (default `1000`; seeding a
//! file writes every seeded payout), `RAFIKI_BENCH_REQUESTS` (default
//! 20000), `RAFIKI_BENCH_CONCURRENCY` (default 32).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rafiki_mock::{Config, WalletSeed};

const KEY: &str = "sk_test_rafiki_bench_key";
const PAYOUT_BODY: &str = r#"{"amount":{"value":"150.00","currency":"KES"},"payment_account":{"type":"MOBILE_MONEY","country":"KE","holder":{"type":"INDIVIDUAL","name":"Bench"},"mobile_money":{"number":"+254712345678","operator":"SAFARICOM"}},"sender":{"type":"BUSINESS","name":"Bench Ltd","address":{"line_1":"1 Moi Ave","city":"Nairobi","postal_code":"00100","country":"KE"}}}"#;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one request is.
#[derive(Clone, Copy)]
enum Op {
    Get,
    ListPage,
    Create,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::ListPage => "list-page",
            Op::Create => "create",
        }
    }
}

/// The figures of one run.
struct Report {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Report {
    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(index).copied().unwrap_or_default()
    }
}

struct Target {
    base: String,
    ids: Vec<String>,
    times: Vec<String>,
}

/// Sends `requests` requests of `op` from `concurrency` tasks.
async fn drive(
    http: &reqwest::Client,
    target: &Arc<Target>,
    op: Op,
    requests: usize,
    concurrency: usize,
) -> Report {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, target, next, errors) =
                (http.clone(), target.clone(), next.clone(), errors.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(requests / concurrency + 1);
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= requests {
                        break latencies;
                    }
                    let pick = n.wrapping_mul(2_654_435_761) % target.ids.len();
                    let request = match op {
                        Op::Get => {
                            http.get(format!("{}/payouts/{}", target.base, target.ids[pick]))
                        }
                        Op::ListPage if n % 2 == 0 => {
                            http.get(format!("{}/payouts?paging_limit=20", target.base))
                        }
                        Op::ListPage => http.get(format!("{}/payouts", target.base)).query(&[
                            ("paging_limit", "20"),
                            ("created_at_to", &target.times[pick % target.times.len()]),
                        ]),
                        Op::Create => http
                            .post(format!("{}/payouts", target.base))
                            .header("content-type", "application/json")
                            .header("x-idempotency-key", format!("bench-{n}-{pick}"))
                            .body(PAYOUT_BODY),
                    };
                    let sent = Instant::now();
                    let ok = match request.bearer_auth(KEY).send().await {
                        Ok(response) => {
                            let expected = if matches!(op, Op::Create) { 202 } else { 200 };
                            let status = response.status().as_u16();
                            response.bytes().await.is_ok() && status == expected
                        }
                        Err(_) => false,
                    };
                    latencies.push(sent.elapsed());
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(requests);
    for task in tasks {
        latencies.extend(task.await.expect("load task"));
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Report {
        requests,
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        latencies,
    }
}

async fn run_size(stored: usize, requests: usize, concurrency: usize, state: Option<PathBuf>) {
    let wallet = WalletSeed {
        currency: "KES".into(),
        balance: "1000000000000.00".parse().unwrap(),
    };
    let mut config = Config::with_keys([KEY], &[wallet]);
    config.state_file = state.clone();
    let mock = rafiki_mock::spawn(config).await.expect("mock starts");
    let seeding = Instant::now();
    let ids = mock.store().seed_sent_payouts(KEY, stored).expect("seeded");
    let seeded_in = seeding.elapsed();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let sample: Vec<String> = ids
        .iter()
        .step_by((ids.len() / 10_000).max(1))
        .cloned()
        .collect();
    let mut times = Vec::with_capacity(sample.len());
    for id in sample.iter().take(200) {
        let payout: serde_json::Value = http
            .get(format!("{}/payouts/{id}", mock.base_url()))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        times.push(payout["data"]["created_at"].as_str().unwrap().to_owned());
    }
    let target = Arc::new(Target {
        base: mock.base_url().to_owned(),
        ids: sample,
        times,
    });
    let where_ = if state.is_some() {
        "state file"
    } else {
        "in memory"
    };
    println!("stored={stored} {where_} (seeded in {seeded_in:.2?})");
    for op in [Op::Get, Op::ListPage, Op::Create] {
        drive(&http, &target, op, requests / 10, concurrency).await; // warm-up
        let report = drive(&http, &target, op, requests, concurrency).await;
        println!(
            "  {:<10} {:>7} req  {:>9.0} req/s  p50 {:>8.1?}  p99 {:>8.1?}  errors {}",
            op.name(),
            report.requests,
            report.requests as f64 / report.elapsed.as_secs_f64(),
            report.percentile(0.50),
            report.percentile(0.99),
            report.errors
        );
    }
    mock.shutdown().await;
    if let Some(path) = state {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}

fn main() {
    let sizes = env_sizes("RAFIKI_BENCH_SIZES", "1000,1000000");
    let file_sizes = env_sizes("RAFIKI_BENCH_FILE_SIZES", "1000");
    let requests = env_or("RAFIKI_BENCH_REQUESTS", 20_000usize);
    let concurrency = env_or("RAFIKI_BENCH_CONCURRENCY", 32usize).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("rafiki-mock load: {requests} requests per operation, {concurrency} concurrent tasks");
    for stored in sizes {
        runtime.block_on(run_size(stored, requests, concurrency, None));
        if file_sizes.contains(&stored) {
            let path = std::env::temp_dir()
                .join(format!("rafiki-bench-{}-{stored}.db", std::process::id()));
            runtime.block_on(run_size(stored, requests, concurrency, Some(path)));
        }
    }
}

fn env_sizes(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}
