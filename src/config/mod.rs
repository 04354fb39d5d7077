//! Configuration: a TOML file, plus the environment variables each
//! backend's seed MCP server is configured with (read by that backend, see
//! `backends::registry`). Secrets are read from the environment or a file,
//! never written inline, and held in `secrecy` types from the moment they
//! are read.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::backends::registry::{BackendKind, PLUGS};
use crate::catalog::Tier;
use crate::principal::Principal;

mod archive;
pub mod audit;
mod endpoint;
mod http;
mod listing;
mod state;
pub use endpoint::{
    env_bool, env_file, host_url, parse_url, require_env, settings, CredentialKeys, Credentials,
    Endpoint, EndpointSettings, NoSettings, SectionInput, DEFAULT_TIMEOUT,
};
pub use http::{
    ApiKey, ApproverKey, HttpConfig, JwksSource, MetricsAccess, OauthConfig, RateLimit, TlsFiles,
    ADMIN_PREFIX, SUPPORTED_JWT_ALGORITHMS,
};
pub use listing::Listing;
pub use state::StateConfig;

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
    /// Common keys, then the backend's own (see `endpoint`).
    #[serde(default)]
    endpoints: Vec<toml::Table>,
    http: Option<http::HttpSection>,
    #[serde(default)]
    rate_limits: std::collections::BTreeMap<String, http::RateSection>,
    audit: Option<audit::AuditSection>,
    archive: Option<archive::ArchiveSection>,
    state: Option<state::StateSection>,
    listing: Option<listing::ListingSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    /// The stdio principal: stdio has no authentication, so whoever runs
    /// the process is this principal.
    principal: Option<String>,
    policies: PathBuf,
    /// A candidate policy directory decided beside `policies` on every
    /// call, never enforced (shadow mode).
    shadow_policies: Option<PathBuf>,
    audit_log: PathBuf,
    /// The admin socket (`portcullis break-glass` reaches the server there).
    admin_socket: Option<PathBuf>,
    /// The longest break-glass grant ("4h" when not given).
    break_glass_max: Option<String>,
    /// Break-glass grants are made only once approved.
    #[serde(default)]
    break_glass_needs_approval: bool,
    /// How long an approval request stays open ("1h" when not given).
    approval_ttl: Option<String>,
    /// Distinct approvers each approval request needs (1 when not given).
    approvals_required: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalSection {
    id: String,
    #[serde(default)]
    groups: Vec<String>,
}

/// The resolved configuration.
#[derive(Debug)]
pub struct Config {
    pub stdio_principal: Option<String>,
    pub policies: PathBuf,
    /// The candidate policy directory of shadow mode, if any.
    pub shadow_policies: Option<PathBuf>,
    pub audit_log: PathBuf,
    /// Where a server listens for operators (break-glass grants, answers
    /// to approval requests), if anywhere.
    pub admin_socket: Option<PathBuf>,
    /// The longest break-glass grant.
    pub break_glass_max: std::time::Duration,
    /// Break-glass grants are parked as approval requests first.
    pub break_glass_needs_approval: bool,
    /// How long an approval request stays open.
    pub approval_ttl: std::time::Duration,
    /// Distinct approvers each approval request needs.
    pub approvals_required: usize,
    /// How the audit log is keyed and checkpointed.
    pub audit: crate::audit::AuditOptions,
    /// Where sealed audit segments are archived, off the host.
    pub archive: Option<crate::audit::archive::ArchiveConfig>,
    /// SHA-256 of the configuration file's text (none for the lab and the
    /// drop-in environments), recorded with each decision.
    pub digest: Option<String>,
    pub principals: Vec<Principal>,
    pub endpoints: Vec<Endpoint>,
    /// How `serve --transport http` listens and authenticates.
    pub http: Option<HttpConfig>,
    /// Calls per principal and tier; tiers not listed are not limited.
    pub rate_limits: Vec<(Tier, RateLimit)>,
    /// Where replicas share approvals, grants and rate limits (Redis);
    /// none: in this process.
    pub state: Option<StateConfig>,
    /// Which backends' and categories' tools are offered (`[listing]`).
    pub listing: Listing,
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

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

impl Config {
    /// Load `path`, then add the endpoints the seeds' environment variables
    /// describe, if set.
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
            match endpoint::from_section(s, base, env) {
                Ok(e) => endpoints.push(e),
                Err(e) => problems.push(e),
            }
        }
        // The seeds' own variables, as each backend reads them.
        for plug in PLUGS {
            let ep = (plug.from_env)(env);
            let ep = match ep {
                Ok(Some(ep)) => ep,
                Ok(None) => continue,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            if endpoints.iter().any(|e| e.name == ep.name) {
                problems.push(ConfigError::Invalid(format!(
                    "{} is set and the configuration already has an endpoint named {:?}; use one or the other",
                    plug.env_var, ep.name
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
        for kind in BackendKind::ALL {
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
        if file.server.break_glass_needs_approval && http.iter().all(|h| h.approver_keys.is_empty())
        {
            problems.push(ConfigError::Invalid(
                "server.break_glass_needs_approval: a break-glass approval comes only with an approver's own key \
                 (the approvers' page or admin API), so add [[http.approver_keys]]"
                    .into(),
            ));
        }
        for k in http.iter().flat_map(|h| &h.approver_keys) {
            if !principals.iter().any(|p| p.id == k.principal) {
                problems.push(ConfigError::Invalid(format!(
                    "[[http.approver_keys]] names {:?}, who is not listed under [[principals]]: \
                     an approver's groups (what Cedar decides approving on) come from there",
                    k.principal
                )));
            }
        }
        let rate_limits = http::rate_limits(file.rate_limits).unwrap_or_else(|e| {
            problems.push(e);
            Vec::new()
        });
        let audit = audit::audit(file.audit, base, env).unwrap_or_else(|e| {
            problems.push(e);
            Default::default()
        });
        let archive = match file
            .archive
            .map(|a| archive::archive(a, base, env))
            .transpose()
        {
            Ok(a) => a,
            Err(e) => {
                problems.push(e);
                None
            }
        };
        let state = match file.state.map(|s| state::state(s, base, env)) {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                problems.push(e);
                None
            }
            None => None,
        };
        let listing = match file.listing.map(listing::listing) {
            Some(Ok(l)) => l,
            Some(Err(e)) => {
                problems.push(e);
                Listing::default()
            }
            None => Listing::default(),
        };
        let mut duration =
            |key: &str, given: Option<&str>, default, limit: std::time::Duration| match given
                .map(humantime::parse_duration)
            {
                None => default,
                Some(Ok(d)) if d >= std::time::Duration::from_secs(1) && d <= limit => d,
                Some(_) => {
                    problems.push(ConfigError::Invalid(format!(
                        "server.{key} must be a duration from 1s to {}, such as \"30m\" or \"4h\"",
                        humantime::format_duration(limit)
                    )));
                    default
                }
            };
        let break_glass_max = duration(
            "break_glass_max",
            file.server.break_glass_max.as_deref(),
            crate::break_glass::DEFAULT_MAX,
            crate::break_glass::LIMIT,
        );
        let approval_ttl = duration(
            "approval_ttl",
            file.server.approval_ttl.as_deref(),
            crate::approval::DEFAULT_TTL,
            crate::break_glass::LIMIT,
        );
        let approvals_required = match file.server.approvals_required {
            None => 1,
            Some(n @ 1..=10) => n,
            Some(_) => {
                problems.push(ConfigError::Invalid(
                    "server.approvals_required must be from 1 to 10".into(),
                ));
                1
            }
        };
        if let Some(e) = ConfigError::from_all(problems) {
            return Err(e);
        }
        Ok(Config {
            archive,
            digest: Some(crate::util::sha256_hex(text.as_bytes())),
            http,
            audit,
            rate_limits,
            stdio_principal: file.server.principal,
            policies: resolve(base, &file.server.policies),
            shadow_policies: file
                .server
                .shadow_policies
                .as_ref()
                .map(|p| resolve(base, p)),
            audit_log: resolve(base, &file.server.audit_log),
            admin_socket: file.server.admin_socket.as_ref().map(|p| resolve(base, p)),
            break_glass_max,
            break_glass_needs_approval: file.server.break_glass_needs_approval,
            approval_ttl,
            approvals_required,
            principals,
            endpoints,
            state,
            listing,
        })
    }

    pub fn principal(&self, id: &str) -> Option<&Principal> {
        self.principals.iter().find(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests;

/// What configuration tests here and in each backend share.
#[cfg(test)]
pub mod testing {
    use std::collections::HashMap;

    pub struct MapEnv(pub HashMap<&'static str, &'static str>);

    impl super::Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    pub fn env(pairs: &[(&'static str, &'static str)]) -> MapEnv {
        MapEnv(pairs.iter().copied().collect())
    }

    /// A minimal configuration to add endpoints to.
    pub const BASE: &str = r#"
[server]
principal = "alice"
policies = "policies"
audit_log = "audit.jsonl"

[[principals]]
id = "alice"
groups = ["operators"]
"#;
}
