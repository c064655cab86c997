//! A `multipart/form-data` body built by hand (RFC 7578), so the bytes signed are exactly the
//! bytes sent: APIG hashes the raw body (license-kit §3.3 [INFERRED]).

use rand::distr::{Alphanumeric, SampleString};

/// One part to send.
#[derive(Debug)]
pub(super) struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub content_type: &'a str,
    pub data: &'a [u8],
}

/// A finished body and the `Content-Type` header announcing its boundary.
#[derive(Debug)]
pub(super) struct Multipart {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Builds the body with a fresh random boundary that occurs in none of the parts.
pub(super) fn build(parts: &[Part<'_>]) -> Multipart {
    let mut rng = rand::rng();
    let boundary = loop {
        let candidate = format!("koogate-{}", Alphanumeric.sample_string(&mut rng, 32));
        let clashes = parts
            .iter()
            .any(|part| contains(part.data, candidate.as_bytes()));
        if !clashes {
            break candidate;
        }
    };
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("form-data; name=\"{}\"", quote(part.name));
        if let Some(filename) = part.filename {
            disposition.push_str(&format!("; filename=\"{}\"", quote(filename)));
        }
        body.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
        body.extend_from_slice(format!("Content-Type: {}\r\n\r\n", part.content_type).as_bytes());
        body.extend_from_slice(part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Multipart {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        body,
    }
}

/// Escapes `"` and `\` and drops line breaks, which would end the header early.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_layout() {
        let built = build(&[
            Part {
                name: "isvUpdateFileReq",
                filename: None,
                content_type: "application/json",
                data: b"{}",
            },
            Part {
                name: "file",
                filename: Some("a\"b\r\n.lic"),
                content_type: "application/octet-stream",
                data: b"\x00\x01",
            },
        ]);
        let boundary = built
            .content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"isvUpdateFileReq\"\r\nContent-Type: application/json\r\n\r\n{{}}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\\\"b  .lic\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\n--{boundary}--\r\n"
        );
        assert_eq!(String::from_utf8(built.body).unwrap(), expected);
    }
}
