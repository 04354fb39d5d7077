//! The gate's own cost per call: validate + resolve + authorize (+ the
//! durable decision record), with the backend excluded.
//!
//! Run with `cargo bench --bench gate`. Figures are medians over several
//! runs because these machines are noisy; `BENCH_RUNS` and `BENCH_CALLS`
//! override the defaults.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::audit::AuditLog;
use portcullis::backends::Backends;
use portcullis::catalog::Catalog;
use portcullis::config::Endpoint;
use portcullis::gate::records::{self, Ids};
use portcullis::gate::verdict::DecisionKind;
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate};
use portcullis::lab;
use portcullis::policy::{AuthzInput, PolicyEngine, PolicySource};
use portcullis::principal::Principal;
use serde_json::{json, Value};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn backends() -> Backends {
    Backends::new(&[Endpoint::placeholder("lab", true, true)]).unwrap()
}

/// `n` policies in the shapes an organisation accumulates: per-user grants
/// on one tool, per-team tier grants, per-user forbids, and per-team grants
/// with a condition on the arguments. Spread over every tool and over many
/// principals, so most of them cannot apply to any one request.
fn generated(n: usize, catalog: &Catalog) -> Vec<PolicySource> {
    let tools: Vec<&str> = catalog.tools().iter().map(|t| t.name).collect();
    let tiers = ["tier:read", "tier:operate", "tier:change", "tier:admin"];
    let mut text = String::new();
    for i in 0..n {
        let tool = tools[i % tools.len()];
        let p = match i % 4 {
            0 => format!(
                "permit (principal == User::\"user{i}\", action == Action::\"{tool}\", resource in Endpoint::\"lab\") when {{ context.time.hour >= 6 }};"
            ),
            1 => format!(
                "permit (principal in Group::\"team{i}\", action in Action::\"{}\", resource);",
                tiers[i % tiers.len()]
            ),
            2 => format!(
                "forbid (principal == User::\"user{i}\", action in Action::\"destructive\", resource);"
            ),
            _ => format!(
                "permit (principal in Group::\"team{i}\", action == Action::\"pve_stop_qemu_vm\", resource) when {{ context.args.vmid == {i} }};"
            ),
        };
        text.push_str(&p);
        text.push('\n');
    }
    let mut sources = lab::default_policies();
    sources.push(PolicySource {
        name: "generated.cedar".into(),
        text,
    });
    sources
}

struct Scenario {
    caller: Caller,
    tool: &'static str,
    args: Value,
}

fn scenarios() -> Vec<Scenario> {
    let caller =
        |id: &str, group: &str| Caller::stdio(Principal::new(id, [group, "team3", "team7"]));
    vec![
        Scenario {
            caller: caller("bob", "operators"),
            tool: "pve_stop_qemu_vm",
            args: json!({"node": "pve1", "vmid": 101, "wait": false, "confirm": true}),
        },
        Scenario {
            caller: caller("alice", "readers"),
            tool: "pve_list_qemu_vms",
            args: json!({"node": "pve1"}),
        },
        Scenario {
            caller: caller("carol", "admins"),
            tool: "pve_delete_qemu_snapshot",
            args: json!({"node": "pve2", "vmid": 102, "snapname": "before-upgrade", "confirm": true}),
        },
    ]
}

/// Median of `runs` runs, each the mean cost of `calls` iterations of `f`.
fn median_per_call(runs: usize, calls: usize, mut f: impl FnMut(usize)) -> Duration {
    for i in 0..calls.min(50) {
        f(i); // warm caches (policy slices, allocator)
    }
    let mut per_call: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            for i in 0..calls {
                f(i);
            }
            t.elapsed() / calls as u32
        })
        .collect();
    per_call.sort();
    per_call[per_call.len() / 2]
}

/// Median over `runs` of the ratio b/a, each run timing `a` and then `b`
/// back to back: the machine's speed drifts between phases of a run (two
/// phases a minute apart can differ by half), far less within one pair.
fn paired_ratio(
    runs: usize,
    (calls_a, mut a): (usize, impl FnMut(usize)),
    (calls_b, mut b): (usize, impl FnMut(usize)),
) -> f64 {
    let time = |calls: usize, f: &mut dyn FnMut(usize)| {
        let t = Instant::now();
        for i in 0..calls {
            f(i);
        }
        t.elapsed().as_secs_f64() / calls as f64
    };
    time(calls_a.min(50), &mut a);
    time(calls_b.min(50), &mut b);
    let mut ratios: Vec<f64> = (0..runs)
        .map(|_| {
            let ta = time(calls_a, &mut a);
            time(calls_b, &mut b) / ta
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:>9.2} ms", us / 1000.0)
    } else {
        format!("{us:>9.1} µs")
    }
}

fn main() {
    let runs = env_usize("BENCH_RUNS", 7);
    let calls = env_usize("BENCH_CALLS", 2000);
    let catalog = Catalog::builtin();
    let scenarios = scenarios();
    let disk_dir = tempfile::tempdir().unwrap();
    let shm_dir = tempfile::tempdir_in("/dev/shm").ok();

    println!("gate cost per call, backend excluded: median of {runs} runs, mean within each run");
    println!("(3 requests in rotation: operator stop, reader list, admin confirmed delete)\n");
    println!(
        "{:>8} {:>13} {:>10} {:>13} {:>13} {:>7} {:>13} {:>13} {:>13}",
        "policies",
        "bare Cedar",
        "gate/bare",
        "authz sliced",
        "authz whole",
        "ratio",
        "gate (no log)",
        "gate+log tmpfs",
        "gate+log disk"
    );
    // `BENCH_EXTRA=0,1000` runs only those sizes (e.g. under a profiler).
    let sizes: Vec<usize> = std::env::var("BENCH_EXTRA")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![0, 1_000, 10_000]);
    for extra in sizes {
        let sources = if extra == 0 {
            lab::default_policies()
        } else {
            generated(extra, &catalog)
        };
        let engine = PolicyEngine::from_sources(&sources, &catalog).expect("policies validate");
        let total = engine.len();
        let gate = Gate::new(Catalog::builtin(), engine, None, backends());
        let engine = gate.policies();
        let prepared: Vec<_> = scenarios
            .iter()
            .map(|s| {
                let req = CallRequest {
                    tool: s.tool,
                    args: Some(&s.args),
                    confirmation: Confirmation::None,
                    confirms: None,
                };
                let p = gate.prepare(&s.caller, &req).expect("scenario prepares");
                assert!(p.decision.allowed, "{} should be allowed", s.tool);
                p
            })
            .collect();
        let input = |i: usize| {
            let (s, p) = (&scenarios[i % 3], &prepared[i % 3]);
            AuthzInput {
                principal: &s.caller.principal,
                action: p.tool.name,
                resources: &p.resources,
                context: &p.context,
            }
        };
        // The slice must agree with the whole set, here as in the tests.
        for i in 0..3 {
            let sliced = engine.authorize(&input(i)).unwrap();
            let whole = engine.authorize_unsliced(&input(i)).unwrap();
            assert_eq!(sliced.allowed, whole.allowed);
            assert_eq!(sliced.policies, whole.policies);
        }
        // Bare Cedar: the request and entities built beforehand, the whole
        // set evaluated, nothing else.
        let parts: Vec<_> = (0..3)
            .map(|i| engine.cedar_parts(&input(i)).unwrap())
            .collect();
        let authorizer = cedar_policy::Authorizer::new();
        for (i, (req, ents, set)) in parts.iter().enumerate() {
            let d = authorizer.is_authorized(req, set, ents).decision();
            assert_eq!(
                d == cedar_policy::Decision::Allow,
                prepared[i].decision.allowed
            );
        }
        let bare_calls = (calls * 200 / (total + 200)).max(10);
        let bare = median_per_call(runs, bare_calls, |i| {
            let (req, ents, set) = &parts[i % 3];
            std::hint::black_box(authorizer.is_authorized(req, set, ents));
        });
        let sliced = median_per_call(runs, calls, |i| {
            std::hint::black_box(engine.authorize(&input(i)).unwrap());
        });
        // The whole set costs milliseconds at 10,000 policies: fewer calls.
        let whole_calls = (calls * 200 / (total + 200)).max(10);
        let whole = median_per_call(runs, whole_calls, |i| {
            std::hint::black_box(engine.authorize_unsliced(&input(i)).unwrap());
        });
        let prepare = |i: usize| {
            let s = &scenarios[i % 3];
            let req = CallRequest {
                tool: s.tool,
                args: Some(&s.args),
                confirmation: Confirmation::None,
                confirms: None,
            };
            gate.prepare(&s.caller, &req).unwrap()
        };
        let gate_only = median_per_call(runs, calls, |i| {
            std::hint::black_box(prepare(i));
        });
        let gate_over_bare = paired_ratio(
            runs,
            (bare_calls, |i| {
                let (req, ents, set) = &parts[i % 3];
                std::hint::black_box(authorizer.is_authorized(req, set, ents));
            }),
            (calls, |i| {
                std::hint::black_box(prepare(i));
            }),
        );
        let with_log = |dir: &std::path::Path, calls: usize| {
            let log = Arc::new(AuditLog::open(&dir.join(format!("audit-{extra}.jsonl"))).unwrap());
            median_per_call(runs, calls, |i| {
                let p = prepare(i);
                let ids = Ids {
                    call: "0123456789abcdef",
                    confirms: None,
                    approval: None,
                };
                let rec = records::decision(
                    &ids,
                    &scenarios[i % 3].caller,
                    &p,
                    DecisionKind::Allow,
                    None,
                );
                log.append(serde_json::to_value(&rec).unwrap()).unwrap();
            })
        };
        let tmpfs = shm_dir
            .as_ref()
            .map(|d| fmt(with_log(d.path(), calls)))
            .unwrap_or_else(|| "n/a".into());
        let disk = with_log(disk_dir.path(), (calls / 10).max(20));
        println!(
            "{:>8} {:>13} {:>9}x {:>13} {:>13} {:>6.0}x {:>13} {:>14} {:>13}",
            total,
            fmt(bare),
            if gate_over_bare < 0.1 {
                format!("{gate_over_bare:.4}")
            } else {
                format!("{gate_over_bare:.1}")
            },
            fmt(sliced),
            fmt(whole),
            whole.as_secs_f64() / sliced.as_secs_f64(),
            fmt(gate_only),
            tmpfs,
            fmt(disk),
        );
    }
    println!("\nbare Cedar: Authorizer::is_authorized on a request and entities built beforehand, whole set.");
    println!("gate/bare: the median of ratios, each from the two timed back to back (not the columns' quotient).");
    println!("authz: Cedar request build + evaluation. gate: validate + resolve + authorize.");
    println!("+log: the decision record hashed, chained, written and fsync'd (sync_data) before returning.");
}
