//! What tests and benchmarks share to wire a gate without the CLI: a
//! builder with sensible defaults (the shipped default bundle, one
//! never-contacted endpoint of every backend, no audit log), placeholder
//! endpoints of any backend, and local callers. Compiled for this crate's
//! tests and, with the `test-util` feature, for its integration tests and
//! benchmarks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::audit::AuditLog;
use crate::backends::registry::{BackendKind, PLUGS};
use crate::backends::Backends;
use crate::catalog::Catalog;
use crate::config::{Endpoint, RateLimit};
use crate::gate::Gate;
use crate::policy::{PolicyEngine, PolicySource};

pub use crate::gate::Caller;

/// Builds a [`Gate`].
pub struct GateBuilder {
    policies: Vec<PolicySource>,
    backends: Backends,
    audit: Option<PathBuf>,
    rate_limits: Vec<(crate::catalog::Tier, RateLimit)>,
}

impl Default for GateBuilder {
    fn default() -> Self {
        GateBuilder::new()
    }
}

impl GateBuilder {
    /// The default bundle; one placeholder endpoint of every backend (named
    /// as decision tests name them, each its backend's default); no audit
    /// log (the gate can decide, not execute).
    pub fn new() -> GateBuilder {
        GateBuilder {
            policies: crate::lab::default_policies(),
            backends: backends(
                &PLUGS
                    .iter()
                    .map(|p| placeholder(p.kind, p.test_endpoint))
                    .collect::<Vec<_>>(),
            ),
            audit: None,
            rate_limits: Vec::new(),
        }
    }

    /// These policy texts instead of the default bundle.
    pub fn policies(mut self, texts: &[&str]) -> GateBuilder {
        self.policies = texts
            .iter()
            .enumerate()
            .map(|(i, t)| PolicySource {
                name: format!("p{i}.cedar"),
                text: (*t).to_string(),
            })
            .collect();
        self
    }

    /// These policies (named texts) instead of the default bundle.
    pub fn policy_sources(mut self, sources: Vec<PolicySource>) -> GateBuilder {
        self.policies = sources;
        self
    }

    /// These endpoints instead of the placeholders.
    pub fn endpoints(mut self, endpoints: &[Endpoint]) -> GateBuilder {
        self.backends = backends(endpoints);
        self
    }

    /// Write the audit log here (needed to execute calls).
    pub fn audit(mut self, path: &Path) -> GateBuilder {
        self.audit = Some(path.to_path_buf());
        self
    }

    pub fn rate_limits(mut self, limits: Vec<(crate::catalog::Tier, RateLimit)>) -> GateBuilder {
        self.rate_limits = limits;
        self
    }

    /// The gate; panics on a setup mistake (this is for tests).
    pub fn build(self) -> Gate {
        let catalog = Catalog::builtin();
        let engine = PolicyEngine::from_sources(&self.policies, &catalog)
            .unwrap_or_else(|e| panic!("test policies refused: {e}"));
        let audit = self.audit.map(|p| {
            Arc::new(AuditLog::open(&p).unwrap_or_else(|e| panic!("test audit log: {e}")))
        });
        Gate::new(catalog, engine, audit, self.backends).with_rate_limits(&self.rate_limits)
    }
}

fn backends(endpoints: &[Endpoint]) -> Backends {
    Backends::new(endpoints).unwrap_or_else(|e| panic!("test endpoints refused: {e}"))
}

/// A never-contacted endpoint of `backend`, the default of its backend,
/// with the settings that backend's decision tests use.
pub fn placeholder(backend: BackendKind, name: &str) -> Endpoint {
    let mut ep = Endpoint::placeholder_of(backend, name, true, true);
    if let Ok(settings) = (backend.plug().test_settings)(&toml::Table::new()) {
        ep.settings = settings;
    }
    ep
}
