//! Request and response bodies, one module per message family.
//!
//! | Module | Direction | Spec |
//! |---|---|---|
//! | [`produce`] | marketplace → vendor, scheme A: the `activity` dispatch | saas-v2 §3, license-kit §2.2, §3.2, §7 |
//! | [`instance`], [`license_code`], [`legacy`] | the scheme-A bodies themselves | same |
//! | [`produce_response`] | vendor → marketplace answers | saas-v2 §3.1–3.2 |
//! | [`kit`], [`kit_user`] | marketplace → vendor, 联营 kit | license-kit §4 |
//! | [`order`], [`mock_orders`] | order query open API | saas-v2 §7.1 |
//! | [`usage`] | usage push open API | saas-v2 §7.2–7.3 |
//! | [`license_api`], [`upload`] | license open APIs | license-kit §2.3, §3.3 |
//! | [`oauth`] | IDaaS login | license-kit §5 |
//! | [`open_api`] | the generic `{error_code, error_msg}` | license-kit §6.7 |
//!
//! Inbound bodies are parsed field by field so every rejection names its field and maps to
//! `000002`; responses and open-API bodies use plain serde with lenient readers from
//! [`crate::wire`].

pub(crate) mod fields;
pub mod instance;
pub mod kit;
pub mod kit_user;
pub mod legacy;
pub mod license_api;
pub mod license_code;
pub mod mock_orders;
pub mod oauth;
pub mod open_api;
pub mod order;
pub mod produce;
pub mod produce_response;
pub mod upload;
pub mod usage;

pub use fields::ParseError;
pub use kit::{KitOperation, KitRequest, KitResponse, parse_kit_request};
pub use mock_orders::{MOCK_ORDERS, MockOrder, mock_order};
pub use open_api::OpenApiError;
pub use produce::{Activity, KeyCategory, ProduceRequest, activity_of, parse_produce_request};
pub use produce_response::{
    AppInfo, InstanceInfo, ProduceResponse, ResponseError, UsageInfo, UsageInfoField,
};
