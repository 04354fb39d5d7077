//! What the backend HTTP client promises every backend, pinned through the
//! gate against loopback fakes: a certificate the endpoint's configuration
//! does not trust is refused before any request is sent, a redirect is
//! never followed, and an answer larger than the body cap is discarded
//! with the gate staying up. Each backend (PVE, vSphere SOAP, vSphere's
//! Automation API, Volcengine) is tried, since each reads its answers its
//! own way.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use portcullis::backends::http::MAX_BODY;
use portcullis::config::{Config, Env};
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate, Outcome};
use portcullis::principal::Principal;
use portcullis::testing::GateBuilder;
use serde_json::{json, Value};

/// The credential every endpoint is configured with; it must reach no
/// output, and no host but the endpoint.
const SECRET: &str = "transport-canary-4f1d9a";

/// A backend and the code path its answers take.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Pve,
    /// vSphere's SOAP API (the login, every VIM call).
    Vsphere,
    /// vSphere's Automation API (REST; tags).
    VsphereRest,
    Volc,
}

const KINDS: [Kind; 4] = [Kind::Pve, Kind::Vsphere, Kind::VsphereRest, Kind::Volc];

impl Kind {
    /// The endpoint section of the configuration, less its URL.
    fn section(self) -> &'static str {
        match self {
            Kind::Pve => "backend = \"pve\"\ntoken_id = \"t@pve!x\"\ntoken_secret_env = \"SECRET\"\n",
            Kind::Vsphere | Kind::VsphereRest => {
                "backend = \"vsphere\"\nusername = \"svc\"\npassword_env = \"SECRET\"\n"
            }
            Kind::Volc => {
                "backend = \"volcengine\"\naccess_key = \"AKLTtransport\"\nsecret_key_env = \"SECRET\"\nregions = [\"cn-beijing\"]\n"
            }
        }
    }

    /// A read-only tool of the backend whose call the fake can answer.
    fn tool(self) -> &'static str {
        match self {
            Kind::Pve => "pve_list_nodes",
            Kind::Vsphere => "vsphere_get_vcenter_info",
            Kind::VsphereRest => "vsphere_list_tags",
            Kind::Volc => "volc_describe_vpn_gateways",
        }
    }
}

fn soap(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

/// A healthy backend's answer to a request (status, headers, body).
fn answer(method: &str, path: &str, body: &str) -> (u16, Vec<(&'static str, String)>, String) {
    match (method, path) {
        ("GET", "/api2/json/nodes") => (
            200,
            vec![],
            json!({"data": [{"node": "pve1", "status": "online"}]}).to_string(),
        ),
        ("POST", "/sdk") if body.contains("<RetrieveServiceContent ") => (
            200,
            vec![],
            soap(r#"<RetrieveServiceContentResponse xmlns="urn:vim25"><returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector><viewManager type="ViewManager">ViewManager</viewManager><sessionManager type="SessionManager">SessionManager</sessionManager><about><name>VMware vCenter Server</name><apiType>VirtualCenter</apiType></about></returnval></RetrieveServiceContentResponse>"#),
        ),
        ("POST", "/sdk") if body.contains("<Login ") => (
            200,
            vec![(
                "set-cookie",
                "vmware_soap_session=\"abc\"; Path=/; HttpOnly; Secure".into(),
            )],
            soap(r#"<LoginResponse xmlns="urn:vim25"><returnval><key>s1</key></returnval></LoginResponse>"#),
        ),
        ("POST", "/rest/com/vmware/cis/session") => {
            (200, vec![], json!({"value": "vapi-session"}).to_string())
        }
        ("GET", "/rest/com/vmware/cis/tagging/tag") => {
            (200, vec![], json!({"value": []}).to_string())
        }
        ("GET", "/") => (
            200,
            vec![],
            json!({"ResponseMetadata": {"RequestId": "FAKE", "Action": "DescribeVpnGateways", "Version": "2020-04-01", "Service": "vpn", "Region": "cn-beijing"},
                   "Result": {"VpnGateways": [], "TotalCount": 0, "PageNumber": 1, "PageSize": 100}})
            .to_string(),
        ),
        _ => (404, vec![], String::new()),
    }
}

/// How a fake answers the requests it is sent, by their number (from 1).
type Script = Arc<dyn Fn(usize, &str, &str, &str) -> Response<Full<Bytes>> + Send + Sync>;

fn respond(
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> Response<Full<Bytes>> {
    let mut r = Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(k, v);
    }
    r.body(Full::new(Bytes::from(body))).unwrap()
}

/// The healthy answer.
fn healthy() -> Script {
    Arc::new(|_, method, path, body| {
        let (status, headers, body) = answer(method, path, body);
        respond(status, headers, body.into_bytes())
    })
}

/// A loopback HTTPS fake with a fresh self-signed certificate.
struct Fake {
    url: String,
    /// Its certificate, PEM.
    pem: Vec<u8>,
    /// Requests that reached the handler.
    hits: Arc<AtomicUsize>,
}

impl Fake {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn fake(script: Script) -> Fake {
    fake_on(common::tls_listener().await, script)
}

fn fake_on(listener: common::TlsListener, script: Script) -> Fake {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let (url, pem) = common::serve(
        listener,
        false,
        move |req: Request<hyper::body::Incoming>| {
            // Counted as soon as a request reaches the handler.
            let n = h.fetch_add(1, Ordering::SeqCst) + 1;
            let script = script.clone();
            async move {
                let method = req.method().to_string();
                let path = req.uri().path().to_string();
                let body = req.into_body().collect().await.unwrap().to_bytes();
                script(n, &method, &path, &String::from_utf8_lossy(&body))
            }
        },
    );
    Fake { url, pem, hits }
}

/// A loopback TLS listener whose self-signed certificate names only
/// `portcullis-other.invalid` (not 127.0.0.1, which it is reached by).
async fn listener_for_another_name() -> common::TlsListener {
    let cert =
        rcgen::generate_simple_self_signed(vec!["portcullis-other.invalid".to_string()]).unwrap();
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
    common::TlsListener {
        listener,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
        pem,
        port,
    }
}

struct Secret;
impl Env for Secret {
    fn var(&self, name: &str) -> Option<String> {
        (name == "SECRET").then(|| SECRET.to_string())
    }
}

const POLICIES: &str = r#"
@id("admins-all")
permit (principal in Group::"admins", action, resource);
"#;

/// A gate with one endpoint of `kind` at `url`, trusting the certificates
/// in `ca` (none: the system's roots only).
struct Portcullis {
    gate: Gate,
    kind: Kind,
    dir: tempfile::TempDir,
}

fn portcullis(kind: Kind, url: &str, ca: &[&[u8]]) -> Portcullis {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!(
        "[server]\npolicies = \"x\"\naudit_log = \"a.jsonl\"\n[[endpoints]]\nname = \"ep\"\nurl = \"{url}\"\ntimeout_seconds = 20\n{}",
        kind.section()
    );
    if !ca.is_empty() {
        std::fs::write(dir.path().join("ca.pem"), ca.concat()).unwrap();
        text.push_str("ca_file = \"ca.pem\"\n");
    }
    let config = Config::parse(&text, "t", dir.path(), &Secret).unwrap();
    let gate = GateBuilder::new()
        .policies(&[POLICIES])
        .endpoints(&config.endpoints)
        .audit(&dir.path().join("a.jsonl"))
        .build();
    Portcullis { gate, kind, dir }
}

impl Portcullis {
    /// Call the kind's tool; whether it failed, its text, and the audit
    /// record's error kind.
    async fn call(&self) -> (bool, String, Option<String>) {
        let caller = Caller::stdio(Principal::new("t", ["admins"]));
        let args = json!({});
        let req = CallRequest {
            tool: self.kind.tool(),
            args: Some(&args),
            confirmation: Confirmation::None,
            confirms: None,
        };
        let r = match self.gate.call(&caller, req, None).await {
            Outcome::Done(r) => r,
            other => panic!("{:?}: {other:?}", self.kind),
        };
        let log = std::fs::read_to_string(self.dir.path().join("a.jsonl")).unwrap();
        assert!(
            !r.text.contains(SECRET) && !log.contains(SECRET),
            "{:?}: the credential leaked",
            self.kind
        );
        let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
        let kind = last["error_kind"].as_str().map(str::to_string);
        (r.is_error, r.text, kind)
    }
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_before_any_request() {
    for kind in KINDS {
        let f = fake(healthy()).await;
        // The certificate is self-signed and not the endpoint's ca_file:
        // nothing may be sent.
        let p = portcullis(kind, &f.url, &[]);
        let (err, text, error_kind) = p.call().await;
        assert!(err, "{kind:?}: an untrusted server was used: {text}");
        assert!(
            text.contains("endpoint \"ep\" could not be reached")
                && text.contains("certificate")
                && text.contains("UnknownIssuer"),
            "{kind:?}: not a clear TLS error: {text}"
        );
        assert_eq!(error_kind.as_deref(), Some("unreachable"), "{kind:?}");
        assert_eq!(
            f.hits(),
            0,
            "{kind:?}: a request reached the untrusted server"
        );

        // The same server, its certificate given as ca_file, is used: the
        // refusal above was the certificate's.
        let trusted = portcullis(kind, &f.url, &[&f.pem]);
        let (err, text, _) = trusted.call().await;
        assert!(!err, "{kind:?}: the trusted fake should answer: {text}");
        assert!(f.hits() > 0, "{kind:?}");
    }
}

#[tokio::test]
async fn a_certificate_for_another_host_name_is_refused() {
    for kind in KINDS {
        // Trusted (it is the ca_file) but issued for another name than
        // the one the endpoint is reached by.
        let f = fake_on(listener_for_another_name().await, healthy());
        let p = portcullis(kind, &f.url, &[&f.pem]);
        let (err, text, error_kind) = p.call().await;
        assert!(
            err,
            "{kind:?}: a certificate for another name was accepted: {text}"
        );
        assert!(
            text.contains("endpoint \"ep\" could not be reached")
                && text.contains("certificate not valid for name \"127.0.0.1\""),
            "{kind:?}: not a clear TLS error: {text}"
        );
        assert_eq!(error_kind.as_deref(), Some("unreachable"), "{kind:?}");
        assert_eq!(f.hits(), 0, "{kind:?}: a request reached the server");
    }
}

#[tokio::test]
async fn redirects_are_refused_and_their_target_reached_by_nothing() {
    for kind in KINDS {
        for status in [301u16, 302, 303, 307, 308] {
            // The redirect's target is trusted and healthy: following the
            // redirect would succeed, so only the refusal keeps it unused.
            let target = fake(healthy()).await;
            let to = target.url.clone();
            let redirect: Script = Arc::new(move |_, _, path, _| {
                respond(
                    status,
                    vec![("location", format!("{to}{path}"))],
                    Vec::new(),
                )
            });
            let origin = fake(redirect).await;
            let p = portcullis(kind, &origin.url, &[&origin.pem, &target.pem]);
            let (err, text, error_kind) = p.call().await;
            assert!(err, "{kind:?} {status}: the redirect was followed: {text}");
            assert!(
                text.contains(&format!(
                    "endpoint \"ep\" answered with a redirect (HTTP {status}); redirects are never followed"
                )),
                "{kind:?} {status}: not a clear error: {text}"
            );
            assert_eq!(error_kind.as_deref(), Some("redirect"), "{kind:?} {status}");
            assert_eq!(origin.hits(), 1, "{kind:?} {status}: one request, no retry");
            assert_eq!(
                target.hits(),
                0,
                "{kind:?} {status}: a request reached the redirect's target"
            );
        }
    }
}

#[tokio::test]
async fn an_oversized_answer_is_discarded_and_the_next_call_works() {
    for kind in KINDS {
        // The first answer is the healthy one padded (with whitespace
        // that JSON and XML both allow) to one byte over the cap: it
        // would parse, so only the cap refuses it.
        let oversized: Script = Arc::new(|n, method, path, body| {
            let (status, headers, body) = answer(method, path, body);
            let mut body = body.into_bytes();
            if n == 1 {
                assert!(body.len() < MAX_BODY);
                body.resize(MAX_BODY + 1, b' ');
            }
            respond(status, headers, body)
        });
        let f = fake(oversized).await;
        let p = portcullis(kind, &f.url, &[&f.pem]);
        let (err, text, error_kind) = p.call().await;
        assert!(err, "{kind:?}: an oversized answer was accepted: {text}");
        assert!(
            text.contains(&format!(
                "endpoint \"ep\" sent more than {MAX_BODY} bytes; the answer was discarded"
            )),
            "{kind:?}: not a clear error: {text}"
        );
        assert_eq!(error_kind.as_deref(), Some("too_large"), "{kind:?}");
        assert_eq!(f.hits(), 1, "{kind:?}");
        // The gate and the endpoint's client carry on.
        let (err, text, _) = p.call().await;
        assert!(!err, "{kind:?}: the next call should work: {text}");
        assert!(f.hits() > 1, "{kind:?}");
    }
}
