//! `portcullis approvals`: answer parked calls on a running server, over
//! its admin socket (on the server's host, as its account) or its admin
//! API (anywhere, with an approver key).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::{ApprovalsCommand, CliResult};
use crate::admin::{describe, Request};

/// The environment variable an approver key is read from (never an
/// argument: those show in `ps`).
const KEY_ENV: &str = "PORTCULLIS_APPROVER_KEY";

/// Where the server is reached.
#[derive(Debug, Args)]
pub struct Channel {
    /// The server's admin socket (`admin_socket` in `[server]`).
    #[arg(long, env = "PORTCULLIS_ADMIN_SOCKET")]
    socket: Option<PathBuf>,
    /// The server's HTTP address (`https://host:port`): its admin API, with
    /// the approver key in PORTCULLIS_APPROVER_KEY.
    #[arg(long, env = "PORTCULLIS_ADMIN_URL")]
    url: Option<url::Url>,
    /// A CA certificate (PEM) to trust for --url, beside the system's.
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

pub async fn run(to: &Channel, command: ApprovalsCommand) -> CliResult<ExitCode> {
    let over_http = match (&to.socket, &to.url) {
        (Some(_), None) => false,
        (None, Some(_)) => true,
        (None, None) => return Err("give --socket (the server's admin socket) or --url (its admin API)".into()),
        (Some(_), Some(_)) => {
            return Err("give --socket or --url, not both (check PORTCULLIS_ADMIN_SOCKET and PORTCULLIS_ADMIN_URL)".into())
        }
    };
    let approver = |who: Option<String>| -> Result<String, String> {
        match (who, over_http) {
            (Some(w), false) => Ok(w),
            (None, true) => Ok(String::new()),
            (None, false) => Err("--as PRINCIPAL is needed with --socket: who answers".into()),
            (Some(_), true) => Err(format!(
                "--as does not apply over --url: the approver key in {KEY_ENV} says who answers"
            )),
        }
    };
    let request = match command {
        ApprovalsCommand::List => Request::Approvals,
        ApprovalsCommand::Show { id } => Request::ShowApproval { id },
        ApprovalsCommand::Approve {
            id,
            approver: who,
            reason,
        } => Request::Approve {
            id,
            approver: approver(who)?,
            reason,
        },
        ApprovalsCommand::Deny {
            id,
            approver: who,
            reason,
        } => Request::Deny {
            id,
            approver: approver(who)?,
            reason,
        },
    };
    let answer = match (&to.socket, &to.url) {
        (Some(socket), _) => crate::admin::request(socket, &request).await?,
        (_, Some(url)) => api(url, to.ca_file.as_deref(), &request).await?,
        (None, None) => unreachable!("checked above"),
    };
    match request {
        Request::Approvals => {
            let open = answer["approvals"].as_array().cloned().unwrap_or_default();
            if open.is_empty() {
                outln!("no approval request is open");
            }
            for r in &open {
                outln!("{}", describe(r));
            }
        }
        _ => outln!("{}", describe(&answer["approval"])),
    }
    Ok(ExitCode::SUCCESS)
}

/// Send `request` to the admin API under `base`.
async fn api(
    base: &url::Url,
    ca: Option<&std::path::Path>,
    request: &Request,
) -> Result<Value, String> {
    let loopback = crate::util::is_loopback_host(base.host_str().unwrap_or_default());
    if base.scheme() != "https" && !(base.scheme() == "http" && loopback) {
        return Err(format!(
            "--url {base} must use https: the approver key would cross the network in clear text (plain http only on loopback)"
        ));
    }
    let key = SecretString::from(std::env::var(KEY_ENV).map_err(|_| {
        format!("{KEY_ENV} is not set: --url needs your approver key there ([[http.approver_keys]] on the server)")
    })?);
    let mut client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(ca) = ca {
        let pem = std::fs::read(ca)
            .map_err(|e| format!("cannot read --ca-file {}: {e}", ca.display()))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("--ca-file {}: not PEM certificates: {e}", ca.display()))?
        {
            client = client.add_root_certificate(cert);
        }
    }
    let client = client.build().map_err(|e| format!("HTTP client: {e}"))?;
    let (id, action, body) = match request {
        Request::Approvals => (None, None, None),
        Request::ShowApproval { id } => (Some(id), None, None),
        Request::Approve { id, reason, .. } => (Some(id), Some("approve"), Some(reason)),
        Request::Deny { id, reason, .. } => (Some(id), Some("deny"), Some(reason)),
        _ => {
            return Err(
                "the admin API answers approvals only; break-glass is on the admin socket".into(),
            )
        }
    };
    let mut url = base.clone();
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| format!("--url {base} cannot have a path"))?;
        path.pop_if_empty().extend(["admin", "api", "approvals"]);
        path.extend(id.map(String::as_str));
        path.extend(action);
    }
    let send = match body {
        None => client.get(url.clone()),
        Some(reason) => client.post(url.clone()).json(&json!({"reason": reason})),
    };
    let response = send
        .bearer_auth(key.expose_secret())
        .send()
        .await
        .map_err(|e| format!("cannot reach the admin API at {url}: {e}"))?;
    let status = response.status();
    let v: Value = response
        .json()
        .await
        .map_err(|e| format!("admin API at {url}: HTTP {status}, not an answer: {e}"))?;
    if v["ok"] == true {
        Ok(v)
    } else {
        Err(v["error"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("refused (HTTP {status})")))
    }
}
