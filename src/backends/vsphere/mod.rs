//! vSphere over the vim25 SOAP API, as pyvmomi and govmomi speak it.
//!
//! One session per endpoint (user name and password from `secrecy` types),
//! reused across calls, renewed when vCenter says it is no longer
//! authenticated, logged out on shutdown. Lists go through one
//! PropertyCollector call over a ContainerView with only the properties
//! needed; tasks are followed to the end with progress; SOAP faults become
//! errors that name the fault.

pub mod config;
mod devices;
mod files;
mod guest;
mod hosts;
mod inventory;
mod monitoring;
mod ops;
mod ovf;
mod placement;
mod tags;
pub mod tools;
pub mod xml;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::catalog::{ToolDef, ValidArgs};
use crate::config::Endpoint;

use super::registry::{self, BackendKind, Plug};
use super::{http, shorten, status_error, transport_error, BackendError, Progress, ProgressSink};

/// vSphere (vCenter over vim25 SOAP), as the registry knows it.
pub static PLUG: Plug = Plug {
    kind: BackendKind::Vsphere,
    name: "vsphere",
    tool_prefix: "vsphere_",
    tools: tools::tools,
    entity_types: include_str!("entities.cedarschema"),
    section_keys: config::KEYS,
    section: config::section,
    env_var: "VCENTER_HOST",
    from_env: config::from_env,
    check_call: registry::any_call,
    place,
    connect: |ep| Ok(Box::new(VimClient::new(ep)?)),
    test_endpoint: "vc",
    test_settings: |_| Ok(std::sync::Arc::new(config::Settings::default())),
    lab: None,
};
pub use crate::backends::Located;
use xml::{el, escape, moref, MoRef, Xml};

/// The vim25 API version requested (vCenter 6.5 and later answer it).
const SOAP_ACTION: &str = "\"urn:vim25/6.5\"";
/// Objects per PropertyCollector page.
const PAGE: usize = 1000;

/// The managed objects every session starts from.
#[derive(Debug, Clone)]
struct ServiceContent {
    root: MoRef,
    property_collector: MoRef,
    view_manager: MoRef,
    session_manager: MoRef,
    event_manager: Option<MoRef>,
    task_manager: Option<MoRef>,
    guest_operations: Option<MoRef>,
    ovf_manager: Option<MoRef>,
    file_manager: Option<MoRef>,
    about: Value,
}

struct Session {
    cookie: SecretString,
    /// Bumped at each login, so concurrent callers that all saw an expired
    /// session log in once.
    generation: u64,
    content: ServiceContent,
    /// One ContainerView per set of managed object types, kept for the
    /// session.
    views: HashMap<String, MoRef>,
}

/// A SOAP fault: its type (from the detail element) and text.
#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: String,
    pub message: String,
}

enum CallError {
    Fault(Fault),
    Other(BackendError),
}

impl From<BackendError> for CallError {
    fn from(e: BackendError) -> Self {
        CallError::Other(e)
    }
}

/// One object's requested properties, by property path.
#[derive(Debug, Clone, Default)]
pub struct Props {
    pub obj: Option<MoRef>,
    pub values: HashMap<String, Xml>,
}

impl Props {
    pub fn text(&self, path: &str) -> Option<&str> {
        self.values.get(path).map(|v| v.text.as_str())
    }
    pub fn moref(&self, path: &str) -> Option<MoRef> {
        self.values.get(path).and_then(Xml::moref)
    }
    pub fn json(&self, path: &str) -> Value {
        self.values.get(path).map_or(Value::Null, Xml::to_json)
    }
    pub fn int(&self, path: &str) -> Option<i64> {
        self.text(path).and_then(|t| t.parse().ok())
    }
}

pub struct VimClient {
    name: String,
    url: url::Url,
    http: reqwest::Client,
    user: String,
    password: SecretString,
    timeout: Duration,
    session: tokio::sync::Mutex<Option<Session>>,
    /// ESXi hosts a transfer URL may name besides the endpoint.
    transfer_hosts: Vec<String>,
    /// The Automation API (REST) session token, for tags.
    vapi: tokio::sync::Mutex<Option<SecretString>>,
    /// Tag id → `category/tag`, and when it was read.
    tag_names: tokio::sync::Mutex<Option<(Instant, HashMap<String, String>)>>,
    inventory: inventory::Cache,
}

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
}

/// `<Method xmlns="urn:vim25"><_this type=…>…</_this>{rest}</Method>`
pub fn request(method: &str, this: &MoRef, rest: &str) -> String {
    format!(
        "<{method} xmlns=\"urn:vim25\">{}{rest}</{method}>",
        moref("_this", this)
    )
}

impl VimClient {
    pub fn new(ep: &Endpoint) -> Result<VimClient, BackendError> {
        let mut url = ep.url.clone();
        if url.path() == "/" || url.path().is_empty() {
            url.set_path("/sdk");
        }
        Ok(VimClient {
            name: ep.name.clone(),
            url,
            http: http::client(ep)?,
            user: ep.credentials.id().to_string(),
            password: ep.credentials.secret().clone(),
            timeout: ep.timeout,
            session: tokio::sync::Mutex::new(None),
            transfer_hosts: crate::config::settings::<config::Settings>(&ep.settings)
                .transfer_hosts,
            vapi: tokio::sync::Mutex::new(None),
            tag_names: tokio::sync::Mutex::new(None),
            inventory: inventory::Cache::default(),
        })
    }

    fn err_garbage(&self, detail: impl Into<String>) -> BackendError {
        BackendError::Garbage {
            endpoint: self.name.clone(),
            detail: detail.into(),
        }
    }

    fn scrub(&self, s: String) -> String {
        super::scrub(&self.password, s)
    }

    /// The session cookie as a header value marked sensitive (kept out of
    /// reqwest's debug output).
    fn cookie_header(
        &self,
        cookie: &SecretString,
    ) -> Result<reqwest::header::HeaderValue, BackendError> {
        let mut v = reqwest::header::HeaderValue::from_str(cookie.expose_secret())
            .map_err(|_| self.err_garbage("the session cookie is not a header value"))?;
        v.set_sensitive(true);
        Ok(v)
    }

    /// POST one SOAP request. Returns the response element (the Body's
    /// first child) and the session cookie if the server set one.
    async fn post(
        &self,
        body: &str,
        cookie: Option<&SecretString>,
    ) -> Result<(Xml, Option<SecretString>), CallError> {
        let mut req = self
            .http
            .post(self.url.clone())
            .header("content-type", "text/xml; charset=utf-8")
            .header("soapaction", SOAP_ACTION)
            .body(envelope(body));
        if let Some(c) = cookie {
            req = req.header(reqwest::header::COOKIE, self.cookie_header(c)?);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(&self.name, self.timeout, e))?;
        let status = resp.status();
        let set_cookie = resp
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("vmware_soap_session="))
            .and_then(|v| v.split(';').next())
            .map(|v| SecretString::from(v.to_string()));
        let bytes = http::read_body(&self.name, self.timeout, resp).await?;
        let endpoint = self.name.clone();
        let code = status.as_u16();
        if status.is_redirection() {
            return Err(BackendError::Redirect {
                endpoint,
                status: code,
            }
            .into());
        }
        let text = String::from_utf8_lossy(&bytes);
        let parsed = Xml::parse(&text);
        let body = parsed
            .as_ref()
            .ok()
            .and_then(|env| env.child("Body"))
            .and_then(|b| b.children.first());
        match (body, code) {
            (Some(b), _) if b.name == "Fault" => {
                let kind = b
                    .child("detail")
                    .and_then(|d| d.children.first())
                    .map(|f| f.name.trim_end_matches("Fault").to_string())
                    .filter(|k| !k.is_empty())
                    .unwrap_or_else(|| "SystemError".into());
                let message = self.scrub(shorten(
                    b.at(&["faultstring"]).unwrap_or("no message").to_string(),
                ));
                Err(CallError::Fault(Fault { kind, message }))
            }
            (Some(b), 200) => Ok((b.clone(), set_cookie)),
            (_, 401 | 403) => Err(BackendError::Auth {
                endpoint,
                status: code,
            }
            .into()),
            (_, 500..=599) => Err(BackendError::Server {
                endpoint,
                status: code,
                message: shorten(text.chars().take(200).collect()),
            }
            .into()),
            (_, 200) => Err(self
                .err_garbage(match parsed {
                    Err(e) => format!("HTTP 200 with a body that is not XML: {e}"),
                    Ok(_) => "HTTP 200 without a SOAP body".into(),
                })
                .into()),
            _ => Err(BackendError::Rejected {
                endpoint,
                status: code,
                message: "not a SOAP answer".into(),
            }
            .into()),
        }
    }

    async fn login(&self, generation: u64) -> Result<Session, BackendError> {
        let si = MoRef::new("ServiceInstance", "ServiceInstance");
        let (sc, _) = self
            .post(&request("RetrieveServiceContent", &si, ""), None)
            .await
            .map_err(|e| self.fault_error(e, "RetrieveServiceContent"))?;
        let rv = sc
            .child("returnval")
            .ok_or_else(|| self.err_garbage("ServiceContent without returnval"))?;
        let need = |name: &str| {
            rv.child(name)
                .and_then(Xml::moref)
                .ok_or_else(|| self.err_garbage(format!("ServiceContent without {name}")))
        };
        let content = ServiceContent {
            root: need("rootFolder")?,
            property_collector: need("propertyCollector")?,
            view_manager: need("viewManager")?,
            session_manager: need("sessionManager")?,
            event_manager: rv.child("eventManager").and_then(Xml::moref),
            task_manager: rv.child("taskManager").and_then(Xml::moref),
            guest_operations: rv.child("guestOperationsManager").and_then(Xml::moref),
            ovf_manager: rv.child("ovfManager").and_then(Xml::moref),
            file_manager: rv.child("fileManager").and_then(Xml::moref),
            about: rv.child("about").map_or(Value::Null, Xml::to_json),
        };
        // The only request that carries the password; zeroed when dropped.
        let body = Zeroizing::new(request(
            "Login",
            &content.session_manager,
            &format!(
                "{}<password>{}</password>",
                el("userName", &self.user),
                escape(self.password.expose_secret())
            ),
        ));
        let cookie = match self.post(&body, None).await {
            Ok((_, Some(c))) => c,
            Ok((_, None)) => {
                return Err(self.err_garbage("Login answered without a session cookie"))
            }
            Err(CallError::Fault(f)) if f.kind == "InvalidLogin" => {
                return Err(BackendError::LoginFailed {
                    endpoint: self.name.clone(),
                })
            }
            Err(e) => return Err(self.fault_error(e, "Login")),
        };
        tracing::info!(endpoint = %self.name, "vSphere session started");
        Ok(Session {
            cookie,
            generation: generation + 1,
            content,
            views: HashMap::new(),
        })
    }

    /// The current session's cookie, content and generation; logs in first
    /// when there is none.
    async fn current(&self) -> Result<(SecretString, ServiceContent, u64), BackendError> {
        let mut s = self.session.lock().await;
        if s.is_none() {
            *s = Some(self.login(0).await?);
        }
        let s = s
            .as_ref()
            .ok_or_else(|| BackendError::Internal("no session".into()))?;
        Ok((s.cookie.clone(), s.content.clone(), s.generation))
    }

    /// Log in again unless another caller already has since `seen`.
    async fn renew(&self, seen: u64) -> Result<(), BackendError> {
        let mut s = self.session.lock().await;
        if s.as_ref().is_some_and(|s| s.generation > seen) {
            return Ok(());
        }
        tracing::info!(endpoint = %self.name, "vSphere session expired; logging in again");
        *s = Some(self.login(seen).await?);
        Ok(())
    }

    fn fault_error(&self, e: CallError, method: &str) -> BackendError {
        match e {
            CallError::Other(e) => e,
            CallError::Fault(f) => BackendError::Fault {
                endpoint: self.name.clone(),
                fault: f.kind,
                message: format!("{method}: {}", f.message),
            },
        }
    }

    /// Call a method with the session; renew the session once if vCenter
    /// says it is not authenticated. `body` is built from the service
    /// content (the managed objects are the same after a renewal).
    pub async fn call(
        &self,
        method: &str,
        body: impl Fn(&ServiceContentRefs) -> String,
    ) -> Result<Xml, BackendError> {
        match self.call_raw(&body).await {
            Err(CallError::Fault(f)) if f.kind == "NotAuthenticated" => {
                let (_, _, generation) = self.current().await?;
                self.renew(generation).await?;
                self.call_raw(&body)
                    .await
                    .map_err(|e| self.fault_error(e, method))
            }
            other => other.map_err(|e| self.fault_error(e, method)),
        }
    }

    /// As [`call`], but a fault comes back as a fault for the caller to
    /// interpret (e.g. "not found" while resolving).
    pub async fn call_fault(
        &self,
        method: &str,
        body: impl Fn(&ServiceContentRefs) -> String,
    ) -> Result<Result<Xml, Fault>, BackendError> {
        match self.call(method, body).await {
            Ok(x) => Ok(Ok(x)),
            Err(BackendError::Fault { fault, message, .. }) => Ok(Err(Fault {
                kind: fault,
                message,
            })),
            Err(e) => Err(e),
        }
    }

    async fn call_raw(
        &self,
        body: &impl Fn(&ServiceContentRefs) -> String,
    ) -> Result<Xml, CallError> {
        let (cookie, content, _) = self.current().await?;
        let refs = ServiceContentRefs::from(&content);
        let (x, _) = self.post(&body(&refs), Some(&cookie)).await?;
        Ok(x)
    }

    /// The product information vCenter reported at login.
    pub async fn about(&self) -> Result<Value, BackendError> {
        Ok(self.current().await?.1.about)
    }

    /// A ContainerView over the whole inventory for some types, created
    /// once per session.
    async fn view(&self, types: &[&str]) -> Result<MoRef, BackendError> {
        let key = types.join(",");
        {
            let s = self.session.lock().await;
            if let Some(v) = s.as_ref().and_then(|s| s.views.get(&key)) {
                return Ok(v.clone());
            }
        }
        let x = self
            .call("CreateContainerView", |sc| {
                request(
                    "CreateContainerView",
                    &sc.view_manager,
                    &format!(
                        "{}{}<recursive>true</recursive>",
                        moref("container", &sc.root),
                        types.iter().map(|t| el("type", t)).collect::<String>()
                    ),
                )
            })
            .await?;
        let view = x
            .child("returnval")
            .and_then(Xml::moref)
            .ok_or_else(|| self.err_garbage("CreateContainerView without a view"))?;
        if let Some(s) = self.session.lock().await.as_mut() {
            s.views.insert(key, view.clone());
        }
        Ok(view)
    }

    /// Destroy the session's view over these types (best effort), so the
    /// next listing builds a new one. vcsim does not always add objects
    /// created after a view to it; the tree is re-read rarely enough that
    /// a fresh view each time costs nothing that matters.
    pub async fn drop_view(&self, types: &[&str]) {
        let old = {
            let mut s = self.session.lock().await;
            s.as_mut().and_then(|s| s.views.remove(&types.join(",")))
        };
        if let Some(v) = old {
            let _ = self
                .call_fault("DestroyView", |_| request("DestroyView", &v, ""))
                .await;
        }
    }

    /// Every object of a type with the given properties: one
    /// RetrievePropertiesEx over a ContainerView (plus continuation pages
    /// for very large inventories).
    pub async fn list(&self, ty: &str, paths: &[&str]) -> Result<Vec<Props>, BackendError> {
        self.list_many(&[ty], paths).await
    }

    /// As [`list`], for objects of several types with the same properties.
    pub async fn list_many(
        &self,
        types: &[&str],
        paths: &[&str],
    ) -> Result<Vec<Props>, BackendError> {
        let view = self.view(types).await?;
        let props: String = types
            .iter()
            .map(|ty| {
                format!(
                    "<propSet>{}{}</propSet>",
                    el("type", ty),
                    paths.iter().map(|p| el("pathSet", p)).collect::<String>()
                )
            })
            .collect();
        let spec = format!(
            "<specSet>{props}<objectSet>{}<skip>true</skip>\
             <selectSet xsi:type=\"TraversalSpec\"><name>view</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet>\
             </objectSet></specSet>",
            moref("obj", &view)
        );
        let result = self
            .call_fault("RetrievePropertiesEx", |sc| {
                request(
                    "RetrievePropertiesEx",
                    &sc.property_collector,
                    &format!("{spec}<options><maxObjects>{PAGE}</maxObjects></options>"),
                )
            })
            .await?;
        let first = match result {
            Ok(x) => x,
            // The view died with an old session: make a new one, once.
            Err(f) if f.kind == "ManagedObjectNotFound" => {
                if let Some(s) = self.session.lock().await.as_mut() {
                    s.views.remove(&types.join(","));
                }
                return Box::pin(self.list_many(types, paths)).await;
            }
            Err(f) => {
                return Err(BackendError::Fault {
                    endpoint: self.name.clone(),
                    fault: f.kind,
                    message: f.message,
                })
            }
        };
        let mut out = Vec::new();
        let mut page = first.child("returnval").cloned();
        while let Some(p) = page {
            out.extend(p.all("objects").map(object_props));
            page = match p.at(&["token"]) {
                Some(token) => {
                    let token = token.to_string();
                    self.call("ContinueRetrievePropertiesEx", |sc| {
                        request(
                            "ContinueRetrievePropertiesEx",
                            &sc.property_collector,
                            &el("token", &token),
                        )
                    })
                    .await?
                    .child("returnval")
                    .cloned()
                }
                None => None,
            };
        }
        Ok(out)
    }

    /// Properties of one object. `Ok(None)` when it does not exist.
    pub async fn props(&self, obj: &MoRef, paths: &[&str]) -> Result<Option<Props>, BackendError> {
        let spec = format!(
            "<specSet><propSet>{}{}</propSet><objectSet>{}<skip>false</skip></objectSet></specSet>",
            el("type", &obj.ty),
            paths.iter().map(|p| el("pathSet", p)).collect::<String>(),
            moref("obj", obj)
        );
        let r = self
            .call_fault("RetrievePropertiesEx", |sc| {
                request(
                    "RetrievePropertiesEx",
                    &sc.property_collector,
                    &format!("{spec}<options></options>"),
                )
            })
            .await?;
        match r {
            Ok(x) => Ok(x
                .child("returnval")
                .and_then(|rv| rv.child("objects"))
                .map(object_props)),
            Err(f) if f.kind == "ManagedObjectNotFound" => Ok(None),
            Err(f) => Err(BackendError::Fault {
                endpoint: self.name.clone(),
                fault: f.kind,
                message: f.message,
            }),
        }
    }

    /// Call a method on an object that returns a Task, and follow it.
    pub async fn run_task(
        &self,
        method: &str,
        this: &MoRef,
        args: &str,
        wait: Option<Duration>,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let x = self.call(method, |_| request(method, this, args)).await?;
        let task = x
            .child("returnval")
            .and_then(Xml::moref)
            .ok_or_else(|| self.err_garbage(format!("{method} did not return a task")))?;
        self.inventory.invalidate();
        match wait {
            None => Ok(json!({"task": task.id, "state": "running"})),
            Some(limit) => self.wait_task(&task, method, limit, progress).await,
        }
    }

    /// Poll a task until it ends or `limit` passes (then the task id is
    /// returned, still running: that is not an error).
    async fn wait_task(
        &self,
        task: &MoRef,
        method: &str,
        limit: Duration,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let p = self
                .props(
                    task,
                    &["info.state", "info.progress", "info.error", "info.result"],
                )
                .await?
                .ok_or_else(|| self.err_garbage(format!("task {} vanished", task.id)))?;
            match p.text("info.state") {
                Some("success") => {
                    self.inventory.invalidate();
                    return Ok(json!({
                        "task": task.id,
                        "state": "success",
                        "result": p.values.get("info.result").map(|r| match r.moref() {
                            Some(m) if r.children.is_empty() => json!({"type": m.ty, "id": m.id}),
                            _ => r.to_json(),
                        }),
                    }));
                }
                Some("error") => {
                    self.inventory.invalidate();
                    let e = p.values.get("info.error");
                    let fault = e
                        .and_then(|e| e.child("fault"))
                        .and_then(|f| f.xsi_type.clone())
                        .unwrap_or_else(|| "error".into());
                    let message = e
                        .and_then(|e| e.at(&["localizedMessage"]))
                        .unwrap_or("no message")
                        .to_string();
                    return Err(BackendError::TaskFailed {
                        endpoint: self.name.clone(),
                        upid: format!("{method} ({})", task.id),
                        exitstatus: self.scrub(shorten(format!("{fault}: {message}"))),
                        log_tail: Vec::new(),
                    });
                }
                _ => {}
            }
            let elapsed = start.elapsed();
            if let Some(sink) = progress {
                let _ = sink.send(Progress {
                    progress: p.int("info.progress").unwrap_or(0) as f64,
                    total: Some(100.0),
                    message: format!("{method} running for {}s", elapsed.as_secs()),
                });
            }
            if elapsed >= limit {
                return Ok(json!({
                    "task": task.id,
                    "state": "running",
                    "note": format!("still running after {}s; see vsphere_list_recent_tasks", limit.as_secs()),
                }));
            }
            tokio::time::sleep(delay.min(limit.saturating_sub(elapsed))).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(2));
        }
    }

    /// End the session (best effort, at shutdown).
    pub async fn logout(&self) {
        self.rest_logout().await;
        let Some(s) = self.session.lock().await.take() else {
            return;
        };
        let body = request("Logout", &s.content.session_manager, "");
        match self.post(&body, Some(&s.cookie)).await {
            Ok(_) => tracing::info!(endpoint = %self.name, "vSphere session ended"),
            Err(_) => tracing::warn!(endpoint = %self.name, "vSphere logout failed"),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.name
    }
}

/// The managed objects a request body may need.
pub struct ServiceContentRefs {
    pub root: MoRef,
    pub property_collector: MoRef,
    pub view_manager: MoRef,
    pub event_manager: Option<MoRef>,
    pub task_manager: Option<MoRef>,
}

impl From<&ServiceContent> for ServiceContentRefs {
    fn from(c: &ServiceContent) -> Self {
        ServiceContentRefs {
            root: c.root.clone(),
            property_collector: c.property_collector.clone(),
            view_manager: c.view_manager.clone(),
            event_manager: c.event_manager.clone(),
            task_manager: c.task_manager.clone(),
        }
    }
}

/// An `ObjectContent` of a RetrievePropertiesEx answer.
fn object_props(o: &Xml) -> Props {
    let mut values = HashMap::new();
    for p in o.all("propSet") {
        if let (Some(name), Some(val)) = (p.at(&["name"]), p.child("val")) {
            values.insert(name.to_string(), val.clone());
        }
    }
    Props {
        obj: o.child("obj").and_then(Xml::moref),
        values,
    }
}

/// Without asking vCenter (policy tests, offline dry runs), only the name
/// given is known: the object sits directly under the endpoint.
fn place(tool: &ToolDef, args: &ValidArgs, ep: &super::EndpointInfo) -> Vec<Located> {
    let Some(call) = tool.operation::<tools::VimCall>() else {
        return Vec::new();
    };
    let Some(key) = call.target.key() else {
        return Vec::new();
    };
    let name = args.str(key).unwrap_or_default();
    vec![Located {
        kind: call.target.entity_type(),
        id: format!("{}/{name}", ep.name),
        attrs: vec![("name", json!(name))],
        parents: vec![("Endpoint", ep.name.clone())],
    }]
}

impl super::Client for VimClient {
    fn execute<'a>(
        &'a self,
        tool: &'a ToolDef,
        args: &'a ValidArgs,
        _endpoint: &'a super::EndpointInfo,
        progress: Option<&'a ProgressSink>,
    ) -> super::BoxFuture<'a, Result<Value, BackendError>> {
        Box::pin(async move {
            let call = tool.operation::<tools::VimCall>().ok_or_else(|| {
                BackendError::Internal(format!("{} is not a vSphere tool", tool.name))
            })?;
            self.execute(tool, call.op, args, progress).await
        })
    }

    /// Objects are placed by asking vCenter: folder, pool, host, cluster
    /// (and a VM's tags when policies read them).
    fn locate<'a>(
        &'a self,
        tool: &'a ToolDef,
        args: &'a ValidArgs,
        with_tags: bool,
    ) -> super::BoxFuture<'a, Result<Option<Vec<Located>>, BackendError>> {
        Box::pin(async move {
            let Some(call) = tool.operation::<tools::VimCall>() else {
                return Ok(None);
            };
            let key = |name: &str| args.str(name).unwrap_or_default();
            let found = match call.target {
                tools::Target::VirtualMachine => self.locate_vm(key("vm"), with_tags).await?,
                tools::Target::HostSystem => {
                    self.locate("HostSystem", "host", args.str("host")).await?
                }
                tools::Target::Datastore => {
                    self.locate("Datastore", "datastore", args.str("datastore"))
                        .await?
                }
                tools::Target::Endpoint => return Ok(None),
            };
            Ok(Some(found.1))
        })
    }

    fn shutdown(&self) -> super::BoxFuture<'_, ()> {
        Box::pin(self.logout())
    }
}
