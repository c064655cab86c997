//! A scheme-A client for any vendor's production interface: what KooGallery does when it calls
//! `newInstance`, `queryInstance`, … (spec saas-v2 §1, §2.2, §3).
//!
//! 1. Build a doc-shaped body with [`Body`]: compact JSON, keys sorted at every level (the order
//!    of every documented example), `testFlag: "1"` as the seller-center debugger sends it.
//! 2. Sign it with [`ProduceClient::sign`] at the client's "now" with a fresh nonce, or with an
//!    [`Auth`] that shifts the timestamp, fixes the nonce or deliberately breaks the signature.
//! 3. Send the [`SignedRequest`] with [`ProduceClient::send`]; sending the same value twice is an
//!    exact replay. The [`Reply`] keeps status, headers, raw body, latency and the parsed answer.
//!
//! Nothing here judges the answer; the conformance suite and the scenario engine do.

use std::sync::Arc;
use std::time::{Duration, Instant};

use koogate_protocol::AccessKey;
use koogate_protocol::messages::{Activity, KeyCategory, ProduceResponse};
use koogate_protocol::signing::scheme_a;

mod body;
mod reply;
pub use body::Body;
use reply::send_error;
pub use reply::{Reply, SendError};

/// The content type KooGallery's examples send (`utf8`, no hyphen: spec saas-v2 §1).
pub const REQUEST_CONTENT_TYPE: &str = "application/json;charset=utf8";

/// Milliseconds since the Unix epoch, injectable so scenarios on a simulated clock sign at their
/// own "now".
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The wall clock.
    pub fn system() -> Self {
        #[allow(clippy::disallowed_methods)] // the client's one sanctioned wall-clock read
        Self::from_fn(|| chrono::Utc::now().timestamp_millis())
    }

    /// Always `epoch_ms`.
    pub fn fixed(epoch_ms: i64) -> Self {
        Self::from_fn(move || epoch_ms)
    }

    pub fn from_fn(now_ms: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(now_ms))
    }

    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock(..)")
    }
}

/// Where and how to call.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The production interface URL as registered in the seller center (may carry a query).
    pub url: String,
    /// The access key bound to the basic interfaces.
    pub key: AccessKey,
    /// Whole-exchange limit (connect, send, read the body); KooGallery's debugger gives up at 20 s.
    pub timeout: Duration,
    pub clock: Clock,
    /// Accept any TLS certificate (local targets with self-signed certificates only).
    pub accept_invalid_certs: bool,
    /// Keys of the other interface categories; each defaults to [`Self::key`].
    pub category_keys: CategoryKeys,
}

/// The access keys bound to the categories other than the basic interfaces (spec saas-v2 §2.1;
/// license-kit-openapi §1.2 says each category should have its own). `None` signs that category
/// with the basic key, which is what a seller center with one key for everything expects.
#[derive(Debug, Clone, Default)]
pub struct CategoryKeys {
    /// License授权码交付接口: `refreshLicenseCode`, `updateLicenseCodeStatus`, `releaseLicenseCode`.
    pub license: Option<AccessKey>,
    /// 通用接口: `orderNotify`.
    pub notify: Option<AccessKey>,
}

impl CategoryKeys {
    /// The key bound to `activity`'s category (`Activity::key_category`), `basic` for the basic
    /// interfaces and for bodies without a recognised activity.
    pub fn for_activity<'a>(
        &'a self,
        basic: &'a AccessKey,
        activity: Option<&str>,
    ) -> &'a AccessKey {
        let activity = activity.and_then(|name| name.parse::<Activity>().ok());
        let chosen = match KeyCategory::of_activity(activity) {
            KeyCategory::LicenseCode => self.license.as_ref(),
            KeyCategory::Notify => self.notify.as_ref(),
            KeyCategory::Basic => None,
        };
        chosen.unwrap_or(basic)
    }
}

impl ClientConfig {
    /// The debugger's 20 s budget, the wall clock, strict TLS.
    pub fn new(url: impl Into<String>, key: AccessKey) -> Self {
        Self {
            url: url.into(),
            key,
            timeout: Duration::from_secs(20),
            clock: Clock::system(),
            accept_invalid_certs: false,
            category_keys: CategoryKeys::default(),
        }
    }
}

/// A deliberate defect in the signature parameters, for the security cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tamper {
    /// Sign correctly.
    #[default]
    None,
    /// A well-formed signature computed with a different key.
    WrongKey,
    /// Leave out `signature`, `timestamp` and `nonce` altogether.
    OmitAll,
    /// Leave out only `signature`.
    OmitSignature,
}

/// How to sign one request. [`Auth::default`] signs correctly, now, with a fresh nonce.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// Added to the clock's "now" (negative: in the past).
    pub offset_ms: i64,
    /// Use this nonce instead of a fresh one (to reuse one already sent).
    pub nonce: Option<String>,
    pub tamper: Tamper,
}

impl Auth {
    /// Timestamp `offset_ms` away from now, correctly signed.
    pub fn skewed(offset_ms: i64) -> Self {
        Self {
            offset_ms,
            ..Self::default()
        }
    }

    pub fn tampered(tamper: Tamper) -> Self {
        Self {
            tamper,
            ..Self::default()
        }
    }

    pub fn with_nonce(nonce: impl Into<String>) -> Self {
        Self {
            nonce: Some(nonce.into()),
            ..Self::default()
        }
    }
}

/// A request ready to go: the exact body bytes and query parameters. Sending it again replays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub body: Vec<u8>,
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct BuildError(String);

/// A client for one production interface and key.
#[derive(Debug, Clone)]
pub struct ProduceClient {
    config: ClientConfig,
    http: reqwest::Client,
}

impl ProduceClient {
    pub fn new(config: ClientConfig) -> Result<Self, BuildError> {
        // reqwest is built without a default crypto provider; a second install is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(config.accept_invalid_certs)
            // Redirects would hide what the target answered; KooGallery does not follow them.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BuildError(e.to_string()))?;
        Ok(Self { config, http })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn key(&self) -> &AccessKey {
        &self.config.key
    }

    /// The key that signs (and whose `Body-Sign` answers) a request with this body: its
    /// `activity` picks the category. Reading the activity from the bytes keeps every caller,
    /// fault probes included, signing exactly as KooGallery would.
    pub fn key_for_body(&self, body: &[u8]) -> &AccessKey {
        let activity = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v.get("activity")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            });
        self.config
            .category_keys
            .for_activity(&self.config.key, activity.as_deref())
    }

    pub fn now_ms(&self) -> i64 {
        self.config.clock.now_ms()
    }

    /// Signs a body built with [`Body`].
    pub fn sign(&self, body: &Body, auth: &Auth) -> SignedRequest {
        self.sign_bytes(body.to_bytes(), auth)
    }

    /// Signs arbitrary bytes (for malformed bodies).
    pub fn sign_bytes(&self, body: Vec<u8>, auth: &Auth) -> SignedRequest {
        let timestamp = (self.now_ms() + auth.offset_ms).to_string();
        let nonce = auth.nonce.clone().unwrap_or_else(fresh_nonce);
        let key = self.key_for_body(&body);
        let signature = match auth.tamper {
            Tamper::WrongKey => {
                // A near miss of the real key: a well-formed signature with the wrong value.
                let wrong = AccessKey::new(format!("{}-not-the-key", key.expose()));
                scheme_a::sign(&wrong, &timestamp, &nonce, &body)
            }
            _ => scheme_a::sign(key, &timestamp, &nonce, &body),
        };
        match auth.tamper {
            Tamper::OmitAll => SignedRequest {
                body,
                signature: None,
                timestamp: None,
                nonce: None,
            },
            Tamper::OmitSignature => SignedRequest {
                body,
                signature: None,
                timestamp: Some(timestamp),
                nonce: Some(nonce),
            },
            Tamper::None | Tamper::WrongKey => SignedRequest {
                body,
                signature: Some(signature),
                timestamp: Some(timestamp),
                nonce: Some(nonce),
            },
        }
    }

    /// Signs correctly and sends.
    pub async fn call(&self, body: &Body) -> Result<Reply, SendError> {
        self.send(&self.sign(body, &Auth::default())).await
    }

    /// POSTs the request with its signature parameters in the query string.
    pub async fn send(&self, request: &SignedRequest) -> Result<Reply, SendError> {
        let params: Vec<(&str, &str)> = [
            ("signature", request.signature.as_deref()),
            ("timestamp", request.timestamp.as_deref()),
            ("nonce", request.nonce.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect();
        let timeout = self.config.timeout;
        let started = Instant::now();
        let response = self
            .http
            .post(&self.config.url)
            .query(&params)
            .header(reqwest::header::CONTENT_TYPE, REQUEST_CONTENT_TYPE)
            .header(reqwest::header::ACCEPT, "application/json")
            .body(request.body.clone())
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| send_error(&e, timeout))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response
            .bytes()
            .await
            .map_err(|e| send_error(&e, timeout))?
            .to_vec();
        let latency = started.elapsed();
        let parsed = ProduceResponse::from_json_bytes(&body).map_err(|e| e.to_string());
        Ok(Reply {
            status,
            headers,
            body,
            latency,
            parsed,
        })
    }
}

/// 32 uppercase hex characters, like the shorter nonces in the docs' examples.
pub fn fresh_nonce() -> String {
    uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests;
