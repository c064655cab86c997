//! `koogate sim`: a local KooGallery. Serves the open API a target queries orders from, plays
//! the chosen flows against the target with correctly signed requests and KooGallery's retry
//! schedule on a simulated clock, prints a timeline, and exits 0 when every flow ended fulfilled
//! (1 otherwise, 2 on usage errors). The simulator itself lives in `koogate_sim`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use koogate_gateway::config::GeneratedSecrets;
use koogate_protocol::AccessKey;
use koogate_sim::faults::{self, Faults};
use koogate_sim::handle::{Sim, SimConfig, SimHandle};
use koogate_sim::openapi::{DEV_AK, DEV_SK, OpenApiConfig};
use koogate_sim::produce_client::CategoryKeys;
use koogate_sim::retry::{CallKind, RetryPolicy};
use koogate_sim::scenario::{
    BusinessErrors, CommonFailure, EngineOptions, Flow, FlowOutcome, FlowReport, SimClock, Target,
    Trigger, common_failure, flows,
};

use super::{CliError, CmdResult, input};

#[derive(Debug, Args)]
pub struct SimArgs {
    /// The production interface URL, as registered in the seller center.
    #[arg(long, required_unless_present = "list")]
    target: Option<String>,
    /// The access key bound to the basic interfaces (`KOOGATE_ACCESS_KEY`); never printed. When
    /// unset, the key `koogate serve` generated in `--data-dir` is used.
    #[arg(long, env = "KOOGATE_ACCESS_KEY", hide_env_values = true)]
    key: Option<String>,
    /// The access key bound to the license-code interfaces (`KOOGATE_LICENSE_ACCESS_KEY`):
    /// signs refreshLicenseCode, updateLicenseCodeStatus and releaseLicenseCode; default --key.
    #[arg(long, env = "KOOGATE_LICENSE_ACCESS_KEY", hide_env_values = true)]
    license_key: Option<String>,
    /// The access key bound to the generic interfaces (`KOOGATE_NOTIFY_ACCESS_KEY`): signs
    /// orderNotify; default --key.
    #[arg(long, env = "KOOGATE_NOTIFY_ACCESS_KEY", hide_env_values = true)]
    notify_key: Option<String>,
    /// Without --key: the data directory of the `koogate serve` under test (`KOOGATE_DATA_DIR`),
    /// whose generated access key (in secrets.toml) is used.
    #[arg(long, env = "KOOGATE_DATA_DIR", default_value = "koogate-data")]
    data_dir: PathBuf,
    /// A flow name (see --list) or `all`; may be repeated.
    #[arg(long, default_value = "all")]
    flow: Vec<String>,
    /// Address of the simulated open API (and of the inspection API under /__sim/).
    #[arg(long, default_value = "127.0.0.1:9090")]
    listen: SocketAddr,
    /// Open-API AK the target signs order queries with (`KOOGATE_SIM_AK`); when unset, the fixed
    /// development AK `KOOGATE-DEV-AK` that `koogate serve --follow-sim` uses.
    #[arg(long, env = "KOOGATE_SIM_AK")]
    openapi_ak: Option<String>,
    /// Open-API SK (`KOOGATE_SIM_SK`); when unset, the development SK
    /// `koogate-dev-sk-not-a-secret` (not a secret: it opens only this simulator).
    #[arg(long, env = "KOOGATE_SIM_SK", hide_env_values = true)]
    openapi_sk: Option<String>,
    /// Write every exchange, message, order and flow report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Per-call timeout in seconds (KooGallery production: 5; the seller-center debugger: 20).
    #[arg(long, default_value_t = 5.0)]
    timeout_secs: f64,
    /// Send `testFlag: "1"` like the debugger (production calls omit it).
    #[arg(long)]
    test_flag: bool,
    /// What an unaccepted resultCode (say 000100) does: retried like a failure, or ends the
    /// schedule at once. The spec does not say.
    #[arg(long, value_enum, default_value_t = BusinessErrorsArg::Retry)]
    business_errors: BusinessErrorsArg,
    /// Call expiry (updateInstanceStatus) and release once, without the 1-hour retry (the
    /// "调用1次" reading of some SaaS-center revisions).
    #[arg(long)]
    expiry_release_once: bool,
    /// Seconds to wait, after getLicenseAsync, for the target to upload the license to the
    /// simulator's market-event API under the request's eventId (license-kit §3.3).
    #[arg(long, default_value_t = 10.0)]
    license_upload_wait_secs: f64,
    /// Do not require that upload (for a target that delivers licenses some other way).
    #[arg(long)]
    no_license_upload_check: bool,
    /// Accept any TLS certificate (local HTTPS targets with self-signed certificates).
    #[arg(long)]
    insecure: bool,
    /// After the flows, keep the simulator (open API, inspection API, manual retrigger) running
    /// until Ctrl-C.
    #[arg(long)]
    keep_serving: bool,
    /// Inject a fault into every step call; repeatable: duplicate, concurrent=N, reorder,
    /// timeout=MS, skew=SECS, replay, tamper-body, tamper-signature. The extra exchanges are
    /// judged by what the target must do (same answer, or a 000001 refusal); exit 1 when one
    /// of those expectations failed.
    #[arg(long = "fault", value_name = "FAULT")]
    faults: Vec<String>,
    /// List the flows and exit.
    #[arg(long)]
    list: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BusinessErrorsArg {
    Retry,
    Stop,
}

pub fn run(args: SimArgs) -> CmdResult {
    let clock = SimClock::starting_now();
    if args.list {
        for flow in flows::all(clock.start()) {
            println!("{:<18} {}", flow.name, flow.summary);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let chosen = choose_flows(&args.flow, &clock)?;
    let config = config(&args, clock)?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::new(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(simulate(&args, config, &chosen))
}

fn choose_flows(names: &[String], clock: &SimClock) -> Result<Vec<Flow>, CliError> {
    if names.iter().any(|n| n == "all") {
        return Ok(flows::all(clock.start()));
    }
    names
        .iter()
        .map(|name| {
            flows::by_name(name, clock.start()).ok_or_else(|| {
                CliError::new(format!(
                    "unknown flow `{name}`; one of: all, {}",
                    flows::NAMES.join(", ")
                ))
            })
        })
        .collect()
}

fn config(args: &SimArgs, clock: SimClock) -> Result<SimConfig, CliError> {
    let url = args.target.clone().unwrap_or_default();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(CliError::new(format!(
            "--target `{url}` must start with http:// or https://"
        )));
    }
    let key = basic_key(args)?;
    let category_keys = CategoryKeys {
        license: args.license_key.as_deref().map(input::key).transpose()?,
        notify: args.notify_key.as_deref().map(input::key).transpose()?,
    };
    let timeout = Duration::try_from_secs_f64(args.timeout_secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| CliError::new("--timeout-secs must be a positive number of seconds"))?;
    let mut policies = HashMap::new();
    if args.expiry_release_once {
        policies.insert(CallKind::Expiry, RetryPolicy::ONCE);
        policies.insert(CallKind::Release, RetryPolicy::ONCE);
    }
    let faults = Faults::parse(&args.faults).map_err(|e| CliError::new(e.to_string()))?;
    if faults.client_timeout.is_some_and(|short| short >= timeout) {
        return Err(CliError::new(
            "--fault timeout=MS must be shorter than --timeout-secs",
        ));
    }
    let options = EngineOptions {
        timeout,
        faults,
        policies,
        test_flag: args.test_flag.then(|| "1".to_owned()),
        business_errors: match args.business_errors {
            BusinessErrorsArg::Retry => BusinessErrors::Retry,
            BusinessErrorsArg::Stop => BusinessErrors::Stop,
        },
        accept_invalid_certs: args.insecure,
        expect_license_upload: !args.no_license_upload_check,
        license_upload_wait: Duration::try_from_secs_f64(args.license_upload_wait_secs)
            .map_err(|_| CliError::new("--license-upload-wait-secs must be a number of seconds"))?,
        category_keys,
        ..EngineOptions::default()
    };
    let mut openapi = OpenApiConfig::default();
    match (&args.openapi_ak, &args.openapi_sk) {
        (Some(ak), Some(sk)) if !ak.is_empty() && !sk.is_empty() => {
            openapi = openapi.keys(ak, AccessKey::new(sk));
        }
        // Fixed rather than random, so a gateway started before (or after) this run can follow
        // it without copying anything: `koogate serve --follow-sim`.
        (None, None) => openapi = openapi.keys(DEV_AK, AccessKey::new(DEV_SK)),
        _ => {
            return Err(CliError::new(
                "--openapi-ak and --openapi-sk go together (both non-empty, or neither)",
            ));
        }
    }
    Ok(SimConfig {
        target: Target { url, key },
        clock,
        options,
        openapi,
    })
}

/// `--key`, or else the access key a zero-configuration `koogate serve` generated in the data
/// directory, so the two pair without the operator copying a random value.
fn basic_key(args: &SimArgs) -> Result<AccessKey, CliError> {
    if let Some(key) = &args.key {
        return input::key(key);
    }
    let dir = &args.data_dir;
    match GeneratedSecrets::load(dir) {
        Ok(Some(secrets)) => {
            println!(
                "using the access key `koogate serve` generated in {}",
                GeneratedSecrets::path(dir).display()
            );
            input::key(&secrets.access_key)
        }
        Ok(None) => Err(CliError::new(format!(
            "no --key (KOOGATE_ACCESS_KEY), and no {} to read a generated one from: pass the \
             target's access key, or run this where `koogate serve` keeps its data (--data-dir)",
            GeneratedSecrets::path(dir).display()
        ))),
        Err(err) => Err(CliError::new(format!("no --key, and {err}"))),
    }
}

async fn simulate(args: &SimArgs, mut config: SimConfig, chosen: &[Flow]) -> CmdResult {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::new(format!("cannot listen on {}: {e}", args.listen)))?;
    config.openapi = config.openapi.listener(listener);
    let target = config.target.url.clone();
    let sim = Sim::start(config)
        .await
        .map_err(|e| CliError::new(format!("cannot start the simulator: {e}")))?;
    print_banner(&sim, &target);
    let mut fulfilled = 0;
    let mut reports = Vec::new();
    for flow in chosen {
        let report = sim.run_flow(flow).await;
        print_timeline(&sim, flow, &report);
        fulfilled += usize::from(report.fulfilled());
        reports.push(report);
    }
    println!("\n{fulfilled} of {} flows fulfilled", chosen.len());
    if let Some(common) = common_failure(chosen, &reports, &sim.exchanges()) {
        print_likely_cause(&sim, &target, &common);
    }
    let held = print_fault_summary(&sim);
    if let Some(path) = &args.json {
        sim.export_json(path)
            .map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))?;
        println!("record written to {}", path.display());
    }
    if args.keep_serving {
        let url = sim.openapi_url();
        println!("simulator still running (Ctrl-C to stop):");
        println!("  GET {url}/__sim/messages, POST {url}/__sim/messages/{{id}}/retrigger");
        let _ = tokio::signal::ctrl_c().await;
    }
    Ok(if fulfilled == chosen.len() && held {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What the target must be configured with. The open-API SK is printed on purpose: it is a
/// throwaway credential of the simulator that the operator has to copy; `--key` never is.
fn print_banner(sim: &SimHandle, target: &str) {
    println!("koogate sim → {target}");
    println!("  open API for the target's order queries (查询订单) and license uploads:");
    println!("    URL {}", sim.openapi_url());
    println!("    AK  {}", sim.ak());
    println!("    SK  {}", sim.sk().expose());
    if sim.ak() == DEV_AK {
        println!("    (fixed development AK/SK: they open this simulator only)");
        println!(
            "  koogate serve in sandbox mode pairs with: koogate serve --follow-sim {}",
            sim.openapi_url()
        );
    } else {
        println!(
            "  koogate serve: KOOGATE_OPENAPI_URL={} KOOGATE_AK={} KOOGATE_SK=<the SK above>",
            sim.openapi_url(),
            sim.ak()
        );
    }
    println!("  retries run on a simulated clock: hours of KooGallery retries take seconds.");
    for line in sim.engine().options().faults.describe() {
        println!("  fault {line}");
    }
}

/// Every flow failed the same way: name the most likely cause and the command that fixes it.
fn print_likely_cause(sim: &SimHandle, target: &str, common: &CommonFailure) {
    let url = sim.openapi_url();
    let (what, cause, fix) = match common {
        CommonFailure::Code(code) if code == "000005" => (
            "000005 (the target could not get the order)",
            "the target looks orders up in another KooGallery open API than this simulator's \
             (a `koogate serve` in sandbox mode asks its own embedded sandbox)"
                .to_owned(),
            format!(
                "restart the gateway following this simulator: koogate serve --follow-sim {url}\n    \
                 (another target: set its open-API URL to {url}, AK {}, SK <the SK above>)",
                sim.ak()
            ),
        ),
        CommonFailure::Code(code) if code == "000001" => (
            "000001 (signature refused)",
            "--key is not the access key the target checks signatures with".to_owned(),
            format!(
                "pass the target's key: koogate sim --target {target} --key <its KOOGATE_ACCESS_KEY>\n    \
                 (for a zero-configuration `koogate serve`, run koogate sim in its directory without --key)"
            ),
        ),
        CommonFailure::Code(code) => (
            code.as_str(),
            "the target refuses every purchase the same way; its log says why".to_owned(),
            "see the first timeline above".to_owned(),
        ),
        CommonFailure::NoAnswer => (
            "no answer",
            format!("nothing answers at {target}"),
            "start the target first, e.g. koogate serve --follow-sim, or check --target".to_owned(),
        ),
    };
    println!("every purchase failed the same way: {what}");
    println!("  most likely: {cause}");
    println!("  fix: {fix}");
}

/// The verdicts of the exchanges faults added; `true` when every expectation held.
fn print_fault_summary(sim: &SimHandle) -> bool {
    let exchanges = sim.exchanges();
    let injected = exchanges.iter().filter(|e| e.fault.is_some()).count();
    if injected == 0 {
        return true;
    }
    let failed = faults::violations(&exchanges);
    println!(
        "{} of {injected} fault exchanges met their expectation",
        injected - failed.len()
    );
    for record in &failed {
        let why = record.verdicts.iter().find(|v| !v.ok);
        println!(
            "  ✘ #{} {} {}: {}",
            record.id,
            record.flow,
            record.fault.map(|f| f.label()).unwrap_or_default(),
            why.map(|v| format!("{} {}", v.name, v.detail.as_deref().unwrap_or_default()))
                .unwrap_or_default()
        );
    }
    failed.is_empty()
}

fn trigger(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::Scheduled => "scheduled",
        Trigger::Poll => "poll",
        Trigger::Manual => "manual",
    }
}

/// One line per exchange: virtual time since the simulator started, step, activity, attempt,
/// verdict; then how the flow ended.
fn print_timeline(sim: &SimHandle, flow: &Flow, report: &FlowReport) {
    println!("\n▶ {} — {}", flow.name, flow.summary);
    let start = sim.clock().start();
    for exchange in sim.exchanges().iter().filter(|e| e.flow == flow.name) {
        let elapsed = (exchange.at - start).num_seconds().max(0);
        let verdict = match exchange.verdicts.iter().find(|v| !v.ok) {
            None => format!(
                "ok {}",
                exchange
                    .response
                    .as_ref()
                    .and_then(|r| r.result_code.as_deref())
                    .unwrap_or_default()
            ),
            Some(check) => format!(
                "FAIL {}: {}",
                check.name,
                check.detail.as_deref().unwrap_or_default()
            ),
        };
        let fault = exchange
            .fault
            .map(|f| format!("[{}] ", f.label()))
            .unwrap_or_default();
        println!(
            "  T+{:>2}:{:02}:{:02}  step {} {:<24} {:<9} #{:<3} {fault}{verdict}",
            elapsed / 3600,
            elapsed / 60 % 60,
            elapsed % 60,
            exchange.step,
            exchange.activity,
            trigger(exchange.trigger),
            exchange.attempt,
        );
    }
    match &report.outcome {
        FlowOutcome::Fulfilled => println!(
            "  ✔ fulfilled{}",
            report
                .instance_id
                .as_deref()
                .map(|id| format!(" (instance {id})"))
                .unwrap_or_default()
        ),
        FlowOutcome::Failed {
            step,
            activity,
            refunded,
        } => {
            let message = report.steps.last().and_then(|s| s.message);
            println!(
                "  ✘ failed at step {step} ({activity}){}{}",
                if *refunded { ": order refunded" } else { "" },
                message
                    .map(|id| format!("; seller-center message #{id}"))
                    .unwrap_or_default()
            );
        }
    }
}
