//! The `[http]` and `[rate_limits]` sections: how a shared deployment is
//! reached, who may call it, and how fast.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{resolve, ConfigError};
use crate::catalog::Tier;
use crate::util::is_loopback_host;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HttpSection {
    listen: Option<String>,
    path: Option<String>,
    public_url: Option<String>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    stateless: bool,
    max_body_bytes: Option<usize>,
    header_timeout_seconds: Option<u64>,
    max_connections: Option<usize>,
    max_sessions: Option<usize>,
    max_sessions_per_principal: Option<usize>,
    max_streams_per_principal: Option<usize>,
    tls: Option<TlsSection>,
    #[serde(default)]
    api_keys: Vec<ApiKeySection>,
    oauth: Option<OauthSection>,
    metrics: Option<MetricsSection>,
    #[serde(default)]
    approver_keys: Vec<ApproverKeySection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsSection {
    cert_file: PathBuf,
    key_file: PathBuf,
    client_ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeySection {
    principal: String,
    #[serde(default)]
    groups: Vec<String>,
    sha256: String,
}

/// A key for the approvers' page and API: names a `[[principals]]` id,
/// whose groups Cedar sees when they approve.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproverKeySection {
    principal: String,
    sha256: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OauthSection {
    issuer: String,
    audience: String,
    jwks_uri: Option<String>,
    jwks_file: Option<PathBuf>,
    principal_claim: Option<String>,
    groups_claim: Option<String>,
    algorithms: Option<Vec<String>>,
    leeway_seconds: Option<u64>,
    authorization_servers: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsSection {
    access: Option<String>,
    token_sha256: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RateSection {
    per_minute: u32,
    burst: Option<u32>,
}

/// TLS served directly: certificate and key, reloaded when they change;
/// with `client_ca` set, client certificates signed by it authenticate.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

/// An API key: only its SHA-256 is stored.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub principal: String,
    pub groups: Vec<String>,
    pub sha256: [u8; 32],
}

/// A key that authenticates a person on the approvers' page and admin API
/// (`/admin`), never an agent on MCP: only its SHA-256 is stored.
#[derive(Debug, Clone)]
pub struct ApproverKey {
    /// A `[[principals]]` id (checked when the whole file is loaded).
    pub principal: String,
    pub sha256: [u8; 32],
}

/// Where the issuer's signing keys come from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    Url(url::Url),
    File(PathBuf),
}

/// OAuth 2.1 resource server settings: bearer JWTs from one issuer.
#[derive(Debug, Clone)]
pub struct OauthConfig {
    pub issuer: String,
    pub audience: String,
    pub jwks: JwksSource,
    pub principal_claim: String,
    pub groups_claim: String,
    pub algorithms: Vec<String>,
    pub leeway: Duration,
    pub authorization_servers: Vec<String>,
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsAccess {
    /// Anyone who can reach the port (put it behind a firewall).
    Public,
    /// Any principal that authenticates to the MCP endpoint.
    Authenticated,
    /// A bearer token of its own, stored as SHA-256.
    Token([u8; 32]),
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    pub path: String,
    /// The URL clients use; names this server in the protected-resource
    /// metadata. When not configured, the bound address is used.
    pub public_url: Option<url::Url>,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub stateless: bool,
    pub max_body_bytes: usize,
    pub header_timeout: Duration,
    /// Open connections at most; further clients wait to be accepted. A
    /// few are kept for health and metrics: MCP responses in flight are
    /// refused (503) before they would take the last ones.
    pub max_connections: usize,
    /// MCP sessions open at once, in all and per principal: past either a
    /// new session is refused, never an open one evicted.
    pub max_sessions: usize,
    pub max_sessions_per_principal: usize,
    /// MCP responses in flight (event streams included) per principal.
    pub max_streams_per_principal: usize,
    /// Browsers' `Origin`s on this machine are accepted: the listener is
    /// on loopback and `allowed_origins` is not set.
    pub loopback_origins: bool,
    pub tls: Option<TlsFiles>,
    pub api_keys: Vec<ApiKey>,
    pub oauth: Option<OauthConfig>,
    pub metrics: MetricsAccess,
    /// Keys for `/admin` (the approvers' page and API); none: no `/admin`.
    pub approver_keys: Vec<ApproverKey>,
}

/// A token bucket's size and refill rate for one tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

/// JWT algorithms `[http.oauth] algorithms` may name. Asymmetric only: a
/// shared HMAC secret would let anyone who can verify tokens also mint them.
pub const SUPPORTED_JWT_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_MAX_BODY: usize = 1024 * 1024;

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid(format!("[http] {message}"))
}

fn sha256_hex(what: &str, hex_text: &str) -> Result<[u8; 32], ConfigError> {
    let bytes = hex::decode(hex_text.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            invalid(format!(
                "{what}: sha256 must be 64 hex digits (make one with `portcullis api-key`)"
            ))
        })?;
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes);
    Ok(out)
}

fn oauth(s: OauthSection, base: &Path) -> Result<OauthConfig, ConfigError> {
    let jwks = match (s.jwks_uri, s.jwks_file) {
        (Some(u), None) => {
            let url = url::Url::parse(&u)
                .map_err(|e| invalid(format!("oauth.jwks_uri {u:?} is not a URL: {e}")))?;
            let host = url.host_str().unwrap_or("");
            if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback_host(host)) {
                return Err(invalid(format!(
                    "oauth.jwks_uri {u:?} must use https (plain http only on loopback)"
                )));
            }
            JwksSource::Url(url)
        }
        (None, Some(f)) => JwksSource::File(resolve(base, &f)),
        _ => {
            return Err(invalid(
                "oauth needs exactly one of jwks_uri and jwks_file".into(),
            ))
        }
    };
    let algorithms = s
        .algorithms
        .unwrap_or_else(|| vec!["RS256".into(), "ES256".into()]);
    for a in &algorithms {
        if !SUPPORTED_JWT_ALGORITHMS.contains(&a.as_str()) {
            return Err(invalid(format!(
                "oauth.algorithms: {a:?} is not supported; use {}",
                SUPPORTED_JWT_ALGORITHMS.join(", ")
            )));
        }
    }
    if s.issuer.is_empty() || s.audience.is_empty() {
        return Err(invalid(
            "oauth.issuer and oauth.audience must not be empty".into(),
        ));
    }
    Ok(OauthConfig {
        authorization_servers: s
            .authorization_servers
            .unwrap_or_else(|| vec![s.issuer.clone()]),
        issuer: s.issuer,
        audience: s.audience,
        jwks,
        principal_claim: s.principal_claim.unwrap_or_else(|| "sub".into()),
        groups_claim: s.groups_claim.unwrap_or_else(|| "groups".into()),
        algorithms,
        leeway: Duration::from_secs(s.leeway_seconds.unwrap_or(30).min(300)),
    })
}

pub(super) fn http(s: HttpSection, base: &Path) -> Result<HttpConfig, ConfigError> {
    let listen_text = s.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen: SocketAddr = listen_text.parse().map_err(|e| {
        invalid(format!(
            "listen {listen_text:?} is not an address:port ({e})"
        ))
    })?;
    let path = s.path.unwrap_or_else(|| "/mcp".into());
    if !path.starts_with('/') || path.starts_with("/.well-known") || path.len() > 128 {
        return Err(invalid(format!(
            "path {path:?} must start with '/' and not be under /.well-known"
        )));
    }
    let tls = s.tls.map(|t| TlsFiles {
        cert: resolve(base, &t.cert_file),
        key: resolve(base, &t.key_file),
        client_ca: t.client_ca_file.map(|f| resolve(base, &f)),
    });
    let public_url = s
        .public_url
        .map(|u| {
            url::Url::parse(&u).map_err(|e| invalid(format!("public_url {u:?} is not a URL: {e}")))
        })
        .transpose()?;
    if !listen.ip().is_loopback() && tls.is_none() {
        tracing::warn!(%listen, "HTTP without TLS on a non-loopback address: terminate TLS in front of it");
    }
    let mut allowed_hosts = s.allowed_hosts;
    if allowed_hosts.is_empty() {
        allowed_hosts = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        if let Some(h) = public_url.as_ref().and_then(|u| u.host_str()) {
            allowed_hosts.push(h.trim_matches(['[', ']']).to_string());
        }
    }
    for o in &s.allowed_origins {
        let ok =
            url::Url::parse(o).is_ok_and(|u| u.path() == "/" && !o.ends_with('/')) || o == "null";
        if !ok {
            return Err(invalid(format!(
                "allowed_origins entry {o:?} must be scheme://host[:port], as browsers send it"
            )));
        }
    }
    let mut api_keys: Vec<ApiKey> = Vec::new();
    for (i, k) in s.api_keys.into_iter().enumerate() {
        let what = format!("api key for {:?}", k.principal);
        let key = ApiKey {
            sha256: sha256_hex(&what, &k.sha256)?,
            principal: k.principal,
            groups: k.groups,
        };
        if let Some(j) = api_keys.iter().position(|o| o.sha256 == key.sha256) {
            return Err(invalid(format!(
                "[[http.api_keys]] entries {} (principal {:?}) and {} (principal {:?}) have the same sha256: \
                 one key would authenticate as whichever came first; give each principal its own key",
                j + 1,
                api_keys[j].principal,
                i + 1,
                key.principal
            )));
        }
        api_keys.push(key);
    }
    let approver_keys = approver_keys(s.approver_keys, &api_keys)?;
    if path == ADMIN_PREFIX || path.starts_with(&format!("{ADMIN_PREFIX}/")) {
        return Err(invalid(format!(
            "path {path:?} is under {ADMIN_PREFIX}, where the approvers' page is served; choose another"
        )));
    }
    let oauth = s.oauth.map(|o| oauth(o, base)).transpose()?;
    if api_keys.is_empty() && oauth.is_none() && tls.as_ref().is_none_or(|t| t.client_ca.is_none())
    {
        return Err(invalid(
            "no authentication is configured: add api_keys, oauth, or tls.client_ca_file (mTLS)"
                .into(),
        ));
    }
    let metrics = match s.metrics {
        None => MetricsAccess::Authenticated,
        Some(m) => match (m.access.as_deref().unwrap_or("authenticated"), m.token_sha256) {
            ("public", None) => MetricsAccess::Public,
            ("authenticated", None) => MetricsAccess::Authenticated,
            ("token", Some(h)) => MetricsAccess::Token(sha256_hex("metrics token", &h)?),
            (a, _) => {
                return Err(invalid(format!(
                    "metrics.access {a:?}: use \"public\", \"authenticated\", or \"token\" with token_sha256"
                )))
            }
        },
    };
    let loopback_origins = listen.ip().is_loopback() && s.allowed_origins.is_empty();
    Ok(HttpConfig {
        listen,
        path,
        public_url,
        allowed_hosts,
        allowed_origins: s.allowed_origins,
        stateless: s.stateless,
        max_body_bytes: s.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY),
        header_timeout: Duration::from_secs(s.header_timeout_seconds.unwrap_or(10).max(1)),
        max_connections: s.max_connections.unwrap_or(512).max(1),
        max_sessions: s.max_sessions.unwrap_or(1024).max(1),
        max_sessions_per_principal: s.max_sessions_per_principal.unwrap_or(64).max(1),
        max_streams_per_principal: s.max_streams_per_principal.unwrap_or(64).max(1),
        loopback_origins,
        tls,
        api_keys,
        oauth,
        metrics,
        approver_keys,
    })
}

/// Where the approvers' page and admin API are served.
pub const ADMIN_PREFIX: &str = "/admin";

fn approver_keys(
    keys: Vec<ApproverKeySection>,
    api_keys: &[ApiKey],
) -> Result<Vec<ApproverKey>, ConfigError> {
    let mut out: Vec<ApproverKey> = Vec::new();
    for k in keys {
        let what = format!("approver key for {:?}", k.principal);
        let key = ApproverKey {
            sha256: sha256_hex(&what, &k.sha256)?,
            principal: k.principal,
        };
        // An agent's key must never answer for a person, nor one person's
        // key for another.
        if let Some(a) = api_keys.iter().find(|a| a.sha256 == key.sha256) {
            return Err(invalid(format!(
                "[[http.approver_keys]] for {:?} is also the [[http.api_keys]] key of {:?}: \
                 an approver's key must be their own, never an agent's (make one with `portcullis api-key --approver --for NAME`)",
                key.principal, a.principal
            )));
        }
        if let Some(o) = out.iter().find(|o| o.sha256 == key.sha256) {
            return Err(invalid(format!(
                "[[http.approver_keys]] for {:?} and {:?} have the same sha256: give each approver their own key",
                o.principal, key.principal
            )));
        }
        out.push(key);
    }
    Ok(out)
}

pub(super) fn rate_limits(
    s: std::collections::BTreeMap<String, RateSection>,
) -> Result<Vec<(Tier, RateLimit)>, ConfigError> {
    let mut out = Vec::new();
    for (name, r) in s {
        let tier = Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "[rate_limits] {name:?} is not a tier; use read, operate, change or admin"
                ))
            })?;
        if r.per_minute == 0 {
            return Err(ConfigError::Invalid(format!(
                "[rate_limits] {name}: per_minute must be at least 1 (remove the entry for no limit)"
            )));
        }
        out.push((
            tier,
            RateLimit {
                per_minute: r.per_minute,
                burst: r.burst.unwrap_or(r.per_minute).max(1),
            },
        ));
    }
    Ok(out)
}
