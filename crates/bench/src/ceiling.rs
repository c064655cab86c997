//! The ceilings a workload is compared with, served by `koogate bench ceiling http|storage` in a
//! process of their own, on the same HTTP stack as `koogate serve` (axum on a default tokio
//! runtime, HTTP/1.1, plain TCP), so the ratio of a workload to its ceiling is koogate's own work.
//!
//! - **HTTP ceiling**: one route, no middleware, reads the body and answers a fixed JSON body
//!   with a `Body-Sign` header of the real size, computed once. No verification, no storage, no
//!   logging: what the stack alone can answer on this machine, with this client.
//! - **Storage ceiling**: the same, plus one durable single-row transaction per request on the
//!   same backend: the store is opened with koogate's own `store::open` (same pool, same SQLite
//!   pragmas: WAL, `synchronous = FULL`, busy timeout; same PostgreSQL pool), and each request
//!   runs `Store::commit` with nothing but a stored answer under a fresh key, the transaction
//!   every state-changing call makes. What one durable commit per request costs here. (It used
//!   `Store::remember_nonce`, which no longer flushes: see that method.)

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use koogate_gateway::clock::{Clock, SystemClock};
use koogate_gateway::store::{self, Commit, Store};
use koogate_protocol::AccessKey;
use koogate_protocol::messages::ProduceResponse;
use koogate_protocol::signing::body_sign;
use tokio::net::TcpListener;

/// The path the generator posts to, the same as `koogate serve`'s default production path.
pub const PATH: &str = "/produce";

/// Which ceiling to serve.
#[derive(Debug, Clone)]
pub enum Ceiling {
    Http,
    /// One durable transaction per request on the database at this URL.
    Storage {
        database_url: String,
    },
}

/// The fixed answer: `000000`, with its `Body-Sign` computed once at start-up.
#[derive(Debug, Clone)]
struct Fixed {
    body: Bytes,
    body_sign: HeaderValue,
}

impl Fixed {
    fn new() -> anyhow::Result<Self> {
        let body = ProduceResponse::success()
            .with_instance_id("bench-000000")
            .to_json_bytes()?;
        // Any key: only the header's size and format matter here.
        let sign = body_sign::header_value(&AccessKey::new("ceiling"), &body);
        Ok(Self {
            body: Bytes::from(body),
            body_sign: HeaderValue::from_str(&sign)?,
        })
    }

    fn reply(&self) -> Response {
        let headers = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (HeaderName::from_static("body-sign"), self.body_sign.clone()),
        ];
        (StatusCode::OK, headers, self.body.clone()).into_response()
    }
}

#[derive(Debug)]
struct Durable {
    fixed: Fixed,
    store: Arc<dyn Store>,
}

/// The router of a ceiling (opens and migrates the database for the storage ceiling).
pub async fn router(ceiling: &Ceiling) -> anyhow::Result<Router> {
    let fixed = Fixed::new()?;
    Ok(match ceiling {
        Ceiling::Http => Router::new()
            .route(PATH, post(answer_fixed))
            .with_state(Arc::new(fixed)),
        Ceiling::Storage { database_url } => {
            let store = store::open(database_url)
                .await
                .context("opening the storage ceiling's database")?;
            Router::new()
                .route(PATH, post(answer_durable))
                .with_state(Arc::new(Durable { fixed, store }))
        }
    })
}

/// Serves `ceiling` on `listener` until `shutdown` resolves.
pub async fn serve(
    ceiling: &Ceiling,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = router(ceiling).await?;
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving the ceiling")
}

// The body is read, as the gateway's extractor does, even though nothing looks at it.
async fn answer_fixed(State(fixed): State<Arc<Fixed>>, _body: Bytes) -> Response {
    fixed.reply()
}

async fn answer_durable(State(state): State<Arc<Durable>>, _body: Bytes) -> Response {
    let commit = Commit {
        response: Some((
            format!("ceiling:{}", uuid::Uuid::new_v4().simple()),
            b"{}".to_vec(),
        )),
        now: SystemClock.now(),
        ..Commit::default()
    };
    match state.store.commit(commit).await {
        Ok(_) => state.fixed.reply(),
        Err(err) => {
            tracing::error!(error = %err, "storage ceiling: the write failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post_once(ceiling: Ceiling) -> (u16, String, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            serve(&ceiling, listener, async {
                let _ = stopped.await;
            })
            .await
        });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let response = reqwest::Client::new()
            .post(format!("http://{addr}{PATH}"))
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let sign = response.headers()["body-sign"].to_str().unwrap().to_owned();
        let body = response.text().await.unwrap();
        let _ = stop.send(());
        server.await.unwrap().unwrap();
        (status, sign, body)
    }

    #[tokio::test]
    async fn http_ceiling_answers_success_with_a_body_sign() {
        let (status, sign, body) = post_once(Ceiling::Http).await;
        assert_eq!(status, 200);
        assert!(sign.starts_with("sign_type=\"HMAC-SHA256\", signature=\""));
        assert!(body.contains("\"resultCode\":\"000000\""), "{body}");
    }

    #[tokio::test]
    async fn storage_ceiling_writes_one_row_per_request() {
        let path =
            std::env::temp_dir().join(format!("koogate-ceiling-{}.db", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}", path.display());
        let (status, _, _) = post_once(Ceiling::Storage {
            database_url: url.clone(),
        })
        .await;
        assert_eq!(status, 200);
        // Migrated by the ceiling; counted straight from the file.
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let (rows,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM responses WHERE key LIKE 'ceiling:%'")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(rows, 1);
        pool.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
