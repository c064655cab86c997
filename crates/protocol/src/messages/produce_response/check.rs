//! Length and presence rules for [`ProduceResponse`](super::ProduceResponse): the spec tables'
//! maxima plus the debugger's "接口响应缺少{field}" checks.

use super::{AppInfo, InstanceInfo, ProduceResponse, UsageInfo};
use crate::wire::utf16_len;

pub(super) const MAX_RESULT_MSG: usize = 255;
const MAX_ID: usize = 64;
const MAX_URL: usize = 512;
const MAX_CREDENTIAL: usize = 128;
const MAX_MEMO: usize = 1024;
const MAX_USAGE_VALUE: usize = 20;
const MAX_ENCRYPT_TYPE: usize = 3;

/// A rule an answer breaks. Field paths look like `info[0].appInfo.frontEndUrl`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// Longer than the table allows (UTF-16 units, decoded text).
    #[error("`{field}` is {len} characters long, over the maximum of {max}")]
    TooLong {
        /// Field path.
        field: String,
        /// Actual length.
        len: usize,
        /// Documented maximum.
        max: usize,
    },
    /// Empty where the table or the debugger requires a value.
    #[error("`{field}` is missing or empty")]
    Missing {
        /// Field path.
        field: String,
    },
    /// `resultCode` is not six characters (e.g. the doc typo `0000004`).
    #[error("resultCode `{0}` is not a 6-character code")]
    MalformedResultCode(String),
}

struct Checker {
    problems: Vec<ResponseError>,
}

impl Checker {
    fn max(&mut self, field: impl FnOnce() -> String, value: Option<&str>, max: usize) {
        let len = value.map_or(0, utf16_len);
        if len > max {
            self.problems.push(ResponseError::TooLong {
                field: field(),
                len,
                max,
            });
        }
    }

    fn required(&mut self, field: impl Fn() -> String, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.problems
                .push(ResponseError::Missing { field: field() });
        }
        self.max(field, Some(value), max);
    }

    fn app_info(&mut self, at: &str, app: &AppInfo) {
        self.required(
            || format!("{at}appInfo.frontEndUrl"),
            &app.front_end_url,
            MAX_URL,
        );
        self.max(
            || format!("{at}appInfo.adminUrl"),
            app.admin_url.as_deref(),
            MAX_URL,
        );
        self.max(
            || format!("{at}appInfo.userName"),
            app.user_name.as_deref(),
            MAX_CREDENTIAL,
        );
        self.max(
            || format!("{at}appInfo.password"),
            app.password.as_deref(),
            MAX_CREDENTIAL,
        );
        self.max(
            || format!("{at}appInfo.memo"),
            app.memo.as_deref(),
            MAX_MEMO,
        );
    }

    fn usage(&mut self, at: &str, usage: &UsageInfo) {
        self.max(
            || format!("{at}.relatedInstanceId"),
            usage.related_instance_id.as_deref(),
            MAX_ID,
        );
        let value = usage.usage_value.to_string();
        self.max(|| format!("{at}.usageValue"), Some(&value), MAX_USAGE_VALUE);
        self.max(
            || format!("{at}.dashboardUrl"),
            usage.dashboard_url.as_deref(),
            MAX_URL,
        );
    }

    fn instance(&mut self, index: usize, info: &InstanceInfo) {
        let at = format!("info[{index}].");
        self.required(|| format!("{at}instanceId"), &info.instance_id, MAX_ID);
        if let Some(app) = &info.app_info {
            self.app_info(&at, app);
        }
        for (i, usage) in info.usage_info.iter().flatten().enumerate() {
            self.usage(&format!("{at}usageInfo[{i}]"), usage);
        }
    }
}

pub(super) fn problems(response: &ProduceResponse) -> Vec<ResponseError> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    let code = response.result_code.code();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        c.problems
            .push(ResponseError::MalformedResultCode(code.to_owned()));
    }
    match &response.result_msg {
        None => c.problems.push(ResponseError::Missing {
            field: "resultMsg".into(),
        }),
        Some(msg) => c.max(|| "resultMsg".into(), Some(msg), MAX_RESULT_MSG),
    }
    if let Some(id) = &response.instance_id {
        c.required(|| "instanceId".into(), id, MAX_ID);
    }
    let encrypt = response.encrypt_type.as_ref().map(|e| e.as_str());
    c.max(|| "encryptType".into(), encrypt, MAX_ENCRYPT_TYPE);
    for (index, info) in response.info.iter().flatten().enumerate() {
        c.instance(index, info);
    }
    if let Some(app) = &response.app_info {
        c.app_info("", app);
    }
    c.problems
}
