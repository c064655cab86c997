//! The human output: one line per ceiling and workload, ratios last.

use std::fmt::Write as _;

use super::{Report, Row};

/// The whole table with its header lines.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let concurrency = report
        .workloads
        .first()
        .or(report.ceilings.first())
        .map_or(0, |r| r.concurrency);
    let _ = writeln!(
        out,
        "koogate bench: {:?} profile, {}, {} cores, {} connections, {:.1} s warm-up + {:.1} s measured per line",
        report.profile,
        report.backend,
        report.cores,
        concurrency,
        report.warmup_s,
        report.measure_s
    );
    let c = &report.crypto;
    let _ = writeln!(
        out,
        "crypto per request (verify {:.1} µs + 2 × encrypt {:.1} µs + Body-Sign {:.1} µs) = {:.1} µs on one core: bound {:.0} req/s on {} cores",
        c.verify_ns / 1e3,
        c.encrypt_ns / 1e3,
        c.body_sign_ns / 1e3,
        c.per_request_ns / 1e3,
        c.bound_rps,
        c.cores
    );
    if let Some(kib) = report.serve_start_rss_kib {
        let _ = writeln!(
            out,
            "koogate serve at start: {:.1} MiB resident, of which most is the embedded sandbox's {} orders",
            kib as f64 / 1024.0,
            report.sandbox_orders
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<22} {:>5} {:>9} {:>8} {:>8} {:>9} {:>9} {:>8} {:>7} {:>7} {:>8} {:>7}",
        "",
        "conc",
        "req/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "RSS MiB",
        "ceiling",
        "ratio",
        "http",
        "storage",
        "crypto"
    );
    for row in report.ceilings.iter().chain(&report.workloads) {
        let _ = writeln!(out, "{}", line(row));
    }
    out
}

fn line(row: &Row) -> String {
    let r = &row.result;
    let ratio = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
    let rss = row.peak_rss_kib.map_or_else(
        || "-".to_owned(),
        |kib| format!("{:.1}", kib as f64 / 1024.0),
    );
    let mut text = format!(
        "{:<22} {:>5} {:>9.0} {:>8.2} {:>8.2} {:>9.2} {:>9} {:>8} {:>7} {:>7} {:>8} {:>7}",
        row.name,
        row.concurrency,
        r.rps,
        r.latency.p50_ms,
        r.latency.p99_ms,
        r.latency.p999_ms,
        rss,
        row.ceiling.map_or("-", |c| c.label()),
        ratio(row.ratio),
        ratio(row.ratio_http),
        ratio(row.ratio_storage),
        ratio(row.crypto_share),
    );
    if r.errors > 0 {
        let _ = write!(text, "  {} FAILED", r.errors);
    }
    if row.ceiling.is_some() && row.outbox_drain_s.is_none() {
        text.push_str("  (webhook outbox still busy after the window)");
    }
    if r.exhausted {
        text.push_str("  (ran out of prepared requests)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn one_line_per_row_with_its_ratio() {
        let mut report = sample();
        report.workloads[1].result.errors = 2;
        let text = render(&report);
        let fresh = text
            .lines()
            .find(|l| l.starts_with("new instance fresh"))
            .unwrap();
        assert!(
            fresh.contains("storage") && fresh.contains("0.250"),
            "{fresh}"
        );
        assert!(text.contains("2 FAILED"), "{text}");
        println!("{text}");
        let rows = [
            "http ceiling",
            "storage ceiling",
            "new instance fresh",
            "query instance 1",
        ];
        for name in rows {
            assert_eq!(
                text.lines().filter(|l| l.starts_with(name)).count(),
                1,
                "{name}"
            );
        }
    }
}
