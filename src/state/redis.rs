//! A Redis client for the shared store: a few pooled connections, each
//! authenticated and on the configured database, TLS when the URL says
//! `rediss://`. Every command is bounded in time; a connection that failed
//! is dropped, and the next command connects afresh.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::resp::{self, Reply};
use super::StateError;

/// Connecting, and each command, may take this long.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Idle connections kept for reuse.
const MAX_IDLE: usize = 8;
/// Connections open at once: past it, commands wait (within their time
/// bound) rather than open more — a burst never exhausts Redis's
/// `maxclients` for the other replicas.
const MAX_OPEN: usize = 16;

/// Where and how to reach Redis (`[state]`).
#[derive(Clone)]
pub struct RedisSettings {
    pub host: String,
    pub port: u16,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub db: u32,
    /// Every key starts with this and a colon.
    pub prefix: String,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.address())
    }
}

impl RedisSettings {
    /// From `redis://[user@]host[:port][/db]` (or `rediss://` for TLS,
    /// trusting `ca` or else the system's roots). A password in the URL is
    /// refused: it belongs in the environment.
    pub fn parse(
        text: &str,
        password: Option<SecretString>,
        ca: Option<&std::path::Path>,
        prefix: String,
    ) -> Result<RedisSettings, String> {
        let url = url::Url::parse(text).map_err(|e| format!("redis_url {text:?}: {e}"))?;
        let tls = match url.scheme() {
            "redis" => false,
            "rediss" => true,
            other => {
                return Err(format!(
                    "redis_url scheme {other:?}: redis:// or rediss:// (TLS)"
                ))
            }
        };
        if url.password().is_some() {
            return Err("redis_url must not hold the password: put it in an environment variable and name it with password_env".into());
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("redis_url {text:?} has no host"))?
            .trim_matches(['[', ']'])
            .to_string();
        let db = match url.path().trim_start_matches('/') {
            "" => 0,
            n => n
                .parse()
                .map_err(|_| format!("redis_url {text:?}: the path is the database number"))?,
        };
        let tls = match (tls, ca) {
            (false, Some(_)) => return Err("ca_file is for rediss:// (TLS) only".into()),
            (false, None) => None,
            (true, ca) => Some(Arc::new(tls_config(ca)?)),
        };
        Ok(RedisSettings {
            host,
            port: url.port().unwrap_or(6379),
            tls,
            username: Some(url.username())
                .filter(|u| !u.is_empty())
                .map(str::to_string),
            password,
            db,
            prefix,
        })
    }

    /// For messages: never the password.
    pub fn address(&self) -> String {
        format!(
            "{}://{}{}:{}/{}",
            if self.tls.is_some() {
                "rediss"
            } else {
                "redis"
            },
            self.username
                .as_deref()
                .map(|u| format!("{u}@"))
                .unwrap_or_default(),
            self.host,
            self.port,
            self.db
        )
    }
}

fn tls_config(ca: Option<&std::path::Path>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(ca) => {
            let shown = ca.display();
            for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca)
                .map_err(|e| format!("ca_file {shown}: {e}"))?
            {
                let cert = cert.map_err(|e| format!("ca_file {shown}: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("ca_file {shown}: {e}"))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Conn {
    io: Box<dyn Io>,
    buf: Vec<u8>,
}

impl Conn {
    async fn send(&mut self, args: &[&[u8]]) -> Result<Reply, StateError> {
        self.io
            .write_all(&resp::encode(args))
            .await
            .map_err(StateError::Io)?;
        loop {
            if let Some((reply, used)) = resp::parse(&self.buf)? {
                self.buf.drain(..used);
                return Ok(reply);
            }
            let mut chunk = [0u8; 8192];
            let n = self.io.read(&mut chunk).await.map_err(StateError::Io)?;
            if n == 0 {
                return Err(StateError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

pub struct Redis {
    settings: RedisSettings,
    idle: Mutex<Vec<Conn>>,
    open: tokio::sync::Semaphore,
}

impl Redis {
    pub fn new(settings: RedisSettings) -> Redis {
        Redis {
            settings,
            idle: Mutex::new(Vec::new()),
            open: tokio::sync::Semaphore::new(MAX_OPEN),
        }
    }

    pub fn settings(&self) -> &RedisSettings {
        &self.settings
    }

    /// A key in this deployment's namespace.
    pub fn key(&self, parts: &[&str]) -> String {
        let mut k = self.settings.prefix.clone();
        for p in parts {
            k.push(':');
            k.push_str(p);
        }
        k
    }

    async fn connect(&self) -> Result<Conn, StateError> {
        let s = &self.settings;
        let tcp = TcpStream::connect((s.host.as_str(), s.port))
            .await
            .map_err(|e| StateError::Unreachable(s.address(), e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = match &s.tls {
            None => Box::new(tcp),
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(s.host.clone())
                    .map_err(|e| StateError::Unreachable(s.address(), format!("TLS name: {e}")))?;
                let stream = tokio_rustls::TlsConnector::from(tls.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| StateError::Unreachable(s.address(), format!("TLS: {e}")))?;
                Box::new(stream)
            }
        };
        let mut conn = Conn {
            io,
            buf: Vec::new(),
        };
        if let Some(password) = &s.password {
            let secret = password.expose_secret().as_bytes();
            let reply = match &s.username {
                Some(user) => conn.send(&[b"AUTH", user.as_bytes(), secret]).await?,
                None => conn.send(&[b"AUTH", secret]).await?,
            };
            if let Reply::Error(e) = reply {
                // The server's words never include the password.
                return Err(StateError::Auth(s.address(), e));
            }
        }
        if s.db != 0 {
            if let Reply::Error(e) = conn.send(&[b"SELECT", s.db.to_string().as_bytes()]).await? {
                return Err(StateError::Server(format!("SELECT {}: {e}", s.db)));
            }
        }
        Ok(conn)
    }

    /// Run one command; a server error reply is an error.
    pub async fn cmd(&self, args: &[&[u8]]) -> Result<Reply, StateError> {
        let attempt = async {
            let _slot = self
                .open
                .acquire()
                .await
                .map_err(|_| StateError::Timeout(self.settings.address()))?;
            let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => self.connect().await?,
            };
            let reply = conn.send(args).await?;
            Ok::<_, StateError>((conn, reply))
        };
        let (conn, reply) = tokio::time::timeout(TIMEOUT, attempt)
            .await
            .map_err(|_| StateError::Timeout(self.settings.address()))??;
        {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        match reply {
            Reply::Error(e) => Err(StateError::Server(e)),
            r => Ok(r),
        }
    }

    /// Every record an index names: the set `index` holds ids, and each
    /// record is the key `kind:id`. Fetched in batches; an id whose record
    /// has expired is taken off the index.
    pub async fn indexed(
        &self,
        index: &str,
        kind: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StateError> {
        let index = self.key(&[index]);
        let ids: Vec<String> = match self.cmd(&[b"SMEMBERS", index.as_bytes()]).await? {
            Reply::Array(items) => items.iter().filter_map(Reply::text).collect(),
            _ => Vec::new(),
        };
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(256) {
            let keys: Vec<String> = chunk.iter().map(|id| self.key(&[kind, id])).collect();
            let mut args: Vec<&[u8]> = vec![b"MGET"];
            args.extend(keys.iter().map(|k| k.as_bytes()));
            let Reply::Array(values) = self.cmd(&args).await? else {
                continue;
            };
            for (id, v) in chunk.iter().zip(values) {
                match v {
                    Reply::Bulk(bytes) => out.push((id.clone(), bytes)),
                    _ => {
                        let _ = self.cmd(&[b"SREM", index.as_bytes(), id.as_bytes()]).await;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Run a Lua script (EVAL) with keys and arguments.
    pub async fn eval(
        &self,
        script: &str,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<Reply, StateError> {
        let n = keys.len().to_string();
        let mut all: Vec<&[u8]> = vec![b"EVAL", script.as_bytes(), n.as_bytes()];
        all.extend(keys.iter().map(|k| k.as_bytes()));
        all.extend_from_slice(args);
        self.cmd(&all).await
    }
}
