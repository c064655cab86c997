//! A small `multipart/form-data` reader (RFC 7578), enough for the upload API's two parts.
//! Written here rather than pulled in as a dependency: the simulator must see the exact bytes,
//! and a strict reader catches a client that builds the body wrongly.

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Part {
    /// The `name` of `Content-Disposition: form-data`.
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(super) fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = parameters(params)
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("boundary"))?
        .1;
    (!boundary.is_empty() && boundary.len() <= 70).then_some(boundary)
}

/// Splits `body` into parts. Lines end in CRLF; a preamble before the first delimiter and an
/// epilogue after the closing one are ignored.
pub(super) fn parse(body: &[u8], boundary: &str) -> Result<Vec<Part>, &'static str> {
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();
    let first = if body.starts_with(&delimiter) {
        0
    } else {
        find(body, &next_delimiter, 0).ok_or("no boundary in body")? + 2
    };
    let mut at = first + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = body.get(at..).ok_or("truncated body")?;
        if rest.starts_with(b"--") {
            return if parts.is_empty() {
                Err("no parts")
            } else {
                Ok(parts)
            };
        }
        if !rest.starts_with(b"\r\n") {
            return Err("boundary not followed by CRLF");
        }
        let headers_start = at + 2;
        let headers_end =
            find(body, b"\r\n\r\n", headers_start).ok_or("part headers not terminated")?;
        let data_start = headers_end + 4;
        let data_end = find(body, &next_delimiter, data_start).ok_or("part not terminated")?;
        let headers = std::str::from_utf8(body.get(headers_start..headers_end).unwrap_or_default())
            .map_err(|_| "part headers are not UTF-8")?;
        let data = body.get(data_start..data_end).unwrap_or_default().to_vec();
        parts.push(part(headers, data)?);
        at = data_end + next_delimiter.len();
    }
}

fn part(headers: &str, data: Vec<u8>) -> Result<Part, &'static str> {
    let (mut disposition, mut content_type) = (None, None);
    for line in headers.split("\r\n") {
        let (name, value) = line.split_once(':').ok_or("malformed part header")?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => disposition = Some(value.trim().to_owned()),
            "content-type" => content_type = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let disposition = disposition.ok_or("part without Content-Disposition")?;
    let (kind, params) = disposition
        .split_once(';')
        .ok_or("Content-Disposition without name")?;
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err("Content-Disposition is not form-data");
    }
    let params = parameters(params);
    let get = |wanted: &str| {
        params
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.clone())
    };
    Ok(Part {
        name: get("name").ok_or("Content-Disposition without name")?,
        filename: get("filename"),
        content_type,
        data,
    })
}

/// `; a=b; c="d;e"` → `[(a, b), (c, d;e)]`, honouring quotes and backslash escapes.
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ';' || c.is_whitespace()).is_some() {}
        let name: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ';')).collect();
        if name.trim().is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            if chars.next_if_eq(&'"').is_some() {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => value.extend(chars.next()),
                        c => value.push(c),
                    }
                }
            } else {
                value = std::iter::from_fn(|| chars.next_if(|c| *c != ';')).collect();
            }
        }
        out.push((name.trim().to_owned(), value.trim().to_owned()));
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_boundary_with_and_without_quotes() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary("Multipart/Form-Data;boundary=\"a;b\"").as_deref(),
            Some("a;b")
        );
        assert_eq!(boundary("application/json; boundary=abc"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn parses_two_parts_with_binary_data() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"isvUpdateFileReq\"\r\nContent-Type: application/json\r\n\r\n{\"type\":\"FILE\"}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".lic\"\r\n\r\n\x00\r\n--X\xff\r\n--XyZ--\r\n";
        let parts = parse(body, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "isvUpdateFileReq");
        assert_eq!(parts[0].content_type.as_deref(), Some("application/json"));
        assert_eq!(parts[0].data, b"{\"type\":\"FILE\"}");
        assert_eq!(parts[1].filename.as_deref(), Some("a \"b\".lic"));
        assert_eq!(parts[1].data, b"\x00\r\n--X\xff");
    }

    #[test]
    fn refuses_broken_bodies() {
        assert!(parse(b"", "b").is_err());
        assert!(parse(b"--b--\r\n", "b").is_err());
        assert!(
            parse(
                b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nunterminated",
                "b"
            )
            .is_err()
        );
        assert!(parse(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--", "b").is_err());
        assert!(parse(b"--bX\r\n", "b").is_err());
    }
}
