//! The `portcullis` command line: golden files, exit statuses, and the
//! shipped examples and policies.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use std::path::PathBuf;
use std::process::{Command, Output};

use portcullis::catalog::Catalog;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn portcullis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .current_dir(root())
        .env_remove("PORTCULLIS_CONFIG")
        .env("PORTCULLIS_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let out = portcullis(&["schema"]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(root().join("schemas/portcullis.cedarschema")).unwrap();
    assert!(
        committed == stdout(&out),
        "schemas/portcullis.cedarschema is stale: run `portcullis schema > schemas/portcullis.cedarschema`"
    );
}

#[test]
fn the_readme_tool_table_is_the_generated_one() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("<!-- tools:start -->\n").expect("start marker")
        + "<!-- tools:start -->\n".len();
    let end = readme.find("<!-- tools:end -->").expect("end marker");
    assert!(
        readme[start..end] == Catalog::builtin().markdown_table(),
        "README tool table is stale: paste `portcullis tools --lab --markdown` between the markers"
    );
}

#[test]
fn the_shipped_decision_tests_pass() {
    let out = portcullis(&[
        "policy",
        "test",
        "policies/tests/default.toml",
        "policies/tests/mcp-pve.toml",
        "policies/tests/vergeos.toml",
    ]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains(" 0 failed"));
}

#[test]
fn a_case_placing_its_target_names_only_declared_types_and_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.toml");
    let case = |resource: &str| {
        format!(
            "policies = \"{}\"\n[[endpoints]]\nname = \"vergeos\"\nbackend = \"vergeos\"\n[[case]]\nname = \"c\"\nprincipal = \"a\"\n\
             groups = [\"acme-operators\"]\ntool = \"vergeos_power_on_vm\"\nargs = {{ id = 3 }}\nresource = [{resource}]\nexpect = \"allow\"\n",
            root().join("policies/vergeos").display()
        )
    };
    for (resource, want) in [
        (
            r#"{ kind = "VergeVmm", id = "vergeos/3" }"#,
            "resource kind \"VergeVmm\" is not an entity type",
        ),
        (
            r#"{ kind = "VergeVm", id = "vergeos/3", attrs = { tennant = "acme" } }"#,
            "VergeVm has no attribute \"tennant\"",
        ),
    ] {
        std::fs::write(&file, case(resource)).unwrap();
        let out = portcullis(&["policy", "test", file.to_str().unwrap()]);
        assert!(!out.status.success());
        let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains(want), "{text}");
    }
    // Placed in the tenant, the tenant operator's permit applies.
    std::fs::write(
        &file,
        case(r#"{ kind = "VergeVm", id = "vergeos/3", parents = [["VergeTenant", "vergeos/1"]] }, { kind = "VergeTenant", id = "vergeos/1", attrs = { tenant_id = 1 } }"#),
    )
    .unwrap();
    let out = portcullis(&["policy", "test", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn a_failing_decision_test_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.toml");
    std::fs::write(
        &file,
        format!(
            "policies = \"{}\"\n[[case]]\nname = \"wrong on purpose\"\nprincipal = \"a\"\ngroups = [\"readers\"]\ntool = \"pve_delete_qemu_vm\"\nargs = {{ node = \"n\", vmid = 100 }}\nexpect = \"allow\"\n",
            root().join("policies/default").display()
        ),
    )
    .unwrap();
    let out = portcullis(&["policy", "test", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("FAIL wrong on purpose: expected allow, got deny"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn every_example_config_checks() {
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["check", "--config", path.to_str().unwrap()])
            .env("PVE_TOKEN_SECRET", "x")
            .env("VCENTER_PASSWORD", "x")
            .env("VOLCENGINE_SECRET_KEY", "x")
            .env("PVE_DEV_TOKEN_SECRET", "x")
            .env("PVE_PROD_TOKEN_SECRET", "x")
            .env("PVE_BASE_URL", "https://pve.example.internal:8006")
            .env("PVE_TOKEN_ID", "root@pam!mcp")
            .output()
            .unwrap();
        // The audit directory of a production example need not exist here;
        // everything before it must be fine.
        let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("policies: ok"), "{}: {text}", path.display());
        assert!(
            out.status.success() || text.contains("audit log directory"),
            "{}: {text}",
            path.display()
        );
    }
}

#[test]
fn dry_run_exit_status_tells_allow_from_deny_and_json_is_replayable() {
    let allow = portcullis(&[
        "dry-run",
        "--lab",
        "--as",
        "bob",
        "pve_start_qemu_vm",
        r#"{"node":"pve1","vmid":100}"#,
    ]);
    assert_eq!(allow.status.code(), Some(0), "{}", stdout(&allow));
    assert!(
        stdout(&allow)
            .contains("determining policy: operators-read-operate (default/10-operators.cedar:2)"),
        "{}",
        stdout(&allow)
    );
    let deny = portcullis(&[
        "dry-run",
        "--lab",
        "--as",
        "alice",
        "pve_start_qemu_vm",
        r#"{"node":"pve1","vmid":100}"#,
    ]);
    assert_eq!(deny.status.code(), Some(1));
    assert!(stdout(&deny).contains("default deny"));
    let json = portcullis(&[
        "dry-run",
        "--lab",
        "--json",
        "--as",
        "carol",
        "pve_delete_qemu_vm",
        r#"{"node":"pve1","vmid":100}"#,
    ]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["policies"][0]["id"], "destructive-needs-confirmation");
    let req = &v["request"];
    assert_eq!(
        req["principal"],
        serde_json::json!({"type": "User", "id": "carol"})
    );
    assert_eq!(req["action"]["id"], "pve_delete_qemu_vm");
    assert_eq!(
        req["resource"],
        serde_json::json!({"type": "Vm", "id": "lab/100"})
    );
    assert_eq!(req["context"]["confirmed"], false);
    assert_eq!(req["context"]["args"]["vmid"], 100);
    let types: Vec<&str> = req["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uid"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["User", "Group", "Vm", "Node", "Endpoint"]);
    // Deciding as a human would have confirmed flips it.
    let human = portcullis(&[
        "dry-run",
        "--lab",
        "--confirmation",
        "elicitation",
        "--as",
        "carol",
        "pve_delete_qemu_vm",
        r#"{"node":"pve1","vmid":100}"#,
    ]);
    assert_eq!(human.status.code(), Some(0));
    // Ad-hoc principals let authors try groups without a config.
    let adhoc = portcullis(&[
        "dry-run",
        "--lab",
        "--as",
        "zed",
        "--group",
        "readers",
        "pve_list_nodes",
    ]);
    assert_eq!(adhoc.status.code(), Some(0));
}

#[test]
fn tools_as_a_principal_shows_what_it_may_call() {
    let out = portcullis(&["tools", "--lab", "--as", "alice"]);
    let text = stdout(&out);
    let line = |tool: &str| {
        text.lines()
            .find(|l| l.starts_with(tool))
            .unwrap()
            .to_string()
    };
    assert!(line("pve_list_nodes ").ends_with("yes"), "{text}");
    assert!(
        line("pve_stop_qemu_vm ").ends_with("no: no policy permits it"),
        "{text}"
    );
    // Columns line up however long the names are.
    let at = |l: &str| {
        l.find(" read ")
            .or_else(|| l.find(" operate "))
            .unwrap_or(0)
    };
    let first = at(&line("pve_list_nodes "));
    assert!(
        text.lines().skip(1).all(|l| at(l) == first || at(l) == 0),
        "{text}"
    );
}

/// `tools --json` says of every tool whether it is available and why not:
/// no endpoint of its backend, or no policy permits it.
#[test]
fn tools_json_says_why_a_tool_is_not_available() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::write(
        dir.path().join("policies/read.cedar"),
        "permit (principal in Group::\"readers\", action in Action::\"tier:read\", resource);\n",
    )
    .unwrap();
    let config = dir.path().join("p.toml");
    std::fs::write(
        &config,
        "[server]\npolicies = \"policies\"\naudit_log = \"audit.jsonl\"\n\
         [[principals]]\nid = \"ann\"\ngroups = [\"readers\"]\n\
         [[endpoints]]\nname = \"pve\"\nbackend = \"pve\"\nurl = \"https://pve.example:8006\"\n\
         token_id = \"u@pve!t\"\ntoken_secret_env = \"PVE_SECRET\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["tools", "--json", "--as", "ann", "--config"])
        .arg(&config)
        .env("PVE_SECRET", "s")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tool = |name: &str| {
        v["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(v["principal"]["id"], "ann");
    assert_eq!(tool("pve_list_nodes")["available"], true);
    assert!(tool("pve_list_nodes").get("unavailable").is_none());
    assert_eq!(
        tool("pve_stop_qemu_vm")["unavailable"],
        "no policy permits it"
    );
    assert_eq!(
        tool("vsphere_list_vms")["unavailable"],
        "no vsphere endpoint is configured"
    );
    assert_eq!(tool("vsphere_list_vms")["available"], false);
    assert_eq!(
        tool("vsphere_power_off")["stands_for"],
        "vsphere_power_off_vm"
    );
    assert!(tool("vsphere_power_off_vm").get("stands_for").is_none());
}

#[test]
fn invalid_policies_are_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ok.cedar"),
        "permit(principal in Group::\"readers\", action in Action::\"tier:read\", resource);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("typo.cedar"),
        "// a typo in an attribute\n\npermit(principal, action == Action::\"pve_stop_qemu_vm\", resource)\n  when { resource.vmidd == 100 };\n",
    )
    .unwrap();
    let out = portcullis(&["check", "--lab", "--policies", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("typo.cedar:4"), "{err}");
    assert!(err.contains("vmidd"), "{err}");
}

#[test]
fn audit_verify_reports_tampering_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let demo = portcullis(&["lab", "--demo", "--audit-log", log.to_str().unwrap()]);
    assert!(demo.status.success(), "{}", stdout(&demo));
    let ok = portcullis(&["audit", "verify", log.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0));
    let records = std::fs::read_to_string(&log).unwrap().lines().count();
    assert!(records >= 18, "the demo's calls were recorded");
    assert!(
        stdout(&ok).contains(&format!("intact, {records} records")),
        "{}",
        stdout(&ok)
    );
    let text = std::fs::read_to_string(&log).unwrap().replacen(
        "\"decision\":\"deny\"",
        "\"decision\":\"allow\"",
        1,
    );
    std::fs::write(&log, text).unwrap();
    let bad = portcullis(&["audit", "verify", log.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        // Line 1 records the policy set loaded; the demo's first deny is
        // its third call.
        stdout(&bad).contains("BROKEN") && stdout(&bad).contains(":4:"),
        "{}",
        stdout(&bad)
    );
}

#[test]
fn serve_refuses_an_unknown_principal_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    let out = portcullis(&[
        "serve",
        "--lab",
        "--lab-audit-log",
        log.to_str().unwrap(),
        "--as",
        "mallory",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown principal \"mallory\""));
    assert!(out.stdout.is_empty(), "stdout is reserved for MCP");
}

/// Run a command whose stdout is a pipe the reader has already closed
/// (as `| head -1` does once it has its line).
fn with_closed_stdout(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .current_dir(root())
        .env_remove("PORTCULLIS_CONFIG")
        .env("PORTCULLIS_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before the command can have written anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    for args in [
        &["tools", "--lab"][..],
        &["schema"][..],
        &["policy", "test", "policies/tests/default.toml"][..],
    ] {
        let (status, stderr) = with_closed_stdout(args);
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn the_dry_run_hint_of_a_refusal_runs_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let out = portcullis(&[
        "call",
        "--lab",
        "--lab-audit-log",
        log.to_str().unwrap(),
        "--as",
        "alice",
        "pve_delete_qemu_vm",
        r#"{"node":"pve1","vmid":100}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let hint = err
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no command in {err}"));
    assert!(hint.starts_with("portcullis dry-run --lab"), "{hint}");
    // Run it from elsewhere, as an operator would paste it.
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_portcullis"));
    let replay = Command::new("sh")
        .arg("-c")
        .arg(hint.replacen("portcullis", &bin.display().to_string(), 1))
        .current_dir(dir.path())
        .env("PORTCULLIS_LOG", "warn")
        .output()
        .unwrap();
    let text = stdout(&replay);
    assert_eq!(
        replay.status.code(),
        Some(1),
        "{hint}: {text}{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert!(text.contains("decision: deny"), "{text}");
    assert!(
        text.contains("principal: alice (groups: readers)"),
        "{text}"
    );
}

#[test]
fn check_reports_the_audit_logs_state_and_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let policies = root().join("policies/default");
    let write_config = |audit: &str, extra: &str| {
        let cfg = dir.path().join("portcullis.toml");
        std::fs::write(
            &cfg,
            format!(
                "[server]\nprincipal = \"a\"\npolicies = \"{}\"\naudit_log = \"{audit}\"\n\n[[principals]]\nid = \"a\"\ngroups = [\"readers\"]\n{extra}",
                policies.display()
            ),
        )
        .unwrap();
        cfg
    };
    let check = |cfg: &std::path::Path| {
        let out = portcullis(&["check", "--config", cfg.to_str().unwrap()]);
        (out.status.code(), stdout(&out))
    };
    // A torn tail: serve recovers it, so check passes and says so.
    let log = dir.path().join("audit.jsonl");
    std::fs::write(&log, "").unwrap();
    let demo = portcullis(&["lab", "--demo", "--audit-log", log.to_str().unwrap()]);
    assert!(demo.status.success());
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"seq\":");
    std::fs::write(&log, &text).unwrap();
    let cfg = write_config("audit.jsonl", "");
    let (code, out) = check(&cfg);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("torn tail (7 bytes"), "{out}");
    // A complete but unreadable last line: check fails as serve would, and
    // `audit repair` fixes it.
    text.push('\n');
    std::fs::write(&log, &text).unwrap();
    let (code, out) = check(&cfg);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("needs repair"), "{out}");
    assert!(out.contains("portcullis audit repair"), "{out}");
    let repair = portcullis(&["audit", "repair", log.to_str().unwrap()]);
    assert!(
        repair.status.success(),
        "{}",
        String::from_utf8_lossy(&repair.stderr)
    );
    let (code, out) = check(&cfg);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("intact ("), "{out}");
    // Several problems at once: a missing audit directory and missing TLS
    // files, both reported.
    let cfg = write_config(
        "no/such/dir/audit.jsonl",
        "\n[http]\n[http.tls]\ncert_file = \"missing.pem\"\nkey_file = \"missing.key\"\nclient_ca_file = \"missing-ca.pem\"\n",
    );
    let (code, out) = check(&cfg);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("audit log directory"), "{out}");
    assert!(out.contains("missing.pem"), "{out}");
    assert!(out.contains("2 problem(s)"), "{out}");
}

#[test]
fn a_keyed_signed_log_verifies_only_with_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let made = portcullis(&["audit", "keygen", "--out", &d("keys")]);
    assert!(made.status.success(), "{}", stdout(&made));
    let again = portcullis(&["audit", "keygen", "--out", &d("keys")]);
    assert!(!again.status.success(), "never overwrites a key");
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(d("keys/audit-signing.pem"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(
        mode & 0o077,
        0,
        "the private key is readable by its owner only"
    );
    std::fs::write(
        d("portcullis.toml"),
        format!(
            "[server]\nprincipal = \"alice\"\npolicies = {:?}\naudit_log = \"audit.jsonl\"\n\n\
             [audit]\nchain_key_file = \"keys/audit-chain.key\"\nsigning_key_file = \"keys/audit-signing.pem\"\n\
             checkpoint_every_records = 3\n\n[[principals]]\nid = \"alice\"\ngroups = [\"readers\"]\n",
            root().join("policies/default")
        ),
    )
    .unwrap();
    for _ in 0..2 {
        let call = portcullis(&[
            "call",
            "--config",
            &d("portcullis.toml"),
            "--lab-backend",
            "--as",
            "alice",
            "pve_list_nodes",
        ]);
        assert!(call.status.success(), "{}", stdout(&call));
    }
    let log = d("audit.jsonl");
    let ok = portcullis(&[
        "audit",
        "verify",
        "--key-file",
        &d("keys/audit-chain.key"),
        "--pubkey",
        &d("keys/audit-signing.pub.pem"),
        &log,
    ]);
    let out = stdout(&ok);
    assert_eq!(ok.status.code(), Some(0), "{out}");
    assert!(out.contains("every record's MAC checked"), "{out}");
    assert!(out.contains("checkpoints signed by"), "{out}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(
        std::fs::read_to_string(d("keys/audit-chain.key"))
            .unwrap()
            .trim()
    ));

    let other = portcullis(&["audit", "keygen", "--out", &d("other")]);
    assert!(other.status.success());
    let wrong = portcullis(&[
        "audit",
        "verify",
        "--key-file",
        &d("other/audit-chain.key"),
        &log,
    ]);
    assert_eq!(wrong.status.code(), Some(1), "{}", stdout(&wrong));
    let wrong = portcullis(&[
        "audit",
        "verify",
        "--pubkey",
        &d("other/audit-signing.pub.pem"),
        &log,
    ]);
    assert_eq!(wrong.status.code(), Some(1), "{}", stdout(&wrong));
    assert!(
        stdout(&wrong).contains("not the public key given"),
        "{}",
        stdout(&wrong)
    );
}

#[test]
fn audit_explain_decides_a_recorded_call_again_with_the_set_that_decided_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let demo = portcullis(&["lab", "--demo", "--audit-log", log.to_str().unwrap()]);
    assert!(demo.status.success(), "{}", stdout(&demo));
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let call_with = |decision: &str| {
        records
            .iter()
            .find(|r| r["kind"] == "decision" && r["decision"] == decision)
            .unwrap()["call"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let explain =
        |call: &str| portcullis(&["audit", "explain", call, "--log", log.to_str().unwrap()]);
    let allowed = explain(&call_with("allow"));
    let out = stdout(&allowed);
    assert_eq!(allowed.status.code(), Some(0), "{out}");
    assert!(
        out.contains("decided again: allow") && out.contains("determining policy readers-read"),
        "{out}"
    );
    assert!(
        out.contains("permit ("),
        "the policy's text is shown: {out}"
    );
    let denied = explain(&call_with("deny"));
    let out = stdout(&denied);
    assert_eq!(denied.status.code(), Some(0), "{out}");
    assert!(
        out.contains("decided again: deny") && out.contains("the same decision"),
        "{out}"
    );

    // The demo's approved call is decided again, as approved, with the
    // set the demo loaded for it.
    let approved = records
        .iter()
        .find(|r| r["kind"] == "decision" && r["confirmation"] == "approval")
        .unwrap();
    assert_eq!(approved["decision"], "allow");
    assert!(approved["approval"].as_str().unwrap().starts_with("apr-"));
    let again = explain(approved["call"].as_str().unwrap());
    let out = stdout(&again);
    assert_eq!(again.status.code(), Some(0), "{out}");
    assert!(
        out.contains("decided again: allow") && out.contains("the same decision"),
        "{out}"
    );

    // A kept set that was altered is refused, not used.
    let digest = records
        .iter()
        .find(|r| r["kind"] == "policy_loaded")
        .unwrap()["policy_set"]
        .as_str()
        .unwrap()
        .to_string();
    let kept = dir
        .path()
        .join("audit.jsonl.policy-sets")
        .join(format!("{digest}.json"));
    let text = std::fs::read_to_string(&kept).unwrap();
    std::fs::write(&kept, text.replace("readers", "everyone")).unwrap();
    let tampered = explain(&call_with("allow"));
    assert!(!tampered.status.success());
    assert!(String::from_utf8_lossy(&tampered.stderr).contains("was altered"));
    let unknown = explain("no-such-call");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr)
        .contains("no decision record for call no-such-call"));
}

/// Completions and the manual page come from the command line's own
/// definition: every subcommand is in them.
#[test]
fn completions_and_the_man_page_name_every_subcommand() {
    let subcommands = [
        "serve",
        "check",
        "dry-run",
        "approvals",
        "break-glass",
        "health",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let out = portcullis(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let text = stdout(&out);
        for sub in subcommands {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let out = portcullis(&["completions", "tcsh"]);
    assert!(!out.status.success(), "an unknown shell is refused");
    // roff writes a hyphen as `\-`.
    let man = stdout(&portcullis(&["man"])).replace("\\-", "-");
    assert!(man.contains(".TH portcullis 1"), "a section-1 page");
    for sub in subcommands {
        assert!(man.contains(sub), "the man page lacks {sub}");
    }
}

/// `init --from SEED` writes what the drop-in runs with: a configuration
/// that `check` passes with the seed's environment, the bundle and the
/// seed's narrowing policies; it never writes over an existing one.
#[test]
fn init_writes_the_drop_in_as_files_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("pve");
    let seed_env = [
        ("PVE_BASE_URL", "https://pve.example:8006"),
        ("PVE_TOKEN_ID", "root@pam!mcp"),
        ("PVE_TOKEN_SECRET", "s3cret-init"),
        ("PVE_ACCESS_TIER", "read-execute"),
        ("PVE_TOOL_BLACKLIST", "pve_delete_qemu_vm"),
    ];
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("USER", "erin")
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .envs(seed_env)
            .output()
            .unwrap()
    };
    let dir_arg = out_dir.display().to_string();
    let o = run(&["init", "--from", "mcp-pve", "--dir", &dir_arg]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config = std::fs::read_to_string(out_dir.join("portcullis.toml")).unwrap();
    assert!(
        config.contains("id = \"erin\"\ngroups = [\"pve-read-execute\"]"),
        "{config}"
    );
    assert!(!config.contains("s3cret-init"));
    let mut files: Vec<String> = std::fs::read_dir(out_dir.join("policies"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "00-read-only.cedar",
            "10-read-execute.cedar",
            "20-full.cedar",
            "50-PVE_TOOL_BLACKLIST.cedar",
            "95-four-eyes.cedar"
        ]
    );
    let cfg = out_dir.join("portcullis.toml").display().to_string();
    let o = run(&["check", "--config", &cfg]);
    assert!(o.status.success(), "{}", stdout(&o));
    // The blacklist came along: the configuration decides as the drop-in.
    let o = run(&[
        "dry-run",
        "--config",
        &cfg,
        "--as",
        "erin",
        "pve_delete_qemu_vm",
        r#"{"node":"pve1","vmid":100,"confirm":true}"#,
    ]);
    assert!(
        stdout(&o).contains("env-PVE_TOOL_BLACKLIST"),
        "{}",
        stdout(&o)
    );
    // Never over an existing one; an unknown seed names the seeds.
    let o = run(&["init", "--from", "mcp-pve", "--dir", &dir_arg]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists already"));
    let o = run(&["init", "--from", "proxmox", "--dir", &dir_arg]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("mcp-pve, mcvsphere, vergeos, volcengine"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A value for a variable an example's "Check it with:" line sets.
fn sample_value(var: &str) -> &'static str {
    match var {
        "PVE_BASE_URL" => "https://pve.example.internal:8006",
        "PVE_TOKEN_ID" => "root@pam!mcp",
        _ => "not-a-real-secret",
    }
}

/// The TLS files shared-deployment.toml names: a server certificate and
/// key, and a CA for client certificates.
fn write_tls(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    let server = rcgen::generate_simple_self_signed(vec!["mcp.example.org".to_string()]).unwrap();
    std::fs::write(dir.join("server.pem"), server.cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server.signing_key.serialize_pem()).unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["clients-ca".to_string()]).unwrap();
    std::fs::write(dir.join("clients-ca.pem"), ca.cert.pem()).unwrap();
}

/// Every example passes `portcullis check` given what its header says:
/// the variables its "Check it with:" line sets, and the directories and
/// files it says it needs (made here under a scratch root standing for /).
#[test]
fn every_example_checks_with_its_documented_environment_and_directories() {
    let scratch = tempfile::tempdir().unwrap();
    let fake_root = scratch.path().join("root");
    // The examples name ../policies/…: the same layout beside them.
    std::os::unix::fs::symlink(root().join("policies"), scratch.path().join("policies")).unwrap();
    std::fs::create_dir(scratch.path().join("examples")).unwrap();
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
        let command = header
            .iter()
            .skip_while(|l| !l.contains("Check it with:"))
            .find(|l| l.contains("portcullis check --config"))
            .unwrap_or_else(|| panic!("{name}: its header has no \"Check it with:\" command"));
        let vars: Vec<&str> = command
            .split_whitespace()
            .filter_map(|w| w.strip_suffix("=..."))
            .collect();
        let mut local = text.clone();
        for dir in ["/var/log/portcullis", "/etc/portcullis"] {
            let used = text.lines().any(|l| !l.starts_with('#') && l.contains(dir));
            if used {
                assert!(
                    header.iter().any(|l| l.contains(dir)),
                    "{name} uses {dir} and its header does not say so"
                );
                local = local.replace(dir, &format!("{}{dir}", fake_root.display()));
            }
        }
        if local != text {
            std::fs::create_dir_all(fake_root.join("var/log/portcullis")).unwrap();
        }
        if text.contains("/etc/portcullis/tls/") {
            write_tls(&fake_root.join("etc/portcullis/tls"));
        }
        let cfg = scratch.path().join("examples").join(&name);
        std::fs::write(&cfg, local).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["check", "--config"])
            .arg(&cfg)
            .current_dir(scratch.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(vars.iter().map(|v| (v, sample_value(v))))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name} with {vars:?}:\n{}{}",
            stdout(&o),
            String::from_utf8_lossy(&o.stderr)
        );
        checked.push(name);
    }
    checked.sort();
    assert_eq!(checked.len(), 7, "{checked:?}");
}

/// The client configurations parse, the HTTP ones name the MCP endpoint
/// the example deployments serve, name an absolute command (desktop
/// clients do not search the shell's PATH), have a lab variant each, are
/// all described in examples/clients/README.md, and hold no secret but
/// the lab's published keys.
#[test]
fn client_configurations_are_complete_and_hold_no_secret() {
    let clients = root().join("examples/clients");
    let readme = std::fs::read_to_string(clients.join("README.md")).unwrap();
    for sub in ["", "http"] {
        let dir = clients.join(sub);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".json") || n.ends_with(".sh"))
            .collect();
        for name in &names {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            let lab = name.starts_with("lab-");
            if name.ends_with(".json") {
                let v: Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                let servers = v
                    .get("mcpServers")
                    .or_else(|| v.get("servers"))
                    .and_then(Value::as_object)
                    .unwrap_or_else(|| panic!("{name}: no servers"));
                for (id, server) in servers {
                    if let Some(cmd) = server["command"].as_str() {
                        assert!(
                            cmd.starts_with('/') || cmd == "npx",
                            "{sub}/{name} {id}: command {cmd:?} is not an absolute path"
                        );
                    }
                }
            } else {
                let o = Command::new("sh")
                    .arg("-n")
                    .arg(dir.join(name))
                    .output()
                    .unwrap();
                assert!(
                    o.status.success(),
                    "{name}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            if sub == "http" && name.ends_with(".json") {
                // The MCP endpoint the example deployments serve.
                let url = if lab {
                    ":8080/mcp"
                } else {
                    "https://mcp.example.org:8443/mcp"
                };
                assert!(text.contains(url), "{sub}/{name} does not name {url}");
            }
            if !lab {
                assert!(!text.contains("pcl_"), "{sub}/{name} holds a key");
                let variant = if name.starts_with("claude-code-mcp") {
                    None
                } else {
                    Some(format!("lab-{name}"))
                };
                if let Some(v) = variant {
                    assert!(names.contains(&v), "{sub}/{name} has no lab variant {v}");
                }
            }
            let base = name.trim_start_matches("lab-");
            assert!(
                readme.contains(base),
                "examples/clients/README.md does not mention {base}"
            );
        }
    }
}

/// `[listing]` narrows what is offered by backend and category, as named
/// policies: tools/list leaves the rest out, a call is refused naming the
/// setting, and a typo is a configuration error naming what there is.
#[test]
fn listing_narrows_tools_by_backend_and_category_as_policies() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.toml");
    let write = |listing: &str| {
        std::fs::write(
            &cfg,
            format!(
                "[server]\npolicies = \"{}\"\naudit_log = \"{}\"\n[[principals]]\nid = \"carol\"\ngroups = [\"admins\"]\n{listing}",
                root().join("policies/default").display(),
                dir.path().join("a.jsonl").display()
            ),
        )
        .unwrap();
    };
    write("[listing]\nbackends = [\"pve\"]\ncategories = [\"qemu\", \"nodes\"]\n");
    let cfg_s = cfg.display().to_string();
    // The same command line as carol, with the lab's cluster.
    let as_carol = |args: &[&str]| {
        let mut all = vec!["--config", cfg_s.as_str(), "--lab-backend", "--as", "carol"];
        all.splice(0..0, args[..1].iter().copied());
        all.extend(&args[1..]);
        portcullis(&all)
    };
    let o = as_carol(&["tools", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let listed: Vec<&Value> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["available"] == true)
        .collect();
    assert!(!listed.is_empty(), "{v}");
    for t in &listed {
        let name = t["name"].as_str().unwrap();
        assert!(name.starts_with("pve_"), "{name} is not a pve tool");
        assert!(
            ["qemu", "nodes"].contains(&t["category"].as_str().unwrap()),
            "{name}: {}",
            t["category"]
        );
    }
    let o = as_carol(&["dry-run", "pve_list_storage", "{}"]);
    assert!(stdout(&o).contains("listing-categories"), "{}", stdout(&o));
    // Backends alone: every tool of the backend, none of the others.
    write("[listing]\nbackends = [\"pve\"]\n");
    let o = as_carol(&["tools", "--json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let tools = v["tools"].as_array().unwrap();
    for t in tools {
        let pve = t["backend"] == "pve";
        assert_eq!(t["available"], pve, "{t}");
    }
    assert!(tools
        .iter()
        .any(|t| t["name"] == "pve_list_storage" && t["available"] == true));

    // Shadow mode's candidate is narrowed as the live set is: a call the
    // listing refuses is no disagreement when the candidate is the same
    // directory.
    std::fs::write(
        &cfg,
        format!(
            "[server]\npolicies = \"{p}\"\nshadow_policies = \"{p}\"\naudit_log = \"{}\"\n[[principals]]\nid = \"carol\"\ngroups = [\"admins\"]\n[listing]\ncategories = [\"qemu\", \"nodes\"]\n",
            dir.path().join("shadow.jsonl").display(),
            p = root().join("policies/default").display(),
        ),
    )
    .unwrap();
    let o = as_carol(&["call", "pve_list_storage", "{}"]);
    assert!(!o.status.success(), "{}", stdout(&o));
    let o = as_carol(&["call", "pve_list_nodes", "{}"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(dir.path().join("shadow.jsonl")).unwrap();
    let kinds: Vec<String> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].to_string())
        .collect();
    assert!(kinds.iter().any(|k| k == "\"decision\""), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k == "\"shadow\""), "{log}");

    write("[listing]\ncategories = [\"qemu\", \"vms\"]\n");
    let o = portcullis(&["check", "--config", &cfg_s]);
    assert!(
        stdout(&o).contains("listing.categories names \"vms\""),
        "{}",
        stdout(&o)
    );
}
