//! VergeOS tools: the 29 tools of the VergeOS MCP server
//! (dvvincent/vergeos-mcp-server), with its argument names and meaning,
//! each with its tier, destructive rule and target.

use crate::catalog::{BackendKind, Decl, DestructiveIf, Head, Operation, Param, Tier, ToolDef, Ty};

/// What a VergeOS tool does; the client runs each one (see `client.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ListVms,
    GetVm,
    GetVmStatus,
    GetVmNics,
    GetVmDrives,
    PowerOn,
    PowerOff,
    ForceOff,
    Reset,
    ModifyVm,
    AddDrive,
    ResizeDrive,
    ListSnapshots,
    CreateSnapshot,
    DeleteSnapshot,
    RestoreSnapshot,
    ListNetworks,
    GetNetwork,
    NetworkAction,
    ListTenants,
    GetTenant,
    TenantAction,
    ListNodes,
    GetNodeStats,
    ClusterStatus,
    ClusterStats,
    ListVolumes,
    GetLogs,
    GetAlarms,
}

/// The object a VergeOS call acts on, and the argument that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Endpoint,
    /// A VM named by this argument (`add_drive` may name its machine).
    Vm(&'static str),
    Drive,
    Snapshot,
    Network,
    Tenant,
    Node,
}

impl Target {
    pub fn entity_type(self) -> &'static str {
        match self {
            Target::Endpoint => "Endpoint",
            Target::Vm(_) => "VergeVm",
            Target::Drive => "VergeDrive",
            Target::Snapshot => "VergeSnapshot",
            Target::Network => "VergeNetwork",
            Target::Tenant => "VergeTenant",
            Target::Node => "VergeNode",
        }
    }
}

#[derive(Debug)]
pub struct VergeCall {
    pub op: Op,
    pub target: Target,
}

impl Operation for VergeCall {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The call of a VergeOS tool.
pub fn verge_call(tool: &ToolDef) -> Option<&VergeCall> {
    tool.operation::<VergeCall>()
}

/// A VergeOS row key (`$key`).
pub const KEY: Ty = Ty::Int {
    min: 1,
    max: i32::MAX as i64,
};
const NAME: Ty = Ty::Name {
    max_len: 128,
    what: "a name",
};
const TEXT: Ty = Ty::Text { max_len: 2048 };

const VM_ID: Param = Param::required("id", KEY, "VM ID");
const SNAP_VM_ID: Param = Param::required("vm_id", KEY, "VM ID");
const ID: Param = Param::required("id", KEY, "ID");

/// `power_off_vm` forces after its wait when `force_after_timeout` is set.
pub const FORCE_AFTER_TIMEOUT: &[DestructiveIf] = &[DestructiveIf {
    param: "force_after_timeout",
    values: &["true"],
}];
/// `modify_vm` shuts a running VM down when `shutdown_if_running` is set
/// (forcing it after the wait unless told not to).
pub const SHUTDOWN_IF_RUNNING: &[DestructiveIf] = &[DestructiveIf {
    param: "shutdown_if_running",
    values: &["true"],
}];
/// Powering off or resetting a network or a whole tenant.
pub const POWEROFF_OR_RESET: &[DestructiveIf] = &[DestructiveIf {
    param: "action",
    values: &["poweroff", "reset"],
}];

/// The wire names of `network_action`'s actions: the peer's `apply` is
/// VergeOS's `refresh` (apply firewall rules), as the official SDK sends it.
pub const NETWORK_ACTIONS: &[&str] = &["poweron", "poweroff", "reset", "apply"];
pub const TENANT_ACTIONS: &[&str] = &["poweron", "poweroff", "reset"];
pub const LOG_LEVELS: &[&str] = &[
    "audit", "message", "warning", "error", "critical", "summary", "debug",
];
pub const LOG_OBJECT_TYPES: &[&str] = &[
    "vm", "vnet", "tenant", "node", "cluster", "user", "system", "task",
];
pub const DRIVE_INTERFACES: &[&str] = &["virtio-scsi", "virtio", "ide", "ahci"];

/// The longest graceful shutdown a call waits for, as the peer caps it.
pub const MAX_WAIT_SECONDS: i64 = 300;

struct Spec {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    tier: Tier,
    op: Op,
    target: Target,
}

fn decl(s: Spec) -> Decl {
    Decl::new(
        Head {
            name: s.name,
            title: s.title,
            description: s.description,
            backend: BackendKind::Vergeos,
            category: s.category,
            tier: s.tier,
            target: s.target.entity_type(),
        },
        VergeCall {
            op: s.op,
            target: s.target,
        },
    )
}

/// A read-only tool of the endpoint itself.
fn endpoint_read(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    op: Op,
) -> Decl {
    decl(Spec {
        name,
        title,
        description,
        category,
        tier: Tier::Read,
        op,
        target: Target::Endpoint,
    })
}

/// A tool on one VM named by `id`.
fn vm_tool(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    tier: Tier,
    op: Op,
) -> Decl {
    decl(Spec {
        name,
        title,
        description,
        category: "vm",
        tier,
        op,
        target: Target::Vm("id"),
    })
    .params(&[VM_ID])
}

pub fn tools() -> Vec<ToolDef> {
    vec![
        endpoint_read(
            "vergeos_list_vms",
            "List VMs",
            "List all virtual machines in VergeOS. Can filter by running status or name.",
            "vm",
            Op::ListVms,
        )
        .params(&[
            Param::optional("running", Ty::Bool, "Filter to only running VMs"),
            Param::optional("name", TEXT, "Filter by VM name (case-insensitive substring)"),
        ])
        .resource("vms/list")
        .0,
        vm_tool(
            "vergeos_get_vm",
            "Get VM",
            "Get detailed information about a specific VM by ID",
            Tier::Read,
            Op::GetVm,
        )
        .0,
        vm_tool(
            "vergeos_get_vm_status",
            "Get VM status",
            "Get the current status of a VM",
            Tier::Read,
            Op::GetVmStatus,
        )
        .0,
        vm_tool(
            "vergeos_get_vm_nics",
            "Get VM NICs",
            "Get network interfaces for a VM",
            Tier::Read,
            Op::GetVmNics,
        )
        .0,
        vm_tool(
            "vergeos_get_vm_drives",
            "Get VM drives",
            "Get disk drives for a VM",
            Tier::Read,
            Op::GetVmDrives,
        )
        .0,
        vm_tool(
            "vergeos_power_on_vm",
            "Power on VM",
            "Power on a virtual machine",
            Tier::Operate,
            Op::PowerOn,
        )
        .0,
        vm_tool(
            "vergeos_power_off_vm",
            "Power off VM",
            "Power off a virtual machine (graceful shutdown). Use wait_timeout to wait for completion, and force_after_timeout to auto-force if graceful shutdown fails (which makes the call destructive).",
            Tier::Operate,
            Op::PowerOff,
        )
        .params(&[
            VM_ID,
            Param::optional(
                "wait_timeout",
                Ty::Int { min: 0, max: MAX_WAIT_SECONDS },
                "Seconds to wait for graceful shutdown (0 = don't wait, max 300). Recommended: 60-120 for most VMs.",
            ),
            Param::optional(
                "force_after_timeout",
                Ty::Bool,
                "If true, force power off after wait_timeout expires (destructive: needs confirmation).",
            ),
        ])
        .destructive_if(FORCE_AFTER_TIMEOUT)
        .0,
        vm_tool(
            "vergeos_force_off_vm",
            "Force off VM",
            "Force power off a VM (hard shutdown - use when graceful shutdown fails)",
            Tier::Operate,
            Op::ForceOff,
        )
        .destructive()
        .0,
        vm_tool(
            "vergeos_reset_vm",
            "Reset VM",
            "Reset/reboot a virtual machine",
            Tier::Operate,
            Op::Reset,
        )
        .destructive()
        .0,
        vm_tool(
            "vergeos_modify_vm",
            "Modify VM CPU/RAM",
            "Modify VM CPU cores and/or RAM. If VM is running, set shutdown_if_running=true to auto-shutdown (destructive: needs confirmation), apply changes, then you can restart.",
            Tier::Change,
            Op::ModifyVm,
        )
        .params(&[
            VM_ID,
            Param::optional("cpu_cores", Ty::Int { min: 1, max: 1024 }, "New number of CPU cores"),
            Param::optional("ram_mb", Ty::Int { min: 256, max: 16 << 20 }, "New RAM in MB (e.g., 4096 for 4GB)"),
            Param::optional("shutdown_if_running", Ty::Bool, "If true and VM is running, shut it down first to apply changes"),
            Param::optional("wait_timeout", Ty::Int { min: 0, max: MAX_WAIT_SECONDS }, "Seconds to wait for shutdown (default: 60)"),
            Param::optional("force_after_timeout", Ty::Bool, "Force shutdown if graceful fails (default: true)"),
        ])
        .destructive_if(SHUTDOWN_IF_RUNNING)
        .0,
        decl(Spec {
            name: "vergeos_add_drive",
            title: "Add drive",
            description: "Add a new disk drive to a VM. Name the VM by vm_id, or by machine_id (from the VM's 'machine' field) as the VergeOS MCP server did; exactly one of them.",
            category: "storage",
            tier: Tier::Change,
            op: Op::AddDrive,
            target: Target::Vm("vm_id"),
        })
        .params(&[
            Param::optional("machine_id", KEY, "Machine ID (from VM's 'machine' field)"),
            Param::optional("vm_id", KEY, "VM ID (instead of machine_id)"),
            Param::required("name", NAME, "Drive name (e.g., 'data-disk')"),
            Param::required("size_gb", Ty::Int { min: 1, max: 1 << 20 }, "Size in GB"),
            Param::optional("interface_type", Ty::Enum(DRIVE_INTERFACES), "Interface type (default: virtio-scsi)"),
            Param::optional("description", TEXT, "Optional description"),
        ])
        .0,
        decl(Spec {
            name: "vergeos_resize_drive",
            title: "Resize drive",
            description: "Resize a VM disk drive (increase only). Get drive IDs from get_vm_drives first.",
            category: "storage",
            tier: Tier::Change,
            op: Op::ResizeDrive,
            target: Target::Drive,
        })
        .params(&[
            Param::required("drive_id", KEY, "Drive ID (from get_vm_drives)"),
            Param::required("new_size_gb", Ty::Int { min: 1, max: 1 << 20 }, "New size in GB (must be larger than current size)"),
        ])
        .0,
        decl(Spec {
            name: "vergeos_list_vm_snapshots",
            title: "List VM snapshots",
            description: "List snapshots for a VM",
            category: "snapshot",
            tier: Tier::Read,
            op: Op::ListSnapshots,
            target: Target::Vm("vm_id"),
        })
        .params(&[SNAP_VM_ID])
        .0,
        decl(Spec {
            name: "vergeos_create_vm_snapshot",
            title: "Create VM snapshot",
            description: "Create a snapshot of a VM",
            category: "snapshot",
            tier: Tier::Operate,
            op: Op::CreateSnapshot,
            target: Target::Vm("vm_id"),
        })
        .params(&[
            SNAP_VM_ID,
            Param::required("name", NAME, "Snapshot name"),
            Param::optional("description", TEXT, "Optional description"),
            Param::optional("expires_days", Ty::Int { min: 0, max: 3650 }, "Days until expiration (0 for never, default 7)"),
            Param::optional("quiesce", Ty::Bool, "Quiesce VM before snapshot (requires guest agent)"),
        ])
        .0,
        decl(Spec {
            name: "vergeos_delete_vm_snapshot",
            title: "Delete VM snapshot",
            description: "Delete a VM snapshot",
            category: "snapshot",
            tier: Tier::Operate,
            op: Op::DeleteSnapshot,
            target: Target::Snapshot,
        })
        .params(&[Param::required("snapshot_id", KEY, "Snapshot ID")])
        .destructive()
        .0,
        decl(Spec {
            name: "vergeos_restore_vm_snapshot",
            title: "Restore VM snapshot",
            description: "Restore a VM from one of its own snapshots",
            category: "snapshot",
            tier: Tier::Operate,
            op: Op::RestoreSnapshot,
            target: Target::Vm("vm_id"),
        })
        .params(&[
            SNAP_VM_ID,
            Param::required("snapshot_id", KEY, "Snapshot ID to restore"),
        ])
        .destructive()
        .0,
        endpoint_read(
            "vergeos_list_networks",
            "List networks",
            "List virtual networks (summary view). Use get_network for full details.",
            "network",
            Op::ListNetworks,
        )
        .params(&[
            Param::optional("type", TEXT, "Filter by network type (e.g., 'internal', 'external', 'core', 'dmz')"),
            Param::optional("name", TEXT, "Filter by name (partial match)"),
            Param::optional("enabled", Ty::Bool, "Filter by enabled status"),
            Param::optional("limit", Ty::Int { min: 1, max: 1000 }, "Max results (default 100)"),
            Param::optional("offset", Ty::Int { min: 0, max: 1 << 30 }, "Skip first N results (for pagination)"),
        ])
        .resource("networks/list")
        .0,
        decl(Spec {
            name: "vergeos_get_network",
            title: "Get network",
            description: "Get network details",
            category: "network",
            tier: Tier::Read,
            op: Op::GetNetwork,
            target: Target::Network,
        })
        .params(&[Param::required("id", KEY, "Network ID")])
        .0,
        decl(Spec {
            name: "vergeos_network_action",
            title: "Network action",
            description: "Perform network action (poweron, poweroff, reset, apply). poweroff and reset cut every VM on the network off.",
            category: "network",
            tier: Tier::Change,
            op: Op::NetworkAction,
            target: Target::Network,
        })
        .params(&[
            Param::required("id", KEY, "Network ID"),
            Param::required("action", Ty::Enum(NETWORK_ACTIONS), "Action to perform"),
        ])
        .destructive_if(POWEROFF_OR_RESET)
        .0,
        endpoint_read("vergeos_list_tenants", "List tenants", "List all tenants", "tenant", Op::ListTenants).0,
        decl(Spec {
            name: "vergeos_get_tenant",
            title: "Get tenant",
            description: "Get tenant details",
            category: "tenant",
            tier: Tier::Read,
            op: Op::GetTenant,
            target: Target::Tenant,
        })
        .params(&[ID])
        .0,
        decl(Spec {
            name: "vergeos_tenant_action",
            title: "Tenant action",
            description: "Perform tenant action: power a whole tenant on, off or reset it (every VM in it).",
            category: "tenant",
            tier: Tier::Admin,
            op: Op::TenantAction,
            target: Target::Tenant,
        })
        .params(&[
            Param::required("id", KEY, "Tenant ID"),
            Param::required("action", Ty::Enum(TENANT_ACTIONS), "Action to perform"),
        ])
        .destructive_if(POWEROFF_OR_RESET)
        .0,
        endpoint_read("vergeos_list_nodes", "List nodes", "List cluster nodes", "cluster", Op::ListNodes).0,
        decl(Spec {
            name: "vergeos_get_node_stats",
            title: "Get node statistics",
            description: "Get node statistics",
            category: "cluster",
            tier: Tier::Read,
            op: Op::GetNodeStats,
            target: Target::Node,
        })
        .params(&[Param::required("id", KEY, "Node ID")])
        .0,
        endpoint_read("vergeos_get_cluster_status", "Cluster status", "Get cluster status", "cluster", Op::ClusterStatus)
            .resource("cluster/status")
            .0,
        endpoint_read("vergeos_get_cluster_stats", "Cluster tier stats", "Get cluster tier stats", "cluster", Op::ClusterStats).0,
        endpoint_read("vergeos_list_volumes", "List volumes", "List storage volumes", "storage", Op::ListVolumes).0,
        endpoint_read(
            "vergeos_get_logs",
            "Get logs",
            "Get system logs with optional filtering",
            "monitoring",
            Op::GetLogs,
        )
        .params(&[
            Param::optional("limit", Ty::Int { min: 1, max: 500 }, "Number of logs (default 50)"),
            Param::optional("level", Ty::Enum(LOG_LEVELS), "Filter by log level"),
            Param::optional("object_type", Ty::Enum(LOG_OBJECT_TYPES), "Filter by object type"),
        ])
        .0,
        endpoint_read("vergeos_get_alarms", "Get alarms", "Get active alarms", "monitoring", Op::GetAlarms)
            .resource("alarms/active")
            .0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peers_29_tools_are_all_here() {
        let names: Vec<&str> = tools().iter().map(|t| t.name).collect();
        assert_eq!(names.len(), 29);
        for peer in [
            "list_vms",
            "get_vm",
            "get_vm_status",
            "get_vm_nics",
            "get_vm_drives",
            "power_on_vm",
            "power_off_vm",
            "force_off_vm",
            "reset_vm",
            "modify_vm",
            "add_drive",
            "resize_drive",
            "list_vm_snapshots",
            "create_vm_snapshot",
            "delete_vm_snapshot",
            "restore_vm_snapshot",
            "list_networks",
            "get_network",
            "network_action",
            "list_tenants",
            "get_tenant",
            "tenant_action",
            "list_nodes",
            "get_node_stats",
            "get_cluster_status",
            "get_cluster_stats",
            "list_volumes",
            "get_logs",
            "get_alarms",
        ] {
            assert!(
                names.contains(&format!("vergeos_{peer}").as_str()),
                "{peer}"
            );
        }
    }

    #[test]
    fn conditions_name_declared_parameters_and_values_they_can_take() {
        for t in tools() {
            for c in t.destructive_if {
                let p = t.params.iter().find(|p| p.name == c.param);
                let p = p.unwrap_or_else(|| panic!("{}: {} is not a parameter", t.name, c.param));
                for v in c.values {
                    let ok = match p.ty {
                        Ty::Bool => ["true", "false"].contains(v),
                        Ty::Enum(values) => values.contains(v),
                        _ => false,
                    };
                    assert!(ok, "{}: {} can never be {v}", t.name, c.param);
                }
            }
        }
    }

    #[test]
    fn tenant_actions_are_admin_and_every_vm_tool_names_its_vm() {
        for t in tools() {
            let call = verge_call(&t).unwrap();
            if call.op == Op::TenantAction {
                assert_eq!(t.tier, Tier::Admin);
            }
            if let Target::Vm(arg) = call.target {
                assert!(t.params.iter().any(|p| p.name == arg), "{}", t.name);
            }
        }
    }
}
