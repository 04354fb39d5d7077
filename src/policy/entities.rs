//! Cedar entities for one request: the principal with its groups, and the
//! target resource with its parent chain up to the endpoint.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use cedar_policy::{Entity, EntityId, EntityUid};

use crate::principal::Principal;

/// A value of a resource attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttrValue {
    Str(String),
    Long(i64),
    Bool(bool),
    /// A set of strings (a VM's tags).
    StrSet(Vec<String>),
}

impl AttrValue {
    fn to_json(&self) -> Value {
        match self {
            AttrValue::Str(s) => json!(s),
            AttrValue::Long(n) => json!(n),
            AttrValue::Bool(b) => json!(b),
            AttrValue::StrSet(s) => json!(s),
        }
    }
}

pub(super) fn uid(ty: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name(ty), EntityId::new(id))
}

/// An entity type's name. Parsing one runs Cedar's whole parser, and every
/// request names several (user, groups, the resource and its ancestors):
/// each name is parsed once per process. The names are the catalog's own.
pub fn type_name(ty: &str) -> cedar_policy::EntityTypeName {
    use std::sync::{OnceLock, RwLock};
    static PARSED: OnceLock<RwLock<HashMap<String, cedar_policy::EntityTypeName>>> =
        OnceLock::new();
    let cache = PARSED.get_or_init(Default::default);
    if let Some(t) = cache.read().unwrap_or_else(|p| p.into_inner()).get(ty) {
        return t.clone();
    }
    let parsed: cedar_policy::EntityTypeName = ty.parse().expect("catalog entity types are valid");
    cache
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(ty.to_string(), parsed.clone());
    parsed
}

/// One entity of a resource chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntitySpec {
    pub ty: &'static str,
    pub id: String,
    pub attrs: Vec<(&'static str, AttrValue)>,
    /// (type, id) of the direct parents.
    pub parents: Vec<(&'static str, String)>,
}

impl EntitySpec {
    pub fn uid(&self) -> EntityUid {
        uid(self.ty, &self.id)
    }

    pub fn uid_json(&self) -> Value {
        json!({"type": self.ty, "id": self.id})
    }

    /// The `Type::"id"` form used in messages and audit records.
    pub fn display(&self) -> String {
        format!("{}::{:?}", self.ty, self.id)
    }

    fn to_json(&self) -> Value {
        let attrs: Map<String, Value> = self
            .attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_json()))
            .collect();
        let parents: Vec<Value> = self
            .parents
            .iter()
            .map(|(t, id)| json!({"type": t, "id": id}))
            .collect();
        json!({"uid": self.uid_json(), "attrs": attrs, "parents": parents})
    }
}

/// The entities of a request in Cedar's JSON entity format.
pub fn entities_json(principal: &Principal, resources: &[EntitySpec]) -> Value {
    let mut out = Vec::with_capacity(2 + principal.groups.len() + resources.len());
    let groups: Vec<Value> = principal
        .groups
        .iter()
        .map(|g| json!({"type": "Group", "id": g}))
        .collect();
    out.push(json!({"uid": {"type": "User", "id": principal.id}, "attrs": {}, "parents": groups}));
    for g in &principal.groups {
        out.push(json!({"uid": {"type": "Group", "id": g}, "attrs": {}, "parents": []}));
    }
    out.extend(resources.iter().map(EntitySpec::to_json));
    Value::Array(out)
}

/// The entity type of every principal.
pub const PRINCIPAL_TYPE: &str = "User";

/// The principal, its groups as parents.
pub fn principal_entity(principal: &Principal) -> Entity {
    let groups: HashSet<EntityUid> = principal.groups.iter().map(|g| uid("Group", g)).collect();
    Entity::new_no_attrs(principal.uid(), groups)
}
