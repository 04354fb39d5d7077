//! Two `portcullis serve --transport http` replicas and one Redis (Debian's
//! redis-server, with a password): a call parked on one is approved through
//! the other's admin API and runs where it was asked, once; rate limits are
//! one budget across both; a break-glass grant made on one applies on the
//! other until it ends. With Redis gone, nothing is parked, answered or
//! granted, and rate-limited tiers are refused (the default).
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;
#[path = "common/http.rs"]
mod harness;
#[path = "common/redis.rs"]
mod redis_server;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::{call, copy_policies, post, sha};
use redis_server::{RedisServer, PASSWORD};
use serde_json::{json, Value};

const AGENT_KEY: &str = "pcl_replicas_agent_0123456789abcdef0123456789abcdef";
const ERIN_KEY: &str = "pcl_replicas_erin_0123456789abcdef0123456789abcdef0";
const DAVE_KEY: &str = "pcl_replicas_dave_0123456789abcdef0123456789abcdef0";
const PASSWORD_ENV: &str = "PCL_TEST_REDIS_PASSWORD";

struct Replica {
    child: Child,
    url: String,
    base: String,
    log: PathBuf,
    socket: PathBuf,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replica `name` in `dir`: its own audit log and admin socket, the
/// shared policies and Redis.
fn replica(dir: &Path, name: &str, redis: &RedisServer, stateless: bool) -> Replica {
    let log = dir.join(format!("audit-{name}.jsonl"));
    let socket = dir.join(format!("admin-{name}.sock"));
    let config = format!(
        r#"
[server]
policies = "policies"
audit_log = "{log}"
admin_socket = "{socket}"

[[principals]]
id = "carol"
groups = ["admins"]

[[principals]]
id = "dave"
groups = ["admins"]

[rate_limits.read]
per_minute = 6
burst = 3

[http]
listen = "127.0.0.1:0"
stateless = {stateless}

[[http.api_keys]]
principal = "carol"
groups = ["admins"]
sha256 = "{agent}"

[[http.api_keys]]
principal = "erin"
groups = ["readers"]
sha256 = "{erin}"

[[http.approver_keys]]
principal = "dave"
sha256 = "{dave}"

{state}
"#,
        log = log.display(),
        socket = socket.display(),
        agent = sha(AGENT_KEY),
        erin = sha(ERIN_KEY),
        dave = sha(DAVE_KEY),
        state = redis.state_section("replicas", Some(PASSWORD_ENV)),
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["serve", "--transport", "http", "--lab-backend", "--config"])
        .arg(&path)
        .env(PASSWORD_ENV, PASSWORD)
        .env(redis_server::BINDING_KEY_ENV, redis_server::BINDING_KEY)
        .env("PORTCULLIS_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = BufReader::new(child.stderr.take().unwrap());
    let keep = stderr.clone();
    std::thread::spawn(move || {
        for line in lines.lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("portcullis: serving MCP at ") {
                let _ = tx.send(url.to_string());
            }
            keep.lock().unwrap().push_str(&line);
            keep.lock().unwrap().push('\n');
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("replica {name} did not start: {}", stderr.lock().unwrap()));
    Replica {
        child,
        base: url.trim_end_matches("/mcp").to_string(),
        url,
        log,
        socket,
        stderr,
    }
}

async fn tool(r: &Replica, key: &str, name: &str, args: Value) -> (bool, String) {
    let c = reqwest::Client::new();
    let reply = post(&c, &r.url, Some(key), None, &[], &call(7, name, args)).await;
    let result = reply.result().clone();
    (result["isError"] == json!(true), reply.text())
}

/// `portcullis break-glass grant`: erin becomes an operator for 10 minutes.
async fn grant_erin(r: &Replica, reason: &str) -> std::process::Output {
    common::admin_cli(
        "break-glass",
        &r.socket,
        &[
            "grant",
            "--principal",
            "erin",
            "--group",
            "operators",
            "--for",
            "10m",
            "--reason",
            reason,
        ],
    )
    .await
}

/// Whether `key`'s principal sees `name` in tools/list on `r`.
async fn sees(r: &Replica, key: &str, name: &str) -> bool {
    let c = reqwest::Client::new();
    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
    let reply = post(&c, &r.url, Some(key), None, &[], &list).await;
    reply.result()["tools"]
        .as_array()
        .is_some_and(|tools| tools.iter().any(|t| t["name"] == name))
}

fn approval_id(text: &str) -> String {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.starts_with("apr-"))
        .unwrap_or_else(|| panic!("no approval id in {text}"))
        .to_string()
}

/// Wait (5 s at most) until `f` holds.
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_approvals_rate_limits_and_grants_through_one_redis() {
    let mut redis = RedisServer::start(true, false);
    let dir = tempfile::tempdir().unwrap();
    copy_policies(&dir.path().join("policies"));
    std::fs::write(
        dir.path().join("policies/80-approve-lab.cedar"),
        common::approve_lab_rule(),
    )
    .unwrap();
    let a = replica(dir.path(), "a", &redis, true);
    let b = replica(dir.path(), "b", &redis, true);

    // Parked on A.
    let args = json!({"node": "pve1", "vmid": 100, "confirm": true});
    let (error, parked) = tool(&a, AGENT_KEY, "pve_stop_qemu_vm", args.clone()).await;
    assert!(
        error && parked.contains("Approval request apr-"),
        "{parked}"
    );
    let id = approval_id(&parked);

    // Approved through B's admin API.
    let http = reqwest::Client::new();
    let listed: Value = http
        .get(format!("{}/admin/api/approvals", b.base))
        .bearer_auth(DAVE_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["approvals"][0]["id"], id.as_str(), "{listed}");
    let approved = http
        .post(format!("{}/admin/api/approvals/{id}/approve", b.base))
        .bearer_auth(DAVE_KEY)
        .json(&json!({"reason": "CHG-11"}))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200, "{}", approved.text().await.unwrap());

    // Resumed on A, it runs; the same approval on B is spent.
    let resume = json!({"node": "pve1", "vmid": 100, "confirm": true, "approval_id": id});
    let (error, ran) = tool(&a, AGENT_KEY, "pve_stop_qemu_vm", resume.clone()).await;
    assert!(!error, "{ran}");
    let (error, again) = tool(&b, AGENT_KEY, "pve_stop_qemu_vm", resume).await;
    assert!(error && again.contains("used already"), "{again}");

    // One read budget (burst 3) across both replicas.
    for r in [&a, &b, &a] {
        let (error, text) = tool(r, AGENT_KEY, "pve_list_nodes", json!({})).await;
        assert!(!error, "{text}");
    }
    let (error, limited) = tool(&b, AGENT_KEY, "pve_list_nodes", json!({})).await;
    assert!(
        error && limited.contains("rate limit: carol may make 6 read-tier calls"),
        "{limited}"
    );

    // Break-glass granted on A's socket applies on B, and its end on A.
    assert!(sees(&b, ERIN_KEY, "pve_list_nodes").await);
    assert!(
        !sees(&b, ERIN_KEY, "pve_start_qemu_vm").await,
        "readers do not operate"
    );
    let granted = grant_erin(&a, "INC-5 runaway guest").await;
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );
    let grant_id = String::from_utf8_lossy(&granted.stdout)
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.starts_with("bg-"))
        .unwrap()
        .to_string();
    eventually("the grant applies on B", || {
        sees(&b, ERIN_KEY, "pve_start_qemu_vm")
    })
    .await;
    let ended = common::admin_cli("break-glass", &b.socket, &["end", &grant_id]).await;
    assert!(
        ended.status.success(),
        "{}",
        String::from_utf8_lossy(&ended.stderr)
    );
    eventually("the grant no longer applies on A", || async {
        !sees(&a, ERIN_KEY, "pve_start_qemu_vm").await
    })
    .await;

    // Redis gone: fail closed.
    redis.stop();
    let (error, refused) = tool(
        &a,
        AGENT_KEY,
        "pve_stop_qemu_vm",
        json!({"node": "pve1", "vmid": 102, "confirm": true}),
    )
    .await;
    assert!(
        error && refused.contains("approvals are unavailable"),
        "{refused}"
    );
    let list = http
        .get(format!("{}/admin/api/approvals", b.base))
        .bearer_auth(DAVE_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 503);
    let (error, limited) = tool(&b, ERIN_KEY, "pve_list_nodes", json!({})).await;
    assert!(
        error && limited.contains("shared rate-limit store cannot be reached"),
        "{limited}"
    );
    let granted = grant_erin(&a, "INC-6").await;
    assert!(!granted.status.success());
    assert!(String::from_utf8_lossy(&granted.stderr).contains("break-glass is unavailable"));

    // Each replica's own audit chain holds together; the password is nowhere.
    for r in [&a, &b] {
        common::assert_chain_verifies(&r.log);
        let everything = std::fs::read_to_string(&r.log).unwrap() + &r.stderr.lock().unwrap();
        assert!(!everything.contains(PASSWORD), "the Redis password leaked");
    }
    let a_records = common::audit_records(&a.log);
    assert!(a_records
        .iter()
        .any(|r| r["kind"] == "outcome" && r["approval"] == id.as_str() && r["outcome"] == "ok"));
    let b_records = common::audit_records(&b.log);
    assert!(b_records
        .iter()
        .any(|r| r["kind"] == "approval" && r["event"] == "approved"));
}

/// Sessions stay on the replica that opened them, but who owns one is
/// shared: another principal presenting its id to another replica is
/// refused and audited there; its owner is told to open one there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_id_is_its_owner_s_on_every_replica() {
    let redis = RedisServer::start(true, false);
    let dir = tempfile::tempdir().unwrap();
    copy_policies(&dir.path().join("policies"));
    let a = replica(dir.path(), "a", &redis, false);
    let b = replica(dir.path(), "b", &redis, false);
    let c = reqwest::Client::new();
    let opened = post(
        &c,
        &a.url,
        Some(AGENT_KEY),
        None,
        &[],
        &harness::initialize(),
    )
    .await;
    let session = opened.session().expect("a session on A");
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let n = post(&c, &a.url, Some(AGENT_KEY), Some(&session), &[], &note).await;
    assert_eq!(n.status, 202);
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    // Its owner, on A: served.
    let r = post(&c, &a.url, Some(AGENT_KEY), Some(&session), &[], &list).await;
    assert_eq!(r.status, 200);
    // Another principal, on B: refused as on A, and audited on B.
    eventually("B knows whose session it is", || async {
        post(&c, &b.url, Some(ERIN_KEY), Some(&session), &[], &list)
            .await
            .status
            == 403
    })
    .await;
    assert!(common::audit_records(&b.log)
        .iter()
        .any(|r| r["kind"] == "http_refused"
            && r["reason"] == "session_owner"
            && r["principal"] == "erin"));
    // Its owner, on B: told where it lives.
    let r = post(&c, &b.url, Some(AGENT_KEY), Some(&session), &[], &list).await;
    assert_eq!(r.status, 404);
    assert!(
        r.error().contains("held by another replica"),
        "{}",
        r.error()
    );
}

/// An approver signed in through one replica is signed in on every one,
/// and signed out everywhere: the page's sessions are in the shared store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_signed_in_on_one_replica_is_signed_in_on_all() {
    let redis = RedisServer::start(true, false);
    let dir = tempfile::tempdir().unwrap();
    copy_policies(&dir.path().join("policies"));
    let a = replica(dir.path(), "a", &redis, false);
    let b = replica(dir.path(), "b", &redis, false);
    let http = harness::page_client();
    let r = http
        .post(format!("{}/admin/login", a.base))
        .form(&[("key", DAVE_KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    let admin = |base: &str| format!("{base}/admin/");
    let on_b = harness::page(&http, &admin(&b.base), &cookie).await;
    assert!(
        on_b.contains("Signed in as <strong>dave</strong>"),
        "{on_b}"
    );
    // Signed out through B: A's page asks for a key again.
    let r = http
        .post(format!("{}/admin/logout", b.base))
        .header("cookie", &cookie)
        .form(&[("csrf", harness::page_csrf(&on_b).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let on_a = harness::page(&http, &admin(&a.base), &cookie).await;
    assert!(
        on_a.contains("Approver key") && !on_a.contains("Signed in as"),
        "{on_a}"
    );
}
