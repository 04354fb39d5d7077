//! mcp-pve's high-availability tools: resources, rules (Proxmox VE 9),
//! and arming or disarming HA cluster-wide.

use super::{in_family, Target as T};
use crate::catalog::{Decl, Param, Tier::*, Ty};

use super::Method::*;

/// An HA resource id: `vm:100` or `ct:200`.
const SID_TY: Ty = Ty::Ident {
    pattern: r"^(?:vm|ct):[0-9]{3,9}$",
    max_len: 12,
    what: "an HA resource id (vm:<vmid> or ct:<vmid>)",
};
const SIDS: Ty = Ty::Ident {
    pattern: r"^(?:vm|ct):[0-9]{3,9}(?:,(?:vm|ct):[0-9]{3,9})*$",
    max_len: 4096,
    what: "HA resource ids separated by commas (e.g. vm:100,ct:200)",
};
const SID: Param = Param::required("sid", SID_TY, "HA resource id, e.g. vm:100.");
const RULE: Param = Param::required(
    "rule",
    Ty::Ident {
        pattern: r"^[A-Za-z][A-Za-z0-9_-]{1,127}$",
        max_len: 128,
        what: "a rule id (a letter, then letters, digits, '_' or '-')",
    },
    "Rule id.",
);
const STATE: Param = Param::optional(
    "state",
    Ty::Enum(&["started", "stopped", "enabled", "disabled", "ignored"]),
    "Requested state (default started).",
);
const GROUP: Param = Param::optional(
    "group",
    Ty::Ident {
        pattern: r"^[A-Za-z][A-Za-z0-9_-]{1,127}$",
        max_len: 128,
        what: "an HA group id",
    },
    "HA group (deprecated in Proxmox VE 9: use rules).",
);
const MAX_RELOCATE: Param = Param::optional(
    "max_relocate",
    Ty::Int { min: 0, max: 10 },
    "Relocation attempts (default 1).",
);
const MAX_RESTART: Param = Param::optional(
    "max_restart",
    Ty::Int { min: 0, max: 10 },
    "Restart attempts (default 1).",
);
const COMMENT: Param = Param::optional("comment", Ty::Text { max_len: 4096 }, "Comment.");
const AFFINITY: Param = Param::optional(
    "affinity",
    Ty::Enum(&["positive", "negative"]),
    "Keep together (positive) or apart (negative); resource-affinity rules.",
);
const NODES: Param = Param::optional(
    "nodes",
    Ty::Ident {
        pattern: r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?::[0-9]{1,4})?(?:,[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?::[0-9]{1,4})?)*$",
        max_len: 4096,
        what: "nodes with optional priorities (e.g. node1:2,node2)",
    },
    "Nodes with optional priorities, e.g. node1:2,node2; node-affinity rules.",
);
const STRICT: Param = Param::optional(
    "strict",
    Ty::Bool,
    "Only these nodes (node-affinity rules).",
);
const DISABLE: Param = Param::optional("disable", Ty::Bool, "Rule disabled.");

fn ha(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    tier: crate::catalog::Tier,
    target: T,
    method: super::Method,
    path: &'static str,
) -> Decl {
    in_family("ha", tier, target, (method, path), name, title, description)
}

pub(super) fn tools() -> Vec<Decl> {
    vec![
        ha("pve_list_ha_resources", "List HA resources", "List HA-managed guests.", Read, T::Endpoint, Get, "/cluster/ha/resources")
            .params(&[Param::optional("type", Ty::Enum(&["vm", "ct"]), "Only VMs or containers.")]),
        ha("pve_get_ha_resource", "Get HA resource", "Get an HA resource's configuration.", Read, T::HaResource, Get, "/cluster/ha/resources/{sid}").params(&[SID]),
        ha("pve_list_ha_rules", "List HA rules", "List HA rules (Proxmox VE 9).", Read, T::Endpoint, Get, "/cluster/ha/rules").params(&[
            Param::optional("type", Ty::Enum(&["node-affinity", "resource-affinity"]), "Only rules of this type."),
            Param::optional("resource", SID_TY, "Only rules about this resource, e.g. vm:100."),
        ]),
        ha("pve_get_ha_rule", "Get HA rule", "Get an HA rule.", Read, T::HaRule, Get, "/cluster/ha/rules/{rule}").params(&[RULE]),
        ha("pve_create_ha_resource", "Create HA resource", "Put a guest under HA management.", Admin, T::HaResource, Post, "/cluster/ha/resources")
            .params(&[SID, GROUP, MAX_RELOCATE, MAX_RESTART, STATE, COMMENT]),
        ha("pve_update_ha_resource", "Update HA resource", "Change an HA resource's state or limits.", Admin, T::HaResource, Put, "/cluster/ha/resources/{sid}")
            .params(&[SID, GROUP, MAX_RELOCATE, MAX_RESTART, STATE, COMMENT]),
        ha("pve_delete_ha_resource", "Delete HA resource", "Take a guest out of HA management (the guest is kept).", Admin, T::HaResource, Delete, "/cluster/ha/resources/{sid}")
            .params(&[SID])
            .destructive(),
        ha("pve_create_ha_rule", "Create HA rule", "Create an HA node- or resource-affinity rule.", Admin, T::HaRule, Post, "/cluster/ha/rules").params(&[
            RULE,
            Param::required("type", Ty::Enum(&["node-affinity", "resource-affinity"]), "Rule type."),
            Param::required("resources", SIDS, "Resources, e.g. vm:100,ct:200."),
            AFFINITY,
            NODES,
            STRICT,
            DISABLE,
            COMMENT,
        ]),
        ha("pve_update_ha_rule", "Update HA rule", "Change an HA rule.", Admin, T::HaRule, Put, "/cluster/ha/rules/{rule}").params(&[
            RULE,
            Param::optional("resources", SIDS, "Resources, e.g. vm:100,ct:200."),
            AFFINITY,
            NODES,
            STRICT,
            DISABLE,
            COMMENT,
            Param::optional(
                "delete_settings",
                Ty::Ident {
                    pattern: r"^[a-z][a-z0-9-]{0,31}(?:,[a-z][a-z0-9-]{0,31})*$",
                    max_len: 512,
                    what: "setting names separated by commas",
                },
                "Settings to reset, separated by commas.",
            ),
            Param::optional(
                "digest",
                Ty::Ident {
                    pattern: r"^[0-9a-fA-F]{40,64}$",
                    max_len: 64,
                    what: "a configuration digest (hex)",
                },
                "Refuse the change if the configuration changed since this digest.",
            ),
        ]),
        ha("pve_delete_ha_rule", "Delete HA rule", "Delete an HA rule.", Admin, T::HaRule, Delete, "/cluster/ha/rules/{rule}")
            .params(&[RULE])
            .destructive(),
        ha("pve_disarm_ha", "Disarm HA", "Disarm HA cluster-wide (Proxmox VE 9.2+): watchdogs are released and nothing is recovered until it is armed again.", Admin, T::Endpoint, Post, "/cluster/ha/status/disarm-ha")
            .params(&[Param::required("resource_mode", Ty::Enum(&["freeze", "ignore"]), "What HA does with resources meanwhile: freeze or ignore.")])
            .destructive(),
        ha("pve_arm_ha", "Arm HA", "Arm HA cluster-wide again (Proxmox VE 9.2+).", Admin, T::Endpoint, Post, "/cluster/ha/status/arm-ha"),
    ]
}
