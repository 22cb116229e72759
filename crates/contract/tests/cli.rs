//! The binary as CI uses it: exit codes, one-line errors, report files.

mod common;

use std::process::Output;

use axum::Router;
use axum::routing::get;
use common::{contract, failing_server, quick_run, serve};

/// The one line an error gets on stderr (after the progress line that
/// names the server, when the run got that far).
fn stderr_line(output: &Output) -> String {
    let text: String = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| !line.starts_with("rafiki-contract: checking "))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "one clear line, got: {text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    text
}

#[test]
fn an_unwritable_report_path_stops_the_run_before_any_request() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    let base_url = serve(Router::new().fallback(move || {
        seen.fetch_add(1, Ordering::SeqCst);
        async { axum::Json(serde_json::json!({"data": []})) }
    }));
    for flag in ["--json", "--junit"] {
        let output = quick_run(&base_url, &[flag, "/proc/nope/report"]);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let line = stderr_line(&output);
        assert!(
            line.contains(&format!("cannot write the {flag} file /proc/nope/report")),
            "{line}"
        );
    }
    // The proxy's files too, before it probes its upstream.
    for flag in ["--json", "--junit", "--record"] {
        let proxy = ["proxy", "--upstream", &base_url, "--port", "0"];
        let output =
            contract(&[&proxy[..], &[flag, "/proc/nope/report", "--duration", "1"]].concat());
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let line = stderr_line(&output);
        assert!(
            line.contains(&format!("cannot write the {flag} file")),
            "{line}"
        );
    }
    assert_eq!(requests.load(Ordering::SeqCst), 0, "a request was sent");
}

#[test]
fn default_run_checks_the_embedded_mock_and_writes_reports() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let output = contract(&[
        "run",
        "--max-examples",
        "10",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");

    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML parses");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), rafiki_contract::CHECKS.len());
    assert!(cases.iter().all(|c| c.attribute("name").is_some()));
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        0
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        report["checks"].as_array().unwrap().len(),
        rafiki_contract::CHECKS.len()
    );
}

/// The `N` of "N requests in" in a rendered report.
fn requests_in(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.contains(" requests in "))
        .unwrap();
    line.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn failures_print_as_found_and_fail_fast_stops_at_the_first() {
    let base_url = failing_server();
    let full = quick_run(&base_url, &[]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let json = json.to_str().unwrap();
    let fast = quick_run(&base_url, &["--fail-fast", "--json", json]);
    for output in [&full, &fast] {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stdout}");
        // Told as found on stderr; stdout holds the report alone.
        assert!(stderr.contains("rafiki-contract: ✗ "), "{stderr}");
        assert!(!stdout.contains("rafiki-contract: ✗ "), "{stdout}");
        assert!(stdout.contains("check "), "the table: {stdout}");
        assert!(stdout.contains("first failure found after"), "{stdout}");
    }
    let fast_out = String::from_utf8_lossy(&fast.stdout);
    let fast_err = String::from_utf8_lossy(&fast.stderr);
    let pointer = format!("(full report in {json} and at the end)");
    assert!(fast_err.contains(&pointer), "{fast_err}");
    assert_eq!(
        fast_err.matches("rafiki-contract: ✗ ").count(),
        1,
        "{fast_err}"
    );
    assert!(fast_out.contains("not finished"), "{fast_out}");
    assert!(
        fast_out.contains("--fail-fast stopped the run at its first failure"),
        "{fast_out}"
    );
    let full_out = String::from_utf8_lossy(&full.stdout);
    assert!(
        requests_in(&fast_out) < requests_in(&full_out),
        "--fail-fast sends less: {} vs {}",
        requests_in(&fast_out),
        requests_in(&full_out)
    );
}

#[test]
fn a_failing_server_exits_1_with_junit_failures() {
    let base_url = failing_server();
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let output = quick_run(&base_url, &["--junit", junit.to_str().unwrap()]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failed: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .filter_map(|n| n.parent()?.attribute("name"))
        .collect();
    assert!(failed.contains(&"auth_required"), "{failed:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("Bearer k"),
        "the key never appears in a report"
    );
}

#[test]
fn a_server_that_is_down_exits_2_with_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = contract(&[
        "run",
        "--base-url",
        &format!("http://127.0.0.1:{port}/v1"),
        "--api-key",
        "k",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("cannot reach"));
}

#[test]
fn a_server_that_is_not_this_api_exits_2_with_one_line() {
    let base_url = serve(Router::new().fallback(|| async { "<html>hello</html>" }));
    let output = contract(&["run", "--base-url", &base_url, "--api-key", "k"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("does not look like the Rafiki payouts API"));
}

#[test]
fn usage_problems_exit_2() {
    let production = contract(&[
        "run",
        "--base-url",
        "https://rest.prod.rafiki-api.com/v1",
        "--api-key",
        "k",
    ]);
    assert_eq!(production.status.code(), Some(2));
    assert!(stderr_line(&production).contains("--allow-production"));
    let unknown = contract(&["run", "--checks", "no_such_check"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr_line(&unknown).contains("no_such_check"));
    let no_key = contract(&["run", "--base-url", "http://127.0.0.1:1/v1"]);
    assert_eq!(no_key.status.code(), Some(2));
    assert!(stderr_line(&no_key).contains("--api-key"));
    assert_eq!(
        contract(&["run", "--workers", "many"]).status.code(),
        Some(2)
    );
}

/// The sandbox and production speak HTTPS: the binary must attempt TLS
/// (a plain-HTTP server behind an https:// URL fails the handshake, where
/// a build without TLS would refuse the scheme outright).
#[test]
fn https_urls_are_spoken_with_tls() {
    let plain = serve(Router::new().route("/v1/wallets", get(|| async { "plain" })));
    let https = plain.replace("http://", "https://");
    let output = contract(&["run", "--base-url", &https, "--api-key", "sk_test_x"]);
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(line.contains("cannot reach"), "{line}");
    assert!(!line.contains("scheme is not http"), "{line}");
}

#[test]
fn the_proxy_wraps_a_command_and_reports_when_it_ends() {
    let upstream = failing_server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("proxy.json");
    let proxy = |command: &[&str]| {
        let args = [
            "proxy",
            "--upstream",
            upstream.as_str(),
            "--port",
            "0",
            "--json",
            json.to_str().unwrap(),
            "--",
        ];
        contract(&[&args[..], command].concat())
    };
    // The wrapped command reaches the proxy by RAFIKI_PROXY_URL: what it
    // sends is judged, and the server's undocumented 500s fail the run.
    let output = proxy(&[
        "sh",
        "-c",
        r#"exec "$0" run --base-url "$RAFIKI_PROXY_URL" --api-key k --checks auth_required --max-duration 20"#,
        env!("CARGO_BIN_EXE_rafiki-contract"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("forwarding http://127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("rafiki-contract proxy: ✗ "), "{stdout}");
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(report["requests"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["seed"], serde_json::Value::Null, "nothing to replay");
    // Nothing sent: the session judged nothing, which fails it.
    assert_eq!(proxy(&["true"]).status.code(), Some(1));
    // What was judged held: the command's own exit code.
    let held = proxy(&[
        "sh",
        "-c",
        r#"curl -sf -H "Authorization: Bearer k" "$RAFIKI_PROXY_URL/wallets" >/dev/null || exit 99; exit 3"#,
    ]);
    assert_eq!(
        held.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&held.stdout)
    );
    let said = String::from_utf8_lossy(&held.stderr);
    assert!(
        said.contains("no check failed; exit code 3 is the wrapped command's (`sh` failed)"),
        "{said}"
    );
}

#[test]
fn the_proxy_stops_after_its_duration_and_refuses_a_bad_upstream() {
    let upstream = failing_server();
    let output = contract(&[
        "proxy",
        "--upstream",
        &upstream,
        "--port",
        "0",
        "--duration",
        "1",
    ]);
    // It stopped, having judged nothing: which fails the session.
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("no exchange was judged"), "{stdout}");
    let output = contract(&["proxy", "--upstream", "127.0.0.1:8080", "--port", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("--upstream"));
}

/// Serves `rafiki-mock` with the fault `rule` from a background thread.
fn faulty_mock(rule: &str, keys: [&'static str; 2]) -> String {
    let rule: rafiki_mock::FaultRule = rule.parse().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let mut config = rafiki_mock::Config::for_contract_suite(keys);
                config.faults.rules.push(rule);
                let mock = rafiki_mock::spawn(config).await.unwrap();
                sender.send(mock.base_url().to_string()).unwrap();
                std::future::pending::<()>().await
            })
    });
    receiver.recv().unwrap()
}

/// A failure's replay line, pasted as printed (the keys exported as the
/// run had them), runs that check against the same server and fails it
/// again; without `--base-url` it would check the embedded mock and pass.
#[test]
fn the_printed_replay_line_reproduces_the_failure() {
    let keys = ["sk_test_replay_a", "sk_test_replay_b"];
    let base_url = faulty_mock("list_payouts=502", keys);
    let with_keys = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rafiki-contract"))
            .args(args)
            .env_remove("RAFIKI_BASE_URL")
            .env("RAFIKI_API_KEY", keys[0])
            .env("RAFIKI_API_KEY_2", keys[1])
            .output()
            .unwrap()
    };
    let first = with_keys(&["run", "--base-url", &base_url, "--max-examples", "5"]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay:"))
        .expect("a replay line");
    let (command, comment) = line.split_once('#').expect("the note on keys is a comment");
    assert!(comment.contains("RAFIKI_API_KEY"), "{line}");
    assert!(!line.contains(keys[0]) && !line.contains(keys[1]), "{line}");
    let argv: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(argv[0], "rafiki-contract", "{line}");
    assert!(
        command.contains(&format!("--base-url {base_url}")),
        "{line}"
    );
    let check = argv[argv.iter().position(|a| *a == "--checks").unwrap() + 1];

    let again = with_keys(&argv[1..]);
    let replayed = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(1), "{replayed}");
    assert!(replayed.contains(&format!("✗ {check} — ")), "{replayed}");
}

/// `--api-key-2` is for a second account: the same key, a key the server
/// refuses, or another key of the same account (an account may have
/// several) would fail the checks that compare two accounts for a reason
/// of the run's own making, so the run refuses to start, naming it.
#[test]
fn a_second_key_of_no_second_account_is_refused_before_the_checks() {
    use axum::http::{HeaderMap, StatusCode};
    let wallet = |id: &str| serde_json::json!({"data": [{"id": id, "currency": "KES", "balance": "10.00", "available": "10.00"}]});
    let one_account = serve(Router::new().route(
        "/v1/wallets",
        get(move || async move { axum::Json(wallet("wlt-1")) }),
    ));
    let refuses_the_second = serve(Router::new().route(
        "/v1/wallets",
        get(move |headers: HeaderMap| async move {
            match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some("Bearer k") => Ok(axum::Json(wallet("wlt-1"))),
                _ => Err(StatusCode::UNAUTHORIZED),
            }
        }),
    ));
    let cases = [
        (
            &one_account,
            "k",
            "--api-key-2 is the same key as --api-key",
        ),
        (
            &one_account,
            "sk_second_secret",
            "it lists wallet wlt-1, as --api-key does: either the two are keys of one account",
        ),
        (
            &refuses_the_second,
            "sk_second_secret",
            "refused it (HTTP 401)",
        ),
    ];
    for (base_url, second, said) in cases {
        let output = quick_run(base_url, &["--api-key-2", second]);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let line = stderr_line(&output);
        assert!(line.contains(said), "{line}");
        assert!(
            !line.contains("k2") || said.contains("k2"),
            "no key in: {line}"
        );
    }
}
