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
