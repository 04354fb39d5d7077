//! Break-glass: a principal granted a group for a bounded time, with a
//! mandatory reason, by an operator on the server's host.
//!
//! A grant adds the group to the principal's groups for every decision
//! while it lasts — policy still decides, with the emergency group — and
//! marks every call made meanwhile (the `break_glass` key of its records,
//! `portcullis_break_glass_calls_total`). Its start and end are audited by
//! the server ([`crate::admin`]). Grants live in the server's memory: a
//! restart ends them (the log then shows a start whose end is its
//! `until`). Granted through the admin socket (`portcullis break-glass`).

use std::sync::RwLock;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use crate::state::resp::Reply;
use crate::state::Redis;

use serde::{Deserialize, Serialize};

use crate::principal::Principal;

/// The longest grant when the configuration does not say.
pub const DEFAULT_MAX: Duration = Duration::from_secs(4 * 3600);
/// The longest grant a configuration may allow.
pub const LIMIT: Duration = Duration::from_secs(7 * 86_400);
/// The longest reason kept, in bytes.
pub const MAX_REASON: usize = 500;
/// Most grants in force at once.
const MAX_ACTIVE: usize = 64;

/// What an operator asks for.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub principal: String,
    pub group: String,
    pub seconds: u64,
    pub reason: String,
    /// Who asks (a configured principal), where grants need an approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// The approved request this grant was asked under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
}

/// A grant in force.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub principal: String,
    pub group: String,
    pub reason: String,
    /// Who granted it (the operator's OS account on the server's host).
    pub granted_by: String,
    #[serde(with = "rfc3339")]
    pub from: SystemTime,
    #[serde(with = "rfc3339")]
    pub until: SystemTime,
    /// When it ends, by the monotonic clock: setting the wall clock back
    /// does not lengthen a grant.
    #[serde(skip)]
    pub deadline: Instant,
    /// The approval request it was made under, where grants need one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
}

pub(crate) mod rfc3339 {
    use std::time::SystemTime;

    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_seconds(*t))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GrantError {
    #[error("a break-glass grant needs a reason (what is broken, and the ticket or incident)")]
    NoReason,
    #[error("the reason is longer than {MAX_REASON} bytes or is not one line of plain text")]
    BadReason,
    #[error("{0} must be a non-empty name of at most 128 bytes without control characters")]
    BadName(&'static str),
    #[error(
        "no policy names group {0:?}: granting it would change nothing (groups policies name: {1})"
    )]
    UnknownGroup(String, String),
    #[error("the duration must be between 1 second and {max} (the configured break_glass_max)", max = humantime::format_duration(*.0))]
    BadDuration(Duration),
    #[error("{MAX_ACTIVE} grants are in force already; end one first")]
    TooMany,
    #[error("no grant {0:?} is in force")]
    NoSuchGrant(String),
    /// The shared store failed: nothing is granted or ended.
    #[error("break-glass is unavailable: {0}")]
    Store(String),
}

/// No control characters, and none of the invisible ones that reorder or
/// hide text (bidirectional overrides, zero-width characters).
pub(crate) fn plain(s: &str) -> bool {
    !s.chars().any(|c| {
        c.is_control() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    })
}

/// The grants in force: in this process, or mirrored from Redis (shared
/// by replicas) by [`BreakGlass::refresh`] every second.
pub struct BreakGlass {
    grants: RwLock<Vec<Grant>>,
    max: Duration,
    shared: OnceLock<Arc<Redis>>,
    /// Grants are made only once approved (`break_glass_needs_approval`).
    needs_approval: std::sync::atomic::AtomicBool,
    /// Bumped whenever the grants here change (made, ended, expired, or
    /// mirrored from the store): what a principal may see may have changed.
    changes: tokio::sync::watch::Sender<u64>,
}

/// A grant as kept in Redis: wall-clock times only (each replica derives
/// its own monotonic deadline).
#[derive(Serialize, Deserialize)]
struct StoredGrant {
    id: String,
    principal: String,
    group: String,
    reason: String,
    granted_by: String,
    #[serde(with = "rfc3339")]
    from: SystemTime,
    #[serde(with = "rfc3339")]
    until: SystemTime,
    #[serde(default)]
    approval: Option<String>,
}

impl From<&Grant> for StoredGrant {
    fn from(g: &Grant) -> StoredGrant {
        StoredGrant {
            id: g.id.clone(),
            principal: g.principal.clone(),
            group: g.group.clone(),
            reason: g.reason.clone(),
            granted_by: g.granted_by.clone(),
            from: g.from,
            until: g.until,
            approval: g.approval.clone(),
        }
    }
}

fn store_error(e: crate::state::StateError) -> GrantError {
    GrantError::Store(e.to_string())
}

impl Default for BreakGlass {
    fn default() -> Self {
        BreakGlass::new(DEFAULT_MAX)
    }
}

impl BreakGlass {
    pub fn new(max: Duration) -> BreakGlass {
        BreakGlass {
            grants: RwLock::new(Vec::new()),
            max,
            shared: OnceLock::new(),
            needs_approval: std::sync::atomic::AtomicBool::new(false),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Changes each time the grants here change (a session's tool list may
    /// follow).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// From now on a grant is made only once approvers approve it.
    pub fn require_approval(&self, yes: bool) {
        self.needs_approval
            .store(yes, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn needs_approval(&self) -> bool {
        self.needs_approval
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Keep grants in Redis from now on, and mirror them here every second
    /// (until the last `Arc` goes). A failed read drops every grant here:
    /// break-glass fails closed.
    pub fn share(self: &Arc<Self>, redis: Arc<Redis>) {
        if self.shared.set(redis).is_err() {
            return;
        }
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(bg) = me.upgrade() else { return };
                if let Err(e) = bg.refresh().await {
                    tracing::error!(error = %e, "break-glass grants cannot be read from the shared store; none applies until they can");
                }
                drop(bg);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// Read the grants in force from the shared store into this process.
    pub async fn refresh(&self) -> Result<(), GrantError> {
        let Some(redis) = self.shared.get() else {
            return Ok(());
        };
        // Ended grants, and those past their time (their keys expire with
        // them), leave the index.
        let read = async {
            let mut out = Vec::new();
            for (id, bytes) in redis.indexed("grants", "grant").await? {
                match serde_json::from_slice::<StoredGrant>(&bytes) {
                    Ok(g) => out.push(g),
                    Err(e) => {
                        tracing::error!(grant = %id, error = %e, "skipping an unreadable break-glass grant");
                    }
                }
            }
            Ok::<_, crate::state::StateError>(out)
        };
        let stored = match read.await {
            Ok(s) => s,
            Err(e) => {
                // Fail closed: no grant applies. Those whose time is up stay
                // (they apply to nobody) until their end is recorded.
                let now = Instant::now();
                let dropped = {
                    let mut grants = self.grants.write().unwrap_or_else(|p| p.into_inner());
                    let before = grants.len();
                    grants.retain(|g| g.deadline <= now);
                    before != grants.len()
                };
                if dropped {
                    self.changed();
                }
                return Err(store_error(e));
            }
        };
        let (wall, mono) = (SystemTime::now(), Instant::now());
        let mut grants = self.grants.write().unwrap_or_else(|p| p.into_inner());
        let before: std::collections::BTreeSet<String> =
            grants.iter().map(|g| g.id.clone()).collect();
        // Keep each grant's own deadline where this process made it.
        let known: std::collections::HashMap<String, Instant> =
            grants.iter().map(|g| (g.id.clone(), g.deadline)).collect();
        // A grant gone from the store because its time is up (its key
        // expired with it) stays until the sweep records its end; one gone
        // early was ended on another replica, which recorded it.
        let ran_out: Vec<Grant> = grants
            .drain(..)
            .filter(|g| {
                g.deadline <= mono + Duration::from_secs(2)
                    && g.deadline + Duration::from_secs(60) > mono
                    && !stored.iter().any(|s| s.id == g.id)
            })
            .collect();
        *grants = stored
            .into_iter()
            .map(|g| Grant {
                deadline: known.get(&g.id).copied().unwrap_or_else(|| {
                    mono + g.until.duration_since(wall).unwrap_or(Duration::ZERO)
                }),
                id: g.id,
                principal: g.principal,
                group: g.group,
                reason: g.reason,
                granted_by: g.granted_by,
                from: g.from,
                until: g.until,
                approval: g.approval,
            })
            .chain(ran_out)
            .collect();
        let after: std::collections::BTreeSet<String> =
            grants.iter().map(|g| g.id.clone()).collect();
        drop(grants);
        if before != after {
            self.changed();
        }
        Ok(())
    }

    /// Check `req` and make the grant it asks for, starting now; it is in
    /// force once [`BreakGlass::insert`]ed (after its record is written).
    /// `groups` are the groups the policies name: a grant of any other
    /// group would change nothing.
    pub fn check(
        &self,
        req: &GrantRequest,
        granted_by: &str,
        groups: &std::collections::BTreeSet<String>,
    ) -> Result<Grant, GrantError> {
        let reason = req.reason.trim();
        if reason.is_empty() {
            return Err(GrantError::NoReason);
        }
        if reason.len() > MAX_REASON || !plain(reason) {
            return Err(GrantError::BadReason);
        }
        for (what, v) in [("principal", &req.principal), ("group", &req.group)] {
            if v.is_empty() || v.len() > 128 || !plain(v) {
                return Err(GrantError::BadName(what));
            }
        }
        if !groups.contains(&req.group) {
            let named: Vec<&str> = groups.iter().map(String::as_str).collect();
            return Err(GrantError::UnknownGroup(
                req.group.clone(),
                named.join(", "),
            ));
        }
        let length = Duration::from_secs(req.seconds);
        if req.seconds == 0 || length > self.max {
            return Err(GrantError::BadDuration(self.max));
        }
        let started = Instant::now();
        let in_force = self
            .grants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|g| g.deadline > started)
            .count();
        if in_force >= MAX_ACTIVE {
            return Err(GrantError::TooMany);
        }
        let now = SystemTime::now();
        Ok(Grant {
            id: format!("bg-{}", crate::util::random_hex(6)),
            principal: req.principal.clone(),
            group: req.group.clone(),
            reason: reason.to_string(),
            granted_by: granted_by.to_string(),
            from: now,
            until: now + length,
            deadline: started + length,
            approval: None,
        })
    }

    /// Put a checked grant in force (everywhere, when shared).
    pub async fn insert(&self, grant: Grant) -> Result<(), GrantError> {
        if let Some(redis) = self.shared.get() {
            let json = serde_json::to_vec(&StoredGrant::from(&grant)).unwrap_or_default();
            let ms = grant
                .deadline
                .saturating_duration_since(Instant::now())
                .as_millis()
                .max(1)
                .to_string();
            let key = redis.key(&["grant", &grant.id]);
            redis
                .cmd(&[b"SET", key.as_bytes(), &json, b"PX", ms.as_bytes()])
                .await
                .map_err(store_error)?;
            redis
                .cmd(&[
                    b"SADD",
                    redis.key(&["grants"]).as_bytes(),
                    grant.id.as_bytes(),
                ])
                .await
                .map_err(store_error)?;
        }
        self.grants
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(grant);
        self.changed();
        Ok(())
    }

    /// End a grant before its time (everywhere, when shared). Its end is
    /// claimed first, so no replica also records it as expired.
    pub async fn end(&self, id: &str) -> Result<Grant, GrantError> {
        if let Some(redis) = self.shared.get() {
            self.refresh().await?;
            if !self
                .grants
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|g| g.id == id)
            {
                return Err(GrantError::NoSuchGrant(id.to_string()));
            }
            let claimed = Self::claim_end(redis, id).await.map_err(store_error)?;
            if !claimed {
                return Err(GrantError::NoSuchGrant(id.to_string()));
            }
            redis
                .cmd(&[b"DEL", redis.key(&["grant", id]).as_bytes()])
                .await
                .map_err(store_error)?;
        }
        let mut grants = self.grants.write().unwrap_or_else(|p| p.into_inner());
        let at = grants
            .iter()
            .position(|g| g.id == id)
            .ok_or_else(|| GrantError::NoSuchGrant(id.to_string()))?;
        let ended = grants.remove(at);
        drop(grants);
        self.changed();
        Ok(ended)
    }

    /// Claim the recording of grant `id`'s end: true for exactly one caller
    /// across the replicas.
    async fn claim_end(redis: &Redis, id: &str) -> Result<bool, crate::state::StateError> {
        let claim = redis.key(&["grant-ended", id]);
        let reply = redis
            .cmd(&[b"SET", claim.as_bytes(), b"1", b"NX", b"EX", b"86400"])
            .await?;
        Ok(matches!(reply, Reply::Status(_)))
    }

    /// Remove and return the grants that have run out by `now`. When
    /// shared, each replica drops its copy, and only the one that claims an
    /// end returns it (so each end is recorded once).
    pub async fn expire(&self, now: Instant) -> Vec<Grant> {
        let gone = {
            let mut grants = self.grants.write().unwrap_or_else(|p| p.into_inner());
            let (gone, kept): (Vec<Grant>, Vec<Grant>) =
                grants.drain(..).partition(|g| g.deadline <= now);
            *grants = kept;
            gone
        };
        if !gone.is_empty() {
            self.changed();
        }
        let Some(redis) = self.shared.get() else {
            return gone;
        };
        let mut mine = Vec::new();
        for g in gone {
            match Self::claim_end(redis, &g.id).await {
                Ok(true) => mine.push(g),
                // Another replica records it.
                Ok(false) => {}
                // Not known who records it: kept (it applies to nobody, its
                // time being up) and claimed again at the next sweep.
                Err(e) => {
                    tracing::warn!(grant = %g.id, error = %e, "cannot claim a break-glass grant's end yet");
                    self.grants
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(g);
                }
            }
        }
        mine
    }

    /// The grants in force at `now`.
    pub fn active(&self, now: Instant) -> Vec<Grant> {
        let grants = self.grants.read().unwrap_or_else(|p| p.into_inner());
        grants
            .iter()
            .filter(|g| g.deadline > now)
            .cloned()
            .collect()
    }

    /// `principal` with the groups its grants in force add, and those
    /// grants' ids; `None` when it has none (the common case, one read
    /// lock and no allocation).
    pub fn apply(&self, principal: &Principal, now: Instant) -> Option<(Principal, String)> {
        let grants = self.grants.read().unwrap_or_else(|p| p.into_inner());
        if grants.is_empty() {
            return None;
        }
        let mine: Vec<&Grant> = grants
            .iter()
            .filter(|g| g.principal == principal.id && g.deadline > now)
            .collect();
        if mine.is_empty() {
            return None;
        }
        let groups = principal
            .groups
            .iter()
            .cloned()
            .chain(mine.iter().map(|g| g.group.clone()));
        let ids: Vec<&str> = mine.iter().map(|g| g.id.as_str()).collect();
        Some((Principal::new(principal.id.clone(), groups), ids.join(",")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In this process, grants never wait.
    fn now<T>(f: impl std::future::Future<Output = T>) -> T {
        futures_util::FutureExt::now_or_never(f).unwrap()
    }

    fn req(group: &str, seconds: u64, reason: &str) -> GrantRequest {
        GrantRequest {
            principal: "bob".into(),
            group: group.into(),
            seconds,
            reason: reason.into(),
            requested_by: None,
            approval_id: None,
        }
    }

    #[test]
    fn a_grant_adds_its_group_until_it_runs_out() {
        let bg = BreakGlass::new(Duration::from_secs(3600));
        let groups = ["admins".to_string()].into_iter().collect();
        let bob = Principal::new("bob", ["operators"]);
        let t0 = Instant::now();
        assert!(bg.apply(&bob, t0).is_none());
        let g = bg
            .check(&req("admins", 60, " INC-7: db down "), "root", &groups)
            .unwrap();
        assert_eq!(g.reason, "INC-7: db down");
        assert!(bg.apply(&bob, t0).is_none(), "not in force before insert");
        now(bg.insert(g.clone())).unwrap();
        let (p, ids) = bg.apply(&bob, t0 + Duration::from_secs(59)).unwrap();
        assert_eq!(p.groups, ["admins", "operators"]);
        assert_eq!(ids, g.id);
        assert!(bg.apply(&Principal::new("alice", ["x"]), t0).is_none());
        let after = g.deadline;
        assert!(bg.apply(&bob, after).is_none());
        assert_eq!(now(bg.expire(after)), [g]);
        assert!(bg.active(t0).is_empty());
    }

    #[test]
    fn bad_grants_are_refused_naming_what_is_wrong() {
        let bg = BreakGlass::new(Duration::from_secs(3600));
        let groups = ["admins".to_string()].into_iter().collect();
        let refused = |r: GrantRequest| bg.check(&r, "root", &groups).unwrap_err();
        assert_eq!(refused(req("admins", 60, "  ")), GrantError::NoReason);
        assert_eq!(refused(req("admins", 60, "a\nb")), GrantError::BadReason);
        assert_eq!(
            refused(req("admins", 60, "ok\u{202E}txt.exe")),
            GrantError::BadReason
        );
        assert_eq!(
            refused(req("admins", 60, &"x".repeat(501))),
            GrantError::BadReason
        );
        assert!(matches!(
            refused(req("root", 60, "r")),
            GrantError::UnknownGroup(g, named) if g == "root" && named == "admins"
        ));
        assert!(matches!(
            refused(req("admins", 0, "r")),
            GrantError::BadDuration(_)
        ));
        let too_long = refused(req("admins", 3601, "r")).to_string();
        assert!(too_long.contains("1h"), "{too_long}");
        let mut nameless = req("admins", 60, "r");
        nameless.principal.clear();
        assert_eq!(refused(nameless), GrantError::BadName("principal"));
        assert!(matches!(
            now(bg.end("bg-nope")),
            Err(GrantError::NoSuchGrant(_))
        ));
    }
}
