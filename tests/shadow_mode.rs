//! Shadow mode: a candidate policy set decides every call beside the live
//! one; disagreements become `shadow` records, the live decision is the
//! one enforced, and `portcullis policy shadow-report` summarises them.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use std::process::Command;

use portcullis::catalog::{BackendKind, Catalog};
use portcullis::gate::{CallRequest, Caller, Confirmation};
use portcullis::policy::{PolicyEngine, PolicySource};
use portcullis::principal::Principal;
use portcullis::testing::{placeholder, GateBuilder};
use serde_json::{json, Value};

const CANDIDATE: &str = r#"
permit (principal, action, resource);
@id("no-vm-listing-for-interns")
forbid (principal in Group::"interns", action == Action::"pve_list_qemu_vms", resource);
"#;

fn records(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn disagreements_are_recorded_never_enforced_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let candidate = PolicyEngine::from_sources(
        &[PolicySource {
            name: "candidate.cedar".into(),
            text: CANDIDATE.into(),
        }],
        &Catalog::builtin(),
    )
    .unwrap();
    let gate = GateBuilder::new()
        .policies(&["permit (principal, action, resource);"])
        .endpoints(&[placeholder(BackendKind::Pve, "pve")])
        .audit(&log)
        .build()
        .with_shadow(Some(candidate));
    let intern = Caller::stdio(Principal::new("ivy", ["interns"]));
    let call = |tool: &'static str, args: Value| {
        let gate = &gate;
        let intern = &intern;
        async move {
            gate.call(
                intern,
                CallRequest {
                    tool,
                    args: Some(&args),
                    confirmation: Confirmation::None,
                    confirms: None,
                },
                None,
            )
            .await
        }
    };
    // Both sets allow: no shadow record. The candidate denies: a shadow
    // record, and the call still goes to the backend (the placeholder
    // endpoint answers nothing, so it fails there, after the decision).
    call("pve_list_nodes", json!({})).await;
    call("pve_list_qemu_vms", json!({"node": "pve1"})).await;
    call("pve_list_qemu_vms", json!({"node": "pve2"})).await;

    let recs = records(&log);
    let shadows: Vec<&Value> = recs.iter().filter(|r| r["kind"] == "shadow").collect();
    assert_eq!(shadows.len(), 2, "{recs:#?}");
    let s = shadows[0];
    assert_eq!(s["tool"], "pve_list_qemu_vms");
    assert_eq!(s["principal"]["id"], "ivy");
    assert_eq!(s["live"], "allow");
    assert_eq!(s["candidate"], "deny");
    assert_eq!(
        s["candidate_policies"],
        json!(["no-vm-listing-for-interns"])
    );
    assert_eq!(s["candidate_set"].as_str().unwrap().len(), 64);
    // The live decision was the one enforced.
    let decisions: Vec<&Value> = recs
        .iter()
        .filter(|r| r["kind"] == "decision" && r["tool"] == "pve_list_qemu_vms")
        .collect();
    assert_eq!(decisions.len(), 2);
    assert!(
        decisions.iter().all(|d| d["decision"] == "allow"),
        "{decisions:#?}"
    );
    let outcomes = recs
        .iter()
        .filter(|r| r["kind"] == "outcome" && r["tool"] == "pve_list_qemu_vms")
        .count();
    assert_eq!(outcomes, 2);

    let report = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["policy", "shadow-report"])
            .args(extra)
            .arg(&log)
            .env("PORTCULLIS_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = report(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("| pve_list_qemu_vms | ivy | 2 | 0 | 0 | no-vm-listing-for-interns |"),
        "{text}"
    );
    assert!(!text.contains("pve_list_nodes"), "{text}");
    let out = report(&["--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["disagreements"][0]["would_deny"], 2);
    assert_eq!(v["disagreements"][0]["would_allow"], 0);
}

#[test]
fn a_log_without_disagreements_reports_none_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    std::fs::write(
        &log,
        "{\"kind\":\"decision\",\"tool\":\"pve_list_nodes\"}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["policy", "shadow-report"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("no shadow records"));
}

/// `check` reads the candidate set like the live one: a valid one is
/// reported with its size, one that does not validate is a problem.
#[test]
fn check_validates_the_candidate_set() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidate = dir.path().join("next");
    std::fs::create_dir(&candidate).unwrap();
    std::fs::write(candidate.join("c.cedar"), CANDIDATE).unwrap();
    let config = dir.path().join("p.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nprincipal = \"ivy\"\npolicies = \"{}\"\nshadow_policies = \"next\"\naudit_log = \"audit.jsonl\"\n\n[[principals]]\nid = \"ivy\"\ngroups = [\"interns\"]\n",
            root.join("policies/default").display()
        ),
    )
    .unwrap();
    let check = || {
        let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["check", "--config"])
            .arg(&config)
            .env("PORTCULLIS_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, text) = check();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("shadow policies: ") && text.contains("(2 policies"),
        "{text}"
    );
    std::fs::write(
        candidate.join("typo.cedar"),
        "permit(principal, action == Action::\"pve_stop_qemu_vm\", resource) when { resource.vmidd == 1 };\n",
    )
    .unwrap();
    let (code, text) = check();
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("shadow policies (") && text.contains("vmidd"),
        "{text}"
    );
}

/// The candidate set is reloaded with the live one: a change on disk
/// replaces it, one that does not validate leaves the previous candidate.
#[tokio::test]
async fn the_candidate_set_reloads_and_a_bad_one_is_refused() {
    use portcullis::reload::PolicyReloader;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let live = dir.path().join("live");
    let next = dir.path().join("next");
    std::fs::create_dir(&live).unwrap();
    std::fs::create_dir(&next).unwrap();
    std::fs::write(
        live.join("a.cedar"),
        "permit (principal, action, resource);\n",
    )
    .unwrap();
    std::fs::write(
        next.join("a.cedar"),
        "permit (principal, action, resource);\n",
    )
    .unwrap();
    let gate = std::sync::Arc::new(
        GateBuilder::new()
            .policies(&["permit (principal, action, resource);"])
            .endpoints(&[placeholder(BackendKind::Pve, "pve")])
            .audit(&log)
            .build()
            .with_shadow(Some(
                PolicyEngine::load_dir(&next, &Catalog::builtin()).unwrap(),
            )),
    );
    let digest = portcullis::policy::set_digest(&portcullis::policy::read_dir(&live).unwrap());
    let reloader =
        PolicyReloader::with_shadow(gate.clone(), live, digest, Some(next.clone()), Vec::new());
    let intern = Caller::stdio(Principal::new("ivy", ["interns"]));
    let args = json!({"node": "pve1"});
    let list = || {
        gate.call(
            &intern,
            CallRequest {
                tool: "pve_list_qemu_vms",
                args: Some(&args),
                confirmation: Confirmation::None,
                confirms: None,
            },
            None,
        )
    };
    let shadows = || {
        records(&log)
            .iter()
            .filter(|r| r["kind"] == "shadow")
            .count()
    };
    list().await;
    assert_eq!(shadows(), 0, "the candidate agrees");
    std::fs::write(next.join("a.cedar"), CANDIDATE).unwrap();
    reloader.reload("file_change", false).await;
    list().await;
    assert_eq!(shadows(), 1, "the new candidate disagrees");
    std::fs::write(
        next.join("b.cedar"),
        "permit (principal, action, resource) when { context.nope };\n",
    )
    .unwrap();
    reloader.reload("file_change", false).await;
    list().await;
    assert_eq!(shadows(), 2, "the previous candidate still decides");
    let refused = records(&log)
        .into_iter()
        .filter(|r| r["kind"] == "policy_reload" && r["result"] == "refused")
        .count();
    assert_eq!(refused, 1);
}
