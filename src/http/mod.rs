//! MCP over Streamable HTTP for shared deployments.
//!
//! One hyper listener (TLS optional) in front of rmcp's Streamable HTTP
//! service. Every request to the MCP endpoint passes, in order: the
//! `Host`/`Origin` guard, authentication (API key, bearer JWT or client
//! certificate), the session-owner check, and a bounded body read. Only
//! then does rmcp see it, with the principal in the request's extensions.
//! Every refusal is audited and counted.

mod approvers;
pub mod guard;
mod respond;
mod sessions;
mod streams;
pub mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::{AuthError, Authenticator};
use crate::config::HttpConfig;
use crate::gate::Gate;
use crate::principal::Principal;
use crate::server::{Authenticated, Pending, PortcullisServer};
use respond::{json_response, Body};
use sessions::{Ownership, SessionLimits, SessionOwners, SessionRefused};
use streams::{StreamRefused, Streams};

/// A request body must arrive within this long once the headers are in.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request head (request line and headers) a connection may send.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The session id header of Streamable HTTP.
const SESSION_HEADER: &str = "mcp-session-id";

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("HTTP setup: {0}")]
    Setup(String),
}

type Mcp = StreamableHttpService<PortcullisServer, LocalSessionManager>;

struct State {
    gate: Arc<Gate>,
    cfg: HttpConfig,
    auth: Authenticator,
    /// `[[principals]]`: groups for certificate subjects.
    principals: Vec<Principal>,
    sessions: SessionOwners,
    streams: Streams,
    mcp: Mcp,
    metadata_path: String,
    /// The configured public URL, or the bound address.
    public_url: url::Url,
    /// `/admin`, when approver keys are configured.
    approvers: Option<approvers::Approvers>,
}

/// A running listener.
pub struct Listener {
    pub local_addr: SocketAddr,
    /// The MCP endpoint as reached on the bound address.
    pub url: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Listener {
    /// Stop accepting, close MCP sessions, and wait for the accept loop.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Bind and start serving. The returned listener runs until shut down.
pub async fn start(
    gate: Arc<Gate>,
    cfg: HttpConfig,
    principals: Vec<Principal>,
) -> Result<Listener, HttpError> {
    let tls = cfg.tls.as_ref().map(tls::server_config).transpose()?;
    let auth = Authenticator::new(&cfg).map_err(HttpError::Setup)?;
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| HttpError::Bind {
            addr: cfg.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| HttpError::Bind {
        addr: cfg.listen,
        source,
    })?;
    let shutdown = CancellationToken::new();
    let mut mcp_config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(cfg.allowed_hosts.clone())
        .with_allowed_origins(cfg.allowed_origins.clone());
    // Our guard has checked Host and Origin already; the library checks
    // again (defence in depth) except where our rule is wider than its
    // exact list: loopback origins on a loopback listener.
    if !cfg.loopback_origins {
        mcp_config = mcp_config.enforce_origin_validation();
    }
    let mcp_config = mcp_config
        .with_legacy_session_mode(!cfg.stateless)
        .with_max_request_body_bytes(cfg.max_body_bytes)
        .with_cancellation_token(shutdown.child_token());
    let pending = Arc::new(Pending::default());
    let tasks = Arc::new(crate::server::Tasks::default());
    let factory_gate = gate.clone();
    let mcp = StreamableHttpService::new(
        move || {
            Ok(PortcullisServer::http(
                factory_gate.clone(),
                pending.clone(),
                tasks.clone(),
            ))
        },
        Arc::new(LocalSessionManager::default()),
        mcp_config,
    );
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{local_addr}{}", cfg.path);
    let public_url = match &cfg.public_url {
        Some(u) => u.clone(),
        None => url::Url::parse(&url).map_err(|e| HttpError::Setup(e.to_string()))?,
    };
    let metadata_path = format!("/.well-known/oauth-protected-resource{}", cfg.path);
    if let Some(t) = &tls {
        tls::watch(t.cert.clone(), gate.metrics().clone());
    }
    let approvers = approvers::Approvers::new(gate.clone(), &cfg, principals.clone());
    let state = Arc::new(State {
        approvers,
        gate,
        auth,
        principals,
        sessions: SessionOwners::new(SessionLimits {
            total: cfg.max_sessions,
            per_principal: cfg.max_sessions_per_principal,
        }),
        streams: Streams::new(
            cfg.max_streams_per_principal,
            mcp_connections(cfg.max_connections),
        ),
        mcp,
        metadata_path,
        public_url,
        cfg,
    });
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config));
    let stop = shutdown.clone();
    let task = tokio::spawn(accept_loop(listener, acceptor, state, stop));
    Ok(Listener {
        local_addr,
        url,
        shutdown,
        task,
    })
}

/// How many connections MCP responses may hold: all but a few, which stay
/// free for `/healthz`, `/readyz` and `/metrics` when MCP is saturated.
fn mcp_connections(max_connections: usize) -> usize {
    let reserve = (max_connections / 8).clamp(1, 32);
    max_connections.saturating_sub(reserve).max(1)
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<State>,
    stop: CancellationToken,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(state.cfg.max_connections));
    loop {
        // Backpressure: at the connection limit, stop accepting until one closes.
        let permit = tokio::select! {
            _ = stop.cancelled() => return,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let (tcp, remote) = tokio::select! {
            _ = stop.cancelled() => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let (state, acceptor, stop) = (state.clone(), acceptor.clone(), stop.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match acceptor {
                None => serve_connection(tcp, remote, None, state, stop).await,
                Some(a) => {
                    let handshake = tokio::time::timeout(state.cfg.header_timeout, a.accept(tcp));
                    let tls = match handshake.await {
                        Ok(Ok(t)) => t,
                        Ok(Err(e)) => {
                            tracing::debug!(%remote, error = %e, "TLS handshake failed");
                            state.gate.metrics().http_refused("tls_handshake");
                            return;
                        }
                        Err(_) => {
                            state.gate.metrics().http_refused("tls_handshake_timeout");
                            return;
                        }
                    };
                    let cert = client_certificate(&tls, &state.principals, remote);
                    serve_connection(tls, remote, cert, state, stop).await;
                }
            }
        });
    }
}

/// The principal of a verified client certificate, if one was presented.
fn client_certificate(
    tls: &tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    principals: &[Principal],
    remote: SocketAddr,
) -> Option<Principal> {
    let der = tls.get_ref().1.peer_certificates()?.first()?;
    match crate::auth::mtls::principal(der, principals) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(%remote, error = %e, "client certificate verified but unusable as an identity");
            None
        }
    }
}

async fn serve_connection<I>(
    io: I,
    remote: SocketAddr,
    cert: Option<Principal>,
    state: Arc<State>,
    stop: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cert = Arc::new(cert);
    let header_timeout = state.cfg.header_timeout;
    let svc = hyper::service::service_fn(move |req| {
        let (state, cert) = (state.clone(), cert.clone());
        async move { Ok::<_, Infallible>(route(&state, req, remote, cert.as_ref().as_ref()).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Some(header_timeout))
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%remote, error = %e, "HTTP connection ended with an error");
            }
        }
        _ = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
}

async fn route(
    state: &State,
    req: Request<Incoming>,
    remote: SocketAddr,
    cert: Option<&Principal>,
) -> Response<Body> {
    let path = req.uri().path();
    match (req.method(), path) {
        (&Method::GET, "/healthz") => json_response(StatusCode::OK, &json!({"status": "ok"})),
        (&Method::GET, "/readyz") => readiness(state),
        (&Method::GET, "/metrics") => metrics(state, &req, cert).await,
        (&Method::GET, p)
            if p == "/.well-known/oauth-protected-resource" || p == state.metadata_path =>
        {
            resource_metadata(state)
        }
        (_, p) if p == state.cfg.path => mcp(state, req, remote, cert).await,
        (_, p)
            if p == crate::config::ADMIN_PREFIX
                || p.starts_with(&format!("{}/", crate::config::ADMIN_PREFIX)) =>
        {
            match &state.approvers {
                Some(a) => a.handle(req, remote).await,
                None => json_response(
                    StatusCode::NOT_FOUND,
                    &json!({"error": "no approvers' page on this server: [[http.approver_keys]] is not configured"}),
                ),
            }
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("nothing here; MCP is served at {}", state.cfg.path)}),
        ),
    }
}

/// The gate's counters, and the archive's figures when one is configured.
fn metrics_text(gate: &crate::gate::Gate) -> String {
    let mut text = gate.metrics().render();
    if let Some(a) = gate.archive_status() {
        use std::sync::atomic::Ordering::Relaxed;
        let gauge = |name: &str, help: &str, kind: &str, v: u64| {
            format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n")
        };
        text.push_str(&gauge(
            "portcullis_archive_pending",
            "Sealed audit files not archived yet.",
            "gauge",
            a.pending.load(Relaxed),
        ));
        text.push_str(&gauge(
            "portcullis_archive_lag_seconds",
            "Age of the oldest sealed audit file not archived yet.",
            "gauge",
            a.lag_seconds.load(Relaxed),
        ));
        text.push_str(&gauge(
            "portcullis_archive_uploaded_total",
            "Audit files archived under Object Lock.",
            "counter",
            a.uploaded.load(Relaxed),
        ));
        text.push_str(&gauge(
            "portcullis_archive_failures_total",
            "Archive passes that failed (retried with backoff).",
            "counter",
            a.failures.load(Relaxed),
        ));
    }
    text
}

fn readiness(state: &State) -> Response<Body> {
    let policies = state.gate.policies().len();
    let audit = state.gate.audit_writable();
    let archive = state.gate.archive_ok();
    let ready = audit && archive != Some(false);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = json!({"ready": ready, "policies": policies, "audit_writable": audit});
    if let Some(ok) = archive {
        body["archive_ok"] = json!(ok);
    }
    json_response(status, &body)
}

/// The `Authorization` header. One that is not valid text is passed on as
/// a value that cannot parse, so it is refused rather than ignored.
fn authorization(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"))
}

async fn metrics(
    state: &State,
    req: &Request<Incoming>,
    cert: Option<&Principal>,
) -> Response<Body> {
    let authorization = authorization(req.headers());
    if !state
        .auth
        .metrics_allowed(&state.cfg.metrics, authorization, cert)
        .await
    {
        state.gate.metrics().http_refused("metrics_unauthenticated");
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "/metrics needs credentials (see [http.metrics] access)"}),
        );
    }
    Response::builder()
        .header(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")
        .body(respond::full(metrics_text(&state.gate)))
        .unwrap_or_else(|_| respond::internal())
}

/// RFC 9728 protected-resource metadata: where clients get tokens for us.
fn resource_metadata(state: &State) -> Response<Body> {
    let Some(oauth) = state.auth.oauth() else {
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "this server does not accept OAuth tokens"}),
        );
    };
    json_response(
        StatusCode::OK,
        &json!({
            "resource": state.public_url.as_str(),
            "authorization_servers": oauth.authorization_servers,
            "bearer_methods_supported": ["header"],
            "resource_name": "Portcullis",
        }),
    )
}

impl State {
    fn metadata_url(&self) -> String {
        let mut u = self.public_url.clone();
        u.set_path(&self.metadata_path);
        u.set_query(None);
        u.to_string()
    }

    /// Audit a refused HTTP request and count it.
    async fn refuse(
        &self,
        reason: &str,
        detail: &str,
        req: &http::request::Parts,
        remote: SocketAddr,
        principal: Option<&str>,
    ) {
        audit_refusal(&self.gate, reason, detail, req, remote, principal).await;
    }

    fn challenge(&self, err: Option<&AuthError>) -> String {
        respond::www_authenticate(
            self.auth.oauth().map(|_| self.metadata_url()).as_deref(),
            err,
        )
    }
}

/// Audit a refused HTTP request and count it.
async fn audit_refusal(
    gate: &Gate,
    reason: &str,
    detail: &str,
    req: &http::request::Parts,
    remote: SocketAddr,
    principal: Option<&str>,
) {
    gate.metrics().http_refused(reason);
    let record = crate::gate::records::http_refused(
        reason,
        detail,
        remote,
        req.method.as_str(),
        req.uri.path(),
        principal,
    );
    if let Err(e) = gate.audit_event(&record).await {
        tracing::error!(error = %e, "audit write failed for a refused HTTP request");
    }
}

async fn mcp(
    state: &State,
    req: Request<Incoming>,
    remote: SocketAddr,
    cert: Option<&Principal>,
) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    let origins = guard::Origins {
        listed: &state.cfg.allowed_origins,
        loopback: state.cfg.loopback_origins,
    };
    if let Err(refused) = guard::check(&parts.headers, &state.cfg.allowed_hosts, origins) {
        let message = refused.message();
        state
            .refuse(refused.reason(), &message, &parts, remote, None)
            .await;
        return respond::jsonrpc_error(StatusCode::FORBIDDEN, &message, None);
    }
    let authorization = authorization(&parts.headers);
    let identity = match state.auth.authenticate(authorization, cert).await {
        Ok(i) => i,
        Err(e) => {
            let detail = format!("{}: {e}", e.kind());
            state
                .refuse("unauthenticated", &detail, &parts, remote, None)
                .await;
            return respond::jsonrpc_error(
                StatusCode::UNAUTHORIZED,
                &e.to_string(),
                Some(state.challenge(Some(&e))),
            );
        }
    };
    let principal = identity.principal.id.clone();
    let presented = parts
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(session) = &presented {
        let mut ownership = state.sessions.check(session, &principal, Instant::now());
        let mut elsewhere = false;
        if ownership == Ownership::Unknown {
            if let Some(owner) = shared_owner(&state.gate, session).await {
                elsewhere = true;
                if owner != principal {
                    ownership = Ownership::Other;
                }
            }
        } else if ownership == Ownership::Owner {
            publish_owner(state, session, &principal);
        }
        match ownership {
            Ownership::Owner => {}
            Ownership::Other => {
                let message = "this MCP session belongs to another principal";
                state
                    .refuse("session_owner", message, &parts, remote, Some(&principal))
                    .await;
                return respond::jsonrpc_error(StatusCode::FORBIDDEN, message, None);
            }
            // Opened on another replica by this principal: sessions do not
            // move between replicas.
            Ownership::Unknown if elsewhere => {
                return respond::jsonrpc_error(
                    StatusCode::NOT_FOUND,
                    "this session is held by another replica: initialize a new session here, and route \
                     each session to one replica (sticky sessions) or run the replicas with stateless = true",
                    None,
                )
            }
            // Expired or never ours: the client must initialize again (404
            // is what the transport specification prescribes).
            Ownership::Unknown => {
                return respond::jsonrpc_error(
                    StatusCode::NOT_FOUND,
                    "session not found or expired: initialize a new session",
                    None,
                )
            }
        }
    }
    // Each response in flight holds a connection: bounded per principal,
    // and in all below the connection limit.
    let slot = match state.streams.open(&principal) {
        Ok(s) => s,
        Err(refused) => {
            let (status, reason, message) = match refused {
                StreamRefused::PrincipalFull(n) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "stream_limit",
                    format!("{principal} already has {n} MCP requests or event streams open ([http] max_streams_per_principal); close one or wait for one to finish"),
                ),
                StreamRefused::ServerFull(n) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server_busy",
                    format!("the server has {n} MCP requests or event streams open, its limit; retry shortly"),
                ),
            };
            state
                .refuse(reason, &message, &parts, remote, Some(&principal))
                .await;
            return respond::jsonrpc_error(status, &message, None);
        }
    };
    let bytes = match read_body(body, state.cfg.max_body_bytes).await {
        Ok(b) => b,
        Err((status, message)) => {
            state
                .refuse("body", &message, &parts, remote, Some(&principal))
                .await;
            return respond::jsonrpc_error(status, &message, None);
        }
    };
    if parts.method == Method::POST {
        if let Err((code, reason, message)) = json_rpc_shape(&bytes) {
            state
                .refuse(reason, &message, &parts, remote, Some(&principal))
                .await;
            return respond::jsonrpc_error_code(StatusCode::BAD_REQUEST, code, &message, None);
        }
    }
    // A POST without a session may open one: it must fit the limits first.
    let opening = presented.is_none() && !state.cfg.stateless && parts.method == Method::POST;
    let mut reservation = None;
    if opening {
        match state.sessions.reserve(&principal, Instant::now()) {
            Ok(r) => reservation = Some(r),
            Err(refused) => {
                let (status, reason, message) = match refused {
                SessionRefused::PrincipalFull(n) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "session_limit",
                    format!("{principal} already has {n} MCP sessions open ([http] max_sessions_per_principal); close one (HTTP DELETE) or let one expire"),
                ),
                SessionRefused::ServerFull(n) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server_sessions_full",
                    format!("the server holds {n} MCP sessions, its limit ([http] max_sessions); retry later"),
                ),
            };
                state
                    .refuse(reason, &message, &parts, remote, Some(&principal))
                    .await;
                return respond::jsonrpc_error(status, &message, None);
            }
        }
    }
    let deleting = parts.method == Method::DELETE;
    parts.extensions.insert(Authenticated {
        principal: identity.principal,
        method: identity.method,
    });
    let response = state
        .mcp
        .handle(Request::from_parts(parts, Full::new(bytes)))
        .await;
    match &presented {
        Some(s) if deleting && response.status().is_success() => {
            state.sessions.forget(s);
            forget_owner(&state.gate, s);
        }
        // The MCP library no longer has it (closed when idle).
        Some(s) if response.status() == StatusCode::NOT_FOUND => state.sessions.forget(s),
        Some(_) => {}
        None => {
            if let Some(r) = reservation {
                let id = response
                    .headers()
                    .get(SESSION_HEADER)
                    .and_then(|v| v.to_str().ok());
                r.opened(id, Instant::now());
                if let Some(id) = id {
                    publish_owner(state, id, &principal);
                }
            }
        }
    }
    let (head, body) = response.into_parts();
    Response::from_parts(head, streams::hold(body, slot))
}

/// Where replicas share state, who owns each MCP session: a session id
/// presented to another replica by anyone but its owner is refused there
/// too. Kept under the id's digest, for as long as a session may idle.
fn owner_key(redis: &crate::state::Redis, session: &str) -> String {
    redis.key(&["session", &crate::util::sha256_hex(session.as_bytes())])
}

fn publish_owner(state: &State, session: &str, principal: &str) {
    let Some(redis) = state.gate.shared_state().cloned() else {
        return;
    };
    // Its key outlives a quarter of the idle time, so a publication that
    // often keeps it; more would add a Redis write to every request.
    if !state.sessions.publish_due(session, Instant::now()) {
        return;
    }
    let (key, principal) = (owner_key(&redis, session), principal.to_string());
    let ttl = sessions::IDLE.as_secs().max(1).to_string();
    tokio::spawn(async move {
        if let Err(e) = redis
            .cmd(&[
                b"SET",
                key.as_bytes(),
                principal.as_bytes(),
                b"EX",
                ttl.as_bytes(),
            ])
            .await
        {
            tracing::warn!(error = %e, "cannot share an MCP session's owner");
        }
    });
}

fn forget_owner(gate: &Gate, session: &str) {
    let Some(redis) = gate.shared_state().cloned() else {
        return;
    };
    let key = owner_key(&redis, session);
    tokio::spawn(async move {
        let _ = redis.cmd(&[b"DEL", key.as_bytes()]).await;
    });
}

/// The owner another replica recorded for `session`, if any.
async fn shared_owner(gate: &Gate, session: &str) -> Option<String> {
    let redis = gate.shared_state()?;
    match redis
        .cmd(&[b"GET", owner_key(redis, session).as_bytes()])
        .await
    {
        Ok(reply) => reply.text(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read an MCP session's owner from the shared store");
            None
        }
    }
}

/// A POST body must be one JSON-RPC message: JSON, and not a batch (MCP
/// removed batching). Anything else is answered here, as JSON-RPC says.
fn json_rpc_shape(bytes: &[u8]) -> Result<(), (i64, &'static str, String)> {
    match serde_json::from_slice::<Value>(bytes) {
        Err(e) => Err((
            respond::PARSE_ERROR,
            "malformed_json",
            format!("the request body is not JSON ({e}); send one JSON-RPC message"),
        )),
        Ok(Value::Array(_)) => Err((
            respond::INVALID_REQUEST,
            "batch",
            "JSON-RPC batches are not accepted (MCP does not use them); send one message per request".into(),
        )),
        Ok(Value::Object(_)) => Ok(()),
        Ok(_) => Err((
            respond::INVALID_REQUEST,
            "not_a_message",
            "the request body is not a JSON-RPC message (a JSON object)".into(),
        )),
    }
}

/// The whole body, bounded in size and time.
async fn read_body(body: Incoming, max: usize) -> Result<Bytes, (StatusCode, String)> {
    match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, max).collect()).await {
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not received within {} s",
                BODY_TIMEOUT.as_secs()
            ),
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {max} bytes ([http] max_body_bytes)"),
        )),
        Ok(Err(e)) => Err((StatusCode::BAD_REQUEST, format!("request body: {e}"))),
        Ok(Ok(c)) => Ok(c.to_bytes()),
    }
}
