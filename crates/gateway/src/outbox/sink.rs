//! Where outbox events go: the vendor's webhook ([`HookSink`]), or nowhere when no hook is
//! configured and the built-in provisioner does the work ([`NullSink`]).

use crate::error_chain::error_chain;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use koogate_protocol::signing::webhook::{
    self, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, WebhookSecret,
};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use crate::clock::SharedClock;
use crate::store::OutboxEvent;

/// Largest hook response body kept (for [`super::DeliveryEffects`]); the rest is not read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// How much of an error response's body goes into the failure message, for the operator view.
const ERROR_SNIPPET_BYTES: usize = 256;
/// Default per-request timeout, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

const USER_AGENT_VALUE: &str = concat!("koogate/", env!("CARGO_PKG_VERSION"));

/// Delivers one event. Implementations must be cheap to share between worker tasks.
#[async_trait]
pub trait Sink: Send + Sync + fmt::Debug {
    /// Sends `event` once. `Ok` carries the receiver's response body (possibly empty).
    async fn deliver(&self, event: &OutboxEvent) -> Result<Vec<u8>, DeliveryFailure>;
}

/// Why a delivery attempt failed, and whether trying again can help.
///
/// `message` is stored with the event and shown in the operator view, so it must never contain a
/// secret: no signing key, and no hook URL (whose path or query may carry a token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFailure {
    pub retryable: bool,
    /// The HTTP status, when the receiver answered at all.
    pub status: Option<u16>,
    /// `Retry-After` in seconds, when a 429 or 503 answer carried one.
    pub retry_after_secs: Option<u64>,
    pub message: String,
}

impl DeliveryFailure {
    /// A failure worth retrying later (network trouble, overload, a crash on our side).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            status: None,
            retry_after_secs: None,
            message: message.into(),
        }
    }

    /// A failure that will not go away by itself: the event is parked as dead at once.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            status: None,
            retry_after_secs: None,
            message: message.into(),
        }
    }
}

/// A storage error while acting on a delivery: the database will be back, so try again.
impl From<crate::store::StoreError> for DeliveryFailure {
    fn from(err: crate::store::StoreError) -> Self {
        Self::retryable(format!("storage: {err}"))
    }
}

impl fmt::Display for DeliveryFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Whether a non-2xx answer is worth retrying.
///
/// - 408 Request Timeout, 429 Too Many Requests and every 5xx: yes, the receiver is slow,
///   overloaded or broken for now.
/// - 410 Gone: no; the receiver says this endpoint will not come back.
/// - Every other 4xx (400, 401, 403, 404, 422, ...): no; the same request will get the same
///   answer. The event is parked as dead at once, later events of the instance keep flowing, and
///   an operator can re-deliver it after fixing the receiver or the configuration.
/// - 1xx and 3xx: no; redirects are not followed (a POST body must not be re-sent to a place the
///   vendor did not configure), so they point at a configuration error too.
pub fn status_is_retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// The vendor's webhook: an HTTPS (or HTTP) POST of the event payload, signed the Standard
/// Webhooks way with the configured secret.
pub struct HookSink {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: WebhookSecret,
    clock: SharedClock,
    timeout: Duration,
}

/// Why a [`HookSink`] could not be built. Never includes the URL itself.
#[derive(Debug, thiserror::Error)]
pub enum HookSinkError {
    #[error("invalid hook URL: {0}")]
    InvalidUrl(String),
    #[error("could not build the HTTP client: {0}")]
    Client(String),
}

impl HookSink {
    /// A sink posting to `url` (http or https), with the default 10 s timeout.
    pub fn new(
        url: &str,
        secret: WebhookSecret,
        clock: SharedClock,
    ) -> Result<Self, HookSinkError> {
        let url =
            reqwest::Url::parse(url).map_err(|err| HookSinkError::InvalidUrl(err.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HookSinkError::InvalidUrl(format!(
                "scheme must be http or https, not {:?}",
                url.scheme()
            )));
        }
        crate::tls::install_default_crypto_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(DEFAULT_TIMEOUT)
            .build()
            .map_err(|err| HookSinkError::Client(error_chain(&err.without_url())))?;
        Ok(Self {
            client,
            url,
            secret,
            clock,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Sets the per-request timeout (connecting, sending and reading the answer).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `scheme://host:port` of the hook, safe to log: no path, query or credentials.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

impl fmt::Debug for HookSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookSink")
            .field("origin", &self.origin())
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HookSink {
    /// One signed POST of `payload` with `webhook-id: event_id`, answered within `timeout`.
    /// `Ok` carries the receiver's 2xx body (at most [`MAX_RESPONSE_BYTES`]).
    ///
    /// The outbox uses it through [`Sink::deliver`]; a question the gateway must answer inside a
    /// production call (`changeInstanceCheck`) uses it directly with a shorter timeout.
    pub async fn post(
        &self,
        event_id: &str,
        payload: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, DeliveryFailure> {
        let timestamp = self.clock.now().timestamp();
        let signature = webhook::sign(&self.secret, event_id, timestamp, payload.as_bytes());
        let response = self
            .client
            .post(self.url.clone())
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(HEADER_ID, event_id)
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(HEADER_SIGNATURE, signature)
            .body(payload.to_owned())
            .send()
            .await
            .map_err(|err| transport_failure(err, timeout))?;

        let status = response.status();
        if status.is_success() {
            return read_capped(response, MAX_RESPONSE_BYTES)
                .await
                .map_err(|err| transport_failure(err, timeout));
        }
        let retry_after_secs = match status.as_u16() {
            429 | 503 => response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| text.trim().parse::<u64>().ok()),
            _ => None,
        };
        let snippet = read_capped(response, ERROR_SNIPPET_BYTES)
            .await
            .unwrap_or_default();
        Err(DeliveryFailure {
            retryable: status_is_retryable(status.as_u16()),
            status: Some(status.as_u16()),
            retry_after_secs,
            message: status_message(status, &snippet),
        })
    }
}

#[async_trait]
impl crate::domain::VendorHook for HookSink {
    async fn ask(
        &self,
        event_id: &str,
        payload: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, DeliveryFailure> {
        self.post(event_id, payload, timeout).await
    }
}

#[async_trait]
impl Sink for HookSink {
    async fn deliver(&self, event: &OutboxEvent) -> Result<Vec<u8>, DeliveryFailure> {
        self.post(&event.event_id, &event.payload, self.timeout)
            .await
    }
}

/// `HTTP 503 Service Unavailable: <start of the body>`, printable characters only.
fn status_message(status: StatusCode, body: &[u8]) -> String {
    let mut message = format!("HTTP {status}");
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.trim();
    if !text.is_empty() {
        message.push_str(": ");
        message.push_str(text);
    }
    message
}

/// A request that got no HTTP answer. Only a malformed request (our bug) is permanent.
fn transport_failure(err: reqwest::Error, timeout: Duration) -> DeliveryFailure {
    let err = err.without_url();
    let message = if err.is_timeout() {
        format!("timed out after {}s", timeout.as_secs_f64())
    } else {
        error_chain(&err)
    };
    if err.is_builder() {
        DeliveryFailure::permanent(message)
    } else {
        DeliveryFailure::retryable(message)
    }
}

/// Reads at most `cap` bytes of the body and drops the rest unread.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> reqwest::Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = cap.saturating_sub(body.len());
        body.extend_from_slice(chunk.get(..room).unwrap_or(&chunk[..]));
        if body.len() >= cap {
            break;
        }
    }
    Ok(body)
}

/// No hook configured: every event counts as delivered at once, with an empty answer. The
/// built-in provisioner has already done the work inside the request that enqueued the event;
/// work that follows a delivery (the built-in license) happens in the delivery effects.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSink;

#[async_trait]
impl Sink for NullSink {
    async fn deliver(&self, _event: &OutboxEvent) -> Result<Vec<u8>, DeliveryFailure> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use std::sync::Arc;

    #[test]
    fn retryable_statuses() {
        for status in [408, 429, 500, 502, 503, 504, 599] {
            assert!(status_is_retryable(status), "{status}");
        }
        for status in [100, 301, 302, 400, 401, 403, 404, 409, 410, 422] {
            assert!(!status_is_retryable(status), "{status}");
        }
    }

    #[test]
    fn status_message_keeps_printable_start_of_body() {
        assert_eq!(
            status_message(StatusCode::BAD_REQUEST, b""),
            "HTTP 400 Bad Request"
        );
        assert_eq!(
            status_message(
                StatusCode::SERVICE_UNAVAILABLE,
                b" down\r\nfor maintenance "
            ),
            "HTTP 503 Service Unavailable: down  for maintenance"
        );
    }

    #[test]
    fn debug_and_errors_never_show_the_url_path_or_secret() {
        let sink = HookSink::new(
            "https://hooks.example.com/t/0123456789?token=abc",
            WebhookSecret::parse("whsec_c2VjcmV0"),
            Arc::new(SystemClock),
        )
        .unwrap();
        let debug = format!("{sink:?}");
        assert!(debug.contains("https://hooks.example.com"), "{debug}");
        assert!(
            !debug.contains("0123456789") && !debug.contains("abc"),
            "{debug}"
        );
        assert!(!debug.contains("c2VjcmV0"), "{debug}");

        let err = HookSink::new(
            "ftp://user:pw@example.com/x",
            WebhookSecret::parse("s"),
            Arc::new(SystemClock),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("pw"), "{err}");
    }
}
