//! What a refused caller is told: which kind of refusal, which policy, and
//! a command that decides the same call again; and which tools are listed.

use super::*;
use crate::config::Endpoint;

fn gate(policies: &[&str], tls_verify: bool, dir: &std::path::Path) -> Gate {
    crate::testing::GateBuilder::new()
        .policies(policies)
        .endpoints(&[Endpoint::placeholder("e0", tls_verify, true)])
        .audit(&dir.join("audit.jsonl"))
        .build()
        .with_dry_run_source("--config '/etc/portcullis/portcullis.toml'".into())
}

/// A gate with one vSphere endpoint, "vc", never contacted.
fn vsphere_gate(policies: &[&str], dir: &std::path::Path) -> Gate {
    crate::testing::GateBuilder::new()
        .policies(policies)
        .endpoints(&[Endpoint::placeholder_of(
            crate::catalog::BackendKind::Vsphere,
            "vc",
            true,
            true,
        )])
        .audit(&dir.join("audit.jsonl"))
        .build()
}

fn caller(groups: &[&str]) -> Caller {
    Caller::stdio(Principal::new("u", groups.to_vec()))
}

async fn refused(gate: &Gate, groups: &[&str], tool: &str, args: Value) -> String {
    let req = CallRequest {
        tool,
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    match gate.call(&caller(groups), req, None).await {
        Outcome::Done(r) if r.is_error => r.text,
        other => panic!("{tool} was not refused: {other:?}"),
    }
}

fn audit_refusals(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| r["refusal"].as_str().map(str::to_string))
        .collect()
}

const ADMINS: &str = "permit(principal in Group::\"admins\", action, resource);";
const TLS_FORBID: &str = "@id(\"no-destructive-without-tls-verification\")\n@reason(\"TLS verification is off for this endpoint\")\nforbid(principal, action in Action::\"destructive\", resource) unless { context.tls_verify };";

#[tokio::test]
async fn a_forbid_that_decides_is_named_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let g = gate(&[ADMINS, TLS_FORBID], false, dir.path());
    let text = refused(
        &g,
        &["admins"],
        "pve_delete_qemu_vm",
        json!({"node": "pve1", "vmid": 100, "confirm": true}),
    )
    .await;
    assert!(
        text.contains("forbidden by policy no-destructive-without-tls-verification (TLS verification is off for this endpoint)"),
        "{text}"
    );
    assert!(!text.contains("no policy permits it"), "{text}");
    assert_eq!(audit_refusals(dir.path()), ["forbidden"]);
}

#[tokio::test]
async fn confirm_true_under_a_policy_that_wants_a_human_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let human_only = "forbid(principal, action in Action::\"destructive\", resource) unless { context.confirmation == \"elicitation\" };";
    let g = gate(&[ADMINS, human_only], true, dir.path());
    let text = refused(
        &g,
        &["admins"],
        "pve_delete_qemu_vm",
        json!({"node": "pve1", "vmid": 100, "confirm": true}),
    )
    .await;
    assert!(
        text.contains("needs a human's confirmation through the MCP client"),
        "{text}"
    );
    assert!(text.contains("does not accept \"confirm\": true"), "{text}");
    assert!(!text.contains("no policy permits"), "{text}");
    assert_eq!(audit_refusals(dir.path()), ["needs_elicitation"]);
}

#[tokio::test]
async fn no_permit_prints_a_dry_run_command_for_this_very_call() {
    let dir = tempfile::tempdir().unwrap();
    let g = gate(&[ADMINS], true, dir.path());
    let text = refused(
        &g,
        &["readers", "it's"],
        "pve_stop_qemu_vm",
        json!({"node": "pve1", "vmid": 100}),
    )
    .await;
    assert!(text.contains("no policy permits it"), "{text}");
    assert!(
        text.contains(
            "`portcullis dry-run --config '/etc/portcullis/portcullis.toml' --as 'u' --group 'it'\\''s' --group 'readers' pve_stop_qemu_vm '{\"node\":\"pve1\",\"vmid\":100}'`"
        ),
        "{text}"
    );
    assert_eq!(audit_refusals(dir.path()), ["no_permit"]);
}

#[test]
fn a_tool_no_arguments_can_unlock_is_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let visible = |policies: &[&str], groups: &[&str], tool: &str| {
        let g = gate(policies, true, dir.path());
        let p = Principal::new("u", groups.to_vec());
        g.visible_tools(&p).iter().any(|t| t.name == tool)
    };
    let stop = "pve_stop_qemu_vm";
    assert!(visible(&[ADMINS], &["admins"], stop));
    // Unconditional for this principal: hidden, as dry-run denies it for
    // every argument.
    let never = "forbid(principal in Group::\"interns\", action == Action::\"pve_stop_qemu_vm\", resource);";
    assert!(!visible(&[ADMINS, never], &["admins", "interns"], stop));
    assert!(visible(&[ADMINS, never], &["admins"], stop));
    // Depends on the principal alone: decided per principal.
    let team = "forbid(principal, action == Action::\"pve_stop_qemu_vm\", resource) unless { principal in Group::\"network\" };";
    assert!(!visible(&[ADMINS, team], &["admins"], stop));
    assert!(visible(&[ADMINS, team], &["admins", "network"], stop));
    // Depends on arguments or context: some calls may be allowed, listed.
    let some = "forbid(principal, action == Action::\"pve_stop_qemu_vm\", resource) when { context.args.vmid == 100 };";
    assert!(visible(&[ADMINS, some], &["admins"], stop));
    assert!(visible(
        &[ADMINS, TLS_FORBID],
        &["admins"],
        "pve_delete_qemu_vm"
    ));
    // Confined to one endpoint: others may be allowed, listed.
    let one_place =
        "forbid(principal, action == Action::\"pve_stop_qemu_vm\", resource in Endpoint::\"e0\");";
    assert!(visible(&[ADMINS, one_place], &["admins"], stop));
}

#[tokio::test]
async fn without_a_permit_the_missing_permit_is_the_reason_even_if_a_forbid_holds_too() {
    let dir = tempfile::tempdir().unwrap();
    let g = gate(&[ADMINS, TLS_FORBID], false, dir.path());
    let text = refused(
        &g,
        &["readers"],
        "pve_delete_qemu_vm",
        json!({"node": "pve1", "vmid": 100, "confirm": true}),
    )
    .await;
    assert!(text.contains("no policy permits it"), "{text}");
    assert_eq!(audit_refusals(dir.path()), ["no_permit"]);
}

#[tokio::test]
async fn another_servers_name_for_a_tool_is_held_by_the_tools_policies() {
    // mcvsphere's `vsphere_power_off` is `vsphere_power_off_vm`: a forbid
    // written for the tool holds under either name.
    let dir = tempfile::tempdir().unwrap();
    let forbid = "@id(\"no-hard-power-off\")\nforbid(principal, action == Action::\"vsphere_power_off_vm\", resource);";
    let g = vsphere_gate(&[ADMINS, forbid], dir.path());
    let admin = Principal::new("u", vec!["admins"]);
    let visible: Vec<&str> = g.visible_tools(&admin).iter().map(|t| t.name).collect();
    assert!(visible.contains(&"vsphere_power_on"), "{visible:?}");
    assert!(!visible.contains(&"vsphere_power_off_vm"), "{visible:?}");
    assert!(!visible.contains(&"vsphere_power_off"), "{visible:?}");
    let text = refused(
        &g,
        &["admins"],
        "vsphere_power_off",
        json!({"vm": "web", "confirm": true}),
    )
    .await;
    assert!(text.contains("no-hard-power-off"), "{text}");
    // Recorded under the name called.
    let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let record: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(record["tool"], "vsphere_power_off", "{record}");
    // The name is no action of its own: a policy naming it is refused.
    let schema = crate::policy::schema::generate(&crate::catalog::Catalog::builtin());
    assert!(!schema.contains("action \"vsphere_power_off\" "));
    assert!(schema.contains("action \"vsphere_power_off_vm\" "));
    let naming_it = crate::policy::PolicySource {
        name: "p.cedar".into(),
        text: "forbid(principal, action == Action::\"vsphere_power_off\", resource);".into(),
    };
    assert!(crate::policy::PolicyEngine::from_sources(
        &[naming_it],
        &crate::catalog::Catalog::builtin()
    )
    .is_err());
}

#[test]
fn a_call_parked_under_another_servers_name_is_approved_as_its_tool() {
    // Approvers' policies read `resource.tool`: it must be the operation
    // that runs, whichever name asked for it.
    let dir = tempfile::tempdir().unwrap();
    let g = vsphere_gate(&[ADMINS], dir.path());
    let args = json!({"vm": "web", "confirm": true});
    let req = |tool| CallRequest {
        tool,
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    let c = caller(&["admins"]);
    let by_pro = g.prepare(&c, &req("vsphere_restart_vm")).unwrap();
    let own = g.prepare(&c, &req("vsphere_reset_vm")).unwrap();
    let key = super::approval_key(&by_pro);
    assert_eq!(key.tool, "vsphere_reset_vm");
    // One operation, one binding: approved under either name.
    assert_eq!(key.args, super::approval_key(&own).args);
    assert_eq!(key.targets, super::approval_key(&own).targets);
}

#[test]
fn an_endpoint_is_named_by_host_only_among_configured_ones() {
    let dir = tempfile::tempdir().unwrap();
    let vsphere = |name: &str| {
        Endpoint::placeholder_of(
            crate::catalog::BackendKind::Vsphere,
            name,
            true,
            name == "a",
        )
    };
    let one = crate::testing::GateBuilder::new()
        .policies(&[ADMINS])
        .endpoints(&[vsphere("a"), Endpoint::placeholder("pve", true, true)])
        .audit(&dir.path().join("audit.jsonl"))
        .build();
    let b = one.backends();
    let vs = crate::catalog::BackendKind::Vsphere;
    // Without case, with or without the port.
    assert_eq!(
        b.pick_by_host(vs, "NEVER-contacted.invalid").unwrap().name,
        "a"
    );
    assert_eq!(
        b.pick_by_host(vs, "never-contacted.invalid:443")
            .unwrap()
            .name,
        "a"
    );
    assert!(b.pick_by_host(vs, "never-contacted.invalid:8443").is_err());
    // Another backend's endpoint is never picked; the refusal names
    // endpoints, not where they are (it is answered before authorization).
    let e = b
        .pick_by_host(crate::catalog::BackendKind::Pve, "elsewhere.example")
        .unwrap_err();
    assert!(e.contains("the configured endpoints are pve"), "{e}");
    assert!(!e.contains("never-contacted"), "{e}");
    let two = crate::testing::GateBuilder::new()
        .policies(&[ADMINS])
        .endpoints(&[vsphere("a"), vsphere("b")])
        .audit(&dir.path().join("audit2.jsonl"))
        .build();
    let e = two
        .backends()
        .pick_by_host(vs, "never-contacted.invalid")
        .unwrap_err();
    assert!(
        e.contains("several vsphere endpoints") && e.contains("a, b"),
        "{e}"
    );
}
