//! The client against tiny in-process servers on `127.0.0.1:0`: pacing,
//! timeouts and cancellation, the cap across origins, and proxies.

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::*;

/// What a test server saw, in order.
#[derive(Debug)]
enum Seen {
    Opened,
    Request(Box<hyper::http::request::Parts>),
    Closed,
}

/// How a test server answers a request.
#[derive(Clone, Copy)]
enum Answering {
    /// 200 with `{}`.
    Ok,
    /// 407, as a proxy that wants credentials.
    ProxyAuthRequired,
    /// 429 with `Retry-After: 0` to the first `n` requests, then 200.
    LimitedFirst(u32),
    /// As `LimitedFirst(n)`, then one 502 (`Retry-After: 0`), then 200.
    LimitedThenGateway(u32),
    /// 200 to the first request of each connection; a later one on it has
    /// the connection closed under it, unanswered: a server whose
    /// keep-alive ran out as the request came.
    OnePerConnection,
}

/// A server on `127.0.0.1:0`; its base URL (`http://127.0.0.1:port`), and
/// what it sees. A request to `/never` is never answered.
async fn serve(answering: Answering) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (seen, seeing) = mpsc::unbounded_channel();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            let _ = seen.send(Seen::Opened);
            let on_connection = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
            let service = service_fn({
                let (seen, answered) = (seen.clone(), answered.clone());
                move |request: Request<Incoming>| {
                    let earlier = answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let before_on_connection =
                        on_connection.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let (parts, _) = request.into_parts();
                    let never = parts.uri.path() == "/never";
                    let _ = seen.send(Seen::Request(Box::new(parts)));
                    async move {
                        if never {
                            std::future::pending::<()>().await;
                        }
                        if matches!(answering, Answering::OnePerConnection)
                            && before_on_connection > 0
                        {
                            return Err(std::io::Error::other("keep-alive ran out"));
                        }
                        let status = match answering {
                            Answering::Ok | Answering::OnePerConnection => 200,
                            Answering::ProxyAuthRequired => 407,
                            Answering::LimitedFirst(n) if earlier < n => 429,
                            Answering::LimitedFirst(_) => 200,
                            Answering::LimitedThenGateway(n) if earlier < n => 429,
                            Answering::LimitedThenGateway(n) if earlier == n => 502,
                            Answering::LimitedThenGateway(_) => 200,
                        };
                        let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
                        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        if matches!(status, 429 | 502) {
                            response
                                .headers_mut()
                                .insert("retry-after", HeaderValue::from_static("0"));
                        }
                        Ok::<_, std::io::Error>(response)
                    }
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                let _ = seen.send(Seen::Closed);
            });
        }
    });
    (url, seeing)
}

fn keys() -> Keys {
    Keys {
        primary: "k".into(),
        secondary: None,
    }
}

/// A client of `base_url` with `workers`, through the proxies `proxies` names.
fn client(base_url: &str, workers: usize, proxies: Matcher) -> Client {
    Client::new(base_url, keys(), Duration::from_secs(5), None, workers).with_proxies(proxies)
}

fn no_proxies() -> Matcher {
    Matcher::builder().build()
}

/// The requests among `seen` so far, and how many connections opened and
/// closed.
fn tally(
    seen: &mut mpsc::UnboundedReceiver<Seen>,
) -> (Vec<hyper::http::request::Parts>, usize, usize) {
    let (mut requests, mut opened, mut closed) = (Vec::new(), 0, 0);
    while let Ok(event) = seen.try_recv() {
        match event {
            Seen::Opened => opened += 1,
            Seen::Request(parts) => requests.push(*parts),
            Seen::Closed => closed += 1,
        }
    }
    (requests, opened, closed)
}

#[tokio::test]
async fn rate_limit_spaces_requests_out() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base_url = format!("http://127.0.0.1:{port}/v1");
    let client = Client::new(&base_url, keys(), Duration::from_secs(1), Some(50), 4)
        .with_proxies(no_proxies());
    let started = Instant::now();
    for _ in 0..6 {
        let exchange = client.send(Probe::get("list_wallets", "/wallets")).await;
        assert!(exchange.answer.is_err(), "nothing listens there");
    }
    // 6 requests at 50/s: the last leaves at least 5 gaps of 20 ms after the first.
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(client.requests_sent(), 6);
}

#[tokio::test]
async fn a_429_is_sent_again_unchanged_and_counted_not_answered() {
    let (url, mut seen) = serve(Answering::LimitedFirst(2)).await;
    let client = client(&format!("{url}/v1"), 2, no_proxies());
    let probe = Probe::create_payout(serde_json::json!({"a": 1}));
    let key = probe.idempotency_key.clone().unwrap();
    let exchange = client.send(probe).await;
    assert_eq!(exchange.status(), 200, "{}", exchange.summary());
    assert!(!exchange.unjudged);
    let (requests, _, _) = tally(&mut seen);
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.headers["x-idempotency-key"], key.as_str());
    }
    let limited = client.limited();
    assert_eq!((limited.answers, limited.gave_up), (2, 0));
    assert!(limited.slowest_rate.is_some());
}

/// A gateway's blip is sent again however often the request was rate
/// limited before: the 429s do not use up its gateway retries.
#[tokio::test]
async fn a_gateway_blip_after_429s_is_sent_again() {
    let (url, mut seen) = serve(Answering::LimitedThenGateway(3)).await;
    let client = client(&format!("{url}/v1"), 2, no_proxies());
    let exchange = client.send(Probe::get("list_wallets", "/wallets")).await;
    assert_eq!(exchange.status(), 200, "{}", exchange.summary());
    let (requests, _, _) = tally(&mut seen);
    assert_eq!(requests.len(), 5);
}

#[tokio::test]
async fn a_request_limited_past_the_bound_is_given_up_unjudged() {
    let (url, mut seen) = serve(Answering::LimitedFirst(u32::MAX)).await;
    // From 1,000 requests a second, halving at each 429 costs half a second.
    let client = Client::new(
        &format!("{url}/v1"),
        keys(),
        Duration::from_secs(5),
        Some(1000),
        1,
    )
    .with_proxies(no_proxies());
    let exchange = client.send(Probe::get("list_wallets", "/wallets")).await;
    let why = exchange.unjudged_because().expect("given up");
    assert!(why.contains("still rate limited (HTTP 429)"), "{why}");
    let (requests, _, _) = tally(&mut seen);
    assert_eq!(requests.len(), RATE_LIMITED_TRIES as usize);
    assert_eq!(client.limited().gave_up, 1);
}

#[tokio::test]
async fn requests_carry_host_user_agent_and_the_origin_form() {
    let (url, mut seen) = serve(Answering::Ok).await;
    let client = client(&format!("{url}/v1"), 1, no_proxies());
    let probe = Probe::create_payout(serde_json::json!({"a": 1})).query("x", "a b");
    let exchange = client.send(probe).await;
    assert_eq!(exchange.status(), 200, "{}", exchange.summary());
    assert_eq!(exchange.json(), Some(&serde_json::json!({})));
    let (requests, _, _) = tally(&mut seen);
    let request = &requests[0];
    assert_eq!(request.method, hyper::Method::POST);
    assert_eq!(request.uri, "/v1/payouts?x=a+b");
    let header = |name: &str| request.headers[name].to_str().unwrap().to_string();
    assert_eq!(header("host"), url.trim_start_matches("http://"));
    assert_eq!(header("user-agent"), USER_AGENT_VALUE);
    assert_eq!(header("authorization"), "Bearer k");
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("content-length"), "7");
    assert!(request.headers.contains_key("x-idempotency-key"));
}

#[tokio::test]
async fn a_path_a_url_parser_would_change_is_sent_as_it_parses() {
    let (url, mut seen) = serve(Answering::Ok).await;
    let client = client(&format!("{url}/v1"), 1, no_proxies());
    for (target, sent) in [
        ("/payouts/a b", "/v1/payouts/a%20b"),
        ("/payouts/../wallets", "/v1/wallets"),
        ("/payouts/pyt-1", "/v1/payouts/pyt-1"),
    ] {
        let exchange = client.send(Probe::get("get_payout", target)).await;
        assert_eq!(exchange.status(), 200, "{}", exchange.summary());
        let (request, _) = next_request(&mut seen).await;
        assert_eq!(request.uri, sent, "{target}");
    }
}

#[tokio::test]
async fn a_key_no_header_can_carry_is_named_not_sent() {
    let client = Client::new(
        "http://127.0.0.1:9/v1",
        Keys {
            primary: "k\nX-Injected: 1".into(),
            secondary: None,
        },
        Duration::from_secs(5),
        None,
        1,
    );
    let exchange = client.send(Probe::get("list_wallets", "/wallets")).await;
    let Err(why) = &exchange.answer else {
        panic!("sent: {}", exchange.summary());
    };
    assert!(why.contains("API key"), "{why}");
    assert!(
        !format!("{exchange:?}").contains("X-Injected"),
        "{exchange:?}"
    );
}

/// Waits for the next request `seen`; it, and how many connections
/// opened before it.
async fn next_request(
    seen: &mut mpsc::UnboundedReceiver<Seen>,
) -> (hyper::http::request::Parts, usize) {
    let mut opened = 0;
    loop {
        match seen.recv().await.expect("the server runs") {
            Seen::Opened => opened += 1,
            Seen::Request(parts) => return (*parts, opened),
            Seen::Closed => {}
        }
    }
}

#[tokio::test]
async fn a_read_a_kept_alive_connection_ends_under_goes_again_on_a_new_one() {
    let (url, mut seen) = serve(Answering::OnePerConnection).await;
    let client = client(&format!("{url}/v1"), 1, no_proxies());
    for _ in 0..3 {
        let exchange = client.send(Probe::get("list_wallets", "/wallets")).await;
        assert_eq!(exchange.status(), 200, "{}", exchange.summary());
    }
    // Each read after the first met its connection's end, and went again.
    let (requests, opened, _) = tally(&mut seen);
    assert_eq!((requests.len(), opened), (5, 3));
}

#[tokio::test]
async fn a_timed_out_or_cancelled_exchange_does_not_reuse_its_connection() {
    let (url, mut seen) = serve(Answering::Ok).await;
    let client =
        Client::new(&url, keys(), Duration::from_millis(200), None, 1).with_proxies(no_proxies());
    let exchange = client.send(Probe::get("never", "/never")).await;
    assert_eq!(
        exchange.answer.unwrap_err(),
        "no whole answer within 0.2 s (--request-timeout; raise it for a slow server)"
    );
    assert_eq!(tally(&mut seen).1, 1);

    // Cancelled (the future dropped) once the server has the request.
    tokio::select! {
        _ = client.send(Probe::get("never", "/never")) => panic!("never answered"),
        (request, opened) = next_request(&mut seen) => {
            assert_eq!(request.uri, "/never");
            assert_eq!(opened, 1, "the timed-out exchange's connection is not reused");
        }
    }

    // With one worker, the next request can only have a connection when
    // the cancelled one no longer counts, and it is a new one.
    let exchange = client.send(Probe::get("list_wallets", "/wallets")).await;
    assert_eq!(exchange.status(), 200, "{}", exchange.summary());
    let (requests, opened, _) = tally(&mut seen);
    assert_eq!((requests.len(), opened), (1, 1));
}

#[tokio::test]
async fn a_full_url_goes_to_its_own_origin_and_the_cap_holds_across_origins() {
    let (base, mut base_seen) = serve(Answering::Ok).await;
    let (other, mut other_seen) = serve(Answering::Ok).await;
    let client = client(&base, 1, no_proxies());
    for round in 0..2 {
        for target in ["/wallets".to_string(), format!("{other}/next")] {
            let exchange = client.send(Probe::get("list_wallets", target)).await;
            assert_eq!(
                exchange.status(),
                200,
                "round {round}: {}",
                exchange.summary()
            );
        }
    }
    let (requests, opened, _) = tally(&mut other_seen);
    assert_eq!((requests.len(), opened), (2, 2));
    assert!(requests.iter().all(|r| r.uri == "/next"));
    // One worker: each switch of origin closed the idle connection to the
    // base before opening one to the other origin, so the base sees both
    // of its connections closed (by the client: the server keeps them).
    let both_closed = async {
        let mut closed = 0;
        while closed < 2 {
            if let Seen::Closed = base_seen.recv().await.expect("the server runs") {
                closed += 1;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), both_closed)
        .await
        .expect("both closed");
}

#[tokio::test]
async fn a_plain_http_origin_behind_a_proxy_is_asked_for_through_it() {
    let (proxy, mut seen) = serve(Answering::Ok).await;
    let proxy_with_user = proxy.replace("http://", "http://user:secret@");
    let proxies = Matcher::builder().http(proxy_with_user).build();
    let client = client("http://payouts.example/v1", 1, proxies);
    let exchange = client.send(Probe::get("list_wallets", "/wallets")).await;
    assert_eq!(exchange.status(), 200, "{}", exchange.summary());
    let (requests, _, _) = tally(&mut seen);
    let request = &requests[0];
    assert_eq!(request.uri, "http://payouts.example/v1/wallets");
    assert_eq!(request.headers["host"], "payouts.example");
    // `user:secret`, base64.
    assert_eq!(
        request.headers["proxy-authorization"],
        "Basic dXNlcjpzZWNyZXQ="
    );
}

#[tokio::test]
async fn an_https_origin_behind_a_proxy_is_tunnelled_to() {
    let (proxy, mut seen) = serve(Answering::ProxyAuthRequired).await;
    let proxies = Matcher::builder().https(proxy).build();
    let client = client("https://payouts.example:8443/v1", 1, proxies);
    let exchange = client.send(Probe::get("list_wallets", "/wallets")).await;
    assert_eq!(
        exchange.answer.unwrap_err(),
        "cannot connect to https://payouts.example:8443: tunnel error: proxy authorization required"
    );
    let (requests, _, _) = tally(&mut seen);
    let request = &requests[0];
    assert_eq!(request.method, hyper::Method::CONNECT);
    assert_eq!(request.uri, "payouts.example:8443");
    assert_eq!(request.headers["user-agent"], USER_AGENT_VALUE);
}

#[tokio::test]
async fn no_proxy_sends_straight_to_the_origin() {
    let (url, mut seen) = serve(Answering::Ok).await;
    let proxies = Matcher::builder()
        .all("http://127.0.0.1:9")
        .no("127.0.0.1")
        .build();
    let client = client(&url, 1, proxies);
    let exchange = client.send(Probe::get("list_wallets", "/wallets")).await;
    assert_eq!(exchange.status(), 200, "{}", exchange.summary());
    assert_eq!(tally(&mut seen).0[0].uri, "/wallets");
}
