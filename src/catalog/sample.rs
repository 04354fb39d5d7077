//! A value every parameter accepts: the calls `policy matrix` and
//! `policy diff` decide, and the calls the tests send every tool.

use serde_json::{json, Map, Value};

use super::{Param, ToolDef, Ty};

/// `vgw-abcd1234` for the pattern of `vgw-` ids.
fn id_sample(pattern: &str) -> String {
    let prefix = pattern
        .trim_start_matches('^')
        .split('-')
        .next()
        .unwrap_or_default();
    format!("{prefix}-abcd1234")
}

/// A value a parameter accepts: by name for identifiers whose pattern is
/// the parameter's own (a user id, an HA resource id …), else by type.
pub fn for_param(p: &Param) -> Option<Value> {
    if !matches!(p.ty, Ty::Ident { .. } | Ty::IdList { .. }) {
        return for_type(p.ty);
    }
    let by_name = match p.name {
        "userid" | "users" => Some(json!("alice@pve")),
        "poolid" | "pool" => Some(json!("dev")),
        "storage" => Some(json!("local")),
        "sid" | "resource" | "resources" => Some(json!("vm:100")),
        "rule" | "group" => Some(json!("r1")),
        "groups" | "roles" => Some(json!("ops")),
        "path" | "export" => Some(json!("/vms/100")),
        "email" | "mailto" => Some(json!("ops@example.org")),
        "vms" | "vmid" if matches!(p.ty, Ty::Ident { .. }) => Some(json!("100,101")),
        "reference" => Some(json!("docker.io/library/alpine:3.20")),
        "filename" => Some(json!("alpine.tar")),
        "content" => Some(json!("images,iso")),
        "server" => Some(json!("192.0.2.10")),
        "vgname" => Some(json!("vg0")),
        "nodes" => Some(json!("pve1")),
        "iface" => Some(json!("vmbr1")),
        "address" | "netmask" | "gateway" => Some(json!("10.0.0.1")),
        "bridge_ports" => Some(json!("eno1")),
        "schedule" => Some(json!("daily")),
        "id" if matches!(p.ty, Ty::Ident { .. }) => Some(json!("backup-1")),
        "keyboard" => Some(json!("de")),
        "language" => Some(json!("en")),
        "service" => Some(json!("pveproxy")),
        "command" => Some(json!("reload")),
        "ostemplate" => Some(json!("local:vztmpl/debian.tar.zst")),
        "typefilter" => Some(json!("qmstart")),
        "env" => Some(json!(["A=1"])),
        "source" | "dest" => Some(json!("10.0.0.0/24")),
        "proto" => Some(json!("tcp")),
        "dport" | "sport" => Some(json!("22")),
        "delete_settings" => Some(json!("comment")),
        "digest" => Some(json!("0123456789abcdef0123456789abcdef01234567")),
        "type" if matches!(p.ty, Ty::Ident { .. }) => Some(json!("dir")),
        "approval_id" => Some(json!("apr-0123456789abcdef")),
        "mac_address" => Some(json!("00:50:56:00:12:34")),
        "ntp_servers" => Some(json!(["0.pool.ntp.org"])),
        _ => None,
    };
    by_name.or_else(|| for_type(p.ty))
}

/// A value each parameter type accepts; `None` for a type added without
/// one (the tests send every parameter of every tool, so they say which).
pub fn for_type(ty: Ty) -> Option<Value> {
    Some(match ty {
        Ty::Int { min, .. } => json!(min),
        Ty::Bool => json!(true),
        Ty::Text { .. } => json!("a description"),
        Ty::Name { .. } => json!("DC0_H0_VM0"),
        Ty::Secret { .. } => json!("guest-password"),
        Ty::Content { .. } => json!("file content"),
        Ty::RelPath { .. } => json!("dir/file.txt"),
        Ty::TagFilters => json!([{"key": "env", "values": ["prod"]}]),
        Ty::IdList { pattern, .. } => json!([id_sample(pattern)]),
        t if t == Ty::VOLC_REGION => json!("cn-shanghai"),
        Ty::Ident { pattern, .. } if pattern.ends_with("-[A-Za-z0-9]{4,64}$") => {
            json!(id_sample(pattern))
        }
        Ty::Ident { pattern, .. } if pattern.contains("/[0-9]{1,3}$") => json!("10.0.0.0/16"),
        Ty::Ident { pattern, .. } if pattern.starts_with("^[0-9A-Fa-f]{1,4}") => json!("10.1.2.3"),
        Ty::Enum(values) => json!(values[0]),
        Ty::PropString { keys, .. } => json!(format!("{}=1", keys[0])),
        Ty::IntList { min, .. } => json!([min]),
        t if t == Ty::NODE => json!("pve1"),
        t if t == Ty::SNAPNAME => json!("snap1"),
        t if t == Ty::STORAGE => json!("local"),
        t if t == Ty::GUEST_NAME => json!("web-1"),
        t if t == Ty::ENDPOINT_NAME => json!("e1"),
        t if t == Ty::TAGS => json!("a;b"),
        t if t == Ty::UPID => json!("UPID:pve1:00001234:0000ABCD:6740A1B2:qmstop:100:root@pam:"),
        _ => return None,
    })
}

/// The smallest call of `tool` on `endpoint` that `valid` accepts: its
/// required parameters with sample values and the endpoint named, plus
/// one optional parameter when a rule across parameters wants one ("give
/// cpu_cores and/or ram_mb"). Without such a call, the required one.
pub fn smallest_call(
    tool: &ToolDef,
    endpoint: &str,
    valid: impl Fn(&Map<String, Value>) -> bool,
) -> Result<Map<String, Value>, String> {
    let value = |p: &Param| {
        for_param(p).ok_or_else(|| format!("{}: no sample value for {}", tool.name, p.name))
    };
    let mut args = Map::new();
    for p in tool.all_params().filter(|p| p.required) {
        args.insert(p.name.to_string(), value(p)?);
    }
    args.insert(super::control::ENDPOINT.to_string(), json!(endpoint));
    if valid(&args) {
        return Ok(args);
    }
    for p in tool.all_params().filter(|p| !p.required) {
        let mut more = args.clone();
        more.insert(p.name.to_string(), value(p)?);
        if valid(&more) {
            return Ok(more);
        }
    }
    Ok(args)
}
