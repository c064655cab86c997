//! Unit tests of `apig` (kept apart to keep the signer readable).

use super::*;

const DATE: &str = "20240317T144237Z";
const URL: &str = "https://api.example:8443/v1/x?b=2&a=1";

fn signed_request() -> (Vec<(String, String)>, i64) {
    let extra = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    let request = Request {
        method: "GET",
        url: URL,
        headers: &extra,
        body: b"",
    };
    let Ok(signed) = sign("AK", &AccessKey::new("SK"), DATE, &request) else {
        panic!("valid request")
    };
    assert_eq!(signed.host, "api.example:8443");
    let mut headers = extra.clone();
    headers.push(("X-Sdk-Date".to_owned(), DATE.to_owned()));
    headers.push(("Authorization".to_owned(), signed.authorization));
    // No Host header: verify falls back to the URL's host.
    (headers, parse_sdk_date(DATE).unwrap_or_default())
}

fn run(headers: &[(String, String)], now: i64) -> Result<String, VerifyError> {
    let request = Request {
        method: "GET",
        url: URL,
        headers,
        body: b"",
    };
    verify(
        &request,
        &|ak| (ak == "AK").then(|| AccessKey::new("SK")),
        now,
    )
}

#[test]
fn skew_and_key_checks() {
    let (headers, now) = signed_request();
    assert_eq!(run(&headers, now + MAX_SKEW_SECS), Ok("AK".to_owned()));
    assert_eq!(run(&headers, now - MAX_SKEW_SECS), Ok("AK".to_owned()));
    assert_eq!(
        run(&headers, now + 901),
        Err(VerifyError::TimestampTooOld { skew_ms: 901_000 })
    );
    assert_eq!(
        run(&headers, now - 901),
        Err(VerifyError::TimestampInFuture { skew_ms: 901_000 })
    );
    let mut other_ak = headers.clone();
    other_ak[2].1 = other_ak[2].1.replace("Access=AK", "Access=XX");
    assert_eq!(run(&other_ak, now), Err(VerifyError::BadSignature));
    let mut no_date = headers.clone();
    no_date.remove(1);
    assert_eq!(
        run(&no_date, now),
        Err(VerifyError::MissingParameter(HEADER_DATE))
    );
    assert_eq!(
        run(&headers[..2], now),
        Err(VerifyError::MissingParameter(HEADER_AUTHORIZATION))
    );
}

#[test]
fn authorization_parsing() {
    let parsed = parse_authorization(
        "SDK-HMAC-SHA256  Signature=ab, Access=A,SignedHeaders=host;x-sdk-date",
    );
    assert_eq!(
        parsed,
        Ok(Authorization {
            access: "A".into(),
            signed_headers: vec!["host".into(), "x-sdk-date".into()],
            signature: "ab".into()
        })
    );
    for bad in [
        "SDK-HMAC-SHA256Access=A, SignedHeaders=host, Signature=ab",
        "AWS4-HMAC-SHA256 Access=A, SignedHeaders=host, Signature=ab",
        "SDK-HMAC-SHA256 Access=A, SignedHeaders=host",
        "SDK-HMAC-SHA256 Access=A, Access=B, SignedHeaders=host, Signature=ab",
        "SDK-HMAC-SHA256 Access=A, SignedHeaders=host;;x, Signature=ab",
    ] {
        assert!(
            matches!(
                parse_authorization(bad),
                Err(VerifyError::MalformedSignature(_))
            ),
            "{bad}"
        );
    }
    let only_host = "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00".to_owned();
    let headers = vec![
        ("X-Sdk-Date".to_owned(), DATE.to_owned()),
        ("Authorization".to_owned(), only_host),
    ];
    assert!(matches!(
        run(&headers, parse_sdk_date(DATE).unwrap_or_default()),
        Err(VerifyError::MalformedSignature(_))
    ));
}

#[test]
fn sdk_dates() {
    assert_eq!(parse_sdk_date("19700101T000000Z"), Some(0));
    assert_eq!(parse_sdk_date(DATE), Some(1_710_686_557));
    for bad in [
        "20240230T000000Z",
        "20240317T246060Z",
        "20240317 144237Z",
        "2024-03-17T14:42:37Z",
        "20240317T144237",
    ] {
        assert_eq!(parse_sdk_date(bad), None, "{bad}");
    }
    let request = Request {
        method: "GET",
        url: URL,
        headers: &[],
        body: b"",
    };
    assert_eq!(
        sign("AK", &AccessKey::new("SK"), "bad", &request),
        Err(ApigError::InvalidDate("bad".into()))
    );
}
