//! The instance state machine, as pure functions: given the current status and what KooGallery
//! (or the vendor's system) says, what is the next status and is there anything to tell the
//! vendor? Handlers persist the answer; nothing here does I/O.
//!
//! ```text
//!                ready                 FREEZE
//!  Provisioning ──────▶ Active ◀──────────────▶ Frozen
//!       │  │              │        UNFREEZE        │
//!       │  └─ refused ─▶ Failed                    │
//!       └──────────────────┴──── release ──────────┴──▶ Released (terminal)
//! ```
//!
//! Out-of-order calls have defined answers: a freeze or release that arrives while the vendor is
//! still provisioning is applied at once, and the late "ready" only stores the app info.

use crate::store::InstanceStatus;

/// What KooGallery or the vendor asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The vendor's system finished provisioning (hook answer or `/ready`).
    Ready,
    /// The vendor's system refused the purchase (a `refuse` answer to `instance.provision`).
    ProvisionFailed,
    Freeze,
    Unfreeze,
    Release,
}

/// The result of applying a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub next: InstanceStatus,
    /// False when the instance already was where the call wants it (an idempotent repeat):
    /// nothing to store, no event to send.
    pub changed: bool,
}

pub fn apply(current: InstanceStatus, transition: Transition, has_app_info: bool) -> Step {
    use InstanceStatus::{Active, Failed, Frozen, Provisioning, Released};
    let next = match (current, transition) {
        (Released, _) => Released,
        (_, Transition::Release) => Released,
        (Provisioning, Transition::Ready) => Active,
        (Provisioning, Transition::ProvisionFailed) => Failed,
        (Failed, Transition::Ready) => Active,
        (status, Transition::Ready | Transition::ProvisionFailed) => status,
        (Provisioning | Active | Frozen, Transition::Freeze) => Frozen,
        (Failed, Transition::Freeze | Transition::Unfreeze) => Failed,
        (Frozen, Transition::Unfreeze) if has_app_info => Active,
        (Frozen, Transition::Unfreeze) => Provisioning,
        (status @ (Provisioning | Active), Transition::Unfreeze) => status,
    };
    Step {
        next,
        changed: next != current,
    }
}

/// Whether renewals and upgrades still apply: a released instance is gone for KooGallery.
pub fn accepts_order_changes(status: InstanceStatus) -> bool {
    status != InstanceStatus::Released
}

/// Whether `queryInstance` may hand out the app info.
pub fn shows_app_info(status: InstanceStatus) -> bool {
    matches!(status, InstanceStatus::Active | InstanceStatus::Frozen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use InstanceStatus::*;
    use Transition::*;

    fn next(current: InstanceStatus, t: Transition) -> (InstanceStatus, bool) {
        let step = apply(current, t, true);
        (step.next, step.changed)
    }

    #[test]
    fn normal_lifecycle() {
        assert_eq!(next(Provisioning, Ready), (Active, true));
        assert_eq!(next(Active, Freeze), (Frozen, true));
        assert_eq!(next(Frozen, Unfreeze), (Active, true));
        assert_eq!(next(Active, Release), (Released, true));
    }

    #[test]
    fn repeats_are_idempotent_and_unchanged() {
        assert_eq!(next(Frozen, Freeze), (Frozen, false));
        assert_eq!(next(Active, Unfreeze), (Active, false));
        assert_eq!(next(Released, Release), (Released, false));
        assert_eq!(next(Active, Ready), (Active, false));
    }

    #[test]
    fn released_is_terminal() {
        for t in [Ready, ProvisionFailed, Freeze, Unfreeze, Release] {
            assert_eq!(apply(Released, t, true).next, Released);
        }
        assert!(!accepts_order_changes(Released));
        assert!(accepts_order_changes(Frozen));
    }

    #[test]
    fn out_of_order_calls_have_defined_answers() {
        // Release before the vendor finished: released at once; the late ready changes nothing.
        assert_eq!(next(Provisioning, Release), (Released, true));
        assert_eq!(next(Released, Ready), (Released, false));
        // Freeze while provisioning: frozen; the late ready keeps it frozen.
        assert_eq!(next(Provisioning, Freeze), (Frozen, true));
        assert_eq!(next(Frozen, Ready), (Frozen, false));
        // Unfreeze of an instance that never became ready goes back to provisioning.
        assert_eq!(apply(Frozen, Unfreeze, false).next, Provisioning);
    }

    #[test]
    fn failed_provisioning_can_be_recovered_or_released() {
        assert_eq!(next(Provisioning, ProvisionFailed), (Failed, true));
        assert_eq!(next(Failed, Ready), (Active, true));
        assert_eq!(next(Failed, Freeze), (Failed, false));
        assert_eq!(next(Failed, Release), (Released, true));
        assert!(!shows_app_info(Failed) && shows_app_info(Frozen));
    }
}
