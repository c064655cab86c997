//! App info: what the buyer needs to use an instance (URLs and the first admin credentials).
//! Stored sealed at rest; encrypted per `encryptType` only when it leaves in `queryInstance`.

use koogate_protocol::crypto::credential::MAX_PLAINTEXT_BYTES;
use rand::RngExt;

use crate::config::CredentialEncryption;
use crate::secret_box::{SecretBox, SecretBoxError};

/// App info as the vendor reports it (hook answer or `POST /api/v1/instances/{id}/ready`):
/// the wire type itself, whose `Debug` already hides the credentials.
pub use koogate_protocol::messages::AppInfo;

/// Field limits of the `queryInstance` answer (spec saas-v2 §3.2). Credentials are checked after
/// encryption, where the 128-character limit applies.
pub const MAX_URL: usize = 512;
pub const MAX_MEMO: usize = 1024;
pub const MAX_PLAIN_CREDENTIAL: usize = 128;

/// Refuses app info that KooGallery would reject, naming the field. Credentials are measured
/// as they will leave in `queryInstance` under `encryption`: in clear, 128 characters; encrypted,
/// the IV and base64 must fit those 128, which leaves 79 bytes of plain text. (Checking only the
/// plain length let a longer credential be stored, after which every `queryInstance` naming the
/// instance failed with `000005` because the credential could not be encrypted.)
pub fn validate(info: &AppInfo, encryption: CredentialEncryption) -> Result<(), String> {
    let too_long = |name: &str, value: &str, max: usize| {
        (value.encode_utf16().count() > max)
            .then(|| format!("{name} is longer than {max} characters"))
    };
    let credential = |name: &str, value: &str| match encryption {
        CredentialEncryption::None => too_long(name, value, MAX_PLAIN_CREDENTIAL),
        CredentialEncryption::Aes256 | CredentialEncryption::Aes128 => {
            (value.len() > MAX_PLAINTEXT_BYTES).then(|| {
                format!(
                    "{name} is longer than {MAX_PLAINTEXT_BYTES} bytes, so encrypted it would not \
                     fit the {MAX_PLAIN_CREDENTIAL} characters queryInstance allows"
                )
            })
        }
    };
    if info.front_end_url.trim().is_empty() {
        return Err("frontEndUrl is required".to_owned());
    }
    let checks = [
        too_long("frontEndUrl", &info.front_end_url, MAX_URL),
        info.admin_url
            .as_deref()
            .and_then(|v| too_long("adminUrl", v, MAX_URL)),
        info.memo
            .as_deref()
            .and_then(|v| too_long("memo", v, MAX_MEMO)),
        info.user_name
            .as_deref()
            .and_then(|v| credential("userName", v)),
        info.password
            .as_deref()
            .and_then(|v| credential("password", v)),
    ];
    checks.into_iter().flatten().next().map_or(Ok(()), Err)
}

pub fn seal(info: &AppInfo, secret_box: &SecretBox) -> Vec<u8> {
    // Serialising a struct of strings cannot fail.
    secret_box.seal(&serde_json::to_vec(info).unwrap_or_default())
}

pub fn open(sealed: &[u8], secret_box: &SecretBox) -> Result<AppInfo, SecretBoxError> {
    let bytes = secret_box.open(sealed)?;
    serde_json::from_slice(&bytes).map_err(|_| SecretBoxError::Tampered)
}

/// The built-in provisioner: used when no vendor hook is configured, so `koogate serve` works
/// alone. It fills URL templates and generates a first admin password.
#[derive(Debug, Clone)]
pub struct BuiltinProvisioner {
    pub frontend_url_template: String,
    pub admin_url_template: Option<String>,
}

impl BuiltinProvisioner {
    pub fn provision(&self, instance_id: &str) -> AppInfo {
        let fill = |template: &str| template.replace("{instanceId}", instance_id);
        AppInfo {
            front_end_url: fill(&self.frontend_url_template),
            admin_url: self.admin_url_template.as_deref().map(fill),
            user_name: Some("admin".to_owned()),
            password: Some(generate_password(16)),
            memo: Some("Provisioned by koogate's built-in provisioner.".to_owned()),
        }
    }
}

fn generate_password(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789@#%+";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_provisioner_fills_templates_and_makes_unique_passwords() {
        let p = BuiltinProvisioner {
            frontend_url_template: "https://app.example.com/i/{instanceId}".into(),
            admin_url_template: Some("https://app.example.com/admin/{instanceId}".into()),
        };
        let a = p.provision("abc");
        assert_eq!(a.front_end_url, "https://app.example.com/i/abc");
        assert_eq!(
            a.admin_url.as_deref(),
            Some("https://app.example.com/admin/abc")
        );
        assert_ne!(a.password, p.provision("abc").password);
        assert!(validate(&a, CredentialEncryption::Aes256).is_ok());
    }

    #[test]
    fn validation_names_the_offending_field() {
        let mut a = AppInfo {
            front_end_url: "x".repeat(513),
            admin_url: None,
            user_name: None,
            password: None,
            memo: None,
        };
        assert!(
            validate(&a, CredentialEncryption::Aes256)
                .unwrap_err()
                .contains("frontEndUrl")
        );
        a.front_end_url = String::new();
        assert!(validate(&a, CredentialEncryption::Aes256).is_err());
        a.front_end_url = "https://x".into();
        a.memo = Some("中".repeat(1025));
        assert!(
            validate(&a, CredentialEncryption::Aes256)
                .unwrap_err()
                .contains("memo")
        );
    }

    #[test]
    fn credentials_must_fit_once_encrypted() {
        let mut a = BuiltinProvisioner {
            frontend_url_template: "https://x/{instanceId}".into(),
            admin_url_template: None,
        }
        .provision("i");
        a.password = Some("p".repeat(MAX_PLAINTEXT_BYTES));
        assert!(validate(&a, CredentialEncryption::Aes128).is_ok());
        a.password = Some("p".repeat(MAX_PLAINTEXT_BYTES + 1));
        assert!(
            validate(&a, CredentialEncryption::Aes256)
                .unwrap_err()
                .contains("password")
        );
        assert!(validate(&a, CredentialEncryption::None).is_ok());
        a.password = Some("p".repeat(MAX_PLAIN_CREDENTIAL + 1));
        assert!(validate(&a, CredentialEncryption::None).is_err());
    }

    #[test]
    fn sealing_round_trips_and_debug_hides_credentials() {
        let sb = SecretBox::new(&SecretBox::generate_key(), &[]).unwrap();
        let a = AppInfo {
            front_end_url: "https://x".into(),
            admin_url: None,
            user_name: Some("root-user".into()),
            password: Some("hunter2-secret".into()),
            memo: Some("中文".into()),
        };
        assert_eq!(open(&seal(&a, &sb), &sb).unwrap(), a);
        let dbg = format!("{a:?}");
        assert!(
            !dbg.contains("hunter2-secret") && !dbg.contains("root-user"),
            "{dbg}"
        );
    }
}
