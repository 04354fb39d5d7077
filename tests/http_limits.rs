//! The HTTP front door under abuse: malformed and batched JSON-RPC, browser
//! origins on a loopback listener, and one principal flooding sessions and
//! event streams while another keeps working. In process, real sockets,
//! the embedded lab as backend (the shared HTTP harness).
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use std::time::Instant;

use serde_json::{json, Value};

#[path = "common/http.rs"]
mod harness;
use harness::{initialize, post, start, Options, Server, ALICE_KEY, BOB_KEY};

/// An operator who keeps working.
const BOB: &str = BOB_KEY;
/// A reader who floods.
const MALLORY: &str = ALICE_KEY;

/// A server whose `[http]` section has these extra lines.
async fn start_with(http: &'static str) -> Server {
    start(Options {
        http,
        ..Options::default()
    })
    .await
}

/// A POST of a raw body (possibly not JSON at all).
fn raw_post(
    s: &Server,
    c: &reqwest::Client,
    key: &str,
    session: Option<&str>,
    body: String,
) -> reqwest::RequestBuilder {
    let mut req = c
        .post(&s.url)
        .bearer_auth(key)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .body(body);
    if let Some(session) = session {
        req = req.header("mcp-session-id", session);
    }
    req
}

/// Only the `initialize` request; `Err(status)` when refused.
async fn initialize_only(s: &Server, c: &reqwest::Client, key: &str) -> Result<String, u16> {
    let r = post(c, &s.url, Some(key), None, &[], &initialize()).await;
    match (r.status, r.session()) {
        (200, Some(id)) => Ok(id),
        (status, _) => Err(status),
    }
}

/// The `initialized` notification of a session.
async fn initialized(s: &Server, c: &reqwest::Client, key: &str, id: &str) {
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let n = post(c, &s.url, Some(key), Some(id), &[], &note).await;
    assert_eq!(n.status, 202);
}

/// One `pve_list_nodes` call on a session: its `isError`.
async fn list_nodes(s: &Server, c: &reqwest::Client, key: &str, session: &str) -> Value {
    let r = s
        .tool(c, Some(key), Some(session), "pve_list_nodes", json!({}))
        .await;
    assert_eq!(r.status, 200);
    r.result()["isError"].clone()
}

#[tokio::test]
async fn malformed_json_and_batches_get_400_with_a_json_rpc_error_and_are_audited() {
    let s = start_with("").await;
    let c = reqwest::Client::new();
    let session = s.session(&c, BOB).await.unwrap();
    for (body, code, reason) in [
        (
            "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\":",
            -32700,
            "malformed_json",
        ),
        (
            "[{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"ping\"}]",
            -32600,
            "batch",
        ),
        ("42", -32600, "not_a_message"),
    ] {
        let r = raw_post(&s, &c, BOB, Some(&session), body.into())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["jsonrpc"], "2.0");
        assert_eq!(answer["error"]["code"], code, "{answer}");
        assert_eq!(s.refused(reason).len(), 1, "{reason} audited");
    }
    // The session still works.
    let ok = list_nodes(&s, &c, BOB, &session).await;
    assert_eq!(ok, false, "{ok}");
    s.shutdown().await;
}

#[tokio::test]
async fn loopback_origins_are_accepted_on_a_loopback_listener_and_foreign_ones_refused() {
    let s = start_with("").await;
    let c = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "origin-test", "version": "1"}}});
    let with_origin = |origin: &'static str| {
        raw_post(&s, &c, BOB, None, init.to_string())
            .header("origin", origin)
            .send()
    };
    for origin in [
        "http://localhost:8080",
        "http://127.0.0.1:6274",
        "http://[::1]:3000",
    ] {
        let r = with_origin(origin).await.unwrap();
        assert_eq!(r.status(), 200, "{origin}");
    }
    for origin in [
        "http://evil.example",
        "http://localhost.evil.example:8080",
        "null",
    ] {
        let r = with_origin(origin).await.unwrap();
        assert_eq!(r.status(), 403, "{origin}");
    }
    s.shutdown().await;

    // An explicit list is the whole list.
    let s = start_with("allowed_origins = [\"https://console.example.org\"]").await;
    let r = raw_post(&s, &c, BOB, None, init.to_string())
        .header("origin", "http://localhost:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    s.shutdown().await;
}

/// Resident memory of this process (the server runs in it), in MiB.
fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096.0 / (1024.0 * 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_principal_flooding_sessions_and_streams_cannot_starve_another() {
    const SESSIONS_EACH: usize = 8;
    const STREAMS_EACH: usize = 4;
    const FLOOD: usize = 2_048;
    let limits = format!(
        "max_sessions = 32\nmax_sessions_per_principal = {SESSIONS_EACH}\nmax_streams_per_principal = {STREAMS_EACH}\nmax_connections = 64"
    );
    let s = std::sync::Arc::new(start_with(Box::leak(limits.into_boxed_str())).await);
    let c = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    // Bob's session exists before the flood and must survive it.
    let bob_session = s.session(&c, BOB).await.unwrap();
    let rss_before = rss_mib();

    // Mallory: FLOOD session attempts, 32 at a time.
    let started = Instant::now();
    let mut mallory_sessions = Vec::new();
    let mut refused_429 = 0;
    let mut other = Vec::new();
    for chunk in 0..FLOOD / 32 {
        let mut attempts = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let (s, c) = (s.clone(), c.clone());
            attempts.spawn(async move { initialize_only(&s, &c, MALLORY).await });
        }
        for r in attempts.join_all().await {
            match r {
                Ok(id) => mallory_sessions.push(id),
                Err(429) => refused_429 += 1,
                Err(code) => other.push((chunk, code)),
            }
        }
    }
    let flood_secs = started.elapsed().as_secs_f64();
    for id in &mallory_sessions {
        initialized(&s, &c, MALLORY, id).await;
    }
    assert_eq!(mallory_sessions.len(), SESSIONS_EACH);
    assert_eq!(refused_429, FLOOD / 32 * 32 - SESSIONS_EACH, "{other:?}");
    assert!(other.is_empty(), "{other:?}");
    // Refused for holding too many sessions, or too many requests in
    // flight at once; every refusal audited.
    let audited = s.refused("session_limit").len() + s.refused("stream_limit").len();
    assert_eq!(audited, refused_429, "every refusal is audited");
    assert!(!s.refused("session_limit").is_empty());

    // Mallory holds event streams open on every session: only some fit.
    let mut held = Vec::new();
    let mut streams_429 = 0;
    for id in &mallory_sessions {
        let r = c
            .get(&s.url)
            .bearer_auth(MALLORY)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", "2025-06-18")
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            200 => held.push(r),
            429 => streams_429 += 1,
            other => panic!("GET stream: {other}"),
        }
    }
    assert_eq!(held.len(), STREAMS_EACH);
    assert_eq!(streams_429, SESSIONS_EACH - STREAMS_EACH);
    assert!(!s.refused("stream_limit").is_empty());

    // Meanwhile bob works: every call succeeds, on his old session and a
    // new one; health and metrics answer.
    let bob_new = s
        .session(&c, BOB)
        .await
        .expect("bob may still open a session");
    let calls = 40;
    let t = Instant::now();
    for i in 0..calls {
        let session = if i % 2 == 0 { &bob_session } else { &bob_new };
        let r = list_nodes(&s, &c, BOB, session).await;
        assert_eq!(r, false, "call {i}: {r}");
    }
    let bob_rate = calls as f64 / t.elapsed().as_secs_f64();
    let health = c.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = c.get(format!("{}/readyz", s.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let rss_after = rss_mib();
    eprintln!(
        "flood: {FLOOD} session attempts by one principal in {flood_secs:.1} s ({} opened, {refused_429} refused with 429), \
         {} streams held; other principal: {calls} calls, all ok, {bob_rate:.0} calls/s; \
         test process RSS {rss_before:.1} MiB before, {rss_after:.1} MiB after",
        mallory_sessions.len(),
        held.len()
    );
    // Bounded: a few MiB, not the ~95 KiB per session of an unbounded table.
    assert!(
        rss_after - rss_before < 64.0,
        "memory grew by {:.1} MiB under the flood",
        rss_after - rss_before
    );
    drop(held);
    if let Ok(s) = std::sync::Arc::try_unwrap(s) {
        s.shutdown().await;
    }
}

/// `portcullis health` (the container's health check) says whether the
/// listener answers /healthz, by its exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_command_tells_up_from_down() {
    let s = start(Options::default()).await;
    let health = |url: String| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
        cmd.args(["health", "--url", &url]);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let up = health(format!("{}/healthz", s.base)).await.unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stdout)
    );
    let wrong = health(format!("{}/nothing-here", s.base)).await.unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stdout).contains("404"));
    let addr = s.addr.clone();
    s.shutdown().await;
    let down = health(format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stdout).starts_with("unhealthy"));
}
