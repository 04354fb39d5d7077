//! The two S3 calls the archive needs, path-style, signed with SigV4 by
//! `aws-sigv4` (S3's rules: the path encoded once, never normalised, the
//! payload's SHA-256 in `x-amz-content-sha256`): PUT with Object Lock
//! retention and a SHA-256 checksum the server verifies, and HEAD to read
//! the retention back.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Static credentials, the secret held as a secret.
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
}

/// Object Lock retention as S3 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionMode {
    Compliance,
    Governance,
}

impl RetentionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionMode::Compliance => "COMPLIANCE",
            RetentionMode::Governance => "GOVERNANCE",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("S3 {op} {key}: cannot sign: {0}", op = .1, key = .2)]
    Sign(String, &'static str, String),
    #[error("S3 {op} {key}: {message}")]
    Transport {
        op: &'static str,
        key: String,
        message: String,
    },
    #[error("S3 {op} {key}: HTTP {status} {code}: {message}")]
    Refused {
        op: &'static str,
        key: String,
        status: u16,
        code: String,
        message: String,
    },
}

/// Headers that sign a request at `time`: what to add to it (Authorization,
/// X-Amz-Date, x-amz-content-sha256 and the token if any). `headers` are the
/// request's own headers that are to be signed (they must be sent as given).
pub fn signed_headers(
    creds: &S3Credentials,
    region: &str,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
    time: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let identity = aws_credential_types::Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.expose_secret().to_string(),
        creds
            .session_token
            .as_ref()
            .map(|t| t.expose_secret().to_string()),
        None,
        "portcullis-archive",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (*k, v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// One bucket on one S3-compatible endpoint.
pub struct Bucket {
    pub endpoint: url::Url,
    pub region: String,
    pub bucket: String,
    pub credentials: S3Credentials,
    pub http: reqwest::Client,
}

/// What HEAD says about an object's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    pub mode: Option<String>,
    pub retain_until: Option<String>,
    pub version_id: Option<String>,
}

/// Everything but RFC 3986's unreserved characters is escaped in a key's
/// path segments.
const KEY_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|seg| percent_encoding::utf8_percent_encode(seg, KEY_SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// The `<Code>` and `<Message>` of an S3 XML error, if the body is one.
fn error_parts(body: &str) -> (String, String) {
    let field = |name: &str| {
        roxmltree::Document::parse(body).ok().and_then(|d| {
            d.descendants()
                .find(|n| n.has_tag_name(name))
                .and_then(|n| n.text())
                .map(String::from)
        })
    };
    (
        field("Code").unwrap_or_else(|| "-".into()),
        field("Message").unwrap_or_else(|| body.chars().take(200).collect()),
    )
}

impl Bucket {
    pub fn object_url(&self, key: &str) -> String {
        format!(
            "{}/{}/{}",
            self.endpoint.as_str().trim_end_matches('/'),
            self.bucket,
            encode_key(key)
        )
    }

    async fn send(
        &self,
        op: &'static str,
        key: &str,
        method: reqwest::Method,
        headers: Vec<(&str, String)>,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, S3Error> {
        self.send_to(op, key, &self.object_url(key), method, headers, body)
            .await
    }

    async fn send_to(
        &self,
        op: &'static str,
        key: &str,
        url: &str,
        method: reqwest::Method,
        headers: Vec<(&str, String)>,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, S3Error> {
        let signed = signed_headers(
            &self.credentials,
            &self.region,
            method.as_str(),
            url,
            &headers,
            &body,
            SystemTime::now(),
        )
        .map_err(|e| S3Error::Sign(e, op, key.to_string()))?;
        let mut req = self
            .http
            .request(method, url)
            .timeout(Duration::from_secs(60));
        for (k, v) in headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .chain(signed)
        {
            req = req.header(k, v);
        }
        let resp = req
            .body(body)
            .send()
            .await
            .map_err(|e| S3Error::Transport {
                op,
                key: key.to_string(),
                message: e.to_string(),
            })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let (code, message) = error_parts(&text);
        Err(S3Error::Refused {
            op,
            key: key.to_string(),
            status,
            code,
            message,
        })
    }

    /// PUT an object locked until `retain_until` (RFC 3339), with its
    /// SHA-256 for the server to check. The version id S3 gave it.
    pub async fn put_locked(
        &self,
        key: &str,
        body: Vec<u8>,
        mode: RetentionMode,
        retain_until: &str,
    ) -> Result<Option<String>, S3Error> {
        let checksum = B64.encode(Sha256::digest(&body));
        let headers = vec![
            ("content-type", "application/octet-stream".to_string()),
            ("x-amz-sdk-checksum-algorithm", "SHA256".to_string()),
            ("x-amz-checksum-sha256", checksum),
            ("x-amz-object-lock-mode", mode.as_str().to_string()),
            (
                "x-amz-object-lock-retain-until-date",
                retain_until.to_string(),
            ),
        ];
        let resp = self
            .send("PUT", key, reqwest::Method::PUT, headers, body)
            .await?;
        Ok(resp
            .headers()
            .get("x-amz-version-id")
            .and_then(|v| v.to_str().ok())
            .map(String::from))
    }

    /// HEAD an object (a given version of it): its lock, as the server
    /// reports it.
    pub async fn retention(&self, key: &str, version: Option<&str>) -> Result<Retention, S3Error> {
        let url = match version {
            Some(v) => format!(
                "{}?versionId={}",
                self.object_url(key),
                percent_encoding::utf8_percent_encode(v, KEY_SEGMENT)
            ),
            None => self.object_url(key),
        };
        let resp = self
            .send_to(
                "HEAD",
                key,
                &url,
                reqwest::Method::HEAD,
                Vec::new(),
                Vec::new(),
            )
            .await?;
        let h = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        Ok(Retention {
            mode: h("x-amz-object-lock-mode"),
            retain_until: h("x-amz-object-lock-retain-until-date"),
            version_id: h("x-amz-version-id"),
        })
    }
}

/// One version of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    pub key: String,
    pub version_id: String,
    pub last_modified: String,
}

impl Bucket {
    /// Every version of every object under `prefix` (ListObjectVersions,
    /// page after page).
    pub async fn list_versions(&self, prefix: &str) -> Result<Vec<ObjectVersion>, S3Error> {
        let mut out = Vec::new();
        let mut marker: Option<(String, String)> = None;
        loop {
            let enc = |v: &str| percent_encoding::utf8_percent_encode(v, KEY_SEGMENT).to_string();
            let mut url = format!(
                "{}/{}?prefix={}&versions=",
                self.endpoint.as_str().trim_end_matches('/'),
                self.bucket,
                enc(prefix)
            );
            if let Some((k, v)) = &marker {
                url.push_str(&format!(
                    "&key-marker={}&version-id-marker={}",
                    enc(k),
                    enc(v)
                ));
            }
            let resp = self
                .send_to(
                    "LIST",
                    prefix,
                    &url,
                    reqwest::Method::GET,
                    Vec::new(),
                    Vec::new(),
                )
                .await?;
            let text = resp.text().await.map_err(|e| S3Error::Transport {
                op: "LIST",
                key: prefix.to_string(),
                message: e.to_string(),
            })?;
            let doc = roxmltree::Document::parse(&text).map_err(|e| S3Error::Transport {
                op: "LIST",
                key: prefix.to_string(),
                message: format!("not an S3 listing: {e}"),
            })?;
            let child = |n: roxmltree::Node<'_, '_>, name: &str| {
                n.children()
                    .find(|c| c.has_tag_name(name))
                    .and_then(|c| c.text())
                    .unwrap_or_default()
                    .to_string()
            };
            for v in doc.descendants().filter(|n| n.has_tag_name("Version")) {
                out.push(ObjectVersion {
                    key: child(v, "Key"),
                    version_id: child(v, "VersionId"),
                    last_modified: child(v, "LastModified"),
                });
            }
            let root = doc.root_element();
            if child(root, "IsTruncated") != "true" {
                return Ok(out);
            }
            marker = Some((
                child(root, "NextKeyMarker"),
                child(root, "NextVersionIdMarker"),
            ));
        }
    }

    /// One version of an object.
    pub async fn get_version(&self, key: &str, version_id: &str) -> Result<Vec<u8>, S3Error> {
        let url = format!(
            "{}?versionId={}",
            self.object_url(key),
            percent_encoding::utf8_percent_encode(version_id, KEY_SEGMENT)
        );
        let resp = self
            .send_to(
                "GET",
                key,
                &url,
                reqwest::Method::GET,
                Vec::new(),
                Vec::new(),
            )
            .await?;
        resp.bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| S3Error::Transport {
                op: "GET",
                key: key.to_string(),
                message: e.to_string(),
            })
    }
}
