//! One module per production-interface activity, and the dispatcher that picks one.

mod change;
mod license;
mod new_instance;
mod notify;
mod query;
mod update;

use koogate_protocol::messages::{ProduceRequest, ProduceResponse, parse_produce_request};

pub use update::{MissedCall, apply_missed};

use super::Gateway;
use super::replies::{Answer, Failure};

/// Parses a verified body and runs its activity. Never fails: every outcome is an answer.
pub async fn dispatch(gw: &Gateway, body: &[u8]) -> (String, Answer) {
    let request = match parse_produce_request(body) {
        Ok(request) => request,
        Err(err) => {
            tracing::warn!(error = %err, "refused production call: invalid request");
            return (
                "invalid".to_owned(),
                Failure::InvalidParameter(err.to_string()).into_answer(),
            );
        }
    };
    let activity = request.activity().as_str().to_owned();
    let outcome = run(gw, &request).await;
    let answer = match outcome {
        Ok(answer) => answer,
        Err(failure) => {
            match &failure {
                Failure::Internal(detail) => {
                    tracing::error!(activity, error = %detail, "production call failed")
                }
                other => tracing::warn!(activity, outcome = %other, "production call refused"),
            }
            failure.into_answer()
        }
    };
    (activity, answer)
}

async fn run(gw: &Gateway, request: &ProduceRequest) -> Result<Answer, Failure> {
    let test = request.is_debug();
    match request {
        ProduceRequest::NewInstance(r) => new_instance::run(gw, r, test).await,
        ProduceRequest::QueryInstance(r) => query::run(gw, r).await,
        ProduceRequest::RefreshInstance(r) => update::refresh(gw, r).await,
        ProduceRequest::UpdateInstanceStatus(r) => update::status(gw, r).await,
        ProduceRequest::ReleaseInstance(r) => update::release(gw, r).await,
        ProduceRequest::UpgradeInstance(r) => update::upgrade(gw, r).await,
        ProduceRequest::ChangeInstanceCheck(r) => change::run(gw, r, test).await,
        ProduceRequest::OrderNotify(r) => notify::run(gw, r, test).await,
        ProduceRequest::GetLicenseAsync(r) => license::get_license_async(gw, r, test).await,
        ProduceRequest::RefreshLicenseCode(r) => license::refresh_code(gw, r, test).await,
        ProduceRequest::UpdateLicenseCodeStatus(r) => {
            license::update_code_status(gw, r, test).await
        }
        ProduceRequest::ReleaseLicenseCode(r) => license::release_code(gw, r, test).await,
    }
}

/// `resultCode 000000` with the configured usage-array name.
fn success(gw: &Gateway) -> Answer {
    Answer::from_response(&ProduceResponse::success(), gw.usage_field())
}
