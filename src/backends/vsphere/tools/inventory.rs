//! vSphere tools run by the `InventoryOp` family.

use super::*;

/// Listing and describing VMs.
pub(super) fn vms() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        // Virtual machines
        tool(Spec {
            name: "vsphere_list_vms",
            title: "List VMs",
            description: "List all virtual machines with power state, CPU, memory, host and guest OS; one round trip however many there are.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::ListVms),
        })
        .resource("vms"),
        tool(Spec {
            name: "vsphere_get_vm_info",
            title: "Get VM information",
            description: "Detailed information about one VM: hardware, power state, guest, host, folder, resource pool, datastores, snapshots.",
            category: "vm",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Inventory(InventoryOp::VmInfo),
        })
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_get_vm_details",
            title: "Get VM details",
            description: "Detailed information about one VM (vSphere-MCP-Pro's name for vsphere_get_vm_info).",
            category: "vm",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Inventory(InventoryOp::VmInfo),
        })
        .stands_for("vsphere_get_vm_info")
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_list_templates",
            title: "List templates",
            description: "List VM templates.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::ListTemplates),
        }),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}

/// The rest of the inventory: hosts, datastores, networks, datacenters, clusters, pools, folders; tasks and events.
pub(super) fn inventory() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        // Inventory
        tool(Spec {
            name: "vsphere_list_hosts",
            title: "List hosts",
            description: "List ESXi hosts with connection state, maintenance mode, CPU and memory.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::ListHosts),
        })
        .resource("hosts"),
        tool(Spec {
            name: "vsphere_get_host_info",
            title: "Get host information",
            description: "Configuration and state of one ESXi host.",
            category: "host",
            tier: Read,
            target: T::HostSystem,
            op: Op::Inventory(InventoryOp::HostInfo),
        })
        .params(&[HOST]),
        tool(Spec {
            name: "vsphere_list_datastores",
            title: "List datastores",
            description: "List datastores with type, capacity and free space.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::ListDatastores),
        })
        .resource("datastores"),
        tool(Spec {
            name: "vsphere_get_datastore_info",
            title: "Get datastore information",
            description: "Capacity, usage and the VMs of one datastore.",
            category: "datastore",
            tier: Read,
            target: T::Datastore,
            op: Op::Inventory(InventoryOp::DatastoreInfo),
        })
        .params(&[DATASTORE]),
        tool(Spec {
            name: "vsphere_get_datastore_usage",
            title: "Get datastore usage",
            description: "Capacity, free space and percentage used of every datastore.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::ListDatastores),
        }),
        tool(Spec {
            name: "vsphere_list_networks",
            title: "List networks",
            description: "List networks and port groups.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::ListNetworks),
        })
        .resource("networks"),
        tool(Spec {
            name: "vsphere_list_datacenters",
            title: "List datacenters",
            description: "List datacenters.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::ListDatacenters),
        }),
        tool(Spec {
            name: "vsphere_list_clusters",
            title: "List clusters",
            description: "List compute clusters with their hosts and resources.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::ListClusters),
        })
        .resource("clusters"),
        tool(Spec {
            name: "vsphere_list_resource_pools",
            title: "List resource pools",
            description: "List resource pools.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::ListResourcePools),
        })
        .resource("resource-pools"),
        tool(Spec {
            name: "vsphere_list_folders",
            title: "List folders",
            description: "List VM folders with their paths.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::ListFolders),
        }),
        tool(Spec {
            name: "vsphere_get_resource_utilization_summary",
            title: "Get resource utilization summary",
            description: "CPU, memory and storage used and available across hosts and datastores.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::ResourceSummary),
        }),
        tool(Spec {
            name: "vsphere_get_vcenter_info",
            title: "Get vCenter information",
            description: "vCenter product, version, build and API version.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::VcenterInfo),
        }),
        tool(Spec {
            name: "vsphere_list_recent_tasks",
            title: "List recent tasks",
            description: "Recent vCenter tasks with state and target.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::RecentTasks),
        })
        .params(&[LIMIT]),
        tool(Spec {
            name: "vsphere_get_recent_events",
            title: "Get recent events",
            description: "Recent vCenter events.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::RecentEvents),
        })
        .params(&[LIMIT]),
        tool(Spec {
            name: "vsphere_list_recent_events",
            title: "List recent events",
            description:
                "Recent vCenter events (mcvsphere's other name for vsphere_get_recent_events).",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Inventory(InventoryOp::RecentEvents),
        })
        .params(&[LIMIT]),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}
