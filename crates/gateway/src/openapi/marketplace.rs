//! The domain's [`Marketplace`] served over KooGallery's open API: which client each call uses,
//! and how an open-API failure reads to the domain (an unknown order, or a failure worth
//! retrying).

use async_trait::async_trait;
use koogate_protocol::AccessKey;
use koogate_protocol::messages::usage::{UsagePushRequest, UsagePushResponse};
use koogate_protocol::result_code::{CbcCode, MktCode, OpenApiCode};

use super::{OpenApiClient, OpenApiError, UploadLicense};
use crate::domain::{FetchedOrder, MarketError, Marketplace, OrderError};

/// Two clients for the two kinds of call: the order query runs inside a production call and
/// must fit its 5 s budget; the upload and the usage push run in the background and may wait
/// longer rather than fail and be sent again.
#[derive(Debug, Clone)]
pub struct MarketplaceClients {
    pub interactive: OpenApiClient,
    pub background: OpenApiClient,
}

#[async_trait]
impl Marketplace for MarketplaceClients {
    async fn query_order(
        &self,
        order_id: &str,
        order_line_id: Option<&str>,
    ) -> Result<FetchedOrder, OrderError> {
        Marketplace::query_order(&self.interactive, order_id, order_line_id).await
    }

    async fn upload_license(
        &self,
        event_id: &str,
        license: &UploadLicense,
    ) -> Result<(), MarketError> {
        Marketplace::upload_license(&self.background, event_id, license).await
    }

    async fn push_usage(
        &self,
        body_key: &AccessKey,
        request: &UsagePushRequest,
    ) -> Result<UsagePushResponse, MarketError> {
        Marketplace::push_usage(&self.background, body_key, request).await
    }
}

#[async_trait]
impl Marketplace for OpenApiClient {
    async fn query_order(
        &self,
        order_id: &str,
        order_line_id: Option<&str>,
    ) -> Result<FetchedOrder, OrderError> {
        let fetched = OpenApiClient::query_order(self, order_id, order_line_id)
            .await
            .map_err(|e| OrderError {
                unknown_order: is_unknown_order(&e),
                message: e.to_string(),
            })?;
        Ok(FetchedOrder {
            raw: fetched.raw_body,
            info: fetched.order,
        })
    }

    async fn upload_license(
        &self,
        event_id: &str,
        license: &UploadLicense,
    ) -> Result<(), MarketError> {
        OpenApiClient::upload_license(self, event_id, license.clone())
            .await
            .map(|_receipt| ())
            .map_err(|err| MarketError {
                retryable: is_retryable(&err),
                message: err.to_string(),
            })
    }

    async fn push_usage(
        &self,
        body_key: &AccessKey,
        request: &UsagePushRequest,
    ) -> Result<UsagePushResponse, MarketError> {
        OpenApiClient::push_usage(self, body_key, request)
            .await
            .map_err(|err| MarketError {
                retryable: is_retryable(&err),
                message: err.to_string(),
            })
    }
}

/// The spec does not say how the order query answers an order it does not have; the MKT family
/// has no "order not found" code, and `MKT.0101` "Invalid parameter" is its answer to a
/// well-formed but unacceptable id (what the simulator answers) \[INFERRED\].
fn is_unknown_order(err: &OpenApiError) -> bool {
    matches!(
        err,
        OpenApiError::Business {
            code: OpenApiCode::Mkt(MktCode::InvalidParameter),
            ..
        }
    )
}

/// Network trouble, throttling and server errors pass; a refusal (bad signature, invalid
/// parameter, a license the marketplace rejects) comes back the same until someone fixes it.
fn is_retryable(err: &OpenApiError) -> bool {
    match err {
        OpenApiError::Transport { .. } | OpenApiError::Decode(_) => true,
        OpenApiError::Http { status, .. } => matches!(status, 408 | 429 | 500..=599),
        // `CBC.0999` and `91381036 inner error` are the marketplace's own failures (license-kit §3.3).
        OpenApiError::Business { code, .. } => matches!(
            code,
            OpenApiCode::Cbc(CbcCode::InnerError | CbcCode::InternalError)
        ),
        OpenApiError::Invalid(_) => false,
    }
}
