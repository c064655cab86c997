//! Where order details come from: KooGallery's order-query open API, or the embedded sandbox
//! that answers the same API locally. The domain only sees this trait.

use async_trait::async_trait;
use koogate_protocol::messages::order::{OrderInfo, OrderLine};

use crate::openapi::OpenApiClient;

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
#[error("{0}")]
pub struct OrderError(pub String);

#[async_trait]
pub trait OrderSource: Send + Sync + std::fmt::Debug {
    async fn query_order(
        &self,
        order_id: &str,
        order_line_id: Option<&str>,
    ) -> Result<FetchedOrder, OrderError>;
}

#[async_trait]
impl OrderSource for OpenApiClient {
    async fn query_order(
        &self,
        order_id: &str,
        order_line_id: Option<&str>,
    ) -> Result<FetchedOrder, OrderError> {
        let fetched = OpenApiClient::query_order(self, order_id, order_line_id)
            .await
            .map_err(|e| OrderError(e.to_string()))?;
        Ok(FetchedOrder {
            raw: fetched.raw_body,
            info: fetched.order,
        })
    }
}
