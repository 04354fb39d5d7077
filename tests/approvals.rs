//! Approvals through a real admin socket and the real CLI: a call only
//! approvers can allow is parked as a request bound to the exact call,
//! answered by approvers whom policy lets answer (never the requester),
//! spent once by the same call, and audited at every step.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use portcullis::catalog::BackendKind;
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate, Outcome};
use portcullis::principal::Principal;
use portcullis::testing::{placeholder, GateBuilder};
use serde_json::{json, Value};

const POLICIES: [&str; 4] = [
    "permit (principal in Group::\"operators\", action in Action::\"tier:operate\", resource);",
    "permit (principal in Group::\"admins\", action, resource);",
    "forbid (principal, action in Action::\"destructive\", resource) when { context.destructive } unless { context.confirmation == \"approval\" };",
    "@id(\"four-eyes\") forbid (principal, action == Action::\"approve\", resource) when { resource.requester == principal };",
];

async fn cli(socket: &Path, args: &[&str]) -> Output {
    common::admin_cli("approvals", socket, args).await
}

fn records(log: &Path) -> Vec<Value> {
    common::audit_records(log)
}

fn text(o: &Outcome) -> String {
    match o {
        Outcome::Done(r) => r.text.clone(),
        other => panic!("not a result: {other:?}"),
    }
}

struct Lab {
    gate: Arc<Gate>,
    log: PathBuf,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

fn lab(required: usize, ttl: Duration) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let socket = dir.path().join("admin.sock");
    let gate = Arc::new(
        GateBuilder::new()
            .policies(&POLICIES)
            .endpoints(&[placeholder(BackendKind::Pve, "pve")])
            .audit(&log)
            .build()
            .with_approvals(ttl, required),
    );
    let principals = vec![
        Principal::new("alice", ["operators"]),
        Principal::new("carol", ["admins"]),
        Principal::new("dave", ["admins"]),
    ];
    portcullis::admin::serve(&socket, gate.clone(), principals).unwrap();
    Lab {
        gate,
        log,
        socket,
        _dir: dir,
    }
}

async fn stop(gate: &Gate, who: &str, vmid: u64, approval: Option<&str>) -> Outcome {
    let caller = Caller::stdio(Principal::new(who, ["operators"]));
    let mut args = json!({"node": "pve1", "vmid": vmid});
    if let Some(id) = approval {
        args["approval_id"] = json!(id);
    }
    gate.call(
        &caller,
        CallRequest {
            tool: "pve_stop_qemu_vm",
            args: Some(&args),
            confirmation: Confirmation::None,
            confirms: None,
        },
        None,
    )
    .await
}

fn approval_id(text: &str) -> String {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.starts_with("apr-") && w.len() == 20)
        .unwrap_or_else(|| panic!("no approval id in {text}"))
        .to_string()
}

fn last(log: &Path, kind: &str) -> Value {
    records(log)
        .into_iter()
        .rev()
        .find(|r| r["kind"] == kind)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_call_runs_once_exactly_as_approved_by_someone_else() {
    let lab = lab(1, Duration::from_secs(600));
    let (gate, log, socket) = (&lab.gate, &lab.log, &lab.socket);
    let first = text(&stop(gate, "alice", 100, None).await);
    let id = approval_id(&first);
    assert!(first.contains("needs an approval"), "{first}");
    assert!(first.contains("\"approval_id\""), "{first}");
    let d = last(log, "decision");
    assert_eq!(d["decision"], "approval_required");
    assert_eq!(d["refusal"], "needs_approval");
    let r = last(log, "approval");
    assert_eq!(
        (r["event"].as_str(), r["approval"].as_str()),
        (Some("requested"), Some(id.as_str()))
    );
    // The request names the call whose decision parked it.
    assert_eq!(r["call"], d["call"], "{r}");
    assert_eq!(r["target"], "Vm::\"pve/100\"");

    // Not yet approved: the agent is told so, nothing runs.
    let early = text(&stop(gate, "alice", 100, Some(&id)).await);
    assert!(early.contains("still pending: 0 of 1"), "{early}");

    // Approvers see exactly what will run.
    let listed = cli(socket, &["list"]).await;
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains(&id) && listed.contains("pve_stop_qemu_vm on Vm::\"pve/100\""),
        "{listed}"
    );
    assert!(listed.contains("\"vmid\":100"), "{listed}");

    // Not the requester, not someone unknown; a configured admin may.
    let own = cli(socket, &["approve", &id, "--as", "alice"]).await;
    let err = String::from_utf8_lossy(&own.stderr);
    assert_eq!(own.status.code(), Some(2), "{err}");
    assert!(
        err.contains("alice may not answer") && err.contains("four-eyes"),
        "{err}"
    );
    let unknown = cli(socket, &["approve", &id, "--as", "mallory"]).await;
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("not a configured principal"));
    let ok = cli(
        socket,
        &[
            "approve",
            &id,
            "--as",
            "carol",
            "--reason",
            "planned, CHG-7",
        ],
    )
    .await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let r = last(log, "approval");
    assert_eq!(r["event"], "approved");
    assert!(
        r["by"].as_str().unwrap().starts_with("carol (operator "),
        "{r}"
    );

    // Another call, or another principal, cannot spend it.
    let other = text(&stop(gate, "alice", 101, Some(&id)).await);
    assert!(other.contains("is for another call"), "{other}");
    let bob = text(&stop(gate, "bob", 100, Some(&id)).await);
    assert!(bob.contains("is for another call"), "{bob}");

    // The approved call runs (the placeholder backend then fails, after
    // the decision), once.
    stop(gate, "alice", 100, Some(&id)).await;
    let d = last(log, "decision");
    assert_eq!(d["decision"], "allow", "{d:#}");
    assert_eq!(d["confirmation"], "approval");
    assert_eq!(d["approval"], id.as_str());
    let again = text(&stop(gate, "alice", 100, Some(&id)).await);
    assert!(again.contains("used already"), "{again}");

    common::assert_chain_verifies(log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_approvers_a_denial_and_an_expiry() {
    let lab = lab(2, Duration::from_secs(2));
    let (gate, log, socket) = (&lab.gate, &lab.log, &lab.socket);
    let id = approval_id(&text(&stop(gate, "alice", 100, None).await));
    assert!(cli(socket, &["approve", &id, "--as", "carol"])
        .await
        .status
        .success());
    let half = text(&stop(gate, "alice", 100, Some(&id)).await);
    assert!(half.contains("still pending: 1 of 2"), "{half}");
    let twice = cli(socket, &["approve", &id, "--as", "carol"]).await;
    assert!(String::from_utf8_lossy(&twice.stderr).contains("counts once"));
    assert!(cli(socket, &["approve", &id, "--as", "dave"])
        .await
        .status
        .success());
    stop(gate, "alice", 100, Some(&id)).await;
    assert_eq!(last(log, "decision")["decision"], "allow");

    let denied = approval_id(&text(&stop(gate, "alice", 102, None).await));
    let no_reason = cli(socket, &["deny", &denied, "--as", "carol", "--reason", ""]).await;
    assert_eq!(no_reason.status.code(), Some(2));
    assert!(cli(
        socket,
        &[
            "deny",
            &denied,
            "--as",
            "carol",
            "--reason",
            "not during trading hours"
        ]
    )
    .await
    .status
    .success());
    let told = text(&stop(gate, "alice", 102, Some(&denied)).await);
    assert!(
        told.contains("denied by carol: not during trading hours"),
        "{told}"
    );

    let expiring = approval_id(&text(&stop(gate, "alice", 103, None).await));
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let late = text(&stop(gate, "alice", 103, Some(&expiring)).await);
    assert!(late.contains("expired"), "{late}");
    let expired_records = || -> Vec<Value> {
        records(log)
            .into_iter()
            .filter(|r| r["kind"] == "approval" && r["event"] == "expired")
            .collect()
    };
    // Recorded by the sweep (every second), if not already.
    for _ in 0..30 {
        if !expired_records().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expired = expired_records();
    assert_eq!(expired.len(), 1, "{expired:#?}");
    assert_eq!(expired[0]["approval"], expiring.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_call_is_decided_again_and_kept_until_it_runs() {
    let lab = lab(1, Duration::from_secs(600));
    let (gate, log, socket) = (&lab.gate, &lab.log, &lab.socket);
    let id = approval_id(&text(&stop(gate, "alice", 100, None).await));
    // The same call again, unanswered: the same request, not a new one.
    let again = approval_id(&text(&stop(gate, "alice", 100, None).await));
    assert_eq!(again, id);
    let requested = records(log)
        .into_iter()
        .filter(|r| r["kind"] == "approval" && r["event"] == "requested")
        .count();
    assert_eq!(requested, 1);
    assert!(cli(socket, &["approve", &id, "--as", "carol"])
        .await
        .status
        .success());

    // Policy changes meanwhile: the approved call is decided again, refused,
    // and the approval is not spent.
    let strict = POLICIES
        .iter()
        .map(|t| t.to_string())
        .chain([
            "forbid (principal, action == Action::\"pve_stop_qemu_vm\", resource);".to_string(),
        ])
        .enumerate()
        .map(|(i, text)| portcullis::policy::PolicySource {
            name: format!("p{i}.cedar"),
            text,
        })
        .collect::<Vec<_>>();
    let lenient = strict[..POLICIES.len()].to_vec();
    let catalog = gate.catalog();
    gate.replace_policies(
        portcullis::policy::PolicyEngine::from_sources(&strict, catalog).unwrap(),
    );
    stop(gate, "alice", 100, Some(&id)).await;
    assert_eq!(last(log, "decision")["decision"], "deny");
    gate.replace_policies(
        portcullis::policy::PolicyEngine::from_sources(&lenient, catalog).unwrap(),
    );
    stop(gate, "alice", 100, Some(&id)).await;
    let d = last(log, "decision");
    assert_eq!(
        (d["decision"].as_str(), d["approval"].as_str()),
        (Some("allow"), Some(id.as_str()))
    );
}

#[tokio::test]
async fn without_an_admin_socket_or_approver_keys_nothing_is_parked() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let gate = GateBuilder::new()
        .policies(&POLICIES)
        .endpoints(&[placeholder(BackendKind::Pve, "pve")])
        .audit(&log)
        .build();
    let told = text(&stop(&gate, "alice", 100, None).await);
    assert!(
        told.contains("neither an admin socket")
            && told.contains("nor approver keys")
            && !told.contains("apr-"),
        "{told}"
    );
    assert!(gate
        .approvals()
        .open_requests(std::time::SystemTime::now())
        .await
        .unwrap()
        .is_empty());
}
