//! mcp-pve's LXC container tools beyond start, stop and list.

use super::{in_family, Target as T, DESCRIPTION, NODE, SNAPNAME, TIMEFRAME, VMID};
use crate::catalog::{Decl, Param, Tier::*, Ty};

use super::Method::*;

/// One container, by node and id.
fn ct(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    tier: crate::catalog::Tier,
    method: super::Method,
    path: &'static str,
) -> Decl {
    in_family(
        "lxc",
        tier,
        T::Container,
        (method, path),
        name,
        title,
        description,
    )
    .params(&[NODE, VMID])
}

const HOSTNAME: Param = Param::optional("hostname", Ty::GUEST_NAME, "Container host name.");
const MEMORY: Param = Param::optional(
    "memory",
    Ty::Int {
        min: 16,
        max: 8_388_608,
    },
    "Memory in MiB (default 512).",
);
const SWAP: Param = Param::optional(
    "swap",
    Ty::Int {
        min: 0,
        max: 8_388_608,
    },
    "Swap in MiB (default 512).",
);
const CORES: Param = Param::optional(
    "cores",
    Ty::Int { min: 1, max: 8192 },
    "CPU cores (default: all).",
);
const NET0: Param = Param::optional(
    "net0",
    Ty::LXC_NET,
    "First network device, e.g. name=eth0,bridge=vmbr0,ip=dhcp.",
);

pub(super) fn tools() -> Vec<Decl> {
    vec![
        ct("pve_get_lxc_status", "Get container status", "Get current container status (CPU, memory, disk, network).", Read, Get, "/nodes/{node}/lxc/{vmid}/status/current"),
        ct("pve_get_lxc_config", "Get container configuration", "Get the container configuration.", Read, Get, "/nodes/{node}/lxc/{vmid}/config"),
        ct("pve_get_lxc_rrddata", "Get container statistics", "Get container performance statistics over a time frame.", Read, Get, "/nodes/{node}/lxc/{vmid}/rrddata")
            .params(&[NODE, VMID, TIMEFRAME]),
        ct("pve_list_lxc_snapshots", "List container snapshots", "List all snapshots of a container.", Read, Get, "/nodes/{node}/lxc/{vmid}/snapshot"),
        ct("pve_shutdown_lxc_container", "Shut down container", "Cleanly shut down a container.", Operate, Post, "/nodes/{node}/lxc/{vmid}/status/shutdown")
            .task()
            .idempotent(true),
        ct("pve_reboot_lxc_container", "Reboot container", "Reboot a container.", Operate, Post, "/nodes/{node}/lxc/{vmid}/status/reboot").task(),
        ct("pve_suspend_lxc_container", "Suspend container", "Freeze a container's processes (experimental in Proxmox VE).", Operate, Post, "/nodes/{node}/lxc/{vmid}/status/suspend").task(),
        ct("pve_resume_lxc_container", "Resume container", "Thaw a suspended container.", Operate, Post, "/nodes/{node}/lxc/{vmid}/status/resume")
            .task()
            .idempotent(true),
        ct("pve_create_lxc_container", "Create container", "Create an LXC container from a template.", Change, Post, "/nodes/{node}/lxc")
            .params(&[
                NODE,
                VMID,
                Param::required(
                    "ostemplate",
                    Ty::Ident {
                        pattern: r"^[A-Za-z][A-Za-z0-9._-]{0,99}:[A-Za-z0-9._-]+(?:/[A-Za-z0-9._+-]+)*$",
                        max_len: 512,
                        what: "a template volume (e.g. local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst)",
                    },
                    "Template volume, e.g. local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst.",
                ),
                HOSTNAME,
                MEMORY,
                SWAP,
                CORES,
                Param::optional("rootfs", Ty::LXC_ROOTFS, "Root file system, e.g. local-lvm:8."),
                NET0,
                Param::optional("password", Ty::Secret { max_len: 256 }, "Root password (never logged or shown to policy)."),
                Param::optional("unprivileged", Ty::Bool, "Run as an unprivileged container."),
                Param::optional("start", Ty::Bool, "Start the container once created."),
                Param::optional("ssh_public_keys", Ty::Text { max_len: 16_384 }, "SSH public keys for root, one per line."),
                Param::optional("storage", Ty::STORAGE, "Default storage for the root file system."),
                Param::optional("entrypoint", Ty::Text { max_len: 1024 }, "Command to run (OCI application containers, PVE 9.1+)."),
                Param::optional(
                    "env",
                    Ty::IdList {
                        pattern: r"^[A-Za-z_][A-Za-z0-9_]{0,127}=[^\x00-\x1f]{0,1024}$",
                        max_items: 64,
                        what: "environment variables as KEY=VALUE",
                    },
                    "Environment variables as KEY=VALUE (OCI application containers).",
                ),
            ])
            .task(),
        ct("pve_delete_lxc_container", "Delete container", "Delete a container and all its data. This cannot be undone.", Change, Delete, "/nodes/{node}/lxc/{vmid}")
            .params(&[
                NODE,
                VMID,
                Param::optional("purge", Ty::Bool, "Also remove the container from backup jobs, replication and HA."),
                Param::optional("force", Ty::Bool, "Stop the container first if it runs."),
                Param::optional("destroy-unreferenced-disks", Ty::Bool, "Also destroy disks not referenced in the config."),
            ])
            .task()
            .destructive(),
        ct("pve_update_lxc_config", "Update container configuration", "Update a container's configuration.", Change, Put, "/nodes/{node}/lxc/{vmid}/config")
            .params(&[
                NODE,
                VMID,
                HOSTNAME,
                MEMORY,
                SWAP,
                CORES,
                DESCRIPTION,
                Param::optional("onboot", Ty::Bool, "Start at boot."),
                NET0,
            ]),
        ct("pve_clone_lxc_container", "Clone container", "Clone a container or template to a new id.", Change, Post, "/nodes/{node}/lxc/{vmid}/clone")
            .params(&[
                NODE,
                VMID,
                Param::required("newid", Ty::VMID, "Id of the new container."),
                HOSTNAME,
                Param::optional("target", Ty::NODE, "Node to put the clone on."),
                Param::optional("full", Ty::Bool, "Full clone instead of a linked clone."),
                DESCRIPTION,
                Param::optional("snapname", Ty::SNAPNAME, "Clone the state of this snapshot."),
                Param::optional("storage", Ty::STORAGE, "Target storage for a full clone."),
            ])
            .task(),
        ct("pve_create_lxc_snapshot", "Create container snapshot", "Create a snapshot of a container.", Operate, Post, "/nodes/{node}/lxc/{vmid}/snapshot")
            .params(&[NODE, VMID, SNAPNAME, DESCRIPTION])
            .task(),
        ct("pve_delete_lxc_snapshot", "Delete container snapshot", "Delete a container snapshot.", Operate, Delete, "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}")
            .params(&[NODE, VMID, SNAPNAME])
            .task()
            .destructive(),
        ct("pve_rollback_lxc_snapshot", "Roll back container to snapshot", "Roll a container back to a snapshot, losing everything since.", Operate, Post, "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback")
            .params(&[NODE, VMID, SNAPNAME])
            .task()
            .destructive()
            .idempotent(true),
    ]
}
