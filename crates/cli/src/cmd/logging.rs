//! Structured logs: human-readable by default, JSON with `KOOGATE_LOG_FORMAT=json`; the filter
//! comes from `KOOGATE_LOG` (default `info`).

pub fn init() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KOOGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("KOOGATE_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // Colour codes only for a terminal: in a log file they are noise and cost formatting time.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
