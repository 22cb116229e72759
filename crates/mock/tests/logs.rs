//! Structured request logs name the account by its redacted key, never by
//! the key itself (also when a request panics or is refused).

mod common;

use common::{Captured, KEY, OTHER_KEY, start};

/// This thread's log lines at `level` and above, while the guard lives.
fn capture(level: tracing::Level) -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(level)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn logs_carry_the_redacted_key_only() {
    let (captured, _guard) = capture(tracing::Level::DEBUG);

    let env = start().await;
    let payout = env.create("+254712345678", "150.00").await;
    env.client.get_payout(payout.id.as_str()).await.unwrap();
    common::client(&env.mock, OTHER_KEY)
        .list_wallets()
        .await
        .unwrap();
    let refused = env
        .http
        .get(format!("{}/wallets", env.mock.base_url()))
        .bearer_auth("sk_test_unknown_key_0001")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    env.http
        .get(format!("{}/_sandbox/debug/panic", env.root()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("status=202") && logs.contains("/v1/payouts"),
        "{logs}"
    );
    assert!(
        logs.contains("account=\"sk_…pha\"") && logs.contains("account=\"sk_…ta_\""),
        "{logs}"
    );
    assert!(logs.contains("handler panicked"), "{logs}");
    // Once per line: recording the field twice on the span printed it twice.
    for line in logs.lines() {
        assert!(line.matches("account=").count() <= 1, "{line}");
    }
    assert!(
        logs.lines()
            .any(|l| l.contains("/_sandbox/debug/panic") && l.contains("account=\"sk_…pha\"")),
        "control API requests name their account too:\n{logs}"
    );
    for secret in [KEY, OTHER_KEY, "sk_test_unknown_key_0001"] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}

/// At the default level a refusal is logged and an expected answer is not
/// (`request_log`): a sandbox under load writes no line per GET.
#[tokio::test]
async fn the_default_level_logs_refusals_only() {
    let (captured, _guard) = capture(tracing::Level::INFO);

    let env = start().await;
    let payout = env.create("+254712345678", "150.00").await;
    env.client.get_payout(payout.id.as_str()).await.unwrap();
    let missing = env
        .http
        .get(format!("{}/payouts/pyt-doesnotexist", env.mock.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let answered: Vec<&str> = logs.lines().filter(|l| l.contains("answered")).collect();
    assert_eq!(answered.len(), 1, "one line, the 404's:\n{logs}");
    assert!(
        answered[0].contains("status=404")
            && answered[0].contains("path=/v1/payouts/pyt-doesnotexist")
            && answered[0].contains("account=\"sk_…pha\""),
        "{logs}"
    );
}
