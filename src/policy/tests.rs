use super::*;

fn engine(files: &[(&str, &str)]) -> Result<PolicyEngine, PolicyError> {
    let sources: Vec<PolicySource> = files
        .iter()
        .map(|(n, t)| PolicySource {
            name: n.to_string(),
            text: t.to_string(),
        })
        .collect();
    PolicyEngine::from_sources(&sources, &Catalog::builtin())
}

#[test]
fn the_shipped_bundles_validate() {
    let catalog = Catalog::builtin();
    for dir in ["policies/default", "policies/mcp-pve"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let e = PolicyEngine::load_dir(&path, &catalog).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert!(!e.is_empty());
    }
}

#[test]
fn ids_come_from_annotations_or_file_and_index() {
    let e = engine(&[(
        "a.cedar",
        "@id(\"named\")\npermit(principal, action, resource);\n\n// second\npermit(principal in Group::\"x\", action, resource);",
    )])
    .unwrap();
    assert_eq!(e.origin("named"), Some("a.cedar:1"));
    assert_eq!(e.origin("a.cedar#1"), Some("a.cedar:5"));
}

#[test]
fn a_type_error_is_refused_with_file_and_line() {
    let err = engine(&[(
        "ops.cedar",
        "permit(principal, action, resource);\n\npermit(principal, action == Action::\"pve_list_nodes\", resource)\n  when { context.args.vmid > 3 };\n",
    )])
    .err()
    .expect("must be refused");
    let text = err.to_string();
    assert!(matches!(err, PolicyError::Invalid(_)), "{text}");
    assert!(text.contains("ops.cedar:"), "{text}");
    assert!(text.contains("vmid"), "{text}");
}

#[test]
fn a_syntax_error_names_file_and_line() {
    let err = engine(&[(
        "bad.cedar",
        "permit(principal, action, resource);\npermit(principal action);\n",
    )])
    .err()
    .unwrap();
    let text = err.to_string();
    assert!(text.contains("bad.cedar:2"), "{text}");
}

#[test]
fn an_unknown_action_or_group_type_is_refused() {
    assert!(engine(&[(
        "x.cedar",
        "permit(principal, action == Action::\"pve_nuke_everything\", resource);"
    )])
    .is_err());
    assert!(engine(&[(
        "x.cedar",
        "permit(principal in Team::\"x\", action, resource);"
    )])
    .is_err());
}

#[test]
fn duplicate_ids_and_templates_are_refused() {
    let dup = "@id(\"a\") permit(principal, action, resource);";
    assert!(matches!(
        engine(&[("1.cedar", dup), ("2.cedar", dup)]),
        Err(PolicyError::DuplicateId { .. })
    ));
    let tpl = "permit(principal == ?principal, action, resource);";
    assert!(matches!(
        engine(&[("t.cedar", tpl)]),
        Err(PolicyError::Template(_))
    ));
}

/// The shipped bundles' four-eyes rule: an approver may approve another
/// principal's request, never their own; and who may approve at all is
/// whom a permit allows.
#[test]
fn the_shipped_four_eyes_rule_decides_who_may_approve() {
    use crate::approval::{Approvals, Parked};
    let catalog = Catalog::builtin();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/default");
    let engine = PolicyEngine::load_dir(&path, &catalog).unwrap();
    let approvals = Approvals::new(std::time::Duration::from_secs(60), 1);
    let request_by = |who: &Principal| {
        let args = json!({"node": "pve1", "vmid": 100});
        let parked = Parked {
            requester: who,
            tier: "change",
            destructive: true,
            key: crate::approval::ApprovalKey {
                tool: "pve_delete_qemu_vm".into(),
                args: args.clone(),
                endpoint: "prod".into(),
                targets: vec!["Vm::\"prod/100\"".into()],
            },
            shown_args: args,
            justification: "CHG-1",
            policy_set: "x",
        };
        // In memory, preparing never waits.
        let prepared = futures_util::FutureExt::now_or_never(
            approvals.prepare(parked, std::time::SystemTime::now()),
        );
        match prepared.unwrap().unwrap() {
            crate::approval::Opened::New(r) => r,
            crate::approval::Opened::Existing(_) => panic!("a new request"),
        }
    };
    let carol = Principal::new("carol", ["admins"]);
    let dave = Principal::new("dave", ["admins"]);
    let alice = Principal::new("alice", ["readers"]);
    let decide = |approver: &Principal, r: &crate::approval::ApprovalRequest| {
        engine
            .authorize_json(&r.cedar_request(
                approver,
                "ok",
                crate::approval::AnswerChannel::Socket,
            ))
            .unwrap()
    };
    let carols = request_by(&carol);
    let own = decide(&carol, &carols);
    assert!(!own.allowed);
    assert_eq!(own.policies, ["four-eyes"]);
    assert_eq!(
        engine.reason("four-eyes"),
        Some("the approver must be someone other than the requester")
    );
    assert!(decide(&dave, &carols).allowed);
    let alices = request_by(&alice);
    assert!(decide(&carol, &alices).allowed);
    let reader = decide(&alice, &carols);
    assert!(
        !reader.allowed && reader.policies.is_empty(),
        "no permit for readers"
    );
    // Every shipped bundle has the rule.
    for bundle in ["mcp-pve", "vergeos", "mcvsphere", "volcengine"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("policies")
            .join(bundle);
        let e = PolicyEngine::load_dir(&path, &catalog).unwrap();
        assert!(
            e.origin("four-eyes").is_some(),
            "{bundle} lacks the four-eyes rule"
        );
        assert!(
            !e.authorize_json(&carols.cedar_request(
                &carol,
                "ok",
                crate::approval::AnswerChannel::Socket
            ))
            .unwrap()
            .allowed
        );
    }
}
