//! The `[archive]` section: where sealed audit segments go, off the host.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{resolve, ConfigError, Env};
use crate::audit::archive::{ArchiveConfig, Bucket, RetentionMode, S3Credentials};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ArchiveSection {
    /// `https://s3.eu-west-1.amazonaws.com`, or any S3-compatible endpoint
    /// (path-style requests). Plain HTTP only on loopback.
    endpoint: String,
    region: String,
    bucket: String,
    #[serde(default)]
    prefix: String,
    /// The environment variables holding the credentials (the standard
    /// AWS ones by default).
    access_key_id_env: Option<String>,
    secret_access_key_env: Option<String>,
    session_token_env: Option<String>,
    /// `COMPLIANCE` (nobody can shorten or remove it) or `GOVERNANCE`.
    retention_mode: String,
    retention_days: u64,
    /// Not ready (and with `fail_closed`, refusing calls) once the oldest
    /// sealed file is this old and still not archived.
    max_lag_seconds: Option<u64>,
    #[serde(default)]
    fail_closed: bool,
    interval_seconds: Option<u64>,
    /// Extra trusted root certificate(s), PEM.
    ca_file: Option<PathBuf>,
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid(format!("[archive] {message}"))
}

pub(super) fn archive(
    s: ArchiveSection,
    base: &std::path::Path,
    env: &dyn Env,
) -> Result<ArchiveConfig, ConfigError> {
    let endpoint = url::Url::parse(&s.endpoint)
        .map_err(|e| invalid(format!("endpoint {:?}: {e}", s.endpoint)))?;
    let loopback = crate::util::is_loopback_host(endpoint.host_str().unwrap_or_default());
    if endpoint.scheme() != "https" && !(endpoint.scheme() == "http" && loopback) {
        return Err(invalid(format!(
            "endpoint {} must be https (plain http only on loopback, for a local test server)",
            s.endpoint
        )));
    }
    if endpoint.path() != "/" || endpoint.query().is_some() {
        return Err(invalid(format!(
            "endpoint {} must be scheme://host[:port] only; the bucket is `bucket`",
            s.endpoint
        )));
    }
    let mode = match s.retention_mode.as_str() {
        "COMPLIANCE" => RetentionMode::Compliance,
        "GOVERNANCE" => RetentionMode::Governance,
        other => {
            return Err(invalid(format!(
                "retention_mode {other:?}: COMPLIANCE or GOVERNANCE"
            )))
        }
    };
    if !(1..=36_500).contains(&s.retention_days) {
        return Err(invalid("retention_days must be between 1 and 36500".into()));
    }
    let bucket_ok = (3..=63).contains(&s.bucket.len())
        && s.bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !bucket_ok {
        return Err(invalid(format!(
            "bucket {:?}: 3 to 63 lowercase letters, digits, '-' and '.'",
            s.bucket
        )));
    }
    if s.prefix.starts_with('/')
        || s.prefix.contains(['?', '#', '\\'])
        || s.prefix.split('/').any(|seg| seg == "." || seg == "..")
    {
        return Err(invalid(format!(
            "prefix {:?}: a relative key prefix without '.', '..', '?', '#' or '\\'",
            s.prefix
        )));
    }
    let var = |name: Option<String>, default: &str| name.unwrap_or_else(|| default.to_string());
    let (id_var, secret_var) = (
        var(s.access_key_id_env, "AWS_ACCESS_KEY_ID"),
        var(s.secret_access_key_env, "AWS_SECRET_ACCESS_KEY"),
    );
    let token_var = var(s.session_token_env, "AWS_SESSION_TOKEN");
    let access_key_id = env
        .var(&id_var)
        .ok_or_else(|| invalid(format!("the access key id: {id_var} is not set")))?;
    let secret_access_key = env
        .var(&secret_var)
        .map(SecretString::from)
        .ok_or_else(|| invalid(format!("the secret access key: {secret_var} is not set")))?;
    let mut http = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(Duration::from_secs(10));
    if let Some(ca) = s.ca_file.map(|f| resolve(base, &f)) {
        let pem =
            std::fs::read(&ca).map_err(|e| invalid(format!("ca_file {}: {e}", ca.display())))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| invalid(format!("ca_file {}: {e}", ca.display())))?
        {
            http = http.add_root_certificate(cert);
        }
    }
    let http = http
        .build()
        .map_err(|e| invalid(format!("HTTP client: {e}")))?;
    Ok(ArchiveConfig {
        bucket: Bucket {
            endpoint,
            region: s.region,
            bucket: s.bucket,
            credentials: S3Credentials {
                access_key_id,
                secret_access_key,
                session_token: env.var(&token_var).map(SecretString::from),
            },
            http,
        },
        prefix: s.prefix,
        mode,
        retain: Duration::from_secs(s.retention_days * 86_400),
        max_lag: Duration::from_secs(s.max_lag_seconds.unwrap_or(3_600).min(365 * 86_400)),
        fail_closed: s.fail_closed,
        interval: Duration::from_secs(s.interval_seconds.unwrap_or(30).clamp(1, 3_600)),
    })
}
