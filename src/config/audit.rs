//! The `[audit]` section: the chain key and the checkpoint signing key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{resolve, ConfigError, Env};
use crate::audit::{AuditOptions, ChainKey, CheckpointSigner};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditSection {
    /// A file holding the chain's HMAC key (at least 32 bytes of text).
    chain_key_file: Option<PathBuf>,
    /// Or an environment variable holding it.
    chain_key_env: Option<String>,
    /// An Ed25519 private key (PKCS#8 PEM) that signs checkpoints.
    signing_key_file: Option<PathBuf>,
    checkpoint_every_records: Option<u64>,
    checkpoint_interval_seconds: Option<u64>,
    /// Also write each call as an OCSF API Activity event here.
    ocsf_log: Option<PathBuf>,
    /// Seal the log and start a new file past this many bytes...
    rotate_bytes: Option<u64>,
    /// ...or this many seconds after the file was created.
    rotate_seconds: Option<u64>,
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid(format!("[audit] {message}"))
}

/// Read a key file as a secret (the same reader as endpoint secrets).
fn read_file(path: &Path) -> Result<SecretString, ConfigError> {
    super::endpoint::read_secret_file(path).map_err(invalid)
}

/// The chain key from wherever the configuration says, if anywhere.
pub fn chain_key(
    file: Option<&Path>,
    var: Option<&str>,
    env: &dyn Env,
) -> Result<Option<ChainKey>, ConfigError> {
    let (text, what) = match (file, var) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "give chain_key_file or chain_key_env, not both".into(),
            ))
        }
        (Some(f), None) => (read_file(f)?, format!("chain key file {}", f.display())),
        (None, Some(v)) => (
            env.var(v)
                .map(SecretString::from)
                .ok_or_else(|| invalid(format!("chain_key_env: {v} is not set")))?,
            format!("environment variable {v}"),
        ),
        (None, None) => return Ok(None),
    };
    ChainKey::from_text(text, &what)
        .map(Some)
        .map_err(|e| invalid(e.to_string()))
}

pub(super) fn audit(
    section: Option<AuditSection>,
    base: &Path,
    env: &dyn Env,
) -> Result<AuditOptions, ConfigError> {
    let s = section.unwrap_or_default();
    let defaults = AuditOptions::default();
    let key_file = s.chain_key_file.map(|f| resolve(base, &f));
    let key = chain_key(key_file.as_deref(), s.chain_key_env.as_deref(), env)?;
    let signer = match s.signing_key_file.map(|f| resolve(base, &f)) {
        Some(f) => Some(
            CheckpointSigner::from_pem(&read_file(&f)?, &f.display().to_string())
                .map_err(|e| invalid(e.to_string()))?,
        ),
        None => None,
    };
    let every = s
        .checkpoint_every_records
        .unwrap_or(defaults.checkpoint_every);
    if every == 0 {
        return Err(invalid(
            "checkpoint_every_records must be at least 1".into(),
        ));
    }
    let interval = s
        .checkpoint_interval_seconds
        .map_or(defaults.checkpoint_interval, Duration::from_secs);
    if interval.is_zero() {
        return Err(invalid(
            "checkpoint_interval_seconds must be at least 1".into(),
        ));
    }
    Ok(AuditOptions {
        key: key.map(Arc::new),
        signer: signer.map(Arc::new),
        checkpoint_every: every,
        checkpoint_interval: interval,
        ocsf_log: s.ocsf_log.map(|f| resolve(base, &f)),
        rotate_bytes: s.rotate_bytes.filter(|&b| b > 0),
        rotate_age: s.rotate_seconds.filter(|&s| s > 0).map(Duration::from_secs),
    })
}
