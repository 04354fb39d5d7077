//! mcp-pve's node tools beyond list and status: version, DNS, time,
//! syslog, services; and stopping a task.

use super::{in_family, tool, Spec, Target as T, NODE, UPID};
use crate::catalog::{Decl, DestructiveIf, Param, Tier::*, Ty};

use super::Method::*;

fn node_read(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    path: &'static str,
) -> Decl {
    in_family(
        "nodes",
        Read,
        T::Node,
        (Get, path),
        name,
        title,
        description,
    )
    .params(&[NODE])
}

/// Stopping or restarting pveproxy, corosync or sshd can cut the node off.
const STOP_OR_RESTART: &[DestructiveIf] = &[DestructiveIf {
    param: "command",
    values: &["stop", "restart"],
}];

pub(super) fn tools() -> Vec<Decl> {
    vec![
        node_read("pve_get_node_version", "Get node version", "Get the Proxmox VE version of a node.", "/nodes/{node}/version"),
        node_read("pve_get_node_dns", "Get node DNS", "Get a node's DNS settings (search domain, servers).", "/nodes/{node}/dns"),
        node_read("pve_get_node_time", "Get node time", "Get a node's time and time zone.", "/nodes/{node}/time"),
        node_read("pve_get_node_syslog", "Get node syslog", "Read a node's system log.", "/nodes/{node}/syslog").params(&[
            NODE,
            Param::optional("start", Ty::Int { min: 0, max: 100_000_000 }, "First line (default 0)."),
            Param::optional("limit", Ty::Int { min: 1, max: 10_000 }, "At most this many lines (default 50)."),
        ]),
        node_read("pve_list_node_services", "List node services", "List a node's system services and their state.", "/nodes/{node}/services"),
        tool(Spec {
            name: "pve_manage_node_service",
            title: "Manage node service",
            description: "Start, stop, restart or reload a node's system service. Stopping or restarting pveproxy, corosync or sshd can cut the node off.",
            category: "nodes",
            tier: Admin,
            target: T::Node,
            method: Post,
            path: "/nodes/{node}/services/{service}/{command}",
        })
        .params(&[
            NODE,
            Param::required(
                "service",
                Ty::Ident {
                    pattern: r"^[a-z][a-z0-9-]{0,63}$",
                    max_len: 64,
                    what: "a service name (e.g. pveproxy, pvedaemon, corosync)",
                },
                "Service, e.g. pveproxy.",
            ),
            Param::required(
                "command",
                Ty::Ident {
                    pattern: r"^(?:start|stop|restart|reload)$",
                    max_len: 7,
                    what: "one of start, stop, restart, reload",
                },
                "start, stop, restart or reload.",
            ),
        ])
        .task()
        .destructive_if(STOP_OR_RESTART),
        tool(Spec {
            name: "pve_stop_task",
            title: "Stop task",
            description: "Stop a running task; its work so far may be lost.",
            category: "tasks",
            tier: Operate,
            target: T::Task,
            method: Delete,
            path: "/nodes/{node}/tasks/{upid}",
        })
        .params(&[NODE, UPID])
        .destructive(),
    ]
}
