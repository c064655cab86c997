//! The `Body-Sign` response header (spec saas-v2 §2.7).

use super::primitives::{base64_std, decode_base64_tag, hmac_sha256, hmac_verify};
use super::{AccessKey, VerifyError};

/// Header name; the marketplace's checker is case-sensitive about it.
pub const HEADER_NAME: &str = "Body-Sign";

/// The only `sign_type` the marketplace defines.
pub const SIGN_TYPE: &str = "HMAC-SHA256";

/// `base64(HMAC-SHA256(key, body))`.
pub fn signature(key: &AccessKey, body: &[u8]) -> String {
    base64_std(&hmac_sha256(key.expose().as_bytes(), &[body]))
}

/// The exact header value: `sign_type="HMAC-SHA256", signature="<b64>"` (the FAQ's "correct
/// format", without the doc example's stray space).
pub fn header_value(key: &AccessKey, body: &[u8]) -> String {
    format!(
        "sign_type=\"{SIGN_TYPE}\", signature=\"{}\"",
        signature(key, body)
    )
}

/// Parses a header value (tolerating the doc example's space after `signature=`) and checks it.
///
/// Fields may come in any order and be padded with whitespace; both values must be quoted, unknown
/// fields are ignored, and a repeated field is refused rather than guessed at.
pub fn verify(key: &AccessKey, header: &str, body: &[u8]) -> Result<(), VerifyError> {
    if header.trim().is_empty() {
        return Err(VerifyError::MissingParameter(HEADER_NAME));
    }
    let mut sign_type = None;
    let mut signature = None;
    // Neither value can hold a comma: one is fixed, the other is base64.
    for field in header.split(',') {
        let Some((name, value)) = field.split_once('=') else {
            return Err(VerifyError::MalformedSignature(
                "Body-Sign field without `=`",
            ));
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or(VerifyError::MalformedSignature(
                "Body-Sign value not quoted",
            ))?;
        let slot = match name.trim() {
            "sign_type" => &mut sign_type,
            "signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(VerifyError::MalformedSignature("Body-Sign field repeated"));
        }
    }
    match sign_type {
        Some(SIGN_TYPE) => {}
        Some(_) => {
            return Err(VerifyError::MalformedSignature(
                "sign_type is not HMAC-SHA256",
            ));
        }
        None => return Err(VerifyError::MalformedSignature("Body-Sign lacks sign_type")),
    }
    let signature = signature
        .filter(|s| !s.is_empty())
        .ok_or(VerifyError::MalformedSignature("Body-Sign lacks signature"))?;
    let tag = decode_base64_tag(signature)?;
    if hmac_verify(key.expose().as_bytes(), &[body], &tag) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_checks() {
        let key = AccessKey::new("k");
        let good = signature(&key, b"x");
        let run = |header: &str| verify(&key, header, b"x");
        assert_eq!(
            run(&format!(
                "signature=\"{good}\" ,  sign_type = \"HMAC-SHA256\""
            )),
            Ok(())
        );
        assert_eq!(run(" "), Err(VerifyError::MissingParameter(HEADER_NAME)));
        assert!(matches!(
            run(&format!("sign_type=\"HMAC-SHA1\", signature=\"{good}\"")),
            Err(VerifyError::MalformedSignature(_))
        ));
        assert!(matches!(
            run(&format!("sign_type=HMAC-SHA256, signature=\"{good}\"")),
            Err(VerifyError::MalformedSignature(_))
        ));
        assert!(matches!(
            run(&format!("signature=\"{good}\"")),
            Err(VerifyError::MalformedSignature(_))
        ));
        assert!(matches!(
            run("sign_type=\"HMAC-SHA256\", signature=\"\""),
            Err(VerifyError::MalformedSignature(_))
        ));
        assert!(matches!(
            run("sign_type=\"HMAC-SHA256\", signature=\"!!\""),
            Err(VerifyError::MalformedSignature(_))
        ));
        let other = signature(&key, b"y");
        assert_eq!(
            run(&format!("sign_type=\"HMAC-SHA256\", signature=\"{other}\"")),
            Err(VerifyError::BadSignature)
        );
    }
}
