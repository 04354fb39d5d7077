//! mcp-pve's administration tools: the cluster firewall, storage
//! configuration, node network, backup jobs and datacenter options. Each
//! that can cut access off or lose data is destructive.

use super::{in_family, Target as T, NODE, STORAGE};
use crate::catalog::{Decl, DestructiveIf, Param, Tier, Tier::*, Ty};

use super::Method::*;

const fn ident(pattern: &'static str, max_len: usize, what: &'static str) -> Ty {
    Ty::Ident {
        pattern,
        max_len,
        what,
    }
}

const VERDICT: Ty = Ty::Enum(&["ACCEPT", "DROP", "REJECT"]);
const ADDRESSES: Ty = ident(
    r"^!?[A-Za-z0-9:+_][A-Za-z0-9.:/+_-]{0,127}(?:,[A-Za-z0-9:_][A-Za-z0-9.:/_-]{0,127}){0,63}$",
    4096,
    "addresses, CIDRs, ranges, an alias or +ipset (comma-separated, optional leading !)",
);
const PORTS: Ty = ident(
    r"^[A-Za-z0-9-]{1,32}(?::[0-9]{1,5})?(?:,[A-Za-z0-9-]{1,32}(?::[0-9]{1,5})?){0,63}$",
    1024,
    "ports or ranges (e.g. 22, 8000:8100, https)",
);
const RULE_FIELDS: [Param; 7] = [
    Param::optional("enable", Ty::Bool, "Rule enabled (default true)."),
    Param::optional(
        "source",
        ADDRESSES,
        "Source address, CIDR, alias or +ipset.",
    ),
    Param::optional(
        "dest",
        ADDRESSES,
        "Destination address, CIDR, alias or +ipset.",
    ),
    Param::optional(
        "proto",
        ident(r"^[a-z0-9-]{1,16}$", 16, "a protocol (e.g. tcp, udp, icmp)"),
        "Protocol, e.g. tcp.",
    ),
    Param::optional("dport", PORTS, "Destination ports."),
    Param::optional("sport", PORTS, "Source ports."),
    Param::optional("comment", Ty::Text { max_len: 1024 }, "Comment."),
];
const POS: Param = Param::required("pos", Ty::Int { min: 0, max: 9999 }, "Rule position.");

/// A DROP or REJECT rule, or a firewall switched on or to a dropping
/// policy, can lock everyone (Portcullis included) out.
const CUTS_OFF_RULE: &[DestructiveIf] = &[DestructiveIf {
    param: "action",
    values: &["DROP", "REJECT"],
}];
const CUTS_OFF_OPTIONS: &[DestructiveIf] = &[
    DestructiveIf {
        param: "enable",
        values: &["true"],
    },
    DestructiveIf {
        param: "policy_in",
        values: &["DROP", "REJECT"],
    },
    DestructiveIf {
        param: "policy_out",
        values: &["DROP", "REJECT"],
    },
];

const NET_TYPE: Ty = Ty::Enum(&[
    "bridge",
    "bond",
    "eth",
    "alias",
    "vlan",
    "OVSBridge",
    "OVSBond",
    "OVSPort",
    "OVSIntPort",
]);
const IFACE: Param = Param::required(
    "iface",
    ident(
        r"^[A-Za-z][A-Za-z0-9._-]{0,20}$",
        21,
        "an interface name (e.g. vmbr1, bond0, eno1.100)",
    ),
    "Interface name.",
);
const IPV4: Ty = ident(r"^(?:[0-9]{1,3}\.){3}[0-9]{1,3}$", 15, "an IPv4 address");
const NET_FIELDS: [Param; 8] = [
    Param::required("type", NET_TYPE, "Interface type."),
    Param::optional("address", IPV4, "IPv4 address."),
    Param::optional("netmask", IPV4, "IPv4 netmask."),
    Param::optional("gateway", IPV4, "Default gateway."),
    Param::optional(
        "bridge_ports",
        ident(
            r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,20}(?: [A-Za-z0-9_][A-Za-z0-9._-]{0,20}){0,31}$",
            1024,
            "interface names separated by spaces",
        ),
        "Bridge ports, separated by spaces.",
    ),
    Param::optional("bridge_vlan_aware", Ty::Bool, "VLAN-aware bridge."),
    Param::optional("autostart", Ty::Bool, "Bring up at boot."),
    Param::optional("comments", Ty::Text { max_len: 1024 }, "Comments."),
];

const VMIDS: Ty = ident(
    r"^[0-9]{3,9}(?:,[0-9]{3,9}){0,999}$",
    10_000,
    "guest ids separated by commas",
);
const MODE: Param = Param::optional(
    "mode",
    Ty::Enum(&["snapshot", "suspend", "stop"]),
    "Backup mode (default snapshot).",
);
const COMPRESS: Param = Param::optional(
    "compress",
    Ty::Enum(&["0", "gzip", "lzo", "zstd"]),
    "Compression.",
);
const MAILNOTIFICATION: Param = Param::optional(
    "mailnotification",
    Ty::Enum(&["always", "failure"]),
    "When to send mail.",
);
const MAILTO: Param = Param::optional(
    "mailto",
    ident(
        r"^[^\s@,]{1,64}@[^\s@,]{1,255}(?:,[^\s@,]{1,64}@[^\s@,]{1,255}){0,15}$",
        4096,
        "email addresses separated by commas",
    ),
    "Mail recipients, separated by commas.",
);
const JOB_ID: Param = Param::required(
    "id",
    ident(
        r"^[A-Za-z0-9_][A-Za-z0-9._:-]{0,63}$",
        64,
        "a backup job id",
    ),
    "Backup job id.",
);

/// One tool; `at` is its method and path.
fn spec(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    tier: Tier,
    target: T,
    at: (super::Method, &'static str),
) -> Decl {
    let (method, path) = at;
    in_family(
        category,
        tier,
        target,
        (method, path),
        name,
        title,
        description,
    )
}

pub(super) fn tools() -> Vec<Decl> {
    let [enable, source, dest, proto, dport, sport, comment] = RULE_FIELDS;
    let [net_type, address, netmask, gateway, bridge_ports, vlan_aware, autostart, comments] =
        NET_FIELDS;
    vec![
        // Cluster firewall
        spec("pve_get_firewall_options", "Get firewall options", "Get the cluster firewall options.", "firewall", Read, T::Endpoint, (Get, "/cluster/firewall/options")),
        spec("pve_list_firewall_rules", "List firewall rules", "List the cluster firewall rules.", "firewall", Read, T::Endpoint, (Get, "/cluster/firewall/rules")),
        spec("pve_list_firewall_aliases", "List firewall aliases", "List the cluster firewall aliases.", "firewall", Read, T::Endpoint, (Get, "/cluster/firewall/aliases")),
        spec("pve_list_firewall_ipsets", "List firewall IP sets", "List the cluster firewall IP sets.", "firewall", Read, T::Endpoint, (Get, "/cluster/firewall/ipset")),
        spec("pve_update_firewall_options", "Update firewall options", "Switch the cluster firewall on or off and set its policies, which can cut access off.", "firewall", Admin, T::Endpoint, (Put, "/cluster/firewall/options"))
            .params(&[
                Param::optional("enable", Ty::Bool, "Firewall enabled."),
                Param::optional("policy_in", VERDICT, "Policy for incoming traffic."),
                Param::optional("policy_out", VERDICT, "Policy for outgoing traffic."),
                Param::optional(
                    "log_ratelimit",
                    Ty::PropString { keys: &["enable", "burst", "rate"], max_len: 128, what: "a log rate limit (e.g. enable=1,burst=5,rate=1/second)" },
                    "Log rate limit, e.g. enable=1,burst=5,rate=1/second.",
                ),
            ])
            .destructive_if(CUTS_OFF_OPTIONS),
        spec("pve_create_firewall_rule", "Create firewall rule", "Add a cluster firewall rule. A DROP or REJECT rule can cut access off.", "firewall", Admin, T::Endpoint, (Post, "/cluster/firewall/rules"))
            .params(&[
                Param::required("action", VERDICT, "ACCEPT, DROP or REJECT."),
                Param::required("type", Ty::Enum(&["in", "out", "group"]), "Direction."),
                enable,
                source,
                dest,
                proto,
                dport,
                sport,
                comment,
                Param::optional("pos", Ty::Int { min: 0, max: 9999 }, "Position to insert at."),
            ])
            .destructive_if(CUTS_OFF_RULE),
        spec("pve_update_firewall_rule", "Update firewall rule", "Change a cluster firewall rule: any change can cut access off.", "firewall", Admin, T::FirewallRule, (Put, "/cluster/firewall/rules/{pos}"))
            .params(&[POS, Param::optional("action", VERDICT, "ACCEPT, DROP or REJECT."), enable, source, dest, proto, dport, sport, comment])
            .destructive(),
        spec("pve_delete_firewall_rule", "Delete firewall rule", "Delete a cluster firewall rule: removing an ACCEPT can cut access off.", "firewall", Admin, T::FirewallRule, (Delete, "/cluster/firewall/rules/{pos}"))
            .params(&[POS])
            .destructive(),
        // Storage
        spec("pve_get_storage_config", "Get storage configuration", "Get a storage's configuration.", "storage", Read, T::Storage, (Get, "/storage/{storage}")).params(&[STORAGE]),
        spec("pve_list_node_storage", "List node storage", "List the storage available on a node, with usage.", "storage", Read, T::Node, (Get, "/nodes/{node}/storage"))
            .params(&[NODE, Param::optional("content", ident(r"^[a-z]{2,16}(?:,[a-z]{2,16}){0,7}$", 128, "content types (e.g. images,iso)"), "Only storage holding this content.")]),
        spec("pve_get_storage_status", "Get storage status", "Get a storage's status and usage on a node.", "storage", Read, T::Storage, (Get, "/nodes/{node}/storage/{storage}/status")).params(&[NODE, STORAGE]),
        spec("pve_pull_oci_image", "Pull OCI image", "Pull an OCI image from a registry onto a storage (Proxmox VE 9.1+).", "storage", Operate, T::Storage, (Post, "/nodes/{node}/storage/{storage}/oci-registry-pull"))
            .params(&[
                NODE,
                STORAGE,
                Param::required(
                    "reference",
                    ident(r"^[a-z0-9.-]{1,253}(?::[0-9]{1,5})?/[a-z0-9._/-]{1,255}(?::[A-Za-z0-9._-]{1,128}|@sha256:[0-9a-f]{64})?$", 700, "an image reference (e.g. docker.io/library/alpine:3.20)"),
                    "Image reference, e.g. docker.io/library/alpine:3.20.",
                ),
                Param::optional("filename", ident(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$", 255, "a file name"), "File name on the storage."),
            ])
            .task(),
        spec("pve_create_storage", "Create storage", "Add a storage to the cluster configuration.", "storage", Admin, T::Storage, (Post, "/storage"))
            .params(&[
                STORAGE,
                Param::required("type", ident(r"^[a-z]{2,16}$", 16, "a storage type (e.g. dir, nfs, lvmthin, zfspool)"), "Storage type, e.g. nfs."),
                Param::optional("content", ident(r"^[a-z]{2,16}(?:,[a-z]{2,16}){0,7}$", 128, "content types (e.g. images,iso)"), "Content types, separated by commas."),
                Param::optional("path", ident(r"^/[A-Za-z0-9._/-]{0,4095}$", 4096, "an absolute path"), "Path (directory storage)."),
                Param::optional("server", ident(r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$", 253, "a host name or IP address"), "Server (NFS, CIFS …)."),
                Param::optional("export", ident(r"^/[A-Za-z0-9._/-]{0,4095}$", 4096, "an export path"), "NFS export."),
                Param::optional("vgname", ident(r"^[A-Za-z0-9_][A-Za-z0-9._+-]{0,126}$", 127, "a volume group name"), "LVM volume group."),
                Param::optional("pool", ident(r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}$", 255, "a pool name"), "Pool (ZFS, Ceph)."),
                Param::optional("nodes", ident(r"^[A-Za-z0-9-]{1,63}(?:,[A-Za-z0-9-]{1,63}){0,99}$", 6400, "node names separated by commas"), "Nodes the storage is on."),
                Param::optional("shared", Ty::Bool, "Shared by all nodes."),
            ]),
        spec("pve_update_storage", "Update storage", "Change a storage's content types, nodes, sharing, or disable it.", "storage", Admin, T::Storage, (Put, "/storage/{storage}"))
            .params(&[
                STORAGE,
                Param::optional("content", ident(r"^[a-z]{2,16}(?:,[a-z]{2,16}){0,7}$", 128, "content types (e.g. images,iso)"), "Content types, separated by commas."),
                Param::optional("nodes", ident(r"^[A-Za-z0-9-]{1,63}(?:,[A-Za-z0-9-]{1,63}){0,99}$", 6400, "node names separated by commas"), "Nodes the storage is on."),
                Param::optional("shared", Ty::Bool, "Shared by all nodes."),
                Param::optional("disable", Ty::Bool, "Disable the storage."),
            ]),
        spec("pve_delete_storage", "Delete storage", "Remove a storage from the configuration (its data stays, guests using it break).", "storage", Admin, T::Storage, (Delete, "/storage/{storage}"))
            .params(&[STORAGE])
            .destructive(),
        // Node network
        spec("pve_list_networks", "List node network", "List a node's network interfaces.", "network", Read, T::Node, (Get, "/nodes/{node}/network"))
            .params(&[NODE, Param::optional("type", Ty::Enum(&["bridge", "bond", "eth", "alias", "vlan", "OVSBridge", "OVSBond", "OVSPort", "OVSIntPort", "any_bridge", "any_local_bridge"]), "Only this type.")]),
        spec("pve_get_network", "Get network interface", "Get a node's network interface.", "network", Read, T::NetworkInterface, (Get, "/nodes/{node}/network/{iface}")).params(&[NODE, IFACE]),
        spec("pve_create_network", "Create network interface", "Stage a new network interface on a node (applied on reload).", "network", Admin, T::NetworkInterface, (Post, "/nodes/{node}/network"))
            .params(&[NODE, IFACE, net_type, address, netmask, gateway, bridge_ports, vlan_aware, autostart, comments]),
        spec("pve_update_network", "Update network interface", "Stage a change to a node's network interface: a wrong address or bridge can cut the node off.", "network", Admin, T::NetworkInterface, (Put, "/nodes/{node}/network/{iface}"))
            .params(&[NODE, IFACE, net_type, address, netmask, gateway, bridge_ports, vlan_aware, autostart, comments])
            .destructive(),
        spec("pve_delete_network", "Delete network interface", "Stage the removal of a node's network interface.", "network", Admin, T::NetworkInterface, (Delete, "/nodes/{node}/network/{iface}"))
            .params(&[NODE, IFACE])
            .destructive(),
        // Backup
        spec("pve_list_backup_jobs", "List backup jobs", "List scheduled backup jobs.", "backup", Read, T::Endpoint, (Get, "/cluster/backup")),
        spec("pve_get_backup_job", "Get backup job", "Get a scheduled backup job.", "backup", Read, T::BackupJob, (Get, "/cluster/backup/{id}")).params(&[JOB_ID]),
        spec("pve_run_backup", "Run backup", "Back guests up now (vzdump) on a node.", "backup", Operate, T::Node, (Post, "/nodes/{node}/vzdump"))
            .params(&[
                NODE,
                Param::optional("vmid", VMIDS, "Guest ids, separated by commas."),
                Param::optional("storage", Ty::STORAGE, "Target storage."),
                MODE,
                COMPRESS,
                MAILNOTIFICATION,
                MAILTO,
            ])
            .task(),
        spec("pve_create_backup_job", "Create backup job", "Schedule a backup job.", "backup", Admin, T::Endpoint, (Post, "/cluster/backup"))
            .params(&[
                Param::optional("vmid", VMIDS, "Guest ids, separated by commas."),
                Param::optional("storage", Ty::STORAGE, "Target storage."),
                Param::optional("schedule", ident(r"^[A-Za-z0-9*][A-Za-z0-9 :*,./-]{0,127}$", 128, "a calendar event (e.g. sat 02:00, daily)"), "When, as a calendar event, e.g. sat 02:00."),
                MODE,
                COMPRESS,
                MAILNOTIFICATION,
                MAILTO,
                Param::optional("enabled", Ty::Bool, "Job enabled (default true)."),
                Param::optional("node", Ty::NODE, "Only guests on this node."),
                Param::optional("pool", Ty::POOLID, "Back up this pool's guests."),
                Param::optional("maxfiles", Ty::Int { min: 0, max: 1_000_000 }, "Backups to keep (deprecated in Proxmox VE 7+)."),
            ]),
        spec("pve_delete_backup_job", "Delete backup job", "Delete a scheduled backup job: those guests are no longer backed up.", "backup", Admin, T::BackupJob, (Delete, "/cluster/backup/{id}"))
            .params(&[JOB_ID])
            .destructive(),
        // Datacenter options
        spec("pve_update_cluster_options", "Update cluster options", "Change datacenter options.", "cluster", Admin, T::Endpoint, (Put, "/cluster/options"))
            .params(&[
                Param::optional("keyboard", ident(r"^[a-z]{2}(?:-[a-z]{2,3})?$", 6, "a keyboard layout (e.g. en-us, de)"), "Keyboard layout."),
                Param::optional("language", ident(r"^[a-z]{2}(?:_[A-Za-z]{2,4})?$", 7, "a language (e.g. en, pt_BR)"), "Language."),
                Param::optional("console", Ty::Enum(&["applet", "vv", "html5", "xtermjs"]), "Default console."),
                Param::optional("http_proxy", Ty::Secret { max_len: 1024 }, "HTTP proxy URL, which may carry credentials (never logged or shown to policy)."),
                Param::optional("migration_unsecure", Ty::Bool, "Migrate without encryption."),
                Param::optional(
                    "crs",
                    Ty::PropString {
                        keys: &["ha", "ha-rebalance-on-start", "ha-auto-rebalance", "ha-auto-rebalance-threshold", "ha-auto-rebalance-margin", "ha-auto-rebalance-hold-duration", "ha-auto-rebalance-method"],
                        max_len: 512,
                        what: "resource scheduling settings (e.g. ha=static,ha-rebalance-on-start=1)",
                    },
                    "Cluster resource scheduling, e.g. ha=static.",
                ),
            ]),
    ]
}
