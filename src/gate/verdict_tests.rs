//! The pure verdict: each kind of refusal from a small policy set, with no
//! audit log, no backend call and no rate limiter involved.

use super::verdict::{
    judge, message, rejection_message, ConfirmationKind, DecisionKind, Denial, Determining,
    OutcomeKind, RefusalKind, Rejection, Verdict, Wording,
};
use super::*;
use crate::catalog::ValidationError;
use crate::config::Endpoint;
use crate::policy::PolicySource;

const ADMINS: &str = "@id(\"admins\")\npermit(principal in Group::\"admins\", action, resource);";
const CONFIRMED: &str = "@id(\"confirmed\")\npermit(principal in Group::\"ops\", action, resource) when { context.confirmed };";
const HUMAN_ONLY: &str = "@id(\"human-only\")\npermit(principal in Group::\"ops\", action, resource) when { context.confirmation == \"elicitation\" };";
const TLS_FORBID: &str = "@id(\"tls\")\n@reason(\"TLS verification is off\")\nforbid(principal, action in Action::\"destructive\", resource) unless { context.tls_verify };";
const BARE_FORBID: &str =
    "@id(\"no-deletes\")\nforbid(principal, action == Action::\"pve_delete_qemu_vm\", resource);";

/// A gate with no audit log: `judge` must not need one.
fn gate(policies: &[&str], tls_verify: bool) -> Gate {
    let sources: Vec<PolicySource> = policies
        .iter()
        .enumerate()
        .map(|(i, t)| PolicySource {
            name: format!("p{i}.cedar"),
            text: t.to_string(),
        })
        .collect();
    let engine = PolicyEngine::from_sources(&sources, &Catalog::builtin()).unwrap();
    Gate::new(
        Catalog::builtin(),
        engine,
        None,
        Backends::new(&[Endpoint::placeholder("e0", tls_verify, true)]).unwrap(),
    )
}

fn caller(groups: &[&str], can_elicit: bool) -> Caller {
    let mut c = Caller::stdio(Principal::new("u", groups.to_vec()));
    c.can_elicit = can_elicit;
    c
}

/// Prepare `pve_delete_qemu_vm` on VM 100 and judge it.
fn verdict_of(g: &Gate, c: &Caller, confirm: bool, confirmation: Confirmation) -> Verdict {
    let args = if confirm {
        json!({"node": "pve1", "vmid": 100, "confirm": true})
    } else {
        json!({"node": "pve1", "vmid": 100})
    };
    let req = CallRequest {
        tool: "pve_delete_qemu_vm",
        args: Some(&args),
        confirmation,
        confirms: None,
    };
    let p = g.prepare(c, &req).unwrap();
    judge(&p, c, &g.policies())
}

#[test]
fn a_permitted_call_is_allowed() {
    let g = gate(&[ADMINS], true);
    let v = verdict_of(&g, &caller(&["admins"], false), false, Confirmation::None);
    assert_eq!(v, Verdict::Allow);
    assert_eq!(v.decision(), DecisionKind::Allow);
    assert_eq!(v.outcome(), None);
    assert_eq!(v.refusal(), None);
}

#[test]
fn nothing_permits_it() {
    let g = gate(&[ADMINS], true);
    let v = verdict_of(&g, &caller(&["readers"], true), true, Confirmation::None);
    assert_eq!(v, Verdict::Deny(Denial::NoPermit));
    assert_eq!(v.refusal(), Some(RefusalKind::NoPermit));
    assert_eq!(v.outcome(), Some(OutcomeKind::Denied));
}

#[test]
fn a_missing_permit_is_the_reason_even_when_a_forbid_holds_too() {
    let g = gate(&[ADMINS, TLS_FORBID], false);
    let v = verdict_of(&g, &caller(&["readers"], false), false, Confirmation::None);
    assert_eq!(v, Verdict::Deny(Denial::NoPermit));
}

#[test]
fn a_forbid_that_decides_is_named_with_its_reason() {
    let g = gate(&[ADMINS, TLS_FORBID, BARE_FORBID], false);
    let v = verdict_of(&g, &caller(&["admins"], true), true, Confirmation::None);
    let Verdict::Deny(Denial::Forbidden(mut by)) = v else {
        panic!("not forbidden: {v:?}");
    };
    by.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        by,
        [
            Determining {
                id: "no-deletes".into(),
                reason: None
            },
            Determining {
                id: "tls".into(),
                reason: Some("TLS verification is off".into())
            },
        ]
    );
}

#[test]
fn confirm_true_would_allow_it() {
    let g = gate(&[CONFIRMED], true);
    let v = verdict_of(&g, &caller(&["ops"], false), false, Confirmation::None);
    assert_eq!(v, Verdict::Deny(Denial::NeedsConfirmation));
    assert_eq!(v.decision(), DecisionKind::Deny);
    assert_eq!(v.refusal(), Some(RefusalKind::NeedsConfirmation));
    // Given, it is allowed.
    let v = verdict_of(&g, &caller(&["ops"], false), true, Confirmation::None);
    assert_eq!(v, Verdict::Allow);
}

#[test]
fn a_client_that_can_ask_is_asked_to() {
    let g = gate(&[CONFIRMED], true);
    let v = verdict_of(&g, &caller(&["ops"], true), false, Confirmation::None);
    assert_eq!(v, Verdict::NeedsConfirmation(ConfirmationKind::Elicitation));
    assert_eq!(v.decision(), DecisionKind::ConfirmationRequired);
    assert_eq!(v.outcome(), Some(OutcomeKind::AwaitingConfirmation));
    assert_eq!(v.refusal(), Some(RefusalKind::NeedsConfirmation));
}

#[test]
fn only_a_human_would_allow_it_and_this_client_cannot_ask() {
    let g = gate(&[HUMAN_ONLY], true);
    let ops = caller(&["ops"], false);
    assert_eq!(
        verdict_of(&g, &ops, false, Confirmation::None),
        Verdict::Deny(Denial::NeedsElicitation {
            argument_refused: false
        })
    );
    let v = verdict_of(&g, &ops, true, Confirmation::None);
    assert_eq!(
        v,
        Verdict::Deny(Denial::NeedsElicitation {
            argument_refused: true
        })
    );
    assert_eq!(v.refusal(), Some(RefusalKind::NeedsElicitation));
    // Even with `confirm: true`, a client that can ask is asked.
    assert_eq!(
        verdict_of(&g, &caller(&["ops"], true), true, Confirmation::None),
        Verdict::NeedsConfirmation(ConfirmationKind::Elicitation)
    );
    // And the human's answer allows it.
    assert_eq!(
        verdict_of(&g, &ops, false, Confirmation::Elicitation),
        Verdict::Allow
    );
}

#[test]
fn a_human_who_already_answered_is_not_asked_again() {
    let g = gate(&[CONFIRMED, BARE_FORBID], true);
    let v = verdict_of(
        &g,
        &caller(&["ops"], true),
        false,
        Confirmation::Elicitation,
    );
    assert_eq!(
        v,
        Verdict::Deny(Denial::Forbidden(vec![Determining {
            id: "no-deletes".into(),
            reason: None
        }]))
    );
}

#[test]
fn kinds_serialize_as_their_names() {
    for d in [
        DecisionKind::Allow,
        DecisionKind::Deny,
        DecisionKind::ConfirmationRequired,
        DecisionKind::RateLimited,
        DecisionKind::Invalid,
        DecisionKind::UnknownTool,
        DecisionKind::Unresolved,
    ] {
        assert_eq!(serde_json::to_value(d).unwrap(), json!(d.as_str()));
    }
    for o in [
        OutcomeKind::Ok,
        OutcomeKind::BackendError,
        OutcomeKind::Denied,
        OutcomeKind::Rejected,
        OutcomeKind::AwaitingConfirmation,
        OutcomeKind::RateLimited,
    ] {
        assert_eq!(serde_json::to_value(o).unwrap(), json!(o.as_str()));
    }
    for r in [
        RefusalKind::NeedsConfirmation,
        RefusalKind::NeedsElicitation,
        RefusalKind::Forbidden,
        RefusalKind::NoPermit,
    ] {
        assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
    }
    assert_eq!(
        DecisionKind::ConfirmationRequired.as_str(),
        "confirmation_required"
    );
    assert_eq!(
        OutcomeKind::AwaitingConfirmation.as_str(),
        "awaiting_confirmation"
    );
}

#[test]
fn rejections_keep_their_kind_and_typed_error() {
    let g = gate(&[ADMINS], true);
    let c = caller(&["admins"], false);
    let args = json!({"node": "pve1"});
    let req = CallRequest {
        tool: "pve_delete_qemu_vm",
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    let Err(r) = g.prepare(&c, &req) else {
        panic!("a missing vmid was accepted");
    };
    assert_eq!(
        r,
        Rejection::InvalidArguments(ValidationError::Missing("vmid"))
    );
    let v = Verdict::Rejected(r.clone());
    assert_eq!(v.decision(), DecisionKind::Invalid);
    assert_eq!(v.outcome(), Some(OutcomeKind::Rejected));
    assert_eq!(
        rejection_message(&r, "pve_delete_qemu_vm"),
        "invalid arguments for pve_delete_qemu_vm: missing required argument `vmid`"
    );
    assert_eq!(
        Verdict::Rejected(Rejection::UnknownTool).decision(),
        DecisionKind::UnknownTool
    );
    assert_eq!(
        rejection_message(&Rejection::UnknownTool, "nope"),
        "unknown tool \"nope\""
    );
    assert_eq!(
        rejection_message(
            &Rejection::Unresolved("no VM web".into()),
            "vsphere_stop_vm"
        ),
        "vsphere_stop_vm was not run: its target could not be found: no VM web"
    );
}

#[test]
fn messages_word_each_verdict() {
    let g = gate(&[ADMINS, TLS_FORBID], false);
    let c = caller(&["admins"], false);
    let args = json!({"node": "pve1", "vmid": 100});
    let req = CallRequest {
        tool: "pve_delete_qemu_vm",
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    let p = g.prepare(&c, &req).unwrap();
    let w = Wording {
        caller: &c,
        call: &p,
        dry_run_source: "--lab",
    };
    let say = |v: &Verdict| message(v, &w).unwrap();
    assert_eq!(message(&Verdict::Allow, &w), None);
    let forbidden = say(&judge(&p, &c, &g.policies()));
    assert!(
        forbidden.contains("forbidden by policy tls (TLS verification is off)"),
        "{forbidden}"
    );
    assert!(
        forbidden.contains("`portcullis dry-run --lab --as 'u' --group 'admins' pve_delete_qemu_vm '{\"node\":\"pve1\",\"vmid\":100}'`"),
        "{forbidden}"
    );
    assert!(say(&Verdict::Deny(Denial::NoPermit)).contains("no policy permits it"));
    let confirm = say(&Verdict::Deny(Denial::NeedsConfirmation));
    assert!(
        confirm.ends_with("needs confirmation: it is destructive. Ask the human to confirm, then call it again with \"confirm\": true."),
        "{confirm}"
    );
    let ask = say(&Verdict::NeedsConfirmation(ConfirmationKind::Elicitation));
    assert!(
        ask.starts_with("u wants to run pve_delete_qemu_vm ("),
        "{ask}"
    );
    assert!(ask.ends_with(", a destructive action. Allow it?"), "{ask}");
    let limited = say(&Verdict::RateLimited {
        wait: std::time::Duration::from_millis(300),
        limit: RateLimit {
            per_minute: 6,
            burst: 2,
        },
        store_unreachable: false,
    });
    assert_eq!(
        limited,
        format!(
            "rate limit: u may make 6 {}-tier calls per minute (bursts of 2); pve_delete_qemu_vm was not run. Retry in 1 s.",
            p.tool.tier.as_str()
        )
    );
}
