//! `SignedProduce`: the extractor every production-interface call goes through. It buffers the
//! raw body, checks the scheme-A signature over those exact bytes, the replay window and the
//! nonce, and only then hands the bytes on for parsing. A handler that takes `SignedProduce`
//! cannot forget to verify.

use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request};
use axum::response::{IntoResponse, Response};
use koogate_protocol::AccessKey;
use koogate_protocol::messages::{Activity, activity_of};
use koogate_protocol::signing::{VerifyError, scheme_a};
use serde::Deserialize;

use super::AppState;
use super::reply::ProduceReply;
use crate::domain::replies::Failure;
use crate::domain::{Gateway, KeyCategory};

/// A verified production-interface request.
#[derive(Debug)]
pub struct SignedProduce {
    pub body: Bytes,
    /// The key that verified it; it also signs the answer (`Body-Sign`).
    pub key: AccessKey,
    /// The activity that chose `key`; `None` when the body names no single known activity.
    pub activity: Option<Activity>,
}

#[derive(Debug, Default, Deserialize)]
struct SignatureQuery {
    signature: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
}

impl FromRequest<AppState> for SignedProduce {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let gateway = &state.gateway;
        // A query string that does not decode is treated like one without the parameters.
        let query = Query::<SignatureQuery>::try_from_uri(req.uri())
            .map(|q| q.0)
            .unwrap_or_default();
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            tracing::warn!(status = %rejection.status(), "refused production call: unreadable or oversized body");
            let failure = Failure::InvalidParameter("request body is unreadable or too large".into());
            refusal(failure, gateway.settings.key_for(KeyCategory::Basic))
        })?;
        // The same strict reading the parse after verification uses, so the activity that picks
        // the key is the activity that runs; a body without one clear activity is verified with
        // the basic key and then refused.
        let activity = activity_of(&body).ok();
        let key = gateway.settings.key_for(KeyCategory::of_activity(activity));
        let label = activity.map_or("?", |a| a.as_str());
        check_signature(gateway, key, &query, &body, label).map_err(|f| refusal(f, key))?;
        check_nonce(gateway, query.nonce.as_deref().unwrap_or_default(), label)
            .await
            .map_err(|f| refusal(f, key))?;
        Ok(Self {
            body,
            key: key.clone(),
            activity,
        })
    }
}

/// A refusal in the protocol's shape, its `Body-Sign` made with `key`.
fn refusal(failure: Failure, key: &AccessKey) -> Response {
    ProduceReply::new(failure.into_answer(), key.clone()).into_response()
}

/// Scheme A over the raw bytes, with the configured replay window.
fn check_signature(
    gateway: &Gateway,
    key: &AccessKey,
    query: &SignatureQuery,
    body: &[u8],
    activity: &str,
) -> Result<(), Failure> {
    let params = scheme_a::SignatureParams {
        signature: query.signature.as_deref(),
        timestamp: query.timestamp.as_deref(),
        nonce: query.nonce.as_deref(),
    };
    let now = gateway.clock.now_ms();
    scheme_a::verify(key, params, body, now, &gateway.settings.verify_policy).map_err(|err| {
        tracing::warn!(activity, reason = %err, "refused production call: authentication failed");
        metrics::counter!("koogate_auth_failures_total", "reason" => reason_label(&err))
            .increment(1);
        Failure::AuthFailed
    })?;
    Ok(())
}

/// A nonce seen within the window is a replay.
async fn check_nonce(gateway: &Gateway, nonce: &str, activity: &str) -> Result<(), Failure> {
    match gateway
        .store
        .remember_nonce(nonce, gateway.clock.now())
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => {
            tracing::warn!(activity, "refused production call: replayed nonce");
            metrics::counter!("koogate_auth_failures_total", "reason" => "replayed_nonce")
                .increment(1);
            Err(Failure::AuthFailed)
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot record nonce");
            Err(Failure::Internal("cannot record nonce".into()))
        }
    }
}

fn reason_label(err: &VerifyError) -> &'static str {
    match err {
        VerifyError::MissingParameter(_) => "missing_parameter",
        VerifyError::MalformedTimestamp(_) => "malformed_timestamp",
        VerifyError::TimestampTooOld { .. } => "stale_timestamp",
        VerifyError::TimestampInFuture { .. } => "future_timestamp",
        VerifyError::MalformedSignature(_) | VerifyError::BadSignature => "bad_signature",
    }
}
