//! The instance lifecycle behind the production interface: one module per activity, each a
//! short function from a parsed request to the bytes of the answer. Handlers in `http/` only
//! extract and call; every rule about idempotency and state lives here.
//!
//! The recipe every state-changing activity follows:
//! 1. replay: if this call's idempotency key already has a stored answer, return it byte for byte;
//! 2. read what is needed (the instance, the order from KooGallery);
//! 3. decide (pure, `lifecycle`) and build the answer;
//! 4. [`Store::commit`] the state change, the answer and the webhook events together; if another
//!    replica or a concurrent resend won the race, return what it stored instead.

pub mod activities;
pub mod app_info;
pub mod events;
mod gateway_ext;
pub mod hook_effects;
pub mod kit;
pub mod lease;
pub mod license_issue;
pub mod lifecycle;
pub mod marketplace;
pub mod metering;
pub mod provision;
pub mod reconcile;
pub mod replies;
pub mod vendor_hook;

use std::sync::Arc;

use koogate_protocol::AccessKey;
use koogate_protocol::crypto::credential::CredentialCipher;
use koogate_protocol::signing::scheme_a;
use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::config::{CredentialEncryption, ReleaseUnknown};
use crate::secret_box::SecretBox;
use crate::store::Store;

pub use activities::dispatch;
pub use app_info::{AppInfo, BuiltinProvisioner};
pub use marketplace::{FetchedOrder, MarketError, Marketplace, OrderError};
pub use vendor_hook::VendorHook;

pub use koogate_protocol::messages::KeyCategory;

/// Settings the domain needs, resolved from [`crate::config::Config`] at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub basic_key: AccessKey,
    pub license_key: AccessKey,
    pub notify_key: AccessKey,
    /// Verifies the Kit calls' `x-sign` (联营SaaS同步接口 category).
    pub kit_key: AccessKey,
    pub verify_policy: scheme_a::VerifyPolicy,
    pub encryption: CredentialEncryption,
    /// The cipher for `encryption` under the basic key, derived once; `None` for plain text.
    pub credential_cipher: Option<CredentialCipher>,
    pub release_unknown: ReleaseUnknown,
    /// `usageInfo` (default) or `usageInfos`.
    pub usage_info_name: String,
    pub change_check_default: bool,
    /// True when order queries go to the embedded sandbox instead of KooGallery.
    pub sandbox: bool,
    /// True when a vendor hook provisions instances; false means the built-in provisioner.
    pub hook_configured: bool,
    /// `appInfo.frontEndUrl` in newInstance answers.
    pub frontend_url_in_new_instance: crate::config::FrontEndUrlInNewInstance,
    /// With a hook: how long newInstance waits for the provision answer; zero never waits.
    pub provision_wait: std::time::Duration,
    /// Longest getLicenseAsync `deviceFingerprint`, in bytes; longer ones get `000002`.
    pub max_fingerprint_bytes: usize,
    pub metering: MeteringSettings,
    /// What the reconciliation pass does with its findings.
    pub reconcile_mode: crate::config::ReconcileMode,
}

/// How usage is cut into windows (see [`metering`]).
#[derive(Debug, Clone, Copy)]
pub struct MeteringSettings {
    pub window: crate::config::MeteringWindow,
    /// How long after a window ends it still takes reports.
    pub grace: chrono::Duration,
}

impl Settings {
    pub fn key_for(&self, category: KeyCategory) -> &AccessKey {
        match category {
            KeyCategory::Basic => &self.basic_key,
            KeyCategory::LicenseCode => &self.license_key,
            KeyCategory::Notify => &self.notify_key,
        }
    }
}

/// Everything a production-interface call needs, shared by all requests.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    pub secret_box: SecretBox,
    pub provisioner: BuiltinProvisioner,
    pub marketplace: Arc<dyn Marketplace>,
    /// The vendor's hook, for questions answered inside a call (`changeInstanceCheck`); events
    /// go through the outbox instead.
    pub hook: Option<Arc<dyn VendorHook>>,
    /// Signs built-in licenses (`KOOGATE_LICENSE_SIGNING_KEY`; see [`license_issue`]).
    pub license_signer: Arc<license_issue::LicenseSigner>,
    /// Decrypts applicationSync's `clientSecret`; `None` answers `000101`.
    pub kit_private_key: Option<Arc<koogate_protocol::crypto::client_secret::PrivateKey>>,
    /// Wakes the outbox worker when a commit enqueued events.
    pub outbox_wakeup: Arc<Notify>,
}
