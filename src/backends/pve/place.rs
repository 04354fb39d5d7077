//! Where a Proxmox VE call's target lives, from its arguments: a guest, a
//! storage or a task in its node, the node in the endpoint.

use serde_json::json;

use super::tools::{rest_call, Target};
use crate::backends::{EndpointInfo, Located};
use crate::catalog::{ToolDef, ValidArgs};

pub fn place(tool: &ToolDef, args: &ValidArgs, ep: &EndpointInfo) -> Vec<Located> {
    let Some(call) = rest_call(tool) else {
        return Vec::new();
    };
    let e = ep.name.as_str();
    let up = ("Endpoint", e.to_string());
    let node = args.str("node").map(|n| Located {
        kind: "Node",
        id: format!("{e}/{n}"),
        attrs: vec![("name", json!(n))],
        parents: vec![up.clone()],
    });
    let node_name = args.str("node").unwrap_or_default().to_string();
    let mut parents = vec![up];
    if let Some(n) = &node {
        parents.insert(0, ("Node", n.id.clone()));
    }
    let vmid = args.int("vmid").unwrap_or_default();
    let guest = |kind: &'static str, sep: &str| Located {
        kind,
        id: format!("{e}/{sep}{vmid}"),
        attrs: vec![("vmid", json!(vmid)), ("node", json!(node_name))],
        parents: parents.clone(),
    };
    let target = match call.target {
        // A node argument of an endpoint-wide tool (a backup job limited to
        // a node) filters; it does not place the call.
        Target::Endpoint => return Vec::new(),
        Target::Node => return node.into_iter().collect(),
        Target::Vm => Some(guest("Vm", "")),
        Target::Container => Some(guest("Container", "ct/")),
        Target::Storage => {
            let s = args.str("storage").unwrap_or_default();
            let id = if node_name.is_empty() {
                format!("{e}/{s}")
            } else {
                format!("{e}/{node_name}/{s}")
            };
            Some(Located {
                kind: "Storage",
                id,
                attrs: vec![("name", json!(s))],
                parents: parents.clone(),
            })
        }
        Target::Pool | Target::PveUser | Target::AclPath | Target::HaResource | Target::HaRule => {
            let (kind, attr) = match call.target {
                Target::Pool => ("Pool", "poolid"),
                Target::PveUser => ("PveUser", "userid"),
                Target::AclPath => ("AclPath", "path"),
                Target::HaResource => ("HaResource", "sid"),
                _ => ("HaRule", "rule"),
            };
            let value = args.str(attr).unwrap_or_default();
            return vec![Located {
                kind,
                id: format!("{e}/{value}"),
                attrs: vec![(attr, json!(value))],
                parents: Vec::new(),
            }];
        }
        // Each guest a target of its own (the gate decides each); from the
        // arguments alone its node and kind are unknown.
        Target::Guests => {
            return args
                .as_map()
                .get("vms")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_i64)
                .map(|vmid| Located {
                    kind: "Vm",
                    id: format!("{e}/{vmid}"),
                    attrs: vec![("vmid", json!(vmid)), ("node", json!(""))],
                    parents: Vec::new(),
                })
                .collect();
        }
        Target::FirewallRule => {
            let pos = args.int("pos").unwrap_or_default();
            return vec![Located {
                kind: "FirewallRule",
                id: format!("{e}/{pos}"),
                attrs: vec![("pos", json!(pos))],
                parents: Vec::new(),
            }];
        }
        Target::BackupJob => {
            let id = args.str("id").unwrap_or_default();
            return vec![Located {
                kind: "BackupJob",
                id: format!("{e}/{id}"),
                attrs: vec![("id", json!(id))],
                parents: Vec::new(),
            }];
        }
        Target::NetworkInterface => {
            let iface = args.str("iface").unwrap_or_default();
            Some(Located {
                kind: "NetworkInterface",
                id: format!("{e}/{node_name}/{iface}"),
                attrs: vec![("iface", json!(iface)), ("node", json!(node_name))],
                parents: parents.clone(),
            })
        }
        Target::Task => {
            let upid = args.str("upid").unwrap_or_default();
            Some(Located {
                kind: "Task",
                id: format!("{e}/{upid}"),
                attrs: vec![("upid", json!(upid)), ("node", json!(node_name))],
                parents: parents.clone(),
            })
        }
    };
    target.into_iter().chain(node).collect()
}
