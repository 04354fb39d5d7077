//! The end of an existing log: where its last complete record is, whether
//! a crash left a torn line after it, and how to set a torn or unreadable
//! end aside so the chain can continue.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// How much is read at a time while looking backwards for a newline.
const CHUNK: u64 = 64 << 10;

/// What the end of a log holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The file's length.
    pub len: u64,
    /// Where the bytes after the last newline start (`len` if none).
    pub complete_end: u64,
    /// Where the last complete line starts.
    pub last_line_start: u64,
    /// The last complete record's `seq` and `hash`; `Ok(None)` for a log
    /// with no complete line; `Err` names what is wrong with that line.
    pub last: Result<Option<(u64, String)>, String>,
}

/// The state of a log as `check` reports it and `serve` acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogState {
    /// No file yet, or an empty one: a new chain starts.
    New,
    /// Ends with a complete, chained record.
    Intact { records: u64 },
    /// A crash cut the last write short: recovered automatically on open.
    TornTail { bytes: u64 },
    /// The last complete line is not a record: `audit repair` is needed.
    NeedsRepair { problem: String },
}

impl Scan {
    pub fn torn_bytes(&self) -> u64 {
        self.len - self.complete_end
    }

    pub fn state(&self) -> LogState {
        match &self.last {
            Err(problem) => LogState::NeedsRepair {
                problem: problem.clone(),
            },
            Ok(_) if self.torn_bytes() > 0 => LogState::TornTail {
                bytes: self.torn_bytes(),
            },
            Ok(None) => LogState::New,
            Ok(Some((seq, _))) => LogState::Intact {
                records: seq.saturating_add(1),
            },
        }
    }
}

impl std::fmt::Display for LogState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogState::New => write!(f, "new (no records yet)"),
            LogState::Intact { records } => write!(f, "intact ({records} records)"),
            LogState::TornTail { bytes } => write!(
                f,
                "torn tail ({bytes} bytes of an unfinished write; set aside automatically when the server starts)"
            ),
            LogState::NeedsRepair { problem } => write!(f, "needs repair ({problem})"),
        }
    }
}

/// The offset just after the last `\n` at or before `end`, or 0.
fn line_start_before(file: &mut File, end: u64) -> std::io::Result<u64> {
    let mut pos = end;
    let mut buf = vec![0u8; CHUNK as usize];
    while pos > 0 {
        let start = pos.saturating_sub(CHUNK);
        let n = (pos - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        pos = start;
    }
    Ok(0)
}

fn read_range(file: &mut File, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
    let mut out = vec![0u8; (to - from) as usize];
    file.seek(SeekFrom::Start(from))?;
    file.read_exact(&mut out)?;
    Ok(out)
}

/// Find the last complete record however long it is.
pub fn scan(file: &mut File) -> std::io::Result<Scan> {
    let len = file.metadata()?.len();
    let complete_end = line_start_before(file, len)?;
    if complete_end == 0 {
        return Ok(Scan {
            len,
            complete_end,
            last_line_start: 0,
            last: Ok(None),
        });
    }
    // `complete_end - 1` is the newline ending the last complete line.
    let last_line_start = line_start_before(file, complete_end - 1)?;
    let line = read_range(file, last_line_start, complete_end - 1)?;
    Ok(Scan {
        len,
        complete_end,
        last_line_start,
        last: parse_link(&line).map(Some),
    })
}

fn parse_link(line: &[u8]) -> Result<(u64, String), String> {
    let rec: Value =
        serde_json::from_slice(line).map_err(|_| "the last line is not JSON".to_string())?;
    let seq = rec
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or("the last record has no seq")?;
    let hash = rec
        .get("hash")
        .and_then(Value::as_str)
        .ok_or("the last record has no hash")?;
    Ok((seq, hash.to_string()))
}

/// The chain key id the last complete record names: `Some(None)` for an
/// unkeyed record, `None` when there is no readable last record to ask.
pub fn last_key(file: &mut File) -> std::io::Result<Option<Option<String>>> {
    let s = scan(file)?;
    if s.complete_end == 0 {
        return Ok(None);
    }
    let line = read_range(file, s.last_line_start, s.complete_end - 1)?;
    Ok(serde_json::from_slice::<Value>(&line)
        .ok()
        .map(|r| r.get("key").and_then(Value::as_str).map(String::from)))
}

/// A file's first record, if it has a readable one (at most one record's
/// length is read).
pub fn first_record(file: &mut File) -> std::io::Result<Option<Value>> {
    use std::io::BufRead;
    file.seek(SeekFrom::Start(0))?;
    let mut first = Vec::new();
    std::io::BufReader::new(&mut *file)
        .take(crate::audit::MAX_RECORD as u64 + 1)
        .read_until(b'\n', &mut first)?;
    Ok(serde_json::from_slice::<Value>(&first).ok())
}

/// The `seq` of a file's first record, if it has a readable one.
pub fn first_seq(file: &mut File) -> std::io::Result<Option<u64>> {
    Ok(first_record(file)?.and_then(|r| r.get("seq").and_then(Value::as_u64)))
}

/// The state of the log at `path`, read only.
pub fn inspect(path: &Path) -> std::io::Result<LogState> {
    match File::open(path) {
        Ok(mut f) => Ok(scan(&mut f)?.state()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LogState::New),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
thread_local! {
    /// Directories synced on this thread, so tests can see that it happens.
    pub static DIR_SYNCS: std::cell::RefCell<Vec<PathBuf>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Make a newly created (or renamed) entry in `dir` durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(test)]
    DIR_SYNCS.with(|d| d.borrow_mut().push(dir.to_path_buf()));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)?.sync_all()
}

/// What was set aside: the side file, how many bytes, their SHA-256.
#[derive(Debug, Clone)]
pub struct SetAside {
    pub side_file: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

/// Move the bytes from `from` to the end of the log into a new side file
/// beside it (durably), then cut the log at `from`.
pub fn set_aside(file: &mut File, path: &Path, from: u64) -> std::io::Result<SetAside> {
    let len = file.metadata()?.len();
    let bytes = read_range(file, from, len)?;
    let sha256 = crate::util::sha256_hex(&bytes);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audit.jsonl".into());
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let side_file = path.with_file_name(format!("{name}.set-aside-{stamp}-{}", &sha256[..12]));
    let mut side = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&side_file)?;
    side.write_all(&bytes)?;
    side.sync_all()?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    file.set_len(from)?;
    file.sync_all()?;
    Ok(SetAside {
        side_file,
        bytes: bytes.len() as u64,
        sha256,
    })
}
