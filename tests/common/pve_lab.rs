//! The embedded lab (its Proxmox VE cluster) behind a gate with the
//! default bundle and an audit log, for tests that drive PVE tools.

use std::time::Duration;

use portcullis::backends::pve::lab::Lab;
use portcullis::config::Config;
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate, Outcome, ToolResult};
use portcullis::testing::GateBuilder;
use serde_json::Value;

pub struct Env {
    pub lab: Lab,
    pub config: Config,
    pub gate: Gate,
    pub audit: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// The lab with this backend timeout and tasks that take `task_seconds`.
pub async fn start(timeout: Duration, task_seconds: f64) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let (mut labs, mut config) = portcullis::lab::start(&audit, task_seconds).await.unwrap();
    let lab: Lab = labs.take().unwrap();
    config.endpoints[0].timeout = timeout;
    let gate = GateBuilder::new()
        .endpoints(&config.endpoints)
        .audit(&audit)
        .build();
    Env {
        lab,
        config,
        gate,
        audit,
        _dir: dir,
    }
}

impl Env {
    pub fn caller(&self, who: &str) -> Caller {
        Caller::stdio(self.config.principal(who).unwrap().clone())
    }

    pub async fn call(&self, who: &str, tool: &str, args: Value) -> ToolResult {
        let req = CallRequest {
            tool,
            args: Some(&args),
            confirmation: Confirmation::None,
            confirms: None,
        };
        match self.gate.call(&self.caller(who), req, None).await {
            Outcome::Done(r) => r,
            other => panic!("{tool}: {other:?}"),
        }
    }

    /// As the admin (carol): must succeed; the tool's answer.
    pub async fn ok(&self, tool: &str, args: Value) -> Value {
        let r = self.call("carol", tool, args.clone()).await;
        assert!(!r.is_error, "{tool} {args}: {}", r.text);
        r.structured.unwrap()["result"].clone()
    }

    /// Must fail; the error text.
    pub async fn err(&self, who: &str, tool: &str, args: Value) -> String {
        let r = self.call(who, tool, args.clone()).await;
        assert!(r.is_error, "{tool} {args} should fail: {}", r.text);
        r.text
    }

    pub fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Requests that reached the lab, task polling left out.
    pub fn tool_requests(&self) -> Vec<(String, String)> {
        self.lab
            .requests()
            .into_iter()
            .filter(|(_, p)| !p.contains("/tasks/"))
            .collect()
    }

    /// How many requests that change something reached the lab.
    pub fn writes(&self) -> usize {
        self.lab
            .requests()
            .iter()
            .filter(|(m, _)| m != "GET")
            .count()
    }
}
