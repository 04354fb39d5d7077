//! The embedded default: every backend's simulator in process (see
//! `backends::registry`), the default policy bundle compiled in, and three
//! principals to try it with.

use std::path::Path;

use crate::backends::registry::{DemoStep, Simulator, PLUGS};
use crate::config::{Config, Endpoint};
use crate::policy::PolicySource;
use crate::principal::Principal;

/// The default bundle, as shipped in `policies/default`.
pub const DEFAULT_POLICIES: [(&str, &str); 5] = [
    (
        "00-readers.cedar",
        include_str!("../policies/default/00-readers.cedar"),
    ),
    (
        "10-operators.cedar",
        include_str!("../policies/default/10-operators.cedar"),
    ),
    (
        "20-admins.cedar",
        include_str!("../policies/default/20-admins.cedar"),
    ),
    (
        "90-confirm-destructive.cedar",
        include_str!("../policies/default/90-confirm-destructive.cedar"),
    ),
    (
        "95-four-eyes.cedar",
        include_str!("../policies/default/95-four-eyes.cedar"),
    ),
];

pub fn default_policies() -> Vec<PolicySource> {
    DEFAULT_POLICIES
        .iter()
        .map(|(n, t)| PolicySource {
            name: format!("default/{n}"),
            text: t.to_string(),
        })
        .collect()
}

/// The lab's principals: a reader, an operator and an admin.
pub fn principals() -> Vec<Principal> {
    vec![
        Principal::new("alice", ["readers"]),
        Principal::new("bob", ["operators"]),
        Principal::new("carol", ["admins"]),
    ]
}

/// The simulators of every backend that has one, running in process.
/// Dropping it stops them.
pub struct Labs {
    running: Vec<Box<dyn Simulator>>,
}

impl Labs {
    /// Take out the simulator of type `T` (a test that injects faults into
    /// it keeps it); the others keep running.
    pub fn take<T: 'static>(&mut self) -> Option<T> {
        let at = self
            .running
            .iter()
            .position(|s| s.as_any().downcast_ref::<T>().is_some())?;
        self.running
            .remove(at)
            .into_any()
            .downcast::<T>()
            .ok()
            .map(|b| *b)
    }
}

/// Start every backend's simulator; their endpoints.
pub async fn start_simulators(task_seconds: f64) -> Result<(Labs, Vec<Endpoint>), String> {
    let mut running = Vec::new();
    let mut endpoints = Vec::new();
    for hooks in PLUGS.iter().filter_map(|p| p.lab.as_ref()) {
        let (sim, endpoint) = (hooks.start)(task_seconds).await?;
        running.push(sim);
        endpoints.push(endpoint);
    }
    Ok((Labs { running }, endpoints))
}

/// Start the lab and describe it as a configuration.
pub async fn start(audit_log: &Path, task_seconds: f64) -> Result<(Labs, Config), String> {
    let (labs, endpoints) = start_simulators(task_seconds).await?;
    let config = Config {
        stdio_principal: Some("alice".into()),
        policies: "<embedded default bundle>".into(),
        shadow_policies: None,
        audit_log: audit_log.to_path_buf(),
        admin_socket: None,
        break_glass_max: crate::break_glass::DEFAULT_MAX,
        approval_ttl: crate::approval::DEFAULT_TTL,
        approvals_required: 1,
        audit: Default::default(),
        digest: None,
        archive: None,
        principals: principals(),
        endpoints,
        http: None,
        rate_limits: Vec::new(),
        state: None,
        listing: Default::default(),
        break_glass_needs_approval: false,
    };
    Ok((labs, config))
}

/// What the lab simulates, for a person ("a simulated … cluster").
pub fn description() -> String {
    PLUGS
        .iter()
        .filter_map(|p| p.lab.as_ref().map(|l| l.description))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The demo's steps, every backend's in turn.
pub fn demo_steps() -> Vec<DemoStep> {
    PLUGS
        .iter()
        .filter_map(|p| p.lab.as_ref())
        .flat_map(|l| (l.demo)())
        .collect()
}

#[cfg(test)]
mod tests {
    /// The embedded bundle is the shipped directory, file for file.
    #[test]
    fn the_embedded_bundle_is_policies_default() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/default");
        let mut shipped: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let text = std::fs::read_to_string(e.path()).unwrap();
                (e.file_name().to_string_lossy().into_owned(), text)
            })
            .collect();
        shipped.sort();
        let embedded: Vec<(String, String)> = super::DEFAULT_POLICIES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        assert_eq!(embedded, shipped);
    }
}
