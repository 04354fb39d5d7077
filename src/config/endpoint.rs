//! `[[endpoints]]`: the keys every endpoint has (name, backend, url, TLS,
//! timeout, default), and the hand-off of the rest of a section to its
//! backend's own strict parser (see `backends::registry`). Credentials are
//! typed by kind, and secrets are read from the environment or a file,
//! never written inline.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{resolve, ConfigError, Env};
use crate::backends::registry::{self, BackendKind};

/// How long a backend request may take unless an endpoint says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// An endpoint's credentials, by kind. The secret is held in `secrecy`
/// from the moment it is read.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// An API token: its id and its secret.
    ApiToken { id: String, secret: SecretString },
    /// A user's name and password.
    UserPassword {
        user: String,
        password: SecretString,
    },
    /// An access key pair: the key id and the secret key.
    AccessKey { id: String, secret: SecretString },
}

impl Credentials {
    /// The non-secret half: token id, user name or access key id.
    pub fn id(&self) -> &str {
        match self {
            Credentials::ApiToken { id, .. } | Credentials::AccessKey { id, .. } => id,
            Credentials::UserPassword { user, .. } => user,
        }
    }

    /// The secret half, to use and to scrub from answers.
    pub fn secret(&self) -> &SecretString {
        match self {
            Credentials::ApiToken { secret, .. } | Credentials::AccessKey { secret, .. } => secret,
            Credentials::UserPassword { password, .. } => password,
        }
    }
}

/// What a backend keeps about an endpoint besides the common keys (hosts
/// it may be redirected to for transfers, regions it may call); read back
/// by that backend with [`settings`].
pub trait EndpointSettings: Any + std::fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;

    /// The values the configuration names for a parameter (a Volcengine
    /// endpoint's regions): `policy matrix` decides a call at each.
    fn known_values(&self, _param: &str) -> &[String] {
        &[]
    }
}

/// A backend with nothing beyond the common keys.
#[derive(Debug, Default)]
pub struct NoSettings;

impl EndpointSettings for NoSettings {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The settings of type `T`, or the type's default when they are another
/// backend's (a placeholder endpoint).
pub fn settings<T: EndpointSettings + Default + Clone>(s: &Arc<dyn EndpointSettings>) -> T {
    s.as_any().downcast_ref::<T>().cloned().unwrap_or_default()
}

/// A configured backend endpoint: the only hosts Portcullis ever contacts.
#[derive(Debug)]
pub struct Endpoint {
    pub name: String,
    pub backend: BackendKind,
    pub url: url::Url,
    pub credentials: Credentials,
    pub tls_verify: bool,
    /// Extra trusted root certificate(s), PEM.
    pub ca_pem: Option<Vec<u8>>,
    pub timeout: Duration,
    pub default: bool,
    pub settings: Arc<dyn EndpointSettings>,
}

impl Endpoint {
    /// An endpoint that decisions can name but nothing ever contacts (the
    /// `.invalid` TLD never resolves): policy tests, dry runs, benchmarks.
    pub fn placeholder(name: &str, tls_verify: bool, default: bool) -> Endpoint {
        Endpoint::placeholder_of(BackendKind::ALL[0], name, tls_verify, default)
    }

    /// [`Endpoint::placeholder`] of a given backend.
    pub fn placeholder_of(
        backend: BackendKind,
        name: &str,
        tls_verify: bool,
        default: bool,
    ) -> Endpoint {
        Endpoint {
            name: name.to_string(),
            backend,
            url: url::Url::parse("https://never-contacted.invalid").expect("static URL"),
            credentials: Credentials::ApiToken {
                id: "placeholder".into(),
                secret: SecretString::from("unused".to_string()),
            },
            tls_verify,
            ca_pem: None,
            timeout: Duration::from_secs(1),
            default,
            settings: Arc::new(NoSettings),
        }
    }
}

fn yes() -> bool {
    true
}

/// The keys every `[[endpoints]]` section has.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonKeys {
    name: String,
    backend: String,
    url: String,
    #[serde(default = "yes")]
    tls_verify: bool,
    ca_file: Option<PathBuf>,
    timeout_seconds: Option<u64>,
    #[serde(default)]
    default: bool,
}

const COMMON_KEYS: [&str; 7] = [
    "name",
    "backend",
    "url",
    "tls_verify",
    "ca_file",
    "timeout_seconds",
    "default",
];

/// The backend's own keys of one section, and what it needs to read them.
pub struct SectionInput<'a> {
    pub endpoint: &'a str,
    pub table: toml::Table,
    pub base: &'a Path,
    pub env: &'a dyn Env,
}

impl SectionInput<'_> {
    /// The keys, as the backend's strict type.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        toml::Value::Table(self.table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_string())
    }

    /// A credential's id and secret, as every backend's keys name them:
    /// `<id>`, and the secret from `<secret>_env` or `<secret>_file`
    /// (exactly one); `<secret>` itself exists only to be refused.
    pub fn credential(&self, keys: CredentialKeys) -> Result<(String, SecretString), String> {
        let secret = keys.secret;
        if keys.inline.is_some() {
            return Err(format!(
                "secrets must not be written in the configuration file; use {secret}_env or {secret}_file"
            ));
        }
        let id = keys
            .id
            .1
            .ok_or_else(|| format!("{} is required", keys.id.0))?;
        let value = match (keys.env, keys.file) {
            (Some(var), None) => self
                .env
                .var(var)
                .map(SecretString::from)
                .ok_or_else(|| format!("environment variable {var} is not set"))?,
            (None, Some(file)) => read_secret_file(&resolve(self.base, file))?,
            _ => {
                return Err(format!(
                    "give exactly one of {secret}_env and {secret}_file"
                ))
            }
        };
        Ok((id, value))
    }
}

/// A section's credential keys and their values (see
/// [`SectionInput::credential`]).
pub struct CredentialKeys<'a> {
    /// The id's key and value (`token_id`, `username`, `access_key`).
    pub id: (&'static str, Option<String>),
    /// The secret's key stem (`token_secret`, `password`, `secret_key`).
    pub secret: &'static str,
    /// `<secret>`: present only to be refused.
    pub inline: Option<&'a toml::Value>,
    /// `<secret>_env`, `<secret>_file`.
    pub env: Option<&'a str>,
    pub file: Option<&'a Path>,
}

/// Parse one `[[endpoints]]` section: the common keys here, the rest by
/// its backend.
pub(super) fn from_section(
    mut table: toml::Table,
    base: &Path,
    env: &dyn Env,
) -> Result<Endpoint, ConfigError> {
    let name = table
        .get("name")
        .and_then(toml::Value::as_str)
        .unwrap_or("?")
        .to_string();
    let err = |message: String| ConfigError::Endpoint {
        endpoint: name.clone(),
        message,
    };
    let mut common = toml::Table::new();
    for key in COMMON_KEYS {
        if let Some(v) = table.remove(key) {
            common.insert(key.to_string(), v);
        }
    }
    let c: CommonKeys = toml::Value::Table(common)
        .try_into()
        .map_err(|e: toml::de::Error| err(e.message().to_string()))?;
    let backend = BackendKind::by_name(&c.backend).ok_or_else(|| {
        err(format!(
            "backend {:?} is not supported; supported: {}",
            c.backend,
            registry::names()
        ))
    })?;
    let plug = backend.plug();
    // A key another backend takes is named as such.
    for key in table.keys() {
        if !plug.section_keys.contains(&key.as_str()) {
            let owners: Vec<&str> = registry::PLUGS
                .iter()
                .filter(|p| p.section_keys.contains(&key.as_str()))
                .map(|p| p.name)
                .collect();
            return Err(err(if owners.is_empty() {
                format!("unknown key {key:?}")
            } else {
                format!("{key} applies to {} endpoints only", owners.join(" and "))
            }));
        }
    }
    let parts = (plug.section)(&SectionInput {
        endpoint: &c.name,
        table,
        base,
        env,
    })
    .map_err(&err)?;
    let ca_pem = match &c.ca_file {
        Some(f) => {
            let p = resolve(base, f);
            Some(std::fs::read(&p).map_err(|source| ConfigError::Io {
                path: p.display().to_string(),
                source,
            })?)
        }
        None => None,
    };
    let timeout = c
        .timeout_seconds
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    if timeout.is_zero() || timeout > Duration::from_secs(600) {
        return Err(err("timeout_seconds must be between 1 and 600".into()));
    }
    Ok(Endpoint {
        url: parse_url(&c.name, &c.url)?,
        name: c.name,
        backend,
        credentials: parts.credentials,
        tls_verify: c.tls_verify,
        ca_pem,
        timeout,
        default: c.default,
        settings: parts.settings,
    })
}

/// An endpoint's URL: https, a host, no credentials, no path.
/// A seed's host variable (`host` or `host:port`, or already a URL) as an
/// https URL with `path`.
/// The endpoint URL (`https://host[:port]`) from a seed's host variable,
/// which users set as a bare host name or IP (`vc.example.com`,
/// `10.0.0.5:8443`) or as a URL, sometimes with the API path on it
/// (`https://vc.example.com/sdk`): that path is Portcullis's to add, so it
/// is dropped here.
pub fn host_url(host: &str, api_path: &str) -> String {
    let host = host.trim();
    let url = if host.contains("://") {
        host.to_string()
    } else {
        format!("https://{host}")
    };
    let url = url.trim_end_matches('/');
    let url = if api_path.is_empty() {
        url
    } else {
        url.strip_suffix(api_path).unwrap_or(url)
    };
    url.trim_end_matches('/').to_string()
}

pub fn parse_url(endpoint: &str, raw: &str) -> Result<url::Url, ConfigError> {
    // Error messages show the URL without any user or password in it: a
    // refused config must not print the secret it was refused for.
    let shown = without_userinfo(raw);
    let err = |message: String| ConfigError::Endpoint {
        endpoint: endpoint.to_string(),
        message,
    };
    let url = url::Url::parse(raw.trim_end_matches('/'))
        .map_err(|e| err(format!("url {shown:?} is not a URL: {e}")))?;
    if url.scheme() != "https" {
        return Err(err(format!(
            "url {shown:?} must use https: credentials are never sent in clear text"
        )));
    }
    if url.host_str().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(err(format!(
            "url {shown:?} must name a host and carry no credentials (put them in the endpoint's credential settings)"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err(err(format!(
            "url {shown:?} must be scheme://host[:port] only; the API path is added by Portcullis"
        )));
    }
    Ok(url)
}

/// `raw` with whatever stands between `scheme://` and the last `@` of the
/// authority replaced, so a `user:password@` is never repeated back.
fn without_userinfo(raw: &str) -> String {
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}[credentials removed]{}", &rest[at..]),
        None => raw.to_string(),
    }
}

pub(super) fn read_secret_file(path: &Path) -> Result<SecretString, String> {
    let mut text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Trim in place so no second copy of the secret is left behind.
    let len = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(len);
    if text.is_empty() {
        return Err(format!("secret file {} is empty", path.display()));
    }
    Ok(SecretString::from(text))
}

/// A seed's boolean environment variable: `true`/`1` or `false`/`0`.
pub fn env_bool(env: &dyn Env, var: &str, default: bool) -> Result<bool, ConfigError> {
    match env.var(var).as_deref() {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(ConfigError::Invalid(format!(
            "{var} must be true or false, got {other:?}"
        ))),
    }
}

/// The contents of the file a seed's variable names (a CA bundle);
/// `None` when the variable is not set.
pub fn env_file(env: &dyn Env, var: &str) -> Result<Option<Vec<u8>>, ConfigError> {
    env.var(var)
        .map(|path| std::fs::read(&path).map_err(|source| ConfigError::Io { path, source }))
        .transpose()
}

/// The seed variables `needed` that are not set, as an error saying that
/// `by` needs them (`what` they are).
pub fn require_env(
    env: &dyn Env,
    by: &str,
    needed: &[&str],
    what: &str,
) -> Result<(), ConfigError> {
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|v| env.var(v).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ConfigError::Invalid(format!(
        "{by} is set but {} {} not: set {what}",
        missing.join(" and "),
        if missing.len() == 1 { "is" } else { "are" }
    )))
}
