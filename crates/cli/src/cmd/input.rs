//! Reading bodies and keys from the command line.

use std::io::Read;
use std::path::{Path, PathBuf};

use koogate_protocol::AccessKey;

use super::CliError;

/// Reads a body file byte for byte (`-` reads standard input). Signatures cover exact bytes, so
/// nothing is trimmed: a trailing newline in the file is part of the body.
pub fn read_body(path: &Path) -> Result<Vec<u8>, CliError> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::new(format!("cannot read standard input: {e}")))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display())))
}

/// The body of an optional `--body-file`; empty when absent.
pub fn read_optional_body(path: Option<&PathBuf>) -> Result<Vec<u8>, CliError> {
    path.map_or(Ok(Vec::new()), |p| read_body(p))
}

/// A body that must be text (schemes that sign a string rather than bytes).
pub fn read_text_body(path: &Path) -> Result<String, CliError> {
    String::from_utf8(read_body(path)?)
        .map_err(|_| CliError::new(format!("{} is not valid UTF-8", path.display())))
}

pub fn key(value: &str) -> Result<AccessKey, CliError> {
    if value.is_empty() {
        return Err(CliError::new("the key must not be empty"));
    }
    Ok(AccessKey::new(value))
}

/// Parses `Name: value` (the colon may be followed by spaces).
pub fn header(text: &str) -> Result<(String, String), CliError> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| CliError::new(format!("header `{text}` must look like `Name: value`")))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(CliError::new(format!("header `{text}` has an empty name")));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// Parses `a=1&b=2` into pairs without decoding (values are signed as given).
pub fn params(text: &str) -> Result<Vec<(String, String)>, CliError> {
    text.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| {
                    CliError::new(format!("parameter `{part}` must look like name=value"))
                })
        })
        .collect()
}

/// Parses one `name=value` (the value may contain `&` and `=`).
pub fn params_one(text: &str) -> Result<Option<(String, String)>, CliError> {
    text.split_once('=')
        .map(|(k, v)| Some((k.to_owned(), v.to_owned())))
        .ok_or_else(|| CliError::new(format!("parameter `{text}` must look like name=value")))
}

/// Milliseconds since the Unix epoch, for verifiers when `--now` is not given. The CLI is the one
/// place allowed to read the wall clock directly: it is a one-shot tool with no clock to inject.
#[allow(clippy::disallowed_methods)]
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
