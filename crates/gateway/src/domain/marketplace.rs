//! What the domain needs from KooGallery's open API: the order query (to store what was bought),
//! the license upload (to deliver an online license) and the usage push (to bill metered use).
//! The trait is the domain's; `openapi::marketplace` implements it over the open-API client,
//! against KooGallery or against the embedded sandbox that answers the same API locally.

use async_trait::async_trait;
use koogate_protocol::AccessKey;
use koogate_protocol::messages::order::{OrderInfo, OrderLine};
use koogate_protocol::messages::usage::{UsagePushRequest, UsagePushResponse};

use crate::openapi::UploadLicense;

/// An order-query answer: the verbatim body (stored and forwarded to the vendor) and its parse.
#[derive(Debug, Clone)]
pub struct FetchedOrder {
    pub raw: String,
    pub info: OrderInfo,
}

impl FetchedOrder {
    /// The line the call named, or the only line of a single-line order.
    pub fn line(&self, order_line_id: &str) -> Option<&OrderLine> {
        let lines = &self.info.order_line;
        self.info
            .line(order_line_id)
            .or_else(|| (lines.len() == 1).then(|| &lines[0]))
    }
}

/// Why an order could not be fetched. KooGallery retries the call, so all of these answer `000005`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct OrderError {
    pub message: String,
    /// KooGallery answered that it has no such order (or line), rather than failing to answer.
    pub unknown_order: bool,
}

impl OrderError {
    /// A failure that says nothing about whether the order exists.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unknown_order: false,
        }
    }
}

/// Why a call the marketplace must accept (upload, usage push) failed, and whether sending it
/// again later can help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct MarketError {
    pub retryable: bool,
    pub message: String,
}

#[async_trait]
pub trait Marketplace: Send + Sync + std::fmt::Debug {
    async fn query_order(
        &self,
        order_id: &str,
        order_line_id: Option<&str>,
    ) -> Result<FetchedOrder, OrderError>;

    /// Delivers the license for a `getLicenseAsync` event (license-kit §3.3).
    async fn upload_license(
        &self,
        event_id: &str,
        license: &UploadLicense,
    ) -> Result<(), MarketError>;

    /// Pushes usage records (saas-v2 §7.2), the body signed with `body_key`. `Ok` is any answer
    /// the marketplace gave in its documented shape, refusals included.
    async fn push_usage(
        &self,
        body_key: &AccessKey,
        request: &UsagePushRequest,
    ) -> Result<UsagePushResponse, MarketError>;
}
