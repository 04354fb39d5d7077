//! Plant a canary secret as the API token secret, drive the real binary
//! through successes, denials, invalid input and backend failures with
//! trace logging on, and prove the secret appears in no output: stdout,
//! stderr, the log file or the audit log.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

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

const GUEST_PASSWORD: &str = "canary-guest-pw-7d1e94b0";
const UPLOAD_CONTENT: &str = "canary-upload-content-52c0aa17";
const VCENTER_PASSWORD: &str = "canary-vcenter-pw-0b3f6e2d";
const API_KEY: &str = "pcl_canary_api_key_4a1f";

/// A configuration with a vSphere endpoint nobody answers on, an API key
/// for carol (admins) and an HTTP listener on a free loopback port.
fn vsphere_config(dir: &Path) -> std::path::PathBuf {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/default");
    let cfg = dir.join("portcullis.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[server]
principal = "carol"
policies = "{policies}"
audit_log = "audit.jsonl"

[[principals]]
id = "carol"
groups = ["admins"]

[[endpoints]]
name = "vc"
backend = "vsphere"
url = "https://127.0.0.1:{closed_port}"
username = "administrator@vsphere.local"
password_env = "CANARY_VC_PASSWORD"
timeout_seconds = 2

[http]
listen = "127.0.0.1:0"

[[http.api_keys]]
principal = "carol"
groups = ["admins"]
sha256 = "{key}"
"#,
            policies = policies.display(),
            key = hex::encode(portcullis::auth::apikey::digest(API_KEY)),
        ),
    )
    .unwrap();
    cfg
}

/// The JSON-RPC messages of a session that passes a guest password and
/// upload content.
fn secret_calls() -> Vec<serde_json::Value> {
    use serde_json::json;
    vec![
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "canary", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "vsphere_run_command_in_guest",
            "arguments": {"vm": "web-01", "guest_user": "root",
                          "guest_password": GUEST_PASSWORD, "program": "/bin/true"}}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "vsphere_upload_to_datastore",
            "arguments": {"datastore": "ds1", "path": "a/b.txt", "content": UPLOAD_CONTENT}}}),
        // Invalid on purpose: the secret must not leak from error paths.
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
            "name": "vsphere_run_command_in_guest",
            "arguments": {"vm": "web-01", "guest_user": "root",
                          "guest_password": GUEST_PASSWORD, "program": "/bin/true", "bogus": 1}}}),
    ]
}

fn command(cfg: &Path, log: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    c.arg("serve")
        .arg("--config")
        .arg(cfg)
        .env("CANARY_VC_PASSWORD", VCENTER_PASSWORD)
        .env("PORTCULLIS_LOG", "trace")
        .env("PORTCULLIS_LOG_FILE", log)
        .env_remove("PORTCULLIS_CONFIG");
    c
}

fn assert_secret_arguments_absent(dir: &Path, outputs: &[(&str, &str)]) {
    let audit = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
    // The calls reached the gate (and were recorded), so the scan covers
    // the path their arguments took.
    assert!(
        audit.contains("vsphere_run_command_in_guest")
            && audit.contains("vsphere_upload_to_datastore"),
        "{audit}"
    );
    let logs = common::trace_logs(dir);
    let mut all: Vec<(&str, &str)> = outputs.to_vec();
    all.push(("audit log", &audit));
    all.push(("log file", &logs));
    common::assert_no_secret(&[GUEST_PASSWORD, UPLOAD_CONTENT, VCENTER_PASSWORD], &all);
}

#[test]
fn secret_and_content_arguments_appear_in_no_log_at_trace_over_stdio() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let cfg = vsphere_config(dir.path());
    let log = dir.path().join("portcullis.log");
    let mut child = command(&cfg, &log)
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for m in secret_calls() {
        writeln!(stdin, "{m}").unwrap();
    }
    // Read until every call is answered (answers may come in any order:
    // calls run concurrently), so the server has handled each of them.
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = String::new();
        let mut answered = std::collections::BTreeSet::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if let Some(id) = v["id"].as_u64() {
                    answered.insert(id);
                }
            }
            seen.push_str(&line);
            seen.push('\n');
            if (1..=4).all(|id| answered.contains(&id)) {
                break;
            }
        }
        seen
    });
    let stdout = reader.join().unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stdout.contains("\"id\":3"), "{stdout}\n{stderr}");
    assert_secret_arguments_absent(dir.path(), &[("stdout", &stdout), ("stderr", &stderr)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_and_content_arguments_appear_in_no_log_at_trace_over_http() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let cfg = vsphere_config(dir.path());
    let log = dir.path().join("portcullis.log");
    let mut child = command(&cfg, &log)
        .args(["--transport", "http"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let collector = std::thread::spawn(move || {
        let mut all = String::new();
        let mut sent = false;
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if !sent {
                if let Some(url) = line.strip_prefix("portcullis: serving MCP at ") {
                    tx.send(url.to_string()).unwrap();
                    sent = true;
                }
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the server starts");
    let client = reqwest::Client::new();
    let mut session: Option<String> = None;
    let mut answers = String::new();
    for m in secret_calls() {
        let mut req = client
            .post(&url)
            .bearer_auth(API_KEY)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .body(m.to_string());
        if let Some(s) = &session {
            req = req.header("mcp-session-id", s);
        }
        let resp = req.send().await.unwrap();
        if session.is_none() {
            session = resp
                .headers()
                .get("mcp-session-id")
                .map(|v| v.to_str().unwrap().to_string());
        }
        answers.push_str(&resp.text().await.unwrap());
    }
    assert!(answers.contains("vsphere_upload_to_datastore"), "{answers}");
    // SIGTERM: a graceful stop, so the log file is flushed.
    let term = Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(term.success());
    let out = child.wait_with_output().unwrap();
    let stderr = collector.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_secret_arguments_absent(
        dir.path(),
        &[
            ("HTTP answers", &answers),
            ("stdout", &stdout),
            ("stderr", &stderr),
        ],
    );
}
