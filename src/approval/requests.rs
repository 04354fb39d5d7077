//! Approval requests: calls parked until enough approvers say yes.
//!
//! A request is bound to the exact call — principal, tool, validated
//! arguments (by a fingerprint of their canonical form), endpoint and every
//! resolved resource — and is spent once: the requester calls again with
//! the same arguments and `approval_id`, the call is decided again (with
//! `context.confirmation == "approval"`, under the policy set in force at
//! that moment), and the approval is spent only if it then runs. A request
//! is approvable only once its record is durable ([`Approvals::prepare`],
//! then [`Approvals::insert`]). Whether an approver may answer is Cedar's
//! answer (`Action::"approve"`), asked by the caller of
//! [`Approvals::approve`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::pending::{fingerprint, CallKey};
use crate::principal::Principal;
use crate::state::resp::Reply;
use crate::state::Redis;

/// How long a request stays open when the configuration does not say.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// Requests open at once, at most; beyond that new ones are refused.
const MAX_OPEN: usize = 256;
/// Requests one principal may have open at once.
const MAX_OPEN_PER_REQUESTER: usize = 16;
/// Ended requests kept (to answer "denied by …", "used already"), at most.
const MAX_ENDED: usize = 1024;
/// How long ended requests are kept.
const KEEP_ENDED: Duration = Duration::from_secs(86_400);
/// The longest reason kept, in bytes.
pub const MAX_REASON: usize = 500;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Approved,
    Denied,
    Expired,
    /// Approved and run (single use).
    Executed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Denied => "denied",
            State::Expired => "expired",
            State::Executed => "executed",
        }
    }

    /// Still waiting for answers or for its call.
    fn open(self) -> bool {
        matches!(self, State::Pending | State::Approved)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub by: String,
    pub reason: String,
    #[serde(with = "crate::break_glass::rfc3339")]
    pub at: SystemTime,
}

/// What binds an approval to a call. Its arguments include secrets (they
/// are only hashed), so it is neither printed nor logged: no `Debug`.
#[derive(Clone, PartialEq)]
pub struct ApprovalKey {
    pub tool: String,
    /// The validated arguments, `approval_id` aside.
    pub args: Value,
    pub endpoint: String,
    /// Every resolved resource (`Vm::"pve/100"`, its node, its endpoint …,
    /// and each guest of a bulk call).
    pub targets: Vec<String>,
}

impl ApprovalKey {
    /// The binding, keyed: the arguments may hold secrets (a guest's
    /// password), and the binding is kept where others may read it (Redis,
    /// its backups), so a plain hash would let them test guesses offline.
    fn fingerprint(&self, key: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let call = fingerprint(CallKey {
            tool: &self.tool,
            args: Some(&self.args),
        });
        let place = format!("{}\n{}\n{}", call, self.endpoint, self.targets.join("\n"));
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(place.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// What is asked, and what approvers have said.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub id: String,
    pub requester: String,
    pub requester_groups: Vec<String>,
    pub tool: String,
    pub tier: String,
    pub destructive: bool,
    pub endpoint: String,
    /// The resolved target (`Vm::"pve/100"`).
    pub target: String,
    /// Everything the call touches, as resolved when it was parked.
    pub targets: Vec<String>,
    /// The arguments exactly as they will be sent (secrets withheld).
    pub args: Value,
    pub justification: String,
    /// The policy set that asked for the approval.
    pub policy_set: String,
    #[serde(skip)]
    fingerprint: String,
    pub required: usize,
    pub approvals: Vec<Answer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denial: Option<Answer>,
    pub state: State,
    #[serde(with = "crate::break_glass::rfc3339")]
    pub created: SystemTime,
    #[serde(with = "crate::break_glass::rfc3339")]
    pub expires: SystemTime,
}

impl ApprovalRequest {
    fn expired_by(&self, now: SystemTime) -> bool {
        self.state.open() && self.expires <= now
    }
}

/// The call an approval request is for, as the gate saw it.
pub struct Parked<'a> {
    pub requester: &'a Principal,
    pub tier: &'static str,
    pub destructive: bool,
    pub key: ApprovalKey,
    /// The arguments with secrets withheld, for approvers to read.
    pub shown_args: Value,
    pub justification: &'a str,
    pub policy_set: &'a str,
}

/// A request for a parked call: a new one (to record, then insert), or
/// the one already open for that very call.
pub enum Opened {
    New(ApprovalRequest),
    Existing(ApprovalRequest),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApprovalError {
    #[error("no approval request {0:?} (ids are apr- and 16 hex digits; it may have been removed after it ended)")]
    Unknown(String),
    #[error("approval request {id} is {state}, not pending")]
    NotPending { id: String, state: &'static str },
    #[error("approval request {0} has expired; call again to open a new one")]
    Expired(String),
    #[error("{0} has approved request {1} already: each approver counts once")]
    AlreadyApproved(String, String),
    #[error("approval request {0} is for another call: the principal, tool, arguments and target must be exactly those approved")]
    OtherCall(String),
    #[error("approval request {id} is still pending: {have} of {need} approvals; call again once approved")]
    StillPending {
        id: String,
        have: usize,
        need: usize,
    },
    #[error("approval request {id} was denied by {by}: {reason}")]
    Denied {
        id: String,
        by: String,
        reason: String,
    },
    #[error("approval request {0} was used already: an approval runs one call")]
    Used(String),
    #[error("{MAX_OPEN} approval requests are open already; ask approvers to answer some first")]
    TooMany,
    #[error(
        "{0} has {MAX_OPEN_PER_REQUESTER} approval requests open already; wait for answers first"
    )]
    TooManyFor(String),
    #[error("an answer needs a reason of at most {MAX_REASON} bytes, one line of plain text")]
    BadReason,
    /// The shared store failed: nothing is parked, answered or spent.
    #[error("approvals are unavailable: {0}")]
    Store(String),
}

/// Where an answer comes from, as approvers' policies see it
/// (`context.transport`, `context.authentication`, `context.client`), so a
/// bundle can say, for example, which approvals must come with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerChannel {
    /// The admin socket: whoever may open it names the approver.
    Socket,
    /// The approvers' page or admin API: the approver's own key says who.
    ApproverKey,
    /// `lab --demo`, in process.
    Demo,
}

impl AnswerChannel {
    /// `(transport, authentication, client)` in the approver's context.
    fn context(self) -> (&'static str, &'static str, &'static str) {
        match self {
            AnswerChannel::Socket => ("cli", "local", "portcullis-approvals"),
            AnswerChannel::ApproverKey => ("http", "api_key", "portcullis-approvers"),
            AnswerChannel::Demo => ("cli", "local", "portcullis-demo"),
        }
    }
}

impl ApprovalRequest {
    /// The Cedar request "may `approver` approve this?", complete with its
    /// entities (replayable like a call's): `Action::"approve"` on
    /// `ApprovalRequest::"apr-…"`, whose `requester` is the asking user.
    pub fn cedar_request(
        &self,
        approver: &Principal,
        reason: &str,
        channel: AnswerChannel,
    ) -> Value {
        let user = |id: &str, groups: &[String]| {
            let parents: Vec<Value> = groups
                .iter()
                .map(|g| serde_json::json!({"type": "Group", "id": g}))
                .collect();
            serde_json::json!({"uid": {"type": "User", "id": id}, "attrs": {}, "parents": parents})
        };
        let mut entities = vec![user(&approver.id, &approver.groups)];
        if approver.id != self.requester {
            entities.push(user(&self.requester, &self.requester_groups));
        }
        entities.push(serde_json::json!({
            "uid": {"type": "ApprovalRequest", "id": self.id},
            "attrs": {
                "requester": {"__entity": {"type": "User", "id": self.requester}},
                "tool": self.tool,
                "tier": self.tier,
                "destructive": self.destructive,
                "endpoint": self.endpoint,
                "target": self.target,
            },
            "parents": [],
        }));
        serde_json::json!({
            "principal": {"type": "User", "id": approver.id},
            "action": {"type": "Action", "id": "approve"},
            "resource": {"type": "ApprovalRequest", "id": self.id},
            "context": self.approve_context(reason, channel).to_json(),
            "entities": entities,
        })
    }
}

impl ApprovalRequest {
    /// What policies see as `context` when someone answers this request:
    /// a neutral act (unconfirmed, not destructive, so no rule written to
    /// let confirmed or approved *calls* through lets anyone approve), on
    /// the parked call's endpoint, with the approver's reason as
    /// justification, over the channel the answer came by.
    fn approve_context(
        &self,
        reason: &str,
        channel: AnswerChannel,
    ) -> crate::policy::PolicyContext {
        let (transport, authentication, client) = channel.context();
        crate::policy::PolicyContext {
            args: serde_json::Map::new(),
            confirmed: false,
            confirmation: "none",
            transport,
            authentication,
            client: client.into(),
            endpoint: self.endpoint.clone(),
            tls_verify: true,
            destructive: false,
            justification: reason.trim().to_string(),
            time: crate::util::UtcTime::now().into(),
        }
    }
}

/// The open (and recently ended) approval requests, in this process or
/// in Redis shared by replicas ([`Approvals::share`]).
pub struct Approvals {
    requests: Mutex<HashMap<String, ApprovalRequest>>,
    shared: OnceLock<Arc<Redis>>,
    /// Keys the bindings: random per process, or the replicas' shared
    /// secret (`[state] binding_key_env`).
    binding_key: std::sync::RwLock<secrecy::SecretSlice<u8>>,
    ttl: Duration,
    required: usize,
    /// Someone can answer (an admin socket or the approvers' page is served).
    answerable: AtomicBool,
}

/// How a request is kept in Redis: with its fingerprint, which approvers
/// never see.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    request: ApprovalRequest,
    fingerprint: String,
}

/// Replaces a stored request only if it is still what was read.
const COMPARE_AND_SET: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') return 1 else return 0 end";
/// Attempts at a read-modify-write before giving up under contention.
const CAS_ATTEMPTS: usize = 16;

fn store_error(e: crate::state::StateError) -> ApprovalError {
    ApprovalError::Store(e.to_string())
}

impl Approvals {
    /// Requests live `ttl` and need `required` distinct approvers.
    pub fn new(ttl: Duration, required: usize) -> Approvals {
        let mut key = vec![0u8; 32];
        rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut key).unwrap_or_else(|_| {
            key = crate::util::random_hex(16).into_bytes();
        });
        Approvals {
            requests: Mutex::new(HashMap::new()),
            shared: OnceLock::new(),
            binding_key: std::sync::RwLock::new(key.into()),
            ttl,
            required: required.max(1),
            answerable: AtomicBool::new(false),
        }
    }

    /// Keep requests in Redis from now on (before any is made), so every
    /// replica sees and answers the same ones; `binding_key` is the secret
    /// the replicas share to bind requests to calls.
    pub fn share(&self, redis: Arc<Redis>, binding_key: &secrecy::SecretString) {
        use secrecy::ExposeSecret;
        *self.binding_key.write().unwrap_or_else(|p| p.into_inner()) =
            binding_key.expose_secret().as_bytes().to_vec().into();
        let _ = self.shared.set(redis);
    }

    fn bind(&self, key: &ApprovalKey) -> String {
        use secrecy::ExposeSecret;
        let secret = self.binding_key.read().unwrap_or_else(|p| p.into_inner());
        key.fingerprint(secret.expose_secret())
    }

    /// Approvers can answer from now on; until then calls are not parked.
    /// True the first time only (whoever opened it starts the sweep).
    pub fn set_answerable(&self) -> bool {
        !self.answerable.swap(true, Ordering::Relaxed)
    }

    pub fn answerable(&self) -> bool {
        self.answerable.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ApprovalRequest>> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn decode(bytes: &[u8]) -> Result<ApprovalRequest, ApprovalError> {
        let stored: Stored = serde_json::from_slice(bytes).map_err(|e| {
            ApprovalError::Store(format!("an approval request it holds cannot be read: {e}"))
        })?;
        let mut r = stored.request;
        r.fingerprint = stored.fingerprint;
        Ok(r)
    }

    fn encode(r: &ApprovalRequest) -> Vec<u8> {
        let stored = Stored {
            request: r.clone(),
            fingerprint: r.fingerprint.clone(),
        };
        serde_json::to_vec(&stored).unwrap_or_default()
    }

    /// Every request held, open or recently ended.
    async fn snapshot(&self) -> Result<Vec<ApprovalRequest>, ApprovalError> {
        let Some(redis) = self.shared.get() else {
            return Ok(self.lock().values().cloned().collect());
        };
        let mut out = Vec::new();
        // Gone records (kept a day after they ended) leave the index.
        for (id, bytes) in redis
            .indexed("approvals", "approval")
            .await
            .map_err(store_error)?
        {
            match Self::decode(&bytes) {
                Ok(r) => out.push(r),
                Err(e) => {
                    tracing::error!(approval = %id, error = %e, "skipping an unreadable approval request");
                }
            }
        }
        Ok(out)
    }

    async fn load(&self, id: &str) -> Result<Option<ApprovalRequest>, ApprovalError> {
        let Some(redis) = self.shared.get() else {
            return Ok(self.lock().get(id).cloned());
        };
        match redis
            .cmd(&[b"GET", redis.key(&["approval", id]).as_bytes()])
            .await
            .map_err(store_error)?
        {
            Reply::Bulk(bytes) => Self::decode(&bytes).map(Some),
            _ => Ok(None),
        }
    }

    /// Apply `change` to request `id` where it is kept, atomically: in
    /// Redis by compare-and-set, so `change` may run more than once (on a
    /// fresh copy each time) when replicas race.
    async fn modify<T>(
        &self,
        id: &str,
        mut change: impl FnMut(&mut ApprovalRequest) -> Result<T, ApprovalError>,
    ) -> Result<T, ApprovalError> {
        let Some(redis) = self.shared.get() else {
            let mut all = self.lock();
            let r = all
                .get_mut(id)
                .ok_or_else(|| ApprovalError::Unknown(id.to_string()))?;
            return change(r);
        };
        let key = redis.key(&["approval", id]);
        for _ in 0..CAS_ATTEMPTS {
            let Reply::Bulk(old) = redis
                .cmd(&[b"GET", key.as_bytes()])
                .await
                .map_err(store_error)?
            else {
                return Err(ApprovalError::Unknown(id.to_string()));
            };
            let mut r = Self::decode(&old)?;
            let out = change(&mut r)?;
            let new = Self::encode(&r);
            if new == old {
                return Ok(out);
            }
            let swapped = redis
                .eval(COMPARE_AND_SET, &[&key], &[&old, &new])
                .await
                .map_err(store_error)?;
            if swapped.int() == Some(1) {
                return Ok(out);
            }
        }
        Err(ApprovalError::Store(format!(
            "approval request {id} kept changing under {CAS_ATTEMPTS} attempts; try again"
        )))
    }

    /// Mark what has expired by `now` (returned, to be audited: the only
    /// place a request becomes expired, and across replicas only one marks
    /// each) and drop ended requests past keeping.
    pub async fn sweep(&self, now: SystemTime) -> Result<Vec<ApprovalRequest>, ApprovalError> {
        let mut expired = Vec::new();
        for r in self.snapshot().await? {
            if !r.expired_by(now) {
                continue;
            }
            let marked = self
                .modify(&r.id, |r| {
                    Ok(r.expired_by(now).then(|| {
                        r.state = State::Expired;
                        r.clone()
                    }))
                })
                .await;
            if let Ok(Some(r)) = marked {
                expired.push(r);
            }
        }
        if self.shared.get().is_none() {
            let mut all = self.lock();
            all.retain(|_, r| r.state.open() || r.expires + KEEP_ENDED > now);
            let mut ended: Vec<(SystemTime, String)> = all
                .values()
                .filter(|r| !r.state.open())
                .map(|r| (r.expires, r.id.clone()))
                .collect();
            if ended.len() > MAX_ENDED {
                ended.sort();
                for (_, id) in &ended[..ended.len() - MAX_ENDED] {
                    all.remove(id);
                }
            }
        }
        Ok(expired)
    }

    /// The request for a parked call: the one already open for this very
    /// call by this principal, or a new one, not yet approvable — write its
    /// record, then [`Approvals::insert`] it.
    pub async fn prepare(
        &self,
        call: Parked<'_>,
        now: SystemTime,
    ) -> Result<Opened, ApprovalError> {
        let fingerprint = self.bind(&call.key);
        let all = self.snapshot().await?;
        let open: Vec<&ApprovalRequest> = all
            .iter()
            .filter(|r| r.state.open() && r.expires > now)
            .collect();
        if let Some(r) = open
            .iter()
            .find(|r| r.requester == call.requester.id && r.fingerprint == fingerprint)
        {
            return Ok(Opened::Existing((*r).clone()));
        }
        if open.len() >= MAX_OPEN {
            return Err(ApprovalError::TooMany);
        }
        let mine = open
            .iter()
            .filter(|r| r.requester == call.requester.id)
            .count();
        if mine >= MAX_OPEN_PER_REQUESTER {
            return Err(ApprovalError::TooManyFor(call.requester.id.clone()));
        }
        Ok(Opened::New(ApprovalRequest {
            id: format!("apr-{}", crate::util::random_hex(8)),
            requester: call.requester.id.clone(),
            requester_groups: call.requester.groups.clone(),
            tool: call.key.tool.clone(),
            tier: call.tier.to_string(),
            destructive: call.destructive,
            endpoint: call.key.endpoint.clone(),
            target: call.key.targets.first().cloned().unwrap_or_default(),
            targets: call.key.targets,
            args: call.shown_args,
            justification: call.justification.to_string(),
            policy_set: call.policy_set.to_string(),
            fingerprint,
            required: self.required,
            approvals: Vec::new(),
            denial: None,
            state: State::Pending,
            created: now,
            expires: now + self.ttl,
        }))
    }

    /// Make a prepared (and recorded) request approvable.
    pub async fn insert(&self, request: ApprovalRequest) -> Result<(), ApprovalError> {
        let Some(redis) = self.shared.get() else {
            self.lock().insert(request.id.clone(), request);
            return Ok(());
        };
        let gone = request.expires + KEEP_ENDED;
        let at_ms = gone
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            .to_string();
        let key = redis.key(&["approval", &request.id]);
        redis
            .cmd(&[
                b"SET",
                key.as_bytes(),
                &Self::encode(&request),
                b"NX",
                b"PXAT",
                at_ms.as_bytes(),
            ])
            .await
            .map_err(store_error)?;
        redis
            .cmd(&[
                b"SADD",
                redis.key(&["approvals"]).as_bytes(),
                request.id.as_bytes(),
            ])
            .await
            .map_err(store_error)?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Option<ApprovalRequest>, ApprovalError> {
        self.load(id).await
    }

    /// The requests not yet ended, oldest first.
    pub async fn open_requests(
        &self,
        now: SystemTime,
    ) -> Result<Vec<ApprovalRequest>, ApprovalError> {
        let mut out: Vec<ApprovalRequest> = self
            .snapshot()
            .await?
            .into_iter()
            .filter(|r| r.state.open() && !r.expired_by(now))
            .collect();
        out.sort_by_key(|r| r.created);
        Ok(out)
    }

    /// Could `by` answer `id` now? (What [`Approvals::approve`] and
    /// [`Approvals::deny`] check, without changing anything: the answer is
    /// recorded first, then applied.)
    pub async fn can_answer(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        approve: bool,
        now: SystemTime,
    ) -> Result<(), ApprovalError> {
        let answer = Self::answer(by, reason, now)?;
        if !approve && answer.reason.is_empty() {
            return Err(ApprovalError::BadReason);
        }
        let r = self
            .load(id)
            .await?
            .ok_or_else(|| ApprovalError::Unknown(id.to_string()))?;
        Self::pending(&r, now)?;
        if r.approvals.iter().any(|a| a.by == by) {
            return Err(ApprovalError::AlreadyApproved(
                by.to_string(),
                id.to_string(),
            ));
        }
        Ok(())
    }

    fn pending(r: &ApprovalRequest, now: SystemTime) -> Result<(), ApprovalError> {
        if r.expired_by(now) {
            return Err(ApprovalError::Expired(r.id.clone()));
        }
        if r.state != State::Pending {
            return Err(ApprovalError::NotPending {
                id: r.id.clone(),
                state: r.state.as_str(),
            });
        }
        Ok(())
    }

    fn answer(by: &str, reason: &str, now: SystemTime) -> Result<Answer, ApprovalError> {
        let reason = reason.trim();
        if reason.len() > MAX_REASON || !crate::break_glass::plain(reason) {
            return Err(ApprovalError::BadReason);
        }
        Ok(Answer {
            by: by.to_string(),
            reason: reason.to_string(),
            at: now,
        })
    }

    /// Record `by`'s approval (Cedar has allowed it). The request after.
    pub async fn approve(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        now: SystemTime,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let answer = Self::answer(by, reason, now)?;
        self.modify(id, |r| {
            Self::pending(r, now)?;
            if r.approvals.iter().any(|a| a.by == answer.by) {
                return Err(ApprovalError::AlreadyApproved(
                    answer.by.clone(),
                    id.to_string(),
                ));
            }
            r.approvals.push(answer.clone());
            if r.approvals.len() >= r.required {
                r.state = State::Approved;
            }
            Ok(r.clone())
        })
        .await
    }

    /// Record `by`'s denial, which needs a reason: one is enough.
    pub async fn deny(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        now: SystemTime,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let answer = Self::answer(by, reason, now)?;
        if answer.reason.is_empty() {
            return Err(ApprovalError::BadReason);
        }
        self.modify(id, |r| {
            Self::pending(r, now)?;
            r.denial = Some(answer.clone());
            r.state = State::Denied;
            Ok(r.clone())
        })
        .await
    }

    /// Spend an approved request on this call: the same principal and key
    /// (tool, arguments, endpoint, targets), before it expires, once.
    pub async fn redeem(
        &self,
        id: &str,
        principal: &str,
        key: &ApprovalKey,
        now: SystemTime,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let fingerprint = self.bind(key);
        self.modify(id, |r| {
            if r.requester != principal || r.fingerprint != fingerprint {
                return Err(ApprovalError::OtherCall(id.to_string()));
            }
            if r.expired_by(now) {
                return Err(ApprovalError::Expired(id.to_string()));
            }
            match r.state {
                State::Approved => {
                    r.state = State::Executed;
                    Ok(r.clone())
                }
                State::Pending => Err(ApprovalError::StillPending {
                    id: id.to_string(),
                    have: r.approvals.len(),
                    need: r.required,
                }),
                State::Denied => {
                    let d = r
                        .denial
                        .clone()
                        .map(|a| (a.by, a.reason))
                        .unwrap_or_default();
                    Err(ApprovalError::Denied {
                        id: id.to_string(),
                        by: d.0,
                        reason: d.1,
                    })
                }
                State::Expired => Err(ApprovalError::Expired(id.to_string())),
                State::Executed => Err(ApprovalError::Used(id.to_string())),
            }
        })
        .await
    }

    /// Give back a redeemed request whose call did not run (denied when
    /// decided again, or rate-limited): it stays approved.
    pub async fn release(&self, id: &str) -> Result<(), ApprovalError> {
        self.modify(id, |r| {
            if r.state == State::Executed {
                r.state = State::Approved;
            }
            Ok(())
        })
        .await
    }
}
