//! mcp-pve's QEMU tools beyond the first release: statistics, suspend,
//! resume, hard reset, migration and creation.

use super::{tool, Spec, Target as T, DESCRIPTION, NODE, TIMEFRAME, VMID};
use crate::catalog::{Decl, Param, Tier::*, Ty};

use super::Method::*;

pub(super) fn tools() -> Vec<Decl> {
    vec![
        tool(Spec {
            name: "pve_get_qemu_rrddata",
            title: "Get VM statistics",
            description:
                "Get VM performance statistics (CPU, memory, disk, network) over a time frame.",
            category: "qemu",
            tier: Read,
            target: T::Vm,
            method: Get,
            path: "/nodes/{node}/qemu/{vmid}/rrddata",
        })
        .params(&[NODE, VMID, TIMEFRAME]),
        tool(Spec {
            name: "pve_suspend_qemu_vm",
            title: "Suspend VM",
            description: "Pause a running VM, keeping its memory.",
            category: "qemu",
            tier: Operate,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu/{vmid}/status/suspend",
        })
        .params(&[NODE, VMID])
        .task(),
        tool(Spec {
            name: "pve_resume_qemu_vm",
            title: "Resume VM",
            description: "Resume a suspended VM.",
            category: "qemu",
            tier: Operate,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu/{vmid}/status/resume",
        })
        .params(&[NODE, VMID])
        .task()
        .idempotent(true),
        tool(Spec {
            name: "pve_reset_qemu_vm",
            title: "Reset VM (hard)",
            description:
                "Hard-reset a VM, like pressing its reset button: unsaved guest state is lost.",
            category: "qemu",
            tier: Operate,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu/{vmid}/status/reset",
        })
        .params(&[NODE, VMID])
        .task()
        .destructive(),
        tool(Spec {
            name: "pve_migrate_qemu_vm",
            title: "Migrate VM",
            description: "Migrate a VM to another node (online: while it runs).",
            category: "qemu",
            tier: Operate,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu/{vmid}/migrate",
        })
        .params(&[
            NODE,
            VMID,
            Param::required("target", Ty::NODE, "Node to migrate to."),
            Param::optional("online", Ty::Bool, "Live-migrate a running VM."),
        ])
        .task(),
        tool(Spec {
            name: "pve_create_qemu_vm",
            title: "Create VM",
            description: "Create a QEMU VM.",
            category: "qemu",
            tier: Change,
            target: T::Vm,
            method: Post,
            path: "/nodes/{node}/qemu",
        })
        .params(&[
            NODE,
            VMID,
            Param::optional("name", Ty::GUEST_NAME, "VM name."),
            Param::optional(
                "memory",
                Ty::Int {
                    min: 16,
                    max: 8_388_608,
                },
                "Memory in MiB (default 512).",
            ),
            Param::optional(
                "cores",
                Ty::Int { min: 1, max: 1024 },
                "CPU cores per socket (default 1).",
            ),
            Param::optional(
                "sockets",
                Ty::Int { min: 1, max: 16 },
                "CPU sockets (default 1).",
            ),
            Param::optional(
                "ostype",
                Ty::Enum(&[
                    "other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10",
                    "win11", "l24", "l26", "solaris",
                ]),
                "Guest OS type.",
            ),
            Param::optional(
                "ide2",
                Ty::QEMU_DRIVE,
                "IDE drive 2, e.g. local:iso/debian.iso,media=cdrom.",
            ),
            Param::optional(
                "scsi0",
                Ty::QEMU_DRIVE,
                "First SCSI drive, e.g. local-lvm:32.",
            ),
            Param::optional(
                "net0",
                Ty::QEMU_NET,
                "First network device, e.g. virtio,bridge=vmbr0.",
            ),
            Param::optional(
                "scsihw",
                Ty::Enum(&[
                    "lsi",
                    "lsi53c810",
                    "virtio-scsi-pci",
                    "virtio-scsi-single",
                    "megasas",
                    "pvscsi",
                ]),
                "SCSI controller model.",
            ),
            Param::optional(
                "boot",
                Ty::QEMU_BOOT,
                "Boot order, e.g. order=scsi0;ide2;net0.",
            ),
            Param::optional("start", Ty::Bool, "Start the VM once created."),
            DESCRIPTION,
        ])
        .task(),
    ]
}
