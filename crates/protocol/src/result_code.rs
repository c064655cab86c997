//! Result codes (owned by the messages helper; placeholder).

/// Placeholder until the full type lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultCode {
    Success,
}
