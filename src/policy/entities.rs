//! Cedar entities for one request: the principal with its groups, and the
//! target resource with its parent chain up to the endpoint.

use serde_json::{json, Map, Value};

use cedar_policy::{EntityId, EntityUid};

use crate::principal::Principal;

/// A value of a resource attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Long(i64),
    Bool(bool),
}

impl AttrValue {
    fn to_json(&self) -> Value {
        match self {
            AttrValue::Str(s) => json!(s),
            AttrValue::Long(n) => json!(n),
            AttrValue::Bool(b) => json!(b),
        }
    }
}

/// One entity of a resource chain.
#[derive(Debug, Clone, PartialEq)]
pub struct EntitySpec {
    pub ty: &'static str,
    pub id: String,
    pub attrs: Vec<(&'static str, AttrValue)>,
    /// (type, id) of the direct parents.
    pub parents: Vec<(&'static str, String)>,
}

impl EntitySpec {
    pub fn uid(&self) -> EntityUid {
        EntityUid::from_type_name_and_id(
            self.ty.parse().expect("catalog entity types are valid"),
            EntityId::new(&self.id),
        )
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
