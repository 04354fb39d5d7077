//! The `[state]` section: where replicas share approval requests,
//! break-glass grants and rate-limit buckets.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use super::{resolve, ConfigError, Env};
use crate::state::{RedisSettings, WhenUnreachable};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateSection {
    /// `redis://host:6379/0`, or `rediss://user@host:6380/0` for TLS (and an
    /// ACL user). No password here: `password_env` names where it is.
    redis_url: Option<String>,
    password_env: Option<String>,
    /// Root certificate(s) to trust for `rediss://`, PEM (else the system's).
    ca_file: Option<PathBuf>,
    /// Keys start with this (several deployments on one Redis).
    key_prefix: Option<String>,
    /// `deny` (default) or `local`.
    rate_limits_if_unreachable: Option<String>,
    /// The environment variable holding the secret the replicas share to
    /// bind approval requests to calls (at least 32 bytes).
    binding_key_env: Option<String>,
}

/// Shared state, when configured.
#[derive(Debug, Clone)]
pub struct StateConfig {
    pub redis: RedisSettings,
    pub rate_limits_if_unreachable: WhenUnreachable,
    /// Keys approval bindings, so what Redis holds cannot be used to test
    /// guesses of secret arguments.
    pub binding_key: SecretString,
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid(format!("[state] {message}"))
}

pub(super) fn state(
    s: StateSection,
    base: &Path,
    env: &dyn Env,
) -> Result<Option<StateConfig>, ConfigError> {
    let Some(text) = s.redis_url else {
        if s.password_env.is_some() || s.ca_file.is_some() || s.key_prefix.is_some() {
            return Err(invalid(
                "password_env, ca_file and key_prefix need redis_url".into(),
            ));
        }
        return Ok(None);
    };
    let password = match s.password_env {
        Some(var) => {
            Some(SecretString::from(env.var(&var).ok_or_else(|| {
                invalid(format!("password_env {var} is not set"))
            })?))
        }
        None => None,
    };
    let prefix = s.key_prefix.unwrap_or_else(|| "portcullis".into());
    if prefix.is_empty()
        || prefix.len() > 64
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(invalid(format!(
            "key_prefix {prefix:?}: 1 to 64 letters, digits, '-', '_' and '.'"
        )));
    }
    let rate_limits_if_unreachable = match s.rate_limits_if_unreachable.as_deref() {
        None | Some("deny") => WhenUnreachable::Deny,
        Some("local") => WhenUnreachable::Local,
        Some(other) => {
            return Err(invalid(format!(
                "rate_limits_if_unreachable {other:?}: \"deny\" (refuse limited calls) or \"local\" (count in this process until Redis is back)"
            )))
        }
    };
    let ca = s.ca_file.map(|f| resolve(base, &f));
    let redis = RedisSettings::parse(&text, password, ca.as_deref(), prefix).map_err(invalid)?;
    let Some(var) = s.binding_key_env else {
        return Err(invalid(
            "binding_key_env is required with redis_url: name an environment variable holding a secret of at \
             least 32 bytes, the same on every replica (e.g. `openssl rand -hex 32`); it keys approval bindings \
             so that what Redis holds cannot be used to guess secret arguments"
                .into(),
        ));
    };
    let binding_key = env
        .var(&var)
        .filter(|k| k.len() >= 32)
        .map(SecretString::from)
        .ok_or_else(|| {
            invalid(format!(
                "binding_key_env {var} is not set to a secret of at least 32 bytes"
            ))
        })?;
    Ok(Some(StateConfig {
        redis,
        rate_limits_if_unreachable,
        binding_key,
    }))
}
