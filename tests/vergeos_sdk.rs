//! The VergeOS simulator is faithful to VergeOS as the official SDK sees it:
//! pyvergeos 1.7.1 (installed into .venv by scripts/setup-test-env.sh)
//! logs in, lists and reads VMs, powers them, reads status, drives, NICs
//! and snapshots, creates and deletes a snapshot, reads networks,
//! tenants, nodes, clusters, volumes, logs and alarms, with certificate
//! verification on; every call succeeds and reads the values the
//! simulator holds.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use std::path::Path;

use portcullis::backends::vergeos::lab::{Lab, ACME_APP, LEGACY, WEB};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

fn col(rows: &[serde_json::Map<String, Value>], field: &str) -> Vec<Value> {
    rows.iter()
        .map(|r| r.get(field).cloned().unwrap_or(Value::Null))
        .collect()
}

fn report_col(report: &Value, list: &str, field: &str) -> Vec<Value> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} missing: {report}"))
        .iter()
        .map(|r| r[field].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_sdk_reads_what_the_simulator_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        ".venv is missing: run scripts/setup-test-env.sh (scripts/test.sh does)"
    );
    let lab = Lab::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &lab.ca_pem).unwrap();
    let host = lab.url.trim_start_matches("https://").to_string();
    let (user, pass) = (lab.user.clone(), lab.password.expose_secret().to_string());
    let script = root.join("tests/interop/vergeos_sdk.py");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .env("VG_HOST", host)
            .env("VG_USER", user)
            .env("VG_PASS", pass)
            .env("REQUESTS_CA_BUNDLE", &ca)
            .env_remove("CURL_CA_BUNDLE")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pyvergeos failed:\n{stderr}\n{stdout}"
    );
    let r: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));

    let system = &lab.table("system")[0];
    assert_eq!(r["version"], system["yb_version"]);
    assert_eq!(r["os_version"], system["os_version"]);
    assert_eq!(r["cloud_name"], system["cloud_name"]);

    // VMs: what the simulator holds (snapshots' VMs left out, as the SDK asks).
    let vms: Vec<_> = lab
        .table("vms")
        .into_iter()
        .filter(|v| v["is_snapshot"] == json!(false))
        .collect();
    assert_eq!(report_col(&r, "vms", "name"), col(&vms, "name"));
    assert_eq!(report_col(&r, "vms", "machine"), col(&vms, "machine"));
    assert_eq!(report_col(&r, "vms", "cpu_cores"), col(&vms, "cpu_cores"));
    assert_eq!(
        report_col(&r, "vms", "running")[..2],
        [json!(true), json!(true)],
        "machine#status#running as running"
    );
    assert_eq!(r["web"]["name"], "web-01");
    assert_eq!(r["web"]["node_name"], "node1", "machine#status#node#name");
    assert_eq!(r["db_by_name"], 2);
    assert_eq!(r["page"], json!(["db-01", "acme-app"]), "limit and offset");
    assert_eq!(r["web_status"]["machine"], WEB.1);
    assert_eq!(r["web_status"]["status"], "running");

    let of_web = |table: &str| -> Vec<serde_json::Map<String, Value>> {
        lab.table(table)
            .into_iter()
            .filter(|d| d["machine"] == json!(WEB.1))
            .collect()
    };
    let drives = of_web("machine_drives");
    assert_eq!(report_col(&r, "web_drives", "$key"), col(&drives, "$key"));
    assert_eq!(
        report_col(&r, "web_drives", "disksize"),
        col(&drives, "disksize")
    );
    let nics = of_web("machine_nics");
    assert_eq!(
        report_col(&r, "web_nics", "macaddress"),
        col(&nics, "macaddress")
    );
    assert_eq!(
        report_col(&r, "web_nics", "vnet_name"),
        [json!("Internal"), json!("External")],
        "vnet#name as vnet_name"
    );
    assert_eq!(
        report_col(&r, "web_snapshots", "name"),
        [json!("pre-patch")]
    );

    // Power actions reached the simulator, in the SDK's wire form.
    assert_eq!(r["acme_app_running_after_power_on"], true);
    assert_eq!(r["acme_app_running_after_power_off"], false);
    assert_eq!(r["legacy_running_after_kill"], false);
    let actions = lab.actions();
    for want in [
        json!({"vm": ACME_APP.0, "action": "poweron"}),
        json!({"vm": ACME_APP.0, "action": "poweroff"}),
        json!({"vm": LEGACY.0, "action": "kill"}),
        json!({"vm": WEB.0, "action": "reset"}),
        json!({"vnet": 2, "action": "refresh"}),
        json!({"tenant": 2, "action": "poweron"}),
    ] {
        assert!(actions.contains(&want), "{want} not in {actions:?}");
    }
    assert!(!lab.running(LEGACY.1));

    // Snapshot made and deleted through the SDK.
    assert!(r["snapshot_created"].as_i64().is_some(), "{r}");
    assert_eq!(
        r["web_snapshots_after_create"],
        json!(["sdk-snap", "pre-patch"]),
        "sort=-created"
    );
    assert_eq!(r["web_snapshots_after_delete"], json!(["pre-patch"]));

    let nets = lab.table("vnets");
    assert_eq!(report_col(&r, "networks", "name"), col(&nets, "name"));
    assert_eq!(r["internal"], json!(["Internal"]));
    assert_eq!(
        r["network_running"],
        json!(["External", "Internal", "acme-net"]),
        "filter on an alias"
    );
    assert_eq!(
        report_col(&r, "tenants", "name"),
        [json!("acme"), json!("globex")]
    );
    assert_eq!(
        report_col(&r, "tenants", "network_name"),
        [json!("acme-net"), json!("globex-net")]
    );
    assert_eq!(r["globex_running"], true);
    assert_eq!(
        report_col(&r, "nodes", "name"),
        [json!("node1"), json!("node2")]
    );
    assert_eq!(
        report_col(&r, "nodes", "cluster_name"),
        [json!("cluster1"), json!("cluster1")]
    );
    assert_eq!(r["node1_stats"]["total_cpu"], 18);
    assert_eq!(
        report_col(&r, "clusters", "status_state"),
        [json!("online")]
    );
    assert_eq!(report_col(&r, "cluster_status", "online_nodes"), [json!(2)]);
    assert_eq!(
        report_col(&r, "volumes", "name"),
        [json!("shared"), json!("backups")]
    );
    assert_eq!(
        report_col(&r, "error_logs", "$key"),
        [json!(6), json!(3)],
        "newest first"
    );
    assert_eq!(
        report_col(&r, "vm_logs", "object_name"),
        [json!("legacy-01")]
    );
    assert_eq!(
        report_col(&r, "alarms", "alarm_id"),
        [json!("A-1")],
        "snoozed alarms are filtered"
    );
    assert_eq!(
        report_col(&r, "alarms", "owner_name"),
        [json!("legacy-01")],
        "owner#name through vms/4"
    );
    assert_eq!(r["missing_vm"], "NotFoundError");
}
