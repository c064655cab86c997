//! What went wrong when every flow of a run failed the same way. One cause behind every failure
//! is almost always a pairing mistake (wrong key, wrong open API, target down) rather than a
//! bug in the target, and naming it saves the operator from reading fifteen timelines.

use super::{ExchangeRecord, Flow, FlowReport};

/// How every failed flow of a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommonFailure {
    /// Every flow's last exchange was answered with this `resultCode`.
    Code(String),
    /// Every flow's last exchange got no answer at all (refused, reset, timed out).
    NoAnswer,
}

/// `Some` when at least one purchase (a flow with a `newInstance` step) ran, none was fulfilled, and
/// each ended on the same symptom: the last of KooGallery's own exchanges of the flow (fault
/// probes are ignored) answered with one `resultCode`, or not answered. Other flows are left
/// out: the license-code flow, for one, queries no order and passes even when order queries go
/// to the wrong open API. `flows` and `reports` are matched by name.
pub fn common_failure(
    flows: &[Flow],
    reports: &[FlowReport],
    exchanges: &[ExchangeRecord],
) -> Option<CommonFailure> {
    let purchases: Vec<&FlowReport> = reports
        .iter()
        .filter(|report| {
            flows.iter().any(|f| {
                f.name == report.flow && f.steps.iter().any(|s| s.activity() == "newInstance")
            })
        })
        .collect();
    if purchases.is_empty() || purchases.iter().any(|r| r.fulfilled()) {
        return None;
    }
    let mut common = None;
    for report in purchases {
        let last = exchanges
            .iter()
            .rev()
            .find(|e| e.flow == report.flow && e.fault.is_none())?;
        let symptom = match &last.response {
            Some(response) => CommonFailure::Code(response.result_code.clone()?),
            None => CommonFailure::NoAnswer,
        };
        match &common {
            None => common = Some(symptom),
            Some(seen) if *seen == symptom => {}
            Some(_) => return None,
        }
    }
    common
}
