//! vSphere tools over the vim25 SOAP API: vSphere-MCP-Pro's tools and
//! mcvsphere's, with the seeds' verbs. Where the two seeds name the same
//! operation differently, both names are offered (each users' tools keep
//! working) and map to one operation.

mod devices;
mod files;
mod guest;
mod hosts;
mod inventory;
mod monitoring;
mod ovf;
mod placement;
mod tags;
mod vm;

use crate::catalog::{
    Alias, BackendKind, Decl, DestructiveIf, Head, Operation, Param, Tier, ToolDef, Ty,
};

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
    RevertToCurrentSnapshot,
    RenameSnapshot,
    Reconfigure,
    Rename,
    Destroy,
    Clone,
    CreateFolder,
    MoveToFolder,
    ConvertToTemplate,
    ConvertToVm,
    StandbyGuest,
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
    AttachIso,
    DetachIso,
    SetNicMac,
    MoveDisk,
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
    DrsRecommendations,
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
    SetServicePolicy,
    ConfigureNtp,
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
    DeleteDatastoreFile,
    MakeDatastoreFolder,
    MoveDatastoreFile,
    CopyDatastoreFile,
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
/// Optional: mcvsphere's host tools take no host (it connects to one ESXi
/// host); without one, the call acts on the endpoint's only host, and is
/// refused where there are several.
const HOST: Param = Param::optional(
    "host",
    Ty::VS_NAME,
    "The ESXi host's name (may be left out where the endpoint has one host).",
);
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
    Decl::new(
        Head {
            name: s.name,
            title: s.title,
            description: s.description,
            backend: BackendKind::Vsphere,
            category: s.category,
            tier: s.tier,
            target: s.target.entity_type(),
        },
        VimCall {
            op: s.op,
            target: s.target,
        },
    )
}

/// mcvsphere 0.2.3, as released, names five tools otherwise than its
/// documentation does (and than Portcullis, which follows the
/// documentation): the package's names, the tool each stands for, and the
/// alias's description.
const MCVSPHERE_PACKAGE_NAMES: [(&str, &str, &str); 5] = [
    (
        "vsphere_power_on",
        "vsphere_power_on_vm",
        "Power on a VM (mcvsphere 0.2.3's name for vsphere_power_on_vm).",
    ),
    (
        "vsphere_power_off",
        "vsphere_power_off_vm",
        "Force a VM off, like pulling the plug (mcvsphere 0.2.3's name for vsphere_power_off_vm).",
    ),
    (
        "vsphere_extend_disk",
        "vsphere_resize_disk",
        "Grow a virtual disk (mcvsphere 0.2.3's name for vsphere_resize_disk).",
    ),
    (
        "vsphere_export_vm_ovf",
        "vsphere_export_ovf",
        "Export a powered-off VM as OVF into a datastore folder (mcvsphere 0.2.3's name for vsphere_export_ovf).",
    ),
    (
        "vsphere_get_recent_tasks",
        "vsphere_list_recent_tasks",
        "Recent vCenter tasks (mcvsphere 0.2.3's name for vsphere_list_recent_tasks).",
    ),
];

/// The seeds' names for Portcullis's arguments (mcvsphere 0.2.3 as
/// released, vSphere-MCP-Pro), in their units. A tool accepts each whose
/// parameter it has, unless the name is a parameter of its own.
const PEER_ARGUMENTS: &[Alias] = &[
    Alias::same("name", "vm"),
    Alias::same("vm_name", "vm"),
    Alias::same("vm_id", "vm"),
    Alias::same("template_name", "vm"),
    Alias::same("snapshot_name", "snapshot"),
    Alias::same("snapshot_id", "snapshot"),
    Alias::same("new_description", "description"),
    Alias::same("disk_label", "disk"),
    Alias::same("new_size_gb", "size_gb"),
    Alias::same("nic_label", "nic"),
    Alias::same("new_network", "network"),
    Alias::same("folder_path", "folder"),
    Alias::same("cpu_count", "cpus"),
    Alias::same("cpu", "cpus"),
    Alias::scaled("memory_gb", "memory_mb", 1024, "GiB"),
    Alias::same("host_name", "host"),
    Alias::same("cluster_name", "cluster"),
    Alias::same("resource_pool", "pool"),
    Alias::same("service_key", "service"),
    Alias::same("remote_path", "path"),
    Alias::same("guest_path", "path"),
    Alias::same("username", "guest_user"),
    Alias::same("password", "guest_password"),
    Alias::same("force", "overwrite"),
    Alias::same("count", "limit"),
    Alias::same("max_count", "limit"),
];

/// Names a seed gives an argument in some tools only: mcvsphere's `name`
/// is a datastore, a network or a pool in these.
const PEER_ARGUMENTS_BY_TOOL: &[(&str, Alias)] = &[
    (
        "vsphere_get_datastore_info",
        Alias::same("name", "datastore"),
    ),
    ("vsphere_get_network_info", Alias::same("name", "network")),
    (
        "vsphere_get_resource_pool_info",
        Alias::same("name", "pool"),
    ),
    ("vsphere_create_folder", Alias::same("folder_name", "name")),
    (
        "vsphere_create_folder",
        Alias::same("parent_path", "parent"),
    ),
    ("vsphere_clone_vm", Alias::same("new_vm_name", "new_name")),
    (
        "vsphere_deploy_from_template",
        Alias::same("new_vm_name", "new_name"),
    ),
    (
        "vsphere_storage_vmotion",
        Alias::same("target_datastore", "datastore"),
    ),
    // A direction, only where it is the argument's.
    (
        "vsphere_move_vm_disk",
        Alias::same("target_datastore", "datastore"),
    ),
    (
        "vsphere_migrate_vm",
        Alias::same("target_datastore", "datastore"),
    ),
    (
        "vsphere_move_datastore_file",
        Alias::same("source_datastore", "datastore"),
    ),
    (
        "vsphere_move_datastore_file",
        Alias::same("source_path", "path"),
    ),
    (
        "vsphere_copy_datastore_file",
        Alias::same("source_datastore", "datastore"),
    ),
    (
        "vsphere_copy_datastore_file",
        Alias::same("source_path", "path"),
    ),
    ("vsphere_export_ovf", Alias::same("target_path", "folder")),
];

/// vSphere-MCP-Pro's sixteen tools, which take its per-call RBAC `token`
/// (Portcullis authenticates the connection instead) and `verbose` (no
/// effect on its answers) besides their own; and `confirm`, which its
/// clients send on tools it counts destructive and Portcullis does not.
const VSPHERE_MCP_PRO_TOOLS: [&str; 16] = [
    "vsphere_list_vms",
    "vsphere_get_vm_details",
    "vsphere_power_on_vm",
    "vsphere_power_off_vm",
    "vsphere_restart_vm",
    "vsphere_list_vm_snapshots",
    "vsphere_create_vm_snapshot",
    "vsphere_delete_vm_snapshot",
    "vsphere_modify_vm_resources",
    "vsphere_delete_vm",
    "vsphere_list_hosts",
    "vsphere_list_datastores",
    "vsphere_list_networks",
    "vsphere_list_datacenters",
    "vsphere_get_datastore_usage",
    "vsphere_get_resource_utilization_summary",
];

/// What a vSphere-MCP-Pro tool drops (`confirm` only where it is not
/// Portcullis's own argument).
fn dropped(t: &ToolDef) -> &'static [&'static str] {
    if !VSPHERE_MCP_PRO_TOOLS.contains(&t.name) {
        &[]
    } else if t.destructive {
        &["token", "verbose"]
    } else {
        &["token", "verbose", "confirm"]
    }
}

/// The peers' argument names a tool accepts.
fn peer_aliases(t: &ToolDef) -> Vec<Alias> {
    let own = |n: &str| t.all_params().any(|p| p.name == n);
    PEER_ARGUMENTS
        .iter()
        .copied()
        .chain(
            PEER_ARGUMENTS_BY_TOOL
                .iter()
                .filter(|(tool, _)| *tool == t.name)
                .map(|(_, a)| *a),
        )
        .filter(|a| own(a.of) && !own(a.name))
        .collect()
}

/// Every vSphere tool, in the order the catalog presents them (sections of
/// the families' modules); an alias follows the tool it stands for.
pub fn tools() -> Vec<ToolDef> {
    let mut all = canonical();
    for t in &mut all {
        t.aliases = peer_aliases(t);
        t.dropped = dropped(t);
        if VSPHERE_MCP_PRO_TOOLS.contains(&t.name) {
            t.endpoint_host_arg = Some("hostname");
        }
    }
    for (alias, of, description) in MCVSPHERE_PACKAGE_NAMES {
        let at = all
            .iter()
            .position(|t| t.name == of)
            .unwrap_or_else(|| unreachable!("{alias} stands for {of}, which is declared"));
        // mcvsphere's names: not vSphere-MCP-Pro's `hostname`.
        let tool = ToolDef {
            name: alias,
            description,
            stands_for: Some(of),
            endpoint_host_arg: None,
            ..all[at].clone()
        };
        all.insert(at + 1, tool);
    }
    all
}

fn canonical() -> Vec<ToolDef> {
    [
        inventory::vms(),
        vm::tools(),
        devices::disks_and_nics(),
        guest::tools(),
        files::guest_files(),
        devices::serial_ports(),
        monitoring::tools(),
        files::datastore_files(),
        ovf::tools(),
        tags::tools(),
        placement::tools(),
        inventory::inventory(),
        hosts::tools(),
    ]
    .concat()
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
const DESTINATION_DATASTORE: Param =
    Param::required("datastore", Ty::VS_NAME, "The destination datastore.");
const THIN_PROVISION: Param = Param::optional(
    "thin_provision",
    Ty::Bool,
    "With a datastore: ask for thin (true) or thick (false) disks there (a hint vCenter may ignore, as for mcvsphere); default: as they are.",
);
const CLONE_DATASTORE: Param = Param::optional(
    "datastore",
    Ty::VS_NAME,
    "The datastore for the clone; default: the source's.",
);
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
const DS_ENTRY: Param = Param::required(
    "path",
    Ty::RelPath { max_len: 1024 },
    "The file's or folder's path inside the datastore, e.g. iso/old.iso.",
);
const DS_NEW_FOLDER: Param = Param::required(
    "path",
    Ty::RelPath { max_len: 1024 },
    "The new folder's path inside the datastore, e.g. iso/linux; missing parents are created.",
);
const DEST_DATASTORE: Param = Param::optional(
    "dest_datastore",
    Ty::VS_NAME,
    "The destination datastore (default: the source's).",
);
const DEST_PATH: Param = Param::optional(
    "dest_path",
    Ty::RelPath { max_len: 1024 },
    "The destination path inside it (default: the source's path).",
);
const REPLACE: Param = Param::optional(
    "overwrite",
    Ty::Bool,
    "Replace what is at the destination (default false: refuse).",
);
/// When moving or copying replaces what is at the destination.
const REPLACING: &[DestructiveIf] = &[DestructiveIf {
    param: "overwrite",
    values: &["true"],
}];
const ISO_PATH: Param = Param::required(
    "iso_path",
    Ty::Text { max_len: 1024 },
    "The ISO image: \"[datastore] path/to.iso\", or its path inside datastore (default: the VM's own datastore).",
);
const ISO_DATASTORE: Param = Param::optional(
    "datastore",
    Ty::VS_NAME,
    "The datastore holding the ISO, when iso_path does not name it in brackets (default: the VM's own).",
);
const CDROM: Param = Param::optional(
    "cdrom",
    Ty::VS_NAME,
    "The CD/DVD drive's label (e.g. \"CD/DVD drive 1\") or key; may be left out when the VM has only one.",
);
const MAC_ADDRESS: Param = Param::required(
    "mac_address",
    Ty::Ident {
        pattern: r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$",
        max_len: 17,
        what: "a MAC address such as 00:50:56:00:12:34",
    },
    "The address to set, e.g. 00:50:56:00:12:34 (vCenter takes manual addresses from 00:50:56:00:00:00 to 00:50:56:3F:FF:FF).",
);
const DISK_DESTINATION: Param = Param::required(
    "datastore",
    Ty::VS_NAME,
    "The datastore to move the disk to.",
);
const SNAPSHOT_RENAMED: Param =
    Param::optional("new_name", Ty::VS_NAME, "The snapshot's new name.");
const SNAPSHOT_REDESCRIBED: Param = Param::optional(
    "description",
    Ty::Text { max_len: 4096 },
    "The snapshot's new description.",
);
const TEMPLATE_POOL: Param = Param::optional(
    "pool",
    Ty::VS_NAME,
    "The resource pool for the VM (name or id); default: the root pool of the template's host or cluster.",
);
const TEMPLATE_HOST: Param = Param::optional(
    "host",
    Ty::VS_NAME,
    "The host to run it on (default: the template's own).",
);
const SERVICE_POLICY: Param = Param::required(
    "policy",
    Ty::Enum(&["on", "off", "automatic"]),
    "When the service starts: on (with the host), off (only by hand), automatic (when a firewall port it uses is open).",
);
const NTP_SERVERS: Param = Param::required(
    "ntp_servers",
    Ty::IdList {
        pattern: r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$",
        max_items: 8,
        what: "an NTP server's host name or IP address",
    },
    "The NTP servers, replacing the host's list (e.g. [\"0.pool.ntp.org\"]).",
);
const START_NTPD: Param = Param::optional(
    "start_service",
    Ty::Bool,
    "Also set ntpd to start with the host and (re)start it now (default true).",
);

#[cfg(test)]
mod tests {
    use super::*;

    /// An alias is its tool under another name: same arguments, tier,
    /// category, destructiveness, target and operation, so a policy about
    /// either decides both alike.
    #[test]
    fn mcvsphere_package_names_are_their_tools_under_another_name() {
        let all = tools();
        let get = |n: &str| {
            all.iter()
                .find(|t| t.name == n)
                .unwrap_or_else(|| panic!("{n}"))
        };
        for (alias, of, _) in MCVSPHERE_PACKAGE_NAMES {
            let (a, t) = (get(alias), get(of));
            assert_eq!(
                format!("{:?}", a.params),
                format!("{:?}", t.params),
                "{alias}"
            );
            assert_eq!(
                (a.tier, a.category, a.destructive, a.target, a.returns_task),
                (t.tier, t.category, t.destructive, t.target, t.returns_task),
                "{alias}"
            );
            assert_eq!(
                format!("{:?}", a.operation),
                format!("{:?}", t.operation),
                "{alias}"
            );
            assert!(a.description.contains(of), "{alias} names {of}");
        }
    }
}
