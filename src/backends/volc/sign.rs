//! Volcengine's request signature (HMAC-SHA256, a SigV4 derivative), as
//! the official SDKs compute it (`volcengine.auth.SignerV4`). `aws-sigv4`
//! cannot produce it: it hard-codes the `AWS4` key prefix, the
//! `aws4_request` terminator, its algorithm name and `x-amz-*` headers.
//!
//! canonical request = method \n path \n sorted query (RFC 3986 escaped)
//!   \n signed headers as `name:value\n` \n their names joined by `;`
//!   \n hex SHA-256 of the body
//! string to sign = "HMAC-SHA256" \n X-Date \n date/region/service/request
//!   \n hex SHA-256 of the canonical request
//! signing key = HMAC chain from the raw secret: date → region → service →
//!   "request"

use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::util::sha256_hex;

pub const ALGORITHM: &str = "HMAC-SHA256";

/// Everything except RFC 3986 unreserved characters is escaped, as
/// Python's `quote(s, safe='-_.~')` does.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One request to sign.
pub struct Request<'a> {
    pub method: &'a str,
    /// `host` or `host:port` (a default port is left out).
    pub host: &'a str,
    pub path: &'a str,
    /// Flattened parameters; order does not matter.
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
    /// `YYYYMMDDTHHMMSSZ`.
    pub x_date: &'a str,
}

/// Who signs, and for which scope.
pub struct Credentials<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a SecretString,
    pub region: &'a str,
    pub service: &'a str,
}

/// The headers a signed request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub x_date: String,
    pub x_content_sha256: String,
    pub authorization: String,
}

fn hmac(key: &[u8], data: &str) -> Zeroizing<Vec<u8>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    Zeroizing::new(mac.finalize().into_bytes().to_vec())
}

/// The query string in canonical form: keys sorted, both sides escaped.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> = query.iter().collect();
    // By key only, stably: a repeated key keeps its values in order, as
    // the SDK writes list values.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY),
                utf8_percent_encode(v, QUERY)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub fn sign(req: &Request, cred: &Credentials) -> Signed {
    let body_hash = sha256_hex(req.body);
    let headers = [
        ("host", req.host),
        ("x-content-sha256", body_hash.as_str()),
        ("x-date", req.x_date),
    ];
    let signed_names = headers.map(|(k, _)| k).join(";");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical = [
        req.method,
        req.path,
        &canonical_query(req.query),
        &canonical_headers,
        &signed_names,
        &body_hash,
    ]
    .join("\n");
    let date = &req.x_date[..8.min(req.x_date.len())];
    let scope = format!("{date}/{}/{}/request", cred.region, cred.service);
    let string_to_sign = [
        ALGORITHM,
        req.x_date,
        &scope,
        &sha256_hex(canonical.as_bytes()),
    ]
    .join("\n");
    let k_date = hmac(cred.secret_key.expose_secret().as_bytes(), date);
    let k_region = hmac(&k_date, cred.region);
    let k_service = hmac(&k_region, cred.service);
    let k_signing = hmac(&k_service, "request");
    let signature = hex::encode(&*hmac(&k_signing, &string_to_sign));
    Signed {
        x_date: req.x_date.to_string(),
        x_content_sha256: body_hash,
        authorization: format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_names}, Signature={signature}",
            cred.access_key
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_sorted_and_escaped_like_the_sdk() {
        let q = vec![
            ("VpnGatewayIds.2".to_string(), "vgw-b".to_string()),
            ("Action".to_string(), "DescribeVpnGateways".to_string()),
            ("VpnGatewayName".to_string(), "北京 gw+1/~x".to_string()),
            ("VpnGatewayIds.1".to_string(), "vgw-a".to_string()),
        ];
        assert_eq!(
            canonical_query(&q),
            "Action=DescribeVpnGateways&VpnGatewayIds.1=vgw-a&VpnGatewayIds.2=vgw-b\
             &VpnGatewayName=%E5%8C%97%E4%BA%AC%20gw%2B1%2F~x"
        );
    }

    #[test]
    fn a_change_anywhere_changes_the_signature() {
        let secret = SecretString::from("sk".to_string());
        let cred = Credentials {
            access_key: "AK",
            secret_key: &secret,
            region: "cn-beijing",
            service: "vpn",
        };
        let q = vec![("Action".to_string(), "DescribeVpnGateways".to_string())];
        let base = Request {
            method: "GET",
            host: "open.volcengineapi.com",
            path: "/",
            query: &q,
            body: b"",
            x_date: "20261124T101010Z",
        };
        let a = sign(&base, &cred);
        assert!(a.authorization.starts_with(
            "HMAC-SHA256 Credential=AK/20261124/cn-beijing/vpn/request, SignedHeaders=host;x-content-sha256;x-date, Signature="
        ));
        let other_region = Credentials {
            region: "cn-shanghai",
            ..cred
        };
        assert_ne!(a.authorization, sign(&base, &other_region).authorization);
        let later = Request {
            x_date: "20261124T101011Z",
            ..base
        };
        assert_ne!(a.authorization, sign(&later, &cred).authorization);
    }
}
