//! Files that move over HTTP beside the SOAP API: datastore files through
//! vCenter's `/folder` service, guest files through the URLs the guest file
//! manager hands out, console screenshots.
//!
//! A transfer URL vCenter hands out may name another host (an ESXi host).
//! Portcullis contacts configured hosts only: the endpoint, and the hosts
//! its `transfer_hosts` lists (which never receive the session cookie);
//! any other URL is refused. `*` as a URL's host means "the host you
//! asked", which is the endpoint.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::tools::{FileOp, MAX_FILE_BYTES};
use super::xml::{el, moref, MoRef};
use super::{http, request, transport_error, BackendError, VimClient};
use crate::catalog::ValidArgs;
use crate::util::sha256_hex;

/// A screenshot may be larger than a file a call carries.
const MAX_SCREENSHOT_BYTES: usize = 4 * MAX_FILE_BYTES;

/// A file as a tool returns it: text when it is UTF-8, base64 otherwise,
/// with its length and digest so the agent can check what it got.
pub(super) fn file_json(bytes: &[u8]) -> Value {
    let (encoding, content) = match std::str::from_utf8(bytes) {
        Ok(text) => ("utf-8", text.to_string()),
        Err(_) => ("base64", B64.encode(bytes)),
    };
    json!({
        "encoding": encoding,
        "content": content,
        "bytes": bytes.len(),
        "sha256": sha256_hex(bytes),
    })
}

/// `[datastore] path/in/it` → (datastore, path).
pub(super) fn split_datastore_path(p: &str) -> Option<(&str, &str)> {
    let rest = p.strip_prefix('[')?;
    let (ds, path) = rest.split_once(']')?;
    Some((ds, path.trim_start()))
}

impl VimClient {
    /// A transfer URL vCenter handed out, made contactable: a `*` host
    /// becomes the endpoint; any other host must be the endpoint itself.
    pub(super) fn transfer_url(&self, raw: &str) -> Result<url::Url, BackendError> {
        let raw = match raw.split_once("://*") {
            Some((scheme, rest)) => {
                let rest = match rest.strip_prefix(':') {
                    Some(r) => r.trim_start_matches(|c: char| c.is_ascii_digit()),
                    None => rest,
                };
                format!("{scheme}://{}{rest}", http::authority(&self.url))
            }
            None => raw.to_string(),
        };
        let u = url::Url::parse(&raw)
            .map_err(|_| self.err_garbage("a transfer URL that does not parse"))?;
        let listed = u.scheme() == "https"
            && u.host_str().is_some_and(|h| {
                self.transfer_hosts
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(h))
            });
        if !self.is_endpoint(&u) && !listed {
            return Err(BackendError::OffEndpoint {
                endpoint: self.name.clone(),
                host: u.host_str().unwrap_or_default().chars().take(255).collect(),
            });
        }
        Ok(u)
    }

    /// Whether a URL is on the endpoint itself (same scheme, host, port).
    fn is_endpoint(&self, u: &url::Url) -> bool {
        u.scheme() == self.url.scheme()
            && u.host_str() == self.url.host_str()
            && u.port_or_known_default() == self.url.port_or_known_default()
    }

    /// A transfer request; it carries the session cookie only when it goes
    /// to the endpoint (an ESXi host's transfer URL has its own ticket).
    fn transfer_request(
        &self,
        method: Method,
        url: &url::Url,
        cookie: &SecretString,
    ) -> Result<reqwest::RequestBuilder, BackendError> {
        let req = self.http.request(method, url.clone());
        Ok(if self.is_endpoint(url) {
            req.header(reqwest::header::COOKIE, self.cookie_header(cookie)?)
        } else {
            req
        })
    }

    /// A response's status as an error the agent can act on.
    async fn checked(
        &self,
        resp: reqwest::Response,
        what: &str,
    ) -> Result<reqwest::Response, BackendError> {
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(resp);
        }
        let endpoint = self.name.clone();
        let text = http::read_body_limited(&self.name, self.timeout, resp, 4096)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        let message = self.scrub(super::shorten(if text.is_empty() {
            what.to_string()
        } else {
            text
        }));
        Err(match status {
            404 => BackendError::NotFound {
                endpoint,
                what: what.to_string(),
            },
            _ => super::status_error(endpoint, status, message),
        })
    }

    /// One HTTP transfer on the endpoint with the session cookie; logs in
    /// again once if the session has expired.
    pub(super) async fn transfer(
        &self,
        method: Method,
        url: &url::Url,
        body: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<u8>, BackendError> {
        let mut renewed = false;
        loop {
            let (cookie, _, generation) = self.current().await?;
            let mut req = self.transfer_request(method.clone(), url, &cookie)?;
            if let Some(b) = body {
                req = req
                    .header("content-type", "application/octet-stream")
                    .body(b.to_vec());
            }
            let resp = req
                .send()
                .await
                .map_err(|e| transport_error(&self.name, self.timeout, e))?;
            if resp.status() == reqwest::StatusCode::UNAUTHORIZED && !renewed {
                renewed = true;
                self.renew(generation).await?;
                continue;
            }
            let resp = self.checked(resp, &format!("file {}", url.path())).await?;
            return http::read_body_limited(&self.name, self.timeout, resp, limit).await;
        }
    }

    /// Stream a file from one URL on the endpoint to another (a disk from
    /// a datastore to an import lease, or from an export lease to a
    /// datastore) without holding it in memory. Returns the bytes moved.
    pub(super) async fn copy(
        &self,
        from: &url::Url,
        method: Method,
        to: &url::Url,
    ) -> Result<u64, BackendError> {
        let (cookie, _, _) = self.current().await?;
        let src = self
            .transfer_request(Method::GET, from, &cookie)?
            .send()
            .await
            .map_err(|e| transport_error(&self.name, self.timeout, e))?;
        let src = self.checked(src, &format!("file {}", from.path())).await?;
        let len = src.content_length();
        let counted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let seen = counted.clone();
        let stream = futures_util::StreamExt::inspect(src.bytes_stream(), move |chunk| {
            if let Ok(c) = chunk {
                seen.fetch_add(c.len() as u64, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let mut req = self
            .transfer_request(method, to, &cookie)?
            .header("content-type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(stream));
        if let Some(l) = len {
            req = req.header(reqwest::header::CONTENT_LENGTH, l);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(&self.name, self.timeout, e))?;
        self.checked(resp, &format!("upload target {}", to.path()))
            .await?;
        Ok(counted.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The `/folder` URL of a file on a datastore, and the datastore's
    /// name.
    pub(super) async fn datastore_file(
        &self,
        datastore: &MoRef,
        path: &str,
    ) -> Result<(url::Url, String), BackendError> {
        let (name, _, dc_name) = self.datastore_place(datastore).await?;
        let mut u = self.url.clone();
        u.set_path("/folder");
        u.path_segments_mut()
            .map_err(|_| self.invalid("the endpoint URL cannot take a path"))?
            .extend(path.split('/'));
        u.query_pairs_mut()
            .clear()
            .append_pair("dcPath", &dc_name)
            .append_pair("dsName", &name);
        Ok((u, name))
    }

    /// A datastore's name, and the datacenter it is in (and that one's
    /// name).
    async fn datastore_place(
        &self,
        datastore: &MoRef,
    ) -> Result<(String, MoRef, String), BackendError> {
        let inv = self.inventory(false).await?;
        let name = inv.name(datastore).unwrap_or_default().to_string();
        let dc = inv
            .ancestor(datastore, "Datacenter")
            .ok_or_else(|| self.invalid(format!("datastore {name:?} is in no datacenter")))?;
        let dc_name = inv.name(&dc).unwrap_or_default().to_string();
        Ok((name, dc, dc_name))
    }

    /// The datastore the call's `datastore` argument names.
    pub(super) async fn datastore_arg(&self, args: &ValidArgs) -> Result<MoRef, BackendError> {
        self.find(
            "Datastore",
            "datastore",
            args.str("datastore").unwrap_or_default(),
        )
        .await
    }

    /// Refuse to replace a datastore file the call did not say to replace.
    pub(super) async fn ensure_absent(
        &self,
        url: &url::Url,
        shown: &str,
    ) -> Result<(), BackendError> {
        match self.transfer(Method::HEAD, url, None, 0).await {
            Ok(_) => {
                Err(self.invalid(format!("{shown} exists; pass overwrite=true to replace it")))
            }
            Err(BackendError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Read a file given as `[datastore] path`.
    async fn read_datastore_path(
        &self,
        ds_path: &str,
        limit: usize,
    ) -> Result<Vec<u8>, BackendError> {
        let (ds, path) = split_datastore_path(ds_path)
            .ok_or_else(|| self.err_garbage(format!("{ds_path:?} is not a datastore path")))?;
        let datastore = self.find("Datastore", "datastore", ds).await?;
        let (url, _) = self.datastore_file(&datastore, path).await?;
        self.transfer(Method::GET, &url, None, limit).await
    }

    async fn file_manager(&self) -> Result<MoRef, BackendError> {
        let (_, content, _) = self.current().await?;
        content
            .file_manager
            .ok_or_else(|| self.invalid("this vCenter offers no file manager"))
    }

    /// A datastore entry as FileManager methods name it: `[datastore]
    /// path` and the datacenter the datastore is in.
    async fn datastore_entry(
        &self,
        datastore: &MoRef,
        path: &str,
    ) -> Result<(String, MoRef), BackendError> {
        let (name, dc, _) = self.datastore_place(datastore).await?;
        Ok((format!("[{name}] {path}"), dc))
    }

    /// Delete, make a folder, move or copy: FileManager's datastore file
    /// methods.
    async fn datastore_file_op(
        &self,
        op: FileOp,
        args: &ValidArgs,
        wait: Option<std::time::Duration>,
        progress: Option<&crate::backends::ProgressSink>,
    ) -> Result<Value, BackendError> {
        let manager = self.file_manager().await?;
        let ds = self.datastore_arg(args).await?;
        let path = args.str("path").unwrap_or_default();
        let (name, dc) = self.datastore_entry(&ds, path).await?;
        let (method, body) = match op {
            FileOp::DeleteDatastoreFile => (
                "DeleteDatastoreFile_Task",
                format!("{}{}", el("name", &name), moref("datacenter", &dc)),
            ),
            FileOp::MakeDatastoreFolder => {
                let body = format!(
                    "{}{}<createParentDirectories>true</createParentDirectories>",
                    el("name", &name),
                    moref("datacenter", &dc)
                );
                self.call("MakeDirectory", |_| {
                    request("MakeDirectory", &manager, &body)
                })
                .await?;
                return Ok(json!({"path": name, "created": true}));
            }
            _ => {
                let dest_ds = match args.str("dest_datastore") {
                    Some(d) => self.find("Datastore", "datastore", d).await?,
                    None => ds.clone(),
                };
                let dest_path = args.str("dest_path").unwrap_or(path);
                let (dest, dest_dc) = self.datastore_entry(&dest_ds, dest_path).await?;
                if dest == name {
                    return Err(self.invalid(format!(
                        "the destination is the source ({name}): give dest_path or dest_datastore"
                    )));
                }
                let method = if op == FileOp::MoveDatastoreFile {
                    "MoveDatastoreFile_Task"
                } else {
                    "CopyDatastoreFile_Task"
                };
                // In the WSDL's order: source, its datacenter, destination,
                // its datacenter, force.
                let body = format!(
                    "{}{}{}{}<force>{}</force>",
                    el("sourceName", &name),
                    moref("sourceDatacenter", &dc),
                    el("destinationName", &dest),
                    moref("destinationDatacenter", &dest_dc),
                    args.bool("overwrite").unwrap_or(false)
                );
                let mut out = self
                    .run_task(method, &manager, &body, wait, progress)
                    .await?;
                out["path"] = json!(name);
                out["destination"] = json!(dest);
                return Ok(out);
            }
        };
        let mut out = self
            .run_task(method, &manager, &body, wait, progress)
            .await?;
        out["path"] = json!(name);
        Ok(out)
    }

    pub(super) async fn file_op(
        &self,
        op: FileOp,
        args: &ValidArgs,
        wait: Option<std::time::Duration>,
        progress: Option<&crate::backends::ProgressSink>,
    ) -> Result<Value, BackendError> {
        let content = || {
            args.content("content")
                .map_err(|e| self.invalid(e.to_string()))
                .map(Option::unwrap_or_default)
        };
        let overwrite = args.bool("overwrite").unwrap_or(false);
        match op {
            FileOp::DeleteDatastoreFile
            | FileOp::MakeDatastoreFolder
            | FileOp::MoveDatastoreFile
            | FileOp::CopyDatastoreFile => self.datastore_file_op(op, args, wait, progress).await,
            FileOp::UploadToDatastore | FileOp::DownloadFromDatastore => {
                let ds = self.datastore_arg(args).await?;
                let path = args.str("path").unwrap_or_default();
                let (url, name) = self.datastore_file(&ds, path).await?;
                let shown = format!("[{name}] {path}");
                if op == FileOp::DownloadFromDatastore {
                    let bytes = self
                        .transfer(Method::GET, &url, None, MAX_FILE_BYTES)
                        .await?;
                    let mut out = file_json(&bytes);
                    out["path"] = json!(shown);
                    return Ok(out);
                }
                let bytes = content()?;
                if !overwrite {
                    self.ensure_absent(&url, &shown).await?;
                }
                self.transfer(Method::PUT, &url, Some(&bytes), 4096).await?;
                Ok(json!({
                    "path": shown,
                    "bytes": bytes.len(),
                    "sha256": sha256_hex(&bytes),
                }))
            }
            FileOp::Screenshot => {
                let vm = self.vm(args).await?;
                let done = self
                    .run_task(
                        "CreateScreenshot_Task",
                        &vm,
                        "",
                        Some(self.timeout.max(std::time::Duration::from_secs(60))),
                        None,
                    )
                    .await?;
                let ds_path = done["result"]
                    .as_str()
                    .ok_or_else(|| self.err_garbage("CreateScreenshot_Task returned no file"))?
                    .to_string();
                let png = self
                    .read_datastore_path(&ds_path, MAX_SCREENSHOT_BYTES)
                    .await?;
                Ok(json!({
                    "vm": vm.id,
                    "file": ds_path,
                    "image": {"mime_type": "image/png", "data": B64.encode(&png), "bytes": png.len()},
                }))
            }
            FileOp::ReadGuestFile | FileOp::WriteGuestFile => {
                let vm = self.vm(args).await?;
                let (_, files) = self.guest_managers().await?;
                let path = args.str("path").unwrap_or_default();
                let auth = Zeroizing::new(format!(
                    "{}{}",
                    super::guest::guest_head(&vm, args).as_str(),
                    el("guestFilePath", path),
                ));
                if op == FileOp::ReadGuestFile {
                    let body =
                        Zeroizing::new(request("InitiateFileTransferFromGuest", &files, &auth));
                    let x = self
                        .call("InitiateFileTransferFromGuest", |_| body.to_string())
                        .await?;
                    let info = x.child("returnval");
                    let size = info
                        .and_then(|i| i.at(&["size"]))
                        .and_then(|s| s.parse::<u64>().ok())
                        .unwrap_or(0);
                    if size > MAX_FILE_BYTES as u64 {
                        return Err(self.invalid(format!(
                            "{path} is {size} bytes; this tool reads at most {MAX_FILE_BYTES}"
                        )));
                    }
                    let raw = info
                        .and_then(|i| i.at(&["url"]))
                        .ok_or_else(|| self.err_garbage("a guest file transfer without a URL"))?;
                    let url = self.transfer_url(raw)?;
                    let bytes = self
                        .transfer(Method::GET, &url, None, MAX_FILE_BYTES)
                        .await?;
                    let mut out = file_json(&bytes);
                    out["vm"] = json!(vm.id);
                    out["path"] = json!(path);
                    return Ok(out);
                }
                let bytes = content()?;
                let rest = format!(
                    "{}<fileAttributes xsi:type=\"GuestFileAttributes\"></fileAttributes><fileSize>{}</fileSize><overwrite>{overwrite}</overwrite>",
                    auth.as_str(),
                    bytes.len()
                );
                let body = Zeroizing::new(request("InitiateFileTransferToGuest", &files, &rest));
                let x = self
                    .call("InitiateFileTransferToGuest", |_| body.to_string())
                    .await?;
                let raw = x
                    .at(&["returnval"])
                    .ok_or_else(|| self.err_garbage("a guest file transfer without a URL"))?;
                let url = self.transfer_url(raw)?;
                self.transfer(Method::PUT, &url, Some(&bytes), 4096).await?;
                Ok(json!({
                    "vm": vm.id,
                    "path": path,
                    "bytes": bytes.len(),
                    "sha256": sha256_hex(&bytes),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datastore_paths_split() {
        assert_eq!(
            split_datastore_path("[LocalDS_0] vm1/shot-1.png"),
            Some(("LocalDS_0", "vm1/shot-1.png"))
        );
        assert_eq!(split_datastore_path("LocalDS_0/vm1"), None);
    }

    #[test]
    fn files_come_back_as_text_or_base64() {
        let text = file_json(b"hello");
        assert_eq!(text["encoding"], "utf-8");
        assert_eq!(text["content"], "hello");
        let bin = file_json(&[0xff, 0x00, 0x10]);
        assert_eq!(bin["encoding"], "base64");
        assert_eq!(bin["content"], "/wAQ");
        assert_eq!(bin["bytes"], 3);
    }
}
