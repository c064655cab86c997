//! `error_code` / `resultCode` families of the open APIs (license-kit §6.7).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use super::families::{CbcCode, GatewayCode, LicenseApiCode, MktCode};

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
            Self::Mkt(MktCode::Success)
                | Self::Cbc(CbcCode::Success)
                | Self::License(LicenseApiCode::Success)
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
        assert_eq!(
            OpenApiCode::parse("MKT.0102"),
            OpenApiCode::Mkt(MktCode::InvalidBodySign)
        );
        assert_eq!(
            OpenApiCode::parse("91381037"),
            OpenApiCode::Cbc(CbcCode::InvalidLicenseFormat)
        );
        assert_eq!(
            OpenApiCode::parse("95000003"),
            OpenApiCode::License(LicenseApiCode::ContentTypeNotSupported)
        );
        assert_eq!(
            OpenApiCode::parse("APIGW.0301"),
            OpenApiCode::Gateway(GatewayCode::IamAuthFailed)
        );
        assert_eq!(
            OpenApiCode::parse("APIG.1000"),
            OpenApiCode::Gateway(GatewayCode::Other("APIG.1000".into()))
        );
        assert_eq!(
            OpenApiCode::parse("MKT.7777"),
            OpenApiCode::Mkt(MktCode::Other("MKT.7777".into()))
        );
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
        let all = MktCode::KNOWN
            .iter()
            .cloned()
            .map(OpenApiCode::from)
            .chain(CbcCode::KNOWN.iter().cloned().map(OpenApiCode::from))
            .chain(LicenseApiCode::KNOWN.iter().cloned().map(OpenApiCode::from))
            .chain(GatewayCode::KNOWN.iter().cloned().map(OpenApiCode::from));
        for code in all {
            assert_eq!(OpenApiCode::parse(code.code()), code);
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(serde_json::from_str::<OpenApiCode>(&json).unwrap(), code);
        }
        assert_eq!(
            serde_json::from_str::<OpenApiCode>("92020004")
                .unwrap()
                .default_message(),
            "can not active before user received."
        );
        assert_eq!(OpenApiCode::parse("95000002").http_status(), 405);
    }
}
