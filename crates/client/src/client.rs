//! [`RafikiClient`]: the generated client, configured the way production
//! code needs it (Bearer auth, timeouts, user agent), with one typed method
//! per operation that answers with [`Error`] instead of progenitor's error.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use crate::generated::{self, types};
use crate::validation::{KnownAccounts, validate_payment_account};
use crate::{ApiKey, Error, RetryPolicy};

/// The sandbox's base URL.
pub const SANDBOX_URL: &str = "https://rest.sandbox.rafiki-api.com/v1";

/// The default user agent: this crate and its version.
pub const USER_AGENT: &str = concat!("rafiki-client/", env!("CARGO_PKG_VERSION"));

/// A configured client for one account (one API key) on one server.
///
/// Cheap to clone (the connection pool is shared). Its `Debug` output never
/// shows the API key.
#[derive(Clone)]
pub struct RafikiClient {
    pub(crate) inner: generated::Client,
    pub(crate) base_url: String,
    pub(crate) retry: RetryPolicy,
    /// The payment accounts seen, for pre-validation; `None` when it is off.
    pub(crate) known_accounts: Option<Arc<KnownAccounts>>,
}

/// Builds a [`RafikiClient`]; see [`RafikiClient::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    api_key: ApiKey,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    retry: RetryPolicy,
    validate_requests: bool,
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("base URL `{0}` is not an absolute http(s) URL")]
    BaseUrl(String),
    #[error("the API key is empty")]
    EmptyKey,
    #[error("the API key contains characters not allowed in an HTTP header")]
    KeyNotAHeaderValue,
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl ClientBuilder {
    /// The whole-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The TCP/TLS connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` header (default `rafiki-client/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How [`RafikiClient::create_payout`] retries (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Whether `create_payout` and `get_or_create_payment_account` check
    /// the request offline first and refuse, without a request, what the
    /// documented contract refuses (default `true`; see
    /// [`validate_payout`](crate::validate_payout)). Turn it off to send
    /// every request as given, e.g. to test a server's own validation.
    pub fn validate_requests(mut self, on: bool) -> Self {
        self.validate_requests = on;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<RafikiClient, BuildError> {
        let base_url = self.base_url.trim_end_matches('/').to_string();
        let parsed =
            reqwest::Url::parse(&base_url).map_err(|_| BuildError::BaseUrl(base_url.clone()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(BuildError::BaseUrl(base_url));
        }
        if self.api_key.expose().is_empty() {
            return Err(BuildError::EmptyKey);
        }
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", self.api_key.expose()))
            .map_err(|_| BuildError::KeyNotAHeaderValue)?;
        // Sensitive values are printed as "Sensitive" by reqwest/http.
        bearer.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, bearer);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent)
            .build()?;
        Ok(RafikiClient {
            inner: generated::Client::new_with_client(&base_url, http),
            base_url,
            retry: self.retry,
            known_accounts: self
                .validate_requests
                .then(|| Arc::new(KnownAccounts::default())),
        })
    }
}

impl RafikiClient {
    /// Starts building a client for `base_url` (e.g. [`SANDBOX_URL`]).
    pub fn builder(base_url: impl Into<String>, api_key: impl Into<ApiKey>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            api_key: api_key.into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            user_agent: USER_AGENT.to_string(),
            retry: RetryPolicy::default(),
            validate_requests: true,
        }
    }

    /// A client with every default.
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<ApiKey>,
    ) -> Result<Self, BuildError> {
        Self::builder(base_url, api_key).build()
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The generated client, for anything this layer does not wrap.
    pub fn generated(&self) -> &generated::Client {
        &self.inner
    }

    /// `GET /banks`.
    pub async fn list_banks(&self) -> Result<Vec<types::Bank>, Error> {
        let page = self.inner.list_banks().send().await;
        Ok(answer(page).await?.data)
    }

    /// `GET /wallets`.
    pub async fn list_wallets(&self) -> Result<Vec<types::Wallet>, Error> {
        let wallets = self.inner.list_wallets().send().await;
        Ok(answer(wallets).await?.data)
    }

    /// `GET /payouts/{id}`.
    pub async fn get_payout(&self, id: &str) -> Result<types::Payout, Error> {
        let payout = self.inner.get_payout().id(id).send().await;
        Ok(answer(payout).await?.data)
    }

    /// `POST /payment-accounts`: the account, and whether it was created
    /// now (201) rather than found (200). Checked first (see
    /// [`ClientBuilder::validate_requests`]).
    pub async fn get_or_create_payment_account(
        &self,
        request: &types::PaymentAccountRequest,
    ) -> Result<(types::PaymentAccount, bool), Error> {
        if self.known_accounts.is_some() {
            validate_payment_account(request)?;
        }
        let response = self
            .inner
            .get_or_create_payment_account()
            .body(request.clone())
            .send()
            .await;
        match response {
            Ok(value) => {
                let created = value.status() == reqwest::StatusCode::CREATED;
                let account = value.into_inner().data;
                self.learn(&account);
                Ok((account, created))
            }
            Err(e) => Err(Error::from_generated(e).await),
        }
    }
}

impl RafikiClient {
    /// Remembers where a payment account sends money, so that payouts to it
    /// get their amount limits checked before sending.
    pub(crate) fn learn(&self, account: &types::PaymentAccount) {
        if let Some(known) = &self.known_accounts {
            known.learn(account);
        }
    }

    /// The pre-validation of a payout, when it is on.
    pub(crate) fn check_payout(&self, request: &types::PayoutCreateRequest) -> Result<(), Error> {
        match &self.known_accounts {
            Some(known) => known.validate_payout(request),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for RafikiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RafikiClient")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("retry", &self.retry)
            .field("validate_requests", &self.known_accounts.is_some())
            .finish()
    }
}

/// Unwraps a generated call's answer into its body or a typed [`Error`].
pub(crate) async fn answer<T>(
    result: Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<types::Error>>,
) -> Result<T, Error> {
    match result {
        Ok(value) => Ok(value.into_inner()),
        Err(e) => Err(Error::from_generated(e).await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_key() {
        let client = RafikiClient::new("http://127.0.0.1:9/v1/", "sk_test_do_not_print").unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9/v1");
        for text in [format!("{client:?}"), format!("{:?}", client.generated())] {
            assert!(!text.contains("do_not_print"), "{text}");
        }
    }

    #[test]
    fn bad_configuration_is_named() {
        let base = RafikiClient::new("rest.sandbox.rafiki-api.com/v1", "k").unwrap_err();
        assert!(
            base.to_string().contains("rest.sandbox.rafiki-api.com/v1"),
            "{base}"
        );
        assert!(matches!(
            RafikiClient::new(SANDBOX_URL, "  "),
            Err(BuildError::EmptyKey)
        ));
        assert!(matches!(
            RafikiClient::new(SANDBOX_URL, "a\nb"),
            Err(BuildError::KeyNotAHeaderValue)
        ));
    }
}
