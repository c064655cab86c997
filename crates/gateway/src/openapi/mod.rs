//! The client for KooGallery's open APIs (`mkp-openapi-public`), the calls koogate makes *to* the
//! marketplace: order query (spec saas-v2 §7.1, license-kit §6.3), the online-license upload
//! (license-kit §3.3), the usage push (saas-v2 §7.2) and the license-code APIs (activate,
//! query, software usage: license-kit §2.3).
//!
//! - Every request is signed with Huawei API Gateway `SDK-HMAC-SHA256` (license-kit §6.1):
//!   `X-Sdk-Date` from the injected clock, `Host` and `Content-Type` signed, the exact body bytes
//!   hashed (the multipart upload body is built by hand for that reason).
//! - Hosts are tried in the configured order (`mkt.myhuaweicloud.com`, then `.cn`, §1.3). Only a
//!   failure that says nothing about the request itself moves on to the next host: no connection,
//!   a timeout, or HTTP 5xx. A business error (a non-success code) or any 4xx is the marketplace's
//!   answer and is returned at once; asking the other host would get the same answer.
//! - TLS is strict: reqwest's rustls backend with the platform verifier, never relaxed. Plain
//!   `http://` is accepted only for loopback hosts (`127.0.0.1`, `localhost`, `[::1]`), which is
//!   how the in-process simulator (sandbox mode, tests) is reached.
//! - Errors and logs never carry the AK, the SK or a signature.

mod client;
mod error;
mod license;
mod marketplace;
mod multipart;
mod order;
mod upload;
mod usage;

pub use client::{OpenApiClient, OpenApiConfig};
pub use error::OpenApiError;
pub use license::{
    DEFAULT_RETRY_DELAYS, LICENSE_ACTIVATE_PATH, LICENSE_QUERY_PATH, LicenseOutcome, LicenseState,
    SOFTWARE_USAGE_PATH,
};
pub use marketplace::MarketplaceClients;
pub use order::FetchedOrder;
pub use upload::{UploadLicense, UploadReceipt};

/// The production hosts, primary first (spec license-kit §1.3).
pub const DEFAULT_BASE_URLS: [&str; 2] = [
    "https://mkt.myhuaweicloud.com",
    "https://mkt.myhuaweicloud.cn",
];

/// Path of the order query API.
pub const ORDER_QUERY_PATH: &str = "/api/mkp-openapi-public/global/v1/order/query";
