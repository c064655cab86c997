//! The human output: one line per ceiling and workload, each with the number of requests it
//! measured (events, on the outbox drain line), ratios last; the memory goals in the header.

use std::fmt::Write as _;

use super::{IDLE_GOAL_MIB, PEAK_GOAL_MIB, Report, Row};

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
    let _ = writeln!(out, "{}", memory(report));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<22} {:>5} {:>8} {:>9} {:>8} {:>8} {:>9} {:>9} {:>8} {:>7} {:>7} {:>8} {:>7}",
        "",
        "conc",
        "measured",
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
    for row in &report.workloads {
        if let Some(text) = drain_note(row) {
            let _ = writeln!(out, "{text}");
        }
    }
    out
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "-".to_owned(),
        |kib| format!("{:.1}", kib as f64 / 1024.0),
    )
}

/// koogate serve's memory against the goals; the sandbox orders live in the bench's process.
fn memory(report: &Report) -> String {
    let verdict = |kib: Option<u64>, goal: f64| match kib {
        Some(kib) if kib as f64 / 1024.0 <= goal => "met",
        Some(_) => "MISSED",
        None => "not measured",
    };
    format!(
        "koogate serve memory: idle {} MiB at start (goal ≤ {IDLE_GOAL_MIB:.0} MiB: {}), {} MiB after the load; \
         peak {} MiB (goal ≤ {PEAK_GOAL_MIB:.0} MiB: {}); the {} sandbox orders are held by the bench's own \
         open-API simulator, not by koogate serve",
        mib(report.serve_start_rss_kib),
        verdict(report.serve_start_rss_kib, IDLE_GOAL_MIB),
        mib(report.serve_end_rss_kib),
        mib(report.serve_peak_rss_kib),
        verdict(report.serve_peak_rss_kib, PEAK_GOAL_MIB),
        report.sandbox_orders,
    )
}

/// Under the table: how the outbox drain line was measured.
fn drain_note(row: &Row) -> Option<String> {
    let d = row.drain.as_ref()?;
    let from = if d.measured_from == "burst_end" {
        format!(
            "{} events still queued at the burst's end, delivered in {:.2} s",
            d.backlog_at_burst_end, row.result.window_s
        )
    } else {
        format!(
            "the outbox kept up with the burst: rate from the first event to the last, {:.2} s",
            row.result.window_s
        )
    };
    let mut text = format!(
        "  {}: burst of {} purchases in {:.2} s ({:.0}/s), {} distinct signed events delivered in all; {from}",
        row.name, d.purchases, d.burst_s, d.burst_rps, d.events
    );
    if !d.emptied {
        text.push_str(
            "; the outbox was NOT empty at the limit, the rate is that of the part delivered",
        );
    }
    if d.unsigned > 0 {
        let _ = write!(text, "; {} unsigned deliveries", d.unsigned);
    }
    Some(text)
}

fn line(row: &Row) -> String {
    let r = &row.result;
    let ratio = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
    let ms = |v: f64| {
        if r.latency.samples > 0 {
            format!("{v:.2}")
        } else {
            "-".to_owned()
        }
    };
    let mut text = format!(
        "{:<22} {:>5} {:>8} {:>9.0} {:>8} {:>8} {:>9} {:>9} {:>8} {:>7} {:>7} {:>8} {:>7}",
        row.name,
        row.concurrency,
        r.requests,
        r.rps,
        ms(r.latency.p50_ms),
        ms(r.latency.p99_ms),
        ms(r.latency.p999_ms),
        mib(row.peak_rss_kib),
        row.ceiling.map_or("-", |c| c.label()),
        ratio(row.ratio),
        ratio(row.ratio_http),
        ratio(row.ratio_storage),
        ratio(row.crypto_share),
    );
    if r.errors > 0 {
        let _ = write!(text, "  {} FAILED", r.errors);
    }
    if row.drain.is_some() {
        text.push_str("  (events/s; see below)");
    } else if row.ceiling.is_some() && row.outbox_drain_s.is_none() {
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
        // Every line states how many requests it measured (rps × 3 s in the sample).
        assert!(fresh.contains(" 1500 "), "{fresh}");
        assert!(text.contains("1200 events still queued"), "{text}");
        assert!(
            text.contains("idle 10.0 MiB at start (goal ≤ 30 MiB: met)"),
            "{text}"
        );
        assert!(
            text.contains("peak 20.0 MiB (goal ≤ 100 MiB: met)"),
            "{text}"
        );
        println!("{text}");
        let rows = [
            "http ceiling",
            "storage ceiling",
            "new instance fresh",
            "query instance 1",
            "outbox drain",
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
