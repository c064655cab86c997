//! Huawei API Gateway `SDK-HMAC-SHA256` AK/SK request signing (spec license-kit §6.1).

use super::primitives::{check_window, decode_hex_tag, hmac_sha256, hmac_verify, sha256};
use super::{AccessKey, VerifyError, apig_url};

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
pub const HEADER_DATE: &str = "X-Sdk-Date";
pub const HEADER_AUTHORIZATION: &str = "Authorization";
/// The date skew APIG tolerates, in seconds.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// A request to sign. `url` is absolute (`https://host[:port]/path?query`); `headers` are the
/// extra headers to sign besides `host` and `x-sdk-date`, which are always signed.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// What a signer adds to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The `Authorization` header value.
    pub authorization: String,
    /// The `X-Sdk-Date` header value (the `date` given).
    pub sdk_date: String,
    /// The `Host` header value signed (host[:port] from the URL).
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApigError {
    #[error("invalid url: {0}")]
    InvalidUrl(String),
    #[error("invalid X-Sdk-Date `{0}`, expected yyyyMMddTHHmmssZ")]
    InvalidDate(String),
}

/// `date` is `yyyyMMdd'T'HHmmss'Z'` (UTC).
///
/// Caller-supplied `host` or `x-sdk-date` headers are ignored in favour of the URL's host and
/// `date`, so the signature always covers what will actually be sent; among other repeated names
/// the last value wins, as in the SDKs' header maps.
pub fn sign(
    ak: &str,
    sk: &AccessKey,
    date: &str,
    request: &Request<'_>,
) -> Result<Signed, ApigError> {
    parse_sdk_date(date).ok_or_else(|| ApigError::InvalidDate(date.to_owned()))?;
    let host = apig_url::split(request.url)?.host;
    let mut headers: Vec<(String, String)> = Vec::with_capacity(request.headers.len() + 2);
    for (name, value) in request.headers {
        let name = name.trim().to_ascii_lowercase();
        if name == "host" || name == "x-sdk-date" {
            continue;
        }
        headers.retain(|(kept, _)| *kept != name);
        headers.push((name, value.clone()));
    }
    headers.push(("host".to_owned(), host.clone()));
    headers.push(("x-sdk-date".to_owned(), date.to_owned()));

    let canonical = canonical_request(request, &headers)?;
    let signature = hex::encode(hmac_sha256(
        sk.expose().as_bytes(),
        &[string_to_sign(date, &canonical).as_bytes()],
    ));
    let authorization = format!(
        "{ALGORITHM} Access={ak}, SignedHeaders={}, Signature={signature}",
        signed_header_names(&headers).join(";")
    );
    Ok(Signed {
        authorization,
        sdk_date: date.to_owned(),
        host,
    })
}

/// The canonical request string (for debugging and the `sign` CLI's verbose mode).
/// `signed_headers` are exactly the headers to sign; names are lowercased and values trimmed here.
pub fn canonical_request(
    request: &Request<'_>,
    signed_headers: &[(String, String)],
) -> Result<String, ApigError> {
    let url = apig_url::split(request.url)?;
    let mut headers: Vec<(String, &str)> = signed_headers
        .iter()
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim()))
        .collect();
    headers.sort_by(|(a, _), (b, _)| a.cmp(b));
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
    Ok(format!(
        "{}\n{}\n{}\n{canonical_headers}\n{}\n{}",
        request.method,
        apig_url::canonical_uri(url.path),
        apig_url::canonical_query(url.query),
        names.join(";"),
        hex::encode(sha256(request.body)),
    ))
}

/// `SDK-HMAC-SHA256\n{date}\n{hex sha256(canonical request)}`, the string the secret key signs.
pub fn string_to_sign(date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{date}\n{}",
        hex::encode(sha256(canonical_request.as_bytes()))
    )
}

fn signed_header_names(headers: &[(String, String)]) -> Vec<&str> {
    let mut names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names
}

/// The parts of a received `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses `SDK-HMAC-SHA256 Access=…, SignedHeaders=a;b, Signature=…`. Fields may come in any
/// order; unknown fields are ignored; a repeated or empty field is refused.
pub fn parse_authorization(value: &str) -> Result<Authorization, VerifyError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(VerifyError::MissingParameter(HEADER_AUTHORIZATION));
    }
    let fields = value
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .ok_or(VerifyError::MalformedSignature(
            "Authorization algorithm is not SDK-HMAC-SHA256",
        ))?;
    let (mut access, mut signed_headers, mut signature) = (None, None, None);
    for field in fields.split(',') {
        let (name, field_value) = field
            .split_once('=')
            .ok_or(VerifyError::MalformedSignature(
                "Authorization field without `=`",
            ))?;
        let slot = match name.trim() {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        let field_value = field_value.trim();
        if field_value.is_empty() || slot.replace(field_value).is_some() {
            return Err(VerifyError::MalformedSignature(
                "Authorization field empty or repeated",
            ));
        }
    }
    let (Some(access), Some(signed_headers), Some(signature)) = (access, signed_headers, signature)
    else {
        return Err(VerifyError::MalformedSignature(
            "Authorization lacks Access, SignedHeaders or Signature",
        ));
    };
    let signed_headers: Vec<String> = signed_headers
        .split(';')
        .map(|name| name.trim().to_owned())
        .collect();
    if signed_headers.iter().any(String::is_empty) {
        return Err(VerifyError::MalformedSignature(
            "empty name in SignedHeaders",
        ));
    }
    Ok(Authorization {
        access: access.to_owned(),
        signed_headers,
        signature: signature.to_owned(),
    })
}

/// Server side (the simulator): recompute over the headers named in `Authorization`, which must
/// include `host` and `x-sdk-date`; `lookup_sk` maps the access key id to its secret.
/// `headers` are all received headers; `now` bounds the date skew (15 minutes, as APIG does).
/// A missing `Host` header falls back to the URL's host (HTTP/2 carries it as `:authority`).
pub fn verify(
    request: &Request<'_>,
    lookup_sk: &dyn Fn(&str) -> Option<AccessKey>,
    now_unix_secs: i64,
) -> Result<String, VerifyError> {
    let header = |wanted: &str| {
        request
            .headers
            .iter()
            .rev()
            .find(|(name, _)| name.trim().eq_ignore_ascii_case(wanted))
            .map(|(_, v)| v.as_str())
    };
    let auth = parse_authorization(header(HEADER_AUTHORIZATION).unwrap_or_default())?;
    let mut names: Vec<String> = auth
        .signed_headers
        .iter()
        .map(|name| name.to_ascii_lowercase())
        .collect();
    names.sort_unstable();
    names.dedup();
    if !names.iter().any(|n| n == "host") || !names.iter().any(|n| n == "x-sdk-date") {
        return Err(VerifyError::MalformedSignature(
            "SignedHeaders must include host and x-sdk-date",
        ));
    }
    let date = header(HEADER_DATE).map(str::trim).filter(|d| !d.is_empty());
    let date = date.ok_or(VerifyError::MissingParameter(HEADER_DATE))?;
    let date_secs =
        parse_sdk_date(date).ok_or_else(|| VerifyError::MalformedTimestamp(date.to_owned()))?;
    check_window(date_secs, now_unix_secs, MAX_SKEW_SECS, 1000)?;
    let sk = lookup_sk(&auth.access).ok_or(VerifyError::BadSignature)?;

    let url_host = apig_url::split(request.url).map(|parts| parts.host).ok();
    let mut signed = Vec::with_capacity(names.len());
    for name in names {
        let value = match (header(&name), name.as_str()) {
            (Some(value), _) => value.to_owned(),
            (None, "host") => url_host
                .clone()
                .ok_or(VerifyError::MalformedSignature("no host to check"))?,
            (None, _) => return Err(VerifyError::MalformedSignature("a signed header is absent")),
        };
        signed.push((name, value));
    }
    let tag = decode_hex_tag(&auth.signature)?;
    let canonical = canonical_request(request, &signed)
        .map_err(|_| VerifyError::MalformedSignature("request url"))?;
    if hmac_verify(
        sk.expose().as_bytes(),
        &[string_to_sign(date, &canonical).as_bytes()],
        &tag,
    ) {
        Ok(auth.access)
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// `yyyyMMdd'T'HHmmss'Z'` to Unix seconds; `None` unless the text is exactly that shape and a real
/// UTC time.
pub fn parse_sdk_date(date: &str) -> Option<i64> {
    let bytes = date.as_bytes();
    let shape_ok = bytes.len() == 16
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 => *b == b'T',
            15 => *b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let num = |range: std::ops::Range<usize>| date.get(range).and_then(|s| s.parse::<u32>().ok());
    let year = i32::try_from(num(0..4)?).ok()?;
    let day = chrono::NaiveDate::from_ymd_opt(year, num(4..6)?, num(6..8)?)?;
    let time = day.and_hms_opt(num(9..11)?, num(11..13)?, num(13..15)?)?;
    Some(time.and_utc().timestamp())
}

#[cfg(test)]
#[path = "apig_tests.rs"]
mod tests;
