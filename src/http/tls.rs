//! TLS served directly with rustls. The certificate and key are re-read when
//! either file's contents change (certificate rotation without a restart);
//! a client CA, when configured, lets clients authenticate with a
//! certificate.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;

use crate::config::TlsFiles;

/// How often the certificate files are checked for a change.
const POLL: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate {path}: {message}")]
    Cert { path: PathBuf, message: String },
    #[error("TLS key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("client CA {path}: {message}")]
    ClientCa { path: PathBuf, message: String },
    #[error("TLS setup: {0}")]
    Setup(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let cert_err = |message: String| TlsError::Cert {
        path: files.cert.clone(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| cert_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err("no PEM certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError::Key {
        path: files.key.clone(),
        message: e.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| TlsError::Key {
        path: files.key.clone(),
        message: format!("does not match the certificate or is unusable: {e}"),
    })
}

/// A digest of both files' contents. Contents, not modification times: two
/// writes within one clock tick share an mtime, and a rotation tool may
/// preserve times.
fn stamp(files: &TlsFiles) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for f in [&files.cert, &files.key] {
        let bytes = std::fs::read(f).unwrap_or_default();
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(&bytes);
    }
    h.finalize().into()
}

/// The current certificate, swapped when the files change.
#[derive(Debug)]
pub struct ReloadingCert {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
    last: Mutex<[u8; 32]>,
}

impl ReloadingCert {
    /// Re-read the files if they changed. A bad new pair is refused and the
    /// old certificate keeps serving: a botched rotation must not take the
    /// service down. Returns whether a new certificate was installed.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = stamp(&self.files);
        {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if *last == now {
                return Ok(false);
            }
            *last = now;
        }
        let key = load(&self.files, &provider())?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
        Ok(true)
    }

    /// The certificate chain being served.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The rustls configuration and the resolver to poll for rotations.
pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    pub cert: Arc<ReloadingCert>,
}

pub fn server_config(files: &TlsFiles) -> Result<Tls, TlsError> {
    let provider = provider();
    let cert = Arc::new(ReloadingCert {
        last: Mutex::new(stamp(files)),
        current: RwLock::new(Arc::new(load(files, &provider)?)),
        files: files.clone(),
    });
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let ca_err = |message: String| TlsError::ClientCa {
                path: ca.clone(),
                message,
            };
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca).map_err(|e| ca_err(e.to_string()))? {
                roots
                    .add(c.map_err(|e| ca_err(e.to_string()))?)
                    .map_err(|e| ca_err(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(ca_err("no PEM certificate in the file".into()));
            }
            // Certificates are optional at the TLS layer: clients with an API
            // key or a bearer token connect without one. A certificate that is
            // presented must verify, or the handshake fails.
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| ca_err(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(cert.clone());
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        config: Arc::new(config),
        cert,
    })
}

/// Poll the certificate files until the process ends.
pub fn watch(cert: Arc<ReloadingCert>, metrics: Arc<crate::metrics::Metrics>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match cert.reload_if_changed() {
                Ok(false) => {}
                Ok(true) => {
                    metrics.reload("tls", "applied");
                    tracing::info!(cert = %cert.files.cert.display(), "TLS certificate reloaded");
                }
                Err(e) => {
                    metrics.reload("tls", "refused");
                    tracing::error!(error = %e, "new TLS certificate refused; the previous one keeps serving");
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &std::path::Path) -> Vec<u8> {
        let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        std::fs::write(dir.join("c.pem"), c.cert.pem()).unwrap();
        std::fs::write(dir.join("k.pem"), c.signing_key.serialize_pem()).unwrap();
        c.cert.der().to_vec()
    }

    #[test]
    fn a_bad_rotation_keeps_the_old_certificate_and_a_good_one_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_pair(dir.path());
        let files = TlsFiles {
            cert: dir.path().join("c.pem"),
            key: dir.path().join("k.pem"),
            client_ca: None,
        };
        let tls = server_config(&files).unwrap();
        let served = || tls.cert.current().cert[0].to_vec();
        assert_eq!(served(), first);
        assert!(!tls.cert.reload_if_changed().unwrap(), "nothing changed");

        std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\ngarbage\n").unwrap();
        let err = tls.cert.reload_if_changed().unwrap_err().to_string();
        assert!(err.contains("c.pem"), "{err}");
        assert_eq!(served(), first, "the old certificate keeps serving");

        let second = write_pair(dir.path());
        assert!(tls.cert.reload_if_changed().unwrap());
        assert_eq!(served(), second);

        // A key that does not match the certificate is refused.
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&files.key, other.serialize_pem()).unwrap();
        assert!(tls.cert.reload_if_changed().is_err());
        assert_eq!(served(), second);
    }
}
