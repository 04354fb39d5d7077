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

/// One vSphere tool, every field named (a title and a description cannot
/// be swapped).
struct Spec {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    tier: Tier,
    target: Target,
    op: VimOp,
}

fn tool(s: Spec) -> Decl {
    Decl(ToolDef {
        name: s.name,
        title: s.title,
        description: s.description,
        backend: BackendKind::Vsphere,
        category: s.category,
        tier: s.tier,
        destructive: false,
        idempotent: s.tier == Tier::Read,
        params: Vec::new(),
        target: s.target.entity_type(),
        returns_task: false,
        resource: None,
        operation: Arc::new(VimCall {
            op: s.op,
            target: s.target,
        }),
    })
}

pub fn tools() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        // Virtual machines
        tool(Spec { name: "vsphere_list_vms", title: "List VMs", description: "List all virtual machines with power state, CPU, memory, host and guest OS; one round trip however many there are.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::ListVms) })
        .resource("vms"),
        tool(Spec { name: "vsphere_get_vm_info", title: "Get VM information", description: "Detailed information about one VM: hardware, power state, guest, host, folder, resource pool, datastores, snapshots.", category: "vm", tier: Read, target: T::VirtualMachine, op: Op::Inventory(InventoryOp::VmInfo) })
.params(&[VM]),
        tool(Spec { name: "vsphere_get_vm_details", title: "Get VM details", description: "Detailed information about one VM (vSphere-MCP-Pro's name for vsphere_get_vm_info).", category: "vm", tier: Read, target: T::VirtualMachine, op: Op::Inventory(InventoryOp::VmInfo) })
.params(&[VM]),
        tool(Spec { name: "vsphere_list_templates", title: "List templates", description: "List VM templates.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::ListTemplates) }),
        // Power
        tool(Spec { name: "vsphere_power_on_vm", title: "Power on VM", description: "Power on a VM.", category: "power", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::PowerOn) })
.params(&[VM])
        .idempotent(true)
        .task(),
        tool(Spec { name: "vsphere_power_off_vm", title: "Power off VM (hard)", description: "Force a VM off, like pulling the plug: unsaved guest data is lost. Prefer vsphere_shutdown_guest.", category: "power", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::PowerOff) })
.params(&[VM])
        .destructive()
        .idempotent(true)
        .task(),
        tool(Spec { name: "vsphere_reset_vm", title: "Reset VM (hard)", description: "Hard-reset a VM: unsaved guest data is lost. Prefer vsphere_reboot_guest.", category: "power", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::Reset) })
.params(&[VM])
        .destructive()
        .task(),
        tool(Spec { name: "vsphere_restart_vm", title: "Restart VM (hard)", description: "Hard-reset a VM (vSphere-MCP-Pro's name for vsphere_reset_vm).", category: "power", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::Reset) })
.params(&[VM])
        .destructive()
        .task(),
        tool(Spec { name: "vsphere_suspend_vm", title: "Suspend VM", description: "Suspend a VM to memory.", category: "power", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::Suspend) })
.params(&[VM])
        .task(),
        tool(Spec { name: "vsphere_shutdown_guest", title: "Shut down guest OS", description: "Ask the guest OS to shut down cleanly (needs VMware Tools).", category: "power", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::ShutdownGuest) })
.params(&[VM]),
        tool(Spec { name: "vsphere_reboot_guest", title: "Reboot guest OS", description: "Ask the guest OS to reboot cleanly (needs VMware Tools).", category: "power", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::RebootGuest) })
.params(&[VM]),
        // Snapshots
        tool(Spec { name: "vsphere_list_snapshots", title: "List snapshots", description: "List a VM's snapshot tree.", category: "snapshot", tier: Read, target: T::VirtualMachine, op: Op::Vm(VmOp::ListSnapshots) })
.params(&[VM]),
        tool(Spec { name: "vsphere_list_vm_snapshots", title: "List VM snapshots", description: "List a VM's snapshot tree (vSphere-MCP-Pro's name for vsphere_list_snapshots).", category: "snapshot", tier: Read, target: T::VirtualMachine, op: Op::Vm(VmOp::ListSnapshots) })
.params(&[VM]),
        tool(Spec { name: "vsphere_create_snapshot", title: "Create snapshot", description: "Create a snapshot of a VM.", category: "snapshot", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::CreateSnapshot) })
.params(&[VM])
        .params(&[VM, SNAPSHOT_NEW, SNAPSHOT_DESCRIPTION, SNAPSHOT_MEMORY, SNAPSHOT_QUIESCE])
        .task(),
        tool(Spec { name: "vsphere_create_vm_snapshot", title: "Create VM snapshot", description: "Create a snapshot of a VM (vSphere-MCP-Pro's name for vsphere_create_snapshot).", category: "snapshot", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::CreateSnapshot) })
.params(&[VM])
        .params(&[VM, SNAPSHOT_NEW, SNAPSHOT_DESCRIPTION, SNAPSHOT_MEMORY, SNAPSHOT_QUIESCE])
        .task(),
        tool(Spec { name: "vsphere_revert_to_snapshot", title: "Revert to snapshot", description: "Revert a VM to a snapshot: changes since the snapshot are lost.", category: "snapshot", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::RevertSnapshot) })
.params(&[VM])
        .params(&[VM, SNAPSHOT])
        .destructive()
        .task(),
        tool(Spec { name: "vsphere_delete_snapshot", title: "Delete snapshot", description: "Delete one snapshot (its changes are consolidated into the VM).", category: "snapshot", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::DeleteSnapshot) })
.params(&[VM])
        .params(&[VM, SNAPSHOT, REMOVE_CHILDREN])
        .destructive()
        .task(),
        tool(Spec { name: "vsphere_delete_vm_snapshot", title: "Delete VM snapshot", description: "Delete one snapshot (vSphere-MCP-Pro's name for vsphere_delete_snapshot).", category: "snapshot", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::DeleteSnapshot) })
.params(&[VM])
        .params(&[VM, SNAPSHOT, REMOVE_CHILDREN])
        .destructive()
        .task(),
        tool(Spec { name: "vsphere_delete_all_snapshots", title: "Delete all snapshots", description: "Delete every snapshot of a VM, consolidating the disks.", category: "snapshot", tier: Operate, target: T::VirtualMachine, op: Op::Vm(VmOp::DeleteAllSnapshots) })
.params(&[VM])
        .destructive()
        .task(),
        // Lifecycle
        tool(Spec { name: "vsphere_reconfigure_vm", title: "Reconfigure VM", description: "Change a VM's CPU count, memory or annotation.", category: "vm", tier: Change, target: T::VirtualMachine, op: Op::Vm(VmOp::Reconfigure) })
.params(&[VM])
        .params(&[VM, CPUS, MEMORY_MB, ANNOTATION])
        .task(),
        tool(Spec { name: "vsphere_modify_vm_resources", title: "Modify VM resources", description: "Change a VM's CPU count or memory (vSphere-MCP-Pro's name for vsphere_reconfigure_vm).", category: "vm", tier: Change, target: T::VirtualMachine, op: Op::Vm(VmOp::Reconfigure) })
.params(&[VM])
        .params(&[VM, CPUS, MEMORY_MB])
        .task(),
        tool(Spec { name: "vsphere_rename_vm", title: "Rename VM", description: "Give a VM a new name.", category: "vm", tier: Change, target: T::VirtualMachine, op: Op::Vm(VmOp::Rename) })
.params(&[VM])
        .params(&[VM, NEW_NAME])
        .task(),
        tool(Spec { name: "vsphere_clone_vm", title: "Clone VM", description: "Clone a VM or template into a new VM in the same folder (or the one given).", category: "vm", tier: Change, target: T::VirtualMachine, op: Op::Vm(VmOp::Clone) })
.params(&[VM])
        .params(&[VM, NEW_NAME, TARGET_FOLDER, POWER_ON])
        .task(),
        tool(Spec { name: "vsphere_delete_vm", title: "Delete VM", description: "Delete a VM and its disks permanently. It must be powered off.", category: "vm", tier: Change, target: T::VirtualMachine, op: Op::Vm(VmOp::Destroy) })
.params(&[VM])
        .destructive()
        .task(),
        tool(Spec { name: "vsphere_move_vm_to_folder", title: "Move VM to folder", description: "Move a VM into another VM folder of its datacenter.", category: "folder", tier: Change, target: T::VirtualMachine, op: Op::Vm(VmOp::MoveToFolder) })
.params(&[VM])
        .params(&[VM, FOLDER])
        .task(),
        tool(Spec { name: "vsphere_create_folder", title: "Create folder", description: "Create a VM folder under a datacenter's VM folder (or under the folder given as parent).", category: "folder", tier: Change, target: T::Endpoint, op: Op::Vm(VmOp::CreateFolder) })
        .params(&[FOLDER_NAME, PARENT_FOLDER]),
        // Disks and network adapters
        tool(Spec { name: "vsphere_list_disks", title: "List disks", description: "List a VM's virtual disks with size, file and provisioning.", category: "disk", tier: Read, target: T::VirtualMachine, op: Op::Device(DeviceOp::ListDisks) })
.params(&[VM]),
        tool(Spec { name: "vsphere_get_disk_info", title: "Get disk information", description: "One virtual disk of a VM, by label (e.g. \"Hard disk 1\") or device key.", category: "disk", tier: Read, target: T::VirtualMachine, op: Op::Device(DeviceOp::DiskInfo) })
.params(&[VM])
        .params(&[VM, DISK]),
        tool(Spec { name: "vsphere_add_disk", title: "Add disk", description: "Add a new virtual disk to a VM.", category: "disk", tier: Change, target: T::VirtualMachine, op: Op::Device(DeviceOp::AddDisk) })
.params(&[VM])
        .params(&[VM, SIZE_GB, THIN])
        .task(),
        tool(Spec { name: "vsphere_remove_disk", title: "Remove disk", description: "Detach a virtual disk from a VM; with delete_file, its data is destroyed.", category: "disk", tier: Change, target: T::VirtualMachine, op: Op::Device(DeviceOp::RemoveDisk) })
.params(&[VM])
        .params(&[VM, DISK, DELETE_FILE])
        .destructive()
        .task(),
        tool(Spec { name: "vsphere_resize_disk", title: "Resize disk", description: "Grow a virtual disk (disks cannot shrink).", category: "disk", tier: Change, target: T::VirtualMachine, op: Op::Device(DeviceOp::ResizeDisk) })
.params(&[VM])
        .params(&[VM, DISK, SIZE_GB])
        .task(),
        tool(Spec { name: "vsphere_list_nics", title: "List network adapters", description: "List a VM's network adapters with MAC address, network and connection state.", category: "nic", tier: Read, target: T::VirtualMachine, op: Op::Device(DeviceOp::ListNics) })
.params(&[VM]),
        tool(Spec { name: "vsphere_get_nic_info", title: "Get network adapter information", description: "One network adapter of a VM, by label (e.g. \"Network adapter 1\") or device key.", category: "nic", tier: Read, target: T::VirtualMachine, op: Op::Device(DeviceOp::NicInfo) })
.params(&[VM])
        .params(&[VM, NIC]),
        tool(Spec { name: "vsphere_add_nic", title: "Add network adapter", description: "Add a network adapter on a network (port group).", category: "nic", tier: Change, target: T::VirtualMachine, op: Op::Device(DeviceOp::AddNic) })
.params(&[VM])
        .params(&[VM, NETWORK, ADAPTER])
        .task(),
        tool(Spec { name: "vsphere_remove_nic", title: "Remove network adapter", description: "Remove a network adapter from a VM.", category: "nic", tier: Change, target: T::VirtualMachine, op: Op::Device(DeviceOp::RemoveNic) })
.params(&[VM])
        .params(&[VM, NIC])
        .task(),
        tool(Spec { name: "vsphere_connect_nic", title: "Connect or disconnect network adapter", description: "Connect (default) or disconnect a network adapter.", category: "nic", tier: Operate, target: T::VirtualMachine, op: Op::Device(DeviceOp::ConnectNic) })
.params(&[VM])
        .params(&[VM, NIC, CONNECTED])
        .task(),
        tool(Spec { name: "vsphere_change_nic_network", title: "Change adapter network", description: "Move a network adapter to another network (port group).", category: "nic", tier: Change, target: T::VirtualMachine, op: Op::Device(DeviceOp::ChangeNicNetwork) })
.params(&[VM])
        .params(&[VM, NIC, NETWORK])
        .task(),
        // Guest operations (VMware Tools): tier admin, as they run or touch
        // anything inside the guest.
        tool(Spec { name: "vsphere_run_command_in_guest", title: "Run command in guest", description: "Start a program inside the guest OS and wait for it (up to wait_seconds, default 30); returns its exit code.", category: "guest", tier: Admin, target: T::VirtualMachine, op: Op::Guest(GuestOp::RunInGuest) })
.params(&[VM])
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, PROGRAM, PROGRAM_ARGS, WORKING_DIR, RUN_WAIT]),
        tool(Spec { name: "vsphere_list_guest_processes", title: "List guest processes", description: "The processes running in the guest OS.", category: "guest", tier: Admin, target: T::VirtualMachine, op: Op::Guest(GuestOp::GuestProcesses) })
.params(&[VM])
        .params(&[VM, GUEST_USER, GUEST_PASSWORD]),
        tool(Spec { name: "vsphere_list_guest_directory", title: "List guest directory", description: "The files in a directory of the guest OS.", category: "guest", tier: Admin, target: T::VirtualMachine, op: Op::Guest(GuestOp::GuestDirectory) })
.params(&[VM])
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH]),
        tool(Spec { name: "vsphere_create_guest_directory", title: "Create guest directory", description: "Create a directory in the guest OS.", category: "guest", tier: Admin, target: T::VirtualMachine, op: Op::Guest(GuestOp::MakeGuestDirectory) })
.params(&[VM])
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH, CREATE_PARENTS]),
        tool(Spec { name: "vsphere_delete_guest_file", title: "Delete guest file", description: "Delete a file in the guest OS.", category: "guest", tier: Admin, target: T::VirtualMachine, op: Op::Guest(GuestOp::DeleteGuestFile) })
.params(&[VM])
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH])
        .destructive(),
        tool(Spec { name: "vsphere_read_guest_file", title: "Read guest file", description: "Read a file from the guest OS (at most 4 MiB): UTF-8 text as is, anything else as base64.", category: "guest", tier: Admin, target: T::VirtualMachine, op: Op::File(FileOp::ReadGuestFile) })
.params(&[VM])
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH]),
        tool(Spec { name: "vsphere_write_guest_file", title: "Write guest file", description: "Write a file into the guest OS (at most 4 MiB); an existing file is replaced only with overwrite=true.", category: "guest", tier: Admin, target: T::VirtualMachine, op: Op::File(FileOp::WriteGuestFile) })
.params(&[VM])
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH, CONTENT, ENCODING, OVERWRITE]),
        tool(Spec { name: "vsphere_vm_screenshot", title: "VM screenshot", description: "Capture the VM's console as a PNG image.", category: "monitoring", tier: Read, target: T::VirtualMachine, op: Op::File(FileOp::Screenshot) })
.params(&[VM]),
        // Serial ports (network appliances, headless systems)
        tool(Spec { name: "vsphere_get_serial_port", title: "Get serial ports", description: "A VM's serial ports with their URI, direction and connection state.", category: "serial", tier: Read, target: T::VirtualMachine, op: Op::Device(DeviceOp::GetSerialPorts) })
.params(&[VM]),
        tool(Spec { name: "vsphere_setup_serial_port", title: "Set up serial port", description: "Add a network serial port (e.g. telnet://:2001, server side) to a VM.", category: "serial", tier: Operate, target: T::VirtualMachine, op: Op::Device(DeviceOp::SetupSerialPort) })
.params(&[VM])
        .params(&[VM, SERIAL_URI, SERIAL_DIRECTION])
        .task(),
        tool(Spec { name: "vsphere_connect_serial_port", title: "Connect or disconnect serial port", description: "Connect (default) or disconnect a serial port.", category: "serial", tier: Operate, target: T::VirtualMachine, op: Op::Device(DeviceOp::ConnectSerialPort) })
.params(&[VM])
        .params(&[VM, SERIAL_PORT, CONNECTED])
        .task(),
        tool(Spec { name: "vsphere_clear_serial_port", title: "Clear serial port", description: "Disconnect and reconnect a serial port, dropping whoever is attached to it.", category: "serial", tier: Operate, target: T::VirtualMachine, op: Op::Device(DeviceOp::ClearSerialPort) })
.params(&[VM])
        .params(&[VM, SERIAL_PORT])
        .task(),
        tool(Spec { name: "vsphere_remove_serial_port", title: "Remove serial port", description: "Remove a serial port from a VM.", category: "serial", tier: Change, target: T::VirtualMachine, op: Op::Device(DeviceOp::RemoveSerialPort) })
.params(&[VM])
        .params(&[VM, SERIAL_PORT])
        .task(),
        // Monitoring
        tool(Spec { name: "vsphere_get_vm_tools_status", title: "Get VMware Tools status", description: "Whether VMware Tools is installed, running and current in a VM.", category: "monitoring", tier: Read, target: T::VirtualMachine, op: Op::Monitoring(MonitoringOp::ToolsStatus) })
.params(&[VM]),
        tool(Spec { name: "vsphere_wait_for_vm_tools", title: "Wait for VMware Tools", description: "Wait until VMware Tools runs in a VM (or wait_seconds pass; default 120).", category: "monitoring", tier: Read, target: T::VirtualMachine, op: Op::Monitoring(MonitoringOp::WaitForTools) })
.params(&[VM])
        .params(&[VM, WAIT_SECONDS]),
        tool(Spec { name: "vsphere_get_vm_stats", title: "Get VM statistics", description: "A VM's current CPU, memory, storage and uptime figures (quick statistics).", category: "monitoring", tier: Read, target: T::VirtualMachine, op: Op::Monitoring(MonitoringOp::VmStats) })
.params(&[VM]),
        tool(Spec { name: "vsphere_get_host_stats", title: "Get host statistics", description: "An ESXi host's current CPU and memory use (quick statistics).", category: "monitoring", tier: Read, target: T::HostSystem, op: Op::Monitoring(MonitoringOp::HostStats) })
        .params(&[HOST]),
        tool(Spec { name: "vsphere_get_alarms", title: "Get alarms", description: "Triggered alarms across the inventory.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Monitoring(MonitoringOp::Alarms) }),
        tool(Spec { name: "vsphere_get_cluster_info", title: "Get cluster information", description: "One cluster: hosts, resources, DRS and HA settings.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Monitoring(MonitoringOp::ClusterInfo) })
        .params(&[CLUSTER]),
        tool(Spec { name: "vsphere_get_resource_pool_info", title: "Get resource pool information", description: "One resource pool: allocations, VMs and child pools.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Monitoring(MonitoringOp::ResourcePoolInfo) })
        .params(&[POOL]),
        tool(Spec { name: "vsphere_get_network_info", title: "Get network information", description: "One network (port group): accessibility, hosts and VMs.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Monitoring(MonitoringOp::NetworkInfo) })
        .params(&[NETWORK]),
        tool(Spec { name: "vsphere_browse_datastore", title: "Browse datastore", description: "List the files in a datastore folder.", category: "datastore", tier: Read, target: T::Datastore, op: Op::Monitoring(MonitoringOp::BrowseDatastore) })
        .params(&[DATASTORE, DS_PATH]),
        tool(Spec { name: "vsphere_upload_to_datastore", title: "Upload to datastore", description: "Write a file (at most 4 MiB, given in the call) into a datastore; an existing file is replaced only with overwrite=true.", category: "datastore", tier: Change, target: T::Datastore, op: Op::File(FileOp::UploadToDatastore) })
        .params(&[DATASTORE, DS_FILE, CONTENT, ENCODING, OVERWRITE]),
        tool(Spec { name: "vsphere_download_from_datastore", title: "Download from datastore", description: "Read a file (at most 4 MiB) from a datastore: UTF-8 text as is, anything else as base64.", category: "datastore", tier: Read, target: T::Datastore, op: Op::File(FileOp::DownloadFromDatastore) })
        .params(&[DATASTORE, DS_FILE]),
        tool(Spec { name: "vsphere_list_ovf_networks", title: "List OVF networks", description: "The networks an OVF descriptor on a datastore asks for, to map them before deploying it.", category: "ovf", tier: Read, target: T::Datastore, op: Op::Ovf(OvfOp::ListOvfNetworks) })
        .params(&[DATASTORE, OVF_PATH]),
        tool(Spec { name: "vsphere_deploy_ovf", title: "Deploy OVF", description: "Deploy a VM from an OVF descriptor on a datastore; its disks are read from beside it on the same datastore.", category: "ovf", tier: Change, target: T::Datastore, op: Op::Ovf(OvfOp::DeployOvf) })
        .params(&[DATASTORE, OVF_PATH, NEW_VM_NAME, TARGET_FOLDER, VM_HOST, OVF_NETWORK])
        .task(),
        tool(Spec { name: "vsphere_export_ovf", title: "Export OVF", description: "Export a powered-off VM as OVF (descriptor and disks) into a datastore folder.", category: "ovf", tier: Change, target: T::VirtualMachine, op: Op::Ovf(OvfOp::ExportOvf) })
.params(&[VM])
        .params(&[VM, DATASTORE, EXPORT_FOLDER, OVERWRITE])
        .task(),
        // Tags (vSphere Automation API)
        tool(Spec { name: "vsphere_list_tags", title: "List tags", description: "Every tag with its category.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Tag(TagOp::ListTags) }),
        tool(Spec { name: "vsphere_get_vm_tags", title: "Get VM tags", description: "The tags attached to a VM.", category: "tags", tier: Read, target: T::VirtualMachine, op: Op::Tag(TagOp::VmTags) })
.params(&[VM]),
        tool(Spec { name: "vsphere_apply_tag_to_vm", title: "Apply tag to VM", description: "Attach a tag to a VM.", category: "tags", tier: Change, target: T::VirtualMachine, op: Op::Tag(TagOp::ApplyTag) })
.params(&[VM])
        .params(&[VM, TAG, TAG_CATEGORY]),
        tool(Spec { name: "vsphere_remove_tag_from_vm", title: "Remove tag from VM", description: "Detach a tag from a VM.", category: "tags", tier: Change, target: T::VirtualMachine, op: Op::Tag(TagOp::RemoveTag) })
.params(&[VM])
        .params(&[VM, TAG, TAG_CATEGORY]),
        // Placement
        tool(Spec { name: "vsphere_create_vm", title: "Create VM", description: "Create an empty VM (no disk or network: add them with vsphere_add_disk and vsphere_add_nic).", category: "vm", tier: Change, target: T::Endpoint, op: Op::Placement(PlacementOp::CreateVm) })
        .params(&[NEW_VM_NAME, DATASTORE, TARGET_FOLDER, VM_HOST, CPUS, MEMORY_MB, GUEST_ID])
        .task(),
        tool(Spec { name: "vsphere_delete_folder", title: "Delete folder", description: "Delete an empty VM folder (a folder that holds anything is refused).", category: "folder", tier: Change, target: T::Endpoint, op: Op::Placement(PlacementOp::DeleteFolder) })
        .params(&[FOLDER])
        .destructive()
        .task(),
        tool(Spec { name: "vsphere_create_resource_pool", title: "Create resource pool", description: "Create a resource pool (default shares, no limits) under a pool, or under the cluster's root pool.", category: "placement", tier: Change, target: T::Endpoint, op: Op::Placement(PlacementOp::CreateResourcePool) })
        .params(&[POOL_NAME, PARENT_POOL]),
        tool(Spec { name: "vsphere_delete_resource_pool", title: "Delete resource pool", description: "Delete a resource pool; its VMs move to the parent pool.", category: "placement", tier: Change, target: T::Endpoint, op: Op::Placement(PlacementOp::DeleteResourcePool) })
        .params(&[POOL])
        .task(),
        tool(Spec { name: "vsphere_move_vm_to_resource_pool", title: "Move VM to resource pool", description: "Move a VM into a resource pool.", category: "placement", tier: Change, target: T::VirtualMachine, op: Op::Placement(PlacementOp::MoveToPool) })
.params(&[VM])
        .params(&[VM, POOL])
        .task(),
        tool(Spec { name: "vsphere_migrate_vm", title: "Migrate VM", description: "Move a VM to another host (vMotion), datastore (Storage vMotion), or both.", category: "placement", tier: Operate, target: T::VirtualMachine, op: Op::Placement(PlacementOp::Migrate) })
.params(&[VM])
        .params(&[VM, VM_HOST, TARGET_DATASTORE])
        .task(),
        tool(Spec { name: "vsphere_cancel_task", title: "Cancel task", description: "Ask vCenter to cancel a running task (by its id, e.g. task-123).", category: "task", tier: Operate, target: T::Endpoint, op: Op::Placement(PlacementOp::CancelTask) })
        .params(&[TASK]),
        // Inventory
        tool(Spec { name: "vsphere_list_hosts", title: "List hosts", description: "List ESXi hosts with connection state, maintenance mode, CPU and memory.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::ListHosts) })
        .resource("hosts"),
        tool(Spec { name: "vsphere_get_host_info", title: "Get host information", description: "Configuration and state of one ESXi host.", category: "host", tier: Read, target: T::HostSystem, op: Op::Inventory(InventoryOp::HostInfo) })
        .params(&[HOST]),
        tool(Spec { name: "vsphere_list_datastores", title: "List datastores", description: "List datastores with type, capacity and free space.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::ListDatastores) })
        .resource("datastores"),
        tool(Spec { name: "vsphere_get_datastore_info", title: "Get datastore information", description: "Capacity, usage and the VMs of one datastore.", category: "datastore", tier: Read, target: T::Datastore, op: Op::Inventory(InventoryOp::DatastoreInfo) })
        .params(&[DATASTORE]),
        tool(Spec { name: "vsphere_get_datastore_usage", title: "Get datastore usage", description: "Capacity, free space and percentage used of every datastore.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::ListDatastores) }),
        tool(Spec { name: "vsphere_list_networks", title: "List networks", description: "List networks and port groups.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::ListNetworks) })
        .resource("networks"),
        tool(Spec { name: "vsphere_list_datacenters", title: "List datacenters", description: "List datacenters.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::ListDatacenters) }),
        tool(Spec { name: "vsphere_list_clusters", title: "List clusters", description: "List compute clusters with their hosts and resources.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::ListClusters) })
        .resource("clusters"),
        tool(Spec { name: "vsphere_list_resource_pools", title: "List resource pools", description: "List resource pools.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::ListResourcePools) })
        .resource("resource-pools"),
        tool(Spec { name: "vsphere_list_folders", title: "List folders", description: "List VM folders with their paths.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::ListFolders) }),
        tool(Spec { name: "vsphere_get_resource_utilization_summary", title: "Get resource utilization summary", description: "CPU, memory and storage used and available across hosts and datastores.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::ResourceSummary) }),
        tool(Spec { name: "vsphere_get_vcenter_info", title: "Get vCenter information", description: "vCenter product, version, build and API version.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::VcenterInfo) }),
        tool(Spec { name: "vsphere_list_recent_tasks", title: "List recent tasks", description: "Recent vCenter tasks with state and target.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::RecentTasks) })
        .params(&[LIMIT]),
        tool(Spec { name: "vsphere_get_recent_events", title: "Get recent events", description: "Recent vCenter events.", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::RecentEvents) })
        .params(&[LIMIT]),
        tool(Spec { name: "vsphere_list_recent_events", title: "List recent events", description: "Recent vCenter events (mcvsphere's other name for vsphere_get_recent_events).", category: "inventory", tier: Read, target: T::Endpoint, op: Op::Inventory(InventoryOp::RecentEvents) })
        .params(&[LIMIT]),
        // Hosts
        tool(Spec { name: "vsphere_get_host_hardware", title: "Get host hardware", description: "An ESXi host's hardware: vendor, model, CPU, memory, BIOS.", category: "host", tier: Read, target: T::HostSystem, op: Op::Host(HostOp::HostHardware) })
.params(&[HOST]),
        tool(Spec { name: "vsphere_get_host_networking", title: "Get host networking", description: "An ESXi host's virtual switches, port groups, VMkernel and physical NICs.", category: "host", tier: Read, target: T::HostSystem, op: Op::Host(HostOp::HostNetworking) })
.params(&[HOST]),
        tool(Spec { name: "vsphere_get_ntp_config", title: "Get NTP configuration", description: "An ESXi host's NTP servers and time zone.", category: "host", tier: Read, target: T::HostSystem, op: Op::Host(HostOp::NtpConfig) })
.params(&[HOST]),
        tool(Spec { name: "vsphere_list_services", title: "List host services", description: "An ESXi host's services (SSH, NTP, ...) with state and start policy.", category: "host", tier: Read, target: T::HostSystem, op: Op::Host(HostOp::ListServices) })
.params(&[HOST]),
        tool(Spec { name: "vsphere_get_service_status", title: "Get service status", description: "One host service's state and start policy.", category: "host", tier: Read, target: T::HostSystem, op: Op::Host(HostOp::ServiceStatus) })
.params(&[HOST])
        .params(&[HOST, SERVICE]),
        tool(Spec { name: "vsphere_start_service", title: "Start host service", description: "Start a host service (e.g. TSM-SSH, ntpd).", category: "host", tier: Admin, target: T::HostSystem, op: Op::Host(HostOp::StartService) })
.params(&[HOST])
        .params(&[HOST, SERVICE]),
        tool(Spec { name: "vsphere_stop_service", title: "Stop host service", description: "Stop a host service.", category: "host", tier: Admin, target: T::HostSystem, op: Op::Host(HostOp::StopService) })
.params(&[HOST])
        .params(&[HOST, SERVICE]),
        tool(Spec { name: "vsphere_restart_service", title: "Restart host service", description: "Restart a host service.", category: "host", tier: Admin, target: T::HostSystem, op: Op::Host(HostOp::RestartService) })
.params(&[HOST])
        .params(&[HOST, SERVICE]),
        tool(Spec { name: "vsphere_reboot_host", title: "Reboot host", description: "Reboot an ESXi host; without force it must be in maintenance mode.", category: "host", tier: Admin, target: T::HostSystem, op: Op::Host(HostOp::RebootHost) })
.params(&[HOST])
        .params(&[HOST, FORCE])
        .destructive()
        .task(),
        tool(Spec { name: "vsphere_shutdown_host", title: "Shut down host", description: "Shut an ESXi host down; without force it must be in maintenance mode.", category: "host", tier: Admin, target: T::HostSystem, op: Op::Host(HostOp::ShutdownHost) })
.params(&[HOST])
        .params(&[HOST, FORCE])
        .destructive()
        .task(),
        tool(Spec { name: "vsphere_enter_maintenance_mode", title: "Enter maintenance mode", description: "Put an ESXi host into maintenance mode; its VMs must be moved or powered off first.", category: "host", tier: Admin, target: T::HostSystem, op: Op::Host(HostOp::EnterMaintenance) })
        .params(&[HOST])
        .task(),
        tool(Spec { name: "vsphere_exit_maintenance_mode", title: "Exit maintenance mode", description: "Take an ESXi host out of maintenance mode.", category: "host", tier: Admin, target: T::HostSystem, op: Op::Host(HostOp::ExitMaintenance) })
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
