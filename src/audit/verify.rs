//! `portcullis audit verify`: walk a log and check every link of the chain,
//! every record's MAC when the chain key is given, and every checkpoint's
//! signature when the public key is given.

use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::Value;

use super::keys::{ChainKey, Checkpoint, CheckpointVerifier};
use super::{record_hash, GENESIS};

/// What to check beyond the links.
#[derive(Default, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// Check each record's HMAC; every record must then be keyed.
    pub key: Option<&'a ChainKey>,
    /// Check each checkpoint's signature; there must then be at least one.
    pub pubkey: Option<&'a CheckpointVerifier>,
}

/// A verified log. Keep the head hash somewhere else (a ticket, a second
/// system), or sign checkpoints: a log cut short at the end still verifies,
/// but its head no longer matches, and the records after the last
/// checkpoint are not covered by a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records in this file.
    pub records: u64,
    /// The seq of the first record, and whether it was checked against
    /// the head of the file before it (false only for a file that starts
    /// mid-chain and was verified without the segment before it).
    pub first_seq: u64,
    pub linked: bool,
    /// The file the first record names as the one before it (a rotated
    /// log's `segment_start`).
    pub previous: Option<String>,
    pub head: String,
    /// Keyed records whose MAC was not checked (no key given).
    pub unchecked_macs: u64,
    /// Checkpoints found; their signatures were checked if a public key
    /// was given.
    pub checkpoints: u64,
    /// The last record the last checkpoint covers.
    pub last_checkpoint: Option<u64>,
    /// Records after the last checkpoint (the checkpoint itself excluded).
    pub after_last_checkpoint: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("{path}: cannot read: {message}")]
    Io { path: String, message: String },
    #[error("{path}:{line}: {problem}")]
    Broken {
        path: String,
        line: u64,
        problem: String,
    },
    #[error("{path}: {problem}")]
    Unproven { path: String, problem: String },
}

/// [`verify`] with nothing beyond the links.
pub fn verify_file(path: &Path) -> Result<VerifyReport, VerifyError> {
    verify(path, VerifyOptions::default())
}

/// Verify one file on its own: from the start of the chain, or, if it
/// starts mid-chain (a rotated log), from its first record.
pub fn verify(path: &Path, opts: VerifyOptions<'_>) -> Result<VerifyReport, VerifyError> {
    verify_from(path, opts, None, true)
}

/// Verify files as one chain: ordered by their first record's seq (sealed
/// segments, then the live file), each continuing from the one before.
/// A file that does not continue the one before is reported as such.
pub fn verify_chain(
    paths: &[std::path::PathBuf],
    opts: VerifyOptions<'_>,
) -> Vec<(std::path::PathBuf, Result<VerifyReport, VerifyError>)> {
    // A shell glob over a log's directory also names its policy-set
    // directory: directories are not logs.
    let mut ordered: Vec<(Option<u64>, std::path::PathBuf)> = paths
        .iter()
        .filter(|p| !p.is_dir())
        .map(|p| {
            let first = std::fs::File::open(p)
                .ok()
                .and_then(|mut f| super::tail::first_seq(&mut f).ok().flatten());
            (first, p.clone())
        })
        .collect();
    // Stable: files that cannot be read keep their place at the end.
    ordered.sort_by_key(|(first, _)| first.unwrap_or(u64::MAX));
    let mut before: Option<(u64, String)> = None;
    let mut signed_before = false;
    let mut out = Vec::new();
    let last = ordered.len().saturating_sub(1);
    for (i, (_, path)) in ordered.into_iter().enumerate() {
        // A sealed segment ends with a checkpoint; the live file may have
        // none yet if the segments before it are signed.
        let require_checkpoint = i < last || !signed_before;
        let result = verify_from(&path, opts, before.take(), require_checkpoint);
        if let Ok(r) = &result {
            before = Some((r.first_seq.saturating_add(r.records), r.head.clone()));
            signed_before |= r.checkpoints > 0;
        }
        out.push((path, result));
    }
    out
}

/// Verify a file whose first record must be `start` (seq, the head before
/// it) if given.
fn verify_from(
    path: &Path,
    opts: VerifyOptions<'_>,
    start: Option<(u64, String)>,
    require_checkpoint: bool,
) -> Result<VerifyReport, VerifyError> {
    let p = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| VerifyError::Io {
        path: p.clone(),
        message: e.to_string(),
    })?;
    let linked = start.is_some();
    let mut file_mode: Option<Option<String>> = None;
    let (mut expected, head) = start.unwrap_or((0, GENESIS.to_string()));
    let mut report = VerifyReport {
        records: 0,
        first_seq: expected,
        linked: true,
        previous: None,
        head,
        unchecked_macs: 0,
        checkpoints: 0,
        last_checkpoint: None,
        after_last_checkpoint: 0,
    };
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let broken = |problem: String| VerifyError::Broken {
            path: p.clone(),
            line: i as u64 + 1,
            problem,
        };
        let line = line.map_err(|e| broken(format!("unreadable line: {e}")))?;
        let Ok(Value::Object(mut rec)) = serde_json::from_str::<Value>(&line) else {
            return Err(broken("not a JSON object".into()));
        };
        let seq = rec.get("seq").and_then(Value::as_u64);
        if report.records == 0 {
            report.previous = rec
                .get("previous")
                .and_then(Value::as_str)
                .map(String::from);
            // A file that starts mid-chain, given without the file before
            // it: start from its first record, if rotation wrote it (a log
            // whose first records were cut away does not start so).
            let segment_start = rec.get("kind").and_then(Value::as_str) == Some("segment_start");
            if let (false, true, Some(first), Some(prev)) = (
                linked,
                segment_start,
                seq,
                rec.get("prev").and_then(Value::as_str),
            ) {
                if first > 0 {
                    expected = first;
                    report.first_seq = first;
                    report.linked = false;
                    report.head = prev.to_string();
                }
            }
        }
        let count = expected;
        if seq != Some(count) {
            return Err(broken(format!(
                "sequence number is {}, expected {count}: a record was removed, inserted or reordered",
                seq.map_or("missing".to_string(), |s| s.to_string())
            )));
        }
        let prev = report.head.clone();
        if rec.get("prev").and_then(Value::as_str) != Some(prev.as_str()) {
            return Err(broken(
                "prev does not match the hash of the record before it".into(),
            ));
        }
        let Some(Value::String(claimed)) = rec.remove("hash") else {
            return Err(broken("record has no hash".into()));
        };
        let keyed_with = rec.get("key").and_then(Value::as_str);
        // One file, one key mode: its first record's. A `key` field added
        // to an unkeyed record (so that, without the key, its content goes
        // unchecked) is an edit.
        let mode = file_mode.get_or_insert_with(|| keyed_with.map(String::from));
        if mode.as_deref() != keyed_with {
            return Err(broken(format!(
                "the record's chain key ({}) is not its file's ({}): the record was edited",
                keyed_with.unwrap_or("none"),
                mode.as_deref().unwrap_or("none")
            )));
        }
        match (keyed_with, opts.key) {
            (Some(id), Some(key)) if id != key.id() => {
                return Err(broken(format!(
                    "the record is keyed with chain key {id}, not the one given ({})",
                    key.id()
                )))
            }
            (Some(_), Some(key)) => {
                if record_hash(Some(key), &prev, &rec) != claimed {
                    return Err(broken(
                        "the MAC does not match the record's content: the record was edited".into(),
                    ));
                }
            }
            (Some(_), None) => report.unchecked_macs += 1,
            (None, Some(_)) => {
                return Err(broken(
                    "the record is not keyed, but a chain key was given: every record of a keyed \
                     chain carries its MAC, and one rewritten without the key loses it"
                        .into(),
                ))
            }
            (None, None) => {
                if record_hash(None, &prev, &rec) != claimed {
                    return Err(broken(
                        "hash does not match the record's content: the record was edited".into(),
                    ));
                }
            }
        }
        if rec.get("kind").and_then(Value::as_str) == Some("checkpoint") {
            check_checkpoint(&rec, count, &prev, keyed_with, opts.pubkey).map_err(broken)?;
            report.checkpoints += 1;
            report.last_checkpoint = count.checked_sub(1);
            report.after_last_checkpoint = 0;
        } else {
            report.after_last_checkpoint += 1;
        }
        report.head = claimed;
        report.records += 1;
        expected = expected
            .checked_add(1)
            .ok_or_else(|| broken("sequence number overflows".into()))?;
    }
    if opts.pubkey.is_some() && require_checkpoint && report.checkpoints == 0 && report.records > 0
    {
        return Err(VerifyError::Unproven {
            path: p,
            problem: "no signed checkpoint: nothing proves how long this log was".into(),
        });
    }
    Ok(report)
}

/// A checkpoint covers the record just before it, and with a public key
/// its signature must verify.
fn check_checkpoint(
    rec: &serde_json::Map<String, Value>,
    seq: u64,
    prev: &str,
    key: Option<&str>,
    pubkey: Option<&CheckpointVerifier>,
) -> Result<(), String> {
    let Some(covered) = seq.checked_sub(1) else {
        return Err("a checkpoint cannot be the first record: it covers none".into());
    };
    let covers = rec.get("covers").and_then(Value::as_u64);
    let head = rec.get("head").and_then(Value::as_str);
    if covers != Some(covered) || head != Some(prev) {
        return Err("the checkpoint does not cover the record before it".into());
    }
    let Some(pubkey) = pubkey else {
        return Ok(());
    };
    let signer = rec.get("signer").and_then(Value::as_str).unwrap_or("");
    if signer != pubkey.id() {
        return Err(format!(
            "the checkpoint is signed by key {signer}, not the public key given ({})",
            pubkey.id()
        ));
    }
    let c = Checkpoint {
        segment: rec.get("segment").and_then(Value::as_str).unwrap_or(""),
        seq: covered,
        head: prev,
        key,
    };
    let sig = rec.get("sig").and_then(Value::as_str).unwrap_or("");
    if !pubkey.verify(&c, sig) {
        return Err("the checkpoint's signature does not verify".into());
    }
    Ok(())
}
