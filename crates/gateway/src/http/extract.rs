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
use crate::domain::KeyCategory;
use crate::domain::replies::Failure;

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
        let fallback_key = gateway.settings.key_for(KeyCategory::Basic).clone();
        let body = match Bytes::from_request(req, state).await {
            Ok(body) => body,
            Err(rejection) => {
                tracing::warn!(status = %rejection.status(), "refused production call: unreadable or oversized body");
                let answer =
                    Failure::InvalidParameter("request body is unreadable or too large".into())
                        .into_answer();
                return Err(ProduceReply::new(answer, fallback_key).into_response());
            }
        };
        // The same strict reading the parse after verification uses, so the activity that picks
        // the key is the activity that runs; a body without one clear activity is verified with
        // the basic key and then refused.
        let activity = activity_of(&body).ok();
        let key = gateway
            .settings
            .key_for(KeyCategory::of_activity(activity))
            .clone();
        let refuse = |failure: Failure| {
            ProduceReply::new(failure.into_answer(), key.clone()).into_response()
        };

        let params = scheme_a::SignatureParams {
            signature: query.signature.as_deref(),
            timestamp: query.timestamp.as_deref(),
            nonce: query.nonce.as_deref(),
        };
        let now = gateway.clock.now_ms();
        if let Err(err) =
            scheme_a::verify(&key, params, &body, now, &gateway.settings.verify_policy)
        {
            tracing::warn!(activity = activity.map_or("?", |a| a.as_str()), reason = %err, "refused production call: authentication failed");
            metrics::counter!("koogate_auth_failures_total", "reason" => reason_label(&err))
                .increment(1);
            return Err(refuse(Failure::AuthFailed));
        }
        let nonce = query.nonce.unwrap_or_default();
        match gateway
            .store
            .remember_nonce(&nonce, gateway.clock.now())
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    activity = activity.map_or("?", |a| a.as_str()),
                    "refused production call: replayed nonce"
                );
                metrics::counter!("koogate_auth_failures_total", "reason" => "replayed_nonce")
                    .increment(1);
                return Err(refuse(Failure::AuthFailed));
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot record nonce");
                return Err(refuse(Failure::Internal("cannot record nonce".into())));
            }
        }
        Ok(Self {
            body,
            key,
            activity,
        })
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
