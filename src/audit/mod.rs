//! The audit log: JSONL, one record per line, each written and flushed to
//! disk (`sync_data`) before the call proceeds, and hash-chained so that an
//! edited, removed or reordered record is detected by `audit verify`.
//!
//! `tracing-appender` is not used here: it drops lines under pressure and
//! never fsyncs. This writer holds the file behind a mutex and returns only
//! once the record is durable; if it cannot, the caller fails closed.

pub(crate) mod canonical;
mod verify;

pub use verify::{verify_file, VerifyError, VerifyReport};

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The `prev` of the first record of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How far from the end of an existing log to look for its last record.
const TAIL_WINDOW: u64 = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "audit log {path}: the last record cannot be read ({problem}); it may have been cut by a crash or edited. \
         Run `portcullis audit verify {path}`, then move the file aside to start a new chain"
    )]
    BadTail { path: String, problem: String },
    #[error("audit log {path}: an earlier write failed, so the chain may hold a torn record; refusing further writes until restart")]
    Broken { path: String },
    #[error("audit record must be a JSON object")]
    NotAnObject,
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
    next_seq: u64,
    prev: String,
    broken: bool,
}

/// An append-only, hash-chained, durable JSONL log.
pub struct AuditLog {
    path: PathBuf,
    chain: Mutex<Chain>,
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// Read the last record of an existing log, to continue its chain.
fn last_record(file: &mut File, path: &Path) -> Result<Option<(u64, String)>, AuditError> {
    let io = |source| AuditError::Io {
        path: path.display().to_string(),
        source,
    };
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL_WINDOW)))
        .map_err(io)?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(io)?;
    let bad = |problem: &str| AuditError::BadTail {
        path: path.display().to_string(),
        problem: problem.to_string(),
    };
    if tail.last() != Some(&b'\n') {
        return Err(bad("the file does not end with a complete line"));
    }
    let text = String::from_utf8_lossy(&tail);
    let line = text
        .trim_end_matches('\n')
        .rsplit('\n')
        .next()
        .unwrap_or_default();
    let rec: Value = serde_json::from_str(line).map_err(|_| bad("the last line is not JSON"))?;
    let seq = rec
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("the last record has no seq"))?;
    let hash = rec
        .get("hash")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("the last record has no hash"))?;
    Ok(Some((seq, hash.to_string())))
}

impl AuditLog {
    /// Open (or create) the log at `path`, continuing an existing chain.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        let io = |source| AuditError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(io)?;
        let (next_seq, prev) = match last_record(&mut file, path)? {
            Some((seq, hash)) => (seq + 1, hash),
            None => (0, GENESIS.to_string()),
        };
        Ok(AuditLog {
            path: path.to_path_buf(),
            chain: Mutex::new(Chain {
                file,
                next_seq,
                prev,
                broken: false,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// False once a write has failed: the chain can no longer be extended
    /// safely and every call is refused until an operator intervenes.
    pub fn is_writable(&self) -> bool {
        !self.chain.lock().unwrap_or_else(|p| p.into_inner()).broken
    }

    /// Append one record (a JSON object) and return only once it is on
    /// disk. Adds `seq`, `ts`, `prev` and `hash`.
    pub fn append(&self, record: Value) -> Result<(), AuditError> {
        let Value::Object(mut rec) = record else {
            return Err(AuditError::NotAnObject);
        };
        // A poisoned lock means a writer panicked mid-append; the chain
        // state is still the last durable record, so carry on.
        let mut chain = self.chain.lock().unwrap_or_else(|p| p.into_inner());
        if chain.broken {
            return Err(AuditError::Broken {
                path: self.path.display().to_string(),
            });
        }
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
            chain.broken = true;
            return Err(AuditError::Io {
                path: self.path.display().to_string(),
                source,
            });
        }
        chain.next_seq += 1;
        chain.prev = hash;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
