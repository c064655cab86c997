//! The license-code open APIs (license-kit §2.3): activate (`v1/license/activate`), query, the
//! former heartbeat (`v1/license/heartbeat`), and software usage (`v2/license/software-usage-info`).
//! APIG-signed and sent `.com` then `.cn` like every open API ([`OpenApiClient::send`]).
//!
//! Every `9202xxxx` and `95000xxx` code becomes a [`LicenseOutcome`]; what is left as an
//! [`OpenApiError`] is what says nothing about the code (no answer, a gateway refusal such as
//! `APIGW.0301`, an unreadable body). A call is repeated only when repeating can help: no
//! answer, HTTP 5xx from every host, or HTTP 429 (throttled), after the delays of
//! [`OpenApiClient::with_retry_delays`]. Business codes are never retried: the same request gets
//! the same answer.
//!
//! Activation is not idempotent at KooGallery (a second activate is `92020003`), so an activate
//! repeated after a lost answer may come back [`LicenseOutcome::IllegalState`] although the
//! first one activated the code: callers that see it after a retry should query the code.

use std::time::Duration;

use koogate_protocol::messages::license_api::{
    ActivateRequest, ActivateResponse, HeartbeatRequest, HeartbeatResponse, LicenseStatus,
    SoftwareUsageInfoRequest,
};
use koogate_protocol::result_code::{LicenseApiCode, OpenApiCode};
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::OpenApiClient;
use super::client::{Answer, Call, http_error};
use super::error::{OpenApiError, clean_message};
use super::order::count;

/// Activate a code (license-kit §2.3.1).
pub const LICENSE_ACTIVATE_PATH: &str = "/api/mkp-openapi-public/global/v1/license/activate";
/// Query a code, formerly the heartbeat (license-kit §2.3.2).
pub const LICENSE_QUERY_PATH: &str = "/api/mkp-openapi-public/global/v1/license/heartbeat";
/// Daily software usage per code (license-kit §2.3.3).
pub const SOFTWARE_USAGE_PATH: &str =
    "/api/mkp-openapi-public/global/v2/license/software-usage-info";

/// Delays before the second and third attempt of a license call, by default.
pub const DEFAULT_RETRY_DELAYS: [Duration; 2] =
    [Duration::from_millis(500), Duration::from_secs(2)];

/// What KooGallery said about a code in a successful activate or query.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseState {
    pub status: LicenseStatus,
    /// As received (`yyyyMMddHHmmss`); activate's is an estimate, the query's authoritative.
    pub expire_time: Option<String>,
    /// Query only.
    pub activate_time: Option<String>,
    pub product_id: Option<String>,
    pub order_id: Option<String>,
    /// The answer body as received, for the code's `last_answer`.
    pub raw: String,
}

/// The outcome of a license open-API call, one variant per documented code family member.
#[derive(Debug, Clone, PartialEq)]
pub enum LicenseOutcome {
    /// `92020000`, status `ALIVE`: allow use.
    Active(LicenseState),
    /// `92020000`, status `EXPIRED`: block use, keep data.
    Expired(LicenseState),
    /// `92020000`, status `RELEASED`: block use, delete the resources.
    Released(LicenseState),
    /// `92020000` to software-usage-info: every entry taken.
    Accepted,
    /// `92020003`: the code's state forbids it (activated already, expired or released).
    IllegalState { message: String },
    /// `92020004`: the buyer has not received the code yet (服务监管).
    NotReceived,
    /// `92020005`: no such code.
    UnknownCode,
    /// `92020011`: queried (or usage reported) before activation.
    NotActivated,
    /// `92020020`: software-usage-info named invalid codes; `failed` is `data` as received
    /// (its shape is not published) and the other entries were taken.
    InvalidCodes { failed: Value },
    /// `92020002` and `95000001`–`95000004`: the request itself is wrong (a bug here or in the
    /// caller's input); repeating it cannot help.
    InvalidRequest { code: OpenApiCode, message: String },
    /// `92020001` (internal error), a success with a status this version does not know, and
    /// codes of the family this version does not know.
    Failed { code: OpenApiCode, message: String },
}

impl LicenseOutcome {
    /// The outcome of `code`/`message` when `code` is not a success. `None` for codes outside
    /// the license family.
    pub fn from_refusal(code: &OpenApiCode, message: &str) -> Option<Self> {
        let OpenApiCode::License(license) = code else {
            return None;
        };
        let message = clean_message(message);
        Some(match license {
            LicenseApiCode::Success => return None,
            LicenseApiCode::IllegalState => Self::IllegalState { message },
            LicenseApiCode::NotReceivedByBuyer => Self::NotReceived,
            LicenseApiCode::LicenseCodeNotFound => Self::UnknownCode,
            LicenseApiCode::NotActivated => Self::NotActivated,
            LicenseApiCode::InvalidCodeInBatch => Self::InvalidCodes {
                failed: Value::Null,
            },
            LicenseApiCode::InvalidParam
            | LicenseApiCode::RequestParamInvalid
            | LicenseApiCode::MethodNotSupported
            | LicenseApiCode::ContentTypeNotSupported
            | LicenseApiCode::MessageNotReadable => Self::InvalidRequest {
                code: code.clone(),
                message,
            },
            LicenseApiCode::InternalError | LicenseApiCode::Other(_) => Self::Failed {
                code: code.clone(),
                message,
            },
        })
    }

    /// The outcome of a successful activate or query reporting `state`.
    pub fn from_state(state: LicenseState) -> Self {
        match &state.status {
            LicenseStatus::Alive => Self::Active(state),
            LicenseStatus::Expired => Self::Expired(state),
            LicenseStatus::Released => Self::Released(state),
            LicenseStatus::Other(status) => Self::Failed {
                code: OpenApiCode::License(LicenseApiCode::Success),
                message: format!("unknown license status `{}`", clean_message(status)),
            },
        }
    }
}

/// Which call is answered, for reading its `data`.
#[derive(Debug, Clone, Copy)]
enum Api {
    Activate,
    Query,
    Usage,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Self::Activate => "license_activate",
            Self::Query => "license_query",
            Self::Usage => "license_usage",
        }
    }
}

impl OpenApiClient {
    /// Activates `license`, effective at `real_effect_time` (`yyyyMMddHHmmss`, UTC) or now.
    #[tracing::instrument(skip_all)]
    pub async fn activate_license(
        &self,
        request: &ActivateRequest,
    ) -> Result<LicenseOutcome, OpenApiError> {
        self.license_call(Api::Activate, LICENSE_ACTIVATE_PATH, request)
            .await
    }

    /// Queries `license` (the heartbeat): its status and expiry.
    #[tracing::instrument(skip_all)]
    pub async fn query_license(
        &self,
        request: &HeartbeatRequest,
    ) -> Result<LicenseOutcome, OpenApiError> {
        self.license_call(Api::Query, LICENSE_QUERY_PATH, request)
            .await
    }

    /// Reports a day's software usage per code. Refused before sending when a list is empty or
    /// longer than 100 entries.
    #[tracing::instrument(skip_all, fields(codes = request.usage_info.len()))]
    pub async fn report_software_usage(
        &self,
        request: &SoftwareUsageInfoRequest,
    ) -> Result<LicenseOutcome, OpenApiError> {
        if !request.is_within_limits() {
            return Err(OpenApiError::Invalid(
                "usage_info and each software_usage_Info must hold 1 to 100 entries".into(),
            ));
        }
        self.license_call(Api::Usage, SOFTWARE_USAGE_PATH, request)
            .await
    }

    async fn license_call<T: Serialize>(
        &self,
        api: Api,
        path: &str,
        request: &T,
    ) -> Result<LicenseOutcome, OpenApiError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| OpenApiError::Invalid(format!("{}: {e}", api.name())))?;
        let mut delays = self.retry_delays().iter();
        let result = loop {
            let answer = self
                .send(Call {
                    method: Method::POST,
                    path_and_query: path,
                    content_type: "application/json",
                    extra_headers: &[],
                    body: body.clone(),
                })
                .await;
            let retry = match &answer {
                Err(OpenApiError::Transport { .. }) => true,
                Err(OpenApiError::Http { status, .. }) => *status >= 500 || *status == 429,
                Ok(answer) => answer.status == 429,
                Err(_) => false,
            };
            match delays.next() {
                Some(delay) if retry => {
                    tracing::warn!(api = api.name(), "license API call failed; trying again");
                    tokio::time::sleep(*delay).await;
                }
                _ => break answer.and_then(|answer| read_answer(api, &answer)),
            }
        };
        count(api.name(), &result);
        result
    }
}

/// Reads an answer: a license-family code is an outcome whatever the HTTP status (`95000001`
/// comes with 400); anything else that is not a 2xx success is an error.
fn read_answer(api: Api, answer: &Answer) -> Result<LicenseOutcome, OpenApiError> {
    let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    let code = body
        .get("error_code")
        .and_then(|c| {
            c.as_str()
                .map(str::to_owned)
                .or_else(|| c.as_u64().map(|n| n.to_string()))
        })
        .map(|c| OpenApiCode::parse(&c));
    let message = body["error_msg"].as_str().unwrap_or_default();
    let Some(code) = code else {
        return Err(if (200..300).contains(&answer.status) {
            OpenApiError::Decode(format!("{} answer has no error_code", api.name()))
        } else {
            http_error(answer)
        });
    };
    if !code.is_success() {
        return match LicenseOutcome::from_refusal(&code, message) {
            Some(LicenseOutcome::InvalidCodes { .. }) => Ok(LicenseOutcome::InvalidCodes {
                failed: body.get("data").cloned().unwrap_or(Value::Null),
            }),
            Some(outcome) => Ok(outcome),
            None if (200..300).contains(&answer.status) => Err(OpenApiError::Business {
                code,
                message: clean_message(message),
            }),
            None => Err(http_error(answer)),
        };
    }
    let decode = |e: serde_json::Error| OpenApiError::Decode(format!("{}: {e}", api.name()));
    let state = match api {
        Api::Usage => return Ok(LicenseOutcome::Accepted),
        Api::Activate => {
            let response: ActivateResponse = serde_json::from_str(&answer.body).map_err(decode)?;
            let info = response
                .license_code_info()
                .map_err(decode)?
                .ok_or_else(|| {
                    OpenApiError::Decode("activate answer has no license_code_info".into())
                })?;
            LicenseState {
                status: info.status,
                expire_time: info.expire_time,
                activate_time: None,
                product_id: info.product_id,
                order_id: info.order_id,
                raw: answer.body.clone(),
            }
        }
        Api::Query => {
            let response: HeartbeatResponse = serde_json::from_str(&answer.body).map_err(decode)?;
            let info = response
                .data
                .ok_or_else(|| OpenApiError::Decode("query answer has no data".into()))?;
            LicenseState {
                status: info.status,
                expire_time: info.expire_time,
                activate_time: info.activate_time,
                product_id: info.product_id,
                order_id: info.order_id,
                raw: answer.body.clone(),
            }
        }
    };
    Ok(LicenseOutcome::from_state(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            host: "mkt.example".into(),
            status,
            body: body.into(),
        }
    }

    type Check = fn(&LicenseOutcome) -> bool;

    #[test]
    fn every_documented_code_has_its_outcome() {
        let cases: [(&str, u16, Check); 11] = [
            ("92020001", 200, |o| {
                matches!(o, LicenseOutcome::Failed { .. })
            }),
            ("92020002", 200, |o| {
                matches!(o, LicenseOutcome::InvalidRequest { .. })
            }),
            ("92020003", 200, |o| {
                matches!(o, LicenseOutcome::IllegalState { .. })
            }),
            ("92020004", 200, |o| *o == LicenseOutcome::NotReceived),
            ("92020005", 200, |o| *o == LicenseOutcome::UnknownCode),
            ("92020011", 200, |o| *o == LicenseOutcome::NotActivated),
            ("92020020", 200, |o| {
                matches!(o, LicenseOutcome::InvalidCodes { .. })
            }),
            ("95000001", 400, |o| {
                matches!(o, LicenseOutcome::InvalidRequest { .. })
            }),
            ("95000002", 405, |o| {
                matches!(o, LicenseOutcome::InvalidRequest { .. })
            }),
            ("95000003", 415, |o| {
                matches!(o, LicenseOutcome::InvalidRequest { .. })
            }),
            ("95000004", 400, |o| {
                matches!(o, LicenseOutcome::InvalidRequest { .. })
            }),
        ];
        for (code, status, expected) in cases {
            let body = format!(r#"{{"error_code":"{code}","error_msg":"m"}}"#);
            for api in [Api::Activate, Api::Query, Api::Usage] {
                let outcome = read_answer(api, &answer(status, &body)).unwrap();
                assert!(expected(&outcome), "{code}: {outcome:?}");
            }
        }
        // An unknown code of the family is a failure, not a parse error; numbers are read too.
        let unknown = read_answer(Api::Query, &answer(200, r#"{"error_code":92029999}"#));
        assert!(
            matches!(unknown, Ok(LicenseOutcome::Failed { code, .. }) if code.code() == "92029999")
        );
    }

    #[test]
    fn successes_carry_the_status() {
        let activate = r#"{"error_code":"92020000","error_msg":"Success","data":{"license_code_info":"{\"status\":\"ALIVE\",\"expire_time\":\"20250401235959\",\"order_id\":\"CS1\"}"}}"#;
        let Ok(LicenseOutcome::Active(state)) = read_answer(Api::Activate, &answer(200, activate))
        else {
            panic!("not active");
        };
        assert_eq!(state.expire_time.as_deref(), Some("20250401235959"));
        assert_eq!(state.raw, activate);
        for (status, released) in [("EXPIRED", false), ("RELEASED", true)] {
            let body = format!(
                r#"{{"error_code":"92020000","error_msg":"Success","data":{{"license_code":"PL1","status":"{status}","activate_time":"20250301080000"}}}}"#
            );
            let outcome = read_answer(Api::Query, &answer(200, &body)).unwrap();
            assert_eq!(
                matches!(outcome, LicenseOutcome::Released(_)),
                released,
                "{outcome:?}"
            );
            assert_eq!(
                matches!(outcome, LicenseOutcome::Expired(_)),
                !released,
                "{outcome:?}"
            );
        }
        let odd = r#"{"error_code":"92020000","data":{"license_code":"PL1","status":"PAUSED"}}"#;
        assert!(matches!(
            read_answer(Api::Query, &answer(200, odd)),
            Ok(LicenseOutcome::Failed { .. })
        ));
        let usage =
            r#"{"error_code":"92020000","error_msg":"Success","data":{"check_fail_list":[]}}"#;
        assert_eq!(
            read_answer(Api::Usage, &answer(200, usage)),
            Ok(LicenseOutcome::Accepted)
        );
    }

    #[test]
    fn other_answers_are_errors() {
        let gateway = read_answer(
            Api::Query,
            &answer(
                401,
                r#"{"error_code":"APIGW.0301","error_msg":"bad signature"}"#,
            ),
        );
        assert!(matches!(
            gateway,
            Err(OpenApiError::Http { status: 401, .. })
        ));
        let html = read_answer(Api::Query, &answer(502, "<html>"));
        assert!(matches!(html, Err(OpenApiError::Http { status: 502, .. })));
        let empty = read_answer(Api::Activate, &answer(200, "{}"));
        assert!(matches!(empty, Err(OpenApiError::Decode(_))));
        let no_info = read_answer(Api::Activate, &answer(200, r#"{"error_code":"92020000"}"#));
        assert!(matches!(no_info, Err(OpenApiError::Decode(_))));
    }
}
