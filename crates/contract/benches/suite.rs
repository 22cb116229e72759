//! How fast the suite runs against the embedded mock, and what the runner
//! itself costs per request: `cargo bench -p rafiki-contract --bench suite`.
//!
//! The mock runs on its own thread (a current-thread runtime), so that
//! thread's CPU time is the server's; the rest of the process's CPU time is
//! the runner's (generation, requests, checks). Each round is a full
//! default run (every check, default `--max-examples`).

mod common;

use std::time::Instant;

use common::{KEYS, MockThread};
use cpu_time::ProcessTime;
use rafiki_contract::RunConfig;

const ROUNDS: usize = 5;

/// The allocator the `rafiki-contract` binary uses (`src/main.rs`), so
/// that the figure is the CLI's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = MockThread::start(rafiki_mock::Config::for_contract_suite(KEYS));
    let base_url = mock.base_url.clone();
    let process_start = ProcessTime::now();
    let mut rows = Vec::new();
    let mut requests_total = 0;
    for round in 1..=ROUNDS {
        let mut config = RunConfig::new(base_url.clone(), KEYS[0]);
        config.api_key_2 = Some(KEYS[1].into());
        config.seed = Some(round as u64);
        let started = Instant::now();
        let report = runtime.block_on(rafiki_contract::run(&config)).unwrap();
        let wall = started.elapsed();
        assert!(!report.failed(), "{}", report.render());
        requests_total += report.requests;
        let rps = report.requests as f64 / wall.as_secs_f64();
        rows.push((wall, report.requests, rps));
        println!(
            "round {round}: {} requests in {:.3} s = {rps:.0} req/s",
            report.requests,
            wall.as_secs_f64()
        );
    }
    let mock_cpu = mock.stop();
    let runner_cpu = process_start.elapsed().saturating_sub(mock_cpu);
    rows.sort_by_key(|row| row.0);
    let (median_wall, median_requests, median_rps) = rows[ROUNDS / 2];
    println!(
        "median run: {:.3} s, {median_requests} requests, {median_rps:.0} req/s",
        median_wall.as_secs_f64()
    );
    println!(
        "runner CPU: {:.1} ms over {requests_total} requests = {:.1} µs/request (mock CPU {:.1} ms)",
        runner_cpu.as_secs_f64() * 1e3,
        runner_cpu.as_secs_f64() * 1e6 / requests_total as f64,
        mock_cpu.as_secs_f64() * 1e3
    );
}
