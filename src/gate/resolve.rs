//! Resolve a call's target into Cedar entities: the object, then its
//! parents up to the endpoint it lives on.

use crate::backends::{EndpointInfo, Located};
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

/// For a call on several targets (a bulk call's guests): one chain per
/// target, the target first, then its places, the endpoint last. A target
/// is an entry no other entry names as a parent.
pub fn chains(found: Vec<Located>, ep: &EndpointInfo) -> Vec<Vec<EntitySpec>> {
    let named: Vec<(&str, &str)> = found
        .iter()
        .flat_map(|l| l.parents.iter().map(|(k, id)| (*k, id.as_str())))
        .collect();
    let targets: Vec<&Located> = found
        .iter()
        .filter(|l| !named.contains(&(l.kind, l.id.as_str())))
        .collect();
    targets
        .into_iter()
        .map(|t| {
            let mut chain = vec![t.clone()];
            let mut i = 0;
            while i < chain.len() {
                for (k, id) in chain[i].parents.clone() {
                    if let Some(p) = found.iter().find(|l| l.kind == k && l.id == id) {
                        if !chain.iter().any(|c| c.kind == p.kind && c.id == p.id) {
                            chain.push(p.clone());
                        }
                    }
                }
                i += 1;
            }
            located(chain, ep)
        })
        .collect()
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
