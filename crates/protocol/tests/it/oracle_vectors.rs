//! Known-answer vectors from the independent Java oracle (`testdata/oracle/`, see its README).
//!
//! Every value in `vectors.json` was computed by the JDK's own JCE, never by this crate. Each test
//! walks one section, collects every mismatch with the case it came from, and fails once with the
//! whole list, so one bad canonicalisation rule does not hide the others.

use std::path::PathBuf;
use std::sync::LazyLock;

use koogate_protocol::AccessKey;
use koogate_protocol::crypto::client_secret::{self, OaepVariant, PrivateKey};
use koogate_protocol::crypto::credential::{self, EncryptType, Iv};
use koogate_protocol::crypto::sha1prng::{Sha1Prng, derive_aes_key};
use koogate_protocol::signing::{apig, body_sign, kit, scheme_a, usage, v1_auth_token, webhook};
use serde::Deserialize;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

static VECTORS: LazyLock<Vectors> = LazyLock::new(|| {
    let path = repo_root().join("testdata/oracle/vectors.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
});

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "generator and command document the file; tests do not read them"
)]
struct Vectors {
    generator: String,
    command: String,
    scheme_a: Vec<SchemeA>,
    body_sign: Vec<BodySign>,
    kit: Vec<Kit>,
    v1_auth_token: Vec<V1>,
    usage: Vec<Usage>,
    apig: Vec<Apig>,
    webhook: Vec<Webhook>,
    sha1prng: Vec<Prng>,
    credential: Vec<Credential>,
    rsa_oaep: RsaOaep,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemeA {
    key: String,
    timestamp: String,
    nonce: String,
    body: String,
    #[allow(dead_code, reason = "kept for people debugging a mismatch by hand")]
    payload_hex: String,
    signature: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BodySign {
    key: String,
    body: String,
    signature: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Kit {
    key: String,
    timestamp: String,
    nonce: String,
    body: String,
    canonical: String,
    x_sign: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V1 {
    key: String,
    timestamp: String,
    params: Vec<(String, String)>,
    canonical: String,
    auth_token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Usage {
    key: String,
    ts: String,
    nonce: String,
    body: String,
    signature: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Apig {
    ak: String,
    sk: String,
    method: String,
    url: String,
    date: String,
    headers: Vec<(String, String)>,
    body: String,
    canonical_request: String,
    authorization: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Webhook {
    secret: String,
    msg_id: String,
    timestamp: i64,
    body: String,
    signature: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Prng {
    seed: String,
    length: usize,
    hex: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credential {
    key: String,
    encrypt_type: String,
    iv: String,
    plaintext: String,
    derived_key_hex: String,
    ciphertext: String,
    fits: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RsaOaep {
    private_key_pem_file: String,
    cases: Vec<RsaCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RsaCase {
    variant: String,
    plaintext: String,
    ciphertext_b64: String,
}

/// Collects the mismatches of one section; `finish` fails with all of them at once.
struct Mismatches {
    section: &'static str,
    cases: usize,
    found: Vec<String>,
}

impl Mismatches {
    fn new(section: &'static str) -> Self {
        Self {
            section,
            cases: 0,
            found: Vec::new(),
        }
    }

    fn check<T: PartialEq + std::fmt::Debug>(
        &mut self,
        case: usize,
        what: &str,
        actual: T,
        expected: T,
    ) {
        if actual != expected {
            let (actual, expected) = (
                short(&format!("{actual:?}")),
                short(&format!("{expected:?}")),
            );
            self.found.push(format!(
                "  case {case} {what}:\n    got      {actual}\n    expected {expected}"
            ));
        }
    }

    fn finish(self) {
        assert!(self.cases > 0, "{}: no cases in vectors.json", self.section);
        assert!(
            self.found.is_empty(),
            "{}: {} mismatch(es) over {} case(s)\n{}",
            self.section,
            self.found.len(),
            self.cases,
            self.found.join("\n")
        );
    }
}

/// Shortens the oracle's long (8 KB+) strings in failure messages.
fn short(s: &str) -> String {
    const MAX: usize = 240;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

fn millis(text: &str) -> i64 {
    text.parse().expect("oracle timestamps are decimal")
}

#[test]
fn scheme_a_signatures() {
    let mut m = Mismatches::new("scheme_a");
    for (i, c) in VECTORS.scheme_a.iter().enumerate() {
        m.cases += 1;
        let key = AccessKey::new(c.key.as_str());
        m.check(
            i,
            "sign",
            scheme_a::sign(&key, &c.timestamp, &c.nonce, c.body.as_bytes()),
            c.signature.clone(),
        );
        let params = scheme_a::SignatureParams {
            signature: Some(&c.signature),
            timestamp: Some(&c.timestamp),
            nonce: Some(&c.nonce),
        };
        let verified = scheme_a::verify(
            &key,
            params,
            c.body.as_bytes(),
            millis(&c.timestamp),
            &Default::default(),
        );
        m.check(
            i,
            "verify",
            verified.map(|matched| matched.inner),
            Ok(scheme_a::InnerHash::Hmac),
        );
    }
    m.finish();
}

#[test]
fn body_sign_signatures() {
    let mut m = Mismatches::new("body_sign");
    for (i, c) in VECTORS.body_sign.iter().enumerate() {
        m.cases += 1;
        let key = AccessKey::new(c.key.as_str());
        m.check(
            i,
            "signature",
            body_sign::signature(&key, c.body.as_bytes()),
            c.signature.clone(),
        );
        let header = format!("sign_type=\"HMAC-SHA256\", signature=\"{}\"", c.signature);
        m.check(
            i,
            "header_value",
            body_sign::header_value(&key, c.body.as_bytes()),
            header.clone(),
        );
        m.check(
            i,
            "verify",
            body_sign::verify(&key, &header, c.body.as_bytes()),
            Ok(()),
        );
    }
    m.finish();
}

#[test]
fn kit_canonical_payloads_and_signatures() {
    let mut m = Mismatches::new("kit");
    for (i, c) in VECTORS.kit.iter().enumerate() {
        m.cases += 1;
        let key = AccessKey::new(c.key.as_str());
        let canonical = kit::canonical_payload(c.body.as_bytes()).map_err(|e| e.to_string());
        m.check(
            i,
            "canonical_payload",
            canonical.as_deref(),
            Ok(c.canonical.as_str()),
        );
        m.check(
            i,
            "sign_payload",
            kit::sign_payload(&key, &c.timestamp, &c.nonce, &c.canonical),
            c.x_sign.clone(),
        );
        let signed = kit::sign(
            &key,
            kit::KitVariant::Canonical,
            &c.timestamp,
            &c.nonce,
            c.body.as_bytes(),
        );
        m.check(
            i,
            "sign(Canonical)",
            signed.map_err(|e| e.to_string()),
            Ok(c.x_sign.clone()),
        );
        let verified = kit::verify(
            &key,
            Some(&c.x_sign),
            Some(&c.timestamp),
            Some(&c.nonce),
            c.body.as_bytes(),
            millis(&c.timestamp),
            &kit::KitPolicy::default(),
        );
        m.check(i, "verify", verified, Ok(kit::KitVariant::Canonical));
    }
    m.finish();
}

#[test]
fn v1_auth_tokens() {
    let mut m = Mismatches::new("v1_auth_token");
    for (i, c) in VECTORS.v1_auth_token.iter().enumerate() {
        m.cases += 1;
        let key = AccessKey::new(c.key.as_str());
        m.check(
            i,
            "canonical_params",
            v1_auth_token::canonical_params(&c.params),
            c.canonical.clone(),
        );
        m.check(
            i,
            "sign",
            v1_auth_token::sign(&key, &c.timestamp, &c.params),
            c.auth_token.clone(),
        );
        let mut received: Vec<(String, String)> = c
            .params
            .iter()
            .filter(|(name, _)| name != "authToken")
            .cloned()
            .collect();
        received.push(("authToken".to_owned(), c.auth_token.clone()));
        m.check(i, "verify", v1_auth_token::verify(&key, &received), Ok(()));
    }
    m.finish();
}

#[test]
fn usage_signatures() {
    let mut m = Mismatches::new("usage");
    for (i, c) in VECTORS.usage.iter().enumerate() {
        m.cases += 1;
        let key = AccessKey::new(c.key.as_str());
        m.check(
            i,
            "sign",
            usage::sign(&key, &c.ts, &c.nonce, &c.body),
            c.signature.clone(),
        );
        m.check(
            i,
            "verify",
            usage::verify(&key, &c.signature, &c.ts, &c.nonce, &c.body),
            Ok(()),
        );
    }
    m.finish();
}

/// `host[:port]` of an absolute URL, as the oracle signs it.
fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or_default().to_owned()
}

#[test]
fn apig_signatures() {
    let mut m = Mismatches::new("apig");
    for (i, c) in VECTORS.apig.iter().enumerate() {
        m.cases += 1;
        let sk = AccessKey::new(c.sk.as_str());
        let request = apig::Request {
            method: &c.method,
            url: &c.url,
            headers: &c.headers,
            body: c.body.as_bytes(),
        };
        let host = url_host(&c.url);
        let mut signed_headers = c.headers.clone();
        signed_headers.push(("Host".to_owned(), host.clone()));
        signed_headers.push((apig::HEADER_DATE.to_owned(), c.date.clone()));
        let canonical =
            apig::canonical_request(&request, &signed_headers).map_err(|e| e.to_string());
        m.check(
            i,
            "canonical_request",
            canonical,
            Ok(c.canonical_request.clone()),
        );
        let signed = apig::sign(&c.ak, &sk, &c.date, &request).map_err(|e| e.to_string());
        m.check(
            i,
            "sign.authorization",
            signed.as_ref().map(|s| s.authorization.as_str()),
            Ok(c.authorization.as_str()),
        );
        m.check(
            i,
            "sign.host",
            signed.as_ref().map(|s| s.host.as_str()),
            Ok(host.as_str()),
        );
        m.check(
            i,
            "sign.sdk_date",
            signed.as_ref().map(|s| s.sdk_date.as_str()),
            Ok(c.date.as_str()),
        );

        let mut received = signed_headers;
        received.push(("Authorization".to_owned(), c.authorization.clone()));
        let request = apig::Request {
            headers: &received,
            ..request
        };
        let now = chrono::NaiveDateTime::parse_from_str(&c.date, "%Y%m%dT%H%M%SZ")
            .expect("oracle date")
            .and_utc()
            .timestamp();
        let lookup = |ak: &str| (ak == c.ak).then(|| AccessKey::new(c.sk.as_str()));
        m.check(
            i,
            "verify",
            apig::verify(&request, &lookup, now),
            Ok(c.ak.clone()),
        );
    }
    m.finish();
}

#[test]
fn webhook_signatures() {
    let mut m = Mismatches::new("webhook");
    for (i, c) in VECTORS.webhook.iter().enumerate() {
        m.cases += 1;
        let secret = webhook::WebhookSecret::parse(&c.secret);
        m.check(
            i,
            "sign",
            webhook::sign(&secret, &c.msg_id, c.timestamp, c.body.as_bytes()),
            c.signature.clone(),
        );
        let verified = webhook::verify(
            &secret,
            &c.msg_id,
            &c.timestamp.to_string(),
            &c.signature,
            c.body.as_bytes(),
            c.timestamp,
        );
        m.check(i, "verify", verified, Ok(()));
    }
    m.finish();
}

#[test]
fn sha1prng_streams() {
    let mut m = Mismatches::new("sha1prng");
    for (i, c) in VECTORS.sha1prng.iter().enumerate() {
        m.cases += 1;
        let mut out = vec![0u8; c.length];
        Sha1Prng::new(c.seed.as_bytes()).fill(&mut out);
        m.check(i, "fill", hex::encode(&out), c.hex.clone());
        if c.length == 16 || c.length == 32 {
            m.check(
                i,
                "derive_aes_key",
                hex::encode(derive_aes_key(c.seed.as_bytes(), c.length * 8)),
                c.hex.clone(),
            );
        }
    }
    m.finish();
}

#[test]
fn credential_ciphers() {
    let mut m = Mismatches::new("credential");
    for (i, c) in VECTORS.credential.iter().enumerate() {
        m.cases += 1;
        let key = AccessKey::new(c.key.as_str());
        let kind = EncryptType::from_wire(&c.encrypt_type).expect("encrypt_type is 1 or 2");
        let iv = Iv::parse(&c.iv).expect("oracle IVs are 16 alphanumerics");
        m.check(
            i,
            "derive_aes_key",
            hex::encode(derive_aes_key(c.key.as_bytes(), kind.key_bits())),
            c.derived_key_hex.clone(),
        );
        m.check(
            i,
            "encrypt",
            credential::encrypt(&key, kind, &iv, &c.plaintext),
            c.ciphertext.clone(),
        );
        let decrypted = credential::decrypt(&key, kind, &c.ciphertext);
        m.check(i, "decrypt", decrypted.as_deref(), Ok(c.plaintext.as_str()));
        let checked = credential::encrypt_checked(&key, kind, &iv, &c.plaintext);
        m.check(i, "encrypt_checked fits", checked.is_ok(), c.fits);
    }
    m.finish();
}

#[test]
fn rsa_oaep_client_secrets() {
    let section = &VECTORS.rsa_oaep;
    let pem = std::fs::read_to_string(repo_root().join(&section.private_key_pem_file))
        .expect("test key file");
    let key = PrivateKey::from_pem(&pem).expect("oracle test key parses");
    assert!(
        key.public_key_pem()
            .expect("spki")
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let mut m = Mismatches::new("rsa_oaep");
    for (i, c) in section.cases.iter().enumerate() {
        m.cases += 1;
        let variant = match c.variant.as_str() {
            "sha256" => OaepVariant::Sha256,
            "sha1" => OaepVariant::Sha1,
            "sha256-mgf1-sha1" => OaepVariant::Sha256Mgf1Sha1,
            other => panic!("unknown OAEP variant {other}"),
        };
        m.check(
            i,
            "decrypt",
            client_secret::decrypt(&key, &c.ciphertext_b64),
            Ok((c.plaintext.clone(), variant)),
        );
    }
    m.finish();
}
