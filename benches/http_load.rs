//! A bounded load test of `portcullis serve --transport http`: loopback
//! only, a fixed number of calls, stops by itself.
//!
//! Starts the server binary against the embedded lab cluster, once with the
//! audit log on disk and once on tmpfs, and for each client count in
//! `BENCH_CLIENTS` (default `16,64`) runs `BENCH_ROUNDS` rounds in which
//! that many concurrent clients each open a session (API key), make
//! `BENCH_CALLS` tool calls, and close it. Prints calls per second and
//! latency percentiles per round, the server's resident memory, and the
//! medians with disk as a share of tmpfs. Exits non-zero if any call fails
//! or memory keeps growing after the first round; the figures themselves
//! are never asserted (these machines are noisy).
//!
//!   cargo bench --bench http_load
//!   BENCH_CLIENTS=32 BENCH_CALLS=200 cargo bench --bench http_load
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const KEY: &str = "pcl_load_test_key";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path) -> Server {
    let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/default");
    let sha = hex::encode(portcullis::auth::apikey::digest(KEY));
    let cfg = dir.join("portcullis.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\npolicies = {policies:?}\naudit_log = \"audit.jsonl\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\
             max_connections = 1024\n\n[[http.api_keys]]\nprincipal = \"loadtest\"\ngroups = [\"readers\"]\nsha256 = \"{sha}\"\n"
        ),
    )
    .expect("write config");
    // BENCH_BIN runs another build (an earlier commit's) for a before/after
    // in one run.
    let bin =
        std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_portcullis").into());
    let mut child = Command::new(bin)
        .args(["serve", "--transport", "http", "--lab-backend", "--config"])
        .arg(&cfg)
        .env("PORTCULLIS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start portcullis");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("portcullis: serving MCP at ") => {
                break l.rsplit(' ').next().unwrap_or_default().to_string()
            }
            Some(_) => {}
            None => panic!("the server exited before listening"),
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, url }
}

/// Resident memory of a process, in KiB (Linux).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn rpc(
    c: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: Value,
) -> Result<(Option<String>, Value), String> {
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
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let sid = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {text}"));
    }
    let v = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .chain(std::iter::once(text.as_str()))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or(Value::Null);
    Ok((sid, v))
}

/// One client: a session, `calls` tool calls, then DELETE. Returns the
/// latency of each call, or the first error.
async fn client(url: String, calls: usize) -> Result<Vec<Duration>, String> {
    let c = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "load", "version": "1"}}});
    let (sid, _) = rpc(&c, &url, None, init).await?;
    let sid = sid.ok_or("no session id")?;
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    rpc(&c, &url, Some(&sid), note).await?;
    let mut took = Vec::with_capacity(calls);
    for i in 0..calls {
        let call = json!({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                          "params": {"name": "pve_list_nodes", "arguments": {}}});
        let t = Instant::now();
        let (_, v) = rpc(&c, &url, Some(&sid), call).await?;
        took.push(t.elapsed());
        if v["result"]["isError"] != json!(false) {
            return Err(format!("call {i} failed: {v}"));
        }
    }
    c.delete(&url)
        .bearer_auth(KEY)
        .header("mcp-session-id", &sid)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(took)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What one server did over its rounds at one client count.
struct Series {
    rates: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    failures: usize,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn rounds(
    server: &Server,
    place: &str,
    clients: usize,
    calls: usize,
    n: usize,
    rss: &mut Vec<u64>,
) -> Series {
    let pid = server.child.id();
    let mut s = Series {
        rates: Vec::new(),
        p50: Vec::new(),
        p99: Vec::new(),
        failures: 0,
    };
    for round in 1..=n {
        let t = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| tokio::spawn(client(server.url.clone(), calls)))
            .collect();
        let mut lat = Vec::new();
        for task in tasks {
            match task.await {
                Ok(Ok(l)) => lat.extend(l),
                Ok(Err(e)) => {
                    s.failures += 1;
                    eprintln!("client failed: {e}");
                }
                Err(e) => {
                    s.failures += 1;
                    eprintln!("client panicked: {e}");
                }
            }
        }
        let wall = t.elapsed();
        lat.sort();
        // Let closed sessions wind down before sampling memory.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = rss_kib(pid);
        rss.push(r);
        if lat.is_empty() {
            println!("{place:<6} {clients:>7}  {round:>5}  no successful calls");
            continue;
        }
        let rate = lat.len() as f64 / wall.as_secs_f64();
        let (p50, p99) = (ms(percentile(&lat, 0.5)), ms(percentile(&lat, 0.99)));
        s.rates.push(rate);
        s.p50.push(p50);
        s.p99.push(p99);
        println!(
            "{place:<6} {clients:>7}  {round:>5}  {rate:>7.0}  {p50:>7.2}  {:>7.2}  {p99:>7.2}  {:>7.2}  {:>8.1}",
            ms(percentile(&lat, 0.9)),
            ms(*lat.last().unwrap_or(&Duration::ZERO)),
            r as f64 / 1024.0
        );
    }
    s
}

/// Where the audit log goes: a directory on the disk the machine boots
/// from (fsync reaches the device), and tmpfs (fsync is free), so one run
/// shows what durability costs.
fn placements() -> Vec<(&'static str, tempfile::TempDir)> {
    let mut out = vec![(
        "disk",
        tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir on disk"),
    )];
    match tempfile::tempdir_in("/dev/shm") {
        Ok(d) => out.push(("tmpfs", d)),
        Err(e) => eprintln!("no tmpfs at /dev/shm ({e}): disk only"),
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let client_counts: Vec<usize> = std::env::var("BENCH_CLIENTS")
        .unwrap_or_else(|_| "16,64".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let calls = env_usize("BENCH_CALLS", 100);
    let n = env_usize("BENCH_ROUNDS", 5).max(2);
    println!(
        "http load: {client_counts:?} concurrent clients x {calls} calls (pve_list_nodes, API key, sessions), {n} rounds each; \
         the audit log fsync'd on disk and on tmpfs"
    );
    println!("audit  clients  round  calls/s   p50 ms   p90 ms   p99 ms   max ms   server RSS MiB");
    let mut failed = false;
    let mut summary = Vec::new();
    for (place, dir) in placements() {
        let server = start(dir.path());
        for &clients in &client_counts {
            let mut rss = Vec::new();
            let s = rounds(&server, place, clients, calls, n, &mut rss).await;
            if s.failures > 0 || s.rates.is_empty() {
                eprintln!(
                    "FAILED: {place}, {clients} clients: {} client(s) failed",
                    s.failures
                );
                failed = true;
            } else {
                summary.push((
                    place,
                    clients,
                    median(&s.rates),
                    median(&s.p50),
                    median(&s.p99),
                ));
            }
            // Growth check: allocator slack is fine, a leak per call is
            // not. After the first round at a client count the server has
            // reached its working set; later rounds make the same calls
            // again and must not keep climbing.
            let growing = rss.windows(2).skip(1).all(|w| w[1] > w[0]);
            let grown = rss[rss.len() - 1] as f64 > rss[0] as f64 * 1.25 + 4096.0;
            println!(
                "{place}, {clients} clients: RSS after round 1: {:.1} MiB, after the last: {:.1} MiB ({:+.1}%)",
                rss[0] as f64 / 1024.0,
                rss[rss.len() - 1] as f64 / 1024.0,
                (rss[rss.len() - 1] as f64 / rss[0].max(1) as f64 - 1.0) * 100.0
            );
            if growing && grown {
                eprintln!(
                    "FAILED: {place}, {clients} clients: server memory grows round after round"
                );
                failed = true;
            }
        }
    }
    println!("\nmedians over {n} rounds");
    println!("audit  clients  calls/s   p50 ms   p99 ms   disk/tmpfs calls/s");
    for &(place, clients, rate, p50, p99) in &summary {
        let ratio = summary
            .iter()
            .find(|s| s.0 == "tmpfs" && s.1 == clients)
            .filter(|_| place == "disk")
            .map_or(String::new(), |t| format!("{:.0}%", rate / t.2 * 100.0));
        println!("{place:<6} {clients:>7}  {rate:>7.0}  {p50:>7.2}  {p99:>7.2}   {ratio}");
    }
    if failed {
        std::process::exit(1);
    }
}
