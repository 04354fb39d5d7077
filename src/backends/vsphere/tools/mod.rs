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

use crate::catalog::{BackendKind, Decl, Head, Operation, Param, Tier, ToolDef, Ty};

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

/// Every vSphere tool, in the order the catalog presents them (sections of
/// the families' modules).
pub fn tools() -> Vec<ToolDef> {
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
