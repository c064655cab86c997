//! `koogate crypto encrypt|decrypt`: KooGallery's credential cipher (spec saas-v2 §4).

use clap::{Args, Subcommand, ValueEnum};
use koogate_protocol::crypto::credential::{self, EncryptType, Iv};

use super::{CliError, CmdResult, input, print_value};

#[derive(Debug, Subcommand)]
pub enum CryptoCommand {
    /// Print `IV + Base64(ciphertext)`.
    Encrypt(EncryptArgs),
    /// Print the plaintext of `IV + Base64(ciphertext)`.
    Decrypt(DecryptArgs),
}

/// `encryptType` as on the wire.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum TypeArg {
    /// AES-256-CBC (the default `encryptType`).
    #[value(name = "1")]
    Aes256,
    /// AES-128-CBC.
    #[value(name = "2")]
    Aes128,
}

impl From<TypeArg> for EncryptType {
    fn from(value: TypeArg) -> Self {
        match value {
            TypeArg::Aes256 => Self::Aes256,
            TypeArg::Aes128 => Self::Aes128,
        }
    }
}

#[derive(Debug, Args)]
pub struct EncryptArgs {
    #[arg(long, env = "KOOGATE_ACCESS_KEY", hide_env_values = true)]
    key: String,
    #[arg(long = "type", value_enum, default_value = "1")]
    kind: TypeArg,
    /// 16 ASCII letters or digits; random when omitted.
    #[arg(long)]
    iv: Option<String>,
    text: String,
}

#[derive(Debug, Args)]
pub struct DecryptArgs {
    #[arg(long, env = "KOOGATE_ACCESS_KEY", hide_env_values = true)]
    key: String,
    #[arg(long = "type", value_enum, default_value = "1")]
    kind: TypeArg,
    ciphertext: String,
}

pub fn run(cmd: CryptoCommand) -> CmdResult {
    match cmd {
        CryptoCommand::Encrypt(a) => {
            let iv = match &a.iv {
                Some(text) => Iv::parse(text).map_err(|e| CliError::new(e.to_string()))?,
                None => Iv::random(),
            };
            print_value(&credential::encrypt(
                &input::key(&a.key)?,
                a.kind.into(),
                &iv,
                &a.text,
            ))
        }
        CryptoCommand::Decrypt(a) => {
            let plain = credential::decrypt(&input::key(&a.key)?, a.kind.into(), &a.ciphertext)
                .map_err(|e| CliError::new(e.to_string()))?;
            print_value(&plain)
        }
    }
}
