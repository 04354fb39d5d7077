//! A seed's user switching: `portcullis serve` with only the seed's
//! environment (no configuration file), driven by the official Python MCP
//! SDK (tests/interop/dropin.py), and `portcullis check` with the same
//! environment.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// What a drop-in did.
pub struct Dropin {
    /// dropin.py's report: `tools`, `is_error`, `text`.
    pub report: Value,
    /// The server's stderr: what it chose.
    pub stderr: String,
    /// `portcullis check`'s output and whether it passed.
    pub check: String,
    pub check_passed: bool,
    /// The audit log, from the user's state directory.
    pub audit: String,
}

/// Run `tool` with `args` under exactly `env` (plus PATH, the user's
/// name and a fresh state directory). Blocking: call it from
/// `spawn_blocking` when a simulator runs on the test's runtime.
pub fn run(env: &[(&str, String)], tool: &str, args: &Value) -> Dropin {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        ".venv is missing: run scripts/setup-test-env.sh (scripts/test.sh does)"
    );
    let state = tempfile::tempdir().unwrap();
    let mut vars: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    vars.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    vars.push(("USER".into(), "dana".into()));
    vars.push(("XDG_STATE_HOME".into(), state.path().display().to_string()));
    let bin = env!("CARGO_BIN_EXE_portcullis");
    let out = Command::new(&python)
        .arg(root.join("tests/interop/dropin.py"))
        .args([bin, tool, &args.to_string()])
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "dropin.py failed:\n{stderr}\n{stdout}"
    );
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let check = Command::new(bin)
        .arg("check")
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let audit =
        std::fs::read_to_string(state.path().join("portcullis/audit.jsonl")).unwrap_or_default();
    Dropin {
        report,
        stderr,
        check: String::from_utf8_lossy(&check.stdout).to_string()
            + &String::from_utf8_lossy(&check.stderr),
        check_passed: check.status.success(),
        audit,
    }
}

impl Dropin {
    /// The call went through, the choices were said alike by `serve` and
    /// `check`, and the call was audited in the state directory without
    /// `secret`.
    pub fn assert_ok(&self, seed: &str, group: &str, tool: &str, secret: &str) {
        assert_eq!(
            self.report["is_error"], false,
            "{}\n{}",
            self.report, self.stderr
        );
        for said in [
            format!("drop-in for {seed}"),
            format!("principal: \"dana\" (the OS user) in group(s) {group}"),
        ] {
            assert!(
                self.stderr.contains(&said),
                "serve did not say {said:?}:\n{}",
                self.stderr
            );
            assert!(
                self.check.contains(&said),
                "check did not say {said:?}:\n{}",
                self.check
            );
        }
        assert!(self.check_passed, "check failed:\n{}", self.check);
        assert!(
            self.audit.contains(tool),
            "{tool} not audited:\n{}",
            self.audit
        );
        for out in [
            &self.stderr,
            &self.check,
            &self.audit,
            &self.report.to_string(),
        ] {
            assert!(!out.contains(secret), "the secret leaked:\n{out}");
        }
    }
}
