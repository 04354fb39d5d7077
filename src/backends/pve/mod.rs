//! Proxmox VE REST client: API-token auth, PVE's `{"data": …}` envelope,
//! PVE's error shapes, and waiting on tasks (UPIDs) with progress.

pub mod config;
pub mod lab;
mod place;
pub mod tools;

use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, AUTHORIZATION};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::catalog::{control, validate, Catalog, ToolDef, ValidArgs};
use crate::config::Endpoint;
use tools::{rest_call, Method};

use super::registry::{self, BackendKind, Plug};
use super::{http, path, shorten, transport_error, BackendError, Progress, ProgressSink};

/// Proxmox VE, as the registry knows it.
pub static PLUG: Plug = Plug {
    kind: BackendKind::Pve,
    name: "pve",
    tool_prefix: "pve_",
    tools: tools::tools,
    entity_types: include_str!("entities.cedarschema"),
    section_keys: config::KEYS,
    section: config::section,
    env_var: "PVE_BASE_URL",
    from_env: config::from_env,
    check_call: registry::any_call,
    place: place::place,
    connect: |ep| Ok(Box::new(PveClient::new(ep)?)),
    test_endpoint: "pve",
    test_settings: |_| Ok(std::sync::Arc::new(crate::config::NoSettings)),
    lab: Some(registry::LabHooks {
        description: "a simulated Proxmox VE cluster",
        start: |task_seconds| Box::pin(lab::start_for_lab(task_seconds)),
        demo: lab::demo,
    }),
};

pub struct PveClient {
    name: String,
    api: String,
    http: reqwest::Client,
    /// The whole `Authorization` value, so the secret is never formatted
    /// again after start-up.
    auth: SecretString,
    token_secret: SecretString,
    timeout: Duration,
    task_status: ToolDef,
    task_log: ToolDef,
}

/// PVE's error wording: `errors` (per field) and/or `message`.
fn error_message(status: reqwest::StatusCode, body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let mut parts = Vec::new();
    if let Some(v) = &parsed {
        if let Some(m) = v.get("message").and_then(Value::as_str) {
            parts.push(m.trim().to_string());
        }
        if let Some(errors) = v.get("errors").and_then(Value::as_object) {
            for (field, msg) in errors {
                parts.push(format!(
                    "{field}: {}",
                    msg.as_str()
                        .map_or_else(|| msg.to_string(), |s| s.trim().to_string())
                ));
            }
        }
    }
    if parts.is_empty() {
        parts.push(
            status
                .canonical_reason()
                .unwrap_or("no reason given")
                .to_string(),
        );
    }
    shorten(parts.join("; "))
}

/// mcp-pve argument names whose Proxmox VE parameter is spelt otherwise.
const WIRE_NAMES: &[(&str, &str)] = &[
    ("ssh_public_keys", "ssh-public-keys"),
    ("max_workers", "max-workers"),
    ("force_stop", "force-stop"),
    ("to_disk", "to-disk"),
    ("with_local_disks", "with-local-disks"),
    ("delete_settings", "delete"),
    ("resource_mode", "resource-mode"),
];

/// Arguments sent as query or form parameters: everything but path
/// placeholders and Portcullis's own control arguments. PVE wants booleans
/// as 0/1, a list of numbers (bulk `vms`) as the parameter repeated, and a
/// list of strings (a container's `env`) as one NUL-separated string.
fn backend_params(tool: &ToolDef, args: &ValidArgs) -> Vec<(String, String)> {
    let in_path = tool.path_params();
    let mut out = Vec::new();
    for (k, v) in args
        .as_map()
        .iter()
        .filter(|(k, _)| !in_path.contains(&k.as_str()) && !control::ALL.contains(&k.as_str()))
    {
        let name = WIRE_NAMES
            .iter()
            .find(|(ours, _)| ours == k)
            .map_or(k.as_str(), |(_, wire)| wire)
            .to_string();
        match v {
            Value::Array(items) if items.iter().all(Value::is_number) => {
                out.extend(items.iter().map(|i| (name.clone(), i.to_string())));
            }
            Value::Array(items) => out.push((
                name,
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\0"),
            )),
            Value::Bool(b) => out.push((name, if *b { "1" } else { "0" }.to_string())),
            Value::String(s) => out.push((name, s.clone())),
            other => out.push((name, other.to_string())),
        }
    }
    out
}

/// Credentials inside URLs in an answer (a datacenter's `http_proxy`
/// as `http://user:password@proxy`) are withheld: an agent's transcript
/// is no place for them.
fn withhold_url_credentials(v: &mut Value) {
    match v {
        Value::String(s) if s.contains("://") && s.contains('@') => {
            if let Ok(mut u) = url::Url::parse(s) {
                if u.password().is_some() && u.set_password(Some("[withheld]")).is_ok() {
                    *s = u.to_string();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(withhold_url_credentials),
        Value::Object(map) => map.values_mut().for_each(withhold_url_credentials),
        _ => {}
    }
}

/// The path template of a PVE tool (every PVE tool is a REST tool).
fn rest_path(tool: &ToolDef) -> &'static str {
    rest_call(tool).map_or("", |r| r.path)
}

impl PveClient {
    pub fn new(ep: &Endpoint) -> Result<PveClient, BackendError> {
        let catalog = Catalog::builtin();
        let tool = |name| {
            catalog
                .get(name)
                .cloned()
                .ok_or_else(|| BackendError::Internal(format!("catalog lacks {name}")))
        };
        let auth = SecretString::from(format!(
            "PVEAPIToken={}={}",
            ep.credentials.id(),
            ep.credentials.secret().expose_secret()
        ));
        Ok(PveClient {
            name: ep.name.clone(),
            api: format!("{}api2/json", ep.url),
            http: http::client(ep)?,
            auth,
            token_secret: ep.credentials.secret().clone(),
            timeout: ep.timeout,
            task_status: tool("pve_get_task_status")?,
            task_log: tool("pve_get_task_log")?,
        })
    }

    fn scrub(&self, s: String) -> String {
        super::scrub(&self.token_secret, s)
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        params: &[(String, String)],
    ) -> Result<Value, BackendError> {
        let url = format!("{}{path}", self.api);
        let parsed =
            url::Url::parse(&url).map_err(|e| BackendError::Internal(format!("bad URL: {e}")))?;
        // The URL parser normalises dot segments; a changed path would mean
        // a value escaped its segment. Validation makes this unreachable.
        if !parsed.path().ends_with(path) {
            return Err(BackendError::Internal(
                "refusing a request whose path changed when parsed".into(),
            ));
        }
        let m = match method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut auth =
            HeaderValue::from_str(self.auth.expose_secret()).map_err(|_| BackendError::Setup {
                endpoint: self.name.clone(),
                detail: "token id or secret has characters not allowed in a header".into(),
            })?;
        auth.set_sensitive(true);
        let mut req = self.http.request(m, parsed).header(AUTHORIZATION, auth);
        req = match method {
            Method::Get | Method::Delete => req.query(params),
            Method::Post | Method::Put => req.form(params),
        };
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(&self.name, self.timeout, e))?;
        let status = resp.status();
        let body = http::read_body(&self.name, self.timeout, resp).await?;
        let endpoint = self.name.clone();
        if status.is_success() {
            let v: Value = serde_json::from_slice(&body).map_err(|e| BackendError::Garbage {
                endpoint: endpoint.clone(),
                detail: format!("HTTP {} with a body that is not JSON: {e}", status.as_u16()),
            })?;
            return match v {
                Value::Object(mut o) if o.contains_key("data") => {
                    Ok(o.remove("data").unwrap_or(Value::Null))
                }
                _ => Err(BackendError::Garbage {
                    endpoint,
                    detail: "JSON without PVE's \"data\" envelope".into(),
                }),
            };
        }
        let message = self.scrub(error_message(status, &body));
        Err(super::status_error(endpoint, status.as_u16(), message))
    }

    /// Run one catalog tool.
    pub async fn execute(
        &self,
        tool: &ToolDef,
        args: &ValidArgs,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let call = rest_call(tool)
            .ok_or_else(|| BackendError::Internal(format!("{} is not a REST tool", tool.name)))?;
        let path =
            path::fill(call.path, args).map_err(|e| BackendError::Internal(e.to_string()))?;
        let mut data = self
            .request(call.method, &path, &backend_params(tool, args))
            .await?;
        withhold_url_credentials(&mut data);
        if !tool.returns_task {
            return Ok(data);
        }
        let Some(upid) = data.as_str() else {
            return Ok(data);
        };
        // A cluster-wide task (a bulk action) runs on the node its UPID
        // names; the UPID is validated before it is used.
        let node = args
            .str("node")
            .or_else(|| upid.split(':').nth(1))
            .unwrap_or_default();
        if !args.bool(control::WAIT).unwrap_or(true) {
            return Ok(json!({"upid": upid, "status": "running"}));
        }
        let secs = args
            .int(control::TIMEOUT)
            .unwrap_or(control::DEFAULT_WAIT_SECONDS);
        self.wait_task(
            node,
            upid,
            Duration::from_secs(secs.max(1) as u64),
            progress,
        )
        .await
    }

    /// Poll a task until it stops or `limit` passes. A task still running
    /// at the limit is not an error: the caller gets the UPID to poll.
    async fn wait_task(
        &self,
        node: &str,
        upid: &str,
        limit: Duration,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        // The UPID came from the backend: validate it like any argument
        // before it becomes a path segment.
        let ids = json!({"node": node, "upid": upid});
        let garbage = |e: crate::catalog::ValidationError| BackendError::Garbage {
            endpoint: self.name.clone(),
            detail: format!("the task id it returned is not a UPID ({e})"),
        };
        let status_args = validate(&self.task_status, Some(&ids)).map_err(garbage)?;
        let status_path = path::fill(rest_path(&self.task_status), &status_args)
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        let start = Instant::now();
        let mut delay = Duration::from_millis(200);
        let mut polls = 0u32;
        loop {
            let st = self.request(Method::Get, &status_path, &[]).await?;
            polls += 1;
            if st.get("status").and_then(Value::as_str) == Some("stopped") {
                let exit = st
                    .get("exitstatus")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_string();
                if exit == "OK" || exit.starts_with("WARNINGS") {
                    return Ok(
                        json!({"upid": upid, "status": "stopped", "exitstatus": exit, "task": st}),
                    );
                }
                return Err(BackendError::TaskFailed {
                    endpoint: self.name.clone(),
                    upid: upid.to_string(),
                    exitstatus: self.scrub(exit),
                    log_tail: self.log_tail(&status_args).await,
                });
            }
            let elapsed = start.elapsed();
            if let Some(sink) = progress {
                let _ = sink.send(Progress {
                    progress: f64::from(polls),
                    total: None,
                    message: format!("task {upid} running for {}s", elapsed.as_secs()),
                });
            }
            if elapsed >= limit {
                return Ok(json!({
                    "upid": upid,
                    "status": "running",
                    "note": format!("still running after {}s; poll it with pve_get_task_status", limit.as_secs()),
                }));
            }
            tokio::time::sleep(delay.min(limit.saturating_sub(elapsed))).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(2));
        }
    }

    /// The last lines of a failed task's log, best effort.
    async fn log_tail(&self, ids: &ValidArgs) -> Vec<String> {
        let Ok(p) = path::fill(rest_path(&self.task_log), ids) else {
            return Vec::new();
        };
        let Ok(Value::Array(lines)) = self
            .request(Method::Get, &p, &[("limit".into(), "500".into())])
            .await
        else {
            return Vec::new();
        };
        let text: Vec<String> = lines
            .iter()
            .filter_map(|l| l.get("t").and_then(Value::as_str))
            .map(|t| self.scrub(shorten(t.to_string())))
            .collect();
        text[text.len().saturating_sub(5)..].to_vec()
    }
}

impl PveClient {
    /// Where each guest of a bulk call lives: its kind (VM or container),
    /// node and pool, from `/cluster/resources`. Read only.
    async fn locate_guests(
        &self,
        endpoint: &str,
        args: &ValidArgs,
    ) -> Result<Vec<super::Located>, BackendError> {
        let all = self
            .request(
                Method::Get,
                "/cluster/resources",
                &[("type".into(), "vm".into())],
            )
            .await?;
        let rows = all.as_array().cloned().unwrap_or_default();
        let wanted: Vec<i64> = args
            .as_map()
            .get("vms")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect();
        let mut out: Vec<super::Located> = Vec::new();
        let mut guests: Vec<super::Located> = Vec::new();
        let add = |l: super::Located, out: &mut Vec<super::Located>| {
            if !out.iter().any(|o| o.kind == l.kind && o.id == l.id) {
                out.push(l);
            }
        };
        for vmid in wanted {
            let row = rows
                .iter()
                .find(|r| r.get("vmid").and_then(Value::as_i64) == Some(vmid))
                .ok_or_else(|| BackendError::NotFound {
                    endpoint: self.name.clone(),
                    what: format!("guest {vmid}"),
                })?;
            let text = |k: &str| {
                row.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let (node, pool) = (text("node"), text("pool"));
            // Values from the backend become entity ids: checked as strictly
            // as arguments.
            let plain = |s: &str| {
                !s.is_empty()
                    && s.len() <= 64
                    && !s.starts_with('.')
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            };
            if !plain(&node) || !(pool.is_empty() || plain(&pool)) {
                return Err(BackendError::Garbage {
                    endpoint: self.name.clone(),
                    detail: format!(
                        "guest {vmid} has a node or pool name that is not a plain name"
                    ),
                });
            }
            let (kind, id) = if text("type") == "lxc" {
                ("Container", format!("{endpoint}/ct/{vmid}"))
            } else {
                ("Vm", format!("{endpoint}/{vmid}"))
            };
            let mut parents = vec![("Node", format!("{endpoint}/{node}"))];
            add(
                super::Located {
                    kind: "Node",
                    id: format!("{endpoint}/{node}"),
                    attrs: vec![("name", json!(node))],
                    parents: Vec::new(),
                },
                &mut out,
            );
            if !pool.is_empty() {
                parents.push(("Pool", format!("{endpoint}/{pool}")));
                add(
                    super::Located {
                        kind: "Pool",
                        id: format!("{endpoint}/{pool}"),
                        attrs: vec![("poolid", json!(pool))],
                        parents: Vec::new(),
                    },
                    &mut out,
                );
            }
            guests.push(super::Located {
                kind,
                id,
                attrs: vec![("vmid", json!(vmid)), ("node", json!(node))],
                parents,
            });
        }
        // The guests in the order given, then their places.
        guests.extend(out);
        Ok(guests)
    }
}

impl super::Client for PveClient {
    fn locate<'a>(
        &'a self,
        tool: &'a ToolDef,
        args: &'a ValidArgs,
        _with_tags: bool,
    ) -> super::BoxFuture<'a, Result<Option<Vec<super::Located>>, BackendError>> {
        Box::pin(async move {
            if tool.per_guest.is_none() {
                return Ok(None);
            }
            Ok(Some(self.locate_guests(&self.name, args).await?))
        })
    }

    fn execute<'a>(
        &'a self,
        tool: &'a ToolDef,
        args: &'a ValidArgs,
        _endpoint: &'a super::EndpointInfo,
        progress: Option<&'a ProgressSink>,
    ) -> super::BoxFuture<'a, Result<Value, BackendError>> {
        Box::pin(self.execute(tool, args, progress))
    }
}
