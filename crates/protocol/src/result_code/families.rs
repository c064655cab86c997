//! The four open-API code families, with their documented `error_msg` texts.

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
    pub(super) fn message(&self) -> &'static str {
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
    pub(super) fn message(&self) -> &'static str {
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
    pub(super) fn message(&self) -> &'static str {
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
    pub(super) fn message(&self) -> &'static str {
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
