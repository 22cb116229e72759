//! `--workers N` bounds the TCP connections the runner opens: a server
//! that counts the connections open at once (answering at once or a little
//! slowly, and now and then with `Connection: close`) never sees more than
//! N, however many `send`s and `send_together`s run at once, from tasks
//! and from blocking threads. (With reqwest's pool the same test saw 3
//! connections with 2 workers, and 5 with 4, in every run.)

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::http::{Client, Keys, Probe};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// How many `send`s and `send_together`s run at once; every
/// `TOGETHER_EVERY`th is a `send_together` of `workers` probes.
const ROUNDS: usize = 1500;
const TOGETHER_EVERY: usize = 5;
/// Every how many requests the server answers with `Connection: close`.
const CLOSE_EVERY: usize = 5;
/// Every how many requests the answer takes [`SLOW_ANSWER`]; the others
/// come at once (when the race of a request starting just as another
/// ends is closest).
const SLOW_EVERY: usize = 3;
const SLOW_ANSWER: Duration = Duration::from_millis(1);

/// What the server counts.
#[derive(Debug, Default)]
struct Tally {
    /// Connections open now, and the most at once.
    open: AtomicUsize,
    peak: AtomicUsize,
    accepted: AtomicUsize,
    requests: AtomicUsize,
}

/// One connection, counted from its accept until the server has decided
/// to close it (its last answer is not written yet, so the client cannot
/// have closed it) or has seen it closed. The client closes connections
/// here only when it is dropped, at the end, so a connection never counts
/// while the client does not have it open.
struct Counted {
    tally: Arc<Tally>,
    counted: AtomicBool,
}

impl Counted {
    fn new(tally: Arc<Tally>) -> Self {
        tally.accepted.fetch_add(1, Ordering::SeqCst);
        let now = tally.open.fetch_add(1, Ordering::SeqCst) + 1;
        tally.peak.fetch_max(now, Ordering::SeqCst);
        Counted {
            tally,
            counted: AtomicBool::new(true),
        }
    }

    fn uncount(&self) {
        if self.counted.swap(false, Ordering::SeqCst) {
            self.tally.open.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A server on `127.0.0.1:0` that counts into `tally`; its base URL.
async fn serve(tally: Arc<Tally>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let connection = Arc::new(Counted::new(tally.clone()));
            let service = service_fn({
                let (tally, connection) = (tally.clone(), connection.clone());
                move |_request| {
                    let number = tally.requests.fetch_add(1, Ordering::SeqCst) + 1;
                    let connection = connection.clone();
                    async move {
                        if number % SLOW_EVERY == 0 {
                            tokio::time::sleep(SLOW_ANSWER).await;
                        }
                        let body = Bytes::from_static(br#"{"data": []}"#);
                        let mut response = Response::new(Full::new(body));
                        let headers = response.headers_mut();
                        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                        if number % CLOSE_EVERY == 0 {
                            connection.uncount();
                            headers.insert(CONNECTION, HeaderValue::from_static("close"));
                        }
                        Ok::<_, Infallible>(response)
                    }
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                connection.uncount();
            });
        }
    });
    base_url
}

/// Runs [`ROUNDS`] at once through a client with `workers`.
async fn peak_connections(workers: usize) {
    let tally = Arc::new(Tally::default());
    let base_url = serve(tally.clone()).await;
    let keys = Keys {
        primary: "k".into(),
        secondary: None,
    };
    let client = Arc::new(Client::new(
        &base_url,
        keys,
        Duration::from_secs(10),
        None,
        workers,
    ));
    let probe = || Probe::get("list_wallets", "/wallets");
    let mut tasks = Vec::new();
    for round in 0..ROUNDS {
        let client = client.clone();
        let exchanges = async move {
            if round % TOGETHER_EVERY == 0 {
                client.send_together(vec![probe(); workers]).await
            } else {
                vec![client.send(probe()).await]
            }
        };
        // As the runner's property checks do: some from blocking threads.
        tasks.push(if round % 2 == 0 {
            tokio::spawn(exchanges)
        } else {
            let runtime = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || runtime.block_on(exchanges))
        });
    }
    let mut answered = 0;
    for task in tasks {
        for exchange in task.await.unwrap() {
            assert_eq!(exchange.status(), 200, "{}", exchange.summary());
            answered += 1;
        }
    }
    let togethers = ROUNDS / TOGETHER_EVERY;
    assert_eq!(answered, ROUNDS - togethers + togethers * workers);
    let peak = tally.peak.load(Ordering::SeqCst);
    let accepted = tally.accepted.load(Ordering::SeqCst);
    assert!(
        peak <= workers,
        "{peak} connections open at once with {workers} workers"
    );
    // Connections were kept for the next request, and closed when the
    // server said so.
    assert!(
        accepted < answered / 2,
        "{accepted} connections for {answered} requests"
    );
    assert!(
        accepted >= answered / CLOSE_EVERY,
        "{accepted} connections for {answered} requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_never_open_more_than_two_connections() {
    peak_connections(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_never_open_more_than_four_connections() {
    peak_connections(4).await;
}
