//! vSphere tools run by the `MonitoringOp` family.

use super::*;

/// Every tool of the family.
pub(super) fn tools() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        // Monitoring
        tool(Spec {
            name: "vsphere_get_vm_tools_status",
            title: "Get VMware Tools status",
            description: "Whether VMware Tools is installed, running and current in a VM.",
            category: "monitoring",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Monitoring(MonitoringOp::ToolsStatus),
        })
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_wait_for_vm_tools",
            title: "Wait for VMware Tools",
            description:
                "Wait until VMware Tools runs in a VM (or wait_seconds pass; default 120).",
            category: "monitoring",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Monitoring(MonitoringOp::WaitForTools),
        })
        .params(&[VM, WAIT_SECONDS]),
        tool(Spec {
            name: "vsphere_get_vm_stats",
            title: "Get VM statistics",
            description:
                "A VM's current CPU, memory, storage and uptime figures (quick statistics).",
            category: "monitoring",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Monitoring(MonitoringOp::VmStats),
        })
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_get_host_stats",
            title: "Get host statistics",
            description: "An ESXi host's current CPU and memory use (quick statistics).",
            category: "monitoring",
            tier: Read,
            target: T::HostSystem,
            op: Op::Monitoring(MonitoringOp::HostStats),
        })
        .params(&[HOST]),
        tool(Spec {
            name: "vsphere_get_alarms",
            title: "Get alarms",
            description: "Triggered alarms across the inventory.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Monitoring(MonitoringOp::Alarms),
        }),
        tool(Spec {
            name: "vsphere_get_cluster_info",
            title: "Get cluster information",
            description: "One cluster: hosts, resources, DRS and HA settings.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Monitoring(MonitoringOp::ClusterInfo),
        })
        .params(&[CLUSTER]),
        tool(Spec {
            name: "vsphere_get_drs_recommendations",
            title: "Get DRS recommendations",
            description:
                "The migrations DRS currently recommends for a cluster, with their reasons.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Monitoring(MonitoringOp::DrsRecommendations),
        })
        .params(&[CLUSTER]),
        tool(Spec {
            name: "vsphere_get_resource_pool_info",
            title: "Get resource pool information",
            description: "One resource pool: allocations, VMs and child pools.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Monitoring(MonitoringOp::ResourcePoolInfo),
        })
        .params(&[POOL]),
        tool(Spec {
            name: "vsphere_get_network_info",
            title: "Get network information",
            description: "One network (port group): accessibility, hosts and VMs.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Monitoring(MonitoringOp::NetworkInfo),
        })
        .params(&[NETWORK]),
        tool(Spec {
            name: "vsphere_browse_datastore",
            title: "Browse datastore",
            description: "List the files in a datastore folder.",
            category: "datastore",
            tier: Read,
            target: T::Datastore,
            op: Op::Monitoring(MonitoringOp::BrowseDatastore),
        })
        .params(&[DATASTORE, DS_PATH]),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}
