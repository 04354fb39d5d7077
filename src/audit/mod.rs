//! The audit log: JSONL, one record per line, each written and flushed to
//! disk (`sync_data`) before the call proceeds, and hash-chained so that an
//! edited, removed or reordered record is detected by `audit verify`.
//!
//! `tracing-appender` is not used here: it drops lines under pressure and
//! never fsyncs. This writer holds the file behind a mutex and returns only
//! once the record is durable; if it cannot, the caller fails closed.
//!
//! Several processes may share one log (two stdio servers started by two
//! MCP clients, `portcullis call` beside a server): every append takes an
//! exclusive advisory lock (`flock`) on the file, and a writer that finds
//! the file grown since its own last write reads the new last record first,
//! so the chain stays one chain. A crash in the middle of a write leaves a
//! line without its newline; that record was never durable, so no call
//! proceeded on it: it is set aside into a side file and a `recovered`
//! record names it.

mod bound;
pub(crate) mod canonical;
mod tail;
mod verify;

pub use bound::MAX_RECORD;
pub use tail::{inspect, LogState};
pub use verify::{verify_file, VerifyError, VerifyReport};

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The `prev` of the first record of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "audit log {path}: the last record cannot be read ({problem}), so the chain cannot be continued. \
         Run `portcullis audit verify {path}` to see where it breaks, then `portcullis audit repair {path}` \
         to set the last line aside (it is kept in a side file) and continue the chain"
    )]
    BadTail { path: String, problem: String },
    #[error("audit log {path}: an earlier write failed, so the chain may hold a torn record; refusing further writes until restart")]
    Broken { path: String },
    #[error("audit record must be a JSON object")]
    NotAnObject,
    #[error("audit log {path}: nothing to repair: {state}")]
    NothingToRepair { path: String, state: LogState },
}

/// The hash of a record: SHA-256 over the previous hash and the record's
/// canonical JSON without its own `hash` field.
pub fn record_hash(prev: &str, record_without_hash: &Map<String, Value>) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(canonical::to_string(&Value::Object(record_without_hash.clone())).as_bytes());
    hex::encode(h.finalize())
}

struct Chain {
    file: File,
    /// The file's length after this writer's last write: another length
    /// means another process wrote since.
    len: u64,
    next_seq: u64,
    prev: String,
}

/// An append-only, hash-chained, durable JSONL log.
pub struct AuditLog {
    path: PathBuf,
    chain: Mutex<Chain>,
    /// The same open file, for the inter-process lock (`flock` locks the
    /// open file description, which this duplicate shares).
    lock_handle: File,
    /// Set once a write failed; read without the chain's mutex, so a
    /// readiness probe never waits behind a writer.
    broken: AtomicBool,
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// Holds the file's exclusive lock until dropped.
struct Locked<'f>(&'f File);

/// How long a writer waits for another process's turn before failing
/// closed: a record takes milliseconds, so this is a stalled or stopped
/// process, and the call must be refused rather than hang.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl<'f> Locked<'f> {
    fn take(file: &'f File) -> std::io::Result<Locked<'f>> {
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let mut pause = std::time::Duration::from_micros(200);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Locked(file)),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!(
                            "another process has held the audit log's lock for over {} s; \
                             stop it, or give each process its own audit_log",
                            LOCK_WAIT.as_secs()
                        ),
                    ))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl AuditLog {
    /// Open (or create) the log at `path`, continuing an existing chain. A
    /// torn last line (a crash mid-write) is set aside and recorded; an
    /// unreadable complete last line is refused (see [`AuditLog::repair`]).
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        let log = Self::open_file(path)?;
        {
            let mut chain = log.lock_chain();
            let _lock = Locked::take(&log.lock_handle).map_err(|e| log.io(e))?;
            log.catch_up(&mut chain, false)?;
        }
        Ok(log)
    }

    /// Set an unreadable last line aside (into a side file beside the log),
    /// then continue the chain with a `recovered` record that names it.
    pub fn repair(path: &Path) -> Result<AuditLog, AuditError> {
        let log = Self::open_file(path)?;
        {
            let mut chain = log.lock_chain();
            let _lock = Locked::take(&log.lock_handle).map_err(|e| log.io(e))?;
            log.catch_up(&mut chain, true)?;
        }
        Ok(log)
    }

    fn open_file(path: &Path) -> Result<AuditLog, AuditError> {
        let io = |source| AuditError::Io {
            path: path.display().to_string(),
            source,
        };
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(io)?;
        if !existed {
            // A new file is only durable once its directory entry is.
            tail::sync_dir(path.parent().unwrap_or(Path::new("."))).map_err(io)?;
        }
        let lock_handle = file.try_clone().map_err(io)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            lock_handle,
            chain: Mutex::new(Chain {
                file,
                // Unknown until read: forces a scan on first use.
                len: u64::MAX,
                next_seq: 0,
                prev: GENESIS.to_string(),
            }),
            broken: AtomicBool::new(false),
        })
    }

    fn io(&self, source: std::io::Error) -> AuditError {
        AuditError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn lock_chain(&self) -> std::sync::MutexGuard<'_, Chain> {
        // A poisoned lock means a writer panicked mid-append; the chain
        // state is still the last durable record, so carry on.
        self.chain.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// With the file lock held: if the file is not as this writer left it,
    /// read its last record (setting aside a torn tail, and with `repair`
    /// an unreadable last line too).
    fn catch_up(&self, chain: &mut Chain, repair: bool) -> Result<(), AuditError> {
        let len = chain.file.metadata().map_err(|e| self.io(e))?.len();
        if len == chain.len && !repair {
            return Ok(());
        }
        let scan = tail::scan(&mut chain.file).map_err(|e| self.io(e))?;
        let (cut, reason) = match (&scan.last, repair) {
            (Err(_), true) => (Some(scan.last_line_start), "repair"),
            (Err(problem), false) => {
                return Err(AuditError::BadTail {
                    path: self.path.display().to_string(),
                    problem: problem.clone(),
                })
            }
            (Ok(_), _) if scan.torn_bytes() > 0 => (Some(scan.complete_end), "torn_tail"),
            (Ok(_), true) => {
                return Err(AuditError::NothingToRepair {
                    path: self.path.display().to_string(),
                    state: scan.state(),
                })
            }
            (Ok(_), false) => (None, ""),
        };
        let Some(cut) = cut else {
            self.adopt(chain, &scan);
            return Ok(());
        };
        let aside = tail::set_aside(&mut chain.file, &self.path, cut).map_err(|e| self.io(e))?;
        let rescan = tail::scan(&mut chain.file).map_err(|e| self.io(e))?;
        if let Err(problem) = &rescan.last {
            return Err(AuditError::BadTail {
                path: self.path.display().to_string(),
                problem: format!(
                    "after setting {} aside: {problem}",
                    aside.side_file.display()
                ),
            });
        }
        self.adopt(chain, &rescan);
        let side = aside
            .side_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        tracing::warn!(log = %self.path.display(), side_file = %side, bytes = aside.bytes, reason, "audit log: an unfinished or unreadable last line was set aside; the chain continues");
        let record = json!({
            "kind": "recovered",
            "reason": reason,
            "side_file": side,
            "bytes": aside.bytes,
            "sha256": aside.sha256,
        });
        let Value::Object(rec) = record else {
            return Err(AuditError::NotAnObject);
        };
        self.write_line(chain, rec)
    }

    fn adopt(&self, chain: &mut Chain, scan: &tail::Scan) {
        let (next_seq, prev) = match &scan.last {
            Ok(Some((seq, hash))) => (seq + 1, hash.clone()),
            _ => (0, GENESIS.to_string()),
        };
        chain.len = scan.len;
        chain.next_seq = next_seq;
        chain.prev = prev;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// False once a write has failed: the chain can no longer be extended
    /// safely and every call is refused until an operator intervenes.
    pub fn is_writable(&self) -> bool {
        !self.broken.load(Ordering::Acquire)
    }

    /// Append one record (a JSON object) and return only once it is on
    /// disk. Adds `seq`, `ts`, `prev` and `hash`.
    pub fn append(&self, record: Value) -> Result<(), AuditError> {
        let Value::Object(rec) = record else {
            return Err(AuditError::NotAnObject);
        };
        let mut chain = self.lock_chain();
        if !self.is_writable() {
            return Err(AuditError::Broken {
                path: self.path.display().to_string(),
            });
        }
        let chain = &mut *chain;
        let _lock = Locked::take(&self.lock_handle).map_err(|e| self.io(e))?;
        self.catch_up(chain, false)?;
        self.write_line(chain, rec)
    }

    fn write_line(&self, chain: &mut Chain, rec: Map<String, Value>) -> Result<(), AuditError> {
        let mut rec = bound::bound(rec);
        rec.insert("seq".into(), Value::from(chain.next_seq));
        rec.insert("ts".into(), Value::String(now_rfc3339()));
        rec.insert("prev".into(), Value::String(chain.prev.clone()));
        let hash = record_hash(&chain.prev, &rec);
        rec.insert("hash".into(), Value::String(hash.clone()));
        let mut line = canonical::to_string(&Value::Object(rec));
        line.push('\n');
        let written = chain
            .file
            .write_all(line.as_bytes())
            .and_then(|_| chain.file.sync_data());
        if let Err(source) = written {
            // The record may be in the file without being durable, and the
            // call will not run: take it back out, so neither this chain
            // nor another writer's continues from a decision that did not
            // hold. Best effort: the log is refused from now on anyway.
            if chain.len != u64::MAX {
                let _ = chain.file.set_len(chain.len);
            }
            self.broken.store(true, Ordering::Release);
            return Err(self.io(source));
        }
        chain.len = chain.len.saturating_add(line.len() as u64);
        chain.next_seq += 1;
        chain.prev = hash;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
