//! Plant a canary secret as the API token secret, drive the real binary
//! through successes, denials, invalid input and backend failures with
//! trace logging on, and prove the secret appears in no output: stdout,
//! stderr, the log file or the audit log.

mod common;

use std::path::Path;
use std::process::Command;

use portcullis::backends::pve::lab::{Fault, Lab};
use secrecy::ExposeSecret;

const SECRET_VAR: &str = "PORTCULLIS_TEST_CANARY_SECRET";

fn run(cfg: &Path, log: &Path, secret: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .arg("--config")
        .arg(cfg)
        .env(SECRET_VAR, secret)
        .env("PORTCULLIS_LOG", "trace")
        .env("PORTCULLIS_LOG_FILE", log)
        .output()
        .unwrap();
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_secret_appears_in_no_output() {
    let lab = Lab::start(0.1).await.unwrap();
    let secret = lab.token_secret.expose_secret().to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &lab.ca_pem).unwrap();
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/default");
    let cfg = dir.path().join("portcullis.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[server]
principal = "bob"
policies = "{policies}"
audit_log = "audit.jsonl"

[[principals]]
id = "bob"
groups = ["operators"]

[[endpoints]]
name = "lab"
backend = "pve"
url = "{url}"
token_id = "{token_id}"
token_secret_env = "{SECRET_VAR}"
ca_file = "ca.pem"
timeout_seconds = 2
"#,
            policies = policies.display(),
            url = lab.url,
            token_id = lab.token_id,
        ),
    )
    .unwrap();
    let log = dir.path().join("portcullis.log");
    let mut seen = String::new();
    let calls: [&[&str]; 6] = [
        &[
            "call",
            "--as",
            "bob",
            "pve_list_qemu_vms",
            r#"{"node":"pve1"}"#,
        ],
        &[
            "call",
            "--as",
            "bob",
            "pve_stop_qemu_vm",
            r#"{"node":"pve1","vmid":100,"confirm":true}"#,
        ],
        &[
            "call",
            "--as",
            "bob",
            "pve_delete_qemu_vm",
            r#"{"node":"pve1","vmid":100,"confirm":true}"#,
        ],
        &[
            "call",
            "--as",
            "bob",
            "pve_get_node_status",
            r#"{"node":"../x"}"#,
        ],
        &["dry-run", "--json", "--as", "bob", "pve_list_nodes", "{}"],
        &["check"],
    ];
    for args in calls {
        seen.push_str(&run(&cfg, &log, &secret, args));
    }
    for fault in [
        Fault::Status(401),
        Fault::Status(500),
        Fault::Garbage,
        Fault::Reset,
    ] {
        lab.inject([fault]);
        seen.push_str(&run(
            &cfg,
            &log,
            &secret,
            &["call", "--as", "bob", "pve_list_nodes", "{}"],
        ));
    }
    // The runs did what they should, so the scan covers real output.
    assert!(seen.contains("web-01"), "{seen}");
    assert!(seen.contains("no policy permits it"), "{seen}");
    assert!(seen.contains("rejected Portcullis's credentials"), "{seen}");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.lines().count() >= 16, "{audit}");
    let logs = common::trace_logs(dir.path());
    common::assert_no_secret(
        &[secret.as_str()],
        &[
            ("process output", &seen),
            ("audit log", &audit),
            ("log file", &logs),
        ],
    );
}
