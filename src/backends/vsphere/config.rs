//! A vCenter endpoint's own keys (a user and password; the ESXi hosts
//! guest-file transfers may name), and mcvsphere's environment variables
//! (`VCENTER_HOST`, `VCENTER_USER`, `VCENTER_PASSWORD`, `VCENTER_INSECURE`),
//! which add an endpoint named `vcenter`.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;
use serde::Deserialize;

use crate::backends::registry::{BackendKind, BackendParts};
use crate::config::{
    env_bool, env_file, host_url, parse_url, require_env, ConfigError, CredentialKeys, Credentials,
    Endpoint, EndpointSettings, Env, SectionInput, DEFAULT_TIMEOUT,
};

/// What a vSphere endpoint keeps besides the common keys.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Other hosts a transfer URL may name (ESXi hosts serving guest file
    /// transfers). Never sent the session; empty by default.
    pub transfer_hosts: Vec<String>,
}

impl EndpointSettings for Settings {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    username: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    /// Present only to refuse it with a clear message.
    password: Option<toml::Value>,
    #[serde(default)]
    transfer_hosts: Vec<String>,
}

pub const KEYS: &[&str] = &[
    "username",
    "password_env",
    "password_file",
    "password",
    "transfer_hosts",
];

pub fn section(input: &SectionInput) -> Result<BackendParts, String> {
    let s: Section = input.parse()?;
    let (user, password) = input.credential(CredentialKeys {
        id: ("username", s.username),
        secret: "password",
        inline: s.password.as_ref(),
        env: s.password_env.as_deref(),
        file: s.password_file.as_deref(),
    })?;
    let transfer_hosts = s
        .transfer_hosts
        .iter()
        .map(|h| match url::Host::parse(h) {
            Ok(_) if !h.contains([':', '/', '@', '*']) || h.starts_with('[') => {
                Ok(h.to_ascii_lowercase())
            }
            _ => Err(format!(
                "transfer_hosts entry {h:?} is not a host name or IP address (no scheme, port or wildcard)"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BackendParts {
        credentials: Credentials::UserPassword { user, password },
        settings: Arc::new(Settings { transfer_hosts }),
    })
}

/// The endpoint described by mcvsphere's environment variables, if set.
pub fn from_env(env: &dyn Env) -> Result<Option<Endpoint>, ConfigError> {
    let Some(host) = env.var("VCENTER_HOST") else {
        return Ok(None);
    };
    require_env(
        env,
        "VCENTER_HOST",
        &["VCENTER_USER", "VCENTER_PASSWORD"],
        "the vCenter user and password",
    )?;
    // mcvsphere says VCENTER_INSECURE, vSphere-MCP-Pro INSECURE and
    // VCENTER_CA_BUNDLE.
    let insecure = env_bool(env, "VCENTER_INSECURE", false)? || env_bool(env, "INSECURE", false)?;
    let ca_pem = env_file(env, "VCENTER_CA_BUNDLE")?;
    let url = host_url(&host, "/sdk");
    Ok(Some(Endpoint {
        name: "vcenter".into(),
        backend: BackendKind::Vsphere,
        url: parse_url("vcenter", &url)?,
        credentials: Credentials::UserPassword {
            user: env.var("VCENTER_USER").unwrap_or_default(),
            password: SecretString::from(env.var("VCENTER_PASSWORD").unwrap_or_default()),
        },
        tls_verify: !insecure,
        ca_pem,
        timeout: DEFAULT_TIMEOUT,
        default: false,
        settings: Arc::new(Settings::default()),
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::testing::{env, BASE};
    use crate::config::Config;

    /// mcvsphere's and vSphere-MCP-Pro's documented forms of VCENTER_HOST,
    /// as users set them, each make the same endpoint.
    #[test]
    fn vcenter_host_is_taken_as_users_write_it() {
        for (host, url) in [
            ("vcenter.example.com", "https://vcenter.example.com/"),
            ("10.20.0.222", "https://10.20.0.222/"),
            (
                "vcenter.prod.example.com:8443",
                "https://vcenter.prod.example.com:8443/",
            ),
            ("https://vc.example.com/sdk", "https://vc.example.com/"),
            ("https://vc.example.com/", "https://vc.example.com/"),
            (" vc.example.com ", "https://vc.example.com/"),
        ] {
            let e = env(&[
                ("VCENTER_HOST", host),
                ("VCENTER_USER", "administrator@vsphere.local"),
                ("VCENTER_PASSWORD", "pw"),
            ]);
            let ep = from_env(&e).unwrap().unwrap_or_else(|| panic!("{host}"));
            assert_eq!(ep.url.as_str(), url, "{host}");
        }
        let insecure = env(&[
            ("VCENTER_HOST", "vc"),
            ("VCENTER_USER", "u"),
            ("VCENTER_PASSWORD", "p"),
            ("VCENTER_INSECURE", "true"),
        ]);
        assert!(!from_env(&insecure).unwrap().unwrap().tls_verify);
        let plain = env(&[
            ("VCENTER_HOST", "http://vc"),
            ("VCENTER_USER", "u"),
            ("VCENTER_PASSWORD", "p"),
        ]);
        assert!(from_env(&plain)
            .unwrap_err()
            .to_string()
            .contains("must use https"));
    }

    #[test]
    fn transfer_hosts_are_host_names_on_vsphere_endpoints_only() {
        let with = |backend: &str, auth: &str, hosts: &str| {
            format!(
                "{BASE}\n[[endpoints]]\nname = \"e\"\nbackend = \"{backend}\"\nurl = \"https://vc.example\"\n{auth}\ntransfer_hosts = {hosts}\n"
            )
        };
        let vs = "username = \"u\"\npassword_env = \"PW\"";
        let e = env(&[("PW", "pw")]);
        let c = Config::parse(
            &with(
                "vsphere",
                vs,
                r#"["ESX1.example", "10.0.0.5", "[fd00::5]"]"#,
            ),
            "t",
            Path::new("."),
            &e,
        )
        .unwrap();
        assert_eq!(
            crate::config::settings::<Settings>(&c.endpoints[0].settings).transfer_hosts,
            ["esx1.example", "10.0.0.5", "[fd00::5]"]
        );
        for bad in [
            r#"["https://esx1"]"#,
            r#"["esx1:443"]"#,
            r#"["*.example"]"#,
            r#"["a/b"]"#,
        ] {
            let err = Config::parse(&with("vsphere", vs, bad), "t", Path::new("."), &e)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("is not a host name or IP address"),
                "{bad}: {err}"
            );
        }
        let pve = "token_id = \"root@pam!t\"\ntoken_secret_env = \"PW\"";
        let err = Config::parse(&with("pve", pve, r#"["esx1"]"#), "t", Path::new("."), &e)
            .unwrap_err()
            .to_string();
        assert!(err.contains("vsphere endpoints only"), "{err}");
    }
}
