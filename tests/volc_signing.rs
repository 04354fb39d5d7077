//! Portcullis's Volcengine signer against the official Python SDK
//! (`volcengine.auth.SignerV4`, installed into .venv by
//! scripts/setup-test-env.sh): the same requests — fixed times and keys,
//! lists, non-ASCII and reserved characters, ports — signed both ways, the
//! Authorization headers compared byte for byte.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use portcullis::backends::volc::sign::{sign, Credentials, Request};
use secrecy::SecretString;
use serde_json::{json, Value};

struct Case {
    host: &'static str,
    query: Vec<(&'static str, &'static str)>,
    date: &'static str,
    ak: &'static str,
    sk: &'static str,
    region: &'static str,
}

fn cases() -> Vec<Case> {
    let q = |pairs: &[(&'static str, &'static str)]| pairs.to_vec();
    vec![
        Case {
            host: "open.volcengineapi.com",
            query: q(&[("Action", "DescribeVpnGateways"), ("Version", "2020-04-01")]),
            date: "20261124T101010Z",
            ak: "AKLTexample",
            sk: "secretKeyExample==",
            region: "cn-beijing",
        },
        // Lists flattened as Portcullis sends them, out of order, with
        // ten or more items (so "Ids.10" sorts before "Ids.2").
        Case {
            host: "open.volcengineapi.com",
            query: q(&[
                ("VpnGatewayIds.2", "vgw-bbbb2"),
                ("Action", "DescribeVpnGateways"),
                ("VpnGatewayIds.10", "vgw-jjjj10"),
                ("VpnGatewayIds.1", "vgw-aaaa1"),
                ("TagFilters.1.Key", "env"),
                ("TagFilters.1.Values.1", "prod"),
                ("TagFilters.1.Values.2", "staging"),
                ("Version", "2020-04-01"),
                ("PageNumber", "3"),
                ("PageSize", "100"),
            ]),
            date: "20261231T235959Z",
            ak: "AKLTother",
            sk: "s3cr3t/with+chars=",
            region: "cn-shanghai",
        },
        // Non-ASCII, spaces, reserved characters; a list given the SDK's
        // own way (a repeated key).
        Case {
            host: "open.volcengineapi.com",
            query: q(&[
                ("Action", "DescribeVpnConnections"),
                ("Version", "2020-04-01"),
                ("VpnConnectionName", "北京 连接 #1 & more/~*'()"),
                ("ProjectName", "ünïcödé+space test"),
                ("Ids", "b"),
                ("Ids", "a"),
            ]),
            date: "20260101T000000Z",
            ak: "AK",
            sk: "密钥",
            region: "ap-southeast-1",
        },
        // A non-default port is part of the signed Host.
        Case {
            host: "127.0.0.1:8443",
            query: q(&[
                ("Action", "DescribeSslVpnServers"),
                ("Version", "2020-04-01"),
            ]),
            date: "20261124T000001Z",
            ak: "AK",
            sk: "SK",
            region: "cn-guangzhou",
        },
    ]
}

#[test]
fn authorization_headers_equal_the_official_sdks() {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        ".venv is missing: run scripts/setup-test-env.sh (scripts/test.sh does)"
    );
    let cases = cases();
    let input: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({
                "method": "GET", "host": c.host, "path": "/",
                "query": c.query.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                "date": c.date, "ak": c.ak, "sk": c.sk, "region": c.region, "service": "vpn",
            })
        })
        .collect();
    let mut child = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/volc/sdk_sign.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sdk: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sdk.len(), cases.len());
    for (c, expected) in cases.iter().zip(&sdk) {
        let query: Vec<(String, String)> = c
            .query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let secret = SecretString::from(c.sk.to_string());
        let ours = sign(
            &Request {
                method: "GET",
                host: c.host,
                path: "/",
                query: &query,
                body: b"",
                x_date: c.date,
            },
            &Credentials {
                access_key: c.ak,
                secret_key: &secret,
                region: c.region,
                service: "vpn",
            },
        );
        assert_eq!(
            ours.authorization,
            expected["authorization"].as_str().unwrap()
        );
        assert_eq!(
            ours.x_content_sha256,
            expected["x_content_sha256"].as_str().unwrap()
        );
    }
}
