//! `portcullis policy matrix` and `portcullis policy diff`, through the
//! binary on the embedded lab (its principals: alice in readers, bob in
//! operators, carol in admins).
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn portcullis(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .current_dir(dir)
        .env("PORTCULLIS_LOG", "warn")
        .output()
        .unwrap()
}

fn policies(dir: &Path, name: &str, files: &[(&str, &str)]) -> String {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    for (f, text) in files {
        std::fs::write(d.join(f), text).unwrap();
    }
    d.display().to_string()
}

const BASE: &str = r#"
@id("readers-read")
permit (principal in Group::"readers", action in Action::"tier:read", resource);
@id("operators-operate")
permit (principal in Group::"operators", action in Action::"tier:operate", resource);
@id("confirm-destructive")
forbid (principal, action in Action::"destructive", resource)
when { context.destructive } unless { context.confirmed };
@id("humans-only-for-deletes")
forbid (principal, action == Action::"pve_delete_qemu_snapshot", resource)
unless { context.confirmation == "elicitation" };
@id("admins-delete-snapshots")
permit (principal in Group::"admins", action == Action::"pve_delete_qemu_snapshot", resource);
@id("small-vms-only")
permit (principal in Group::"<sizers>, \"a\"", action == Action::"pve_start_qemu_vm", resource)
when { context.args.vmid < 200 };
@id("no-stops-for-contractors")
forbid (principal, action == Action::"pve_stop_qemu_vm", resource)
when { principal in Group::"contractors" };
"#;

/// CSV rows by their tool and place, each a map from column to cell
/// (the fields here hold no commas but the one quoted header).
fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = split_csv(lines.next().unwrap());
    (header, lines.map(split_csv).collect())
}

fn split_csv(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[test]
fn the_matrix_says_who_may_do_what_where() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = policies(tmp.path(), "base", &[("base.cedar", BASE)]);
    let matrix = |format: &str| {
        portcullis(
            tmp.path(),
            &[
                "policy",
                "matrix",
                "--lab",
                "--policies",
                &dir,
                "--format",
                format,
            ],
        )
    };
    let out = matrix("csv");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (header, rows) = csv_rows(&text);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}: {header:?}"))
    };
    let cell = |tool: &str, who: &str| {
        let row = rows
            .iter()
            .find(|r| r[0] == tool && r[3] == "lab")
            .unwrap_or_else(|| panic!("no row {tool}"));
        row[col(who)].clone()
    };
    assert_eq!(cell("pve_list_nodes", "user alice"), "allow");
    assert_eq!(cell("pve_list_nodes", "group readers"), "allow");
    assert_eq!(cell("pve_list_nodes", "user bob"), "deny");
    assert_eq!(cell("pve_stop_qemu_vm", "user bob"), "confirm");
    assert_eq!(cell("pve_stop_qemu_vm", "user alice"), "deny");
    // A group named only in a condition is a row too; a condition on the
    // principal alone does not make a cell vary.
    assert_eq!(cell("pve_stop_qemu_vm", "group contractors"), "deny");
    assert_eq!(
        cell("pve_delete_qemu_snapshot", "user carol"),
        "human confirm"
    );
    // A condition on the arguments: this call is allowed, others may not be.
    assert_eq!(
        cell("pve_start_qemu_vm", "group <sizers>, \"a\""),
        "allow *"
    );
    assert_eq!(cell("pve_start_qemu_vm", "user alice"), "deny");
    // The lab's VergeOS endpoint is a column of its own.
    assert!(rows
        .iter()
        .any(|r| r[0] == "vergeos_list_vms" && r[3] == "verge-lab"));

    // The same facts in Markdown, HTML (escaped) and JSON.
    let md = portcullis(
        tmp.path(),
        &["policy", "matrix", "--lab", "--policies", &dir],
    );
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("| pve_stop_qemu_vm | operate | yes | lab | deny | confirm |"),
        "{md}"
    );
    let html = matrix("html");
    let html = String::from_utf8_lossy(&html.stdout);
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        html.contains("<th>group &lt;sizers&gt;, &quot;a&quot;</th>"),
        "{html}"
    );
    assert!(!html.contains("<sizers>"));
    assert!(html.contains("class=\"human-confirm\" title=\"admins-delete-snapshots\""));
    let json = matrix("json");
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    let stop = v["places"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tool"] == "pve_stop_qemu_vm")
        .unwrap();
    assert_eq!(stop["subjects"]["user bob"]["access"], "confirm");
    assert_eq!(
        stop["subjects"]["user bob"]["policies"][0],
        "operators-operate"
    );
    assert_eq!(stop["sample_args"]["endpoint"], "lab");
    // Nothing was written where it ran.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn the_diff_names_every_changed_decision_and_its_policies() {
    let tmp = tempfile::tempdir().unwrap();
    let old = policies(tmp.path(), "old", &[("base.cedar", BASE)]);
    let stricter = format!(
        "{BASE}\n@id(\"no-stops-for-bob\")\nforbid (principal == User::\"bob\", action == Action::\"pve_stop_qemu_vm\", resource);\n"
    );
    let new = policies(tmp.path(), "new", &[("base.cedar", &stricter)]);
    let out = portcullis(tmp.path(), &["policy", "diff", "--lab", &old, &new]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with("1 of "), "{text}");
    assert!(
        text.contains("pve_stop_qemu_vm on lab for user bob: confirm -> deny"),
        "{text}"
    );
    assert!(
        text.contains("was: operators-operate (base.cedar:"),
        "{text}"
    );
    assert!(
        text.contains("now: no-stops-for-bob (base.cedar:"),
        "{text}"
    );
    // The group's other members are not affected.
    assert!(!text.contains("group operators"), "{text}");

    let out = portcullis(
        tmp.path(),
        &["policy", "diff", "--lab", &old, &new, "--json"],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["changes"].as_array().unwrap().len(), 1);
    assert_eq!(v["changes"][0]["new"], "deny");
    assert_ne!(v["old"], v["new"]);

    let same = portcullis(tmp.path(), &["policy", "diff", "--lab", &old, &old]);
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).starts_with("0 of "));

    let bad = policies(
        tmp.path(),
        "bad",
        &[("x.cedar", "permit(principal action);")],
    );
    let out = portcullis(tmp.path(), &["policy", "diff", "--lab", &old, &bad]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refused") && err.contains("x.cedar:1"),
        "{err}"
    );
}
