//! Approvers' browser sessions: a random cookie names a session held here
//! (by the cookie's digest), with its own anti-CSRF token. Bounded in
//! number, ended when idle, and never older than a working day.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::util::{constant_time_eq, secret_hex, sha256_hex};

/// Signed out after this long without a request.
pub const IDLE: Duration = Duration::from_secs(15 * 60);
/// Signed out this long after signing in, however busy.
pub const MAX_AGE: Duration = Duration::from_secs(8 * 3600);
/// Sessions held at once; signing in past it ends the least recently used.
const MAX_SESSIONS: usize = 256;

/// A signed-in approver.
#[derive(Debug, Clone)]
pub struct Session {
    /// The `[[principals]]` id their key names.
    pub principal: String,
    /// Every form carries it back; a request without it changes nothing.
    pub csrf: String,
    started: Instant,
    seen: Instant,
}

impl Session {
    /// Does `presented` (a form's token) belong to this session?
    pub fn csrf_ok(&self, presented: &str) -> bool {
        constant_time_eq(self.csrf.as_bytes(), presented.as_bytes())
    }

    fn live(&self, now: Instant) -> bool {
        now.duration_since(self.seen) < IDLE && now.duration_since(self.started) < MAX_AGE
    }
}

#[derive(Default)]
pub struct Sessions {
    /// By the SHA-256 of the cookie: the cookie itself is kept nowhere.
    held: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sign `principal` in: the cookie value to set, and the session.
    pub fn start(&self, principal: &str, now: Instant) -> Result<(String, Session), String> {
        let cookie = secret_hex(32)?;
        let session = Session {
            principal: principal.to_string(),
            csrf: secret_hex(32)?,
            started: now,
            seen: now,
        };
        let mut held = self.lock();
        held.retain(|_, s| s.live(now));
        if held.len() >= MAX_SESSIONS {
            if let Some(oldest) = held
                .iter()
                .min_by_key(|(_, s)| s.seen)
                .map(|(k, _)| k.clone())
            {
                held.remove(&oldest);
            }
        }
        held.insert(sha256_hex(cookie.as_bytes()), session.clone());
        Ok((cookie, session))
    }

    /// The live session `cookie` names, marked as seen now.
    pub fn find(&self, cookie: &str, now: Instant) -> Option<Session> {
        let key = sha256_hex(cookie.as_bytes());
        let mut held = self.lock();
        match held.get_mut(&key) {
            Some(s) if s.live(now) => {
                s.seen = now;
                Some(s.clone())
            }
            Some(_) => {
                held.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Sign out.
    pub fn end(&self, cookie: &str) {
        self.lock().remove(&sha256_hex(cookie.as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_cookie_only_while_live() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let (cookie, s) = sessions.start("carol", t0).unwrap();
        assert_eq!(cookie.len(), 64);
        assert_ne!(cookie, s.csrf);
        assert_eq!(sessions.find(&cookie, t0).unwrap().principal, "carol");
        assert!(
            sessions.find(&s.csrf, t0).is_none(),
            "the CSRF token is no cookie"
        );
        assert!(sessions.find(&cookie[1..], t0).is_none());
        // Each request renews the idle clock, not the absolute one.
        let mut t = t0;
        while t.duration_since(t0) + IDLE / 2 < MAX_AGE {
            t += IDLE / 2;
            assert!(sessions.find(&cookie, t).is_some(), "live at {:?}", t - t0);
        }
        t += IDLE / 2;
        assert!(sessions.find(&cookie, t).is_none(), "past the maximum age");

        let (cookie, _) = sessions.start("dave", t0).unwrap();
        assert!(sessions.find(&cookie, t0 + IDLE).is_none(), "idle too long");
        let (cookie, s) = sessions.start("dave", t0).unwrap();
        assert!(s.csrf_ok(&s.csrf.clone()) && !s.csrf_ok("") && !s.csrf_ok(&cookie));
        sessions.end(&cookie);
        assert!(sessions.find(&cookie, t0).is_none(), "signed out");
    }

    #[test]
    fn the_least_recently_used_session_makes_room() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let (first, _) = sessions.start("p0", t0).unwrap();
        let mut last = String::new();
        for i in 1..MAX_SESSIONS {
            last = sessions
                .start(&format!("p{i}"), t0 + Duration::from_millis(i as u64))
                .unwrap()
                .0;
        }
        // The first is used again, so the second is the oldest.
        let now = t0 + Duration::from_secs(1);
        assert!(sessions.find(&first, now).is_some());
        sessions.start("new", now).unwrap();
        assert_eq!(sessions.lock().len(), MAX_SESSIONS);
        assert!(sessions.find(&first, now).is_some());
        assert!(sessions.find(&last, now).is_some());
    }
}
