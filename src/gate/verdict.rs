//! What the gate decides about a call, as a value.
//!
//! [`judge`] is pure: from a prepared call, its caller and a policy engine
//! it computes a [`Verdict`] without writing, executing or counting
//! anything (it may ask the engine how the call would fare with another
//! confirmation; that too is pure). [`message`] words a verdict for the
//! agent. The shell in [`super::Gate::call`] does the rest: the rate limit
//! (stateful, so it lives there and yields [`Verdict::RateLimited`]), the
//! audit records, the metrics and the execution.
//!
//! Adding a new way a call can wait, such as "parked until an approver
//! says yes", is a local change: a new [`ConfirmationKind`] (or a new
//! `Verdict` variant), produced by `judge` where it now produces
//! `NeedsConfirmation(Elicitation)`, with its [`DecisionKind`] and
//! [`OutcomeKind`] in [`Verdict::decision`] and [`Verdict::outcome`], its
//! wording in `message`, and one arm in the shell's `refuse` that parks the
//! call instead of returning [`super::Outcome::NeedsHuman`]. The compiler
//! points at each of those matches.

use std::time::Duration;

use serde::Serialize;

use super::{confirmed, Caller, Confirmation, Prepared};
use crate::catalog::{control, ValidationError};
use crate::config::RateLimit;
use crate::policy::{AuthzInput, EntitySpec, PolicyEngine};

/// The gate's decision about one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Policy allows it and nothing holds it back: execute.
    Allow,
    /// Policy does not allow it; the agent is told why.
    Deny(Denial),
    /// Policy would allow it once someone confirms; ask them now.
    NeedsConfirmation(ConfirmationKind),
    /// Allowed, but over the principal's rate for the tool's tier (or the
    /// shared buckets cannot be read, and limits then refuse).
    RateLimited {
        wait: Duration,
        limit: RateLimit,
        store_unreachable: bool,
    },
    /// Not a call policy can decide: unknown tool, invalid arguments, or
    /// a target that could not be found.
    Rejected(Rejection),
}

/// Who is asked to confirm a call that waits for a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmationKind {
    /// The human at the MCP client, through an elicitation prompt.
    Elicitation,
    /// Approvers, who see exactly what will run (`portcullis approvals`):
    /// the call is parked as an approval request.
    Approval,
}

/// Why policy refused a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// `"confirm": true` in the arguments would allow it.
    NeedsConfirmation,
    /// Only a human's answer through the client would allow it, and this
    /// client cannot ask.
    NeedsElicitation {
        /// `"confirm": true` was passed, and policy does not accept it.
        argument_refused: bool,
    },
    /// A permit holds, but these forbids decided.
    Forbidden(Vec<Determining>),
    /// No permit matched: the default deny.
    NoPermit,
}

/// A policy that determined a denial, with its `@reason` annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Determining {
    pub id: String,
    pub reason: Option<String>,
}

/// Why a call was not put to policy at all.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    UnknownTool,
    /// The arguments broke the tool's declared parameters.
    InvalidArguments(ValidationError),
    /// Valid arguments that name something not configured (an endpoint, a
    /// region), or a request Cedar could not evaluate.
    Invalid(String),
    /// The backend could not say where the target is (no such VM, or the
    /// backend is unreachable).
    Unresolved(String),
    /// The `approval_id` given cannot be spent on this call (pending,
    /// denied, expired, used, or another call's).
    Approval(String),
}

/// The `decision` of a decision record, and the status counted for a call
/// that was rejected before policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Allow,
    Deny,
    ConfirmationRequired,
    ApprovalRequired,
    RateLimited,
    Invalid,
    UnknownTool,
    Unresolved,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Allow => "allow",
            DecisionKind::Deny => "deny",
            DecisionKind::ConfirmationRequired => "confirmation_required",
            DecisionKind::ApprovalRequired => "approval_required",
            DecisionKind::RateLimited => "rate_limited",
            DecisionKind::Invalid => "invalid",
            DecisionKind::UnknownTool => "unknown_tool",
            DecisionKind::Unresolved => "unresolved",
        }
    }
}

/// The `outcome` of an outcome record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Ok,
    BackendError,
    Denied,
    Rejected,
    AwaitingConfirmation,
    AwaitingApproval,
    RateLimited,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Ok => "ok",
            OutcomeKind::BackendError => "backend_error",
            OutcomeKind::Denied => "denied",
            OutcomeKind::Rejected => "rejected",
            OutcomeKind::AwaitingConfirmation => "awaiting_confirmation",
            OutcomeKind::AwaitingApproval => "awaiting_approval",
            OutcomeKind::RateLimited => "rate_limited",
        }
    }
}

/// The `refusal` of a decision record: which kind of policy refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    NeedsConfirmation,
    NeedsElicitation,
    NeedsApproval,
    Forbidden,
    NoPermit,
}

impl RefusalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::NeedsConfirmation => "needs_confirmation",
            RefusalKind::NeedsElicitation => "needs_elicitation",
            RefusalKind::NeedsApproval => "needs_approval",
            RefusalKind::Forbidden => "forbidden",
            RefusalKind::NoPermit => "no_permit",
        }
    }
}

impl Denial {
    pub fn kind(&self) -> RefusalKind {
        match self {
            Denial::NeedsConfirmation => RefusalKind::NeedsConfirmation,
            Denial::NeedsElicitation { .. } => RefusalKind::NeedsElicitation,
            Denial::Forbidden(_) => RefusalKind::Forbidden,
            Denial::NoPermit => RefusalKind::NoPermit,
        }
    }
}

impl Rejection {
    pub fn decision(&self) -> DecisionKind {
        match self {
            Rejection::UnknownTool => DecisionKind::UnknownTool,
            Rejection::InvalidArguments(_) | Rejection::Invalid(_) => DecisionKind::Invalid,
            Rejection::Unresolved(_) => DecisionKind::Unresolved,
            Rejection::Approval(_) => DecisionKind::ApprovalRequired,
        }
    }
}

impl Verdict {
    pub fn decision(&self) -> DecisionKind {
        match self {
            Verdict::Allow => DecisionKind::Allow,
            Verdict::Deny(_) => DecisionKind::Deny,
            Verdict::NeedsConfirmation(ConfirmationKind::Elicitation) => {
                DecisionKind::ConfirmationRequired
            }
            Verdict::NeedsConfirmation(ConfirmationKind::Approval) => {
                DecisionKind::ApprovalRequired
            }
            Verdict::RateLimited { .. } => DecisionKind::RateLimited,
            Verdict::Rejected(r) => r.decision(),
        }
    }

    /// The outcome of a call that does not run; `None` for
    /// [`Verdict::Allow`], whose outcome is the backend's.
    pub fn outcome(&self) -> Option<OutcomeKind> {
        match self {
            Verdict::Allow => None,
            Verdict::Deny(_) => Some(OutcomeKind::Denied),
            Verdict::NeedsConfirmation(ConfirmationKind::Elicitation) => {
                Some(OutcomeKind::AwaitingConfirmation)
            }
            Verdict::NeedsConfirmation(ConfirmationKind::Approval) => {
                Some(OutcomeKind::AwaitingApproval)
            }
            Verdict::RateLimited { .. } => Some(OutcomeKind::RateLimited),
            Verdict::Rejected(_) => Some(OutcomeKind::Rejected),
        }
    }

    /// The kind of policy refusal, for the decision record.
    pub fn refusal(&self) -> Option<RefusalKind> {
        match self {
            Verdict::Deny(d) => Some(d.kind()),
            Verdict::NeedsConfirmation(ConfirmationKind::Elicitation) => {
                Some(RefusalKind::NeedsConfirmation)
            }
            Verdict::NeedsConfirmation(ConfirmationKind::Approval) => {
                Some(RefusalKind::NeedsApproval)
            }
            Verdict::Allow | Verdict::RateLimited { .. } | Verdict::Rejected(_) => None,
        }
    }
}

/// Decide a prepared call. Pure: no audit, no rate limit, no backend.
///
/// A denied call is looked at more closely: would a confirmation of some
/// kind allow it, did a named forbid decide it, or does nothing permit it?
pub fn judge(p: &Prepared, caller: &Caller, engine: &PolicyEngine) -> Verdict {
    if p.decision.allowed {
        return Verdict::Allow;
    }
    let allowed_with = |c: Confirmation| {
        let input = AuthzInput {
            principal: &caller.principal,
            action: p.tool.action(),
            resources: &p.resources,
            context: &confirmed(p.context.clone(), c),
        };
        engine.authorize(&input).is_ok_and(|d| d.allowed)
    };
    // A human's answer is the strongest confirmation: worth asking for
    // unless one was already given, even if `confirm: true` was passed.
    let by_human =
        p.confirmation != Confirmation::Elicitation && allowed_with(Confirmation::Elicitation);
    let by_argument = p.confirmation == Confirmation::None && allowed_with(Confirmation::Argument);
    if by_human && caller.can_elicit {
        return Verdict::NeedsConfirmation(ConfirmationKind::Elicitation);
    }
    if by_argument {
        return Verdict::Deny(Denial::NeedsConfirmation);
    }
    if by_human {
        return Verdict::Deny(Denial::NeedsElicitation {
            argument_refused: p.confirmation == Confirmation::Argument,
        });
    }
    // Only approvers can allow it: park it for them.
    if p.confirmation != Confirmation::Approval && allowed_with(Confirmation::Approval) {
        return Verdict::NeedsConfirmation(ConfirmationKind::Approval);
    }
    // A denial's determining policies are the forbids that held.
    if !p.decision.policies.is_empty() && some_permit_holds(p, caller, engine) {
        return Verdict::Deny(Denial::Forbidden(
            p.decision
                .policies
                .iter()
                .map(|id| Determining {
                    id: id.clone(),
                    reason: engine.reason(id).map(str::to_string),
                })
                .collect(),
        ));
    }
    Verdict::Deny(Denial::NoPermit)
}

/// Was the call denied despite a permit (so a forbid decided it)?
fn some_permit_holds(p: &Prepared, caller: &Caller, engine: &PolicyEngine) -> bool {
    let input = AuthzInput {
        principal: &caller.principal,
        action: p.tool.action(),
        resources: &p.resources,
        context: &p.context,
    };
    engine.some_permit_holds(&input).unwrap_or(false)
}

/// What a message about a prepared call may mention.
pub struct Wording<'a> {
    pub caller: &'a Caller,
    pub call: &'a Prepared<'a>,
    /// How `portcullis dry-run` finds this configuration, for the hint.
    pub dry_run_source: &'a str,
}

/// What the agent is told about a call that does not run (for
/// [`Verdict::NeedsConfirmation`], the prompt the human sees). `None` for
/// [`Verdict::Allow`]: the agent sees the call's result.
pub fn message(verdict: &Verdict, w: &Wording) -> Option<String> {
    let (caller, p) = (w.caller, w.call);
    let target = p
        .resources
        .first()
        .map(EntitySpec::display)
        .unwrap_or_default();
    let text = match verdict {
        Verdict::Allow => return None,
        Verdict::NeedsConfirmation(ConfirmationKind::Elicitation) => format!(
            "{} wants to run {} ({}) on {target}{}. Allow it?",
            caller.principal.id,
            p.tool.name,
            p.tool.title,
            if p.context.destructive {
                ", a destructive action"
            } else {
                ""
            }
        ),
        Verdict::NeedsConfirmation(ConfirmationKind::Approval) => format!(
            "{} on {target} needs an approval: policy lets it run only once approvers have approved this exact call{}.",
            p.tool.name,
            if p.context.destructive {
                " (a destructive action)"
            } else {
                ""
            }
        ),
        Verdict::Deny(Denial::NeedsConfirmation) => format!(
            "{} on {target} needs confirmation: it is {}. Ask the human to confirm, then call it again with \"confirm\": true.",
            p.tool.name,
            if p.context.destructive {
                "destructive"
            } else {
                "guarded by policy"
            },
        ),
        Verdict::Deny(Denial::NeedsElicitation { argument_refused }) => format!(
            "{} on {target} needs a human's confirmation through the MCP client (elicitation){}, and this client cannot ask; \
             run it from a client that supports elicitation.",
            p.tool.name,
            if *argument_refused {
                ": policy does not accept \"confirm\": true for it"
            } else {
                ""
            }
        ),
        Verdict::Deny(Denial::Forbidden(by)) => {
            let named: Vec<String> = by
                .iter()
                .map(|d| match &d.reason {
                    Some(r) => format!("{} ({r})", d.id),
                    None => d.id.clone(),
                })
                .collect();
            format!(
                "{} may not call {} on {target}: forbidden by policy {}. Do not retry; if this is needed, an operator can check with \
                 `{}` and change the policies.",
                caller.principal.id,
                p.tool.name,
                named.join(", "),
                dry_run_hint(w)
            )
        }
        Verdict::Deny(Denial::NoPermit) => format!(
            "{} may not call {} on {target}: no policy permits it. Do not retry; if this is needed, an operator can check with \
             `{}` and change the policies.",
            caller.principal.id,
            p.tool.name,
            dry_run_hint(w)
        ),
        Verdict::RateLimited {
            store_unreachable: true,
            ..
        } => format!(
            "rate limit: the shared rate-limit store cannot be reached, so {}-tier calls are refused \
             ([state] rate_limits_if_unreachable = \"deny\"); {} was not run. Retry in a few seconds; \
             if it persists, tell an operator.",
            p.tool.tier.as_str(),
            p.tool.name,
        ),
        Verdict::RateLimited { wait, limit, .. } => format!(
            "rate limit: {} may make {} {}-tier calls per minute (bursts of {}); {} was not run. Retry in {} s.",
            caller.principal.id,
            limit.per_minute,
            p.tool.tier.as_str(),
            limit.burst,
            p.tool.name,
            wait.as_secs().max(1)
        ),
        Verdict::Rejected(r) => rejection_message(r, p.tool.name),
    };
    Some(text)
}

/// What the agent is told about a call rejected before policy; `tool` is
/// the name as asked.
pub fn rejection_message(r: &Rejection, tool: &str) -> String {
    match r {
        Rejection::UnknownTool => format!("unknown tool {:?}", super::records::clip(tool)),
        Rejection::InvalidArguments(e) => format!("invalid arguments for {tool}: {e}"),
        Rejection::Invalid(m) => format!("invalid arguments for {tool}: {m}"),
        Rejection::Unresolved(m) => {
            format!("{tool} was not run: its target could not be found: {m}")
        }
        Rejection::Approval(m) => format!("{tool} was not run: {m}"),
    }
}

/// A `portcullis dry-run` command line that decides this very call
/// again: this configuration, this principal and groups, these
/// arguments (secrets replaced), quoted for a POSIX shell.
fn dry_run_hint(w: &Wording) -> String {
    let (caller, p) = (w.caller, w.call);
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let mut cmd = vec!["portcullis dry-run".to_string()];
    if !w.dry_run_source.is_empty() {
        cmd.push(w.dry_run_source.to_string());
    }
    cmd.push(format!("--as {}", quote(&caller.principal.id)));
    for g in &caller.principal.groups {
        cmd.push(format!("--group {}", quote(g)));
    }
    cmd.push(p.tool.name.to_string());
    let mut args = p.args.as_map().clone();
    args.remove(control::CONFIRM);
    for (k, v) in &mut args {
        if p.tool.is_secret(k) || p.tool.is_content(k) {
            *v = serde_json::Value::String("…".into());
        }
    }
    cmd.push(quote(&serde_json::Value::Object(args).to_string()));
    if p.confirmation != Confirmation::None {
        cmd.push(format!("--confirmation {}", p.confirmation.as_str()));
    }
    cmd.join(" ")
}
