//! The shipped client's retries against the real mock misbehaving on
//! purpose: 503s (with and without `Retry-After`), 502, 429, 409
//! IDEMPOTENCY_RACE and connections dropped after the payout was created.
//! Every `create_payout` ends `Ok`, and the mock holds exactly one payout
//! per call: retries reuse the call's idempotency key, so a payout whose
//! answer was lost is read back, never created twice. The faults are
//! chosen by seed, so every run meets the same ones; the journal proves
//! they happened.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use futures::future::join_all;
use rafiki_client::sandbox::{self, types as control};
use rafiki_client::{Error, PayoutFilter, RafikiClient, RetryPolicy, types};
use rafiki_mock::{Config, FaultPlan, FaultRule, ManualClock, MockHandle, WalletSeed};
use serde_json::json;

const KEY: &str = "sk_test_e2e_faults_alpha";
const SEEDS: u64 = 20;
const PAYOUTS_PER_SEED: usize = 10;

/// Patient enough for long streaks of faults, quick between attempts; a
/// `Retry-After` up to 2 s is honoured.
fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_secs(2),
    }
}

fn plan(seed: u64, flags: &[&str]) -> FaultPlan {
    flags.iter().fold(FaultPlan::new(seed), |plan, flag| {
        plan.with(flag.parse::<FaultRule>().expect("a valid rule"))
    })
}

/// A mock on an ephemeral port with `faults`, one rich KES account, and a
/// manual clock (no background settling).
async fn start(faults: FaultPlan) -> MockHandle {
    let clock = std::sync::Arc::new(ManualClock::new("2026-03-02T08:00:00Z".parse().unwrap()));
    let wallet = WalletSeed {
        currency: "KES".into(),
        balance: "100000000.00".parse().unwrap(),
    };
    let mut config = Config::with_keys([KEY], &[wallet]).manual_clock(clock);
    config.faults = faults;
    rafiki_mock::spawn(config).await.expect("the mock starts")
}

fn client(mock: &MockHandle, max_attempts: u32) -> RafikiClient {
    RafikiClient::builder(mock.base_url(), KEY)
        .retry_policy(policy(max_attempts))
        .build()
        .unwrap()
}

fn control(mock: &MockHandle) -> sandbox::Client {
    sandbox::connect(mock.base_url().trim_end_matches("/v1"), KEY).unwrap()
}

fn payout(amount: &str) -> types::PayoutCreateRequest {
    serde_json::from_value(json!({
        "amount": {"value": amount, "currency": "KES"},
        "payment_account": {
            "type": "MOBILE_MONEY", "country": "KE",
            "holder": {"type": "INDIVIDUAL", "name": "Wanjiru Kamau"},
            "mobile_money": {"number": "+254712345678", "operator": "SAFARICOM"}
        },
        "sender": {
            "type": "BUSINESS", "name": "Duka Ltd",
            "address": {"line_1": "1 Moi Avenue", "city": "Nairobi", "postal_code": "00100", "country": "KE"}
        }
    }))
    .expect("a request the generated types accept")
}

/// The journal's create_payout requests, oldest first.
async fn creates(mock: &MockHandle) -> Vec<control::JournalEntry> {
    control(mock)
        .sandbox_list_requests()
        .operation(control::OperationId::CreatePayout)
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
}

/// What one attempt met, as the journal shows it: the fault injected (or
/// `handled`), and whether the answer reached the client.
fn attempt(entry: &control::JournalEntry) -> String {
    let fault = entry
        .faults
        .first()
        .map_or("handled", |fault| fault.fault.as_str());
    match entry.outcome {
        control::JournalEntryOutcome::ConnectionDropped => format!("{fault} (dropped)"),
        _ => format!("{fault} {}", entry.status.unwrap_or_default()),
    }
}

/// What one seed's run saw.
#[derive(Default)]
struct SeedRun {
    /// Attempts per fault met, over the seed's calls.
    faults: BTreeMap<String, usize>,
    /// Calls whose payout was created on an attempt whose answer was lost.
    recovered_after_drop: usize,
}

/// Creates `PAYOUTS_PER_SEED` payouts through the faults of `seed`, one
/// call after the other, and checks the mock holds one payout per call.
async fn run_seed(seed: u64) -> SeedRun {
    let mock = start(plan(
        seed,
        &[
            "create_payout=503+retry-after=0@20%",
            "create_payout=503@10%",
            "create_payout=503+retry-after=1@3%#1",
            "create_payout=drop-after-handling@20%",
        ],
    ))
    .await;
    let client = client(&mock, 12);
    let mut created = Vec::new();
    for i in 0..PAYOUTS_PER_SEED {
        let request = payout(&format!("{}.00", 200 + i));
        let call = client.create_payout(&request, None).await;
        created
            .push(call.unwrap_or_else(|e| panic!("seed {seed}, payout {i}: {e} ({:?})", e.error)));
    }

    // Exactly one payout per call, each the one its call got back.
    let listed: Vec<types::Payout> = client
        .payouts(PayoutFilter::default())
        .try_collect()
        .await
        .unwrap();
    let listed: BTreeSet<String> = listed.into_iter().map(|p| p.id.to_string()).collect();
    let returned: BTreeSet<String> = created.iter().map(|c| c.payout.id.to_string()).collect();
    assert_eq!(listed.len(), PAYOUTS_PER_SEED, "seed {seed}: payouts held");
    assert_eq!(
        listed, returned,
        "seed {seed}: each call's payout, no other"
    );
    assert_eq!(
        mock.store().counts(KEY).map(|c| c.0),
        Some(PAYOUTS_PER_SEED)
    );

    // Every attempt is in the journal under its call's key, and only there.
    let journal = creates(&mock).await;
    let attempts: usize = created.iter().map(|c| c.attempts as usize).sum();
    assert_eq!(
        journal.len(),
        attempts,
        "seed {seed}: one request per attempt"
    );
    let mut run = SeedRun::default();
    for call in &created {
        let tries: Vec<&control::JournalEntry> = journal
            .iter()
            .filter(|e| e.idempotency_key.as_deref() == Some(call.idempotency_key.as_str()))
            .collect();
        assert_eq!(
            tries.len(),
            call.attempts as usize,
            "seed {seed}: {}",
            call.idempotency_key
        );
        let (last, before) = tries.split_last().unwrap();
        assert_eq!(
            (last.status, last.outcome),
            (Some(202), control::JournalEntryOutcome::Answered),
            "seed {seed}: the last attempt got the payout"
        );
        for entry in before {
            *run.faults.entry(attempt(entry)).or_default() += 1;
        }
        let lost = before
            .iter()
            .any(|e| e.outcome == control::JournalEntryOutcome::ConnectionDropped);
        run.recovered_after_drop += usize::from(lost);
    }
    mock.shutdown().await;
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_payout_is_created_exactly_once_through_503s_and_dropped_connections() {
    let started = Instant::now();
    // Each seed is its own mock, its calls one after the other (so its
    // faults are the same on every run); the seeds run side by side.
    let runs = join_all((0..SEEDS).map(run_seed)).await;

    let mut faults: BTreeMap<String, usize> = BTreeMap::new();
    for run in &runs {
        for (fault, count) in &run.faults {
            *faults.entry(fault.clone()).or_default() += count;
        }
    }
    let recovered: usize = runs.iter().map(|r| r.recovered_after_drop).sum();
    eprintln!(
        "{SEEDS} seeds x {PAYOUTS_PER_SEED} payouts: attempts that met a fault {faults:?}; \
         payouts created on an attempt whose answer was lost: {recovered}; {:?}",
        started.elapsed()
    );
    // The faults happened (otherwise this test could not fail).
    for fault in [
        "503+retry-after=0 503",
        "503 503",
        "503+retry-after=1 503",
        "drop-after-handling (dropped)",
    ] {
        assert!(
            faults.get(fault).is_some_and(|n| *n > 0),
            "{fault} never met: {faults:?}"
        );
    }
    assert_eq!(
        faults
            .keys()
            .filter(|f| !f.starts_with("503") && !f.starts_with("drop"))
            .count(),
        0,
        "only the planned faults: {faults:?}"
    );
    assert!(
        recovered >= 10,
        "payouts whose answer was lost: {recovered}"
    );
    let retries: usize = faults.values().sum();
    let calls = SEEDS as usize * PAYOUTS_PER_SEED;
    assert!(
        retries > calls / 2,
        "{retries} retries for {calls} calls: {faults:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn each_transient_answer_is_retried_under_one_key_until_accepted() {
    // One of each, in this order: every rule fires once, then is spent.
    let mock = start(plan(
        0,
        &[
            "create_payout=503#1",
            "create_payout=502+retry-after=0#1",
            "create_payout=429+retry-after=0#1",
            "create_payout=409+retry-after=0#1",
            "create_payout=drop-after-handling#1",
        ],
    ))
    .await;
    let created = client(&mock, 10)
        .create_payout(&payout("250.00"), Some("one-key"))
        .await
        .unwrap();
    assert_eq!(created.attempts, 6);
    let journal = creates(&mock).await;
    let met: Vec<String> = journal.iter().map(attempt).collect();
    assert_eq!(
        met,
        [
            "503 503",
            "502+retry-after=0 502",
            "429+retry-after=0 429",
            "409+retry-after=0 409",
            "drop-after-handling (dropped)",
            "handled 202",
        ]
    );
    assert!(
        journal
            .iter()
            .all(|e| e.idempotency_key.as_deref() == Some("one-key"))
    );
    assert_eq!(mock.store().counts(KEY).map(|c| c.0), Some(1));
}

#[tokio::test]
async fn attempts_are_bounded_and_a_long_retry_after_is_not_waited_out() {
    let mock = start(plan(0, &["create_payout=503"])).await;
    let error = client(&mock, 3)
        .create_payout(&payout("250.00"), None)
        .await
        .unwrap_err();
    assert_eq!(error.attempts, 3);
    assert!(matches!(error.error, Error::Server(_)), "{:?}", error.error);
    assert_eq!(creates(&mock).await.len(), 3);

    for fault in ["503+retry-after=3600", "429+retry-after=3600"] {
        let mock = start(plan(0, &[&format!("create_payout={fault}")])).await;
        let error = client(&mock, 3)
            .create_payout(&payout("250.00"), None)
            .await
            .unwrap_err();
        assert_eq!(
            error.attempts, 1,
            "{fault}: an hour is beyond the policy's max delay"
        );
        assert_eq!(error.error.retry_after(), Some(Duration::from_secs(3600)));
        assert_eq!(
            mock.store().counts(KEY).map(|c| c.0),
            Some(0),
            "nothing created"
        );
    }
}
