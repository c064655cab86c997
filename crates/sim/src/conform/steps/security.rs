//! What the debugger does not check but KooGallery relies on: refused requests (bad signature,
//! stale or future timestamp, replayed nonce, missing parameters) answer `000001` and change
//! nothing; unknown instances answer `000003`; a body that is not JSON answers `000002`.

use std::fmt;

use super::{SUCCESS, expect_code};
use crate::conform::runner::Runner;
use crate::conform::{CHANGE_ORDER_ID, RENEW_ORDER_ID, line_of};
use crate::produce_client::{Auth, Body, SignedRequest, Tamper};

const AUTH_FAILED: &str = "000001";
const INVALID_PARAMETER: &str = "000002";
const NOT_FOUND: &str = "000003";
/// Just outside the spec's ±60 s window.
const SKEW_MS: i64 = 61_000;

/// What queryInstance says about the instance: enough to see a release or lost app info, and
/// nothing that legitimately changes between calls (encrypted credentials use a fresh IV).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    code: Option<String>,
    /// `(instanceId, frontEndUrl if appInfo is present)` per listed instance.
    instances: Vec<(String, Option<String>)>,
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "resultCode {}", self.code.as_deref().unwrap_or("(none)"))?;
        for (id, url) in &self.instances {
            match url {
                Some(url) => write!(f, ", `{id}` with appInfo ({url})")?,
                None => write!(f, ", `{id}` without appInfo")?,
            }
        }
        Ok(())
    }
}

async fn snapshot(r: &Runner<'_>, id: &str) -> Result<Snapshot, String> {
    let reply = r
        .call(&Body::query_instance(id))
        .await
        .map_err(|e| format!("queryInstance: no answer: {e}"))?;
    let code = crate::conform::checks::code_of(&reply);
    let instances = match &reply.parsed {
        Ok(parsed) => parsed
            .info
            .iter()
            .flatten()
            .map(|i| {
                let url = i.app_info.as_ref().map(|a| a.front_end_url.clone());
                (i.instance_id.clone(), url)
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    Ok(Snapshot { code, instances })
}

fn compare(
    before: &Result<Snapshot, String>,
    after: &Result<Snapshot, String>,
) -> Option<Result<String, String>> {
    match (before, after) {
        (Ok(b), Ok(a)) if a == b => Some(Ok(format!("unchanged: {a}"))),
        (Ok(b), Ok(a)) => Some(Err(format!("queryInstance changed: before {b}; after {a}"))),
        (Ok(_), Err(e)) => Some(Err(format!("after the probe, {e}"))),
        (Err(_), _) => None,
    }
}

/// Sends `request`, expects HTTP 200 + `000001`, and checks the instance did not change.
async fn probe(r: &mut Runner<'_>, prefix: &str, id: &str, request: &SignedRequest) {
    r.status(prefix);
    let before = snapshot(r, id).await;
    let answer = r.client.send(request).await;
    let after = snapshot(r, id).await;
    r.record(
        &format!("{prefix}.refused"),
        expect_code(&answer, &[AUTH_FAILED]),
    );
    match compare(&before, &after) {
        Some(result) => r.record(&format!("{prefix}.no-effect"), result),
        None => r.skip(
            &format!("{prefix}.no-effect"),
            &format!("cannot tell: {}", before.err().unwrap_or_default()),
        ),
    }
}

/// Every probe is a `releaseInstance` (the most visible change if wrongly accepted), except the
/// exact replay, which resends an accepted read-only `queryInstance`.
pub(super) async fn probes(r: &mut Runner<'_>, id: &str) {
    let release = Body::release_instance(id);
    let bad = r.client.sign(&release, &Auth::tampered(Tamper::WrongKey));
    probe(r, "security.bad-signature", id, &bad).await;
    let stale = r.client.sign(&release, &Auth::skewed(-SKEW_MS));
    probe(r, "security.stale-timestamp", id, &stale).await;
    let future = r.client.sign(&release, &Auth::skewed(SKEW_MS));
    probe(r, "security.future-timestamp", id, &future).await;

    r.status("security.replayed-nonce");
    let query = r.client.sign(&Body::query_instance(id), &Auth::default());
    let original = r.client.send(&query).await;
    match expect_code(&original, &[SUCCESS]) {
        Ok(_) => probe(r, "security.replayed-nonce", id, &query).await,
        Err(e) => r.skip_all(
            "security.replayed-nonce",
            &format!("the original request was not accepted ({e}), so its replay proves nothing"),
        ),
    }
    match query.nonce {
        Some(nonce) if original.is_ok() => {
            let reused = r.client.sign(&release, &Auth::with_nonce(nonce));
            probe(r, "security.reused-nonce", id, &reused).await;
        }
        _ => r.skip_all("security.reused-nonce", "no accepted nonce to reuse"),
    }

    let bare = r.client.sign(&release, &Auth::tampered(Tamper::OmitAll));
    probe(r, "security.missing-params", id, &bare).await;
}

pub(super) async fn malformed_json(r: &mut Runner<'_>) {
    r.status("malformed-json");
    // Signed over the exact bytes, so only the parse can refuse it.
    let body = br#"{"activity":"queryInstance","instanceId":"#.to_vec();
    let request = r.client.sign_bytes(body, &Auth::default());
    let answer = r.client.send(&request).await;
    r.record("malformed-json", expect_code(&answer, &[INVALID_PARAMETER]));
}

pub(super) async fn unknown_instance(r: &mut Runner<'_>) {
    let unknown = format!("conform-unknown-{}", uuid::Uuid::new_v4().simple());
    let expire = "20991231235959000";
    let cases = [
        (
            "unknown.refreshInstance",
            Body::refresh_instance(
                &unknown,
                RENEW_ORDER_ID,
                &line_of(RENEW_ORDER_ID),
                "RENEWAL",
                expire,
            ),
            &[NOT_FOUND][..],
        ),
        (
            "unknown.updateInstanceStatus",
            Body::update_instance_status(&unknown, "FREEZE"),
            &[NOT_FOUND][..],
        ),
        (
            "unknown.upgradeInstance",
            Body::upgrade_instance(&unknown, CHANGE_ORDER_ID, &line_of(CHANGE_ORDER_ID)),
            &[NOT_FOUND][..],
        ),
        // The spec lists 000003, yet KooGallery only needs the instance gone: both are accepted.
        (
            "unknown.releaseInstance",
            Body::release_instance(&unknown),
            &[SUCCESS, NOT_FOUND][..],
        ),
    ];
    for (case, body, codes) in cases {
        r.status(case);
        let answer = r.call(&body).await;
        r.record(case, expect_code(&answer, codes));
    }
}
