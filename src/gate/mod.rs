//! The gate: the one path every tool call takes.
//!
//! look up → validate → resolve endpoint and resource → authorize (Cedar)
//! → confirm → audit the decision durably → execute → audit the outcome.
//!
//! The gate knows nothing about HTTP or MCP framing; the server turns its
//! [`Outcome`] into MCP results.

mod caller;
pub mod matrix;
pub mod ratelimit;
pub mod records;
mod resolve;
pub mod verdict;

use std::sync::{Arc, RwLock};
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::audit::AuditLog;
use crate::backends::BackendError;
use crate::backends::{Backends, EndpointInfo, Located, ProgressSink};
use crate::catalog::{control, validate, Catalog, Tier, ToolDef, ValidArgs};
use crate::config::RateLimit;
use crate::metrics::Metrics;
use crate::policy::{AuthzInput, Decision, EntitySpec, PolicyContext, PolicyEngine};
use crate::principal::Principal;
use crate::util::{random_hex, UtcTime};
pub use verdict::Rejection;
use verdict::{DecisionKind, OutcomeKind, Verdict};

/// How (and whether) a destructive call was confirmed. Policies see it as
/// `context.confirmation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    None,
    /// The model's own word: `confirm: true` in the arguments.
    Argument,
    /// A human answered the client's elicitation prompt.
    Elicitation,
    /// Approvers approved this exact call (`portcullis approvals`).
    Approval,
}

impl Confirmation {
    pub fn as_str(self) -> &'static str {
        match self {
            Confirmation::None => "none",
            Confirmation::Argument => "argument",
            Confirmation::Elicitation => "elicitation",
            Confirmation::Approval => "approval",
        }
    }
}

pub use caller::{Authentication, Caller, Transport};

/// One tool call as the gate receives it.
#[derive(Debug, Clone)]
pub struct CallRequest<'a> {
    pub tool: &'a str,
    pub args: Option<&'a Value>,
    /// Set when a human confirmed through elicitation.
    pub confirmation: Confirmation,
    /// The call id of the earlier call that asked for this confirmation.
    pub confirms: Option<String>,
}

/// The result of a call as the agent should see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub is_error: bool,
    pub text: String,
    pub structured: Option<Value>,
    /// The approval request the call is parked as, when it is.
    pub parked: Option<String>,
}

impl ToolResult {
    /// What a call that ran returns: the backend's answer as text, and as
    /// structured content of the shape [`ToolResult::output_schema`] says.
    pub fn done(endpoint: &str, data: Value) -> ToolResult {
        ToolResult {
            is_error: false,
            text: serde_json::to_string_pretty(&data).unwrap_or_default(),
            structured: Some(json!({"endpoint": endpoint, "result": data})),
            parked: None,
        }
    }

    /// The JSON Schema of every successful call's structured content (the
    /// tools' `outputSchema`): the endpoint that answered, and its answer.
    pub fn output_schema() -> Map<String, Value> {
        let schema = json!({"type": "object", "required": ["endpoint", "result"]});
        match schema {
            Value::Object(map) => map,
            _ => unreachable!("a json! object literal is an object"),
        }
    }

    pub fn error(text: impl Into<String>) -> ToolResult {
        ToolResult {
            is_error: true,
            text: text.into(),
            structured: None,
            parked: None,
        }
    }
}

/// What the gate decided and did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// No such tool: a protocol error (-32602) rather than a tool result.
    UnknownTool(String),
    /// Policy allows the call once a human confirms it; ask, then call
    /// again with [`Confirmation::Elicitation`] and `confirms: call_id`.
    NeedsHuman {
        call_id: String,
        prompt: String,
    },
    Done(ToolResult),
}

/// Why an approval request could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Its `requested` record could not be written, so it was not opened.
    #[error("the audit log refused the request's record, so it was not parked: {0}")]
    Audit(String),
    #[error(transparent)]
    Store(crate::approval::ApprovalError),
}

/// Whether a tool is listed for a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Listed,
    /// No endpoint of the tool's backend is configured.
    NoEndpoint,
    /// No policy could permit this principal to call it.
    DeniedByPolicy,
}

impl Availability {
    /// Why it is not listed, for operators; `None` when it is.
    pub fn reason(self, backend: crate::catalog::BackendKind) -> Option<String> {
        match self {
            Availability::Listed => None,
            Availability::NoEndpoint => {
                Some(format!("no {} endpoint is configured", backend.as_str()))
            }
            Availability::DeniedByPolicy => Some("no policy permits it".into()),
        }
    }
}

/// A call that passed validation and resolution, with its decision.
pub struct Prepared<'g> {
    pub tool: &'g ToolDef,
    pub args: ValidArgs,
    pub endpoint: EndpointInfo,
    pub resources: Vec<EntitySpec>,
    pub context: PolicyContext,
    pub decision: Decision,
    pub confirmation: Confirmation,
    /// For a call on several guests: each one's decision (the call is
    /// allowed only if every one is; `resources` is the first refused).
    pub guests: Vec<GuestDecision>,
    /// The digest of the policy set that decided, and of the configuration.
    pub policy_set: Arc<str>,
    pub config: Option<Arc<str>>,
}

/// One guest's decision in a bulk call.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GuestDecision {
    pub resource: String,
    pub allowed: bool,
    pub policies: Vec<String>,
}

pub struct Gate {
    catalog: Catalog,
    policies: RwLock<Arc<PolicyEngine>>,
    /// A candidate policy set decided beside the live one on every call;
    /// where the two disagree a `shadow` record says so. Never enforced.
    shadow: RwLock<Option<Arc<PolicyEngine>>>,
    audit: Option<Arc<AuditLog>>,
    backends: Backends,
    limits: ratelimit::RateLimiter,
    metrics: Arc<Metrics>,
    /// How `portcullis dry-run` finds this configuration (`--config FILE`,
    /// `--lab`), so a refusal can print a command that runs as printed.
    dry_run_source: String,
    /// The digest of the configuration file, recorded with each decision.
    config_digest: Option<Arc<str>>,
    archive_status: std::sync::OnceLock<Arc<crate::audit::archive::ArchiveStatus>>,
    /// Groups granted for a while in an emergency (`portcullis break-glass`).
    break_glass: Arc<crate::break_glass::BreakGlass>,
    /// Redis, when replicas share state (`[state]`).
    shared: Option<Arc<crate::state::Redis>>,
    /// Calls parked until approvers approve them.
    approvals: Arc<crate::approval::Approvals>,
    /// Bumped when a reload swaps the policy set, so connected sessions
    /// can tell their clients the tool list changed.
    policy_generation: tokio::sync::watch::Sender<u64>,
}

fn context(
    tool: &ToolDef,
    args: &ValidArgs,
    confirmation: Confirmation,
    caller: &Caller,
    ep: &EndpointInfo,
    t: UtcTime,
) -> PolicyContext {
    let mut a: Map<String, Value> = args.as_map().clone();
    a.retain(|k, _| tool.in_policy_args(k));
    let ctx = PolicyContext {
        args: a,
        confirmed: false,
        confirmation: Confirmation::None.as_str(),
        transport: caller.transport.as_str(),
        authentication: caller.authentication.as_str(),
        client: caller.client.clone(),
        endpoint: ep.name.clone(),
        tls_verify: ep.tls_verify,
        destructive: tool.destructive_for(args),
        justification: args
            .str(control::JUSTIFICATION)
            .unwrap_or_default()
            .to_string(),
        time: t.into(),
    };
    confirmed(ctx, confirmation)
}

/// The same context, as confirmed by `confirmation`.
fn confirmed(ctx: PolicyContext, confirmation: Confirmation) -> PolicyContext {
    PolicyContext {
        confirmed: confirmation != Confirmation::None,
        confirmation: confirmation.as_str(),
        ..ctx
    }
}

impl Gate {
    /// `audit: None` is only for dry runs, which never execute.
    pub fn new(
        catalog: Catalog,
        policies: PolicyEngine,
        audit: Option<Arc<AuditLog>>,
        backends: Backends,
    ) -> Gate {
        Gate {
            catalog,
            policies: RwLock::new(Arc::new(policies)),
            shadow: RwLock::new(None),
            audit,
            backends,
            limits: ratelimit::RateLimiter::new(&[]),
            metrics: Arc::new(Metrics::default()),
            dry_run_source: String::new(),
            config_digest: None,
            archive_status: std::sync::OnceLock::new(),
            break_glass: Arc::default(),
            shared: None,
            approvals: Arc::new(crate::approval::Approvals::new(
                crate::approval::DEFAULT_TTL,
                1,
            )),
            policy_generation: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Decide every call by `candidate` too, recording disagreements.
    pub fn with_shadow(self, candidate: Option<PolicyEngine>) -> Gate {
        self.replace_shadow(candidate);
        self
    }

    /// Swap the candidate policy set (a reload), or stop shadowing.
    pub fn replace_shadow(&self, candidate: Option<PolicyEngine>) {
        *self.shadow.write().unwrap_or_else(|p| p.into_inner()) = candidate.map(Arc::new);
    }

    fn shadow_policies(&self) -> Option<Arc<PolicyEngine>> {
        self.shadow
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Decide a prepared call by the candidate set too; a disagreement is
    /// recorded, never enforced, and a failure to record it only logged.
    async fn shadow(&self, caller: &Caller, ids: &records::Ids<'_>, p: &Prepared<'_>) {
        let Some(candidate) = self.shadow_policies() else {
            return;
        };
        let input = AuthzInput {
            principal: &caller.principal,
            action: p.tool.action(),
            resources: &p.resources,
            context: &p.context,
        };
        let decided = candidate.authorize(&input);
        if decided
            .as_ref()
            .is_ok_and(|d| d.allowed == p.decision.allowed)
        {
            return;
        }
        self.metrics.shadow_disagreement(p.tool.name);
        let rec = records::shadow(ids, caller, p, candidate.digest(), &decided);
        if let Err(e) = self.write(&rec).await {
            tracing::error!(error = %e, tool = p.tool.name, "audit write failed for a shadow record");
        }
    }

    /// Record this configuration digest with every decision.
    pub fn with_config_digest(mut self, digest: Option<String>) -> Gate {
        self.config_digest = digest.map(Arc::from);
        self
    }

    /// Keep the current policy set beside the audit log (by digest) and
    /// record that it was loaded: at start and after every reload, so each
    /// decision's `policy_set` names a set that can be read back.
    pub async fn record_policy_loaded(&self, trigger: &str) -> Result<(), String> {
        let Some(audit) = self.audit.clone() else {
            return Ok(());
        };
        let engine = self.policies();
        let (log, kept) = (audit.path().to_path_buf(), engine.clone());
        let stored = tokio::task::spawn_blocking(move || {
            crate::audit::policy_store::store(&log, kept.digest(), kept.sources())
        })
        .await
        .map_err(|e| format!("policy store: {e}"))?
        .map_err(|e| format!("the policy set cannot be kept beside the audit log: {e}"))?;
        let record =
            records::policy_loaded(trigger, &engine, self.config_digest.as_deref(), &stored);
        self.write(&record).await
    }

    /// The `portcullis dry-run` arguments that load this configuration
    /// (for the hint in a refusal).
    pub fn with_dry_run_source(mut self, args: String) -> Gate {
        self.dry_run_source = args;
        self
    }

    /// Limit each principal's calls per tier.
    pub fn with_rate_limits(mut self, limits: &[(Tier, RateLimit)]) -> Gate {
        self.limits = ratelimit::RateLimiter::new(limits);
        self
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Swap in a new, already validated policy set. Calls in flight finish
    /// under the set they started with.
    pub fn replace_policies(&self, engine: PolicyEngine) {
        *self.policies.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(engine);
        self.policy_generation.send_modify(|n| *n += 1);
    }

    /// Changes each time a reload swaps the policy set.
    pub fn policy_reloads(&self) -> tokio::sync::watch::Receiver<u64> {
        self.policy_generation.subscribe()
    }

    /// Record an event that is not a tool call (authentication, reloads).
    pub async fn audit_event(&self, record: &impl Serialize) -> Result<(), String> {
        self.write(record).await
    }

    /// The audit log (the archiver's, and tests that inject its failure).
    pub fn audit_log(&self) -> Option<&Arc<AuditLog>> {
        self.audit.as_ref()
    }

    /// The archive's figures, for metrics.
    pub fn set_archive_status(&self, status: Arc<crate::audit::archive::ArchiveStatus>) {
        let _ = self.archive_status.set(status);
    }

    pub fn archive_status(&self) -> Option<&Arc<crate::audit::archive::ArchiveStatus>> {
        self.archive_status.get()
    }

    /// Whether the off-host archive keeps up (`None`: none configured).
    pub fn archive_ok(&self) -> Option<bool> {
        self.archive_status.get()?;
        self.audit.as_ref().map(|a| a.archive_ok())
    }

    /// The audit log can take records (readiness).
    pub fn audit_writable(&self) -> bool {
        self.audit.as_ref().is_some_and(|a| a.is_writable())
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn policies(&self) -> Arc<PolicyEngine> {
        self.policies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    /// The caller as its break-glass grants in force make it (the granted
    /// groups added, the grants named), counted; `None` without any.
    fn under_break_glass(&self, caller: &Caller) -> Option<Caller> {
        let (principal, grants) = self.break_glass.apply(&caller.principal, Instant::now())?;
        self.metrics.break_glass_call();
        Some(Caller {
            principal,
            break_glass: Some(grants),
            ..caller.clone()
        })
    }

    /// The break-glass grants in force.
    pub fn break_glass(&self) -> &Arc<crate::break_glass::BreakGlass> {
        &self.break_glass
    }

    /// Grants may last at most `max`.
    pub fn with_break_glass_max(mut self, max: std::time::Duration) -> Gate {
        self.break_glass = Arc::new(crate::break_glass::BreakGlass::new(max));
        self
    }

    /// Tools a principal could be allowed to call (with the groups its
    /// break-glass grants add): those with a permit policy whose scope
    /// matches, on a backend that is configured.
    pub fn visible_tools(&self, principal: &Principal) -> Vec<&ToolDef> {
        self.catalog
            .tools()
            .iter()
            .filter(|t| self.availability(principal, t) == Availability::Listed)
            .collect()
    }

    /// How many endpoints of `backend` are configured.
    pub fn endpoints_of(&self, backend: crate::catalog::BackendKind) -> usize {
        self.backends
            .endpoints()
            .filter(|e| e.backend == backend)
            .count()
    }

    /// Whether `principal` sees `tool` in tools/list, and if not, why.
    pub fn availability(&self, principal: &Principal, tool: &ToolDef) -> Availability {
        if !self.backends.endpoints().any(|e| e.backend == tool.backend) {
            return Availability::NoEndpoint;
        }
        let granted = self
            .break_glass
            .apply(principal, Instant::now())
            .map(|(p, _)| p);
        let principal = granted.as_ref().unwrap_or(principal);
        if self.policies().may_permit(principal, tool.action()) {
            Availability::Listed
        } else {
            Availability::DeniedByPolicy
        }
    }

    /// Look up the tool, validate the arguments, pick the endpoint.
    fn check(&self, req: &CallRequest) -> Result<(&ToolDef, ValidArgs, EndpointInfo), Rejection> {
        let tool = self.catalog.get(req.tool).ok_or(Rejection::UnknownTool)?;
        let by_host = self.endpoint_by_host(tool, req.args)?;
        let args =
            validate(tool, by_host.as_ref().or(req.args)).map_err(Rejection::InvalidArguments)?;
        let endpoint = self
            .backends
            .pick(tool.backend, args.str(control::ENDPOINT))
            .map_err(Rejection::Invalid)?
            .clone();
        // The endpoint's own rules (configured regions …): refused here,
        // before any backend is contacted.
        (tool.backend.plug().check_call)(tool, &endpoint, &args).map_err(Rejection::Invalid)?;
        Ok((tool, args, endpoint))
    }

    /// A call that names its endpoint by host (vSphere-MCP-Pro's
    /// `hostname`), rewritten to name it by `endpoint`; `None` when it does
    /// not.
    fn endpoint_by_host(
        &self,
        tool: &ToolDef,
        raw: Option<&Value>,
    ) -> Result<Option<Value>, Rejection> {
        let Some(arg) = tool.endpoint_host_arg else {
            return Ok(None);
        };
        let Some(Value::Object(map)) = raw else {
            return Ok(None);
        };
        let Some(given) = map.get(arg) else {
            return Ok(None);
        };
        let host = given
            .as_str()
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 253
                    && !h.contains(|c: char| c.is_control() || c.is_whitespace())
            })
            .ok_or_else(|| Rejection::Invalid(format!("{arg}: expected a host name")))?;
        let picked = self
            .backends
            .pick_by_host(tool.backend, host)
            .map_err(|e| Rejection::Invalid(format!("{arg}: {e}")))?;
        let mut map = map.clone();
        map.remove(arg);
        match map.get(control::ENDPOINT) {
            Some(Value::String(e)) if *e != picked.name => {
                return Err(Rejection::Invalid(format!(
                    "{arg} {host:?} is endpoint {:?}, but endpoint names {e:?}: give one of them",
                    picked.name
                )))
            }
            _ => {}
        }
        map.insert(control::ENDPOINT.into(), Value::String(picked.name.clone()));
        Ok(Some(Value::Object(map)))
    }

    /// Look up, validate, resolve from the arguments alone and authorize,
    /// without side effects and without contacting any backend (policy
    /// tests, offline dry runs).
    pub fn prepare(&self, caller: &Caller, req: &CallRequest) -> Result<Prepared<'_>, Rejection> {
        let (tool, args, endpoint) = self.check(req)?;
        let found = (tool.backend.plug().place)(tool, &args, &endpoint);
        self.decide_found(caller, req, tool, args, endpoint, found)
    }

    /// As [`prepare`], with the target placed as given instead of from
    /// the arguments (policy tests: "this VM, in that tenant").
    pub fn prepare_located(
        &self,
        caller: &Caller,
        req: &CallRequest,
        found: Vec<Located>,
    ) -> Result<Prepared<'_>, Rejection> {
        let (tool, args, endpoint) = self.check(req)?;
        self.decide_found(caller, req, tool, args, endpoint, found)
    }

    /// As [`prepare`], but asks the backend where the target lives when
    /// the arguments cannot say (where only the backend knows: folder, pool, host, cluster …).
    /// Read-only on the backend.
    pub async fn prepare_live(
        &self,
        caller: &Caller,
        req: &CallRequest<'_>,
    ) -> Result<Prepared<'_>, Rejection> {
        let (tool, args, endpoint) = self.check(req)?;
        // A caller no policy can permit this tool is refused without the
        // backend being asked anything: no session opened for them, and
        // no answer that tells which objects exist.
        // Shadow mode's candidate is asked too, so that what it reads is
        // fetched and its decisions are on the same facts.
        let candidate = self.shadow_policies();
        if !self.policies().may_permit(&caller.principal, tool.action())
            && !candidate
                .as_ref()
                .is_some_and(|c| c.may_permit(&caller.principal, tool.action()))
        {
            let found = (tool.backend.plug().place)(tool, &args, &endpoint);
            return self.decide_found(caller, req, tool, args, endpoint, found);
        }
        let with_tags =
            self.policies().reads_tags() || candidate.as_ref().is_some_and(|c| c.reads_tags());
        // Where the backend says the target is, or (it cannot say) where
        // the arguments say.
        let found = match self
            .backends
            .locate(&endpoint.name, tool, &args, with_tags)
            .await
        {
            Ok(Some(found)) => found,
            Ok(None) => (tool.backend.plug().place)(tool, &args, &endpoint),
            Err(e) => return Err(Rejection::Unresolved(e.to_string())),
        };
        self.decide_found(caller, req, tool, args, endpoint, found)
    }

    /// Decide a call whose target (targets, for a bulk call) is placed.
    fn decide_found<'g>(
        &'g self,
        caller: &Caller,
        req: &CallRequest,
        tool: &'g ToolDef,
        args: ValidArgs,
        endpoint: EndpointInfo,
        found: Vec<Located>,
    ) -> Result<Prepared<'g>, Rejection> {
        if tool.per_guest.is_some() {
            let chains = resolve::chains(found, &endpoint);
            return self.decide_each(caller, req, tool, args, endpoint, chains);
        }
        let resources = resolve::located(found, &endpoint);
        self.decide(caller, req, tool, args, endpoint, resources)
    }

    /// Decide a call on several guests: each guest as its own request; the
    /// call is allowed only if all are, and carries the first refused
    /// guest (so the refusal names it) or else the first.
    fn decide_each<'g>(
        &'g self,
        caller: &Caller,
        req: &CallRequest,
        tool: &'g ToolDef,
        args: ValidArgs,
        endpoint: EndpointInfo,
        chains: Vec<Vec<EntitySpec>>,
    ) -> Result<Prepared<'g>, Rejection> {
        let mut prepared: Option<Prepared<'g>> = None;
        let mut guests = Vec::with_capacity(chains.len());
        let mut all_allowed = true;
        for chain in chains {
            let p = self.decide(caller, req, tool, args.clone(), endpoint.clone(), chain)?;
            guests.push(GuestDecision {
                resource: p
                    .resources
                    .first()
                    .map(EntitySpec::display)
                    .unwrap_or_default(),
                allowed: p.decision.allowed,
                policies: p.decision.policies.clone(),
            });
            let first_refusal = all_allowed && !p.decision.allowed;
            all_allowed &= p.decision.allowed;
            if prepared.is_none() || first_refusal {
                prepared = Some(p);
            }
        }
        let mut p =
            prepared.ok_or_else(|| Rejection::Invalid(format!("{}: no guest named", tool.name)))?;
        p.guests = guests;
        Ok(p)
    }

    fn decide<'g>(
        &'g self,
        caller: &Caller,
        req: &CallRequest,
        tool: &'g ToolDef,
        args: ValidArgs,
        endpoint: EndpointInfo,
        resources: Vec<EntitySpec>,
    ) -> Result<Prepared<'g>, Rejection> {
        let confirmation = match req.confirmation {
            Confirmation::None if args.bool(control::CONFIRM) == Some(true) => {
                Confirmation::Argument
            }
            c => c,
        };
        let ctx = context(tool, &args, confirmation, caller, &endpoint, UtcTime::now());
        let input = AuthzInput {
            principal: &caller.principal,
            action: tool.action(),
            resources: &resources,
            context: &ctx,
        };
        let engine = self.policies();
        let decision = engine
            .authorize(&input)
            .map_err(|e| Rejection::Invalid(e.to_string()))?;
        Ok(Prepared {
            tool,
            args,
            endpoint,
            resources,
            context: ctx,
            decision,
            confirmation,
            guests: Vec::new(),
            policy_set: engine.digest().clone(),
            config: self.config_digest.clone(),
        })
    }

    /// The Cedar request of a prepared call, for dry runs.
    pub fn request_json(&self, caller: &Caller, p: &Prepared) -> Value {
        records::cedar_request(caller, p)
    }

    async fn write(&self, record: &impl Serialize) -> Result<(), String> {
        let Some(audit) = self.audit.clone() else {
            return Err("no audit log is configured".into());
        };
        let record = serde_json::to_value(record)
            .map_err(|e| format!("the audit record cannot be serialized: {e}"))?;
        audit.append_async(record).await.map_err(|e| e.to_string())
    }

    /// The outcome record, and the call's metrics: every call ends here.
    async fn finish(
        &self,
        ids: &records::Ids<'_>,
        caller: &Caller,
        tool: &str,
        status: OutcomeKind,
        err: Option<&BackendError>,
        started: Instant,
    ) -> Result<(), String> {
        self.metrics.call(tool, status.as_str(), started.elapsed());
        self.write(&records::outcome(ids, caller, tool, status, err, started))
            .await
    }

    /// Record the answer to a confirmation that was not given.
    pub async fn record_unconfirmed(
        &self,
        caller: &Caller,
        tool: &str,
        call_id: &str,
        answer: &str,
    ) -> ToolResult {
        let rec = records::confirmation_answer(caller, tool, call_id, answer);
        if let Err(e) = self.write(&rec).await {
            tracing::error!(error = %e, "audit write failed for a confirmation answer");
        }
        ToolResult::error(format!(
            "{tool} was not run: the human {answer} the confirmation. Do not retry unless they ask you to."
        ))
    }

    /// Take one call through the whole path: prepare, judge (pure), then
    /// act on the verdict.
    pub async fn call(
        &self,
        caller: &Caller,
        req: CallRequest<'_>,
        progress: Option<ProgressSink>,
    ) -> Outcome {
        let started = Instant::now();
        let granted = self.under_break_glass(caller);
        let caller = granted.as_ref().unwrap_or(caller);
        let call_id = random_hex(8);
        tracing::trace!(call = %call_id, tool = %records::clip(req.tool), transport = caller.transport.as_str(), "call received");
        let approval_id = req
            .args
            .and_then(|a| a.get(control::APPROVAL_ID))
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut req = req;
        let ids = records::Ids {
            call: &call_id,
            confirms: req.confirms.as_deref(),
            approval: approval_id.as_deref(),
        };
        // With an approval id the call is decided as approved; the
        // approval must then be this very call's (its validated arguments
        // and resolved target), and is spent only if the call runs.
        if approval_id.is_some() {
            req.confirmation = Confirmation::Approval;
        }
        let prepared = match self.prepare_live(caller, &req).await {
            Ok(p) => p,
            Err(rejection) => return self.reject(caller, &ids, &req, rejection, started).await,
        };
        if let Some(id) = &approval_id {
            let redeemed = self
                .approvals
                .redeem(
                    id,
                    &caller.principal.id,
                    &approval_key(&prepared),
                    std::time::SystemTime::now(),
                )
                .await;
            if let Err(e) = redeemed {
                let rejection = Rejection::Approval(e.to_string());
                return self.reject(caller, &ids, &req, rejection, started).await;
            }
        }
        let p = &prepared;
        tracing::debug!(
            call = %call_id,
            tool = p.tool.name,
            principal = %caller.principal.id,
            endpoint = %p.endpoint.name,
            allowed = p.decision.allowed,
            "decided"
        );
        self.shadow(caller, &ids, p).await;
        let mut verdict = verdict::judge(p, caller, &self.policies());
        if verdict == Verdict::Allow {
            if let Err(throttled) = self
                .limits
                .take_shared(&caller.principal.id, p.tool.tier, Instant::now())
                .await
            {
                let limit = self.limits.limit(p.tool.tier).unwrap_or(RateLimit {
                    per_minute: 0,
                    burst: 0,
                });
                let (wait, store_unreachable) = match throttled {
                    ratelimit::Throttled::Wait(w) => (w, false),
                    ratelimit::Throttled::StoreUnreachable => {
                        (std::time::Duration::from_secs(5), true)
                    }
                };
                verdict = Verdict::RateLimited {
                    wait,
                    limit,
                    store_unreachable,
                };
            }
        }
        if verdict == Verdict::Allow {
            self.execute(caller, &ids, p, progress, started).await
        } else {
            // Not run (denied now, or rate-limited): still approved.
            if let Some(id) = &approval_id {
                if let Err(e) = self.approvals.release(id).await {
                    tracing::error!(approval = %id, error = %e, "an approved call that did not run could not be given back its approval");
                }
            }
            self.refuse(caller, &ids, p, &verdict, started).await
        }
    }

    /// A call that could not be prepared: record it, count it, say why.
    async fn reject(
        &self,
        caller: &Caller,
        ids: &records::Ids<'_>,
        req: &CallRequest<'_>,
        rejection: Rejection,
        started: Instant,
    ) -> Outcome {
        let tool = self.catalog.get(req.tool);
        let decision = rejection.decision();
        let message = verdict::rejection_message(&rejection, req.tool);
        let rec = records::refused(ids, caller, req.tool, tool, req.args, decision, &message);
        let audited = self.write(&rec).await;
        let metric_tool = if tool.is_some() { req.tool } else { "unknown" };
        self.metrics
            .call(metric_tool, decision.as_str(), started.elapsed());
        let _ = self
            .write(&records::outcome(
                ids,
                caller,
                req.tool,
                OutcomeKind::Rejected,
                None,
                started,
            ))
            .await;
        if let Err(e) = audited {
            return Outcome::Done(ToolResult::error(records::audit_failure(&e)));
        }
        match rejection {
            Rejection::UnknownTool => Outcome::UnknownTool(message),
            Rejection::InvalidArguments(_)
            | Rejection::Invalid(_)
            | Rejection::Unresolved(_)
            | Rejection::Approval(_) => Outcome::Done(ToolResult::error(message)),
        }
    }

    /// An allowed call: record the decision durably, then run it.
    async fn execute(
        &self,
        caller: &Caller,
        ids: &records::Ids<'_>,
        p: &Prepared<'_>,
        progress: Option<ProgressSink>,
        started: Instant,
    ) -> Outcome {
        if let Err(e) = self
            .write(&records::decision(
                ids,
                caller,
                p,
                DecisionKind::Allow,
                None,
            ))
            .await
        {
            // Invariant 2: nothing executes without a durable decision record.
            tracing::error!(error = %e, tool = p.tool.name, "audit write failed; refusing the call");
            return Outcome::Done(ToolResult::error(records::audit_failure(&e)));
        }
        let result = self
            .backends
            .execute(&p.endpoint.name, p.tool, &p.args, progress.as_ref())
            .await;
        let (status, err) = match &result {
            Ok(_) => (OutcomeKind::Ok, None),
            Err(e) => {
                self.metrics.backend_error(&p.endpoint.name, e.kind());
                (OutcomeKind::BackendError, Some(e))
            }
        };
        if let Err(e) = self
            .finish(ids, caller, p.tool.name, status, err, started)
            .await
        {
            tracing::error!(error = %e, tool = p.tool.name, "audit write failed for an outcome record");
        }
        Outcome::Done(match result {
            Ok(data) => ToolResult::done(&p.endpoint.name, data),
            Err(e) => ToolResult::error(format!("{} failed: {e}", p.tool.name)),
        })
    }

    /// A prepared call that does not run (denied, waiting for a
    /// confirmation, rate limited): its decision and outcome records, and
    /// what the agent is told. The decision record's failure is what
    /// counts: without it the refusal is unaccounted for.
    async fn refuse(
        &self,
        caller: &Caller,
        ids: &records::Ids<'_>,
        p: &Prepared<'_>,
        verdict: &Verdict,
        started: Instant,
    ) -> Outcome {
        let message = verdict::message(
            verdict,
            &verdict::Wording {
                caller,
                call: p,
                dry_run_source: &self.dry_run_source,
            },
        )
        .unwrap_or_default();
        match (verdict, verdict.refusal()) {
            (Verdict::RateLimited { .. }, _) => self.metrics.rate_limited(p.tool.tier.as_str()),
            (_, Some(refusal)) => {
                tracing::debug!(call = ids.call, tool = p.tool.name, principal = %caller.principal.id, refusal = refusal.as_str(), "call refused by policy");
            }
            _ => {}
        }
        let record = records::decision(ids, caller, p, verdict.decision(), Some(&message))
            .with_refusal(verdict.refusal());
        let audited = self.write(&record).await;
        let outcome = verdict.outcome().unwrap_or(OutcomeKind::Denied);
        let _ = self
            .finish(ids, caller, p.tool.name, outcome, None, started)
            .await;
        if let Err(e) = audited {
            return Outcome::Done(ToolResult::error(records::audit_failure(&e)));
        }
        match verdict {
            Verdict::NeedsConfirmation(verdict::ConfirmationKind::Elicitation) => {
                Outcome::NeedsHuman {
                    call_id: ids.call.to_string(),
                    prompt: message,
                }
            }
            Verdict::NeedsConfirmation(verdict::ConfirmationKind::Approval) => {
                let (text, parked) = self.park(caller, p, &message, ids.call).await;
                Outcome::Done(ToolResult {
                    parked,
                    ..ToolResult::error(text)
                })
            }
            Verdict::Allow
            | Verdict::Deny(_)
            | Verdict::RateLimited { .. }
            | Verdict::Rejected(_) => Outcome::Done(ToolResult::error(message)),
        }
    }
}

impl Gate {
    /// Open an approval request for a call only approvers can allow, and
    /// audit it; what the agent is told.
    /// What the agent is told, and the request's id when it is parked.
    async fn park(
        &self,
        caller: &Caller,
        p: &Prepared<'_>,
        message: &str,
        call: &str,
    ) -> (String, Option<String>) {
        if !self.approvals.answerable() {
            let told = format!(
                "{message} This server has neither an admin socket (admin_socket in [server]) nor approver \
                 keys ([[http.approver_keys]]), so no approver could answer a request: it was not parked. \
                 Ask an operator to configure one."
            );
            return (told, None);
        }
        let parked = crate::approval::Parked {
            requester: &caller.principal,
            tier: p.tool.tier.as_str(),
            destructive: p.context.destructive,
            key: approval_key(p),
            shown_args: records::shown_args(p),
            justification: &p.context.justification,
            policy_set: &p.policy_set,
        };
        let request = match self.open_approval(parked, Some(call)).await {
            Ok(r) => r,
            Err(OpenError::Audit(e)) => return (records::audit_failure(&e), None),
            Err(OpenError::Store(e)) => {
                return (format!("{message} It could not be parked: {e}"), None)
            }
        };
        tracing::info!(approval = %request.id, tool = p.tool.name, principal = %caller.principal.id, "call parked for approval");
        let told = format!(
            "{message} Approval request {id} is open (needs {n} approval{s}, expires {until}). \
             Approvers answer it (`portcullis approvals`, or the approvers' page). Once approved, call {tool} again \
             with exactly the same arguments and \"approval_id\": \"{id}\"; until then do not retry.",
            id = request.id,
            n = request.required,
            s = if request.required == 1 { "" } else { "s" },
            until = humantime::format_rfc3339_seconds(request.expires),
            tool = p.tool.name,
        );
        (told, Some(request.id))
    }

    /// The approval request for `call`: the one already open for that very
    /// call, or a new one, approvable only once its `requested` record is
    /// durable. `call_id` is the parked call's, when a tool call asked: the
    /// `requested` record names it, linking it to that call's decision.
    pub async fn open_approval(
        &self,
        call: crate::approval::Parked<'_>,
        call_id: Option<&str>,
    ) -> Result<crate::approval::ApprovalRequest, OpenError> {
        match self
            .approvals
            .prepare(call, std::time::SystemTime::now())
            .await
            .map_err(OpenError::Store)?
        {
            crate::approval::Opened::Existing(r) => Ok(r),
            crate::approval::Opened::New(r) => {
                let mut record = records::approval("requested", &r, None);
                if let Some(id) = call_id {
                    record["call"] = Value::from(id);
                }
                self.write(&record).await.map_err(OpenError::Audit)?;
                self.approvals
                    .insert(r.clone())
                    .await
                    .map_err(OpenError::Store)?;
                Ok(r)
            }
        }
    }

    /// The approval requests (approvers' side: [`crate::admin`]).
    pub fn approvals(&self) -> &Arc<crate::approval::Approvals> {
        &self.approvals
    }

    /// Approval requests live `ttl` and need `required` approvers.
    pub fn with_approvals(mut self, ttl: std::time::Duration, required: usize) -> Gate {
        self.approvals = Arc::new(crate::approval::Approvals::new(ttl, required));
        self
    }

    /// Share approval requests, break-glass grants and rate-limit buckets
    /// with other replicas through Redis (after the `with_*` that make
    /// them). Needs a Tokio runtime: grants are mirrored every second.
    pub fn with_shared_state(mut self, state: &crate::config::StateConfig) -> Gate {
        let redis = Arc::new(crate::state::Redis::new(state.redis.clone()));
        self.limits
            .share(redis.clone(), state.rate_limits_if_unreachable);
        self.approvals.share(redis.clone(), &state.binding_key);
        self.break_glass.share(redis.clone());
        self.shared = Some(redis);
        self
    }

    /// The store replicas share, if any.
    pub fn shared_state(&self) -> Option<&Arc<crate::state::Redis>> {
        self.shared.as_ref()
    }
}

/// What binds an approval to a call: the tool, its validated arguments
/// (`approval_id` aside), the endpoint and every resolved resource. The
/// tool by its own name, when called by another server's
/// ([`ToolDef::stands_for`]): approvers read, and their policies decide
/// on (`resource.tool`), the operation that will run, whichever name asked.
fn approval_key(p: &Prepared) -> crate::approval::ApprovalKey {
    let mut args = p.args.as_map().clone();
    args.remove(control::APPROVAL_ID);
    let mut targets: Vec<String> = p.resources.iter().map(EntitySpec::display).collect();
    targets.extend(p.guests.iter().map(|g| g.resource.clone()));
    crate::approval::ApprovalKey {
        tool: p.tool.action().to_string(),
        args: Value::Object(args),
        endpoint: p.endpoint.name.clone(),
        targets,
    }
}

#[cfg(test)]
mod refusal_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod verdict_tests;
