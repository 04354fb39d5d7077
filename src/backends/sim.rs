//! What every in-process simulator shares: an HTTPS server on loopback
//! with its own self-signed certificate, a bounded log of the requests it
//! received, and faults tests inject into the next requests. Each
//! backend's simulator supplies only the handler that speaks its API.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Request, Response, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;

/// An injected failure for the next request(s).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status and the simulator's error body.
    Status(u16),
    /// Answer 200 with HTML instead of the API's JSON.
    Garbage,
    /// Wait this long before answering.
    Hang(Duration),
    /// Drop the connection.
    Reset,
}

/// One request, as a simulator's handler sees it.
pub struct SimRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A handler's answer: a status and a JSON body (`None`: empty).
pub struct SimResponse {
    pub status: StatusCode,
    pub body: Option<Value>,
}

impl SimResponse {
    pub fn json(status: StatusCode, body: Value) -> SimResponse {
        SimResponse {
            status,
            body: Some(body),
        }
    }

    pub fn empty(status: StatusCode) -> SimResponse {
        SimResponse { status, body: None }
    }
}

/// The largest request body a simulator reads.
const MAX_BODY: usize = 1 << 20;

/// The most requests a simulator remembers (a long-running lab must not grow).
const REQUEST_LOG: usize = 10_000;

#[derive(Default)]
struct Shared {
    requests: VecDeque<(String, String)>,
    faults: Vec<Fault>,
}

pub type Handler = Arc<dyn Fn(SimRequest) -> SimResponse + Send + Sync>;

/// A running HTTPS simulator; dropping it stops it.
pub struct HttpsSim {
    pub url: String,
    pub ca_pem: Vec<u8>,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

fn tls_config() -> Result<(Arc<rustls::ServerConfig>, Vec<u8>), String> {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .map_err(|e| e.to_string())?;
    let pem = cert.cert.pem().into_bytes();
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
        .map_err(|e| e.to_string())?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(vec![der], key)
    .map_err(|e| e.to_string())?;
    Ok((Arc::new(config), pem))
}

fn respond(r: SimResponse) -> Response<Full<Bytes>> {
    let body = r.body.map(|v| v.to_string()).unwrap_or_default();
    let mut out = Response::new(Full::new(Bytes::from(body)));
    *out.status_mut() = r.status;
    out.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    out
}

async fn serve_one(
    shared: Arc<Mutex<Shared>>,
    handler: Handler,
    fault_body: Value,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers = req.headers().clone();
    // Simulators take small JSON bodies; a larger one is refused unread.
    let body = match http_body_util::Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(respond(SimResponse::json(
                StatusCode::PAYLOAD_TOO_LARGE,
                fault_body,
            )))
        }
    };
    let fault = {
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        if s.requests.len() == REQUEST_LOG {
            s.requests.pop_front();
        }
        s.requests.push_back((method.clone(), path.clone()));
        (!s.faults.is_empty()).then(|| s.faults.remove(0))
    };
    match fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(respond(SimResponse::json(status, fault_body)));
        }
        Some(Fault::Garbage) => {
            return Ok(Response::new(Full::new(Bytes::from_static(
                b"<html>502 Bad Gateway</html>",
            ))))
        }
        Some(Fault::Hang(d)) => tokio::time::sleep(d).await,
        Some(Fault::Reset) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected reset",
            ))
        }
        None => {}
    }
    Ok(respond(handler(SimRequest {
        method,
        path,
        query,
        headers,
        body,
    })))
}

impl HttpsSim {
    /// Serve `handler` on an ephemeral loopback port. An injected
    /// [`Fault::Status`] answers with `fault_body`.
    pub async fn start(handler: Handler, fault_body: Value) -> Result<HttpsSim, String> {
        let (tls, ca_pem) = tls_config()?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let sh = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    // Out of descriptors, say: back off rather than spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let (acceptor, sh, handler, fault_body) = (
                    acceptor.clone(),
                    sh.clone(),
                    handler.clone(),
                    fault_body.clone(),
                );
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(move |req| {
                        serve_one(sh.clone(), handler.clone(), fault_body.clone(), req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        Ok(HttpsSim {
            url: format!("https://127.0.0.1:{port}"),
            ca_pem,
            shared,
            task,
        })
    }

    /// An endpoint that reaches this simulator through the real client:
    /// its certificate trusted, verification on, the default of its backend.
    pub fn endpoint(
        &self,
        name: &str,
        backend: crate::backends::BackendKind,
        credentials: crate::config::Credentials,
    ) -> Result<crate::config::Endpoint, String> {
        Ok(crate::config::Endpoint {
            name: name.into(),
            backend,
            url: url::Url::parse(&self.url).map_err(|e| e.to_string())?,
            credentials,
            tls_verify: true,
            ca_pem: Some(self.ca_pem.clone()),
            timeout: Duration::from_secs(10),
            default: true,
            settings: Arc::new(crate::config::NoSettings),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Shared) -> T) -> T {
        f(&mut self.shared.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every (method, path) received, oldest first.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.with(|s| s.requests.iter().cloned().collect())
    }

    /// Fail the next request(s) in the given ways, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.with(|s| s.faults.extend(faults));
    }
}

impl Drop for HttpsSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}
