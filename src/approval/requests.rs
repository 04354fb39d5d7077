//! Approval requests: calls parked until enough approvers say yes.
//!
//! A request is bound to the exact call — principal, tool, arguments (by a
//! fingerprint of their canonical form), target — and is spent once: the
//! requester calls again with the same arguments and `approval_id`, and the
//! call is decided again then (with `context.confirmation == "approval"`,
//! under the policy set in force at that moment) before it runs. Whether
//! an approver may approve is Cedar's answer (`Action::"approve"`), asked
//! by the caller of [`Approvals::approve`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;

use super::pending::{fingerprint, CallKey};
use crate::principal::Principal;

/// How long a request stays open when the configuration does not say.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// Requests open at once, at most; beyond that new ones are refused.
const MAX_OPEN: usize = 256;
/// The longest reason kept, in bytes.
pub const MAX_REASON: usize = 500;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Approved,
    Denied,
    Expired,
    /// Approved and run (single use).
    Executed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub by: String,
    pub reason: String,
    #[serde(with = "crate::break_glass::rfc3339")]
    pub at: SystemTime,
}

/// What is asked, and what approvers have said.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalRequest {
    pub id: String,
    pub requester: String,
    pub requester_groups: Vec<String>,
    pub tool: String,
    pub tier: &'static str,
    pub destructive: bool,
    pub endpoint: String,
    /// The resolved target (`Vm::"pve/100"`).
    pub target: String,
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

/// The call an approval request is for, as the gate saw it.
pub struct Parked<'a> {
    pub requester: &'a Principal,
    pub tool: &'a str,
    pub tier: &'static str,
    pub destructive: bool,
    pub endpoint: &'a str,
    pub target: String,
    /// The arguments as given, `approval_id` excluded.
    pub args: &'a Value,
    /// The same arguments with secrets withheld, for approvers to read.
    pub shown_args: Value,
    pub justification: &'a str,
    pub policy_set: &'a str,
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
    #[error("approval request {0} is for another call: the principal, tool and arguments must be exactly those approved")]
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
    #[error("an answer needs a reason of at most {MAX_REASON} bytes, one line of plain text")]
    BadReason,
}

impl ApprovalRequest {
    /// The Cedar request "may `approver` approve this?", complete with its
    /// entities (replayable like a call's): `Action::"approve"` on
    /// `ApprovalRequest::"apr-…"`, whose `requester` is the asking user.
    pub fn cedar_request(&self, approver: &Principal, reason: &str) -> Value {
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
            "context": self.approve_context(reason).to_json(),
            "entities": entities,
        })
    }
}

impl ApprovalRequest {
    /// What policies see as `context` when someone answers this request:
    /// the approver's deliberate act (so "destructive" and "unconfirmed"
    /// rules written for every action do not catch it), on the parked
    /// call's endpoint, with the approver's reason as justification.
    fn approve_context(&self, reason: &str) -> crate::policy::PolicyContext {
        crate::policy::PolicyContext {
            args: serde_json::Map::new(),
            confirmed: true,
            confirmation: "approval",
            transport: "cli",
            authentication: "local",
            client: "portcullis-approvals".into(),
            endpoint: self.endpoint.clone(),
            tls_verify: true,
            destructive: false,
            justification: reason.trim().to_string(),
            time: crate::util::UtcTime::now().into(),
        }
    }
}

fn state_name(s: &State) -> &'static str {
    match s {
        State::Pending => "pending",
        State::Approved => "approved",
        State::Denied => "denied",
        State::Expired => "expired",
        State::Executed => "executed",
    }
}

/// The open (and recently ended) approval requests.
pub struct Approvals {
    requests: Mutex<HashMap<String, ApprovalRequest>>,
    ttl: Duration,
    required: usize,
}

impl Approvals {
    /// Requests live `ttl` and need `required` distinct approvers.
    pub fn new(ttl: Duration, required: usize) -> Approvals {
        Approvals {
            requests: Mutex::new(HashMap::new()),
            ttl,
            required: required.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ApprovalRequest>> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Mark what has expired by `now` (returned, to be audited) and drop
    /// ended requests older than a day.
    pub fn sweep(&self, now: SystemTime) -> Vec<ApprovalRequest> {
        let mut all = self.lock();
        let mut expired = Vec::new();
        for r in all.values_mut() {
            if matches!(r.state, State::Pending | State::Approved) && r.expires <= now {
                r.state = State::Expired;
                expired.push(r.clone());
            }
        }
        let day = Duration::from_secs(86_400);
        all.retain(|_, r| {
            matches!(r.state, State::Pending | State::Approved) || r.expires + day > now
        });
        expired
    }

    /// Park a call; its request.
    pub fn open(&self, call: Parked, now: SystemTime) -> Result<ApprovalRequest, ApprovalError> {
        let mut all = self.lock();
        let open = all
            .values()
            .filter(|r| matches!(r.state, State::Pending | State::Approved) && r.expires > now)
            .count();
        if open >= MAX_OPEN {
            return Err(ApprovalError::TooMany);
        }
        let request = ApprovalRequest {
            id: format!("apr-{}", crate::util::random_hex(8)),
            requester: call.requester.id.clone(),
            requester_groups: call.requester.groups.clone(),
            tool: call.tool.to_string(),
            tier: call.tier,
            destructive: call.destructive,
            endpoint: call.endpoint.to_string(),
            target: call.target,
            args: call.shown_args,
            justification: call.justification.to_string(),
            policy_set: call.policy_set.to_string(),
            fingerprint: fingerprint(CallKey {
                tool: call.tool,
                args: Some(call.args),
            }),
            required: self.required,
            approvals: Vec::new(),
            denial: None,
            state: State::Pending,
            created: now,
            expires: now + self.ttl,
        };
        all.insert(request.id.clone(), request.clone());
        Ok(request)
    }

    /// Remove a request (one whose record the audit log refused).
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    pub fn get(&self, id: &str) -> Option<ApprovalRequest> {
        self.lock().get(id).cloned()
    }

    /// The requests not yet ended, oldest first.
    pub fn open_requests(&self, now: SystemTime) -> Vec<ApprovalRequest> {
        let mut out: Vec<ApprovalRequest> = self
            .lock()
            .values()
            .filter(|r| matches!(r.state, State::Pending | State::Approved) && r.expires > now)
            .cloned()
            .collect();
        out.sort_by_key(|r| r.created);
        out
    }

    fn pending<'a>(
        all: &'a mut HashMap<String, ApprovalRequest>,
        id: &str,
        now: SystemTime,
    ) -> Result<&'a mut ApprovalRequest, ApprovalError> {
        let r = all
            .get_mut(id)
            .ok_or_else(|| ApprovalError::Unknown(id.to_string()))?;
        if r.state == State::Pending && r.expires <= now {
            r.state = State::Expired;
        }
        if r.state != State::Pending {
            return Err(ApprovalError::NotPending {
                id: id.to_string(),
                state: state_name(&r.state),
            });
        }
        Ok(r)
    }

    fn answer(by: &str, reason: &str, now: SystemTime) -> Result<Answer, ApprovalError> {
        let reason = reason.trim();
        if reason.len() > MAX_REASON || reason.chars().any(char::is_control) {
            return Err(ApprovalError::BadReason);
        }
        Ok(Answer {
            by: by.to_string(),
            reason: reason.to_string(),
            at: now,
        })
    }

    /// Record `by`'s approval (Cedar has allowed it). The request after.
    pub fn approve(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        now: SystemTime,
    ) -> Result<ApprovalRequest, ApprovalError> {
        self.answer_pending(id, by, reason, now, |r, answer| {
            if r.approvals.iter().any(|a| a.by == answer.by) {
                return Err(ApprovalError::AlreadyApproved(answer.by, id.to_string()));
            }
            r.approvals.push(answer);
            if r.approvals.len() >= r.required {
                r.state = State::Approved;
            }
            Ok(())
        })
    }

    /// Record `by`'s denial, which needs a reason: one is enough.
    pub fn deny(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        now: SystemTime,
    ) -> Result<ApprovalRequest, ApprovalError> {
        self.answer_pending(id, by, reason, now, |r, answer| {
            if answer.reason.is_empty() {
                return Err(ApprovalError::BadReason);
            }
            r.denial = Some(answer);
            r.state = State::Denied;
            Ok(())
        })
    }

    /// Apply `by`'s answer to a pending request; the request after.
    fn answer_pending(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        now: SystemTime,
        apply: impl FnOnce(&mut ApprovalRequest, Answer) -> Result<(), ApprovalError>,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let answer = Self::answer(by, reason, now)?;
        let mut all = self.lock();
        let r = Self::pending(&mut all, id, now)?;
        apply(r, answer)?;
        Ok(r.clone())
    }

    /// Spend an approved request on this call: the same principal, tool
    /// and arguments, before it expires, once.
    pub fn redeem(
        &self,
        id: &str,
        principal: &str,
        call: CallKey,
        now: SystemTime,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let mut all = self.lock();
        let r = all
            .get_mut(id)
            .ok_or_else(|| ApprovalError::Unknown(id.to_string()))?;
        if r.requester != principal || r.fingerprint != fingerprint(call) {
            return Err(ApprovalError::OtherCall(id.to_string()));
        }
        if matches!(r.state, State::Pending | State::Approved) && r.expires <= now {
            r.state = State::Expired;
        }
        match &r.state {
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
    }
}
