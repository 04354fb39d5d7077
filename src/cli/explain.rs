//! `portcullis audit explain CALL --log FILE`: the answer to "why was this
//! allowed on that day?". The decision record names the policy set that
//! decided it (kept by digest beside the log) and carries the Cedar request;
//! the request is decided again with that set, and the determining policies
//! are shown with their text.

use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use super::CliResult;
use crate::audit::policy_store;
use crate::catalog::Catalog;
use crate::policy::PolicyEngine;

pub fn run(call: &str, log: &Path) -> CliResult<ExitCode> {
    outln!(
        "(records read as they are: `portcullis audit verify {}` checks that they were not edited)",
        log.display()
    );
    let text =
        std::fs::read_to_string(log).map_err(|e| format!("cannot read {}: {e}", log.display()))?;
    let decisions: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["kind"] == "decision" && r["call"] == call)
        .collect();
    if decisions.is_empty() {
        return Err(format!(
            "{}: no decision record for call {call}",
            log.display()
        ));
    }
    let mut agree = true;
    for rec in &decisions {
        agree &= explain_one(rec, log)?;
    }
    Ok(if agree {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("?")
}

/// Explain one decision record; whether deciding it again agrees.
fn explain_one(rec: &Value, log: &Path) -> CliResult<bool> {
    outln!(
        "call {} (seq {}, {}): {} {} {} on {} -> {}",
        s(&rec["call"]),
        rec["seq"],
        s(&rec["ts"]),
        s(&rec["principal"]["id"]),
        s(&rec["tool"]),
        rec["args"],
        rec["resource"].as_str().unwrap_or(s(&rec["endpoint"])),
        s(&rec["decision"]),
    );
    let (Some(digest), Some(request)) = (rec["policy_set"].as_str(), rec.get("cedar")) else {
        outln!(
            "  decided before any policy was consulted: {}",
            rec["reason"].as_str().unwrap_or("no reason recorded")
        );
        return Ok(true);
    };
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "the record's policy_set {digest:?} is not a SHA-256 digest: the record was edited"
        ));
    }
    let sources = policy_store::load(log, digest)?;
    outln!(
        "  policy set {digest}: {}",
        sources
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(c) = rec["config"].as_str() {
        outln!("  configuration {c}");
    }
    let engine = PolicyEngine::from_sources(&sources, &Catalog::builtin()).map_err(|e| {
        format!("the recorded policy set no longer validates against this build's schema: {e}")
    })?;
    let again = engine.authorize_json(request).map_err(|e| e.to_string())?;
    // A refusal for want of confirmation is a Cedar deny (the forbid that
    // asks for it); everything that reached Cedar is allow or deny there.
    let recorded_allow = rec["decision"] == "allow";
    outln!(
        "  decided again: {}",
        if again.allowed { "allow" } else { "deny" }
    );
    if again.policies.is_empty() {
        outln!("  no policy applied: nothing permits this, so it is denied by default");
    }
    for id in &again.policies {
        outln!(
            "  determining policy {id} ({})",
            engine.origin(id).unwrap_or("unknown origin")
        );
        if let Some(reason) = engine.reason(id) {
            outln!("    reason: {reason}");
        }
        for line in engine.policy_text(id).unwrap_or_default().lines() {
            outln!("    | {line}");
        }
    }
    for e in &again.errors {
        outln!("  evaluation error: {e}");
    }
    let recorded: Vec<&str> = rec["policies"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let same = again.allowed == recorded_allow && again.policies == recorded;
    if same {
        outln!("  the same decision and policies as recorded");
    } else {
        outln!(
            "  DIFFERS from the record ({} by {:?}): the record or the kept policy set is not what decided",
            s(&rec["decision"]),
            recorded
        );
    }
    Ok(same)
}
