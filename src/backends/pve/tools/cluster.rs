//! mcp-pve's read-only cluster tools beyond status and resources.

use super::{in_family, Target as T};
use crate::catalog::{Decl, Param, Tier::*, Ty};

use super::Method::*;

fn cluster_read(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    path: &'static str,
) -> Decl {
    in_family(
        "cluster",
        Read,
        T::Endpoint,
        (Get, path),
        name,
        title,
        description,
    )
}

pub(super) fn tools() -> Vec<Decl> {
    vec![
        cluster_read(
            "pve_get_next_vmid",
            "Get next free VM id",
            "Get the next free guest id.",
            "/cluster/nextid",
        ),
        cluster_read(
            "pve_get_cluster_log",
            "Get cluster log",
            "Read the cluster log.",
            "/cluster/log",
        )
        .params(&[Param::optional(
            "max",
            Ty::Int {
                min: 1,
                max: 10_000,
            },
            "At most this many entries.",
        )]),
        cluster_read(
            "pve_get_cluster_options",
            "Get cluster options",
            "Get datacenter options; credentials in the proxy URL are withheld.",
            "/cluster/options",
        ),
        cluster_read(
            "pve_list_cluster_backup_info",
            "List guests without backup",
            "List guests that no backup job covers.",
            "/cluster/backup-info/not-backed-up",
        ),
        cluster_read(
            "pve_get_cluster_ha_status",
            "Get HA status",
            "Get the current high-availability status.",
            "/cluster/ha/status/current",
        ),
        cluster_read(
            "pve_list_cluster_replication",
            "List replication jobs",
            "List storage replication jobs.",
            "/cluster/replication",
        ),
    ]
}
