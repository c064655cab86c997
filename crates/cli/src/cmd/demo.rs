//! `koogate demo`: what a newcomer runs first. Starts the gateway (SQLite in a temporary
//! directory, generated secrets, the built-in provisioner) and a simulated KooGallery in one
//! process, plays a purchase's whole life through them over real HTTP, prints a timeline of who
//! called whom and what the gateway did, and ends with what to try next. Exit 0 when every call
//! succeeded, 1 otherwise.

mod timeline;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use koogate_gateway::app::{App, Options};
use koogate_gateway::clock::SystemClock;
use koogate_gateway::config::{Config, GeneratedSecrets, Secret};
use koogate_protocol::AccessKey;
use koogate_sim::handle::{Sim, SimConfig, SimHandle};
use koogate_sim::scenario::Target;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{CliError, CmdResult};
use timeline::Timeline;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// After the lifecycle, keep the gateway and the simulator running until Ctrl-C, to look
    /// around (vendor API, simulator inspection API).
    #[arg(long)]
    keep_running: bool,
}

pub fn run(args: DemoArgs) -> CmdResult {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::new(format!("cannot start the runtime: {e}")))?;
    runtime
        .block_on(demo(args))
        .map_err(|e| CliError::new(format!("{e:#}")))
}

/// The gateway and the simulator, running.
struct Running {
    sim: SimHandle,
    /// `http://127.0.0.1:port`.
    gateway_url: String,
    produce_path: String,
    api_token: Secret,
    stop: oneshot::Sender<()>,
    server: JoinHandle<anyhow::Result<()>>,
}

async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    quiet_logs();
    let dir = DataDir::create()?;
    let running = start(&dir.0).await?;
    banner(&running, &dir.0);
    let mut timeline = Timeline::new(&running.sim, &running.gateway_url, &running.api_token);
    let lifecycle_ok = timeline.lifecycle().await;
    let notify_ok = timeline.order_notify().await;
    let ok = lifecycle_ok && notify_ok;
    what_next(ok);
    if args.keep_running {
        keep_running(&running, &dir.0).await;
    }
    let _ = running.stop.send(());
    running
        .server
        .await
        .context("the gateway task failed")?
        .context("the gateway stopped with an error")?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The gateway logs to stderr at `warn` unless `KOOGATE_LOG` says otherwise: the timeline is
/// the demo's output, and request logs would bury it.
fn quiet_logs() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KOOGATE_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A fresh data directory under the system's temp directory, removed on drop.
struct DataDir(PathBuf);

impl DataDir {
    fn create() -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("koogate-demo-{}", std::process::id()));
        // A leftover of an earlier demo with the same process id holds nothing worth keeping.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What `koogate serve` does with an empty configuration, except that the order queries go to
/// the simulator's open API instead of the embedded sandbox, so the simulator's orders exist.
async fn start(dir: &Path) -> anyhow::Result<Running> {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    let (generated, _) = GeneratedSecrets::load_or_create(dir)?;
    generated.fill(&mut config);
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("binding the gateway")?;
    let addr = listener.local_addr()?;
    let key = config
        .access_key
        .as_ref()
        .context("no access key was generated")?;
    let target = Target {
        url: format!("http://{addr}{}", config.produce_path),
        key: AccessKey::new(key.expose()),
    };
    let sim = Sim::start(SimConfig::new(target))
        .await
        .context("starting the simulator")?;
    config.openapi_url = Some(sim.openapi_url());
    config.ak = Some(sim.ak().to_owned());
    config.sk = Some(Secret::new(sim.sk().expose()));
    let options = Options {
        clock: Arc::new(SystemClock),
        metrics: None,
        sandbox: false,
        marketplace: None,
    };
    let app = App::build(&config, options).await?;
    let api_token = config
        .api_token
        .clone()
        .context("no API token was generated")?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        sim,
        gateway_url: format!("http://{addr}"),
        produce_path: config.produce_path,
        api_token,
        stop,
        server,
    })
}

fn banner(running: &Running, dir: &Path) {
    println!("koogate demo: the gateway and a simulated KooGallery, in this one process\n");
    println!(
        "  gateway     {}{}  (the production interface KooGallery calls)",
        running.gateway_url, running.produce_path
    );
    println!(
        "  database    SQLite in {}  (removed when the demo ends)",
        dir.display()
    );
    println!("  provisioner built-in: no vendor hook configured, koogate makes the app info");
    println!(
        "  KooGallery  {}  (simulated: places orders, calls the gateway, answers its order queries)\n",
        running.sim.openapi_url()
    );
}

fn what_next(ok: bool) {
    if ok {
        println!(
            "\nEvery call succeeded: one purchase, from order to release, went through koogate."
        );
    } else {
        println!("\nSome calls failed (marked ✘ above); run with KOOGATE_LOG=info to see why.");
    }
    println!("\nWhat to try next:");
    println!(
        "  koogate serve      run the gateway for real (zero configuration; KooGallery sandbox built in)"
    );
    println!("  koogate sim --target http://127.0.0.1:8080/produce --key <access key>");
    println!(
        "                     play every KooGallery flow against it, with --fault to misbehave"
    );
    println!("  koogate conform --url http://127.0.0.1:8080/produce --key <access key>");
    println!(
        "                     the seller-center debugger's checks, plus idempotency and security"
    );
    println!("  koogate demo --keep-running   this demo, left running to look around");
}

async fn keep_running(running: &Running, dir: &Path) {
    println!("\nStill running (Ctrl-C to stop):");
    println!(
        "  vendor API  {}/api/v1/instances  (bearer token in {})",
        running.gateway_url,
        GeneratedSecrets::path(dir).display()
    );
    println!(
        "  simulator   {}/__sim/exchanges, /__sim/orders, /__sim/messages",
        running.sim.openapi_url()
    );
    let _ = tokio::signal::ctrl_c().await;
}
