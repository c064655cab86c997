//! Small conveniences on [`Gateway`] shared by the activities.

use koogate_protocol::messages::UsageInfoField;

use super::Gateway;

impl Gateway {
    /// The configured name of the usage array (`usageInfo` or `usageInfos`).
    pub fn usage_field(&self) -> UsageInfoField {
        if self.settings.usage_info_name == "usageInfos" {
            UsageInfoField::UsageInfos
        } else {
            UsageInfoField::UsageInfo
        }
    }

    /// Wakes the outbox worker after a commit that enqueued events.
    pub fn wake_outbox(&self) {
        self.outbox_wakeup.notify_one();
    }
}
