//! The `koogate` binary: argument parsing and wiring only. Every behaviour lives in the library
//! crates so tests can reach it without a process.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("koogate: {err:#}");
            ExitCode::from(2)
        }
    }
}
