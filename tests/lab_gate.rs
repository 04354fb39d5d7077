//! The gate end to end against the embedded lab (a real HTTPS server on
//! loopback, reached through the real PVE client).
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use portcullis::audit::{verify_file, AuditLog};
use portcullis::backends::pve::lab::{Fault, Lab};
use portcullis::backends::Backends;
use portcullis::catalog::Catalog;
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate, Outcome, ToolResult};
use portcullis::policy::PolicyEngine;
use serde_json::json;

use common::pve_lab::Env;

async fn env_with(timeout: Duration) -> Env {
    common::pve_lab::start(timeout, 0.3).await
}

async fn env() -> Env {
    env_with(Duration::from_secs(10)).await
}

#[tokio::test]
async fn reader_reads_operator_stops_and_every_call_is_recorded() {
    let e = env().await;
    let r = e
        .call("alice", "pve_list_qemu_vms", json!({"node": "pve1"}))
        .await;
    assert!(!r.is_error, "{}", r.text);
    let vms = &r.structured.as_ref().unwrap()["result"];
    assert_eq!(vms.as_array().unwrap().len(), 2);

    let r = e
        .call(
            "alice",
            "pve_stop_qemu_vm",
            json!({"node": "pve1", "vmid": 100}),
        )
        .await;
    assert!(
        r.is_error && r.text.contains("no policy permits it"),
        "{}",
        r.text
    );
    assert_eq!(e.lab.guest_running(100), Some(true));

    let r = e
        .call(
            "bob",
            "pve_stop_qemu_vm",
            json!({"node": "pve1", "vmid": 100}),
        )
        .await;
    assert!(
        r.is_error && r.text.contains("\"confirm\": true"),
        "{}",
        r.text
    );
    assert_eq!(
        e.lab.guest_running(100),
        Some(true),
        "unconfirmed stop must not run"
    );

    let r = e
        .call(
            "bob",
            "pve_stop_qemu_vm",
            json!({"node": "pve1", "vmid": 100, "confirm": true}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    assert_eq!(r.structured.as_ref().unwrap()["result"]["exitstatus"], "OK");
    assert_eq!(e.lab.guest_running(100), Some(false));

    let recs = e.records();
    assert_eq!(recs.len(), 8, "a decision and an outcome per call");
    let decisions: Vec<&str> = recs
        .iter()
        .filter(|r| r["kind"] == "decision")
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["allow", "deny", "deny", "allow"]);
    let last = &recs[6];
    assert_eq!(last["principal"]["id"], "bob");
    assert_eq!(last["resource"], "Vm::\"lab/100\"");
    assert_eq!(last["tier"], "operate");
    assert_eq!(last["destructive"], true);
    assert_eq!(last["confirmation"], "argument");
    assert_eq!(last["tls_verify"], true);
    assert!(last["policies"]
        .as_array()
        .unwrap()
        .contains(&json!("operators-read-operate")));
    assert_eq!(recs[7]["outcome"], "ok");
    assert_eq!(recs[7]["call"], last["call"]);
    assert_eq!(verify_file(&e.audit).unwrap().records, 8);
}

#[tokio::test]
async fn hostile_path_values_are_refused_and_reach_nothing() {
    let e = env().await;
    for bad in [
        "../",
        "..",
        "%2e%2e",
        "pve1/../../etc",
        "pve1\u{0}",
        "/",
        "a".repeat(300).as_str(),
    ] {
        let r = e
            .call("carol", "pve_get_node_status", json!({ "node": bad }))
            .await;
        assert!(
            r.is_error && r.text.contains("`node`"),
            "{bad:?}: {}",
            r.text
        );
    }
    let r = e
        .call(
            "carol",
            "pve_delete_qemu_snapshot",
            json!({"node": "pve1", "vmid": 100, "snapname": "../x", "confirm": true}),
        )
        .await;
    assert!(r.is_error && r.text.contains("`snapname`"), "{}", r.text);
    assert!(
        e.lab.requests().is_empty(),
        "the backend received {:?}",
        e.lab.requests()
    );
    let invalid = e
        .records()
        .iter()
        .filter(|r| r["decision"] == "invalid")
        .count();
    assert_eq!(invalid, 8, "each invalid call is audited");
}

#[tokio::test]
async fn snapshots_clone_and_delete_change_the_lab() {
    let e = env().await;
    let ok = |r: ToolResult| assert!(!r.is_error, "{}", r.text);
    ok(e.call(
        "bob",
        "pve_create_qemu_snapshot",
        json!({"node": "pve1", "vmid": 101, "snapname": "before"}),
    )
    .await);
    assert_eq!(e.lab.snapshots(101), ["before"]);
    ok(e.call(
        "bob",
        "pve_rollback_qemu_snapshot",
        json!({"node": "pve1", "vmid": 101, "snapname": "before", "confirm": true}),
    )
    .await);
    ok(e.call(
        "bob",
        "pve_delete_qemu_snapshot",
        json!({"node": "pve1", "vmid": 101, "snapname": "before", "confirm": true}),
    )
    .await);
    assert!(e.lab.snapshots(101).is_empty());
    ok(e.call(
        "carol",
        "pve_clone_qemu_vm",
        json!({"node": "pve2", "vmid": 102, "newid": 150, "name": "clone-01"}),
    )
    .await);
    assert_eq!(e.lab.guest_running(150), Some(false));
    ok(e.call(
        "carol",
        "pve_update_qemu_config",
        json!({"node": "pve2", "vmid": 150, "cores": 4, "onboot": true}),
    )
    .await);
    let cfg = e
        .call(
            "carol",
            "pve_get_qemu_config",
            json!({"node": "pve2", "vmid": 150}),
        )
        .await;
    assert_eq!(cfg.structured.unwrap()["result"]["cores"], 4);
    ok(e.call(
        "carol",
        "pve_delete_qemu_vm",
        json!({"node": "pve2", "vmid": 150, "confirm": true}),
    )
    .await);
    assert_eq!(e.lab.guest_running(150), None);
}

#[tokio::test]
async fn backend_failures_become_actionable_errors_and_the_gate_stays_up() {
    let e = env_with(Duration::from_secs(1)).await;
    let cases: [(Fault, &str); 5] = [
        (Fault::Status(500), "failed (HTTP 500)"),
        (Fault::Status(401), "rejected Portcullis's credentials"),
        (Fault::Garbage, "not JSON"),
        (
            Fault::Hang(Duration::from_secs(3)),
            "did not answer within 1s",
        ),
        (Fault::Reset, "the action may or may not have taken effect"),
    ];
    for (fault, expect) in cases {
        e.lab.inject([fault.clone()]);
        let r = e.call("alice", "pve_list_nodes", json!({})).await;
        assert!(r.is_error, "{fault:?}");
        assert!(r.text.contains(expect), "{fault:?}: {}", r.text);
        let r = e.call("alice", "pve_list_nodes", json!({})).await;
        assert!(
            !r.is_error,
            "after {fault:?} the next call works: {}",
            r.text
        );
    }
    let kinds: Vec<String> = e
        .records()
        .iter()
        .filter(|r| r["outcome"] == "backend_error")
        .map(|r| r["error_kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        ["server_error", "auth", "garbage", "timeout", "transport"]
    );
    // A PVE error for a missing guest names the problem.
    let r = e
        .call(
            "alice",
            "pve_get_qemu_status",
            json!({"node": "pve1", "vmid": 999}),
        )
        .await;
    assert!(r.text.contains("999.conf' does not exist"), "{}", r.text);
}

#[tokio::test]
async fn tasks_are_waited_for_with_progress_and_failures_carry_the_log() {
    let e = env().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let args = json!({"node": "pve1", "vmid": 101, "confirm": true});
    let req = CallRequest {
        tool: "pve_stop_qemu_vm",
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    let Outcome::Done(r) = e.gate.call(&e.caller("bob"), req, Some(tx)).await else {
        panic!()
    };
    assert!(!r.is_error, "{}", r.text);
    let first = rx.recv().await.expect("at least one progress report");
    assert!(first.message.contains("running"), "{first:?}");
    // Starting a running VM fails in the lab the way PVE does: TASK ERROR.
    let r = e
        .call(
            "bob",
            "pve_start_qemu_vm",
            json!({"node": "pve1", "vmid": 100}),
        )
        .await;
    assert!(
        r.is_error && r.text.contains("VM already running"),
        "{}",
        r.text
    );
    // Not waiting returns the UPID at once.
    let r = e
        .call(
            "bob",
            "pve_start_qemu_vm",
            json!({"node": "pve1", "vmid": 101, "wait": false}),
        )
        .await;
    let upid = r.structured.unwrap()["result"]["upid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = e
        .call(
            "alice",
            "pve_get_task_status",
            json!({"node": "pve1", "upid": upid}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
}

#[tokio::test]
async fn an_unwritable_audit_log_fails_closed() {
    let lab_dir = tempfile::tempdir().unwrap();
    let (mut labs, config) = portcullis::lab::start(&lab_dir.path().join("unused"), 0.1)
        .await
        .unwrap();
    let lab: Lab = labs.take().unwrap();
    let catalog = Catalog::builtin();
    let engine =
        PolicyEngine::from_sources(&portcullis::lab::default_policies(), &catalog).unwrap();
    // /dev/full takes the open and fails every write.
    let log = Arc::new(AuditLog::open(std::path::Path::new("/dev/full")).unwrap());
    let gate = Gate::new(
        catalog,
        engine,
        Some(log),
        Backends::new(&config.endpoints).unwrap(),
    );
    let caller = Caller::stdio(config.principal("bob").unwrap().clone());
    let args = json!({"node": "pve1", "vmid": 100, "confirm": true});
    let req = CallRequest {
        tool: "pve_stop_qemu_vm",
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    let Outcome::Done(r) = gate.call(&caller, req, None).await else {
        panic!()
    };
    assert!(
        r.is_error && r.text.contains("audit log cannot be written"),
        "{}",
        r.text
    );
    assert!(
        lab.requests().is_empty(),
        "nothing may execute without a durable decision record"
    );
    assert_eq!(lab.guest_running(100), Some(true));
}

#[tokio::test]
async fn several_endpoints_need_a_name_and_unknown_ones_are_refused() {
    let e = env().await;
    let r = e
        .call("alice", "pve_list_nodes", json!({"endpoint": "prod"}))
        .await;
    assert!(
        r.is_error
            && r.text
                .contains("endpoint \"prod\" is not a configured pve endpoint"),
        "{}",
        r.text
    );
    assert!(e.tool_requests().is_empty());
}

#[tokio::test]
async fn elicitation_capable_callers_are_asked_instead_of_refused() {
    let e = env().await;
    let mut caller = e.caller("carol");
    caller.can_elicit = true;
    let args = json!({"node": "pve2", "vmid": 102});
    let req = CallRequest {
        tool: "pve_delete_qemu_vm",
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    let Outcome::NeedsHuman { call_id, prompt } = e.gate.call(&caller, req, None).await else {
        panic!("must ask")
    };
    assert!(
        prompt.contains("pve_delete_qemu_vm") && prompt.contains("destructive"),
        "{prompt}"
    );
    assert_eq!(e.lab.guest_running(102), Some(false), "nothing ran yet");
    let req = CallRequest {
        tool: "pve_delete_qemu_vm",
        args: Some(&args),
        confirmation: Confirmation::Elicitation,
        confirms: Some(call_id.clone()),
    };
    let Outcome::Done(r) = e.gate.call(&caller, req, None).await else {
        panic!()
    };
    assert!(!r.is_error, "{}", r.text);
    assert_eq!(e.lab.guest_running(102), None);
    let recs = e.records();
    assert_eq!(recs[0]["decision"], "confirmation_required");
    assert_eq!(recs[2]["confirms"], json!(call_id));
    assert_eq!(recs[2]["confirmation"], "elicitation");
}
