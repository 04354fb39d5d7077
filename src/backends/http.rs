//! The HTTP client every REST backend uses: TLS verified unless the
//! endpoint opts out, only the endpoint's own root certificates added,
//! redirects never followed, bounded time and body size.

use std::time::Duration;

use crate::config::Endpoint;

use super::BackendError;

/// Largest response body read from a backend.
pub const MAX_BODY: usize = 32 << 20;

pub fn client(ep: &Endpoint) -> Result<reqwest::Client, BackendError> {
    let setup = |detail: String| BackendError::Setup {
        endpoint: ep.name.clone(),
        detail,
    };
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ep.timeout)
        .connect_timeout(Duration::from_secs(10).min(ep.timeout))
        .pool_idle_timeout(Duration::from_secs(60))
        .https_only(true)
        .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &ep.ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| setup(format!("ca_file is not PEM: {e}")))?;
        if certs.is_empty() {
            return Err(setup("ca_file holds no certificate".into()));
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if !ep.tls_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    b.build().map_err(|e| setup(e.to_string()))
}

/// `host[:port]` of a URL, as its requests' Host header carries it (a
/// default port left out).
pub fn authority(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// Read a response body, refusing more than `MAX_BODY` bytes.
pub async fn read_body(
    endpoint: &str,
    timeout: Duration,
    resp: reqwest::Response,
) -> Result<Vec<u8>, BackendError> {
    read_body_limited(endpoint, timeout, resp, MAX_BODY).await
}

/// Read a response body, refusing more than `limit` bytes.
pub async fn read_body_limited(
    endpoint: &str,
    timeout: Duration,
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BackendError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| super::transport_error(endpoint, timeout, e))?
    {
        if body.len() + chunk.len() > limit {
            return Err(BackendError::TooLarge {
                endpoint: endpoint.to_string(),
                limit,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
