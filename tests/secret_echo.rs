//! A backend that echoes Portcullis's credential back, in a successful
//! answer or an error, must not hand it to the agent or the audit log; and
//! an unreachable endpoint is named, never its internal URL.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;

use std::path::Path;

use portcullis::config::{Config, Env};
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate, Outcome, ToolResult};
use portcullis::testing::GateBuilder;
use serde_json::{json, Value};

const SECRET: &str = "canary-3f9e1c7a-echoed-secret";

struct OneVar;
impl Env for OneVar {
    fn var(&self, name: &str) -> Option<String> {
        (name == "ECHO_SECRET").then(|| SECRET.to_string())
    }
}

fn gate(url: &str, ca: &Path, audit: &Path) -> Gate {
    let text = format!(
        r#"[server]
principal = "carol"
policies = "unused"
audit_log = "{audit}"

[[principals]]
id = "carol"
groups = ["admins"]

[[endpoints]]
name = "echo"
backend = "pve"
url = "{url}"
token_id = "root@pam!ci"
token_secret_env = "ECHO_SECRET"
ca_file = "{ca}"
timeout_seconds = 3
"#,
        audit = audit.display(),
        ca = ca.display(),
    );
    let config = Config::parse(&text, "t.toml", Path::new("."), &OneVar).unwrap();
    GateBuilder::new()
        .endpoints(&config.endpoints)
        .audit(audit)
        .build()
}

async fn call(gate: &Gate, tool: &str, args: Value) -> ToolResult {
    let caller = Caller::stdio(portcullis::principal::Principal {
        id: "carol".into(),
        groups: vec!["admins".into()],
    });
    let req = CallRequest {
        tool,
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    match gate.call(&caller, req, None).await {
        Outcome::Done(r) => r,
        other => panic!("{tool}: {other:?}"),
    }
}

#[tokio::test]
async fn a_credential_echoed_in_an_answer_is_scrubbed() {
    // The fake answers node listings with the Authorization header it got
    // (the credential, in a field and as a key), and node status with an
    // error that quotes it.
    let listener = common::tls_listener().await;
    let (url, pem) = common::serve(listener, false, |req: hyper::Request<_>| async move {
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let (status, body) = if req.uri().path().ends_with("/nodes") {
            let mut node = serde_json::Map::new();
            node.insert("node".into(), json!("pve1"));
            node.insert("note".into(), json!(format!("you sent {auth}")));
            node.insert(auth.clone(), json!(true));
            (200, json!({"data": [node]}))
        } else {
            (500, json!({"message": format!("bad token {auth}")}))
        };
        hyper::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from(
                body.to_string(),
            )))
            .unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pem).unwrap();
    let audit = dir.path().join("audit.jsonl");
    let gate = gate(&url, &ca, &audit);

    let ok = call(&gate, "pve_list_nodes", json!({})).await;
    assert!(!ok.is_error, "{}", ok.text);
    assert!(ok.text.contains("you sent"), "{}", ok.text);
    assert!(ok.text.contains("[redacted]"), "{}", ok.text);
    let failed = call(&gate, "pve_get_node_status", json!({"node": "pve1"})).await;
    assert!(failed.is_error);
    assert!(failed.text.contains("bad token"), "{}", failed.text);

    let log = std::fs::read_to_string(&audit).unwrap();
    common::assert_no_secret(
        &[SECRET],
        &[
            ("successful answer", &ok.text),
            (
                "structured answer",
                &ok.structured.map(|s| s.to_string()).unwrap_or_default(),
            ),
            ("error", &failed.text),
            ("audit log", &log),
        ],
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_named_without_its_url() {
    // A port nothing listens on: connection refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let listener = common::tls_listener().await;
    std::fs::write(&ca, &listener.pem).unwrap();
    let audit = dir.path().join("audit.jsonl");
    let gate = gate(&format!("https://127.0.0.1:{port}"), &ca, &audit);
    let r = call(&gate, "pve_list_nodes", json!({})).await;
    assert!(r.is_error);
    assert!(
        r.text.contains("\"echo\""),
        "names the endpoint: {}",
        r.text
    );
    assert!(!r.text.contains("api2"), "no internal URL: {}", r.text);
    assert!(
        !r.text.contains(&port.to_string()),
        "no internal URL: {}",
        r.text
    );
}
