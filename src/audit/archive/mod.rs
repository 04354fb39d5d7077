//! Off the host: sealed segments (each ends with a signed checkpoint when a
//! signing key is set) and the kept policy sets go to S3-compatible object
//! storage under Object Lock, so that not even the host's root can take
//! back what was recorded. The local files are the spool: an item is
//! uploaded, its retention read back and checked, and only then listed in
//! `<log>.archived`; a failure is retried with backoff. An archive that
//! falls behind by more than `max_lag` makes the server not ready and, if
//! configured, refuses calls (the audit log refuses their records).

pub mod s3;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::AuditLog;
pub use s3::{Bucket, RetentionMode, S3Credentials, S3Error};

/// The `[archive]` section, resolved.
pub struct ArchiveConfig {
    pub bucket: Bucket,
    /// Prepended to every object key (e.g. `portcullis/prod-1/`).
    pub prefix: String,
    pub mode: RetentionMode,
    pub retain: Duration,
    pub max_lag: Duration,
    pub fail_closed: bool,
    pub interval: Duration,
}

impl std::fmt::Debug for ArchiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ArchiveConfig({}/{}/{}, {} for {:?})",
            self.bucket.endpoint,
            self.bucket.bucket,
            self.prefix,
            self.mode.as_str(),
            self.retain
        )
    }
}

/// What the archive has done, for readiness and metrics.
#[derive(Default)]
pub struct ArchiveStatus {
    pub uploaded: AtomicU64,
    pub pending: AtomicU64,
    pub lag_seconds: AtomicU64,
    pub failures: AtomicU64,
}

/// A file waiting to be archived, and its object key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub path: PathBuf,
    pub key: String,
}

/// `audit.jsonl` and `audit.jsonl.000000001234`: a sealed segment.
fn is_sealed_segment(log_name: &str, name: &str) -> bool {
    name.strip_prefix(log_name)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|n| n.len() == 12 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The list of what was archived, beside the log.
pub fn index_path(log: &Path) -> PathBuf {
    let mut name = log.file_name().unwrap_or_default().to_os_string();
    name.push(".archived");
    log.with_file_name(name)
}

/// Names already archived.
fn archived(log: &Path) -> std::collections::HashSet<String> {
    std::fs::read_to_string(index_path(log))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| r["key"].as_str().map(String::from))
        .collect()
}

/// What is sealed and not archived yet, oldest first: segments in chain
/// order, then policy sets.
pub fn pending(log: &Path, prefix: &str) -> Vec<Item> {
    let dir = log.parent().unwrap_or(Path::new("."));
    let log_name = log
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let done = archived(log);
    // A crash between sealing's link and rename leaves the live file under
    // a sealed name too: never upload the file still being written.
    let live = std::fs::metadata(log).ok().map(|m| {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    });
    let is_live = |p: &Path| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p)
            .ok()
            .is_some_and(|m| Some((m.dev(), m.ino())) == live)
    };
    let mut segments: Vec<Item> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (is_sealed_segment(&log_name, &name) && !is_live(&e.path())).then(|| Item {
                path: e.path(),
                key: format!("{prefix}{name}"),
            })
        })
        .collect();
    segments.sort_by(|a, b| a.key.cmp(&b.key));
    let sets_dir = super::policy_store::dir_for(log);
    let mut sets: Vec<Item> = std::fs::read_dir(&sets_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name.ends_with(".json") && !name.starts_with('.')).then(|| Item {
                path: e.path(),
                key: format!("{prefix}policy-sets/{name}"),
            })
        })
        .collect();
    sets.sort_by(|a, b| a.key.cmp(&b.key));
    segments
        .into_iter()
        .chain(sets)
        .filter(|i| !done.contains(&i.key))
        .collect()
}

/// Seconds since the oldest pending item was sealed (its mtime).
fn lag(items: &[Item]) -> Duration {
    items
        .iter()
        .filter_map(|i| std::fs::metadata(&i.path).and_then(|m| m.modified()).ok())
        .filter_map(|t| t.elapsed().ok())
        .max()
        .unwrap_or_default()
}

fn same_instant(a: &str, b: &str) -> bool {
    match (
        humantime::parse_rfc3339_weak(a),
        humantime::parse_rfc3339_weak(b),
    ) {
        (Ok(x), Ok(y)) => {
            let secs = |t: SystemTime| {
                t.duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .ok()
            };
            secs(x) == secs(y)
        }
        _ => false,
    }
}

pub struct Archiver {
    cfg: ArchiveConfig,
    log: PathBuf,
    pub status: Arc<ArchiveStatus>,
}

impl Archiver {
    pub fn new(cfg: ArchiveConfig, log: &Path) -> Archiver {
        Archiver {
            cfg,
            log: log.to_path_buf(),
            status: Arc::default(),
        }
    }

    /// Upload one item locked, read its retention back, and list it.
    async fn upload(&self, item: &Item) -> Result<(), String> {
        let body =
            std::fs::read(&item.path).map_err(|e| format!("{}: {e}", item.path.display()))?;
        let sha256 = crate::util::sha256_hex(&body);
        let until =
            humantime::format_rfc3339_seconds(SystemTime::now() + self.cfg.retain).to_string();
        let b = &self.cfg.bucket;
        let version = b
            .put_locked(&item.key, body, self.cfg.mode, &until)
            .await
            .map_err(|e| e.to_string())?;
        let held = b
            .retention(&item.key, version.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        let mode_ok = held.mode.as_deref() == Some(self.cfg.mode.as_str());
        let until_ok = held
            .retain_until
            .as_deref()
            .is_some_and(|u| same_instant(u, &until));
        if !mode_ok || !until_ok {
            return Err(format!(
                "S3 stored {} without the lock asked for ({} until {until}): it reports {:?} until {:?}; \
                 is Object Lock enabled on bucket {}?",
                item.key,
                self.cfg.mode.as_str(),
                held.mode,
                held.retain_until,
                b.bucket
            ));
        }
        let line = json!({
            "key": item.key,
            "file": item.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "sha256": sha256,
            "version_id": version.or(held.version_id),
            "mode": self.cfg.mode.as_str(),
            "retain_until": until,
            "archived_at": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        });
        append_durably(&index_path(&self.log), &format!("{line}\n"))
            .map_err(|e| format!("{}: {e}", index_path(&self.log).display()))
    }

    /// Upload everything pending, oldest first, stopping at the first
    /// failure (so the archive never has a gap it does not know of).
    pub async fn sync_once(&self) -> Result<usize, String> {
        let items = pending(&self.log, &self.cfg.prefix);
        let mut done = 0;
        for item in &items {
            self.upload(item).await?;
            done += 1;
            self.status.uploaded.fetch_add(1, Ordering::Relaxed);
        }
        Ok(done)
    }

    /// Refresh the lag figures and tell the log whether it may go on.
    pub fn assess(&self, audit: &AuditLog) -> bool {
        let items = pending(&self.log, &self.cfg.prefix);
        let lag = lag(&items);
        self.status
            .pending
            .store(items.len() as u64, Ordering::Relaxed);
        self.status
            .lag_seconds
            .store(lag.as_secs(), Ordering::Relaxed);
        let behind = lag > self.cfg.max_lag;
        audit.set_archive_behind(behind, self.cfg.fail_closed);
        !behind
    }

    /// Until the process ends: sync, assess, wait (longer after failures).
    pub async fn run(self: Arc<Self>, audit: Arc<AuditLog>) {
        let mut wait = self.cfg.interval;
        loop {
            match self.sync_once().await {
                Ok(_) => wait = self.cfg.interval,
                Err(e) => {
                    self.status.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, "audit archive: upload failed; retrying");
                    wait = (wait * 2)
                        .min(Duration::from_secs(300))
                        .max(self.cfg.interval);
                }
            }
            if !self.assess(&audit) {
                tracing::error!(
                    lag_seconds = self.status.lag_seconds.load(Ordering::Relaxed),
                    pending = self.status.pending.load(Ordering::Relaxed),
                    fail_closed = self.cfg.fail_closed,
                    "audit archive is behind by more than max_lag_seconds"
                );
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// Download what was archived under the prefix into `dir`, each object as
/// first written (its oldest version: the one the lock protects, whatever
/// was put over it since), never over an existing file. The files written.
pub async fn fetch(cfg: &ArchiveConfig, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let versions = cfg
        .bucket
        .list_versions(&cfg.prefix)
        .await
        .map_err(|e| e.to_string())?;
    let mut first: std::collections::BTreeMap<&str, &s3::ObjectVersion> = Default::default();
    for v in &versions {
        let older = |o: &&s3::ObjectVersion| match (
            humantime::parse_rfc3339_weak(&v.last_modified),
            humantime::parse_rfc3339_weak(&o.last_modified),
        ) {
            (Ok(a), Ok(b)) => a < b,
            _ => false,
        };
        match first.get(v.key.as_str()) {
            Some(o) if !older(o) => {}
            _ => {
                first.insert(&v.key, v);
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for (key, v) in first {
        let rel = key.strip_prefix(cfg.prefix.as_str()).unwrap_or(key);
        if rel.is_empty() || rel.split('/').any(|p| p == ".." || p.is_empty()) {
            return Err(format!(
                "refusing to write object {key:?} outside {}",
                dir.display()
            ));
        }
        let to = dir.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let body = cfg
            .bucket
            .get_version(key, &v.version_id)
            .await
            .map_err(|e| e.to_string())?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&to)
            .map_err(|e| format!("{}: {e}", to.display()))?;
        std::io::Write::write_all(&mut f, &body).map_err(|e| format!("{}: {e}", to.display()))?;
        written.push(to);
    }
    Ok(written)
}

fn append_durably(path: &Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let existed = path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(line.as_bytes())?;
    f.sync_data()?;
    if !existed {
        super::tail::sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sealed_segments_and_kept_sets_are_pending_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.jsonl");
        for name in [
            "audit.jsonl",
            "audit.jsonl.000000000120",
            "audit.jsonl.000000000000",
            "audit.jsonl.set-aside-1-abc",
            "audit.jsonl.archived",
            "other.jsonl.000000000000",
        ] {
            std::fs::write(dir.path().join(name), "\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("audit.jsonl.policy-sets")).unwrap();
        std::fs::write(dir.path().join("audit.jsonl.policy-sets/ab.json"), "{}").unwrap();
        let keys: Vec<String> = pending(&log, "p/").into_iter().map(|i| i.key).collect();
        assert_eq!(
            keys,
            [
                "p/audit.jsonl.000000000000",
                "p/audit.jsonl.000000000120",
                "p/policy-sets/ab.json"
            ]
        );
        append_durably(
            &index_path(&log),
            "{\"key\": \"p/audit.jsonl.000000000000\"}\n",
        )
        .unwrap();
        assert_eq!(pending(&log, "p/").len(), 2);
    }
}
