//! 联营 login against the tenant's IDaaS (license-kit §5): token, refresh, userinfo, errors.
//! The spec marks no userinfo field mandatory, so every field is optional and unknown ones kept.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::wire::Scalar;

/// Form of `POST {domain}/api/v1/oauth2/token` for the authorization-code grant.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationCodeGrant {
    /// From applicationSync.
    pub client_id: String,
    /// Decrypted clientSecret.
    pub client_secret: String,
    /// Single-use code from the login redirect.
    pub code: String,
    /// Callback URL, if registered.
    pub redirect_uri: Option<String>,
}

impl AuthorizationCodeGrant {
    /// Form fields in the documented order, ready for URL encoding.
    pub fn form(&self) -> Vec<(&'static str, &str)> {
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
            ("code", self.code.as_str()),
            ("grant_type", "authorization_code"),
        ];
        if let Some(uri) = &self.redirect_uri {
            form.push(("redirect_uri", uri));
        }
        form
    }
}

impl fmt::Debug for AuthorizationCodeGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationCodeGrant")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("code", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// Form of the refresh-token grant (same endpoint).
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshTokenGrant {
    /// From applicationSync.
    pub client_id: String,
    /// Decrypted clientSecret.
    pub client_secret: String,
    /// Refresh token (valid 30 days).
    pub refresh_token: String,
}

impl RefreshTokenGrant {
    /// Form fields in the documented order.
    pub fn form(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
            ("refresh_token", self.refresh_token.as_str()),
            ("grant_type", "refresh_token"),
        ]
    }
}

impl fmt::Debug for RefreshTokenGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokenGrant")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Token response (HTTP 200). Whether a refresh returns a new refresh_token is unknown.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// Bearer token (2 h).
    pub access_token: String,
    /// `Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Lifetime in seconds (`7200`); number or string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<Scalar>,
    /// e.g. `get_user_info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Refresh token (30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl TokenResponse {
    /// `expires_in` in seconds, if readable.
    pub fn expires_in_secs(&self) -> Option<i64> {
        self.expires_in.as_ref().and_then(Scalar::as_i64)
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// OAuth error body: `{"error":"invalid_grant","error_description":"Invalid authorization code"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenError {
    /// `invalid_grant`, `invalid_client`, `unauthorized`, …
    pub error: String,
    /// Human text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// `GET {domain}/api/v1/oauth2/userinfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct UserInfo {
    /// IDaaS user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Matches authSync `userName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// `user` / `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Matches `orgCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_code: Option<String>,
    /// Tenant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// Tenant id (matches `tenantId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// aPaaS variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acc_name: Option<String>,
    /// aPaaS variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_name: Option<String>,
    /// Fields this version does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_errors_parse() {
        let t: TokenResponse = serde_json::from_str(
            r#"{"access_token":"at","token_type":"Bearer","expires_in":7200,"scope":"get_user_info","refresh_token":"rt"}"#,
        )
        .unwrap();
        assert_eq!(t.expires_in_secs(), Some(7200));
        assert!(!format!("{t:?}").contains("at\""));
        let e: TokenError = serde_json::from_str(
            r#"{"error":"invalid_grant","error_description":"Invalid authorization code"}"#,
        )
        .unwrap();
        assert_eq!(e.error, "invalid_grant");
        let e: TokenError = serde_json::from_str(
            r#"{"error":"unauthorized","error_description":"Full authentication is required to access this resource"}"#,
        )
        .unwrap();
        assert_eq!(e.error, "unauthorized");
    }

    #[test]
    fn userinfo_is_all_optional() {
        let u: UserInfo = serde_json::from_str(
            r#"{"tenant":"34a59a26e6a24071a9cc7a0526440171","userName":"zhangsan01","x":1}"#,
        )
        .unwrap();
        assert_eq!(
            u.tenant.as_deref(),
            Some("34a59a26e6a24071a9cc7a0526440171")
        );
        assert_eq!(u.extra["x"], 1);
        assert_eq!(
            serde_json::from_str::<UserInfo>("{}").unwrap(),
            UserInfo::default()
        );
    }

    #[test]
    fn grant_forms() {
        let g = AuthorizationCodeGrant {
            client_id: "c".into(),
            client_secret: "s".into(),
            code: "z2D".into(),
            redirect_uri: None,
        };
        assert_eq!(g.form()[3], ("grant_type", "authorization_code"));
        assert!(!format!("{g:?}").contains("\"s\""));
        let r = RefreshTokenGrant {
            client_id: "c".into(),
            client_secret: "s".into(),
            refresh_token: "rt".into(),
        };
        assert_eq!(r.form().len(), 4);
    }
}
