//! Entity stores already built, reused while the same caller touches the
//! same resource with the same tool.
//!
//! Building a request's entities was the largest part of the gate's own
//! cost (each resource's attributes become a B-tree of Cedar values). The
//! inputs — the action, the principal with its groups, the resource chain
//! with every attribute and parent — are the whole key and are compared in
//! full on a hit, so a cached store is exactly the one that would be built:
//! a tag changed on the backend makes a different key, not a stale answer.
//! Each policy engine has its own cache, so a reload (which may change the
//! actions' groups) starts empty. Bounded: when full it is emptied, which
//! costs one rebuild per entry and never more than building every time.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, RwLock};

use cedar_policy::Entities;

use super::entities::EntitySpec;
use crate::principal::Principal;

/// How many entity stores one engine keeps.
pub(super) const CAPACITY: usize = 1024;

struct Entry {
    action: Box<str>,
    principal: Principal,
    resources: Box<[EntitySpec]>,
    entities: Arc<Entities>,
}

#[derive(Default)]
struct Slots {
    /// By the key's hash; entries whose hashes collide share a bucket.
    by_hash: HashMap<u64, Vec<Entry>>,
    len: usize,
}

pub(super) struct EntityCache {
    slots: RwLock<Slots>,
    /// Keyed per process, so no caller can choose colliding keys.
    hasher: RandomState,
}

impl EntityCache {
    pub(super) fn new() -> EntityCache {
        EntityCache {
            slots: RwLock::new(Slots::default()),
            hasher: RandomState::new(),
        }
    }

    fn hash(&self, action: &str, principal: &Principal, resources: &[EntitySpec]) -> u64 {
        let mut h = self.hasher.build_hasher();
        action.hash(&mut h);
        principal.hash(&mut h);
        resources.hash(&mut h);
        h.finish()
    }

    /// The store for this key, built by `build` when not kept already.
    pub(super) fn get_or_build(
        &self,
        action: &str,
        principal: &Principal,
        resources: &[EntitySpec],
        build: impl FnOnce() -> Result<Entities, String>,
    ) -> Result<Arc<Entities>, String> {
        let hash = self.hash(action, principal, resources);
        let matches = |e: &&Entry| {
            &*e.action == action && e.principal == *principal && &*e.resources == resources
        };
        {
            let slots = self.slots.read().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = slots
                .by_hash
                .get(&hash)
                .and_then(|b| b.iter().find(matches))
            {
                return Ok(e.entities.clone());
            }
        }
        let entities = Arc::new(build()?);
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        if slots.len >= CAPACITY {
            *slots = Slots::default();
        }
        let bucket = slots.by_hash.entry(hash).or_default();
        // Another caller may have built the same store meanwhile.
        if !bucket.iter().any(|e| matches(&e)) {
            bucket.push(Entry {
                action: action.into(),
                principal: principal.clone(),
                resources: resources.into(),
                entities: entities.clone(),
            });
            slots.len += 1;
        }
        Ok(entities)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.slots.read().unwrap_or_else(|p| p.into_inner()).len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(id: &str) -> Vec<EntitySpec> {
        vec![EntitySpec {
            ty: "Vm",
            id: id.into(),
            attrs: vec![],
            parents: vec![],
        }]
    }

    #[test]
    fn a_key_is_built_once_and_the_cache_stays_bounded() {
        let cache = EntityCache::new();
        let alice = Principal::new("alice", ["ops"]);
        let mut builds = 0;
        for _ in 0..3 {
            cache
                .get_or_build("a", &alice, &vm("1"), || {
                    builds += 1;
                    Ok(Entities::empty())
                })
                .unwrap();
        }
        assert_eq!(builds, 1);
        for i in 0..CAPACITY + 10 {
            let p = Principal::new(format!("user{i}"), ["ops"]);
            cache
                .get_or_build("a", &p, &vm("1"), || Ok(Entities::empty()))
                .unwrap();
            assert!(cache.len() <= CAPACITY, "{} entries", cache.len());
        }
        let err = cache
            .get_or_build("a", &alice, &vm("2"), || Err("no".into()))
            .unwrap_err();
        assert_eq!(err, "no");
    }
}
