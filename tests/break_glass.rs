//! Break-glass through a real admin socket and the real CLI: a grant adds
//! its group while it lasts, marks every call made under it, is audited
//! when it starts and ends, and refuses bad requests naming what is wrong.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use portcullis::catalog::BackendKind;
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate};
use portcullis::principal::Principal;
use portcullis::testing::{placeholder, GateBuilder};
use serde_json::{json, Value};

async fn cli(socket: &Path, args: &[&str]) -> Output {
    common::admin_cli("break-glass", socket, args).await
}

/// Grant bob the group `responders`; the grant's id.
async fn grant_bob(socket: &Path, duration: &str, reason: &str) -> String {
    let out = cli(
        socket,
        &[
            "grant",
            "--principal",
            "bob",
            "--group",
            "responders",
            "--for",
            duration,
            "--reason",
            reason,
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.split_whitespace()
        .find(|w| w.starts_with("bg-"))
        .unwrap()
        .to_string()
}

fn records(log: &Path) -> Vec<Value> {
    common::audit_records(log)
}

/// The decision record of a start call by `who`, made now.
async fn start_vm(gate: &Gate, log: &Path, who: &Caller) -> Value {
    let args = json!({"node": "pve1", "vmid": 100});
    gate.call(
        who,
        CallRequest {
            tool: "pve_start_qemu_vm",
            args: Some(&args),
            confirmation: Confirmation::None,
            confirms: None,
        },
        None,
    )
    .await;
    records(log)
        .into_iter()
        .rev()
        .find(|r| r["kind"] == "decision" && r["principal"]["id"] == who.principal.id)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_adds_its_group_marks_calls_and_is_audited_until_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let socket = dir.path().join("admin.sock");
    let gate = Arc::new(
        GateBuilder::new()
            .policies(&[
                "permit (principal in Group::\"readers\", action in Action::\"tier:read\", resource);",
                "permit (principal in Group::\"responders\", action in Action::\"tier:operate\", resource);",
            ])
            .endpoints(&[placeholder(BackendKind::Pve, "pve")])
            .audit(&log)
            .build()
            .with_break_glass_max(Duration::from_secs(600)),
    );
    portcullis::admin::serve(&socket, gate.clone(), vec![]).unwrap();
    let bob = Caller::stdio(Principal::new("bob", ["readers"]));
    let alice = Caller::stdio(Principal::new("alice", ["readers"]));
    assert_eq!(start_vm(&gate, &log, &bob).await["decision"], "deny");

    // Refused, each naming what is wrong; nothing granted.
    for (args, says) in [
        (
            vec!["--group", "responders", "--for", "2s", "--reason", " "],
            "needs a reason",
        ),
        (
            vec!["--group", "root", "--for", "2s", "--reason", "r"],
            "no policy names group \"root\"",
        ),
        (
            vec!["--group", "responders", "--for", "2h", "--reason", "r"],
            "10m",
        ),
    ] {
        let mut all = vec!["grant", "--principal", "bob"];
        all.extend(args);
        let out = cli(&socket, &all).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
    }

    let id = grant_bob(&socket, "3s", "INC-42: node pve1 hung").await;
    let listed = cli(&socket, &["list"]).await;
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&id));

    let lists_start = |who: &Caller| {
        gate.visible_tools(&who.principal)
            .iter()
            .any(|t| t.name == "pve_start_qemu_vm")
    };
    assert!(lists_start(&bob), "tools/list shows what the grant allows");
    assert!(!lists_start(&alice));
    let d = start_vm(&gate, &log, &bob).await;
    assert_eq!(d["decision"], "allow", "{d:#}");
    assert_eq!(d["break_glass"], id.as_str());
    assert_eq!(d["principal"]["groups"], json!(["readers", "responders"]));
    // Nobody else is affected.
    let other = start_vm(&gate, &log, &alice).await;
    assert_eq!(other["decision"], "deny");
    assert!(other.get("break_glass").is_none());
    let metrics = gate.metrics().render();
    assert!(
        metrics.contains("portcullis_break_glass_calls_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("portcullis_break_glass_grants_total{event=\"start\"} 1"),
        "{metrics}"
    );

    // It runs out: the end is recorded, and the group is gone.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(start_vm(&gate, &log, &bob).await["decision"], "deny");
    assert!(!lists_start(&bob));
    // The end record follows within the sweep interval (a second).
    let grant_records = || -> Vec<Value> {
        records(&log)
            .into_iter()
            .filter(|r| r["kind"] == "break_glass")
            .collect()
    };
    for _ in 0..30 {
        if grant_records().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let grants = grant_records();
    assert_eq!(grants.len(), 2, "{grants:#?}");
    assert_eq!(grants[0]["event"], "start");
    assert_eq!(grants[0]["id"], id.as_str());
    assert_eq!(grants[0]["reason"], "INC-42: node pve1 hung");
    assert!(grants[0]["granted_by"].as_str().unwrap().contains("uid"));
    assert_eq!(grants[1]["event"], "end");
    assert_eq!(grants[1]["cause"], "expired");

    // Ended by hand before its time.
    let id = grant_bob(&socket, "10m", "INC-43").await;
    let out = cli(&socket, &["end", &id]).await;
    assert!(out.status.success());
    assert_eq!(start_vm(&gate, &log, &bob).await["decision"], "deny");
    let last = records(&log)
        .into_iter()
        .rev()
        .find(|r| r["kind"] == "break_glass")
        .unwrap();
    assert_eq!(last["event"], "end");
    assert_eq!(last["cause"], "ended");
    assert!(last["ended_by"].as_str().unwrap().contains("uid"));
    let again = cli(&socket, &["end", &id]).await;
    assert!(String::from_utf8_lossy(&again.stderr).contains("no grant"));

    // The chain holds every record.
    common::assert_chain_verifies(&log);
}

#[tokio::test]
async fn a_second_server_cannot_take_a_live_socket_and_garbage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("admin.sock");
    let gate = Arc::new(GateBuilder::new().build());
    portcullis::admin::serve(&socket, gate.clone(), vec![]).unwrap();
    let err = portcullis::admin::serve(&socket, gate.clone(), vec![]).unwrap_err();
    assert!(err.contains("another server is listening"), "{err}");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&socket).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut s = tokio::net::UnixStream::connect(&socket).await.unwrap();
    s.write_all(b"{\"op\":\"format_disk\"}\n").await.unwrap();
    let mut answer = String::new();
    tokio::io::BufReader::new(s)
        .read_line(&mut answer)
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("format_disk"), "{v}");

    // A file that is not a socket is never replaced.
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    let err = portcullis::admin::serve(&file, gate, vec![]).unwrap_err();
    assert!(err.contains("not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

/// Where grants need an approval, a grant is parked in the asker's name,
/// approved by someone else whom policy allows (four eyes; here only the
/// security group approves break-glass), and made once, exactly as asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_that_needs_an_approval_is_made_once_approved() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let socket = dir.path().join("admin.sock");
    let gate = Arc::new(
        GateBuilder::new()
            .policies(&[
                "permit (principal in Group::\"responders\", action in Action::\"tier:operate\", resource);",
                "permit (principal in Group::\"admins\", action == Action::\"approve\", resource);",
                "@id(\"security-approves-break-glass\") forbid (principal, action == Action::\"approve\", resource) \
                 when { resource.tool == \"break_glass\" } unless { principal in Group::\"security\" };",
                "@id(\"four-eyes\") forbid (principal, action == Action::\"approve\", resource) when { resource.requester == principal };",
            ])
            .endpoints(&[placeholder(BackendKind::Pve, "pve")])
            .audit(&log)
            .build()
            .with_break_glass_max(Duration::from_secs(3600)),
    );
    gate.break_glass().require_approval(true);
    let principals = vec![
        Principal::new("carol", ["admins", "security"]),
        Principal::new("dave", ["admins"]),
        Principal::new("erin", ["admins", "security"]),
    ];
    portcullis::admin::serve(&socket, gate.clone(), principals.clone()).unwrap();
    let ask = [
        "grant",
        "--principal",
        "bob",
        "--group",
        "responders",
        "--for",
        "30m",
        "--reason",
        "INC-77 pve1 hung",
    ];

    // Nobody named: refused, saying why.
    let out = cli(&socket, &ask).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("need an approval: give --as"));

    // Parked in carol's name: nothing in force yet.
    let mut as_carol = ask.to_vec();
    as_carol.extend(["--as", "carol"]);
    let out = cli(&socket, &as_carol).await;
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = said
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.starts_with("apr-"))
        .unwrap()
        .to_string();
    let bob = Caller::stdio(Principal::new("bob", ["readers"]));
    assert_eq!(start_vm(&gate, &log, &bob).await["decision"], "deny");

    // Over the socket nobody approves it: one person could name both.
    let out = common::admin_cli(
        "approvals",
        &socket,
        &["approve", &id, "--as", "erin", "--reason", "ok"],
    )
    .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("with their own key"));
    // With their own keys (as the approvers' page answers): not carol (four
    // eyes), not dave (not security); erin may.
    let approve = |who: &'static str| {
        let (gate, principals, id) = (gate.clone(), principals.clone(), id.clone());
        async move {
            portcullis::admin::answer_approval(
                &gate,
                &principals,
                portcullis::admin::Answering {
                    id: &id,
                    approver: who,
                    reason: "ok",
                    operator: "test",
                    approve: true,
                    channel: portcullis::approval::AnswerChannel::ApproverKey,
                },
            )
            .await
        }
    };
    for (who, says) in [
        ("carol", "four-eyes"),
        ("dave", "security-approves-break-glass"),
    ] {
        let err = approve(who).await.unwrap_err();
        assert!(err.to_string().contains(says), "{who}: {err}");
        assert_eq!(err.status(), 403);
    }
    // Asked again before it is approved: still waiting.
    let mut with_id = as_carol.clone();
    with_id.extend(["--approval", id.as_str()]);
    let out = cli(&socket, &with_id).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("still pending"));
    approve("erin").await.unwrap();

    // Something else asked under it: refused.
    let mut other = with_id.clone();
    other[8] = "INC-78 something else";
    let out = cli(&socket, &other).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("another call"));
    // Exactly as approved: granted, once.
    let out = cli(&socket, &with_id).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(start_vm(&gate, &log, &bob).await["decision"], "allow");
    let again = cli(&socket, &with_id).await;
    assert!(String::from_utf8_lossy(&again.stderr).contains("used already"));

    let start = records(&log)
        .into_iter()
        .find(|r| r["kind"] == "break_glass" && r["event"] == "start")
        .unwrap();
    assert_eq!(start["approval"], id.as_str());
    common::assert_chain_verifies(&log);
}
