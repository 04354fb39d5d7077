//! The audit archive against a real S3 implementation that enforces SigV4
//! and Object Lock (moto's server, started by tests/interop/s3_server.py
//! from .venv), and its signing checked byte for byte against botocore's
//! S3 signer.
#![allow(clippy::unwrap_used, reason = "a test that cannot go on fails loudly")]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis::audit::archive::{
    index_path, pending, ArchiveConfig, Archiver, Bucket, RetentionMode, S3Credentials,
};
use portcullis::audit::{
    policy_store, verify_chain, AuditLog, AuditOptions, CheckpointSigner, VerifyOptions,
};
use secrecy::SecretString;
use serde_json::{json, Value};

fn python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        ".venv is missing: run scripts/setup-test-env.sh (scripts/test.sh does)"
    );
    p
}

/// moto's S3 server with an IAM user's key and an Object Lock bucket;
/// stops when dropped.
struct S3 {
    child: Child,
    info: Value,
}

impl Drop for S3 {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn moto() -> S3 {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/s3_server.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    S3 { child, info }
}

fn bucket(s3: &S3, secret: Option<&str>) -> Bucket {
    Bucket {
        endpoint: url::Url::parse(s3.info["endpoint"].as_str().unwrap()).unwrap(),
        region: "us-east-1".into(),
        bucket: "audit".into(),
        credentials: S3Credentials {
            access_key_id: s3.info["access_key_id"].as_str().unwrap().into(),
            secret_access_key: SecretString::from(
                secret
                    .unwrap_or(s3.info["secret_access_key"].as_str().unwrap())
                    .to_string(),
            ),
            session_token: None,
        },
        http: reqwest::Client::new(),
    }
}

fn config(b: Bucket, max_lag: Duration, fail_closed: bool) -> ArchiveConfig {
    ArchiveConfig {
        bucket: b,
        prefix: "site-1/".into(),
        mode: RetentionMode::Compliance,
        retain: Duration::from_secs(86_400),
        max_lag,
        fail_closed,
        interval: Duration::from_secs(1),
    }
}

/// A signed request of the test's own (what the archiver never does).
async fn raw(b: &Bucket, method: &str, key: &str, query: &str, body: &str) -> (u16, String) {
    let url = format!("{}{query}", b.object_url(key));
    let signed = portcullis::audit::archive::s3::signed_headers(
        &b.credentials,
        &b.region,
        method,
        &url,
        &[],
        body.as_bytes(),
        SystemTime::now(),
    )
    .unwrap();
    let mut req = b
        .http
        .request(method.parse().unwrap(), &url)
        .body(body.to_string());
    for (k, v) in signed {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_segments_are_archived_locked_and_verify_from_the_archive() {
    let s3 = moto();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (_, signer) = CheckpointSigner::generate().unwrap();
    let public = signer.public();
    let log = Arc::new(
        AuditLog::open_with(
            &path,
            AuditOptions {
                signer: Some(Arc::new(signer)),
                rotate_bytes: Some(1_500),
                ..Default::default()
            },
        )
        .unwrap(),
    );
    for i in 0..30 {
        log.append_async(json!({"kind": "decision", "call": format!("c{i}")}))
            .await
            .unwrap();
    }
    let set = vec![portcullis::policy::PolicySource {
        name: "a.cedar".into(),
        text: "permit (principal, action, resource);".into(),
    }];
    policy_store::store(&path, &portcullis::policy::set_digest(&set), &set).unwrap();
    let waiting = pending(&path, "site-1/");
    assert!(waiting.len() >= 3, "{waiting:?}");

    let archiver = Archiver::new(
        config(bucket(&s3, None), Duration::from_secs(60), false),
        &path,
    );
    assert_eq!(archiver.sync_once().await.unwrap(), waiting.len());
    assert!(
        pending(&path, "site-1/").is_empty(),
        "everything is listed as archived"
    );
    assert!(archiver.assess(&log));
    let index: Vec<Value> = std::fs::read_to_string(index_path(&path))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(index.len(), waiting.len());

    // The lock as the server reports it.
    let b = bucket(&s3, None);
    let first = &waiting[0].key;
    let held = b.retention(first, None).await.unwrap();
    assert_eq!(held.mode.as_deref(), Some("COMPLIANCE"));
    let version = index[0]["version_id"].as_str().unwrap().to_string();
    assert_eq!(held.version_id.as_deref(), Some(version.as_str()));
    // Deleting the locked version is refused; an overwrite is a new
    // version, and the original is still there as archived.
    let (status, text) = raw(&b, "DELETE", first, &format!("?versionId={version}"), "").await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("AccessDenied"), "{text}");
    let original = std::fs::read(&waiting[0].path).unwrap();
    let newer = b
        .put_locked(
            first,
            b"rewritten".to_vec(),
            RetentionMode::Governance,
            "2030-01-01T00:00:00Z",
        )
        .await
        .unwrap();
    assert_ne!(newer.as_deref(), Some(version.as_str()));
    let (status, body) = raw(&b, "GET", first, &format!("?versionId={version}"), "").await;
    assert_eq!((status, body.into_bytes()), (200, original));

    // The chain verifies across what came back from the archive and the
    // live file, signatures included.
    let restored = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for item in waiting.iter().filter(|i| !i.key.contains("policy-sets")) {
        let version = index
            .iter()
            .find(|r| r["key"] == item.key.as_str())
            .unwrap()["version_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, body) = raw(&b, "GET", &item.key, &format!("?versionId={version}"), "").await;
        assert_eq!(status, 200);
        let to = restored.path().join(item.path.file_name().unwrap());
        std::fs::write(&to, body).unwrap();
        files.push(to);
    }
    files.push(path.clone());
    let opts = VerifyOptions {
        key: None,
        pubkey: Some(&public),
    };
    for (f, r) in verify_chain(&files, opts) {
        let r = r.unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(r.linked, "{}", f.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_is_refused_and_a_lagging_archive_fails_closed() {
    let s3 = moto();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = Arc::new(
        AuditLog::open_with(
            &path,
            AuditOptions {
                rotate_bytes: Some(300),
                ..Default::default()
            },
        )
        .unwrap(),
    );
    for i in 0..5 {
        log.append_async(json!({"kind": "decision", "call": format!("c{i}")}))
            .await
            .unwrap();
    }
    let archiver = Archiver::new(
        config(bucket(&s3, Some("not-the-secret")), Duration::ZERO, true),
        &path,
    );
    let err = archiver.sync_once().await.unwrap_err();
    assert!(
        err.contains("403") && err.contains("SignatureDoesNotMatch"),
        "{err}"
    );
    assert!(
        !pending(&path, "site-1/").is_empty(),
        "nothing is listed as archived"
    );
    // Behind by more than the allowed lag (zero here), and fail_closed:
    // not ready, and no record (so no call) is taken.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!archiver.assess(&log));
    assert!(!log.archive_ok());
    let refused = log
        .append_async(json!({"kind": "decision", "call": "late"}))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("archive is behind"),
        "{refused}"
    );
    // Once it catches up, records are taken again.
    let fixed = Archiver::new(
        config(bucket(&s3, None), Duration::from_secs(60), true),
        &path,
    );
    fixed.sync_once().await.unwrap();
    assert!(fixed.assess(&log));
    log.append_async(json!({"kind": "decision", "call": "after"}))
        .await
        .unwrap();
}

/// Credentials, method, URL, signed headers, body.
type Case<'a> = (
    &'a S3Credentials,
    &'a str,
    &'a str,
    Vec<(&'a str, String)>,
    &'a str,
);

#[test]
fn archive_signing_matches_botocore_byte_for_byte() {
    let creds = S3Credentials {
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_access_key: SecretString::from(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string(),
        ),
        session_token: None,
    };
    let with_token = S3Credentials {
        access_key_id: creds.access_key_id.clone(),
        secret_access_key: SecretString::from(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string(),
        ),
        session_token: Some(SecretString::from("FQoGZXIvYXdzEXAMPLETOKEN".to_string())),
    };
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01T00:00:00Z
    let lock = [
        ("content-type", "application/octet-stream".to_string()),
        ("x-amz-sdk-checksum-algorithm", "SHA256".to_string()),
        (
            "x-amz-checksum-sha256",
            "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=".to_string(),
        ),
        ("x-amz-object-lock-mode", "COMPLIANCE".to_string()),
        (
            "x-amz-object-lock-retain-until-date",
            "2027-01-01T00:00:00Z".to_string(),
        ),
    ];
    let cases: Vec<Case> = vec![
        (
            &creds,
            "PUT",
            "http://127.0.0.1:9000/audit/site-1/audit.jsonl.000000000000",
            lock.to_vec(),
            "hello world",
        ),
        (
            &creds,
            "HEAD",
            "http://127.0.0.1:9000/audit/site-1/policy-sets/ab.json",
            vec![],
            "",
        ),
        (
            &with_token,
            "PUT",
            "https://s3.eu-west-1.amazonaws.com/audit/a%20b/%C3%BC.txt",
            lock.to_vec(),
            "{}",
        ),
        (
            &creds,
            "GET",
            "http://127.0.0.1:9000/audit/k?versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY",
            vec![],
            "",
        ),
    ];
    let mut ours = Vec::new();
    let mut requests = Vec::new();
    for (c, method, url, headers, body) in &cases {
        let signed = portcullis::audit::archive::s3::signed_headers(
            c,
            "eu-west-1",
            method,
            url,
            headers,
            body.as_bytes(),
            time,
        )
        .unwrap();
        let get = |n: &str| {
            signed
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        ours.push(json!({"authorization": get("authorization"), "x-amz-content-sha256": get("x-amz-content-sha256")}));
        let host = url::Url::parse(url).unwrap();
        let mut all: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        all.push((
            "host".into(),
            host.host_str().unwrap().to_string()
                + &host.port().map(|p| format!(":{p}")).unwrap_or_default(),
        ));
        requests.push(json!({
            "method": method, "url": url, "headers": all, "body": body, "region": "eu-west-1",
            "access_key_id": c.access_key_id,
            "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "session_token": c.session_token.as_ref().map(|_| "FQoGZXIvYXdzEXAMPLETOKEN"),
        }));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/s3_sigv4.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::Array(requests).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(Value::Array(ours), theirs);
}
