//! One request's Cedar objects, built in Cedar's own core types.
//!
//! Through the public builders a request cost five times its evaluation:
//! every attribute and context value went through Cedar's expression
//! evaluator, the entity store recomputed the transitive closure of its
//! handful of entities with a general graph algorithm (the largest part),
//! and the context was type-checked against the schema. Here values are
//! made as values, and each entity is given its complete ancestor set —
//! the closure of a request's small, known shape is computed here, where
//! a cycle is refused as Cedar would refuse it — so the store is built
//! without recomputing it. The context's type is fixed by construction
//! (the catalog types both the argument validator and the schema); debug
//! builds, which every test runs, still check it against the schema on
//! every request, and a test checks every tool. `docs/decisions.md` says
//! why `cedar-policy-core` is used directly.

use std::collections::HashSet;
use std::sync::Arc;

use cedar_policy::{Entities, EntityUid, Request, Schema};
use cedar_policy_core::ast::{self, PartialValue, Value as CedarValue};
use cedar_policy_core::entities::{Entities as CoreEntities, NoEntitiesSchema, TCComputation};
use cedar_policy_core::extensions::Extensions;
use serde_json::Value;

use super::context::PolicyContext;
use super::entities::{AttrValue, EntitySpec};
use crate::principal::Principal;

/// A JSON value as a Cedar value, literally: no `__entity` or `__extn`
/// escapes are interpreted, so an argument can never become an entity.
pub(super) fn json_value(v: &Value) -> Result<CedarValue, String> {
    Ok(match v {
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{n} is not a whole number Cedar can hold"))?
            .into(),
        Value::Array(a) => CedarValue::set(
            a.iter().map(json_value).collect::<Result<Vec<_>, _>>()?,
            None,
        ),
        Value::Object(m) => CedarValue::record(json_record(m)?, None),
        Value::Null => return Err("null has no Cedar value".into()),
    })
}

pub(super) fn json_record(
    m: &serde_json::Map<String, Value>,
) -> Result<Vec<(String, CedarValue)>, String> {
    m.iter()
        .map(|(k, v)| Ok((k.clone(), json_value(v).map_err(|e| format!("{k}: {e}"))?)))
        .collect()
}

fn attr_value(v: &AttrValue) -> CedarValue {
    match v {
        AttrValue::Str(s) => s.as_str().into(),
        AttrValue::Long(n) => (*n).into(),
        AttrValue::Bool(b) => (*b).into(),
        AttrValue::StrSet(s) => CedarValue::set(s.iter().map(|v| v.as_str().into()), None),
    }
}

fn core_uid(uid: EntityUid) -> ast::EntityUID {
    uid.into()
}

/// The principal, its groups as parents (groups have no parents).
fn principal_entity(principal: &Principal) -> ast::Entity {
    let groups = principal
        .groups
        .iter()
        .map(|g| core_uid(super::entities::uid("Group", g)))
        .collect();
    ast::Entity::new_with_attr_partial_value(
        core_uid(principal.uid()),
        [],
        HashSet::new(),
        groups,
        [],
    )
}

/// Every ancestor of `chain[i]`: its parents, and theirs where they are in
/// the chain too. A chain that leads back to where it started is refused.
fn ancestors(chain: &[EntitySpec], i: usize) -> Result<Vec<(&'static str, &str)>, String> {
    let mut seen: Vec<(&'static str, &str)> = Vec::new();
    let mut todo: Vec<usize> = vec![i];
    while let Some(j) = todo.pop() {
        for (ty, id) in &chain[j].parents {
            if *ty == chain[i].ty && *id == chain[i].id {
                return Err(format!(
                    "{} is its own ancestor: the resource hierarchy has a cycle",
                    chain[i].display()
                ));
            }
            if seen.iter().any(|(t, d)| t == ty && d == id) {
                continue;
            }
            seen.push((ty, id));
            if let Some(k) = chain.iter().position(|e| e.ty == *ty && e.id == *id) {
                todo.push(k);
            }
        }
    }
    Ok(seen)
}

fn resource_entity(chain: &[EntitySpec], i: usize) -> Result<ast::Entity, String> {
    let spec = &chain[i];
    let uid = |ty: &str, id: &str| core_uid(super::entities::uid(ty, id));
    let parents: HashSet<ast::EntityUID> = spec.parents.iter().map(|(t, id)| uid(t, id)).collect();
    let indirect: HashSet<ast::EntityUID> = ancestors(chain, i)?
        .into_iter()
        .map(|(t, id)| uid(t, id))
        .filter(|u| !parents.contains(u))
        .collect();
    Ok(ast::Entity::new_with_attr_partial_value(
        uid(spec.ty, &spec.id),
        spec.attrs
            .iter()
            .map(|(k, v)| ((*k).into(), PartialValue::Value(attr_value(v)))),
        indirect,
        parents,
        [],
    ))
}

/// The request's entity store: the action (with its groups, closed by the
/// schema), the principal and the resource chain, each with all its
/// ancestors.
pub(super) fn entities(
    principal: &Principal,
    resources: &[EntitySpec],
    action: &Arc<ast::Entity>,
) -> Result<Entities, String> {
    let mut list: Vec<Arc<ast::Entity>> = Vec::with_capacity(2 + resources.len());
    list.push(action.clone());
    list.push(Arc::new(principal_entity(principal)));
    for i in 0..resources.len() {
        list.push(Arc::new(resource_entity(resources, i)?));
    }
    CoreEntities::new()
        .add_entities(
            list,
            None::<&NoEntitiesSchema>,
            TCComputation::AssumeAlreadyComputed,
            Extensions::none(),
        )
        .map(Entities::from)
        .map_err(|e| e.to_string())
}

/// The request, its context made from `context` directly. Debug builds
/// check it against the schema as well (see the module comment).
pub(super) fn request(
    principal: &Principal,
    action: EntityUid,
    resource: EntityUid,
    context: &PolicyContext,
    schema: &Schema,
) -> Result<Request, String> {
    let ast::ValueKind::Record(fields) = context.to_cedar()?.value else {
        return Err("the context is not a record".into());
    };
    let context = cedar_policy::Context::from(ast::Context::Value(fields));
    let check = cfg!(debug_assertions).then_some(schema);
    Request::new(principal.uid(), action, resource, context, check).map_err(|e| e.to_string())
}
