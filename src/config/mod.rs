//! Configuration: a TOML file, plus the environment variables mcp-pve users
//! already have (`PVE_BASE_URL`, `PVE_TOKEN_ID`, `PVE_TOKEN_SECRET`,
//! `PVE_VERIFY_SSL`). Secrets are read from the environment or a file,
//! never written inline, and held in `secrecy` types from the moment they
//! are read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::catalog::{BackendKind, Tier};
use crate::principal::Principal;

mod http;
pub use http::{
    ApiKey, HttpConfig, JwksSource, MetricsAccess, OauthConfig, RateLimit, TlsFiles,
    SUPPORTED_JWT_ALGORITHMS,
};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    #[error("endpoint {endpoint:?}: {message}")]
    Endpoint { endpoint: String, message: String },
    #[error("{0}")]
    Invalid(String),
    /// Several independent problems, all reported at once so an operator
    /// fixes them in one pass.
    #[error("{} problems:{}", .0.len(), .0.iter().enumerate().map(|(i, e)| format!("\n  {}. {e}", i + 1)).collect::<String>())]
    Many(Vec<ConfigError>),
}

impl ConfigError {
    /// One error, or all of them.
    pub fn from_all(mut problems: Vec<ConfigError>) -> Option<ConfigError> {
        match problems.len() {
            0 => None,
            1 => problems.pop(),
            _ => Some(ConfigError::Many(problems)),
        }
    }

    /// Each single problem.
    pub fn problems(&self) -> Vec<&ConfigError> {
        match self {
            ConfigError::Many(all) => all.iter().flat_map(|e| e.problems()).collect(),
            one => vec![one],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    server: ServerSection,
    #[serde(default)]
    principals: Vec<PrincipalSection>,
    #[serde(default)]
    endpoints: Vec<EndpointSection>,
    http: Option<http::HttpSection>,
    #[serde(default)]
    rate_limits: std::collections::BTreeMap<String, http::RateSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    /// The stdio principal: stdio has no authentication, so whoever runs
    /// the process is this principal.
    principal: Option<String>,
    policies: PathBuf,
    audit_log: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalSection {
    id: String,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointSection {
    name: String,
    backend: String,
    url: String,
    token_id: Option<String>,
    token_secret_env: Option<String>,
    token_secret_file: Option<PathBuf>,
    /// Present only to refuse it with a clear message.
    token_secret: Option<toml::Value>,
    /// vSphere: the vCenter user and where its password is.
    username: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    /// Present only to refuse it with a clear message.
    password: Option<toml::Value>,
    /// Volcengine: the access key id and where its secret key is.
    access_key: Option<String>,
    secret_key_env: Option<String>,
    secret_key_file: Option<PathBuf>,
    /// Present only to refuse it with a clear message.
    secret_key: Option<toml::Value>,
    /// Volcengine: the regions calls may name; the first is the default.
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default = "yes")]
    tls_verify: bool,
    ca_file: Option<PathBuf>,
    timeout_seconds: Option<u64>,
    #[serde(default)]
    default: bool,
    /// vSphere: ESXi hosts that vCenter's file transfer URLs (guest
    /// files) may name, besides the endpoint itself.
    #[serde(default)]
    transfer_hosts: Vec<String>,
}

fn yes() -> bool {
    true
}

/// A configured backend endpoint: the only hosts Portcullis ever contacts.
#[derive(Debug)]
pub struct Endpoint {
    pub name: String,
    pub backend: BackendKind,
    pub url: url::Url,
    pub token_id: String,
    pub token_secret: SecretString,
    pub tls_verify: bool,
    /// Extra trusted root certificate(s), PEM.
    pub ca_pem: Option<Vec<u8>>,
    pub timeout: Duration,
    pub default: bool,
    /// vSphere: other hosts a transfer URL may name (ESXi hosts serving
    /// guest file transfers). Never sent the session; empty by default.
    pub transfer_hosts: Vec<String>,
    /// Volcengine: the regions calls may name, the default first.
    pub regions: Vec<String>,
}

impl Endpoint {
    /// An endpoint that decisions can name but nothing ever contacts (the
    /// `.invalid` TLD never resolves): policy tests, dry runs, benchmarks.
    pub fn placeholder(name: &str, tls_verify: bool, default: bool) -> Endpoint {
        Endpoint {
            name: name.to_string(),
            backend: BackendKind::Pve,
            url: url::Url::parse("https://never-contacted.invalid").expect("static URL"),
            token_id: "placeholder@pve!none".into(),
            token_secret: SecretString::from("unused".to_string()),
            tls_verify,
            ca_pem: None,
            timeout: Duration::from_secs(1),
            default,
            transfer_hosts: Vec::new(),
            regions: Vec::new(),
        }
    }
}

/// The resolved configuration.
#[derive(Debug)]
pub struct Config {
    pub stdio_principal: Option<String>,
    pub policies: PathBuf,
    pub audit_log: PathBuf,
    pub principals: Vec<Principal>,
    pub endpoints: Vec<Endpoint>,
    /// How `serve --transport http` listens and authenticates.
    pub http: Option<HttpConfig>,
    /// Calls per principal and tier; tiers not listed are not limited.
    pub rate_limits: Vec<(Tier, RateLimit)>,
}

/// Environment lookups, injectable so tests do not touch the process env.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn parse_url(endpoint: &str, raw: &str) -> Result<url::Url, ConfigError> {
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

fn read_secret_file(endpoint: &str, path: &Path) -> Result<SecretString, ConfigError> {
    let mut text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.display().to_string(),
        source,
    })?;
    // Trim in place so no second copy of the secret is left behind.
    let len = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(len);
    if text.is_empty() {
        return Err(ConfigError::Endpoint {
            endpoint: endpoint.into(),
            message: format!("token_secret_file {} is empty", path.display()),
        });
    }
    Ok(SecretString::from(text))
}

fn endpoint_from_section(
    s: EndpointSection,
    base: &Path,
    env: &dyn Env,
) -> Result<Endpoint, ConfigError> {
    let err = |message: String| ConfigError::Endpoint {
        endpoint: s.name.clone(),
        message,
    };
    if s.token_secret.is_some() || s.password.is_some() || s.secret_key.is_some() {
        return Err(err(
            "secrets must not be written in the configuration file; use token_secret_env / password_env / secret_key_env or token_secret_file / password_file / secret_key_file".into(),
        ));
    }
    let backend = match s.backend.as_str() {
        "pve" => BackendKind::Pve,
        "vsphere" => BackendKind::Vsphere,
        "volcengine" => BackendKind::Volcengine,
        other => {
            return Err(err(format!(
                "backend {other:?} is not supported; supported: pve, vsphere, volcengine"
            )))
        }
    };
    // PVE authenticates with an API token, vSphere with a user's password.
    let (id, id_name, secret_env, secret_file, secret_names) = match backend {
        BackendKind::Pve => (
            &s.token_id,
            "token_id",
            &s.token_secret_env,
            &s.token_secret_file,
            "token_secret_env and token_secret_file",
        ),
        BackendKind::Vsphere => (
            &s.username,
            "username",
            &s.password_env,
            &s.password_file,
            "password_env and password_file",
        ),
        BackendKind::Volcengine => (
            &s.access_key,
            "access_key",
            &s.secret_key_env,
            &s.secret_key_file,
            "secret_key_env and secret_key_file",
        ),
    };
    let pve_keys =
        s.token_id.is_some() || s.token_secret_env.is_some() || s.token_secret_file.is_some();
    let vsphere_keys =
        s.username.is_some() || s.password_env.is_some() || s.password_file.is_some();
    let volc_keys =
        s.access_key.is_some() || s.secret_key_env.is_some() || s.secret_key_file.is_some();
    let foreign = match backend {
        BackendKind::Pve => vsphere_keys || volc_keys,
        BackendKind::Vsphere => pve_keys || volc_keys,
        BackendKind::Volcengine => pve_keys || vsphere_keys,
    };
    if foreign {
        return Err(err(format!(
            "a {} endpoint takes {id_name} and one of {secret_names}",
            backend.as_str()
        )));
    }
    let token_id = id
        .clone()
        .ok_or_else(|| err(format!("{id_name} is required")))?;
    let token_secret = match (secret_env, secret_file) {
        (Some(var), None) => SecretString::from(
            env.var(var)
                .ok_or_else(|| err(format!("environment variable {var} is not set")))?,
        ),
        (None, Some(file)) => read_secret_file(&s.name, &resolve(base, file))?,
        _ => return Err(err(format!("give exactly one of {secret_names}"))),
    };
    let ca_pem = match &s.ca_file {
        Some(f) => {
            let p = resolve(base, f);
            Some(std::fs::read(&p).map_err(|source| ConfigError::Io {
                path: p.display().to_string(),
                source,
            })?)
        }
        None => None,
    };
    let timeout = s
        .timeout_seconds
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    if timeout.is_zero() || timeout > Duration::from_secs(600) {
        return Err(err("timeout_seconds must be between 1 and 600".into()));
    }
    let regions = volc_regions(backend, &s.regions).map_err(err)?;
    if backend != BackendKind::Vsphere && !s.transfer_hosts.is_empty() {
        return Err(err(
            "transfer_hosts applies to vsphere endpoints only".into()
        ));
    }
    let transfer_hosts = s
        .transfer_hosts
        .iter()
        .map(|h| match url::Host::parse(h) {
            Ok(_) if !h.contains([':', '/', '@', '*']) || h.starts_with('[') => {
                Ok(h.to_ascii_lowercase())
            }
            _ => Err(err(format!(
                "transfer_hosts entry {h:?} is not a host name or IP address (no scheme, port or wildcard)"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Endpoint {
        url: parse_url(&s.name, &s.url)?,
        name: s.name,
        backend,
        token_id,
        token_secret,
        tls_verify: s.tls_verify,
        ca_pem,
        timeout,
        default: s.default,
        transfer_hosts,
        regions,
    })
}

/// The endpoint described by mcp-pve's environment variables, if set.
fn endpoint_from_pve_env(env: &dyn Env) -> Result<Option<Endpoint>, ConfigError> {
    let Some(url) = env.var("PVE_BASE_URL") else {
        return Ok(None);
    };
    let missing: Vec<&str> = ["PVE_TOKEN_ID", "PVE_TOKEN_SECRET"]
        .into_iter()
        .filter(|v| env.var(v).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "PVE_BASE_URL is set but {} {} not: set them to the API token id and secret",
            missing.join(" and "),
            if missing.len() == 1 { "is" } else { "are" }
        )));
    }
    let tls_verify = match env.var("PVE_VERIFY_SSL").as_deref() {
        None | Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(other) => {
            return Err(ConfigError::Invalid(format!(
                "PVE_VERIFY_SSL must be true or false, got {other:?}"
            )))
        }
    };
    Ok(Some(Endpoint {
        name: "pve".into(),
        backend: BackendKind::Pve,
        url: parse_url("pve", &url)?,
        token_id: env.var("PVE_TOKEN_ID").unwrap_or_default(),
        token_secret: SecretString::from(env.var("PVE_TOKEN_SECRET").unwrap_or_default()),
        tls_verify,
        ca_pem: None,
        timeout: DEFAULT_TIMEOUT,
        default: false,
        transfer_hosts: Vec::new(),
        regions: Vec::new(),
    }))
}

/// Volcengine endpoints need at least one region, each a region id, no
/// repeats; other backends take none.
fn volc_regions(backend: BackendKind, regions: &[String]) -> Result<Vec<String>, String> {
    if backend != BackendKind::Volcengine {
        return match regions.is_empty() {
            true => Ok(Vec::new()),
            false => Err("regions applies to volcengine endpoints only".into()),
        };
    }
    if regions.is_empty() {
        return Err(
            "a volcengine endpoint needs regions = [\"cn-beijing\", …] (the first is the default)"
                .into(),
        );
    }
    let mut out: Vec<String> = Vec::new();
    for r in regions {
        // The rule a call's region argument is checked against.
        if !crate::catalog::Ty::VOLC_REGION.accepts(&serde_json::Value::from(r.as_str())) {
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

/// The endpoint described by the Volcengine VPN MCP server's variables, if
/// set: `VOLCENGINE_ACCESS_KEY`, `VOLCENGINE_SECRET_KEY`,
/// `VOLCENGINE_REGION`, `VOLCENGINE_ENDPOINT` (default
/// open.volcengineapi.com).
fn endpoint_from_volc_env(env: &dyn Env) -> Result<Option<Endpoint>, ConfigError> {
    let Some(ak) = env.var("VOLCENGINE_ACCESS_KEY") else {
        return Ok(None);
    };
    let missing: Vec<&str> = ["VOLCENGINE_SECRET_KEY", "VOLCENGINE_REGION"]
        .into_iter()
        .filter(|v| env.var(v).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "VOLCENGINE_ACCESS_KEY is set but {} not: set the secret key and the region",
            missing.join(" and ")
        )));
    }
    let host = env
        .var("VOLCENGINE_ENDPOINT")
        .unwrap_or_else(|| "open.volcengineapi.com".into());
    let url = if host.contains("://") {
        host
    } else {
        format!("https://{host}")
    };
    let regions = volc_regions(
        BackendKind::Volcengine,
        &[env.var("VOLCENGINE_REGION").unwrap_or_default()],
    )
    .map_err(|m| ConfigError::Invalid(format!("VOLCENGINE_REGION: {m}")))?;
    Ok(Some(Endpoint {
        name: "volcengine".into(),
        backend: BackendKind::Volcengine,
        url: parse_url("volcengine", &url)?,
        token_id: ak,
        token_secret: SecretString::from(env.var("VOLCENGINE_SECRET_KEY").unwrap_or_default()),
        tls_verify: true,
        ca_pem: None,
        timeout: DEFAULT_TIMEOUT,
        default: false,
        transfer_hosts: Vec::new(),
        regions,
    }))
}

/// The endpoint described by mcvsphere's environment variables, if set:
/// `VCENTER_HOST`, `VCENTER_USER`, `VCENTER_PASSWORD`, `VCENTER_INSECURE`.
fn endpoint_from_vcenter_env(env: &dyn Env) -> Result<Option<Endpoint>, ConfigError> {
    let Some(host) = env.var("VCENTER_HOST") else {
        return Ok(None);
    };
    let missing: Vec<&str> = ["VCENTER_USER", "VCENTER_PASSWORD"]
        .into_iter()
        .filter(|v| env.var(v).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "VCENTER_HOST is set but {} not: set the vCenter user and password",
            missing.join(" and ")
        )));
    }
    let insecure = match env.var("VCENTER_INSECURE").as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(ConfigError::Invalid(format!(
                "VCENTER_INSECURE must be true or false, got {other:?}"
            )))
        }
    };
    let url = if host.contains("://") {
        host
    } else {
        format!("https://{host}/sdk")
    };
    Ok(Some(Endpoint {
        name: "vcenter".into(),
        backend: BackendKind::Vsphere,
        url: parse_url("vcenter", &url)?,
        token_id: env.var("VCENTER_USER").unwrap_or_default(),
        token_secret: SecretString::from(env.var("VCENTER_PASSWORD").unwrap_or_default()),
        tls_verify: !insecure,
        ca_pem: None,
        timeout: DEFAULT_TIMEOUT,
        default: false,
        transfer_hosts: Vec::new(),
        regions: Vec::new(),
    }))
}

impl Config {
    /// Load `path`, then add the endpoint from `PVE_*` variables if set.
    pub fn load(path: &Path, env: &dyn Env) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &path.display().to_string(), base, env)
    }

    /// Parse configuration text; relative paths are taken from `base`.
    pub fn parse(
        text: &str,
        name: &str,
        base: &Path,
        env: &dyn Env,
    ) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: name.to_string(),
            message: e.to_string(),
        })?;
        let mut problems = Vec::new();
        let mut endpoints = Vec::new();
        for s in file.endpoints {
            match endpoint_from_section(s, base, env) {
                Ok(e) => endpoints.push(e),
                Err(e) => problems.push(e),
            }
        }
        let from_env = [
            endpoint_from_pve_env(env),
            endpoint_from_vcenter_env(env),
            endpoint_from_volc_env(env),
        ];
        for ep in from_env {
            let ep = match ep {
                Ok(Some(ep)) => ep,
                Ok(None) => continue,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            if endpoints.iter().any(|e| e.name == ep.name) {
                let var = match ep.backend {
                    BackendKind::Pve => "PVE_BASE_URL",
                    BackendKind::Vsphere => "VCENTER_HOST",
                    BackendKind::Volcengine => "VOLCENGINE_ACCESS_KEY",
                };
                problems.push(ConfigError::Invalid(format!(
                    "{var} is set and the configuration already has an endpoint named {:?}; use one or the other",
                    ep.name
                )));
                continue;
            }
            endpoints.push(ep);
        }
        let mut seen = std::collections::HashSet::new();
        for e in &endpoints {
            if !seen.insert(e.name.as_str()) {
                problems.push(ConfigError::Invalid(format!(
                    "endpoint name {:?} is used twice",
                    e.name
                )));
            }
            let valid = e.name.len() <= 63
                && e.name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && e.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                problems.push(ConfigError::Invalid(format!(
                    "endpoint name {:?} must be letters, digits, '_' or '-', starting with a letter or digit (at most 63)",
                    e.name
                )));
            }
        }
        for kind in crate::catalog::BackendKind::ALL {
            let defaults = endpoints
                .iter()
                .filter(|e| e.backend == kind && e.default)
                .count();
            if defaults > 1 {
                problems.push(ConfigError::Invalid(format!(
                    "more than one default endpoint for backend {}",
                    kind.as_str()
                )));
            }
        }
        let principals: Vec<Principal> = file
            .principals
            .into_iter()
            .map(|p| Principal::new(p.id, p.groups))
            .collect();
        for (i, p) in principals.iter().enumerate() {
            if let Some(j) = principals[..i].iter().position(|q| q.id == p.id) {
                problems.push(ConfigError::Invalid(format!(
                    "[[principals]] entries {} and {} both have id {:?}: each principal is declared once (merge their groups)",
                    j + 1,
                    i + 1,
                    p.id
                )));
            }
        }
        if let Some(p) = &file.server.principal {
            if !principals.iter().any(|q| &q.id == p) {
                problems.push(ConfigError::Invalid(format!(
                    "server.principal {p:?} is not listed under [[principals]]"
                )));
            }
        }
        let http = match file.http.map(|h| http::http(h, base)).transpose() {
            Ok(h) => h,
            Err(e) => {
                problems.push(e);
                None
            }
        };
        let rate_limits = http::rate_limits(file.rate_limits).unwrap_or_else(|e| {
            problems.push(e);
            Vec::new()
        });
        if let Some(e) = ConfigError::from_all(problems) {
            return Err(e);
        }
        Ok(Config {
            http,
            rate_limits,
            stdio_principal: file.server.principal,
            policies: resolve(base, &file.server.policies),
            audit_log: resolve(base, &file.server.audit_log),
            principals,
            endpoints,
        })
    }

    pub fn principal(&self, id: &str) -> Option<&Principal> {
        self.principals.iter().find(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests;
