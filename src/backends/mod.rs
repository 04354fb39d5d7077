//! Backend clients. A backend knows its API and nothing about Cedar,
//! principals or audit: the gate has decided before a backend is called.

pub mod http;
pub mod path;
pub mod pve;
pub mod registry;
pub mod sim;
pub mod vergeos;
pub mod volc;
pub mod vsphere;

pub use registry::BackendKind;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::catalog::{ToolDef, ValidArgs};
use crate::config::{Endpoint, EndpointSettings};

/// An object and where it sits, as a backend describes it for the gate to
/// turn into policy entities: `parents` name other entries by (kind, id);
/// a place without parents sits directly under the endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub kind: &'static str,
    pub id: String,
    pub attrs: Vec<(&'static str, Value)>,
    pub parents: Vec<(&'static str, String)>,
}

/// A boxed future, so backends can be called through one trait object.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// One endpoint's connection: what the gate asks of any backend.
pub trait Client: Send + Sync {
    /// Run a tool. The caller has authorized and audited.
    fn execute<'a>(
        &'a self,
        tool: &'a ToolDef,
        args: &'a ValidArgs,
        endpoint: &'a EndpointInfo,
        progress: Option<&'a ProgressSink>,
    ) -> BoxFuture<'a, Result<Value, BackendError>>;

    /// Where a call's target lives, when only the backend can say (read
    /// only). `Ok(None)`: the arguments say it all. `with_tags`: also read
    /// what policies may test beyond the place (a VM's tags).
    fn locate<'a>(
        &'a self,
        _tool: &'a ToolDef,
        _args: &'a ValidArgs,
        _with_tags: bool,
    ) -> BoxFuture<'a, Result<Option<Vec<Located>>, BackendError>> {
        Box::pin(async { Ok(None) })
    }

    /// End sessions, best effort.
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// A progress report from a long-running backend operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub progress: f64,
    pub total: Option<f64>,
    pub message: String,
}

pub type ProgressSink = tokio::sync::mpsc::UnboundedSender<Progress>;

/// A backend failure, worded so the agent (and the operator reading the
/// audit log) knows what to do next. No variant carries credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    #[error("endpoint {endpoint:?} did not answer within {}s; the action may or may not have taken effect: check the object's state before retrying", after.as_secs())]
    Timeout { endpoint: String, after: Duration },
    #[error("endpoint {endpoint:?} could not be reached ({detail}); check that it is up and reachable from Portcullis")]
    Unreachable { endpoint: String, detail: String },
    #[error("endpoint {endpoint:?} answered with a redirect (HTTP {status}); redirects are never followed, so check the endpoint URL in the configuration")]
    Redirect { endpoint: String, status: u16 },
    #[error("endpoint {endpoint:?} rejected Portcullis's credentials (HTTP {status}); an operator must check the API token id and secret")]
    Auth { endpoint: String, status: u16 },
    #[error(
        "endpoint {endpoint:?} refused the action for lack of privileges (HTTP 403): {message}"
    )]
    Forbidden { endpoint: String, message: String },
    #[error("endpoint {endpoint:?} rejected the request (HTTP {status}): {message}")]
    Rejected {
        endpoint: String,
        status: u16,
        message: String,
    },
    #[error("endpoint {endpoint:?} failed (HTTP {status}): {message}; retrying later may help")]
    Server {
        endpoint: String,
        status: u16,
        message: String,
    },
    #[error("endpoint {endpoint:?} answered with something that is not its API's JSON ({detail})")]
    Garbage { endpoint: String, detail: String },
    #[error("endpoint {endpoint:?} sent more than {limit} bytes; the answer was discarded")]
    TooLarge { endpoint: String, limit: usize },
    #[error("task {upid} on endpoint {endpoint:?} failed: {exitstatus}{}", if log_tail.is_empty() { String::new() } else { format!("; last log lines: {}", log_tail.join(" | ")) })]
    TaskFailed {
        endpoint: String,
        upid: String,
        exitstatus: String,
        log_tail: Vec<String>,
    },
    #[error("the connection to endpoint {endpoint:?} failed ({detail}); the action may or may not have taken effect")]
    Transport { endpoint: String, detail: String },
    #[error("endpoint {endpoint:?} is misconfigured: {detail}")]
    Setup { endpoint: String, detail: String },
    #[error("endpoint {endpoint:?} refused the operation: {fault}: {message}")]
    Fault {
        endpoint: String,
        fault: String,
        message: String,
    },
    #[error("endpoint {endpoint:?} refused the user name or password in the configuration; an operator must check them")]
    LoginFailed { endpoint: String },
    #[error("endpoint {endpoint:?} handed out a transfer URL on host {host:?}, which is not a configured endpoint; Portcullis contacts configured endpoints only, so this transfer was not made")]
    OffEndpoint { endpoint: String, host: String },
    #[error("endpoint {endpoint:?} has no {what}; list what exists with the matching list tool")]
    NotFound { endpoint: String, what: String },
    /// The object is not in a state the action needs; what was and was
    /// not sent is in the message.
    #[error("endpoint {endpoint:?}: {message}")]
    State { endpoint: String, message: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl BackendError {
    /// A short machine-readable kind for audit records.
    pub fn kind(&self) -> &'static str {
        match self {
            BackendError::Timeout { .. } => "timeout",
            BackendError::Unreachable { .. } => "unreachable",
            BackendError::Redirect { .. } => "redirect",
            BackendError::Auth { .. } => "auth",
            BackendError::Forbidden { .. } => "forbidden",
            BackendError::Rejected { .. } => "rejected",
            BackendError::Server { .. } => "server_error",
            BackendError::Garbage { .. } => "garbage",
            BackendError::TooLarge { .. } => "too_large",
            BackendError::TaskFailed { .. } => "task_failed",
            BackendError::Transport { .. } => "transport",
            BackendError::Setup { .. } => "setup",
            BackendError::Fault { .. } => "fault",
            BackendError::LoginFailed { .. } => "auth",
            BackendError::NotFound { .. } => "not_found",
            BackendError::State { .. } => "state",
            BackendError::OffEndpoint { .. } => "off_endpoint",
            BackendError::Internal(_) => "internal",
        }
    }
}

impl BackendError {
    /// The same error with `f` applied to every text that came from a
    /// backend or its connection (not the endpoint's name).
    pub fn map_text(self, f: impl Fn(String) -> String) -> BackendError {
        use BackendError as E;
        match self {
            E::Unreachable { endpoint, detail } => E::Unreachable {
                endpoint,
                detail: f(detail),
            },
            E::Forbidden { endpoint, message } => E::Forbidden {
                endpoint,
                message: f(message),
            },
            E::Rejected {
                endpoint,
                status,
                message,
            } => E::Rejected {
                endpoint,
                status,
                message: f(message),
            },
            E::Server {
                endpoint,
                status,
                message,
            } => E::Server {
                endpoint,
                status,
                message: f(message),
            },
            E::Garbage { endpoint, detail } => E::Garbage {
                endpoint,
                detail: f(detail),
            },
            E::TaskFailed {
                endpoint,
                upid,
                exitstatus,
                log_tail,
            } => E::TaskFailed {
                endpoint,
                upid: f(upid),
                exitstatus: f(exitstatus),
                log_tail: log_tail.into_iter().map(&f).collect(),
            },
            E::Transport { endpoint, detail } => E::Transport {
                endpoint,
                detail: f(detail),
            },
            E::Setup { endpoint, detail } => E::Setup {
                endpoint,
                detail: f(detail),
            },
            E::Fault {
                endpoint,
                fault,
                message,
            } => E::Fault {
                endpoint,
                fault: f(fault),
                message: f(message),
            },
            E::OffEndpoint { endpoint, host } => E::OffEndpoint {
                endpoint,
                host: f(host),
            },
            E::NotFound { endpoint, what } => E::NotFound {
                endpoint,
                what: f(what),
            },
            E::State { endpoint, message } => E::State {
                endpoint,
                message: f(message),
            },
            E::Internal(m) => E::Internal(f(m)),
            e @ (E::Timeout { .. }
            | E::Redirect { .. }
            | E::Auth { .. }
            | E::TooLarge { .. }
            | E::LoginFailed { .. }) => e,
        }
    }
}

/// Every string in a backend's answer with the credential replaced: a
/// misbehaving backend that echoes it in a successful answer must not hand
/// it to the agent (or the audit log).
pub(crate) fn scrub_value(secret: &secrecy::SecretString, v: &mut Value) {
    match v {
        Value::String(s) => *s = scrub(secret, std::mem::take(s)),
        Value::Array(items) => items.iter_mut().for_each(|i| scrub_value(secret, i)),
        Value::Object(map) => {
            let needs_key_scrub = map.keys().any(|k| scrub(secret, k.clone()) != *k);
            if needs_key_scrub {
                let old = std::mem::take(map);
                for (k, mut val) in old {
                    scrub_value(secret, &mut val);
                    map.insert(scrub(secret, k), val);
                }
            } else {
                map.values_mut().for_each(|i| scrub_value(secret, i));
            }
        }
        _ => {}
    }
}

/// Classify a reqwest error without echoing its URL or source chain
/// verbatim (they are ours, but the wording is for an agent).
pub(crate) fn transport_error(
    endpoint: &str,
    timeout: Duration,
    e: reqwest::Error,
) -> BackendError {
    let endpoint = endpoint.to_string();
    if e.is_timeout() {
        return BackendError::Timeout {
            endpoint,
            after: timeout,
        };
    }
    // The agent is told the endpoint's name; the internal URL (and any
    // query string it carried) stays out of the message.
    let is_connect = e.is_connect();
    let e = e.without_url();
    let mut detail = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        detail = format!("{detail}: {s}");
        src = s.source();
    }
    if is_connect {
        BackendError::Unreachable { endpoint, detail }
    } else {
        BackendError::Transport { endpoint, detail }
    }
}

/// A non-success HTTP status as an error the agent can act on; every HTTP
/// backend answers the same status the same way.
pub(crate) fn status_error(endpoint: String, status: u16, message: String) -> BackendError {
    match status {
        300..=399 => BackendError::Redirect { endpoint, status },
        401 => BackendError::Auth { endpoint, status },
        403 => BackendError::Forbidden { endpoint, message },
        400..=499 => BackendError::Rejected {
            endpoint,
            status,
            message,
        },
        _ => BackendError::Server {
            endpoint,
            status,
            message,
        },
    }
}

/// Longest error text taken from a backend answer.
const MAX_MESSAGE: usize = 600;

/// Backend text clipped to a length an agent and an audit record can hold.
pub(crate) fn shorten(mut s: String) -> String {
    if s.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Remove a credential from text that came back from a backend, in case a
/// misbehaving server echoes it.
pub(crate) fn scrub(secret: &secrecy::SecretString, s: String) -> String {
    let secret = secrecy::ExposeSecret::expose_secret(secret);
    if secret.len() >= 4 && s.contains(secret) {
        s.replace(secret, "[redacted]")
    } else {
        s
    }
}

/// The configured endpoints and their clients: the only hosts ever
/// contacted.
pub struct Backends {
    clients: BTreeMap<String, (EndpointInfo, Box<dyn Client>)>,
    /// Each endpoint's configured credential, to scrub from its answers.
    credentials: BTreeMap<String, secrecy::SecretString>,
}

/// What the gate may know about an endpoint (no credentials).
#[derive(Debug, Clone)]
pub struct EndpointInfo {
    pub name: String,
    pub backend: BackendKind,
    pub host: String,
    pub tls_verify: bool,
    pub default: bool,
    /// The backend's own settings (regions, transfer hosts …).
    pub settings: std::sync::Arc<dyn EndpointSettings>,
}

/// Endpoints' names, as errors list them.
fn names<'a>(endpoints: impl Iterator<Item = &'a EndpointInfo>) -> String {
    endpoints
        .map(|e| e.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Backends {
    pub fn new(endpoints: &[Endpoint]) -> Result<Backends, BackendError> {
        let mut clients = BTreeMap::new();
        let mut credentials = BTreeMap::new();
        for ep in endpoints {
            credentials.insert(ep.name.clone(), ep.credentials.secret().clone());
            let info = EndpointInfo {
                name: ep.name.clone(),
                backend: ep.backend,
                host: format!(
                    "{}:{}",
                    ep.url.host_str().unwrap_or(""),
                    ep.url.port_or_known_default().unwrap_or(443)
                ),
                tls_verify: ep.tls_verify,
                default: ep.default,
                settings: ep.settings.clone(),
            };
            let client = (ep.backend.plug().connect)(ep)?;
            clients.insert(ep.name.clone(), (info, client));
        }
        Ok(Backends {
            clients,
            credentials,
        })
    }

    pub fn endpoints(&self) -> impl Iterator<Item = &EndpointInfo> {
        self.clients.values().map(|(i, _)| i)
    }

    /// The endpoint a call goes to: the one named, or the backend's
    /// default (the one marked default, or the only one).
    pub fn pick(&self, backend: BackendKind, named: Option<&str>) -> Result<&EndpointInfo, String> {
        let of_kind: Vec<&EndpointInfo> =
            self.endpoints().filter(|e| e.backend == backend).collect();
        let names = || names(of_kind.iter().copied());
        match named {
            Some(n) => of_kind.iter().copied().find(|e| e.name == n).ok_or_else(|| {
                format!("endpoint {n:?} is not a configured {} endpoint; configured: {}", backend.as_str(), names())
            }),
            None => match of_kind.as_slice() {
                [] => Err(format!("no {} endpoint is configured", backend.as_str())),
                [only] => Ok(only),
                many => many.iter().copied().find(|e| e.default).ok_or_else(|| {
                    format!("several {} endpoints are configured ({}); name one with the `endpoint` argument", backend.as_str(), names())
                }),
            },
        }
    }

    /// The endpoint of `backend` whose URL has host `host` (vSphere-MCP-Pro
    /// names its vCenter by host name): compared without case, with or
    /// without the port. Only configured endpoints can be named this way.
    pub fn pick_by_host(&self, backend: BackendKind, host: &str) -> Result<&EndpointInfo, String> {
        let of_kind = || self.endpoints().filter(|e| e.backend == backend);
        fn bare(host: &str) -> &str {
            host.rsplit_once(':').map_or(host, |(h, _)| h)
        }
        let matching: Vec<&EndpointInfo> = of_kind()
            .filter(|e| {
                e.host.eq_ignore_ascii_case(host) || bare(&e.host).eq_ignore_ascii_case(host)
            })
            .collect();
        match matching.as_slice() {
            [one] => Ok(one),
            // Endpoint names only, as `pick` says: this is answered before
            // authorization, so it must not tell where the endpoints are.
            [] => Err(format!(
                "host {host:?} is no configured {} endpoint's; the configured endpoints are {} (to reach another, add it as an endpoint in the configuration)",
                backend.as_str(),
                names(of_kind())
            )),
            many => Err(format!(
                "several {} endpoints have host {host:?} ({}); name one with the `endpoint` argument",
                backend.as_str(),
                names(many.iter().copied())
            )),
        }
    }

    /// Run a tool on an endpoint. The caller has authorized and audited.
    pub async fn execute(
        &self,
        endpoint: &str,
        tool: &ToolDef,
        args: &ValidArgs,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let result = self
            .execute_unscrubbed(endpoint, tool, args, progress)
            .await;
        let Some(secret) = self.credentials.get(endpoint) else {
            return result;
        };
        match result {
            Ok(mut v) => {
                scrub_value(secret, &mut v);
                Ok(v)
            }
            Err(e) => Err(e.map_text(|t| scrub(secret, t))),
        }
    }

    async fn execute_unscrubbed(
        &self,
        endpoint: &str,
        tool: &ToolDef,
        args: &ValidArgs,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let (info, client) = self
            .clients
            .get(endpoint)
            .ok_or_else(|| BackendError::Internal(format!("endpoint {endpoint:?} vanished")))?;
        client.execute(tool, args, info, progress).await
    }

    /// Where a call's target lives, for backends whose objects are found by
    /// asking the backend. `Ok(None)`: the arguments say it all.
    /// `with_tags`: also read a VM's tags (when a policy reads them).
    pub async fn locate(
        &self,
        endpoint: &str,
        tool: &ToolDef,
        args: &ValidArgs,
        with_tags: bool,
    ) -> Result<Option<Vec<Located>>, BackendError> {
        let (_, client) = self
            .clients
            .get(endpoint)
            .ok_or_else(|| BackendError::Internal(format!("endpoint {endpoint:?} vanished")))?;
        let found = client.locate(tool, args, with_tags).await;
        match (found, self.credentials.get(endpoint)) {
            (Err(e), Some(secret)) => Err(e.map_text(|t| scrub(secret, t))),
            (other, _) => other,
        }
    }

    /// End backend sessions, best effort.
    pub async fn shutdown(&self) {
        for (_, c) in self.clients.values() {
            c.shutdown().await;
        }
    }
}
