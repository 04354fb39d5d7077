//! mcp-pve's bulk guest actions (Proxmox VE 9.1+): one API call starts,
//! shuts down, suspends or migrates many guests, and each guest is
//! authorized, and recorded, as the resource it is.

use super::{in_family, Target as T};
use crate::catalog::{Decl, Param, Tier::*, Ty};

use super::Method::*;

const VMS: Param = Param::required(
    "vms",
    Ty::IntList {
        min: 100,
        max: 999_999_999,
        max_items: 1000,
    },
    "Guest ids, e.g. [100, 101]; each must be allowed.",
);
const MAX_WORKERS: Param = Param::optional(
    "max_workers",
    Ty::Int { min: 1, max: 64 },
    "Guests handled at once.",
);

fn bulk(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    path: &'static str,
) -> Decl {
    in_family(
        "cluster",
        Operate,
        T::Guests,
        (Post, path),
        name,
        title,
        description,
    )
    .per_guest("vms")
    .task()
}

pub(super) fn tools() -> Vec<Decl> {
    vec![
        bulk("pve_bulk_start_guests", "Start guests (bulk)", "Start several guests in startup order.", "/cluster/bulk-action/guest/start")
            .params(&[VMS, Param::optional("timeout", Ty::Int { min: 0, max: 86_400 }, "Seconds to wait for each VM."), MAX_WORKERS]),
        bulk(
            "pve_bulk_shutdown_guests",
            "Shut down guests (bulk)",
            "Shut several guests down in reverse startup order; by Proxmox VE's default a guest that does not stop in time is stopped hard.",
            "/cluster/bulk-action/guest/shutdown",
        )
        .params(&[
            VMS,
            Param::optional("timeout", Ty::Int { min: 0, max: 86_400 }, "Seconds to wait for each guest (default 180)."),
            Param::optional("force_stop", Ty::Bool, "Stop a guest hard when the timeout passes (default true)."),
            MAX_WORKERS,
        ])
        .destructive(),
        bulk("pve_bulk_suspend_guests", "Suspend guests (bulk)", "Suspend several VMs (containers are skipped).", "/cluster/bulk-action/guest/suspend").params(&[
            VMS,
            Param::optional("to_disk", Ty::Bool, "Hibernate to disk."),
            Param::optional("statestorage", Ty::STORAGE, "Storage for the saved state (with to_disk)."),
            MAX_WORKERS,
        ]),
        bulk("pve_bulk_migrate_guests", "Migrate guests (bulk)", "Migrate several guests to another node.", "/cluster/bulk-action/guest/migrate").params(&[
            VMS,
            Param::required("target", Ty::NODE, "Node to migrate to."),
            Param::optional("online", Ty::Bool, "Live-migrate running VMs (restart containers)."),
            Param::optional("with_local_disks", Ty::Bool, "Migrate local disks too."),
            MAX_WORKERS,
        ]),
    ]
}
