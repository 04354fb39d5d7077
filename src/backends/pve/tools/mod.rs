//! Proxmox VE tools: names, arguments and meaning as in mcp-pve, each with
//! its tier, destructive flag, target resource and REST call.

use crate::catalog::{
    template_names, BackendKind, Decl, Head, Operation, Param, Tier, ToolDef, Ty,
};

/// Proxmox VE's own value formats.
impl Ty {
    /// A Proxmox VE node name (a DNS label).
    pub const NODE: Ty = Ty::Ident {
        pattern: r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$",
        max_len: 63,
        what: "a node name (letters, digits and inner hyphens, at most 63)",
    };
    /// A Proxmox VE guest id, as PVE bounds it.
    pub const VMID: Ty = Ty::Int {
        min: 100,
        max: 999_999_999,
    };
    /// A snapshot name, as PVE's `pve-configid` format.
    pub const SNAPNAME: Ty = Ty::Ident {
        pattern: r"^[A-Za-z][A-Za-z0-9_-]{1,39}$",
        max_len: 40,
        what: "a snapshot name (a letter, then 1-39 letters, digits, '_' or '-')",
    };
    /// A storage id, as PVE's `pve-storage-id` format.
    pub const STORAGE: Ty = Ty::Ident {
        pattern: r"^[A-Za-z][A-Za-z0-9._-]{0,99}$",
        max_len: 100,
        what: "a storage id (a letter, then letters, digits, '.', '_' or '-')",
    };
    /// A Proxmox VE task id: `UPID:node:pid:pstart:starttime:type:id:user:`.
    pub const UPID: Ty = Ty::Ident {
        pattern: r"^UPID:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8}:[A-Za-z0-9_]{1,32}:[A-Za-z0-9_.-]{0,64}:[A-Za-z0-9_.@!-]{1,128}:$",
        max_len: 320,
        what: "a task UPID (UPID:node:pid:pstart:starttime:type:id:user:)",
    };
    /// A guest name (a DNS name, as PVE requires).
    pub const GUEST_NAME: Ty = Ty::Ident {
        pattern: r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$",
        max_len: 63,
        what: "a DNS name (letters, digits, '.' and '-')",
    };
    /// Tags as PVE takes them: `;`-separated DNS-like labels.
    pub const TAGS: Ty = Ty::Ident {
        pattern: r"^[A-Za-z0-9_][A-Za-z0-9_+.-]{0,63}(?:;[A-Za-z0-9_][A-Za-z0-9_+.-]{0,63}){0,31}$",
        max_len: 2080,
        what: "tags separated by ';', each starting with a letter, digit or '_' (then also '+', '.', '-')",
    };
}

/// Proxmox VE property strings, with the keys each takes (PVE's
/// `pve-qm-net`, `pve-qm-drive`, `pve-vm-cpu-conf`, `pve-ct-network`,
/// `pve-ct-rootfs`, `pve-qm-boot` formats).
impl Ty {
    pub const QEMU_NET: Ty = Ty::PropString {
        keys: &[
            "virtio",
            "e1000",
            "e1000e",
            "rtl8139",
            "vmxnet3",
            "model",
            "macaddr",
            "bridge",
            "firewall",
            "link_down",
            "mtu",
            "queues",
            "rate",
            "tag",
            "trunks",
        ],
        max_len: 512,
        what: "a network device (e.g. virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1)",
    };
    pub const QEMU_DRIVE: Ty = Ty::PropString {
        keys: &[
            "file",
            "media",
            "size",
            "cache",
            "discard",
            "iothread",
            "ssd",
            "backup",
            "replicate",
            "format",
            "aio",
            "ro",
            "serial",
            "cyls",
            "heads",
            "secs",
            "trans",
            "snapshot",
            "import-from",
            "detect_zeroes",
            "werror",
            "rerror",
            "shared",
        ],
        max_len: 1024,
        what: "a drive (e.g. local-lvm:32,discard=on,ssd=1 or local:iso/debian.iso,media=cdrom)",
    };
    pub const QEMU_CPU: Ty = Ty::PropString {
        keys: &[
            "cputype",
            "flags",
            "hidden",
            "hv-vendor-id",
            "phys-bits",
            "reported-model",
        ],
        max_len: 512,
        what: "a CPU type (e.g. host or x86-64-v2-AES,flags=+aes)",
    };
    pub const QEMU_BOOT: Ty = Ty::PropString {
        keys: &["order", "legacy"],
        max_len: 256,
        what: "a boot order (e.g. order=scsi0;ide2;net0)",
    };
    pub const LXC_NET: Ty = Ty::PropString {
        keys: &[
            "name",
            "bridge",
            "firewall",
            "gw",
            "gw6",
            "hwaddr",
            "ip",
            "ip6",
            "link_down",
            "mtu",
            "rate",
            "tag",
            "trunks",
            "type",
        ],
        max_len: 512,
        what: "a container network device (e.g. name=eth0,bridge=vmbr0,ip=dhcp)",
    };
    pub const LXC_ROOTFS: Ty = Ty::PropString {
        keys: &[
            "volume",
            "size",
            "acl",
            "backup",
            "mountoptions",
            "quota",
            "replicate",
            "ro",
            "shared",
        ],
        max_len: 512,
        what: "a root file system (e.g. local-lvm:8)",
    };
}

/// The object a Proxmox VE call acts on, named by its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// List-style tools act on the endpoint itself.
    Endpoint,
    Node,
    Vm,
    Container,
    /// A storage; scoped to a node when the tool takes one.
    Storage,
    Task,
    /// A resource pool, named by `poolid`.
    Pool,
    /// A Proxmox VE user, named by `userid`.
    PveUser,
    /// A permission path, named by `path`.
    AclPath,
    /// An HA resource, named by `sid`.
    HaResource,
    /// An HA rule, named by `rule`.
    HaRule,
    /// A cluster firewall rule, named by `pos`.
    FirewallRule,
    /// A backup job, named by `id`.
    BackupJob,
    /// A node's network interface, named by `iface`.
    NetworkInterface,
    /// Every guest `vms` lists, each authorized alone.
    Guests,
}

impl Target {
    /// The Cedar entity type of this target.
    pub fn entity_type(self) -> &'static str {
        match self {
            Target::Endpoint => "Endpoint",
            Target::Node => "Node",
            Target::Vm => "Vm",
            Target::Container => "Container",
            Target::Storage => "Storage",
            Target::Task => "Task",
            Target::Pool => "Pool",
            Target::PveUser => "PveUser",
            Target::AclPath => "AclPath",
            Target::HaResource => "HaResource",
            Target::HaRule => "HaRule",
            Target::FirewallRule => "FirewallRule",
            Target::BackupJob => "BackupJob",
            Target::NetworkInterface => "NetworkInterface",
            Target::Guests => "Vm, Container",
        }
    }
}

/// HTTP method of a REST call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

/// How the REST API runs a tool: method, a path template whose `{name}`
/// placeholders are filled from path parameters, and the target.
#[derive(Debug, Clone, Copy)]
pub struct RestCall {
    pub method: Method,
    pub path: &'static str,
    pub target: Target,
}

impl Operation for RestCall {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn path_params(&self) -> Vec<&'static str> {
        template_names(self.path)
    }
}

/// The REST call of a Proxmox VE tool.
pub fn rest_call(tool: &ToolDef) -> Option<&RestCall> {
    tool.operation::<RestCall>()
}

pub(super) const NODE: Param = Param::required("node", Ty::NODE, "Node name.");
pub(super) const VMID: Param = Param::required("vmid", Ty::VMID, "Guest id.");
pub(super) const SNAPNAME: Param = Param::required("snapname", Ty::SNAPNAME, "Snapshot name.");
pub(super) const STORAGE: Param = Param::required("storage", Ty::STORAGE, "Storage id.");
pub(super) const UPID: Param =
    Param::required("upid", Ty::UPID, "Task id (UPID) as returned by an action.");
pub(super) const DESCRIPTION: Param = Param::optional(
    "description",
    Ty::Text { max_len: 8192 },
    "Free-text description.",
);

mod access;
mod admin;
mod bulk;
mod cluster;
mod ha;
mod lxc;
mod nodes;
mod qemu;

/// One Proxmox VE tool, every field named (a title and a description
/// cannot be swapped).
struct Spec {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    tier: Tier,
    target: Target,
    method: Method,
    path: &'static str,
}

/// Guest statistics over a time frame (mcp-pve's `timeframe`).
const TIMEFRAME: Param = Param::required(
    "timeframe",
    Ty::Enum(&["hour", "day", "week", "month", "year"]),
    "Time frame of the statistics.",
);

/// A tool of a family whose helper fixes some of its fields (`at`: its
/// method and path).
#[allow(
    clippy::too_many_arguments,
    reason = "every field named at the call site's helper"
)]
fn in_family(
    category: &'static str,
    tier: Tier,
    target: Target,
    at: (Method, &'static str),
    name: &'static str,
    title: &'static str,
    description: &'static str,
) -> Decl {
    tool(Spec {
        name,
        title,
        description,
        category,
        tier,
        target,
        method: at.0,
        path: at.1,
    })
}

fn tool(s: Spec) -> Decl {
    Decl::new(
        Head {
            name: s.name,
            title: s.title,
            description: s.description,
            backend: BackendKind::Pve,
            category: s.category,
            tier: s.tier,
            target: s.target.entity_type(),
        },
        RestCall {
            method: s.method,
            path: s.path,
            target: s.target,
        },
    )
    .idempotent(matches!(
        s.method,
        Method::Get | Method::Put | Method::Delete
    ))
}

pub fn tools() -> Vec<ToolDef> {
    use Method::*;
    use Target as T;
    use Tier::*;
    vec![
        // Nodes
        tool(Spec {
            name: "pve_list_nodes",
            title: "List nodes",
            description: "List all nodes in the cluster with status, CPU and memory.",
            category: "nodes",
            tier: Read,
            target: T::Endpoint,
            method: Get,
            path: "/nodes",
        }),
        tool(Spec {
            name: "pve_get_node_status",
            title: "Get node status",
            description: "Get detailed node status (CPU, memory, uptime, load).",
            category: "nodes",
            tier: Read,
            target: T::Node,
            method: Get,
            path: "/nodes/{node}/status",
        })
        .params(&[NODE]),
        // QEMU virtual machines
        tool(Spec {
            name: "pve_list_qemu_vms",
            title: "List QEMU VMs",
            description: "List all QEMU VMs on a node.",
            category: "qemu",
            tier: Read,
            target: T::Node,
            method: Get,
            path: "/nodes/{node}/qemu",
        })
        .params(&[NODE]),
        tool(Spec {
            name: "pve_get_qemu_status",
            title: "Get VM status",
            description: "Get current VM status (CPU, memory, disk, network).",
            category: "qemu",
            tier: Read,
            target: T::Vm,
            method: Get,
            path: "/nodes/{node}/qemu/{vmid}/status/current",
        })
        .params(&[NODE, VMID]),
        tool(Spec {
            name: "pve_get_qemu_config",
            title: "Get VM configuration",
            description: "Get the VM configuration.",
            category: "qemu",
            tier: Read,
            target: T::Vm,
            method: Get,
            path: "/nodes/{node}/qemu/{vmid}/config",
        })
        .params(&[NODE, VMID]),
        tool(Spec {
            name: "pve_list_qemu_snapshots",
            title: "List VM snapshots",
            description: "List all snapshots of a VM.",
            category: "qemu",
            tier: Read,
            target: T::Vm,
            method: Get,
            path: "/nodes/{node}/qemu/{vmid}/snapshot",
        })
        .params(&[NODE, VMID]),
        tool(Spec {
            name: "pve_start_qemu_vm",
            title: "Start VM",
            description: "Start a VM.",
            category: "qemu",
            tier: Operate,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu/{vmid}/status/start",
        })
        .params(&[NODE, VMID])
        .task()
        .idempotent(true),
        tool(Spec {
            name: "pve_stop_qemu_vm",
            title: "Stop VM (immediate)",
            description: "Stop a VM at once, like pulling its plug: unsaved state is lost.",
            category: "qemu",
            tier: Operate,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu/{vmid}/status/stop",
        })
        .params(&[NODE, VMID])
        .task()
        .destructive()
        .idempotent(true),
        tool(Spec {
            name: "pve_shutdown_qemu_vm",
            title: "Shut down VM",
            description: "Shut a VM down cleanly (ACPI or guest agent).",
            category: "qemu",
            tier: Operate,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu/{vmid}/status/shutdown",
        })
        .params(&[
            NODE,
            VMID,
            Param::optional(
                "timeout",
                Ty::Int { min: 1, max: 3600 },
                "Seconds to wait for the guest.",
            ),
            Param::optional(
                "forceStop",
                Ty::Bool,
                "Stop the VM if the shutdown times out.",
            ),
        ])
        .task()
        .idempotent(true),
        tool(Spec {
            name: "pve_reboot_qemu_vm",
            title: "Reboot VM",
            description: "Reboot a VM (shut down, then start).",
            category: "qemu",
            tier: Operate,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu/{vmid}/status/reboot",
        })
        .params(&[NODE, VMID])
        .task(),
        tool(Spec {
            name: "pve_create_qemu_snapshot",
            title: "Create VM snapshot",
            description: "Create a snapshot of a VM.",
            category: "qemu",
            tier: Operate,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu/{vmid}/snapshot",
        })
        .params(&[
            NODE,
            VMID,
            SNAPNAME,
            DESCRIPTION,
            Param::optional("vmstate", Ty::Bool, "Include the VM's RAM in the snapshot."),
        ])
        .task(),
        tool(Spec {
            name: "pve_rollback_qemu_snapshot",
            title: "Roll back VM to snapshot",
            description: "Roll a VM back to a snapshot, losing everything since.",
            category: "qemu",
            tier: Operate,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback",
        })
        .params(&[NODE, VMID, SNAPNAME])
        .task()
        .destructive()
        .idempotent(true),
        tool(Spec {
            name: "pve_delete_qemu_snapshot",
            title: "Delete VM snapshot",
            description: "Delete a VM snapshot.",
            category: "qemu",
            tier: Operate,
            target: T::Vm,
            method: Delete,
            path: "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}",
        })
        .params(&[NODE, VMID, SNAPNAME])
        .task()
        .destructive(),
        tool(Spec {
            name: "pve_update_qemu_config",
            title: "Update VM configuration",
            description: "Update a VM's configuration.",
            category: "qemu",
            tier: Change,
            target: T::Vm,
            method: Put,
            path: "/nodes/{node}/qemu/{vmid}/config",
        })
        .params(&[
            NODE,
            VMID,
            Param::optional("name", Ty::GUEST_NAME, "New VM name."),
            Param::optional(
                "cores",
                Ty::Int { min: 1, max: 1024 },
                "CPU cores per socket.",
            ),
            Param::optional("sockets", Ty::Int { min: 1, max: 16 }, "CPU sockets."),
            Param::optional(
                "memory",
                Ty::Int {
                    min: 16,
                    max: 8_388_608,
                },
                "Memory in MiB.",
            ),
            Param::optional("onboot", Ty::Bool, "Start at boot."),
            Param::optional("tags", Ty::TAGS, "Tags, separated by ';'."),
            Param::optional(
                "cpu",
                Ty::QEMU_CPU,
                "CPU type and flags, e.g. host,flags=+aes.",
            ),
            Param::optional(
                "net0",
                Ty::QEMU_NET,
                "First network device, e.g. virtio,bridge=vmbr0.",
            ),
            Param::optional(
                "scsi0",
                Ty::QEMU_DRIVE,
                "First SCSI drive, e.g. local-lvm:32.",
            ),
            DESCRIPTION,
        ]),
        tool(Spec {
            name: "pve_clone_qemu_vm",
            title: "Clone VM",
            description: "Clone a VM or template to a new VM id.",
            category: "qemu",
            tier: Change,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu/{vmid}/clone",
        })
        .params(&[
            NODE,
            VMID,
            Param::required("newid", Ty::VMID, "Id of the new VM."),
            Param::optional("name", Ty::GUEST_NAME, "Name of the new VM."),
            Param::optional("target", Ty::NODE, "Node to put the clone on."),
            Param::optional("full", Ty::Bool, "Full clone instead of a linked clone."),
            Param::optional("storage", Ty::STORAGE, "Target storage for a full clone."),
            Param::optional(
                "snapname",
                Ty::SNAPNAME,
                "Clone the state of this snapshot.",
            ),
            DESCRIPTION,
        ])
        .task(),
        tool(Spec {
            name: "pve_delete_qemu_vm",
            title: "Delete VM",
            description: "Delete a VM and all its data. This cannot be undone.",
            category: "qemu",
            tier: Change,
            target: T::Vm,
            method: Delete,
            path: "/nodes/{node}/qemu/{vmid}",
        })
        .params(&[
            NODE,
            VMID,
            Param::optional(
                "purge",
                Ty::Bool,
                "Also remove the VM from backup jobs, replication and HA.",
            ),
            Param::optional(
                "destroy-unreferenced-disks",
                Ty::Bool,
                "Also destroy disks not referenced in the config.",
            ),
        ])
        .task()
        .destructive(),
        // LXC containers
        tool(Spec {
            name: "pve_list_lxc_containers",
            title: "List LXC containers",
            description: "List all LXC containers on a node.",
            category: "lxc",
            tier: Read,
            target: T::Node,
            method: Get,
            path: "/nodes/{node}/lxc",
        })
        .params(&[NODE]),
        tool(Spec {
            name: "pve_start_lxc_container",
            title: "Start container",
            description: "Start a container.",
            category: "lxc",
            tier: Operate,
            target: T::Container,
            method: Post,
            path: "/nodes/{node}/lxc/{vmid}/status/start",
        })
        .params(&[NODE, VMID])
        .task()
        .idempotent(true),
        tool(Spec {
            name: "pve_stop_lxc_container",
            title: "Stop container (immediate)",
            description: "Stop a container at once: processes are killed, not shut down.",
            category: "lxc",
            tier: Operate,
            target: T::Container,
            method: Post,
            path: "/nodes/{node}/lxc/{vmid}/status/stop",
        })
        .params(&[NODE, VMID])
        .task()
        .destructive()
        .idempotent(true),
        // Storage
        tool(Spec {
            name: "pve_list_storage",
            title: "List storage",
            description: "List all configured storage backends.",
            category: "storage",
            tier: Read,
            target: T::Endpoint,
            method: Get,
            path: "/storage",
        })
        .params(&[Param::optional(
            "type",
            Ty::Enum(&[
                "btrfs",
                "cephfs",
                "cifs",
                "dir",
                "esxi",
                "glusterfs",
                "iscsi",
                "iscsidirect",
                "lvm",
                "lvmthin",
                "nfs",
                "pbs",
                "rbd",
                "zfs",
                "zfspool",
            ]),
            "Only this storage type.",
        )]),
        tool(Spec {
            name: "pve_list_storage_content",
            title: "List storage content",
            description: "List storage content (images, ISOs, backups).",
            category: "storage",
            tier: Read,
            target: T::Storage,
            method: Get,
            path: "/nodes/{node}/storage/{storage}/content",
        })
        .params(&[
            NODE,
            STORAGE,
            Param::optional(
                "content",
                Ty::Enum(&[
                    "images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import",
                ]),
                "Only this content type.",
            ),
            Param::optional("vmid", Ty::VMID, "Only volumes of this guest."),
        ]),
        // Cluster
        tool(Spec {
            name: "pve_get_cluster_status",
            title: "Get cluster status",
            description: "Get cluster status (membership, quorum).",
            category: "cluster",
            tier: Read,
            target: T::Endpoint,
            method: Get,
            path: "/cluster/status",
        }),
        tool(Spec {
            name: "pve_list_cluster_resources",
            title: "List cluster resources",
            description: "List all cluster resources with an optional type filter.",
            category: "cluster",
            tier: Read,
            target: T::Endpoint,
            method: Get,
            path: "/cluster/resources",
        })
        .params(&[Param::optional(
            "type",
            Ty::Enum(&["vm", "storage", "node", "sdn"]),
            "Only this resource type.",
        )]),
        // Tasks
        tool(Spec {
            name: "pve_list_tasks",
            title: "List tasks",
            description: "List recent tasks on a node.",
            category: "tasks",
            tier: Read,
            target: T::Node,
            method: Get,
            path: "/nodes/{node}/tasks",
        })
        .params(&[
            NODE,
            Param::optional(
                "limit",
                Ty::Int { min: 1, max: 1000 },
                "At most this many tasks (default 50).",
            ),
            Param::optional("vmid", Ty::VMID, "Only tasks of this guest."),
            Param::optional(
                "start",
                Ty::Int {
                    min: 0,
                    max: 10_000_000,
                },
                "Skip this many tasks (paging).",
            ),
            Param::optional(
                "typefilter",
                Ty::Ident {
                    pattern: r"^[a-z][a-z0-9_]{0,31}$",
                    max_len: 32,
                    what: "a task type (e.g. qmstart, vzdump)",
                },
                "Only tasks of this type, e.g. qmstart or vzdump.",
            ),
            Param::optional("errors", Ty::Bool, "Only failed tasks."),
            Param::optional(
                "source",
                Ty::Enum(&["archive", "active", "all"]),
                "Which tasks to list.",
            ),
        ]),
        tool(Spec {
            name: "pve_get_task_status",
            title: "Get task status",
            description: "Get task status by UPID.",
            category: "tasks",
            tier: Read,
            target: T::Task,
            method: Get,
            path: "/nodes/{node}/tasks/{upid}/status",
        })
        .params(&[NODE, UPID]),
        tool(Spec {
            name: "pve_get_task_log",
            title: "Get task log",
            description: "Get task log output by UPID.",
            category: "tasks",
            tier: Read,
            target: T::Task,
            method: Get,
            path: "/nodes/{node}/tasks/{upid}/log",
        })
        .params(&[
            NODE,
            UPID,
            Param::optional(
                "start",
                Ty::Int {
                    min: 0,
                    max: 10_000_000,
                },
                "First line to return.",
            ),
            Param::optional(
                "limit",
                Ty::Int { min: 1, max: 5000 },
                "At most this many lines.",
            ),
        ]),
    ]
    .into_iter()
    .chain(qemu::tools())
    .chain(lxc::tools())
    .chain(nodes::tools())
    .chain(cluster::tools())
    .chain(access::tools())
    .chain(ha::tools())
    .chain(admin::tools())
    .chain(bulk::tools())
    .map(|d| d.0)
    .collect()
}
