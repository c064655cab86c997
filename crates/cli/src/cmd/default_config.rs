//! `koogate default-config`: every setting with its default and environment variable, as a
//! commented TOML file ready to edit (or, with `--markdown`, as the README's table).

use std::process::ExitCode;

use clap::Args;
use koogate_gateway::config::template;

use super::CmdResult;

#[derive(Debug, Args)]
pub struct DefaultConfigArgs {
    /// Print the settings as a Markdown table (the one in README.md) instead of TOML.
    #[arg(long)]
    markdown: bool,
}

pub fn run(args: DefaultConfigArgs) -> CmdResult {
    if args.markdown {
        print!("{}", template::markdown_table());
    } else {
        print!("{}", template::DEFAULT_TOML);
    }
    Ok(ExitCode::SUCCESS)
}
