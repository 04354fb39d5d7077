//! `vsphere_list_vms` through Portcullis (validate, locate, authorize,
//! fsync'd audit records, vim25 call, JSON) against the same listing as one
//! hand-written SOAP request (RetrievePropertiesEx over a ContainerView, the
//! same properties), on the same vcsim inventory. Needs
//! scripts/setup-vcsim.sh.
//!
//!   cargo bench --bench vsphere_list          (BENCH_VMS per host, BENCH_RUNS, BENCH_CALLS)
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::audit::AuditLog;
use portcullis::backends::Backends;
use portcullis::catalog::Catalog;
use portcullis::config::{Config, Env};
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate, Outcome};
use portcullis::principal::Principal;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Pw;
impl Env for Pw {
    fn var(&self, name: &str) -> Option<String> {
        (name == "VC_PASSWORD").then(|| "pass".into())
    }
}

const PROPS: [&str; 8] = [
    "name",
    "runtime.powerState",
    "config.hardware.numCPU",
    "config.hardware.memoryMB",
    "config.guestFullName",
    "runtime.host",
    "guest.ipAddress",
    "config.template",
];

fn soap(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
}

/// The baseline: a logged-in session and a ContainerView, then one
/// RetrievePropertiesEx per listing, the answer only counted.
struct Direct {
    http: reqwest::Client,
    url: String,
    cookie: String,
    view: String,
}

impl Direct {
    async fn post(&self, body: &str) -> (String, Option<String>) {
        let r = self
            .http
            .post(&self.url)
            .header("content-type", "text/xml; charset=utf-8")
            .header("soapaction", "\"urn:vim25/6.5\"")
            .header("cookie", &self.cookie)
            .body(soap(body))
            .send()
            .await
            .unwrap();
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(String::from);
        (r.text().await.unwrap(), cookie)
    }

    async fn connect(url: &str, ca: &[u8]) -> Direct {
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(ca).unwrap())
            .build()
            .unwrap();
        let mut d = Direct {
            http,
            url: url.to_string(),
            cookie: String::new(),
            view: String::new(),
        };
        let (_, cookie) = d
            .post("<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><userName>user</userName><password>pass</password></Login>")
            .await;
        d.cookie = cookie.expect("a session cookie");
        let (text, _) = d
            .post("<CreateContainerView xmlns=\"urn:vim25\"><_this type=\"ViewManager\">ViewManager</_this><container type=\"Folder\">group-d1</container><type>VirtualMachine</type><recursive>true</recursive></CreateContainerView>")
            .await;
        let start = text.find("<returnval").unwrap();
        let open = start + text[start..].find('>').unwrap() + 1;
        let close = open + text[open..].find('<').unwrap();
        d.view = text[open..close].to_string();
        d
    }

    async fn list(&self) -> usize {
        let paths: String = PROPS
            .iter()
            .map(|p| format!("<pathSet>{p}</pathSet>"))
            .collect();
        let body = format!(
            "<RetrievePropertiesEx xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet>\
             <propSet><type>VirtualMachine</type>{paths}</propSet><objectSet><obj type=\"ContainerView\">{}</obj><skip>true</skip>\
             <selectSet xsi:type=\"TraversalSpec\"><name>view</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet>\
             </objectSet></specSet><options><maxObjects>1000</maxObjects></options></RetrievePropertiesEx>",
            self.view
        );
        let (text, _) = self.post(&body).await;
        text.matches("<objects>").count()
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let vms = env_usize("BENCH_VMS", 100);
    let runs = env_usize("BENCH_RUNS", 7);
    let calls = env_usize("BENCH_CALLS", 50);
    let dir = tempfile::tempdir().unwrap();
    let sim = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/vcsim/vcsim");
    let cert = dir.path().join("vcsim.pem");
    let mut child = Command::new(&sim)
        .env("TMPDIR", dir.path())
        .args(["-vms", &vms.to_string(), "-cert"])
        .arg(&cert)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/setup-vcsim.sh", sim.display()));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().trim_start_matches("VCSIM_URL=").to_string();

    let config = Config::parse(
        &format!(
            "[server]\npolicies = \"x\"\naudit_log = \"a.jsonl\"\n[[endpoints]]\nname = \"vc\"\nbackend = \"vsphere\"\n\
             url = \"{}\"\nusername = \"user\"\npassword_env = \"VC_PASSWORD\"\nca_file = \"{}\"\n",
            url.trim_end_matches("/sdk"),
            cert.display()
        ),
        "bench",
        dir.path(),
        &Pw,
    )
    .unwrap();
    let catalog = Catalog::builtin();
    let engine = portcullis::policy::PolicyEngine::from_sources(
        &portcullis::lab::default_policies(),
        &catalog,
    )
    .unwrap();
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.jsonl")).unwrap());
    let gate = Gate::new(
        catalog,
        engine,
        Some(audit),
        Backends::new(&config.endpoints).unwrap(),
    );
    let caller = Caller::stdio(Principal::new("bench", ["readers"]));
    let args = serde_json::json!({});
    let through_gate = || async {
        let req = CallRequest {
            tool: "vsphere_list_vms",
            args: Some(&args),
            confirmation: Confirmation::None,
            confirms: None,
        };
        match gate.call(&caller, req, None).await {
            Outcome::Done(r) if !r.is_error => r.structured.unwrap()["result"]
                .as_array()
                .map_or(0, Vec::len),
            other => panic!("{other:?}"),
        }
    };
    let direct = Direct::connect(&url, &std::fs::read(&cert).unwrap()).await;
    let n_gate = through_gate().await;
    let n_direct = direct.list().await;
    assert_eq!(n_gate, n_direct, "both list the same VMs");

    let mut g = Vec::new();
    let mut d = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        for _ in 0..calls {
            direct.list().await;
        }
        d.push(t.elapsed() / calls as u32);
        let t = Instant::now();
        for _ in 0..calls {
            through_gate().await;
        }
        g.push(t.elapsed() / calls as u32);
    }
    let (g, d) = (median(g), median(d));
    println!("vsphere_list_vms on vcsim, {n_gate} VMs, median of {runs} runs of {calls} calls:");
    println!(
        "  direct SOAP (RetrievePropertiesEx, answer not parsed): {:>8.2} ms",
        d.as_secs_f64() * 1e3
    );
    println!(
        "  through Portcullis (gate + audit fsync + parse + JSON):  {:>8.2} ms  ({:.2}x)",
        g.as_secs_f64() * 1e3,
        g.as_secs_f64() / d.as_secs_f64()
    );
    gate.backends().shutdown().await;
    let _ = child.kill();
    let _ = child.wait();
}
