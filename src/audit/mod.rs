//! The audit log: JSONL, one record per line, each written and flushed to
//! disk (`sync_data`) before the call proceeds, and hash-chained so that an
//! edited, removed or reordered record is detected by `audit verify`.
//!
//! `tracing-appender` is not used here: it drops lines under pressure and
//! never fsyncs. One writer thread owns the file (group commit): it takes
//! every record waiting, appends them in the order they arrived, flushes
//! once, and only then releases their callers. An append returns only once
//! its record is durable; if it cannot be, the caller fails closed.
//!
//! Several processes may share one log (two stdio servers started by two
//! MCP clients, `portcullis call` beside a server): every append takes an
//! exclusive advisory lock (`flock`) on the file, and a writer that finds
//! the file grown since its own last write reads the new last record first,
//! so the chain stays one chain. A crash in the middle of a write leaves a
//! line without its newline; that record was never durable, so no call
//! proceeded on it: it is set aside into a side file and a `recovered`
//! record names it.

pub mod archive;
mod bound;
pub(crate) mod canonical;
pub mod keys;
pub mod ocsf;
pub mod policy_store;
mod tail;
mod verify;
mod writer;

pub use bound::MAX_RECORD;
pub use keys::{ChainKey, CheckpointSigner, CheckpointVerifier, KeyError};
pub use tail::{inspect, LogState};
pub use verify::{verify, verify_chain, verify_file, VerifyError, VerifyOptions, VerifyReport};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use serde_json::{Map, Value};
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
    #[error(
        "audit log {path}: the writer thread has stopped; refusing further writes until restart"
    )]
    WriterGone { path: String },
    #[error(
        "audit log {path}: the off-host archive is behind by more than its max_lag_seconds and \
         [archive] fail_closed is set; calls are refused until the archive catches up (the server's \
         log says why uploads fail)"
    )]
    ArchiveBehind { path: String },
    #[error(
        "audit log {path}: its records are {found} but the configuration {configured}; one chain \
         cannot mix them. Use the key it was written with, or start a new log file (move this one aside) \
         to change keys"
    )]
    KeyMismatch {
        path: String,
        found: String,
        configured: String,
    },
    #[error(
        "audit log {path} was cut or replaced while this server was writing it ({why}); refusing \
         further writes until restart. Keep the file as it is for investigation, then run \
         `portcullis audit verify` on it and on any sealed segments"
    )]
    Replaced { path: String, why: String },
}

impl AuditError {
    /// The same error for another caller of a failed batch (an I/O error
    /// keeps its kind and message).
    fn duplicate(&self) -> AuditError {
        match self {
            AuditError::Io { path, source } => AuditError::Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            AuditError::BadTail { path, problem } => AuditError::BadTail {
                path: path.clone(),
                problem: problem.clone(),
            },
            AuditError::Broken { path } => AuditError::Broken { path: path.clone() },
            AuditError::NotAnObject => AuditError::NotAnObject,
            AuditError::NothingToRepair { path, state } => AuditError::NothingToRepair {
                path: path.clone(),
                state: state.clone(),
            },
            AuditError::WriterGone { path } => AuditError::WriterGone { path: path.clone() },
            AuditError::ArchiveBehind { path } => AuditError::ArchiveBehind { path: path.clone() },
            AuditError::Replaced { path, why } => AuditError::Replaced {
                path: path.clone(),
                why: why.clone(),
            },
            AuditError::KeyMismatch {
                path,
                found,
                configured,
            } => AuditError::KeyMismatch {
                path: path.clone(),
                found: found.clone(),
                configured: configured.clone(),
            },
        }
    }
}

/// The hash of a record over the previous hash and the record's canonical
/// JSON without its own `hash` field: SHA-256, or with a chain key
/// HMAC-SHA256 (the record then names the key in `key`).
pub fn record_hash(
    key: Option<&ChainKey>,
    prev: &str,
    record_without_hash: &Map<String, Value>,
) -> String {
    let text = canonical::of_map(record_without_hash);
    match key {
        Some(k) => k.mac(&[prev.as_bytes(), b"\n", text.as_bytes()]),
        None => {
            let mut h = Sha256::new();
            h.update(prev.as_bytes());
            h.update(b"\n");
            h.update(text.as_bytes());
            hex::encode(h.finalize())
        }
    }
}

/// Whether the log at `path` can go on under `key` (what `serve` would
/// refuse, for `portcullis check`).
pub fn check_key(path: &Path, key: Option<&ChainKey>) -> Result<(), AuditError> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return Ok(());
    };
    let io = |source| AuditError::Io {
        path: path.display().to_string(),
        source,
    };
    let Some(found) = tail::last_key(&mut f).map_err(io)? else {
        return Ok(());
    };
    writer::key_mismatch(path, found, key)
}

/// How a log is chained and checkpointed (the `[audit]` section).
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// Chain with HMAC-SHA256 under this key instead of SHA-256.
    pub key: Option<Arc<ChainKey>>,
    /// Sign checkpoints with this key.
    pub signer: Option<Arc<CheckpointSigner>>,
    /// A checkpoint after this many records of this writer...
    pub checkpoint_every: u64,
    /// ...or this long after the first record it does not cover yet, and
    /// when the log is closed.
    pub checkpoint_interval: std::time::Duration,
    /// Also write each call as an OCSF event to this file.
    pub ocsf_log: Option<PathBuf>,
    /// Seal the file and start a new one past this size...
    pub rotate_bytes: Option<u64>,
    /// ...or this age (checked when records are written).
    pub rotate_age: Option<std::time::Duration>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            key: None,
            signer: None,
            checkpoint_every: 1000,
            checkpoint_interval: std::time::Duration::from_secs(60),
            ocsf_log: None,
            rotate_bytes: None,
            rotate_age: None,
        }
    }
}

/// An append-only, hash-chained, durable JSONL log.
pub struct AuditLog {
    path: PathBuf,
    queue: Option<mpsc::Sender<writer::Pending>>,
    /// Set once a write failed; read without waiting on the writer, so a
    /// readiness probe never queues behind records.
    broken: Arc<AtomicBool>,
    flushes: Arc<AtomicU64>,
    /// The archive is behind by more than its allowed lag, and whether
    /// records are then refused.
    archive_behind: AtomicBool,
    archive_fail_closed: AtomicBool,
    /// Fault injection for tests: the next flush fails as a full disk would.
    #[cfg_attr(
        not(any(test, feature = "test-util")),
        expect(dead_code, reason = "set only by tests")
    )]
    fail_next: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AuditLog {
    /// Open (or create) the log at `path`, continuing an existing chain. A
    /// torn last line (a crash mid-write) is set aside and recorded; an
    /// unreadable complete last line is refused (see [`AuditLog::repair`]).
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        Self::open_with(path, AuditOptions::default())
    }

    /// [`AuditLog::open`] with a chain key and checkpoint signing.
    pub fn open_with(path: &Path, options: AuditOptions) -> Result<AuditLog, AuditError> {
        Self::start(writer::Writer::open(path, false, options)?)
    }

    /// Set an unreadable last line aside (into a side file beside the log),
    /// then continue the chain with a `recovered` record that names it.
    pub fn repair(path: &Path, options: AuditOptions) -> Result<AuditLog, AuditError> {
        Self::start(writer::Writer::open(path, true, options)?)
    }

    fn start(writer: writer::Writer) -> Result<AuditLog, AuditError> {
        let path = writer.path().to_path_buf();
        let broken = writer.broken_flag();
        let flushes = writer.flush_count();
        let fail_next = writer.fail_next_flag();
        let (queue, pending) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer.run(pending))
            .map_err(|source| AuditError::Io {
                path: path.display().to_string(),
                source,
            })?;
        Ok(AuditLog {
            path,
            queue: Some(queue),
            broken,
            flushes,
            fail_next,
            archive_behind: AtomicBool::new(false),
            archive_fail_closed: AtomicBool::new(false),
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// False once a write has failed: the chain can no longer be extended
    /// safely and every call is refused until an operator intervenes.
    pub fn is_writable(&self) -> bool {
        !self.broken.load(Ordering::Acquire)
    }

    /// Make the next flush fail as a full disk would (tests of what a
    /// failing log does to a running server).
    #[cfg(any(test, feature = "test-util"))]
    pub fn fail_next_flush(&self) {
        self.fail_next.store(true, Ordering::Release);
    }

    /// How many times the writer has flushed: fewer than the records
    /// written when callers arrive together.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// Set by the archiver: whether it is behind by more than its lag,
    /// and whether records (so calls) are then refused.
    pub fn set_archive_behind(&self, behind: bool, fail_closed: bool) {
        self.archive_fail_closed
            .store(fail_closed, Ordering::Release);
        self.archive_behind.store(behind, Ordering::Release);
    }

    /// False while the off-host archive is behind by more than its lag.
    pub fn archive_ok(&self) -> bool {
        !self.archive_behind.load(Ordering::Acquire)
    }

    fn submit(&self, record: Value, reply: writer::Reply) -> Result<(), AuditError> {
        let Value::Object(rec) = record else {
            return Err(AuditError::NotAnObject);
        };
        if !self.archive_ok() && self.archive_fail_closed.load(Ordering::Acquire) {
            return Err(AuditError::ArchiveBehind {
                path: self.path.display().to_string(),
            });
        }
        let gone = || AuditError::WriterGone {
            path: self.path.display().to_string(),
        };
        let queue = self.queue.as_ref().ok_or_else(gone)?;
        queue
            .send(writer::Pending { rec, reply })
            .map_err(|_| gone())
    }

    /// Append one record (a JSON object) and return only once it is on
    /// disk. Adds `seq`, `ts`, `prev` and `hash`. Blocks: from async code
    /// use [`AuditLog::append_async`].
    pub fn append(&self, record: Value) -> Result<(), AuditError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(record, writer::Reply::Blocking(tx))?;
        rx.recv().unwrap_or_else(|_| {
            Err(AuditError::WriterGone {
                path: self.path.display().to_string(),
            })
        })
    }

    /// [`AuditLog::append`] without holding a thread while the record
    /// waits for its flush.
    pub async fn append_async(&self, record: Value) -> Result<(), AuditError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(record, writer::Reply::Async(tx))?;
        rx.await.unwrap_or_else(|_| {
            Err(AuditError::WriterGone {
                path: self.path.display().to_string(),
            })
        })
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what is queued and stop.
        self.queue.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests;
