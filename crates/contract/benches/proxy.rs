//! What the proxy adds to a request: `cargo bench -p rafiki-contract
//! --bench proxy`.
//!
//! `rafiki-mock` runs on a thread of its own; an open-loop load of 1,000
//! requests per second (a request leaves every millisecond, whether or not
//! the earlier ones are back) goes to it directly, then through the proxy,
//! for `SECONDS` each, in alternating rounds. The mix is what an
//! integration's traffic looks like: reads of a payout, pages of the list,
//! new payouts (each judged in full), wallets. Printed per round: requests,
//! p50, p99 and the slowest, direct and proxied, and what the proxy adds at
//! p50 and p99. Goal: under 1 ms added at p99. Everything (load, proxy and
//! its judge, mock) shares the machine's cores, as it would on a CI runner.

mod common;

use std::time::{Duration, Instant};

use common::{KEYS, MockThread};
use rafiki_contract::{Proxy, ProxyConfig};
use serde_json::Value;

/// Requests per second, and seconds per round and side.
const RATE: u64 = 1_000;
const SECONDS: u64 = 5;
const ROUNDS: usize = 3;

#[tokio::main]
async fn main() {
    let wallet = "KES:1000000000.00".parse().expect("a wallet seed");
    let mut config = rafiki_mock::Config::with_keys(KEYS, &[wallet]);
    config.processing_delay = Duration::from_secs(3600);
    let mock = MockThread::start(config);
    let proxy = ProxyThread::start(&mock.base_url);
    let http = reqwest::Client::new();
    let payout_id = seed_payout(&http, &mock.base_url).await;
    // Connections, pools and the judge's first compilations warm up first.
    for base_url in [mock.base_url.as_str(), proxy.base_url.as_str()] {
        load(&http, base_url, &payout_id, 0, 1).await;
    }

    println!(
        "open loop at {RATE} req/s, {SECONDS} s per side and round; latency in ms\n\n\
         | round | side | requests | p50 | p99 | slowest | added p50 | added p99 |\n\
         |---|---|---|---|---|---|---|---|"
    );
    let mut added_p99 = Vec::new();
    for round in 1..=ROUNDS {
        let direct = load(&http, &mock.base_url, &payout_id, round, SECONDS).await;
        let proxied = load(&http, &proxy.base_url, &payout_id, round, SECONDS).await;
        let (d, p) = (Summary::of(direct), Summary::of(proxied));
        let (add50, add99) = (p.p50 - d.p50, p.p99 - d.p99);
        added_p99.push(add99);
        println!(
            "| {round} | direct | {} | {:.3} | {:.3} | {:.3} | | |",
            d.count, d.p50, d.p99, d.max
        );
        println!(
            "| {round} | proxied | {} | {:.3} | {:.3} | {:.3} | {add50:+.3} | {add99:+.3} |",
            p.count, p.p50, p.p99, p.max
        );
    }
    let report = proxy.finish();
    added_p99.sort_by(f64::total_cmp);
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.failed > 0)
        .map(|c| c.name)
        .collect();
    println!(
        "\nadded at p99: {:.3} to {:.3} ms over {ROUNDS} rounds (goal: under 1 ms)\n\
         the proxy judged {} exchanges: {} failed {failed:?} (the load polls one payout far faster than the floor), {} warned",
        added_p99[0],
        added_p99[ROUNDS - 1],
        report.requests,
        report.totals().failed,
        report.totals().warned
    );
    mock.stop();
}

/// One payout to read back during the load.
async fn seed_payout(http: &reqwest::Client, base_url: &str) -> String {
    let answer: Value = http
        .post(format!("{base_url}/payouts"))
        .bearer_auth(KEYS[0])
        .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&rafiki_contract::fixture_payout(0))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["data"]["id"].as_str().unwrap().to_string()
}

/// The proxy on a thread and runtime of its own (two workers, as the
/// binary has on two cores), as it would be in a process of its own.
struct ProxyThread {
    base_url: String,
    finish: tokio::sync::oneshot::Sender<()>,
    report: std::sync::mpsc::Receiver<rafiki_contract::Report>,
}

impl ProxyThread {
    fn start(upstream: &str) -> Self {
        let config = ProxyConfig::new(upstream);
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (report_tx, report) = std::sync::mpsc::channel();
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let proxy = Proxy::start(config, Box::new(|_| {})).await.unwrap();
                url_tx.send(proxy.base_url().to_string()).unwrap();
                let _ = finished.await;
                report_tx.send(proxy.finish().await).unwrap();
            });
        });
        ProxyThread {
            base_url: url_rx.recv().unwrap(),
            finish,
            report,
        }
    }

    fn finish(self) -> rafiki_contract::Report {
        self.finish.send(()).unwrap();
        self.report.recv().unwrap()
    }
}

/// `seconds` of open-loop load on `base_url`; each request's latency in ms.
async fn load(
    http: &reqwest::Client,
    base_url: &str,
    payout_id: &str,
    round: usize,
    seconds: u64,
) -> Vec<f64> {
    let mut tick = tokio::time::interval(Duration::from_secs(1) / RATE as u32);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut requests = Vec::new();
    for n in 0..RATE * seconds {
        tick.tick().await;
        let request = match n % 10 {
            0 => {
                // Every payout of a round is another (the proxy would
                // rightly report the same one under a new key).
                let mut payout = rafiki_contract::fixture_payout(0);
                payout["amount"]["value"] =
                    format!("{}.00", 1_000 + n + 10_000 * round as u64).into();
                http.post(format!("{base_url}/payouts"))
                    .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
                    .json(&payout)
            }
            1 => http.get(format!("{base_url}/payouts?paging_limit=10")),
            2 => http.get(format!("{base_url}/wallets")),
            _ => http.get(format!("{base_url}/payouts/{payout_id}")),
        }
        .bearer_auth(KEYS[0]);
        requests.push(tokio::spawn(async move {
            let started = Instant::now();
            let response = request.send().await.expect("loopback answers");
            let ok = response.status().is_success();
            let _ = response.bytes().await;
            assert!(ok, "every request of the mix is valid");
            started.elapsed().as_secs_f64() * 1000.0
        }));
    }
    let mut latencies = Vec::with_capacity(requests.len());
    for request in requests {
        latencies.push(request.await.unwrap());
    }
    latencies
}

struct Summary {
    count: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Summary {
    fn of(mut latencies: Vec<f64>) -> Self {
        latencies.sort_by(f64::total_cmp);
        let at =
            |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        Summary {
            count: latencies.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: latencies[latencies.len() - 1],
        }
    }
}
