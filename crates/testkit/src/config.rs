//! The configuration of a gateway under test, as every in-process rig builds it.

use koogate_gateway::config::{Config, Secret};
use koogate_gateway::secret_box::SecretBox;
use koogate_sim::handle::SimHandle;
use koogate_sim::openapi::OpenApiHandle;

/// The webhook secret every test gateway signs its deliveries with (Standard Webhooks format).
pub const HOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// KooGallery's open API as the gateway under test reaches it: the simulator's, usually.
#[derive(Debug, Clone)]
pub struct OpenApi {
    pub url: String,
    pub ak: String,
    pub sk: String,
}

impl From<&SimHandle> for OpenApi {
    fn from(sim: &SimHandle) -> Self {
        Self {
            url: sim.openapi_url(),
            ak: sim.ak().to_owned(),
            sk: sim.sk().expose().to_owned(),
        }
    }
}

impl From<&OpenApiHandle> for OpenApi {
    fn from(sim: &OpenApiHandle) -> Self {
        Self {
            url: sim.base_url.clone(),
            ak: sim.ak.clone(),
            sk: sim.sk.expose().to_owned(),
        }
    }
}

/// A gateway on the store at `database_url`, answering the basic production interfaces with
/// `access_key` and the vendor API with `api_token`, with a fresh master key, [`HOOK_SECRET`] and
/// `open_api`; everything else is the default (no hook URL: the built-in provisioner). The data
/// directory is the temp dir (unused: the database is given).
pub fn gateway_config(
    database_url: &str,
    access_key: &str,
    api_token: &str,
    open_api: impl Into<OpenApi>,
) -> Config {
    let open_api = open_api.into();
    Config {
        data_dir: std::env::temp_dir(),
        database_url: Some(Secret::new(database_url)),
        access_key: Some(Secret::new(access_key)),
        api_token: Some(Secret::new(api_token)),
        master_key: Some(Secret::new(SecretBox::generate_key())),
        hook_secret: Some(Secret::new(HOOK_SECRET)),
        openapi_url: Some(open_api.url),
        ak: Some(open_api.ak),
        sk: Some(Secret::new(open_api.sk)),
        ..Config::default()
    }
}
