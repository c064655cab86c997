//! `koogate conform`: the seller-center debugger's checks plus idempotency and security cases
//! against any production interface (exit 0 when every required case passes, 1 otherwise, 2 on
//! usage errors). The suite itself lives in `koogate_sim::conform`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use koogate_protocol::AccessKey;
use koogate_sim::conform::{self, ConformConfig, DEFAULT_ORDER_ID};
use koogate_sim::openapi::{self, OpenApiConfig, OpenApiHandle};

use super::{CliError, CmdResult, input};

#[derive(Debug, Args)]
pub struct ConformArgs {
    /// The production interface URL, as registered in the seller center.
    #[arg(long)]
    url: String,
    /// The access key bound to the basic interfaces (`KOOGATE_ACCESS_KEY`); never printed.
    #[arg(long, env = "KOOGATE_ACCESS_KEY", hide_env_values = true)]
    key: String,
    /// Also write the results as JUnit XML to this file.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Per-call time limit in seconds (the debugger's is 20).
    #[arg(long, default_value_t = 20.0)]
    budget_secs: f64,
    /// `orderId` sent with newInstance (a seller-center MOCK order; line `{id}-000001`).
    #[arg(long, default_value = DEFAULT_ORDER_ID)]
    order_id: String,
    /// Address of the open-API sandbox the target must query orders from.
    #[arg(long, default_value = "127.0.0.1:0")]
    sandbox_listen: SocketAddr,
    /// Sandbox AK (`KOOGATE_CONFORM_SANDBOX_AK`); random when unset.
    #[arg(long, env = "KOOGATE_CONFORM_SANDBOX_AK")]
    sandbox_ak: Option<String>,
    /// Sandbox SK (`KOOGATE_CONFORM_SANDBOX_SK`); random when unset.
    #[arg(long, env = "KOOGATE_CONFORM_SANDBOX_SK", hide_env_values = true)]
    sandbox_sk: Option<String>,
    /// How long to poll queryInstance after newInstance answers 000004, in seconds.
    #[arg(long, default_value_t = 60.0)]
    provision_wait_secs: f64,
    /// Also require `appInfo.frontEndUrl` in the newInstance answer (the V2 debugger FAQ says
    /// newInstance must return it; the V2 tables do not list it).
    #[arg(long)]
    require_front_end_url: bool,
    /// Accept any TLS certificate (local HTTPS targets with self-signed certificates).
    #[arg(long)]
    insecure: bool,
    /// No progress bar (it is also hidden when stdout is not a terminal).
    #[arg(long)]
    no_progress: bool,
}

pub fn run(args: ConformArgs) -> CmdResult {
    let config = config(&args)?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::new(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(conform(&args, config))
}

fn config(args: &ConformArgs) -> Result<ConformConfig, CliError> {
    if !(args.url.starts_with("http://") || args.url.starts_with("https://")) {
        return Err(CliError::new(format!(
            "--url `{}` must start with http:// or https://",
            args.url
        )));
    }
    let mut config = ConformConfig::new(&args.url, input::key(&args.key)?);
    config.budget = seconds("--budget-secs", args.budget_secs)?;
    config.provision_wait = seconds("--provision-wait-secs", args.provision_wait_secs)?;
    if args.order_id.trim().is_empty() || args.order_id.len() > 57 {
        // 57 + "-000001" stays within the 64-character limit of orderLineId.
        return Err(CliError::new("--order-id must be 1 to 57 characters"));
    }
    config.order_id = args.order_id.clone();
    config.accept_invalid_certs = args.insecure;
    config.require_front_end_url = args.require_front_end_url;
    config.progress = !args.no_progress && std::io::stdout().is_terminal();
    Ok(config)
}

fn seconds(flag: &str, value: f64) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| CliError::new(format!("{flag} must be a positive number of seconds")))
}

async fn conform(args: &ConformArgs, config: ConformConfig) -> CmdResult {
    let sandbox = start_sandbox(args).await?;
    print_banner(&config, &sandbox);
    let report = conform::run(&config, Some(&sandbox))
        .await
        .map_err(|e| CliError::new(e.to_string()))?;
    print!("{}", report.summary());
    if let Some(path) = &args.junit {
        write(path, &report.junit_xml())?;
    }
    if let Some(path) = &args.json {
        write(path, &report.to_json())?;
    }
    let _ = sandbox.shutdown().await;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn start_sandbox(args: &ConformArgs) -> Result<OpenApiHandle, CliError> {
    let listener = tokio::net::TcpListener::bind(args.sandbox_listen)
        .await
        .map_err(|e| CliError::new(format!("cannot listen on {}: {e}", args.sandbox_listen)))?;
    let mut sandbox = OpenApiConfig::default().listener(listener);
    match (&args.sandbox_ak, &args.sandbox_sk) {
        (Some(ak), Some(sk)) if !ak.is_empty() && !sk.is_empty() => {
            sandbox = sandbox.keys(ak, AccessKey::new(sk));
        }
        (None, None) => {}
        _ => {
            return Err(CliError::new(
                "--sandbox-ak and --sandbox-sk go together (both non-empty, or neither)",
            ));
        }
    }
    openapi::start(sandbox)
        .await
        .map_err(|e| CliError::new(format!("cannot start the open-API sandbox: {e}")))
}

/// What the target must be configured with. The sandbox SK is printed on purpose: it is a
/// throwaway credential the operator has to copy; the production `--key` never is.
fn print_banner(config: &ConformConfig, sandbox: &OpenApiHandle) {
    println!("koogate conform → {}", config.url);
    println!(
        "  budget {} ms per call; newInstance uses order {} / {}",
        config.budget.as_millis(),
        config.order_id,
        config.order_line_id()
    );
    println!("  open-API sandbox for the target's order queries (查询订单):");
    println!("    URL {}", sandbox.base_url);
    println!("    AK  {}", sandbox.ak);
    println!("    SK  {}", sandbox.sk.expose());
    println!(
        "  koogate serve: KOOGATE_OPENAPI_URL={} KOOGATE_AK={} KOOGATE_SK=<the SK above>",
        sandbox.base_url, sandbox.ak
    );
    println!(
        "  Keep them stable between runs with --sandbox-listen, --sandbox-ak and --sandbox-sk. A target"
    );
    println!(
        "  still using the real KooGallery gets the same MOCK orders there; only the optional"
    );
    println!("  newInstance.order-query case tells the difference.\n");
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ConformArgs,
    }

    fn parse(extra: &[&str]) -> Result<ConformConfig, CliError> {
        let mut argv = vec![
            "conform",
            "--url",
            "http://127.0.0.1:1/produce",
            "--key",
            "k",
        ];
        argv.extend_from_slice(extra);
        config(&Wrapper::try_parse_from(argv).unwrap().args)
    }

    #[test]
    fn defaults_follow_the_debugger() {
        let config = parse(&["--no-progress"]).unwrap();
        assert_eq!(config.budget, Duration::from_secs(20));
        assert_eq!(config.order_id, "MOCKPERIODYEARNEW");
        assert_eq!(config.order_line_id(), "MOCKPERIODYEARNEW-000001");
        assert!(!config.progress && !config.accept_invalid_certs);
        let fast = parse(&["--budget-secs", "0.5", "--order-id", "MOCKONETIMENEW"]).unwrap();
        assert_eq!(fast.budget, Duration::from_millis(500));
        assert_eq!(fast.order_line_id(), "MOCKONETIMENEW-000001");
    }

    #[test]
    fn usage_errors_are_refused() {
        assert!(parse(&["--budget-secs", "0"]).is_err());
        assert!(parse(&["--budget-secs", "NaN"]).is_err());
        assert!(parse(&["--provision-wait-secs", "0"]).is_err());
        assert!(parse(&["--order-id", ""]).is_err());
        let ftp = Wrapper::try_parse_from(["conform", "--url", "ftp://x", "--key", "k"]).unwrap();
        assert!(config(&ftp.args).is_err());
        let no_key =
            Wrapper::try_parse_from(["conform", "--url", "http://x", "--key", ""]).unwrap();
        assert!(config(&no_key.args).is_err());
    }
}
