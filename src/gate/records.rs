//! The shape of audit records. Every call leaves a decision record and an
//! outcome record sharing a call id; the audit writer adds seq, ts and the
//! hash chain.

use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::verdict::{DecisionKind, OutcomeKind, RefusalKind};
use super::{Caller, Prepared};
use crate::backends::BackendError;
use crate::catalog::{control, ToolDef};

/// Longest string kept from an argument value or name.
const MAX_STRING: usize = 256;
/// Most fields kept from one object.
const MAX_FIELDS: usize = 32;
/// Deepest nesting kept.
const MAX_DEPTH: usize = 3;

pub struct Ids<'a> {
    pub call: &'a str,
    pub confirms: Option<&'a str>,
    /// The approval request the call runs under.
    pub approval: Option<&'a str>,
}

/// Cut a caller-chosen string to a bounded length.
pub fn clip(s: &str) -> String {
    if s.len() <= MAX_STRING {
        return s.to_string();
    }
    let mut cut = MAX_STRING;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…[{} bytes]", &s[..cut], s.len())
}

/// Bound any JSON value (raw, possibly hostile arguments) for the log.
pub fn sanitize(v: &Value, depth: usize) -> Value {
    match v {
        Value::String(s) => Value::String(clip(s)),
        Value::Array(items) if depth < MAX_DEPTH => Value::Array(
            items
                .iter()
                .take(MAX_FIELDS)
                .map(|i| sanitize(i, depth + 1))
                .collect(),
        ),
        Value::Object(map) if depth < MAX_DEPTH => {
            let m: Map<String, Value> = map
                .iter()
                .take(MAX_FIELDS)
                .map(|(k, v)| (clip(k), sanitize(v, depth + 1)))
                .collect();
            Value::Object(m)
        }
        Value::Array(_) | Value::Object(_) => Value::String("[nested too deep]".into()),
        other => other.clone(),
    }
}

#[derive(Serialize)]
struct PrincipalRef<'a> {
    id: &'a str,
    groups: &'a [String],
}

/// The keys every call record starts with.
#[derive(Serialize)]
struct Base<'a> {
    kind: &'static str,
    call: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirms: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approval: Option<&'a str>,
    principal: PrincipalRef<'a>,
    transport: &'static str,
    authentication: &'static str,
    client: String,
    tool: String,
    /// The break-glass grants the call was made under.
    #[serde(skip_serializing_if = "Option::is_none")]
    break_glass: Option<&'a str>,
}

impl<'a> Base<'a> {
    fn new(ids: &Ids<'a>, caller: &'a Caller, kind: &'static str, tool: &str) -> Base<'a> {
        Base {
            kind,
            call: ids.call,
            confirms: ids.confirms,
            approval: ids.approval,
            principal: PrincipalRef {
                id: &caller.principal.id,
                groups: &caller.principal.groups,
            },
            transport: caller.transport.as_str(),
            authentication: caller.authentication.as_str(),
            client: clip(&caller.client),
            tool: clip(tool),
            break_glass: caller.break_glass.as_deref(),
        }
    }
}

/// What a record says about the tool itself.
#[derive(Serialize)]
struct ToolFacts {
    tier: &'static str,
    /// Whether this call destroys, when its arguments are known (a
    /// conditionally destructive tool with the enabling argument unset
    /// is not); before validation, whether the tool may.
    destructive: bool,
    backend: &'static str,
}

impl ToolFacts {
    fn of(tool: &ToolDef, destructive: bool) -> ToolFacts {
        ToolFacts {
            tier: tool.tier.as_str(),
            destructive,
            backend: tool.backend.as_str(),
        }
    }
}

/// Arguments for the log: secret parameters replaced, everything bounded.
/// Only a declared argument's value is kept: one the tool does not know
/// (another server's `password`, a misspelt name), or any argument of a
/// tool that does not exist, may be a credential, so its name is recorded
/// and its value is not.
fn logged_args(tool: Option<&ToolDef>, args: &Value) -> Value {
    let mut args = args.clone();
    if let Value::Object(m) = &mut args {
        for (k, v) in m.iter_mut() {
            let declared = tool.is_some_and(|t| t.accepts(k) && !t.dropped.contains(&k.as_str()));
            match tool {
                Some(t) if declared && t.is_secret(k) => *v = Value::String("[redacted]".into()),
                Some(t) if declared && t.is_content(k) => *v = content_digest(v),
                Some(_) if declared => {}
                _ => *v = Value::String("[not recorded: not an argument of this tool]".into()),
            }
        }
    }
    sanitize(&args, 0)
}

/// File content as the log keeps it: how long it was and its SHA-256, so
/// an upload can be matched to a file without the log holding the file.
fn content_digest(v: &Value) -> Value {
    match v.as_str() {
        Some(s) => json!({"bytes": s.len(), "sha256": crate::util::sha256_hex(s.as_bytes())}),
        None => Value::String("[content]".into()),
    }
}

/// Records print as the JSON object the audit log takes (for tests and
/// benches; the gate hands the record itself to the writer).
macro_rules! display_as_json {
    ($($t:ident),*) => {$(
        impl std::fmt::Display for $t<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&serde_json::to_string(self).map_err(|_| std::fmt::Error)?)
            }
        }
    )*};
}

display_as_json!(
    RefusedRecord,
    DecisionRecord,
    OutcomeRecord,
    ConfirmationRecord,
    HttpRefusedRecord,
    PolicyReloadRecord
);

/// A call refused before authorization (unknown tool, invalid arguments,
/// unresolved target).
#[derive(Serialize)]
pub struct RefusedRecord<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    #[serde(flatten)]
    facts: Option<ToolFacts>,
    args: Value,
    decision: DecisionKind,
    reason: String,
}

pub fn refused<'a>(
    ids: &Ids<'a>,
    caller: &'a Caller,
    tool_name: &str,
    tool: Option<&ToolDef>,
    raw_args: Option<&Value>,
    decision: DecisionKind,
    message: &str,
) -> RefusedRecord<'a> {
    RefusedRecord {
        base: Base::new(ids, caller, "decision", tool_name),
        facts: tool.map(|t| ToolFacts::of(t, t.destructive)),
        args: raw_args.map_or(Value::Null, |a| logged_args(tool, a)),
        decision,
        reason: clip(message),
    }
}

/// An authorization decision.
#[derive(Serialize)]
pub struct DecisionRecord<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    #[serde(flatten)]
    facts: ToolFacts,
    endpoint: &'a str,
    endpoint_host: &'a str,
    tls_verify: bool,
    resource: Option<String>,
    args: Value,
    confirmation: &'static str,
    /// Why the caller says the call is made, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<&'a str>,
    decision: DecisionKind,
    policies: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    policy_errors: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<RefusalKind>,
    /// A bulk call's decision for each guest.
    #[serde(skip_serializing_if = "<[super::GuestDecision]>::is_empty")]
    guests: &'a [super::GuestDecision],
    /// What decided: the policy set's digest (its texts are kept beside
    /// the log), the configuration's, and the Cedar request itself, so
    /// `audit explain` can decide it again.
    policy_set: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<&'a str>,
    cedar: Value,
}

impl DecisionRecord<'_> {
    /// Which kind of policy refusal this decision is.
    pub fn with_refusal(mut self, refusal: Option<RefusalKind>) -> Self {
        self.refusal = refusal;
        self
    }
}

/// A prepared call's arguments as records and approvers see them: the
/// control arguments out, secrets withheld.
pub fn shown_args(p: &Prepared) -> Value {
    let mut args = p.args.as_map().clone();
    args.retain(|k, _| !control::NOT_IN_ARGS.contains(&k.as_str()));
    logged_args(Some(p.tool), &Value::Object(args))
}

/// An approval request's record: `requested`, `approved`, `denied`,
/// `expired`; `by` is who answered (approver, or the process).
pub fn approval(
    event: &'static str,
    request: &crate::approval::ApprovalRequest,
    by: Option<&str>,
) -> Value {
    let mut v = serde_json::to_value(request).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        let id = m.remove("id").unwrap_or(Value::Null);
        m.insert("approval".into(), id);
        m.insert("kind".into(), Value::from("approval"));
        m.insert("event".into(), Value::from(event));
        if let Some(by) = by {
            m.insert("by".into(), Value::from(by));
        }
    }
    v
}

pub fn decision<'a>(
    ids: &Ids<'a>,
    caller: &'a Caller,
    p: &'a Prepared,
    decision: DecisionKind,
    reason: Option<&'a str>,
) -> DecisionRecord<'a> {
    DecisionRecord {
        base: Base::new(ids, caller, "decision", p.tool.name),
        facts: ToolFacts::of(p.tool, p.context.destructive),
        endpoint: &p.endpoint.name,
        endpoint_host: &p.endpoint.host,
        tls_verify: p.endpoint.tls_verify,
        resource: p.resources.first().map(|r| r.display()),
        args: shown_args(p),
        confirmation: p.confirmation.as_str(),
        justification: p.args.str(control::JUSTIFICATION),
        decision,
        policies: &p.decision.policies,
        policy_errors: &p.decision.errors,
        reason,
        refusal: None,
        guests: &p.guests,
        policy_set: &p.policy_set,
        config: p.config.as_deref(),
        cedar: cedar_request(caller, p),
    }
}

/// A call the candidate policy set (shadow mode) decides differently from
/// the live one: what each decided and why. Never enforced.
#[derive(Serialize)]
pub struct ShadowRecord<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    endpoint: &'a str,
    resource: Option<String>,
    /// The live set's decision, which was enforced.
    live: &'static str,
    live_policies: &'a [String],
    /// The candidate set's: `allow`, `deny`, or `error` (the request could
    /// not be evaluated by it).
    candidate: &'static str,
    candidate_policies: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    candidate_errors: Vec<String>,
    candidate_set: &'a str,
}

fn allow_or_deny(allowed: bool) -> &'static str {
    if allowed {
        "allow"
    } else {
        "deny"
    }
}

pub fn shadow<'a>(
    ids: &Ids<'a>,
    caller: &'a Caller,
    p: &'a Prepared,
    candidate_set: &'a str,
    candidate: &Result<crate::policy::Decision, crate::policy::PolicyError>,
) -> ShadowRecord<'a> {
    let (decided, policies, errors) = match candidate {
        Ok(d) => (
            allow_or_deny(d.allowed),
            d.policies.clone(),
            d.errors.clone(),
        ),
        Err(e) => ("error", Vec::new(), vec![e.to_string()]),
    };
    ShadowRecord {
        base: Base::new(ids, caller, "shadow", p.tool.name),
        endpoint: &p.endpoint.name,
        resource: p.resources.first().map(|r| r.display()),
        live: allow_or_deny(p.decision.allowed),
        live_policies: &p.decision.policies,
        candidate: decided,
        candidate_policies: policies,
        candidate_errors: errors,
        candidate_set,
    }
}

/// The Cedar request a prepared call was decided on, as JSON.
pub fn cedar_request(caller: &Caller, p: &Prepared) -> Value {
    crate::policy::request_json(&crate::policy::AuthzInput {
        principal: &caller.principal,
        action: p.tool.action(),
        resources: &p.resources,
        context: &p.context,
    })
}

/// A policy set was loaded (at start, or by a reload): its digest, each
/// file's, and where its texts are kept.
pub fn policy_loaded(
    trigger: &str,
    engine: &crate::policy::PolicyEngine,
    config: Option<&str>,
    stored: &std::path::Path,
) -> Value {
    let files: Vec<Value> = engine
        .sources()
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name,
                "sha256": crate::util::sha256_hex(s.text.as_bytes()),
                "bytes": s.text.len(),
            })
        })
        .collect();
    serde_json::json!({
        "kind": "policy_loaded",
        "trigger": trigger,
        "policy_set": &**engine.digest(),
        "policies": engine.len(),
        "files": files,
        "config": config,
        "stored": stored.file_name().map(|n| n.to_string_lossy().into_owned()),
        "portcullis": env!("CARGO_PKG_VERSION"),
    })
}

/// What happened after the decision.
#[derive(Serialize)]
pub struct OutcomeRecord<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    outcome: OutcomeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    duration_us: u64,
}

pub fn outcome<'a>(
    ids: &Ids<'a>,
    caller: &'a Caller,
    tool: &str,
    status: OutcomeKind,
    err: Option<&BackendError>,
    started: Instant,
) -> OutcomeRecord<'a> {
    OutcomeRecord {
        base: Base::new(ids, caller, "outcome", tool),
        outcome: status,
        error_kind: err.map(BackendError::kind),
        error: err.map(ToString::to_string),
        duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    }
}

/// A human's answer to a confirmation that did not approve the call.
#[derive(Serialize)]
pub struct ConfirmationRecord<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    answer: &'a str,
}

pub fn confirmation_answer<'a>(
    caller: &'a Caller,
    tool: &str,
    call_id: &'a str,
    answer: &'a str,
) -> ConfirmationRecord<'a> {
    let ids = Ids {
        call: call_id,
        confirms: None,
        approval: None,
    };
    ConfirmationRecord {
        base: Base::new(&ids, caller, "confirmation", tool),
        answer,
    }
}

/// An HTTP request refused before it reached the MCP service.
#[derive(Serialize)]
pub struct HttpRefusedRecord<'a> {
    kind: &'static str,
    reason: &'a str,
    detail: &'a str,
    remote: String,
    method: &'a str,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<&'a str>,
}

pub fn http_refused<'a>(
    reason: &'a str,
    detail: &'a str,
    remote: std::net::SocketAddr,
    method: &'a str,
    path: &'a str,
    principal: Option<&'a str>,
) -> HttpRefusedRecord<'a> {
    HttpRefusedRecord {
        kind: "http_refused",
        reason,
        detail,
        remote: remote.to_string(),
        method,
        path,
        principal,
    }
}

/// A policy reload: applied, refused, or (when forced) unchanged.
#[derive(Serialize)]
pub struct PolicyReloadRecord<'a> {
    kind: &'static str,
    trigger: &'a str,
    result: &'a str,
    dir: &'a str,
    digest: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    policies: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

pub fn policy_reload<'a>(
    trigger: &'a str,
    result: &'a str,
    dir: &'a str,
    digest: &'a str,
    policies: Option<usize>,
    error: Option<&'a str>,
) -> PolicyReloadRecord<'a> {
    PolicyReloadRecord {
        kind: "policy_reload",
        trigger,
        result,
        dir,
        digest,
        policies,
        error,
    }
}

pub fn audit_failure(e: &str) -> String {
    format!(
        "refused: the audit log cannot be written ({e}), and Portcullis does not act without a durable record. \
         An operator must fix the audit log; retrying will not help until then."
    )
}
