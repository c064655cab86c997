//! Lenient serde helpers (placeholder).
