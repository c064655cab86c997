//! `changeInstanceCheck` (spec saas-v2 §3.7): may this instance move to another specification?
//! The spec does not say which code refuses; koogate answers `000000` to allow and, when the
//! configured default refuses, `000005` with a readable message (any non-`000000` refuses).

use koogate_protocol::ResultCode;
use koogate_protocol::messages::instance::ChangeInstanceCheck;

use super::success;
use crate::domain::replies::{Answer, Failure};
use crate::domain::{Gateway, lifecycle};

pub async fn run(gw: &Gateway, req: &ChangeInstanceCheck) -> Result<Answer, Failure> {
    let instance_id = req.instance_id.as_str();
    // A released instance is gone for KooGallery, as for renewals and upgrades.
    let live = gw
        .store
        .get_instance(instance_id)
        .await?
        .filter(|i| lifecycle::accepts_order_changes(i.status));
    if live.is_none() {
        return Err(Failure::InstanceNotFound(instance_id.to_owned()));
    }
    if gw.settings.change_check_default {
        Ok(success(gw))
    } else {
        Err(Failure::Refused {
            code: ResultCode::InternalError,
            message: "this instance cannot be changed to the requested specification".to_owned(),
        })
    }
}
