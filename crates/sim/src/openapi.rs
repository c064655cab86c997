//! KooGallery's open API (`mkt.myhuaweicloud.com/api/mkp-openapi-public/...`) as the vendor sees
//! it, behind a simulated Huawei API Gateway.
//!
//! - `GET  /api/mkp-openapi-public/global/v1/order/query?orderId=&orderLineId=` answers from the
//!   [`OrderBook`] (spec saas-v2 §7.1).
//! - `POST /api/mkp-openapi-public/global/v1/market-event/{event_id}/file` takes a license string
//!   or file as `multipart/form-data` (spec license-kit §3.3) and records it for tests.
//! - `POST /api/mkp-openapi-public/global/v1/isv/usage-data`: usage push, new (saas-v2 §7.2),
//!   with the body signature checked against the basic-interface access key.
//! - `POST /rest/marketplace/v1/isv/usage-data`: usage push, old (saas-v2 §7.3). Both pushes feed
//!   one store; records are deduplicated and checked asynchronously into 话单 anomalies.
//! - `POST /api/mkp-openapi-public/global/v1/license/activate` and
//!   `POST /api/mkp-openapi-public/global/v1/license/heartbeat` (license-kit §2.3.1–2.3.2), and
//!   `POST /api/mkp-openapi-public/global/v2/license/software-usage-info` (§2.3.3), answering from
//!   a registry of license codes that tests issue.
//!
//! Every routed request first passes APIG `SDK-HMAC-SHA256` verification (license-kit §6.1) over
//! the exact bytes received, with the 15-minute date window measured on an injected [`Now`]; a
//! failure answers as the gateway does, HTTP 401 `APIGW.0301`. Unknown paths (and known paths
//! with the wrong method, which APIG also treats as "no such API") answer HTTP 404 `APIGW.0101`
//! before any authentication. Every request lands in an exchange log that tests can read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use axum::Router;
use axum::handler::Handler;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use koogate_protocol::AccessKey;
use tokio::sync::Notify;

use crate::orders::OrderBook;

mod answer;
mod apig_auth;
mod license_routes;
mod licenses;
mod multipart;
mod order_query;
mod record;
mod server;
mod upload;
mod usage_parse;
mod usage_push;
mod usage_store;

pub use licenses::{Activation, Heartbeat, IssueError, License, LicenseGrant, SoftwareUsageReport};
pub use record::{Exchange, Upload, UploadContent, Verdict};
pub use server::{OpenApiConfig, OpenApiHandle, OpenApiServer, start};
pub use usage_store::{InstanceStatus, UsageAnomaly, UsageApi, UsageInstance, UsageRecord};

/// The development open-API AK of `koogate sim`, used when no other is given, so that
/// `koogate serve --follow-sim` can sign its queries without copying a random value between
/// terminals. Not a secret and never valid anywhere but a local simulator: the gateway uses it
/// only in sandbox mode, which real open-API credentials end.
pub const DEV_AK: &str = "KOOGATE-DEV-AK";
/// The development open-API SK that goes with [`DEV_AK`]; published in the README on purpose.
pub const DEV_SK: &str = "koogate-dev-sk-not-a-secret";
/// Where `koogate sim` serves its open API unless told otherwise, and where
/// `koogate serve --follow-sim` looks for it.
pub const DEV_URL: &str = "http://127.0.0.1:9090";

/// The order query route.
pub const ORDER_QUERY_PATH: &str = "/api/mkp-openapi-public/global/v1/order/query";
/// The license string/file upload route (axum pattern).
pub const MARKET_EVENT_FILE_PATH: &str =
    "/api/mkp-openapi-public/global/v1/market-event/{event_id}/file";
/// The usage push, new (body-signed).
pub const USAGE_DATA_PATH: &str = "/api/mkp-openapi-public/global/v1/isv/usage-data";
/// The usage push, old.
pub const OLD_USAGE_DATA_PATH: &str = "/rest/marketplace/v1/isv/usage-data";
/// License code activation (v1).
pub const LICENSE_ACTIVATE_PATH: &str = "/api/mkp-openapi-public/global/v1/license/activate";
/// License code query, formerly heartbeat (v1).
pub const LICENSE_HEARTBEAT_PATH: &str = "/api/mkp-openapi-public/global/v1/license/heartbeat";
/// Software usage statistics per license code (v2).
pub const SOFTWARE_USAGE_INFO_PATH: &str =
    "/api/mkp-openapi-public/global/v2/license/software-usage-info";

/// The simulator's idea of "now", in Unix seconds. The simulator does not depend on the gateway
/// crate and its `Clock`; a closure is all the date check needs, and scenarios on a simulated
/// clock pass their own.
#[derive(Clone)]
pub struct Now(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Now {
    /// The wall clock.
    pub fn system() -> Self {
        #[allow(clippy::disallowed_methods)] // the simulator's one sanctioned wall-clock read
        Self::from_fn(|| chrono::Utc::now().timestamp())
    }

    /// Always `unix_secs`.
    pub fn fixed(unix_secs: i64) -> Self {
        Self::from_fn(move || unix_secs)
    }

    pub fn from_fn(now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    pub fn unix_secs(&self) -> i64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Now {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Now(..)")
    }
}

/// Everything the open-API routes share. Clones share the same keys, orders, records and logs.
#[derive(Debug, Clone)]
pub struct OpenApiState {
    keys: Arc<RwLock<HashMap<String, AccessKey>>>,
    /// The merchant's access key bound to the basic interfaces: the new usage push's body
    /// signature key (spec saas-v2 §7.2). `None` refuses every new push with `MKT.0102`.
    basic_key: Arc<RwLock<Option<AccessKey>>>,
    now: Now,
    orders: OrderBook,
    uploads: Arc<Mutex<Vec<Upload>>>,
    /// Woken on every recorded upload, so [`Self::wait_for_upload`] sleeps instead of polling.
    upload_recorded: Arc<Notify>,
    usage: Arc<usage_store::UsageStore>,
    licenses: Arc<licenses::LicenseRegistry>,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    /// Added before every routed request is handled, in milliseconds (see [`Self::set_latency`]).
    latency_ms: Arc<AtomicU64>,
}

impl OpenApiState {
    /// A state with no access keys yet (every request is refused until [`Self::add_key`]).
    pub fn new(orders: OrderBook, now: Now) -> Self {
        Self {
            keys: Arc::default(),
            basic_key: Arc::default(),
            now,
            orders,
            uploads: Arc::default(),
            upload_recorded: Arc::default(),
            usage: Arc::default(),
            licenses: Arc::default(),
            exchanges: Arc::default(),
            latency_ms: Arc::default(),
        }
    }

    /// Makes every open-API answer (every route) at least this slow, from the next
    /// request on; zero turns it off. Fault tests use it so that a vendor's `newInstance`,
    /// which queries the order inside the call, outlasts a short KooGallery client timeout.
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.latency_ms.store(ms, Ordering::Relaxed);
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }

    /// Accepts requests signed with this AK/SK pair (replacing an earlier SK for the same AK).
    pub fn add_key(&self, ak: &str, sk: AccessKey) {
        self.keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(ak.to_owned(), sk);
    }

    /// Stops accepting an AK; `true` if it was known.
    pub fn remove_key(&self, ak: &str) -> bool {
        self.keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(ak)
            .is_some()
    }

    /// Verifies new usage pushes' body signatures with this key (the access key the merchant
    /// bound to the basic interfaces in the seller center).
    pub fn set_basic_key(&self, key: AccessKey) {
        *self
            .basic_key
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(key);
    }

    fn basic_key(&self) -> Option<AccessKey> {
        self.basic_key
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The injected "now" as a UTC time.
    fn now_utc(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.now.unix_secs(), 0).unwrap_or_default()
    }

    pub fn orders(&self) -> &OrderBook {
        &self.orders
    }

    /// Every accepted upload, oldest first.
    pub fn uploads(&self) -> Vec<Upload> {
        lock(&self.uploads).clone()
    }

    /// The first upload for `event_id`, waiting up to `timeout` (real time: the vendor delivers
    /// from its own worker, whatever clock the simulator keeps) for one to arrive.
    pub async fn wait_for_upload(&self, event_id: &str, timeout: Duration) -> Option<Upload> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Created before looking, so an upload recorded in between still wakes us: a
            // `Notified` counts `notify_waiters` calls from its creation on.
            let recorded = self.upload_recorded.notified();
            if let Some(upload) = lock(&self.uploads)
                .iter()
                .find(|u| u.event_id == event_id)
                .cloned()
            {
                return Some(upload);
            }
            tokio::time::timeout_at(deadline, recorded).await.ok()?;
        }
    }

    /// Every request seen, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.exchanges).clone()
    }

    fn secret_for(&self, ak: &str) -> Option<AccessKey> {
        self.keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(ak)
            .cloned()
    }

    fn record_upload(&self, upload: Upload) {
        lock(&self.uploads).push(upload);
        self.upload_recorded.notify_waiters();
    }

    fn record_exchange(&self, exchange: Exchange) {
        lock(&self.exchanges).push(exchange);
    }
}

/// Log vectors are only ever pushed to or cloned, so a poisoned lock holds consistent data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The injected latency, before anything else: the marketplace is slow, not the simulator's log.
async fn delay(
    axum::extract::State(state): axum::extract::State<OpenApiState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let latency = state.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    next.run(request).await
}

/// The open-API routes with APIG verification and the exchange log.
///
/// Verification wraps each handler rather than the routes, so that routing (including "right
/// path, wrong method") is decided first and answers 404 without looking at the signature, in the
/// order API Gateway works.
pub fn router(state: OpenApiState) -> Router {
    let auth = from_fn_with_state(state.clone(), apig_auth::verify);
    Router::new()
        .route(
            ORDER_QUERY_PATH,
            get(order_query::handle.layer(auth.clone())).fallback(apig_auth::not_found),
        )
        .route(
            MARKET_EVENT_FILE_PATH,
            post(upload::handle.layer(auth.clone())).fallback(apig_auth::not_found),
        )
        .route(
            USAGE_DATA_PATH,
            post(usage_push::handle_new.layer(auth.clone())).fallback(apig_auth::not_found),
        )
        .route(
            OLD_USAGE_DATA_PATH,
            post(usage_push::handle_old.layer(auth.clone())).fallback(apig_auth::not_found),
        )
        .route(
            LICENSE_ACTIVATE_PATH,
            post(license_routes::activate.layer(auth.clone())).fallback(apig_auth::not_found),
        )
        .route(
            LICENSE_HEARTBEAT_PATH,
            post(license_routes::heartbeat.layer(auth.clone())).fallback(apig_auth::not_found),
        )
        .route(
            SOFTWARE_USAGE_INFO_PATH,
            post(license_routes::software_usage_info.layer(auth)).fallback(apig_auth::not_found),
        )
        .fallback(apig_auth::not_found)
        .layer(from_fn_with_state(state.clone(), record::log_exchange))
        .layer(from_fn_with_state(state.clone(), delay))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(event_id: &str) -> Upload {
        Upload {
            event_id: event_id.to_owned(),
            access_key: "AK".to_owned(),
            metadata: serde_json::json!({"type": "CHARACTERS", "characters": "lic"}),
            content: UploadContent::Characters("lic".to_owned()),
        }
    }

    #[tokio::test]
    async fn waiting_for_an_upload_wakes_on_arrival_and_gives_up_at_the_deadline() {
        let state = OpenApiState::new(OrderBook::new(), Now::fixed(0));
        let short = Duration::from_millis(20);
        assert!(state.wait_for_upload("e1", short).await.is_none());
        let waiter = {
            let state = state.clone();
            tokio::spawn(async move { state.wait_for_upload("e1", Duration::from_secs(10)).await })
        };
        // Another event's upload wakes the waiter, which goes back to waiting.
        state.record_upload(upload("e2"));
        state.record_upload(upload("e1"));
        let found = waiter.await.unwrap().unwrap();
        assert_eq!(found.event_id, "e1");
        // Already there: no wait at all.
        assert!(state.wait_for_upload("e2", Duration::ZERO).await.is_some());
    }
}
