//! vSphere tools over the vim25 SOAP API: vSphere-MCP-Pro's tools and
//! mcvsphere's, with the seeds' verbs. Where the two seeds name the same
//! operation differently, both names are offered (each users' tools keep
//! working) and map to one operation.

use super::{BackendKind, Call, Decl, Param, Target, Tier, ToolDef, Ty, VimCall};

/// What the vSphere backend does for a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VimOp {
    ListVms,
    VmInfo,
    ListTemplates,
    ListHosts,
    HostInfo,
    ListDatastores,
    DatastoreInfo,
    ListNetworks,
    ListDatacenters,
    ListClusters,
    ListResourcePools,
    ListFolders,
    ResourceSummary,
    VcenterInfo,
    RecentTasks,
    RecentEvents,
    PowerOn,
    PowerOff,
    Reset,
    Suspend,
    ShutdownGuest,
    RebootGuest,
    ListSnapshots,
    CreateSnapshot,
    RevertSnapshot,
    DeleteSnapshot,
    DeleteAllSnapshots,
    Reconfigure,
    Rename,
    Destroy,
    Clone,
    CreateFolder,
    MoveToFolder,
    EnterMaintenance,
    ExitMaintenance,
}

impl Ty {
    /// A vSphere inventory name (VM, host, datastore, snapshot, folder), or
    /// a managed object id such as `vm-42`. vSphere allows up to 80
    /// characters.
    pub const VS_NAME: Ty = Ty::Name {
        max_len: 80,
        what: "an inventory name (one line of text, no leading or trailing space)",
    };
}

const VM: Param = Param::required(
    "vm",
    Ty::VS_NAME,
    "The VM's name, or its managed object id (e.g. vm-42) when names are ambiguous.",
);
const HOST: Param = Param::required("host", Ty::VS_NAME, "The ESXi host's name.");
const DATASTORE: Param = Param::required("datastore", Ty::VS_NAME, "The datastore's name.");
const SNAPSHOT: Param = Param::required("snapshot", Ty::VS_NAME, "The snapshot's name.");
const LIMIT: Param = Param::optional(
    "limit",
    Ty::Int { min: 1, max: 200 },
    "How many entries at most (default 20).",
);

fn tool(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    tier: Tier,
    target: Target,
    op: VimOp,
) -> Decl {
    Decl(ToolDef {
        name,
        title,
        description,
        backend: BackendKind::Vsphere,
        category,
        tier,
        destructive: false,
        idempotent: tier == Tier::Read,
        params: Vec::new(),
        target,
        call: Call::Vim(VimCall {
            op,
            returns_task: false,
        }),
    })
}

pub(super) fn tools() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    let vm = |name, title, description, category, tier, op| {
        tool(
            name,
            title,
            description,
            category,
            tier,
            T::VirtualMachine,
            op,
        )
        .params(&[VM])
    };
    let list = |name, title, description, op| {
        tool(name, title, description, "inventory", Read, T::Endpoint, op)
    };
    vec![
        // Virtual machines
        list(
            "vsphere_list_vms",
            "List VMs",
            "List all virtual machines with power state, CPU, memory, host and guest OS; one round trip however many there are.",
            Op::ListVms,
        ),
        vm(
            "vsphere_get_vm_info",
            "Get VM information",
            "Detailed information about one VM: hardware, power state, guest, host, folder, resource pool, datastores, snapshots.",
            "vm",
            Read,
            Op::VmInfo,
        ),
        vm(
            "vsphere_get_vm_details",
            "Get VM details",
            "Detailed information about one VM (vSphere-MCP-Pro's name for vsphere_get_vm_info).",
            "vm",
            Read,
            Op::VmInfo,
        ),
        list(
            "vsphere_list_templates",
            "List templates",
            "List VM templates.",
            Op::ListTemplates,
        ),
        // Power
        vm(
            "vsphere_power_on_vm",
            "Power on VM",
            "Power on a VM.",
            "power",
            Operate,
            Op::PowerOn,
        )
        .idempotent(true)
        .task(),
        vm(
            "vsphere_power_off_vm",
            "Power off VM (hard)",
            "Force a VM off, like pulling the plug: unsaved guest data is lost. Prefer vsphere_shutdown_guest.",
            "power",
            Operate,
            Op::PowerOff,
        )
        .destructive()
        .idempotent(true)
        .task(),
        vm(
            "vsphere_reset_vm",
            "Reset VM (hard)",
            "Hard-reset a VM: unsaved guest data is lost. Prefer vsphere_reboot_guest.",
            "power",
            Operate,
            Op::Reset,
        )
        .destructive()
        .task(),
        vm(
            "vsphere_restart_vm",
            "Restart VM (hard)",
            "Hard-reset a VM (vSphere-MCP-Pro's name for vsphere_reset_vm).",
            "power",
            Operate,
            Op::Reset,
        )
        .destructive()
        .task(),
        vm(
            "vsphere_suspend_vm",
            "Suspend VM",
            "Suspend a VM to memory.",
            "power",
            Operate,
            Op::Suspend,
        )
        .task(),
        vm(
            "vsphere_shutdown_guest",
            "Shut down guest OS",
            "Ask the guest OS to shut down cleanly (needs VMware Tools).",
            "power",
            Operate,
            Op::ShutdownGuest,
        ),
        vm(
            "vsphere_reboot_guest",
            "Reboot guest OS",
            "Ask the guest OS to reboot cleanly (needs VMware Tools).",
            "power",
            Operate,
            Op::RebootGuest,
        ),
        // Snapshots
        vm(
            "vsphere_list_snapshots",
            "List snapshots",
            "List a VM's snapshot tree.",
            "snapshot",
            Read,
            Op::ListSnapshots,
        ),
        vm(
            "vsphere_list_vm_snapshots",
            "List VM snapshots",
            "List a VM's snapshot tree (vSphere-MCP-Pro's name for vsphere_list_snapshots).",
            "snapshot",
            Read,
            Op::ListSnapshots,
        ),
        vm(
            "vsphere_create_snapshot",
            "Create snapshot",
            "Create a snapshot of a VM.",
            "snapshot",
            Operate,
            Op::CreateSnapshot,
        )
        .params(&[VM, SNAPSHOT_NEW, SNAPSHOT_DESCRIPTION, SNAPSHOT_MEMORY, SNAPSHOT_QUIESCE])
        .task(),
        vm(
            "vsphere_create_vm_snapshot",
            "Create VM snapshot",
            "Create a snapshot of a VM (vSphere-MCP-Pro's name for vsphere_create_snapshot).",
            "snapshot",
            Operate,
            Op::CreateSnapshot,
        )
        .params(&[VM, SNAPSHOT_NEW, SNAPSHOT_DESCRIPTION, SNAPSHOT_MEMORY, SNAPSHOT_QUIESCE])
        .task(),
        vm(
            "vsphere_revert_to_snapshot",
            "Revert to snapshot",
            "Revert a VM to a snapshot: changes since the snapshot are lost.",
            "snapshot",
            Operate,
            Op::RevertSnapshot,
        )
        .params(&[VM, SNAPSHOT])
        .destructive()
        .task(),
        vm(
            "vsphere_delete_snapshot",
            "Delete snapshot",
            "Delete one snapshot (its changes are consolidated into the VM).",
            "snapshot",
            Operate,
            Op::DeleteSnapshot,
        )
        .params(&[VM, SNAPSHOT, REMOVE_CHILDREN])
        .destructive()
        .task(),
        vm(
            "vsphere_delete_vm_snapshot",
            "Delete VM snapshot",
            "Delete one snapshot (vSphere-MCP-Pro's name for vsphere_delete_snapshot).",
            "snapshot",
            Operate,
            Op::DeleteSnapshot,
        )
        .params(&[VM, SNAPSHOT, REMOVE_CHILDREN])
        .destructive()
        .task(),
        vm(
            "vsphere_delete_all_snapshots",
            "Delete all snapshots",
            "Delete every snapshot of a VM, consolidating the disks.",
            "snapshot",
            Operate,
            Op::DeleteAllSnapshots,
        )
        .destructive()
        .task(),
        // Lifecycle
        vm(
            "vsphere_reconfigure_vm",
            "Reconfigure VM",
            "Change a VM's CPU count, memory or annotation.",
            "vm",
            Change,
            Op::Reconfigure,
        )
        .params(&[VM, CPUS, MEMORY_MB, ANNOTATION])
        .task(),
        vm(
            "vsphere_modify_vm_resources",
            "Modify VM resources",
            "Change a VM's CPU count or memory (vSphere-MCP-Pro's name for vsphere_reconfigure_vm).",
            "vm",
            Change,
            Op::Reconfigure,
        )
        .params(&[VM, CPUS, MEMORY_MB])
        .task(),
        vm(
            "vsphere_rename_vm",
            "Rename VM",
            "Give a VM a new name.",
            "vm",
            Change,
            Op::Rename,
        )
        .params(&[VM, NEW_NAME])
        .task(),
        vm(
            "vsphere_clone_vm",
            "Clone VM",
            "Clone a VM or template into a new VM in the same folder (or the one given).",
            "vm",
            Change,
            Op::Clone,
        )
        .params(&[VM, NEW_NAME, TARGET_FOLDER, POWER_ON])
        .task(),
        vm(
            "vsphere_delete_vm",
            "Delete VM",
            "Delete a VM and its disks permanently. It must be powered off.",
            "vm",
            Change,
            Op::Destroy,
        )
        .destructive()
        .task(),
        vm(
            "vsphere_move_vm_to_folder",
            "Move VM to folder",
            "Move a VM into another VM folder of its datacenter.",
            "folder",
            Change,
            Op::MoveToFolder,
        )
        .params(&[VM, FOLDER])
        .task(),
        tool(
            "vsphere_create_folder",
            "Create folder",
            "Create a VM folder under a datacenter's VM folder (or under the folder given as parent).",
            "folder",
            Change,
            T::Endpoint,
            Op::CreateFolder,
        )
        .params(&[FOLDER_NAME, PARENT_FOLDER]),
        // Inventory
        list(
            "vsphere_list_hosts",
            "List hosts",
            "List ESXi hosts with connection state, maintenance mode, CPU and memory.",
            Op::ListHosts,
        ),
        tool(
            "vsphere_get_host_info",
            "Get host information",
            "Configuration and state of one ESXi host.",
            "host",
            Read,
            T::HostSystem,
            Op::HostInfo,
        )
        .params(&[HOST]),
        list(
            "vsphere_list_datastores",
            "List datastores",
            "List datastores with type, capacity and free space.",
            Op::ListDatastores,
        ),
        tool(
            "vsphere_get_datastore_info",
            "Get datastore information",
            "Capacity, usage and the VMs of one datastore.",
            "datastore",
            Read,
            T::Datastore,
            Op::DatastoreInfo,
        )
        .params(&[DATASTORE]),
        list(
            "vsphere_get_datastore_usage",
            "Get datastore usage",
            "Capacity, free space and percentage used of every datastore.",
            Op::ListDatastores,
        ),
        list(
            "vsphere_list_networks",
            "List networks",
            "List networks and port groups.",
            Op::ListNetworks,
        ),
        list(
            "vsphere_list_datacenters",
            "List datacenters",
            "List datacenters.",
            Op::ListDatacenters,
        ),
        list(
            "vsphere_list_clusters",
            "List clusters",
            "List compute clusters with their hosts and resources.",
            Op::ListClusters,
        ),
        list(
            "vsphere_list_resource_pools",
            "List resource pools",
            "List resource pools.",
            Op::ListResourcePools,
        ),
        list(
            "vsphere_list_folders",
            "List folders",
            "List VM folders with their paths.",
            Op::ListFolders,
        ),
        list(
            "vsphere_get_resource_utilization_summary",
            "Get resource utilization summary",
            "CPU, memory and storage used and available across hosts and datastores.",
            Op::ResourceSummary,
        ),
        list(
            "vsphere_get_vcenter_info",
            "Get vCenter information",
            "vCenter product, version, build and API version.",
            Op::VcenterInfo,
        ),
        list(
            "vsphere_list_recent_tasks",
            "List recent tasks",
            "Recent vCenter tasks with state and target.",
            Op::RecentTasks,
        )
        .params(&[LIMIT]),
        list(
            "vsphere_get_recent_events",
            "Get recent events",
            "Recent vCenter events.",
            Op::RecentEvents,
        )
        .params(&[LIMIT]),
        list(
            "vsphere_list_recent_events",
            "List recent events",
            "Recent vCenter events (mcvsphere's other name for vsphere_get_recent_events).",
            Op::RecentEvents,
        )
        .params(&[LIMIT]),
        // Hosts
        tool(
            "vsphere_enter_maintenance_mode",
            "Enter maintenance mode",
            "Put an ESXi host into maintenance mode; its VMs must be moved or powered off first.",
            "host",
            Admin,
            T::HostSystem,
            Op::EnterMaintenance,
        )
        .params(&[HOST])
        .task(),
        tool(
            "vsphere_exit_maintenance_mode",
            "Exit maintenance mode",
            "Take an ESXi host out of maintenance mode.",
            "host",
            Admin,
            T::HostSystem,
            Op::ExitMaintenance,
        )
        .params(&[HOST])
        .task(),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}

const SNAPSHOT_NEW: Param = Param::required("snapshot", Ty::VS_NAME, "Name of the new snapshot.");
const SNAPSHOT_DESCRIPTION: Param = Param::optional(
    "description",
    Ty::Text { max_len: 4096 },
    "Description of the snapshot.",
);
const SNAPSHOT_MEMORY: Param = Param::optional(
    "memory",
    Ty::Bool,
    "Include the VM's memory (default false).",
);
const SNAPSHOT_QUIESCE: Param = Param::optional(
    "quiesce",
    Ty::Bool,
    "Quiesce the guest file system first (needs VMware Tools; default false).",
);
const REMOVE_CHILDREN: Param = Param::optional(
    "remove_children",
    Ty::Bool,
    "Also delete the snapshot's children (default false).",
);
const CPUS: Param = Param::optional(
    "cpus",
    Ty::Int { min: 1, max: 768 },
    "Number of virtual CPUs.",
);
const MEMORY_MB: Param = Param::optional(
    "memory_mb",
    Ty::Int {
        min: 4,
        max: 24 * 1024 * 1024,
    },
    "Memory in MiB.",
);
const ANNOTATION: Param =
    Param::optional("annotation", Ty::Text { max_len: 8192 }, "The VM's notes.");
const NEW_NAME: Param = Param::required("new_name", Ty::VS_NAME, "The new name.");
const FOLDER: Param = Param::required(
    "folder",
    Ty::VS_NAME,
    "The destination VM folder: its name, or its path below the datacenter's VM folder (e.g. Dev/web).",
);
const TARGET_FOLDER: Param = Param::optional(
    "folder",
    Ty::VS_NAME,
    "The VM folder for the clone (name or path); default: the source's folder.",
);
const FOLDER_NAME: Param = Param::required("name", Ty::VS_NAME, "Name of the new folder.");
const PARENT_FOLDER: Param = Param::optional(
    "parent",
    Ty::VS_NAME,
    "Parent VM folder (name or path); default: the datacenter's VM folder.",
);
const POWER_ON: Param = Param::optional(
    "power_on",
    Ty::Bool,
    "Power the clone on when it is ready (default false).",
);
