//! OAuth 2.1 resource server: bearer JWTs verified against the issuer's
//! JWKS. Issuer, audience, expiry and not-before are checked; the algorithm
//! must be one the configuration accepts and must match the key's type, so
//! `alg: none` and RSA/HMAC confusion are refused. Tokens are only read
//! here, never forwarded to a backend.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tokio::sync::RwLock;

use super::AuthError;
use crate::config::{JwksSource, OauthConfig};
use crate::principal::Principal;

/// The configuration decides which algorithms it accepts (asymmetric only);
/// this module verifies with them. Re-exported so callers need not know.
pub use crate::config::SUPPORTED_JWT_ALGORITHMS as SUPPORTED_ALGORITHMS;

/// Keys are refetched this often, to follow the issuer's rotation.
const JWKS_TTL: Duration = Duration::from_secs(600);
/// A token with an unknown `kid` triggers a refetch at most this often, so
/// a flood of forged tokens cannot turn into a flood of JWKS requests.
const REFETCH_MIN_INTERVAL: Duration = Duration::from_secs(30);
const JWKS_MAX_BYTES: usize = 256 * 1024;
/// Longest principal id or group name taken from a token.
const MAX_CLAIM_LEN: usize = 256;
const MAX_GROUPS: usize = 256;

struct Cached {
    keys: JwkSet,
    fetched: Option<Instant>,
    last_attempt: Option<Instant>,
}

pub struct JwtVerifier {
    cfg: OauthConfig,
    algorithms: Vec<Algorithm>,
    http: reqwest::Client,
    cache: RwLock<Cached>,
}

fn invalid(m: impl Into<String>) -> AuthError {
    AuthError::InvalidToken(m.into())
}

impl JwtVerifier {
    pub fn config(&self) -> &OauthConfig {
        &self.cfg
    }

    pub fn new(cfg: OauthConfig) -> Result<JwtVerifier, String> {
        let algorithms = cfg
            .algorithms
            .iter()
            .map(|a| {
                a.parse::<Algorithm>()
                    .map_err(|e| format!("algorithm {a}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("JWKS HTTP client: {e}"))?;
        Ok(JwtVerifier {
            cfg,
            algorithms,
            http,
            cache: RwLock::new(Cached {
                keys: JwkSet { keys: vec![] },
                fetched: None,
                last_attempt: None,
            }),
        })
    }

    async fn fetch(&self) -> Result<JwkSet, String> {
        let bytes = match &self.cfg.jwks {
            JwksSource::File(path) => tokio::fs::read(path)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?,
            JwksSource::Url(url) => {
                let resp = self
                    .http
                    .get(url.clone())
                    .send()
                    .await
                    .map_err(|e| format!("{url}: {e}"))?;
                if !resp.status().is_success() {
                    return Err(format!("{url}: HTTP {}", resp.status()));
                }
                let body = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
                body.to_vec()
            }
        };
        if bytes.len() > JWKS_MAX_BYTES {
            return Err(format!("JWKS larger than {JWKS_MAX_BYTES} bytes"));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("JWKS is not a key set: {e}"))
    }

    /// The key for `kid`, fetching the set when it is stale or, rate
    /// limited, when the kid is unknown (the issuer may have rotated).
    async fn key(&self, kid: Option<&str>) -> Result<Jwk, AuthError> {
        let find = |set: &JwkSet| -> Option<Jwk> {
            match kid {
                Some(k) => set.find(k).cloned(),
                // Without a kid, only an unambiguous set will do.
                None if set.keys.len() == 1 => set.keys.first().cloned(),
                None => None,
            }
        };
        {
            let c = self.cache.read().await;
            let fresh = c.fetched.is_some_and(|t| t.elapsed() < JWKS_TTL);
            if fresh {
                if let Some(k) = find(&c.keys) {
                    return Ok(k);
                }
            }
        }
        let mut c = self.cache.write().await;
        let stale = c.fetched.is_none_or(|t| t.elapsed() >= JWKS_TTL);
        let may_refetch = c
            .last_attempt
            .is_none_or(|t| t.elapsed() >= REFETCH_MIN_INTERVAL);
        // Until a first fetch succeeds there is nothing to serve, so every
        // request tries. Once keys are held, a failed refresh of stale ones
        // is retried at the same rate as a lookup of an unknown kid, not on
        // every request (the write lock is held across the fetch).
        let never_fetched = c.fetched.is_none();
        if never_fetched || (may_refetch && (stale || find(&c.keys).is_none())) {
            c.last_attempt = Some(Instant::now());
            match self.fetch().await {
                Ok(set) => {
                    c.keys = set;
                    c.fetched = Some(Instant::now());
                }
                Err(e) if c.fetched.is_none() => return Err(AuthError::KeysUnavailable(e)),
                Err(e) => {
                    tracing::warn!(error = %e, "JWKS refresh failed; keeping the keys already fetched");
                }
            }
        }
        find(&c.keys).ok_or_else(|| match kid {
            Some(k) => invalid(format!(
                "no key with kid {:?} in the issuer's key set",
                clip(k)
            )),
            None => invalid("the token has no kid and the issuer has several keys"),
        })
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        // `alg: none` and unknown algorithms do not parse into a header.
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| invalid(format!("malformed header: {e}")))?;
        if !self.algorithms.contains(&header.alg) {
            return Err(invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let jwk = self.key(header.kid.as_deref()).await?;
        if let Some(alg) = jwk.common.key_algorithm {
            if alg.to_string() != format!("{:?}", header.alg) {
                return Err(invalid("the token's algorithm differs from its key's"));
            }
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| invalid(format!("unusable key: {e}")))?;
        let mut v = Validation::new(header.alg);
        v.algorithms = vec![header.alg];
        v.leeway = self.cfg.leeway.as_secs();
        v.validate_exp = true;
        v.validate_nbf = true;
        v.set_issuer(&[&self.cfg.issuer]);
        v.set_audience(&[&self.cfg.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            invalid(match e.kind() {
                K::ExpiredSignature => "expired".into(),
                K::ImmatureSignature => "not yet valid (nbf)".into(),
                K::InvalidIssuer => "wrong issuer".into(),
                K::InvalidAudience => "wrong audience".into(),
                K::InvalidSignature => "bad signature".into(),
                K::MissingRequiredClaim(c) => format!("missing claim {c}"),
                K::InvalidAlgorithm => "algorithm does not fit the key".into(),
                _ => e.to_string(),
            })
        })?;
        self.principal(&data.claims)
    }

    fn principal(&self, claims: &Map<String, Value>) -> Result<Principal, AuthError> {
        let id = claims
            .get(&self.cfg.principal_claim)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= MAX_CLAIM_LEN)
            .ok_or_else(|| {
                invalid(format!(
                    "claim {:?} (the principal) is missing, empty or too long",
                    self.cfg.principal_claim
                ))
            })?;
        let groups: Vec<String> = match claims.get(&self.cfg.groups_claim) {
            None | Some(Value::Null) => vec![],
            Some(Value::String(s)) => s.split_whitespace().map(String::from).collect(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|g| g.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    invalid(format!(
                        "claim {:?} must hold strings",
                        self.cfg.groups_claim
                    ))
                })?,
            Some(_) => {
                return Err(invalid(format!(
                    "claim {:?} must be a list or a space-separated string",
                    self.cfg.groups_claim
                )))
            }
        };
        if groups.len() > MAX_GROUPS
            || groups
                .iter()
                .any(|g| g.is_empty() || g.len() > MAX_CLAIM_LEN)
        {
            return Err(invalid(format!(
                "claim {:?} has too many or over-long groups",
                self.cfg.groups_claim
            )));
        }
        Ok(Principal::new(id, groups))
    }
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    /// A JWKS endpoint on loopback that counts its fetches and, once
    /// `down` is set, answers 503.
    async fn jwks_endpoint(down: Arc<AtomicBool>, fetches: Arc<AtomicUsize>) -> url::Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (down, fetches) = (down.clone(), fetches.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |_req| {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let mut r = http::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from_static(
                                br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"AAAA","y":"AAAA"}]}"#,
                            ),
                        ));
                        if down.load(Ordering::SeqCst) {
                            *r.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
                        }
                        async move { Ok::<_, std::convert::Infallible>(r) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        url.parse().unwrap()
    }

    #[tokio::test]
    async fn a_failing_refresh_of_stale_keys_is_retried_at_most_every_30_seconds() {
        let (down, fetches) = (Arc::new(AtomicBool::new(false)), Arc::default());
        let url = jwks_endpoint(down.clone(), Arc::clone(&fetches)).await;
        let v = JwtVerifier::new(OauthConfig {
            issuer: "https://idp.test.invalid".into(),
            audience: "aud".into(),
            jwks: JwksSource::Url(url),
            principal_claim: "sub".into(),
            groups_claim: "groups".into(),
            algorithms: vec!["ES256".into()],
            leeway: Duration::ZERO,
            authorization_servers: vec![],
        })
        .unwrap();
        assert!(v.key(Some("k1")).await.is_ok());
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // Ten minutes later the keys are stale, and the issuer is down.
        let long_ago = Instant::now().checked_sub(JWKS_TTL + Duration::from_secs(1));
        {
            let mut c = v.cache.write().await;
            c.fetched = Some(long_ago.unwrap());
            c.last_attempt = c.fetched;
        }
        down.store(true, Ordering::SeqCst);
        for _ in 0..10 {
            assert!(
                v.key(Some("k1")).await.is_ok(),
                "the keys already fetched keep serving"
            );
        }
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            2,
            "one refresh attempt, not one per request"
        );
        // Unknown kids do not add attempts either.
        for i in 0..5 {
            assert!(v.key(Some(&format!("forged-{i}"))).await.is_err());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // The issuer is back: the next attempt, 30 s on, refreshes the set,
        // which is then fresh again.
        down.store(false, Ordering::SeqCst);
        v.cache.write().await.last_attempt = Instant::now().checked_sub(REFETCH_MIN_INTERVAL);
        assert!(v.key(Some("k1")).await.is_ok());
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
        assert!(v.cache.read().await.fetched.unwrap().elapsed() < JWKS_TTL);
        assert!(v.key(Some("k1")).await.is_ok());
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }
}
