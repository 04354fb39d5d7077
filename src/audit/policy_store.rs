//! Policy sets kept by content beside the audit log, so that a decision
//! recorded with a policy-set digest can be decided again years later
//! (`portcullis audit explain`). One file per set, named by its digest,
//! never rewritten: `<log>.policy-sets/<digest>.json`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::policy::{set_digest, PolicySource};

/// Where the sets of the log at `log` are kept.
pub fn dir_for(log: &Path) -> PathBuf {
    let mut name = log.file_name().unwrap_or_default().to_os_string();
    name.push(".policy-sets");
    log.with_file_name(name)
}

/// Keep a set (once); the path it is kept at.
pub fn store(log: &Path, digest: &str, sources: &[PolicySource]) -> std::io::Result<PathBuf> {
    let dir = dir_for(log);
    let path = dir.join(format!("{digest}.json"));
    if path.exists() {
        return Ok(path);
    }
    if !dir.exists() {
        std::fs::create_dir_all(&dir)?;
        super::tail::sync_dir(dir.parent().unwrap_or(Path::new(".")))?;
    }
    let body = json!({
        "digest": digest,
        "files": sources.iter().map(|s| json!({"name": s.name, "text": s.text})).collect::<Vec<_>>(),
    });
    // Written whole under another name, then renamed: a reader never sees
    // half a set.
    let tmp = dir.join(format!(".{digest}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(serde_json::to_string_pretty(&body)?.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    super::tail::sync_dir(&dir)?;
    Ok(path)
}

/// The set with this digest, checked against it.
pub fn load(log: &Path, digest: &str) -> Result<Vec<PolicySource>, String> {
    let path = dir_for(log).join(format!("{digest}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "policy set {digest} is not kept at {}: {e} (it is written when a server starts or reloads)",
            path.display()
        )
    })?;
    let body: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let sources: Vec<PolicySource> = body["files"]
        .as_array()
        .ok_or_else(|| format!("{}: no files", path.display()))?
        .iter()
        .map(|f| PolicySource {
            name: f["name"].as_str().unwrap_or_default().to_string(),
            text: f["text"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let actual = set_digest(&sources);
    if actual != digest {
        return Err(format!(
            "{}: its content has digest {actual}, not {digest}: the kept set was altered",
            path.display()
        ));
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_kept_once_and_an_altered_copy_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.jsonl");
        let set = vec![PolicySource {
            name: "a.cedar".into(),
            text: "permit (principal, action, resource);".into(),
        }];
        let d = set_digest(&set);
        let path = store(&log, &d, &set).unwrap();
        assert_eq!(
            path,
            dir.path()
                .join("audit.jsonl.policy-sets")
                .join(format!("{d}.json"))
        );
        assert_eq!(load(&log, &d).unwrap()[0].text, set[0].text);
        std::fs::write(
            &path,
            std::fs::read_to_string(&path)
                .unwrap()
                .replace("permit", "forbid"),
        )
        .unwrap();
        let err = load(&log, &d).unwrap_err();
        assert!(err.contains("was altered"), "{err}");
        assert!(load(&log, "0000").unwrap_err().contains("not kept"));
    }
}
