//! Counters and a latency histogram in Prometheus' text format. Written by
//! hand: a handful of series does not justify a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the call latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Series {
    /// (tool, result) → calls.
    calls: BTreeMap<(String, String), u64>,
    latency: Histogram,
    /// (endpoint, kind) → backend errors.
    backend_errors: BTreeMap<(String, String), u64>,
    /// tier → calls refused by a rate limit.
    rate_limited: BTreeMap<String, u64>,
    /// reason → refused HTTP requests (unauthenticated, origin, …).
    http_refused: BTreeMap<String, u64>,
    /// tool → calls the candidate policy set decides differently.
    shadow_disagreements: BTreeMap<String, u64>,
    /// (what, result) → reloads of policies or the TLS certificate.
    reloads: BTreeMap<(String, String), u64>,
    /// Calls made under a break-glass grant.
    break_glass_calls: u64,
    /// event (start, end) → break-glass grants.
    break_glass_grants: BTreeMap<String, u64>,
}

#[derive(Default)]
pub struct Metrics {
    series: Mutex<Series>,
}

/// Label values come from the catalog and configuration, but escape them
/// anyway: the format breaks on a stray quote or newline.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, key: K) {
    *map.entry(key).or_insert(0) += 1;
}

impl Metrics {
    fn with(&self, f: impl FnOnce(&mut Series)) {
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
    }

    /// One finished call (every call ends in exactly one result).
    pub fn call(&self, tool: &str, result: &str, took: Duration) {
        let secs = took.as_secs_f64();
        self.with(|s| {
            bump(&mut s.calls, (tool.to_string(), result.to_string()));
            let h = &mut s.latency;
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        });
    }

    pub fn backend_error(&self, endpoint: &str, kind: &str) {
        self.with(|s| bump(&mut s.backend_errors, (endpoint.into(), kind.into())));
    }

    pub fn rate_limited(&self, tier: &str) {
        self.with(|s| bump(&mut s.rate_limited, tier.into()));
    }

    pub fn shadow_disagreement(&self, tool: &str) {
        self.with(|s| bump(&mut s.shadow_disagreements, tool.into()));
    }

    pub fn break_glass_call(&self) {
        self.with(|s| s.break_glass_calls += 1);
    }

    /// `event` is `start` or `end`.
    pub fn break_glass_grant(&self, event: &str) {
        self.with(|s| bump(&mut s.break_glass_grants, event.into()));
    }

    pub fn http_refused(&self, reason: &str) {
        self.with(|s| bump(&mut s.http_refused, reason.into()));
    }

    /// `what` is `policies` or `tls`; `result` is `applied` or `refused`.
    pub fn reload(&self, what: &str, result: &str) {
        self.with(|s| bump(&mut s.reloads, (what.into(), result.into())));
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        let mut family = |name: &str, help: &str, kind: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            "portcullis_calls_total",
            "Tool calls by tool and result (ok, deny, invalid, backend_error, rate_limited, ...).",
            "counter",
        );
        for ((tool, result), n) in &s.calls {
            let _ = writeln!(
                out,
                "portcullis_calls_total{{tool=\"{}\",result=\"{}\"}} {n}",
                label(tool),
                label(result)
            );
        }
        let _ = writeln!(out, "# HELP portcullis_call_duration_seconds Time from request to result, backend included.\n# TYPE portcullis_call_duration_seconds histogram");
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "portcullis_call_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                s.latency.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "portcullis_call_duration_seconds_bucket{{le=\"+Inf\"}} {c}\nportcullis_call_duration_seconds_sum {}\nportcullis_call_duration_seconds_count {c}",
            s.latency.sum,
            c = s.latency.count
        );
        let mut simple = |name: &str, help: &str, key: &str, map: &BTreeMap<String, u64>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (k, n) in map {
                let _ = writeln!(out, "{name}{{{key}=\"{}\"}} {n}", label(k));
            }
        };
        simple(
            "portcullis_rate_limited_total",
            "Calls refused by a per-principal rate limit, by tier.",
            "tier",
            &s.rate_limited,
        );
        simple(
            "portcullis_shadow_disagreements_total",
            "Calls the candidate (shadow) policy set decides differently from the live one, by tool.",
            "tool",
            &s.shadow_disagreements,
        );
        simple(
            "portcullis_break_glass_grants_total",
            "Break-glass grants started and ended.",
            "event",
            &s.break_glass_grants,
        );
        simple(
            "portcullis_http_refused_total",
            "HTTP requests refused before reaching MCP, by reason.",
            "reason",
            &s.http_refused,
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_break_glass_calls_total Calls made under a break-glass grant.\n# TYPE portcullis_break_glass_calls_total counter\nportcullis_break_glass_calls_total {}",
            s.break_glass_calls
        );
        let mut pairs =
            |name: &str, help: &str, keys: (&str, &str), map: &BTreeMap<(String, String), u64>| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for ((a, b), n) in map {
                    let _ = writeln!(
                        out,
                        "{name}{{{}=\"{}\",{}=\"{}\"}} {n}",
                        keys.0,
                        label(a),
                        keys.1,
                        label(b)
                    );
                }
            };
        pairs(
            "portcullis_reloads_total",
            "Reloads of policies or the TLS certificate, by result (applied, refused).",
            ("what", "result"),
            &s.reloads,
        );
        pairs(
            "portcullis_backend_errors_total",
            "Backend failures by endpoint and kind.",
            ("endpoint", "kind"),
            &s.backend_errors,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.call("pve_list_nodes", "ok", Duration::from_millis(3));
        m.call("pve_list_nodes", "ok", Duration::from_millis(40));
        m.call("pve_stop_qemu_vm", "deny", Duration::from_micros(200));
        m.backend_error("pve-prod", "timeout");
        m.rate_limited("operate");
        m.http_refused("unauthenticated");
        m.reload("policies", "refused");
        let text = m.render();
        assert!(text.contains("portcullis_calls_total{tool=\"pve_list_nodes\",result=\"ok\"} 2"));
        assert!(
            text.contains("portcullis_calls_total{tool=\"pve_stop_qemu_vm\",result=\"deny\"} 1")
        );
        assert!(text.contains("portcullis_call_duration_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("portcullis_call_duration_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("portcullis_call_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("portcullis_call_duration_seconds_count 3"));
        assert!(text
            .contains("portcullis_backend_errors_total{endpoint=\"pve-prod\",kind=\"timeout\"} 1"));
        assert!(text.contains("portcullis_rate_limited_total{tier=\"operate\"} 1"));
        assert!(text.contains("portcullis_http_refused_total{reason=\"unauthenticated\"} 1"));
        assert!(text.contains("portcullis_reloads_total{what=\"policies\",result=\"refused\"} 1"));
        assert_eq!(label("a\"b\nc"), "a\\\"b\\nc");
    }
}
