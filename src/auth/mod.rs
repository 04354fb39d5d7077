//! Who is calling over HTTP: an API key, an OAuth bearer JWT, or a client
//! certificate. The principal comes from here, never from the request body.

pub mod apikey;
pub mod jwt;
pub mod mtls;

use crate::config::{HttpConfig, MetricsAccess};
use crate::gate::Authentication;
use crate::principal::Principal;

/// Why a request was not authenticated. Messages go to the client in
/// `WWW-Authenticate`, so they say what is wrong without echoing secrets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials: send Authorization: Bearer <token>, or a client certificate")]
    Missing,
    #[error("the Authorization header must be \"Bearer <token>\"")]
    Malformed,
    #[error("unknown API key")]
    UnknownKey,
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("the token's signing keys cannot be fetched: {0}")]
    KeysUnavailable(String),
}

impl AuthError {
    /// A short name for audit records and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::Malformed => "malformed",
            AuthError::UnknownKey => "unknown_key",
            AuthError::InvalidToken(_) => "invalid_token",
            AuthError::KeysUnavailable(_) => "keys_unavailable",
        }
    }
}

/// An authenticated caller and how it proved who it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub principal: Principal,
    pub method: Authentication,
}

pub struct Authenticator {
    keys: apikey::ApiKeys,
    jwt: Option<jwt::JwtVerifier>,
}

/// Three dot-separated base64url parts: a JWT, not an API key.
fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

impl Authenticator {
    pub fn new(http: &HttpConfig) -> Result<Authenticator, String> {
        Ok(Authenticator {
            keys: apikey::ApiKeys::new(&http.api_keys),
            jwt: http.oauth.clone().map(jwt::JwtVerifier::new).transpose()?,
        })
    }

    /// The OAuth settings, when bearer JWTs are accepted.
    pub fn oauth(&self) -> Option<&crate::config::OauthConfig> {
        self.jwt.as_ref().map(|v| v.config())
    }

    /// Authenticate from the `Authorization` header, else the client
    /// certificate identity established by the TLS handshake. A header that
    /// is present and wrong is refused even when a certificate is also
    /// presented: an explicit credential that fails is never ignored.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        client_cert: Option<&Principal>,
    ) -> Result<Identity, AuthError> {
        let Some(header) = authorization else {
            return client_cert
                .map(|p| Identity {
                    principal: p.clone(),
                    method: Authentication::Mtls,
                })
                .ok_or(AuthError::Missing);
        };
        let token = bearer(header)?;
        match &self.jwt {
            Some(v) if looks_like_jwt(token) => Ok(Identity {
                principal: v.verify(token).await?,
                method: Authentication::Oauth,
            }),
            _ => self
                .keys
                .find(token)
                .map(|principal| Identity {
                    principal,
                    method: Authentication::ApiKey,
                })
                .ok_or(AuthError::UnknownKey),
        }
    }

    /// May this request read `/metrics`?
    pub async fn metrics_allowed(
        &self,
        access: &MetricsAccess,
        authorization: Option<&str>,
        client_cert: Option<&Principal>,
    ) -> bool {
        match access {
            MetricsAccess::Public => true,
            MetricsAccess::Token(hash) => authorization
                .and_then(|h| bearer(h).ok())
                .is_some_and(|t| apikey::matches(t, hash)),
            MetricsAccess::Authenticated => {
                self.authenticate(authorization, client_cert).await.is_ok()
            }
        }
    }
}

/// The token of `Bearer <token>` (scheme case-insensitive, RFC 7235).
fn bearer(header: &str) -> Result<&str, AuthError> {
    let (scheme, token) = header.split_once(' ').ok_or(AuthError::Malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 16 * 1024 {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer("Bearer abc"), Ok("abc"));
        assert_eq!(bearer("bearer  abc "), Ok("abc"));
        assert_eq!(bearer("Basic abc"), Err(AuthError::Malformed));
        assert_eq!(bearer("Bearer"), Err(AuthError::Malformed));
        assert_eq!(bearer("Bearer "), Err(AuthError::Malformed));
        assert!(looks_like_jwt("a.b.c"));
        assert!(!looks_like_jwt("pcl_0123456789"));
    }
}
