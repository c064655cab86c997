//! Message bodies (placeholder).
