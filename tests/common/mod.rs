//! What several test crates share: fake servers' TLS, output scans.
// Each test crate uses part of it.
#![allow(dead_code, reason = "each test crate uses part of it")]

pub mod dropin;
pub mod pve_lab;

use std::sync::Arc;

/// A loopback TLS listener with a fresh self-signed certificate for
/// 127.0.0.1 and localhost (ECDSA P-256, which rustls accepts).
pub struct TlsListener {
    pub listener: tokio::net::TcpListener,
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// The certificate, PEM, for the client's `ca_file`.
    pub pem: Vec<u8>,
    pub port: u16,
}

pub async fn tls_listener() -> TlsListener {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let pem = cert.cert.pem().into_bytes();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    TlsListener {
        listener,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
        pem,
        port,
    }
}

/// Serve HTTPS on the listener, each request answered by `handle`; with
/// `reset`, every connection is dropped as soon as it is accepted. Returns
/// the server's base URL and its certificate (PEM).
pub fn serve<H, F>(l: TlsListener, reset: bool, handle: H) -> (String, Vec<u8>)
where
    H: Fn(hyper::Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = hyper::Response<http_body_util::Full<bytes::Bytes>>>
        + Send
        + 'static,
{
    let TlsListener {
        listener,
        acceptor,
        pem,
        port,
    } = l;
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            if reset {
                drop(tcp);
                continue;
            }
            let (acceptor, handle) = (acceptor.clone(), handle.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req| {
                    let answer = handle(req);
                    async move { Ok::<_, std::convert::Infallible>(answer.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), pem)
}

/// The trace log files the binary wrote in `dir` (`portcullis.log*`, rolled
/// or not), checked to hold trace output so a scan of them means something.
pub fn trace_logs(dir: &std::path::Path) -> String {
    let mut logs = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("portcullis.log")
        {
            logs.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "trace logging reached the file"
    );
    logs
}

/// No secret appears in any of the named outputs.
pub fn assert_no_secret(secrets: &[&str], outputs: &[(&str, &str)]) {
    for (name, text) in outputs {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret:?} leaked into the {name}");
        }
    }
}

/// Run `portcullis call --config CFG --as root TOOL ARGS` with trace
/// logging into `log` and these extra environment variables, off the
/// runtime (so an in-process fake keeps serving); its stdout and stderr.
pub async fn call_traced(
    cfg: &std::path::Path,
    log: &std::path::Path,
    env: &[(&str, &str)],
    tool: &str,
    args: &str,
) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(["call", "--config"])
        .arg(cfg)
        .args(["--as", "root", tool, args])
        .env("PORTCULLIS_LOG", "trace")
        .env("PORTCULLIS_LOG_FILE", log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every record of an audit log, in order.
pub fn audit_records(log: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `portcullis COMMAND --socket SOCKET ARGS…` (an admin-socket command), run
/// off the async runtime so the server under test keeps serving.
pub async fn admin_cli(
    command: &str,
    socket: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.arg(command)
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env("PORTCULLIS_LOG", "warn");
    output(cmd).await
}

/// Run `cmd` off the async runtime, so a server under test keeps serving.
pub async fn output(mut cmd: std::process::Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// `portcullis audit verify LOG` passes.
pub fn assert_chain_verifies(log: &std::path::Path) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["audit", "verify"])
        .arg(log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The shipped optional rule "destructive calls need an approval",
/// pointed at the lab's endpoint.
pub fn approve_lab_rule() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies/optional/approve-prod-deletes.cedar");
    std::fs::read_to_string(path)
        .unwrap()
        .replace("Endpoint::\"prod\"", "Endpoint::\"lab\"")
}
