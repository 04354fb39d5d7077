//! The Volcengine OpenAPI for VPN (service `vpn`, version `2020-04-01`):
//! signed GET requests with `Action` and `Version` in the query, list
//! parameters flattened as the official SDKs do (`VpnGatewayIds.1=…`,
//! `TagFilters.1.Key=…`), `ResponseMetadata.Error` turned into a tool
//! error, pages joined. The access key's secret is held in a `secrecy`
//! type and only ever used to derive a signing key.

pub mod config;
pub mod sign;
pub mod tools;

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Map, Value};

use crate::catalog::ValidArgs;
use crate::catalog::{ToolDef, Ty};
use crate::config::Endpoint;
use crate::util::UtcTime;
use tools::VolcCall;
use tools::REGION;

use super::registry::{BackendKind, Plug};
use super::{http, shorten, transport_error, BackendError, EndpointInfo};

/// Volcengine (the VPN OpenAPI), as the registry knows it.
pub static PLUG: Plug = Plug {
    kind: BackendKind::Volcengine,
    name: "volcengine",
    tool_prefix: "volc_",
    tools: tools::tools,
    entity_types: include_str!("entities.cedarschema"),
    section_keys: config::KEYS,
    section: config::section,
    env_var: "VOLCENGINE_ACCESS_KEY",
    from_env: config::from_env,
    check_call: |_, ep, args| region(ep, args).map(|_| ()),
    place,
    connect: |ep| Ok(Box::new(VolcClient::new(ep)?)),
    test_endpoint: "volc",
    test_settings: config::test_settings,
    lab: None,
};

/// A Volcengine call's target: the region (the argument, or the endpoint's
/// default) and the VPN object in it named by its id.
fn place(tool: &ToolDef, args: &ValidArgs, ep: &EndpointInfo) -> Vec<super::Located> {
    let Some(call) = tool.operation::<VolcCall>() else {
        return Vec::new();
    };
    let e = ep.name.as_str();
    let region = region(ep, args).unwrap_or_default();
    let region_entity = super::Located {
        kind: "Region",
        id: format!("{e}/{region}"),
        attrs: vec![("name", json!(region))],
        parents: vec![("Endpoint", e.to_string())],
    };
    let object = tools::target_id_param(call.target).map(|param| {
        let id = args.str(param).unwrap_or_default();
        super::Located {
            kind: call.target.entity_type(),
            id: format!("{e}/{region}/{id}"),
            attrs: vec![("id", json!(id))],
            parents: vec![("Region", region_entity.id.clone())],
        }
    });
    object.into_iter().chain([region_entity]).collect()
}

/// The region a call goes to: the one named, if the endpoint is configured
/// for it, or the endpoint's default. Only configured regions: refused
/// before any backend is contacted.
pub fn region(ep: &EndpointInfo, args: &ValidArgs) -> Result<String, String> {
    let regions = crate::config::settings::<config::Settings>(&ep.settings).regions;
    match args.str(REGION) {
        None => regions
            .first()
            .cloned()
            .ok_or_else(|| format!("endpoint {:?} has no regions configured", ep.name)),
        Some(r) if regions.iter().any(|c| c == r) => Ok(r.to_string()),
        Some(r) => Err(format!(
            "region {r:?} is not configured for endpoint {:?}; configured: {}",
            ep.name,
            regions.join(", ")
        )),
    }
}

pub const SERVICE: &str = "vpn";
pub const VERSION: &str = "2020-04-01";
/// Most items a list tool joins from pages before it says it stopped.
pub const MAX_ITEMS: usize = 1000;
/// Page size when every page is fetched (the OpenAPI's maximum).
const FULL_PAGE: i64 = 100;

/// Response fields that hold key material: an agent never needs them, and
/// a transcript must not carry them.
const WITHHELD: &[&str] = &["Psk", "ClientKey", "OpenVpnClientConfig", "PrivateKey"];

pub struct VolcClient {
    name: String,
    url: url::Url,
    /// `host[:port]` as the request carries it (a default port left out).
    host: String,
    http: reqwest::Client,
    access_key: String,
    secret_key: SecretString,
    timeout: Duration,
}

/// `vpn_gateway_ids` → `VpnGatewayIds`: a parameter's OpenAPI name.
pub fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The OpenAPI parameters of a call, flattened as the SDKs send them.
pub fn query_params(tool: &ToolDef, args: &ValidArgs) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in &tool.params {
        if [REGION, "page_number", "page_size"].contains(&p.name) {
            continue;
        }
        let Some(v) = args.as_map().get(p.name) else {
            continue;
        };
        let name = pascal(p.name);
        match (&p.ty, v) {
            (Ty::TagFilters, Value::Array(filters)) => {
                for (i, f) in filters.iter().enumerate() {
                    let at = format!("{name}.{}", i + 1);
                    out.push((
                        format!("{at}.Key"),
                        f["key"].as_str().unwrap_or_default().into(),
                    ));
                    for (j, val) in f["values"].as_array().into_iter().flatten().enumerate() {
                        out.push((
                            format!("{at}.Values.{}", j + 1),
                            val.as_str().unwrap_or_default().into(),
                        ));
                    }
                }
            }
            (_, Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    out.push((format!("{name}.{}", i + 1), scalar(item)));
                }
            }
            (_, v) => out.push((name, scalar(v))),
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Replace key material anywhere in an answer.
fn withhold(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if WITHHELD.contains(&k.as_str()) && !val.is_null() {
                    *val = json!("[withheld: key material is not returned through Portcullis]");
                } else {
                    withhold(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(withhold),
        _ => {}
    }
}

/// What an operator should do about an OpenAPI error code.
fn hint(code: &str) -> &'static str {
    match code {
        "InvalidAccessKey"
        | "SignatureDoesNotMatch"
        | "MissingSignature"
        | "MissingAuthenticationToken" => {
            "; an operator must check the configured access key and secret key"
        }
        "InvalidTimestamp" => {
            "; Portcullis's clock and Volcengine's differ too much: check NTP on this host"
        }
        "AccessDenied" | "LackPolicy" => {
            "; the access key's IAM policy does not allow this: an operator must grant it"
        }
        _ => "",
    }
}

impl VolcClient {
    pub fn new(ep: &Endpoint) -> Result<VolcClient, BackendError> {
        Ok(VolcClient {
            name: ep.name.clone(),
            url: ep.url.clone(),
            host: http::authority(&ep.url),
            http: http::client(ep)?,
            access_key: ep.credentials.id().to_string(),
            secret_key: ep.credentials.secret().clone(),
            timeout: ep.timeout,
        })
    }

    /// One signed OpenAPI call; its `Result`.
    async fn call(
        &self,
        action: &str,
        region: &str,
        params: &[(String, String)],
    ) -> Result<Value, BackendError> {
        let mut query = vec![
            ("Action".to_string(), action.to_string()),
            ("Version".to_string(), VERSION.to_string()),
        ];
        query.extend_from_slice(params);
        let x_date = UtcTime::now().compact();
        let signed = sign::sign(
            &sign::Request {
                method: "GET",
                host: &self.host,
                path: "/",
                query: &query,
                body: b"",
                x_date: &x_date,
            },
            &sign::Credentials {
                access_key: &self.access_key,
                secret_key: &self.secret_key,
                region,
                service: SERVICE,
            },
        );
        let mut url = self.url.clone();
        url.set_path("/");
        url.set_query(Some(&sign::canonical_query(&query)));
        let mut auth = reqwest::header::HeaderValue::from_str(&signed.authorization)
            .map_err(|_| BackendError::Internal("the access key is not a header value".into()))?;
        auth.set_sensitive(true);
        let resp = self
            .http
            .get(url)
            .header("X-Date", &signed.x_date)
            .header("X-Content-Sha256", &signed.x_content_sha256)
            .header(reqwest::header::AUTHORIZATION, auth)
            .send()
            .await
            .map_err(|e| transport_error(&self.name, self.timeout, e))?;
        let status = resp.status().as_u16();
        let bytes = http::read_body(&self.name, self.timeout, resp).await?;
        let endpoint = self.name.clone();
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        if let Some(e) = parsed
            .as_ref()
            .map(|v| &v["ResponseMetadata"]["Error"])
            .filter(|e| e.is_object())
        {
            let code = e["Code"].as_str().unwrap_or("Error").to_string();
            let request_id = parsed
                .as_ref()
                .and_then(|v| v["ResponseMetadata"]["RequestId"].as_str());
            return Err(BackendError::Fault {
                endpoint,
                message: shorten(format!(
                    "{}{}{}",
                    e["Message"].as_str().unwrap_or("no message"),
                    request_id
                        .map(|r| format!(" (request id {r})"))
                        .unwrap_or_default(),
                    hint(&code)
                )),
                fault: code,
            });
        }
        match (status, parsed) {
            (200..=299, Some(mut v)) if v.get("Result").is_some() => {
                let mut result = v["Result"].take();
                withhold(&mut result);
                Ok(result)
            }
            (200..=299, _) => Err(BackendError::Garbage {
                endpoint,
                detail: format!("{action} answered without a Result"),
            }),
            (300..=399, _) => Err(BackendError::Redirect { endpoint, status }),
            (401 | 403, _) => Err(BackendError::Auth { endpoint, status }),
            (500..=599, _) => Err(BackendError::Server {
                endpoint,
                status,
                message: "no error details".into(),
            }),
            (_, _) => Err(BackendError::Rejected {
                endpoint,
                status,
                message: "no error details".into(),
            }),
        }
    }

    pub async fn execute(
        &self,
        tool: &ToolDef,
        call: &VolcCall,
        region: &str,
        args: &ValidArgs,
    ) -> Result<Value, BackendError> {
        let mut params = query_params(tool, args);
        let Some(key) = call.list_key else {
            return self.call(call.action, region, &params).await;
        };
        let page = |n: i64, size: i64| {
            [
                ("PageNumber".to_string(), n.to_string()),
                ("PageSize".to_string(), size.to_string()),
            ]
        };
        if let Some(n) = args.int("page_number") {
            params.extend(page(n, args.int("page_size").unwrap_or(20)));
            let r = self.call(call.action, region, &params).await?;
            let mut out = Map::new();
            out.insert(key.to_string(), r[key].clone());
            out.insert("total_count".into(), r["TotalCount"].clone());
            out.insert("page_number".into(), json!(n));
            out.insert("region".into(), json!(region));
            return Ok(Value::Object(out));
        }
        let size = args.int("page_size").unwrap_or(FULL_PAGE);
        let mut items: Vec<Value> = Vec::new();
        let mut total = None;
        for n in 1.. {
            let mut with_page = params.clone();
            with_page.extend(page(n, size));
            let mut r = self.call(call.action, region, &with_page).await?;
            total = r["TotalCount"].as_u64().or(total);
            let got = match r[key].take() {
                Value::Array(a) => a,
                _ => Vec::new(),
            };
            let last = got.len() < size as usize;
            items.extend(got);
            let all_seen = total.is_some_and(|t| items.len() as u64 >= t);
            if last || all_seen || items.len() >= MAX_ITEMS {
                break;
            }
        }
        let truncated = items.len() > MAX_ITEMS || total.is_some_and(|t| (items.len() as u64) < t);
        items.truncate(MAX_ITEMS);
        let mut out = Map::new();
        out.insert(key.to_string(), Value::Array(items));
        out.insert("total_count".into(), json!(total));
        out.insert("truncated".into(), json!(truncated));
        out.insert("region".into(), json!(region));
        Ok(Value::Object(out))
    }
}

impl super::Client for VolcClient {
    fn execute<'a>(
        &'a self,
        tool: &'a ToolDef,
        args: &'a ValidArgs,
        endpoint: &'a EndpointInfo,
        _progress: Option<&'a super::ProgressSink>,
    ) -> super::BoxFuture<'a, Result<Value, BackendError>> {
        Box::pin(async move {
            let call = tool.operation::<VolcCall>().ok_or_else(|| {
                BackendError::Internal(format!("{} is not a Volcengine tool", tool.name))
            })?;
            // The gate has refused unconfigured regions already.
            let region = region(endpoint, args).map_err(BackendError::Internal)?;
            self.execute(tool, call, &region, args).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lists_are_flattened_as_the_sdk_does() {
        let cat = crate::catalog::Catalog::builtin();
        let tool = cat.get("volc_describe_vpn_gateways").unwrap();
        let args = crate::catalog::validate(
            tool,
            Some(&json!({
                "vpn_gateway_ids": ["vgw-aaaa1", "vgw-bbbb2"],
                "tag_filters": [{"key": "env", "values": ["prod", "staging"]}, {"key": "team"}],
                "status": "Available",
                "region": "cn-beijing",
                "page_size": 50,
            })),
        )
        .unwrap();
        let mut q = query_params(tool, &args);
        q.sort();
        let q: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            q,
            [
                "Status=Available",
                "TagFilters.1.Key=env",
                "TagFilters.1.Values.1=prod",
                "TagFilters.1.Values.2=staging",
                "TagFilters.2.Key=team",
                "VpnGatewayIds.1=vgw-aaaa1",
                "VpnGatewayIds.2=vgw-bbbb2",
            ]
        );
    }

    #[test]
    fn key_material_is_withheld_at_any_depth() {
        let mut v = json!({"VpnConnectionId": "vgc-1", "IkeConfig": {"Psk": "s3cret", "Version": "ikev2"},
                           "Certs": [{"ClientKey": "-----BEGIN", "ClientCertificate": "pub"}]});
        withhold(&mut v);
        let text = v.to_string();
        assert!(
            !text.contains("s3cret") && !text.contains("BEGIN"),
            "{text}"
        );
        assert_eq!(v["IkeConfig"]["Version"], "ikev2");
        assert_eq!(v["Certs"][0]["ClientCertificate"], "pub");
    }
}
