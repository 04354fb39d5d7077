//! The simulated system's tables: their columns (what a `fields` or
//! `filter` may name) and first rows. Two nodes, five VMs (one of them a
//! snapshot's VM, one that ignores ACPI shutdown), two tenants with their
//! networks, drives, NICs, snapshots, volumes, logs and alarms.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::query::Row;

pub fn columns(table: &str) -> Option<&'static [&'static str]> {
    Some(match table {
        "system" => &["yb_version", "os_version", "cloud_name"],
        "vms" => &[
            "name",
            "description",
            "enabled",
            "cpu_cores",
            "ram",
            "os_family",
            "guest_agent",
            "uefi",
            "secure_boot",
            "machine_type",
            "created",
            "modified",
            "is_snapshot",
            "machine",
            "cloudinit_datasource",
            "tenant",
        ],
        "machines" => &[
            "name", "type", "owner", "cluster", "ha_group", "status", "stats",
        ],
        "machine_status" => &[
            "machine",
            "running",
            "migratable",
            "status",
            "status_info",
            "state",
            "powerstate",
            "node",
            "migrated_node",
            "migration_destination",
            "started",
            "local_time",
            "last_update",
            "running_cores",
            "running_ram",
            "agent_version",
            "agent_features",
            "agent_guest_info",
        ],
        "machine_stats" => &[
            "machine",
            "total_cpu",
            "user_cpu",
            "system_cpu",
            "iowait_cpu",
            "vmusage_cpu",
            "irq_cpu",
            "ram_used",
            "ram_pct",
            "vram_used",
            "core_usagelist",
            "core_temp",
            "core_temp_top",
            "core_peak",
            "core_count_gt_25",
            "core_count_gt_50",
            "core_count_gt_75",
            "modified",
            "timestamp",
        ],
        "machine_drives" => &[
            "name",
            "orderid",
            "interface",
            "media",
            "description",
            "enabled",
            "serial",
            "preferred_tier",
            "readonly",
            "ms_2023_kek_applied",
            "disksize",
            "used_bytes",
            "media_source",
            "machine",
            "status",
        ],
        "machine_nics" => &[
            "name",
            "orderid",
            "interface",
            "description",
            "enabled",
            "macaddress",
            "ipaddress",
            "vnet",
            "machine",
            "status",
            "stats",
        ],
        "machine_snapshots" => &[
            "name",
            "description",
            "created",
            "expires",
            "expires_type",
            "quiesced",
            "created_manually",
            "machine",
            "snap_machine",
            "snapshot_period",
            "size",
        ],
        "vnets" => &[
            "name",
            "description",
            "enabled",
            "type",
            "layer2_type",
            "layer2_id",
            "network",
            "ipaddress",
            "gateway",
            "mtu",
            "dhcp_enabled",
            "dhcp_start",
            "dhcp_stop",
            "dns",
            "domain",
            "need_fw_apply",
            "need_dns_apply",
            "need_proxy_apply",
            "need_restart",
            "on_power_loss",
            "interface_vnet",
            "proxy_enabled",
            "machine",
        ],
        "tenants" => &[
            "name",
            "description",
            "url",
            "uuid",
            "created",
            "creator",
            "is_snapshot",
            "isolate",
            "note",
            "expose_cloud_snapshots",
            "allow_branding",
            "status",
            "vnet",
            "ui_address",
        ],
        "nodes" => &[
            "name",
            "description",
            "model",
            "cpu",
            "cpu_speed",
            "ram",
            "vm_ram",
            "overcommit",
            "failover_ram",
            "cores",
            "physical",
            "maintenance",
            "iommu",
            "need_restart",
            "restart_reason",
            "asset_tag",
            "ipmi_address",
            "ipmi_status",
            "vsan_nodeid",
            "vsan_connected",
            "yb_version",
            "os_version",
            "kernel_version",
            "appserver_version",
            "vsan_version",
            "qemu_version",
            "cluster",
            "machine",
        ],
        "clusters" => &[
            "name",
            "description",
            "enabled",
            "storage",
            "compute",
            "default_cpu",
            "recommended_cpu_type",
            "kvm_nested",
            "ram_per_unit",
            "cores_per_unit",
            "max_ram_per_vm",
            "max_cores_per_vm",
            "target_ram_pct",
            "ram_overcommit_pct",
            "created",
            "status",
            "tiers",
        ],
        "cluster_status" => &[
            "cluster",
            "status",
            "status_info",
            "state",
            "total_nodes",
            "online_nodes",
            "total_ram",
            "online_ram",
            "used_ram",
            "phys_ram_used",
            "phys_vram_used",
            "total_cores",
            "online_cores",
            "used_cores",
            "phys_total_cpu",
            "running_machines",
            "last_update",
        ],
        "cluster_tier_stats" => &[
            "tier",
            "cluster",
            "rops",
            "wops",
            "rbps",
            "wbps",
            "reads",
            "writes",
            "read_bytes",
            "write_bytes",
            "timestamp",
        ],
        "volumes" => &[
            "id",
            "name",
            "description",
            "enabled",
            "created",
            "modified",
            "maxsize",
            "preferred_tier",
            "fs_type",
            "read_only",
            "discard",
            "owner_user",
            "owner_group",
            "encrypt",
            "automount_snapshots",
            "is_snapshot",
            "note",
            "creator",
            "service",
            "snapshot_profile",
            "drive",
            "status",
        ],
        "logs" => &[
            "level",
            "text",
            "timestamp",
            "user",
            "object_type",
            "object_name",
        ],
        "alarms" => &[
            "owner",
            "owner_type",
            "sub_owner",
            "alarm_type",
            "level",
            "status",
            "alarm_id",
            "resolvable",
            "resolve_text",
            "created",
            "modified",
            "snooze",
            "snoozed_by",
        ],
        _ => return None,
    })
}

const GIB: i64 = 1 << 30;

fn rows(v: Value) -> Vec<Row> {
    match v {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|r| r.as_object().cloned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Machine keys of the seed VMs: web-01, db-01, acme-app, legacy-01, and
/// web-01's snapshot VM.
pub const WEB: (i64, i64) = (1, 10);
pub const DB: (i64, i64) = (2, 11);
pub const ACME_APP: (i64, i64) = (3, 12);
pub const LEGACY: (i64, i64) = (4, 13);
/// Ignores ACPI: a graceful power-off never completes.
pub const STUBBORN_MACHINES: [i64; 1] = [LEGACY.1];

pub fn tables(now: i64) -> BTreeMap<&'static str, Vec<Row>> {
    let vm = |key: i64,
              name: &str,
              machine: i64,
              cores: i64,
              ram: i64,
              tenant: Value,
              snapshot: bool| {
        json!({"$key": key, "name": name, "description": format!("{name} (lab)"), "enabled": true,
            "cpu_cores": cores, "ram": ram, "os_family": "linux", "guest_agent": true, "uefi": false,
            "secure_boot": false, "machine_type": "pc-q35-10.0", "created": now - 86_400,
            "modified": now - 3_600, "is_snapshot": snapshot, "machine": machine,
            "cloudinit_datasource": "none", "tenant": tenant})
    };
    let status = |machine: i64, running: bool, node: i64| {
        json!({"$key": machine, "machine": machine, "running": running, "migratable": true,
            "status": if running { "running" } else { "stopped" }, "status_info": "",
            "state": if running { "online" } else { "offline" }, "node": node,
            "started": if running { now - 7_200 } else { 0 }, "last_update": now,
            "running_cores": 0, "running_ram": 0, "agent_version": "", "agent_features": {},
            "agent_guest_info": {}})
    };
    let mut t = BTreeMap::new();
    t.insert("system", rows(json!([{"$key": 1, "yb_version": "4.13.1", "os_version": "26.1.2", "cloud_name": "portcullis-lab"}])));
    t.insert(
        "clusters",
        rows(
            json!([{"$key": 1, "name": "cluster1", "description": "", "enabled": true,
        "storage": true, "compute": true, "created": now - 864_000,
        "status": {"status": "online", "state": "online", "total_nodes": 2, "online_nodes": 2,
            "total_ram": 262_144, "online_ram": 262_144, "used_ram": 24_576, "total_cores": 64,
            "online_cores": 64, "used_cores": 12, "running_machines": 5}}]),
        ),
    );
    t.insert(
        "cluster_status",
        rows(
            json!([{"$key": 1, "cluster": 1, "status": "online", "status_info": "",
        "state": "online", "total_nodes": 2, "online_nodes": 2, "total_ram": 262_144,
        "online_ram": 262_144, "used_ram": 24_576, "total_cores": 64, "online_cores": 64,
        "used_cores": 12, "running_machines": 5, "last_update": now}]),
        ),
    );
    t.insert("cluster_tier_stats", rows(json!([
        {"$key": 1, "tier": 1, "cluster": 1, "rops": 1200, "wops": 800, "rbps": 52_428_800, "wbps": 31_457_280, "timestamp": now},
        {"$key": 3, "tier": 3, "cluster": 1, "rops": 150, "wops": 90, "rbps": 4_194_304, "wbps": 2_097_152, "timestamp": now},
    ])));
    t.insert("nodes", rows(json!([
        {"$key": 1, "name": "node1", "model": "lab", "cores": 32, "ram": 131_072, "physical": true,
         "maintenance": false, "cluster": 1, "machine": 101, "yb_version": "4.13.1", "os_version": "26.1.2"},
        {"$key": 2, "name": "node2", "model": "lab", "cores": 32, "ram": 131_072, "physical": true,
         "maintenance": false, "cluster": 1, "machine": 102, "yb_version": "4.13.1", "os_version": "26.1.2"},
    ])));
    t.insert(
        "vms",
        rows(json!([
            vm(WEB.0, "web-01", WEB.1, 2, 4096, Value::Null, false),
            vm(DB.0, "db-01", DB.1, 4, 16_384, Value::Null, false),
            vm(ACME_APP.0, "acme-app", ACME_APP.1, 2, 2048, json!(1), false),
            vm(LEGACY.0, "legacy-01", LEGACY.1, 1, 1024, Value::Null, false),
            vm(5, "web-01 snapshot", 20, 2, 4096, Value::Null, true),
        ])),
    );
    let machines: Vec<Value> = [
        (WEB.1, "web-01", "vms/1"), (DB.1, "db-01", "vms/2"), (ACME_APP.1, "acme-app", "vms/3"),
        (LEGACY.1, "legacy-01", "vms/4"), (20, "web-01 snapshot", "vms/5"),
        (101, "node1", "nodes/1"), (102, "node2", "nodes/2"), (50, "External", "vnets/1"),
        (51, "Internal", "vnets/2"), (52, "acme-net", "vnets/3"), (53, "globex-net", "vnets/4"),
    ]
    .iter()
    .map(|(k, name, owner)| json!({"$key": k, "name": name, "owner": owner, "cluster": 1, "ha_group": null}))
    .collect();
    t.insert("machines", rows(Value::Array(machines)));
    t.insert(
        "machine_status",
        rows(json!([
            status(WEB.1, true, 1),
            status(DB.1, true, 2),
            status(ACME_APP.1, false, 1),
            status(LEGACY.1, true, 2),
            status(20, false, 1),
            status(101, true, 1),
            status(102, true, 2),
            status(50, true, 1),
            status(51, true, 1),
            status(52, true, 2),
            status(53, false, 2),
        ])),
    );
    t.insert("machine_stats", rows(json!([
        {"$key": 1, "machine": 101, "total_cpu": 18, "ram_used": 20_480, "ram_pct": 15, "vram_used": 16_384, "core_temp": 48, "modified": now},
        {"$key": 2, "machine": 102, "total_cpu": 9, "ram_used": 8192, "ram_pct": 6, "vram_used": 4096, "core_temp": 44, "modified": now},
        {"$key": 3, "machine": WEB.1, "total_cpu": 4, "ram_used": 2048, "ram_pct": 50, "modified": now},
    ])));
    t.insert("machine_drives", rows(json!([
        {"$key": 1, "name": "web-01-os", "orderid": 0, "interface": "virtio-scsi", "media": "disk", "description": "", "enabled": true, "disksize": 40 * GIB, "used_bytes": 12 * GIB, "machine": WEB.1, "readonly": false, "ms_2023_kek_applied": false, "status": {"status": "online"}},
        {"$key": 2, "name": "web-01-data", "orderid": 1, "interface": "virtio-scsi", "media": "disk", "description": "", "enabled": true, "disksize": 100 * GIB, "used_bytes": 30 * GIB, "machine": WEB.1, "readonly": false, "ms_2023_kek_applied": false, "status": {"status": "online"}},
        {"$key": 3, "name": "db-01-os", "orderid": 0, "interface": "virtio-scsi", "media": "disk", "description": "", "enabled": true, "disksize": 60 * GIB, "used_bytes": 20 * GIB, "machine": DB.1, "readonly": false, "ms_2023_kek_applied": false, "status": {"status": "online"}},
        {"$key": 4, "name": "acme-app-os", "orderid": 0, "interface": "virtio", "media": "disk", "description": "", "enabled": true, "disksize": 20 * GIB, "used_bytes": 5 * GIB, "machine": ACME_APP.1, "readonly": false, "ms_2023_kek_applied": false, "status": {"status": "offline"}},
        {"$key": 5, "name": "legacy-01-os", "orderid": 0, "interface": "ide", "media": "disk", "description": "", "enabled": true, "disksize": 16 * GIB, "used_bytes": 8 * GIB, "machine": LEGACY.1, "readonly": false, "ms_2023_kek_applied": false, "status": {"status": "online"}},
    ])));
    t.insert("machine_nics", rows(json!([
        {"$key": 1, "name": "nic0", "orderid": 0, "interface": "virtio", "enabled": true, "macaddress": "52:54:00:00:01:01", "ipaddress": "10.0.0.11", "vnet": 2, "machine": WEB.1, "status": {"status": "up", "speed": 10000}, "stats": {"rxbps": 1000, "txbps": 2000, "rx_bytes": 10, "tx_bytes": 20}},
        {"$key": 2, "name": "nic1", "orderid": 1, "interface": "virtio", "enabled": true, "macaddress": "52:54:00:00:01:02", "ipaddress": "192.0.2.11", "vnet": 1, "machine": WEB.1, "status": {"status": "up", "speed": 10000}, "stats": {}},
        {"$key": 3, "name": "nic0", "orderid": 0, "interface": "virtio", "enabled": true, "macaddress": "52:54:00:00:02:01", "ipaddress": "10.0.0.12", "vnet": 2, "machine": DB.1, "status": {"status": "up", "speed": 10000}, "stats": {}},
        {"$key": 4, "name": "nic0", "orderid": 0, "interface": "e1000", "enabled": true, "macaddress": "52:54:00:00:03:01", "ipaddress": "10.3.0.5", "vnet": 3, "machine": ACME_APP.1, "status": {"status": "down"}, "stats": {}},
    ])));
    t.insert("machine_snapshots", rows(json!([
        {"$key": 1, "name": "pre-patch", "description": "before patching", "created": now - 40_000, "expires": 0, "expires_type": "never", "quiesced": false, "created_manually": true, "machine": WEB.1, "snap_machine": 20, "size": 3 * GIB},
        {"$key": 2, "name": "nightly", "description": "", "created": now - 20_000, "expires": now + 500_000, "expires_type": "date", "quiesced": true, "created_manually": false, "machine": DB.1, "snap_machine": 21, "size": 5 * GIB},
    ])));
    t.insert("vnets", rows(json!([
        {"$key": 1, "name": "External", "description": "uplink", "enabled": true, "type": "external", "network": "192.0.2.0/24", "ipaddress": "192.0.2.1", "mtu": 1500, "dhcp_enabled": false, "machine": 50},
        {"$key": 2, "name": "Internal", "description": "", "enabled": true, "type": "internal", "network": "10.0.0.0/24", "ipaddress": "10.0.0.1", "mtu": 1500, "dhcp_enabled": true, "machine": 51},
        {"$key": 3, "name": "acme-net", "description": "tenant acme", "enabled": true, "type": "tenant", "network": "10.3.0.0/24", "ipaddress": "10.3.0.1", "mtu": 1500, "dhcp_enabled": true, "machine": 52},
        {"$key": 4, "name": "globex-net", "description": "tenant globex", "enabled": false, "type": "tenant", "network": "10.4.0.0/24", "ipaddress": "10.4.0.1", "mtu": 1500, "dhcp_enabled": true, "machine": 53},
    ])));
    t.insert("tenants", rows(json!([
        {"$key": 1, "name": "acme", "description": "Acme Corp", "url": "https://acme.lab", "uuid": "1b2c3d4e-0000-4000-8000-000000000001", "created": now - 500_000, "is_snapshot": false, "isolate": false, "vnet": 3, "status": {"running": true, "starting": false, "stopping": false, "migrating": false, "status": "running", "state": "online", "started": now - 90_000}},
        {"$key": 2, "name": "globex", "description": "Globex", "url": "https://globex.lab", "uuid": "1b2c3d4e-0000-4000-8000-000000000002", "created": now - 400_000, "is_snapshot": false, "isolate": false, "vnet": 4, "status": {"running": false, "starting": false, "stopping": false, "migrating": false, "status": "stopped", "state": "offline"}},
    ])));
    t.insert("volumes", rows(json!([
        {"$key": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "id": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "name": "shared", "description": "NAS share", "enabled": true, "maxsize": 500 * GIB, "fs_type": "ext4", "read_only": false, "is_snapshot": false, "created": now - 300_000},
        {"$key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0deadbeef", "id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0deadbeef", "name": "backups", "description": "", "enabled": false, "maxsize": 2000 * GIB, "fs_type": "ext4", "read_only": false, "is_snapshot": false, "created": now - 200_000},
    ])));
    let us = |s: i64| (now - s) * 1_000_000;
    t.insert("logs", rows(json!([
        {"$key": 1, "level": "message", "text": "VM web-01 started", "timestamp": us(7200), "user": "admin", "object_type": "vm", "object_name": "web-01"},
        {"$key": 2, "level": "warning", "text": "node2 RAM above 80%", "timestamp": us(3600), "user": "system", "object_type": "node", "object_name": "node2"},
        {"$key": 3, "level": "error", "text": "VM legacy-01 did not answer ACPI shutdown", "timestamp": us(1800), "user": "system", "object_type": "vm", "object_name": "legacy-01"},
        {"$key": 4, "level": "audit", "text": "user admin logged in", "timestamp": us(900), "user": "admin", "object_type": "user", "object_name": "admin"},
        {"$key": 5, "level": "critical", "text": "tenant globex stopped", "timestamp": us(600), "user": "admin", "object_type": "tenant", "object_name": "globex"},
        {"$key": 6, "level": "error", "text": "network globex-net down", "timestamp": us(300), "user": "system", "object_type": "vnet", "object_name": "globex-net"},
    ])));
    t.insert("alarms", rows(json!([
        {"$key": 1, "owner": "vms/4", "owner_type": "vms", "alarm_type": "guest_agent", "level": "warning", "status": "active", "alarm_id": "A-1", "resolvable": true, "resolve_text": "install the guest agent", "created": now - 1800, "modified": now - 1800, "snooze": 0},
        {"$key": 2, "owner": "nodes/2", "owner_type": "nodes", "alarm_type": "ram", "level": "critical", "status": "active", "alarm_id": "A-2", "resolvable": false, "created": now - 3600, "modified": now - 3600, "snooze": now + 86_400},
    ])));
    t
}
