//! Scope slicing: which policies can possibly apply to an (action,
//! principal) pair. Only the scope is inspected, never conditions, so the
//! slice is exact: a policy left out could not have been satisfied.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use cedar_policy::{ActionConstraint, Effect, EntityUid, Policy, PolicySet, PrincipalConstraint};

use crate::catalog::Catalog;
use crate::principal::Principal;

/// Slices kept before the cache is emptied; bounds memory when many
/// distinct principals call.
const CACHE_LIMIT: usize = 4096;

struct Entry {
    policy: Policy,
    principal: PrincipalConstraint,
    permit: bool,
    /// A forbid on any resource whose conditions read neither the resource
    /// nor the context: whether it applies depends on the principal alone,
    /// so when it does, no arguments can make the call allowed.
    principal_only_forbid: bool,
}

/// See [`Entry::principal_only_forbid`].
fn is_principal_only_forbid(p: &Policy) -> bool {
    p.effect() == Effect::Forbid
        && p.resource_constraint() == cedar_policy::ResourceConstraint::Any
        && p.to_json()
            .is_ok_and(|j| !super::reads_varying(&j["conditions"], &[]))
}

pub struct SliceIndex {
    by_action: HashMap<String, Vec<Entry>>,
    cache: Mutex<HashMap<String, Arc<PolicySet>>>,
    empty: Arc<PolicySet>,
}

fn action_scope_matches(c: &ActionConstraint, accepted: &HashSet<EntityUid>) -> bool {
    match c {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(uid) => accepted.contains(uid),
        ActionConstraint::In(uids) => uids.iter().any(|u| accepted.contains(u)),
    }
}

fn principal_scope_matches(c: &PrincipalConstraint, me: &EntityUid, groups: &[EntityUid]) -> bool {
    let is_user = |ty: &cedar_policy::EntityTypeName| ty == me.type_name();
    let within = |uid: &EntityUid| uid == me || groups.contains(uid);
    match c {
        PrincipalConstraint::Any => true,
        PrincipalConstraint::Eq(uid) => uid == me,
        PrincipalConstraint::In(uid) => within(uid),
        PrincipalConstraint::Is(ty) => is_user(ty),
        PrincipalConstraint::IsIn(ty, uid) => is_user(ty) && within(uid),
    }
}

fn group_uids(principal: &Principal) -> Vec<EntityUid> {
    principal
        .groups
        .iter()
        .map(|g| {
            EntityUid::from_type_name_and_id(
                crate::policy::type_name("Group"),
                cedar_policy::EntityId::new(g),
            )
        })
        .collect()
}

impl SliceIndex {
    pub fn build(all: &PolicySet, catalog: &Catalog) -> SliceIndex {
        let mut by_action = HashMap::new();
        for tool in catalog.tools() {
            let accepted: HashSet<EntityUid> = std::iter::once(tool.action().to_string())
                .chain(tool.action_groups())
                .map(|a| super::action_uid(&a))
                .collect();
            let entries: Vec<Entry> = all
                .policies()
                .filter(|p| action_scope_matches(&p.action_constraint(), &accepted))
                .map(|p| Entry {
                    policy: p.clone(),
                    principal: p.principal_constraint(),
                    permit: p.effect() == Effect::Permit,
                    principal_only_forbid: is_principal_only_forbid(p),
                })
                .collect();
            by_action.insert(tool.action().to_string(), entries);
        }
        SliceIndex {
            by_action,
            cache: Mutex::new(HashMap::new()),
            empty: Arc::new(PolicySet::new()),
        }
    }

    fn matching<'a>(
        &'a self,
        action: &str,
        principal: &Principal,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        let me = principal.uid();
        let groups = group_uids(principal);
        self.by_action
            .get(action)
            .into_iter()
            .flatten()
            .filter(move |e| principal_scope_matches(&e.principal, &me, &groups))
    }

    pub fn any_permit(&self, action: &str, principal: &Principal) -> bool {
        self.matching(action, principal).any(|e| e.permit)
    }

    /// The forbids that, if they apply to `principal` at all, deny `action`
    /// whatever its arguments.
    pub fn principal_only_forbids(&self, action: &str, principal: &Principal) -> Vec<Policy> {
        self.matching(action, principal)
            .filter(|e| e.principal_only_forbid)
            .map(|e| e.policy.clone())
            .collect()
    }

    /// The policies that can apply to `action` called by `principal`.
    pub fn slice(&self, _all: &PolicySet, action: &str, principal: &Principal) -> Arc<PolicySet> {
        if !self.by_action.contains_key(action) {
            return self.empty.clone();
        }
        let key = format!(
            "{action}\u{0}{}\u{0}{}",
            principal.id,
            principal.groups.join("\u{0}")
        );
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return hit;
        }
        let set =
            PolicySet::from_policies(self.matching(action, principal).map(|e| e.policy.clone()))
                .map(Arc::new)
                // Ids are unique in the full set, so a subset cannot clash.
                .unwrap_or_else(|_| self.empty.clone());
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, set.clone());
        }
        set
    }
}
