//! `portcullis lab --demo`: a scripted tour through the whole path on the
//! embedded lab. Every step states what should happen; the demo exits
//! non-zero if anything else does, so it doubles as a smoke test.

use std::process::ExitCode;

use serde_json::Value;

use super::{cli_caller, Runtime};
use crate::audit::verify_file;
use crate::gate::{CallRequest, Confirmation, Outcome};
use crate::policy::{PolicyEngine, PolicySource};

/// The demo's own rule, added to the default bundle for the approval
/// round trip: deleting a VM on the lab needs an approval, and operators
/// may give it (the shipped four-eyes rule still holds).
const APPROVAL_RULES: &str = r#"
@id("demo-deletes-need-approval")
@reason("deleting a VM on the lab needs an approval")
forbid (principal, action == Action::"pve_delete_qemu_vm", resource in Endpoint::"lab")
unless { context.confirmation == "approval" };

@id("demo-operators-approve-deletes")
permit (principal in Group::"operators", action == Action::"approve", resource)
when { resource.tool == "pve_delete_qemu_vm" };
"#;

/// A call's result: whether it ran, and its text.
async fn call(rt: &Runtime, who: &str, tool: &str, args: &Value) -> Result<(bool, String), String> {
    let principal = rt
        .config
        .principal(who)
        .cloned()
        .ok_or("lab principal missing")?;
    let req = CallRequest {
        tool,
        args: Some(args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    Ok(
        match rt.gate.call(&cli_caller(principal), req, None).await {
            Outcome::Done(r) => (!r.is_error, r.text),
            Outcome::UnknownTool(m) => (false, m),
            Outcome::NeedsHuman { prompt, .. } => (false, prompt),
        },
    )
}

/// One numbered line per step, and whether it went as expected.
fn report(n: usize, why: &str, ok: bool, expect_ok: bool, text: &str) -> usize {
    let verdict = if ok == expect_ok {
        "as expected"
    } else {
        "UNEXPECTED"
    };
    outln!("{n}. {why}");
    outln!(
        "   {} [{verdict}]: {}",
        if ok { "allowed" } else { "refused" },
        first_line(text)
    );
    usize::from(ok != expect_ok)
}

/// `who` approves `id` as `portcullis approvals approve` would.
async fn approve(rt: &Runtime, id: &str, n: usize, who: &str, expect_ok: bool, why: &str) -> usize {
    let r = crate::admin::answer_approval(
        &rt.gate,
        &rt.config.principals,
        crate::admin::Answering {
            id,
            approver: who,
            reason: "demo",
            operator: "lab --demo",
            approve: true,
            channel: crate::approval::AnswerChannel::Demo,
        },
    )
    .await;
    let text = match &r {
        Ok(a) => format!(
            "{who} approved {id} ({} of {})",
            a.approvals.len(),
            a.required
        ),
        Err(e) => e.to_string(),
    };
    report(n, why, r.is_ok(), expect_ok, &text)
}

/// carol asks to delete a VM, which the demo rule parks for approval;
/// she may not approve her own request, bob may; her call then runs once.
async fn approval_round_trip(rt: &Runtime, done: usize) -> Result<usize, String> {
    let mut sources = crate::lab::default_policies();
    sources.push(PolicySource {
        name: "demo/approvals.cedar".into(),
        text: APPROVAL_RULES.into(),
    });
    let engine =
        PolicyEngine::from_sources(&sources, rt.gate.catalog()).map_err(|e| e.to_string())?;
    rt.gate.replace_policies(engine);
    rt.gate.record_policy_loaded("demo").await?;
    // The demo answers in process, as `portcullis approvals` would.
    rt.gate.approvals().set_answerable();
    outln!("\nApprovals (the demo adds a rule: deleting a VM on the lab needs an approval; operators may give it):");
    let mut args = serde_json::json!({"node": "pve1", "vmid": 100, "confirm": true});
    let (ok, text) = call(rt, "carol", "pve_delete_qemu_vm", &args).await?;
    let mut failures = report(
        done + 1,
        "carol deletes VM 100 (stopped above): parked as an approval request",
        ok,
        false,
        &text,
    );
    let id = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.starts_with("apr-"))
        .unwrap_or_default()
        .to_string();
    failures += approve(
        rt,
        &id,
        done + 2,
        "carol",
        false,
        "carol approves her own request: four eyes",
    )
    .await;
    failures += approve(rt, &id, done + 3, "bob", true, "bob approves it").await;
    args["approval_id"] = Value::from(id.as_str());
    let (ok, text) = call(rt, "carol", "pve_delete_qemu_vm", &args).await?;
    failures += report(
        done + 4,
        "carol calls again with approval_id: it runs",
        ok,
        true,
        &text,
    );
    let (ok, text) = call(rt, "carol", "pve_delete_qemu_vm", &args).await?;
    failures += report(done + 5, "and once only", ok, false, &text);
    Ok(failures)
}

fn first_line(text: &str) -> String {
    // Results are pretty JSON: show them compact, on one line.
    let compact = serde_json::from_str::<Value>(text)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| text.to_string());
    let line = compact.lines().next().unwrap_or_default();
    let mut s: String = line.chars().take(150).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

pub async fn run(rt: &Runtime) -> Result<ExitCode, String> {
    outln!(
        "Portcullis lab demo: {}, the default policies, three principals.",
        crate::lab::description()
    );
    outln!("alice is a reader, bob an operator, carol an admin.\n");
    let mut failures = 0;
    let steps = crate::lab::demo_steps();
    for (i, step) in steps.iter().enumerate() {
        let principal = rt
            .config
            .principal(step.who)
            .cloned()
            .ok_or("lab principal missing")?;
        let caller = cli_caller(principal);
        let req = CallRequest {
            tool: step.tool,
            args: Some(&step.args),
            confirmation: Confirmation::None,
            confirms: None,
        };
        let (ok, text) = match rt.gate.call(&caller, req, None).await {
            Outcome::Done(r) => (!r.is_error, r.text),
            Outcome::UnknownTool(m) => (false, m),
            Outcome::NeedsHuman { prompt, .. } => (false, prompt),
        };
        let verdict = if ok == step.expect_ok {
            "as expected"
        } else {
            "UNEXPECTED"
        };
        if ok != step.expect_ok {
            failures += 1;
        }
        outln!(
            "{}. {} — {} calls {} {}",
            i + 1,
            step.why,
            step.who,
            step.tool,
            step.args
        );
        outln!(
            "   {} [{verdict}]: {}",
            if ok { "allowed" } else { "refused" },
            first_line(&text)
        );
    }
    failures += approval_round_trip(rt, steps.len()).await?;
    let path = &rt.config.audit_log;
    match verify_file(path) {
        Ok(r) => outln!(
            "\naudit log {}: chain intact, {} records, head {}",
            path.display(),
            r.records,
            r.head
        ),
        Err(e) => {
            failures += 1;
            outln!("\naudit log BROKEN: {e}");
        }
    }
    if let Some(step) = steps.iter().find(|s| s.who == "alice" && !s.expect_ok) {
        outln!(
            "Try it yourself: portcullis dry-run --lab --as alice {} '{}'",
            step.tool,
            step.args
        );
    }
    if failures == 0 {
        outln!("demo: every step behaved as the policies say.");
        Ok(ExitCode::SUCCESS)
    } else {
        outln!("demo: {failures} step(s) misbehaved.");
        Ok(ExitCode::from(1))
    }
}
