//! The audit log as OCSF events for a SIEM: each call (its decision record,
//! and its outcome record when there is one) becomes one API Activity event
//! (class 6003) of OCSF 1.7.0. Portcullis's own facts that OCSF has no
//! attribute for (seq, hash, policy set, confirmation) go under `unmapped`.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

/// The OCSF schema version the events are written against.
pub const OCSF_VERSION: &str = "1.7.0";
const CLASS_UID: u64 = 6003;
const CATEGORY_UID: u64 = 6;

/// OCSF API Activity `activity_id`: what kind of operation the tool is.
fn activity(decision: &Value) -> (u64, &'static str) {
    if decision["destructive"] == true {
        (4, "Delete")
    } else if decision["tier"] == "read" {
        (2, "Read")
    } else {
        (3, "Update")
    }
}

fn epoch_ms(ts: &Value) -> Option<u64> {
    let t = humantime::parse_rfc3339(ts.as_str()?).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    u64::try_from(d.as_millis()).ok()
}

/// One call's event, from its decision record and (if it ran or was
/// refused after the decision) its outcome record.
pub fn event(decision: &Value, outcome: Option<&Value>) -> Value {
    let (activity_id, activity_name) = activity(decision);
    let allowed = decision["decision"] == "allow";
    let succeeded = allowed && outcome.is_some_and(|o| o["outcome"] == "ok");
    let (status_id, status) = if succeeded {
        (1, "Success")
    } else {
        (2, "Failure")
    };
    let (severity_id, severity) = match (allowed, succeeded) {
        (false, _) => (3, "Medium"),
        (true, false) => (2, "Low"),
        (true, true) => (1, "Informational"),
    };
    let detail = outcome
        .and_then(|o| o["error"].as_str().or(o["reason"].as_str()))
        .or(decision["reason"].as_str())
        .unwrap_or("");
    let principal = &decision["principal"];
    let groups: Vec<Value> = principal["groups"]
        .as_array()
        .map(|g| g.iter().map(|n| json!({"name": n})).collect())
        .unwrap_or_default();
    let policies: Vec<Value> = decision["policies"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|id| {
                    json!({"decision": decision["decision"], "policy": {"uid": id, "name": id}})
                })
                .collect()
        })
        .unwrap_or_default();
    let mut resources = Vec::new();
    if let Some(r) = decision["resource"].as_str() {
        let kind = r.split("::").next().unwrap_or("");
        resources.push(json!({"uid": r, "type": kind}));
    }
    let mut unmapped = Map::new();
    for key in [
        "seq",
        "hash",
        "decision",
        "confirmation",
        "policy_set",
        "config",
        "tls_verify",
        "tier",
        "refusal",
        "guests",
    ] {
        if let Some(v) = decision.get(key).filter(|v| !v.is_null()) {
            unmapped.insert(key.to_string(), v.clone());
        }
    }
    if let Some(o) = outcome {
        unmapped.insert("outcome".into(), o["outcome"].clone());
        unmapped.insert("outcome_seq".into(), o["seq"].clone());
    }
    json!({
        "class_uid": CLASS_UID,
        "class_name": "API Activity",
        "category_uid": CATEGORY_UID,
        "category_name": "Application Activity",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": CLASS_UID * 100 + activity_id,
        "time": epoch_ms(&decision["ts"]).unwrap_or(0),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "status_code": decision["decision"],
        "status_detail": detail,
        "message": format!("{} {} {}", principal["id"].as_str().unwrap_or("?"), decision["tool"].as_str().unwrap_or("?"), decision["decision"].as_str().unwrap_or("?")),
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "Portcullis", "vendor_name": "Portcullis", "version": env!("CARGO_PKG_VERSION")},
            "correlation_uid": decision["call"],
            "uid": decision["hash"],
        },
        "actor": {
            "user": {"name": principal["id"], "uid": principal["id"], "groups": groups},
            "app_name": decision["client"],
            "authorizations": policies,
        },
        "api": {
            "operation": decision["tool"],
            "request": {"uid": decision["call"]},
            "service": {"name": decision["backend"], "uid": decision["endpoint"]},
        },
        "resources": resources,
        "src_endpoint": {"name": decision["transport"], "svc_name": decision["client"]},
        "unmapped": unmapped,
    })
}

/// Every call in a log's records, in the order of their decisions.
pub fn events(records: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut decisions: Vec<Value> = Vec::new();
    let mut outcomes: HashMap<String, Value> = HashMap::new();
    for r in records {
        match r["kind"].as_str() {
            Some("decision") if r["call"].is_string() => decisions.push(r),
            Some("outcome") => {
                if let Some(call) = r["call"].as_str() {
                    outcomes.insert(call.to_string(), r);
                }
            }
            _ => {}
        }
    }
    decisions
        .iter()
        .map(|d| event(d, d["call"].as_str().and_then(|c| outcomes.get(c))))
        .collect()
}

/// The OCSF events of a running log, written beside it as calls finish:
/// a decision waits (bounded) for its outcome, then both become one event.
/// Derived data, flushed per batch but not fsync'd: `audit export` can
/// always write it again from the log itself.
pub(super) struct Tap {
    file: std::io::BufWriter<std::fs::File>,
    waiting: HashMap<String, Value>,
    order: std::collections::VecDeque<String>,
}

/// Decisions waiting for their outcome; past this the oldest is written
/// without one (a call that never finished, e.g. the server was killed).
const MAX_WAITING: usize = 10_000;

impl Tap {
    pub fn open(path: &std::path::Path) -> std::io::Result<Tap> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Tap {
            file: std::io::BufWriter::new(file),
            waiting: HashMap::new(),
            order: std::collections::VecDeque::new(),
        })
    }

    fn emit(&mut self, e: &Value) -> std::io::Result<()> {
        use std::io::Write;
        serde_json::to_writer(&mut self.file, e)?;
        self.file.write_all(b"\n")
    }

    /// Records as written (with seq and hash), in order.
    pub fn feed(&mut self, records: &[Value]) -> std::io::Result<()> {
        use std::io::Write;
        for r in records {
            let Some(call) = r["call"].as_str() else {
                continue;
            };
            match r["kind"].as_str() {
                Some("decision") => {
                    if self.waiting.len() >= MAX_WAITING {
                        if let Some(old) = self.order.pop_front() {
                            if let Some(d) = self.waiting.remove(&old) {
                                self.emit(&event(&d, None))?;
                            }
                        }
                    }
                    // A call decided twice (asked, then confirmed) keeps
                    // its last decision.
                    if self.waiting.insert(call.to_string(), r.clone()).is_none() {
                        self.order.push_back(call.to_string());
                    }
                }
                Some("outcome") => {
                    if let Some(d) = self.waiting.remove(call) {
                        self.order.retain(|c| c != call);
                        self.emit(&event(&d, Some(r)))?;
                    }
                }
                _ => {}
            }
        }
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(tier: &str, destructive: bool, decision: &str) -> Value {
        json!({"kind": "decision", "call": "c1", "seq": 4, "hash": "ab", "ts": "2026-01-01T00:00:00.5Z",
               "principal": {"id": "bob", "groups": ["operators"]}, "tool": "pve_stop_qemu_vm",
               "tier": tier, "destructive": destructive, "decision": decision, "backend": "pve",
               "endpoint": "lab", "resource": "Vm::\"lab/100\"", "policies": ["p1"],
               "transport": "http", "client": "claude"})
    }

    #[test]
    fn a_call_maps_to_one_api_activity_with_its_outcome() {
        let d = decision("operate", true, "allow");
        let o = json!({"kind": "outcome", "call": "c1", "outcome": "ok", "seq": 5});
        let e = events([d, o]);
        assert_eq!(e.len(), 1);
        let e = &e[0];
        assert_eq!(
            (
                e["class_uid"].as_u64(),
                e["activity_id"].as_u64(),
                e["type_uid"].as_u64()
            ),
            (Some(6003), Some(4), Some(600304))
        );
        assert_eq!(e["time"], 1_767_225_600_500u64);
        assert_eq!(
            (e["status"].as_str(), e["severity_id"].as_u64()),
            (Some("Success"), Some(1))
        );
        assert_eq!(e["actor"]["user"]["groups"][0]["name"], "operators");
        assert_eq!(e["actor"]["authorizations"][0]["policy"]["uid"], "p1");
        assert_eq!(e["resources"][0]["type"], "Vm");
        assert_eq!(e["unmapped"]["outcome_seq"], 5);
    }

    #[test]
    fn a_denied_call_is_a_failure_of_medium_severity() {
        let e = event(&decision("read", false, "deny"), None);
        assert_eq!(
            (
                e["activity_id"].as_u64(),
                e["status_id"].as_u64(),
                e["severity_id"].as_u64()
            ),
            (Some(2), Some(2), Some(3))
        );
    }
}
