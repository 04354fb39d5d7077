//! The Streamable HTTP listener in process, for test crates that drive it
//! over real sockets: a configuration written from `Options`, JWT signing
//! keys made in the test, a JSON-RPC client, raw-socket helpers, and the
//! audit records the server wrote.
// Each test crate uses part of it.
#![allow(dead_code, reason = "each test crate uses part of it")]

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use portcullis::cli::{runtime, Runtime, SourceArgs};
use portcullis::http::Listener;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const ALICE_KEY: &str = "pcl_test_alice_key";
pub const BOB_KEY: &str = "pcl_test_bob_key";
pub const METRICS_KEY: &str = "pcl_test_metrics_key";
pub const ISSUER: &str = "https://idp.test.invalid";
pub const AUDIENCE: &str = "https://portcullis.test.invalid/mcp";
pub const KID: &str = "test-key-1";

pub fn sha(key: &str) -> String {
    hex::encode(portcullis::auth::apikey::digest(key))
}

/// An ECDSA key pair (P-256 or P-384) as a JWK (public) and a PKCS#8
/// signing key.
pub struct SigningKey {
    pair: rcgen::KeyPair,
    alg: jsonwebtoken::Algorithm,
}

impl SigningKey {
    /// P-256, for ES256.
    pub fn new() -> SigningKey {
        SigningKey {
            pair: rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
            alg: jsonwebtoken::Algorithm::ES256,
        }
    }

    /// P-384, for ES384.
    pub fn p384() -> SigningKey {
        SigningKey {
            pair: rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap(),
            alg: jsonwebtoken::Algorithm::ES384,
        }
    }

    /// The public key as a JWK, with `alg` stated.
    pub fn jwk(&self, kid: &str) -> Value {
        let mut k = self.jwk_without_alg(kid);
        k["alg"] = json!(format!("{:?}", self.alg));
        k
    }

    /// The public key as a JWK that does not say which algorithm it is for
    /// (`alg` is optional in RFC 7517, and many issuers leave it out).
    pub fn jwk_without_alg(&self, kid: &str) -> Value {
        let raw = self.pair.public_key_raw();
        let (crv, n) = match self.alg {
            jsonwebtoken::Algorithm::ES256 => ("P-256", 32),
            _ => ("P-384", 48),
        };
        assert_eq!(raw.len(), 1 + 2 * n, "an uncompressed point");
        json!({"kty": "EC", "crv": crv, "kid": kid, "use": "sig",
               "x": B64.encode(&raw[1..1 + n]), "y": B64.encode(&raw[1 + n..])})
    }

    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(self.alg);
        header.kid = Some(kid.into());
        let key = jsonwebtoken::EncodingKey::from_ec_der(&self.pair.serialize_der());
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn claims(sub: &str, groups: &[&str]) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "groups": groups,
           "iat": now(), "exp": now() + 300})
}

/// Where the server gets the issuer's keys.
#[derive(Default)]
pub enum Jwks {
    /// `jwks.json` beside the configuration, holding the server's signer
    /// under `KID`.
    #[default]
    File,
    /// `jwks_uri`.
    Uri(String),
    /// `jwks.json` with exactly these keys.
    Keys(Vec<Value>),
}

#[derive(Default)]
pub struct Options {
    pub stateless: bool,
    /// Lines for the `[http]` section.
    pub http: &'static str,
    pub jwks: Jwks,
    /// `audit_log`, when not `audit.jsonl` beside the configuration.
    pub audit_log: Option<String>,
    /// Top-level tables (`[[endpoints]]` …), written before `[http]`.
    pub tables: String,
    /// Without the embedded lab cluster as endpoint "lab".
    pub no_lab: bool,
    /// Policy files (name, text) beside the default bundle.
    pub policies: Vec<(&'static str, String)>,
}

pub struct Server {
    pub rt: Runtime,
    listener: Option<Listener>,
    pub url: String,
    pub base: String,
    /// host:port of the listener.
    pub addr: String,
    pub dir: tempfile::TempDir,
    pub signer: SigningKey,
    ids: std::sync::atomic::AtomicU64,
}

pub fn copy_policies(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/default");
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// What `start` starts from: the directory with the configuration and
/// policies, the JWT signing key, and how the runtime finds them.
fn prepare(opts: Options) -> (tempfile::TempDir, SigningKey, SourceArgs) {
    let dir = tempfile::tempdir().unwrap();
    let signer = SigningKey::new();
    let jwks = match opts.jwks {
        Jwks::File => {
            write_jwks(dir.path(), &[signer.jwk(KID)]);
            "jwks_file = \"jwks.json\"".to_string()
        }
        Jwks::Keys(keys) => {
            write_jwks(dir.path(), &keys);
            "jwks_file = \"jwks.json\"".to_string()
        }
        Jwks::Uri(u) => format!("jwks_uri = \"{u}\""),
    };
    copy_policies(&dir.path().join("policies"));
    for (name, text) in &opts.policies {
        std::fs::write(dir.path().join("policies").join(name), text).unwrap();
    }
    let config = format!(
        r#"
[server]
policies = "policies"
audit_log = "{audit_log}"

[[principals]]
id = "carol"
groups = ["admins"]

{tables}

[http]
listen = "127.0.0.1:0"
stateless = {stateless}
max_body_bytes = 65536
{http}

[[http.api_keys]]
principal = "alice"
groups = ["readers"]
sha256 = "{alice}"

[[http.api_keys]]
principal = "bob"
groups = ["operators"]
sha256 = "{bob}"

[http.oauth]
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
{jwks}
algorithms = ["ES256"]
leeway_seconds = 0

[http.metrics]
access = "token"
token_sha256 = "{metrics}"
"#,
        audit_log = opts.audit_log.as_deref().unwrap_or("audit.jsonl"),
        tables = opts.tables,
        stateless = opts.stateless,
        http = opts.http,
        alice = sha(ALICE_KEY),
        bob = sha(BOB_KEY),
        metrics = sha(METRICS_KEY),
    );
    let path = dir.path().join("portcullis.toml");
    std::fs::write(&path, config).unwrap();
    let source = SourceArgs {
        config: Some(path),
        lab: false,
        policies: None,
        lab_audit_log: None,
        lab_backend: !opts.no_lab,
    };
    (dir, signer, source)
}

/// Why the runtime refuses to start with these options.
pub async fn start_err(opts: Options) -> String {
    let (_dir, _, source) = prepare(opts);
    match runtime(&source, true).await {
        Ok(_) => panic!("the runtime started"),
        Err(e) => e,
    }
}

pub async fn start(opts: Options) -> Server {
    let (dir, signer, source) = prepare(opts);
    let rt = runtime(&source, true).await.unwrap();
    let listener = portcullis::http::start(
        rt.gate.clone(),
        rt.config.http.clone().unwrap(),
        rt.config.principals.clone(),
    )
    .await
    .unwrap();
    let url = listener.url.clone();
    let base = url.trim_end_matches("/mcp").to_string();
    let addr = listener.local_addr.to_string();
    Server {
        rt,
        listener: Some(listener),
        url,
        base,
        addr,
        dir,
        signer,
        ids: std::sync::atomic::AtomicU64::new(100),
    }
}

pub fn write_jwks(dir: &Path, keys: &[Value]) {
    std::fs::write(dir.join("jwks.json"), json!({"keys": keys}).to_string()).unwrap();
}

/// A JSON-RPC answer, whether it came as JSON or as an SSE stream.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Option<Value>,
}

impl Reply {
    pub fn session(&self) -> Option<String> {
        self.headers
            .get("mcp-session-id")
            .map(|v| v.to_str().unwrap().to_string())
    }

    pub fn result(&self) -> &Value {
        &self.body.as_ref().expect("a JSON-RPC body")["result"]
    }

    pub fn text(&self) -> String {
        self.result()["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The error message of a refusal written by the listener.
    pub fn error(&self) -> String {
        self.body.as_ref().expect("a JSON-RPC body")["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn challenge(&self) -> String {
        self.headers
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

pub fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "http-test", "version": "1"}}})
}

pub fn call(id: u64, tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": args}})
}

pub async fn post(
    client: &reqwest::Client,
    url: &str,
    auth: Option<&str>,
    session: Option<&str>,
    extra: &[(&str, &str)],
    body: &Value,
) -> Reply {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .body(body.to_string());
    if let Some(a) = auth {
        req = req.bearer_auth(a);
    }
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).ok().or_else(|| {
        text.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .find(|v| v.get("id").is_some())
    });
    Reply {
        status,
        headers,
        body,
    }
}

impl Server {
    pub fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// `http_refused` records with this reason.
    pub fn refused(&self, reason: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["kind"] == "http_refused" && r["reason"] == reason)
            .collect()
    }

    /// One `tools/call`.
    pub async fn tool(
        &self,
        client: &reqwest::Client,
        auth: Option<&str>,
        session: Option<&str>,
        name: &str,
        args: Value,
    ) -> Reply {
        let id = self.ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        post(client, &self.url, auth, session, &[], &call(id, name, args)).await
    }

    /// Initialize a session (and send `initialized`); returns its id.
    pub async fn session(&self, client: &reqwest::Client, auth: &str) -> Option<String> {
        let r = post(client, &self.url, Some(auth), None, &[], &initialize()).await;
        assert_eq!(r.status, 200, "initialize: {:?}", r.body);
        let s = r.session();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let n = post(client, &self.url, Some(auth), s.as_deref(), &[], &note).await;
        assert_eq!(n.status, 202);
        s
    }

    /// A plain TCP connection to the listener.
    pub async fn connect(&self) -> tokio::net::TcpStream {
        tokio::net::TcpStream::connect(&self.addr).await.unwrap()
    }

    pub async fn shutdown(mut self) {
        if let Some(l) = self.listener.take() {
            l.shutdown().await;
        }
    }
}

/// What a raw connection received until the peer closed it, or `None`
/// if it was still open (and silent since the last bytes) after `wait`.
pub async fn read_until_closed(
    tcp: &mut (impl tokio::io::AsyncRead + Unpin),
    wait: Duration,
) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// One HTTP/1.1 response head and body (with `Content-Length`) from a raw
/// connection, or `None` if none arrived within `wait`.
pub async fn read_response(
    tcp: &mut (impl tokio::io::AsyncRead + Unpin),
    wait: Duration,
) -> Option<String> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0);
            if body.len() >= len {
                return Some(text);
            }
        }
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) | Ok(Ok(0) | Err(_)) => return None,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Send a GET on a raw keep-alive connection.
pub async fn send_get(tcp: &mut tokio::net::TcpStream, path: &str) {
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await
        .unwrap();
}

/// A client for the approvers' page: redirects are answers to check, not
/// to follow.
pub fn page_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A page, with the session cookie.
pub async fn page(http: &reqwest::Client, url: &str, cookie: &str) -> String {
    http.get(url)
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The anti-CSRF token of an approvers' page's forms.
pub fn page_csrf(html: &str) -> String {
    let mark = "name=\"csrf\" value=\"";
    let at = html
        .find(mark)
        .unwrap_or_else(|| panic!("no form token in {html}"))
        + mark.len();
    html[at..at + 64].to_string()
}
