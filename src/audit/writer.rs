//! The one writer of a log: owns the file and the chain's head, takes every
//! record that is waiting, appends them in arrival order, flushes once and
//! then answers each caller (group commit). A batch that cannot be made
//! durable is taken back out and fails every caller in it; the log is then
//! refused until restart.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use serde_json::{json, Map, Value};

use super::keys::Checkpoint;
use super::{bound, canonical, record_hash, tail, AuditError, AuditOptions, GENESIS};

/// How long a writer waits for another process's turn before failing
/// closed: a record takes milliseconds, so this is a stalled or stopped
/// process, and the call must be refused rather than hang.
pub(super) const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The most records one flush covers: bounds the memory of a batch (each
/// record is at most [`super::MAX_RECORD`]) and the wait of its first
/// caller.
const MAX_BATCH: usize = 256;

/// Where a caller waits for its record's fate.
pub(super) enum Reply {
    Blocking(mpsc::SyncSender<Result<(), AuditError>>),
    Async(tokio::sync::oneshot::Sender<Result<(), AuditError>>),
}

impl Reply {
    fn send(self, result: Result<(), AuditError>) {
        // A caller that gave up waiting needs no answer.
        match self {
            Reply::Blocking(tx) => {
                let _ = tx.send(result);
            }
            Reply::Async(tx) => {
                let _ = tx.send(result);
            }
        }
    }
}

/// A record waiting for the writer.
pub(super) struct Pending {
    pub rec: Map<String, Value>,
    pub reply: Reply,
}

pub(super) struct Writer {
    path: PathBuf,
    file: File,
    /// The same open file, for the inter-process lock (`flock` locks the
    /// open file description, which this duplicate shares).
    lock_handle: Arc<File>,
    /// The file's length after this writer's last write: another length
    /// means another process wrote since.
    len: u64,
    next_seq: u64,
    prev: String,
    broken: Arc<AtomicBool>,
    /// Flushes so far: records per flush is what group commit buys.
    flushes: Arc<AtomicU64>,
    /// Set by tests: the next flush fails with ENOSPC.
    fail_next: Arc<AtomicBool>,
    options: AuditOptions,
    /// This writer's records since its last checkpoint, and when the
    /// first of them was written.
    uncovered: u64,
    uncovered_since: Option<std::time::Instant>,
    ocsf: Option<super::ocsf::Tap>,
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// Holds the file's exclusive lock until dropped.
struct Locked(Arc<File>);

impl Locked {
    fn take(file: Arc<File>) -> std::io::Result<Locked> {
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

impl Drop for Locked {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl Writer {
    /// Open the file and bring the chain's head up to date (setting aside
    /// a torn tail, and with `repair` an unreadable last line), on the
    /// caller's thread so that a log that cannot be continued is refused
    /// before anything is served.
    pub fn open(path: &Path, repair: bool, options: AuditOptions) -> Result<Writer, AuditError> {
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
        let lock_handle = Arc::new(file.try_clone().map_err(io)?);
        let ocsf = match &options.ocsf_log {
            Some(p) => Some(super::ocsf::Tap::open(p).map_err(|source| AuditError::Io {
                path: p.display().to_string(),
                source,
            })?),
            None => None,
        };
        let mut w = Writer {
            ocsf,
            path: path.to_path_buf(),
            file,
            lock_handle,
            // Unknown until read: forces a scan on first use.
            len: u64::MAX,
            next_seq: 0,
            prev: GENESIS.to_string(),
            broken: Arc::new(AtomicBool::new(false)),
            flushes: Arc::new(AtomicU64::new(0)),
            fail_next: Arc::new(AtomicBool::new(false)),
            options,
            uncovered: 0,
            uncovered_since: None,
        };
        let _lock = w.lock_current()?;
        // Before anything is written (a `recovered` record, say).
        w.check_key()?;
        w.catch_up(repair)?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A chain goes on with the key it was written with: refuse to extend
    /// a keyed chain unkeyed, an unkeyed one keyed, or one under another key.
    fn check_key(&mut self) -> Result<(), AuditError> {
        let Some(found) = tail::last_key(&mut self.file).map_err(|e| self.io(e))? else {
            return Ok(());
        };
        let configured = self.options.key.as_ref().map(|k| k.id().to_string());
        if found == configured {
            return Ok(());
        }
        Err(AuditError::KeyMismatch {
            path: self.path.display().to_string(),
            found: found.map_or("unkeyed".into(), |id| format!("keyed with chain key {id}")),
            configured: configured.map_or("gives no chain key".into(), |id| {
                format!("gives chain key {id}")
            }),
        })
    }

    pub fn broken_flag(&self) -> Arc<AtomicBool> {
        self.broken.clone()
    }

    pub fn fail_next_flag(&self) -> Arc<AtomicBool> {
        self.fail_next.clone()
    }

    pub fn flush_count(&self) -> Arc<AtomicU64> {
        self.flushes.clone()
    }

    fn io(&self, source: std::io::Error) -> AuditError {
        AuditError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// How long the writer may wait for records before a checkpoint is
    /// due; `None` when none is pending.
    fn checkpoint_wait(&self) -> Option<std::time::Duration> {
        self.options.signer.as_ref()?;
        let since = self.uncovered_since?;
        Some(
            self.options
                .checkpoint_interval
                .saturating_sub(since.elapsed()),
        )
    }

    /// The thread's loop: one batch per turn until every sender is gone,
    /// then a last checkpoint.
    pub fn run(mut self, queue: mpsc::Receiver<Pending>) {
        loop {
            let first = match self.checkpoint_wait() {
                None => match queue.recv() {
                    Ok(p) => p,
                    Err(_) => break,
                },
                Some(wait) => match queue.recv_timeout(wait) {
                    Ok(p) => p,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.checkpoint_now();
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            let (recs, replies): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|p| (p.rec, p.reply)).unzip();
            let count = recs.len() as u64;
            match self.commit(recs) {
                Ok(()) => replies.into_iter().for_each(|r| r.send(Ok(()))),
                Err(e) => {
                    for r in replies {
                        r.send(Err(e.duplicate()));
                    }
                    continue;
                }
            }
            if self.options.signer.is_some() {
                self.uncovered += count;
                self.uncovered_since
                    .get_or_insert_with(std::time::Instant::now);
                if self.uncovered >= self.options.checkpoint_every {
                    self.checkpoint_now();
                }
            }
        }
        if self.uncovered > 0 {
            self.checkpoint_now();
        }
    }

    /// Sign the chain's head and append the signature as a record. A
    /// failure is logged and leaves the log refused like any failed write.
    fn checkpoint_now(&mut self) {
        let Some(signer) = self.options.signer.clone() else {
            return;
        };
        // Never sign a head after a failed write: it may hold records that
        // did not become durable.
        if self.broken.load(Ordering::Acquire) {
            return;
        }
        let result = (|| {
            let _lock = self.lock_current()?;
            self.catch_up(false)?;
            self.checkpoint_locked(&signer)
        })();
        self.uncovered = 0;
        self.uncovered_since = None;
        if let Err(e) = result {
            tracing::error!(error = %e, "audit log: a signed checkpoint could not be written");
        }
    }

    /// With the lock held and the head current: sign it.
    fn checkpoint_locked(&mut self, signer: &super::CheckpointSigner) -> Result<(), AuditError> {
        {
            let Some(seq) = self.next_seq.checked_sub(1) else {
                return Ok(());
            };
            let segment = self.segment_name()?;
            let key = self.options.key.as_ref().map(|k| k.id().to_string());
            let c = Checkpoint {
                segment: &segment,
                seq,
                head: &self.prev,
                key: key.as_deref(),
            };
            let rec = json!({
                "kind": "checkpoint",
                "segment": segment,
                "covers": seq,
                "head": self.prev,
                "signer": signer.id(),
                "sig": signer.sign(&c),
            });
            let Value::Object(rec) = rec else {
                return Err(AuditError::NotAnObject);
            };
            self.write_lines(vec![rec])
        }
    }

    /// Append a batch under the file lock and flush it once.
    fn commit(&mut self, recs: Vec<Map<String, Value>>) -> Result<(), AuditError> {
        if self.broken.load(Ordering::Acquire) {
            return Err(AuditError::Broken {
                path: self.path.display().to_string(),
            });
        }
        let _lock = self.lock_current()?;
        self.catch_up(false)?;
        self.write_lines(recs)?;
        if self.rotation_due() {
            // The batch is durable either way; a rotation that fails is
            // retried after the next one.
            if let Err(e) = self.rotate() {
                tracing::error!(error = %e, "audit log: rotation failed; the log goes on in the same file");
            }
        }
        Ok(())
    }

    /// Lock the file at the log's path. If another writer rotated it since
    /// this one opened it, the file this writer holds is a sealed segment:
    /// open the new one (its head is read by `catch_up`).
    fn lock_current(&mut self) -> Result<Locked, AuditError> {
        loop {
            let lock = Locked::take(self.lock_handle.clone()).map_err(|e| self.io(e))?;
            if self.holds_current_file().map_err(|e| self.io(e))? {
                return Ok(lock);
            }
            drop(lock);
            // Never created here: a log that vanished was removed or moved,
            // and a fresh chain in its place would hide that.
            let mut file = match OpenOptions::new().append(true).read(true).open(&self.path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(self.replaced("the file was removed or renamed".into()))
                }
                Err(e) => return Err(self.io(e)),
            };
            // A rotation's new file starts with `segment_start` at or past
            // this writer's head; anything else is a replacement.
            if self.len != u64::MAX {
                let first = tail::first_record(&mut file).map_err(|e| self.io(e))?;
                let continues = first.as_ref().is_some_and(|r| {
                    r["kind"] == "segment_start"
                        && r["seq"].as_u64().is_some_and(|s| s >= self.next_seq)
                });
                if !continues {
                    return Err(self.replaced(
                        "the file now at its path does not start where this chain goes on".into(),
                    ));
                }
            }
            self.lock_handle = Arc::new(file.try_clone().map_err(|e| self.io(e))?);
            self.file = file;
            self.len = u64::MAX;
        }
    }

    /// The log was tampered with under a running writer: refuse it from
    /// now on.
    fn replaced(&self, why: String) -> AuditError {
        self.broken.store(true, Ordering::Release);
        tracing::error!(log = %self.path.display(), why = %why, "audit log: not continuing a log that was cut or replaced");
        AuditError::Replaced {
            path: self.path.display().to_string(),
            why,
        }
    }

    fn holds_current_file(&self) -> std::io::Result<bool> {
        use std::os::unix::fs::MetadataExt;
        let held = self.file.metadata()?;
        match std::fs::metadata(&self.path) {
            Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The name this file gets when it is sealed: the log's file name and
    /// the seq of its first record, so segments sort in chain order.
    fn segment_name(&mut self) -> Result<String, AuditError> {
        let first = tail::first_seq(&mut self.file)
            .map_err(|e| self.io(e))?
            .unwrap_or(self.next_seq);
        Ok(format!("{}.{first:012}", segment_name(&self.path)))
    }

    fn rotation_due(&self) -> bool {
        let by_size = self.options.rotate_bytes.is_some_and(|max| self.len >= max);
        let by_age = self.options.rotate_age.is_some_and(|max| {
            self.file
                .metadata()
                .and_then(|m| m.created())
                .ok()
                .and_then(|c| c.elapsed().ok())
                .is_some_and(|age| age >= max)
        });
        by_size || by_age
    }

    /// Seal the current file and go on in a new one (lock held, head
    /// current). The path never stops naming a file: the new file is
    /// written aside, the old one gets its sealed name as a second link,
    /// and the new one is renamed over the path. Its first record links
    /// the sealed file's head, so the chain runs on across files.
    fn rotate(&mut self) -> Result<(), AuditError> {
        if let Some(signer) = self.options.signer.clone() {
            self.checkpoint_locked(&signer)?;
            self.uncovered = 0;
            self.uncovered_since = None;
        }
        let sealed_name = self.segment_name()?;
        let sealed = self.path.with_file_name(&sealed_name);
        let io = |e| self.io(e);
        let tmp = self.path.with_file_name(format!(
            ".{}.rotating-{}",
            segment_name(&self.path),
            std::process::id()
        ));
        let mut start = Map::new();
        start.insert("kind".into(), json!("segment_start"));
        start.insert("previous".into(), json!(sealed_name));
        let (rec, hash) = self.chain(start, self.next_seq, &self.prev);
        let line = canonical::to_string(&rec) + "\n";
        // Append mode like every handle on the log: another writer appends
        // to this file once it is the log, and a write at a stale offset
        // would overwrite its records.
        let _ = std::fs::remove_file(&tmp);
        let mut next = OpenOptions::new()
            .create_new(true)
            .append(true)
            .read(true)
            .open(&tmp)
            .map_err(io)?;
        next.write_all(line.as_bytes())
            .and_then(|_| next.sync_all())
            .map_err(io)?;
        // Held until the rename is durable: a process that opens the new
        // file meanwhile waits, so nothing is decided in a file whose name
        // a crash could still take back.
        let _new_lock = Locked::take(Arc::new(next.try_clone().map_err(io)?)).map_err(io)?;
        match std::fs::hard_link(&self.path, &sealed) {
            Ok(()) => {}
            // A crash after the link and before the rename: the sealed
            // name is already this very file.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                use std::os::unix::fs::MetadataExt;
                let (a, b) = (
                    std::fs::metadata(&sealed).map_err(io)?,
                    self.file.metadata().map_err(io)?,
                );
                if (a.dev(), a.ino()) != (b.dev(), b.ino()) {
                    return Err(self.io(std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        format!(
                            "{} exists and is another file; move it away",
                            sealed.display()
                        ),
                    )));
                }
            }
            Err(e) => return Err(self.io(e)),
        }
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        {
            use std::os::unix::fs::PermissionsExt;
            // Sealed: nobody writes to it again (a hostile root still can:
            // that is what the keyed chain and the archive are for).
            std::fs::set_permissions(&sealed, std::fs::Permissions::from_mode(0o440))
                .map_err(io)?;
        }
        tail::sync_dir(self.path.parent().unwrap_or(Path::new("."))).map_err(io)?;
        tracing::info!(sealed = %sealed.display(), "audit log rotated");
        self.lock_handle = Arc::new(next.try_clone().map_err(io)?);
        self.file = next;
        self.len = line.len() as u64;
        self.next_seq += 1;
        self.prev = hash;
        Ok(())
    }

    /// A record chained as number `seq` after `prev`: the record as
    /// written, and its hash.
    fn chain(&self, rec: Map<String, Value>, seq: u64, prev: &str) -> (Value, String) {
        let key = self.options.key.as_deref();
        let mut rec = bound::bound(rec);
        rec.insert("seq".into(), Value::from(seq));
        rec.insert("ts".into(), Value::String(now_rfc3339()));
        rec.insert("prev".into(), Value::String(prev.to_string()));
        if let Some(k) = key {
            rec.insert("key".into(), Value::String(k.id().to_string()));
        }
        let hash = record_hash(key, prev, &rec);
        rec.insert("hash".into(), Value::String(hash.clone()));
        (Value::Object(rec), hash)
    }

    /// With the file lock held: if the file is not as this writer left it,
    /// read its last record (setting aside a torn tail, and with `repair`
    /// an unreadable last line too).
    fn catch_up(&mut self, repair: bool) -> Result<(), AuditError> {
        let len = self.file.metadata().map_err(|e| self.io(e))?.len();
        if len == self.len && !repair {
            return Ok(());
        }
        // Writers only append (a failed write is taken back to where that
        // writer found the file, never before this one's last record): a
        // shorter file was cut.
        if self.len != u64::MAX && len < self.len {
            return Err(self.replaced(format!(
                "it is {len} bytes, shorter than the {} bytes this writer left",
                self.len
            )));
        }
        let known_next = (self.len != u64::MAX).then_some(self.next_seq);
        let scan = tail::scan(&mut self.file).map_err(|e| self.io(e))?;
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
            self.adopt(&scan);
            if let Some(next) = known_next.filter(|&n| self.next_seq < n) {
                return Err(self.replaced(format!(
                    "its last record is seq {}, before this writer's last ({})",
                    self.next_seq.saturating_sub(1),
                    next.saturating_sub(1)
                )));
            }
            return Ok(());
        };
        let aside = tail::set_aside(&mut self.file, &self.path, cut).map_err(|e| self.io(e))?;
        let rescan = tail::scan(&mut self.file).map_err(|e| self.io(e))?;
        if let Err(problem) = &rescan.last {
            return Err(AuditError::BadTail {
                path: self.path.display().to_string(),
                problem: format!(
                    "after setting {} aside: {problem}",
                    aside.side_file.display()
                ),
            });
        }
        self.adopt(&rescan);
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
        self.write_lines(vec![rec])
    }

    fn adopt(&mut self, scan: &tail::Scan) {
        let (next_seq, prev) = match &scan.last {
            Ok(Some((seq, hash))) => (seq.saturating_add(1), hash.clone()),
            _ => (0, GENESIS.to_string()),
        };
        self.len = scan.len;
        self.next_seq = next_seq;
        self.prev = prev;
    }

    /// Chain the records in order, write them in one go and flush once.
    /// The head moves only once they are durable.
    fn write_lines(&mut self, recs: Vec<Map<String, Value>>) -> Result<(), AuditError> {
        let mut next_seq = self.next_seq;
        let mut prev = self.prev.clone();
        let mut text = String::new();
        let mut as_written = Vec::new();
        for rec in recs {
            let (rec, hash) = self.chain(rec, next_seq, &prev);
            text.push_str(&canonical::to_string(&rec));
            text.push('\n');
            if self.ocsf.is_some() {
                as_written.push(rec);
            }
            next_seq += 1;
            prev = hash;
        }
        let written = if self.fail_next.swap(false, Ordering::AcqRel) {
            self.file
                .write_all(text.as_bytes())
                .and_then(|_| Err(std::io::Error::from_raw_os_error(28)))
        } else {
            self.file
                .write_all(text.as_bytes())
                .and_then(|_| self.file.sync_data())
        };
        if let Err(source) = written {
            // The records may be in the file without being durable, and
            // their calls will not run: take them back out, so neither this
            // chain nor another writer's continues from decisions that did
            // not hold. Best effort: the log is refused from now on anyway.
            if self.len != u64::MAX {
                let _ = self.file.set_len(self.len);
            }
            self.broken.store(true, Ordering::Release);
            return Err(self.io(source));
        }
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.len = self.len.saturating_add(text.len() as u64);
        self.next_seq = next_seq;
        self.prev = prev;
        if let Some(tap) = self.ocsf.as_mut() {
            if let Err(e) = tap.feed(&as_written) {
                // The native log is the record; its OCSF copy can be
                // exported again from it.
                tracing::error!(error = %e, "audit log: the OCSF copy could not be written");
            }
        }
        Ok(())
    }
}

/// The name a checkpoint gives the file it covers: its file name, so a
/// checkpoint still names it after the file is moved (archived).
pub(super) fn segment_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The last record's key id against the configured key.
pub(super) fn key_mismatch(
    path: &Path,
    found: Option<String>,
    key: Option<&super::ChainKey>,
) -> Result<(), AuditError> {
    let configured = key.map(|k| k.id().to_string());
    if found == configured {
        return Ok(());
    }
    Err(AuditError::KeyMismatch {
        path: path.display().to_string(),
        found: found.map_or("unkeyed".into(), |id| format!("keyed with chain key {id}")),
        configured: configured.map_or("gives no chain key".into(), |id| {
            format!("gives chain key {id}")
        }),
    })
}
