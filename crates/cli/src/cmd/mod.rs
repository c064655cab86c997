//! Subcommands. Each returns the process exit code or an error that `main` prints to stderr
//! with exit status 2.

mod crypto;
mod input;
mod logging;
mod serve;
mod sign;
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
    }
}

/// Prints a value alone on stdout, newline terminated, for use in scripts.
pub fn print_value(value: &str) -> CmdResult {
    println!("{value}");
    Ok(ExitCode::SUCCESS)
}
