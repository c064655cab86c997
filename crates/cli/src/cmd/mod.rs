//! Subcommands. Each returns the process exit code or an error that `main` prints to stderr
//! with exit status 2.

mod bench;
mod conform;
mod crypto;
mod default_config;
mod demo;
mod doctor;
mod input;
mod logging;
mod serve;
mod sign;
mod sim;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// koogate: the Huawei Cloud KooGallery production-interface gateway, simulator and tools.
#[derive(Debug, Parser)]
#[command(name = "koogate", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway: the production interface KooGallery calls (zero configuration: SQLite,
    /// generated keys, embedded KooGallery sandbox).
    Serve(serve::ServeArgs),
    /// Compute a signature exactly as KooGallery (or koogate) puts it on the wire.
    #[command(subcommand)]
    Sign(sign::SignCommand),
    /// Check a signature and say which check failed (exit 0 valid, 1 invalid, 2 usage error).
    #[command(subcommand)]
    Verify(verify::VerifyCommand),
    /// Encrypt or decrypt a credential with KooGallery's AES-CBC scheme (`encryptType` 1 or 2).
    #[command(subcommand)]
    Crypto(crypto::CryptoCommand),
    /// A local KooGallery: serve the open API, play every flow against a production interface
    /// with KooGallery's retry schedule on a simulated clock (exit 0 when every flow ended
    /// fulfilled, 1 otherwise, 2 usage error).
    Sim(sim::SimArgs),
    /// Check a production interface like the seller-center debugger, plus idempotency and
    /// security cases (exit 0 all required cases pass, 1 some failed, 2 usage error).
    Conform(conform::ConformArgs),
    /// Check the configuration `koogate serve` would use, one line per check (exit 0 when nothing
    /// failed, 1 otherwise); never prints secrets and generates none.
    Doctor(doctor::DoctorArgs),
    /// Print every setting with its default and environment variable, as a commented TOML file.
    DefaultConfig(default_config::DefaultConfigArgs),
    /// Start the gateway and a simulated KooGallery together and play a purchase's whole life
    /// through them, printing a timeline (the first thing to run; exit 0 when every call
    /// succeeded).
    Demo(demo::DemoArgs),
    /// Throughput and latency of `koogate serve`, each as a ratio to a ceiling measured in the
    /// same run (exit 0 when every request was answered as expected, 1 otherwise).
    Bench(bench::BenchArgs),
}

/// A failure that is reported on stderr with exit status 2.
pub type CmdResult = Result<ExitCode, CliError>;

#[derive(Debug)]
pub struct CliError(String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl CliError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

pub fn run(cli: Cli) -> CmdResult {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Sign(cmd) => sign::run(cmd),
        Command::Verify(cmd) => verify::run(cmd),
        Command::Crypto(cmd) => crypto::run(cmd),
        Command::Sim(args) => sim::run(args),
        Command::Conform(args) => conform::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::DefaultConfig(args) => default_config::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Bench(args) => bench::run(args),
    }
}

/// Prints a value alone on stdout, newline terminated, for use in scripts.
pub fn print_value(value: &str) -> CmdResult {
    println!("{value}");
    Ok(ExitCode::SUCCESS)
}
