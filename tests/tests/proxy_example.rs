//! The proxy on an application: `examples/payout-app`, run through
//! `rafiki-contract proxy` against the mock, with each of its planted bugs,
//! all of them, and none. The mock drops the connection after creating the
//! first payout (the classic "did it go through?"), so the application
//! must retry; each bug is reported once, with the request or field that
//! shows it, and the clean application gets no finding at all.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use payout_app::{Bugs, Config, Outcome};
use rafiki_contract::Report;
use rafiki_contract::{Proxy, ProxyConfig};
use rafiki_mock::faults::FaultPlan;

const KEY: &str = "sk_test_payout_app";

/// One run of the application through the proxy: the proxy's report, the
/// findings it told as they came, and what the application did.
async fn through_the_proxy(bugs: Bugs) -> (Report, Vec<String>, Outcome) {
    let mut mock = rafiki_mock::Config::with_keys([KEY], &[rafiki_mock::WalletSeed::default_kes()]);
    mock.processing_delay = Duration::from_millis(200);
    mock.faults = FaultPlan::new(7).with("create_payout=drop-after-handling#1".parse().unwrap());
    let mock = rafiki_mock::spawn(mock).await.unwrap();
    let mut config = ProxyConfig::new(mock.base_url());
    config.poll_floor = Duration::from_millis(100);
    let told = Arc::new(Mutex::new(Vec::new()));
    let sink = told.clone();
    let proxy = Proxy::start(
        config,
        Box::new(move |finding| {
            let line = format!(
                "{}: {}; expected {}",
                finding.check, finding.actual, finding.expected
            );
            sink.lock().unwrap().push(line);
        }),
    )
    .await
    .unwrap();
    let app = Config {
        base_url: proxy.base_url().to_string(),
        api_key: KEY.to_string(),
        bugs,
        poll_every: Duration::from_millis(150),
        page_size: 1,
    };
    let outcome = payout_app::run(&app).await.unwrap();
    let report = proxy.finish().await;
    mock.shutdown().await;
    let told = told.lock().unwrap().clone();
    (report, told, outcome)
}

fn passed(report: &Report, check: &str) -> u64 {
    report.check(check).unwrap().passed
}

#[tokio::test]
async fn the_clean_application_gets_no_finding() {
    let (report, told, outcome) = through_the_proxy(Bugs::default()).await;
    let render = report.render();
    assert!(told.is_empty(), "{told:#?}");
    assert_eq!(
        report.totals().failed + report.totals().warned,
        0,
        "{render}"
    );
    // Judged, not skipped: four attempts for three payouts (the dropped
    // one retried under its key, and the mock holds three, not four), each
    // polled no faster than the floor, the day read to its last page.
    assert_eq!(outcome.accepted.len(), 3, "{outcome:?}");
    assert_eq!(outcome.reconciled, 3, "{outcome:?}");
    assert_eq!(passed(&report, "app_idempotency_key"), 4, "{render}");
    assert_eq!(passed(&report, "app_retry_same_key"), 4, "{render}");
    assert_eq!(passed(&report, "app_amounts_as_strings"), 4, "{render}");
    assert_eq!(passed(&report, "app_pages_complete"), 1, "{render}");
    assert!(passed(&report, "app_polling_floor") >= 1, "{render}");
}

#[tokio::test]
async fn each_planted_bug_is_reported_once_with_what_shows_it() {
    // (check, what its line shows, whether it fails or only warns: a list
    // read part way is judged by our reading, the pages saying only to
    // read "as necessary").
    let retry = ("app_retry_same_key", "was sent again under a new key", true);
    let number = (
        "app_amounts_as_strings",
        "sent amount.value as the JSON number 150",
        true,
    );
    let first_page = (
        "app_pages_complete",
        "GET /v1/payouts?created_at_from=",
        false,
    );
    let none = Bugs::default();
    let cases = [
        (
            Bugs {
                new_key_on_retry: true,
                ..none
            },
            vec![retry],
        ),
        (
            Bugs {
                amount_as_number: true,
                ..none
            },
            vec![number],
        ),
        (
            Bugs {
                first_page_only: true,
                ..none
            },
            vec![first_page],
        ),
        (Bugs::all(), vec![retry, number, first_page]),
    ];
    for (bugs, expected) in cases {
        let (report, told, _) = through_the_proxy(bugs).await;
        let render = report.render();
        let failures = expected.iter().filter(|(_, _, fails)| *fails).count() as u64;
        assert_eq!(told.len(), expected.len(), "{bugs:?}: {told:#?}");
        assert_eq!(report.totals().failed, failures, "{bugs:?}: {render}");
        assert_eq!(
            report.totals().warned,
            expected.len() as u64 - failures,
            "{bugs:?}: {render}"
        );
        for (check, shows, fails) in expected {
            let result = report.check(check).unwrap();
            let found = if fails { result.failed } else { result.warned };
            assert_eq!(found, 1, "{bugs:?}: {render}");
            assert!(
                told.iter()
                    .any(|line| line.starts_with(check) && line.contains(shows)),
                "{bugs:?}: {check} told with `{shows}`: {told:#?}"
            );
        }
    }
}
