//! `rafiki-contract webhooks` on the example application's receiver
//! (`examples/payout-app`, started in-process on an ephemeral port): the
//! clean receiver passes every check; each planted bug alone is reported
//! by the check named for it, once, and by no other. Made-up receivers
//! show that a receiver taking everything is warned by every refusal check
//! (the provider names no answer for a forgery: what it did is judged in
//! the view), that against one refusing everything the refusal checks are
//! skipped, never passed, and that one verifying another reading of the
//! signature header is warned once and then checked its way. One case of
//! each exit code goes through the binary, which never prints the signing
//! key.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use payout_app::receiver::{Receiver, ReceiverBugs, ReceiverConfig};
use rafiki_client::webhooks::SigningKey;
use rafiki_contract::{Report, WEBHOOK_CHECKS, WebhookConfig, check_receiver};
use rafiki_rules::webhooks::SignedText;

const KEY: &str = "whsk_test_contract_webhooks";

async fn receiver(bugs: ReceiverBugs) -> Receiver {
    let mut config = ReceiverConfig::new(SigningKey::new(KEY).unwrap());
    config.bugs = bugs;
    Receiver::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// The example receiver with `bugs`, checked with its view observed.
async fn check(bugs: ReceiverBugs, strict: bool) -> Report {
    let receiver = receiver(bugs).await;
    let mut config = WebhookConfig::new(receiver.webhook_url(), KEY);
    config.observe = Some(receiver.view_template());
    config.strict = strict;
    check_receiver(&config).await.unwrap()
}

/// A check that failed or warned, and how often.
#[derive(Debug, PartialEq, Eq)]
struct Finding {
    check: &'static str,
    failed: u64,
    warned: u64,
}

/// `check` failed once.
fn failed(check: &'static str) -> Finding {
    Finding {
        check,
        failed: 1,
        warned: 0,
    }
}

/// `check` warned once.
fn warned(check: &'static str) -> Finding {
    Finding {
        check,
        failed: 0,
        warned: 1,
    }
}

/// Each check that failed or warned, in report order.
fn findings(report: &Report) -> Vec<Finding> {
    report
        .checks
        .iter()
        .filter(|c| c.failed + c.warned > 0)
        .map(|c| Finding {
            check: c.name,
            failed: c.failed,
            warned: c.warned,
        })
        .collect()
}

#[tokio::test]
async fn the_clean_receiver_passes_every_check() {
    let report = check(ReceiverBugs::default(), false).await;
    let render = report.render();
    let totals = report.totals();
    assert_eq!(report.checks.len(), WEBHOOK_CHECKS.len(), "{render}");
    assert_eq!((totals.failed, totals.warned), (0, 0), "{render}");
    // Judged, not skipped: every check held at least once, none skipped.
    assert_eq!(report.verdicts().passed, WEBHOOK_CHECKS.len(), "{render}");
    assert_eq!(totals.skipped, 0, "{render}");
    assert!(!report.failed());
}

#[tokio::test]
async fn each_planted_bug_is_reported_by_its_check_alone() {
    let bug = |set: fn(&mut ReceiverBugs)| {
        let mut bugs = ReceiverBugs::default();
        set(&mut bugs);
        bugs
    };
    let cases = [
        // Acknowledging an unsigned event only warns; applying it fails.
        (
            "no-signature-check",
            bug(|b| b.no_signature_check = true),
            vec![
                failed("webhook_refused_no_effect"),
                warned("webhook_signature_missing_refused"),
            ],
        ),
        // Both directions of the one unchecked timestamp, in its one check. The
        // tolerance, the ids of redeliveries and the order of events are
        // ours, so these three bugs warn (and fail with --strict).
        (
            "no-timestamp-check",
            bug(|b| b.no_timestamp_check = true),
            vec![Finding {
                check: "webhook_untimely_refused",
                failed: 0,
                warned: 2,
            }],
        ),
        (
            "duplicate-applied-twice",
            bug(|b| b.duplicate_applied_twice = true),
            vec![warned("webhook_duplicate_one_effect")],
        ),
        (
            "stale-event-applied",
            bug(|b| b.stale_event_applied = true),
            vec![warned("webhook_stale_state_ignored")],
        ),
    ];
    for (name, bugs, expected) in cases {
        let report = check(bugs, false).await;
        assert_eq!(findings(&report), expected, "{name}:\n{}", report.render());
        let fails = expected.iter().any(|finding| finding.failed > 0);
        assert_eq!(report.failed(), fails, "{name}");
    }
    // Strict, the warnings fail.
    let strict = check(bug(|b| b.no_timestamp_check = true), true).await;
    assert_eq!(
        findings(&strict),
        [Finding {
            check: "webhook_untimely_refused",
            failed: 2,
            warned: 0,
        }],
        "{}",
        strict.render()
    );
}

/// Serves `app` in this runtime; its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_receiver_that_takes_everything_is_warned_by_every_refusal() {
    // It shows no payout, so the effect checks are skipped, saying why;
    // and it echoes its key, which the report must not repeat.
    let url = serve(
        Router::new().fallback(|method: axum::http::Method| async move {
            match method {
                axum::http::Method::POST => (StatusCode::OK, format!("verified with {KEY}")),
                _ => (StatusCode::NOT_FOUND, String::new()),
            }
        }),
    )
    .await;
    let mut config = WebhookConfig::new(format!("{url}/hook"), KEY);
    config.observe = Some(format!("{url}/payouts/{{id}}"));
    config.settle = Duration::from_millis(200);
    let report = check_receiver(&config).await.unwrap();
    let render = report.render();
    assert_eq!(
        findings(&report),
        [
            Finding {
                check: "webhook_signature_missing_refused",
                failed: 0,
                warned: 2,
            },
            warned("webhook_tampered_refused"),
            Finding {
                check: "webhook_untimely_refused",
                failed: 0,
                warned: 2,
            },
            warned("webhook_wrong_key_refused"),
        ],
        "{render}"
    );
    for effect in [
        "webhook_refused_no_effect",
        "webhook_duplicate_one_effect",
        "webhook_stale_state_ignored",
    ] {
        let check = report.check(effect).unwrap();
        assert_eq!(check.verdict(), "skipped", "{render}");
        let reason = check.skip_reason.as_deref().unwrap();
        assert!(reason.contains("did not show SENT"), "{reason}");
    }
    // Each finding can be sent again; the key is named, never written.
    let failure = &report.check("webhook_tampered_refused").unwrap().warnings[0];
    let curl = failure.curl.as_deref().unwrap();
    assert!(curl.contains("$RAFIKI_WEBHOOK_SIGNING_KEY"), "{curl}");
    assert!(
        curl.contains("signed='"),
        "the signed body and the sent one: {curl}"
    );
    assert!(
        failure.actual.contains("verified with <signing key>"),
        "{render}"
    );
    for text in [report.json(), report.junit(), render] {
        assert!(!text.contains(KEY), "{text}");
    }
}

#[tokio::test]
async fn against_a_receiver_that_refuses_everything_nothing_refused_counts() {
    let url = serve(Router::new().fallback(|| async { StatusCode::UNAUTHORIZED })).await;
    let report = check_receiver(&WebhookConfig::new(url, KEY)).await.unwrap();
    let render = report.render();
    let accepted = report.check("webhook_signed_accepted").unwrap();
    assert!(accepted.failed >= 3 && accepted.passed == 0, "{render}");
    assert!(report.failed());
    // Refusing a forgery shows nothing when genuine events are refused too.
    for name in [
        "webhook_tampered_refused",
        "webhook_wrong_key_refused",
        "webhook_signature_missing_refused",
        "webhook_untimely_refused",
        "webhook_duplicate_acknowledged",
    ] {
        let check = report.check(name).unwrap();
        assert_eq!(check.verdict(), "skipped", "{name}: {render}");
        assert_eq!(check.passed, 0, "{name}: {render}");
    }
}

/// Runs the binary with `args`, the key in its environment.
async fn contract(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_rafiki-contract"))
        .args(args)
        .env("RAFIKI_WEBHOOK_SIGNING_KEY", KEY)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_binary_exits_1_on_a_bug_0_when_clean_2_when_nothing_listens() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let junit = dir.path().join("report.xml");
    let buggy = receiver(ReceiverBugs {
        no_signature_check: true,
        ..ReceiverBugs::default()
    })
    .await;
    let (target, observe) = (buggy.webhook_url(), buggy.view_template());
    let output = contract(&[
        "webhooks",
        "--target",
        &target,
        "--observe",
        &observe,
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("✗ webhook_refused_no_effect"), "{stdout}");
    let json_text = std::fs::read_to_string(&json).unwrap();
    let junit_text = std::fs::read_to_string(&junit).unwrap();
    for (what, text) in [
        ("stdout", &*stdout),
        ("stderr", &*stderr),
        ("--json", &json_text),
        ("--junit", &junit_text),
    ] {
        assert!(!text.contains(KEY), "the key is in {what}: {text}");
    }
    // The report is the suite's, and keeps to its published schema.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/report.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let report: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(problems.is_empty(), "{problems:?}");
    assert!(junit_text.contains("webhook_signature_missing_refused"));

    let clean = receiver(ReceiverBugs::default()).await;
    let output = contract(&["webhooks", "--target", &clean.webhook_url()]).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");

    // Nothing listens on a port just freed.
    let freed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhooks", freed.local_addr().unwrap());
    drop(freed);
    let output = contract(&["webhooks", "--target", &url]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "rafiki-contract webhooks: cannot reach the receiver at {url}"
        )),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

/// A receiver that verifies the signature over `over` (with the test
/// key, no tolerance), answers a verified event after `delay`, and
/// refuses with 409 an event older than one it has seen for the payout.
async fn reading_receiver(over: SignedText, delay: Duration) -> String {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let newest: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let app = Router::new().fallback(
        move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let newest = newest.clone();
            async move {
                let header = headers
                    .get("x-rafiki-webhook-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let t = header
                    .strip_prefix("t=")
                    .and_then(|rest| rest.split(',').next())
                    .and_then(|t| t.parse::<i64>().ok());
                let genuine = t.is_some_and(|t| over.header(KEY, t, &body) == header);
                if !genuine {
                    return StatusCode::UNAUTHORIZED;
                }
                tokio::time::sleep(delay).await;
                let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let payout = event["data"]["id"].as_str().unwrap_or_default().to_string();
                let at = event["created_at"].as_str().unwrap_or_default().to_string();
                let mut newest = newest.lock().unwrap();
                match newest.get(&payout) {
                    Some(seen) if *seen > at => StatusCode::CONFLICT,
                    _ => {
                        newest.insert(payout, at);
                        StatusCode::OK
                    }
                }
            }
        },
    );
    format!("{}/hook", serve(app).await)
}

/// The provider does not say what the digest is made over: a receiver of
/// another reading is warned once, then checked its way (its forgeries
/// refused pass); a late event refused and an answer after --timeout warn.
#[tokio::test]
async fn another_reading_of_the_signature_a_late_refusal_and_a_slow_answer_only_warn() {
    let url = reading_receiver(SignedText::Body, Duration::ZERO).await;
    let report = check_receiver(&WebhookConfig::new(url, KEY)).await.unwrap();
    let render = report.render();
    let accepted = report.check("webhook_signed_accepted").unwrap();
    assert_eq!((accepted.failed, accepted.warned), (0, 2), "{render}");
    assert!(
        accepted.warnings[0].expected.contains("the raw body alone"),
        "{render}"
    );
    assert!(
        accepted.warnings[1].expected.contains("comes late"),
        "{render}"
    );
    for name in [
        "webhook_tampered_refused",
        "webhook_wrong_key_refused",
        "webhook_signature_missing_refused",
    ] {
        let check = report.check(name).unwrap();
        assert_eq!(check.verdict(), "passed", "{name}: {render}");
    }
    assert!(!report.failed(), "{render}");

    // Our own reading, answered after the timeout: a warning, not a failure.
    let slow = reading_receiver(SignedText::TimestampDotBody, Duration::from_millis(600)).await;
    let mut config = WebhookConfig::new(slow, KEY);
    config.timeout = Duration::from_millis(300);
    let report = check_receiver(&config).await.unwrap();
    let accepted = report.check("webhook_signed_accepted").unwrap();
    assert!(
        accepted.warned > 0 && accepted.failed == 0,
        "{}",
        report.render()
    );
    assert!(
        accepted.warnings[0].expected.contains("names no time"),
        "{}",
        report.render()
    );
}
