//! The default suite over a slow network: `cargo bench -p rafiki-contract
//! --bench latency`.
//!
//! A TCP relay in front of `rafiki-mock` (default settings: payouts settle
//! after 300 ms) holds every byte from the runner for the added latency
//! before passing it on, so each request pays one extra round trip. Per
//! latency (0, 50 and 150 ms) it prints wall time, requests, the most
//! connections open at once and requests per second, with the spread over
//! the rounds; then, against a broken mock (the Kenyan minimum raised, so
//! valid payouts are refused), how long `--fail-fast` takes to the first
//! failure. Goals: under 60 s at 150 ms, never more connections than
//! `--workers` (4). `LATENCY_MS=0,150` runs only those rows.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{KEYS, MockThread};
use rafiki_contract::RunConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// (added latency in ms, rounds).
const LATENCIES: [(u64, usize); 3] = [(0, 3), (50, 2), (150, 2)];

/// Connections through the relay as the server sees them: open from the
/// client's connect until the server's side has closed (when the server
/// closes first, the relay may still be passing that on to the client
/// while the client already opens its next one; the server never sees
/// both), and the most at once.
#[derive(Default)]
struct Connections {
    open: AtomicUsize,
    peak: AtomicUsize,
}

impl Connections {
    fn opened(&self) {
        let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn closed(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }

    /// Waits (up to 5 s) until the connections of earlier runs are closed:
    /// a run's client closes its connections as it ends, and the relay
    /// sees that a moment later; a new run counted from before then would
    /// add them to its own.
    fn wait_until_closed(&self, runtime: &tokio::runtime::Runtime) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            runtime.block_on(async { tokio::time::sleep(Duration::from_millis(1)).await });
        }
    }

    /// The peak since the last call, which starts a new count.
    fn take_peak(&self) -> usize {
        self.peak
            .swap(self.open.load(Ordering::SeqCst), Ordering::SeqCst)
    }
}

/// Relays connections on `listener` to `upstream`, delaying what the
/// client sends by `latency`.
async fn relay(
    listener: TcpListener,
    upstream: SocketAddr,
    latency: Duration,
    connections: Arc<Connections>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        let connections = connections.clone();
        connections.opened();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                connections.closed();
                return;
            };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, server_write) = server.into_split();
            let up = delayed_copy(&mut client_read, server_write, latency);
            let down = async {
                let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                // The server's side is closed: for the server, it is over.
                connections.closed();
                let _ = client_write.shutdown().await;
            };
            tokio::join!(up, down);
        });
    }
}

/// Copies `from` to `to`, each chunk `latency` after it arrived.
async fn delayed_copy(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    latency: Duration,
) {
    let (chunks, mut arrived) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((at, chunk)) = arrived.recv().await {
            tokio::time::sleep_until((at + latency).into()).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buffer = vec![0u8; 16 * 1024];
    while let Ok(read) = from.read(&mut buffer).await {
        if read == 0
            || chunks
                .send((Instant::now(), buffer[..read].to_vec()))
                .is_err()
        {
            break;
        }
    }
    drop(chunks);
    let _ = writer.await;
}

/// A relay with `latency` in front of `upstream` (a base URL ending in
/// `/v1`), served on `runtime`; its base URL.
fn relay_to(
    runtime: &tokio::runtime::Runtime,
    upstream: &str,
    latency: Duration,
    connections: Arc<Connections>,
) -> String {
    let address: SocketAddr = upstream
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .parse()
        .unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    runtime.spawn(relay(listener, address, latency, connections));
    url
}

/// A mock that breaks the contract: the Kenyan minimum raised from 140
/// to 150, so valid payouts of 140 to 149 are refused.
fn broken_mock() -> rafiki_mock::Config {
    let yaml = include_str!("../../../spec/compliance.yaml");
    assert!(
        yaml.contains("min: \"140\""),
        "spec/compliance.yaml changed"
    );
    let table = rafiki_rules::ComplianceTable::from_yaml_str(&yaml.replacen(
        "min: \"140\"",
        "min: \"150\"",
        1,
    ))
    .unwrap();
    let mut config = default_mock();
    config.compliance = Arc::new(table);
    config
}

/// Two accounts, everything else as `rafiki-mock` starts by default.
fn default_mock() -> rafiki_mock::Config {
    let mut config = rafiki_mock::Config::for_contract_suite(KEYS);
    config.processing_delay = rafiki_mock::DEFAULT_DELAY;
    config
}

fn run_config(base_url: &str, seed: u64) -> RunConfig {
    let mut config = RunConfig::new(base_url, KEYS[0]);
    config.api_key_2 = Some(KEYS[1].into());
    config.seed = Some(seed);
    config
}

/// `min–max` of `values`, formatted by `show`.
fn spread<T: Copy + PartialOrd>(values: &[T], show: impl Fn(T) -> String) -> String {
    let min = values
        .iter()
        .copied()
        .fold(values[0], |a, b| if b < a { b } else { a });
    let max = values
        .iter()
        .copied()
        .fold(values[0], |a, b| if b > a { b } else { a });
    format!("{}–{}", show(min), show(max))
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = MockThread::start(default_mock());
    let broken = MockThread::start(broken_mock());
    let connections = Arc::new(Connections::default());
    let mut table = Vec::new();
    // `LATENCY_MS=0,50` runs only those rows.
    let only: Option<Vec<u64>> = std::env::var("LATENCY_MS").ok().map(|list| {
        list.split(',')
            .filter_map(|ms| ms.trim().parse().ok())
            .collect()
    });
    for (latency_ms, rounds) in LATENCIES {
        if only
            .as_ref()
            .is_some_and(|only| !only.contains(&latency_ms))
        {
            continue;
        }
        let latency = Duration::from_millis(latency_ms);
        let url = relay_to(&runtime, &mock.base_url, latency, connections.clone());
        let (mut walls, mut requests, mut peaks, mut rates) = (vec![], vec![], vec![], vec![]);
        for round in 1..=rounds {
            connections.wait_until_closed(&runtime);
            connections.take_peak();
            let config = run_config(&url, round as u64);
            let started = Instant::now();
            let report = runtime.block_on(rafiki_contract::run(&config)).unwrap();
            let wall = started.elapsed().as_secs_f64();
            assert!(!report.failed(), "{}", report.render());
            let peak = connections.take_peak();
            let rate = report.requests as f64 / wall;
            println!(
                "{latency_ms:>3} ms, round {round}: {wall:.2} s, {} requests, {peak} connections at most, {rate:.0} req/s",
                report.requests
            );
            walls.push(wall);
            requests.push(report.requests);
            peaks.push(peak);
            rates.push(rate);
        }
        let broken_url = relay_to(&runtime, &broken.base_url, latency, connections.clone());
        let mut config = run_config(&broken_url, 1);
        config.fail_fast = true;
        let report = runtime.block_on(rafiki_contract::run(&config)).unwrap();
        let first = report.first_failure_ms.expect("the broken mock is caught");
        println!("{latency_ms:>3} ms, broken mock: first failure after {first} ms (--fail-fast)");
        table.push(format!(
            "| {latency_ms} ms | {} s | {} | {} | {} | {:.2} s |",
            spread(&walls, |w| format!("{w:.2}")),
            spread(&requests, |r| r.to_string()),
            spread(&peaks, |p| p.to_string()),
            spread(&rates, |r| format!("{r:.0}")),
            first as f64 / 1000.0,
        ));
    }
    mock.stop();
    broken.stop();
    println!(
        "\n| added latency | wall | requests | peak connections | req/s | first failure (broken mock) |"
    );
    println!("|---|---|---|---|---|---|");
    for row in table {
        println!("{row}");
    }
}
