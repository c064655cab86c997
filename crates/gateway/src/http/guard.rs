//! The body guard every route sits behind: a body larger than the limit is refused from its
//! `Content-Length` alone, before a byte of it is read; a body that does not arrive within the
//! body timeout is refused too; and either refusal takes the shape of the path's protocol (a
//! signed `000002` answer on the production interface, the Kit's JSON on the Kit path, the
//! vendor API's JSON error elsewhere), never a bare `text/plain` 413. Handlers then read an
//! already-buffered body. A refused connection is closed, since its unread body would otherwise
//! be taken for the next request.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use koogate_protocol::{AccessKey, ResultCode};

use super::api::ApiError;
use super::kit;
use super::reply::ProduceReply;
use crate::domain::replies::Failure;

/// Where a request is going, which decides the shape of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Produce,
    Kit,
    Other,
}

/// Why a body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// `Content-Length` above the limit.
    Declared,
    /// Too large, cut off or malformed while reading.
    Unreadable,
    /// Not all there within the body timeout.
    Slow,
}

impl Refusal {
    fn message(self) -> &'static str {
        match self {
            Self::Declared => "request body is larger than the limit",
            Self::Unreadable => "request body is unreadable or too large",
            Self::Slow => "request body did not arrive in time",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Self::Declared => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unreadable => StatusCode::BAD_REQUEST,
            Self::Slow => StatusCode::REQUEST_TIMEOUT,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Declared => "declared_too_large",
            Self::Unreadable => "unreadable",
            Self::Slow => "body_timeout",
        }
    }
}

/// What the guard needs to know; built once per router.
#[derive(Debug)]
pub struct BodyGuard {
    pub limit: usize,
    pub timeout: Duration,
    pub produce_path: String,
    /// Signs production-interface refusals (the activity, hence its key, is unknown here).
    pub basic_key: AccessKey,
}

impl BodyGuard {
    fn surface(&self, path: &str) -> Surface {
        let kit_path = path
            .strip_prefix(self.produce_path.trim_end_matches('/'))
            .is_some_and(|rest| rest.starts_with("/produceAPI/"));
        if path == self.produce_path {
            Surface::Produce
        } else if kit_path {
            Surface::Kit
        } else {
            Surface::Other
        }
    }

    fn refuse(&self, surface: Surface, refusal: Refusal) -> Response {
        let mut response = match surface {
            Surface::Produce => ProduceReply::new(
                Failure::InvalidParameter(refusal.message().into()).into_answer(),
                self.basic_key.clone(),
            )
            .into_response(),
            Surface::Kit => kit::refuse(ResultCode::InvalidParameter, refusal.message()),
            Surface::Other => {
                ApiError::new(refusal.status(), refusal.label(), refusal.message()).into_response()
            }
        };
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    }
}

pub async fn guard(State(guard): State<Arc<BodyGuard>>, request: Request, next: Next) -> Response {
    let surface = guard.surface(request.uri().path());
    // Only a refusal needs these; a `Copy` peer and the shared URI cost nothing until then.
    let peer = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let uri = request.uri().clone();
    let refuse = |refusal: Refusal| {
        let peer = peer.map_or_else(|| "?".to_owned(), |p| p.to_string());
        tracing::warn!(%peer, path = uri.path(), reason = refusal.label(), limit = guard.limit, "refused request: {}", refusal.message());
        metrics::counter!("koogate_body_refusals_total", "reason" => refusal.label()).increment(1);
        guard.refuse(surface, refusal)
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > guard.limit as u64) {
        return refuse(Refusal::Declared);
    }
    let (parts, body) = request.into_parts();
    let bytes =
        match tokio::time::timeout(guard.timeout, axum::body::to_bytes(body, guard.limit)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(_)) => return refuse(Refusal::Unreadable),
            Err(_) => return refuse(Refusal::Slow),
        };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> BodyGuard {
        BodyGuard {
            limit: 10,
            timeout: Duration::from_secs(1),
            produce_path: "/produce".into(),
            basic_key: AccessKey::new("k"),
        }
    }

    #[test]
    fn surfaces_follow_the_production_path() {
        let g = guard();
        assert_eq!(g.surface("/produce"), Surface::Produce);
        assert_eq!(g.surface("/produce/produceAPI/v2/tenantSync"), Surface::Kit);
        assert_eq!(g.surface("/api/v1/instances"), Surface::Other);
        assert_eq!(g.surface("/producex"), Surface::Other);
    }
}
