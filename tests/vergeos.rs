//! VergeOS tools through the whole gate against the VergeOS simulator
//! (which pyvergeos, the official SDK, shows faithful in vergeos_sdk.rs):
//! every tool with the values the simulator holds, policy refusals and
//! confirmations that send nothing, backend faults as errors, session
//! expiry and renewal, revocation, TLS verification, the NIC quirk, and
//! the password and session tokens in no output.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use portcullis::backends::vergeos::lab::{Fault, Lab, ACME_APP, DB, LEGACY, WEB};
use portcullis::catalog::{BackendKind, Catalog};
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate, Outcome, ToolResult};
use portcullis::principal::Principal;
use portcullis::testing::GateBuilder;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn bundle() -> Vec<String> {
    let dir = Path::new(ROOT).join("policies/vergeos");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

struct Env {
    lab: Lab,
    gate: Gate,
    dir: tempfile::TempDir,
}

async fn env_with(endpoint: impl FnOnce(&Lab) -> portcullis::config::Endpoint) -> Env {
    let lab = Lab::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let texts = bundle();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let gate = GateBuilder::new()
        .policies(&texts)
        .endpoints(&[endpoint(&lab)])
        .audit(&dir.path().join("a.jsonl"))
        .build();
    Env { lab, gate, dir }
}

async fn env() -> Env {
    env_with(|lab| lab.endpoint("vergeos").unwrap()).await
}

impl Env {
    async fn as_(&self, groups: &[&str], tool: &str, args: Value) -> ToolResult {
        let caller = Caller::stdio(Principal::new("t", groups.to_vec()));
        match self
            .gate
            .call(
                &caller,
                CallRequest {
                    tool,
                    args: Some(&args),
                    confirmation: Confirmation::None,
                    confirms: None,
                },
                None,
            )
            .await
        {
            Outcome::Done(r) => r,
            other => panic!("{tool}: {other:?}"),
        }
    }

    async fn ok(&self, tool: &str, args: Value) -> Value {
        let r = self.as_(&["vergeos-admins"], tool, args.clone()).await;
        assert!(!r.is_error, "{tool} {args}: {}", r.text);
        r.structured.unwrap()["result"].clone()
    }

    async fn err(&self, tool: &str, args: Value) -> String {
        let r = self.as_(&["vergeos-admins"], tool, args.clone()).await;
        assert!(r.is_error, "{tool} {args} should fail: {}", r.text);
        r.text
    }

    fn writes(&self) -> usize {
        self.lab
            .requests()
            .iter()
            .filter(|(m, p)| m != "GET" && !p.starts_with("/api/sys/"))
            .count()
    }

    fn row(&self, table: &str, key: i64) -> serde_json::Map<String, Value> {
        self.lab
            .table(table)
            .into_iter()
            .find(|r| r["$key"] == json!(key))
            .unwrap_or_else(|| panic!("{table}/{key} is gone"))
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("a.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect()
}

const GIB: i64 = 1 << 30;

#[tokio::test]
async fn every_tool_runs_with_the_values_the_simulator_holds() {
    let e = env().await;
    let mut used = BTreeSet::new();
    let mut ok = |tool: &'static str| {
        used.insert(tool);
        tool
    };
    // VMs: the snapshot's VM is not listed; filters as the seed had them.
    let all = e.ok(ok("vergeos_list_vms"), json!({})).await;
    assert_eq!(names(&all), ["web-01", "db-01", "acme-app", "legacy-01"]);
    let running = e.ok("vergeos_list_vms", json!({"running": true})).await;
    assert_eq!(names(&running), ["web-01", "db-01", "legacy-01"]);
    assert_eq!(
        names(&e.ok("vergeos_list_vms", json!({"name": "WEB"})).await),
        ["web-01"]
    );
    let vm = e.ok(ok("vergeos_get_vm"), json!({"id": WEB.0})).await;
    assert_eq!(
        (
            vm["name"].clone(),
            vm["power_state"].clone(),
            vm["machine"].clone()
        ),
        (json!("web-01"), json!("running"), json!(WEB.1))
    );
    let st = e
        .ok(ok("vergeos_get_vm_status"), json!({"id": ACME_APP.0}))
        .await;
    assert_eq!(
        (st["running"].clone(), st["power_state"].clone()),
        (json!(false), json!("stopped"))
    );
    let nics = e.ok(ok("vergeos_get_vm_nics"), json!({"id": WEB.0})).await;
    assert_eq!(
        nics.as_array()
            .unwrap()
            .iter()
            .map(|n| n["mac"].clone())
            .collect::<Vec<_>>(),
        [json!("52:54:00:00:01:01"), json!("52:54:00:00:01:02")]
    );
    let drives = e
        .ok(ok("vergeos_get_vm_drives"), json!({"id": WEB.0}))
        .await;
    assert_eq!(
        drives
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["size_gb"].clone())
            .collect::<Vec<_>>(),
        [json!(40), json!(100)]
    );

    // Power.
    e.ok(ok("vergeos_power_on_vm"), json!({"id": ACME_APP.0}))
        .await;
    assert!(e.lab.running(ACME_APP.1));
    let before = e.writes();
    let again = e
        .err("vergeos_power_on_vm", json!({"id": ACME_APP.0}))
        .await;
    assert!(
        again.contains("already running; nothing was sent"),
        "{again}"
    );
    assert_eq!(e.writes(), before, "nothing was sent");
    let off = e
        .ok(
            ok("vergeos_power_off_vm"),
            json!({"id": ACME_APP.0, "wait_timeout": 5}),
        )
        .await;
    assert_eq!(off["final_state"], "stopped", "{off}");
    assert!(!e.lab.running(ACME_APP.1));
    e.ok(
        ok("vergeos_force_off_vm"),
        json!({"id": WEB.0, "confirm": true}),
    )
    .await;
    assert!(!e.lab.running(WEB.1));
    let reset = e
        .err("vergeos_reset_vm", json!({"id": WEB.0, "confirm": true}))
        .await;
    assert!(
        reset.contains("not running, so it cannot be reset"),
        "{reset}"
    );
    e.ok("vergeos_power_on_vm", json!({"id": WEB.0})).await;
    e.ok(
        ok("vergeos_reset_vm"),
        json!({"id": WEB.0, "confirm": true}),
    )
    .await;
    assert_eq!(
        e.lab.actions().last().unwrap(),
        &json!({"vm": WEB.0, "action": "reset"})
    );

    // A graceful power-off that times out is an error, not success, and
    // sends no kill; forcing after it is the confirmed path.
    let timed_out = e
        .err(
            "vergeos_power_off_vm",
            json!({"id": LEGACY.0, "wait_timeout": 1}),
        )
        .await;
    assert!(
        timed_out.contains("did not shut down within 1s")
            && timed_out.contains("force_after_timeout=true"),
        "{timed_out}"
    );
    assert!(e.lab.running(LEGACY.1));
    assert!(!e
        .lab
        .actions()
        .contains(&json!({"vm": LEGACY.0, "action": "kill"})));
    let forced = e.ok("vergeos_power_off_vm", json!({"id": LEGACY.0, "wait_timeout": 1, "force_after_timeout": true, "confirm": true})).await;
    assert_eq!(forced["forced"], true);
    assert!(!e.lab.running(LEGACY.1));

    // Modify: a stopped VM directly; a running one never without the
    // (confirmed) shutdown, and never while it still runs.
    e.ok(
        ok("vergeos_modify_vm"),
        json!({"id": ACME_APP.0, "cpu_cores": 4}),
    )
    .await;
    assert_eq!(e.row("vms", ACME_APP.0)["cpu_cores"], 4);
    let busy = e
        .err("vergeos_modify_vm", json!({"id": DB.0, "ram_mb": 8192}))
        .await;
    assert!(
        busy.contains("is running") && busy.contains("shutdown_if_running=true"),
        "{busy}"
    );
    assert_eq!(e.row("vms", DB.0)["ram"], 16_384);
    e.ok("vergeos_modify_vm", json!({"id": DB.0, "ram_mb": 8192, "shutdown_if_running": true, "wait_timeout": 5, "confirm": true})).await;
    assert_eq!(e.row("vms", DB.0)["ram"], 8192);
    assert!(!e.lab.running(DB.1));
    e.ok("vergeos_power_on_vm", json!({"id": LEGACY.0})).await;
    let stuck = e.err("vergeos_modify_vm", json!({"id": LEGACY.0, "cpu_cores": 2, "shutdown_if_running": true, "wait_timeout": 1, "force_after_timeout": false, "confirm": true})).await;
    assert!(stuck.contains("did not shut down"), "{stuck}");
    assert_eq!(
        e.row("vms", LEGACY.0)["cpu_cores"],
        1,
        "a running VM is never changed"
    );

    // Drives: by machine id (the seed's way) or VM id; grow only.
    let added = e
        .ok(
            ok("vergeos_add_drive"),
            json!({"machine_id": ACME_APP.1, "name": "data", "size_gb": 10}),
        )
        .await;
    let key = added["drive_id"].as_i64().unwrap();
    let row = e.row("machine_drives", key);
    assert_eq!(
        (
            row["machine"].clone(),
            row["disksize"].clone(),
            row["interface"].clone()
        ),
        (json!(ACME_APP.1), json!(10 * GIB), json!("virtio-scsi"))
    );
    assert_eq!(added["vm_id"], ACME_APP.0);
    let by_vm = e
        .ok(
            "vergeos_add_drive",
            json!({"vm_id": ACME_APP.0, "name": "logs", "size_gb": 2, "interface_type": "ide"}),
        )
        .await;
    assert_eq!(
        e.row("machine_drives", by_vm["drive_id"].as_i64().unwrap())["machine"],
        ACME_APP.1
    );
    e.ok(
        ok("vergeos_resize_drive"),
        json!({"drive_id": 4, "new_size_gb": 30}),
    )
    .await;
    assert_eq!(e.row("machine_drives", 4)["disksize"], 30 * GIB);
    let shrink = e
        .err(
            "vergeos_resize_drive",
            json!({"drive_id": 4, "new_size_gb": 10}),
        )
        .await;
    assert!(
        shrink.contains("must be larger than current size (30 GB)"),
        "{shrink}"
    );

    // Snapshots.
    assert_eq!(
        names(
            &e.ok(ok("vergeos_list_vm_snapshots"), json!({"vm_id": WEB.0}))
                .await
        ),
        ["pre-patch"]
    );
    let made = e
        .ok(
            ok("vergeos_create_vm_snapshot"),
            json!({"vm_id": WEB.0, "name": "before-upgrade", "expires_days": 0}),
        )
        .await;
    let snap = made["snapshot_id"].as_i64().unwrap();
    let row = e.row("machine_snapshots", snap);
    assert_eq!(
        (row["machine"].clone(), row["expires_type"].clone()),
        (json!(WEB.1), json!("never"))
    );
    let listed = e
        .ok("vergeos_list_vm_snapshots", json!({"vm_id": WEB.0}))
        .await;
    assert_eq!(listed[0]["name"], "before-upgrade", "newest first");
    e.ok(
        ok("vergeos_delete_vm_snapshot"),
        json!({"snapshot_id": snap, "confirm": true}),
    )
    .await;
    assert!(!e
        .lab
        .table("machine_snapshots")
        .iter()
        .any(|r| r["$key"] == json!(snap)));
    e.ok(
        ok("vergeos_restore_vm_snapshot"),
        json!({"vm_id": WEB.0, "snapshot_id": 1, "confirm": true}),
    )
    .await;
    assert_eq!(
        e.lab.actions().last().unwrap(),
        &json!({"vm": WEB.0, "action": "restore", "params": {"snapshot": 1}})
    );
    let foreign = e
        .err(
            "vergeos_restore_vm_snapshot",
            json!({"vm_id": WEB.0, "snapshot_id": 2, "confirm": true}),
        )
        .await;
    assert!(
        foreign.contains("is not a snapshot of VM 'web-01'"),
        "{foreign}"
    );

    // Networks.
    assert_eq!(
        names(&e.ok(ok("vergeos_list_networks"), json!({})).await).len(),
        4
    );
    assert_eq!(
        names(
            &e.ok("vergeos_list_networks", json!({"type": "internal"}))
                .await
        ),
        ["Internal"]
    );
    assert_eq!(
        names(&e.ok("vergeos_list_networks", json!({"name": "NET"})).await),
        ["acme-net", "globex-net"]
    );
    assert_eq!(
        names(
            &e.ok("vergeos_list_networks", json!({"enabled": false}))
                .await
        ),
        ["globex-net"]
    );
    assert_eq!(
        names(
            &e.ok("vergeos_list_networks", json!({"limit": 1, "offset": 1}))
                .await
        ),
        ["Internal"]
    );
    assert_eq!(
        e.ok(ok("vergeos_get_network"), json!({"id": 3})).await["network"],
        "10.3.0.0/24"
    );
    e.ok(
        ok("vergeos_network_action"),
        json!({"id": 2, "action": "apply"}),
    )
    .await;
    assert_eq!(
        e.lab.actions().last().unwrap(),
        &json!({"vnet": 2, "action": "refresh"}),
        "apply is VergeOS's refresh"
    );
    e.ok(
        "vergeos_network_action",
        json!({"id": 2, "action": "poweroff", "confirm": true}),
    )
    .await;
    assert!(!e.lab.running(51));

    // Tenants, nodes, cluster, storage, logs, alarms.
    assert_eq!(
        names(&e.ok(ok("vergeos_list_tenants"), json!({})).await),
        ["acme", "globex"]
    );
    assert_eq!(
        e.ok(ok("vergeos_get_tenant"), json!({"id": 1})).await["name"],
        "acme"
    );
    e.ok(
        ok("vergeos_tenant_action"),
        json!({"id": 2, "action": "poweron"}),
    )
    .await;
    assert_eq!(e.row("tenants", 2)["status"]["running"], true);
    assert_eq!(
        names(&e.ok(ok("vergeos_list_nodes"), json!({})).await),
        ["node1", "node2"]
    );
    let stats = e.ok(ok("vergeos_get_node_stats"), json!({"id": 1})).await;
    assert_eq!(
        (stats["name"].clone(), stats["stats"]["total_cpu"].clone()),
        (json!("node1"), json!(18))
    );
    assert_eq!(
        e.ok(ok("vergeos_get_cluster_status"), json!({})).await[0]["status"],
        "online"
    );
    assert_eq!(
        e.ok(ok("vergeos_get_cluster_stats"), json!({}))
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        names(&e.ok(ok("vergeos_list_volumes"), json!({})).await),
        ["shared", "backups"]
    );
    let errors = e
        .ok(ok("vergeos_get_logs"), json!({"level": "error"}))
        .await;
    assert_eq!(
        errors
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["object_name"].clone())
            .collect::<Vec<_>>(),
        [json!("globex-net"), json!("legacy-01")],
        "newest first"
    );
    let vm_logs = e
        .ok("vergeos_get_logs", json!({"object_type": "vm", "limit": 1}))
        .await;
    assert_eq!(vm_logs.as_array().unwrap().len(), 1);
    let alarms = e.ok(ok("vergeos_get_alarms"), json!({})).await;
    assert_eq!(
        alarms
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["alarm_id"].clone())
            .collect::<Vec<_>>(),
        [json!("A-1")],
        "a snoozed alarm is not active"
    );

    let every: BTreeSet<&str> = Catalog::builtin()
        .tools()
        .iter()
        .filter(|t| t.backend == BackendKind::Vergeos)
        .map(|t| t.name)
        .collect();
    assert_eq!(used, every, "every VergeOS tool was exercised");
}

#[tokio::test]
async fn refusals_and_unconfirmed_destruction_send_nothing_and_are_audited() {
    let e = env().await;
    let cases = [
        (
            &["vergeos-readers"][..],
            "vergeos_power_on_vm",
            json!({"id": ACME_APP.0}),
            "no policy permits it",
        ),
        (
            &["vergeos-operators"],
            "vergeos_power_off_vm",
            json!({"id": WEB.0, "wait_timeout": 1, "force_after_timeout": true}),
            "needs confirmation: it is destructive",
        ),
        (
            &["vergeos-operators"],
            "vergeos_tenant_action",
            json!({"id": 1, "action": "poweron", "confirm": true}),
            "no policy permits it",
        ),
        (
            &["vergeos-admins"],
            "vergeos_tenant_action",
            json!({"id": 1, "action": "reset"}),
            "needs confirmation: it is destructive",
        ),
        (
            &["vergeos-platform"],
            "vergeos_tenant_action",
            json!({"id": 1, "action": "poweron"}),
            "tenant actions (power a whole tenant on, off or reset it) are for VergeOS admins only",
        ),
        (
            &["vergeos-operators"],
            "vergeos_power_off_vm",
            json!({"id": WEB.0, "force_after_timeout": true, "confirm": true}),
            "force_after_timeout needs wait_timeout",
        ),
        (
            &["vergeos-admins"],
            "vergeos_modify_vm",
            json!({"id": DB.0, "cpu_cores": 8, "shutdown_if_running": true}),
            "needs confirmation",
        ),
        (
            &["acme-operators"],
            "vergeos_power_on_vm",
            json!({"id": LEGACY.0}),
            "no policy permits it",
        ),
        (
            &["vergeos-admins"],
            "vergeos_add_drive",
            json!({"vm_id": 1, "machine_id": 10, "name": "d", "size_gb": 1}),
            "give vm_id or machine_id, not both",
        ),
        (
            &["vergeos-admins"],
            "vergeos_modify_vm",
            json!({"id": 1}),
            "nothing to modify",
        ),
        (
            &["vergeos-admins"],
            "vergeos_get_vm",
            json!({"id": "1; DROP"}),
            "argument `id`",
        ),
        (
            &["vergeos-admins"],
            "vergeos_network_action",
            json!({"id": 2, "action": "apply;reboot"}),
            "argument `action`",
        ),
        (
            &["vergeos-admins"],
            "vergeos_get_vm",
            json!({"id": 99}),
            "has no VM with id 99",
        ),
    ];
    for (groups, tool, args, want) in &cases {
        let before = e.writes();
        let r = e.as_(groups, tool, args.clone()).await;
        assert!(
            r.is_error && r.text.contains(want),
            "{tool} {args} as {groups:?}: {}",
            r.text
        );
        assert_eq!(e.writes(), before, "{tool} {args}: nothing written");
    }
    assert!(e.lab.running(WEB.1) && e.lab.running(DB.1));
    assert_eq!(e.row("tenants", 1)["status"]["running"], true);
    // Tenant operators act on what is in their tenant.
    let r = e
        .as_(
            &["acme-operators"],
            "vergeos_power_on_vm",
            json!({"id": ACME_APP.0}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    // Every refusal is in the audit log, the destructive ones as such.
    let audit = e.audit();
    let refused: Vec<&Value> = audit
        .iter()
        .filter(|r| r["kind"] == "decision" && r["decision"] != "allow")
        .collect();
    assert!(refused.len() >= cases.len() - 1, "{refused:#?}");
    let forced = refused
        .iter()
        .find(|r| r["tool"] == "vergeos_power_off_vm")
        .unwrap();
    assert_eq!(
        forced["destructive"], true,
        "the forced path is recorded as destructive"
    );
    let graceful = e
        .as_(
            &["vergeos-operators"],
            "vergeos_power_off_vm",
            json!({"id": ACME_APP.0, "wait_timeout": 5}),
        )
        .await;
    assert!(!graceful.is_error, "{}", graceful.text);
    let last = e
        .audit()
        .into_iter()
        .rev()
        .find(|r| r["kind"] == "decision")
        .unwrap();
    assert_eq!(
        (last["tool"].clone(), last["destructive"].clone()),
        (json!("vergeos_power_off_vm"), json!(false))
    );
}

#[tokio::test]
async fn backend_failures_are_errors_to_act_on_and_the_gate_stays_up() {
    let e = env().await;
    e.ok("vergeos_list_vms", json!({})).await; // logged in
    for (fault, want) in [
        (Fault::Status(500), "failed (HTTP 500): injected failure"),
        (Fault::Status(503), "retrying later may help"),
        (Fault::Status(403), "lack of privileges"),
        (Fault::Garbage, "not JSON"),
        (
            Fault::Hang(Duration::from_secs(12)),
            "did not answer within 10s",
        ),
        (Fault::Reset, "may or may not have taken effect"),
    ] {
        e.lab.inject([fault.clone()]);
        let text = e.err("vergeos_list_nodes", json!({})).await;
        assert!(text.contains(want), "{fault:?}: {text}");
    }
    // A fault while locating the target refuses the call before any write.
    e.lab.inject([Fault::Status(500)]);
    let before = e.writes();
    let text = e
        .err("vergeos_power_on_vm", json!({"id": ACME_APP.0}))
        .await;
    assert!(text.contains("HTTP 500"), "{text}");
    assert_eq!(e.writes(), before);
    assert_eq!(
        names(&e.ok("vergeos_list_nodes", json!({})).await),
        ["node1", "node2"]
    );
    let failed = e
        .audit()
        .into_iter()
        .filter(|r| r["kind"] == "outcome" && r["outcome"] == "backend_error")
        .count();
    assert!(failed >= 6, "backend failures are audited");
}

fn logins(lab: &Lab) -> usize {
    lab.requests()
        .iter()
        .filter(|(m, p)| m == "POST" && p == "/api/sys/tokens")
        .count()
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_and_revoked_at_shutdown() {
    let e = env().await;
    e.ok("vergeos_list_vms", json!({})).await;
    e.ok("vergeos_list_nodes", json!({})).await;
    assert_eq!(logins(&e.lab), 1, "one session serves many calls");
    e.lab.expire_sessions();
    assert_eq!(
        names(&e.ok("vergeos_list_nodes", json!({})).await),
        ["node1", "node2"]
    );
    assert_eq!(logins(&e.lab), 2, "renewed after the 401");
    assert_eq!(e.lab.live_sessions(), 1);
    e.gate.backends().shutdown().await;
    assert_eq!(e.lab.live_sessions(), 0, "revoked at shutdown");
    assert!(e
        .lab
        .requests()
        .iter()
        .any(|(m, p)| m == "DELETE" && p.starts_with("/api/sys/tokens/")));
    // Sessions VergeOS hands out but then refuses: one renewal, then an
    // error naming the credentials, not a loop.
    e.lab.refuse_sessions(true);
    let text = e.err("vergeos_list_nodes", json!({})).await;
    assert!(text.contains("rejected Portcullis's credentials"), "{text}");
    assert_eq!(
        logins(&e.lab),
        4,
        "a new session after shutdown, one renewal, no more"
    );
    e.lab.refuse_sessions(false);
}

#[tokio::test]
async fn a_wrong_password_and_an_api_token() {
    let wrong = env_with(|lab| {
        let mut ep = lab.endpoint("vergeos").unwrap();
        ep.credentials = portcullis::config::Credentials::UserPassword {
            user: lab.user.clone(),
            password: "not-the-password".to_string().into(),
        };
        ep
    })
    .await;
    let text = wrong.err("vergeos_list_vms", json!({})).await;
    assert!(text.contains("refused the user name or password"), "{text}");

    let token = env_with(|lab| lab.token_endpoint("vergeos").unwrap()).await;
    assert_eq!(
        names(&token.ok("vergeos_list_nodes", json!({})).await),
        ["node1", "node2"]
    );
    assert_eq!(logins(&token.lab), 0, "an API token needs no login");
}

#[tokio::test]
async fn tls_is_verified_unless_told_otherwise() {
    let e = env_with(|lab| {
        let mut ep = lab.endpoint("vergeos").unwrap();
        ep.ca_pem = None; // the lab's own CA not trusted
        ep
    })
    .await;
    let text = e.err("vergeos_list_vms", json!({})).await;
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    assert!(
        e.lab.requests().is_empty(),
        "nothing got past the handshake"
    );
}

#[tokio::test]
async fn without_tls_verification_nothing_destructive_runs() {
    let e = env_with(|lab| {
        let mut ep = lab.endpoint("vergeos").unwrap();
        ep.tls_verify = false;
        ep.ca_pem = None;
        ep
    })
    .await;
    e.ok(
        "vergeos_power_off_vm",
        json!({"id": ACME_APP.0, "wait_timeout": 1}),
    )
    .await;
    let text = e
        .err(
            "vergeos_force_off_vm",
            json!({"id": WEB.0, "confirm": true}),
        )
        .await;
    assert!(
        text.contains("TLS certificate verification is off"),
        "{text}"
    );
    assert!(e.lab.running(WEB.1));
}

#[tokio::test]
async fn nics_drives_and_snapshots_of_other_machines_are_dropped() {
    let e = env().await;
    e.lab.nic_quirk(true);
    let nics = e.ok("vergeos_get_vm_nics", json!({"id": WEB.0})).await;
    let ids: Vec<Value> = nics
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].clone())
        .collect();
    assert_eq!(
        ids,
        [json!(1), json!(2)],
        "only web-01's NICs, though VergeOS answered all four"
    );
    let db = e.ok("vergeos_get_vm_nics", json!({"id": DB.0})).await;
    assert_eq!(db.as_array().unwrap().len(), 1);
    let drives = e.ok("vergeos_get_vm_drives", json!({"id": DB.0})).await;
    assert_eq!(drives[0]["id"], 3);
    assert_eq!(
        drives.as_array().unwrap().len(),
        1,
        "only db-01's drive of five"
    );
    let snaps = e
        .ok("vergeos_list_vm_snapshots", json!({"vm_id": DB.0}))
        .await;
    assert_eq!(names(&snaps), ["nightly"]);
}

#[tokio::test]
async fn resources_are_listed_and_read_under_policy() {
    let e = env().await;
    use portcullis::server::resources;
    let reader = Caller::stdio(Principal::new("r", ["vergeos-readers"]));
    let listed: Vec<String> = resources::list(&e.gate, &reader)
        .into_iter()
        .map(|r| r.uri.clone())
        .collect();
    for name in [
        "cluster/status",
        "vms/list",
        "networks/list",
        "alarms/active",
    ] {
        assert!(
            listed.contains(&format!("vergeos://vergeos/{name}")),
            "{name}: {listed:?}"
        );
    }
    let nobody = Caller::stdio(Principal::new("n", ["nobody"]));
    assert!(resources::list(&e.gate, &nobody).is_empty());
    let read = resources::read(&e.gate, &reader, "vergeos://vergeos/vms/list")
        .await
        .ok()
        .unwrap();
    let text = format!("{:?}", read.contents);
    assert!(
        text.contains("web-01") && text.contains("acme-app"),
        "{text}"
    );
    assert!(
        resources::read(&e.gate, &nobody, "vergeos://vergeos/alarms/active")
            .await
            .is_err()
    );
}

/// The password and every session token appear in no output of the real
/// binary with trace logging, failures included.
#[tokio::test(flavor = "multi_thread")]
async fn the_password_and_session_tokens_appear_in_no_output() {
    let lab = Lab::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &lab.ca_pem).unwrap();
    let cfg = dir.path().join("portcullis.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nprincipal = \"root\"\npolicies = \"{ROOT}/policies/vergeos\"\naudit_log = \"audit.jsonl\"\n\
             [[principals]]\nid = \"root\"\ngroups = [\"vergeos-admins\"]\n\
             [[endpoints]]\nname = \"vergeos\"\nbackend = \"vergeos\"\nurl = \"{}\"\nusername = \"{}\"\n\
             password_env = \"VG_PASS\"\nca_file = \"ca.pem\"\n",
            lab.url, lab.user
        ),
    )
    .unwrap();
    let log = dir.path().join("portcullis.log");
    let password = lab.password.expose_secret().to_string();
    let mut seen = String::new();
    for (tool, args, fault) in [
        ("vergeos_list_vms", "{}", None),
        ("vergeos_get_vm", r#"{"id":99}"#, None),
        ("vergeos_power_on_vm", r#"{"id":1}"#, None),
        ("vergeos_list_nodes", "{}", Some(Fault::Status(500))),
        ("vergeos_list_nodes", "{}", Some(Fault::Status(401))),
    ] {
        // The next request is the run's login.
        if let Some(f) = fault {
            lab.inject([f]);
        }
        seen.push_str(
            &common::call_traced(&cfg, &log, &[("VG_PASS", &password)], tool, args).await,
        );
    }
    assert!(
        seen.contains("web-01")
            && seen.contains("already running")
            && seen.contains("HTTP 500")
            && seen.contains("refused the user name or password"),
        "{seen}"
    );
    let tokens = lab.issued_tokens();
    assert!(tokens.len() >= 3, "each run logged in: {tokens:?}");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let logs = common::trace_logs(dir.path());
    let mut secrets: Vec<&str> = tokens.iter().map(String::as_str).collect();
    secrets.push(&password);
    common::assert_no_secret(
        &secrets,
        &[
            ("process output", &seen),
            ("audit log", &audit),
            ("log file", &logs),
        ],
    );
}

/// Valid arguments for every VergeOS tool, the destructive ones in their
/// destructive form.
fn sample_calls() -> Vec<(&'static str, Value)> {
    vec![
        ("vergeos_list_vms", json!({})),
        ("vergeos_get_vm", json!({"id": WEB.0})),
        ("vergeos_get_vm_status", json!({"id": WEB.0})),
        ("vergeos_get_vm_nics", json!({"id": WEB.0})),
        ("vergeos_get_vm_drives", json!({"id": WEB.0})),
        ("vergeos_power_on_vm", json!({"id": ACME_APP.0})),
        (
            "vergeos_power_off_vm",
            json!({"id": WEB.0, "wait_timeout": 1, "force_after_timeout": true}),
        ),
        ("vergeos_force_off_vm", json!({"id": WEB.0})),
        ("vergeos_reset_vm", json!({"id": WEB.0})),
        (
            "vergeos_modify_vm",
            json!({"id": WEB.0, "cpu_cores": 4, "shutdown_if_running": true}),
        ),
        (
            "vergeos_add_drive",
            json!({"machine_id": WEB.1, "name": "d", "size_gb": 1}),
        ),
        (
            "vergeos_resize_drive",
            json!({"drive_id": 1, "new_size_gb": 50}),
        ),
        ("vergeos_list_vm_snapshots", json!({"vm_id": WEB.0})),
        (
            "vergeos_create_vm_snapshot",
            json!({"vm_id": WEB.0, "name": "s"}),
        ),
        ("vergeos_delete_vm_snapshot", json!({"snapshot_id": 1})),
        (
            "vergeos_restore_vm_snapshot",
            json!({"vm_id": WEB.0, "snapshot_id": 1}),
        ),
        ("vergeos_list_networks", json!({})),
        ("vergeos_get_network", json!({"id": 2})),
        (
            "vergeos_network_action",
            json!({"id": 2, "action": "reset"}),
        ),
        ("vergeos_list_tenants", json!({})),
        ("vergeos_get_tenant", json!({"id": 1})),
        (
            "vergeos_tenant_action",
            json!({"id": 1, "action": "poweroff"}),
        ),
        ("vergeos_list_nodes", json!({})),
        ("vergeos_get_node_stats", json!({"id": 1})),
        ("vergeos_get_cluster_status", json!({})),
        ("vergeos_get_cluster_stats", json!({})),
        ("vergeos_list_volumes", json!({})),
        ("vergeos_get_logs", json!({})),
        ("vergeos_get_alarms", json!({})),
    ]
}

#[tokio::test]
async fn every_tool_is_denied_confirmed_and_failed_as_policy_and_the_backend_say() {
    let e = env().await;
    let catalog = Catalog::builtin();
    let calls = sample_calls();
    let covered: BTreeSet<&str> = calls.iter().map(|(t, _)| *t).collect();
    let every: BTreeSet<&str> = catalog
        .tools()
        .iter()
        .filter(|t| t.backend == BackendKind::Vergeos)
        .map(|t| t.name)
        .collect();
    assert_eq!(covered, every);
    for (tool, args) in &calls {
        // Nobody's tool: denied without VergeOS being asked anything (no
        // session opened, no answer telling what exists).
        let before = e.writes();
        let asked = e.lab.requests().len();
        let r = e.as_(&["nobody"], tool, args.clone()).await;
        assert!(
            r.is_error && r.text.contains("no policy permits it"),
            "{tool}: {}",
            r.text
        );
        assert_eq!(e.lab.requests().len(), asked, "{tool}: VergeOS was asked");
        // Destructive (in these arguments): an admin must confirm first.
        if catalog.get(tool).unwrap().destructive {
            let r = e.as_(&["vergeos-admins"], tool, args.clone()).await;
            assert!(
                r.text.contains("needs confirmation: it is destructive"),
                "{tool}: {}",
                r.text
            );
            assert_eq!(e.writes(), before, "{tool}: unconfirmed, nothing written");
        }
        // A backend failure on its first request is an error naming it,
        // and the next call works.
        e.lab.inject([Fault::Status(502)]);
        let mut confirmed = args.clone();
        if catalog.get(tool).unwrap().destructive {
            confirmed["confirm"] = json!(true);
        }
        let r = e.as_(&["vergeos-admins"], tool, confirmed).await;
        assert!(
            r.is_error && r.text.contains("HTTP 502"),
            "{tool}: {}",
            r.text
        );
    }
    assert_eq!(
        names(&e.ok("vergeos_list_nodes", json!({})).await),
        ["node1", "node2"]
    );
}

/// VergeOS MCP's users switch by changing the command: `portcullis serve`
/// with only its documented environment (the simulator's certificate
/// trusted the system's way, SSL_CERT_FILE), called through the official
/// Python MCP SDK; read-only unless told otherwise.
#[tokio::test(flavor = "multi_thread")]
async fn vergeos_mcp_users_switch_by_changing_the_command() {
    let lab = Lab::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &lab.ca_pem).unwrap();
    let password = lab.password.expose_secret().to_string();
    let env = [
        (
            "VERGEOS_HOST",
            lab.url.trim_start_matches("https://").to_string(),
        ),
        ("VERGEOS_USER", lab.user.clone()),
        ("VERGEOS_PASS", password.clone()),
        ("SSL_CERT_FILE", ca.display().to_string()),
    ];
    let run = tokio::task::spawn_blocking(move || {
        common::dropin::run(&env, "vergeos_list_vms", &json!({}))
    })
    .await
    .unwrap();
    run.assert_ok(
        "VergeOS MCP",
        "vergeos-readers",
        "vergeos_list_vms",
        &password,
    );
    let tools = run.report["tools"].as_array().unwrap();
    assert!(
        tools.iter().any(|t| t == "vergeos_get_vm")
            && !tools.iter().any(|t| t == "vergeos_power_on_vm"),
        "read-only: {tools:?}"
    );
}
