//! Shared by the tests that run the `rafiki-contract` binary: running it
//! with a clean environment, serving a throwaway server, and a server that
//! fails almost every check; and by those that run the suite in-process
//! against a mock of their making ([`run_against`]).
#![allow(dead_code)]

use std::process::{Command, Output};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;

/// Runs the binary with `args`, none of its environment variables set.
pub fn contract(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rafiki-contract"))
        .args(args)
        .env_remove("RAFIKI_API_KEY")
        .env_remove("RAFIKI_BASE_URL")
        .env_remove("RAFIKI_API_KEY_2")
        .output()
        .unwrap()
}

/// Serves `app` on an ephemeral port from a background thread.
pub fn serve(app: Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                axum::serve(tokio::net::TcpListener::from_std(listener).unwrap(), app)
                    .await
                    .unwrap()
            })
    });
    base_url
}

/// Looks like the API at /wallets, answers 500 without an envelope elsewhere.
pub fn failing_server() -> String {
    let app = Router::new()
        .route(
            "/v1/wallets",
            get(|| async { axum::Json(json!({"data": []})) }),
        )
        .fallback(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") });
    serve(app)
}

/// A short run (5 examples) against `base_url` with key `k`, plus `extra`.
pub fn quick_run(base_url: &str, extra: &[&str]) -> Output {
    let args = ["run", "--base-url", base_url, "--api-key", "k"];
    contract(&[&args[..], &["--max-examples", "5"], extra].concat())
}

/// The suite run in-process, with both keys of `keys`, against a mock made
/// from `mock` (shut down after), `adjust` setting the run's options.
pub async fn run_against(
    mock: rafiki_mock::Config,
    keys: [&str; 2],
    adjust: impl FnOnce(&mut rafiki_contract::RunConfig),
) -> rafiki_contract::Report {
    let mock = rafiki_mock::spawn(mock).await.unwrap();
    let mut run = rafiki_contract::RunConfig::new(mock.base_url(), keys[0]);
    run.api_key_2 = Some(keys[1].into());
    adjust(&mut run);
    let report = rafiki_contract::run(&run).await.unwrap();
    mock.shutdown().await;
    report
}
