//! `error_code` / `resultCode` families of the open APIs (license-kit §6.7).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::wire::open_enum;

open_enum! {
    /// `MKT.*`: order query and usage push (saas-v2 §5, license-kit §6.4).
    pub enum MktCode {
        /// Success.
        Success = "MKT.0000",
        /// Internal error.
        InternalError = "MKT.0999",
        /// Input check failed.
        InputCheckFailed = "MKT.0100",
        /// Invalid parameter.
        InvalidParameter = "MKT.0101",
        /// The usage-push body signature did not verify.
        InvalidBodySign = "MKT.0102",
        /// Parameter error.
        ParameterError = "MKT.0199",
        /// Illegal operation (HTTP 401).
        IllegalOperation = "MKT.0150",
        /// No authority.
        NoAuthority = "MKT.0151",
        /// Illegal token.
        IllegalToken = "MKT.0154",
        /// Instance ID not found.
        InstanceNotFound = "MKT.9001",
        /// Invalid usage entities.
        InvalidUsageEntities = "MKT.9002",
        /// More than 1000 usage records in one push.
        TooManyRecords = "MKT.9003",
        /// `begin_time` is more than 21 days old.
        BeginTimeTooOld = "MKT.9004",
    }
}

open_enum! {
    /// `CBC.*` and `9138xxxx`: online-license upload and auto-deployment (license-kit §3.3).
    pub enum CbcCode {
        /// Success.
        Success = "CBC.0000",
        /// Illegal operation: authentication failed (HTTP 403).
        IllegalOperation = "CBC.0150",
        /// Invalid parameter (HTTP 400).
        InvalidParameter = "CBC.0101",
        /// Internal error (HTTP 500).
        InternalError = "CBC.0999",
        /// Role permission denied.
        RolePermissionDenied = "91380150",
        /// License resource invalid.
        LicenseResourceInvalid = "91381033",
        /// License application invalid.
        LicenseApplyInvalid = "91381034",
        /// The license period has no remaining amount.
        NoRemainingAmount = "91381035",
        /// Inner error.
        InnerError = "91381036",
        /// Invalid license format.
        InvalidLicenseFormat = "91381037",
        /// The license application has been denied.
        LicenseApplyDenied = "91381038",
    }
}

open_enum! {
    /// `9202xxxx` / `9500000x`: license-code activate, heartbeat and usage (license-kit §2.3.4).
    pub enum LicenseApiCode {
        /// Success.
        Success = "92020000",
        /// Other internal error.
        InternalError = "92020001",
        /// Invalid parameter.
        InvalidParam = "92020002",
        /// Invalid code state (e.g. activating twice).
        IllegalState = "92020003",
        /// The buyer has not received the code yet.
        NotReceivedByBuyer = "92020004",
        /// The license code does not exist.
        LicenseCodeNotFound = "92020005",
        /// Queried before activation.
        NotActivated = "92020011",
        /// A batch request contains an invalid code.
        InvalidCodeInBatch = "92020020",
        /// Request parameter invalid (HTTP 400).
        RequestParamInvalid = "95000001",
        /// Method not supported (HTTP 405).
        MethodNotSupported = "95000002",
        /// Content type not supported (HTTP 415).
        ContentTypeNotSupported = "95000003",
        /// Body not readable (HTTP 400).
        MessageNotReadable = "95000004",
    }
}

open_enum! {
    /// `APIGW.*` / `APIG.*`: the API gateway in front of every open API.
    pub enum GatewayCode {
        /// API not found or not published (HTTP 404).
        ApiNotFound = "APIGW.0101",
        /// Malformed or oversized request (HTTP 400/413/414/494/502/504).
        RequestError = "APIGW.0201",
        /// Incorrect IAM authentication information: the AK/SK signature failed (HTTP 401).
        IamAuthFailed = "APIGW.0301",
        /// IAM user not authorized (HTTP 403).
        IamNotAuthorized = "APIGW.0302",
        /// Incorrect app authentication information (HTTP 401).
        AppAuthFailed = "APIGW.0303",
    }
}

impl MktCode {
    fn message(&self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::InternalError => "Internal error",
            Self::InputCheckFailed => "Input check failed",
            Self::InvalidParameter => "Invalid parameter",
            Self::InvalidBodySign => "Invalid body sign",
            Self::ParameterError => "Parameter error",
            Self::IllegalOperation => "Illegal operation",
            Self::NoAuthority => "No authority",
            Self::IllegalToken => "Illegal token",
            Self::InstanceNotFound => "Instance ID not found",
            Self::InvalidUsageEntities => "Invalid usage entities",
            Self::TooManyRecords => "Too many usage records (max 1000)",
            Self::BeginTimeTooOld => "beginTime is more than 21 days ago",
            Self::Other(_) => "Unknown MKT error",
        }
    }
}

impl CbcCode {
    fn message(&self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::IllegalOperation => "Illegal operation",
            Self::InvalidParameter => "Invalid parameter",
            Self::InternalError => "internal error",
            Self::RolePermissionDenied => "Role permission denied",
            Self::LicenseResourceInvalid => "License resource invalid",
            Self::LicenseApplyInvalid => "license apply invalid",
            Self::NoRemainingAmount => "license period has no remain amount",
            Self::InnerError => "inner error",
            Self::InvalidLicenseFormat => "Invalid license format.",
            Self::LicenseApplyDenied => "License apply has been denied.",
            Self::Other(_) => "Unknown CBC error",
        }
    }
}

impl LicenseApiCode {
    fn message(&self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::InternalError => "internal error",
            Self::InvalidParam => "invalid param",
            Self::IllegalState => "illegal state",
            Self::NotReceivedByBuyer => "can not active before user received.",
            Self::LicenseCodeNotFound => "license code notexist",
            Self::NotActivated => "license code has been not activated.",
            Self::InvalidCodeInBatch => "Invalid license code exists.",
            Self::RequestParamInvalid => "req param is invalid",
            Self::MethodNotSupported => "Request method not supported",
            Self::ContentTypeNotSupported => "Content type not supported",
            Self::MessageNotReadable => "req message is not readable",
            Self::Other(_) => "Unknown license error",
        }
    }
}

impl GatewayCode {
    fn message(&self) -> &'static str {
        match self {
            Self::ApiNotFound => "API not found",
            Self::RequestError => "Bad request",
            Self::IamAuthFailed => "Incorrect IAM authentication information",
            Self::IamNotAuthorized => "IAM user not authorized",
            Self::AppAuthFailed => "Incorrect app authentication information",
            Self::Other(_) => "API gateway error",
        }
    }
}

/// Any open-API `error_code` (or the order query's `resultCode`), sorted into its family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OpenApiCode {
    /// `MKT.*`.
    Mkt(MktCode),
    /// `CBC.*`, `9138xxxx`.
    Cbc(CbcCode),
    /// `9202xxxx`, `9500000x`.
    License(LicenseApiCode),
    /// `APIGW.*`, `APIG.*`.
    Gateway(GatewayCode),
    /// No known family.
    Other(String),
}

impl OpenApiCode {
    /// Sorts a code into its family by prefix; never fails.
    pub fn parse(code: &str) -> Self {
        let code = code.trim();
        if code.starts_with("MKT.") {
            Self::Mkt(MktCode::parse(code))
        } else if code.starts_with("CBC.") || code.starts_with("9138") {
            Self::Cbc(CbcCode::parse(code))
        } else if code.starts_with("9202") || code.starts_with("9500") {
            Self::License(LicenseApiCode::parse(code))
        } else if code.starts_with("APIGW.") || code.starts_with("APIG.") {
            Self::Gateway(GatewayCode::parse(code))
        } else {
            Self::Other(code.to_owned())
        }
    }

    /// The wire code.
    pub fn code(&self) -> &str {
        match self {
            Self::Mkt(c) => c.as_str(),
            Self::Cbc(c) => c.as_str(),
            Self::License(c) => c.as_str(),
            Self::Gateway(c) => c.as_str(),
            Self::Other(c) => c,
        }
    }

    /// `MKT.0000`, `CBC.0000` and `92020000` are the only successes.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            Self::Mkt(MktCode::Success) | Self::Cbc(CbcCode::Success) | Self::License(LicenseApiCode::Success)
        )
    }

    /// The documented `error_msg` (exact text where the spec prints it).
    pub fn default_message(&self) -> &'static str {
        match self {
            Self::Mkt(c) => c.message(),
            Self::Cbc(c) => c.message(),
            Self::License(c) => c.message(),
            Self::Gateway(c) => c.message(),
            Self::Other(_) => "Unknown error",
        }
    }

    /// The HTTP status the marketplace documents alongside the code (200 where none is given),
    /// so a simulator answers with the same status.
    pub fn http_status(&self) -> u16 {
        use {CbcCode as C, GatewayCode as G, LicenseApiCode as L, MktCode as M};
        match self {
            Self::Mkt(M::IllegalOperation) => 401,
            Self::Cbc(C::IllegalOperation) => 403,
            Self::Cbc(C::InvalidParameter) => 400,
            Self::Cbc(C::InternalError) => 500,
            Self::License(L::RequestParamInvalid | L::MessageNotReadable) => 400,
            Self::License(L::MethodNotSupported) => 405,
            Self::License(L::ContentTypeNotSupported) => 415,
            Self::Gateway(G::ApiNotFound) => 404,
            Self::Gateway(G::RequestError) => 400,
            Self::Gateway(G::IamAuthFailed | G::AppAuthFailed) => 401,
            Self::Gateway(G::IamNotAuthorized) => 403,
            _ => 200,
        }
    }
}

impl From<MktCode> for OpenApiCode {
    fn from(code: MktCode) -> Self {
        Self::Mkt(code)
    }
}

impl From<CbcCode> for OpenApiCode {
    fn from(code: CbcCode) -> Self {
        Self::Cbc(code)
    }
}

impl From<LicenseApiCode> for OpenApiCode {
    fn from(code: LicenseApiCode) -> Self {
        Self::License(code)
    }
}

impl From<GatewayCode> for OpenApiCode {
    fn from(code: GatewayCode) -> Self {
        Self::Gateway(code)
    }
}

impl fmt::Display for OpenApiCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for OpenApiCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for OpenApiCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // License codes are digits and may arrive as JSON numbers.
        crate::wire::deserialize_text(d).map(|code| Self::parse(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_family() {
        assert_eq!(OpenApiCode::parse("MKT.0102"), OpenApiCode::Mkt(MktCode::InvalidBodySign));
        assert_eq!(OpenApiCode::parse("91381037"), OpenApiCode::Cbc(CbcCode::InvalidLicenseFormat));
        assert_eq!(OpenApiCode::parse("95000003"), OpenApiCode::License(LicenseApiCode::ContentTypeNotSupported));
        assert_eq!(OpenApiCode::parse("APIGW.0301"), OpenApiCode::Gateway(GatewayCode::IamAuthFailed));
        assert_eq!(OpenApiCode::parse("APIG.1000"), OpenApiCode::Gateway(GatewayCode::Other("APIG.1000".into())));
        assert_eq!(OpenApiCode::parse("MKT.7777"), OpenApiCode::Mkt(MktCode::Other("MKT.7777".into())));
        assert_eq!(OpenApiCode::parse("XYZ"), OpenApiCode::Other("XYZ".into()));
    }

    #[test]
    fn success_codes() {
        for code in ["MKT.0000", "CBC.0000", "92020000"] {
            assert!(OpenApiCode::parse(code).is_success(), "{code}");
        }
        for code in ["MKT.0999", "92020003", "APIGW.0101", "000000"] {
            assert!(!OpenApiCode::parse(code).is_success(), "{code}");
        }
    }

    #[test]
    fn every_named_code_round_trips() {
        let all = MktCode::KNOWN.iter().cloned().map(OpenApiCode::from)
            .chain(CbcCode::KNOWN.iter().cloned().map(OpenApiCode::from))
            .chain(LicenseApiCode::KNOWN.iter().cloned().map(OpenApiCode::from))
            .chain(GatewayCode::KNOWN.iter().cloned().map(OpenApiCode::from));
        for code in all {
            assert_eq!(OpenApiCode::parse(code.code()), code);
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(serde_json::from_str::<OpenApiCode>(&json).unwrap(), code);
        }
        assert_eq!(serde_json::from_str::<OpenApiCode>("92020004").unwrap().default_message(), "can not active before user received.");
        assert_eq!(OpenApiCode::parse("95000002").http_status(), 405);
    }
}
