//! The outputs of a run: a readable summary, JUnit XML (written by hand: the format is small and
//! an XML crate would be the only user) and JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Outcome, Verdict};

/// Everything a run found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub target: String,
    pub budget_ms: u64,
    /// RFC 3339.
    pub started_at: String,
    /// The open-API sandbox the target was told to use (its secret key is never reported).
    pub sandbox_url: Option<String>,
    pub sandbox_ak: Option<String>,
    /// In catalogue order.
    pub outcomes: Vec<Outcome>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub skip: usize,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    passed: bool,
    counts: Counts,
    #[serde(flatten)]
    report: &'a Report,
}

impl Report {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for outcome in &self.outcomes {
            match outcome.verdict {
                Verdict::Pass => counts.pass += 1,
                Verdict::Fail => counts.fail += 1,
                Verdict::Warn => counts.warn += 1,
                Verdict::Skip => counts.skip += 1,
            }
        }
        counts
    }

    /// True when no required case failed.
    pub fn passed(&self) -> bool {
        self.counts().fail == 0
    }

    pub fn outcome(&self, id: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.case.id == id)
    }

    /// Required cases that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.verdict == Verdict::Fail)
    }

    /// The table (case, verdict, rule, detail), then every failure and warning in full.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let id_width = self
            .outcomes
            .iter()
            .map(|o| o.case.id.chars().count())
            .max()
            .unwrap_or(4);
        let rule_width = self
            .outcomes
            .iter()
            .map(|o| o.case.rule.chars().count())
            .max()
            .unwrap_or(4);
        let _ = writeln!(
            out,
            "koogate conform: {} (budget {} ms)",
            self.target, self.budget_ms
        );
        let _ = writeln!(
            out,
            "{:id_width$}  {:7}  {:rule_width$}  DETAIL",
            "CASE", "VERDICT", "RULE"
        );
        for o in &self.outcomes {
            let _ = writeln!(
                out,
                "{:id_width$}  {:7}  {:rule_width$}  {}",
                o.case.id,
                label(o.verdict),
                o.case.rule,
                excerpt(&o.detail, 80)
            );
        }
        let problems: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|o| matches!(o.verdict, Verdict::Fail | Verdict::Warn))
            .collect();
        if !problems.is_empty() {
            let _ = writeln!(out, "\nFailures and warnings:");
            for o in problems {
                let _ = writeln!(
                    out,
                    "  {} {} — {}",
                    label(o.verdict),
                    o.case.id,
                    o.case.rule
                );
                let _ = writeln!(out, "      {}", o.detail);
            }
        }
        let c = self.counts();
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        let _ = writeln!(
            out,
            "\n{verdict}: {} passed, {} failed, {} warnings (optional cases), {} skipped",
            c.pass, c.fail, c.warn, c.skip
        );
        out
    }

    /// JUnit XML. A warning (failed optional case) is reported as `<skipped>` with the reason, so
    /// CI shows it without failing the build; a skip likewise.
    pub fn junit_xml(&self) -> String {
        let c = self.counts();
        let total_secs = self.outcomes.iter().map(|o| o.millis).sum::<u64>() as f64 / 1000.0;
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let counts = format!(
            "tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{total_secs:.3}\"",
            self.outcomes.len(),
            c.fail,
            c.warn + c.skip
        );
        let _ = writeln!(out, "<testsuites name=\"koogate conform\" {counts}>");
        let _ = writeln!(
            out,
            "  <testsuite name=\"koogate conform\" {counts} timestamp=\"{}\">",
            escape(&self.started_at)
        );
        out.push_str("    <properties>\n");
        for (name, value) in [
            ("target", Some(self.target.clone())),
            ("budget_ms", Some(self.budget_ms.to_string())),
            ("sandbox_url", self.sandbox_url.clone()),
            ("sandbox_ak", self.sandbox_ak.clone()),
        ] {
            if let Some(value) = value {
                let _ = writeln!(
                    out,
                    "      <property name=\"{name}\" value=\"{}\"/>",
                    escape(&value)
                );
            }
        }
        out.push_str("    </properties>\n");
        for o in &self.outcomes {
            let group = o.case.id.split('.').next().unwrap_or("conform");
            let _ = write!(
                out,
                "    <testcase classname=\"conform.{}\" name=\"{}\" time=\"{:.3}\">",
                escape(group),
                escape(&o.case.id),
                o.millis as f64 / 1000.0
            );
            let text = format!("{}\nrule: {}\n{}", o.case.title, o.case.rule, o.detail);
            match o.verdict {
                Verdict::Pass => {}
                Verdict::Fail => {
                    let _ = write!(
                        out,
                        "<failure message=\"{}\" type=\"required\">{}</failure>",
                        escape(o.case.rule),
                        escape(&text)
                    );
                }
                Verdict::Warn => {
                    let message = format!("warning (optional case failed): {}", o.detail);
                    let _ = write!(out, "<skipped message=\"{}\"/>", escape(&message));
                }
                Verdict::Skip => {
                    let _ = write!(out, "<skipped message=\"{}\"/>", escape(&o.detail));
                }
            }
            let _ = writeln!(out, "<system-out>{}</system-out></testcase>", escape(&text));
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }

    /// Pretty JSON: `passed`, `counts`, the run's settings and every outcome.
    pub fn to_json(&self) -> String {
        let report = JsonReport {
            passed: self.passed(),
            counts: self.counts(),
            report: self,
        };
        // Only strings, numbers and booleans: serialising cannot fail.
        serde_json::to_string_pretty(&report).unwrap_or_default()
    }
}

fn label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Warn => "WARN",
        Verdict::Skip => "SKIP",
    }
}

fn excerpt(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= max && !text.contains('\n') {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(max).collect();
    cut.push('…');
    cut
}

/// Escapes text for XML content and attribute values. Characters XML 1.0 cannot carry at all
/// (most control characters, which a target's body may contain) become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("a<b>&\"c'\u{1}\td"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}\td"
        );
        assert_eq!(escape("查询订单 §6"), "查询订单 §6");
    }
}
