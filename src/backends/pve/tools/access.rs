//! mcp-pve's users, roles, groups, ACLs, realms and pools.

use super::{in_family, tool, Spec, Target as T};
use crate::catalog::{Decl, DestructiveIf, Param, Tier::*, Ty};

use super::Method::*;

/// Proxmox VE's own value formats for access control and pools.
impl Ty {
    /// A user id: `name@realm`.
    pub const PVE_USERID: Ty = Ty::Ident {
        pattern: r"^[A-Za-z0-9._-]{1,64}@[A-Za-z0-9._-]{1,32}$",
        max_len: 97,
        what: "a user id as name@realm (e.g. alice@pve)",
    };
    /// A pool id.
    pub const POOLID: Ty = Ty::Ident {
        pattern: r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$",
        max_len: 64,
        what: "a pool id (letters, digits, '.', '_', '-')",
    };
}

const fn list(pattern: &'static str, what: &'static str) -> Ty {
    Ty::Ident {
        pattern,
        max_len: 4096,
        what,
    }
}

const GROUPS: Ty = list(
    r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}(?:,[A-Za-z0-9_][A-Za-z0-9._-]{0,63})*$",
    "group names separated by commas",
);
const USERID: Param = Param::required("userid", Ty::PVE_USERID, "User id, e.g. alice@pve.");
const POOLID: Param = Param::required("poolid", Ty::POOLID, "Pool id.");

/// The fields a user's create and update share.
const USER_FIELDS: [Param; 7] = [
    Param::optional(
        "email",
        Ty::Ident {
            pattern: r"^[^\s@]{1,64}@[^\s@]{1,255}$",
            max_len: 320,
            what: "an email address",
        },
        "Email address.",
    ),
    Param::optional(
        "firstname",
        Ty::Name {
            max_len: 128,
            what: "a first name",
        },
        "First name.",
    ),
    Param::optional(
        "lastname",
        Ty::Name {
            max_len: 128,
            what: "a last name",
        },
        "Last name.",
    ),
    Param::optional(
        "groups",
        GROUPS,
        "Groups, separated by commas (replaces the user's groups).",
    ),
    Param::optional("comment", Ty::Text { max_len: 2048 }, "Comment."),
    Param::optional("enable", Ty::Bool, "Account enabled (default true)."),
    Param::optional(
        "expire",
        Ty::Int {
            min: 0,
            max: 253_402_300_799,
        },
        "Expiry as Unix time; 0 never.",
    ),
];

/// Revoking access (`delete`) is destructive; granting is admin work.
const REVOKE: &[DestructiveIf] = &[DestructiveIf {
    param: "delete",
    values: &["true"],
}];

fn read(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    target: T,
    path: &'static str,
) -> Decl {
    in_family(
        category,
        Read,
        target,
        (Get, path),
        name,
        title,
        description,
    )
}

pub(super) fn tools() -> Vec<Decl> {
    vec![
        read("pve_list_users", "List users", "List Proxmox VE users.", "access", T::Endpoint, "/access/users")
            .params(&[Param::optional("enabled", Ty::Bool, "Only enabled (or disabled) users.")]),
        read("pve_get_user", "Get user", "Get a user's configuration (token metadata, never secrets).", "access", T::PveUser, "/access/users/{userid}")
            .params(&[USERID]),
        read("pve_list_roles", "List roles", "List roles and their privileges.", "access", T::Endpoint, "/access/roles"),
        read("pve_list_groups", "List groups", "List user groups.", "access", T::Endpoint, "/access/groups"),
        read("pve_list_acls", "List ACLs", "List access control entries.", "access", T::Endpoint, "/access/acl"),
        read("pve_list_domains", "List realms", "List authentication realms.", "access", T::Endpoint, "/access/domains"),
        tool(Spec {
            name: "pve_create_user",
            title: "Create user",
            description: "Create a Proxmox VE user.",
            category: "access",
            tier: Admin,
            target: T::PveUser,
            method: Post,
            path: "/access/users",
        })
        .params(&[
            USERID,
            Param::optional("password", Ty::Secret { max_len: 256 }, "Initial password (never logged or shown to policy)."),
            USER_FIELDS[0],
            USER_FIELDS[1],
            USER_FIELDS[2],
            USER_FIELDS[3],
            USER_FIELDS[4],
            USER_FIELDS[5],
            USER_FIELDS[6],
        ]),
        tool(Spec {
            name: "pve_update_user",
            title: "Update user",
            description: "Update a user's details, groups, expiry or whether it is enabled.",
            category: "access",
            tier: Admin,
            target: T::PveUser,
            method: Put,
            path: "/access/users/{userid}",
        })
        .params(&[USERID, USER_FIELDS[0], USER_FIELDS[1], USER_FIELDS[2], USER_FIELDS[3], USER_FIELDS[4], USER_FIELDS[5], USER_FIELDS[6]]),
        tool(Spec {
            name: "pve_delete_user",
            title: "Delete user",
            description: "Delete a user and its API tokens.",
            category: "access",
            tier: Admin,
            target: T::PveUser,
            method: Delete,
            path: "/access/users/{userid}",
        })
        .params(&[USERID])
        .destructive(),
        tool(Spec {
            name: "pve_update_acl",
            title: "Grant or revoke access",
            description: "Grant roles on a path to users or groups, or revoke them (delete: true, destructive).",
            category: "access",
            tier: Admin,
            target: T::AclPath,
            method: Put,
            path: "/access/acl",
        })
        .params(&[
            Param::required(
                "path",
                Ty::Ident {
                    pattern: r"^/(?:[A-Za-z0-9._:@-]{1,128}(?:/[A-Za-z0-9._:@-]{1,128}){0,7})?$",
                    max_len: 1024,
                    what: "a permission path (e.g. /, /vms/100, /pool/dev, /storage/local)",
                },
                "Permission path, e.g. /vms/100 or /pool/dev.",
            ),
            Param::required("roles", list(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}(?:,[A-Za-z0-9_][A-Za-z0-9._-]{0,63})*$", "role names separated by commas"), "Roles, separated by commas."),
            Param::optional(
                "users",
                list(r"^[A-Za-z0-9._-]{1,64}@[A-Za-z0-9._-]{1,32}(?:,[A-Za-z0-9._-]{1,64}@[A-Za-z0-9._-]{1,32})*$", "user ids separated by commas"),
                "Users, separated by commas.",
            ),
            Param::optional("groups", GROUPS, "Groups, separated by commas."),
            Param::optional("propagate", Ty::Bool, "Apply to everything below the path (default true)."),
            Param::optional("delete", Ty::Bool, "Revoke instead of grant."),
        ])
        .destructive_if(REVOKE),
        // Pools
        read("pve_list_pools", "List pools", "List resource pools.", "pools", T::Endpoint, "/pools"),
        read("pve_get_pool", "Get pool", "Get a pool and its members.", "pools", T::Pool, "/pools/{poolid}").params(&[POOLID]),
        tool(Spec {
            name: "pve_create_pool",
            title: "Create pool",
            description: "Create a resource pool.",
            category: "pools",
            tier: Change,
            target: T::Pool,
            method: Post,
            path: "/pools",
        })
        .params(&[POOLID, Param::optional("comment", Ty::Text { max_len: 2048 }, "Comment.")]),
        tool(Spec {
            name: "pve_update_pool",
            title: "Update pool",
            description: "Add guests or storage to a pool, or remove them (delete: true).",
            category: "pools",
            tier: Change,
            target: T::Pool,
            method: Put,
            path: "/pools/{poolid}",
        })
        .params(&[
            POOLID,
            Param::optional("comment", Ty::Text { max_len: 2048 }, "Comment."),
            Param::optional("vms", list(r"^[0-9]{3,9}(?:,[0-9]{3,9})*$", "guest ids separated by commas"), "Guest ids, separated by commas."),
            Param::optional(
                "storage",
                list(r"^[A-Za-z][A-Za-z0-9._-]{0,99}(?:,[A-Za-z][A-Za-z0-9._-]{0,99})*$", "storage ids separated by commas"),
                "Storage ids, separated by commas.",
            ),
            Param::optional("delete", Ty::Bool, "Remove the listed members instead of adding them."),
        ]),
        tool(Spec {
            name: "pve_delete_pool",
            title: "Delete pool",
            description: "Delete an empty resource pool.",
            category: "pools",
            tier: Change,
            target: T::Pool,
            method: Delete,
            path: "/pools/{poolid}",
        })
        .params(&[POOLID])
        .destructive(),
    ]
}
