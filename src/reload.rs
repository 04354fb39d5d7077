//! Policy reload without a restart. On SIGHUP, or when the policy
//! directory's contents change, the new set is read and strictly validated;
//! only a valid set replaces the old one, atomically. Either way the
//! attempt is audited, counted, and logged.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::gate::{records, Gate};
use crate::policy::{read_set, set_digest, PolicyEngine};

/// How often the directory is read for changes.
const POLL: Duration = Duration::from_secs(2);

pub struct PolicyReloader {
    gate: Arc<Gate>,
    dir: PathBuf,
    /// Digest of the last set tried (applied or refused), so an invalid
    /// set is reported once, not every poll.
    last: tokio::sync::Mutex<String>,
    /// The candidate directory of shadow mode, reloaded the same way.
    shadow: Option<(PathBuf, tokio::sync::Mutex<String>)>,
    /// Policies made from the configuration (`[listing]`), added to the
    /// directory's on every reload.
    generated: Vec<crate::policy::PolicySource>,
}

/// What a reload did.
#[derive(Debug, PartialEq)]
pub enum Reloaded {
    Unchanged,
    Applied { policies: usize },
    Refused(String),
}

impl PolicyReloader {
    /// `current` is the digest of the set the gate was started with.
    pub fn new(gate: Arc<Gate>, dir: PathBuf, current: String) -> Arc<PolicyReloader> {
        Self::with_shadow(gate, dir, current, None, Vec::new())
    }

    /// As [`new`], also reloading shadow mode's candidate directory, and
    /// adding the configuration's `generated` policies to every set read
    /// (`current` was computed with them).
    pub fn with_shadow(
        gate: Arc<Gate>,
        dir: PathBuf,
        current: String,
        shadow: Option<PathBuf>,
        generated: Vec<crate::policy::PolicySource>,
    ) -> Arc<PolicyReloader> {
        let shadow = shadow.map(|d| {
            let digest = read_set(&d, &generated)
                .map(|s| set_digest(&s))
                .unwrap_or_default();
            (d, tokio::sync::Mutex::new(digest))
        });
        Arc::new(PolicyReloader {
            gate,
            dir,
            last: tokio::sync::Mutex::new(current),
            shadow,
            generated,
        })
    }

    /// Reload the candidate set of shadow mode if it changed (or `force`).
    /// A candidate that does not validate leaves the previous one deciding
    /// beside the live set.
    async fn reload_shadow(&self, trigger: &str, force: bool) {
        let Some((dir, last)) = &self.shadow else {
            return;
        };
        let mut last = last.lock().await;
        let sources = read_set(dir, &self.generated);
        let d = match &sources {
            Ok(s) => set_digest(s),
            Err(e) => format!("unreadable: {e}"),
        };
        if !force && *last == d {
            return;
        }
        *last = d.clone();
        let engine = sources
            .and_then(|s| PolicyEngine::from_sources(&s, self.gate.catalog()))
            .map_err(|e| e.to_string());
        let (result, policies, error) = match engine {
            Ok(engine) => {
                let n = engine.len();
                self.gate.replace_shadow(Some(engine));
                tracing::info!(dir = %dir.display(), policies = n, trigger, "shadow policies reloaded");
                ("applied", Some(n), None)
            }
            Err(e) => {
                tracing::error!(dir = %dir.display(), error = %e, trigger, "new shadow policies refused; the previous candidate keeps deciding beside the live set");
                ("refused", None, Some(e))
            }
        };
        self.gate.metrics().reload("shadow_policies", result);
        let shown = dir.display().to_string();
        let record =
            records::policy_reload(trigger, result, &shown, &d, policies, error.as_deref());
        if let Err(e) = self.gate.audit_event(&record).await {
            tracing::error!(error = %e, "audit write failed for a shadow policy reload");
        }
    }

    /// Read the directory; validate and swap if it changed (or if `force`).
    pub async fn reload(&self, trigger: &str, force: bool) -> Reloaded {
        self.reload_shadow(trigger, force).await;
        let mut last = self.last.lock().await;
        let sources = read_set(&self.dir, &self.generated);
        let d = match &sources {
            Ok(s) => set_digest(s),
            Err(e) => format!("unreadable: {e}"),
        };
        if !force && *last == d {
            return Reloaded::Unchanged;
        }
        *last = d.clone();
        let engine = sources
            .and_then(|s| PolicyEngine::from_sources(&s, self.gate.catalog()))
            .map_err(|e| e.to_string());
        let (result, outcome) = match engine {
            Ok(engine) => {
                let n = engine.len();
                self.gate.replace_policies(engine);
                if let Err(e) = self.gate.record_policy_loaded(trigger).await {
                    tracing::error!(error = %e, "the reloaded policy set could not be recorded");
                }
                tracing::info!(dir = %self.dir.display(), policies = n, trigger, "policies reloaded");
                ("applied", Reloaded::Applied { policies: n })
            }
            Err(e) => {
                tracing::error!(dir = %self.dir.display(), error = %e, trigger, "new policies refused; the previous set keeps serving");
                ("refused", Reloaded::Refused(e))
            }
        };
        self.gate.metrics().reload("policies", result);
        let (policies, error) = match &outcome {
            Reloaded::Applied { policies } => (Some(*policies), None),
            Reloaded::Refused(e) => (None, Some(e.as_str())),
            Reloaded::Unchanged => (None, None),
        };
        let dir = self.dir.display().to_string();
        let record = records::policy_reload(trigger, result, &dir, &d, policies, error);
        if let Err(e) = self.gate.audit_event(&record).await {
            tracing::error!(error = %e, "audit write failed for a policy reload");
        }
        outcome
    }

    /// Reload on SIGHUP and on change, until the process ends.
    pub fn watch(self: Arc<Self>) {
        #[cfg(unix)]
        {
            let me = self.clone();
            tokio::spawn(async move {
                use tokio::signal::unix::{signal, SignalKind};
                let Ok(mut hup) = signal(SignalKind::hangup()) else {
                    tracing::warn!("cannot listen for SIGHUP; policies reload on file change only");
                    return;
                };
                while hup.recv().await.is_some() {
                    me.reload("sighup", true).await;
                }
            });
        }
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                self.reload("file_change", false).await;
            }
        });
    }
}
