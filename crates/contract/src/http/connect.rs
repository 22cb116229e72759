//! Opening connections: TCP, and TLS for https (the system's root
//! certificates). The validating proxy (`crate::proxy::forward`) reaches
//! its upstream this way.

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;

/// TCP for `http` and `https` URIs alike, with `TCP_NODELAY`: a request
/// leaves at once instead of waiting to fill a segment.
pub(crate) fn tcp() -> HttpConnector {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp
}

/// `inner`'s connections, in TLS when the URI is `https` (checked against
/// the system's root certificates; HTTP/1 only).
pub(crate) fn https_over<C>(inner: C) -> std::io::Result<HttpsConnector<C>> {
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .wrap_connector(inner))
}
