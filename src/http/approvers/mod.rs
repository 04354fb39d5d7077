//! `/admin`: where people answer approval requests over HTTP — a small
//! page for browsers and a JSON API for scripts and `portcullis approvals
//! --url`, both on the approval store the admin socket serves.
//!
//! Its own authentication: `[[http.approver_keys]]`, each naming a
//! configured principal (whose groups Cedar sees when they approve). An
//! agent's MCP credential never opens it. The API takes the key as a
//! bearer token; the page signs in with it once and then holds a session
//! cookie (`HttpOnly`, `SameSite=Strict`, `Secure` under TLS) and an
//! anti-CSRF token in every form. A request from another origin, or a form
//! without the token, changes nothing. Every refusal, sign-in and answer is
//! audited; an answer is decided by policy (`Action::"approve"`).

mod page;
mod sessions;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};

use super::respond::{self, json_response, Body};
use crate::admin::AnswerError;
use crate::approval::{ApprovalError, ApprovalRequest};
use crate::config::{ApproverKey, HttpConfig, ADMIN_PREFIX};
use crate::gate::Gate;
use crate::principal::Principal;
use page::Flash;
use sessions::Sessions;

/// The session cookie's name.
const COOKIE: &str = "portcullis_approver";
/// The largest form or API body.
const MAX_BODY: usize = 16 * 1024;
/// Pages may load their stylesheet and post their forms here; nothing else.
const CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A request refused before it reached the approval store.
struct Refused {
    status: StatusCode,
    /// For the audit record and the metric.
    reason: &'static str,
    message: String,
}

impl Refused {
    fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Refused {
        Refused {
            status,
            reason,
            message: message.into(),
        }
    }
}

pub struct Approvers {
    gate: Arc<Gate>,
    keys: Vec<ApproverKey>,
    principals: Vec<Principal>,
    sessions: Sessions,
    /// Reached over TLS (here, or at a proxy named by `public_url`):
    /// cookies are `Secure`.
    tls: bool,
    /// The origin browsers send, when `public_url` names it (behind a
    /// proxy that terminates TLS); else taken from `Host`.
    origin: Option<String>,
    hosts: Vec<String>,
}

/// Which way a request came in: the page (cookie) or the API (bearer).
enum Route<'a> {
    Index,
    Style,
    SignIn,
    SignOut,
    Request(&'a str),
    ApiList,
    ApiShow(&'a str),
    ApiAnswer(&'a str, bool),
}

fn route<'a>(method: &Method, path: &'a str) -> Option<Route<'a>> {
    let rest = path.strip_prefix(ADMIN_PREFIX)?;
    let get = method == Method::GET;
    let post = method == Method::POST;
    Some(match rest {
        "" | "/" if get => Route::Index,
        "/style.css" if get => Route::Style,
        "/login" if post => Route::SignIn,
        "/logout" if post => Route::SignOut,
        "/api/approvals" if get => Route::ApiList,
        _ => {
            if let Some(id) = rest.strip_prefix("/approvals/") {
                if get || post {
                    return Some(Route::Request(id));
                }
            } else if let Some(tail) = rest.strip_prefix("/api/approvals/") {
                return match tail.split_once('/') {
                    None if get => Some(Route::ApiShow(tail)),
                    Some((id, "approve")) if post => Some(Route::ApiAnswer(id, true)),
                    Some((id, "deny")) if post => Some(Route::ApiAnswer(id, false)),
                    _ => None,
                };
            }
            return None;
        }
    })
}

/// An approval id as the store makes them; anything else is not looked up.
fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Approvers {
    /// The approvers' side of `cfg`, if it names approver keys; from then
    /// on calls may be parked for approval.
    pub fn new(gate: Arc<Gate>, cfg: &HttpConfig, principals: Vec<Principal>) -> Option<Approvers> {
        if cfg.approver_keys.is_empty() {
            return None;
        }
        crate::admin::open_for_answers(&gate);
        Some(Approvers {
            sessions: Sessions::new(gate.shared_state().cloned()),
            gate,
            keys: cfg.approver_keys.clone(),
            principals,
            tls: cfg.tls.is_some()
                || cfg
                    .public_url
                    .as_ref()
                    .is_some_and(|u| u.scheme() == "https"),
            origin: cfg
                .public_url
                .as_ref()
                .map(|u| u.origin().ascii_serialization()),
            hosts: cfg.allowed_hosts.clone(),
        })
    }

    /// The principal `key` belongs to. Every digest is compared, in
    /// constant time.
    fn approver(&self, key: &str) -> Option<String> {
        crate::auth::apikey::find_by_digest(key, &self.keys, |k| &k.sha256)
            .map(|k| k.principal.clone())
    }

    pub async fn handle(&self, req: Request<Incoming>, remote: SocketAddr) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let Some(route) = route(&parts.method, parts.uri.path()) else {
            return json_response(
                StatusCode::NOT_FOUND,
                &json!({"ok": false, "error": "nothing here: the approvers' page is /admin/, its API /admin/api/approvals"}),
            );
        };
        if let Err(r) = self.same_origin(&parts.headers) {
            return self.refuse(r, &parts, remote, None).await;
        }
        if matches!(route, Route::Style) {
            return respond_css();
        }
        let body = if parts.method == Method::POST {
            match super::read_body(body, MAX_BODY).await {
                Ok(b) => b,
                Err((status, message)) => {
                    let r = Refused::new(status, "body", message);
                    return self.refuse(r, &parts, remote, None).await;
                }
            }
        } else {
            bytes::Bytes::new()
        };
        match route {
            Route::ApiList | Route::ApiShow(_) | Route::ApiAnswer(..) => {
                self.api(route, &parts, &body, remote).await
            }
            _ => self.page(route, &parts, &body, remote).await,
        }
    }

    /// `Host` must be one this server answers to, and `Origin`, when a
    /// browser sends it, this server's own.
    fn same_origin(&self, headers: &http::HeaderMap) -> Result<(), Refused> {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        if !super::guard::host_allowed(host, &self.hosts) {
            return Err(Refused::new(
                StatusCode::FORBIDDEN,
                "host",
                format!("Host {host:?} is not one this server answers to ([http] allowed_hosts)"),
            ));
        }
        if let Some(origin) = headers.get(http::header::ORIGIN) {
            let own = self
                .origin
                .clone()
                .unwrap_or_else(|| format!("{}://{host}", if self.tls { "https" } else { "http" }));
            let origin = String::from_utf8_lossy(origin.as_bytes());
            if !origin.eq_ignore_ascii_case(&own) {
                return Err(Refused::new(
                    StatusCode::FORBIDDEN,
                    "origin",
                    format!(
                        "the approvers' page answers only its own origin ({own}), not {origin:?}"
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn refuse(
        &self,
        r: Refused,
        parts: &http::request::Parts,
        remote: SocketAddr,
        principal: Option<&str>,
    ) -> Response<Body> {
        super::audit_refusal(&self.gate, r.reason, &r.message, parts, remote, principal).await;
        json_response(r.status, &json!({"ok": false, "error": r.message}))
    }

    /// Audit a refusal and show it as a page.
    async fn refuse_page(
        &self,
        r: Refused,
        parts: &http::request::Parts,
        remote: SocketAddr,
        principal: Option<&str>,
        html: String,
    ) -> Response<Body> {
        super::audit_refusal(&self.gate, r.reason, &r.message, parts, remote, principal).await;
        html_response(r.status, html)
    }

    async fn api(
        &self,
        route: Route<'_>,
        parts: &http::request::Parts,
        body: &[u8],
        remote: SocketAddr,
    ) -> Response<Body> {
        let key = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let Some(approver) = key.and_then(|k| self.approver(k.trim())) else {
            let r = Refused::new(
                StatusCode::UNAUTHORIZED,
                "approver_unauthenticated",
                "the admin API needs an approver key as a bearer token ([[http.approver_keys]]; an MCP key is not one)",
            );
            return self.refuse(r, parts, remote, None).await;
        };
        match route {
            Route::ApiList => match self.gate.approvals().open_requests(SystemTime::now()).await {
                Ok(open) => json_response(StatusCode::OK, &json!({"ok": true, "approvals": open})),
                Err(e) => unavailable(&e),
            },
            Route::ApiShow(id) => match self.find(id).await {
                Err(e) => unavailable(&e),
                Ok(Some(r)) => json_response(StatusCode::OK, &json!({"ok": true, "approval": r})),
                Ok(None) => json_response(
                    StatusCode::NOT_FOUND,
                    &json!({"ok": false, "error": ApprovalError::Unknown(id.to_string()).to_string()}),
                ),
            },
            Route::ApiAnswer(id, approve) => {
                let reason = if body.iter().all(u8::is_ascii_whitespace) {
                    String::new()
                } else {
                    match serde_json::from_slice::<Value>(body) {
                        Ok(v) => v["reason"].as_str().unwrap_or_default().to_string(),
                        Err(e) => {
                            let r = Refused::new(
                                StatusCode::BAD_REQUEST,
                                "malformed_json",
                                format!("the body is not JSON ({e}); send {{\"reason\": \"...\"}}"),
                            );
                            return self.refuse(r, parts, remote, Some(&approver)).await;
                        }
                    }
                };
                let operator = format!("admin API from {remote}");
                match self
                    .answer(id, &approver, &reason, &operator, approve)
                    .await
                {
                    Ok(r) => json_response(StatusCode::OK, &json!({"ok": true, "approval": r})),
                    Err(e) => json_response(
                        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN),
                        &json!({"ok": false, "error": e.to_string()}),
                    ),
                }
            }
            _ => respond::internal(),
        }
    }

    /// Request `id`, if it is one the store could hold and does.
    async fn find(&self, id: &str) -> Result<Option<ApprovalRequest>, ApprovalError> {
        if !plausible_id(id) {
            return Ok(None);
        }
        self.gate.approvals().get(id).await
    }

    async fn answer(
        &self,
        id: &str,
        approver: &str,
        reason: &str,
        operator: &str,
        approve: bool,
    ) -> Result<ApprovalRequest, AnswerError> {
        if !plausible_id(id) {
            return Err(ApprovalError::Unknown(id.to_string()).into());
        }
        crate::admin::answer_approval(
            &self.gate,
            &self.principals,
            crate::admin::Answering {
                id,
                approver,
                reason,
                operator,
                approve,
                channel: crate::approval::AnswerChannel::ApproverKey,
            },
        )
        .await
    }

    fn cookie(headers: &http::HeaderMap) -> Option<&str> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
    }

    fn set_cookie(&self, value: &str, max_age: u64) -> String {
        format!(
            "{COOKIE}={value}; Path={ADMIN_PREFIX}; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
            if self.tls { "; Secure" } else { "" }
        )
    }

    async fn page(
        &self,
        route: Route<'_>,
        parts: &http::request::Parts,
        body: &[u8],
        remote: SocketAddr,
    ) -> Response<Body> {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        let now = Instant::now();
        if let Route::SignIn = route {
            return self.sign_in(field("key"), parts, remote, now).await;
        }
        let cookie = Self::cookie(&parts.headers);
        let session = match cookie {
            Some(c) => self.sessions.find(c, now).await,
            None => None,
        };
        let Some(session) = session else {
            if parts.method == Method::POST {
                let r = Refused::new(
                    StatusCode::UNAUTHORIZED,
                    "approver_unauthenticated",
                    "not signed in (or signed out after 15 minutes idle): sign in and answer again",
                );
                let html = page::sign_in(Some(&r.message));
                return self.refuse_page(r, parts, remote, None, html).await;
            }
            return html_response(StatusCode::OK, page::sign_in(None));
        };
        let who = session.principal.as_str();
        if parts.method == Method::POST && !session.csrf_ok(field("csrf")) {
            let r = Refused::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "this form did not come from this page (its anti-forgery token does not match): reload the page and answer again",
            );
            let html = page::sign_in(Some(&r.message));
            return self.refuse_page(r, parts, remote, Some(who), html).await;
        }
        match route {
            Route::Index => match self.gate.approvals().open_requests(SystemTime::now()).await {
                Ok(open) => html_response(StatusCode::OK, page::list(&open, who, &session.csrf)),
                Err(e) => html_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    page::trouble(&e.to_string(), who, &session.csrf),
                ),
            },
            Route::SignOut => {
                if let Some(c) = cookie {
                    self.sessions.end(c).await;
                }
                self.audit_session("signed_out", who, remote).await;
                redirect(&format!("{ADMIN_PREFIX}/"), Some(self.set_cookie("", 0)))
            }
            Route::Request(id) if parts.method == Method::GET => {
                let r = match self.find(id).await {
                    Ok(Some(r)) => r,
                    Ok(None) => {
                        return html_response(
                            StatusCode::NOT_FOUND,
                            page::not_found(id, who, &session.csrf),
                        )
                    }
                    Err(e) => {
                        return html_response(
                            StatusCode::SERVICE_UNAVAILABLE,
                            page::trouble(&e.to_string(), who, &session.csrf),
                        )
                    }
                };
                let flash = match parts.uri.query() {
                    Some("answered=approve") => Flash::Notice("You approved this request."),
                    Some("answered=deny") => Flash::Notice("You denied this request."),
                    _ => Flash::None,
                };
                html_response(StatusCode::OK, page::detail(&r, who, &session.csrf, flash))
            }
            Route::Request(id) => {
                let approve = match field("decision") {
                    "approve" => true,
                    "deny" => false,
                    other => {
                        let r = Refused::new(
                            StatusCode::BAD_REQUEST,
                            "bad_form",
                            format!("decision {other:?} is neither approve nor deny"),
                        );
                        return self.refuse(r, parts, remote, Some(who)).await;
                    }
                };
                let operator = format!("approvers' page from {remote}");
                match self
                    .answer(id, who, field("reason"), &operator, approve)
                    .await
                {
                    Ok(_) => redirect(
                        &format!(
                            "{ADMIN_PREFIX}/approvals/{id}?answered={}",
                            if approve { "approve" } else { "deny" }
                        ),
                        None,
                    ),
                    Err(e) => match self.find(id).await {
                        Ok(Some(r)) => html_response(
                            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN),
                            page::detail(&r, who, &session.csrf, Flash::Error(&e.to_string())),
                        ),
                        Ok(None) => html_response(
                            StatusCode::NOT_FOUND,
                            page::not_found(id, who, &session.csrf),
                        ),
                        Err(_) => html_response(
                            StatusCode::SERVICE_UNAVAILABLE,
                            page::trouble(&e.to_string(), who, &session.csrf),
                        ),
                    },
                }
            }
            _ => respond::internal(),
        }
    }

    async fn sign_in(
        &self,
        key: &str,
        parts: &http::request::Parts,
        remote: SocketAddr,
        now: Instant,
    ) -> Response<Body> {
        let Some(principal) = self.approver(key.trim()) else {
            let r = Refused::new(
                StatusCode::UNAUTHORIZED,
                "approver_unauthenticated",
                "that is not an approver key on this server",
            );
            let html = page::sign_in(Some(&r.message));
            return self.refuse_page(r, parts, remote, None, html).await;
        };
        // Signing in is recorded before it counts.
        if !self.audit_session("signed_in", &principal, remote).await {
            return html_response(
                StatusCode::SERVICE_UNAVAILABLE,
                page::sign_in(Some(
                    "the audit log cannot record a sign-in now; try again shortly",
                )),
            );
        }
        match self.sessions.start(&principal, now).await {
            Ok((cookie, _)) => redirect(
                &format!("{ADMIN_PREFIX}/"),
                Some(self.set_cookie(&cookie, sessions::MAX_AGE.as_secs())),
            ),
            Err(e) => html_response(StatusCode::SERVICE_UNAVAILABLE, page::sign_in(Some(&e))),
        }
    }

    /// Record a sign-in or sign-out; false if the log refused it.
    async fn audit_session(&self, event: &str, principal: &str, remote: SocketAddr) -> bool {
        let record = json!({
            "kind": "approver_session",
            "event": event,
            "principal": principal,
            "remote": remote.to_string(),
        });
        match self.gate.audit_event(&record).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, principal, event, "the audit log refused an approver session record");
                false
            }
        }
    }
}

/// The store could not be read: nothing is known, so nothing is shown.
fn unavailable(e: &ApprovalError) -> Response<Body> {
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({"ok": false, "error": e.to_string()}),
    )
}

fn secure_headers(b: http::response::Builder) -> http::response::Builder {
    b.header(http::header::CACHE_CONTROL, "no-store")
        .header(http::header::CONTENT_SECURITY_POLICY, CSP)
        .header(http::header::X_FRAME_OPTIONS, "DENY")
        .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        // Not `no-referrer`: under it browsers send `Origin: null` with the
        // page's own forms, which the same-origin check must refuse.
        .header(http::header::REFERRER_POLICY, "same-origin")
}

fn html_response(status: StatusCode, html: String) -> Response<Body> {
    secure_headers(Response::builder().status(status))
        .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(respond::full(html))
        .unwrap_or_else(|_| respond::internal())
}

fn respond_css() -> Response<Body> {
    secure_headers(Response::builder())
        .header(http::header::CONTENT_TYPE, "text/css; charset=utf-8")
        .body(respond::full(page::STYLE))
        .unwrap_or_else(|_| respond::internal())
}

/// After a form: see the result with a fresh GET (no resubmission).
fn redirect(to: &str, cookie: Option<String>) -> Response<Body> {
    let mut b = secure_headers(Response::builder().status(StatusCode::SEE_OTHER))
        .header(http::header::LOCATION, to);
    if let Some(c) = cookie {
        b = b.header(http::header::SET_COOKIE, c);
    }
    b.body(respond::full(""))
        .unwrap_or_else(|_| respond::internal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_exact() {
        let is =
            |m: Method, p: &str, want: fn(&Route) -> bool| route(&m, p).is_some_and(|r| want(&r));
        assert!(is(Method::GET, "/admin/", |r| matches!(r, Route::Index)));
        assert!(is(Method::GET, "/admin", |r| matches!(r, Route::Index)));
        assert!(route(&Method::POST, "/admin/").is_none());
        assert!(route(&Method::GET, "/admin/login").is_none());
        assert!(is(Method::POST, "/admin/login", |r| matches!(
            r,
            Route::SignIn
        )));
        assert!(matches!(
            route(&Method::POST, "/admin/api/approvals/apr-1/approve"),
            Some(Route::ApiAnswer("apr-1", true))
        ));
        assert!(matches!(
            route(&Method::POST, "/admin/api/approvals/apr-1/deny"),
            Some(Route::ApiAnswer("apr-1", false))
        ));
        assert!(route(&Method::GET, "/admin/api/approvals/apr-1/approve").is_none());
        assert!(route(&Method::POST, "/admin/api/approvals/apr-1/other").is_none());
        assert!(matches!(
            route(&Method::GET, "/admin/api/approvals/apr-1"),
            Some(Route::ApiShow("apr-1"))
        ));
        assert!(route(&Method::GET, "/administrator").is_none());
        assert!(!plausible_id("apr-1/../x") && !plausible_id("") && plausible_id("apr-0a1b"));
    }

    fn approvers(tls: bool, origin: Option<&str>) -> Approvers {
        Approvers {
            gate: Arc::new(crate::testing::GateBuilder::new().build()),
            keys: Vec::new(),
            principals: Vec::new(),
            sessions: Sessions::default(),
            tls,
            origin: origin.map(str::to_string),
            hosts: vec!["mcp.example.org".into(), "127.0.0.1".into()],
        }
    }

    fn headers(host: &str, origin: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::HOST, host.parse().unwrap());
        h.insert(http::header::ORIGIN, origin.parse().unwrap());
        h
    }

    /// Behind a proxy that terminates TLS, the page's own origin is the
    /// public URL's, not what the listener itself speaks.
    #[test]
    fn forms_come_from_the_page_s_own_origin_only() {
        let direct = approvers(false, None);
        assert!(direct
            .same_origin(&headers("127.0.0.1:8080", "http://127.0.0.1:8080"))
            .is_ok());
        assert!(direct
            .same_origin(&headers("127.0.0.1:8080", "https://evil.example"))
            .is_err());
        assert!(direct
            .same_origin(&headers("evil.example", "http://evil.example"))
            .is_err());
        let proxied = approvers(true, Some("https://mcp.example.org"));
        assert!(proxied
            .same_origin(&headers("mcp.example.org", "https://mcp.example.org"))
            .is_ok());
        let err = proxied
            .same_origin(&headers("mcp.example.org", "http://mcp.example.org"))
            .err()
            .unwrap();
        assert_eq!(err.reason, "origin");
        assert!(proxied.set_cookie("x", 1).contains("; Secure"));
        assert!(!direct.set_cookie("x", 1).contains("Secure"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = http::HeaderMap::new();
        h.append(
            http::header::COOKIE,
            "a=1; portcullis_approverx=2".parse().unwrap(),
        );
        assert_eq!(Approvers::cookie(&h), None);
        h.append(
            http::header::COOKIE,
            "b=2;  portcullis_approver=abc".parse().unwrap(),
        );
        assert_eq!(Approvers::cookie(&h), Some("abc"));
    }
}
