//! The embedded default: a lab Proxmox cluster in process, the default
//! policy bundle compiled in, and three principals to try it with.

use std::path::Path;
use std::time::Duration;

use secrecy::SecretString;

use crate::backends::pve::lab::Lab;
use crate::catalog::BackendKind;
use crate::config::{Config, Credentials, Endpoint, NoSettings};
use crate::policy::PolicySource;
use crate::principal::Principal;

/// The default bundle, as shipped in `policies/default`.
pub const DEFAULT_POLICIES: [(&str, &str); 4] = [
    (
        "00-readers.cedar",
        include_str!("../policies/default/00-readers.cedar"),
    ),
    (
        "10-operators.cedar",
        include_str!("../policies/default/10-operators.cedar"),
    ),
    (
        "20-admins.cedar",
        include_str!("../policies/default/20-admins.cedar"),
    ),
    (
        "90-confirm-destructive.cedar",
        include_str!("../policies/default/90-confirm-destructive.cedar"),
    ),
];

pub fn default_policies() -> Vec<PolicySource> {
    DEFAULT_POLICIES
        .iter()
        .map(|(n, t)| PolicySource {
            name: format!("default/{n}"),
            text: t.to_string(),
        })
        .collect()
}

/// The lab's principals: a reader, an operator and an admin.
pub fn principals() -> Vec<Principal> {
    vec![
        Principal::new("alice", ["readers"]),
        Principal::new("bob", ["operators"]),
        Principal::new("carol", ["admins"]),
    ]
}

/// Start the lab cluster and describe it as a configuration.
pub async fn start(audit_log: &Path, task_seconds: f64) -> Result<(Lab, Config), String> {
    let lab = Lab::start(task_seconds).await?;
    let config = Config {
        stdio_principal: Some("alice".into()),
        policies: "<embedded default bundle>".into(),
        audit_log: audit_log.to_path_buf(),
        principals: principals(),
        endpoints: vec![endpoint(&lab)?],
        http: None,
        rate_limits: Vec::new(),
    };
    Ok((lab, config))
}

/// The lab cluster as endpoint "lab".
pub fn endpoint(lab: &Lab) -> Result<Endpoint, String> {
    Ok(Endpoint {
        name: "lab".into(),
        backend: BackendKind::Pve,
        url: url::Url::parse(&lab.url).map_err(|e| e.to_string())?,
        credentials: Credentials::ApiToken {
            id: lab.token_id.clone(),
            secret: SecretString::from(
                secrecy::ExposeSecret::expose_secret(&lab.token_secret).to_string(),
            ),
        },
        tls_verify: true,
        ca_pem: Some(lab.ca_pem.clone()),
        timeout: Duration::from_secs(10),
        default: true,
        settings: std::sync::Arc::new(NoSettings),
    })
}
