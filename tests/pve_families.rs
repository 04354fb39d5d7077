//! mcp-pve's LXC, QEMU, node, task and cluster tools beyond the first 26,
//! through the gate against the embedded lab: each changes (or reads) the
//! lab as Proxmox VE would, property strings are checked key by key, and
//! secrets in arguments and answers stay out of the transcript and the log.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;

use std::time::Duration;

use common::pve_lab::Env;
use serde_json::{json, Value};

async fn env() -> Env {
    env_with(0.2).await
}

/// The lab with tasks that take `task_seconds`.
async fn env_with(task_seconds: f64) -> Env {
    common::pve_lab::start(Duration::from_secs(10), task_seconds).await
}

#[tokio::test]
async fn containers_live_their_whole_life_through_the_gate() {
    let e = env().await;
    let created = e
        .ok(
            "pve_create_lxc_container",
            json!({"node": "pve1", "vmid": 210, "ostemplate": "local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst",
                   "hostname": "app-01", "memory": 1024, "rootfs": "local-lvm:8", "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
                   "password": "ct-root-canary-5521", "unprivileged": true, "ssh_public_keys": "ssh-ed25519 AAAAC3Nza lab@key",
                   "env": ["APP_MODE=prod", "LOG=debug"]}),
        )
        .await;
    assert_eq!(created["exitstatus"], "OK", "{created}");
    let config = e
        .ok("pve_get_lxc_config", json!({"node": "pve1", "vmid": 210}))
        .await;
    assert_eq!(config["hostname"], "app-01");
    assert_eq!(config["net0"], "name=eth0,bridge=vmbr0,ip=dhcp");
    assert_eq!(
        config["ssh-public-keys"], "ssh-ed25519 AAAAC3Nza lab@key",
        "sent under PVE's name"
    );
    assert_eq!(
        config["env"], "APP_MODE=prod\u{0}LOG=debug",
        "a list is one NUL-separated string"
    );
    assert!(config.get("password").is_none());
    e.ok(
        "pve_start_lxc_container",
        json!({"node": "pve1", "vmid": 210}),
    )
    .await;
    e.ok(
        "pve_suspend_lxc_container",
        json!({"node": "pve1", "vmid": 210}),
    )
    .await;
    let st = e
        .ok("pve_get_lxc_status", json!({"node": "pve1", "vmid": 210}))
        .await;
    assert_eq!(st["qmpstatus"], "paused");
    e.ok(
        "pve_resume_lxc_container",
        json!({"node": "pve1", "vmid": 210}),
    )
    .await;
    e.ok(
        "pve_reboot_lxc_container",
        json!({"node": "pve1", "vmid": 210}),
    )
    .await;
    let rrd = e
        .ok(
            "pve_get_lxc_rrddata",
            json!({"node": "pve1", "vmid": 210, "timeframe": "hour"}),
        )
        .await;
    assert!(!rrd.as_array().unwrap().is_empty());
    e.ok(
        "pve_update_lxc_config",
        json!({"node": "pve1", "vmid": 210, "hostname": "app-02", "cores": 2, "onboot": true}),
    )
    .await;
    let config = e
        .ok("pve_get_lxc_config", json!({"node": "pve1", "vmid": 210}))
        .await;
    assert_eq!(
        (config["hostname"].clone(), config["cores"].clone()),
        (json!("app-02"), json!(2))
    );
    e.ok(
        "pve_create_lxc_snapshot",
        json!({"node": "pve1", "vmid": 210, "snapname": "before", "description": "x"}),
    )
    .await;
    let snaps = e
        .ok(
            "pve_list_lxc_snapshots",
            json!({"node": "pve1", "vmid": 210}),
        )
        .await;
    assert!(snaps.to_string().contains("before"), "{snaps}");
    // Destructive container tools need a confirmation.
    let refused = e
        .err(
            "bob",
            "pve_rollback_lxc_snapshot",
            json!({"node": "pve1", "vmid": 210, "snapname": "before"}),
        )
        .await;
    assert!(refused.contains("needs confirmation"), "{refused}");
    e.ok(
        "pve_rollback_lxc_snapshot",
        json!({"node": "pve1", "vmid": 210, "snapname": "before", "confirm": true}),
    )
    .await;
    e.ok("pve_clone_lxc_container", json!({"node": "pve1", "vmid": 210, "newid": 211, "hostname": "app-clone", "snapname": "before"}))
        .await;
    e.ok(
        "pve_delete_lxc_snapshot",
        json!({"node": "pve1", "vmid": 210, "snapname": "before", "confirm": true}),
    )
    .await;
    e.ok(
        "pve_shutdown_lxc_container",
        json!({"node": "pve1", "vmid": 210}),
    )
    .await;
    e.ok(
        "pve_delete_lxc_container",
        json!({"node": "pve1", "vmid": 210, "purge": true, "confirm": true}),
    )
    .await;
    let list = e
        .ok("pve_list_lxc_containers", json!({"node": "pve1"}))
        .await;
    let ids: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["vmid"].clone())
        .collect();
    assert_eq!(ids, [json!(211)], "210 gone, its clone there");
    // The root password reached neither the answer nor the audit log.
    let audit = std::fs::read_to_string(&e.audit).unwrap();
    assert!(!audit.contains("ct-root-canary-5521"));
    assert!(audit.contains("[redacted]"));
}

#[tokio::test]
async fn vms_suspend_resume_reset_migrate_and_are_created() {
    let e = env().await;
    e.ok("pve_suspend_qemu_vm", json!({"node": "pve1", "vmid": 100}))
        .await;
    let st = e
        .ok("pve_get_qemu_status", json!({"node": "pve1", "vmid": 100}))
        .await;
    assert_eq!(st["qmpstatus"], "paused");
    e.ok("pve_resume_qemu_vm", json!({"node": "pve1", "vmid": 100}))
        .await;
    let reset = e
        .err(
            "bob",
            "pve_reset_qemu_vm",
            json!({"node": "pve1", "vmid": 100}),
        )
        .await;
    assert!(
        reset.contains("needs confirmation"),
        "a hard reset is destructive: {reset}"
    );
    e.ok(
        "pve_reset_qemu_vm",
        json!({"node": "pve1", "vmid": 100, "confirm": true}),
    )
    .await;
    let offline = e
        .err(
            "carol",
            "pve_migrate_qemu_vm",
            json!({"node": "pve1", "vmid": 100, "target": "pve2"}),
        )
        .await;
    assert!(offline.contains("without --online"), "{offline}");
    e.ok(
        "pve_migrate_qemu_vm",
        json!({"node": "pve1", "vmid": 100, "target": "pve2", "online": true}),
    )
    .await;
    let all = e
        .ok("pve_list_cluster_resources", json!({"type": "vm"}))
        .await;
    let moved = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["vmid"] == json!(100));
    assert_eq!(moved.unwrap()["node"], "pve2");
    let rrd = e
        .ok(
            "pve_get_qemu_rrddata",
            json!({"node": "pve2", "vmid": 100, "timeframe": "day"}),
        )
        .await;
    assert!(rrd[0]["time"].is_number());
    e.ok(
        "pve_create_qemu_vm",
        json!({"node": "pve1", "vmid": 300, "name": "new-01", "memory": 2048, "cores": 2, "sockets": 1, "ostype": "l26",
               "ide2": "local:iso/debian-13.iso,media=cdrom", "scsi0": "local-lvm:32,discard=on,ssd=1",
               "net0": "virtio,bridge=vmbr0,firewall=1", "scsihw": "virtio-scsi-single", "boot": "order=scsi0;ide2;net0"}),
    )
    .await;
    let config = e
        .ok("pve_get_qemu_config", json!({"node": "pve1", "vmid": 300}))
        .await;
    assert_eq!(config["scsi0"], "local-lvm:32,discard=on,ssd=1");
    // The argument gaps of the first release are closed.
    e.ok(
        "pve_update_qemu_config",
        json!({"node": "pve1", "vmid": 300, "cpu": "host,flags=+aes", "net0": "virtio=BC:24:11:00:00:09,bridge=vmbr1", "scsi0": "local-lvm:64"}),
    )
    .await;
    let config = e
        .ok("pve_get_qemu_config", json!({"node": "pve1", "vmid": 300}))
        .await;
    assert_eq!(config["cpu"], "host,flags=+aes");
    e.ok(
        "pve_create_qemu_snapshot",
        json!({"node": "pve1", "vmid": 300, "snapname": "base"}),
    )
    .await;
    e.ok(
        "pve_clone_qemu_vm",
        json!({"node": "pve1", "vmid": 300, "newid": 301, "snapname": "base"}),
    )
    .await;
    let tasks = e
        .ok(
            "pve_list_tasks",
            json!({"node": "pve1", "typefilter": "qmclone", "start": 0, "limit": 5}),
        )
        .await;
    assert!(
        tasks
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["type"] == "qmclone")
            && !tasks.as_array().unwrap().is_empty(),
        "{tasks}"
    );
    // An integral JSON number is the integer it names.
    e.ok(
        "pve_get_qemu_status",
        json!({"node": "pve1", "vmid": 300.0}),
    )
    .await;
}

#[tokio::test]
async fn property_strings_cannot_carry_another_setting() {
    let e = env().await;
    let before = e.writes();
    for (value, want) in [
        (
            "virtio,bridge=vmbr0,scsi1=local-lvm:100",
            "unknown key \"scsi1\"",
        ),
        ("virtio,bridge=vmbr0\nscsi1: local-lvm:100", "must be"),
        (
            "virtio,bridge=vmbr0,bridge=vmbr1",
            "\"bridge\" is given twice",
        ),
        ("virtio,bridge=vmbr0 hookscript=local:snippets/x", "must be"),
        ("virtio,bridge=", "the value of \"bridge\""),
        ("", "must be"),
    ] {
        let text = e
            .err(
                "carol",
                "pve_update_qemu_config",
                json!({"node": "pve1", "vmid": 101, "net0": value}),
            )
            .await;
        assert!(
            text.contains("`net0`") && text.contains(want),
            "{value:?}: {text}"
        );
    }
    let text = e
        .err("carol", "pve_create_lxc_container", json!({"node": "pve1", "vmid": 220, "ostemplate": "local:vztmpl/x.tar.zst", "rootfs": "local-lvm:8,mp0=/etc"}))
        .await;
    assert!(
        text.contains("`rootfs`") && text.contains("unknown key \"mp0\""),
        "{text}"
    );
    let text = e
        .err("carol", "pve_create_lxc_container", json!({"node": "pve1", "vmid": 220, "ostemplate": "local:vztmpl/x.tar.zst", "env": ["A=1\u{0}B=2"]}))
        .await;
    assert!(text.contains("`env`"), "{text}");
    let text = e
        .err(
            "carol",
            "pve_get_qemu_status",
            json!({"node": "pve1", "vmid": 100.5}),
        )
        .await;
    assert!(text.contains("`vmid`"), "{text}");
    assert_eq!(e.writes(), before, "nothing reached the lab");
}

#[tokio::test]
async fn nodes_tasks_and_the_cluster() {
    // Tasks long enough to be stopped while they run.
    let e = env_with(3.0).await;
    assert_eq!(
        e.ok("pve_get_node_version", json!({"node": "pve1"})).await["release"],
        "9.0"
    );
    assert!(e.ok("pve_get_node_dns", json!({"node": "pve1"})).await["dns1"].is_string());
    assert_eq!(
        e.ok("pve_get_node_time", json!({"node": "pve2"})).await["timezone"],
        "UTC"
    );
    let log = e
        .ok(
            "pve_get_node_syslog",
            json!({"node": "pve1", "start": 10, "limit": 3}),
        )
        .await;
    assert_eq!(
        log.as_array()
            .unwrap()
            .iter()
            .map(|l| l["n"].clone())
            .collect::<Vec<_>>(),
        [json!(11), json!(12), json!(13)]
    );
    let services = e
        .ok("pve_list_node_services", json!({"node": "pve1"}))
        .await;
    assert!(services.to_string().contains("pveproxy"));
    // Reloading is harmless; stopping or restarting can cut the node off.
    e.ok(
        "pve_manage_node_service",
        json!({"node": "pve1", "service": "pveproxy", "command": "reload"}),
    )
    .await;
    let stop = e
        .err(
            "carol",
            "pve_manage_node_service",
            json!({"node": "pve1", "service": "pveproxy", "command": "stop"}),
        )
        .await;
    assert!(stop.contains("needs confirmation"), "{stop}");
    let operator = e
        .err(
            "bob",
            "pve_manage_node_service",
            json!({"node": "pve1", "service": "pveproxy", "command": "reload"}),
        )
        .await;
    assert!(
        operator.contains("no policy permits it"),
        "services are admin: {operator}"
    );
    let bad = e
        .err(
            "carol",
            "pve_manage_node_service",
            json!({"node": "pve1", "service": "pveproxy", "command": "stop/../../x"}),
        )
        .await;
    assert!(bad.contains("`command`"), "{bad}");
    // A running task is stopped.
    let started = e
        .ok(
            "pve_start_qemu_vm",
            json!({"node": "pve2", "vmid": 102, "wait": false}),
        )
        .await;
    let upid = started["upid"].as_str().unwrap().to_string();
    e.ok(
        "pve_stop_task",
        json!({"node": "pve2", "upid": upid, "confirm": true}),
    )
    .await;
    let st = e
        .ok("pve_get_task_status", json!({"node": "pve2", "upid": upid}))
        .await;
    assert_eq!(st["exitstatus"], "interrupted by signal");
    // Cluster reads.
    assert_eq!(
        e.ok("pve_get_next_vmid", json!({})).await,
        json!(next_free(&e).await)
    );
    assert!(!e
        .ok("pve_get_cluster_log", json!({"max": 5}))
        .await
        .as_array()
        .unwrap()
        .is_empty());
    let options = e.ok("pve_get_cluster_options", json!({})).await;
    assert_eq!(options["keyboard"], "en-us");
    let proxy = options["http_proxy"].as_str().unwrap();
    assert!(
        !proxy.contains("proxy-canary-pw")
            && proxy.contains("proxyuser")
            && proxy.contains("withheld"),
        "{proxy}"
    );
    assert!(!std::fs::read_to_string(&e.audit)
        .unwrap()
        .contains("proxy-canary-pw"));
    assert!(e
        .ok("pve_list_cluster_backup_info", json!({}))
        .await
        .to_string()
        .contains("web-01"));
    assert_eq!(
        e.ok("pve_get_cluster_ha_status", json!({})).await[0]["type"],
        "quorum"
    );
    assert_eq!(
        e.ok("pve_list_cluster_replication", json!({})).await,
        json!([])
    );
}

/// The lowest guest id the lab does not use, as a string (PVE's answer).
async fn next_free(e: &Env) -> String {
    let all = e
        .ok("pve_list_cluster_resources", json!({"type": "vm"}))
        .await;
    let used: Vec<u64> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["vmid"].as_u64())
        .collect();
    (100u64..)
        .find(|id| !used.contains(id))
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn users_acls_pools_and_ha_under_admin_policy() {
    let e = env().await;
    let users = e.ok("pve_list_users", json!({})).await;
    assert!(users.to_string().contains("alice@pve"), "{users}");
    e.ok(
        "pve_create_user",
        json!({"userid": "bob@pve", "password": "user-pw-canary-77", "email": "bob@example.org", "groups": "ops", "enable": true}),
    )
    .await;
    let bob = e.ok("pve_get_user", json!({"userid": "bob@pve"})).await;
    assert_eq!(bob["email"], "bob@example.org");
    assert!(bob.get("password").is_none());
    e.ok(
        "pve_update_user",
        json!({"userid": "bob@pve", "comment": "on call", "enable": false}),
    )
    .await;
    assert_eq!(
        e.ok("pve_get_user", json!({"userid": "bob@pve"})).await["enable"],
        "0"
    );
    // Operators may not touch access control at all.
    let denied = e
        .err(
            "bob",
            "pve_update_acl",
            json!({"path": "/vms/100", "roles": "PVEVMUser", "users": "bob@pve"}),
        )
        .await;
    assert!(denied.contains("no policy permits it"), "{denied}");
    // Granting is admin work; revoking is destructive and confirmed.
    e.ok(
        "pve_update_acl",
        json!({"path": "/vms/100", "roles": "PVEVMUser", "users": "bob@pve"}),
    )
    .await;
    let acls = e.ok("pve_list_acls", json!({})).await;
    assert!(acls.to_string().contains("\"ugid\":\"bob@pve\""), "{acls}");
    let revoke = e
        .err(
            "carol",
            "pve_update_acl",
            json!({"path": "/vms/100", "roles": "PVEVMUser", "users": "bob@pve", "delete": true}),
        )
        .await;
    assert!(revoke.contains("needs confirmation"), "{revoke}");
    e.ok("pve_update_acl", json!({"path": "/vms/100", "roles": "PVEVMUser", "users": "bob@pve", "delete": true, "confirm": true}))
        .await;
    assert!(!e
        .ok("pve_list_acls", json!({}))
        .await
        .to_string()
        .contains("bob@pve"));
    let bad = e
        .err(
            "carol",
            "pve_update_acl",
            json!({"path": "/vms/100 /", "roles": "Administrator", "users": "bob@pve"}),
        )
        .await;
    assert!(bad.contains("`path`"), "{bad}");
    e.ok(
        "pve_delete_user",
        json!({"userid": "bob@pve", "confirm": true}),
    )
    .await;
    for tool in ["pve_list_roles", "pve_list_groups", "pve_list_domains"] {
        assert!(
            !e.ok(tool, json!({})).await.as_array().unwrap().is_empty(),
            "{tool}"
        );
    }
    // Pools.
    e.ok(
        "pve_create_pool",
        json!({"poolid": "prod", "comment": "production"}),
    )
    .await;
    e.ok(
        "pve_update_pool",
        json!({"poolid": "prod", "vms": "100,101"}),
    )
    .await;
    assert_eq!(
        e.ok("pve_get_pool", json!({"poolid": "prod"})).await["vms"],
        "100,101"
    );
    assert_eq!(
        e.ok("pve_list_pools", json!({}))
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let busy = e
        .err(
            "carol",
            "pve_delete_pool",
            json!({"poolid": "dev", "confirm": true}),
        )
        .await;
    assert!(busy.contains("is not empty"), "{busy}");
    e.ok(
        "pve_delete_pool",
        json!({"poolid": "prod", "confirm": true}),
    )
    .await;
    // HA.
    e.ok(
        "pve_create_ha_resource",
        json!({"sid": "vm:100", "state": "started", "max_restart": 2}),
    )
    .await;
    assert_eq!(
        e.ok("pve_get_ha_resource", json!({"sid": "vm:100"})).await["max_restart"],
        "2"
    );
    e.ok(
        "pve_update_ha_resource",
        json!({"sid": "vm:100", "state": "stopped"}),
    )
    .await;
    let vms = e.ok("pve_list_ha_resources", json!({"type": "vm"})).await;
    assert_eq!(
        vms.as_array().unwrap().len(),
        1,
        "only those of type vm: {vms}"
    );
    e.ok(
        "pve_create_ha_rule",
        json!({"rule": "web-on-pve1", "type": "node-affinity", "resources": "vm:100", "nodes": "pve1:2,pve2", "strict": false}),
    )
    .await;
    e.ok(
        "pve_update_ha_rule",
        json!({"rule": "web-on-pve1", "comment": "prefer pve1", "delete_settings": "strict"}),
    )
    .await;
    assert_eq!(
        e.ok("pve_get_ha_rule", json!({"rule": "web-on-pve1"}))
            .await["delete"],
        "strict",
        "sent as delete"
    );
    assert_eq!(
        e.ok("pve_list_ha_rules", json!({"type": "node-affinity"}))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    e.ok(
        "pve_delete_ha_rule",
        json!({"rule": "web-on-pve1", "confirm": true}),
    )
    .await;
    e.ok(
        "pve_delete_ha_resource",
        json!({"sid": "vm:100", "confirm": true}),
    )
    .await;
    let disarm = e
        .err("carol", "pve_disarm_ha", json!({"resource_mode": "freeze"}))
        .await;
    assert!(disarm.contains("needs confirmation"), "{disarm}");
    e.ok(
        "pve_disarm_ha",
        json!({"resource_mode": "freeze", "confirm": true}),
    )
    .await;
    assert!(e
        .ok("pve_get_cluster_ha_status", json!({}))
        .await
        .to_string()
        .contains("disarmed"));
    e.ok("pve_arm_ha", json!({})).await;
    let audit = std::fs::read_to_string(&e.audit).unwrap();
    assert!(!audit.contains("user-pw-canary-77"));
}

#[tokio::test]
async fn firewall_storage_network_backup_and_datacenter_options() {
    let e = env().await;
    // Firewall: reads; a DROP rule or switching the firewall on is
    // destructive (it can lock everyone out), an ACCEPT rule is not.
    assert_eq!(
        e.ok("pve_get_firewall_options", json!({})).await["policy_in"],
        "DROP"
    );
    assert!(!e
        .ok("pve_list_firewall_aliases", json!({}))
        .await
        .as_array()
        .unwrap()
        .is_empty());
    assert!(!e
        .ok("pve_list_firewall_ipsets", json!({}))
        .await
        .as_array()
        .unwrap()
        .is_empty());
    e.ok(
        "pve_create_firewall_rule",
        json!({"action": "ACCEPT", "type": "in", "proto": "tcp", "dport": "22", "source": "10.0.0.0/24", "comment": "ssh"}),
    )
    .await;
    let drop = e
        .err(
            "carol",
            "pve_create_firewall_rule",
            json!({"action": "DROP", "type": "in", "source": "0.0.0.0/0"}),
        )
        .await;
    assert!(drop.contains("needs confirmation"), "{drop}");
    e.ok("pve_create_firewall_rule", json!({"action": "DROP", "type": "in", "source": "192.0.2.0/24", "pos": 2, "confirm": true}))
        .await;
    let rules = e.ok("pve_list_firewall_rules", json!({})).await;
    assert_eq!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["action"].clone())
            .collect::<Vec<_>>(),
        [json!("ACCEPT"), json!("ACCEPT"), json!("DROP")]
    );
    e.ok(
        "pve_update_firewall_rule",
        json!({"pos": 2, "comment": "bogons", "confirm": true}),
    )
    .await;
    e.ok(
        "pve_delete_firewall_rule",
        json!({"pos": 2, "confirm": true}),
    )
    .await;
    let on = e
        .err(
            "carol",
            "pve_update_firewall_options",
            json!({"enable": true}),
        )
        .await;
    assert!(on.contains("needs confirmation"), "{on}");
    e.ok(
        "pve_update_firewall_options",
        json!({"log_ratelimit": "enable=1,burst=5,rate=1/second"}),
    )
    .await;
    let bad = e
        .err(
            "carol",
            "pve_create_firewall_rule",
            json!({"action": "ACCEPT", "type": "in", "source": "10.0.0.0/24 -j ACCEPT"}),
        )
        .await;
    assert!(bad.contains("`source`"), "{bad}");
    // Storage.
    assert_eq!(
        e.ok("pve_get_storage_config", json!({"storage": "local-lvm"}))
            .await["type"],
        "lvmthin"
    );
    e.ok("pve_create_storage", json!({"storage": "nas", "type": "nfs", "server": "192.0.2.10", "export": "/srv/pve", "content": "images,iso", "shared": true}))
        .await;
    e.ok(
        "pve_update_storage",
        json!({"storage": "nas", "nodes": "pve1", "disable": false}),
    )
    .await;
    let listed = e
        .ok(
            "pve_list_node_storage",
            json!({"node": "pve1", "content": "iso"}),
        )
        .await;
    assert!(listed.to_string().contains("\"nas\""), "{listed}");
    assert_eq!(
        e.ok(
            "pve_get_storage_status",
            json!({"node": "pve1", "storage": "nas"})
        )
        .await["active"],
        1
    );
    e.ok(
        "pve_pull_oci_image",
        json!({"node": "pve1", "storage": "local", "reference": "docker.io/library/alpine:3.20"}),
    )
    .await;
    e.ok(
        "pve_delete_storage",
        json!({"storage": "nas", "confirm": true}),
    )
    .await;
    let gone = e
        .err("carol", "pve_get_storage_config", json!({"storage": "nas"}))
        .await;
    assert!(gone.contains("does not exist"), "{gone}");
    // Node network (staged changes).
    e.ok("pve_create_network", json!({"node": "pve1", "iface": "vmbr1", "type": "bridge", "bridge_ports": "eno2", "autostart": true}))
        .await;
    assert_eq!(
        e.ok("pve_get_network", json!({"node": "pve1", "iface": "vmbr1"}))
            .await["bridge_ports"],
        "eno2"
    );
    let change = e
        .err(
            "carol",
            "pve_update_network",
            json!({"node": "pve1", "iface": "vmbr1", "type": "bridge", "address": "10.9.0.1"}),
        )
        .await;
    assert!(change.contains("needs confirmation"), "{change}");
    e.ok("pve_update_network", json!({"node": "pve1", "iface": "vmbr1", "type": "bridge", "address": "10.9.0.1", "netmask": "255.255.255.0", "confirm": true}))
        .await;
    assert_eq!(
        e.ok(
            "pve_list_networks",
            json!({"node": "pve1", "type": "bridge"})
        )
        .await
        .as_array()
        .unwrap()
        .len(),
        2
    );
    e.ok(
        "pve_delete_network",
        json!({"node": "pve1", "iface": "vmbr1", "confirm": true}),
    )
    .await;
    // Backups.
    e.ok(
        "pve_run_backup",
        json!({"node": "pve1", "vmid": "100,101", "mode": "snapshot", "compress": "zstd"}),
    )
    .await;
    e.ok("pve_create_backup_job", json!({"vmid": "100", "storage": "local", "schedule": "sat 02:00", "mode": "stop", "enabled": true}))
        .await;
    let jobs = e.ok("pve_list_backup_jobs", json!({})).await;
    let made = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["schedule"] == "sat 02:00")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        e.ok("pve_get_backup_job", json!({"id": made})).await["vmid"],
        "100"
    );
    e.ok(
        "pve_delete_backup_job",
        json!({"id": made, "confirm": true}),
    )
    .await;
    // Datacenter options: the proxy URL is a secret argument.
    e.ok("pve_update_cluster_options", json!({"keyboard": "de", "http_proxy": "http://u:opt-proxy-canary@proxy:3128", "crs": "ha=static"}))
        .await;
    assert_eq!(
        e.ok("pve_get_cluster_options", json!({})).await["keyboard"],
        "de"
    );
    let audit = std::fs::read_to_string(&e.audit).unwrap();
    assert!(!audit.contains("opt-proxy-canary"));
    let operator = e
        .err(
            "bob",
            "pve_update_cluster_options",
            json!({"keyboard": "fr"}),
        )
        .await;
    assert!(operator.contains("no policy permits it"), "{operator}");
}

#[tokio::test]
async fn bulk_actions_are_authorized_and_recorded_guest_by_guest() {
    use portcullis::gate::{CallRequest, Caller, Confirmation, Outcome};
    use portcullis::principal::Principal;
    use portcullis::testing::GateBuilder;
    let e = env().await;
    // Operators of pve1's guests, and of pool dev (guest 102, on pve2).
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("bulk.jsonl");
    let gate = GateBuilder::new()
        .policies(&[
            r#"permit (principal in Group::"ops", action in Action::"tier:operate", resource in Node::"lab/pve1");"#,
            r#"permit (principal in Group::"ops", action in Action::"tier:operate", resource in Pool::"lab/dev");"#,
        ])
        .endpoints(&e.config.endpoints)
        .audit(&audit)
        .build();
    let call = |vms: Value| {
        let gate = &gate;
        async move {
            let args = json!({"vms": vms});
            let req = CallRequest {
                tool: "pve_bulk_start_guests",
                args: Some(&args),
                confirmation: Confirmation::None,
                confirms: None,
            };
            match gate
                .call(&Caller::stdio(Principal::new("otto", ["ops"])), req, None)
                .await
            {
                Outcome::Done(r) => r,
                other => panic!("{other:?}"),
            }
        }
    };
    e.lab.requests(); // nothing to assert yet
                      // 100 is on pve1, 102 in pool dev: both allowed, both started.
    let r = call(json!([100, 102])).await;
    assert!(!r.is_error, "{}", r.text);
    // 200 (a container on pve2, in no pool) is not: the call is refused,
    // naming it, and nothing is started.
    let bulk_posts = || {
        e.lab
            .requests()
            .iter()
            .filter(|(m, p)| m == "POST" && p.contains("bulk-action"))
            .count()
    };
    let before = bulk_posts();
    let r = call(json!([101, 200])).await;
    assert!(
        r.is_error && r.text.contains("Container::\"lab/ct/200\""),
        "{}",
        r.text
    );
    assert_eq!(bulk_posts(), before, "a refused bulk call sends nothing");
    let records: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let refused = records
        .iter()
        .rev()
        .find(|r| r["kind"] == "decision")
        .unwrap();
    assert_eq!(refused["decision"], "deny");
    let guests = refused["guests"].as_array().unwrap();
    assert_eq!(guests.len(), 2, "{refused}");
    assert_eq!(
        (guests[0]["resource"].clone(), guests[0]["allowed"].clone()),
        (json!("Vm::\"lab/101\""), json!(true))
    );
    assert_eq!(
        (guests[1]["resource"].clone(), guests[1]["allowed"].clone()),
        (json!("Container::\"lab/ct/200\""), json!(false))
    );
    // A guest that does not exist is named too.
    let r = call(json!([100, 999])).await;
    assert!(r.is_error && r.text.contains("guest 999"), "{}", r.text);
    // The default bundle: shutdown is destructive, confirmed it runs.
    let sd = e
        .err(
            "bob",
            "pve_bulk_shutdown_guests",
            json!({"vms": [100, 101]}),
        )
        .await;
    assert!(sd.contains("needs confirmation"), "{sd}");
    e.ok(
        "pve_bulk_shutdown_guests",
        json!({"vms": [100, 101], "force_stop": false, "confirm": true}),
    )
    .await;
    e.ok(
        "pve_bulk_migrate_guests",
        json!({"vms": [100], "target": "pve2", "with_local_disks": true}),
    )
    .await;
    e.ok(
        "pve_bulk_suspend_guests",
        json!({"vms": [102], "to_disk": false}),
    )
    .await;
    let bad = e
        .err("carol", "pve_bulk_start_guests", json!({"vms": []}))
        .await;
    assert!(bad.contains("`vms`"), "{bad}");
}
