//! The shape of audit records. Every call leaves a decision record and an
//! outcome record sharing a call id; the audit writer adds seq, ts and the
//! hash chain.

use std::time::Instant;

use serde_json::{json, Map, Value};

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

fn principal(caller: &Caller) -> Value {
    json!({"id": caller.principal.id, "groups": caller.principal.groups})
}

fn base(ids: &Ids, caller: &Caller, kind: &str, tool: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kind".into(), json!(kind));
    m.insert("call".into(), json!(ids.call));
    if let Some(c) = ids.confirms {
        m.insert("confirms".into(), json!(c));
    }
    m.insert("principal".into(), principal(caller));
    m.insert("transport".into(), json!(caller.transport.as_str()));
    m.insert(
        "authentication".into(),
        json!(caller.authentication.as_str()),
    );
    m.insert("client".into(), json!(clip(&caller.client)));
    m.insert("tool".into(), json!(clip(tool)));
    m
}

fn tool_facts(m: &mut Map<String, Value>, tool: &ToolDef) {
    m.insert("tier".into(), json!(tool.tier.as_str()));
    m.insert("destructive".into(), json!(tool.destructive));
    m.insert("backend".into(), json!(tool.backend.as_str()));
}

/// Arguments for the log: secret parameters replaced, everything bounded.
fn logged_args(tool: Option<&ToolDef>, args: &Value) -> Value {
    let mut args = args.clone();
    if let (Some(t), Value::Object(m)) = (tool, &mut args) {
        for (k, v) in m.iter_mut() {
            if t.is_secret(k) {
                *v = Value::String("[redacted]".into());
            } else if t.is_content(k) {
                *v = content_digest(v);
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

/// A call refused before authorization (unknown tool, invalid arguments).
pub fn refused(
    ids: &Ids,
    caller: &Caller,
    tool_name: &str,
    tool: Option<&ToolDef>,
    raw_args: Option<&Value>,
    decision: &str,
    message: &str,
) -> Value {
    let mut m = base(ids, caller, "decision", tool_name);
    if let Some(t) = tool {
        tool_facts(&mut m, t);
    }
    m.insert(
        "args".into(),
        raw_args.map_or(Value::Null, |a| logged_args(tool, a)),
    );
    m.insert("decision".into(), json!(decision));
    m.insert("reason".into(), json!(clip(message)));
    Value::Object(m)
}

/// An authorization decision.
pub fn decision(
    ids: &Ids,
    caller: &Caller,
    p: &Prepared,
    decision: &str,
    reason: Option<&str>,
) -> Value {
    let mut m = base(ids, caller, "decision", p.tool.name);
    tool_facts(&mut m, p.tool);
    m.insert("endpoint".into(), json!(p.endpoint.name));
    m.insert("endpoint_host".into(), json!(p.endpoint.host));
    m.insert("tls_verify".into(), json!(p.endpoint.tls_verify));
    m.insert(
        "resource".into(),
        json!(p.resources.first().map(|r| r.display())),
    );
    let mut args = p.args.as_map().clone();
    args.remove(control::CONFIRM);
    m.insert(
        "args".into(),
        logged_args(Some(p.tool), &Value::Object(args)),
    );
    m.insert("confirmation".into(), json!(p.confirmation.as_str()));
    m.insert("decision".into(), json!(decision));
    m.insert("policies".into(), json!(p.decision.policies));
    if !p.decision.errors.is_empty() {
        m.insert("policy_errors".into(), json!(p.decision.errors));
    }
    if let Some(r) = reason {
        m.insert("reason".into(), json!(r));
    }
    Value::Object(m)
}

/// What happened after the decision.
pub fn outcome(
    ids: &Ids,
    caller: &Caller,
    tool: &str,
    status: &str,
    err: Option<&BackendError>,
    started: Instant,
) -> Value {
    let mut m = base(ids, caller, "outcome", tool);
    m.insert("outcome".into(), json!(status));
    if let Some(e) = err {
        m.insert("error_kind".into(), json!(e.kind()));
        m.insert("error".into(), json!(e.to_string()));
    }
    m.insert(
        "duration_us".into(),
        json!(started.elapsed().as_micros() as u64),
    );
    Value::Object(m)
}

/// A human's answer to a confirmation that did not approve the call.
pub fn confirmation_answer(caller: &Caller, tool: &str, call_id: &str, answer: &str) -> Value {
    let ids = Ids {
        call: call_id,
        confirms: None,
    };
    let mut m = base(&ids, caller, "confirmation", tool);
    m.insert("answer".into(), json!(answer));
    Value::Object(m)
}

pub fn audit_failure(e: &str) -> String {
    format!(
        "refused: the audit log cannot be written ({e}), and Portcullis does not act without a durable record. \
         An operator must fix the audit log; retrying will not help until then."
    )
}
