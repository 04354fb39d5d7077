//! A task that does not end within the call's wait (`timeout_seconds`):
//! the call comes back on time, reporting progress while it waits, with
//! the task's id, state "running" and a note naming the limit and the tool
//! to follow it with. That is not an error, by design (the task may still
//! finish; retrying the call would start a second one). The server carries
//! on: the next calls are answered. And a backend that stops answering
//! while a task is followed ends the call at the endpoint's timeout, with
//! an error saying so. PVE against the lab with tasks that take a minute;
//! vSphere against a fake whose tasks never leave "running" or are never
//! answered for.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use portcullis::backends::pve::lab::{Fault, Lab};
use portcullis::backends::Progress;
use portcullis::config::{Config, Env};
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate, Outcome, ToolResult};
use portcullis::principal::Principal;
use portcullis::testing::GateBuilder;
use serde_json::{json, Value};

/// Call as an admin, collecting the progress reports the call sent.
async fn call(gate: &Gate, tool: &str, args: Value) -> (ToolResult, Vec<Progress>, Duration) {
    let caller = Caller::stdio(Principal::new("t", ["admins"]));
    let req = CallRequest {
        tool,
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let started = Instant::now();
    let r = match gate.call(&caller, req, Some(tx)).await {
        Outcome::Done(r) => r,
        other => panic!("{tool}: {other:?}"),
    };
    let took = started.elapsed();
    let mut progress = Vec::new();
    while let Ok(p) = rx.try_recv() {
        progress.push(p);
    }
    (r, progress, took)
}

fn gate_for(config: &Config, audit: &std::path::Path) -> Gate {
    GateBuilder::new()
        .endpoints(&config.endpoints)
        .audit(audit)
        .build()
}

/// The outcome record of the last call, from the audit log.
fn last_outcome(audit: &std::path::Path) -> Value {
    std::fs::read_to_string(audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .rfind(|r| r["kind"] == "outcome")
        .expect("an outcome record")
}

#[tokio::test]
async fn a_pve_task_that_outlasts_its_wait_comes_back_running() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    // Every lab task takes a minute.
    let (mut labs, config) = portcullis::lab::start(&audit, 60.0).await.unwrap();
    let lab: Lab = labs.take().unwrap();
    let gate = gate_for(&config, &audit);
    let (r, progress, took) = call(
        &gate,
        "pve_stop_qemu_vm",
        json!({"node": "pve1", "vmid": 100, "confirm": true, "timeout_seconds": 1}),
    )
    .await;
    assert!(!r.is_error, "{}", r.text);
    let result = &r.structured.as_ref().unwrap()["result"];
    assert_eq!(result["status"], "running", "{result}");
    let upid = result["upid"].as_str().unwrap().to_string();
    assert!(
        upid.starts_with("UPID:pve1:") && upid.contains(":qmstop:100:"),
        "{upid}"
    );
    let note = result["note"].as_str().unwrap();
    assert!(
        note.contains("still running after 1s") && note.contains("pve_get_task_status"),
        "{note}"
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "the wait ends at its limit: {took:?}"
    );
    // It waited polling, and said so.
    assert!(!progress.is_empty());
    assert!(
        progress
            .iter()
            .all(|p| p.message.starts_with(&format!("task {upid} running for"))),
        "{progress:?}"
    );
    assert!(
        progress.windows(2).all(|w| w[0].progress < w[1].progress),
        "progress only grows: {progress:?}"
    );
    assert_eq!(last_outcome(&audit)["tool"], "pve_stop_qemu_vm");

    // The server carries on: the task is still there to poll, and other
    // calls are answered.
    let (r, _, _) = call(
        &gate,
        "pve_get_task_status",
        json!({"node": "pve1", "upid": upid}),
    )
    .await;
    assert!(!r.is_error, "{}", r.text);
    assert_eq!(r.structured.unwrap()["result"]["status"], "running");
    let (r, _, _) = call(&gate, "pve_list_qemu_vms", json!({"node": "pve1"})).await;
    assert!(!r.is_error, "{}", r.text);
    assert_eq!(
        lab.guest_running(100),
        Some(false),
        "the stop was carried out"
    );
}

/// The backend stops answering while the task is followed: the call ends
/// at the endpoint's timeout with an error naming it, and the server
/// carries on.
#[tokio::test]
async fn a_pve_task_whose_status_stops_answering_ends_at_the_endpoint_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let (mut labs, mut config) = portcullis::lab::start(&audit, 60.0).await.unwrap();
    let lab: Lab = labs.take().unwrap();
    config.endpoints[0].timeout = Duration::from_secs(1);
    let gate = gate_for(&config, &audit);
    let stop = call(
        &gate,
        "pve_stop_qemu_vm",
        json!({"node": "pve1", "vmid": 100, "confirm": true, "timeout_seconds": 30}),
    );
    // Once the task has started, the next status read hangs (the first
    // poll may already have been answered; the polls after it are 200 ms
    // or more apart).
    let hang = async {
        let started = Instant::now();
        while !lab
            .requests()
            .iter()
            .any(|(m, p)| m == "POST" && p.ends_with("/qemu/100/status/stop"))
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{:?}",
                lab.requests()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lab.inject([Fault::Hang(Duration::from_secs(5))]);
    };
    let ((r, _, took), ()) = tokio::join!(stop, hang);
    assert!(r.is_error, "{}", r.text);
    assert!(r.text.contains("did not answer within 1s"), "{}", r.text);
    assert!(took < Duration::from_secs(5), "{took:?}");
    let outcome = last_outcome(&audit);
    assert_eq!(
        (outcome["outcome"].clone(), outcome["error_kind"].clone()),
        (json!("backend_error"), json!("timeout")),
        "{outcome}"
    );
    let (r, _, _) = call(&gate, "pve_list_qemu_vms", json!({"node": "pve1"})).await;
    assert!(!r.is_error, "the next call works: {}", r.text);
}

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

fn props(objects: &str) -> String {
    envelope(&format!(
        r#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>{objects}</returnval></RetrievePropertiesExResponse>"#
    ))
}

const CONTENT: &str = r#"<RetrieveServiceContentResponse xmlns="urn:vim25"><returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector><viewManager type="ViewManager">ViewManager</viewManager><sessionManager type="SessionManager">SessionManager</sessionManager><taskManager type="TaskManager">TaskManager</taskManager><about><name>VMware vCenter Server</name><apiType>VirtualCenter</apiType></about></returnval></RetrieveServiceContentResponse>"#;

/// One datacenter, one standalone host, two VMs.
const INVENTORY: &str = r#"<objects><obj type="Datacenter">datacenter-1</obj><propSet><name>name</name><val xsi:type="xsd:string">DC1</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Folder">group-d1</val></propSet></objects>
<objects><obj type="Folder">group-h1</obj><propSet><name>name</name><val xsi:type="xsd:string">host</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Datacenter">datacenter-1</val></propSet></objects>
<objects><obj type="ComputeResource">domain-s1</obj><propSet><name>name</name><val xsi:type="xsd:string">esx1.example</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Folder">group-h1</val></propSet></objects>
<objects><obj type="HostSystem">host-1</obj><propSet><name>name</name><val xsi:type="xsd:string">esx1.example</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="ComputeResource">domain-s1</val></propSet></objects>
<objects><obj type="Folder">group-v1</obj><propSet><name>name</name><val xsi:type="xsd:string">vm</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Datacenter">datacenter-1</val></propSet></objects>
<objects><obj type="VirtualMachine">vm-7</obj><propSet><name>name</name><val xsi:type="xsd:string">app-01</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Folder">group-v1</val></propSet></objects>
<objects><obj type="VirtualMachine">vm-8</obj><propSet><name>name</name><val xsi:type="xsd:string">app-02</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Folder">group-v1</val></propSet></objects>"#;

/// A vCenter whose power-off task of app-01 never leaves "running" (at
/// 40%), counting the times the task was read; app-02's power-off task
/// cannot be read at all (see `HANGS`).
fn answer(body: &str, polls: &AtomicUsize) -> (u16, Vec<(&'static str, String)>, String) {
    let method = body
        .split("<soapenv:Body><")
        .nth(1)
        .and_then(|b| b.split([' ', '>']).next())
        .unwrap_or("");
    let ok = |text: String| (200, vec![], text);
    match method {
        "RetrieveServiceContent" => ok(envelope(CONTENT)),
        "Login" => (
            200,
            vec![(
                "set-cookie",
                "vmware_soap_session=\"abc\"; Path=/; HttpOnly; Secure".into(),
            )],
            envelope(
                r#"<LoginResponse xmlns="urn:vim25"><returnval><key>s1</key></returnval></LoginResponse>"#,
            ),
        ),
        "Logout" => ok(envelope(
            r#"<LogoutResponse xmlns="urn:vim25"></LogoutResponse>"#,
        )),
        "CreateContainerView" => ok(envelope(
            r#"<CreateContainerViewResponse xmlns="urn:vim25"><returnval type="ContainerView">session[1]view</returnval></CreateContainerViewResponse>"#,
        )),
        "DestroyView" => ok(envelope(
            r#"<DestroyViewResponse xmlns="urn:vim25"></DestroyViewResponse>"#,
        )),
        "RetrievePropertiesEx" if body.contains("<pathSet>parent</pathSet>") => {
            ok(props(INVENTORY))
        }
        "RetrievePropertiesEx" if body.contains(r#"<obj type="Task">task-9</obj>"#) => {
            polls.fetch_add(1, Ordering::SeqCst);
            ok(props(
                r#"<objects><obj type="Task">task-9</obj><propSet><name>info.state</name><val xsi:type="TaskInfoState">running</val></propSet><propSet><name>info.progress</name><val xsi:type="xsd:int">40</val></propSet></objects>"#,
            ))
        }
        "RetrievePropertiesEx" if body.contains(r#"<obj type="VirtualMachine">vm-8</obj>"#) => {
            ok(props(
                r#"<objects><obj type="VirtualMachine">vm-8</obj><propSet><name>name</name><val xsi:type="xsd:string">app-02</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Folder">group-v1</val></propSet><propSet><name>runtime.powerState</name><val xsi:type="VirtualMachinePowerState">poweredOn</val></propSet></objects>"#,
            ))
        }
        "PowerOffVM_Task" if body.contains(r#"type="VirtualMachine">vm-8<"#) => ok(envelope(
            r#"<PowerOffVM_TaskResponse xmlns="urn:vim25"><returnval type="Task">task-10</returnval></PowerOffVM_TaskResponse>"#,
        )),
        "RetrievePropertiesEx" if body.contains("VirtualMachine") => ok(props(
            r#"<objects><obj type="VirtualMachine">vm-7</obj><propSet><name>name</name><val xsi:type="xsd:string">app-01</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Folder">group-v1</val></propSet><propSet><name>runtime.powerState</name><val xsi:type="VirtualMachinePowerState">poweredOn</val></propSet></objects>"#,
        )),
        "PowerOffVM_Task" if body.contains(r#"type="VirtualMachine">vm-7<"#) => ok(envelope(
            r#"<PowerOffVM_TaskResponse xmlns="urn:vim25"><returnval type="Task">task-9</returnval></PowerOffVM_TaskResponse>"#,
        )),
        other => (
            500,
            vec![],
            envelope(&format!(
                r#"<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>the fake has no {other}</faultstring><detail><MethodNotFoundFault xmlns="urn:vim25" xsi:type="MethodNotFound"></MethodNotFoundFault></detail></soapenv:Fault>"#
            )),
        ),
    }
}

/// A read of app-02's power-off task is never answered.
const HANGS: &str = r#"<obj type="Task">task-10</obj>"#;

struct Pw;
impl Env for Pw {
    fn var(&self, name: &str) -> Option<String> {
        (name == "VC_PASSWORD").then(|| "pw".into())
    }
}

#[tokio::test]
async fn a_vsphere_task_that_outlasts_its_wait_comes_back_running_or_hangs_into_a_timeout() {
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let (url, pem) = common::serve(
        common::tls_listener().await,
        false,
        move |req: Request<hyper::body::Incoming>| {
            let p = p.clone();
            async move {
                let rest = req.uri().path().starts_with("/rest/");
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                if String::from_utf8_lossy(&body).contains(HANGS) {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                // An older vCenter: no Automation API (so no tags).
                if rest {
                    return Response::builder()
                        .status(404)
                        .body(Full::new(Bytes::new()))
                        .unwrap();
                }
                let (status, headers, text) = answer(&String::from_utf8_lossy(&body), &p);
                let mut resp = Response::builder()
                    .status(status)
                    .header("content-type", "text/xml");
                for (k, v) in headers {
                    resp = resp.header(k, v);
                }
                resp.body(Full::new(Bytes::from(text))).unwrap()
            }
        },
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &pem).unwrap();
    let text = format!(
        "[server]\npolicies = \"x\"\naudit_log = \"a.jsonl\"\n[[endpoints]]\nname = \"vc\"\nbackend = \"vsphere\"\nurl = \"{url}\"\n\
         username = \"svc\"\npassword_env = \"VC_PASSWORD\"\nca_file = \"ca.pem\"\ntimeout_seconds = 2\n"
    );
    let config = Config::parse(&text, "t", dir.path(), &Pw).unwrap();
    let audit = dir.path().join("a.jsonl");
    let gate = gate_for(&config, &audit);

    let (r, progress, took) = call(
        &gate,
        "vsphere_power_off_vm",
        json!({"vm": "app-01", "confirm": true, "timeout_seconds": 1}),
    )
    .await;
    assert!(!r.is_error, "{}", r.text);
    let result = &r.structured.as_ref().unwrap()["result"];
    assert_eq!(
        (result["task"].clone(), result["state"].clone()),
        (json!("task-9"), json!("running")),
        "{result}"
    );
    let note = result["note"].as_str().unwrap();
    assert!(
        note.contains("still running after 1s") && note.contains("vsphere_list_recent_tasks"),
        "{note}"
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "the wait ends at its limit: {took:?}"
    );
    let polled = polls.load(Ordering::SeqCst);
    assert!(
        polled >= 2,
        "the task was followed, not read once: {polled}"
    );
    assert_eq!(progress.len(), polled, "one report per poll: {progress:?}");
    assert!(
        progress.iter().all(|p| p.progress == 40.0
            && p.total == Some(100.0)
            && p.message.starts_with("PowerOffVM_Task running for")),
        "{progress:?}"
    );
    assert_eq!(last_outcome(&audit)["tool"], "vsphere_power_off_vm");

    // The server carries on.
    let (r, _, _) = call(&gate, "vsphere_list_vms", json!({})).await;
    assert!(!r.is_error, "{}", r.text);
    assert_eq!(r.structured.unwrap()["result"][0]["name"], "app-01");

    // vCenter stops answering while a task is followed: the call ends at
    // the endpoint's timeout (2 s) with an error saying so, and the server
    // carries on.
    let (r, _, took) = call(
        &gate,
        "vsphere_power_off_vm",
        json!({"vm": "app-02", "confirm": true, "timeout_seconds": 30}),
    )
    .await;
    assert!(
        r.is_error && r.text.contains("did not answer within 2s"),
        "{}",
        r.text
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(last_outcome(&audit)["error_kind"], "timeout");
    let (r, _, _) = call(&gate, "vsphere_list_vms", json!({})).await;
    assert!(!r.is_error, "the next call works: {}", r.text);
}
