//! Result codes: the production interface's six-digit `resultCode` ([`ResultCode`]), the open
//! APIs' `error_code` families ([`OpenApiCode`]) and the usage push's per-record codes
//! ([`UsageRecordCode`]).
//!
//! Unknown codes never fail to parse: the marketplace adds codes over time, and a gateway that
//! cannot read a new code must still log it and treat it as a failure.

mod families;
mod open_api;
mod usage_record;

pub use open_api::{CbcCode, GatewayCode, LicenseApiCode, MktCode, OpenApiCode};
pub use usage_record::UsageRecordCode;

use crate::wire::open_enum;

open_enum! {
    /// `resultCode` of every production-interface answer (saas-v2 §5, license-kit §2.2.6, §3.2).
    ///
    /// `000101` is overloaded: the spec tables define it as "mobile number empty or already
    /// exists" for newInstance, while the official kit demo answers `000101` when the applicationSync
    /// `clientSecret` cannot be decrypted. Both are the same wire code; use
    /// [`ResultCode::CLIENT_SECRET_DECRYPTION_FAILED`] and [`ResultCode::kit_message`] in the kit
    /// so call sites say which meaning they intend.
    pub enum ResultCode {
        /// `000000` 成功.
        Success = "000000",
        /// `000001` 鉴权失败: bad signature, timestamp or nonce.
        AuthFailed = "000001",
        /// `000002` 请求参数不合法: any body that fails to parse or validate.
        InvalidParameter = "000002",
        /// `000003` 实例ID不存在 (License 2.0: 授权码ID不存在).
        InstanceNotFound = "000003",
        /// `000004` 请求处理中: newInstance or getLicenseAsync accepted, finishing asynchronously.
        InProgress = "000004",
        /// `000005` 其它服务内部错误.
        InternalError = "000005",
        /// `000100` 无可用实例资源分配.
        NoInstanceResource = "000100",
        /// `000101` 手机号为空或重复 (kit demo: clientSecret decryption failed).
        MobileConflict = "000101",
        /// `000102` 邮箱号为空或重复.
        EmailConflict = "000102",
        /// `000103` 该商品不可重复购买.
        AlreadyPurchased = "000103",
        /// `000104` 该商品内部服务异常.
        ProductServiceError = "000104",
        /// `000105` 该账号已购买权益,无法再开通.
        BenefitAlreadyOwned = "000105",
        /// `000106` 该商品资源已售罄.
        SoldOut = "000106",
        /// `000107` 该SaaS邮箱域名重复.
        EmailDomainConflict = "000107",
        /// `000900` 该实例当前生效订单可用License额度不足.
        LicenseQuotaExhausted = "000900",
        /// `000901` 请在当前订单有效日期区间内申请License.
        OutsideOrderValidity = "000901",
        /// `000902` 包周期License必须输入失效日期.
        ExpireTimeRequired = "000902",
        /// `000903` 申请License必须输入设备指纹或硬件识别编码.
        DeviceFingerprintRequired = "000903",
    }
}

impl ResultCode {
    /// The kit demo's meaning of `000101`: the applicationSync `clientSecret` could not be decrypted.
    pub const CLIENT_SECRET_DECRYPTION_FAILED: ResultCode = ResultCode::MobileConflict;

    /// The kit demo's message for `000101`.
    pub const CLIENT_SECRET_DECRYPTION_FAILED_MESSAGE: &'static str =
        "something wrong with appSecret";

    /// Constructor spelling of [`Self::CLIENT_SECRET_DECRYPTION_FAILED`].
    pub fn client_secret_decryption_failed() -> Self {
        Self::CLIENT_SECRET_DECRYPTION_FAILED
    }

    /// Parses a received code (same as the generated `parse`, named for call-site clarity).
    pub fn from_code(code: &str) -> Self {
        Self::parse(code)
    }

    /// The six-character wire code.
    pub fn code(&self) -> &str {
        self.as_str()
    }

    /// Only `000000` is success; `000004` means "not yet" and is not success.
    pub fn is_success(&self) -> bool {
        *self == Self::Success
    }

    /// A `resultMsg` for this code, in English (buyers see 000101–000107 in the console).
    pub fn default_message(&self) -> &'static str {
        match self {
            Self::Success => "success.",
            Self::AuthFailed => "Authentication failed.",
            Self::InvalidParameter => "Invalid request parameter.",
            Self::InstanceNotFound => "Instance ID does not exist.",
            Self::InProgress => "Request is being processed.",
            Self::InternalError => "Internal service error.",
            Self::NoInstanceResource => "No instance resource available.",
            Self::MobileConflict => "Mobile number not specified or already exists.",
            Self::EmailConflict => "Email address is not specified or already exists.",
            Self::AlreadyPurchased => "Product already purchased.",
            Self::ProductServiceError => "Internal service error.",
            Self::BenefitAlreadyOwned => "Account has already subscribed to benefits.",
            Self::SoldOut => "Product resources sold out.",
            Self::EmailDomainConflict => "SaaS email domain already exists.",
            Self::LicenseQuotaExhausted => "License quota of the current order is insufficient.",
            Self::OutsideOrderValidity => {
                "Apply for the License within the current order's validity period."
            }
            Self::ExpireTimeRequired => "A periodic License requires an expiry time.",
            Self::DeviceFingerprintRequired => "A device fingerprint or hardware ID is required.",
            Self::Other(_) => "Unknown result code.",
        }
    }

    /// Message for a kit answer: as [`Self::default_message`], except `000101` means the
    /// clientSecret could not be decrypted.
    pub fn kit_message(&self) -> &'static str {
        match self {
            Self::MobileConflict => Self::CLIENT_SECRET_DECRYPTION_FAILED_MESSAGE,
            other => other.default_message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_code_round_trips() {
        for code in ResultCode::KNOWN {
            assert_eq!(code.code().len(), 6);
            assert_eq!(&ResultCode::parse(code.code()), code);
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.code()));
            assert_eq!(&serde_json::from_str::<ResultCode>(&json).unwrap(), code);
            assert!(!code.default_message().is_empty());
        }
        assert_eq!(ResultCode::KNOWN.len(), 18);
    }

    #[test]
    fn unknown_codes_are_kept() {
        let code = ResultCode::parse("0000004");
        assert_eq!(code, ResultCode::Other("0000004".into()));
        assert!(!code.is_success());
        assert_eq!(code.code(), "0000004");
    }

    #[test]
    fn kit_alias_shares_the_wire_code() {
        let code = ResultCode::client_secret_decryption_failed();
        assert_eq!(code.code(), "000101");
        assert_eq!(code.kit_message(), "something wrong with appSecret");
        assert_eq!(
            code.default_message(),
            "Mobile number not specified or already exists."
        );
        assert!(ResultCode::Success.is_success());
        assert!(!ResultCode::InProgress.is_success());
    }
}
