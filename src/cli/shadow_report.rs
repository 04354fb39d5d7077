//! `portcullis policy shadow-report LOG…`: what a candidate policy set
//! (shadow mode) would change, from the `shadow` records in audit logs,
//! by tool and principal, before the candidate goes live.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{json, Value};

use super::CliResult;

/// Disagreements for one (tool, principal).
#[derive(Default)]
struct Tally {
    /// Allowed live, denied by the candidate: what going live would break.
    would_deny: u64,
    /// Denied live, allowed by the candidate: what going live would open.
    would_allow: u64,
    /// The candidate could not evaluate the request.
    errors: u64,
    /// The candidate's determining policies, and the live ones.
    candidate_policies: BTreeSet<String>,
    live_policies: BTreeSet<String>,
}

fn strings(v: &Value) -> impl Iterator<Item = String> + '_ {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
}

pub fn run(logs: &[PathBuf], as_json: bool) -> CliResult<ExitCode> {
    let mut by: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut sets: BTreeSet<String> = BTreeSet::new();
    let mut unreadable = 0usize;
    for log in logs {
        let text = std::fs::read_to_string(log)
            .map_err(|e| format!("cannot read {}: {e}", log.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(rec) = serde_json::from_str::<Value>(line) else {
                unreadable += 1;
                continue;
            };
            if rec["kind"] != "shadow" {
                continue;
            }
            let key = (
                rec["tool"].as_str().unwrap_or("?").to_string(),
                rec["principal"]["id"].as_str().unwrap_or("?").to_string(),
            );
            let t = by.entry(key).or_default();
            match (rec["live"].as_str(), rec["candidate"].as_str()) {
                (_, Some("error")) => t.errors += 1,
                (Some("allow"), Some("deny")) => t.would_deny += 1,
                (Some("deny"), Some("allow")) => t.would_allow += 1,
                _ => {}
            }
            t.candidate_policies
                .extend(strings(&rec["candidate_policies"]));
            t.live_policies.extend(strings(&rec["live_policies"]));
            if let Some(s) = rec["candidate_set"].as_str() {
                sets.insert(s.to_string());
            }
        }
    }
    if as_json {
        let rows: Vec<Value> = by
            .iter()
            .map(|((tool, principal), t)| {
                json!({
                    "tool": tool, "principal": principal,
                    "would_deny": t.would_deny, "would_allow": t.would_allow,
                    "errors": t.errors,
                    "candidate_policies": t.candidate_policies,
                    "live_policies": t.live_policies,
                })
            })
            .collect();
        outln!(
            "{}",
            json!({"candidate_sets": sets, "disagreements": rows, "unreadable_lines": unreadable})
        );
    } else {
        if unreadable > 0 {
            outln!("({unreadable} line(s) were not JSON and were skipped)");
        }
        if by.is_empty() {
            outln!("no shadow records: the candidate set agreed with the live one on every call logged (or shadow mode was off)");
            return Ok(ExitCode::SUCCESS);
        }
        let sets: Vec<&str> = sets.iter().map(|s| &s[..s.len().min(12)]).collect();
        outln!("candidate policy set(s): {}", sets.join(", "));
        outln!("would deny = allowed today, denied by the candidate; would allow = the reverse\n");
        outln!("| tool | principal | would deny | would allow | errors | candidate's policies | live policies |");
        outln!("|---|---|---:|---:|---:|---|---|");
        let mut rows: Vec<_> = by.iter().collect();
        rows.sort_by_key(|(_, t)| std::cmp::Reverse(t.would_deny + t.would_allow + t.errors));
        let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
        for ((tool, principal), t) in rows {
            outln!(
                "| {tool} | {principal} | {} | {} | {} | {} | {} |",
                t.would_deny,
                t.would_allow,
                t.errors,
                list(&t.candidate_policies),
                list(&t.live_policies)
            );
        }
    }
    // Disagreements found: exit 1, so a pipeline can hold a candidate back.
    Ok(if by.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
