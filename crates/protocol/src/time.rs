//! Time formats (placeholder).
