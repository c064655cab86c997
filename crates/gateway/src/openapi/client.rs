//! Signing, sending and host fallback, shared by every open API.

use crate::error_chain::error_chain;
use std::fmt;
use std::time::Duration;

use koogate_protocol::AccessKey;
use koogate_protocol::result_code::OpenApiCode;
use koogate_protocol::signing::apig;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use reqwest::{Method, Url};
use serde_json::Value;

use super::error::{OpenApiError, clean_message};
use crate::clock::SharedClock;

/// Largest answer read; the open APIs answer a few kilobytes.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
const USER_AGENT_VALUE: &str = concat!("koogate/", env!("CARGO_PKG_VERSION"));

/// Where and as whom to call the open APIs.
#[derive(Clone)]
pub struct OpenApiConfig {
    /// Tried in order: primary first, then fallbacks (see [`super::DEFAULT_BASE_URLS`]).
    /// `https://` only, except loopback hosts (the sandbox simulator).
    pub base_urls: Vec<String>,
    /// The Huawei Cloud access key ID (我的凭证 > 访问密钥), not the production-interface key.
    pub ak: String,
    pub sk: AccessKey,
    /// Per host attempt: connecting, sending and reading the answer.
    pub timeout: Duration,
}

impl fmt::Debug for OpenApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenApiConfig")
            .field("base_urls", &self.base_urls)
            .field("ak", &"[redacted]")
            .field("sk", &self.sk)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One configured host.
#[derive(Debug, Clone)]
struct BaseUrl {
    /// Without a trailing `/`.
    url: String,
    /// `host[:port]`, for errors and logs.
    host: String,
}

impl BaseUrl {
    fn parse(text: &str) -> Result<Self, OpenApiError> {
        let invalid = |why: &str| OpenApiError::Invalid(format!("base URL `{text}`: {why}"));
        let url = Url::parse(text.trim()).map_err(|e| invalid(&e.to_string()))?;
        let host = url.host_str().ok_or_else(|| invalid("no host"))?.to_owned();
        let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]");
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err(invalid("plain http is only allowed for a loopback sandbox")),
            _ => return Err(invalid("scheme must be https")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("credentials in the URL are not allowed"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("no query or fragment allowed"));
        }
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        let url = url.as_str().trim_end_matches('/').to_owned();
        Ok(Self { url, host })
    }
}

/// A request to send, before signing.
#[derive(Debug)]
pub(super) struct Call<'a> {
    pub method: Method,
    /// Starts with `/`; already percent-encoded.
    pub path_and_query: &'a str,
    pub content_type: &'a str,
    /// Sent as they are and not part of the APIG signature (the usage push's body signature).
    pub extra_headers: &'a [(&'static str, String)],
    pub body: Vec<u8>,
}

/// An HTTP answer from some host.
#[derive(Debug)]
pub(super) struct Answer {
    /// `host[:port]` that answered.
    pub host: String,
    pub status: u16,
    pub body: String,
}

/// The open-API client. Clones share the connection pool.
#[derive(Clone)]
pub struct OpenApiClient {
    http: reqwest::Client,
    bases: Vec<BaseUrl>,
    ak: String,
    sk: AccessKey,
    clock: SharedClock,
    /// Delays between attempts of the calls that repeat on passing failures (the license APIs).
    retry_delays: Vec<Duration>,
}

impl fmt::Debug for OpenApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<&str> = self.bases.iter().map(|b| b.host.as_str()).collect();
        f.debug_struct("OpenApiClient")
            .field("hosts", &hosts)
            .finish_non_exhaustive()
    }
}

impl OpenApiClient {
    pub fn new(config: OpenApiConfig, clock: SharedClock) -> Result<Self, OpenApiError> {
        let bases = config
            .base_urls
            .iter()
            .map(|url| BaseUrl::parse(url))
            .collect::<Result<Vec<_>, _>>()?;
        if bases.is_empty() {
            return Err(OpenApiError::Invalid("no base URL configured".into()));
        }
        if config.ak.trim().is_empty() || config.sk.expose().is_empty() {
            return Err(OpenApiError::Invalid("AK and SK are required".into()));
        }
        crate::tls::install_default_crypto_provider();
        // Certificate and host-name checks stay at reqwest's defaults (the platform verifier);
        // nothing here may relax them. Redirects are not followed: a signed request must reach
        // the host it was signed for or fail.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(bases.iter().all(|b| b.url.starts_with("https://")))
            .connect_timeout(config.timeout)
            .timeout(config.timeout)
            .build()
            .map_err(|e| OpenApiError::Invalid(format!("HTTP client: {}", error_chain(&e))))?;
        Ok(Self {
            http,
            bases,
            ak: config.ak,
            sk: config.sk,
            clock,
            retry_delays: super::license::DEFAULT_RETRY_DELAYS.to_vec(),
        })
    }

    /// Sets the delays before each repeat of a license call that failed in passing (no answer,
    /// 5xx from every host, 429); an empty list never repeats.
    #[must_use]
    pub fn with_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        self.retry_delays = delays;
        self
    }

    pub(super) fn retry_delays(&self) -> &[Duration] {
        &self.retry_delays
    }

    /// The clock's time in Unix milliseconds.
    pub(super) fn now_millis(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Sends `call` to each host in turn until one gives an answer that is not a 5xx; returns
    /// that answer whatever its status. Transport failures and 5xx from the last host are errors.
    pub(super) async fn send(&self, call: Call<'_>) -> Result<Answer, OpenApiError> {
        let mut last_error = OpenApiError::Invalid("no base URL configured".into());
        for (index, base) in self.bases.iter().enumerate() {
            let error = match self.attempt(base, &call).await {
                Ok(answer) if answer.status < 500 => return Ok(answer),
                Ok(answer) => http_error(&answer),
                Err(error) => error,
            };
            if index + 1 < self.bases.len() {
                tracing::warn!(host = %base.host, %error, "open API host failed; trying the next");
            }
            last_error = error;
        }
        Err(last_error)
    }

    async fn attempt(&self, base: &BaseUrl, call: &Call<'_>) -> Result<Answer, OpenApiError> {
        let url = format!("{}{}", base.url, call.path_and_query);
        let date = self.clock.now().format("%Y%m%dT%H%M%SZ").to_string();
        let headers = [(
            CONTENT_TYPE.as_str().to_owned(),
            call.content_type.to_owned(),
        )];
        let request = apig::Request {
            method: call.method.as_str(),
            url: &url,
            headers: &headers,
            body: &call.body,
        };
        let signed = apig::sign(&self.ak, &self.sk, &date, &request)
            .map_err(|e| OpenApiError::Invalid(e.to_string()))?;
        let transport = |e: reqwest::Error| OpenApiError::Transport {
            url_host: base.host.clone(),
            message: error_chain(&e.without_url()),
        };
        let mut request = self
            .http
            .request(call.method.clone(), &url)
            .header(CONTENT_TYPE, call.content_type)
            .header(apig::HEADER_DATE, &signed.sdk_date)
            .header(AUTHORIZATION, &signed.authorization)
            .header(USER_AGENT, USER_AGENT_VALUE);
        for (name, value) in call.extra_headers {
            request = request.header(*name, value);
        }
        let mut response = request
            .body(call.body.clone())
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_ANSWER_BYTES {
                return Err(OpenApiError::Decode(format!(
                    "answer from {} larger than {MAX_ANSWER_BYTES} bytes",
                    base.host
                )));
            }
        }
        let body = String::from_utf8(bytes)
            .map_err(|_| OpenApiError::Decode(format!("answer from {} is not UTF-8", base.host)))?;
        Ok(Answer {
            host: base.host.clone(),
            status,
            body,
        })
    }
}

/// A non-2xx answer as an error, with the code and message of whichever error body it carries:
/// API Gateway's and the snake_case APIs' `error_code`/`error_msg`, or the order query's
/// `resultCode`/`resultMsg`.
pub(super) fn http_error(answer: &Answer) -> OpenApiError {
    let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    let text = |names: [&str; 2]| names.iter().find_map(|name| body.get(name)?.as_str());
    OpenApiError::Http {
        status: answer.status,
        code: text(["error_code", "resultCode"]).map(OpenApiCode::parse),
        message: clean_message(text(["error_msg", "resultMsg"]).unwrap_or_default()),
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters, for path segments and
/// query values; the same bytes APIG's canonical form uses, so nothing is re-encoded in between.
pub(super) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_https_unless_loopback() {
        assert_eq!(
            BaseUrl::parse("https://mkt.myhuaweicloud.com/")
                .unwrap()
                .url,
            "https://mkt.myhuaweicloud.com"
        );
        let sandbox = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(sandbox.host, "127.0.0.1:8080");
        assert!(BaseUrl::parse("http://localhost:1/").is_ok());
        assert!(BaseUrl::parse("http://[::1]:9/").is_ok());
        assert!(BaseUrl::parse("http://mkt.myhuaweicloud.com").is_err());
        assert!(BaseUrl::parse("http://127.0.0.1.evil.example").is_err());
        assert!(BaseUrl::parse("ftp://mkt.myhuaweicloud.com").is_err());
        assert!(BaseUrl::parse("https://u:p@mkt.myhuaweicloud.com").is_err());
        assert!(BaseUrl::parse("https://mkt.myhuaweicloud.com/?x=1").is_err());
    }

    #[test]
    fn components_are_percent_encoded() {
        assert_eq!(encode_component("MOCK-1_a.b~"), "MOCK-1_a.b~");
        assert_eq!(encode_component("a b/c&d=é"), "a%20b%2Fc%26d%3D%C3%A9");
    }

    #[test]
    fn http_errors_read_both_body_shapes() {
        let answer = |body: &str| Answer {
            host: "h".into(),
            status: 401,
            body: body.into(),
        };
        let gw = http_error(&answer(
            r#"{"error_code":"APIGW.0301","error_msg":"verify aksk signature fail"}"#,
        ));
        assert_eq!(gw.code().map(OpenApiCode::code), Some("APIGW.0301"));
        let mkt = http_error(&answer(r#"{"resultCode":"MKT.0150","resultMsg":"x"}"#));
        assert_eq!(mkt.code().map(OpenApiCode::code), Some("MKT.0150"));
        assert_eq!(http_error(&answer("<html>")).code(), None);
    }
}
