//! The shared store on a real Redis (Debian's redis-server): what two
//! replicas hold in common — approval requests, break-glass grants and
//! rate-limit buckets — and what happens when Redis goes away (approvals
//! and grants fail closed; rate limits as configured). Plus the client's
//! password and TLS handling.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

#[path = "common/redis.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use portcullis::approval::{ApprovalKey, Approvals, Opened, Parked, State};
use portcullis::break_glass::{BreakGlass, GrantRequest};
use portcullis::catalog::Tier;
use portcullis::config::RateLimit;
use portcullis::gate::ratelimit::{RateLimiter, Throttled};
use portcullis::principal::Principal;
use portcullis::state::{Redis, RedisSettings, StateError, WhenUnreachable};
use redis_server::{RedisServer, PASSWORD};
use secrecy::SecretString;
use serde_json::json;

fn settings(server: &RedisServer, password: Option<&str>, prefix: &str) -> RedisSettings {
    let scheme = if server.ca.is_some() {
        "rediss"
    } else {
        "redis"
    };
    RedisSettings::parse(
        &format!("{scheme}://localhost:{}/0", server.port),
        password.map(|p| SecretString::from(p.to_string())),
        server.ca.as_deref(),
        prefix.to_string(),
    )
    .unwrap()
}

fn redis(server: &RedisServer, prefix: &str) -> Arc<Redis> {
    Arc::new(Redis::new(settings(server, None, prefix)))
}

#[tokio::test]
async fn the_client_authenticates_and_speaks_tls_without_showing_the_password() {
    let plain = RedisServer::start(true, false);
    let anonymous = Redis::new(settings(&plain, None, "t"));
    let err = anonymous.cmd(&[b"PING"]).await.unwrap_err();
    assert!(err.to_string().contains("NOAUTH"), "{err}");
    let wrong = Redis::new(settings(&plain, Some("not-it"), "t"));
    let err = wrong.cmd(&[b"PING"]).await.unwrap_err();
    assert!(matches!(err, StateError::Auth(..)), "{err}");
    assert!(!format!("{err} {err:?}").contains("not-it"));
    let right = Redis::new(settings(&plain, Some(PASSWORD), "t"));
    assert_eq!(
        right.cmd(&[b"PING"]).await.unwrap().text().as_deref(),
        Some("PONG")
    );
    assert!(!format!("{:?}", right.settings()).contains(PASSWORD));

    let tls = RedisServer::start(true, true);
    let secure = Redis::new(settings(&tls, Some(PASSWORD), "t"));
    secure.cmd(&[b"SET", b"k", b"v"]).await.unwrap();
    assert_eq!(
        secure.cmd(&[b"GET", b"k"]).await.unwrap().text().as_deref(),
        Some("v")
    );
    // Without its CA, the server's certificate is not trusted.
    let untrusted = RedisSettings::parse(
        &format!("rediss://localhost:{}/0", tls.port),
        Some(SecretString::from(PASSWORD.to_string())),
        None,
        "t".into(),
    )
    .unwrap();
    let err = Redis::new(untrusted).cmd(&[b"PING"]).await.unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");
    // Plain text to a TLS port is no answer.
    let mismatched = RedisSettings::parse(
        &format!("redis://localhost:{}/0", tls.port),
        None,
        None,
        "t".into(),
    )
    .unwrap();
    assert!(Redis::new(mismatched).cmd(&[b"PING"]).await.is_err());
}

#[test]
fn a_password_in_the_url_is_refused() {
    let err =
        RedisSettings::parse("redis://u:secret@h:6379/0", None, None, "p".into()).unwrap_err();
    assert!(
        err.contains("must not hold the password") && !err.contains("secret"),
        "{err}"
    );
    assert!(RedisSettings::parse("http://h", None, None, "p".into()).is_err());
    assert!(RedisSettings::parse("redis://h/x", None, None, "p".into()).is_err());
}

fn limiter(redis: Arc<Redis>, when: WhenUnreachable) -> RateLimiter {
    let mut l = RateLimiter::new(&[(
        Tier::Operate,
        RateLimit {
            per_minute: 6,
            burst: 2,
        },
    )]);
    l.share(redis, when);
    l
}

#[tokio::test]
async fn replicas_share_one_bucket_per_principal_and_tier() {
    let mut server = RedisServer::start(false, false);
    let (a, b) = (
        limiter(redis(&server, "rl"), WhenUnreachable::Deny),
        limiter(redis(&server, "rl"), WhenUnreachable::Local),
    );
    let now = Instant::now();
    assert_eq!(a.take_shared("alice", Tier::Operate, now).await, Ok(()));
    assert_eq!(b.take_shared("alice", Tier::Operate, now).await, Ok(()));
    match a.take_shared("alice", Tier::Operate, now).await {
        Err(Throttled::Wait(w)) => assert!(
            w > Duration::from_secs(5) && w <= Duration::from_secs(10),
            "{w:?}"
        ),
        other => panic!("the burst of 2 is shared: {other:?}"),
    }
    // Another principal, and an unlimited tier, are untouched.
    assert_eq!(b.take_shared("bob", Tier::Operate, now).await, Ok(()));
    assert_eq!(a.take_shared("alice", Tier::Read, now).await, Ok(()));

    server.stop();
    assert_eq!(
        a.take_shared("alice", Tier::Operate, now).await,
        Err(Throttled::StoreUnreachable),
        "deny: limits hold while the store is away"
    );
    assert_eq!(
        b.take_shared("carol", Tier::Operate, now).await,
        Ok(()),
        "local: counted here"
    );
    server.resume();
}

fn parked<'a>(who: &'a Principal, vmid: u64) -> Parked<'a> {
    let args = json!({"node": "pve1", "vmid": vmid});
    Parked {
        requester: who,
        tier: "change",
        destructive: true,
        key: ApprovalKey {
            tool: "pve_delete_qemu_vm".into(),
            args: args.clone(),
            endpoint: "prod".into(),
            targets: vec![format!("Vm::\"prod/{vmid}\"")],
        },
        shown_args: args,
        justification: "CHG-7",
        policy_set: "digest",
    }
}

const BINDING_KEY: &str = "a-binding-key-the-replicas-share-0123456789";

fn approvals(server: &RedisServer, ttl: Duration, required: usize) -> Approvals {
    keyed_approvals(server, ttl, required, BINDING_KEY)
}

fn keyed_approvals(server: &RedisServer, ttl: Duration, required: usize, key: &str) -> Approvals {
    let a = Approvals::new(ttl, required);
    a.share(redis(server, "apr"), &SecretString::from(key.to_string()));
    a
}

#[tokio::test]
async fn an_approval_made_on_one_replica_is_spent_on_another_once() {
    let mut server = RedisServer::start(false, false);
    let (a, b) = (
        approvals(&server, Duration::from_secs(600), 2),
        approvals(&server, Duration::from_secs(600), 2),
    );
    let alice = Principal::new("alice", ["operators"]);
    let now = SystemTime::now();
    let Opened::New(r) = a.prepare(parked(&alice, 100), now).await.unwrap() else {
        panic!("a new request")
    };
    a.insert(r.clone()).await.unwrap();
    // The same call parked on the other replica finds the same request.
    match b.prepare(parked(&alice, 100), now).await.unwrap() {
        Opened::Existing(e) => assert_eq!(e.id, r.id),
        Opened::New(_) => panic!("parked twice"),
    }
    assert_eq!(b.open_requests(now).await.unwrap().len(), 1);

    // Two approvers on two replicas at once: both count.
    let (x, y) = tokio::join!(
        a.approve(&r.id, "carol", "ok", now),
        b.approve(&r.id, "dave", "ok", now)
    );
    x.unwrap();
    y.unwrap();
    let approved = a.get(&r.id).await.unwrap().unwrap();
    assert_eq!(approved.state, State::Approved);
    assert_eq!(approved.approvals.len(), 2);

    // A replica keyed otherwise binds the same call differently.
    let stranger = keyed_approvals(
        &server,
        Duration::from_secs(600),
        2,
        "another-key-another-deployment-0123456789",
    );
    let key = parked(&alice, 100).key;
    let foreign = stranger
        .redeem(&r.id, "alice", &key, now)
        .await
        .unwrap_err();
    assert!(foreign.to_string().contains("another call"), "{foreign}");
    // What Redis holds is keyed: not the plain digest of the arguments.
    let raw = redis(&server, "apr")
        .cmd(&[b"GET", format!("apr:approval:{}", r.id).as_bytes()])
        .await
        .unwrap()
        .text()
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(stored["fingerprint"].as_str().unwrap().len(), 64);

    // Spent on one replica, then refused on the other.
    b.redeem(&r.id, "alice", &key, now).await.unwrap();
    let again = a.redeem(&r.id, "alice", &key, now).await.unwrap_err();
    assert!(again.to_string().contains("used already"), "{again}");
    // Another call, or another principal, never spends it.
    let other = parked(&alice, 101).key;
    assert!(a
        .redeem(&r.id, "alice", &other, now)
        .await
        .unwrap_err()
        .to_string()
        .contains("another call"));

    // Redis gone: nothing is parked or answered (fail closed).
    server.stop();
    let Err(err) = a.prepare(parked(&alice, 102), now).await else {
        panic!("parked without a store")
    };
    assert!(
        err.to_string().starts_with("approvals are unavailable"),
        "{err}"
    );
    assert!(b.approve(&r.id, "erin", "ok", now).await.is_err());
    server.resume();
}

#[tokio::test]
async fn each_expiry_is_claimed_by_one_replica() {
    let server = RedisServer::start(false, false);
    let (a, b) = (
        approvals(&server, Duration::from_secs(1), 1),
        approvals(&server, Duration::from_secs(1), 1),
    );
    let alice = Principal::new("alice", ["operators"]);
    let now = SystemTime::now();
    let Opened::New(r) = a.prepare(parked(&alice, 7), now).await.unwrap() else {
        panic!("a new request")
    };
    a.insert(r.clone()).await.unwrap();
    let later = now + Duration::from_secs(2);
    let (x, y) = tokio::join!(a.sweep(later), b.sweep(later));
    let marked: Vec<String> = x
        .unwrap()
        .into_iter()
        .chain(y.unwrap())
        .map(|r| r.id)
        .collect();
    assert_eq!(
        marked,
        vec![r.id.clone()],
        "marked expired once, by one replica"
    );
    assert_eq!(b.get(&r.id).await.unwrap().unwrap().state, State::Expired);
}

fn break_glass(server: &RedisServer) -> Arc<BreakGlass> {
    let bg = Arc::new(BreakGlass::new(Duration::from_secs(3600)));
    bg.share(redis(server, "bg"));
    bg
}

#[tokio::test]
async fn a_grant_made_on_one_replica_applies_on_another_until_it_ends() {
    let mut server = RedisServer::start(false, false);
    let (a, b) = (break_glass(&server), break_glass(&server));
    let bob = Principal::new("bob", ["operators"]);
    let groups = ["admins".to_string()].into_iter().collect();
    let req = GrantRequest {
        principal: "bob".into(),
        group: "admins".into(),
        seconds: 2,
        reason: "INC-9 storage down".into(),
        requested_by: None,
        approval_id: None,
    };
    let grant = a.check(&req, "root", &groups).unwrap();
    a.insert(grant.clone()).await.unwrap();
    b.refresh().await.unwrap();
    let (elevated, ids) = b.apply(&bob, Instant::now()).unwrap();
    assert!(elevated.groups.contains(&"admins".to_string()));
    assert_eq!(ids, grant.id);

    // It runs out: both replicas drop it, one claims recording its end.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    b.refresh().await.unwrap();
    let after = Instant::now();
    assert!(b.apply(&bob, after).is_none());
    let (x, y) = tokio::join!(a.expire(after), b.expire(after));
    assert_eq!(x.len() + y.len(), 1, "one end record for one grant");

    // Ended early on one replica: gone on the other at its next read.
    let req = GrantRequest {
        seconds: 600,
        ..req
    };
    let grant = b.check(&req, "root", &groups).unwrap();
    b.insert(grant.clone()).await.unwrap();
    a.refresh().await.unwrap();
    assert!(a.apply(&bob, Instant::now()).is_some());
    b.end(&grant.id).await.unwrap();
    a.refresh().await.unwrap();
    assert!(a.apply(&bob, Instant::now()).is_none());

    // Redis gone: grants stop applying, and none can be made.
    let grant = a.check(&req, "root", &groups).unwrap();
    a.insert(grant).await.unwrap();
    assert!(a.apply(&bob, Instant::now()).is_some());
    server.stop();
    assert!(a.refresh().await.is_err());
    assert!(a.apply(&bob, Instant::now()).is_none(), "fails closed");
    let grant = a.check(&req, "root", &groups).unwrap();
    assert!(a.insert(grant).await.is_err());
    server.resume();
}
