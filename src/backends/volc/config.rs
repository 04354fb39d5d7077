//! A Volcengine endpoint's own keys (an access key pair; the regions calls
//! may name, the first the default), and the Volcengine VPN MCP server's
//! environment variables (`VOLCENGINE_ACCESS_KEY`, `VOLCENGINE_SECRET_KEY`,
//! `VOLCENGINE_REGION`, `VOLCENGINE_ENDPOINT`, default
//! open.volcengineapi.com), which add an endpoint named `volcengine`.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;
use serde::Deserialize;

use crate::backends::registry::{BackendKind, BackendParts};
use crate::catalog::Ty;
use crate::config::{
    parse_url, require_env, ConfigError, CredentialKeys, Credentials, Endpoint, EndpointSettings,
    Env, SectionInput, DEFAULT_TIMEOUT,
};

/// What a Volcengine endpoint keeps besides the common keys.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The regions calls may name, the default first.
    pub regions: Vec<String>,
}

impl EndpointSettings for Settings {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn known_values(&self, param: &str) -> &[String] {
        if param == super::tools::REGION {
            &self.regions
        } else {
            &[]
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    access_key: Option<String>,
    secret_key_env: Option<String>,
    secret_key_file: Option<PathBuf>,
    /// Present only to refuse it with a clear message.
    secret_key: Option<toml::Value>,
    #[serde(default)]
    regions: Vec<String>,
}

pub const KEYS: &[&str] = &[
    "access_key",
    "secret_key_env",
    "secret_key_file",
    "secret_key",
    "regions",
];

/// At least one region, each a region id, no repeats.
pub fn regions(regions: &[String]) -> Result<Vec<String>, String> {
    if regions.is_empty() {
        return Err(
            "a volcengine endpoint needs regions = [\"cn-beijing\", …] (the first is the default)"
                .into(),
        );
    }
    let mut out: Vec<String> = Vec::new();
    for r in regions {
        // The rule a call's region argument is checked against.
        if !Ty::VOLC_REGION.accepts(&serde_json::Value::from(r.as_str())) {
            return Err(format!(
                "region {r:?} is not a region id such as cn-beijing"
            ));
        }
        if out.contains(r) {
            return Err(format!("region {r:?} is listed twice"));
        }
        out.push(r.clone());
    }
    Ok(out)
}

pub fn section(input: &SectionInput) -> Result<BackendParts, String> {
    let s: Section = input.parse()?;
    let (id, secret) = input.credential(CredentialKeys {
        id: ("access_key", s.access_key),
        secret: "secret_key",
        inline: s.secret_key.as_ref(),
        env: s.secret_key_env.as_deref(),
        file: s.secret_key_file.as_deref(),
    })?;
    Ok(BackendParts {
        credentials: Credentials::AccessKey { id, secret },
        settings: Arc::new(Settings {
            regions: regions(&s.regions)?,
        }),
    })
}

/// The endpoint the seed's variables describe, if set.
pub fn from_env(env: &dyn Env) -> Result<Option<Endpoint>, ConfigError> {
    let Some(ak) = env.var("VOLCENGINE_ACCESS_KEY") else {
        return Ok(None);
    };
    require_env(
        env,
        "VOLCENGINE_ACCESS_KEY",
        &["VOLCENGINE_SECRET_KEY", "VOLCENGINE_REGION"],
        "the secret key and the region",
    )?;
    let host = env
        .var("VOLCENGINE_ENDPOINT")
        .unwrap_or_else(|| "open.volcengineapi.com".into());
    let url = if host.contains("://") {
        host
    } else {
        format!("https://{host}")
    };
    let regions = regions(&[env.var("VOLCENGINE_REGION").unwrap_or_default()])
        .map_err(|m| ConfigError::Invalid(format!("VOLCENGINE_REGION: {m}")))?;
    Ok(Some(Endpoint {
        name: "volcengine".into(),
        backend: BackendKind::Volcengine,
        url: parse_url("volcengine", &url)?,
        credentials: Credentials::AccessKey {
            id: ak,
            secret: SecretString::from(env.var("VOLCENGINE_SECRET_KEY").unwrap_or_default()),
        },
        tls_verify: true,
        ca_pem: None,
        timeout: DEFAULT_TIMEOUT,
        default: false,
        settings: Arc::new(Settings { regions }),
    }))
}

/// For decision tests: `regions` from the test file, or two by default.
pub fn test_settings(extra: &toml::Table) -> Result<Arc<dyn EndpointSettings>, String> {
    let listed: Vec<String> = match extra.get("regions") {
        Some(v) => v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| format!("regions: {}", e.message()))?,
        None => vec!["cn-beijing".into(), "cn-shanghai".into()],
    };
    Ok(Arc::new(Settings { regions: listed }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::testing::{env, BASE};
    use crate::config::Config;

    #[test]
    fn volcengine_endpoints_from_the_file_and_the_seeds_variables() {
        let section = |regions: &str| {
            format!(
                "{BASE}\n[[endpoints]]\nname = \"volc\"\nbackend = \"volcengine\"\nurl = \"https://open.volcengineapi.com\"\n\
                 access_key = \"AKLT1\"\nsecret_key_env = \"SK\"\n{regions}\n"
            )
        };
        let e = env(&[("SK", "volc-s3cret")]);
        let c = Config::parse(
            &section("regions = [\"cn-beijing\", \"cn-shanghai\"]"),
            "t",
            Path::new("."),
            &e,
        )
        .unwrap();
        let ep = &c.endpoints[0];
        assert_eq!(
            (
                ep.credentials.id(),
                crate::config::settings::<Settings>(&ep.settings).regions
            ),
            (
                "AKLT1",
                vec!["cn-beijing".to_string(), "cn-shanghai".to_string()]
            )
        );
        assert_eq!(ep.credentials.secret().expose_secret(), "volc-s3cret");
        assert!(!format!("{c:?}").contains("volc-s3cret"));
        for (regions, needle) in [
            ("", "needs regions"),
            ("regions = [\"Beijing\"]", "is not a region id"),
            ("regions = [\"cn-beijing\", \"cn-beijing\"]", "listed twice"),
            (
                "regions = [\"cn-beijing\"]\nsecret_key = \"inline\"",
                "must not be written in the configuration file",
            ),
        ] {
            let err = Config::parse(&section(regions), "t", Path::new("."), &e)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{regions}: {err}");
        }
        // The Volcengine VPN MCP server's variables work as they are.
        let e = env(&[
            ("VOLCENGINE_ACCESS_KEY", "AKLT2"),
            ("VOLCENGINE_SECRET_KEY", "sk2"),
            ("VOLCENGINE_REGION", "cn-shanghai"),
        ]);
        let c = Config::parse(BASE, "t", Path::new("."), &e).unwrap();
        let ep = &c.endpoints[0];
        assert_eq!(ep.name, "volcengine");
        assert_eq!(ep.url.as_str(), "https://open.volcengineapi.com/");
        assert_eq!(
            crate::config::settings::<Settings>(&ep.settings).regions,
            ["cn-shanghai"]
        );
        let e = env(&[
            ("VOLCENGINE_ACCESS_KEY", "AKLT2"),
            ("VOLCENGINE_SECRET_KEY", "sk2"),
        ]);
        let err = Config::parse(BASE, "t", Path::new("."), &e)
            .unwrap_err()
            .to_string();
        assert!(err.contains("VOLCENGINE_REGION"), "{err}");
    }
}
