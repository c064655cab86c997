//! `koogate verify ...`: run a verifier and name the check that failed.
//!
//! Exit status 0 means the signature is valid, 1 that a check failed (the failed check is printed
//! on stdout), 2 a usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use koogate_protocol::signing::{VerifyError, body_sign, kit, scheme_a};

use super::{CmdResult, input};

#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// A production-interface request (`signature`, `timestamp`, `nonce` query parameters).
    SchemeA(VerifyArgs),
    /// A joint-operation kit request (`x-sign`, `x-timestamp`, `x-nonce` headers).
    Kit(VerifyArgs),
    /// A `Body-Sign` response header.
    BodySign(BodySignArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long, env = "KOOGATE_SIGN_KEY", hide_env_values = true)]
    key: String,
    /// The received signature (hex, any case).
    #[arg(long)]
    signature: String,
    #[arg(long)]
    timestamp: String,
    #[arg(long)]
    nonce: String,
    /// The exact received body (`-` for standard input).
    #[arg(long)]
    body_file: PathBuf,
    /// "Now" in epoch milliseconds for the ±60 s window check (default: this machine's clock).
    #[arg(long)]
    now: Option<i64>,
}

#[derive(Debug, Args)]
pub struct BodySignArgs {
    #[arg(long, env = "KOOGATE_SIGN_KEY", hide_env_values = true)]
    key: String,
    /// The whole `Body-Sign` header value.
    #[arg(long)]
    header: String,
    #[arg(long)]
    body_file: PathBuf,
}

pub fn run(cmd: VerifyCommand) -> CmdResult {
    match cmd {
        VerifyCommand::SchemeA(a) => {
            let body = input::read_body(&a.body_file)?;
            let params = scheme_a::SignatureParams {
                signature: Some(&a.signature),
                timestamp: Some(&a.timestamp),
                nonce: Some(&a.nonce),
            };
            let now = a.now.unwrap_or_else(input::now_ms);
            let outcome = scheme_a::verify(
                &input::key(&a.key)?,
                params,
                &body,
                now,
                &Default::default(),
            );
            report(outcome.map(|m| {
                let form = if m.canonical {
                    "canonical re-serialisation"
                } else {
                    "raw body"
                };
                format!("valid ({form}, inner digest {:?})", m.inner)
            }))
        }
        VerifyCommand::Kit(a) => {
            let body = input::read_body(&a.body_file)?;
            let now = a.now.unwrap_or_else(input::now_ms);
            let key = input::key(&a.key)?;
            let outcome = kit::verify(
                &key,
                Some(&a.signature),
                Some(&a.timestamp),
                Some(&a.nonce),
                &body,
                now,
                &Default::default(),
            );
            report(outcome.map(|variant| format!("valid ({variant:?} payload)")))
        }
        VerifyCommand::BodySign(a) => {
            let body = input::read_body(&a.body_file)?;
            report(
                body_sign::verify(&input::key(&a.key)?, &a.header, &body)
                    .map(|()| "valid".to_owned()),
            )
        }
    }
}

fn report(outcome: Result<String, VerifyError>) -> CmdResult {
    match outcome {
        Ok(message) => {
            println!("{message}");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            println!("invalid: {err}");
            Ok(ExitCode::from(1))
        }
    }
}
