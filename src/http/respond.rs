//! Responses the listener writes itself (everything but MCP traffic).

use std::convert::Infallible;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use crate::auth::AuthError;

/// The body type rmcp answers with; ours match it.
pub type Body = BoxBody<Bytes, Infallible>;

pub fn full(text: impl Into<Bytes>) -> Body {
    Full::new(text.into()).boxed()
}

pub fn internal() -> Response<Body> {
    let mut r = Response::new(full("internal error"));
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}

pub fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(full(v.to_string()))
        .unwrap_or_else(|_| internal())
}

/// The JSON-RPC error code of a refusal that is not the protocol's own.
const REFUSED: i64 = -32001;
/// JSON-RPC's "Parse error".
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's "Invalid Request".
pub const INVALID_REQUEST: i64 = -32600;

/// A JSON-RPC error object with no id: the request never reached MCP.
pub fn jsonrpc_error(
    status: StatusCode,
    message: &str,
    www_authenticate: Option<String>,
) -> Response<Body> {
    jsonrpc_error_code(status, REFUSED, message, www_authenticate)
}

/// As [`jsonrpc_error`], with a given JSON-RPC error code.
pub fn jsonrpc_error_code(
    status: StatusCode,
    code: i64,
    message: &str,
    www_authenticate: Option<String>,
) -> Response<Body> {
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": code, "message": message},
    });
    let mut r = json_response(status, &body);
    if let Some(v) = www_authenticate.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
        r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
    }
    r
}

/// A quoted-string parameter (RFC 9110 §5.6.4): no quotes, backslashes or
/// control characters survive.
fn quoted(v: &str) -> String {
    let clean: String = v
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
        .take(300)
        .collect();
    format!("\"{clean}\"")
}

/// The `WWW-Authenticate` challenge of RFC 6750, with the RFC 9728 pointer
/// to our protected-resource metadata when OAuth is configured.
pub fn www_authenticate(metadata_url: Option<&str>, err: Option<&AuthError>) -> String {
    let mut params = vec![format!("realm={}", quoted("portcullis"))];
    match err {
        None | Some(AuthError::Missing) => {}
        Some(AuthError::Malformed) => {
            params.push(format!("error={}", quoted("invalid_request")));
        }
        Some(e) => {
            params.push(format!("error={}", quoted("invalid_token")));
            params.push(format!("error_description={}", quoted(&e.to_string())));
        }
    }
    if let Some(u) = metadata_url {
        params.push(format!("resource_metadata={}", quoted(u)));
    }
    format!("Bearer {}", params.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            www_authenticate(Some("https://h/.well-known/oauth-protected-resource/mcp"), None),
            "Bearer realm=\"portcullis\", resource_metadata=\"https://h/.well-known/oauth-protected-resource/mcp\""
        );
        let e = AuthError::InvalidToken("token \"expired\"\n".into());
        let c = www_authenticate(None, Some(&e));
        assert!(c.starts_with("Bearer realm=\"portcullis\", error=\"invalid_token\", error_description=\"invalid token: token 'expired'\""));
        assert!(http::HeaderValue::from_str(&c).is_ok());
    }
}
