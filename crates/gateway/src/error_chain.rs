//! Readable one-line error chains for logs and stored delivery errors.

/// `outer: cause: root cause`, skipping a cause that repeats its parent's text (reqwest and
/// hyper often wrap an error in one with the same message). Callers strip URLs and secrets.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn joins_causes() {
        assert_eq!(error_chain(&Outer(Inner)), "outer: inner");
    }
}
