//! `koogate sign ...`: one subcommand per signature scheme, printing only the value.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use koogate_protocol::signing::{apig, body_sign, kit, scheme_a, usage, v1_auth_token, webhook};

use super::{CliError, CmdResult, input, print_value};

#[derive(Debug, Subcommand)]
pub enum SignCommand {
    /// Production-interface request signature (query parameter `signature`): uppercase hex.
    SchemeA(SchemeAArgs),
    /// `Body-Sign` response header: the base64 signature value.
    BodySign(BodySignArgs),
    /// Joint-operation kit `x-sign` of the body's canonical form: uppercase hex.
    Kit(SchemeAArgs),
    /// Retired V1 `authToken`: base64 (parameters are sorted by the tool).
    V1AuthToken(V1Args),
    /// Usage-push (new) body signature header: base64.
    Usage(UsageArgs),
    /// Huawei API Gateway AK/SK signing: the `Authorization` header value.
    Apig(ApigArgs),
    /// Standard Webhooks `webhook-signature` value for koogate's own hooks.
    Webhook(WebhookArgs),
}

#[derive(Debug, Args)]
pub struct SchemeAArgs {
    /// The access key bound to the interface category.
    #[arg(long, env = "KOOGATE_SIGN_KEY", hide_env_values = true)]
    key: String,
    /// Epoch milliseconds, exactly as sent in the query string or header.
    #[arg(long)]
    timestamp: String,
    #[arg(long)]
    nonce: String,
    /// The exact request body (`-` for standard input).
    #[arg(long)]
    body_file: PathBuf,
}

#[derive(Debug, Args)]
pub struct BodySignArgs {
    #[arg(long, env = "KOOGATE_SIGN_KEY", hide_env_values = true)]
    key: String,
    /// The exact response body (`-` for standard input).
    #[arg(long)]
    body_file: PathBuf,
    /// Print the whole header value instead of the bare signature.
    #[arg(long)]
    header: bool,
}

#[derive(Debug, Args)]
pub struct V1Args {
    #[arg(long, env = "KOOGATE_SIGN_KEY", hide_env_values = true)]
    key: String,
    /// The `timeStamp` parameter (yyyyMMddHHmmssSSS); it is both signed and appended to the key.
    #[arg(long)]
    timestamp: String,
    /// The other query parameters, decoded, as `a=1&b=2` (any order).
    #[arg(long, default_value = "")]
    params: String,
    /// One more parameter as `NAME=VALUE` (repeatable); use it for values containing `&`.
    #[arg(long = "param")]
    param: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    #[arg(long, env = "KOOGATE_SIGN_KEY", hide_env_values = true)]
    key: String,
    /// The `ts` header (epoch milliseconds).
    #[arg(long)]
    ts: String,
    #[arg(long)]
    nonce: String,
    /// The exact request body (`-` for standard input).
    #[arg(long)]
    body_file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ApigArgs {
    #[arg(long)]
    ak: String,
    #[arg(long, env = "KOOGATE_SK", hide_env_values = true)]
    sk: String,
    #[arg(long)]
    method: String,
    /// Absolute URL including any query string.
    #[arg(long)]
    url: String,
    /// `X-Sdk-Date` value, `YYYYMMDDTHHMMSSZ`.
    #[arg(long)]
    date: String,
    /// An extra header to sign, `Name: value` (repeatable). `host` and `x-sdk-date` are always signed.
    #[arg(long = "header")]
    headers: Vec<String>,
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// Print the canonical request to stderr as well.
    #[arg(long)]
    verbose: bool,
}

#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// `whsec_<base64>` or any string.
    #[arg(long, env = "KOOGATE_HOOK_SECRET", hide_env_values = true)]
    secret: String,
    /// The `webhook-id` header.
    #[arg(long)]
    id: String,
    /// The `webhook-timestamp` header (epoch seconds).
    #[arg(long)]
    timestamp: i64,
    #[arg(long)]
    body_file: PathBuf,
}

pub fn run(cmd: SignCommand) -> CmdResult {
    match cmd {
        SignCommand::SchemeA(a) => {
            let body = input::read_body(&a.body_file)?;
            print_value(&scheme_a::sign(
                &input::key(&a.key)?,
                &a.timestamp,
                &a.nonce,
                &body,
            ))
        }
        SignCommand::BodySign(a) => {
            let (key, body) = (input::key(&a.key)?, input::read_body(&a.body_file)?);
            if a.header {
                print_value(&body_sign::header_value(&key, &body))
            } else {
                print_value(&body_sign::signature(&key, &body))
            }
        }
        SignCommand::Kit(a) => {
            let body = input::read_body(&a.body_file)?;
            let value = kit::sign(
                &input::key(&a.key)?,
                kit::KitVariant::Canonical,
                &a.timestamp,
                &a.nonce,
                &body,
            )
            .map_err(|e| CliError::new(format!("the body is not a JSON object: {e}")))?;
            print_value(&value)
        }
        SignCommand::V1AuthToken(a) => {
            let mut params = input::params(&a.params)?;
            for one in &a.param {
                params.extend(input::params_one(one)?);
            }
            params.retain(|(name, _)| name != "timeStamp" && name != "authToken");
            params.push(("timeStamp".to_owned(), a.timestamp.clone()));
            print_value(&v1_auth_token::sign(
                &input::key(&a.key)?,
                &a.timestamp,
                &params,
            ))
        }
        SignCommand::Usage(a) => {
            let body = input::read_text_body(&a.body_file)?;
            print_value(&usage::sign(&input::key(&a.key)?, &a.ts, &a.nonce, &body))
        }
        SignCommand::Apig(a) => run_apig(a),
        SignCommand::Webhook(a) => {
            let body = input::read_body(&a.body_file)?;
            let secret = webhook::WebhookSecret::parse(&a.secret);
            print_value(&webhook::sign(&secret, &a.id, a.timestamp, &body))
        }
    }
}

fn run_apig(a: ApigArgs) -> CmdResult {
    let headers = a
        .headers
        .iter()
        .map(|h| input::header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let body = input::read_optional_body(a.body_file.as_ref())?;
    let request = apig::Request {
        method: &a.method,
        url: &a.url,
        headers: &headers,
        body: &body,
    };
    let signed = apig::sign(&a.ak, &input::key(&a.sk)?, &a.date, &request)
        .map_err(|e| CliError::new(e.to_string()))?;
    if a.verbose {
        let mut all = headers.clone();
        all.push(("Host".to_owned(), signed.host.clone()));
        all.push((apig::HEADER_DATE.to_owned(), signed.sdk_date.clone()));
        let canonical =
            apig::canonical_request(&request, &all).map_err(|e| CliError::new(e.to_string()))?;
        eprintln!("{canonical}");
    }
    print_value(&signed.authorization)
}
