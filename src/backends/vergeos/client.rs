//! The VergeOS HTTP client: authentication (a session token logged in for,
//! renewed once when the API says it expired, revoked at shutdown; or a
//! pre-issued API token) and VergeOS's error shapes.

use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION, COOKIE};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::backends::{http, shorten, status_error, transport_error, BackendError};
use crate::config::{Credentials, Endpoint};

enum Auth {
    /// Log in with these, and send the session token as the `token` cookie.
    Login {
        user: String,
        password: SecretString,
        session: Mutex<Option<SecretString>>,
        /// Every token this client was handed, to scrub from answers
        /// whatever the session lock is doing (at most a few per run).
        issued: std::sync::Mutex<Vec<SecretString>>,
    },
    /// A pre-issued API token, sent as a bearer token (as the official
    /// SDK sends one); it cannot be renewed.
    ApiToken(SecretString),
}

pub struct VergeClient {
    pub(super) name: String,
    base: String,
    http: reqwest::Client,
    auth: Auth,
    timeout: Duration,
}

/// VergeOS's error wording: `err`, `error` or `message`, a string or an
/// object with a `message`; not yet shortened (secrets are scrubbed from
/// the whole text first, so none is cut in half).
fn error_message(status: reqwest::StatusCode, body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let found = parsed.as_ref().and_then(|v| {
        ["err", "error", "message"]
            .iter()
            .find_map(|k| match v.get(*k)? {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Object(o) => o.get("message")?.as_str().map(str::to_string),
                _ => None,
            })
    });
    found.unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("no reason given")
            .to_string()
    })
}

/// A session token VergeOS handed out, checked before it goes anywhere
/// (a header, a URL path): a misbehaving server cannot inject through it.
fn plausible_token(t: &str) -> bool {
    !t.is_empty() && t.len() <= 256 && t.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl VergeClient {
    pub fn new(ep: &Endpoint) -> Result<VergeClient, BackendError> {
        let auth = match &ep.credentials {
            Credentials::UserPassword { user, password } => Auth::Login {
                user: user.clone(),
                password: password.clone(),
                session: Mutex::new(None),
                issued: std::sync::Mutex::new(Vec::new()),
            },
            Credentials::ApiToken { secret, .. } => Auth::ApiToken(secret.clone()),
            Credentials::AccessKey { .. } => {
                return Err(BackendError::Setup {
                    endpoint: ep.name.clone(),
                    detail: "VergeOS takes a user and password or an API token, not an access key"
                        .into(),
                })
            }
        };
        Ok(VergeClient {
            name: ep.name.clone(),
            base: ep.url.as_str().trim_end_matches('/').to_string(),
            http: http::client(ep)?,
            auth,
            timeout: ep.timeout,
        })
    }

    fn setup_error(&self, detail: &str) -> BackendError {
        BackendError::Setup {
            endpoint: self.name.clone(),
            detail: detail.into(),
        }
    }

    /// The secrets an answer must not carry: the password or API token,
    /// and every session token handed out.
    fn secrets(&self) -> Vec<SecretString> {
        match &self.auth {
            Auth::ApiToken(t) => vec![t.clone()],
            Auth::Login {
                password, issued, ..
            } => {
                let mut all = vec![password.clone()];
                all.extend(
                    issued
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .iter()
                        .cloned(),
                );
                all
            }
        }
    }

    /// Backend text without secrets, then shortened.
    pub(super) fn scrub(&self, s: String) -> String {
        shorten(
            self.secrets()
                .iter()
                .fold(s, |s, secret| crate::backends::scrub(secret, s)),
        )
    }

    /// A backend answer without secrets.
    pub(super) fn scrub_value(&self, v: &mut Value) {
        for secret in self.secrets() {
            crate::backends::scrub_value(&secret, v);
        }
    }

    /// `POST /api/sys/tokens` with basic auth: a new session token.
    async fn login(
        &self,
        user: &str,
        password: &SecretString,
    ) -> Result<SecretString, BackendError> {
        let resp = self
            .http
            .post(format!("{}/api/sys/tokens", self.base))
            .basic_auth(user, Some(password.expose_secret()))
            .json(&json!({"login": user, "password": password.expose_secret()}))
            .send()
            .await
            .map_err(|e| transport_error(&self.name, self.timeout, e))?;
        let status = resp.status();
        let body = http::read_body(&self.name, self.timeout, resp).await?;
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(BackendError::LoginFailed {
                endpoint: self.name.clone(),
            });
        }
        if !status.is_success() {
            let message = self.scrub(error_message(status, &body));
            return Err(status_error(self.name.clone(), status.as_u16(), message));
        }
        let key = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("$key").and_then(Value::as_str).map(str::to_string));
        match key {
            Some(k) if plausible_token(&k) => Ok(SecretString::from(k)),
            _ => Err(BackendError::Garbage {
                endpoint: self.name.clone(),
                detail: "the token endpoint answered without a usable \"$key\"".into(),
            }),
        }
    }

    /// The credential header for the next request, logging in if needed.
    async fn credential(
        &self,
    ) -> Result<
        (
            reqwest::header::HeaderName,
            HeaderValue,
            Option<SecretString>,
        ),
        BackendError,
    > {
        let (name, text, session) = match &self.auth {
            Auth::ApiToken(t) => (AUTHORIZATION, format!("Bearer {}", t.expose_secret()), None),
            Auth::Login {
                user,
                password,
                session,
                issued,
            } => {
                let mut current = session.lock().await;
                let token = match &*current {
                    Some(t) => t.clone(),
                    None => {
                        let t = self.login(user, password).await?;
                        let mut all = issued.lock().unwrap_or_else(|p| p.into_inner());
                        // Older tokens are long dead; a bounded list.
                        if all.len() == 16 {
                            all.remove(0);
                        }
                        all.push(t.clone());
                        drop(all);
                        *current = Some(t.clone());
                        t
                    }
                };
                (
                    COOKIE,
                    format!("token={}", token.expose_secret()),
                    Some(token),
                )
            }
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            self.setup_error("the API token has characters not allowed in a header")
        })?;
        value.set_sensitive(true);
        Ok((name, value, session))
    }

    /// Forget a session token the API refused, unless another request
    /// already replaced it.
    async fn forget(&self, refused: &SecretString) {
        if let Auth::Login { session, .. } = &self.auth {
            let mut current = session.lock().await;
            if current
                .as_ref()
                .is_some_and(|t| t.expose_secret() == refused.expose_secret())
            {
                *current = None;
            }
        }
    }

    /// One API request, `path` under `/api/v4/`. A session token the API
    /// refuses (expired, revoked) is renewed once and the request sent
    /// again: a 401 means it was not carried out.
    pub(super) async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, BackendError> {
        let mut renewed = false;
        loop {
            let (header, value, session) = self.credential().await?;
            let mut req = self
                .http
                .request(method.clone(), format!("{}/api/v4/{path}", self.base))
                .header(header, value)
                .query(query);
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| transport_error(&self.name, self.timeout, e))?;
            let status = resp.status();
            let bytes = http::read_body(&self.name, self.timeout, resp).await?;
            if status == reqwest::StatusCode::UNAUTHORIZED && !renewed {
                if let Some(token) = session {
                    self.forget(&token).await;
                    renewed = true;
                    continue;
                }
            }
            if status.is_success() {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Value::Null);
                }
                return serde_json::from_slice(&bytes).map_err(|e| BackendError::Garbage {
                    endpoint: self.name.clone(),
                    detail: format!("HTTP {} with a body that is not JSON: {e}", status.as_u16()),
                });
            }
            let message = self.scrub(error_message(status, &bytes));
            return Err(status_error(self.name.clone(), status.as_u16(), message));
        }
    }

    /// End the session, best effort: `DELETE /api/sys/tokens/<key>`.
    pub async fn revoke(&self) {
        let Auth::Login { session, .. } = &self.auth else {
            return;
        };
        let Some(token) = session.lock().await.take() else {
            return;
        };
        let key = token.expose_secret();
        if !plausible_token(key) {
            return;
        }
        let Ok(mut cookie) = HeaderValue::from_str(&format!("token={key}")) else {
            return;
        };
        cookie.set_sensitive(true);
        let _ = self
            .http
            .delete(format!("{}/api/sys/tokens/{key}", self.base))
            .header(COOKIE, cookie)
            .timeout(Duration::from_secs(5).min(self.timeout))
            .send()
            .await;
    }
}
