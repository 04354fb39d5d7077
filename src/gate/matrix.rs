//! Who may do what where: every subject (configured principal, or any
//! member of a group) × every tool × every endpoint of its backend (and
//! each place the configuration names there, such as a region), decided
//! by the gate itself on a representative call.
//!
//! A cell is the decision of one call — the tool's required arguments with
//! sample values — through [`Gate::prepare`], as `dry-run` would decide it,
//! tried with no confirmation, then with the model's `confirm: true`, then
//! with a human's answer, then approved: the weakest that suffices is the
//! cell's value.
//! Policies with conditions or with resource scopes finer than an endpoint
//! can decide other calls of that tool otherwise; such cells are marked
//! ([`PolicyEngine::may_vary`]). `policy diff` compares two sets over the
//! same space.

use serde::Serialize;
use serde_json::Value;

use super::{CallRequest, Caller, Confirmation, Gate, Rejection};
use crate::catalog::sample;
use crate::policy::PolicyEngine;
use crate::principal::Principal;

/// A row: a principal the configuration names, or any member of a group.
#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    pub label: String,
    #[serde(skip)]
    pub principal: Principal,
}

impl Subject {
    /// The rows: each configured principal, then any member of each group
    /// the configuration or the policies name.
    pub fn all(configured: &[Principal], engines: &[&PolicyEngine]) -> Vec<Subject> {
        let mut groups: std::collections::BTreeSet<String> = configured
            .iter()
            .flat_map(|p| p.groups.iter().cloned())
            .collect();
        for e in engines {
            groups.extend(e.groups_named());
        }
        let mut out: Vec<Subject> = configured
            .iter()
            .map(|p| Subject {
                label: format!("user {}", p.id),
                principal: p.clone(),
            })
            .collect();
        out.extend(groups.into_iter().map(|g| Subject {
            label: format!("group {g}"),
            // An id no policy names: what any member gets from the group.
            principal: Principal::new(format!("(a member of {g})"), [g]),
        }));
        out
    }
}

/// A column: one tool on one endpoint (and place).
#[derive(Debug, Clone, Serialize)]
pub struct Place {
    pub tool: &'static str,
    pub tier: &'static str,
    pub destructive: bool,
    /// `endpoint`, or `endpoint/place` (a region).
    pub at: String,
    /// The representative call's arguments.
    pub args: Value,
}

impl Place {
    /// Every tool on every endpoint of its backend, and at each value the
    /// endpoint's configuration names for one of its parameters.
    pub fn all(gate: &Gate) -> Result<Vec<Place>, String> {
        let mut out = Vec::new();
        // Another server's name for a tool is decided as that tool: one
        // row, under the tool's own name.
        for tool in gate
            .catalog()
            .tools()
            .iter()
            .filter(|t| t.stands_for.is_none())
        {
            for ep in gate
                .backends()
                .endpoints()
                .filter(|e| e.backend == tool.backend)
            {
                let base = sample::smallest_call(tool, &ep.name, |args| {
                    let args = Value::Object(args.clone());
                    gate.check(&CallRequest {
                        tool: tool.name,
                        args: Some(&args),
                        confirmation: Confirmation::None,
                        confirms: None,
                    })
                    .is_ok()
                })?;
                let known = tool.all_params().find_map(|p| {
                    let v = ep.settings.known_values(p.name);
                    (!v.is_empty()).then_some((p.name, v))
                });
                let mut push = |at: String, args: serde_json::Map<String, Value>| {
                    out.push(Place {
                        tool: tool.name,
                        tier: tool.tier.as_str(),
                        destructive: tool.destructive,
                        at,
                        args: Value::Object(args),
                    });
                };
                match known {
                    Some((param, values)) => {
                        for v in values {
                            let mut args = base.clone();
                            args.insert(param.to_string(), Value::from(v.as_str()));
                            push(format!("{}/{v}", ep.name), args);
                        }
                    }
                    None => push(ep.name.clone(), base),
                }
            }
        }
        Ok(out)
    }
}

/// What a subject may do at a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Allow,
    /// Allowed with the model's `confirm: true` (or a human's answer).
    Confirm,
    /// Allowed only with a human's answer through the client.
    HumanConfirm,
    /// Allowed only once approvers approve it (`portcullis approvals`).
    Approval,
    Deny,
    /// The representative call could not be decided (see the note).
    Undecided,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Allow => "allow",
            Access::Confirm => "confirm",
            Access::HumanConfirm => "human confirm",
            Access::Approval => "approval",
            Access::Deny => "deny",
            Access::Undecided => "undecided",
        }
    }
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub access: Access,
    /// Other arguments, resources or times may be decided otherwise.
    pub may_vary: bool,
    /// The policies that decided (the permits that allowed, or the forbids
    /// that denied; none for the default deny).
    pub policies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Decide one cell with the gate's current policy set.
pub fn decide(gate: &Gate, subject: &Subject, place: &Place) -> Cell {
    let caller = Caller::stdio(subject.principal.clone());
    let engine = gate.policies();
    let may_vary = gate.catalog().get(place.tool).is_none_or(|tool| {
        // The confirmation is enumerated here and the endpoint is the
        // column's; whether the call is destructive is the tool's unless
        // its arguments decide it.
        let mut fixed = vec!["confirmed", "confirmation", "endpoint", "tls_verify"];
        if tool.destructive_if.is_empty() {
            fixed.push("destructive");
        }
        engine.may_vary(&subject.principal, place.tool, &fixed)
    });
    let attempt = |confirmation| {
        gate.prepare(
            &caller,
            &CallRequest {
                tool: place.tool,
                args: Some(&place.args),
                confirmation,
                confirms: None,
            },
        )
        .map(|p| (p.decision.allowed, p.decision.policies))
    };
    let (allowed, policies) = match attempt(Confirmation::None) {
        Ok(d) => d,
        Err(e) => {
            return Cell {
                access: Access::Undecided,
                may_vary,
                policies: vec![],
                note: Some(rejection_text(&e)),
            }
        }
    };
    let cell = |access, policies| Cell {
        access,
        may_vary,
        policies,
        note: None,
    };
    if allowed {
        return cell(Access::Allow, policies);
    }
    // Denied even with a human's answer: the forbids that held then are
    // the ones to show, not those a confirmation would have satisfied.
    let mut denied_by = policies;
    for (confirmation, access) in [
        (Confirmation::Argument, Access::Confirm),
        (Confirmation::Elicitation, Access::HumanConfirm),
        (Confirmation::Approval, Access::Approval),
    ] {
        match attempt(confirmation) {
            Ok((true, by)) => return cell(access, by),
            Ok((false, by)) => denied_by = by,
            Err(_) => {}
        }
    }
    cell(Access::Deny, denied_by)
}

fn rejection_text(r: &Rejection) -> String {
    match r {
        Rejection::UnknownTool => "unknown tool".into(),
        Rejection::InvalidArguments(e) => format!("invalid sample arguments: {e}"),
        Rejection::Invalid(m) => format!("invalid sample arguments: {m}"),
        Rejection::Unresolved(m) => format!("the target cannot be placed offline: {m}"),
        Rejection::Approval(m) => m.clone(),
    }
}

/// The whole matrix under the gate's current policy set, row by row.
pub fn matrix(gate: &Gate, subjects: &[Subject], places: &[Place]) -> Vec<Vec<Cell>> {
    subjects
        .iter()
        .map(|s| places.iter().map(|p| decide(gate, s, p)).collect())
        .collect()
}
