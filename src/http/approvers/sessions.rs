//! Approvers' browser sessions: a random cookie names a session held here,
//! or in the shared store when replicas share one (`[state]`), by the
//! cookie's digest, with its own anti-CSRF token. Bounded in number (here;
//! in the store by their lifetime), ended when idle, and never older than a
//! working day. An approver signed in through one replica is signed in on
//! all of them; if the store cannot be read, nobody is (fail closed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::state::resp::Reply;
use crate::state::Redis;
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
    /// Where the sessions are kept when replicas share them.
    shared: Option<Arc<Redis>>,
}

/// A session as the shared store keeps it: its idle limit is the key's
/// time to live, renewed on each request; its age limit, wall-clock.
#[derive(Serialize, Deserialize)]
struct StoredSession {
    principal: String,
    csrf: String,
    started_ms: u128,
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

impl Sessions {
    /// Sessions kept in `shared` (every replica's), or in this process.
    pub fn new(shared: Option<Arc<Redis>>) -> Sessions {
        Sessions {
            held: Mutex::default(),
            shared,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stored_key(redis: &Redis, cookie: &str) -> String {
        redis.key(&["page-session", &sha256_hex(cookie.as_bytes())])
    }

    /// Sign `principal` in: the cookie value to set, and the session.
    pub async fn start(&self, principal: &str, now: Instant) -> Result<(String, Session), String> {
        let cookie = secret_hex(32)?;
        let session = Session {
            principal: principal.to_string(),
            csrf: secret_hex(32)?,
            started: now,
            seen: now,
        };
        if let Some(redis) = &self.shared {
            let stored = StoredSession {
                principal: session.principal.clone(),
                csrf: session.csrf.clone(),
                started_ms: unix_ms(),
            };
            let json = serde_json::to_vec(&stored).map_err(|e| e.to_string())?;
            let idle = IDLE.as_millis().to_string();
            redis
                .cmd(&[
                    b"SET",
                    Self::stored_key(redis, &cookie).as_bytes(),
                    &json,
                    b"PX",
                    idle.as_bytes(),
                ])
                .await
                .map_err(|e| format!("sign-in is unavailable: the shared store failed ({e})"))?;
            return Ok((cookie, session));
        }
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
    pub async fn find(&self, cookie: &str, now: Instant) -> Option<Session> {
        if let Some(redis) = &self.shared {
            return Self::find_stored(redis, cookie, now).await;
        }
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

    async fn find_stored(redis: &Redis, cookie: &str, now: Instant) -> Option<Session> {
        let key = Self::stored_key(redis, cookie);
        let stored = match redis.cmd(&[b"GET", key.as_bytes()]).await {
            Ok(Reply::Bulk(bytes)) => serde_json::from_slice::<StoredSession>(&bytes).ok()?,
            Ok(_) => return None,
            Err(e) => {
                tracing::error!(error = %e, "approvers' sessions cannot be read from the shared store; nobody is signed in until they can");
                return None;
            }
        };
        if unix_ms().saturating_sub(stored.started_ms) >= MAX_AGE.as_millis() {
            let _ = redis.cmd(&[b"DEL", key.as_bytes()]).await;
            return None;
        }
        let idle = IDLE.as_millis().to_string();
        if redis
            .cmd(&[b"PEXPIRE", key.as_bytes(), idle.as_bytes()])
            .await
            .is_err()
        {
            return None;
        }
        Some(Session {
            principal: stored.principal,
            csrf: stored.csrf,
            started: now,
            seen: now,
        })
    }

    /// Sign out (everywhere, when shared).
    pub async fn end(&self, cookie: &str) {
        if let Some(redis) = &self.shared {
            if let Err(e) = redis
                .cmd(&[b"DEL", Self::stored_key(redis, cookie).as_bytes()])
                .await
            {
                tracing::error!(error = %e, "an approver's sign-out could not reach the shared store; the session ends when idle");
            }
            return;
        }
        self.lock().remove(&sha256_hex(cookie.as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_session_is_found_by_its_cookie_only_while_live() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let (cookie, s) = sessions.start("carol", t0).await.unwrap();
        assert_eq!(cookie.len(), 64);
        assert_ne!(cookie, s.csrf);
        assert_eq!(sessions.find(&cookie, t0).await.unwrap().principal, "carol");
        assert!(
            sessions.find(&s.csrf, t0).await.is_none(),
            "the CSRF token is no cookie"
        );
        assert!(sessions.find(&cookie[1..], t0).await.is_none());
        // Each request renews the idle clock, not the absolute one.
        let mut t = t0;
        while t.duration_since(t0) + IDLE / 2 < MAX_AGE {
            t += IDLE / 2;
            assert!(
                sessions.find(&cookie, t).await.is_some(),
                "live at {:?}",
                t - t0
            );
        }
        t += IDLE / 2;
        assert!(
            sessions.find(&cookie, t).await.is_none(),
            "past the maximum age"
        );

        let (cookie, _) = sessions.start("dave", t0).await.unwrap();
        assert!(
            sessions.find(&cookie, t0 + IDLE).await.is_none(),
            "idle too long"
        );
        let (cookie, s) = sessions.start("dave", t0).await.unwrap();
        assert!(s.csrf_ok(&s.csrf.clone()) && !s.csrf_ok("") && !s.csrf_ok(&cookie));
        sessions.end(&cookie).await;
        assert!(sessions.find(&cookie, t0).await.is_none(), "signed out");
    }

    #[tokio::test]
    async fn the_least_recently_used_session_makes_room() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let (first, _) = sessions.start("p0", t0).await.unwrap();
        let mut last = String::new();
        for i in 1..MAX_SESSIONS {
            last = sessions
                .start(&format!("p{i}"), t0 + Duration::from_millis(i as u64))
                .await
                .unwrap()
                .0;
        }
        // The first is used again, so the second is the oldest.
        let now = t0 + Duration::from_secs(1);
        assert!(sessions.find(&first, now).await.is_some());
        sessions.start("new", now).await.unwrap();
        assert_eq!(sessions.lock().len(), MAX_SESSIONS);
        assert!(sessions.find(&first, now).await.is_some());
        assert!(sessions.find(&last, now).await.is_some());
    }
}
