//! The Streamable HTTP listener end to end, in process: real sockets, real
//! TLS, the embedded lab cluster as backend. JWTs are signed with keys made
//! in the test; certificates come from a CA made in the test.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use std::path::Path;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use portcullis::cli::{runtime, Runtime, SourceArgs};
use portcullis::http::Listener;
use portcullis::reload::{PolicyReloader, Reloaded};
use serde_json::{json, Value};

#[path = "common/http.rs"]
mod harness;
use harness::{
    call, claims, initialize, now, post, sha, Reply, SigningKey, ALICE_KEY, AUDIENCE, BOB_KEY,
    ISSUER, KID, METRICS_KEY,
};

/// A CA, a server certificate for 127.0.0.1, and client certificates.
struct Pki {
    ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, name.to_string());
        let ca =
            rcgen::CertifiedIssuer::self_signed(p, rcgen::KeyPair::generate().unwrap()).unwrap();
        Pki { ca }
    }

    /// (certificate PEM, key PEM)
    fn issue(&self, cn: &str, server: bool) -> (String, String) {
        let names = if server {
            vec!["127.0.0.1".to_string(), "localhost".to_string()]
        } else {
            vec![]
        };
        let mut p = rcgen::CertificateParams::new(names).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, cn.to_string());
        p.extended_key_usages = vec![if server {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        }];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

struct Server {
    rt: Runtime,
    listener: Option<Listener>,
    url: String,
    base: String,
    dir: tempfile::TempDir,
    signer: SigningKey,
    pki: Pki,
    ids: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Options {
    stateless: bool,
    tls: bool,
    extra: &'static str,
}

fn copy_policies(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/default");
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

async fn start(opts: Options) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let signer = SigningKey::new();
    let pki = Pki::new("Portcullis Test CA");
    std::fs::write(
        dir.path().join("jwks.json"),
        json!({"keys": [signer.jwk(KID)]}).to_string(),
    )
    .unwrap();
    copy_policies(&dir.path().join("policies"));
    let tls = if opts.tls {
        let (cert, key) = pki.issue("127.0.0.1", true);
        std::fs::write(dir.path().join("server.pem"), cert).unwrap();
        std::fs::write(dir.path().join("server.key"), key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), pki.ca.pem()).unwrap();
        "[http.tls]\ncert_file = \"server.pem\"\nkey_file = \"server.key\"\nclient_ca_file = \"ca.pem\"\n"
    } else {
        ""
    };
    let config = format!(
        r#"
[server]
policies = "policies"
audit_log = "audit.jsonl"

[[principals]]
id = "carol"
groups = ["admins"]

[http]
listen = "127.0.0.1:0"
stateless = {stateless}
max_body_bytes = 65536

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
jwks_file = "jwks.json"
algorithms = ["ES256"]
leeway_seconds = 0

[http.metrics]
access = "token"
token_sha256 = "{metrics}"

{tls}
{extra}
"#,
        stateless = opts.stateless,
        alice = sha(ALICE_KEY),
        bob = sha(BOB_KEY),
        metrics = sha(METRICS_KEY),
        extra = opts.extra,
    );
    let path = dir.path().join("portcullis.toml");
    std::fs::write(&path, config).unwrap();
    let source = SourceArgs {
        config: Some(path),
        lab: false,
        policies: None,
        lab_audit_log: None,
        lab_backend: true,
    };
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
    Server {
        rt,
        listener: Some(listener),
        url,
        base,
        dir,
        signer,
        pki,
        ids: std::sync::atomic::AtomicU64::new(100),
    }
}

impl Server {
    fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn refused(&self, reason: &str) -> Vec<Value> {
        self.records_where("reason", reason)
            .into_iter()
            .filter(|r| r["kind"] == "http_refused")
            .collect()
    }

    /// One `tools/call`.
    async fn tool(
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

    /// Audit records with `key` equal to `value`.
    fn records_where(&self, key: &str, value: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r[key] == value)
            .collect()
    }

    /// Initialize a session (and send `initialized`); returns its id.
    async fn session(&self, client: &reqwest::Client, auth: &str) -> Option<String> {
        let r = post(client, &self.url, Some(auth), None, &[], &initialize()).await;
        assert_eq!(r.status, 200, "initialize: {:?}", r.body);
        let s = r.session();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let n = post(client, &self.url, Some(auth), s.as_deref(), &[], &note).await;
        assert_eq!(n.status, 202);
        s
    }

    async fn shutdown(mut self) {
        if let Some(l) = self.listener.take() {
            l.shutdown().await;
        }
    }
}

#[tokio::test]
async fn without_credentials_401_points_to_the_resource_metadata() {
    let s = start(Options::default()).await;
    let c = reqwest::Client::new();
    let r = post(&c, &s.url, None, None, &[], &initialize()).await;
    assert_eq!(r.status, 401);
    let challenge = r.headers["www-authenticate"].to_str().unwrap();
    let pointer = format!("{}/.well-known/oauth-protected-resource/mcp", s.base);
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains(&format!("resource_metadata=\"{pointer}\"")),
        "{challenge}"
    );
    let meta: Value = c.get(&pointer).send().await.unwrap().json().await.unwrap();
    assert_eq!(meta["resource"], s.url.as_str());
    assert_eq!(meta["authorization_servers"], json!([ISSUER]));
    let root: Value = c
        .get(format!("{}/.well-known/oauth-protected-resource", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(root, meta);
    // An unknown key and a malformed header are refused the same way.
    let r = post(&c, &s.url, Some("pcl_not_a_key"), None, &[], &initialize()).await;
    assert_eq!(r.status, 401);
    let r = post(
        &c,
        &s.url,
        None,
        None,
        &[("authorization", "Basic YTpi")],
        &initialize(),
    )
    .await;
    assert_eq!(r.status, 401);
    let refused = s.refused("unauthenticated");
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused[0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("missing"));
    assert!(refused[1]["detail"]
        .as_str()
        .unwrap()
        .starts_with("unknown_key"));
    assert!(refused[2]["detail"]
        .as_str()
        .unwrap()
        .starts_with("malformed"));
    // Nothing reached the backend, and no secret reached the log.
    assert!(s
        .records()
        .iter()
        .all(|r| r["kind"] == "http_refused" || r["kind"] == "policy_loaded"));
    let log = std::fs::read_to_string(s.dir.path().join("audit.jsonl")).unwrap();
    assert!(!log.contains("pcl_not_a_key"));
    s.shutdown().await;
}

#[tokio::test]
async fn foreign_origin_and_host_are_refused_before_authentication() {
    let s = start(Options::default()).await;
    let c = reqwest::Client::new();
    let evil = [("origin", "https://evil.example")];
    let r = post(&c, &s.url, Some(ALICE_KEY), None, &evil, &initialize()).await;
    assert_eq!(r.status, 403);
    assert!(r.body.unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Origin \"https://evil.example\" is not allowed"));
    let rebinding = [("host", "attacker.example:8080")];
    let r = post(&c, &s.url, Some(ALICE_KEY), None, &rebinding, &initialize()).await;
    assert_eq!(r.status, 403);
    assert_eq!(s.refused("origin").len(), 1);
    assert_eq!(s.refused("host").len(), 1);
    let metrics = c
        .get(format!("{}/metrics", s.base))
        .bearer_auth(METRICS_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("portcullis_http_refused_total{reason=\"origin\"} 1"));
    assert!(metrics.contains("portcullis_http_refused_total{reason=\"host\"} 1"));
    s.shutdown().await;
}

#[tokio::test]
async fn each_bad_jwt_is_refused_with_401_and_audited() {
    let s = start(Options::default()).await;
    let c = reqwest::Client::new();
    let good = s.signer.sign(KID, &claims("dana", &["operators"]));
    let r = post(&c, &s.url, Some(&good), None, &[], &initialize()).await;
    assert_eq!(r.status, 200, "a valid token is accepted: {:?}", r.body);

    let mut wrong_iss = claims("dana", &[]);
    wrong_iss["iss"] = json!("https://other-idp.test.invalid");
    let mut wrong_aud = claims("dana", &[]);
    wrong_aud["aud"] = json!("https://another-service.test.invalid");
    let mut expired = claims("dana", &[]);
    expired["exp"] = json!(now() - 60);
    let mut early = claims("dana", &[]);
    early["nbf"] = json!(now() + 600);
    let other = SigningKey::new();
    let none = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(claims("dana", &["admins"]).to_string())
    );
    let cases = [
        ("wrong issuer", s.signer.sign(KID, &wrong_iss)),
        ("wrong audience", s.signer.sign(KID, &wrong_aud)),
        ("expired", s.signer.sign(KID, &expired)),
        ("not yet valid", s.signer.sign(KID, &early)),
        (
            "bad signature",
            other.sign(KID, &claims("dana", &["admins"])),
        ),
        ("malformed header", none),
        (
            "no key with kid",
            s.signer.sign("unknown-kid", &claims("dana", &[])),
        ),
    ];
    for (why, token) in &cases {
        let r = post(&c, &s.url, Some(token), None, &[], &initialize()).await;
        assert_eq!(r.status, 401, "{why}");
        let challenge = r.headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{why}: {challenge}"
        );
        assert!(challenge.contains(why), "{why}: {challenge}");
    }
    let refused = s.refused("unauthenticated");
    assert_eq!(refused.len(), cases.len());
    for ((why, token), rec) in cases.iter().zip(&refused) {
        let detail = rec["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("invalid_token") && detail.contains(why),
            "{detail}"
        );
        let log = std::fs::read_to_string(s.dir.path().join("audit.jsonl")).unwrap();
        assert!(
            !log.contains(token.as_str()),
            "a token reached the audit log"
        );
    }
    s.shutdown().await;
}

#[tokio::test]
async fn api_key_and_jwt_principals_call_tools_under_policy() {
    let s = start(Options::default()).await;
    let c = reqwest::Client::new();
    // alice (API key, readers) may list but not stop.
    let sid = s.session(&c, ALICE_KEY).await.unwrap();
    let r = s
        .tool(&c, Some(ALICE_KEY), Some(&sid), "pve_list_nodes", json!({}))
        .await;
    assert_eq!(r.result()["isError"], json!(false), "{}", r.text());
    assert!(r.text().contains("pve1"));
    let stop = json!({"node": "pve1", "vmid": 100});
    let r = s
        .tool(&c, Some(ALICE_KEY), Some(&sid), "pve_stop_qemu_vm", stop)
        .await;
    assert_eq!(r.result()["isError"], json!(true));
    assert!(r.text().contains("may not call"), "{}", r.text());
    assert_eq!(s.rt.gate.policies().len(), 6, "the default bundle");
    // dana (JWT, groups from the token) is an operator.
    let token = s.signer.sign(KID, &claims("dana", &["operators"]));
    let sid2 = s.session(&c, &token).await.unwrap();
    let r = s
        .tool(&c, Some(&token), Some(&sid2), "pve_list_nodes", json!({}))
        .await;
    assert_eq!(r.result()["isError"], json!(false), "{}", r.text());
    let decisions: Vec<Value> = s.records_where("kind", "decision");
    let who: Vec<(&str, &str, &str)> = decisions
        .iter()
        .map(|r| {
            (
                r["principal"]["id"].as_str().unwrap(),
                r["authentication"].as_str().unwrap(),
                r["decision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("alice", "api_key", "allow"),
            ("alice", "api_key", "deny"),
            ("dana", "oauth", "allow")
        ]
    );
    assert_eq!(decisions[2]["transport"], "http");
    // A session is bound to the principal that opened it.
    let r = s
        .tool(&c, Some(BOB_KEY), Some(&sid), "pve_list_nodes", json!({}))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(s.refused("session_owner").len(), 1);
    // An unknown session must re-initialize.
    let r = s
        .tool(
            &c,
            Some(BOB_KEY),
            Some("no-such-session"),
            "pve_list_nodes",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 404);
    // DELETE ends a session; its id is then unknown.
    let d = c
        .delete(&s.url)
        .bearer_auth(ALICE_KEY)
        .header("mcp-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert!(d.status().is_success(), "{}", d.status());
    let r = s
        .tool(&c, Some(ALICE_KEY), Some(&sid), "pve_list_nodes", json!({}))
        .await;
    assert_eq!(r.status, 404);
    s.shutdown().await;
}

#[tokio::test]
async fn stateless_mode_serves_without_sessions() {
    let s = start(Options {
        stateless: true,
        ..Options::default()
    })
    .await;
    let c = reqwest::Client::new();
    let r = post(&c, &s.url, Some(BOB_KEY), None, &[], &initialize()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.session(), None, "no session id in stateless mode");
    let r = s
        .tool(&c, Some(BOB_KEY), None, "pve_list_nodes", json!({}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.result()["isError"], json!(false), "{}", r.text());
    s.shutdown().await;
}

#[tokio::test]
async fn body_limit_health_readiness_and_metrics_access() {
    let s = start(Options::default()).await;
    let c = reqwest::Client::new();
    let big =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x".repeat(70_000)}});
    let r = post(&c, &s.url, Some(ALICE_KEY), None, &[], &big).await;
    assert_eq!(r.status, 413);
    assert_eq!(s.refused("body").len(), 1);
    let health = c.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready: Value = c
        .get(format!("{}/readyz", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ready,
        json!({"ready": true, "policies": s.rt.gate.policies().len(), "audit_writable": true})
    );
    let m = c.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(m.status(), 401, "metrics need their own token");
    let m = c
        .get(format!("{}/metrics", s.base))
        .bearer_auth(ALICE_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(m.status(), 401, "an MCP key is not the metrics token");
    let m = c
        .get(format!("{}/metrics", s.base))
        .bearer_auth(METRICS_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(m.status(), 200);
    assert!(m
        .text()
        .await
        .unwrap()
        .contains("portcullis_call_duration_seconds_count"));
    let nowhere = c.get(format!("{}/admin", s.base)).send().await.unwrap();
    assert_eq!(nowhere.status(), 404);
    s.shutdown().await;
}

#[tokio::test]
async fn rate_limits_refuse_with_a_clear_error_and_an_audit_record() {
    let s = start(Options {
        extra: "[rate_limits.read]\nper_minute = 1\nburst = 2\n",
        ..Options::default()
    })
    .await;
    let c = reqwest::Client::new();
    let sid = s.session(&c, ALICE_KEY).await.unwrap();
    for _ in 0..2 {
        let r = s
            .tool(&c, Some(ALICE_KEY), Some(&sid), "pve_list_nodes", json!({}))
            .await;
        assert_eq!(r.result()["isError"], json!(false), "{}", r.text());
    }
    let r = s
        .tool(&c, Some(ALICE_KEY), Some(&sid), "pve_list_nodes", json!({}))
        .await;
    assert_eq!(r.result()["isError"], json!(true));
    let text = r.text();
    assert!(
        text.contains("rate limit") && text.contains("alice") && text.contains("Retry in"),
        "{text}"
    );
    // Another principal has its own bucket.
    let sid2 = s.session(&c, BOB_KEY).await.unwrap();
    let r = s
        .tool(&c, Some(BOB_KEY), Some(&sid2), "pve_list_nodes", json!({}))
        .await;
    assert_eq!(r.result()["isError"], json!(false), "{}", r.text());
    let limited: Vec<Value> = s.records_where("decision", "rate_limited");
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0]["principal"]["id"], "alice");
    s.shutdown().await;
}

#[tokio::test]
async fn policy_reload_swaps_a_valid_set_and_refuses_an_invalid_one() {
    let s = start(Options::default()).await;
    let c = reqwest::Client::new();
    let dir = s.dir.path().join("policies");
    let (_, digest) = s.rt.policy_dir.clone().unwrap();
    let reloader = PolicyReloader::new(s.rt.gate.clone(), dir.clone(), digest);
    assert_eq!(reloader.reload("test", false).await, Reloaded::Unchanged);
    let sid = s.session(&c, ALICE_KEY).await.unwrap();

    std::fs::write(
        dir.join("50-broken.cedar"),
        "permit(principal, action, resource) when { nonsense };",
    )
    .unwrap();
    let Reloaded::Refused(e) = reloader.reload("test", false).await else {
        panic!("an invalid set must be refused")
    };
    assert!(e.contains("50-broken.cedar"), "{e}");
    let r = s
        .tool(&c, Some(ALICE_KEY), Some(&sid), "pve_list_nodes", json!({}))
        .await;
    assert_eq!(
        r.result()["isError"],
        json!(false),
        "the old set keeps serving"
    );

    std::fs::remove_file(dir.join("50-broken.cedar")).unwrap();
    std::fs::remove_file(dir.join("00-readers.cedar")).unwrap();
    assert_eq!(
        reloader.reload("test", false).await,
        Reloaded::Applied { policies: 5 }
    );
    let r = s
        .tool(&c, Some(ALICE_KEY), Some(&sid), "pve_list_nodes", json!({}))
        .await;
    assert_eq!(
        r.result()["isError"],
        json!(true),
        "readers lost their permit"
    );
    let reloads: Vec<Value> = s.records_where("kind", "policy_reload");
    assert_eq!(reloads.len(), 2);
    assert_eq!(reloads[0]["result"], "refused");
    assert_eq!(reloads[1]["result"], "applied");
    assert_eq!(reloads[1]["policies"], 5);
    // Provenance: each set that served is recorded and kept, and each
    // decision names the set that made it.
    let loaded: Vec<Value> = s.records_where("kind", "policy_loaded");
    assert_eq!(loaded.len(), 2, "at start and after the applied reload");
    assert_eq!(
        (loaded[0]["trigger"].as_str(), loaded[1]["trigger"].as_str()),
        (Some("start"), Some("test"))
    );
    assert_eq!(loaded[1]["files"].as_array().unwrap().len(), 4);
    let decisions: Vec<Value> = s.records_where("kind", "decision");
    let (first, last) = (&decisions[0], decisions.last().unwrap());
    assert_eq!(first["policy_set"], loaded[0]["policy_set"]);
    assert_eq!(last["policy_set"], loaded[1]["policy_set"]);
    assert_ne!(loaded[0]["policy_set"], loaded[1]["policy_set"]);
    assert_eq!(last["config"].as_str().map(str::len), Some(64));
    let log = s.dir.path().join("audit.jsonl");
    for l in &loaded {
        let kept =
            portcullis::audit::policy_store::load(&log, l["policy_set"].as_str().unwrap()).unwrap();
        assert_eq!(kept.len(), l["files"].as_array().unwrap().len());
    }
    s.shutdown().await;
}

fn tls_client(pki: &Pki, identity: Option<(String, String)>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca.pem().as_bytes()).unwrap());
    if let Some((cert, key)) = identity {
        b = b.identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    b.timeout(Duration::from_secs(10)).build().unwrap()
}

#[tokio::test]
async fn mtls_client_certificate_subject_is_the_principal() {
    let s = start(Options {
        tls: true,
        ..Options::default()
    })
    .await;
    assert!(s.url.starts_with("https://"));
    let carol = tls_client(&s.pki, Some(s.pki.issue("carol", false)));
    let r = post(&carol, &s.url, None, None, &[], &initialize()).await;
    assert_eq!(r.status, 200, "a client certificate alone authenticates");
    let sid = r.session().unwrap();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    post(&carol, &s.url, None, Some(&sid), &[], &note).await;
    let r = s
        .tool(&carol, None, Some(&sid), "pve_list_nodes", json!({}))
        .await;
    assert_eq!(r.result()["isError"], json!(false), "{}", r.text());
    let last = s
        .records()
        .into_iter()
        .rfind(|r| r["kind"] == "decision")
        .unwrap();
    assert_eq!(
        last["principal"],
        json!({"id": "carol", "groups": ["admins"]})
    );
    assert_eq!(last["authentication"], "mtls");

    // No certificate and no key: 401. API keys still work over TLS.
    let anonymous = tls_client(&s.pki, None);
    let r = post(&anonymous, &s.url, None, None, &[], &initialize()).await;
    assert_eq!(r.status, 401);
    let r = post(&anonymous, &s.url, Some(BOB_KEY), None, &[], &initialize()).await;
    assert_eq!(r.status, 200);

    // A certificate from another CA fails the handshake.
    let rogue = Pki::new("Rogue CA");
    let mallory = tls_client(&s.pki, Some(rogue.issue("carol", false)));
    let err = mallory
        .post(&s.url)
        .body(initialize().to_string())
        .send()
        .await;
    assert!(
        err.is_err(),
        "a certificate from an unknown CA must not connect"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn a_rotated_certificate_is_served_without_a_restart() {
    let s = start(Options {
        tls: true,
        ..Options::default()
    })
    .await;
    let (cert, key) = s.pki.issue("127.0.0.1", true);
    std::fs::write(s.dir.path().join("server.pem"), &cert).unwrap();
    std::fs::write(s.dir.path().join("server.key"), &key).unwrap();
    // The listener polls every 5 s; wait for the new certificate.
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(cert.as_bytes())
        .unwrap()
        .to_vec();
    let served = || async {
        let addr = s
            .url
            .trim_start_matches("https://")
            .trim_end_matches("/mcp")
            .to_string();
        served_certificate(&addr, &s.pki).await
    };
    let mut rotated = false;
    for _ in 0..40 {
        if served().await == der {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(rotated, "the new certificate was not picked up");
    s.shutdown().await;
}

/// The leaf certificate a TLS server presents.
async fn served_certificate(addr: &str, pki: &Pki) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            pki.ca.der().to_vec(),
        ))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}
