//! The gate: the one path every tool call takes.
//!
//! look up → validate → resolve endpoint and resource → authorize (Cedar)
//! → confirm → audit the decision durably → execute → audit the outcome.
//!
//! The gate knows nothing about HTTP or MCP framing; the server turns its
//! [`Outcome`] into MCP results.

mod caller;
mod ratelimit;
pub mod records;
mod resolve;

use std::sync::{Arc, RwLock};
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::audit::AuditLog;
use crate::backends::BackendError;
use crate::backends::{Backends, EndpointInfo, ProgressSink};
use crate::catalog::{control, validate, Catalog, Tier, ToolDef, ValidArgs};
use crate::config::RateLimit;
use crate::metrics::Metrics;
use crate::policy::{AuthzInput, Decision, EntitySpec, PolicyEngine};
use crate::principal::Principal;
use crate::util::{random_hex, UtcTime};

/// How (and whether) a destructive call was confirmed. Policies see it as
/// `context.confirmation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    None,
    /// The model's own word: `confirm: true` in the arguments.
    Argument,
    /// A human answered the client's elicitation prompt.
    Elicitation,
}

impl Confirmation {
    pub fn as_str(self) -> &'static str {
        match self {
            Confirmation::None => "none",
            Confirmation::Argument => "argument",
            Confirmation::Elicitation => "elicitation",
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
}

impl ToolResult {
    fn error(text: impl Into<String>) -> ToolResult {
        ToolResult {
            is_error: true,
            text: text.into(),
            structured: None,
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

/// A call that passed validation and resolution, with its decision.
pub struct Prepared<'g> {
    pub tool: &'g ToolDef,
    pub args: ValidArgs,
    pub endpoint: EndpointInfo,
    pub resources: Vec<EntitySpec>,
    pub context: Value,
    pub decision: Decision,
    pub confirmation: Confirmation,
}

/// Why a call could not be prepared.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    UnknownTool,
    Invalid(String),
    /// The backend could not say where the target is (no such VM, or the
    /// backend is unreachable).
    Unresolved(String),
}

pub struct Gate {
    catalog: Catalog,
    policies: RwLock<Arc<PolicyEngine>>,
    audit: Option<Arc<AuditLog>>,
    backends: Backends,
    limits: ratelimit::RateLimiter,
    metrics: Arc<Metrics>,
    /// How `portcullis dry-run` finds this configuration (`--config FILE`,
    /// `--lab`), so a refusal can print a command that runs as printed.
    dry_run_source: String,
}

fn context(
    tool: &ToolDef,
    args: &ValidArgs,
    confirmation: Confirmation,
    caller: &Caller,
    ep: &EndpointInfo,
    t: UtcTime,
) -> Value {
    let mut a: Map<String, Value> = args.as_map().clone();
    a.remove(control::CONFIRM);
    a.retain(|k, _| !tool.withheld_from_policy(k));
    json!({
        "args": a,
        "confirmed": confirmation != Confirmation::None,
        "confirmation": confirmation.as_str(),
        "transport": caller.transport.as_str(),
        "authentication": caller.authentication.as_str(),
        "client": caller.client,
        "endpoint": ep.name,
        "tls_verify": ep.tls_verify,
        "time": {"epoch": t.epoch, "hour": t.hour, "weekday": t.weekday, "date": t.date()},
    })
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
            audit,
            backends,
            limits: ratelimit::RateLimiter::new(&[]),
            metrics: Arc::new(Metrics::default()),
            dry_run_source: String::new(),
        }
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
    }

    /// Record an event that is not a tool call (authentication, reloads).
    pub async fn audit_event(&self, record: Value) -> Result<(), String> {
        self.write(record).await
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

    /// Tools a principal could be allowed to call: those with a permit
    /// policy whose scope matches, on a backend that is configured.
    pub fn visible_tools(&self, principal: &Principal) -> Vec<&ToolDef> {
        let engine = self.policies();
        self.catalog
            .tools()
            .iter()
            .filter(|t| self.backends.endpoints().any(|e| e.backend == t.backend))
            .filter(|t| engine.may_permit(principal, t.name))
            .collect()
    }

    fn authorize(
        &self,
        caller: &Caller,
        p: &Prepared,
        confirmation: Confirmation,
    ) -> Result<Decision, String> {
        let context = context(
            p.tool,
            &p.args,
            confirmation,
            caller,
            &p.endpoint,
            UtcTime::now(),
        );
        let input = AuthzInput {
            principal: &caller.principal,
            action: p.tool.name,
            resources: &p.resources,
            context,
        };
        self.policies().authorize(&input).map_err(|e| e.to_string())
    }

    /// Look up the tool, validate the arguments, pick the endpoint.
    fn check(&self, req: &CallRequest) -> Result<(&ToolDef, ValidArgs, EndpointInfo), Refusal> {
        let tool = self.catalog.get(req.tool).ok_or(Refusal::UnknownTool)?;
        let args = validate(tool, req.args).map_err(|e| Refusal::Invalid(e.to_string()))?;
        let endpoint = self
            .backends
            .pick(tool.backend, args.str(control::ENDPOINT))
            .map_err(Refusal::Invalid)?
            .clone();
        // The endpoint's own rules (configured regions …): refused here,
        // before any backend is contacted.
        (tool.backend.plug().check_call)(&endpoint, &args).map_err(Refusal::Invalid)?;
        Ok((tool, args, endpoint))
    }

    /// Look up, validate, resolve from the arguments alone and authorize,
    /// without side effects and without contacting any backend (policy
    /// tests, offline dry runs).
    pub fn prepare(&self, caller: &Caller, req: &CallRequest) -> Result<Prepared<'_>, Refusal> {
        let (tool, args, endpoint) = self.check(req)?;
        let resources = resolve::resources(tool, &args, &endpoint);
        self.decide(caller, req, tool, args, endpoint, resources)
    }

    /// As [`prepare`], but asks the backend where the target lives when
    /// the arguments cannot say (vSphere: folder, pool, host, cluster).
    /// Read-only on the backend.
    pub async fn prepare_live(
        &self,
        caller: &Caller,
        req: &CallRequest<'_>,
    ) -> Result<Prepared<'_>, Refusal> {
        let (tool, args, endpoint) = self.check(req)?;
        let with_tags = self.policies().reads_tags();
        let resources = match self
            .backends
            .locate(&endpoint.name, tool, &args, with_tags)
            .await
        {
            Ok(Some(found)) => resolve::located(found, &endpoint),
            Ok(None) => resolve::resources(tool, &args, &endpoint),
            Err(e) => return Err(Refusal::Unresolved(e.to_string())),
        };
        self.decide(caller, req, tool, args, endpoint, resources)
    }

    fn decide<'g>(
        &'g self,
        caller: &Caller,
        req: &CallRequest,
        tool: &'g ToolDef,
        args: ValidArgs,
        endpoint: EndpointInfo,
        resources: Vec<EntitySpec>,
    ) -> Result<Prepared<'g>, Refusal> {
        let confirmation = match req.confirmation {
            Confirmation::None if args.bool(control::CONFIRM) == Some(true) => {
                Confirmation::Argument
            }
            c => c,
        };
        let ctx = context(tool, &args, confirmation, caller, &endpoint, UtcTime::now());
        let input = AuthzInput {
            principal: &caller.principal,
            action: tool.name,
            resources: &resources,
            context: ctx.clone(),
        };
        let decision = self
            .policies()
            .authorize(&input)
            .map_err(|e| Refusal::Invalid(e.to_string()))?;
        Ok(Prepared {
            tool,
            args,
            endpoint,
            resources,
            context: ctx,
            decision,
            confirmation,
        })
    }

    /// The Cedar request of a prepared call, for dry runs.
    pub fn request_json(&self, caller: &Caller, p: &Prepared) -> Value {
        let input = AuthzInput {
            principal: &caller.principal,
            action: p.tool.name,
            resources: &p.resources,
            context: p.context.clone(),
        };
        self.policies().request_json(&input)
    }

    async fn write(&self, record: Value) -> Result<(), String> {
        let Some(audit) = self.audit.clone() else {
            return Err("no audit log is configured".into());
        };
        tokio::task::spawn_blocking(move || audit.append(record))
            .await
            .map_err(|e| format!("audit writer failed: {e}"))?
            .map_err(|e| e.to_string())
    }

    /// The outcome record, and the call's metrics: every call ends here.
    async fn finish(
        &self,
        ids: &records::Ids<'_>,
        caller: &Caller,
        tool: &str,
        status: &str,
        err: Option<&BackendError>,
        started: Instant,
    ) -> Result<(), String> {
        self.metrics.call(tool, status, started.elapsed());
        self.write(records::outcome(ids, caller, tool, status, err, started))
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
        if let Err(e) = self.write(rec).await {
            tracing::error!(error = %e, "audit write failed for a confirmation answer");
        }
        ToolResult::error(format!(
            "{tool} was not run: the human {answer} the confirmation. Do not retry unless they ask you to."
        ))
    }

    /// Take one call through the whole path.
    pub async fn call(
        &self,
        caller: &Caller,
        req: CallRequest<'_>,
        progress: Option<ProgressSink>,
    ) -> Outcome {
        let started = Instant::now();
        let call_id = random_hex(8);
        tracing::trace!(call = %call_id, tool = %records::clip(req.tool), transport = caller.transport.as_str(), "call received");
        let ids = records::Ids {
            call: &call_id,
            confirms: req.confirms.as_deref(),
        };
        let prepared = match self.prepare_live(caller, &req).await {
            Ok(p) => p,
            Err(refusal) => {
                let tool = self.catalog.get(req.tool);
                let (decision, message) = match &refusal {
                    Refusal::UnknownTool => (
                        "unknown_tool",
                        format!("unknown tool {:?}", records::clip(req.tool)),
                    ),
                    Refusal::Invalid(m) => (
                        "invalid",
                        format!("invalid arguments for {}: {m}", req.tool),
                    ),
                    Refusal::Unresolved(m) => (
                        "unresolved",
                        format!(
                            "{} was not run: its target could not be found: {m}",
                            req.tool
                        ),
                    ),
                };
                let rec =
                    records::refused(&ids, caller, req.tool, tool, req.args, decision, &message);
                let audited = self.write(rec).await;
                let metric_tool = if tool.is_some() { req.tool } else { "unknown" };
                self.metrics.call(metric_tool, decision, started.elapsed());
                let _ = self
                    .write(records::outcome(
                        &ids, caller, req.tool, "rejected", None, started,
                    ))
                    .await;
                if let Err(e) = audited {
                    return Outcome::Done(ToolResult::error(records::audit_failure(&e)));
                }
                return match refusal {
                    Refusal::UnknownTool => Outcome::UnknownTool(message),
                    Refusal::Invalid(_) | Refusal::Unresolved(_) => {
                        Outcome::Done(ToolResult::error(message))
                    }
                };
            }
        };
        let p = &prepared;
        tracing::debug!(
            call = %call_id,
            tool = p.tool.name,
            principal = %caller.principal.id,
            endpoint = %p.endpoint.name,
            allowed = p.decision.allowed,
            "decided"
        );
        if !p.decision.allowed {
            return self.refuse(caller, &ids, p, started).await;
        }
        if let Err(wait) = self
            .limits
            .take(&caller.principal.id, p.tool.tier, Instant::now())
        {
            return self.rate_limited(caller, &ids, p, started, wait).await;
        }
        if let Err(e) = self
            .write(records::decision(&ids, caller, p, "allow", None))
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
            Ok(_) => ("ok", None),
            Err(e) => {
                self.metrics.backend_error(&p.endpoint.name, e.kind());
                ("backend_error", Some(e))
            }
        };
        if let Err(e) = self
            .finish(&ids, caller, p.tool.name, status, err, started)
            .await
        {
            tracing::error!(error = %e, tool = p.tool.name, "audit write failed for an outcome record");
        }
        Outcome::Done(match result {
            Ok(data) => ToolResult {
                is_error: false,
                text: serde_json::to_string_pretty(&data).unwrap_or_default(),
                structured: Some(json!({"endpoint": p.endpoint.name, "result": data})),
            },
            Err(e) => ToolResult::error(format!("{} failed: {e}", p.tool.name)),
        })
    }

    /// A denied call: which kind of refusal is it? A confirmation of some
    /// kind would allow it; a named forbid decided it; or nothing permits it.
    async fn refuse(
        &self,
        caller: &Caller,
        ids: &records::Ids<'_>,
        p: &Prepared<'_>,
        started: Instant,
    ) -> Outcome {
        let target = p
            .resources
            .first()
            .map(EntitySpec::display)
            .unwrap_or_default();
        let allowed_with = |c| self.authorize(caller, p, c).is_ok_and(|d| d.allowed);
        // A human's answer is the strongest confirmation: worth asking for
        // unless one was already given, even if `confirm: true` was passed.
        let by_human =
            p.confirmation != Confirmation::Elicitation && allowed_with(Confirmation::Elicitation);
        let by_argument =
            p.confirmation == Confirmation::None && allowed_with(Confirmation::Argument);
        let kind = if p.tool.destructive {
            "destructive"
        } else {
            "guarded by policy"
        };
        let (decision, outcome, refusal, message) = if by_human && caller.can_elicit {
            let prompt = format!(
                "{} wants to run {} ({}) on {target}{}. Allow it?",
                caller.principal.id,
                p.tool.name,
                p.tool.title,
                if p.tool.destructive {
                    ", a destructive action"
                } else {
                    ""
                }
            );
            (
                "confirmation_required",
                "awaiting_confirmation",
                "needs_confirmation",
                prompt,
            )
        } else if by_argument {
            (
                "deny",
                "denied",
                "needs_confirmation",
                format!(
                    "{} on {target} needs confirmation: it is {kind}. Ask the human to confirm, then call it again with \"confirm\": true.",
                    p.tool.name,
                ),
            )
        } else if by_human {
            (
                "deny",
                "denied",
                "needs_elicitation",
                format!(
                    "{} on {target} needs a human's confirmation through the MCP client (elicitation){}, and this client cannot ask; \
                     run it from a client that supports elicitation.",
                    p.tool.name,
                    if p.confirmation == Confirmation::Argument {
                        ": policy does not accept \"confirm\": true for it"
                    } else {
                        ""
                    }
                ),
            )
        } else if !p.decision.policies.is_empty() && self.some_permit_holds(caller, p) {
            // A denial's determining policies are the forbids that held.
            let engine = self.policies();
            let named: Vec<String> = p
                .decision
                .policies
                .iter()
                .map(|id| match engine.reason(id) {
                    Some(r) => format!("{id} ({r})"),
                    None => id.clone(),
                })
                .collect();
            (
                "deny",
                "denied",
                "forbidden",
                format!(
                    "{} may not call {} on {target}: forbidden by policy {}. Do not retry; if this is needed, an operator can check with \
                     `{}` and change the policies.",
                    caller.principal.id,
                    p.tool.name,
                    named.join(", "),
                    self.dry_run_hint(caller, p)
                ),
            )
        } else {
            (
                "deny",
                "denied",
                "no_permit",
                format!(
                    "{} may not call {} on {target}: no policy permits it. Do not retry; if this is needed, an operator can check with \
                     `{}` and change the policies.",
                    caller.principal.id,
                    p.tool.name,
                    self.dry_run_hint(caller, p)
                ),
            )
        };
        tracing::debug!(call = ids.call, tool = p.tool.name, principal = %caller.principal.id, refusal, "call refused by policy");
        if let Err(e) = self
            .record_refusal(
                ids,
                caller,
                p,
                (decision, outcome, Some(refusal)),
                &message,
                started,
            )
            .await
        {
            return Outcome::Done(ToolResult::error(records::audit_failure(&e)));
        }
        if decision == "confirmation_required" {
            return Outcome::NeedsHuman {
                call_id: ids.call.to_string(),
                prompt: message,
            };
        }
        Outcome::Done(ToolResult::error(message))
    }

    /// Was the call denied despite a permit (so a forbid decided it)?
    fn some_permit_holds(&self, caller: &Caller, p: &Prepared) -> bool {
        let input = AuthzInput {
            principal: &caller.principal,
            action: p.tool.name,
            resources: &p.resources,
            context: p.context.clone(),
        };
        self.policies().some_permit_holds(&input).unwrap_or(false)
    }

    /// A `portcullis dry-run` command line that decides this very call
    /// again: this configuration, this principal and groups, these
    /// arguments (secrets replaced), quoted for a POSIX shell.
    fn dry_run_hint(&self, caller: &Caller, p: &Prepared) -> String {
        let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
        let mut cmd = vec!["portcullis dry-run".to_string()];
        if !self.dry_run_source.is_empty() {
            cmd.push(self.dry_run_source.clone());
        }
        cmd.push(format!("--as {}", quote(&caller.principal.id)));
        for g in &caller.principal.groups {
            cmd.push(format!("--group {}", quote(g)));
        }
        cmd.push(p.tool.name.to_string());
        let mut args = p.args.as_map().clone();
        args.remove(control::CONFIRM);
        for (k, v) in &mut args {
            if p.tool.is_secret(k) || p.tool.is_content(k) {
                *v = Value::String("…".into());
            }
        }
        cmd.push(quote(&Value::Object(args).to_string()));
        if p.confirmation != Confirmation::None {
            cmd.push(format!("--confirmation {}", p.confirmation.as_str()));
        }
        cmd.join(" ")
    }

    /// Allowed by policy, but over the principal's rate for this tier.
    async fn rate_limited(
        &self,
        caller: &Caller,
        ids: &records::Ids<'_>,
        p: &Prepared<'_>,
        started: Instant,
        wait: std::time::Duration,
    ) -> Outcome {
        let tier = p.tool.tier.as_str();
        self.metrics.rate_limited(tier);
        let limit = self.limits.limit(p.tool.tier);
        let message = format!(
            "rate limit: {} may make {} {tier}-tier calls per minute (bursts of {}); {} was not run. Retry in {} s.",
            caller.principal.id,
            limit.map_or(0, |l| l.per_minute),
            limit.map_or(0, |l| l.burst),
            p.tool.name,
            wait.as_secs().max(1)
        );
        let result = self
            .record_refusal(
                ids,
                caller,
                p,
                ("rate_limited", "rate_limited", None),
                &message,
                started,
            )
            .await;
        Outcome::Done(ToolResult::error(match result {
            Ok(()) => message,
            Err(e) => records::audit_failure(&e),
        }))
    }

    /// The decision and outcome records of a call that does not run. The
    /// decision record's failure is what counts: without it the refusal
    /// is unaccounted for.
    async fn record_refusal(
        &self,
        ids: &records::Ids<'_>,
        caller: &Caller,
        p: &Prepared<'_>,
        (decision, outcome, refusal): (&str, &str, Option<&str>),
        message: &str,
        started: Instant,
    ) -> Result<(), String> {
        let mut record = records::decision(ids, caller, p, decision, Some(message));
        if let Some(kind) = refusal {
            record["refusal"] = Value::from(kind);
        }
        let audited = self.write(record).await;
        let _ = self
            .finish(ids, caller, p.tool.name, outcome, None, started)
            .await;
        audited
    }
}

#[cfg(test)]
mod refusal_tests;
#[cfg(test)]
mod tests;
