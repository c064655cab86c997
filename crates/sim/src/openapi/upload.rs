//! `POST …/global/v1/market-event/{event_id}/file`: the online-license upload (spec license-kit
//! §3.3). Parts: `isvUpdateFileReq` (JSON metadata, mandatory) and `file` (for `type = FILE`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::OpenApiState;
use super::apig_auth::{Caller, caller_key};
use super::multipart::{self, Part};
use super::record::{Upload, UploadContent, with_detail};

const METADATA_PART: &str = "isvUpdateFileReq";
const FILE_PART: &str = "file";
/// Limits of `isvUpdateFileReq` (spec license-kit §3.3), in characters.
const MAX_TYPE: usize = 10;
const MAX_FILE_NAME: usize = 1024;
const MAX_CHARACTERS: usize = 1024;

pub(super) async fn handle(
    State(state): State<OpenApiState>,
    Path(event_id): Path<String>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let access_key = caller_key(caller);
    match read_upload(&headers, &body) {
        Ok((metadata, content)) => {
            state.record_upload(Upload {
                event_id,
                access_key,
                metadata,
                content,
            });
            Json(json!({ "error_code": "CBC.0000", "error_msg": "Success" })).into_response()
        }
        Err(why) => with_detail(
            (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error_code": "CBC.0101", "error_msg": "Invalid parameter" })),
            ),
            why,
        ),
    }
}

fn read_upload(headers: &HeaderMap, body: &[u8]) -> Result<(Value, UploadContent), String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let boundary = multipart::boundary(content_type)
        .ok_or("Content-Type is not multipart/form-data with a boundary")?;
    let parts = multipart::parse(body, &boundary)?;
    let metadata_part = only_part(&parts, METADATA_PART)?.ok_or("no isvUpdateFileReq part")?;
    let metadata: Value = serde_json::from_slice(&metadata_part.data)
        .map_err(|e| format!("isvUpdateFileReq is not JSON: {e}"))?;
    let field = |name: &str| metadata.get(name).and_then(Value::as_str);
    let kind = field("type").ok_or("isvUpdateFileReq.type missing")?;
    if kind.chars().count() > MAX_TYPE {
        return Err("isvUpdateFileReq.type too long".into());
    }
    let content = match kind {
        "CHARACTERS" => characters(field("characters"))?,
        "FILE" => file(
            field("file_name"),
            field("sha256"),
            only_part(&parts, FILE_PART)?,
        )?,
        other => {
            return Err(format!(
                "isvUpdateFileReq.type `{other}` is neither CHARACTERS nor FILE"
            ));
        }
    };
    Ok((metadata, content))
}

/// The part with this name, refusing duplicates.
fn only_part<'a>(parts: &'a [Part], name: &str) -> Result<Option<&'a Part>, String> {
    let mut found = parts.iter().filter(|part| part.name == name);
    match (found.next(), found.next()) {
        (Some(_), Some(_)) => Err(format!("part `{name}` repeated")),
        (first, _) => Ok(first),
    }
}

fn characters(characters: Option<&str>) -> Result<UploadContent, String> {
    let characters = characters
        .filter(|c| !c.is_empty())
        .ok_or("isvUpdateFileReq.characters missing for type CHARACTERS")?;
    if characters.chars().count() > MAX_CHARACTERS {
        return Err("isvUpdateFileReq.characters longer than 1024".into());
    }
    Ok(UploadContent::Characters(characters.to_owned()))
}

/// `sha256` is compared as hex, case-insensitively [INFERRED: the spec does not give its encoding].
fn file(
    file_name: Option<&str>,
    sha256: Option<&str>,
    part: Option<&Part>,
) -> Result<UploadContent, String> {
    let file_name = file_name
        .filter(|name| !name.is_empty())
        .ok_or("isvUpdateFileReq.file_name missing for type FILE")?;
    if file_name.chars().count() > MAX_FILE_NAME {
        return Err("isvUpdateFileReq.file_name longer than 1024".into());
    }
    let sha256 = sha256.ok_or("isvUpdateFileReq.sha256 missing for type FILE")?;
    let part = part.ok_or("no file part for type FILE")?;
    if !hex::encode(Sha256::digest(&part.data)).eq_ignore_ascii_case(sha256.trim()) {
        return Err("isvUpdateFileReq.sha256 does not match the file part".into());
    }
    Ok(UploadContent::File {
        file_name: file_name.to_owned(),
        bytes: part.data.clone(),
    })
}
