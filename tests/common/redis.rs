//! A real Redis server (Debian's `redis-server`, installed by
//! scripts/setup-redis.sh) for one test: its own port and directory,
//! optionally with a password and TLS; stopped when dropped.
#![allow(dead_code, reason = "each test crate uses part of it")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "redis-test-password-3b7c";
/// The variable `state_section` names for the replicas' binding key, and
/// a value for it.
pub const BINDING_KEY_ENV: &str = "PCL_TEST_BINDING_KEY";
pub const BINDING_KEY: &str = "replicas-share-this-binding-key-0123456789abcdef";

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    /// The CA certificate that signed the server's, when TLS is on.
    pub ca: Option<PathBuf>,
    /// Its working directory (and certificates), removed when dropped.
    _dir: tempfile::TempDir,
    args: Vec<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A CA and a server certificate for 127.0.0.1 and localhost, as PEM files.
fn pki(dir: &Path) -> PathBuf {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Redis Test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().unwrap()).unwrap();
    let mut leaf =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
    dir.join("ca.pem")
}

impl RedisServer {
    /// Start one; `password` requires AUTH, `tls` serves only TLS.
    pub fn start(password: bool, tls: bool) -> RedisServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut args: Vec<String> = vec![
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
            "--dir".into(),
            dir.path().display().to_string(),
        ];
        let ca = if tls {
            let ca = pki(dir.path());
            let file = |n: &str| dir.path().join(n).display().to_string();
            args.extend([
                "--port".into(),
                "0".into(),
                "--tls-port".into(),
                port.to_string(),
                "--tls-cert-file".into(),
                file("server.pem"),
                "--tls-key-file".into(),
                file("server.key"),
                "--tls-ca-cert-file".into(),
                file("ca.pem"),
                "--tls-auth-clients".into(),
                "no".into(),
            ]);
            Some(ca)
        } else {
            args.extend(["--port".into(), port.to_string()]);
            None
        };
        if password {
            args.extend(["--requirepass".into(), PASSWORD.into()]);
        }
        let mut s = RedisServer {
            child: None,
            port,
            ca,
            _dir: dir,
            args,
        };
        s.resume();
        s
    }

    /// (Re)start the process on the same port.
    pub fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/setup-redis.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop the process (as if Redis went away).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `[state]` lines for a configuration using this server (its password,
    /// if any, in the environment variable `password_env`).
    pub fn state_section(&self, prefix: &str, password_env: Option<&str>) -> String {
        let scheme = if self.ca.is_some() { "rediss" } else { "redis" };
        let mut s = format!(
            "[state]\nredis_url = \"{scheme}://localhost:{}/0\"\nkey_prefix = \"{prefix}\"\n",
            self.port
        );
        if let Some(var) = password_env {
            s.push_str(&format!("password_env = \"{var}\"\n"));
        }
        s.push_str(&format!("binding_key_env = \"{BINDING_KEY_ENV}\"\n"));
        if let Some(ca) = &self.ca {
            s.push_str(&format!("ca_file = \"{}\"\n", ca.display()));
        }
        s
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
