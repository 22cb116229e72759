//! The router, the server task and [`MockHandle`].

use std::any::Any;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, Uri};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;

use crate::commit::WriteFailed;
use crate::config::{Config, ConfigError, OtherBody, UpperBound};
use crate::durable::{self, StateError, StateFile};
use crate::errors::ApiError;
use crate::extract::{RouteBodyLimit, account_of};
use crate::faults::FaultPlan;
use crate::operation::Operation;
use crate::store::{Persistence, Store};
use crate::webhooks::WebhookFaultPlan;
use crate::{conn, control, routes, scheduler};

/// Largest snapshot `PUT /_sandbox/snapshot` takes: an account's whole
/// state, far above a request's limit.
const SNAPSHOT_BODY_LIMIT: usize = 256 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub(crate) store: Arc<Store>,
    pub(crate) public_base_url: Option<String>,
    pub(crate) local_addr: SocketAddr,
    pub(crate) body_limit: usize,
    /// [`Config::lenient_amounts`].
    pub(crate) lenient_amounts: bool,
    /// [`Config::default_page_size`].
    pub(crate) default_page_size: u32,
    /// [`Config::other_body_with_used_key`].
    pub(crate) other_body: OtherBody,
    /// [`Config::created_at_to`].
    pub(crate) created_at_to: UpperBound,
    /// [`Config::recipient_outages`].
    pub(crate) recipient_outages: bool,
    /// [`Config::check_branches`].
    pub(crate) check_branches: bool,
    /// [`Config::branch_required`].
    pub(crate) branch_required: bool,
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The state file was refused ([`Config::state_file`]).
    #[error(transparent)]
    State(#[from] StateError),
    /// The state file could not be written.
    #[error(transparent)]
    Write(#[from] WriteFailed),
}

/// A running server. Dropping it stops the server (like
/// [`MockHandle::shutdown`], without waiting).
pub struct MockHandle {
    addr: SocketAddr,
    base_url: String,
    store: Arc<Store>,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    scheduler: Option<JoinHandle<()>>,
    /// With [`Config::state_file`].
    state_file: Option<Arc<StateFile>>,
}

/// Starts a server on `127.0.0.1` and an ephemeral port.
pub async fn spawn(config: Config) -> Result<MockHandle, StartError> {
    spawn_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
}

/// Starts a server on `addr` (port 0: an ephemeral one).
pub async fn spawn_on(config: Config, addr: SocketAddr) -> Result<MockHandle, StartError> {
    config.validate()?;
    let state_file = match &config.state_file {
        Some(path) => Some(Arc::new(durable::open(path)?)),
        None => None,
    };
    let store = Arc::new(Store::build(
        &config,
        state_file.as_deref().map(|f| f as &dyn Persistence),
    ));
    if let Some(file) = &state_file {
        let unclaimed = durable::unclaimed(file);
        if unclaimed > 0 {
            tracing::info!(
                unclaimed,
                "the state file holds accounts of API keys not configured now (kept as they are)"
            );
        }
        // New accounts' seeded wallets and endpoints: on disk before serving.
        if let Err(failed) = store.settled().await {
            file.close();
            return Err(failed.into());
        }
    }
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(source) => {
            if let Some(file) = &state_file {
                file.close();
            }
            return Err(StartError::Bind { addr, source });
        }
    };
    let local_addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;
    store.start_webhooks();
    let state = AppState {
        store: store.clone(),
        public_base_url: config.public_base_url.clone(),
        local_addr,
        body_limit: config.body_limit,
        lenient_amounts: config.lenient_amounts,
        other_body: config.other_body_with_used_key,
        created_at_to: config.created_at_to,
        recipient_outages: config.recipient_outages,
        check_branches: config.check_branches,
        branch_required: config.branch_required,
        default_page_size: config.default_page_size,
    };
    let app = router(state, config.control_api, config.panic_route);
    let (shutdown, stop) = watch::channel(false);
    let scheduler = store
        .clock()
        .as_manual()
        .is_none()
        .then(|| tokio::spawn(scheduler::run(store.clone(), shutdown.subscribe())));
    let server = tokio::spawn(conn::serve(listener, app, store.clone(), stop));
    let labels: Vec<String> = config
        .accounts
        .iter()
        .map(|a| crate::config::redact_key(&a.api_key))
        .collect();
    tracing::info!(
        %local_addr,
        accounts = ?labels,
        delay_ms = config.processing_delay.as_millis() as u64,
        control_api = config.control_api,
        lenient_amounts = config.lenient_amounts,
        autonomous_support = config.autonomous_support,
        default_page_size = config.default_page_size,
        other_body_with_used_key = ?config.other_body_with_used_key,
        created_at_to = ?config.created_at_to,
        recipient_outages = config.recipient_outages,
        check_branches = config.check_branches,
        branch_required = config.branch_required,
        rate_limit_per_key = config.rate_limit_per_key.map(NonZeroU32::get),
        faults = %config.faults,
        journal_capacity = config.journal_capacity,
        webhook_endpoints = config.accounts.iter().map(|a| a.webhooks.len()).sum::<usize>(),
        webhook_faults = %config.webhook_faults,
        state_file = ?config.state_file,
        "rafiki-mock listening"
    );
    Ok(MockHandle {
        addr: local_addr,
        base_url: format!("http://{local_addr}/v1"),
        store,
        shutdown,
        server: Some(server),
        scheduler,
        state_file,
    })
}

/// Every route, the fallbacks and the layers. Without the control API no
/// `/_sandbox` route exists: those paths fall to the 404 fallback. The
/// rate limit, faults, journal and request log come before the router
/// (`conn`): outside the panic catcher, so the journal records a panic's
/// 500.
fn router(state: AppState, control_api: bool, panic_route: bool) -> Router {
    let body_limit = state.body_limit;
    let api = Operation::ALL
        .into_iter()
        .fold(Router::new(), |api, operation| {
            api.route(operation.route(), routes::handler(operation))
        });
    let mut sandbox = Router::new()
        .route("/_sandbox/health", get(control::health))
        .route(
            "/_sandbox/payouts/{id}/transition",
            post(control::transition),
        )
        .route("/_sandbox/wallets/{id}/fund", post(control::fund))
        .route("/_sandbox/reset", post(control::reset))
        .route(
            "/_sandbox/faults",
            get(control::faults)
                .put(control::replace_faults)
                .delete(control::clear_faults),
        )
        .route(
            "/_sandbox/requests",
            get(control::requests).delete(control::clear_requests),
        )
        .route(
            "/_sandbox/webhooks",
            get(control::webhooks).post(control::add_webhook),
        )
        .route(
            "/_sandbox/webhooks/deliveries",
            get(control::deliveries).delete(control::clear_deliveries),
        )
        .route(
            "/_sandbox/webhooks/{id}",
            axum::routing::delete(control::delete_webhook),
        )
        .route(
            "/_sandbox/snapshot",
            get(control::snapshot)
                .put(control::replace_snapshot)
                .layer((
                    DefaultBodyLimit::max(SNAPSHOT_BODY_LIMIT),
                    Extension(RouteBodyLimit(SNAPSHOT_BODY_LIMIT)),
                )),
        );
    if panic_route {
        sandbox = sandbox.route("/_sandbox/debug/panic", get(control::panic));
    }
    let router = if control_api { api.merge(sandbox) } else { api };
    let mut router = router
        .fallback(move |method: Method, uri: Uri| async move {
            ApiError::NoSuchPath {
                method: method.to_string(),
                path: uri.path().to_owned(),
                control_api,
            }
        })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(panic_response));
    if state.store.is_durable() {
        router = router.layer(from_fn_with_state(state.clone(), after_commit));
    }
    router.with_state(state)
}

/// With a state file, every answer about an account waits until that
/// account's changes made before it are on disk (its own included): what a
/// client was told survives a crash. A request naming no account (a wrong
/// key, the health check) shows no state and does not wait. Inside the
/// traffic step, so the journal records the answer sent; without a state
/// file the layer is not there at all.
async fn after_commit(
    State(app): State<AppState>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    let account = account_of(request.headers(), &app.store).cloned();
    let response = next.run(request).await;
    let Some(account) = account else {
        return response;
    };
    match app.store.settled_for(&account).await {
        Ok(()) => response,
        Err(failed) => ApiError::Internal(failed.to_string()).into_response(),
    }
}

/// A handler panic: logged, answered with the 500 envelope.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    ApiError::Internal(format!("handler panicked: {detail}")).into_response()
}

impl MockHandle {
    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The state, for direct seeding (benchmarks) and inspection.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Gives every account the fault plan `plan`, as if each had sent it
    /// to `PUT /_sandbox/faults` (counters start again from zero).
    pub fn set_faults(&self, plan: &FaultPlan) {
        self.store.set_faults(plan);
    }

    /// Gives every account the webhook fault plan `plan` (counters start
    /// again from zero).
    pub fn set_webhook_faults(&self, plan: &WebhookFaultPlan) {
        self.store.set_webhook_faults(plan);
    }

    /// Settles every payout due at the clock's current time, and wakes the
    /// webhook deliveries (retries and delays due by now go out, in the
    /// background); returns how many payouts moved.
    pub fn run_due(&self) -> usize {
        let moved = self.store.run_due().0;
        self.store.wake_webhooks();
        moved
    }

    /// Advances the [`crate::clock::ManualClock`] by `by`, then
    /// [`MockHandle::run_due`].
    ///
    /// # Panics
    /// When the server was not configured with a manual clock.
    pub fn advance(&self, by: Duration) -> usize {
        self.store
            .clock()
            .as_manual()
            .expect("MockHandle::advance needs Config::manual_clock")
            .advance(by);
        self.run_due()
    }

    /// Stops accepting connections, lets requests in progress finish, and
    /// stops the scheduler and the webhook deliveries (an attempt in
    /// flight is abandoned); with a state file, writes what is left and
    /// closes it (another mock may then open it).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in [self.server.take(), self.scheduler.take()]
            .into_iter()
            .flatten()
        {
            if let Err(error) = task.await {
                tracing::error!(%error, "mock task ended abnormally");
            }
        }
        self.store.shutdown_webhooks().await;
        if let Some(file) = self.state_file.take()
            && let Err(error) = tokio::task::spawn_blocking(move || file.close()).await
        {
            tracing::error!(%error, "closing the state file");
        }
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.store.stop_webhooks();
        if let Some(file) = &self.state_file {
            file.stop();
        }
    }
}
