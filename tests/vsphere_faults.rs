//! What vcsim cannot produce, from SOAP answers shaped like vCenter's:
//! a refused login, faults, 5xx, garbage, a hang, a reset (each an error
//! the agent can act on, the process carrying on), and ESXi host services
//! and NTP settings, guest file transfers and console screenshots (vcsim
//! 0.24 has none of them).
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use portcullis::config::{Config, Env};
use portcullis::gate::{CallRequest, Caller, Confirmation, Outcome};
use portcullis::principal::Principal;
use portcullis::testing::GateBuilder;
use serde_json::json;

/// How the fake answers each SOAP method (matched on the body).
#[derive(Clone, Copy, PartialEq)]
enum Script {
    Healthy,
    BadLogin,
    ServerError,
    Garbage,
    Hang,
    Reset,
    SessionExpiresOnce,
    /// Healthy, but the Automation API (tags) answers 503.
    RestDown,
}

/// Names and parents: one datacenter, one standalone host.
const INVENTORY: &str = r#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>
<objects><obj type="Datacenter">datacenter-1</obj><propSet><name>name</name><val xsi:type="xsd:string">DC1</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Folder">group-d1</val></propSet></objects>
<objects><obj type="Folder">group-h1</obj><propSet><name>name</name><val xsi:type="xsd:string">host</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Datacenter">datacenter-1</val></propSet></objects>
<objects><obj type="ComputeResource">domain-s1</obj><propSet><name>name</name><val xsi:type="xsd:string">esx1.example</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Folder">group-h1</val></propSet></objects>
<objects><obj type="Folder">group-v1</obj><propSet><name>name</name><val xsi:type="xsd:string">vm</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Datacenter">datacenter-1</val></propSet></objects>
<objects><obj type="VirtualMachine">vm-7</obj><propSet><name>name</name><val xsi:type="xsd:string">app-01</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Folder">group-v1</val></propSet></objects>
<objects><obj type="Folder">group-s1</obj><propSet><name>name</name><val xsi:type="xsd:string">datastore</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Datacenter">datacenter-1</val></propSet></objects>
<objects><obj type="Datastore">datastore-1</obj><propSet><name>name</name><val xsi:type="xsd:string">ds1</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Folder">group-s1</val></propSet></objects>
<objects><obj type="HostSystem">host-1</obj><propSet><name>name</name><val xsi:type="xsd:string">esx1.example</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="ComputeResource">domain-s1</val></propSet></objects>
</returnval></RetrievePropertiesExResponse>"#;

/// A RetrievePropertiesEx answer with one object and one property.
fn props(ty: &str, id: &str, name: &str, val: &str) -> String {
    envelope(&format!(
        r#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="{ty}">{id}</obj><propSet><name>{name}</name>{val}</propSet></objects></returnval></RetrievePropertiesExResponse>"#
    ))
}

const CONTENT: &str = r#"<returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector><viewManager type="ViewManager">ViewManager</viewManager><sessionManager type="SessionManager">SessionManager</sessionManager><guestOperationsManager type="GuestOperationsManager">guestOperationsManager</guestOperationsManager><ovfManager type="OvfManager">OvfManager</ovfManager><about><name>VMware vCenter Server</name><apiType>VirtualCenter</apiType></about></returnval>"#;

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

fn fault(kind: &str, message: &str) -> String {
    envelope(&format!(
        r#"<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>{message}</faultstring><detail><{kind}Fault xmlns="urn:vim25" xsi:type="{kind}"></{kind}Fault></detail></soapenv:Fault>"#
    ))
}

struct Fake {
    url: String,
    pem: Vec<u8>,
    logins: Arc<Mutex<u32>>,
    /// The one bit of server state (see `answer`).
    happened: Arc<Mutex<bool>>,
    /// What uploads carried, by path and query.
    written: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

/// Changes the fake only records (vcsim 0.24 has none of them): the last
/// request body of each, under `soap:METHOD` in `written`.
const RECORDED: [&str; 6] = [
    "UpdateServicePolicy",
    "UpdateDateTimeConfig",
    "RestartService",
    "StartService",
    "RenameSnapshot",
    "StandbyGuest",
];

/// The disk the fake's export lease serves.
const DISK: &[u8] = b"KDMV stream-optimized disk bytes";

/// The PNG the fake's console shows (a PNG signature and some bytes).
const SCREEN: &[u8] = b"\x89PNG\r\n\x1a\nfake-console";

/// Files served and received beside SOAP: guest file transfers (by the URL
/// InitiateFileTransfer* handed out) and datastore files (/folder).
fn file_answer(
    method: &hyper::Method,
    path_and_query: &str,
    cookie: Option<&str>,
    body: &[u8],
    written: &Mutex<HashMap<String, Vec<u8>>>,
    rest_down: bool,
) -> Option<(u16, Vec<u8>)> {
    let session = cookie.is_some_and(|c| c.contains("vmware_soap_session"));
    let mut written = written.lock().unwrap();
    Some(match (method.as_str(), path_and_query) {
        ("GET", "/guestFile?id=1&token=abc") => (200, b"hostname=app-01\n".to_vec()),
        // Served "by an ESXi host" (the fake under another name): the
        // ticket is in the URL, and vCenter's session must not arrive.
        ("GET", "/guestFile?id=3&token=esx") if cookie.is_none() => (200, b"from esxi".to_vec()),
        ("GET", "/guestFile?id=3&token=esx") => {
            (400, b"a vCenter session reached an ESXi host".to_vec())
        }
        ("PUT", p @ "/guestFile?id=2&token=abc") => {
            written.insert(p.to_string(), body.to_vec());
            (200, Vec::new())
        }
        // The export lease's disk, and the datastore folder it goes to.
        ("GET", "/nfc/52a1/disk-0.vmdk") if session => (200, DISK.to_vec()),
        ("HEAD", p) if p.starts_with("/folder/exports/") => {
            (if written.contains_key(p) { 200 } else { 404 }, Vec::new())
        }
        ("PUT", p) if p.starts_with("/folder/exports/") && session => {
            written.insert(p.to_string(), body.to_vec());
            (200, Vec::new())
        }
        // vCenter's datastore file service needs the session.
        ("GET", "/folder/app-01/app-01-1.png?dcPath=DC1&dsName=ds1") if session => {
            (200, SCREEN.to_vec())
        }
        ("GET", p) if p.starts_with("/folder/") => (401, Vec::new()),
        (_, p) if p.starts_with("/guestFile") => (404, Vec::new()),
        // An older vCenter: no Automation API, so VMs carry no tags.
        (_, p) if p.starts_with("/rest/") && !rest_down => (404, Vec::new()),
        (_, p) if p.starts_with("/rest/") => (503, b"<html>Service Unavailable</html>".to_vec()),
        _ => return None,
    })
}

async fn answer(
    script: Script,
    body: &str,
    logins: &Mutex<u32>,
    // One bit of server state: the session has expired once (SessionExpiresOnce),
    // or SSH has been started, or an export lease completed (Healthy).
    happened: &Mutex<bool>,
) -> (u16, Vec<(&'static str, String)>, String) {
    let method = body
        .split("<soapenv:Body><")
        .nth(1)
        .and_then(|b| b.split([' ', '>']).next())
        .unwrap_or("")
        .to_string();
    match (script, method.as_str()) {
        (_, "RetrieveServiceContent") => (200, vec![], envelope(&format!("<RetrieveServiceContentResponse xmlns=\"urn:vim25\">{CONTENT}</RetrieveServiceContentResponse>"))),
        (Script::BadLogin, "Login") => (500, vec![], fault("InvalidLogin", "Cannot complete login due to an incorrect user name or password.")),
        (_, "Login") => {
            *logins.lock().unwrap() += 1;
            (200, vec![("set-cookie", "vmware_soap_session=\"abc\"; Path=/; HttpOnly; Secure".into())], envelope("<LoginResponse xmlns=\"urn:vim25\"><returnval><key>s1</key></returnval></LoginResponse>"))
        }
        (Script::ServerError, _) => (503, vec![], "<html>Service Unavailable</html>".into()),
        (Script::Garbage, _) => (200, vec![], "{\"not\": \"soap\"}".into()),
        (Script::Hang, _) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            (200, vec![], String::new())
        }
        (Script::SessionExpiresOnce, _) if !*happened.lock().unwrap() => {
            *happened.lock().unwrap() = true;
            (500, vec![], fault("NotAuthenticated", "The session is not authenticated."))
        }
        (_, "CreateContainerView") => (200, vec![], envelope("<CreateContainerViewResponse xmlns=\"urn:vim25\"><returnval type=\"ContainerView\">session[1]view</returnval></CreateContainerViewResponse>")),
        (_, "RetrievePropertiesEx") if body.contains("<pathSet>parent</pathSet>") => (200, vec![], envelope(INVENTORY)),
        (_, "RetrievePropertiesEx") if body.contains("<pathSet>processManager</pathSet>") => (200, vec![], envelope(r#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="GuestOperationsManager">guestOperationsManager</obj><propSet><name>processManager</name><val xsi:type="ManagedObjectReference" type="GuestProcessManager">guestOperationsProcessManager</val></propSet><propSet><name>fileManager</name><val xsi:type="ManagedObjectReference" type="GuestFileManager">guestOperationsFileManager</val></propSet></objects></returnval></RetrievePropertiesExResponse>"#)),
        (_, "RetrievePropertiesEx") if body.contains(r#"<obj type="VirtualMachine">vm-7</obj>"#) && body.contains("<pathSet>snapshot</pathSet>") => (200, vec![], props("VirtualMachine", "vm-7", "snapshot", r#"<val xsi:type="VirtualMachineSnapshotInfo"><currentSnapshot type="VirtualMachineSnapshot">snapshot-1</currentSnapshot><rootSnapshotList><snapshot type="VirtualMachineSnapshot">snapshot-1</snapshot><vm type="VirtualMachine">vm-7</vm><name>base</name><description></description><id>1</id><createTime>2026-11-24T10:00:00Z</createTime><state>poweredOn</state><quiesced>false</quiesced></rootSnapshotList></val>"#)),
        (_, "RetrievePropertiesEx") if body.contains(r#"<obj type="VirtualMachine">vm-7</obj>"#) => (200, vec![], envelope(r#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="VirtualMachine">vm-7</obj><propSet><name>name</name><val xsi:type="xsd:string">app-01</val></propSet><propSet><name>parent</name><val xsi:type="ManagedObjectReference" type="Folder">group-v1</val></propSet><propSet><name>runtime.powerState</name><val xsi:type="VirtualMachinePowerState">poweredOn</val></propSet></objects></returnval></RetrievePropertiesExResponse>"#)),
        (_, "StartProgramInGuest") => {
            // The guest password must arrive, escaped, in the body.
            let ok = body.contains("<username>admin</username>") && body.contains("<password>pw&lt;guest&amp;</password>");
            if ok {
                (200, vec![], envelope(r#"<StartProgramInGuestResponse xmlns="urn:vim25"><returnval>4242</returnval></StartProgramInGuestResponse>"#))
            } else {
                (500, vec![], fault("InvalidGuestLogin", "Failed to authenticate with the guest operating system"))
            }
        }
        (_, "ListProcessesInGuest") => (200, vec![], envelope(r#"<ListProcessesInGuestResponse xmlns="urn:vim25"><returnval><name>sh</name><pid>4242</pid><owner>admin</owner><cmdLine>/bin/sh -c true</cmdLine><startTime>2026-11-24T10:00:00Z</startTime><endTime>2026-11-24T10:00:01Z</endTime><exitCode>3</exitCode></returnval></ListProcessesInGuestResponse>"#)),
        (_, "ListFilesInGuest") => (200, vec![], envelope(r#"<ListFilesInGuestResponse xmlns="urn:vim25"><returnval><files><path>.</path><type>directory</type><size>4096</size></files><files><path>app.log</path><type>file</type><size>1234</size><attributes xsi:type="GuestPosixFileAttributes"><modificationTime>2026-11-24T09:00:00Z</modificationTime></attributes></files><remaining>0</remaining></returnval></ListFilesInGuestResponse>"#)),
        (_, "InitiateFileTransferFromGuest") if body.contains("<guestFilePath>/elsewhere</guestFilePath>") => (200, vec![], envelope(r#"<InitiateFileTransferFromGuestResponse xmlns="urn:vim25"><returnval><attributes xsi:type="GuestPosixFileAttributes"></attributes><size>16</size><url>https://esx1.example:443/guestFile?id=9&amp;token=abc</url></returnval></InitiateFileTransferFromGuestResponse>"#)),
        (_, "InitiateFileTransferFromGuest") if body.contains("<guestFilePath>/on-esxi</guestFilePath>") => (200, vec![], envelope(r#"<InitiateFileTransferFromGuestResponse xmlns="urn:vim25"><returnval><attributes xsi:type="GuestPosixFileAttributes"></attributes><size>9</size><url>https://localhost:{{port}}/guestFile?id=3&amp;token=esx</url></returnval></InitiateFileTransferFromGuestResponse>"#)),
        (_, "InitiateFileTransferFromGuest") if body.contains("<guestFilePath>/big</guestFilePath>") => (200, vec![], envelope(r#"<InitiateFileTransferFromGuestResponse xmlns="urn:vim25"><returnval><attributes xsi:type="GuestPosixFileAttributes"></attributes><size>999999999</size><url>https://*:443/guestFile?id=1&amp;token=abc</url></returnval></InitiateFileTransferFromGuestResponse>"#)),
        (_, "InitiateFileTransferFromGuest") => (200, vec![], envelope(r#"<InitiateFileTransferFromGuestResponse xmlns="urn:vim25"><returnval><attributes xsi:type="GuestPosixFileAttributes"></attributes><size>16</size><url>https://*:443/guestFile?id=1&amp;token=abc</url></returnval></InitiateFileTransferFromGuestResponse>"#)),
        (_, "InitiateFileTransferToGuest") if body.contains("<fileSize>11</fileSize>") && body.contains("<overwrite>true</overwrite>") => (200, vec![], envelope(r#"<InitiateFileTransferToGuestResponse xmlns="urn:vim25"><returnval>https://*:443/guestFile?id=2&amp;token=abc</returnval></InitiateFileTransferToGuestResponse>"#)),
        (_, "InitiateFileTransferToGuest") => (500, vec![], fault("FileAlreadyExists", "The file already exists")),
        (_, "ExportVm") => (200, vec![], envelope(r#"<ExportVmResponse xmlns="urn:vim25"><returnval type="HttpNfcLease">lease-1</returnval></ExportVmResponse>"#)),
        (_, "RetrievePropertiesEx") if body.contains(r#"<obj type="HttpNfcLease">lease-1</obj>"#) => (200, vec![], envelope(r#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="HttpNfcLease">lease-1</obj><propSet><name>state</name><val xsi:type="HttpNfcLeaseState">ready</val></propSet><propSet><name>info</name><val xsi:type="HttpNfcLeaseInfo"><lease type="HttpNfcLease">lease-1</lease><entity type="VirtualMachine">vm-7</entity><deviceUrl><key>/vm-7/VirtualLsiLogicController0:0</key><importKey>/app-01/VirtualLsiLogicController0:0</importKey><url>https://*/nfc/52a1/disk-0.vmdk</url><sslThumbprint></sslThumbprint><disk>true</disk><targetId>disk-0.vmdk</targetId></deviceUrl><totalDiskCapacityInKB>1024</totalDiskCapacityInKB><leaseTimeout>300</leaseTimeout></val></propSet></objects></returnval></RetrievePropertiesExResponse>"#)),
        (_, "HttpNfcLeaseProgress") => (200, vec![], envelope(r#"<HttpNfcLeaseProgressResponse xmlns="urn:vim25"></HttpNfcLeaseProgressResponse>"#)),
        (_, "HttpNfcLeaseComplete") => {
            *happened.lock().unwrap() = true;
            (200, vec![], envelope(r#"<HttpNfcLeaseCompleteResponse xmlns="urn:vim25"></HttpNfcLeaseCompleteResponse>"#))
        }
        // The descriptor names the files the export wrote, by the sizes seen.
        (_, "CreateDescriptor") if body.contains("<ovfFiles><deviceId>/vm-7/VirtualLsiLogicController0:0</deviceId><path>disk-0.vmdk</path><size>32</size></ovfFiles><name>app-01</name>") => (200, vec![], envelope(r#"<CreateDescriptorResponse xmlns="urn:vim25"><returnval><ovfDescriptor>&lt;Envelope&gt;app-01&lt;/Envelope&gt;</ovfDescriptor></returnval></CreateDescriptorResponse>"#)),
        (_, "CreateScreenshot_Task") => (200, vec![], envelope(r#"<CreateScreenshot_TaskResponse xmlns="urn:vim25"><returnval type="Task">task-5</returnval></CreateScreenshot_TaskResponse>"#)),
        (_, "RetrievePropertiesEx") if body.contains(r#"<obj type="Task">task-5</obj>"#) => (200, vec![], envelope(r#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="Task">task-5</obj><propSet><name>info.state</name><val xsi:type="TaskInfoState">success</val></propSet><propSet><name>info.result</name><val xsi:type="xsd:string">[ds1] app-01/app-01-1.png</val></propSet></objects></returnval></RetrievePropertiesExResponse>"#)),
        (_, "MakeDirectoryInGuest") => (200, vec![], envelope(r#"<MakeDirectoryInGuestResponse xmlns="urn:vim25"></MakeDirectoryInGuestResponse>"#)),
        (_, "DeleteFileInGuest") => (200, vec![], envelope(r#"<DeleteFileInGuestResponse xmlns="urn:vim25"></DeleteFileInGuestResponse>"#)),
        (_, "RetrievePropertiesEx") if body.contains("configManager.serviceSystem") => (200, vec![], props("HostSystem", "host-1", "configManager.serviceSystem", r#"<val xsi:type="ManagedObjectReference" type="HostServiceSystem">serviceSystem-1</val>"#)),
        (_, "RetrievePropertiesEx") if body.contains("<pathSet>serviceInfo</pathSet>") => {
            let running = *happened.lock().unwrap();
            (200, vec![], props("HostServiceSystem", "serviceSystem-1", "serviceInfo", &format!(
                r#"<val xsi:type="HostServiceInfo"><service><key>TSM-SSH</key><label>SSH</label><required>false</required><uninstallable>false</uninstallable><running>{running}</running><ruleset>sshServer</ruleset><policy>off</policy></service><service><key>ntpd</key><label>NTP Daemon</label><required>false</required><uninstallable>false</uninstallable><running>true</running><ruleset>ntpClient</ruleset><policy>on</policy></service></val>"#)))
        }
        (_, "RetrievePropertiesEx") if body.contains("config.dateTimeInfo") => (200, vec![], props("HostSystem", "host-1", "config.dateTimeInfo", r#"<val xsi:type="HostDateTimeInfo"><timeZone><key>UTC</key><name>UTC</name><description>UTC</description><gmtOffset>0</gmtOffset></timeZone><ntpConfig><server>0.pool.ntp.org</server><server>time.example.internal</server></ntpConfig></val>"#)),
        (_, "RetrievePropertiesEx") if body.contains("configManager.dateTimeSystem") => (200, vec![], props("HostSystem", "host-1", "configManager.dateTimeSystem", r#"<val xsi:type="ManagedObjectReference" type="HostDateTimeSystem">dateTimeSystem-1</val>"#)),
        (_, m @ ("UpdateServicePolicy" | "UpdateDateTimeConfig" | "RestartService" | "RenameSnapshot" | "StandbyGuest")) => (200, vec![], envelope(&format!(r#"<{m}Response xmlns="urn:vim25"></{m}Response>"#))),
        (_, "StartService") if body.contains("<id>TSM-SSH</id>") => {
            // The service runs from now on.
            *happened.lock().unwrap() = true;
            (200, vec![], envelope(r#"<StartServiceResponse xmlns="urn:vim25"></StartServiceResponse>"#))
        }
        (_, "RetrievePropertiesEx") => (200, vec![], envelope(r#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="VirtualMachine">vm-1</obj><propSet><name>name</name><val xsi:type="xsd:string">web-01</val></propSet><propSet><name>runtime.powerState</name><val xsi:type="VirtualMachinePowerState">poweredOn</val></propSet></objects></returnval></RetrievePropertiesExResponse>"#)),
        (_, other) => (500, vec![], fault("MethodNotFound", &format!("{other} not recorded"))),
    }
}

async fn fake(script: Script) -> Fake {
    let tls = common::tls_listener().await;
    let port = tls.port;
    let logins = Arc::new(Mutex::new(0));
    let happened = Arc::new(Mutex::new(false));
    let written = Arc::new(Mutex::new(HashMap::new()));
    let (l, e, w) = (logins.clone(), happened.clone(), written.clone());
    let (url, pem) = common::serve(
        tls,
        script == Script::Reset,
        move |req: Request<hyper::body::Incoming>| {
            let (l, e, w) = (l.clone(), e.clone(), w.clone());
            async move {
                let method = req.method().clone();
                let target = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                let cookie = req
                    .headers()
                    .get("cookie")
                    .and_then(|c| c.to_str().ok())
                    .map(str::to_string);
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                if let Some((status, bytes)) = file_answer(
                    &method,
                    &target,
                    cookie.as_deref(),
                    &body,
                    &w,
                    script == Script::RestDown,
                ) {
                    return Response::builder()
                        .status(status)
                        .body(Full::new(Bytes::from(bytes)))
                        .unwrap();
                }
                let soap = String::from_utf8_lossy(&body).to_string();
                if let Some(method) = RECORDED.iter().find(|m| soap.contains(&format!("<{m} "))) {
                    w.lock()
                        .unwrap()
                        .insert(format!("soap:{method}"), body.to_vec());
                }
                let (status, headers, text) = answer(script, &soap, &l, &e).await;
                let text = text.replace("{{port}}", &port.to_string());
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
    Fake {
        url,
        pem,
        logins,
        happened,
        written,
    }
}

struct Pw;
impl Env for Pw {
    fn var(&self, name: &str) -> Option<String> {
        (name == "VC_PASSWORD").then(|| "s3cret-canary".into())
    }
}

async fn list_vms(f: &Fake, timeout: u64) -> (bool, String) {
    call(f, timeout, "vsphere_list_vms", json!({})).await
}

async fn call(f: &Fake, timeout: u64, tool: &str, args: serde_json::Value) -> (bool, String) {
    call_under(f, timeout, tool, args, None).await
}

/// As [`call`], under these policies instead of the default ones.
async fn call_under(
    f: &Fake,
    timeout: u64,
    tool: &str,
    args: serde_json::Value,
    policies: Option<&str>,
) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &f.pem).unwrap();
    let text = format!(
        "[server]\npolicies = \"x\"\naudit_log = \"a.jsonl\"\n[[endpoints]]\nname = \"vc\"\nbackend = \"vsphere\"\nurl = \"{}\"\n\
         username = \"svc\"\npassword_env = \"VC_PASSWORD\"\nca_file = \"ca.pem\"\ntimeout_seconds = {timeout}\n\
         transfer_hosts = [\"localhost\"]\n",
        f.url
    );
    let config = Config::parse(&text, "t", dir.path(), &Pw).unwrap();
    let sources = match policies {
        Some(text) => vec![portcullis::policy::PolicySource {
            name: "t.cedar".into(),
            text: text.into(),
        }],
        None => portcullis::lab::default_policies(),
    };
    let gate = GateBuilder::new()
        .policy_sources(sources)
        .endpoints(&config.endpoints)
        .audit(&dir.path().join("a.jsonl"))
        .build();
    let caller = Caller::stdio(Principal::new("t", ["admins"]));
    let req = CallRequest {
        tool,
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    let r = match gate.call(&caller, req, None).await {
        Outcome::Done(r) => r,
        other => panic!("{other:?}"),
    };
    let log = std::fs::read_to_string(dir.path().join("a.jsonl")).unwrap();
    for secret in ["s3cret-canary", "pw<guest&", "pw&lt;guest"] {
        assert!(
            !r.text.contains(secret) && !log.contains(secret),
            "{secret} leaked"
        );
    }
    (r.is_error, r.text)
}

#[tokio::test]
async fn a_refused_login_names_the_credentials() {
    let (err, text) = list_vms(&fake(Script::BadLogin).await, 10).await;
    assert!(
        err && text.contains("refused the user name or password"),
        "{text}"
    );
}

#[tokio::test]
async fn a_5xx_garbage_hang_or_reset_is_an_error_to_act_on() {
    let (err, text) = list_vms(&fake(Script::ServerError).await, 10).await;
    assert!(
        err && text.contains("failed (HTTP 503)") && text.contains("retrying later may help"),
        "{text}"
    );
    let (err, text) = list_vms(&fake(Script::Garbage).await, 10).await;
    assert!(err && text.contains("not XML"), "{text}");
    let (err, text) = list_vms(&fake(Script::Hang).await, 1).await;
    assert!(err && text.contains("did not answer within 1s"), "{text}");
    let (err, text) = list_vms(&fake(Script::Reset).await, 10).await;
    assert!(err && text.contains("endpoint \"vc\""), "{text}");
}

#[tokio::test]
async fn an_expired_session_logs_in_again_once() {
    let f = fake(Script::SessionExpiresOnce).await;
    let (err, text) = list_vms(&f, 10).await;
    assert!(!err, "{text}");
    assert!(text.contains("web-01"), "{text}");
    assert_eq!(*f.logins.lock().unwrap(), 2, "one login, one renewal");
    let (err, text) = list_vms(&fake(Script::Healthy).await, 10).await;
    assert!(!err && text.contains("poweredOn"), "{text}");
}

#[tokio::test]
async fn host_services_and_ntp_as_esxi_reports_them() {
    let f = fake(Script::Healthy).await;
    let host = json!({"host": "esx1.example"});
    let (err, text) = call(&f, 10, "vsphere_list_services", host.clone()).await;
    assert!(!err, "{text}");
    let services: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(services[0]["key"], "TSM-SSH");
    assert_eq!(services[0]["running"], false);
    assert_eq!(services[1]["policy"], "on");
    let (err, text) = call(
        &f,
        10,
        "vsphere_start_service",
        json!({"host": "esx1.example", "service": "SSH"}),
    )
    .await;
    assert!(!err, "{text}");
    let started: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(started["service"]["running"], true, "{started}");
    let (err, text) = call(
        &f,
        10,
        "vsphere_get_service_status",
        json!({"host": "esx1.example", "service": "sshd"}),
    )
    .await;
    assert!(err && text.contains("it has: TSM-SSH, ntpd"), "{text}");
    let (err, text) = call(&f, 10, "vsphere_get_ntp_config", host).await;
    assert!(!err, "{text}");
    let ntp: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        ntp["ntp_servers"],
        json!(["0.pool.ntp.org", "time.example.internal"])
    );
    assert_eq!(ntp["time_zone"], "UTC");
}

#[tokio::test]
async fn guest_operations_send_the_guest_password_only_to_vcenter() {
    let f = fake(Script::Healthy).await;
    let auth = |extra: serde_json::Value| {
        let mut a = json!({"vm": "app-01", "guest_user": "admin", "guest_password": "pw<guest&"});
        a.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        a
    };
    let (err, text) = call(
        &f,
        10,
        "vsphere_run_command_in_guest",
        auth(json!({"program": "/bin/sh", "arguments": "-c true"})),
    )
    .await;
    assert!(!err, "{text}");
    let run: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (
            run["pid"].clone(),
            run["exit_code"].clone(),
            run["finished"].clone()
        ),
        (json!(4242), json!(3), json!(true))
    );
    let (err, text) = call(&f, 10, "vsphere_list_guest_processes", auth(json!({}))).await;
    assert!(!err && text.contains("/bin/sh -c true"), "{text}");
    let (err, text) = call(
        &f,
        10,
        "vsphere_list_guest_directory",
        auth(json!({"path": "/var/log"})),
    )
    .await;
    assert!(!err, "{text}");
    let dir: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(dir["files"][1]["path"], "app.log");
    assert_eq!(dir["files"][1]["modified"], "2026-11-24T09:00:00Z");
    let (err, text) = call(
        &f,
        10,
        "vsphere_create_guest_directory",
        auth(json!({"path": "/tmp/x", "create_parents": true})),
    )
    .await;
    assert!(!err, "{text}");
    let (err, text) = call(
        &f,
        10,
        "vsphere_delete_guest_file",
        auth(json!({"path": "/tmp/x/y", "confirm": true})),
    )
    .await;
    assert!(!err, "{text}");
    // A wrong password comes back as the guest's refusal, by name.
    let mut wrong = auth(json!({"program": "/bin/true"}));
    wrong["guest_password"] = json!("nope");
    let (err, text) = call(&f, 10, "vsphere_run_command_in_guest", wrong).await;
    assert!(err && text.contains("InvalidGuestLogin"), "{text}");
}

#[tokio::test]
async fn guest_files_move_only_through_configured_hosts() {
    let f = fake(Script::Healthy).await;
    let auth = |path: &str| json!({"vm": "app-01", "guest_user": "admin", "guest_password": "pw<guest&", "path": path});
    let (err, text) = call(&f, 10, "vsphere_read_guest_file", auth("/etc/app.conf")).await;
    assert!(!err, "{text}");
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["content"], "hostname=app-01\n");
    assert_eq!(file["encoding"], "utf-8");
    assert_eq!(file["bytes"], 16);
    // A transfer URL on another host (an ESXi host) is never contacted.
    let (err, text) = call(&f, 10, "vsphere_read_guest_file", auth("/elsewhere")).await;
    assert!(
        err && text.contains("\"esx1.example\", which is not a configured endpoint"),
        "{text}"
    );
    // A host listed in transfer_hosts is contacted, without the session.
    let (err, text) = call(&f, 10, "vsphere_read_guest_file", auth("/on-esxi")).await;
    assert!(!err, "{text}");
    assert!(text.contains("from esxi"), "{text}");
    // A file larger than a call may carry is refused before it is fetched.
    let (err, text) = call(&f, 10, "vsphere_read_guest_file", auth("/big")).await;
    assert!(err && text.contains("reads at most"), "{text}");
    // Writing: without overwrite vCenter's refusal comes back by name.
    let mut write = auth("/etc/motd");
    write["content"] = json!("aGVsbG8gZ3Vlc3Q=");
    write["encoding"] = json!("base64");
    let (err, text) = call(&f, 10, "vsphere_write_guest_file", write.clone()).await;
    assert!(err && text.contains("FileAlreadyExists"), "{text}");
    write["overwrite"] = json!(true);
    let (err, text) = call(&f, 10, "vsphere_write_guest_file", write).await;
    assert!(!err, "{text}");
    assert_eq!(
        f.written.lock().unwrap()["/guestFile?id=2&token=abc"],
        b"hello guest"
    );
    let out: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(out["bytes"], 11);
}

#[tokio::test]
async fn a_screenshot_is_fetched_from_the_datastore_with_the_session() {
    let f = fake(Script::Healthy).await;
    let (err, text) = call(&f, 10, "vsphere_vm_screenshot", json!({"vm": "app-01"})).await;
    assert!(!err, "{text}");
    let shot: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shot["file"], "[ds1] app-01/app-01-1.png");
    assert_eq!(shot["image"]["mime_type"], "image/png");
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["image"]["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(png, SCREEN);
}

#[tokio::test]
async fn a_vm_is_exported_into_a_datastore_folder() {
    let f = fake(Script::Healthy).await;
    let args = json!({"vm": "app-01", "datastore": "ds1", "folder": "exports/app-01"});
    let (err, text) = call(&f, 10, "vsphere_export_ovf", args.clone()).await;
    assert!(!err, "{text}");
    let out: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(out["ovf"], "[ds1] exports/app-01/app-01.ovf");
    assert_eq!(
        out["files"][0],
        json!({"path": "[ds1] exports/app-01/disk-0.vmdk", "bytes": 32})
    );
    {
        let written = f.written.lock().unwrap();
        assert_eq!(
            written["/folder/exports/app-01/disk-0.vmdk?dcPath=DC1&dsName=ds1"],
            DISK
        );
        assert_eq!(
            written["/folder/exports/app-01/app-01.ovf?dcPath=DC1&dsName=ds1"],
            b"<Envelope>app-01</Envelope>"
        );
    }
    // The lease was completed, not left to time out.
    assert!(*f.happened.lock().unwrap());
    // An existing export is not replaced unless the call says so.
    let (err, text) = call(&f, 10, "vsphere_export_ovf", args).await;
    assert!(
        err && text.contains("exists; pass overwrite=true"),
        "{text}"
    );
}

#[tokio::test]
async fn tags_are_read_only_when_a_policy_reads_them() {
    let f = fake(Script::RestDown).await;
    let args = json!({"vm": "app-01", "guest_user": "admin", "guest_password": "pw<guest&", "path": "/var/log"});
    // No policy mentions tags: the Automation API being down blocks nothing.
    let (err, text) = call(&f, 10, "vsphere_list_guest_directory", args.clone()).await;
    assert!(!err, "{text}");
    // A policy on tags: a VM whose tags cannot be read is not decided on.
    let tag_policy = r#"
@id("admins-all")
permit (principal in Group::"admins", action, resource);
@id("no-prod")
forbid (principal, action, resource is VirtualMachine)
unless { resource has tags && !resource.tags.contains("env/prod") };
"#;
    let (err, text) = call_under(
        &f,
        10,
        "vsphere_list_guest_directory",
        args,
        Some(tag_policy),
    )
    .await;
    assert!(err && text.contains("HTTP 503"), "{text}");
}

impl Fake {
    /// The last request body of a recorded method (see `RECORDED`).
    fn sent(&self, method: &str) -> Option<String> {
        self.written
            .lock()
            .unwrap()
            .get(&format!("soap:{method}"))
            .map(|b| String::from_utf8_lossy(b).to_string())
    }

    fn forget(&self, method: &str) {
        self.written
            .lock()
            .unwrap()
            .remove(&format!("soap:{method}"));
    }
}

#[tokio::test]
async fn host_service_policies_and_ntp_servers_are_set() {
    let f = fake(Script::Healthy).await;
    let (err, text) = call(
        &f,
        10,
        "vsphere_set_service_policy",
        json!({"host": "esx1.example", "service": "SSH", "policy": "automatic"}),
    )
    .await;
    assert!(!err, "{text}");
    let sent = f.sent("UpdateServicePolicy").unwrap();
    assert!(
        sent.contains(r#"<_this type="HostServiceSystem">serviceSystem-1</_this><id>TSM-SSH</id><policy>automatic</policy>"#),
        "{sent}"
    );
    // A policy ESXi does not have reaches nothing.
    f.forget("UpdateServicePolicy");
    let (err, text) = call(
        &f,
        10,
        "vsphere_set_service_policy",
        json!({"host": "esx1.example", "service": "SSH", "policy": "always"}),
    )
    .await;
    assert!(err && text.contains("policy"), "{text}");
    assert_eq!(f.sent("UpdateServicePolicy"), None);

    // NTP: the list replaces the host's, ntpd starts with the host and is
    // restarted (it runs) to read it.
    let (err, text) = call(
        &f,
        10,
        "vsphere_configure_ntp",
        json!({"host": "esx1.example", "ntp_servers": ["time1.example.internal", "10.0.0.5"]}),
    )
    .await;
    assert!(!err, "{text}");
    let sent = f.sent("UpdateDateTimeConfig").unwrap();
    assert!(
        sent.contains(r#"<_this type="HostDateTimeSystem">dateTimeSystem-1</_this><config><ntpConfig><server>time1.example.internal</server><server>10.0.0.5</server></ntpConfig></config>"#),
        "{sent}"
    );
    let sent = f.sent("UpdateServicePolicy").unwrap();
    assert!(sent.contains("<id>ntpd</id><policy>on</policy>"), "{sent}");
    assert!(f.sent("RestartService").unwrap().contains("<id>ntpd</id>"));
    let done: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(done["ntpd"]["key"], "ntpd", "{done}");
    // start_service=false leaves ntpd alone.
    f.forget("RestartService");
    f.forget("UpdateServicePolicy");
    let (err, text) = call(
        &f,
        10,
        "vsphere_configure_ntp",
        json!({"host": "esx1.example", "ntp_servers": ["time1.example.internal"], "start_service": false}),
    )
    .await;
    assert!(!err, "{text}");
    assert_eq!(
        (f.sent("RestartService"), f.sent("UpdateServicePolicy")),
        (None, None)
    );
    // A server name that could carry anything else reaches nothing.
    f.forget("UpdateDateTimeConfig");
    let (err, text) = call(
        &f,
        10,
        "vsphere_configure_ntp",
        json!({"host": "esx1.example", "ntp_servers": ["time1</server><server>evil"]}),
    )
    .await;
    assert!(err && text.contains("ntp_servers"), "{text}");
    assert_eq!(f.sent("UpdateDateTimeConfig"), None);
}

#[tokio::test]
async fn snapshots_are_renamed_and_guests_put_on_standby() {
    let f = fake(Script::Healthy).await;
    let (err, text) = call(
        &f,
        10,
        "vsphere_rename_snapshot",
        json!({"vm": "app-01", "snapshot": "base", "new_name": "base <v2>", "description": "before & after"}),
    )
    .await;
    assert!(!err, "{text}");
    let sent = f.sent("RenameSnapshot").unwrap();
    assert!(
        sent.contains(r#"<_this type="VirtualMachineSnapshot">snapshot-1</_this><name>base &lt;v2&gt;</name><description>before &amp; after</description>"#),
        "{sent}"
    );
    f.forget("RenameSnapshot");
    for (args, needle) in [
        (
            json!({"vm": "app-01", "snapshot": "base"}),
            "needs new_name, description or both",
        ),
        (
            json!({"vm": "app-01", "snapshot": "nope", "new_name": "x"}),
            "no snapshot \"nope\"",
        ),
    ] {
        let (err, text) = call(&f, 10, "vsphere_rename_snapshot", args).await;
        assert!(err && text.contains(needle), "{needle}: {text}");
    }
    assert_eq!(f.sent("RenameSnapshot"), None);
    let (err, text) = call(&f, 10, "vsphere_standby_guest", json!({"vm": "app-01"})).await;
    assert!(!err, "{text}");
    assert!(f
        .sent("StandbyGuest")
        .unwrap()
        .contains(r#"<_this type="VirtualMachine">vm-7</_this>"#));
}
