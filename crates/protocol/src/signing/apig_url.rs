//! URL handling for APIG signing: the small slice of RFC 3986 the canonical request needs, written
//! out so that the encoding rules are exactly the SDK's (unreserved `A-Za-z0-9-_.~` kept, every
//! other byte `%XX` in uppercase hex) rather than whatever a general-purpose URL crate normalises.

use super::apig::ApigError;

/// An absolute URL split into what the canonical request uses.
#[derive(Debug)]
pub(crate) struct Parts<'a> {
    /// `host` or `host:port`, the port only when explicit and not the scheme's default.
    pub host: String,
    /// The raw (still percent-encoded) path, possibly empty.
    pub path: &'a str,
    /// The raw query without `?`, possibly empty.
    pub query: &'a str,
}

pub(crate) fn split(url: &str) -> Result<Parts<'_>, ApigError> {
    let invalid = |why: &str| ApigError::InvalidUrl(format!("{why}: {url}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("not absolute"))?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return Err(invalid("bad scheme"));
    }
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));

    // Userinfo is never signed; the Host header does not carry it.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if host_port.starts_with('[') {
        let close = host_port
            .find(']')
            .ok_or_else(|| invalid("unclosed IPv6 literal"))?;
        let (host, after) = host_port.split_at(close + 1);
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| invalid("junk after IPv6 literal"))?,
                ),
            ),
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("bad host"));
    }
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    let host = match port.filter(|p| !p.is_empty()) {
        None => host.to_owned(),
        Some(port) => {
            let number: u16 = port
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| port.parse().ok())
                .flatten()
                .ok_or_else(|| invalid("bad port"))?;
            if Some(number) == default_port {
                host.to_owned()
            } else {
                format!("{host}:{number}")
            }
        }
    };
    Ok(Parts { host, path, query })
}

/// Decoded path segments, each re-encoded, joined by `/`, with the trailing `/` APIG always adds.
pub(crate) fn canonical_uri(path: &str) -> String {
    let decoded = percent_decode(path.as_bytes());
    let segments: Vec<String> = decoded.split(|&b| b == b'/').map(encode).collect();
    let mut uri = segments.join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Pairs sorted by decoded name then value, each side re-encoded. `+` stays a literal plus, as in
/// the Python SDK (it is not form encoding); pairs with an empty name are dropped, as there.
pub(crate) fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = query
        .split('&')
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (!name.is_empty()).then(|| {
                (
                    percent_decode(name.as_bytes()),
                    percent_decode(value.as_bytes()),
                )
            })
        })
        .collect();
    pairs.sort();
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect();
    encoded.join("&")
}

fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Malformed escapes are kept literally (then re-encoded), never rejected: signing must not fail on
/// a path the HTTP client would send anyway.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex_value(*hi).zip(hex_value(*lo)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.extend_from_slice(bytes.get(i..=i).unwrap_or_default());
                i += 1;
            }
        }
    }
    out
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_keeps_only_non_default_ports() {
        let host = |url| split(url).map(|p| p.host);
        assert_eq!(host("https://a.example/x"), Ok("a.example".into()));
        assert_eq!(host("https://a.example:443/x"), Ok("a.example".into()));
        assert_eq!(host("http://a.example:80"), Ok("a.example".into()));
        assert_eq!(host("http://a.example:443/"), Ok("a.example:443".into()));
        assert_eq!(host("https://u:p@[::1]:8443?q"), Ok("[::1]:8443".into()));
        assert!(host("https://a.example:99999/").is_err());
        assert!(host("https:///x").is_err());
        assert!(host("/relative").is_err());
    }

    #[test]
    fn uri_and_query_encoding() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a b/%7Ec%2F/"), "/a%20b/~c//");
        assert_eq!(canonical_uri("/v1/x"), "/v1/x/");
        assert_eq!(
            canonical_query("b=2&a=%zz&a=1&=x&c&d=+"),
            "a=%25zz&a=1&b=2&c=&d=%2B"
        );
        assert_eq!(canonical_query("k=%E5%BC%A0 ~"), "k=%E5%BC%A0%20~");
    }
}
