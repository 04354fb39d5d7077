//! MCP glue (rmcp): tools/list and tools/call from the catalog, through the
//! gate. Knows nothing about any backend.
//!
//! Confirmation of destructive calls, when policy asks for a human:
//! - clients on protocol 2026-07-28 or later get an input-required result
//!   carrying an elicitation; the retry carries the answer and an opaque
//!   request state that is only a handle to state kept here (single use,
//!   bound to principal, tool and arguments, short-lived);
//! - older clients that declare elicitation are asked with
//!   `elicitation/create` while the call waits;
//! - other clients must pass `confirm: true`, if policy accepts that.

mod logging;
pub mod resources;
pub mod tasks;
pub use crate::approval::Pending;
pub use tasks::Tasks;

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ElicitRequest,
    ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema, Implementation,
    InputRequest, InputRequiredResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResponse, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::Value;

use crate::backends::Progress;
use crate::catalog::ToolDef;
use crate::gate::{
    Authentication, CallRequest, Caller, Confirmation, Gate, Outcome, ToolResult, Transport,
};
use crate::principal::Principal;

/// How long a human has to answer a confirmation prompt.
const ELICITATION_TIMEOUT: Duration = Duration::from_secs(300);

/// Who is calling. Over stdio that is fixed when the process starts; over
/// HTTP the listener authenticates every request and puts the result in
/// the request's extensions (never taken from the message body).
#[derive(Debug, Clone)]
pub enum Identity {
    Fixed(Principal),
    PerRequest,
}

/// What the HTTP listener attaches to each authenticated request.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub method: Authentication,
}

pub struct PortcullisServer {
    gate: Arc<Gate>,
    identity: Identity,
    transport: Transport,
    /// Shared by every session of an HTTP listener: a confirmation may be
    /// answered on a different request (or replica-local session) than it
    /// was issued on.
    pending: Arc<Pending>,
    /// Tasks for parked calls, likewise shared by every session.
    tasks: Arc<Tasks>,
    /// What this session asked to be told about its calls.
    log_level: logging::SessionLevel,
}

/// The MCP description of a catalog tool. Every client sends the whole
/// list to its model on every turn, so it says each thing once and
/// briefly: hints only where they differ from MCP's defaults, the title at
/// the top level, the confirmation a destructive call needs in its
/// description.
pub fn mcp_tool(t: &ToolDef, with_endpoint: bool) -> Tool {
    // Only what differs from MCP's defaults. `openWorldHint` is left at its
    // default (open): results carry text that others control (guest names
    // and notes, guest command output), which a client should not trust as
    // a closed world's. `idempotentHint` means something only for a tool
    // that changes things.
    let mut annotations = ToolAnnotations::default();
    if t.read_only() {
        annotations = annotations.read_only(true);
    } else {
        // MCP presumes a tool that changes things destructive.
        annotations = annotations.destructive(t.destructive);
        if t.idempotent {
            annotations = annotations.idempotent(true);
        }
    }
    // `destructiveHint` and the `confirm` argument say that a tool always
    // needs confirmation; only the condition of one that sometimes does
    // needs words.
    let description = match (t.destructive, t.destructive_if) {
        (true, [_, ..]) => format!("{} Destructive {}.", t.description, t.destructive_text()),
        _ => t.description.to_string(),
    };
    Tool::new(
        t.name,
        description,
        Arc::new(t.listed_schema(with_endpoint)),
    )
    .with_title(t.title)
    .with_annotations(annotations)
    .with_raw_output_schema(output_schema())
}

/// Every tool's `outputSchema` (one shape for all: built once).
fn output_schema() -> Arc<rmcp::model::JsonObject> {
    static SCHEMA: std::sync::OnceLock<Arc<rmcp::model::JsonObject>> = std::sync::OnceLock::new();
    SCHEMA
        .get_or_init(|| Arc::new(ToolResult::output_schema()))
        .clone()
}

/// The call an MCP request asks for, as the pending store keys it.
fn call_key<'a>(
    request: &'a CallToolRequestParams,
    args: Option<&'a Value>,
) -> crate::approval::CallKey<'a> {
    crate::approval::CallKey {
        tool: &request.name,
        args,
    }
}

fn to_mcp(r: ToolResult) -> CallToolResult {
    let mut content = vec![ContentBlock::text(r.text)];
    // A result that carries an image (a console screenshot) also gives it
    // as image content, so a client can show it.
    if let Some(img) = r.structured.as_ref().map(|s| &s["result"]["image"]) {
        if let (Some(data), Some(mime)) = (img["data"].as_str(), img["mime_type"].as_str()) {
            content.push(ContentBlock::image(data, mime));
        }
    }
    let mut out = if r.is_error {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    out.structured_content = r.structured;
    out
}

/// A task this principal does not hold (or never existed, or was
/// forgotten an hour after it ended): the same answer, so ids leak nothing.
fn unknown_task(id: &str) -> McpError {
    McpError::invalid_params(
        format!("no task {id:?} is held for you (tasks are forgotten an hour after they end)"),
        None,
    )
}

fn confirm_params(prompt: &str) -> Result<ElicitRequestParams, McpError> {
    let schema = ElicitationSchema::builder()
        .required_bool("confirm")
        .build()
        .map_err(|e| McpError::internal_error(format!("elicitation schema: {e}"), None))?;
    Ok(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: prompt.to_string(),
        requested_schema: schema,
    })
}

/// Did the human accept and tick `confirm`?
fn answer_of(result: &ElicitResult) -> Result<(), &'static str> {
    match result.action {
        ElicitationAction::Accept
            if result
                .content
                .as_ref()
                .and_then(|c| c.get("confirm"))
                .and_then(Value::as_bool)
                == Some(true) =>
        {
            Ok(())
        }
        ElicitationAction::Accept => Err("did not tick"),
        ElicitationAction::Decline => Err("declined"),
        ElicitationAction::Cancel => Err("cancelled"),
        _ => Err("gave an unknown answer to"),
    }
}

impl PortcullisServer {
    /// A server for stdio: one principal for the life of the process.
    pub fn stdio(gate: Arc<Gate>, principal: Principal) -> PortcullisServer {
        PortcullisServer {
            gate,
            identity: Identity::Fixed(principal),
            transport: Transport::Stdio,
            pending: Arc::default(),
            tasks: Arc::default(),
            log_level: logging::SessionLevel::default(),
        }
    }

    /// A server for one HTTP session or request; the principal comes with
    /// each request.
    pub fn http(gate: Arc<Gate>, pending: Arc<Pending>, tasks: Arc<Tasks>) -> PortcullisServer {
        PortcullisServer {
            gate,
            identity: Identity::PerRequest,
            transport: Transport::Http,
            pending,
            tasks,
            log_level: logging::SessionLevel::default(),
        }
    }

    /// The caller's principal and how it was established; `None` over HTTP
    /// when the listener attached nothing (which it never lets happen).
    fn who(&self, extensions: &rmcp::model::Extensions) -> Option<(Principal, Authentication)> {
        match &self.identity {
            Identity::Fixed(p) => Some((p.clone(), Authentication::Local)),
            Identity::PerRequest => extensions
                .get::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Authenticated>())
                .map(|a| (a.principal.clone(), a.method)),
        }
    }

    fn caller(&self, ctx: &RequestContext<RoleServer>) -> Result<Caller, McpError> {
        let can_elicit = ctx
            .client_capabilities()
            .is_some_and(|c| c.elicitation.is_some());
        let client = ctx
            .client_info()
            .map(|i| format!("{} {}", i.name, i.version))
            .unwrap_or_else(|| "unknown".into());
        let (principal, authentication) = self
            .who(&ctx.extensions)
            .ok_or_else(|| McpError::invalid_request("request is not authenticated", None))?;
        Ok(Caller {
            principal,
            transport: self.transport,
            authentication,
            client,
            can_elicit,
            break_glass: None,
        })
    }

    /// Forward backend progress as MCP progress notifications, if the
    /// request asked for them.
    fn progress(&self, ctx: &RequestContext<RoleServer>) -> Option<crate::backends::ProgressSink> {
        let token = ctx.meta.get_progress_token()?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
        let peer = ctx.peer.clone();
        tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                let mut note = ProgressNotificationParam::new(token.clone(), p.progress);
                note.total = p.total;
                note.message = Some(p.message);
                if peer.notify_progress(note).await.is_err() {
                    break;
                }
            }
        });
        Some(tx)
    }

    async fn run(
        &self,
        caller: &Caller,
        request: &CallToolRequestParams,
        ctx: &RequestContext<RoleServer>,
        confirmation: Confirmation,
        confirms: Option<String>,
    ) -> Result<CallToolResponse, McpError> {
        let args = request.arguments.clone().map(Value::Object);
        let req = CallRequest {
            tool: &request.name,
            args: args.as_ref(),
            confirmation,
            confirms,
        };
        match self.gate.call(caller, req, self.progress(ctx)).await {
            Outcome::UnknownTool(message) => Err(McpError::invalid_params(message, None)),
            Outcome::Done(r) => {
                let wanted = self.log_level.for_request(&ctx.meta);
                logging::tell(&ctx.peer, wanted, &request.name, &r).await;
                Ok(self.parked_as_task(caller, request, ctx, args, r).await)
            }
            Outcome::NeedsHuman { call_id, prompt } => {
                self.ask_human(caller, request, ctx, call_id, prompt).await
            }
        }
    }

    /// A parked call, for a client that declared the tasks extension: a
    /// task that completes when approvers answer. Anything else as it is.
    async fn parked_as_task(
        &self,
        caller: &Caller,
        request: &CallToolRequestParams,
        ctx: &RequestContext<RoleServer>,
        args: Option<Value>,
        r: ToolResult,
    ) -> CallToolResponse {
        let wants_tasks = ctx
            .client_capabilities()
            .is_some_and(|c| c.supports_tasks());
        let Some(approval) = r.parked.clone().filter(|_| wants_tasks) else {
            return to_mcp(r).into();
        };
        let Ok(Some(parked)) = self.gate.approvals().get(&approval).await else {
            return to_mcp(r).into();
        };
        let call = tasks::ParkedCall {
            caller: Caller {
                // Nobody is at the client to ask when it runs.
                can_elicit: false,
                ..caller.clone()
            },
            tool: request.name.to_string(),
            args,
            approval,
            expires: parked.expires,
        };
        match self.tasks.start(self.gate.clone(), call) {
            Some(task) => rmcp::model::CreateTaskResult::new(task).into(),
            None => to_mcp(r).into(),
        }
    }

    async fn ask_human(
        &self,
        caller: &Caller,
        request: &CallToolRequestParams,
        ctx: &RequestContext<RoleServer>,
        call_id: String,
        prompt: String,
    ) -> Result<CallToolResponse, McpError> {
        let params = confirm_params(&prompt)?;
        let modern = ctx
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        if modern {
            let args = request.arguments.clone().map(Value::Object);
            let state = self.pending.insert(
                &caller.principal.id,
                call_key(request, args.as_ref()),
                call_id,
            );
            let mut asks = rmcp::model::InputRequests::new();
            asks.insert(
                "confirm".into(),
                InputRequest::Elicitation(ElicitRequest::new(params)),
            );
            return Ok(InputRequiredResult::new(Some(asks), Some(state)).into());
        }
        let answer = ctx
            .peer
            .create_elicitation_with_timeout(params, Some(ELICITATION_TIMEOUT))
            .await;
        match answer
            .as_ref()
            .map_err(|_| "could not be asked")
            .and_then(answer_of)
        {
            Ok(()) => {
                Box::pin(self.run(
                    caller,
                    request,
                    ctx,
                    Confirmation::Elicitation,
                    Some(call_id),
                ))
                .await
            }
            Err(why) => Ok(to_mcp(
                self.gate
                    .record_unconfirmed(caller, &request.name, &call_id, why)
                    .await,
            )
            .into()),
        }
    }
}

/// How often a session's tool-list watcher checks that its client is
/// still connected (between reloads).
const WATCH_CLOSED_EVERY: Duration = Duration::from_secs(30);

/// The names of the tools a principal sees.
fn visible_names(gate: &Gate, principal: &Principal) -> Vec<&'static str> {
    gate.visible_tools(principal)
        .into_iter()
        .map(|t| t.name)
        .collect()
}

/// Until `closed` resolves: each time a policy reload or a break-glass
/// grant (made, ended or run out) changes the tools `principal` sees,
/// `notify` (which says whether to go on).
async fn follow_tool_list<N, F>(
    gate: &Gate,
    principal: &Principal,
    closed: impl std::future::Future<Output = ()>,
    mut notify: N,
) where
    N: FnMut() -> F,
    F: std::future::Future<Output = bool>,
{
    let mut reloads = gate.policy_reloads();
    let mut grants = gate.break_glass().changes();
    let mut seen = visible_names(gate, principal);
    tokio::pin!(closed);
    loop {
        tokio::select! {
            () = &mut closed => return,
            changed = reloads.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            changed = grants.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
        let now = visible_names(gate, principal);
        if now != seen {
            seen = now;
            if !notify().await {
                return;
            }
        }
    }
}

impl ServerHandler for PortcullisServer {
    #[allow(
        deprecated,
        reason = "MCP logging is deprecated by SEP-2577; clients that show a server's log still read it"
    )]
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_logging()
                .enable_resources()
                .enable_tasks()
                .build(),
        );
        info.server_info =
            Implementation::new("portcullis", env!("CARGO_PKG_VERSION")).with_title("Portcullis");
        info.instructions = Some(format!(
            "Infrastructure tools under policy. Every call is authorized and audited. A denied call names what was \
             refused; do not retry it unchanged. Destructive tools need a human's confirmation. {}",
            crate::catalog::CONTROL_ARGUMENTS
        ));
        info
    }

    /// Handshake-era clients (before 2026-07-28) with a standing connection
    /// (stdio, or a stateful HTTP session) are told when a reload changes
    /// their tool list, for as long as they stay connected.
    async fn on_initialized(&self, context: rmcp::service::NotificationContext<RoleServer>) {
        let Some((principal, _)) = self.who(&context.extensions) else {
            return;
        };
        let gate = self.gate.clone();
        let peer = context.peer;
        tokio::spawn(async move {
            let closed = {
                let peer = peer.clone();
                async move {
                    while !peer.is_transport_closed() {
                        tokio::time::sleep(WATCH_CLOSED_EVERY).await;
                    }
                }
            };
            follow_tool_list(&gate, &principal, closed, || {
                let peer = peer.clone();
                async move { peer.notify_tool_list_changed().await.is_ok() }
            })
            .await;
        });
    }

    /// Clients of 2026-07-28 and later ask with `subscriptions/listen`:
    /// the tool list is the one thing that changes here.
    fn accepted_subscription_filter(
        &self,
        _requested: &rmcp::model::SubscriptionFilter,
    ) -> Option<rmcp::model::SubscriptionFilter> {
        let mut filter = rmcp::model::SubscriptionFilter::new();
        filter.tools_list_changed = Some(true);
        Some(filter)
    }

    async fn listen(&self, context: rmcp::service::SubscriptionContext) -> Result<(), McpError> {
        let (principal, _) = self
            .who(&context.request_context().extensions)
            .ok_or_else(|| McpError::invalid_request("request is not authenticated", None))?;
        if context.accepted().tools_list_changed != Some(true) {
            context.cancelled().await;
            return Ok(());
        }
        follow_tool_list(&self.gate, &principal, context.cancelled(), || async {
            context.sink().notify_tool_list_changed().await.is_ok()
        })
        .await;
        Ok(())
    }

    #[allow(
        deprecated,
        reason = "MCP logging is deprecated by SEP-2577; handshake-era clients still set a level"
    )]
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.log_level.set(request.level);
        Ok(())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let (principal, _) = self
            .who(&ctx.extensions)
            .ok_or_else(|| McpError::invalid_request("request is not authenticated", None))?;
        let tools = self
            .gate
            .visible_tools(&principal)
            .into_iter()
            .map(|t| mcp_tool(t, self.gate.endpoints_of(t.backend) > 1))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let caller = self.caller(&ctx)?;
        Ok(ListResourcesResult::with_all_items(resources::list(
            &self.gate, &caller,
        )))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let caller = self.caller(&ctx)?;
        match resources::read(&self.gate, &caller, &request.uri).await {
            Ok(r) => Ok(r.into()),
            Err(resources::ReadError::Unknown(m)) => Err(McpError::resource_not_found(m, None)),
            Err(resources::ReadError::Refused(m)) => Err(McpError::invalid_request(m, None)),
        }
    }

    async fn get_task(
        &self,
        request: rmcp::model::GetTaskParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetTaskResult, McpError> {
        let (principal, _) = self
            .who(&ctx.extensions)
            .ok_or_else(|| McpError::invalid_request("request is not authenticated", None))?;
        self.tasks
            .get(&request.task_id, &principal.id)
            .map(rmcp::model::GetTaskResult::new)
            .ok_or_else(|| unknown_task(&request.task_id))
    }

    async fn cancel_task(
        &self,
        request: rmcp::model::CancelTaskParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let (principal, _) = self
            .who(&ctx.extensions)
            .ok_or_else(|| McpError::invalid_request("request is not authenticated", None))?;
        if self.tasks.cancel(&request.task_id, &principal.id) {
            Ok(())
        } else {
            Err(unknown_task(&request.task_id))
        }
    }

    async fn update_task(
        &self,
        request: rmcp::model::UpdateTaskParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let _ = request;
        Err(McpError::invalid_params(
            "Portcullis tasks wait for approvers, not for input from the client: nothing to update",
            None,
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.gate
            .catalog()
            .get(name)
            .map(|t| mcp_tool(t, self.gate.endpoints_of(t.backend) > 1))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = self.caller(&ctx)?;
        let Some(state) = request.request_state.clone() else {
            return self
                .run(&caller, &request, &ctx, Confirmation::None, None)
                .await;
        };
        // A retry after an input-required result: the state must be one we
        // issued, to this principal, for this very call, and still fresh.
        let args = request.arguments.clone().map(Value::Object);
        let retried = call_key(&request, args.as_ref());
        let Some(call_id) = self.pending.take(&state, &caller.principal.id, retried) else {
            return Ok(to_mcp(ToolResult::error(
                "this confirmation is unknown, expired or for a different call; call the tool again",
            ))
            .into());
        };
        let answer = request
            .input_responses
            .as_ref()
            .and_then(|r| r.get("confirm"))
            .and_then(|v| serde_json::from_value::<ElicitResult>(v.clone()).ok());
        match answer.as_ref().ok_or("did not answer").and_then(answer_of) {
            Ok(()) => {
                self.run(
                    &caller,
                    &request,
                    &ctx,
                    Confirmation::Elicitation,
                    Some(call_id),
                )
                .await
            }
            Err(why) => Ok(to_mcp(
                self.gate
                    .record_unconfirmed(&caller, &request.name, &call_id, why)
                    .await,
            )
            .into()),
        }
    }
}

/// Serve MCP over stdio until the client disconnects. stdout carries only
/// MCP messages; logs go to stderr or the log file.
pub async fn serve_stdio(gate: Arc<Gate>, principal: Principal) -> Result<(), String> {
    use rmcp::ServiceExt;
    let server = PortcullisServer::stdio(gate, principal);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("MCP session failed to start: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| format!("MCP session ended abnormally: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_declares_the_shape_of_its_structured_results() {
        let done = to_mcp(ToolResult::done("pve", serde_json::json!([{"vmid": 100}])));
        let content = done.structured_content.unwrap();
        for t in crate::catalog::Catalog::builtin().tools() {
            let schema = mcp_tool(t, true).output_schema.unwrap();
            for key in schema["required"].as_array().unwrap() {
                assert!(
                    content.get(key.as_str().unwrap()).is_some(),
                    "{}: {key}",
                    t.name
                );
            }
            assert_eq!(schema["type"], "object");
        }
        // A failure carries no structured content (clients validate only
        // results that are not errors).
        assert!(to_mcp(ToolResult::error("no")).structured_content.is_none());
    }

    #[test]
    fn every_tool_has_its_title_and_its_hints() {
        let catalog = crate::catalog::Catalog::builtin();
        for t in catalog.tools() {
            let tool = mcp_tool(t, true);
            assert_eq!(tool.title.as_deref(), Some(t.title), "{}", t.name);
            let hints = tool.annotations.unwrap();
            // Left out only where MCP's default says the same.
            assert_eq!(
                hints.read_only_hint.unwrap_or(false),
                t.read_only(),
                "{}",
                t.name
            );
            if t.read_only() {
                // Meaningless for a tool that changes nothing (MCP).
                assert_eq!(hints.idempotent_hint, None, "{}", t.name);
                assert_eq!(hints.destructive_hint, None, "{}", t.name);
            } else {
                assert_eq!(
                    hints.idempotent_hint.unwrap_or(false),
                    t.idempotent,
                    "{}",
                    t.name
                );
                assert_eq!(
                    hints.destructive_hint.unwrap_or(true),
                    t.destructive,
                    "{}",
                    t.name
                );
            }
            // Open, as MCP presumes: results carry text others control.
            assert_eq!(hints.open_world_hint, None, "{}", t.name);
        }
    }

    /// A break-glass grant that changes what a connected principal may call
    /// tells its session, as a reload does: when made and when ended; one
    /// for somebody else tells it nothing.
    #[tokio::test]
    async fn a_break_glass_grant_that_changes_the_list_is_told() {
        use crate::break_glass::GrantRequest;
        use std::collections::BTreeSet;
        let gate = crate::testing::GateBuilder::new()
            .policies(&[
                "permit (principal in Group::\"readers\", action in Action::\"tier:read\", resource);",
                "permit (principal in Group::\"ops\", action, resource);",
            ])
            .endpoints(&[crate::testing::placeholder(crate::catalog::BackendKind::Pve, "pve")])
            .build();
        let ann = Principal::new("ann", ["readers"]);
        let (told, mut heard) = tokio::sync::mpsc::unbounded_channel();
        let (close, closed) = tokio::sync::oneshot::channel::<()>();
        let gate = Arc::new(gate);
        let following = {
            let gate = gate.clone();
            let ann = ann.clone();
            tokio::spawn(async move {
                follow_tool_list(
                    &gate,
                    &ann,
                    async {
                        let _ = closed.await;
                    },
                    || {
                        let told = told.clone();
                        async move { told.send(()).is_ok() }
                    },
                )
                .await;
            })
        };
        let groups: BTreeSet<String> = ["ops".to_string()].into();
        let grant = |who: &str| GrantRequest {
            principal: who.into(),
            group: "ops".into(),
            seconds: 600,
            reason: "INC-1".into(),
            requested_by: None,
            approval_id: None,
        };
        let quiet = std::time::Duration::from_millis(300);
        let bg = gate.break_glass();
        // Somebody else's grant: nothing for ann.
        let other = bg.check(&grant("bob"), "root", &groups).unwrap();
        bg.insert(other).await.unwrap();
        assert!(tokio::time::timeout(quiet, heard.recv()).await.is_err());
        // Hers: told, and then told again when it ends.
        let hers = bg.check(&grant("ann"), "root", &groups).unwrap();
        let id = hers.id.clone();
        bg.insert(hers).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), heard.recv())
            .await
            .expect("told of the grant")
            .unwrap();
        bg.end(&id).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), heard.recv())
            .await
            .expect("told of its end")
            .unwrap();
        let _ = close.send(());
        following.await.unwrap();
    }

    /// The measure: what mcp-pve 0.1.0's users would pay in
    /// context for the same tools (its tools/list as released), compact
    /// JSON as sent, one endpoint. `cargo bench --bench tool_list_bytes`
    /// prints the figures and the tools that cost most.
    #[test]
    fn the_tool_list_costs_no_more_than_mcp_pves_for_the_same_tools() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/interop/data/mcp-pve-0.1.0-tools-list.json");
        let peer: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let catalog = crate::catalog::Catalog::builtin();
        let (mut theirs, mut ours) = (0, 0);
        for t in &peer {
            let def = catalog.get(t["name"].as_str().unwrap()).unwrap();
            theirs += serde_json::to_string(t).unwrap().len();
            ours += serde_json::to_string(&mcp_tool(def, false)).unwrap().len();
        }
        assert_eq!(peer.len(), 105);
        assert!(ours <= theirs, "Portcullis {ours} bytes, mcp-pve {theirs}");
    }

    #[test]
    fn a_listed_schema_names_what_the_tool_takes_and_says_what_tells_the_model_something() {
        let catalog = crate::catalog::Catalog::builtin();
        let stop = catalog.get("pve_stop_task").unwrap().listed_schema(false);
        let props = stop["properties"].as_object().unwrap();
        // Its own arguments and its own control arguments; not the ones
        // every tool takes (the instructions say those), nor `endpoint`
        // when there is one.
        let mut names: Vec<&str> = props.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["confirm", "node", "upid"]);
        assert_eq!(props["confirm"], serde_json::json!({}));
        // An id's fixed prefix, not its whole rule; no length caps.
        assert_eq!(props["upid"]["pattern"], "^UPID:");
        assert!(props["node"].get("maxLength").is_none());
        assert!(props["node"].get("pattern").is_none());
        // Not closed: the tool also takes `justification`, `approval_id`
        // and its peers' names for its arguments.
        assert!(stop.get("additionalProperties").is_none());
        assert_eq!(stop["required"], serde_json::json!(["node", "upid"]));
        let nodes = catalog.get("pve_list_nodes").unwrap().listed_schema(true);
        assert!(nodes.get("required").is_none());
        assert!(nodes["properties"].get("endpoint").is_some());
        assert!(crate::catalog::CONTROL_ARGUMENTS.contains("justification ("));
        assert!(crate::catalog::CONTROL_ARGUMENTS.contains("approval_id ("));
    }
}
