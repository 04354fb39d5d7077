//! Which principal opened each MCP session. Every request re-authenticates;
//! a session id presented by anyone but its owner is refused, so a leaked
//! id is useless without the owner's credentials.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sessions idle this long are forgotten (rmcp closes them sooner).
const IDLE: Duration = Duration::from_secs(30 * 60);
/// Most sessions tracked; the least recently used go first and their
/// clients re-initialize.
const MAX_SESSIONS: usize = 10_000;

struct Owner {
    principal: String,
    last_used: Instant,
}

#[derive(Default)]
pub struct SessionOwners {
    owners: Mutex<HashMap<String, Owner>>,
}

/// What the table says about a presented session id.
#[derive(Debug, PartialEq)]
pub enum Ownership {
    Owner,
    Other,
    Unknown,
}

impl SessionOwners {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Owner>) -> T) -> T {
        f(&mut self.owners.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn bind(&self, session: &str, principal: &str, now: Instant) {
        self.with(|m| {
            if m.len() >= MAX_SESSIONS {
                m.retain(|_, o| now.duration_since(o.last_used) < IDLE);
            }
            if m.len() >= MAX_SESSIONS {
                if let Some(oldest) = m
                    .iter()
                    .min_by_key(|(_, o)| o.last_used)
                    .map(|(k, _)| k.clone())
                {
                    m.remove(&oldest);
                }
            }
            m.insert(
                session.to_string(),
                Owner {
                    principal: principal.to_string(),
                    last_used: now,
                },
            );
        })
    }

    pub fn check(&self, session: &str, principal: &str, now: Instant) -> Ownership {
        self.with(|m| match m.get_mut(session) {
            Some(o) if now.duration_since(o.last_used) >= IDLE => {
                m.remove(session);
                Ownership::Unknown
            }
            Some(o) if o.principal == principal => {
                o.last_used = now;
                Ownership::Owner
            }
            Some(_) => Ownership::Other,
            None => Ownership::Unknown,
        })
    }

    pub fn forget(&self, session: &str) {
        self.with(|m| m.remove(session));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.with(|m| m.len())
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_belongs_to_the_principal_that_opened_it() {
        let t = Instant::now();
        let s = SessionOwners::default();
        s.bind("s1", "alice", t);
        assert_eq!(s.check("s1", "alice", t), Ownership::Owner);
        assert_eq!(s.check("s1", "bob", t), Ownership::Other);
        assert_eq!(s.check("s2", "alice", t), Ownership::Unknown);
        assert_eq!(s.check("s1", "alice", t + IDLE), Ownership::Unknown);
        assert!(s.is_empty());
        s.bind("s3", "bob", t);
        s.forget("s3");
        assert_eq!(s.check("s3", "bob", t), Ownership::Unknown);
    }

    #[test]
    fn the_table_is_bounded() {
        let t = Instant::now();
        let s = SessionOwners::default();
        for i in 0..MAX_SESSIONS + 5 {
            s.bind(
                &format!("s{i}"),
                "alice",
                t + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(s.len(), MAX_SESSIONS);
        assert_eq!(s.check("s0", "alice", t), Ownership::Unknown);
    }
}
