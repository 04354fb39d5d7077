//! The one composition root: a configuration, policies and the backend
//! registry become a gate with its audit log and clients. The CLI (and
//! tests that need a whole server) decide where those come from; this
//! module decides how they are put together.

use std::path::PathBuf;
use std::sync::Arc;

use crate::audit::AuditLog;
use crate::backends::Backends;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::gate::Gate;
use crate::lab::Labs;
use crate::policy::{PolicyEngine, PolicySource};

/// A gate with what keeps it alive (the lab's simulators, when used).
pub struct Runtime {
    pub gate: Arc<Gate>,
    /// The off-host archive, once started (`serve`).
    pub archive: Option<Arc<crate::audit::archive::Archiver>>,
    pub config: Config,
    /// The policy directory and the digest of what was loaded from it;
    /// `None` for the embedded bundle, which cannot change.
    pub policy_dir: Option<(PathBuf, String)>,
    pub(crate) _labs: Option<Labs>,
}

impl Runtime {
    /// Start archiving sealed segments off the host, if configured (a
    /// server does; one-shot commands leave it to the server).
    pub fn start_archive(&mut self) {
        let (Some(cfg), Some(audit)) = (self.config.archive.take(), self.gate.audit_log().cloned())
        else {
            return;
        };
        let archiver = Arc::new(crate::audit::archive::Archiver::new(cfg, audit.path()));
        self.gate.set_archive_status(archiver.status.clone());
        tokio::spawn(archiver.clone().run(audit));
        self.archive = Some(archiver);
    }
}

/// What to build a runtime from.
pub struct Parts {
    pub config: Config,
    pub policies: Vec<PolicySource>,
    /// Where the policies came from, for reloads (`None`: embedded).
    pub policy_dir: Option<PathBuf>,
    /// Open the audit log (every command that can execute needs it).
    pub audit: bool,
    /// The `portcullis dry-run` options that load the same configuration.
    pub dry_run_source: String,
    pub labs: Option<Labs>,
}

/// Put a runtime together.
pub fn compose(parts: Parts) -> Result<Runtime, String> {
    let Parts {
        config,
        policies: sources,
        policy_dir,
        audit,
        dry_run_source,
        labs,
    } = parts;
    let catalog = Catalog::builtin();
    let policies = PolicyEngine::from_sources(&sources, &catalog)
        .map_err(|e| format!("policies refused: {e}"))?;
    let policy_dir = policy_dir.map(|d| (d, crate::policy::set_digest(&sources)));
    for ep in config.endpoints.iter().filter(|e| !e.tls_verify) {
        tracing::warn!(endpoint = %ep.name, url = %ep.url, "TLS certificate verification is OFF for this endpoint; every audit record says so");
    }
    let audit = if audit {
        Some(Arc::new(
            AuditLog::open_with(&config.audit_log, config.audit.clone())
                .map_err(|e| format!("audit log refused: {e}"))?,
        ))
    } else {
        None
    };
    let shadow = config
        .shadow_policies
        .as_ref()
        .map(|dir| {
            PolicyEngine::load_set(dir, &config.listing.policies(), &catalog).map_err(|e| {
                format!(
                    "shadow policies ({}) refused: {e}\n(the candidate set must validate like the live one; run `portcullis check`)",
                    dir.display()
                )
            })
        })
        .transpose()?;
    let backends = Backends::new(&config.endpoints).map_err(|e| e.to_string())?;
    let mut gate = Gate::new(catalog, policies, audit, backends)
        .with_shadow(shadow)
        .with_rate_limits(&config.rate_limits)
        .with_break_glass_max(config.break_glass_max)
        .with_approvals(config.approval_ttl, config.approvals_required)
        .with_config_digest(config.digest.clone())
        .with_dry_run_source(dry_run_source);
    if let Some(state) = &config.state {
        gate = gate.with_shared_state(state);
    }
    let gate = Arc::new(gate);
    gate.break_glass()
        .require_approval(config.break_glass_needs_approval);
    Ok(Runtime {
        archive: None,
        gate,
        config,
        policy_dir,
        _labs: labs,
    })
}
