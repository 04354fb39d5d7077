//! The approvers' side over HTTP: the admin API (approver keys as bearer
//! tokens, never an agent's key) and the page (sign-in, session cookie,
//! anti-CSRF token, same origin only), both answering the same store the
//! admin socket does, each answer decided by policy and audited.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

mod common;
#[path = "common/http.rs"]
mod harness;

use harness::{start, Options, Server, ALICE_KEY as AGENT_KEY};
use portcullis::gate::{CallRequest, Caller, Confirmation, Outcome};
use portcullis::principal::Principal;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CAROL_KEY: &str = "pcl_carol_0123456789abcdef0123456789abcdef0123456789";
const ALICE_APPROVER_KEY: &str = "pcl_alice_0123456789abcdef0123456789abcdef012345678";

/// carol (an admin) and alice (an operator, who asks) have approver keys;
/// alice's MCP key (`AGENT_KEY`) is an agent's.
async fn server() -> Server {
    let http = format!(
        "[[http.approver_keys]]\nprincipal = \"carol\"\nsha256 = \"{}\"\n\
         [[http.approver_keys]]\nprincipal = \"alice\"\nsha256 = \"{}\"\n",
        harness::sha(CAROL_KEY),
        harness::sha(ALICE_APPROVER_KEY)
    );
    start(Options {
        http: Box::leak(http.into_boxed_str()),
        tables: "[[principals]]\nid = \"alice\"\ngroups = [\"operators\"]\n".into(),
        policies: vec![("80-approve-lab.cedar", common::approve_lab_rule())],
        ..Default::default()
    })
    .await
}

fn last(s: &Server, kind: &str, field: &str, value: &str) -> Option<Value> {
    s.records()
        .into_iter()
        .rev()
        .find(|r| r["kind"] == kind && r[field] == value)
}

/// alice, as an agent, stops VM `vmid` (with `approval` to resume).
async fn stop(s: &Server, vmid: u64, approval: Option<&str>) -> String {
    let caller = Caller::stdio(Principal::new("alice", ["operators"]));
    let mut args = json!({"node": "pve1", "vmid": vmid, "confirm": true});
    if let Some(id) = approval {
        args["approval_id"] = json!(id);
    }
    let call = CallRequest {
        tool: "pve_stop_qemu_vm",
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    match s.rt.gate.call(&caller, call, None).await {
        Outcome::Done(r) => r.text,
        other => panic!("not a result: {other:?}"),
    }
}

fn approval_id(text: &str) -> String {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.starts_with("apr-"))
        .unwrap_or_else(|| panic!("no approval id in {text}"))
        .to_string()
}

/// `portcullis approvals --url BASE ARGS…` as carol.
fn approvals_cli(base: &str, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(["approvals", "--url", base])
        .args(args)
        .env("PORTCULLIS_APPROVER_KEY", CAROL_KEY)
        .env_remove("PORTCULLIS_ADMIN_SOCKET");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_answers_with_approver_keys_only() {
    let s = server().await;
    let parked = stop(&s, 100, None).await;
    let id = approval_id(&parked);
    let http = harness::page_client();
    let list = format!("{}/admin/api/approvals", s.base);

    // No key, and an agent's MCP key: refused, audited.
    for key in [None, Some(AGENT_KEY)] {
        let mut req = http.get(&list);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{key:?}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("approver key"),
            "{body}"
        );
    }
    let refused: Vec<Value> = s
        .records()
        .into_iter()
        .filter(|r| r["kind"] == "http_refused" && r["reason"] == "approver_unauthenticated")
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");

    // An approver sees exactly what will run.
    let open: Value = http
        .get(&list)
        .bearer_auth(CAROL_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = &open["approvals"][0];
    assert_eq!(
        (first["id"].as_str(), first["tool"].as_str()),
        (Some(id.as_str()), Some("pve_stop_qemu_vm"))
    );
    assert_eq!(first["target"], "Vm::\"lab/100\"");
    assert_eq!(first["args"], json!({"node": "pve1", "vmid": 100}));

    // The requester's own approver key cannot approve her call (four eyes).
    let approve = format!("{}/admin/api/approvals/{id}/approve", s.base);
    let r = http
        .post(&approve)
        .bearer_auth(ALICE_APPROVER_KEY)
        .json(&json!({"reason": "mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("four-eyes"),
        "{body}"
    );
    let refused = last(&s, "approval", "event", "answer_refused").unwrap();
    assert_eq!(refused["approval"], id.as_str());

    // Another origin is refused even with a key.
    let r = http
        .post(&approve)
        .bearer_auth(CAROL_KEY)
        .header(ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(last(&s, "http_refused", "reason", "origin").is_some());
    assert_eq!(
        s.rt.gate
            .approvals()
            .get(&id)
            .await
            .unwrap()
            .unwrap()
            .approvals
            .len(),
        0
    );

    // carol approves through the CLI over the API.
    let out = common::output(approvals_cli(
        &s.base,
        &["approve", &id, "--reason", "change 42"],
    ))
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("approved") && stdout.contains("1 of 1"),
        "{stdout}"
    );
    let approved = last(&s, "approval", "event", "approved").unwrap();
    assert!(
        approved["by"]
            .as_str()
            .unwrap()
            .starts_with("carol (operator admin API from 127.0.0.1:"),
        "{approved}"
    );
    assert_eq!(approved["answer_reason"], "change 42");

    // Each failure says what kind it is: answered already (409), no such
    // request (404), a denial without a reason (400).
    for (url, body, status) in [
        (approve.clone(), json!({"reason": "again"}), 409),
        (
            format!(
                "{}/admin/api/approvals/apr-0000000000000000/approve",
                s.base
            ),
            json!({}),
            404,
        ),
        (
            approve.replace("/approve", "/deny"),
            json!({"reason": " "}),
            400,
        ),
    ] {
        let r = http
            .post(&url)
            .bearer_auth(CAROL_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            status,
            "{url}: {}",
            r.text().await.unwrap()
        );
    }

    // The call runs once, exactly as approved.
    let ran = stop(&s, 100, Some(&id)).await;
    assert!(!ran.contains("approval"), "{ran}");
    assert_eq!(
        s.rt.gate.approvals().get(&id).await.unwrap().unwrap().state,
        portcullis::approval::State::Executed
    );

    // A key given as an argument would show in `ps`: there is no such argument,
    // and --as does not apply over --url.
    let out = common::output(approvals_cli(
        &s.base,
        &["deny", &id, "--as", "carol", "--reason", "x"],
    ))
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as does not apply over --url"));

    let log = std::fs::read_to_string(s.dir.path().join("audit.jsonl")).unwrap();
    for secret in [AGENT_KEY, CAROL_KEY, ALICE_APPROVER_KEY] {
        assert!(!log.contains(secret), "a key reached the audit log");
    }
    common::assert_chain_verifies(&s.dir.path().join("audit.jsonl"));
}

/// The value of `name="csrf"` in a page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_signs_in_and_changes_nothing_on_a_forged_form() {
    let s = server().await;
    let id = approval_id(&stop(&s, 101, None).await);
    let http = harness::page_client();
    let admin = format!("{}/admin/", s.base);

    let r = http.get(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(r.text().await.unwrap().contains("Approver key"));

    // A wrong key, and an agent's key: no session.
    for key in ["pcl_wrong", AGENT_KEY] {
        let r = http
            .post(format!("{}/admin/login", s.base))
            .form(&[("key", key)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().get(SET_COOKIE).is_none());
        assert!(r.text().await.unwrap().contains("not an approver key"));
    }

    let r = http
        .post(format!("{}/admin/login", s.base))
        .form(&[("key", CAROL_KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/admin/");
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_string();
    let signed_in = last(&s, "approver_session", "event", "signed_in").unwrap();
    assert_eq!(signed_in["principal"], "carol");

    let listed = harness::page(&http, &admin, &cookie).await;
    assert!(
        listed.contains(&id) && listed.contains("Signed in as <strong>carol</strong>"),
        "{listed}"
    );
    let token = harness::page_csrf(&listed);
    let answer = format!("{}/admin/approvals/{id}", s.base);

    // Without the token, or from another origin: refused, audited, unchanged.
    let r = http
        .post(&answer)
        .header(COOKIE, &cookie)
        .form(&[("decision", "approve"), ("reason", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(last(&s, "http_refused", "reason", "csrf").is_some());
    let r = http
        .post(&answer)
        .header(COOKIE, &cookie)
        .header(ORIGIN, "http://evil.example")
        .form(&[("csrf", token.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        s.rt.gate
            .approvals()
            .get(&id)
            .await
            .unwrap()
            .unwrap()
            .approvals
            .len(),
        0
    );

    // A denial needs a reason: shown on the page, nothing changes.
    let r = http
        .post(&answer)
        .header(COOKIE, &cookie)
        .form(&[
            ("csrf", token.as_str()),
            ("decision", "deny"),
            ("reason", " "),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("class=\"error\""));

    // The same origin with the token: approved, and the page says so.
    let own = s.base.clone();
    let r = http
        .post(&answer)
        .header(COOKIE, &cookie)
        .header(ORIGIN, own.as_str())
        .form(&[
            ("csrf", token.as_str()),
            ("decision", "approve"),
            ("reason", "<b>ok</b>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let detail = harness::page(&http, &answer, &cookie).await;
    assert!(detail.contains("approved, not run yet"), "{detail}");
    assert!(
        detail.contains("&lt;b&gt;ok&lt;/b&gt;") && !detail.contains("<b>ok</b>"),
        "{detail}"
    );
    let approved = last(&s, "approval", "event", "approved").unwrap();
    assert!(
        approved["by"]
            .as_str()
            .unwrap()
            .starts_with("carol (operator approvers' page from "),
        "{approved}"
    );

    // Signed out, the cookie opens nothing.
    let r = http
        .post(format!("{}/admin/logout", s.base))
        .header(COOKIE, &cookie)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let after = harness::page(&http, &admin, &cookie).await;
    assert!(
        after.contains("Approver key") && !after.contains(&id),
        "{after}"
    );

    let log = std::fs::read_to_string(s.dir.path().join("audit.jsonl")).unwrap();
    assert!(!log.contains(CAROL_KEY) && !log.contains(&cookie[cookie.find('=').unwrap() + 1..]));
}
