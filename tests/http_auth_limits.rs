//! Security claims of the HTTP listener that each need a test to hold
//! them: the JWT claims and algorithms that must be refused, the JWKS
//! cache and its refetch rate, credentials never reaching a backend, the
//! Origin check before authentication, the header and body read timeouts,
//! the connection limit, and readiness once the audit log breaks.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;
#[path = "common/http.rs"]
mod harness;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use bytes::Bytes;
use harness::*;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

/// Sign `claims` with HS256 under `kid`, keyed with `secret`.
fn hs256(kid: &str, secret: &[u8], claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn a_token_missing_iss_aud_or_exp_is_refused() {
    let s = start(Options::default()).await;
    let c = reqwest::Client::new();
    let good = s.signer.sign(KID, &claims("dana", &["operators"]));
    let r = post(&c, &s.url, Some(&good), None, &[], &initialize()).await;
    assert_eq!(r.status, 200, "a complete token is accepted: {:?}", r.body);
    // jsonwebtoken compares iss and aud only when the token has them: the
    // claims must be required, or a token without them gets in.
    for claim in ["iss", "aud", "exp"] {
        let mut c0 = claims("dana", &["admins"]);
        c0.as_object_mut().unwrap().remove(claim);
        let token = s.signer.sign(KID, &c0);
        let r = post(&c, &s.url, Some(&token), None, &[], &initialize()).await;
        assert_eq!(r.status, 401, "a token without {claim} must be refused");
        let challenge = r.challenge();
        assert!(
            challenge.contains("error=\"invalid_token\"")
                && challenge.contains(&format!("missing claim {claim}")),
            "{claim}: {challenge}"
        );
    }
    let refused = s.refused("unauthenticated");
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(
        s.records()
            .iter()
            .all(|r| r["kind"] == "http_refused" || r["kind"] == "policy_loaded"),
        "nothing but refusals was recorded (after the policy set loaded at start)"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn a_token_signed_with_an_algorithm_outside_the_configured_list_is_refused() {
    // The issuer publishes a P-384 key too, without saying which algorithm
    // it is for; only ES256 is configured, so an ES384 token signed with
    // that key verifies cryptographically and must still be refused.
    let es256 = SigningKey::new();
    let es384 = SigningKey::p384();
    let s = start(Options {
        jwks: Jwks::Keys(vec![es256.jwk(KID), es384.jwk_without_alg("p384")]),
        ..Options::default()
    })
    .await;
    let c = reqwest::Client::new();
    let ok = es256.sign(KID, &claims("dana", &["operators"]));
    let r = post(&c, &s.url, Some(&ok), None, &[], &initialize()).await;
    assert_eq!(r.status, 200, "ES256 is configured: {:?}", r.body);
    let token = es384.sign("p384", &claims("dana", &["admins"]));
    let r = post(&c, &s.url, Some(&token), None, &[], &initialize()).await;
    assert_eq!(r.status, 401, "ES384 is not configured");
    let challenge = r.challenge();
    assert!(
        challenge.contains("algorithm ES384 is not accepted"),
        "{challenge}"
    );
    assert_eq!(s.refused("unauthenticated").len(), 1);
    s.shutdown().await;
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_issuers_public_key_is_refused() {
    let s = start(Options::default()).await;
    let c = reqwest::Client::new();
    // Key confusion: the public key is public, so an attacker MACs a
    // token with its bytes and hopes the verifier uses them as a secret.
    let jwk = s.signer.jwk(KID);
    let x = B64.decode(jwk["x"].as_str().unwrap()).unwrap();
    let y = B64.decode(jwk["y"].as_str().unwrap()).unwrap();
    let point = [&[4u8][..], &x, &y].concat();
    let secrets: [(&str, Vec<u8>); 4] = [
        ("the JWK text", jwk.to_string().into_bytes()),
        (
            "the JWKS text",
            json!({"keys": [jwk]}).to_string().into_bytes(),
        ),
        ("the public point", point),
        ("the x coordinate", x),
    ];
    for (what, secret) in &secrets {
        for kid in [KID, "unknown-kid"] {
            let token = hs256(kid, secret, &claims("mallory", &["admins"]));
            let r = post(&c, &s.url, Some(&token), None, &[], &initialize()).await;
            assert_eq!(r.status, 401, "HS256 keyed with {what}, kid {kid}");
            assert!(
                r.challenge().contains("invalid_token"),
                "{what}: {}",
                r.challenge()
            );
        }
    }
    assert_eq!(s.refused("unauthenticated").len(), 2 * secrets.len());
    assert!(
        !s.records().iter().any(|r| r["kind"] == "decision"),
        "no call was decided for the forger"
    );
    s.shutdown().await;
}

/// A JWKS endpoint on loopback that counts its fetches and serves
/// whatever key set is current.
struct JwksServer {
    url: String,
    fetches: Arc<AtomicUsize>,
    keys: Arc<Mutex<Vec<Value>>>,
}

async fn jwks_server(keys: Vec<Value>) -> JwksServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let fetches = Arc::new(AtomicUsize::new(0));
    let keys = Arc::new(Mutex::new(keys));
    let (f, k) = (fetches.clone(), keys.clone());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (f, k) = (f.clone(), k.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| {
                    f.fetch_add(1, Ordering::SeqCst);
                    let body = json!({"keys": *k.lock().unwrap()}).to_string();
                    async move {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from(body),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    JwksServer { url, fetches, keys }
}

#[tokio::test]
async fn unknown_kids_refetch_the_jwks_at_most_every_30_seconds() {
    let first = SigningKey::new();
    let jwks = jwks_server(vec![first.jwk("k1")]).await;
    let s = start(Options {
        jwks: Jwks::Uri(jwks.url.clone()),
        ..Options::default()
    })
    .await;
    let c = reqwest::Client::new();
    let fetches = || jwks.fetches.load(Ordering::SeqCst);
    assert_eq!(fetches(), 0, "keys are fetched when first needed");
    let good = first.sign("k1", &claims("dana", &["operators"]));
    let r = post(&c, &s.url, Some(&good), None, &[], &initialize()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The fetch happened before this instant.
    let fetched = Instant::now();
    for _ in 0..4 {
        let r = post(&c, &s.url, Some(&good), None, &[], &initialize()).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    assert_eq!(fetches(), 1, "a known kid is served from the cache");

    // A flood of tokens naming kids the issuer never had.
    let forger = SigningKey::new();
    for i in 0..20 {
        let token = forger.sign(&format!("forged-{i}"), &claims("mallory", &["admins"]));
        let r = post(&c, &s.url, Some(&token), None, &[], &initialize()).await;
        assert_eq!(r.status, 401);
        assert!(
            r.challenge().contains("no key with kid"),
            "{}",
            r.challenge()
        );
    }
    assert_eq!(fetches(), 1, "unknown kids must not refetch within 30 s");

    // The issuer rotates in a second key: not looked for before 30 s have
    // passed since the last fetch, then fetched once.
    let second = SigningKey::new();
    jwks.keys.lock().unwrap().push(second.jwk("k2"));
    let rotated = second.sign("k2", &claims("erin", &["readers"]));
    let r = post(&c, &s.url, Some(&rotated), None, &[], &initialize()).await;
    assert_eq!(r.status, 401, "too early to look for a new key");
    assert_eq!(fetches(), 1);
    tokio::time::sleep(Duration::from_secs(31).saturating_sub(fetched.elapsed())).await;
    let r = post(&c, &s.url, Some(&rotated), None, &[], &initialize()).await;
    assert_eq!(r.status, 200, "the rotated key is found: {:?}", r.body);
    assert_eq!(fetches(), 2);
    for i in 0..10 {
        let token = forger.sign(&format!("again-{i}"), &claims("mallory", &[]));
        let r = post(&c, &s.url, Some(&token), None, &[], &initialize()).await;
        assert_eq!(r.status, 401);
    }
    let r = post(&c, &s.url, Some(&good), None, &[], &initialize()).await;
    assert_eq!(r.status, 200, "the first key is still served");
    assert_eq!(fetches(), 2, "the refetch rate holds after a rotation too");
    s.shutdown().await;
}

#[tokio::test]
async fn credentials_presented_to_portcullis_never_reach_a_backend() {
    // A fake Proxmox VE that records every request in full.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    let (url, pem) = common::serve(common::tls_listener().await, false, move |req| {
        let record = record.clone();
        async move {
            let mut text = format!("{} {}\n", req.method(), req.uri());
            for (k, v) in req.headers() {
                text.push_str(&format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())));
            }
            let body = req.into_body().collect().await.unwrap().to_bytes();
            text.push_str(&String::from_utf8_lossy(&body));
            record.lock().unwrap().push(text);
            let answer = json!({"data": [{"node": "pve1", "status": "online"}]});
            hyper::Response::new(Full::new(Bytes::from(answer.to_string())))
        }
    });
    let backend_secret = "fake-pve-token-secret";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), pem).unwrap();
    std::fs::write(dir.path().join("secret"), backend_secret).unwrap();
    let s = start(Options {
        no_lab: true,
        tables: format!(
            "[[endpoints]]\nname = \"pve\"\nbackend = \"pve\"\nurl = \"{url}\"\n\
             token_id = \"portcullis@pve!test\"\ntoken_secret_file = \"{}\"\n\
             ca_file = \"{}\"\ntimeout_seconds = 5\n",
            dir.path().join("secret").display(),
            dir.path().join("ca.pem").display(),
        ),
        ..Options::default()
    })
    .await;
    let c = reqwest::Client::new();
    let jwt = s.signer.sign(KID, &claims("dana", &["operators"]));
    for credential in [ALICE_KEY, jwt.as_str()] {
        let sid = s.session(&c, credential).await.unwrap();
        let r = s
            .tool(
                &c,
                Some(credential),
                Some(&sid),
                "pve_list_nodes",
                json!({}),
            )
            .await;
        assert_eq!(r.result()["isError"], json!(false), "{}", r.text());
        assert!(r.text().contains("pve1"), "{}", r.text());
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "each call reached the backend: {seen:?}");
    // The backend got its own credential, so the recording is complete...
    assert!(
        seen.iter()
            .all(|r| r.contains(&format!("PVEAPIToken=portcullis@pve!test={backend_secret}"))),
        "{seen:?}"
    );
    // ...and never the caller's, whole or in part.
    let signature = jwt.rsplit('.').next().unwrap();
    for request in &seen {
        for secret in [ALICE_KEY, jwt.as_str(), signature, "Bearer"] {
            assert!(
                !request.contains(secret),
                "{secret:?} reached the backend: {request}"
            );
        }
    }
    s.shutdown().await;
}

#[tokio::test]
async fn a_foreign_origin_without_credentials_gets_403_not_401() {
    let s = start(Options::default()).await;
    let c = reqwest::Client::new();
    let evil = [("origin", "https://evil.example")];
    // The Origin check comes first: with no credentials, with wrong ones,
    // and with a forged token alike, the page learns only "403".
    let forged = SigningKey::new().sign(KID, &claims("mallory", &["admins"]));
    for auth in [None, Some("pcl_not_a_key"), Some(forged.as_str())] {
        let r = post(&c, &s.url, auth, None, &evil, &initialize()).await;
        assert_eq!(r.status, 403, "credentials {auth:?}");
        assert!(
            r.headers.get("www-authenticate").is_none(),
            "no authentication challenge before the Origin check"
        );
        assert!(
            r.error()
                .contains("Origin \"https://evil.example\" is not allowed"),
            "{}",
            r.error()
        );
    }
    assert_eq!(s.refused("origin").len(), 3);
    assert!(
        s.refused("unauthenticated").is_empty(),
        "authentication never ran"
    );
    // Without the Origin, the same request is an authentication failure.
    let r = post(&c, &s.url, None, None, &[], &initialize()).await;
    assert_eq!(r.status, 401);
    s.shutdown().await;
}

#[tokio::test]
async fn a_client_slow_to_send_its_headers_is_disconnected() {
    let s = start(Options {
        http: "header_timeout_seconds = 1",
        ..Options::default()
    })
    .await;
    let started = Instant::now();
    // One connection says nothing; another trickles a request head a byte
    // at a time (slowloris), never finishing it.
    let mut idle = s.connect().await;
    let (mut slow, mut trickler) = s.connect().await.into_split();
    let trickle = tokio::spawn(async move {
        let head = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ";
        for b in head.iter().chain(std::iter::repeat(&b'a')) {
            if trickler.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let wait = Duration::from_secs(8);
    let idle_got = read_until_closed(&mut idle, wait).await;
    let slow_got = read_until_closed(&mut slow, wait).await;
    for (name, got) in [("idle", idle_got), ("slow", slow_got)] {
        let got = got.unwrap_or_else(|| panic!("the {name} connection was still open after 8 s"));
        // hyper closes the connection without an answer (no 408).
        assert!(
            got.is_empty(),
            "{name}: nothing is served: {:?}",
            String::from_utf8_lossy(&got)
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed by the timeout, not at once"
    );
    trickle.abort();
    // The listener itself is fine, and a prompt client is served.
    let c = reqwest::Client::new();
    let r = c.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    s.shutdown().await;
}

#[tokio::test]
async fn a_client_slow_to_send_its_body_gets_408_after_30_seconds() {
    let s = start(Options::default()).await;
    let mut tcp = s.connect().await;
    let body = initialize().to_string();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ALICE_KEY}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    // Half the body, then nothing.
    tcp.write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_response(&mut tcp, Duration::from_secs(45))
        .await
        .expect("an answer within 45 s");
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("request body not received within 30 s"),
        "{answer}"
    );
    assert!(
        waited >= Duration::from_secs(29),
        "the body had 30 s: {waited:?}"
    );
    let refused = s.refused("body");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["principal"], "alice");
    assert!(
        !s.records().iter().any(|r| r["kind"] == "decision"),
        "the request never reached MCP"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn connections_over_max_connections_wait_until_one_closes() {
    // A long header timeout, so idle connections keep their slots.
    let s = start(Options {
        http: "max_connections = 2\nheader_timeout_seconds = 120",
        ..Options::default()
    })
    .await;
    let wait = Duration::from_secs(5);
    let mut first = s.connect().await;
    let mut second = s.connect().await;
    for tcp in [&mut first, &mut second] {
        send_get(tcp, "/healthz").await;
        let r = read_response(tcp, wait).await.expect("served");
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }
    // Both stay open (keep-alive). A third client is not accepted...
    let mut third = s.connect().await;
    send_get(&mut third, "/healthz").await;
    assert_eq!(
        read_response(&mut third, Duration::from_millis(1500)).await,
        None,
        "a third connection must wait while two are open"
    );
    // ...while the open ones are still served.
    send_get(&mut second, "/healthz").await;
    let r = read_response(&mut second, wait).await.expect("served");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    // When one closes, the waiting client is accepted and answered.
    drop(first);
    let r = read_response(&mut third, wait)
        .await
        .expect("the waiting client is served once a slot frees");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    s.shutdown().await;
}

#[tokio::test]
async fn a_server_whose_audit_log_cannot_be_written_does_not_start() {
    // Every write to /dev/full fails with ENOSPC: a full disk. The policy
    // set loaded is recorded at start, so the server refuses to start
    // instead of serving with a log it cannot write.
    let err = start_err(Options {
        audit_log: Some("/dev/full".into()),
        ..Options::default()
    })
    .await;
    assert!(
        err.contains("audit log refused") && err.contains("No space left"),
        "{err}"
    );
}

#[tokio::test]
async fn readyz_turns_503_once_an_audit_write_fails() {
    let s = start(Options::default()).await;
    let c = reqwest::Client::new();
    let ready = c.get(format!("{}/readyz", s.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200, "nothing has failed yet");
    let v: Value = ready.json().await.unwrap();
    assert_eq!(v["audit_writable"], true);
    // The disk fills up: the next flush fails with ENOSPC.
    s.rt.gate.audit_log().unwrap().fail_next_flush();
    // A refused request is audited: that write fails.
    let r = post(&c, &s.url, None, None, &[], &initialize()).await;
    assert_eq!(r.status, 401);
    let ready = c.get(format!("{}/readyz", s.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let v: Value = ready.json().await.unwrap();
    assert_eq!(
        v,
        json!({"ready": false, "policies": s.rt.gate.policies().len(), "audit_writable": false})
    );
    // Liveness is another matter.
    let health = c.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // And no tool runs without its record.
    let sid = s.session(&c, ALICE_KEY).await;
    let r = s
        .tool(
            &c,
            Some(ALICE_KEY),
            sid.as_deref(),
            "pve_list_nodes",
            json!({}),
        )
        .await;
    assert_eq!(r.result()["isError"], json!(true), "{}", r.text());
    s.shutdown().await;
}
