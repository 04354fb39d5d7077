//! `portcullis lab --demo`: a scripted tour through the whole path on the
//! embedded lab. Every step states what should happen; the demo exits
//! non-zero if anything else does, so it doubles as a smoke test.

use std::process::ExitCode;

use serde_json::Value;

use super::{cli_caller, Runtime};
use crate::audit::verify_file;
use crate::gate::{CallRequest, Confirmation, Outcome};

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
