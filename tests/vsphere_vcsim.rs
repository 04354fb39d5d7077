//! vSphere tools through the whole gate against govmomi's vcsim (built by
//! scripts/setup-vcsim.sh), each result checked with an independent client
//! (tests/vcsim/probe, govmomi) reading the simulator's state.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use portcullis::config::{Config, Env};
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate, Outcome, ToolResult};
use portcullis::policy::PolicySource;
use portcullis::principal::Principal;
use portcullis::testing::GateBuilder;
use serde_json::{json, Value};

fn bin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/vcsim")
        .join(name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup-vcsim.sh (scripts/test.sh does)",
        p.display()
    );
    p
}

struct Vcsim {
    child: Child,
    url: String,
    cert: PathBuf,
}

impl Drop for Vcsim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Vcsim {
    fn start(dir: &Path, extra: &[&str]) -> Vcsim {
        let cert = dir.join("vcsim.pem");
        let mut child = Command::new(bin("vcsim"))
            .env("TMPDIR", dir) // its datastores, removed with the test's directory
            .arg("-cert")
            .arg(&cert)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start vcsim");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("VCSIM_URL=")
            .unwrap_or_else(|| panic!("vcsim said {line:?}"))
            .to_string();
        Vcsim { child, url, cert }
    }

    /// State as govmomi sees it.
    fn probe(&self, kind: &str, name: &str) -> Value {
        let out = Command::new(bin("probe"))
            .args(["-url", &self.url, kind, name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// The vCenter password: a canary that must appear in no output.
const CANARY: &str = "canary-pw-5f0c9e2a<&>";

struct NoEnv;
impl Env for NoEnv {
    fn var(&self, name: &str) -> Option<String> {
        (name == "VC_PASSWORD").then(|| CANARY.to_string())
    }
}

struct Env_ {
    sim: Vcsim,
    gate: Gate,
    dir: tempfile::TempDir,
}

const FOLDER_POLICIES: &str = r#"
@id("operators-operate-in-dev")
permit (principal in Group::"operators", action in Action::"tier:operate",
        resource in Folder::"vc/DC0/vm/Dev");
@id("readers-read")
permit (principal in Group::"readers", action in Action::"tier:read", resource);
@id("admins-all")
permit (principal in Group::"admins", action, resource);
@id("no-deletes-in-cluster")
forbid (principal, action == Action::"vsphere_delete_vm",
        resource in Cluster::"vc/DC0/host/DC0_C0");
"#;

async fn env_with(policies: Option<&str>, vcsim_args: &[&str]) -> Env_ {
    let dir = tempfile::tempdir().unwrap();
    let sim = Vcsim::start(dir.path(), vcsim_args);
    let base = sim.url.trim_end_matches("/sdk");
    let text = format!(
        r#"
[server]
policies = "unused"
audit_log = "audit.jsonl"

[[endpoints]]
name = "vc"
backend = "vsphere"
url = "{base}"
username = "user"
password_env = "VC_PASSWORD"
ca_file = "{}"
timeout_seconds = 30
"#,
        sim.cert.display()
    );
    let config = Config::parse(&text, "test", dir.path(), &NoEnv).unwrap();
    let sources = match policies {
        Some(text) => vec![PolicySource {
            name: "test.cedar".into(),
            text: text.into(),
        }],
        None => portcullis::lab::default_policies(),
    };
    let gate = GateBuilder::new()
        .policy_sources(sources)
        .endpoints(&config.endpoints)
        .audit(&dir.path().join("audit.jsonl"))
        .build();
    Env_ { sim, gate, dir }
}

async fn env() -> Env_ {
    env_with(None, &[]).await
}

impl Env_ {
    async fn as_(&self, group: &str, tool: &str, args: Value) -> ToolResult {
        let caller = Caller::stdio(Principal::new("tester", [group]));
        let req = CallRequest {
            tool,
            args: Some(&args),
            confirmation: Confirmation::None,
            confirms: None,
        };
        match self.gate.call(&caller, req, None).await {
            Outcome::Done(r) => r,
            other => panic!("{tool}: {other:?}"),
        }
    }

    /// As an admin; destructive tools get `confirm: true`.
    async fn ok(&self, tool: &str, mut args: Value) -> Value {
        if self.gate.catalog().get(tool).unwrap().destructive {
            args["confirm"] = json!(true);
        }
        let r = self.as_("admins", tool, args.clone()).await;
        assert!(!r.is_error, "{tool} {args}: {}", r.text);
        r.structured.unwrap()["result"].clone()
    }

    async fn err(&self, tool: &str, mut args: Value) -> String {
        if self.gate.catalog().get(tool).unwrap().destructive {
            args["confirm"] = json!(true);
        }
        let r = self.as_("admins", tool, args).await;
        assert!(r.is_error, "{tool} should fail: {}", r.text);
        r.text
    }

    fn vm(&self, name: &str) -> Value {
        self.sim.probe("vm", name)
    }

    /// How many tasks named `task` (a vSphere description id such as
    /// `VirtualMachine.reset`) vcsim has recorded on a VM, as govmomi sees
    /// them.
    fn tasks(&self, vm: &str, task: &str) -> usize {
        let all = self.sim.probe("tasks", vm);
        all["tasks"]
            .as_array()
            .unwrap_or_else(|| panic!("{all}"))
            .iter()
            .filter(|t| t["name"] == task && t["state"] == "success")
            .count()
    }
}

const VM: &str = "DC0_H0_VM0";

#[tokio::test]
async fn power_operations_change_the_power_state() {
    let e = env().await;
    assert_eq!(e.vm(VM)["power_state"], "poweredOn");
    let r = e.ok("vsphere_power_off_vm", json!({"vm": VM})).await;
    assert_eq!(r["state"], "success");
    assert_eq!(e.vm(VM)["power_state"], "poweredOff");
    e.ok("vsphere_power_on_vm", json!({"vm": VM})).await;
    assert_eq!(e.vm(VM)["power_state"], "poweredOn");
    e.ok("vsphere_suspend_vm", json!({"vm": VM})).await;
    assert_eq!(e.vm(VM)["power_state"], "suspended");
    e.ok("vsphere_power_on_vm", json!({"vm": VM})).await;
    // A reset is a power cycle: vcsim records a reset task on the VM and a
    // new boot time, and the VM is on again. vsphere_restart_vm is the
    // same operation under another name.
    let mut boot = e.vm(VM)["boot_time"].clone();
    assert!(boot.is_string(), "{boot}");
    for (n, tool) in ["vsphere_reset_vm", "vsphere_restart_vm"]
        .into_iter()
        .enumerate()
    {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let r = e.ok(tool, json!({"vm": VM})).await;
        assert_eq!(r["state"], "success", "{tool}: {r}");
        let after = e.vm(VM);
        assert_eq!(after["power_state"], "poweredOn", "{tool}");
        assert!(
            after["boot_time"].is_string() && after["boot_time"] != boot,
            "{tool} did not reboot: {boot} then {}",
            after["boot_time"]
        );
        boot = after["boot_time"].clone();
        assert_eq!(e.tasks(VM, "VirtualMachine.reset"), n + 1, "{tool}");
    }
    // A reset needs a running VM: vCenter's fault is reported, nothing runs.
    e.ok("vsphere_power_off_vm", json!({"vm": VM})).await;
    let off = e.err("vsphere_reset_vm", json!({"vm": VM})).await;
    assert!(off.contains("InvalidPowerState"), "{off}");
    assert_eq!(e.vm(VM)["power_state"], "poweredOff");
    e.ok("vsphere_power_on_vm", json!({"vm": VM})).await;
    // vcsim carries out a guest shutdown (a real guest needs VMware Tools).
    e.ok("vsphere_shutdown_guest", json!({"vm": VM})).await;
    assert_eq!(e.vm(VM)["power_state"], "poweredOff");
    // vcsim 0.24 does not implement RebootGuest: the SOAP fault comes back
    // named, as an error the agent can act on.
    let r = e.err("vsphere_reboot_guest", json!({"vm": VM})).await;
    assert!(r.contains("refused the operation: MethodNotFound"), "{r}");
    e.ok("vsphere_power_on_vm", json!({"vm": VM})).await;
    // Without confirmation the default policies refuse a hard power-off.
    let r = e
        .as_("admins", "vsphere_power_off_vm", json!({"vm": VM}))
        .await;
    assert!(
        r.is_error && r.text.contains("needs confirmation"),
        "{}",
        r.text
    );
    assert_eq!(e.vm(VM)["power_state"], "poweredOn");
}

#[tokio::test]
async fn snapshots_are_created_listed_reverted_and_deleted() {
    let e = env().await;
    e.ok(
        "vsphere_create_snapshot",
        json!({"vm": VM, "snapshot": "before-patch", "description": "a <test> & more"}),
    )
    .await;
    e.ok(
        "vsphere_create_vm_snapshot",
        json!({"vm": VM, "snapshot": "after-patch"}),
    )
    .await;
    assert_eq!(
        e.vm(VM)["snapshots"],
        json!(["before-patch", "after-patch"])
    );
    let list = e.ok("vsphere_list_snapshots", json!({"vm": VM})).await;
    assert_eq!(list["snapshots"][0]["name"], "before-patch");
    assert_eq!(list["snapshots"][0]["description"], "a <test> & more");
    assert_eq!(list["snapshots"][0]["children"][0]["name"], "after-patch");
    assert_eq!(list["snapshots"].as_array().unwrap().len(), 1, "{list}");
    // vsphere_list_vm_snapshots is the same listing under another name.
    let again = e.ok("vsphere_list_vm_snapshots", json!({"vm": VM})).await;
    assert_eq!(again["snapshots"], list["snapshots"]);
    assert_eq!(again["snapshots"][0]["name"], "before-patch");
    assert_eq!(again["snapshots"][0]["children"][0]["name"], "after-patch");
    assert_eq!(e.vm(VM)["current_snapshot"], "after-patch");
    e.ok(
        "vsphere_revert_to_snapshot",
        json!({"vm": VM, "snapshot": "before-patch"}),
    )
    .await;
    assert_eq!(e.vm(VM)["current_snapshot"], "before-patch");
    e.ok(
        "vsphere_delete_snapshot",
        json!({"vm": VM, "snapshot": "after-patch"}),
    )
    .await;
    assert_eq!(e.vm(VM)["snapshots"], json!(["before-patch"]));
    e.ok(
        "vsphere_create_vm_snapshot",
        json!({"vm": VM, "snapshot": "scratch"}),
    )
    .await;
    assert_eq!(e.vm(VM)["snapshots"], json!(["before-patch", "scratch"]));
    e.ok(
        "vsphere_delete_vm_snapshot",
        json!({"vm": VM, "snapshot": "scratch"}),
    )
    .await;
    assert_eq!(e.vm(VM)["snapshots"], json!(["before-patch"]));
    let missing = e
        .err(
            "vsphere_delete_vm_snapshot",
            json!({"vm": VM, "snapshot": "no-such"}),
        )
        .await;
    assert!(missing.contains("no snapshot \"no-such\""), "{missing}");
    e.ok(
        "vsphere_create_snapshot",
        json!({"vm": VM, "snapshot": "again"}),
    )
    .await;
    e.ok("vsphere_delete_all_snapshots", json!({"vm": VM}))
        .await;
    assert_eq!(e.vm(VM)["snapshots"], json!([]));
}

#[tokio::test]
async fn lifecycle_reconfigure_rename_clone_move_and_delete() {
    let e = env().await;
    e.ok(
        "vsphere_reconfigure_vm",
        json!({"vm": VM, "cpus": 2, "memory_mb": 64, "annotation": "web tier"}),
    )
    .await;
    let probe = e.vm(VM);
    assert_eq!(
        (
            probe["cpus"].clone(),
            probe["memory_mb"].clone(),
            probe["annotation"].clone()
        ),
        (json!(2), json!(64), json!("web tier"))
    );
    e.ok("vsphere_modify_vm_resources", json!({"vm": VM, "cpus": 4}))
        .await;
    assert_eq!(e.vm(VM)["cpus"], 4);
    let nothing = e
        .err("vsphere_modify_vm_resources", json!({"vm": VM}))
        .await;
    assert!(nothing.contains("needs at least one change"), "{nothing}");

    e.ok("vsphere_rename_vm", json!({"vm": VM, "new_name": "web-01"}))
        .await;
    assert_eq!(e.vm(VM)["exists"], false);
    assert_eq!(e.vm("web-01")["exists"], true);

    let folder = e.ok("vsphere_create_folder", json!({"name": "Dev"})).await;
    assert_eq!(folder["path"], "DC0/vm/Dev");
    assert_eq!(e.sim.probe("folder", "/DC0/vm/Dev")["exists"], true);
    e.ok(
        "vsphere_move_vm_to_folder",
        json!({"vm": "web-01", "folder": "Dev"}),
    )
    .await;
    assert_eq!(e.vm("web-01")["path"], "/DC0/vm/Dev/web-01");

    e.ok(
        "vsphere_clone_vm",
        json!({"vm": "web-01", "new_name": "web-02"}),
    )
    .await;
    assert_eq!(e.vm("web-02")["path"], "/DC0/vm/Dev/web-02");

    // Deleting a running VM fails in vCenter; the task's fault is reported.
    let running = e.err("vsphere_delete_vm", json!({"vm": "web-01"})).await;
    assert!(running.contains("failed"), "{running}");
    assert_eq!(e.vm("web-01")["exists"], true);
    e.ok("vsphere_power_off_vm", json!({"vm": "web-01"})).await;
    e.ok("vsphere_delete_vm", json!({"vm": "web-01"})).await;
    assert_eq!(e.vm("web-01")["exists"], false);
    let gone = e.err("vsphere_get_vm_info", json!({"vm": "web-01"})).await;
    assert!(gone.contains("has no VM named \"web-01\""), "{gone}");
}

#[tokio::test]
async fn hosts_enter_and_exit_maintenance_mode() {
    let e = env().await;
    e.ok("vsphere_enter_maintenance_mode", json!({"host": "DC0_H0"}))
        .await;
    assert_eq!(e.sim.probe("host", "DC0_H0")["maintenance"], true);
    let hosts = e.ok("vsphere_list_hosts", json!({})).await;
    let h0 = hosts
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "DC0_H0")
        .unwrap();
    assert_eq!(h0["maintenance_mode"], true);
    e.ok("vsphere_exit_maintenance_mode", json!({"host": "DC0_H0"}))
        .await;
    assert_eq!(e.sim.probe("host", "DC0_H0")["maintenance"], false);
    // Host-level operations are tier admin: operators are refused.
    let r = e
        .as_(
            "operators",
            "vsphere_enter_maintenance_mode",
            json!({"host": "DC0_H0"}),
        )
        .await;
    assert!(r.is_error);
}

/// mcvsphere's host tools take no host (it connects to one ESXi host):
/// without one, a call acts on the endpoint's only host, decided and
/// recorded on it; where there are several it is refused, naming them,
/// and nothing runs.
#[tokio::test]
async fn host_tools_without_a_host_act_on_the_only_one_and_never_pick_among_several() {
    let e = env().await;
    let several = e.err("vsphere_enter_maintenance_mode", json!({})).await;
    assert!(
        several.contains("name the host: this endpoint has 4 (") && several.contains("DC0_H0"),
        "{several}"
    );
    for h in ["DC0_H0", "DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"] {
        assert_eq!(e.sim.probe("host", h)["maintenance"], false, "{h}");
    }

    // Admins may do anything but reboot that host, by its name: a policy
    // on the host the call lands on.
    let one = env_with(
        Some(
            "permit (principal in Group::\"admins\", action, resource);\n\
             @id(\"no-reboot-of-h0\")\n\
             forbid (principal, action == Action::\"vsphere_reboot_host\", resource) \
             when { resource.name == \"DC0_H0\" };",
        ),
        &["-clusters", "0"],
    )
    .await;
    let reboot = one.err("vsphere_reboot_host", json!({})).await;
    assert!(reboot.contains("no-reboot-of-h0"), "{reboot}");
    let hosts = one.ok("vsphere_list_hosts", json!({})).await;
    assert_eq!(hosts.as_array().unwrap().len(), 1, "{hosts}");
    let info = one.ok("vsphere_get_host_info", json!({})).await;
    assert_eq!(info["name"], "DC0_H0", "{info}");
    one.ok("vsphere_enter_maintenance_mode", json!({})).await;
    assert_eq!(one.sim.probe("host", "DC0_H0")["maintenance"], true);
    // mcvsphere's own call: no host, its other arguments.
    one.ok(
        "vsphere_exit_maintenance_mode",
        json!({"timeout_seconds": 60}),
    )
    .await;
    assert_eq!(one.sim.probe("host", "DC0_H0")["maintenance"], false);
    // Recorded on the host it landed on.
    let log = std::fs::read_to_string(one.dir.path().join("audit.jsonl")).unwrap();
    let decided = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["kind"] == "decision" && r["tool"] == "vsphere_enter_maintenance_mode")
        .unwrap();
    assert!(
        decided.to_string().contains("DC0_H0"),
        "the decision names the host: {decided}"
    );
    // Operators are still refused host operations.
    let r = one
        .as_("operators", "vsphere_enter_maintenance_mode", json!({}))
        .await;
    assert!(r.is_error, "{}", r.text);
}

#[tokio::test]
async fn read_tools_describe_the_inventory() {
    let e = env().await;
    let vms = e.ok("vsphere_list_vms", json!({})).await;
    let names: Vec<&str> = vms
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "DC0_C0_RP0_VM0",
            "DC0_C0_RP0_VM1",
            "DC0_H0_VM0",
            "DC0_H0_VM1"
        ]
    );
    assert_eq!(vms[2]["path"], "DC0/vm/DC0_H0_VM0");
    assert_eq!(vms[2]["host"], "DC0_H0");
    let info = e
        .ok("vsphere_get_vm_info", json!({"vm": "DC0_C0_RP0_VM0"}))
        .await;
    assert_eq!(info["cluster"], "DC0/host/DC0_C0");
    assert_eq!(info["resource_pool"], "DC0/host/DC0_C0/Resources");
    assert_eq!(
        info,
        e.ok("vsphere_get_vm_details", json!({"vm": "DC0_C0_RP0_VM0"}))
            .await
    );
    assert_eq!(e.ok("vsphere_list_templates", json!({})).await, json!([]));
    let hosts = e.ok("vsphere_list_hosts", json!({})).await;
    assert_eq!(hosts.as_array().unwrap().len(), 4);
    let host = e
        .ok("vsphere_get_host_info", json!({"host": "DC0_H0"}))
        .await;
    assert_eq!(host["vms"], json!(["DC0_H0_VM0", "DC0_H0_VM1"]));
    let ds = e.ok("vsphere_list_datastores", json!({})).await;
    assert_eq!(ds[0]["name"], "LocalDS_0");
    assert!(ds[0]["used_percent"].is_number(), "{ds}");
    assert_eq!(ds, e.ok("vsphere_get_datastore_usage", json!({})).await);
    let one = e
        .ok(
            "vsphere_get_datastore_info",
            json!({"datastore": "LocalDS_0"}),
        )
        .await;
    assert_eq!(one["vms"].as_array().unwrap().len(), 4);
    let nets = e.ok("vsphere_list_networks", json!({})).await;
    assert!(
        nets.as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "VM Network"),
        "{nets}"
    );
    assert_eq!(
        e.ok("vsphere_list_datacenters", json!({})).await[0]["name"],
        "DC0"
    );
    let clusters = e.ok("vsphere_list_clusters", json!({})).await;
    assert_eq!(clusters[0]["name"], "DC0_C0");
    assert_eq!(clusters[0]["hosts"], 3);
    let pools = e.ok("vsphere_list_resource_pools", json!({})).await;
    assert!(pools.as_array().unwrap().len() >= 2, "{pools}");
    let folders = e.ok("vsphere_list_folders", json!({})).await;
    assert!(
        folders
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "DC0/vm"),
        "{folders}"
    );
    let summary = e
        .ok("vsphere_get_resource_utilization_summary", json!({}))
        .await;
    assert_eq!(summary["hosts"], 4);
    assert!(summary["storage"]["capacity_bytes"].as_i64().unwrap() > 0);
    let about = e.ok("vsphere_get_vcenter_info", json!({})).await;
    assert_eq!(about["apiType"], "VirtualCenter");
    e.ok("vsphere_power_off_vm", json!({"vm": VM})).await;
    let tasks = e.ok("vsphere_list_recent_tasks", json!({"limit": 5})).await;
    assert!(
        tasks
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["state"] == "success"),
        "{tasks}"
    );
    let events = e.ok("vsphere_get_recent_events", json!({"limit": 3})).await;
    assert!(events.as_array().unwrap().len() <= 3);
    assert_eq!(
        events.as_array().unwrap().len(),
        e.ok("vsphere_list_recent_events", json!({"limit": 3}))
            .await
            .as_array()
            .unwrap()
            .len()
    );
}

#[tokio::test]
async fn policies_see_folders_and_clusters() {
    let e = env_with(Some(FOLDER_POLICIES), &[]).await;
    // Two VMs on the same host, one moved into folder Dev.
    e.ok("vsphere_create_folder", json!({"name": "Dev"})).await;
    e.ok(
        "vsphere_move_vm_to_folder",
        json!({"vm": "DC0_H0_VM0", "folder": "Dev"}),
    )
    .await;
    let dev = e
        .as_(
            "operators",
            "vsphere_suspend_vm",
            json!({"vm": "DC0_H0_VM0"}),
        )
        .await;
    assert!(!dev.is_error, "{}", dev.text);
    assert_eq!(e.vm("DC0_H0_VM0")["power_state"], "suspended");
    let other = e
        .as_(
            "operators",
            "vsphere_suspend_vm",
            json!({"vm": "DC0_H0_VM1"}),
        )
        .await;
    assert!(
        other.is_error && other.text.contains("no policy permits it"),
        "{}",
        other.text
    );
    assert_eq!(e.vm("DC0_H0_VM1")["power_state"], "poweredOn");
    // "Nobody deletes a VM in cluster DC0_C0", not even an admin.
    for vm in ["DC0_C0_RP0_VM0", "DC0_H0_VM1"] {
        e.ok("vsphere_power_off_vm", json!({"vm": vm})).await;
    }
    let r = e
        .as_(
            "admins",
            "vsphere_delete_vm",
            json!({"vm": "DC0_C0_RP0_VM0", "confirm": true}),
        )
        .await;
    // Admins are permitted; the forbid decided, and is named.
    assert!(
        r.is_error && r.text.contains("forbidden by policy no-deletes-in-cluster"),
        "{}",
        r.text
    );
    assert_eq!(e.vm("DC0_C0_RP0_VM0")["exists"], true);
    e.ok("vsphere_delete_vm", json!({"vm": "DC0_H0_VM1"})).await;
    assert_eq!(e.vm("DC0_H0_VM1")["exists"], false);
}

#[tokio::test]
async fn an_expired_session_is_renewed() {
    let e = env().await;
    e.ok("vsphere_list_vms", json!({})).await;
    assert_eq!(e.sim.probe("sessions", "terminate")["others"], 1);
    assert_eq!(e.sim.probe("sessions", "count")["others"], 0);
    // The next call finds its session gone, logs in again, and succeeds.
    e.ok("vsphere_power_off_vm", json!({"vm": VM})).await;
    assert_eq!(e.vm(VM)["power_state"], "poweredOff");
    assert_eq!(e.sim.probe("sessions", "count")["others"], 1);
    // Logout at shutdown ends it.
    e.gate.backends().shutdown().await;
    assert_eq!(e.sim.probe("sessions", "count")["others"], 0);
    // Two logins later, the password (with XML metacharacters) is in no
    // record.
    let log = std::fs::read_to_string(e.dir.path().join("audit.jsonl")).unwrap();
    assert!(log.contains("vsphere_power_off_vm") && !log.contains("canary-pw"));
}

#[tokio::test]
async fn unknown_objects_and_bad_names_reach_no_backend_operation() {
    let e = env().await;
    let r = e
        .as_("admins", "vsphere_power_on_vm", json!({"vm": "no-such-vm"}))
        .await;
    assert!(
        r.is_error && r.text.contains("has no VM named \"no-such-vm\""),
        "{}",
        r.text
    );
    for bad in ["", " padded", "line\nbreak", &"x".repeat(81)] {
        let r = e
            .as_("admins", "vsphere_power_on_vm", json!({"vm": bad}))
            .await;
        assert!(r.is_error && r.text.contains("`vm`"), "{bad:?}: {}", r.text);
    }
    // XML metacharacters are data, not markup.
    let r = e
        .as_(
            "admins",
            "vsphere_get_vm_info",
            json!({"vm": "</name><evil/>"}),
        )
        .await;
    assert!(
        r.is_error && r.text.contains("has no VM named"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn inventory_resources_follow_the_same_policies() {
    use portcullis::server::resources;
    let e = env().await;
    let who = |group: &str| Caller::stdio(Principal::new("tester", [group]));
    let listed: Vec<String> = resources::list(&e.gate, &who("readers"))
        .into_iter()
        .map(|r| r.uri.clone())
        .collect();
    assert_eq!(
        listed,
        [
            "vsphere://vc/vms",
            "vsphere://vc/hosts",
            "vsphere://vc/datastores",
            "vsphere://vc/networks",
            "vsphere://vc/clusters",
            "vsphere://vc/resource-pools"
        ]
    );
    assert!(resources::list(&e.gate, &who("nobody")).is_empty());
    let Ok(read) = resources::read(&e.gate, &who("readers"), "vsphere://vc/vms").await else {
        panic!("a reader reads the VM inventory")
    };
    let text = match &read.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("{other:?}"),
    };
    let vms: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(vms.as_array().unwrap().len(), 4);
    // Reading is a call like any other: denied without a permit, audited.
    assert!(matches!(
        resources::read(&e.gate, &who("nobody"), "vsphere://vc/hosts").await,
        Err(resources::ReadError::Refused(m)) if m.contains("no policy permits it")
    ));
    assert!(matches!(
        resources::read(&e.gate, &who("readers"), "vsphere://vc/nothing").await,
        Err(resources::ReadError::Unknown(_))
    ));
    let log = std::fs::read_to_string(e.dir.path().join("audit.jsonl")).unwrap();
    assert_eq!(
        log.matches("\"tool\":\"vsphere_list_vms\"").count(),
        2,
        "decision and outcome"
    );
}

#[tokio::test]
async fn disks_and_network_adapters_are_added_changed_and_removed() {
    let e = env().await;
    let disks = e.ok("vsphere_list_disks", json!({"vm": VM})).await;
    let before = disks.as_array().unwrap().len();
    let first = disks[0]["label"].as_str().unwrap().to_string();
    e.ok("vsphere_add_disk", json!({"vm": VM, "size_gb": 2}))
        .await;
    let disks = e.ok("vsphere_list_disks", json!({"vm": VM})).await;
    assert_eq!(disks.as_array().unwrap().len(), before + 1, "{disks}");
    let added = disks.as_array().unwrap().last().unwrap()["label"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(e.vm(VM)["disks"].as_array().unwrap().len(), before + 1);
    e.ok(
        "vsphere_resize_disk",
        json!({"vm": VM, "disk": added, "size_gb": 4}),
    )
    .await;
    let info = e
        .ok("vsphere_get_disk_info", json!({"vm": VM, "disk": added}))
        .await;
    assert_eq!(info["capacity_gb"], 4.0);
    let key = info["key"].as_i64().unwrap();
    let probed = e.vm(VM)["disks"].clone();
    let disk = probed
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == key)
        .unwrap_or_else(|| panic!("disk {key} not in {probed}"));
    assert_eq!(disk["capacity_kb"], 4 * 1024 * 1024, "{probed}");
    let shrink = e
        .err(
            "vsphere_resize_disk",
            json!({"vm": VM, "disk": added, "size_gb": 1}),
        )
        .await;
    assert!(shrink.contains("disks only grow"), "{shrink}");
    e.ok(
        "vsphere_remove_disk",
        json!({"vm": VM, "disk": added, "delete_file": true}),
    )
    .await;
    assert_eq!(e.vm(VM)["disks"].as_array().unwrap().len(), before);
    let none = e
        .err(
            "vsphere_get_disk_info",
            json!({"vm": VM, "disk": "Hard disk 99"}),
        )
        .await;
    assert!(
        none.contains(&first),
        "the error lists the disks there are: {none}"
    );

    let nics = e.ok("vsphere_list_nics", json!({"vm": VM})).await;
    let n = nics.as_array().unwrap().len();
    e.ok(
        "vsphere_add_nic",
        json!({"vm": VM, "network": "VM Network", "adapter": "e1000"}),
    )
    .await;
    let nics = e.ok("vsphere_list_nics", json!({"vm": VM})).await;
    assert_eq!(nics.as_array().unwrap().len(), n + 1, "{nics}");
    let nic = nics.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (nic["type"].clone(), nic["network"].clone()),
        (json!("VirtualE1000"), json!("VM Network"))
    );
    let label = nic["label"].as_str().unwrap().to_string();
    e.ok(
        "vsphere_connect_nic",
        json!({"vm": VM, "nic": label, "connected": false}),
    )
    .await;
    let info = e
        .ok("vsphere_get_nic_info", json!({"vm": VM, "nic": label}))
        .await;
    assert_eq!(info["connected"], false);
    assert_eq!(e.vm(VM)["nics"][n]["connected"], false);
    let other = e
        .err(
            "vsphere_change_nic_network",
            json!({"vm": VM, "nic": label, "network": "No Such Net"}),
        )
        .await;
    assert!(other.contains("has no network named"), "{other}");
    assert_eq!(e.vm(VM)["nics"][n]["network"], "VM Network");
    // The VM's first adapter starts on the distributed port group and is
    // moved to VM Network; the probe reads the new backing.
    let first_nic = nics[0]["label"].as_str().unwrap().to_string();
    assert_ne!(e.vm(VM)["nics"][0]["network"], "VM Network");
    e.ok(
        "vsphere_change_nic_network",
        json!({"vm": VM, "nic": first_nic, "network": "VM Network"}),
    )
    .await;
    assert_eq!(e.vm(VM)["nics"][0]["network"], "VM Network");
    e.ok("vsphere_remove_nic", json!({"vm": VM, "nic": label}))
        .await;
    assert_eq!(e.vm(VM)["nics"].as_array().unwrap().len(), n);
}

#[tokio::test]
async fn monitoring_and_placement_tools() {
    let e = env().await;
    let tools = e.ok("vsphere_get_vm_tools_status", json!({"vm": VM})).await;
    assert_eq!(tools["running_status"], "guestToolsNotRunning");
    let waited = e
        .ok(
            "vsphere_wait_for_vm_tools",
            json!({"vm": VM, "wait_seconds": 1}),
        )
        .await;
    assert!(
        waited["note"]
            .as_str()
            .unwrap()
            .contains("not running after 1s"),
        "{waited}"
    );
    let stats = e.ok("vsphere_get_vm_stats", json!({"vm": VM})).await;
    assert!(stats["quick_stats"].is_object(), "{stats}");
    let hstats = e
        .ok("vsphere_get_host_stats", json!({"host": "DC0_H0"}))
        .await;
    assert!(hstats["cpu_total_mhz"].as_i64().unwrap() > 0, "{hstats}");
    assert!(e.ok("vsphere_get_alarms", json!({})).await.is_array());
    let cluster = e
        .ok("vsphere_get_cluster_info", json!({"cluster": "DC0_C0"}))
        .await;
    assert_eq!(cluster["hosts"].as_array().unwrap().len(), 3);
    let net = e
        .ok("vsphere_get_network_info", json!({"network": "VM Network"}))
        .await;
    // (vcsim 0.24 leaves a network's host and VM lists empty.)
    assert_eq!(
        (net["name"].clone(), net["accessible"].clone()),
        (json!("VM Network"), json!(true))
    );
    let files = e
        .ok(
            "vsphere_browse_datastore",
            json!({"datastore": "LocalDS_0"}),
        )
        .await;
    assert!(files["files"].is_array(), "{files}");

    // Resource pools: create, move a VM in, read it back, delete.
    let pool = e
        .ok("vsphere_create_resource_pool", json!({"name": "batch"}))
        .await;
    assert_eq!(pool["path"], "DC0/host/DC0_C0/Resources/batch");
    e.ok(
        "vsphere_move_vm_to_resource_pool",
        json!({"vm": "DC0_C0_RP0_VM0", "pool": "batch"}),
    )
    .await;
    let info = e
        .ok("vsphere_get_resource_pool_info", json!({"pool": "batch"}))
        .await;
    assert_eq!(info["path"], "DC0/host/DC0_C0/Resources/batch");
    // (vcsim 0.24 moves the VM but does not update the pool's VM list, so
    // the move is checked on the VM.)
    let pool_path = "/DC0/host/DC0_C0/Resources/batch";
    assert_eq!(e.sim.probe("pool", pool_path)["exists"], true);
    assert_eq!(e.vm("DC0_C0_RP0_VM0")["resource_pool"], "batch");
    let vm = e
        .ok("vsphere_get_vm_info", json!({"vm": "DC0_C0_RP0_VM0"}))
        .await;
    assert_eq!(vm["resource_pool"], "DC0/host/DC0_C0/Resources/batch");
    e.ok("vsphere_delete_resource_pool", json!({"pool": "batch"}))
        .await;
    assert_eq!(e.sim.probe("pool", pool_path)["exists"], false);
    assert_eq!(
        e.vm("DC0_C0_RP0_VM0")["exists"],
        true,
        "a deleted pool's VMs remain"
    );

    // Migration to another host of the cluster.
    e.ok(
        "vsphere_migrate_vm",
        json!({"vm": "DC0_C0_RP0_VM1", "host": "DC0_C0_H2"}),
    )
    .await;
    let moved = e
        .ok("vsphere_get_vm_info", json!({"vm": "DC0_C0_RP0_VM1"}))
        .await;
    assert_eq!(moved["host"], "DC0/host/DC0_C0/DC0_C0_H2");
    assert_eq!(e.vm("DC0_C0_RP0_VM1")["host"], "DC0_C0_H2");
    let nowhere = e
        .err("vsphere_migrate_vm", json!({"vm": "DC0_C0_RP0_VM1"}))
        .await;
    assert!(
        nowhere.contains("give host, datastore, or both"),
        "{nowhere}"
    );

    // A new VM, then folders: a folder holding a VM is not deleted.
    e.ok(
        "vsphere_create_vm",
        json!({"name": "fresh", "datastore": "LocalDS_0", "cpus": 2, "memory_mb": 256}),
    )
    .await;
    let fresh = e.vm("fresh");
    assert_eq!(
        (fresh["exists"].clone(), fresh["cpus"].clone()),
        (json!(true), json!(2))
    );
    e.ok("vsphere_create_folder", json!({"name": "Scratch"}))
        .await;
    e.ok(
        "vsphere_move_vm_to_folder",
        json!({"vm": "fresh", "folder": "Scratch"}),
    )
    .await;
    let full = e
        .err("vsphere_delete_folder", json!({"folder": "Scratch"}))
        .await;
    assert!(full.contains("holds 1 object"), "{full}");
    e.ok(
        "vsphere_move_vm_to_folder",
        json!({"vm": "fresh", "folder": "DC0/vm"}),
    )
    .await;
    e.ok("vsphere_delete_folder", json!({"folder": "Scratch"}))
        .await;
    assert_eq!(e.sim.probe("folder", "/DC0/vm/Scratch")["exists"], false);

    // Cancelling a finished task is refused by vCenter, by name.
    // (vcsim 0.24 runs every task to its end before answering and has no
    // CancelTask at all, so the refusal is the one outcome there is.)
    let tasks = e.ok("vsphere_list_recent_tasks", json!({"limit": 1})).await;
    let id = tasks[0]["id"].as_str().unwrap().to_string();
    assert_eq!(e.sim.probe("task", &id)["state"], "success");
    let r = e.err("vsphere_cancel_task", json!({"task": id})).await;
    assert!(r.contains("refused the operation"), "{r}");
    let task = e.sim.probe("task", &id);
    assert_eq!(
        (task["state"].clone(), task["cancelled"].clone()),
        (json!("success"), json!(false))
    );
    let unknown = e
        .err("vsphere_cancel_task", json!({"task": "task-999999"}))
        .await;
    assert!(unknown.contains("no task"), "{unknown}");
}

#[tokio::test]
async fn serial_ports_are_set_up_connected_cleared_and_removed() {
    let e = env().await;
    assert_eq!(
        e.ok("vsphere_get_serial_port", json!({"vm": VM})).await,
        json!([])
    );
    e.ok(
        "vsphere_setup_serial_port",
        json!({"vm": VM, "uri": "telnet://:2001"}),
    )
    .await;
    let ports = e.ok("vsphere_get_serial_port", json!({"vm": VM})).await;
    assert_eq!(ports[0]["uri"], "telnet://:2001", "{ports}");
    assert_eq!(ports[0]["direction"], "server");
    assert_eq!(e.vm(VM)["serial_ports"], 1);
    assert_eq!(
        e.vm(VM)["serials"],
        json!([{"key": ports[0]["key"], "uri": "telnet://:2001", "connected": true}])
    );
    e.ok(
        "vsphere_connect_serial_port",
        json!({"vm": VM, "connected": false}),
    )
    .await;
    let ports = e.ok("vsphere_get_serial_port", json!({"vm": VM})).await;
    assert_eq!(ports[0]["connected"], false);
    assert_eq!(e.vm(VM)["serials"][0]["connected"], false);
    // Clearing drops whoever is attached: a disconnect then a connect, two
    // reconfigurations that leave the port connected.
    let before = e.tasks(VM, "VirtualMachine.reconfigVm");
    e.ok("vsphere_clear_serial_port", json!({"vm": VM})).await;
    let ports = e.ok("vsphere_get_serial_port", json!({"vm": VM})).await;
    assert_eq!(ports[0]["connected"], true);
    assert_eq!(e.vm(VM)["serials"][0]["connected"], true);
    assert_eq!(e.tasks(VM, "VirtualMachine.reconfigVm"), before + 2);
    let bad = e
        .err(
            "vsphere_setup_serial_port",
            json!({"vm": VM, "uri": "file:///etc/passwd"}),
        )
        .await;
    assert!(bad.contains("must be scheme://[host]:port"), "{bad}");
    e.ok("vsphere_remove_serial_port", json!({"vm": VM})).await;
    assert_eq!(e.vm(VM)["serial_ports"], 0);
}

#[tokio::test]
async fn host_hardware_networking_and_power() {
    let e = env().await;
    let hw = e
        .ok("vsphere_get_host_hardware", json!({"host": "DC0_H0"}))
        .await;
    assert_eq!(hw["summary"]["vendor"], "VMware, Inc.");
    let net = e
        .ok("vsphere_get_host_networking", json!({"host": "DC0_H0"}))
        .await;
    assert_eq!(net["vswitches"][0]["name"], "vSwitch0", "{net}");
    assert!(net["portgroups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "VM Network"));
    // vcsim 0.24 has no host services or NTP settings (tested against
    // recorded answers in vsphere_faults.rs) and does not implement host
    // reboot or shutdown: the fault comes back named.
    assert_eq!(
        e.ok("vsphere_list_services", json!({"host": "DC0_H0"}))
            .await,
        json!([])
    );
    for tool in ["vsphere_reboot_host", "vsphere_shutdown_host"] {
        let r = e.err(tool, json!({"host": "DC0_H0"})).await;
        assert!(r.contains("MethodNotFound"), "{r}");
    }
    // Host administration is tier admin: operators may not.
    let r = e
        .as_(
            "operators",
            "vsphere_start_service",
            json!({"host": "DC0_H0", "service": "TSM-SSH"}),
        )
        .await;
    assert!(
        r.is_error && r.text.contains("no policy permits it"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn datastore_files_are_uploaded_and_downloaded() {
    let e = env().await;
    let up = json!({"datastore": "LocalDS_0", "path": "notes/readme.txt", "content": "first <version> ü\n"});
    let r = e.ok("vsphere_upload_to_datastore", up.clone()).await;
    assert_eq!(r["path"], "[LocalDS_0] notes/readme.txt");
    assert_eq!(
        e.sim.probe("file", "LocalDS_0/notes/readme.txt")["content"],
        "first <version> ü\n"
    );
    // An existing file is replaced only when the call says so.
    let mut again = up.clone();
    again["content"] = json!("second\n");
    let r = e.err("vsphere_upload_to_datastore", again.clone()).await;
    assert!(r.contains("exists; pass overwrite=true"), "{r}");
    again["overwrite"] = json!(true);
    e.ok("vsphere_upload_to_datastore", again).await;
    assert_eq!(
        e.sim.probe("file", "LocalDS_0/notes/readme.txt")["content"],
        "second\n"
    );
    let r = e
        .ok(
            "vsphere_download_from_datastore",
            json!({"datastore": "LocalDS_0", "path": "notes/readme.txt"}),
        )
        .await;
    assert_eq!(
        (r["encoding"].clone(), r["content"].clone()),
        (json!("utf-8"), json!("second\n"))
    );
    // Bytes that are not UTF-8 travel as base64 both ways.
    e.ok(
        "vsphere_upload_to_datastore",
        json!({"datastore": "LocalDS_0", "path": "bin/blob", "content": "/wAQgA==", "encoding": "base64"}),
    )
    .await;
    let r = e
        .ok(
            "vsphere_download_from_datastore",
            json!({"datastore": "LocalDS_0", "path": "bin/blob"}),
        )
        .await;
    assert_eq!(
        (
            r["encoding"].clone(),
            r["content"].clone(),
            r["bytes"].clone()
        ),
        (json!("base64"), json!("/wAQgA=="), json!(4))
    );
    let r = e
        .err(
            "vsphere_download_from_datastore",
            json!({"datastore": "LocalDS_0", "path": "notes/missing.txt"}),
        )
        .await;
    assert!(r.contains("has no file /folder/notes/missing.txt"), "{r}");
    // Paths that climb out, and content that is not the base64 it claims,
    // are refused before anything is contacted.
    for (args, needle) in [
        (
            json!({"datastore": "LocalDS_0", "path": "../etc/passwd", "content": "x"}),
            "relative path",
        ),
        (
            json!({"datastore": "LocalDS_0", "path": "a.bin", "content": "not base64!", "encoding": "base64"}),
            "base64",
        ),
    ] {
        let r = e.err("vsphere_upload_to_datastore", args).await;
        assert!(r.contains(needle), "{r}");
    }
    // The audit log holds the upload's digest, not its content.
    let log = std::fs::read_to_string(e.dir.path().join("audit.jsonl")).unwrap();
    assert!(!log.contains("first <version>"));
    assert!(log.contains("\"sha256\""), "{log}");
}

#[tokio::test]
async fn an_ovf_on_a_datastore_is_listed_and_deployed() {
    let e = env().await;
    let ovf = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vcsim/fixtures/web.ovf"),
    )
    .unwrap();
    e.ok(
        "vsphere_upload_to_datastore",
        json!({"datastore": "LocalDS_0", "path": "ovf/web.ovf", "content": ovf}),
    )
    .await;
    e.ok(
        "vsphere_upload_to_datastore",
        json!({"datastore": "LocalDS_0", "path": "ovf/web-disk1.vmdk", "content": "a stream-optimized disk"}),
    )
    .await;
    let nets = e
        .ok(
            "vsphere_list_ovf_networks",
            json!({"datastore": "LocalDS_0", "path": "ovf/web.ovf"}),
        )
        .await;
    assert_eq!(
        nets["networks"],
        json!([{"name": "frontend", "description": "The public side of the web tier"}])
    );
    assert_eq!(nets["files"][0]["href"], "web-disk1.vmdk");
    assert!(!e.vm("web-ovf")["exists"].as_bool().unwrap());
    let r = e
        .ok(
            "vsphere_deploy_ovf",
            json!({"datastore": "LocalDS_0", "path": "ovf/web.ovf", "name": "web-ovf", "network": "VM Network"}),
        )
        .await;
    assert_eq!(r["disks_uploaded"], 1, "{r}");
    let vm = e.vm("web-ovf");
    assert_eq!(
        (
            vm["exists"].clone(),
            vm["cpus"].clone(),
            vm["memory_mb"].clone()
        ),
        (json!(true), json!(2), json!(512))
    );
    assert_eq!(vm["disks"].as_array().unwrap().len(), 1);
    assert_eq!(vm["nics"].as_array().unwrap().len(), 1);
    // A descriptor that is not one is refused by name.
    let r = e
        .err(
            "vsphere_deploy_ovf",
            json!({"datastore": "LocalDS_0", "path": "ovf/web-disk1.vmdk", "name": "x"}),
        )
        .await;
    assert!(r.contains("is not an OVF descriptor"), "{r}");
    // vcsim 0.24 has no ExportVm (export is tested against recorded
    // answers in vsphere_faults.rs): the fault comes back by name.
    assert_eq!(e.vm("web-ovf")["power_state"], "poweredOff");
    let r = e
        .err(
            "vsphere_export_ovf",
            json!({"vm": "web-ovf", "datastore": "LocalDS_0", "folder": "exports/web-ovf"}),
        )
        .await;
    assert!(r.contains("MethodNotFound"), "{r}");
}

#[tokio::test]
async fn tags_are_listed_applied_and_removed() {
    let e = env().await;
    for tag in ["env/prod", "env/dev", "team/prod"] {
        e.sim.probe("mktag", tag);
    }
    let all = e.ok("vsphere_list_tags", json!({})).await;
    let names: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}/{}",
                t["category"].as_str().unwrap(),
                t["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names, ["env/dev", "env/prod", "team/prod"]);
    // "prod" is in two categories: the call must say which.
    let r = e
        .err("vsphere_apply_tag_to_vm", json!({"vm": VM, "tag": "prod"}))
        .await;
    assert!(r.contains("several categories (env, team)"), "{r}");
    e.ok(
        "vsphere_apply_tag_to_vm",
        json!({"vm": VM, "tag": "prod", "category": "env"}),
    )
    .await;
    e.ok("vsphere_apply_tag_to_vm", json!({"vm": VM, "tag": "dev"}))
        .await;
    assert_eq!(
        e.sim.probe("tags", VM)["tags"],
        json!(["env/dev", "env/prod"])
    );
    let on = e.ok("vsphere_get_vm_tags", json!({"vm": VM})).await;
    assert_eq!(on["tags"].as_array().unwrap().len(), 2);
    e.ok(
        "vsphere_remove_tag_from_vm",
        json!({"vm": VM, "tag": "prod", "category": "env"}),
    )
    .await;
    assert_eq!(e.sim.probe("tags", VM)["tags"], json!(["env/dev"]));
    let r = e
        .err("vsphere_apply_tag_to_vm", json!({"vm": VM, "tag": "nope"}))
        .await;
    assert!(r.contains("has no tag \"nope\""), "{r}");
}

#[tokio::test]
async fn policies_see_vm_tags() {
    let e = env_with(
        Some(
            r#"
@id("admins-all")
permit (principal in Group::"admins", action, resource);
@id("readers-read")
permit (principal in Group::"readers", action in Action::"tier:read", resource);
@id("prod-is-not-for-readers")
forbid (principal in Group::"readers", action, resource is VirtualMachine)
unless { resource has tags && !resource.tags.contains("env/prod") };
"#,
        ),
        &[],
    )
    .await;
    e.sim.probe("mktag", "env/prod");
    e.ok("vsphere_apply_tag_to_vm", json!({"vm": VM, "tag": "prod"}))
        .await;
    let other = "DC0_H0_VM1";
    let denied = e
        .as_("readers", "vsphere_get_vm_info", json!({"vm": VM}))
        .await;
    assert!(
        denied.is_error && denied.text.contains("may not call vsphere_get_vm_info"),
        "{}",
        denied.text
    );
    let allowed = e
        .as_("readers", "vsphere_get_vm_info", json!({"vm": other}))
        .await;
    assert!(!allowed.is_error, "{}", allowed.text);
    // Untagged again: allowed (tag ids are read on every call).
    e.ok(
        "vsphere_remove_tag_from_vm",
        json!({"vm": VM, "tag": "prod"}),
    )
    .await;
    let r = e
        .as_("readers", "vsphere_get_vm_info", json!({"vm": VM}))
        .await;
    assert!(!r.is_error, "{}", r.text);
}

/// The vCenter password (sent in the SOAP login and in the Automation
/// API's basic authentication), guest passwords and uploaded content
/// appear in no output of the real binary with trace logging on.
#[tokio::test]
async fn the_vcenter_password_appears_in_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Vcsim::start(dir.path(), &[]);
    sim.probe("mktag", "env/prod");
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/default");
    let cfg = dir.path().join("portcullis.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[server]
principal = "root"
policies = "{}"
audit_log = "audit.jsonl"

[[principals]]
id = "root"
groups = ["admins"]

[[endpoints]]
name = "vc"
backend = "vsphere"
url = "{}"
username = "user"
password_env = "VC_PASSWORD"
ca_file = "{}"
timeout_seconds = 10
"#,
            policies.display(),
            sim.url.trim_end_matches("/sdk"),
            sim.cert.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("portcullis.log");
    let guest_pw = "guest-canary-77e1";
    let upload = "upload-canary-31b9";
    let calls: Vec<Vec<String>> = vec![
        vec!["vsphere_list_vms".into(), "{}".into()],
        vec!["vsphere_apply_tag_to_vm".into(), json!({"vm": VM, "tag": "prod"}).to_string()],
        vec!["vsphere_get_vm_tags".into(), json!({"vm": VM}).to_string()],
        vec![
            "vsphere_upload_to_datastore".into(),
            json!({"datastore": "LocalDS_0", "path": "c/x.txt", "content": upload}).to_string(),
        ],
        vec![
            "vsphere_read_guest_file".into(),
            json!({"vm": VM, "guest_user": "root", "guest_password": guest_pw, "path": "/etc/hostname"}).to_string(),
        ],
        vec!["vsphere_get_vm_info".into(), json!({"vm": "../nope"}).to_string()],
    ];
    let mut seen = String::new();
    for call in &calls {
        let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["call", "--config"])
            .arg(&cfg)
            .args(["--as", "root", &call[0], &call[1]])
            .env("VC_PASSWORD", CANARY)
            .env("PORTCULLIS_LOG", "trace")
            .env("PORTCULLIS_LOG_FILE", &log)
            .output()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    // The calls did real work, so the scan covers real output.
    assert!(
        seen.contains("DC0_H0_VM0") && seen.contains("env"),
        "{seen}"
    );
    assert_eq!(sim.probe("tags", VM)["tags"], json!(["env/prod"]));
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.lines().count() >= calls.len(), "{audit}");
    let logs = common::trace_logs(dir.path());
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("user:{CANARY}"));
    common::assert_no_secret(
        &[
            CANARY,
            "canary-pw-5f0c9e2a&lt;",
            basic.as_str(),
            guest_pw,
            upload,
        ],
        &[
            ("process output", &seen),
            ("audit log", &audit),
            ("log file", &logs),
        ],
    );
}

/// mcvsphere 0.2.3's tools Portcullis first lacked, where vcsim implements
/// them (rename_snapshot, standby_guest, set_service_policy and
/// configure_ntp are not: tests/vsphere_faults.rs), and its five package
/// names for tools Portcullis had.
#[tokio::test]
async fn mcvsphere_package_tools_act_on_vcsim() {
    let e = env_with(None, &["-ds", "2"]).await;
    let ds = |path: &str| json!({"datastore": "LocalDS_0", "path": path});
    let stat = |path: &str| e.sim.probe("stat", &format!("LocalDS_0/{path}"));

    // Datastore files: a folder (parents made), a file in it, copied within
    // the datastore and to another one, moved, deleted.
    e.ok("vsphere_create_datastore_folder", ds("iso/linux"))
        .await;
    assert_eq!(stat("iso/linux")["folder"], true);
    let mut up = ds("iso/linux/boot.iso");
    up["content"] = json!("ISO 9660 stand-in\n");
    e.ok("vsphere_upload_to_datastore", up).await;
    let mut copy = ds("iso/linux/boot.iso");
    copy["dest_path"] = json!("iso/copy.iso");
    let r = e.ok("vsphere_copy_datastore_file", copy.clone()).await;
    assert_eq!(r["destination"], "[LocalDS_0] iso/copy.iso", "{r}");
    assert_eq!(
        e.sim.probe("file", "LocalDS_0/iso/copy.iso")["content"],
        "ISO 9660 stand-in\n"
    );
    let r = e.err("vsphere_copy_datastore_file", copy.clone()).await;
    assert!(r.contains("FileAlreadyExists"), "{r}");
    // (vCenter makes no folders on the way: the destination's must exist.)
    let mut elsewhere = ds("iso/linux/boot.iso");
    elsewhere["dest_datastore"] = json!("LocalDS_1");
    elsewhere["dest_path"] = json!("boot.iso");
    e.ok("vsphere_copy_datastore_file", elsewhere).await;
    assert_eq!(
        e.sim.probe("file", "LocalDS_1/boot.iso")["content"],
        "ISO 9660 stand-in\n"
    );
    let r = e
        .err("vsphere_move_datastore_file", ds("iso/copy.iso"))
        .await;
    assert!(r.contains("the destination is the source"), "{r}");
    // Replacing what is at the destination is destructive: the default
    // policies want it confirmed.
    let mut replace = ds("iso/copy.iso");
    replace["dest_path"] = json!("iso/linux/boot.iso");
    replace["overwrite"] = json!(true);
    let r = e
        .as_("admins", "vsphere_move_datastore_file", replace)
        .await;
    assert!(
        r.is_error && r.text.contains("needs confirmation"),
        "{}",
        r.text
    );
    let mut rename = ds("iso/copy.iso");
    rename["dest_path"] = json!("iso/second.iso");
    e.ok("vsphere_move_datastore_file", rename).await;
    assert_eq!(stat("iso/copy.iso")["exists"], false);
    assert_eq!(stat("iso/second.iso")["exists"], true);

    // ISO images. vcsim's VMs have an empty CD/DVD drive: an attach puts
    // the image in it, the next swaps the image.
    let drives = e.vm(VM)["cdroms"].clone();
    assert_eq!(drives.as_array().unwrap().len(), 1, "{drives}");
    let r = e
        .ok(
            "vsphere_attach_iso",
            json!({"vm": VM, "iso_path": "[LocalDS_0] iso/linux/boot.iso"}),
        )
        .await;
    assert_eq!(r["iso"], "[LocalDS_0] iso/linux/boot.iso");
    let drives = e.vm(VM)["cdroms"].clone();
    assert_eq!(drives.as_array().unwrap().len(), 1, "{drives}");
    assert_eq!(drives[0]["iso"], "[LocalDS_0] iso/linux/boot.iso");
    assert_eq!(drives[0]["connected"], true);
    e.ok(
        "vsphere_attach_iso",
        json!({"vm": VM, "iso_path": "iso/second.iso", "datastore": "LocalDS_0"}),
    )
    .await;
    let drives = e.vm(VM)["cdroms"].clone();
    assert_eq!(drives.as_array().unwrap().len(), 1, "{drives}");
    assert_eq!(drives[0]["iso"], "[LocalDS_0] iso/second.iso");
    for (args, needle) in [
        (
            json!({"vm": VM, "iso_path": "[LocalDS_0] iso/none.iso"}),
            "no ISO image [LocalDS_0] iso/none.iso",
        ),
        (
            json!({"vm": VM, "iso_path": "[LocalDS_0] ../../etc/shadow"}),
            "relative path inside the datastore",
        ),
        (
            json!({"vm": VM, "iso_path": "[LocalDS_1] boot.iso", "datastore": "LocalDS_0"}),
            "give one",
        ),
    ] {
        let r = e.err("vsphere_attach_iso", args).await;
        assert!(r.contains(needle), "{needle}: {r}");
    }
    assert_eq!(e.vm(VM)["cdroms"][0]["iso"], "[LocalDS_0] iso/second.iso");
    e.ok("vsphere_detach_iso", json!({"vm": VM})).await;
    let drives = e.vm(VM)["cdroms"].clone();
    assert_eq!(
        (drives[0]["iso"].clone(), drives[0]["connected"].clone()),
        (json!(""), json!(false)),
        "{drives}"
    );
    // Without a datastore, the image is looked for on the VM's own.
    e.ok(
        "vsphere_attach_iso",
        json!({"vm": VM, "iso_path": "iso/linux/boot.iso"}),
    )
    .await;
    assert_eq!(
        e.vm(VM)["cdroms"][0]["iso"],
        "[LocalDS_0] iso/linux/boot.iso"
    );
    // A VM without a drive gets one, holding the image.
    e.ok(
        "vsphere_create_vm",
        json!({"name": "no-drive", "datastore": "LocalDS_0"}),
    )
    .await;
    assert_eq!(e.vm("no-drive")["cdroms"], json!([]));
    e.ok(
        "vsphere_attach_iso",
        json!({"vm": "no-drive", "iso_path": "[LocalDS_0] iso/second.iso"}),
    )
    .await;
    let drives = e.vm("no-drive")["cdroms"].clone();
    assert_eq!(
        (drives[0]["iso"].clone(), drives[0]["connected"].clone()),
        (json!("[LocalDS_0] iso/second.iso"), json!(true)),
        "{drives}"
    );
    e.ok("vsphere_delete_datastore_file", ds("iso")).await;
    assert_eq!(stat("iso")["exists"], false);

    // A fixed MAC address; one that is not a MAC reaches nothing.
    let nic_label = e.ok("vsphere_list_nics", json!({"vm": VM})).await[0]["label"]
        .as_str()
        .unwrap()
        .to_string();
    e.ok(
        "vsphere_set_nic_mac",
        json!({"vm": VM, "nic": nic_label, "mac_address": "00:50:56:00:12:34"}),
    )
    .await;
    let nic = e.vm(VM)["nics"][0].clone();
    assert_eq!(
        (nic["mac"].clone(), nic["address_type"].clone()),
        (json!("00:50:56:00:12:34"), json!("manual")),
        "{nic}"
    );
    let r = e
        .err(
            "vsphere_set_nic_mac",
            json!({"vm": VM, "nic": nic_label, "mac_address": "00:50:56:00:12"}),
        )
        .await;
    assert!(r.contains("MAC address"), "{r}");

    // A disk to another datastore: vCenter relocates it (vcsim 0.24 runs
    // the relocation task but does not move the file, so only the task is
    // checked); to the datastore it is on is refused.
    let disk = e.ok("vsphere_list_disks", json!({"vm": VM})).await[0]["label"]
        .as_str()
        .unwrap()
        .to_string();
    let r = e
        .ok(
            "vsphere_move_vm_disk",
            json!({"vm": VM, "disk": disk, "datastore": "LocalDS_1"}),
        )
        .await;
    assert_eq!(r["state"], "success", "{r}");
    assert_eq!(e.tasks(VM, "VirtualMachine.relocateVm"), 1);
    let r = e
        .err(
            "vsphere_move_vm_disk",
            json!({"vm": VM, "disk": disk, "datastore": "LocalDS_0"}),
        )
        .await;
    assert!(r.contains("already on datastore \"LocalDS_0\""), "{r}");

    // Revert to the current snapshot: vCenter's fault without one.
    let r = e
        .err("vsphere_revert_to_current_snapshot", json!({"vm": VM}))
        .await;
    assert!(r.contains("NotFound"), "{r}");
    e.ok(
        "vsphere_create_snapshot",
        json!({"vm": VM, "snapshot": "base"}),
    )
    .await;
    e.ok("vsphere_revert_to_current_snapshot", json!({"vm": VM}))
        .await;
    assert_eq!(e.tasks(VM, "VirtualMachine.revertSnapshot"), 1);

    // mcvsphere's package names: the same operations.
    e.ok("vsphere_power_off", json!({"vm": VM})).await;
    assert_eq!(e.vm(VM)["power_state"], "poweredOff");
    // A template, and back to a VM in its host's root pool.
    e.ok("vsphere_convert_to_template", json!({"vm": VM})).await;
    assert_eq!(e.vm(VM)["template"], true);
    let templates = e.ok("vsphere_list_templates", json!({})).await;
    assert!(templates.to_string().contains(VM), "{templates}");
    let r = e
        .err("vsphere_convert_to_template", json!({"vm": VM}))
        .await;
    assert!(r.contains("NotSupported"), "{r}");
    let r = e.ok("vsphere_convert_to_vm", json!({"vm": VM})).await;
    assert_eq!(r["template"], false);
    let after = e.vm(VM);
    assert_eq!(
        (after["template"].clone(), after["resource_pool"].clone()),
        (json!(false), json!("Resources")),
        "{after}"
    );
    e.ok("vsphere_power_on", json!({"vm": VM})).await;
    assert_eq!(e.vm(VM)["power_state"], "poweredOn");
    let before = e.vm(VM)["disks"][0]["capacity_kb"].as_i64().unwrap();
    e.ok(
        "vsphere_extend_disk",
        json!({"vm": VM, "disk": disk, "size_gb": before / (1024 * 1024) + 1}),
    )
    .await;
    assert!(e.vm(VM)["disks"][0]["capacity_kb"].as_i64().unwrap() > before);
    let tasks = e.ok("vsphere_get_recent_tasks", json!({"limit": 3})).await;
    assert_eq!(tasks.as_array().unwrap().len(), 3, "{tasks}");

    // mcvsphere's storage_vmotion and deploy_from_template, with its own
    // arguments: Portcullis's migrate and clone.
    e.ok(
        "vsphere_storage_vmotion",
        json!({"vm_name": VM, "target_datastore": "LocalDS_1", "thin_provision": true}),
    )
    .await;
    assert_eq!(e.vm(VM)["datastores"], json!(["LocalDS_1"]));
    let r = e
        .err("vsphere_storage_vmotion", json!({"vm_name": VM}))
        .await;
    assert!(r.contains("datastore"), "{r}");
    let template = "DC0_H0_VM1";
    e.ok("vsphere_power_off_vm", json!({"vm": template})).await;
    e.ok("vsphere_convert_to_template", json!({"vm": template}))
        .await;
    e.ok(
        "vsphere_deploy_from_template",
        json!({"template_name": template, "new_vm_name": "from-template",
               "datastore": "LocalDS_1", "power_on": true}),
    )
    .await;
    // A VM (not a template) in the template's folder, on the datastore
    // asked for, in its host's root pool (vCenter refuses a template's
    // clone without a pool). vcsim 0.24 ignores CloneSpec.powerOn and
    // RelocateSpec.transform, so neither is checked here.
    let made = e.vm("from-template");
    assert_eq!(
        (
            made["template"].clone(),
            made["path"].clone(),
            made["datastores"].clone(),
            made["resource_pool"].clone()
        ),
        (
            json!(false),
            json!("/DC0/vm/from-template"),
            json!(["LocalDS_1"]),
            json!("Resources")
        ),
        "{made}"
    );

    // DRS: vcsim's cluster has none to recommend.
    let r = e
        .ok(
            "vsphere_get_drs_recommendations",
            json!({"cluster": "DC0_C0"}),
        )
        .await;
    assert_eq!(
        (r["path"].clone(), r["recommendations"].clone()),
        (json!("DC0/host/DC0_C0"), json!([])),
        "{r}"
    );
}

/// tools/list with a vSphere endpoint offers mcvsphere 0.2.3's tools as
/// released (tests/interop/data/mcvsphere-0.2.3-tools.json) as
/// `vsphere_<name>`: the sixteen Portcullis first lacked and the five
/// names the package uses instead of its documentation's among them.
#[tokio::test]
async fn tools_list_offers_mcvsphere_package_tools() {
    let e = env().await;
    let peer: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/interop/data/mcvsphere-0.2.3-tools.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let admin = Principal::new("tester", ["admins"]);
    let listed: Vec<&str> = e
        .gate
        .visible_tools(&admin)
        .iter()
        .map(|t| t.name)
        .collect();
    let missing: Vec<String> = peer["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .map(|n| format!("vsphere_{n}"))
        .filter(|n| !listed.contains(&n.as_str()))
        .collect();
    assert_eq!(missing, Vec::<String>::new());
    for name in [
        "delete_datastore_file",
        "create_datastore_folder",
        "move_datastore_file",
        "copy_datastore_file",
        "attach_iso",
        "detach_iso",
        "set_service_policy",
        "configure_ntp",
        "revert_to_current_snapshot",
        "rename_snapshot",
        "convert_to_template",
        "convert_to_vm",
        "set_nic_mac",
        "standby_guest",
        "move_vm_disk",
        "get_drs_recommendations",
        "power_on",
        "power_off",
        "extend_disk",
        "export_vm_ovf",
        "get_recent_tasks",
    ] {
        assert!(
            listed.contains(&format!("vsphere_{name}").as_str()),
            "{name} is not listed"
        );
    }
}

/// Prompts written for the seeds keep working: each seed's own argument
/// names (and units) are accepted, and only Portcullis's reach the audit
/// log, the policies and vCenter.
#[tokio::test]
async fn the_seeds_argument_names_and_units_are_accepted() {
    let e = env().await;
    // mcvsphere 0.2.3: `name` and `vm_name` for the VM, `snapshot_name`,
    // `disk_label`, `new_size_gb`, `nic_label`, `folder_path`, `cpu`,
    // `count`.
    e.ok(
        "vsphere_create_snapshot",
        json!({"name": VM, "snapshot_name": "from-mcvsphere"}),
    )
    .await;
    assert_eq!(e.vm(VM)["snapshots"], json!(["from-mcvsphere"]));
    e.ok("vsphere_power_off_vm", json!({"name": VM})).await;
    assert_eq!(e.vm(VM)["power_state"], "poweredOff");
    e.ok("vsphere_reconfigure_vm", json!({"name": VM, "cpu": 3}))
        .await;
    assert_eq!(e.vm(VM)["cpus"], 3);
    let disk = e.ok("vsphere_list_disks", json!({"vm_name": VM})).await[0].clone();
    let gb = disk["capacity_gb"].as_f64().unwrap() as i64 + 1;
    e.ok(
        "vsphere_extend_disk",
        json!({"vm_name": VM, "disk_label": disk["label"], "new_size_gb": gb}),
    )
    .await;
    assert_eq!(e.vm(VM)["disks"][0]["capacity_kb"], gb * 1024 * 1024);
    let nic = e.ok("vsphere_list_nics", json!({"vm_name": VM})).await[0]["label"].clone();
    e.ok(
        "vsphere_connect_nic",
        json!({"vm_name": VM, "nic_label": nic, "connected": false}),
    )
    .await;
    assert_eq!(e.vm(VM)["nics"][0]["connected"], false);
    e.ok("vsphere_create_folder", json!({"folder_name": "Seeds"}))
        .await;
    e.ok(
        "vsphere_move_vm_to_folder",
        json!({"vm_name": VM, "folder_path": "Seeds"}),
    )
    .await;
    assert_eq!(e.vm(VM)["path"], format!("/DC0/vm/Seeds/{VM}"));
    let tasks = e.ok("vsphere_get_recent_tasks", json!({"count": 2})).await;
    assert_eq!(tasks.as_array().unwrap().len(), 2);

    // vSphere-MCP-Pro: `vm_id`, `snapshot_name`, `cpu_count`, and memory
    // in GiB (`memory_gb`), converted to MiB.
    // Its clients also send its per-call RBAC token, `verbose`, and
    // `confirm` on tools it counts destructive: accepted and dropped.
    e.ok(
        "vsphere_modify_vm_resources",
        json!({"vm_id": VM, "cpu_count": 2, "memory_gb": 1.5, "confirm": true,
               "token": "pro-token-canary", "verbose": true}),
    )
    .await;
    let vm = e.vm(VM);
    assert_eq!(
        (vm["cpus"].clone(), vm["memory_mb"].clone()),
        (json!(2), json!(1536))
    );
    e.ok(
        "vsphere_create_vm_snapshot",
        json!({"vm_id": VM, "snapshot_name": "from-pro"}),
    )
    .await;
    e.ok("vsphere_power_on_vm", json!({"vm_id": VM})).await;
    assert_eq!(e.vm(VM)["power_state"], "poweredOn");
    // Its `hostname` picks the vCenter: the configured endpoint with that
    // host, never another.
    let host = url::Url::parse(&e.sim.url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    let listed = e
        .ok("vsphere_list_vms", json!({"hostname": host, "token": "t"}))
        .await;
    assert!(!listed.as_array().unwrap().is_empty(), "{listed}");
    let elsewhere = e
        .err("vsphere_list_vms", json!({"hostname": "vc2.example.com"}))
        .await;
    assert!(
        elsewhere.contains(
            "hostname: host \"vc2.example.com\" is no configured vsphere endpoint's; the configured endpoints are vc "
        ) && !elsewhere.contains(&host),
        "{elsewhere}"
    );
    let both = e
        .err(
            "vsphere_list_vms",
            json!({"hostname": host, "endpoint": "other"}),
        )
        .await;
    assert!(both.contains("give one of them"), "{both}");
    // Only vSphere-MCP-Pro's tools take it (mcvsphere's have no hostname).
    for (tool, args) in [
        ("vsphere_list_templates", json!({"hostname": host})),
        ("vsphere_power_on", json!({"vm": VM, "hostname": host})),
    ] {
        let r = e.err(tool, args).await;
        assert!(
            r.contains("unknown argument") && r.contains("hostname"),
            "{tool}: {r}"
        );
    }

    // A name and its alias together, a GiB figure that is no whole number
    // of MiB: refused by name, before vCenter.
    for (tool, args, needle) in [
        (
            "vsphere_power_on_vm",
            json!({"vm": VM, "vm_id": VM}),
            "`vm_id` is another name for `vm`",
        ),
        (
            "vsphere_modify_vm_resources",
            json!({"vm_id": VM, "memory_gb": 0.0001}),
            "`memory_gb` must be a number that is a whole number",
        ),
    ] {
        let r = e.err(tool, args).await;
        assert!(r.contains(needle), "{needle}: {r}");
    }

    // The audit log and the policies saw only Portcullis's names, in its
    // units.
    let log = std::fs::read_to_string(e.dir.path().join("audit.jsonl")).unwrap();
    let resized = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["tool"] == "vsphere_modify_vm_resources" && r["decision"] == "allow")
        .unwrap();
    assert_eq!(
        resized["args"],
        json!({"vm": VM, "cpus": 2, "memory_mb": 1536}),
        "{resized}"
    );
    let by_host = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["tool"] == "vsphere_list_vms" && r["decision"] == "allow")
        .unwrap();
    assert_eq!(by_host["args"], json!({"endpoint": "vc"}), "{by_host}");
    assert!(
        !log.contains("pro-token-canary"),
        "the peer's token was recorded"
    );
    // (A refused call is recorded as it came, dropped arguments redacted.)
    let r = e
        .err(
            "vsphere_get_vm_details",
            json!({"vm_id": VM, "token": "pro-token-canary-2", "disk": "x"}),
        )
        .await;
    assert!(r.contains("unknown argument"), "{r}");
    let log = std::fs::read_to_string(e.dir.path().join("audit.jsonl")).unwrap();
    assert!(
        !log.contains("pro-token-canary-2"),
        "a refused call recorded the token"
    );
    // Nor a misspelt argument's value, which may be a credential.
    let r = e
        .err(
            "vsphere_get_vm_details",
            json!({"vm_id": VM, "pasword": "guest-canary-3"}),
        )
        .await;
    assert!(r.contains("unknown argument"), "{r}");
    let log = std::fs::read_to_string(e.dir.path().join("audit.jsonl")).unwrap();
    assert!(
        !log.contains("guest-canary-3"),
        "a refused call recorded an unknown argument's value"
    );
    assert!(
        log.contains("\"pasword\""),
        "the unknown argument's name is recorded"
    );
    for decided in log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["decision"] == "allow")
    {
        for peer in [
            "vm_id",
            "memory_gb",
            "vm_name",
            "snapshot_name",
            "folder_name",
        ] {
            assert!(decided["args"].get(peer).is_none(), "{peer}: {decided}");
        }
    }
}

/// mcvsphere's and vSphere-MCP-Pro's users switch by changing the command:
/// `portcullis serve` with only the seed's documented environment, called
/// through the official Python MCP SDK with the seed's argument names.
#[tokio::test(flavor = "multi_thread")]
async fn vsphere_seeds_users_switch_by_changing_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Vcsim::start(dir.path(), &[]);
    let host_port = sim
        .url
        .trim_start_matches("https://")
        .trim_end_matches("/sdk")
        .to_string();
    let cert = sim.cert.display().to_string();
    let url = sim.url.clone();
    tokio::task::spawn_blocking(move || {
        // mcvsphere, as its documentation sets it up (a bare host, a
        // self-signed certificate accepted).
        let mcvsphere = common::dropin::run(
            &[
                ("VCENTER_HOST", host_port),
                ("VCENTER_USER", "svc-mcvsphere@vsphere.local".into()),
                ("VCENTER_PASSWORD", CANARY.into()),
                ("VCENTER_INSECURE", "true".into()),
            ],
            "vsphere_get_vm_info",
            &json!({"name": VM}),
        );
        mcvsphere.assert_ok(
            "mcvsphere and vSphere-MCP-Pro",
            "vsphere-super-admins",
            "vsphere_get_vm_info",
            CANARY,
        );
        assert!(mcvsphere.report["text"]
            .as_str()
            .unwrap()
            .contains("DC0_H0_VM0"));
        // vSphere-MCP-Pro: its CA bundle (verification on) and vm_id.
        let pro = common::dropin::run(
            &[
                ("VCENTER_HOST", url),
                ("VCENTER_USER", "svc@vsphere.local".into()),
                ("VCENTER_PASSWORD", CANARY.into()),
                ("VCENTER_CA_BUNDLE", cert),
            ],
            "vsphere_get_vm_details",
            &json!({"vm_id": VM}),
        );
        // VCENTER_CA_BUNDLE is vSphere-MCP-Pro's: its users, whose roles it
        // checked per call, start read-only.
        pro.assert_ok(
            "mcvsphere and vSphere-MCP-Pro",
            "vsphere-readers",
            "vsphere_get_vm_details",
            CANARY,
        );
    })
    .await
    .unwrap();
    drop(sim);
}
