//! A Proxmox VE endpoint's own keys (an API token), and mcp-pve's
//! environment variables (`PVE_BASE_URL`, `PVE_TOKEN_ID`,
//! `PVE_TOKEN_SECRET`, `PVE_VERIFY_SSL`), which add an endpoint named `pve`.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;
use serde::Deserialize;

use crate::backends::registry::{BackendKind, BackendParts};
use crate::config::{
    env_bool, parse_url, require_env, ConfigError, CredentialKeys, Credentials, Endpoint, Env,
    NoSettings, SectionInput, DEFAULT_TIMEOUT,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    token_id: Option<String>,
    token_secret_env: Option<String>,
    token_secret_file: Option<PathBuf>,
    /// Present only to refuse it with a clear message.
    token_secret: Option<toml::Value>,
}

pub const KEYS: &[&str] = &[
    "token_id",
    "token_secret_env",
    "token_secret_file",
    "token_secret",
];

pub fn section(input: &SectionInput) -> Result<BackendParts, String> {
    let s: Section = input.parse()?;
    let (id, secret) = input.credential(CredentialKeys {
        id: ("token_id", s.token_id),
        secret: "token_secret",
        inline: s.token_secret.as_ref(),
        env: s.token_secret_env.as_deref(),
        file: s.token_secret_file.as_deref(),
    })?;
    Ok(BackendParts {
        credentials: Credentials::ApiToken { id, secret },
        settings: Arc::new(NoSettings),
    })
}

/// The endpoint described by mcp-pve's environment variables, if set.
pub fn from_env(env: &dyn Env) -> Result<Option<Endpoint>, ConfigError> {
    let Some(url) = env.var("PVE_BASE_URL") else {
        return Ok(None);
    };
    require_env(
        env,
        "PVE_BASE_URL",
        &["PVE_TOKEN_ID", "PVE_TOKEN_SECRET"],
        "them to the API token id and secret",
    )?;
    Ok(Some(Endpoint {
        name: "pve".into(),
        backend: BackendKind::Pve,
        url: parse_url("pve", &url)?,
        credentials: Credentials::ApiToken {
            id: env.var("PVE_TOKEN_ID").unwrap_or_default(),
            secret: SecretString::from(env.var("PVE_TOKEN_SECRET").unwrap_or_default()),
        },
        tls_verify: env_bool(env, "PVE_VERIFY_SSL", true)?,
        ca_pem: None,
        timeout: DEFAULT_TIMEOUT,
        default: false,
        settings: Arc::new(NoSettings),
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use secrecy::ExposeSecret;

    use crate::config::testing::{env, BASE};
    use crate::config::Config;

    #[test]
    fn mcp_pve_environment_adds_an_endpoint() {
        let e = env(&[
            ("PVE_BASE_URL", "https://pve.example:8006/"),
            ("PVE_TOKEN_ID", "root@pam!mcp"),
            ("PVE_TOKEN_SECRET", "s3cret"),
            ("PVE_VERIFY_SSL", "false"),
        ]);
        let c = Config::parse(BASE, "t.toml", Path::new("."), &e).unwrap();
        let ep = &c.endpoints[0];
        assert_eq!(ep.name, "pve");
        assert_eq!(ep.url.as_str(), "https://pve.example:8006/");
        assert!(!ep.tls_verify);
        assert_eq!(ep.credentials.secret().expose_secret(), "s3cret");
        // The secret never shows in Debug output.
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
