//! Resolve a call's target into Cedar entities: the object, then its
//! parents up to the endpoint it lives on.

use crate::backends::{EndpointInfo, Located};
use crate::catalog::{Target, ValidArgs};
use crate::policy::{AttrValue, EntitySpec};

fn endpoint_entity(ep: &EndpointInfo) -> EntitySpec {
    EntitySpec {
        ty: "Endpoint",
        id: ep.name.clone(),
        attrs: vec![
            ("name", AttrValue::Str(ep.name.clone())),
            ("backend", AttrValue::Str(ep.backend.as_str().to_string())),
            ("tls_verify", AttrValue::Bool(ep.tls_verify)),
        ],
        parents: vec![],
    }
}

/// The target entity first, then its ancestors, the endpoint last.
pub fn resources(target: Target, args: &ValidArgs, ep: &EndpointInfo) -> Vec<EntitySpec> {
    let endpoint = endpoint_entity(ep);
    let e = ep.name.as_str();
    let up = ("Endpoint", e.to_string());
    let node = args.str("node").map(|n| EntitySpec {
        ty: "Node",
        id: format!("{e}/{n}"),
        attrs: vec![("name", AttrValue::Str(n.to_string()))],
        parents: vec![up.clone()],
    });
    let node_str = args.str("node").unwrap_or_default().to_string();
    let mut parents = vec![up.clone()];
    if let Some(n) = &node {
        parents.insert(0, ("Node", n.id.clone()));
    }
    let guest = |ty: &'static str, sep: &str| EntitySpec {
        ty,
        id: format!("{e}/{sep}{}", args.int("vmid").unwrap_or_default()),
        attrs: vec![
            (
                "vmid",
                AttrValue::Long(args.int("vmid").unwrap_or_default()),
            ),
            ("node", AttrValue::Str(node_str.clone())),
        ],
        parents: parents.clone(),
    };
    let target = match target {
        Target::Endpoint => None,
        Target::Node => return node.into_iter().chain([endpoint]).collect(),
        Target::Vm => Some(guest("Vm", "")),
        Target::Container => Some(guest("Container", "ct/")),
        Target::Storage => {
            let s = args.str("storage").unwrap_or_default();
            let id = if node_str.is_empty() {
                format!("{e}/{s}")
            } else {
                format!("{e}/{node_str}/{s}")
            };
            Some(EntitySpec {
                ty: "Storage",
                id,
                attrs: vec![("name", AttrValue::Str(s.to_string()))],
                parents: parents.clone(),
            })
        }
        // vSphere objects are placed by asking the backend (see
        // `located`); without it (policy tests, offline dry runs) only the
        // name given is known.
        Target::VirtualMachine | Target::HostSystem | Target::Datastore => {
            let key = match target {
                Target::VirtualMachine => "vm",
                Target::HostSystem => "host",
                _ => "datastore",
            };
            let name = args.str(key).unwrap_or_default();
            Some(EntitySpec {
                ty: target.entity_type(),
                id: format!("{e}/{name}"),
                attrs: vec![("name", AttrValue::Str(name.to_string()))],
                parents: vec![up.clone()],
            })
        }
        // Volcengine: the region (the argument, or the endpoint's default),
        // and the VPN object in it named by its id.
        Target::Region
        | Target::VpnGateway
        | Target::VpnConnection
        | Target::VpnGatewayRoute
        | Target::SslVpnClientCert => {
            let region = crate::backends::volc::region(ep, args).unwrap_or_default();
            let region_entity = EntitySpec {
                ty: "Region",
                id: format!("{e}/{region}"),
                attrs: vec![("name", AttrValue::Str(region.to_string()))],
                parents: vec![up.clone()],
            };
            let object = crate::backends::volc::tools::target_id_param(target).map(|param| {
                let id = args.str(param).unwrap_or_default();
                EntitySpec {
                    ty: target.entity_type(),
                    id: format!("{e}/{region}/{id}"),
                    attrs: vec![("id", AttrValue::Str(id.to_string()))],
                    parents: vec![("Region", region_entity.id.clone())],
                }
            });
            return object
                .into_iter()
                .chain([region_entity, endpoint])
                .collect();
        }
        Target::Task => {
            let upid = args.str("upid").unwrap_or_default();
            Some(EntitySpec {
                ty: "Task",
                id: format!("{e}/{upid}"),
                attrs: vec![
                    ("upid", AttrValue::Str(upid.to_string())),
                    ("node", AttrValue::Str(node_str.clone())),
                ],
                parents: parents.clone(),
            })
        }
    };
    target.into_iter().chain(node).chain([endpoint]).collect()
}

/// Entities for an object the backend located, its places, and the
/// endpoint. A place without a parent sits directly under the endpoint.
pub fn located(found: Vec<Located>, ep: &EndpointInfo) -> Vec<EntitySpec> {
    let up = ("Endpoint", ep.name.clone());
    let mut out: Vec<EntitySpec> = found
        .into_iter()
        .map(|l| EntitySpec {
            ty: l.kind,
            id: l.id,
            attrs: l
                .attrs
                .into_iter()
                .filter_map(|(k, v)| {
                    Some((
                        k,
                        match v {
                            serde_json::Value::String(s) => AttrValue::Str(s),
                            serde_json::Value::Bool(b) => AttrValue::Bool(b),
                            serde_json::Value::Number(n) => AttrValue::Long(n.as_i64()?),
                            serde_json::Value::Array(a) => AttrValue::StrSet(
                                a.into_iter()
                                    .filter_map(|v| v.as_str().map(str::to_string))
                                    .collect(),
                            ),
                            _ => return None,
                        },
                    ))
                })
                .collect(),
            parents: if l.parents.is_empty() {
                vec![up.clone()]
            } else {
                l.parents
            },
        })
        .collect();
    out.push(endpoint_entity(ep));
    out
}
