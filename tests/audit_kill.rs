//! `kill -9` in the middle of concurrent calls: the server runs as its own
//! process against the lab's Proxmox VE simulator, which runs here and so
//! outlives it. Every request that reached the backend must have a durable
//! decision record allowing it, and the chain must verify once the torn end
//! (if any) is set aside.
#![allow(clippy::unwrap_used, reason = "a test that cannot go on fails loudly")]

#[path = "common/http.rs"]
mod http;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{call, initialize, sha};
use portcullis::audit::{verify_file, AuditLog};
use portcullis::backends::pve::lab::Lab;
use secrecy::ExposeSecret;
use serde_json::Value;

const KEY: &str = "pcl_kill_test_key";
const CLIENTS: usize = 16;

async fn rpc(
    c: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: &Value,
) -> Option<(Option<String>, String)> {
    let mut req = c
        .post(url)
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .body(body.to_string());
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    let resp = req.send().await.ok()?;
    let sid = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    Some((sid, resp.text().await.ok()?))
}

/// Calls `pve_list_nodes` until the server goes away; how many answered.
async fn client(url: String, stop: Arc<AtomicBool>) -> usize {
    let c = reqwest::Client::new();
    let Some((Some(sid), _)) = rpc(&c, &url, None, &initialize()).await else {
        return 0;
    };
    let note = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    rpc(&c, &url, Some(&sid), &note).await;
    let mut answered = 0;
    for id in 2.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        match rpc(
            &c,
            &url,
            Some(&sid),
            &call(id, "pve_list_nodes", serde_json::json!({})),
        )
        .await
        {
            Some((_, text)) if text.contains("\"isError\":false") => answered += 1,
            Some(_) => {}
            None => break,
        }
    }
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_reaches_the_backend_without_a_durable_decision_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (mut labs, endpoints) = portcullis::lab::start_simulators(0.1).await.unwrap();
    let lab: Lab = labs.take().unwrap();
    let endpoint = endpoints.iter().find(|e| e.name == "lab").unwrap();
    let ca = dir.path().join("lab-ca.pem");
    std::fs::write(&ca, endpoint.ca_pem.as_ref().unwrap()).unwrap();
    let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/default");
    let audit = dir.path().join("audit.jsonl");
    let cfg = dir.path().join("portcullis.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\npolicies = {policies:?}\naudit_log = {audit:?}\n\n\
             [http]\nlisten = \"127.0.0.1:0\"\n\n\
             [[http.api_keys]]\nprincipal = \"loader\"\ngroups = [\"readers\"]\nsha256 = \"{}\"\n\n\
             [[endpoints]]\nname = \"lab\"\nbackend = \"pve\"\nurl = \"{}\"\ntoken_id = \"{}\"\n\
             token_secret_env = \"LAB_TOKEN_SECRET\"\nca_file = {ca:?}\n",
            sha(KEY),
            endpoint.url,
            endpoint.credentials.id(),
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["serve", "--transport", "http", "--config"])
        .arg(&cfg)
        .env(
            "LAB_TOKEN_SECRET",
            endpoint.credentials.secret().expose_secret(),
        )
        .env("PORTCULLIS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the server exited before listening")
            .unwrap();
        if let Some(url) = line.strip_prefix("portcullis: serving MCP at ") {
            break url.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(client(url.clone(), stop.clone())))
        .collect();
    // Kill while calls are in flight: wait until the backend has answered
    // a good number, then SIGKILL without warning.
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if nodes_requests(&lab) >= 200 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut answered = 0;
    for t in tasks {
        answered += t.await.unwrap();
    }
    // Whatever reached the lab reached it before the kill.
    let executed = nodes_requests(&lab);
    assert!(
        executed >= 200,
        "the load never got going: {executed} requests"
    );

    // Opening the log sets a torn last line aside, as `serve` would.
    drop(AuditLog::open(&audit).unwrap());
    let report = verify_file(&audit).unwrap_or_else(|e| panic!("chain broken after kill -9: {e}"));
    let records: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len() as u64, report.records);
    let allowed = records
        .iter()
        .filter(|r| {
            r["kind"] == "decision" && r["tool"] == "pve_list_nodes" && r["decision"] == "allow"
        })
        .count();
    let outcomes = records
        .iter()
        .filter(|r| r["kind"] == "outcome" && r["tool"] == "pve_list_nodes")
        .count();
    eprintln!(
        "kill -9 under load: {executed} requests reached the backend, {allowed} allow decisions and \
         {outcomes} outcomes durable, {answered} calls answered, {} records",
        report.records
    );
    assert!(
        executed <= allowed,
        "{executed} requests reached the backend but only {allowed} allow decisions are durable"
    );
    // Every call the clients saw answered has its outcome on disk too.
    assert!(
        answered <= outcomes,
        "{answered} calls answered, {outcomes} outcome records"
    );
    drop(labs);
}

fn nodes_requests(lab: &Lab) -> usize {
    lab.requests()
        .iter()
        .filter(|(m, p)| m == "GET" && p.ends_with("/nodes"))
        .count()
}
