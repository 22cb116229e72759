//! How fast the suite runs against the embedded mock, and what the runner
//! itself costs per request: `cargo bench -p rafiki-contract --bench suite`.
//!
//! The mock runs on its own thread (a current-thread runtime), so that
//! thread's CPU time is the server's; the rest of the process's CPU time is
//! the runner's (generation, requests, checks). Each round is a full
//! default run (every check, default `--max-examples`).
//!
//! Then the same rounds through the `rafiki-contract` binary, a process of
//! its own, against the same mock: its user and system CPU time (from
//! `getrusage`) per request, each round's and their spread. That is the
//! runner's whole cost, loopback TCP included, as a CI job pays it.

mod common;

use std::time::Instant;

use common::{KEYS, MockThread};
use cpu_time::ProcessTime;
use rafiki_contract::RunConfig;

const ROUNDS: usize = 5;

/// Rounds of the binary: more of them, as each also pays the process's
/// start-up and the machine's noise shows more in its own CPU time.
const BINARY_ROUNDS: usize = 9;

/// The allocator the `rafiki-contract` binary uses (`src/main.rs`), so
/// that the figure is the CLI's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // As `rafiki-contract` does first thing (`src/main.rs`).
    // As `rafiki-contract run` has it: one thread (`src/main.rs`).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
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
    let mock = MockThread::start(rafiki_mock::Config::for_contract_suite(KEYS));
    binary_rounds(&mock.base_url);
    mock.stop();
}

/// Runs `rafiki-contract run` against `base_url` [`BINARY_ROUNDS`] times,
/// after a warm-up round that is not counted; prints each round's CPU time
/// per request and their spread. (The first run after a build was often
/// the slowest of its bench run: 64–97 µs in five of eight bench runs,
/// against medians of 45–64.)
fn binary_rounds(base_url: &str) {
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut per_request = Vec::new();
    for round in 0..=BINARY_ROUNDS {
        let before = children_cpu();
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_rafiki-contract"))
            .args([
                "run",
                "--base-url",
                base_url,
                "--api-key",
                KEYS[0],
                "--api-key-2",
                KEYS[1],
            ])
            .args(["--seed", &(100 + round).to_string(), "--json"])
            .arg(report.path())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        let cpu = children_cpu() - before;
        assert!(status.success(), "round {round}: {status}");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(report.path()).unwrap()).unwrap();
        let requests = json["requests"].as_u64().unwrap();
        let micros = cpu * 1e6 / requests as f64;
        if round == 0 {
            println!(
                "binary warm-up round (not counted): {requests} requests, {micros:.1} µs/request"
            );
            continue;
        }
        println!(
            "binary round {round}: {requests} requests, {:.1} ms CPU = {micros:.1} µs/request",
            cpu * 1e3
        );
        per_request.push(micros);
    }
    per_request.sort_by(f64::total_cmp);
    println!(
        "binary CPU per request: median {:.1} µs, {:.1}–{:.1} µs over {BINARY_ROUNDS} rounds",
        per_request[BINARY_ROUNDS / 2],
        per_request[0],
        per_request[BINARY_ROUNDS - 1]
    );
}

/// User and system CPU seconds of every child process waited for so far.
fn children_cpu() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_CHILDREN is valid.
    let usage = unsafe {
        assert_eq!(
            libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()),
            0
        );
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
