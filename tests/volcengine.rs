//! Volcengine VPN tools through the whole gate against a fake OpenAPI
//! endpoint that checks what the real one checks: every request's
//! signature is verified independently (its own canonicalization and HMAC
//! chain, not Portcullis's signer; that one is cross-checked against the
//! official SDK in volc_signing.rs), the access key, the clock (±15 min),
//! the version; answers are shaped like the SDK's models (volcenginesdkvpn)
//! and errors like the OpenAPI's common error codes.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::{Request, Response};
use portcullis::config::{Config, Env};
use portcullis::gate::{CallRequest, Caller, Confirmation, Gate, Outcome, ToolResult};
use portcullis::principal::Principal;
use portcullis::testing::GateBuilder;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const AK: &str = "AKLTportcullis-test";
/// The secret key: a canary that must appear in no output.
const SK: &str = "volc-canary-sk-9c1e77";

#[derive(Clone, Copy, Default)]
struct Script {
    /// The fake's clock is this far ahead of the real one.
    skew_secs: i64,
}

/// A request the fake accepted: the signature scope's region, the action
/// and the query.
type Accepted = (String, String, BTreeMap<String, String>);

struct Fake {
    url: String,
    pem: Vec<u8>,
    /// Every request the fake accepted.
    seen: Arc<Mutex<Vec<Accepted>>>,
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// RFC 3986: everything but unreserved characters escaped, upper-case hex.
fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn error(status: u16, code: &str, code_n: u32, message: &str, action: &str) -> (u16, Value) {
    (
        status,
        json!({"ResponseMetadata": {"RequestId": "20261124101010FAKE", "Action": action, "Version": "2020-04-01",
               "Service": "vpn", "Region": "cn-beijing", "Error": {"CodeN": code_n, "Code": code, "Message": message}}}),
    )
}

/// Seconds since the epoch of `YYYYMMDDTHHMMSSZ`.
fn epoch_of(x_date: &str) -> Option<i64> {
    let n = |r: std::ops::Range<usize>| x_date.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (h, mi, s) = (n(9..11)?, n(11..13)?, n(13..15)?);
    // Days from civil (Howard Hinnant), an independent computation.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

/// Check a request as the OpenAPI gateway does; the scope's region, the
/// action and the query when it passes.
fn verify(req: &Request<hyper::body::Incoming>, script: Script) -> Result<Accepted, (u16, Value)> {
    let raw_query = req.uri().query().unwrap_or_default().to_string();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let query: BTreeMap<String, String> = pairs.iter().cloned().collect();
    let action = query.get("Action").cloned().unwrap_or_default();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let auth = header("authorization");
    let Some(rest) = auth.strip_prefix("HMAC-SHA256 ") else {
        return Err(error(
            401,
            "MissingAuthenticationToken",
            100003,
            "Request is missing Authentication Token.",
            &action,
        ));
    };
    let field = |name: &str| {
        rest.split(", ")
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_string()
    };
    let (credential, signed_headers, signature) = (
        field("Credential"),
        field("SignedHeaders"),
        field("Signature"),
    );
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 5 || parts[3] != "vpn" || parts[4] != "request" {
        return Err(error(
            400,
            "MissingRequestInfo",
            100004,
            "The request is missing Credential information.",
            &action,
        ));
    }
    if parts[0] != AK {
        return Err(error(
            401,
            "InvalidAccessKey",
            100009,
            &format!(
                "The accesskey [{}] included in the request is invalid.",
                parts[0]
            ),
            &action,
        ));
    }
    let x_date = header("x-date");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + script.skew_secs;
    match epoch_of(&x_date) {
        Some(t) if (t - now).abs() <= 15 * 60 && x_date.starts_with(parts[1]) => {}
        _ => {
            return Err(error(
                400,
                "InvalidTimestamp",
                100006,
                "The signature of the request is expired.",
                &action,
            ))
        }
    }
    let body_hash = hex::encode(Sha256::digest(b""));
    if header("x-content-sha256") != body_hash {
        return Err(error(
            401,
            "SignatureDoesNotMatch",
            100010,
            "The body hash does not match.",
            &action,
        ));
    }
    for needed in ["host", "x-date", "x-content-sha256"] {
        if !signed_headers.split(';').any(|h| h == needed) {
            return Err(error(
                401,
                "SignatureDoesNotMatch",
                100010,
                "A required header is not signed.",
                &action,
            ));
        }
    }
    let mut sorted = pairs.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical_query = sorted
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_headers: String = signed_headers
        .split(';')
        .map(|h| format!("{h}:{}\n", header(h).trim()))
        .collect();
    let canonical = format!(
        "{}\n{}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{body_hash}",
        req.method(),
        req.uri().path()
    );
    let scope = parts[1..].join("/");
    let to_sign = format!(
        "HMAC-SHA256\n{x_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = SK.as_bytes().to_vec();
    for part in &parts[1..] {
        key = hmac(&key, part);
    }
    if hex::encode(hmac(&key, &to_sign)) != signature {
        return Err(error(401, "SignatureDoesNotMatch", 100010, "The request signature we calculated does not match the signature you provided. Check your Secret Access Key and signing method.", &action));
    }
    if query.get("Version").map(String::as_str) != Some("2020-04-01") {
        return Err(error(
            404,
            "InvalidActionOrVersion",
            100008,
            &format!(
                "Could not find operation {action} for version {:?}.",
                query.get("Version")
            ),
            &action,
        ));
    }
    Ok((parts[2].to_string(), action, query))
}

fn gateway(region: &str, n: usize) -> Value {
    json!({"VpnGatewayId": format!("vgw-{region}{n:04}").replace('-', "").replacen("vgw", "vgw-", 1),
           "VpnGatewayName": format!("gw-{n}"), "Status": if n == 2 { "Creating" } else { "Available" },
           "VpcId": "vpc-3nr5x0k6pa6ps5zsk2j7", "IpAddress": format!("203.0.113.{n}"), "Bandwidth": 5,
           "BillingType": 2, "ProjectName": "default", "SslEnabled": n == 3, "IpsecEnabled": n != 3, "Tags": [{"Key": "env", "Value": if n == 1 { "prod" } else { "dev" }}]})
}

fn connection(n: usize) -> Value {
    json!({"VpnConnectionId": format!("vgc-conn{n:04}"), "VpnConnectionName": format!("c{n}"),
           "VpnGatewayId": "vgw-cnbeijing0001", "CustomerGatewayId": "cgw-2fe3bcd4a",
           "Status": if n.is_multiple_of(10) { "Pending" } else { "Available" }, "ConnectStatus": "connected",
           "IkeConfig": {"Version": "ikev2", "EncAlg": "aes", "Psk": "psk-canary-do-not-leak"},
           "IpsecConfig": {"EncAlg": "aes", "AuthAlg": "sha256"}})
}

/// Answer a verified request, per region (the signature scope's).
fn answer(region: &str, action: &str, q: &BTreeMap<String, String>) -> (u16, Value) {
    let meta = json!({"RequestId": "20261124101010FAKE", "Action": action, "Version": "2020-04-01", "Service": "vpn", "Region": region});
    let page = |items: Vec<Value>, key: &str| {
        let number: usize = q
            .get("PageNumber")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let size: usize = q.get("PageSize").and_then(|n| n.parse().ok()).unwrap_or(20);
        let total = items.len();
        let slice: Vec<Value> = items
            .into_iter()
            .skip((number - 1) * size)
            .take(size)
            .collect();
        let mut r = json!({"PageNumber": number, "PageSize": size, "TotalCount": total});
        r[key] = Value::Array(slice);
        r
    };
    let gateways: Vec<Value> = match region {
        "cn-beijing" => (1..=3).map(|n| gateway(region, n)).collect(),
        "cn-shanghai" => vec![gateway(region, 7)],
        _ => vec![],
    };
    let result = match action {
        "DescribeVpnGateways" => {
            // A boolean filter, as the OpenAPI takes it ("true"/"false").
            let flag = |g: &Value, name: &str| {
                q.get(name).is_none_or(|s| {
                    g[name].as_bool().map(|b| b.to_string()).as_deref() == Some(s.as_str())
                })
            };
            let ids: Vec<&String> = q
                .iter()
                .filter(|(k, _)| k.starts_with("VpnGatewayIds."))
                .map(|(_, v)| v)
                .collect();
            let tag = q
                .get("TagFilters.1.Key")
                .map(|k| (k, q.get("TagFilters.1.Values.1")));
            let items = gateways
                .into_iter()
                .filter(|g| ids.is_empty() || ids.iter().any(|i| g["VpnGatewayId"] == ***i))
                .filter(|g| q.get("Status").is_none_or(|s| g["Status"] == **s))
                .filter(|g| flag(g, "SslEnabled") && flag(g, "IpsecEnabled"))
                .filter(|g| {
                    tag.is_none_or(|(k, v)| {
                        g["Tags"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|t| t["Key"] == **k && v.is_none_or(|v| t["Value"] == **v))
                    })
                })
                .collect();
            page(items, "VpnGateways")
        }
        "DescribeVpnGatewayAttributes" => {
            let id = q.get("VpnGatewayId").cloned().unwrap_or_default();
            match gateways.into_iter().find(|g| g["VpnGatewayId"] == *id) {
                Some(g) => g,
                None => {
                    return error(
                        404,
                        "InvalidVpnGateway.NotFound",
                        0,
                        &format!("The specified VpnGateway {id} is not found."),
                        action,
                    )
                }
            }
        }
        "DescribeVpnConnections" => {
            let n = if region == "cn-beijing" { 230 } else { 0 };
            let items = (1..=n)
                .map(connection)
                .filter(|c| q.get("Status").is_none_or(|s| c["Status"] == **s))
                .collect();
            page(items, "VpnConnections")
        }
        "DescribeVpnConnectionAttributes" => connection(1),
        "DescribeSslVpnClientCertAttributes" => json!({
            "SslVpnClientCertId": q.get("SslVpnClientCertId"), "SslVpnServerId": "vss-2fe3bcd4a", "Status": "Available",
            "CertificateStatus": "Available", "CaCertificate": "-----BEGIN CERTIFICATE-----ca", "ClientCertificate": "-----BEGIN CERTIFICATE-----client",
            "ClientKey": "-----BEGIN PRIVATE KEY-----key-canary", "OpenVpnClientConfig": "client\nremote 203.0.113.1\n<key>key-canary</key>"}),
        "DescribeVpnGatewayRoutes" => page(vec![], "VpnGatewayRoutes"),
        "DescribeVpnGatewayRouteAttributes" => {
            json!({"VpnGatewayRouteId": q.get("VpnGatewayRouteId"), "DestinationCidrBlock": "10.0.0.0/16", "Status": "Available"})
        }
        "DescribeCustomerGateways" => page(
            vec![
                json!({"CustomerGatewayId": "cgw-2fe3bcd4a", "IpAddress": "198.51.100.1", "Status": "Available"}),
            ],
            "CustomerGateways",
        ),
        "DescribeSslVpnClientCerts" => page(vec![], "SslVpnClientCerts"),
        "DescribeSslVpnServers" => page(vec![], "SslVpnServers"),
        other => {
            return error(
                404,
                "InvalidActionOrVersion",
                100008,
                &format!("Could not find operation {other} for version 2020-04-01."),
                other,
            )
        }
    };
    (200, json!({"ResponseMetadata": meta, "Result": result}))
}

async fn fake(script: Script) -> Fake {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let (url, pem) = common::serve(common::tls_listener().await, false, move |req| {
        let (status, body) = match verify(&req, script) {
            Ok((region, action, query)) => {
                let a = answer(&region, &action, &query);
                s.lock().unwrap().push((region, action, query));
                a
            }
            Err(e) => e,
        };
        async move {
            Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.to_string())))
                .unwrap()
        }
    });
    Fake { url, pem, seen }
}

struct Keys(&'static str);
impl Env for Keys {
    fn var(&self, name: &str) -> Option<String> {
        (name == "VOLC_SK").then(|| self.0.to_string())
    }
}

const POLICIES: &str = r#"
@id("admins-all")
permit (principal in Group::"admins", action, resource);
@id("beijing-team-reads-beijing")
permit (principal in Group::"beijing", action in Action::"tier:read", resource in Region::"volc/cn-beijing");
"#;

struct Env_ {
    fake: Fake,
    gate: Gate,
    dir: tempfile::TempDir,
}

async fn env_with(script: Script, secret: &'static str) -> Env_ {
    let fake = fake(script).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &fake.pem).unwrap();
    let text = format!(
        "[server]\npolicies = \"x\"\naudit_log = \"a.jsonl\"\n[[endpoints]]\nname = \"volc\"\nbackend = \"volcengine\"\nurl = \"{}\"\n\
         access_key = \"{AK}\"\nsecret_key_env = \"VOLC_SK\"\nca_file = \"ca.pem\"\ntimeout_seconds = 10\n\
         regions = [\"cn-beijing\", \"cn-shanghai\", \"cn-guangzhou\"]\n",
        fake.url
    );
    let config = Config::parse(&text, "t", dir.path(), &Keys(secret)).unwrap();
    let gate = GateBuilder::new()
        .policies(&[POLICIES])
        .endpoints(&config.endpoints)
        .audit(&dir.path().join("a.jsonl"))
        .build();
    Env_ { fake, gate, dir }
}

async fn env() -> Env_ {
    env_with(Script::default(), SK).await
}

impl Env_ {
    async fn as_(&self, group: &str, tool: &str, args: Value) -> ToolResult {
        let caller = Caller::stdio(Principal::new("t", [group]));
        let r = match self
            .gate
            .call(
                &caller,
                CallRequest {
                    tool,
                    args: Some(&args),
                    confirmation: Confirmation::None,
                    confirms: None,
                },
                None,
            )
            .await
        {
            Outcome::Done(r) => r,
            other => panic!("{other:?}"),
        };
        let log = std::fs::read_to_string(self.dir.path().join("a.jsonl")).unwrap();
        for secret in [SK, "psk-canary", "key-canary"] {
            assert!(
                !r.text.contains(secret) && !log.contains(secret),
                "{secret} leaked: {}",
                r.text
            );
        }
        r
    }

    async fn ok(&self, tool: &str, args: Value) -> Value {
        let r = self.as_("admins", tool, args).await;
        assert!(!r.is_error, "{tool}: {}", r.text);
        r.structured.unwrap()["result"].clone()
    }

    async fn err(&self, tool: &str, args: Value) -> String {
        let r = self.as_("admins", tool, args).await;
        assert!(r.is_error, "{tool} should fail: {}", r.text);
        r.text
    }

    fn seen(&self) -> usize {
        self.fake.seen.lock().unwrap().len()
    }
}

#[tokio::test]
async fn every_tool_answers_with_signed_requests() {
    let e = env().await;
    // Each tool, its arguments, and the one request it must make: the
    // region (signature scope), the OpenAPI Action, and every parameter
    // besides Action and Version.
    type Expect = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    );
    let calls: [(&str, Value, Expect); 10] = [
        (
            "volc_describe_vpn_gateways",
            json!({"vpn_gateway_ids": ["vgw-cnbeijing0001", "vgw-cnbeijing0003"], "status": "Available", "ssl_enabled": true, "ipsec_enabled": false, "page_number": 1}),
            (
                "cn-beijing",
                "DescribeVpnGateways",
                &[
                    ("VpnGatewayIds.1", "vgw-cnbeijing0001"),
                    ("VpnGatewayIds.2", "vgw-cnbeijing0003"),
                    ("Status", "Available"),
                    ("SslEnabled", "true"),
                    ("IpsecEnabled", "false"),
                    ("PageNumber", "1"),
                ],
            ),
        ),
        (
            "volc_describe_vpn_gateway_attributes",
            json!({"vpn_gateway_id": "vgw-cnbeijing0001"}),
            (
                "cn-beijing",
                "DescribeVpnGatewayAttributes",
                &[("VpnGatewayId", "vgw-cnbeijing0001")],
            ),
        ),
        (
            "volc_describe_vpn_connections",
            json!({"page_number": 2, "page_size": 10, "vpn_gateway_id": "vgw-cnbeijing0001", "status": "Available"}),
            (
                "cn-beijing",
                "DescribeVpnConnections",
                &[
                    ("PageNumber", "2"),
                    ("PageSize", "10"),
                    ("VpnGatewayId", "vgw-cnbeijing0001"),
                    ("Status", "Available"),
                ],
            ),
        ),
        (
            "volc_describe_vpn_connection_attributes",
            json!({"vpn_connection_id": "vgc-conn0001"}),
            (
                "cn-beijing",
                "DescribeVpnConnectionAttributes",
                &[("VpnConnectionId", "vgc-conn0001")],
            ),
        ),
        (
            "volc_describe_vpn_gateway_routes",
            json!({"vpn_gateway_id": "vgw-cnbeijing0001", "route_type": "Static", "destination_cidr_block": "10.0.0.0/16", "page_number": 1}),
            (
                "cn-beijing",
                "DescribeVpnGatewayRoutes",
                &[
                    ("VpnGatewayId", "vgw-cnbeijing0001"),
                    ("RouteType", "Static"),
                    ("DestinationCidrBlock", "10.0.0.0/16"),
                    ("PageNumber", "1"),
                ],
            ),
        ),
        (
            "volc_describe_vpn_gateway_route_attributes",
            json!({"vpn_gateway_route_id": "vgr-2fe3bcd4a", "region": "cn-shanghai"}),
            (
                "cn-shanghai",
                "DescribeVpnGatewayRouteAttributes",
                &[("VpnGatewayRouteId", "vgr-2fe3bcd4a")],
            ),
        ),
        (
            "volc_describe_customer_gateways",
            json!({"customer_gateway_ids": ["cgw-2fe3bcd4a"], "tag_filters": [{"key": "env", "values": ["prod", "dev"]}], "page_number": 1}),
            (
                "cn-beijing",
                "DescribeCustomerGateways",
                &[
                    ("CustomerGatewayIds.1", "cgw-2fe3bcd4a"),
                    ("TagFilters.1.Key", "env"),
                    ("TagFilters.1.Values.1", "prod"),
                    ("TagFilters.1.Values.2", "dev"),
                    ("PageNumber", "1"),
                ],
            ),
        ),
        (
            "volc_describe_ssl_vpn_client_cert_attributes",
            json!({"ssl_vpn_client_cert_id": "vsc-2fe3bcd4a"}),
            (
                "cn-beijing",
                "DescribeSslVpnClientCertAttributes",
                &[("SslVpnClientCertId", "vsc-2fe3bcd4a")],
            ),
        ),
        (
            "volc_describe_ssl_vpn_client_certs",
            json!({"ssl_vpn_server_id": "vss-2fe3bcd4a", "page_number": 3, "region": "cn-guangzhou"}),
            (
                "cn-guangzhou",
                "DescribeSslVpnClientCerts",
                &[("SslVpnServerId", "vss-2fe3bcd4a"), ("PageNumber", "3")],
            ),
        ),
        (
            "volc_describe_ssl_vpn_servers",
            json!({"vpn_gateway_id": "vgw-cnbeijing0001", "ssl_vpn_server_name": "office vpn", "project_name": "default", "page_number": 1}),
            (
                "cn-beijing",
                "DescribeSslVpnServers",
                &[
                    ("VpnGatewayId", "vgw-cnbeijing0001"),
                    ("SslVpnServerName", "office vpn"),
                    ("ProjectName", "default"),
                    ("PageNumber", "1"),
                ],
            ),
        ),
    ];
    for (tool, args, (region, action, params)) in calls {
        let before = e.seen();
        e.ok(tool, args).await;
        let seen = e.fake.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), before + 1, "{tool} made one request");
        let (got_region, got_action, mut query) = seen[before].clone();
        assert_eq!(
            (got_region.as_str(), got_action.as_str()),
            (region, action),
            "{tool}"
        );
        assert_eq!(query.remove("Action").as_deref(), Some(action), "{tool}");
        assert_eq!(query.remove("Version").as_deref(), Some("2020-04-01"));
        // A page asked for comes with the default page size (unless given).
        if query.contains_key("PageNumber") && !params.iter().any(|(k, _)| *k == "PageSize") {
            assert_eq!(query.remove("PageSize").as_deref(), Some("20"), "{tool}");
        }
        let want: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(query, want, "{tool}");
    }
    assert_eq!(e.seen(), 10, "every call reached the fake, signed");
    let gw = e
        .ok(
            "volc_describe_vpn_gateway_attributes",
            json!({"vpn_gateway_id": "vgw-cnbeijing0001"}),
        )
        .await;
    assert_eq!(gw["IpAddress"], "203.0.113.1");
    // Key material never reaches the agent (as_ scans the text and audit).
    let conn = e
        .ok(
            "volc_describe_vpn_connection_attributes",
            json!({"vpn_connection_id": "vgc-conn0001"}),
        )
        .await;
    assert!(conn["IkeConfig"]["Psk"]
        .as_str()
        .unwrap()
        .starts_with("[withheld"));
    assert_eq!(conn["IkeConfig"]["Version"], "ikev2");
    let cert = e
        .ok(
            "volc_describe_ssl_vpn_client_cert_attributes",
            json!({"ssl_vpn_client_cert_id": "vsc-2fe3bcd4a"}),
        )
        .await;
    assert!(cert["ClientKey"].as_str().unwrap().starts_with("[withheld"));
    assert!(cert["OpenVpnClientConfig"]
        .as_str()
        .unwrap()
        .starts_with("[withheld"));
    assert!(cert["ClientCertificate"]
        .as_str()
        .unwrap()
        .contains("client"));
}

#[tokio::test]
async fn lists_and_tags_are_flattened_and_pages_joined() {
    let e = env().await;
    let r = e
        .ok(
            "volc_describe_vpn_gateways",
            json!({"vpn_gateway_ids": ["vgw-cnbeijing0001", "vgw-cnbeijing0002"], "status": "Available",
                   "tag_filters": [{"key": "env", "values": ["prod"]}]}),
        )
        .await;
    assert_eq!(r["VpnGateways"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["VpnGateways"][0]["VpnGatewayId"], "vgw-cnbeijing0001");
    let (_, _, q) = e.fake.seen.lock().unwrap()[0].clone();
    assert_eq!(q["VpnGatewayIds.1"], "vgw-cnbeijing0001");
    assert_eq!(q["VpnGatewayIds.2"], "vgw-cnbeijing0002");
    assert_eq!(q["TagFilters.1.Key"], "env");
    assert_eq!(q["TagFilters.1.Values.1"], "prod");
    // 230 connections: three pages of 100, joined.
    let before = e.seen();
    let all = e.ok("volc_describe_vpn_connections", json!({})).await;
    assert_eq!(all["VpnConnections"].as_array().unwrap().len(), 230);
    assert_eq!(
        (all["total_count"].clone(), all["truncated"].clone()),
        (json!(230), json!(false))
    );
    assert_eq!(e.seen() - before, 3);
    // One page when the call asks for one.
    let p = e
        .ok(
            "volc_describe_vpn_connections",
            json!({"page_number": 3, "page_size": 100}),
        )
        .await;
    assert_eq!(p["VpnConnections"].as_array().unwrap().len(), 30);
    assert_eq!(p["VpnConnections"][0]["VpnConnectionId"], "vgc-conn0201");
    // Volcengine VPN MCP's other filters: a connection's status, whether a
    // gateway has SSL VPN or IPsec on (booleans as the OpenAPI takes them).
    let pending = e
        .ok(
            "volc_describe_vpn_connections",
            json!({"status": "Pending"}),
        )
        .await;
    assert_eq!(pending["VpnConnections"].as_array().unwrap().len(), 23);
    let ssl = e
        .ok("volc_describe_vpn_gateways", json!({"ssl_enabled": true}))
        .await;
    let ids: Vec<&str> = ssl["VpnGateways"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["VpnGatewayId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["vgw-cnbeijing0003"]);
    let ipsec = e
        .ok("volc_describe_vpn_gateways", json!({"ipsec_enabled": true}))
        .await;
    assert_eq!(ipsec["VpnGateways"].as_array().unwrap().len(), 2);
    let bad = e
        .err("volc_describe_vpn_gateways", json!({"ssl_enabled": "yes"}))
        .await;
    assert!(bad.contains("ssl_enabled"), "{bad}");
}

#[tokio::test]
async fn regions_select_among_configured_ones_and_policy_sees_them() {
    let e = env().await;
    let r = e
        .ok(
            "volc_describe_vpn_gateways",
            json!({"region": "cn-shanghai"}),
        )
        .await;
    assert_eq!(r["VpnGateways"].as_array().unwrap().len(), 1);
    assert_eq!(
        e.fake.seen.lock().unwrap()[0].0,
        "cn-shanghai",
        "signed for the region asked"
    );
    // A region the endpoint is not configured for reaches nothing.
    let before = e.seen();
    let r = e
        .err("volc_describe_vpn_gateways", json!({"region": "us-east-1"}))
        .await;
    assert!(
        r.contains("region \"us-east-1\" is not configured for endpoint \"volc\""),
        "{r}"
    );
    assert_eq!(e.seen(), before);
    // A configured region with nothing in it is an empty answer.
    let r = e
        .ok(
            "volc_describe_vpn_gateways",
            json!({"region": "cn-guangzhou"}),
        )
        .await;
    assert_eq!(r["VpnGateways"], json!([]));
    // "This team may read only cn-beijing."
    let r = e
        .as_("beijing", "volc_describe_vpn_gateways", json!({}))
        .await;
    assert!(!r.is_error, "{}", r.text);
    let r = e
        .as_(
            "beijing",
            "volc_describe_vpn_gateway_attributes",
            json!({"vpn_gateway_id": "vgw-cnbeijing0001"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    let before = e.seen();
    let r = e
        .as_(
            "beijing",
            "volc_describe_vpn_gateways",
            json!({"region": "cn-shanghai"}),
        )
        .await;
    assert!(
        r.is_error && r.text.contains("no policy permits it"),
        "{}",
        r.text
    );
    assert_eq!(e.seen(), before);
}

#[tokio::test]
async fn bad_ids_are_refused_before_any_request() {
    let e = env().await;
    for (tool, args, needle) in [
        (
            "volc_describe_vpn_gateway_attributes",
            json!({"vpn_gateway_id": "vgc-2fe3bcd4a"}),
            "vgw-",
        ),
        (
            "volc_describe_vpn_gateway_attributes",
            json!({"vpn_gateway_id": "vgw-../../x"}),
            "vgw-",
        ),
        (
            "volc_describe_vpn_gateways",
            json!({"vpn_gateway_ids": ["vgw-aaaa1", "x"]}),
            "vgw-",
        ),
        (
            "volc_describe_vpn_gateways",
            json!({"tag_filters": [{"values": ["x"]}]}),
            "key",
        ),
        (
            "volc_describe_vpn_gateways",
            json!({"page_size": 1000}),
            "page_size",
        ),
        (
            "volc_describe_vpn_gateway_routes",
            json!({"destination_cidr_block": "10.0.0.0"}),
            "CIDR",
        ),
    ] {
        let r = e.err(tool, args).await;
        assert!(r.contains(needle), "{r}");
    }
    assert_eq!(e.seen(), 0);
}

#[tokio::test]
async fn openapi_errors_are_tool_errors_to_act_on() {
    let e = env().await;
    let r = e
        .err(
            "volc_describe_vpn_gateway_attributes",
            json!({"vpn_gateway_id": "vgw-nothere01"}),
        )
        .await;
    assert!(
        r.contains("InvalidVpnGateway.NotFound: The specified VpnGateway vgw-nothere01 is not found. (request id 20261124101010FAKE)"),
        "{r}"
    );
    // A wrong secret: the fake's own verification refuses the signature.
    let wrong = env_with(Script::default(), "not-the-secret").await;
    let r = wrong.err("volc_describe_vpn_gateways", json!({})).await;
    assert!(
        r.contains("SignatureDoesNotMatch")
            && r.contains("check the configured access key and secret key"),
        "{r}"
    );
    // A clock 20 minutes off.
    let skewed = env_with(Script { skew_secs: 20 * 60 }, SK).await;
    let r = skewed.err("volc_describe_vpn_gateways", json!({})).await;
    assert!(
        r.contains("InvalidTimestamp") && r.contains("check NTP"),
        "{r}"
    );
    // Within the allowed skew it works.
    let slight = env_with(Script { skew_secs: 5 * 60 }, SK).await;
    slight.ok("volc_describe_vpn_gateways", json!({})).await;
}

/// The secret key, and the key material the fake hands out, appear in no
/// output of the real binary with trace logging on.
#[tokio::test(flavor = "multi_thread")]
async fn the_secret_key_appears_in_no_output() {
    let fake = fake(Script::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &fake.pem).unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::write(dir.path().join("policies/p.cedar"), POLICIES).unwrap();
    let cfg = dir.path().join("portcullis.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nprincipal = \"root\"\npolicies = \"policies\"\naudit_log = \"audit.jsonl\"\n\
             [[principals]]\nid = \"root\"\ngroups = [\"admins\"]\n\
             [[endpoints]]\nname = \"volc\"\nbackend = \"volcengine\"\nurl = \"{}\"\naccess_key = \"{AK}\"\n\
             secret_key_env = \"VOLC_SK\"\nca_file = \"ca.pem\"\nregions = [\"cn-beijing\"]\n",
            fake.url
        ),
    )
    .unwrap();
    let log = dir.path().join("portcullis.log");
    let mut seen = String::new();
    for (tool, args) in [
        ("volc_describe_vpn_gateways", "{}"),
        (
            "volc_describe_vpn_connection_attributes",
            r#"{"vpn_connection_id":"vgc-conn0001"}"#,
        ),
        (
            "volc_describe_ssl_vpn_client_cert_attributes",
            r#"{"ssl_vpn_client_cert_id":"vsc-2fe3bcd4a"}"#,
        ),
        (
            "volc_describe_vpn_gateway_attributes",
            r#"{"vpn_gateway_id":"vgw-nothere01"}"#,
        ),
        ("volc_describe_vpn_gateways", r#"{"region":"us-east-1"}"#),
    ] {
        seen.push_str(&common::call_traced(&cfg, &log, &[("VOLC_SK", SK)], tool, args).await);
    }
    // The calls did real work, so the scan covers real output.
    assert!(
        seen.contains("vgw-cnbeijing0001") && seen.contains("InvalidVpnGateway.NotFound"),
        "{seen}"
    );
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let logs = common::trace_logs(dir.path());
    common::assert_no_secret(
        &[SK, "psk-canary", "key-canary"],
        &[
            ("process output", &seen),
            ("audit log", &audit),
            ("log file", &logs),
        ],
    );
}

/// Volcengine VPN MCP's users switch by changing the command: `portcullis
/// serve` with only its documented environment (the endpoint's
/// certificate trusted the system's way, SSL_CERT_FILE), called through
/// the official Python MCP SDK.
#[tokio::test(flavor = "multi_thread")]
async fn volcengine_vpn_mcp_users_switch_by_changing_the_command() {
    let fake = fake(Script::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &fake.pem).unwrap();
    let env = [
        ("VOLCENGINE_ACCESS_KEY", AK.to_string()),
        ("VOLCENGINE_SECRET_KEY", SK.to_string()),
        ("VOLCENGINE_REGION", "cn-beijing".to_string()),
        ("VOLCENGINE_ENDPOINT", fake.url.clone()),
        ("SSL_CERT_FILE", ca.display().to_string()),
    ];
    let run = tokio::task::spawn_blocking(move || {
        common::dropin::run(&env, "volc_describe_vpn_gateways", &json!({}))
    })
    .await
    .unwrap();
    run.assert_ok(
        "Volcengine VPN MCP",
        "network",
        "volc_describe_vpn_gateways",
        SK,
    );
    assert!(
        run.report["text"].as_str().unwrap().contains("vgw-"),
        "{}",
        run.report
    );
    assert_eq!(fake.seen.lock().unwrap()[0].1, "DescribeVpnGateways");
}
