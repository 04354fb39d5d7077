//! Which principal opened each MCP session, and how many each may hold.
//! Every request re-authenticates; a session id presented by anyone but
//! its owner is refused, so a leaked id is useless without the owner's
//! credentials. Sessions cost memory, so each principal may hold a bounded
//! number and the server a bounded total: past either, a new session is
//! refused — a live session of someone else is never evicted to make room.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmcp::transport::streamable_http_server::session::local::SessionConfig;

/// Sessions idle this long are forgotten: the MCP library closes a session
/// after the same idle time, so one it has closed never counts.
pub const IDLE: Duration = SessionConfig::DEFAULT_KEEP_ALIVE;

/// How many sessions may be open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionLimits {
    pub total: usize,
    pub per_principal: usize,
}

/// Why a new session was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SessionRefused {
    /// This principal holds its share (429: it can close one).
    PrincipalFull(usize),
    /// The server holds as many as it may (503: everyone waits).
    ServerFull(usize),
}

struct Owner {
    principal: String,
    last_used: Instant,
    /// When its owner was last published to the other replicas.
    published: Option<Instant>,
}

#[derive(Default)]
struct Table {
    owners: HashMap<String, Owner>,
    /// Session-creating requests in flight, per principal: they count
    /// against the limits until their answer says whether a session opened.
    opening: HashMap<String, usize>,
}

impl Table {
    fn held_by(&self, principal: &str) -> usize {
        self.owners
            .values()
            .filter(|o| o.principal == principal)
            .count()
            + self.opening.get(principal).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.owners.len() + self.opening.values().sum::<usize>()
    }
}

pub struct SessionOwners {
    table: Mutex<Table>,
    limits: SessionLimits,
}

/// A place held for a session being opened.
pub struct Reservation<'s> {
    owners: &'s SessionOwners,
    principal: String,
    settled: bool,
}

impl Reservation<'_> {
    /// The request's answer: the session it opened, if any.
    pub fn opened(mut self, session: Option<&str>, now: Instant) {
        self.settled = true;
        self.owners.opened(&self.principal, session, now);
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.owners.opened(&self.principal, None, Instant::now());
        }
    }
}

/// What the table says about a presented session id.
#[derive(Debug, PartialEq)]
pub enum Ownership {
    Owner,
    Other,
    Unknown,
}

impl SessionOwners {
    pub fn new(limits: SessionLimits) -> SessionOwners {
        SessionOwners {
            table: Mutex::default(),
            limits,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Table) -> T) -> T {
        f(&mut self.table.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Room for one more session of `principal`? If so it is held by the
    /// returned reservation until it says what came of it, or is dropped
    /// (the client went away mid-request): a place is never leaked.
    pub fn reserve<'s>(
        &'s self,
        principal: &str,
        now: Instant,
    ) -> Result<Reservation<'s>, SessionRefused> {
        self.hold(principal, now)?;
        Ok(Reservation {
            owners: self,
            principal: principal.to_string(),
            settled: false,
        })
    }

    fn hold(&self, principal: &str, now: Instant) -> Result<(), SessionRefused> {
        self.with(|t| {
            t.owners
                .retain(|_, o| now.duration_since(o.last_used) < IDLE);
            if t.held_by(principal) >= self.limits.per_principal {
                return Err(SessionRefused::PrincipalFull(self.limits.per_principal));
            }
            if t.total() >= self.limits.total {
                return Err(SessionRefused::ServerFull(self.limits.total));
            }
            *t.opening.entry(principal.to_string()).or_default() += 1;
            Ok(())
        })
    }

    /// The answer to a reserved request: the session it opened, if any.
    fn opened(&self, principal: &str, session: Option<&str>, now: Instant) {
        self.with(|t| {
            if let Some(n) = t.opening.get_mut(principal) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    t.opening.remove(principal);
                }
            }
            if let Some(s) = session {
                t.owners.insert(
                    s.to_string(),
                    Owner {
                        principal: principal.to_string(),
                        last_used: now,
                        published: None,
                    },
                );
            }
        });
    }

    pub fn check(&self, session: &str, principal: &str, now: Instant) -> Ownership {
        self.with(|t| match t.owners.get_mut(session) {
            Some(o) if now.duration_since(o.last_used) >= IDLE => {
                t.owners.remove(session);
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

    /// Is it time to publish `session`'s owner to the other replicas (never
    /// yet, or a quarter of the idle time ago)? If so, it counts as done
    /// now: one publication per session per few minutes, not per request.
    pub fn publish_due(&self, session: &str, now: Instant) -> bool {
        self.with(|t| match t.owners.get_mut(session) {
            Some(o)
                if o.published
                    .is_none_or(|p| now.duration_since(p) >= IDLE / 4) =>
            {
                o.published = Some(now);
                true
            }
            _ => false,
        })
    }

    pub fn forget(&self, session: &str) {
        self.with(|t| t.owners.remove(session));
    }

    /// Open sessions (for metrics).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.with(|t| t.owners.len())
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: SessionLimits = SessionLimits {
        total: 100,
        per_principal: 100,
    };

    #[test]
    fn an_owner_is_published_once_per_quarter_of_the_idle_time() {
        let owners = SessionOwners::new(ROOMY);
        let t0 = Instant::now();
        owners.reserve("alice", t0).unwrap().opened(Some("s1"), t0);
        assert!(!owners.publish_due("unknown", t0));
        assert!(owners.publish_due("s1", t0), "first");
        assert!(
            !owners.publish_due("s1", t0 + IDLE / 8),
            "not again so soon"
        );
        assert!(
            owners.publish_due("s1", t0 + IDLE / 4),
            "again before its key expires"
        );
    }

    fn open(s: &SessionOwners, id: &str, who: &str, t: Instant) -> Result<(), SessionRefused> {
        s.reserve(who, t)?.opened(Some(id), t);
        Ok(())
    }

    #[test]
    fn a_session_belongs_to_the_principal_that_opened_it() {
        let t = Instant::now();
        let s = SessionOwners::new(ROOMY);
        open(&s, "s1", "alice", t).unwrap();
        assert_eq!(s.check("s1", "alice", t), Ownership::Owner);
        assert_eq!(s.check("s1", "bob", t), Ownership::Other);
        assert_eq!(s.check("s2", "alice", t), Ownership::Unknown);
        assert_eq!(s.check("s1", "alice", t + IDLE), Ownership::Unknown);
        assert!(s.is_empty());
        open(&s, "s3", "bob", t).unwrap();
        s.forget("s3");
        assert_eq!(s.check("s3", "bob", t), Ownership::Unknown);
    }

    #[test]
    fn a_principal_at_its_limit_is_refused_and_others_keep_their_sessions() {
        let t = Instant::now();
        let s = SessionOwners::new(SessionLimits {
            total: 5,
            per_principal: 3,
        });
        open(&s, "b1", "bob", t).unwrap();
        for i in 0..2 {
            open(&s, &format!("m{i}"), "mallory", t).unwrap();
        }
        // An answer still pending counts too; a request that went away
        // without an answer gives its place back.
        let pending = s.reserve("mallory", t).unwrap();
        assert_eq!(
            s.reserve("mallory", t).err(),
            Some(SessionRefused::PrincipalFull(3))
        );
        drop(pending);
        open(&s, "m2", "mallory", t).unwrap();
        assert_eq!(
            open(&s, "m3", "mallory", t),
            Err(SessionRefused::PrincipalFull(3))
        );
        // Dropped reservations leak nothing: the principal can still open
        // once it closes one.
        for _ in 0..10 {
            drop(s.reserve("bob", t));
        }
        open(&s, "b2", "bob", t).unwrap();
        // Full: the next is refused, nobody is evicted.
        assert_eq!(
            open(&s, "c1", "carol", t),
            Err(SessionRefused::ServerFull(5))
        );
        assert_eq!(s.check("b1", "bob", t), Ownership::Owner);
        assert_eq!(s.check("m0", "mallory", t), Ownership::Owner);
        // Closing one makes room; idle ones expire.
        s.forget("m0");
        open(&s, "c1", "carol", t).unwrap();
        open(&s, "c2", "carol", t + IDLE).unwrap();
        assert_eq!(s.len(), 1);
    }
}
