//! Tags through the vSphere Automation API (`/rest/com/vmware/cis/...`):
//! vim25 has no tagging. The REST session is separate from the SOAP one:
//! it starts with HTTP basic authentication (the same configured user),
//! lives in a `secrecy` token, is renewed once when the server answers 401,
//! and is ended at shutdown.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::tools::TagOp;
use super::xml::MoRef;
use super::{http, transport_error, BackendError, VimClient};
use crate::catalog::ValidArgs;

const SESSION_HEADER: &str = "vmware-api-session-id";
/// How long tag names are trusted for policy attributes (ids are
/// checked on every call; only renames can be this stale).
const TAG_NAMES_TTL: Duration = Duration::from_secs(60);
/// More tags than this in one vCenter is a listing no agent should page
/// through one request at a time.
const MAX_TAGS: usize = 2000;

/// A tag with its category's name.
#[derive(Debug, Clone)]
struct Tag {
    id: String,
    name: String,
    category: String,
    description: String,
}

impl Tag {
    fn json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "category": self.category, "description": self.description})
    }
}

impl VimClient {
    fn rest_url(&self, path: &str) -> url::Url {
        let mut u = self.url.clone();
        u.set_path(&format!("/rest{path}"));
        u.set_query(None);
        u
    }

    async fn rest_login(&self) -> Result<SecretString, BackendError> {
        let basic = Zeroizing::new(format!(
            "Basic {}",
            B64.encode(format!("{}:{}", self.user, self.password.expose_secret()))
        ));
        let mut auth = reqwest::header::HeaderValue::from_str(&basic)
            .map_err(|_| self.err_garbage("the user name is not a header value"))?;
        auth.set_sensitive(true);
        let resp = self
            .http
            .post(self.rest_url("/com/vmware/cis/session"))
            .header(reqwest::header::AUTHORIZATION, auth)
            .send()
            .await
            .map_err(|e| transport_error(&self.name, self.timeout, e))?;
        let status = resp.status().as_u16();
        let body = http::read_body(&self.name, self.timeout, resp).await?;
        if (300..400).contains(&status) {
            return Err(BackendError::Redirect {
                endpoint: self.name.clone(),
                status,
            });
        }
        if status == 401 || status == 403 {
            return Err(BackendError::LoginFailed {
                endpoint: self.name.clone(),
            });
        }
        if status == 404 {
            // ESXi alone, or a vCenter without the Automation API.
            return Err(BackendError::NotFound {
                endpoint: self.name.clone(),
                what: "Automation API (/rest), which tags need".into(),
            });
        }
        if status >= 500 {
            return Err(BackendError::Server {
                endpoint: self.name.clone(),
                status,
                message: "the Automation API (tags) could not start a session".into(),
            });
        }
        let v: Value = serde_json::from_slice(&body)
            .map_err(|_| self.err_garbage("the Automation API session answer is not JSON"))?;
        match v["value"].as_str() {
            Some(token) if status == 200 => {
                tracing::info!(endpoint = %self.name, "vSphere Automation API session started");
                Ok(SecretString::from(token.to_string()))
            }
            _ => Err(self.err_garbage(format!(
                "the Automation API refused a session (HTTP {status})"
            ))),
        }
    }

    /// One Automation API call; `Ok(None)` for 404. Logs in first, and
    /// again once if the session has expired.
    async fn rest(
        &self,
        method: Method,
        path: &str,
        action: Option<&str>,
        body: Option<Value>,
    ) -> Result<Option<Value>, BackendError> {
        let mut url = self.rest_url(path);
        if let Some(a) = action {
            url.query_pairs_mut().append_pair("~action", a);
        }
        let mut renewed = false;
        loop {
            let token = {
                let mut t = self.vapi.lock().await;
                if t.is_none() {
                    *t = Some(self.rest_login().await?);
                }
                t.clone()
                    .ok_or_else(|| BackendError::Internal("no Automation API session".into()))?
            };
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(SESSION_HEADER, self.cookie_header(&token)?);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| transport_error(&self.name, self.timeout, e))?;
            let status = resp.status().as_u16();
            if status == 401 && !renewed {
                renewed = true;
                *self.vapi.lock().await = None;
                continue;
            }
            let bytes = http::read_body(&self.name, self.timeout, resp).await?;
            let v: Value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).map_err(|_| {
                    self.err_garbage(format!(
                        "{path} answered HTTP {status} with a body that is not JSON"
                    ))
                })?
            };
            let endpoint = self.name.clone();
            let message = || {
                let m = v["value"]["messages"][0]["default_message"]
                    .as_str()
                    .or(v["type"].as_str())
                    .unwrap_or("no message");
                self.scrub(super::shorten(m.to_string()))
            };
            return match status {
                200..=299 => Ok(Some(v.get("value").cloned().unwrap_or(Value::Null))),
                404 => Ok(None),
                _ => Err(super::status_error(endpoint, status, message())),
            };
        }
    }

    /// Every tag, with category names.
    async fn tags(&self) -> Result<Vec<Tag>, BackendError> {
        let ids = self
            .rest(Method::GET, "/com/vmware/cis/tagging/tag", None, None)
            .await?
            .unwrap_or_default();
        let ids: Vec<String> = ids
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if ids.len() > MAX_TAGS {
            return Err(self.invalid(format!(
                "vCenter has {} tags; Portcullis lists at most {MAX_TAGS}",
                ids.len()
            )));
        }
        let mut categories: std::collections::HashMap<String, String> = Default::default();
        let mut out = Vec::new();
        for id in ids {
            let Some(t) = self
                .rest(
                    Method::GET,
                    &format!("/com/vmware/cis/tagging/tag/id:{}", enc(&id)),
                    None,
                    None,
                )
                .await?
            else {
                continue; // deleted meanwhile
            };
            let cat_id = t["category_id"].as_str().unwrap_or_default().to_string();
            if !categories.contains_key(&cat_id) {
                let name = self
                    .rest(
                        Method::GET,
                        &format!("/com/vmware/cis/tagging/category/id:{}", enc(&cat_id)),
                        None,
                        None,
                    )
                    .await?
                    .and_then(|c| c["name"].as_str().map(str::to_string))
                    .unwrap_or_default();
                categories.insert(cat_id.clone(), name);
            }
            out.push(Tag {
                id,
                name: t["name"].as_str().unwrap_or_default().to_string(),
                category: categories[&cat_id].clone(),
                description: t["description"].as_str().unwrap_or_default().to_string(),
            });
        }
        out.sort_by(|a, b| (&a.category, &a.name).cmp(&(&b.category, &b.name)));
        *self.tag_names.lock().await = Some((
            Instant::now(),
            out.iter()
                .map(|t| (t.id.clone(), format!("{}/{}", t.category, t.name)))
                .collect(),
        ));
        Ok(out)
    }

    /// The ids of the tags on an object.
    async fn attached(&self, obj: &MoRef) -> Result<Vec<String>, BackendError> {
        let attached = self
            .rest(
                Method::POST,
                "/com/vmware/cis/tagging/tag-association",
                Some("list-attached-tags"),
                Some(json!({"object_id": {"id": obj.id, "type": obj.ty}})),
            )
            .await?
            .unwrap_or_default();
        Ok(attached
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `category/tag` for each tag on a VM, for policy: one request, plus
    /// a tag listing when the cached names are stale or miss one. `None`
    /// when the endpoint has no Automation API; any other failure is an
    /// error, so a policy on tags never sees a VM as untagged by mistake.
    pub(super) async fn tag_names_of(
        &self,
        obj: &MoRef,
    ) -> Result<Option<Vec<String>>, BackendError> {
        let ids = match self.attached(obj).await {
            Ok(ids) => ids,
            Err(BackendError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let cached = |names: &Option<(Instant, HashMap<String, String>)>| {
            names.as_ref().and_then(|(at, map)| {
                (at.elapsed() < TAG_NAMES_TTL)
                    .then(|| {
                        ids.iter()
                            .map(|id| map.get(id).cloned())
                            .collect::<Option<Vec<_>>>()
                    })
                    .flatten()
            })
        };
        if let Some(names) = cached(&*self.tag_names.lock().await) {
            return Ok(Some(names));
        }
        self.tags().await?;
        let names = self.tag_names.lock().await;
        let map = names.as_ref().map(|(_, m)| m);
        // A tag deleted since it was listed as attached is left out.
        let mut out: Vec<String> = ids
            .iter()
            .filter_map(|id| map.and_then(|m| m.get(id).cloned()))
            .collect();
        out.sort();
        Ok(Some(out))
    }

    /// The tag an argument names: by id, or by name (and category).
    fn pick_tag<'t>(
        &self,
        tags: &'t [Tag],
        key: &str,
        category: Option<&str>,
    ) -> Result<&'t Tag, BackendError> {
        let found: Vec<&Tag> = tags
            .iter()
            .filter(|t| t.id == key || (t.name == key && category.is_none_or(|c| t.category == c)))
            .collect();
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(BackendError::NotFound {
                endpoint: self.name.clone(),
                what: format!(
                    "tag {key:?}{}",
                    category
                        .map(|c| format!(" in category {c:?}"))
                        .unwrap_or_default()
                ),
            }),
            many => Err(self.invalid(format!(
                "tag {key:?} is in several categories ({}); give category",
                many.iter()
                    .map(|t| t.category.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The tags on an object, in full.
    async fn object_tags(&self, obj: &MoRef) -> Result<Vec<Value>, BackendError> {
        let ids = self.attached(obj).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .tags()
            .await?
            .iter()
            .filter(|t| ids.contains(&t.id))
            .map(Tag::json)
            .collect())
    }

    pub(super) async fn tag_op(&self, op: TagOp, args: &ValidArgs) -> Result<Value, BackendError> {
        if op == TagOp::ListTags {
            return Ok(Value::Array(
                self.tags().await?.iter().map(Tag::json).collect(),
            ));
        }
        let vm = self.vm(args).await?;
        if op == TagOp::VmTags {
            return Ok(json!({"vm": vm.id, "tags": self.object_tags(&vm).await?}));
        }
        let tags = self.tags().await?;
        let tag = self.pick_tag(
            &tags,
            args.str("tag").unwrap_or_default(),
            args.str("category"),
        )?;
        let action = if op == TagOp::ApplyTag {
            "attach"
        } else {
            "detach"
        };
        self.rest(
            Method::POST,
            &format!(
                "/com/vmware/cis/tagging/tag-association/id:{}",
                enc(&tag.id)
            ),
            Some(action),
            Some(json!({"object_id": {"id": vm.id, "type": vm.ty}})),
        )
        .await?
        .ok_or_else(|| BackendError::NotFound {
            endpoint: self.name.clone(),
            what: format!("tag {:?}", tag.name),
        })?;
        let verb = if op == TagOp::ApplyTag {
            "attached"
        } else {
            "detached"
        };
        let mut out = json!({"vm": vm.id});
        out[verb] = tag.json();
        Ok(out)
    }

    /// End the Automation API session (best effort, at shutdown).
    pub(super) async fn rest_logout(&self) {
        if self.vapi.lock().await.is_none() {
            return;
        }
        let _ = self
            .rest(Method::DELETE, "/com/vmware/cis/session", None, None)
            .await;
        *self.vapi.lock().await = None;
    }
}

/// A tag or category id as one URL path segment.
fn enc(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}
