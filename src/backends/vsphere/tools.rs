//! vSphere tools over the vim25 SOAP API: vSphere-MCP-Pro's tools and
//! mcvsphere's, with the seeds' verbs. Where the two seeds name the same
//! operation differently, both names are offered (each users' tools keep
//! working) and map to one operation.

use std::sync::Arc;

use crate::catalog::{BackendKind, Decl, Operation, Param, Tier, ToolDef, Ty};

/// The object a vSphere call acts on, named by its inventory name (or
/// managed object id); the backend places it in the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// List-style tools act on the endpoint itself.
    Endpoint,
    VirtualMachine,
    HostSystem,
    Datastore,
}

impl Target {
    /// The Cedar entity type of this target.
    pub fn entity_type(self) -> &'static str {
        match self {
            Target::Endpoint => "Endpoint",
            Target::VirtualMachine => "VirtualMachine",
            Target::HostSystem => "HostSystem",
            Target::Datastore => "Datastore",
        }
    }

    /// The argument that names it.
    pub fn key(self) -> Option<&'static str> {
        match self {
            Target::Endpoint => None,
            Target::VirtualMachine => Some("vm"),
            Target::HostSystem => Some("host"),
            Target::Datastore => Some("datastore"),
        }
    }
}

/// How the vim25 backend runs a tool: the operation and its target.
#[derive(Debug, Clone, Copy)]
pub struct VimCall {
    pub op: VimOp,
    pub target: Target,
}

impl Operation for VimCall {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// What the vSphere backend does for a tool, by family: each family is
/// run by one module, which matches every one of its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VimOp {
    Inventory(InventoryOp),
    Vm(VmOp),
    Device(DeviceOp),
    Monitoring(MonitoringOp),
    Placement(PlacementOp),
    Host(HostOp),
    Guest(GuestOp),
    File(FileOp),
    Ovf(OvfOp),
    Tag(TagOp),
}

/// Reading the inventory: lists, object details, tasks and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryOp {
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
}

/// A VM's lifecycle: power, snapshots, configuration, clone, folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmOp {
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
}

/// A VM's virtual devices: disks, NICs, serial ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceOp {
    ListDisks,
    DiskInfo,
    ListNics,
    NicInfo,
    AddDisk,
    RemoveDisk,
    ResizeDisk,
    AddNic,
    RemoveNic,
    ConnectNic,
    ChangeNicNetwork,
    GetSerialPorts,
    SetupSerialPort,
    ConnectSerialPort,
    ClearSerialPort,
    RemoveSerialPort,
}

/// Statistics, alarms, VMware Tools, object details for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitoringOp {
    ToolsStatus,
    WaitForTools,
    VmStats,
    HostStats,
    Alarms,
    ClusterInfo,
    ResourcePoolInfo,
    NetworkInfo,
    BrowseDatastore,
}

/// Where things are: creating VMs, pools, folders; moving; tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementOp {
    CreateVm,
    DeleteFolder,
    CreateResourcePool,
    DeleteResourcePool,
    MoveToPool,
    Migrate,
    CancelTask,
}

/// ESXi host administration: hardware, network, services, maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostOp {
    HostHardware,
    HostNetworking,
    NtpConfig,
    ListServices,
    ServiceStatus,
    StartService,
    StopService,
    RestartService,
    RebootHost,
    ShutdownHost,
    EnterMaintenance,
    ExitMaintenance,
}

/// Guest operations through VMware Tools: programs, processes, directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestOp {
    RunInGuest,
    GuestProcesses,
    GuestDirectory,
    MakeGuestDirectory,
    DeleteGuestFile,
}

/// Files: guest file transfer, datastore upload and download, screenshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOp {
    ReadGuestFile,
    WriteGuestFile,
    Screenshot,
    UploadToDatastore,
    DownloadFromDatastore,
}

/// OVF: networks of a descriptor, deploy, export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OvfOp {
    ListOvfNetworks,
    DeployOvf,
    ExportOvf,
}

/// Tags over the Automation API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagOp {
    ListTags,
    VmTags,
    ApplyTag,
    RemoveTag,
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
        target: target.entity_type(),
        returns_task: false,
        resource: None,
        operation: Arc::new(VimCall { op, target }),
    })
}

pub fn tools() -> Vec<ToolDef> {
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
    let host = |name, title, description, tier, op| {
        tool(name, title, description, "host", tier, T::HostSystem, op).params(&[HOST])
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
            Op::Inventory(InventoryOp::ListVms),
        )
        .resource("vms"),
        vm(
            "vsphere_get_vm_info",
            "Get VM information",
            "Detailed information about one VM: hardware, power state, guest, host, folder, resource pool, datastores, snapshots.",
            "vm",
            Read,
            Op::Inventory(InventoryOp::VmInfo),
        ),
        vm(
            "vsphere_get_vm_details",
            "Get VM details",
            "Detailed information about one VM (vSphere-MCP-Pro's name for vsphere_get_vm_info).",
            "vm",
            Read,
            Op::Inventory(InventoryOp::VmInfo),
        ),
        list(
            "vsphere_list_templates",
            "List templates",
            "List VM templates.",
            Op::Inventory(InventoryOp::ListTemplates),
        ),
        // Power
        vm(
            "vsphere_power_on_vm",
            "Power on VM",
            "Power on a VM.",
            "power",
            Operate,
            Op::Vm(VmOp::PowerOn),
        )
        .idempotent(true)
        .task(),
        vm(
            "vsphere_power_off_vm",
            "Power off VM (hard)",
            "Force a VM off, like pulling the plug: unsaved guest data is lost. Prefer vsphere_shutdown_guest.",
            "power",
            Operate,
            Op::Vm(VmOp::PowerOff),
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
            Op::Vm(VmOp::Reset),
        )
        .destructive()
        .task(),
        vm(
            "vsphere_restart_vm",
            "Restart VM (hard)",
            "Hard-reset a VM (vSphere-MCP-Pro's name for vsphere_reset_vm).",
            "power",
            Operate,
            Op::Vm(VmOp::Reset),
        )
        .destructive()
        .task(),
        vm(
            "vsphere_suspend_vm",
            "Suspend VM",
            "Suspend a VM to memory.",
            "power",
            Operate,
            Op::Vm(VmOp::Suspend),
        )
        .task(),
        vm(
            "vsphere_shutdown_guest",
            "Shut down guest OS",
            "Ask the guest OS to shut down cleanly (needs VMware Tools).",
            "power",
            Operate,
            Op::Vm(VmOp::ShutdownGuest),
        ),
        vm(
            "vsphere_reboot_guest",
            "Reboot guest OS",
            "Ask the guest OS to reboot cleanly (needs VMware Tools).",
            "power",
            Operate,
            Op::Vm(VmOp::RebootGuest),
        ),
        // Snapshots
        vm(
            "vsphere_list_snapshots",
            "List snapshots",
            "List a VM's snapshot tree.",
            "snapshot",
            Read,
            Op::Vm(VmOp::ListSnapshots),
        ),
        vm(
            "vsphere_list_vm_snapshots",
            "List VM snapshots",
            "List a VM's snapshot tree (vSphere-MCP-Pro's name for vsphere_list_snapshots).",
            "snapshot",
            Read,
            Op::Vm(VmOp::ListSnapshots),
        ),
        vm(
            "vsphere_create_snapshot",
            "Create snapshot",
            "Create a snapshot of a VM.",
            "snapshot",
            Operate,
            Op::Vm(VmOp::CreateSnapshot),
        )
        .params(&[VM, SNAPSHOT_NEW, SNAPSHOT_DESCRIPTION, SNAPSHOT_MEMORY, SNAPSHOT_QUIESCE])
        .task(),
        vm(
            "vsphere_create_vm_snapshot",
            "Create VM snapshot",
            "Create a snapshot of a VM (vSphere-MCP-Pro's name for vsphere_create_snapshot).",
            "snapshot",
            Operate,
            Op::Vm(VmOp::CreateSnapshot),
        )
        .params(&[VM, SNAPSHOT_NEW, SNAPSHOT_DESCRIPTION, SNAPSHOT_MEMORY, SNAPSHOT_QUIESCE])
        .task(),
        vm(
            "vsphere_revert_to_snapshot",
            "Revert to snapshot",
            "Revert a VM to a snapshot: changes since the snapshot are lost.",
            "snapshot",
            Operate,
            Op::Vm(VmOp::RevertSnapshot),
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
            Op::Vm(VmOp::DeleteSnapshot),
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
            Op::Vm(VmOp::DeleteSnapshot),
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
            Op::Vm(VmOp::DeleteAllSnapshots),
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
            Op::Vm(VmOp::Reconfigure),
        )
        .params(&[VM, CPUS, MEMORY_MB, ANNOTATION])
        .task(),
        vm(
            "vsphere_modify_vm_resources",
            "Modify VM resources",
            "Change a VM's CPU count or memory (vSphere-MCP-Pro's name for vsphere_reconfigure_vm).",
            "vm",
            Change,
            Op::Vm(VmOp::Reconfigure),
        )
        .params(&[VM, CPUS, MEMORY_MB])
        .task(),
        vm(
            "vsphere_rename_vm",
            "Rename VM",
            "Give a VM a new name.",
            "vm",
            Change,
            Op::Vm(VmOp::Rename),
        )
        .params(&[VM, NEW_NAME])
        .task(),
        vm(
            "vsphere_clone_vm",
            "Clone VM",
            "Clone a VM or template into a new VM in the same folder (or the one given).",
            "vm",
            Change,
            Op::Vm(VmOp::Clone),
        )
        .params(&[VM, NEW_NAME, TARGET_FOLDER, POWER_ON])
        .task(),
        vm(
            "vsphere_delete_vm",
            "Delete VM",
            "Delete a VM and its disks permanently. It must be powered off.",
            "vm",
            Change,
            Op::Vm(VmOp::Destroy),
        )
        .destructive()
        .task(),
        vm(
            "vsphere_move_vm_to_folder",
            "Move VM to folder",
            "Move a VM into another VM folder of its datacenter.",
            "folder",
            Change,
            Op::Vm(VmOp::MoveToFolder),
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
            Op::Vm(VmOp::CreateFolder),
        )
        .params(&[FOLDER_NAME, PARENT_FOLDER]),
        // Disks and network adapters
        vm(
            "vsphere_list_disks",
            "List disks",
            "List a VM's virtual disks with size, file and provisioning.",
            "disk",
            Read,
            Op::Device(DeviceOp::ListDisks),
        ),
        vm(
            "vsphere_get_disk_info",
            "Get disk information",
            "One virtual disk of a VM, by label (e.g. \"Hard disk 1\") or device key.",
            "disk",
            Read,
            Op::Device(DeviceOp::DiskInfo),
        )
        .params(&[VM, DISK]),
        vm(
            "vsphere_add_disk",
            "Add disk",
            "Add a new virtual disk to a VM.",
            "disk",
            Change,
            Op::Device(DeviceOp::AddDisk),
        )
        .params(&[VM, SIZE_GB, THIN])
        .task(),
        vm(
            "vsphere_remove_disk",
            "Remove disk",
            "Detach a virtual disk from a VM; with delete_file, its data is destroyed.",
            "disk",
            Change,
            Op::Device(DeviceOp::RemoveDisk),
        )
        .params(&[VM, DISK, DELETE_FILE])
        .destructive()
        .task(),
        vm(
            "vsphere_resize_disk",
            "Resize disk",
            "Grow a virtual disk (disks cannot shrink).",
            "disk",
            Change,
            Op::Device(DeviceOp::ResizeDisk),
        )
        .params(&[VM, DISK, SIZE_GB])
        .task(),
        vm(
            "vsphere_list_nics",
            "List network adapters",
            "List a VM's network adapters with MAC address, network and connection state.",
            "nic",
            Read,
            Op::Device(DeviceOp::ListNics),
        ),
        vm(
            "vsphere_get_nic_info",
            "Get network adapter information",
            "One network adapter of a VM, by label (e.g. \"Network adapter 1\") or device key.",
            "nic",
            Read,
            Op::Device(DeviceOp::NicInfo),
        )
        .params(&[VM, NIC]),
        vm(
            "vsphere_add_nic",
            "Add network adapter",
            "Add a network adapter on a network (port group).",
            "nic",
            Change,
            Op::Device(DeviceOp::AddNic),
        )
        .params(&[VM, NETWORK, ADAPTER])
        .task(),
        vm(
            "vsphere_remove_nic",
            "Remove network adapter",
            "Remove a network adapter from a VM.",
            "nic",
            Change,
            Op::Device(DeviceOp::RemoveNic),
        )
        .params(&[VM, NIC])
        .task(),
        vm(
            "vsphere_connect_nic",
            "Connect or disconnect network adapter",
            "Connect (default) or disconnect a network adapter.",
            "nic",
            Operate,
            Op::Device(DeviceOp::ConnectNic),
        )
        .params(&[VM, NIC, CONNECTED])
        .task(),
        vm(
            "vsphere_change_nic_network",
            "Change adapter network",
            "Move a network adapter to another network (port group).",
            "nic",
            Change,
            Op::Device(DeviceOp::ChangeNicNetwork),
        )
        .params(&[VM, NIC, NETWORK])
        .task(),
        // Guest operations (VMware Tools): tier admin, as they run or touch
        // anything inside the guest.
        vm(
            "vsphere_run_command_in_guest",
            "Run command in guest",
            "Start a program inside the guest OS and wait for it (up to wait_seconds, default 30); returns its exit code.",
            "guest",
            Admin,
            Op::Guest(GuestOp::RunInGuest),
        )
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, PROGRAM, PROGRAM_ARGS, WORKING_DIR, RUN_WAIT]),
        vm(
            "vsphere_list_guest_processes",
            "List guest processes",
            "The processes running in the guest OS.",
            "guest",
            Admin,
            Op::Guest(GuestOp::GuestProcesses),
        )
        .params(&[VM, GUEST_USER, GUEST_PASSWORD]),
        vm(
            "vsphere_list_guest_directory",
            "List guest directory",
            "The files in a directory of the guest OS.",
            "guest",
            Admin,
            Op::Guest(GuestOp::GuestDirectory),
        )
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH]),
        vm(
            "vsphere_create_guest_directory",
            "Create guest directory",
            "Create a directory in the guest OS.",
            "guest",
            Admin,
            Op::Guest(GuestOp::MakeGuestDirectory),
        )
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH, CREATE_PARENTS]),
        vm(
            "vsphere_delete_guest_file",
            "Delete guest file",
            "Delete a file in the guest OS.",
            "guest",
            Admin,
            Op::Guest(GuestOp::DeleteGuestFile),
        )
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH])
        .destructive(),
        vm(
            "vsphere_read_guest_file",
            "Read guest file",
            "Read a file from the guest OS (at most 4 MiB): UTF-8 text as is, anything else as base64.",
            "guest",
            Admin,
            Op::File(FileOp::ReadGuestFile),
        )
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH]),
        vm(
            "vsphere_write_guest_file",
            "Write guest file",
            "Write a file into the guest OS (at most 4 MiB); an existing file is replaced only with overwrite=true.",
            "guest",
            Admin,
            Op::File(FileOp::WriteGuestFile),
        )
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH, CONTENT, ENCODING, OVERWRITE]),
        vm(
            "vsphere_vm_screenshot",
            "VM screenshot",
            "Capture the VM's console as a PNG image.",
            "monitoring",
            Read,
            Op::File(FileOp::Screenshot),
        ),
        // Serial ports (network appliances, headless systems)
        vm(
            "vsphere_get_serial_port",
            "Get serial ports",
            "A VM's serial ports with their URI, direction and connection state.",
            "serial",
            Read,
            Op::Device(DeviceOp::GetSerialPorts),
        ),
        vm(
            "vsphere_setup_serial_port",
            "Set up serial port",
            "Add a network serial port (e.g. telnet://:2001, server side) to a VM.",
            "serial",
            Operate,
            Op::Device(DeviceOp::SetupSerialPort),
        )
        .params(&[VM, SERIAL_URI, SERIAL_DIRECTION])
        .task(),
        vm(
            "vsphere_connect_serial_port",
            "Connect or disconnect serial port",
            "Connect (default) or disconnect a serial port.",
            "serial",
            Operate,
            Op::Device(DeviceOp::ConnectSerialPort),
        )
        .params(&[VM, SERIAL_PORT, CONNECTED])
        .task(),
        vm(
            "vsphere_clear_serial_port",
            "Clear serial port",
            "Disconnect and reconnect a serial port, dropping whoever is attached to it.",
            "serial",
            Operate,
            Op::Device(DeviceOp::ClearSerialPort),
        )
        .params(&[VM, SERIAL_PORT])
        .task(),
        vm(
            "vsphere_remove_serial_port",
            "Remove serial port",
            "Remove a serial port from a VM.",
            "serial",
            Change,
            Op::Device(DeviceOp::RemoveSerialPort),
        )
        .params(&[VM, SERIAL_PORT])
        .task(),
        // Monitoring
        vm(
            "vsphere_get_vm_tools_status",
            "Get VMware Tools status",
            "Whether VMware Tools is installed, running and current in a VM.",
            "monitoring",
            Read,
            Op::Monitoring(MonitoringOp::ToolsStatus),
        ),
        vm(
            "vsphere_wait_for_vm_tools",
            "Wait for VMware Tools",
            "Wait until VMware Tools runs in a VM (or wait_seconds pass; default 120).",
            "monitoring",
            Read,
            Op::Monitoring(MonitoringOp::WaitForTools),
        )
        .params(&[VM, WAIT_SECONDS]),
        vm(
            "vsphere_get_vm_stats",
            "Get VM statistics",
            "A VM's current CPU, memory, storage and uptime figures (quick statistics).",
            "monitoring",
            Read,
            Op::Monitoring(MonitoringOp::VmStats),
        ),
        tool(
            "vsphere_get_host_stats",
            "Get host statistics",
            "An ESXi host's current CPU and memory use (quick statistics).",
            "monitoring",
            Read,
            T::HostSystem,
            Op::Monitoring(MonitoringOp::HostStats),
        )
        .params(&[HOST]),
        list("vsphere_get_alarms", "Get alarms", "Triggered alarms across the inventory.", Op::Monitoring(MonitoringOp::Alarms)),
        list(
            "vsphere_get_cluster_info",
            "Get cluster information",
            "One cluster: hosts, resources, DRS and HA settings.",
            Op::Monitoring(MonitoringOp::ClusterInfo),
        )
        .params(&[CLUSTER]),
        list(
            "vsphere_get_resource_pool_info",
            "Get resource pool information",
            "One resource pool: allocations, VMs and child pools.",
            Op::Monitoring(MonitoringOp::ResourcePoolInfo),
        )
        .params(&[POOL]),
        list(
            "vsphere_get_network_info",
            "Get network information",
            "One network (port group): accessibility, hosts and VMs.",
            Op::Monitoring(MonitoringOp::NetworkInfo),
        )
        .params(&[NETWORK]),
        tool(
            "vsphere_browse_datastore",
            "Browse datastore",
            "List the files in a datastore folder.",
            "datastore",
            Read,
            T::Datastore,
            Op::Monitoring(MonitoringOp::BrowseDatastore),
        )
        .params(&[DATASTORE, DS_PATH]),
        tool(
            "vsphere_upload_to_datastore",
            "Upload to datastore",
            "Write a file (at most 4 MiB, given in the call) into a datastore; an existing file is replaced only with overwrite=true.",
            "datastore",
            Change,
            T::Datastore,
            Op::File(FileOp::UploadToDatastore),
        )
        .params(&[DATASTORE, DS_FILE, CONTENT, ENCODING, OVERWRITE]),
        tool(
            "vsphere_download_from_datastore",
            "Download from datastore",
            "Read a file (at most 4 MiB) from a datastore: UTF-8 text as is, anything else as base64.",
            "datastore",
            Read,
            T::Datastore,
            Op::File(FileOp::DownloadFromDatastore),
        )
        .params(&[DATASTORE, DS_FILE]),
        tool(
            "vsphere_list_ovf_networks",
            "List OVF networks",
            "The networks an OVF descriptor on a datastore asks for, to map them before deploying it.",
            "ovf",
            Read,
            T::Datastore,
            Op::Ovf(OvfOp::ListOvfNetworks),
        )
        .params(&[DATASTORE, OVF_PATH]),
        tool(
            "vsphere_deploy_ovf",
            "Deploy OVF",
            "Deploy a VM from an OVF descriptor on a datastore; its disks are read from beside it on the same datastore.",
            "ovf",
            Change,
            T::Datastore,
            Op::Ovf(OvfOp::DeployOvf),
        )
        .params(&[DATASTORE, OVF_PATH, NEW_VM_NAME, TARGET_FOLDER, VM_HOST, OVF_NETWORK])
        .task(),
        vm(
            "vsphere_export_ovf",
            "Export OVF",
            "Export a powered-off VM as OVF (descriptor and disks) into a datastore folder.",
            "ovf",
            Change,
            Op::Ovf(OvfOp::ExportOvf),
        )
        .params(&[VM, DATASTORE, EXPORT_FOLDER, OVERWRITE])
        .task(),
        // Tags (vSphere Automation API)
        list(
            "vsphere_list_tags",
            "List tags",
            "Every tag with its category.",
            Op::Tag(TagOp::ListTags),
        ),
        vm("vsphere_get_vm_tags", "Get VM tags", "The tags attached to a VM.", "tags", Read, Op::Tag(TagOp::VmTags)),
        vm(
            "vsphere_apply_tag_to_vm",
            "Apply tag to VM",
            "Attach a tag to a VM.",
            "tags",
            Change,
            Op::Tag(TagOp::ApplyTag),
        )
        .params(&[VM, TAG, TAG_CATEGORY]),
        vm(
            "vsphere_remove_tag_from_vm",
            "Remove tag from VM",
            "Detach a tag from a VM.",
            "tags",
            Change,
            Op::Tag(TagOp::RemoveTag),
        )
        .params(&[VM, TAG, TAG_CATEGORY]),
        // Placement
        tool(
            "vsphere_create_vm",
            "Create VM",
            "Create an empty VM (no disk or network: add them with vsphere_add_disk and vsphere_add_nic).",
            "vm",
            Change,
            T::Endpoint,
            Op::Placement(PlacementOp::CreateVm),
        )
        .params(&[NEW_VM_NAME, DATASTORE, TARGET_FOLDER, VM_HOST, CPUS, MEMORY_MB, GUEST_ID])
        .task(),
        tool(
            "vsphere_delete_folder",
            "Delete folder",
            "Delete an empty VM folder (a folder that holds anything is refused).",
            "folder",
            Change,
            T::Endpoint,
            Op::Placement(PlacementOp::DeleteFolder),
        )
        .params(&[FOLDER])
        .destructive()
        .task(),
        tool(
            "vsphere_create_resource_pool",
            "Create resource pool",
            "Create a resource pool (default shares, no limits) under a pool, or under the cluster's root pool.",
            "placement",
            Change,
            T::Endpoint,
            Op::Placement(PlacementOp::CreateResourcePool),
        )
        .params(&[POOL_NAME, PARENT_POOL]),
        tool(
            "vsphere_delete_resource_pool",
            "Delete resource pool",
            "Delete a resource pool; its VMs move to the parent pool.",
            "placement",
            Change,
            T::Endpoint,
            Op::Placement(PlacementOp::DeleteResourcePool),
        )
        .params(&[POOL])
        .task(),
        vm(
            "vsphere_move_vm_to_resource_pool",
            "Move VM to resource pool",
            "Move a VM into a resource pool.",
            "placement",
            Change,
            Op::Placement(PlacementOp::MoveToPool),
        )
        .params(&[VM, POOL])
        .task(),
        vm(
            "vsphere_migrate_vm",
            "Migrate VM",
            "Move a VM to another host (vMotion), datastore (Storage vMotion), or both.",
            "placement",
            Operate,
            Op::Placement(PlacementOp::Migrate),
        )
        .params(&[VM, VM_HOST, TARGET_DATASTORE])
        .task(),
        tool(
            "vsphere_cancel_task",
            "Cancel task",
            "Ask vCenter to cancel a running task (by its id, e.g. task-123).",
            "task",
            Operate,
            T::Endpoint,
            Op::Placement(PlacementOp::CancelTask),
        )
        .params(&[TASK]),
        // Inventory
        list(
            "vsphere_list_hosts",
            "List hosts",
            "List ESXi hosts with connection state, maintenance mode, CPU and memory.",
            Op::Inventory(InventoryOp::ListHosts),
        )
        .resource("hosts"),
        tool(
            "vsphere_get_host_info",
            "Get host information",
            "Configuration and state of one ESXi host.",
            "host",
            Read,
            T::HostSystem,
            Op::Inventory(InventoryOp::HostInfo),
        )
        .params(&[HOST]),
        list(
            "vsphere_list_datastores",
            "List datastores",
            "List datastores with type, capacity and free space.",
            Op::Inventory(InventoryOp::ListDatastores),
        )
        .resource("datastores"),
        tool(
            "vsphere_get_datastore_info",
            "Get datastore information",
            "Capacity, usage and the VMs of one datastore.",
            "datastore",
            Read,
            T::Datastore,
            Op::Inventory(InventoryOp::DatastoreInfo),
        )
        .params(&[DATASTORE]),
        list(
            "vsphere_get_datastore_usage",
            "Get datastore usage",
            "Capacity, free space and percentage used of every datastore.",
            Op::Inventory(InventoryOp::ListDatastores),
        ),
        list(
            "vsphere_list_networks",
            "List networks",
            "List networks and port groups.",
            Op::Inventory(InventoryOp::ListNetworks),
        )
        .resource("networks"),
        list(
            "vsphere_list_datacenters",
            "List datacenters",
            "List datacenters.",
            Op::Inventory(InventoryOp::ListDatacenters),
        ),
        list(
            "vsphere_list_clusters",
            "List clusters",
            "List compute clusters with their hosts and resources.",
            Op::Inventory(InventoryOp::ListClusters),
        )
        .resource("clusters"),
        list(
            "vsphere_list_resource_pools",
            "List resource pools",
            "List resource pools.",
            Op::Inventory(InventoryOp::ListResourcePools),
        )
        .resource("resource-pools"),
        list(
            "vsphere_list_folders",
            "List folders",
            "List VM folders with their paths.",
            Op::Inventory(InventoryOp::ListFolders),
        ),
        list(
            "vsphere_get_resource_utilization_summary",
            "Get resource utilization summary",
            "CPU, memory and storage used and available across hosts and datastores.",
            Op::Inventory(InventoryOp::ResourceSummary),
        ),
        list(
            "vsphere_get_vcenter_info",
            "Get vCenter information",
            "vCenter product, version, build and API version.",
            Op::Inventory(InventoryOp::VcenterInfo),
        ),
        list(
            "vsphere_list_recent_tasks",
            "List recent tasks",
            "Recent vCenter tasks with state and target.",
            Op::Inventory(InventoryOp::RecentTasks),
        )
        .params(&[LIMIT]),
        list(
            "vsphere_get_recent_events",
            "Get recent events",
            "Recent vCenter events.",
            Op::Inventory(InventoryOp::RecentEvents),
        )
        .params(&[LIMIT]),
        list(
            "vsphere_list_recent_events",
            "List recent events",
            "Recent vCenter events (mcvsphere's other name for vsphere_get_recent_events).",
            Op::Inventory(InventoryOp::RecentEvents),
        )
        .params(&[LIMIT]),
        // Hosts
        host(
            "vsphere_get_host_hardware",
            "Get host hardware",
            "An ESXi host's hardware: vendor, model, CPU, memory, BIOS.",
            Read,
            Op::Host(HostOp::HostHardware),
        ),
        host(
            "vsphere_get_host_networking",
            "Get host networking",
            "An ESXi host's virtual switches, port groups, VMkernel and physical NICs.",
            Read,
            Op::Host(HostOp::HostNetworking),
        ),
        host(
            "vsphere_get_ntp_config",
            "Get NTP configuration",
            "An ESXi host's NTP servers and time zone.",
            Read,
            Op::Host(HostOp::NtpConfig),
        ),
        host(
            "vsphere_list_services",
            "List host services",
            "An ESXi host's services (SSH, NTP, ...) with state and start policy.",
            Read,
            Op::Host(HostOp::ListServices),
        ),
        host(
            "vsphere_get_service_status",
            "Get service status",
            "One host service's state and start policy.",
            Read,
            Op::Host(HostOp::ServiceStatus),
        )
        .params(&[HOST, SERVICE]),
        host(
            "vsphere_start_service",
            "Start host service",
            "Start a host service (e.g. TSM-SSH, ntpd).",
            Admin,
            Op::Host(HostOp::StartService),
        )
        .params(&[HOST, SERVICE]),
        host(
            "vsphere_stop_service",
            "Stop host service",
            "Stop a host service.",
            Admin,
            Op::Host(HostOp::StopService),
        )
        .params(&[HOST, SERVICE]),
        host(
            "vsphere_restart_service",
            "Restart host service",
            "Restart a host service.",
            Admin,
            Op::Host(HostOp::RestartService),
        )
        .params(&[HOST, SERVICE]),
        host(
            "vsphere_reboot_host",
            "Reboot host",
            "Reboot an ESXi host; without force it must be in maintenance mode.",
            Admin,
            Op::Host(HostOp::RebootHost),
        )
        .params(&[HOST, FORCE])
        .destructive()
        .task(),
        host(
            "vsphere_shutdown_host",
            "Shut down host",
            "Shut an ESXi host down; without force it must be in maintenance mode.",
            Admin,
            Op::Host(HostOp::ShutdownHost),
        )
        .params(&[HOST, FORCE])
        .destructive()
        .task(),
        tool(
            "vsphere_enter_maintenance_mode",
            "Enter maintenance mode",
            "Put an ESXi host into maintenance mode; its VMs must be moved or powered off first.",
            "host",
            Admin,
            T::HostSystem,
            Op::Host(HostOp::EnterMaintenance),
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
            Op::Host(HostOp::ExitMaintenance),
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
const DISK: Param = Param::required(
    "disk",
    Ty::VS_NAME,
    "The disk's label (e.g. \"Hard disk 1\") or device key.",
);
const NIC: Param = Param::required(
    "nic",
    Ty::VS_NAME,
    "The adapter's label (e.g. \"Network adapter 1\") or device key.",
);
const SIZE_GB: Param = Param::required(
    "size_gb",
    Ty::Int {
        min: 1,
        max: 62 * 1024,
    },
    "Size in GiB.",
);
const THIN: Param = Param::optional("thin", Ty::Bool, "Thin provisioned (default true).");
const DELETE_FILE: Param = Param::optional(
    "delete_file",
    Ty::Bool,
    "Also delete the disk's file (default false: detach only).",
);
const NETWORK: Param = Param::required("network", Ty::VS_NAME, "The network (port group) name.");
const ADAPTER: Param = Param::optional(
    "adapter",
    Ty::Enum(&["vmxnet3", "e1000", "e1000e"]),
    "Adapter type (default vmxnet3).",
);
const CONNECTED: Param = Param::optional(
    "connected",
    Ty::Bool,
    "true to connect (default), false to disconnect.",
);
const WAIT_SECONDS: Param = Param::optional(
    "wait_seconds",
    Ty::Int { min: 1, max: 3600 },
    "How long to wait, in seconds (default 120).",
);
const CLUSTER: Param = Param::required("cluster", Ty::VS_NAME, "The cluster's name.");
const POOL: Param = Param::required("pool", Ty::VS_NAME, "The resource pool's name (or id).");
const POOL_NAME: Param = Param::required("name", Ty::VS_NAME, "Name of the new resource pool.");
const PARENT_POOL: Param = Param::optional(
    "parent",
    Ty::VS_NAME,
    "Parent resource pool (name or id); default: the cluster's root pool.",
);
const DS_PATH: Param = Param::optional(
    "path",
    Ty::Text { max_len: 1024 },
    "Folder inside the datastore (default: its root).",
);
const NEW_VM_NAME: Param = Param::required("name", Ty::VS_NAME, "Name of the new VM.");
const VM_HOST: Param = Param::optional(
    "host",
    Ty::VS_NAME,
    "The ESXi host (default: the first one).",
);
const TARGET_DATASTORE: Param =
    Param::optional("datastore", Ty::VS_NAME, "The destination datastore.");
const GUEST_ID: Param = Param::optional(
    "guest_id",
    Ty::Text { max_len: 64 },
    "vSphere guest OS identifier (default otherGuest), e.g. ubuntu64Guest.",
);
const TASK: Param = Param::required("task", Ty::VS_NAME, "The task id, e.g. task-123.");
const SERIAL_URI: Param = Param::required(
    "uri",
    Ty::VS_NAME,
    "Network URI of the port: scheme://[host]:port, scheme telnet, telnets, tcp or ssl (e.g. telnet://:2001).",
);
const SERIAL_DIRECTION: Param = Param::optional(
    "direction",
    Ty::Enum(&["server", "client"]),
    "server (default: the VM listens) or client (the VM connects out).",
);
const SERIAL_PORT: Param = Param::optional(
    "port",
    Ty::VS_NAME,
    "The serial port's label (e.g. \"Serial port 1\") or key; may be left out when the VM has only one.",
);
const SERVICE: Param = Param::required(
    "service",
    Ty::VS_NAME,
    "The service's key (e.g. TSM-SSH, ntpd) or label.",
);
const FORCE: Param = Param::optional(
    "force",
    Ty::Bool,
    "Even when the host is not in maintenance mode (default false).",
);
const GUEST_USER: Param = Param::required("guest_user", Ty::VS_NAME, "A user of the guest OS.");
const GUEST_PASSWORD: Param = Param::required(
    "guest_password",
    Ty::Secret { max_len: 256 },
    "That user's password. Used for this call only; never logged or audited.",
);
const PROGRAM: Param = Param::required(
    "program",
    Ty::Text { max_len: 1024 },
    "Full path of the program in the guest, e.g. /bin/sh or C:\\Windows\\System32\\cmd.exe.",
);
const PROGRAM_ARGS: Param = Param::optional(
    "arguments",
    Ty::Text { max_len: 8192 },
    "Arguments, as one string.",
);
const WORKING_DIR: Param = Param::optional(
    "working_directory",
    Ty::Text { max_len: 1024 },
    "Working directory in the guest.",
);
const RUN_WAIT: Param = Param::optional(
    "wait_seconds",
    Ty::Int { min: 0, max: 3600 },
    "How long to wait for the program to end (default 30; 0: do not wait).",
);
const GUEST_PATH: Param = Param::required(
    "path",
    Ty::Text { max_len: 1024 },
    "A path in the guest OS.",
);
const CREATE_PARENTS: Param = Param::optional(
    "create_parents",
    Ty::Bool,
    "Also create missing parent directories (default false).",
);

/// Largest file a call carries or returns, before encoding.
pub const MAX_FILE_BYTES: usize = 4 << 20;
const CONTENT: Param = Param::required(
    "content",
    Ty::Content {
        max_bytes: MAX_FILE_BYTES,
    },
    "The file's content: text, or base64 with encoding=base64. Audited as its length and SHA-256 only.",
);
const ENCODING: Param = Param::optional(
    crate::catalog::CONTENT_ENCODING,
    Ty::Enum(&["utf-8", "base64"]),
    "How content is given: utf-8 text (default) or base64.",
);
const OVERWRITE: Param = Param::optional(
    "overwrite",
    Ty::Bool,
    "Replace the file if it exists (default false: refuse).",
);
const DS_FILE: Param = Param::required(
    "path",
    Ty::RelPath { max_len: 1024 },
    "The file's path inside the datastore, e.g. iso/notes.txt.",
);
const OVF_PATH: Param = Param::required(
    "path",
    Ty::RelPath { max_len: 1024 },
    "The .ovf descriptor's path inside the datastore, e.g. templates/web/web.ovf.",
);
const EXPORT_FOLDER: Param = Param::required(
    "folder",
    Ty::RelPath { max_len: 1024 },
    "The datastore folder to write the OVF into, e.g. exports/web-01.",
);
const OVF_NETWORK: Param = Param::optional(
    "network",
    Ty::VS_NAME,
    "The network (port group) every OVF network is mapped to; default: the first network of the target host.",
);
const TAG: Param = Param::required(
    "tag",
    Ty::VS_NAME,
    "The tag's name, or its id (urn:vmomi:InventoryServiceTag:...).",
);
const TAG_CATEGORY: Param = Param::optional(
    "category",
    Ty::VS_NAME,
    "The tag's category name, when several categories have a tag of that name.",
);
