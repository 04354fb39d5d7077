//! `portcullis audit verify`: walk a log and check every link of the chain.

use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::Value;

use super::{record_hash, GENESIS};

/// A verified log: how many records, and the hash of the last one. Keep
/// the head hash somewhere else (a ticket, a second system): a log cut
/// short at the end still verifies, but its head no longer matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub head: String,
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
}

pub fn verify_file(path: &Path) -> Result<VerifyReport, VerifyError> {
    let p = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| VerifyError::Io {
        path: p.clone(),
        message: e.to_string(),
    })?;
    let mut prev = GENESIS.to_string();
    let mut count = 0u64;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i as u64 + 1;
        let broken = |problem: String| VerifyError::Broken {
            path: p.clone(),
            line: n,
            problem,
        };
        let line = line.map_err(|e| broken(format!("unreadable line: {e}")))?;
        let Ok(Value::Object(mut rec)) = serde_json::from_str::<Value>(&line) else {
            return Err(broken("not a JSON object".into()));
        };
        let seq = rec.get("seq").and_then(Value::as_u64);
        if seq != Some(count) {
            return Err(broken(format!(
                "sequence number is {}, expected {count}: a record was removed, inserted or reordered",
                seq.map_or("missing".to_string(), |s| s.to_string())
            )));
        }
        if rec.get("prev").and_then(Value::as_str) != Some(prev.as_str()) {
            return Err(broken(
                "prev does not match the hash of the record before it".into(),
            ));
        }
        let Some(Value::String(claimed)) = rec.remove("hash") else {
            return Err(broken("record has no hash".into()));
        };
        let actual = record_hash(&prev, &rec);
        if actual != claimed {
            return Err(broken(
                "hash does not match the record's content: the record was edited".into(),
            ));
        }
        prev = claimed;
        count += 1;
    }
    Ok(VerifyReport {
        records: count,
        head: prev,
    })
}
