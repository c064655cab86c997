//! The PNG chart written next to the JSON: one row per ceiling and workload, throughput on the
//! left and latency (p50 bar, p99 bar, p99.9 tick) on the right, both on log scales because the
//! rates span orders of magnitude. Values and ratios are printed beside the bars.

mod text;

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::{Report, Row};

const WIDTH: u32 = 1400;
const ROW: i32 = 44;
const TOP: i32 = 80;
const BOTTOM: i32 = 44;
const LABELS: i32 = 16;
/// Throughput panel: bars from `RATE_X`, `RATE_W` pixels long at most, then their text.
const RATE_X: i32 = 380;
const RATE_W: i32 = 380;
/// Latency panel.
const LAT_X: i32 = 920;
const LAT_W: i32 = 320;

const INK: RGBColor = RGBColor(30, 30, 30);
const GRID: RGBColor = RGBColor(225, 225, 225);
const CEILING: RGBColor = RGBColor(150, 150, 150);
const WORKLOAD: RGBColor = RGBColor(40, 100, 190);
const P50: RGBColor = RGBColor(220, 110, 20);
const P99: RGBColor = RGBColor(245, 190, 140);

/// A log10 axis over whole decades covering every value.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LogAxis {
    lo: i32,
    hi: i32,
}

impl LogAxis {
    fn covering(values: impl Iterator<Item = f64>) -> Self {
        let logs: Vec<f64> = values.filter(|v| *v > 0.0).map(f64::log10).collect();
        let lo = logs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() || !hi.is_finite() {
            return Self { lo: 0, hi: 1 };
        }
        let (lo, hi) = (lo.floor() as i32, hi.ceil() as i32);
        Self {
            lo,
            hi: hi.max(lo + 1),
        }
    }

    /// Pixels from the axis start for `value` on an axis `width` pixels long.
    fn px(&self, value: f64, width: i32) -> i32 {
        if value <= 0.0 {
            return 0;
        }
        let f = (value.log10() - f64::from(self.lo)) / f64::from(self.hi - self.lo);
        (f.clamp(0.0, 1.0) * f64::from(width)).round() as i32
    }
}

/// Writes the chart of `report` to `path` (PNG).
pub fn render(report: &Report, path: &Path) -> anyhow::Result<()> {
    let rows: Vec<&Row> = report.ceilings.iter().chain(&report.workloads).collect();
    let height = TOP + ROW * i32::try_from(rows.len())? + BOTTOM;
    let root = BitMapBackend::new(path, (WIDTH, u32::try_from(height)?)).into_drawing_area();
    draw(&root, report, &rows, height).map_err(|e| anyhow::anyhow!("drawing the chart: {e:?}"))?;
    root.present()
        .map_err(|e| anyhow::anyhow!("writing {}: {e:?}", path.display()))
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type DrawResult<'a> =
    Result<(), DrawingAreaErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>>;

fn draw<'a>(root: &Area<'a>, report: &Report, rows: &[&Row], height: i32) -> DrawResult<'a> {
    root.fill(&WHITE)?;
    let title = format!(
        "koogate bench  {:?}  {}  {} cores  {}",
        report.profile, report.backend, report.cores, report.started_at
    );
    text::draw(root, &title, (LABELS, 14), 2, &INK)?;
    text::draw(
        root,
        "throughput, requests/s (log), and the ratio to its ceiling",
        (RATE_X, 50),
        1,
        &INK,
    )?;
    text::draw(
        root,
        "latency ms (log): p50 bar, p99 bar, p99.9 tick",
        (LAT_X, 50),
        1,
        &INK,
    )?;
    let rate = LogAxis::covering(rows.iter().map(|r| r.result.rps));
    let latency = LogAxis::covering(
        rows.iter()
            .flat_map(|r| [r.result.latency.p50_ms, r.result.latency.p999_ms]),
    );
    let bottom = height - BOTTOM;
    axis(root, rate, RATE_X, RATE_W, bottom)?;
    axis(root, latency, LAT_X, LAT_W, bottom)?;
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + ROW * i32::try_from(i).unwrap_or(0);
        draw_row(root, row, y, rate, latency)?;
    }
    Ok(())
}

/// Decade grid lines and their labels under a panel.
fn axis<'a>(root: &Area<'a>, axis: LogAxis, x: i32, width: i32, bottom: i32) -> DrawResult<'a> {
    for decade in axis.lo..=axis.hi {
        let gx = x + axis.px(10f64.powi(decade), width);
        root.draw(&PathElement::new(vec![(gx, TOP - 6), (gx, bottom)], GRID))?;
        text::draw(root, &decade_label(decade), (gx - 4, bottom + 8), 1, &INK)?;
    }
    Ok(())
}

fn draw_row<'a>(
    root: &Area<'a>,
    row: &Row,
    y: i32,
    rate: LogAxis,
    latency: LogAxis,
) -> DrawResult<'a> {
    let r = &row.result;
    let colour = if row.ceiling.is_none() {
        CEILING
    } else {
        WORKLOAD
    };
    text::draw(root, &row.name, (LABELS, y + 14), 2, &INK)?;
    let bar = rate.px(r.rps, RATE_W).max(1);
    root.draw(&Rectangle::new(
        [(RATE_X, y + 10), (RATE_X + bar, y + 32)],
        colour.filled(),
    ))?;
    let mut value = format!("{:.0}/s", r.rps);
    if let (Some(ratio), Some(ceiling)) = (row.ratio, row.ceiling) {
        value.push_str(&format!("  {ratio:.3} of {}", ceiling.label()));
    }
    if r.errors > 0 {
        value.push_str(" FAILED");
    }
    text::draw(root, &value, (RATE_X + bar + 6, y + 17), 1, &INK)?;
    let l = &r.latency;
    let p99 = latency.px(l.p99_ms, LAT_W).max(1);
    let p50 = latency.px(l.p50_ms, LAT_W).max(1);
    let p999 = latency.px(l.p999_ms, LAT_W);
    root.draw(&Rectangle::new(
        [(LAT_X, y + 12), (LAT_X + p99, y + 30)],
        P99.filled(),
    ))?;
    root.draw(&Rectangle::new(
        [(LAT_X, y + 12), (LAT_X + p50, y + 30)],
        P50.filled(),
    ))?;
    root.draw(&Rectangle::new(
        [(LAT_X + p999 - 1, y + 6), (LAT_X + p999 + 1, y + 36)],
        INK.filled(),
    ))?;
    let label = format!("{} / {}", short_ms(l.p50_ms), short_ms(l.p99_ms));
    text::draw(root, &label, (LAT_X + p999.max(p99) + 8, y + 17), 1, &INK)?;
    Ok(())
}

/// `1`, `10`, `100`, `1k`, ... and `0.1`, `0.01` below one.
fn decade_label(decade: i32) -> String {
    match decade {
        d if d < 0 => format!("{}", 10f64.powi(d)),
        d if d >= 6 => format!("{}M", 10i64.pow((d - 6).unsigned_abs())),
        d if d >= 3 => format!("{}k", 10i64.pow((d - 3).unsigned_abs())),
        d => format!("{}", 10i64.pow(d.unsigned_abs())),
    }
}

fn short_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn log_axis_covers_whole_decades() {
        let axis = LogAxis::covering([35.0, 12_000.0, 0.0].into_iter());
        assert_eq!(axis, LogAxis { lo: 1, hi: 5 });
        assert_eq!(axis.px(10.0, 400), 0);
        assert_eq!(axis.px(1000.0, 400), 200);
        assert_eq!(axis.px(1e9, 400), 400);
        assert_eq!(
            LogAxis::covering(std::iter::empty()),
            LogAxis { lo: 0, hi: 1 }
        );
    }

    #[test]
    fn decade_labels() {
        let labels: Vec<String> = [-2, 0, 2, 3, 4, 6].into_iter().map(decade_label).collect();
        assert_eq!(labels, ["0.01", "1", "100", "1k", "10k", "1M"]);
    }

    #[test]
    fn writes_a_png() {
        let path = std::env::temp_dir().join(format!("koogate-chart-{}.png", uuid::Uuid::new_v4()));
        render(&sample(), &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    }
}
