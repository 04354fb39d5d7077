//! OVF on a datastore: list the networks a descriptor asks for, and deploy
//! it (OvfManager.CreateImportSpec → ResourcePool.ImportVApp → upload each
//! disk to the lease's device URL → complete the lease). The descriptor
//! and its disks are read from the datastore, so nothing on Portcullis's
//! own disk is ever read or written.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::tools::{OvfOp, MAX_FILE_BYTES};
use super::xml::{el, moref, MoRef, Xml};
use super::{request, BackendError, Progress, ProgressSink, VimClient};
use crate::catalog::ValidArgs;

const OVF_NS: &str = "http://schemas.dmtf.org/ovf/envelope/1";

/// What a descriptor declares that an operator maps or checks before a
/// deployment.
#[derive(Debug, PartialEq)]
pub(super) struct Descriptor {
    pub networks: Vec<(String, String)>,
    /// `(id, href, size)` of each referenced file.
    pub files: Vec<(String, String, Option<u64>)>,
}

pub(super) fn parse_descriptor(text: &str) -> Result<Descriptor, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if root.tag_name().name() != "Envelope" {
        return Err(format!(
            "the root element is {:?}, not an OVF Envelope",
            root.tag_name().name()
        ));
    }
    let attr = |n: &roxmltree::Node, name: &str| {
        n.attribute((OVF_NS, name))
            .or_else(|| n.attribute(name))
            .map(str::to_string)
    };
    // Elements `name` directly inside a `section` element.
    let in_section = |section: &'static str, name: &'static str| {
        root.descendants().filter(move |n| {
            n.tag_name().name() == name
                && n.parent_element()
                    .is_some_and(|p| p.tag_name().name() == section)
        })
    };
    let networks = in_section("NetworkSection", "Network")
        .filter_map(|n| {
            let description = n
                .children()
                .find(|c| c.tag_name().name() == "Description")
                .and_then(|c| c.text())
                .unwrap_or_default()
                .trim()
                .to_string();
            attr(&n, "name").map(|name| (name, description))
        })
        .collect();
    let files = in_section("References", "File")
        .filter_map(|n| {
            Some((
                attr(&n, "id")?,
                attr(&n, "href")?,
                attr(&n, "size").and_then(|s| s.parse().ok()),
            ))
        })
        .collect();
    Ok(Descriptor { networks, files })
}

/// How long a lease may take to become ready: the call's wait, or an hour.
fn lease_limit(wait: Option<Duration>) -> Duration {
    wait.unwrap_or(Duration::from_secs(3600))
}

/// A name vCenter chose (a VM's, a lease target's) as one safe file name.
fn file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.trim_start_matches('.') {
        "" => "export".to_string(),
        rest => rest.to_string(),
    }
}

/// A file an OVF references, as a path beside the descriptor. Absolute
/// URLs and paths that climb out are refused: disks come from the same
/// datastore folder, never from a host the OVF names.
fn beside(ovf_path: &str, href: &str) -> Option<String> {
    if href.contains("://")
        || href.starts_with('/')
        || href.contains('\\')
        || href
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return None;
    }
    Some(match ovf_path.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{href}"),
        None => href.to_string(),
    })
}

impl VimClient {
    async fn ovf_manager(&self) -> Result<MoRef, BackendError> {
        let (_, content, _) = self.current().await?;
        content
            .ovf_manager
            .ok_or_else(|| self.invalid("this vCenter offers no OVF manager"))
    }

    pub(super) async fn ovf_op(
        &self,
        op: OvfOp,
        args: &ValidArgs,
        wait: Option<Duration>,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        if op == OvfOp::ExportOvf {
            return self.export_ovf(args, wait, progress).await;
        }
        let ds = self.datastore_arg(args).await?;
        let ovf_path = args.str("path").unwrap_or_default();
        let (url, ds_name) = self.datastore_file(&ds, ovf_path).await?;
        let text = self
            .transfer(Method::GET, &url, None, MAX_FILE_BYTES)
            .await?;
        let text = String::from_utf8(text).map_err(|_| {
            self.invalid(format!(
                "{ovf_path} is not UTF-8 text: is it an .ovf descriptor?"
            ))
        })?;
        let desc = parse_descriptor(&text)
            .map_err(|e| self.invalid(format!("{ovf_path} is not an OVF descriptor: {e}")))?;
        if op == OvfOp::ListOvfNetworks {
            return Ok(json!({
                "ovf": format!("[{ds_name}] {ovf_path}"),
                "networks": desc.networks.iter().map(|(n, d)| json!({"name": n, "description": d})).collect::<Vec<_>>(),
                "files": desc.files.iter().map(|(id, href, size)| json!({"id": id, "href": href, "size": size})).collect::<Vec<_>>(),
            }));
        }
        let name = args.str("name").unwrap_or_default();
        let host = self.host_or_first(args.str("host")).await?;
        let pool = self.pool_of_host(&host).await?;
        let folder = self.vm_folder_or_default(args.str("folder")).await?;
        let network = match args.str("network") {
            Some(n) => Some(self.network(n).await?),
            None => self.props(&host, &["network"]).await?.and_then(|p| {
                p.values
                    .get("network")
                    .and_then(|n| n.children.first().and_then(Xml::moref))
            }),
        };
        let mapping: String = network
            .map(|net| {
                desc.networks
                    .iter()
                    .map(|(n, _)| {
                        format!(
                            "<networkMapping>{}{}</networkMapping>",
                            el("name", n),
                            moref("network", &net)
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let ovf_manager = self.ovf_manager().await?;
        // OvfCreateImportSpecParams in the WSDL's order.
        let cisp = format!(
            "<cisp><locale></locale><deploymentOption></deploymentOption>{}{}{mapping}</cisp>",
            el("entityName", name),
            moref("hostSystem", &host),
        );
        let x = self
            .call("CreateImportSpec", |_| {
                request(
                    "CreateImportSpec",
                    &ovf_manager,
                    &format!(
                        "{}{}{}{cisp}",
                        el("ovfDescriptor", &text),
                        moref("resourcePool", &pool),
                        moref("datastore", &ds)
                    ),
                )
            })
            .await?;
        let result = x
            .child("returnval")
            .ok_or_else(|| self.err_garbage("CreateImportSpec without a result"))?;
        if let Some(e) = result.child("error") {
            let message = e.at(&["localizedMessage"]).unwrap_or("no message");
            return Err(self.invalid(format!("vCenter cannot import {ovf_path}: {message}")));
        }
        let mut spec = result
            .child("importSpec")
            .cloned()
            .ok_or_else(|| self.err_garbage("CreateImportSpec without an import spec"))?;
        spec.name = "spec".into();
        // Each disk vCenter wants, with the file that feeds it.
        let mut uploads = Vec::new();
        for item in result.all("fileItem") {
            let href = item.at(&["path"]).unwrap_or_default();
            let path = beside(ovf_path, href).ok_or_else(|| {
                self.invalid(format!(
                    "{ovf_path} references {href:?}, which is not a file beside it"
                ))
            })?;
            uploads.push((
                item.at(&["deviceId"]).unwrap_or_default().to_string(),
                path,
                item.at(&["create"]) == Some("true"),
            ));
        }
        let x = self
            .call("ImportVApp", |_| {
                request(
                    "ImportVApp",
                    &pool,
                    &format!(
                        "{}{}{}",
                        spec.to_xml(),
                        moref("folder", &folder),
                        moref("host", &host)
                    ),
                )
            })
            .await?;
        let lease = x
            .child("returnval")
            .and_then(Xml::moref)
            .ok_or_else(|| self.err_garbage("ImportVApp did not return a lease"))?;
        self.inventory.invalidate();
        let outcome = self
            .fill_lease(&lease, &ds, &uploads, lease_limit(wait), progress)
            .await;
        let vm = self.end_lease(&lease, outcome).await?;
        Ok(json!({
            "vm": vm.as_ref().map(|m| m.id.clone()),
            "name": name,
            "ovf": format!("[{ds_name}] {ovf_path}"),
            "disks_uploaded": uploads.len(),
        }))
    }

    /// Export a powered-off VM as OVF into a datastore folder: its disks
    /// streamed from the export lease, then the descriptor vCenter writes
    /// for them.
    async fn export_ovf(
        &self,
        args: &ValidArgs,
        wait: Option<Duration>,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let vm = self.vm(args).await?;
        let ds = self.datastore_arg(args).await?;
        let folder = args.str("folder").unwrap_or_default();
        let vm_name = self
            .inventory(false)
            .await?
            .name(&vm)
            .unwrap_or(&vm.id)
            .to_string();
        let ovf_file = format!("{folder}/{}.ovf", file_name(&vm_name));
        let (ovf_url, ds_name) = self.datastore_file(&ds, &ovf_file).await?;
        if !args.bool("overwrite").unwrap_or(false) {
            self.ensure_absent(&ovf_url, &format!("[{ds_name}] {ovf_file}"))
                .await?;
        }
        let ovf_manager = self.ovf_manager().await?;
        let x = self
            .call("ExportVm", |_| request("ExportVm", &vm, ""))
            .await?;
        let lease = x
            .child("returnval")
            .and_then(Xml::moref)
            .ok_or_else(|| self.err_garbage("ExportVm did not return a lease"))?;
        let outcome = async {
            let info = self.ready_lease(&lease, lease_limit(wait)).await?;
            let devices: Vec<&Xml> = info.all("deviceUrl").collect();
            let mut files = Vec::new();
            for (n, d) in devices.iter().enumerate() {
                let (Some(url), Some(target)) = (d.at(&["url"]), d.at(&["targetId"])) else {
                    continue;
                };
                let name = file_name(target);
                let from = self.transfer_url(url)?;
                let (to, _) = self
                    .datastore_file(&ds, &format!("{folder}/{name}"))
                    .await?;
                let size = self.copy(&from, Method::PUT, &to).await?;
                self.lease_progress(
                    &lease,
                    n + 1,
                    devices.len(),
                    &format!("exported {name}"),
                    progress,
                )
                .await;
                files.push((d.at(&["key"]).unwrap_or_default().to_string(), name, size));
            }
            // OvfCreateDescriptorParams in the WSDL's order.
            let cdp = format!(
                "<cdp>{}{}</cdp>",
                files
                    .iter()
                    .map(|(key, path, size)| format!(
                        "<ovfFiles>{}{}{}</ovfFiles>",
                        el("deviceId", key),
                        el("path", path),
                        el("size", &size.to_string())
                    ))
                    .collect::<String>(),
                el("name", &vm_name)
            );
            let x = self
                .call("CreateDescriptor", |_| {
                    request(
                        "CreateDescriptor",
                        &ovf_manager,
                        &format!("{}{cdp}", moref("obj", &vm)),
                    )
                })
                .await?;
            let descriptor = x
                .at(&["returnval", "ovfDescriptor"])
                .ok_or_else(|| self.err_garbage("CreateDescriptor returned no descriptor"))?
                .to_string();
            self.transfer(Method::PUT, &ovf_url, Some(descriptor.as_bytes()), 4096)
                .await?;
            Ok(files)
        }
        .await;
        let files = self.end_lease(&lease, outcome).await?;
        Ok(json!({
            "vm": vm.id,
            "ovf": format!("[{ds_name}] {ovf_file}"),
            "files": files.iter().map(|(_, name, size)| json!({"path": format!("[{ds_name}] {folder}/{name}"), "bytes": size})).collect::<Vec<_>>(),
        }))
    }

    /// Wait for a lease to be ready; its info (device URLs) then.
    async fn ready_lease(&self, lease: &MoRef, limit: Duration) -> Result<Xml, BackendError> {
        let start = Instant::now();
        loop {
            let p = self
                .props(lease, &["state", "info", "error"])
                .await?
                .ok_or_else(|| self.err_garbage(format!("lease {} vanished", lease.id)))?;
            match p.text("state") {
                Some("ready") => return Ok(p.values.get("info").cloned().unwrap_or_default()),
                Some("error") => {
                    let message = p
                        .values
                        .get("error")
                        .and_then(|e| e.at(&["localizedMessage"]))
                        .unwrap_or("no message");
                    return Err(self.invalid(format!("the import lease failed: {message}")));
                }
                _ if start.elapsed() > limit => {
                    return Err(self.invalid("the import lease did not become ready in time"))
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Tell vCenter how far a lease's transfer is (it times out leases
    /// that report nothing) and the client too.
    async fn lease_progress(
        &self,
        lease: &MoRef,
        done: usize,
        of: usize,
        what: &str,
        progress: Option<&ProgressSink>,
    ) {
        let percent = (done * 100 / of.max(1)) as i64;
        let _ = self
            .call_fault("HttpNfcLeaseProgress", |_| {
                request(
                    "HttpNfcLeaseProgress",
                    lease,
                    &el("percent", &percent.to_string()),
                )
            })
            .await;
        if let Some(sink) = progress {
            let _ = sink.send(Progress {
                progress: percent as f64,
                total: Some(100.0),
                message: what.to_string(),
            });
        }
    }

    /// End a lease: complete it when the work succeeded, abort it (vCenter
    /// then removes what was half made) when not.
    async fn end_lease<T>(
        &self,
        lease: &MoRef,
        outcome: Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        match outcome {
            Ok(v) => {
                self.call("HttpNfcLeaseComplete", |_| {
                    request("HttpNfcLeaseComplete", lease, "")
                })
                .await?;
                self.inventory.invalidate();
                Ok(v)
            }
            Err(e) => {
                let _ = self
                    .call_fault("HttpNfcLeaseAbort", |_| {
                        request("HttpNfcLeaseAbort", lease, "")
                    })
                    .await;
                Err(e)
            }
        }
    }

    /// Wait for the lease, then upload each disk to its device URL.
    /// Returns the VM being made.
    async fn fill_lease(
        &self,
        lease: &MoRef,
        ds: &MoRef,
        uploads: &[(String, String, bool)],
        limit: Duration,
        progress: Option<&ProgressSink>,
    ) -> Result<Option<MoRef>, BackendError> {
        let info = self.ready_lease(lease, limit).await?;
        let devices: Vec<&Xml> = info.all("deviceUrl").collect();
        for (n, (device, path, create)) in uploads.iter().enumerate() {
            let target = devices
                .iter()
                .find(|d| d.at(&["importKey"]) == Some(device.as_str()))
                .and_then(|d| d.at(&["url"]))
                .ok_or_else(|| self.err_garbage(format!("the lease has no URL for {device}")))?;
            let to = self.transfer_url(target)?;
            let (from, _) = self.datastore_file(ds, path).await?;
            let method = if *create { Method::PUT } else { Method::POST };
            self.copy(&from, method, &to).await?;
            self.lease_progress(
                lease,
                n + 1,
                uploads.len(),
                &format!("uploaded {path}"),
                progress,
            )
            .await;
        }
        Ok(info.child("entity").and_then(Xml::moref))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OVF: &str = r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References><File ovf:id="file1" ovf:href="disk1.vmdk" ovf:size="1024"/></References>
  <NetworkSection><Info>nets</Info>
    <Network ovf:name="VM Network"><Description>The VM Network network</Description></Network>
    <Network ovf:name="backend"/>
  </NetworkSection>
</Envelope>"#;

    #[test]
    fn descriptors_give_networks_and_files() {
        let d = parse_descriptor(OVF).unwrap();
        assert_eq!(
            d.networks,
            vec![
                ("VM Network".into(), "The VM Network network".into()),
                ("backend".into(), String::new())
            ]
        );
        assert_eq!(
            d.files,
            vec![("file1".into(), "disk1.vmdk".into(), Some(1024))]
        );
        assert!(parse_descriptor("<html/>")
            .unwrap_err()
            .contains("not an OVF Envelope"));
        assert!(parse_descriptor("<!DOCTYPE x [<!ENTITY a 'b'>]><Envelope/>").is_err());
    }

    #[test]
    fn names_from_vcenter_become_safe_file_names() {
        assert_eq!(file_name("web-01"), "web-01");
        assert_eq!(file_name("a/b c"), "a_b_c");
        assert_eq!(file_name(".."), "export");
        assert_eq!(file_name("../x"), "_x");
    }

    #[test]
    fn referenced_files_stay_beside_the_descriptor() {
        assert_eq!(
            beside("t/web.ovf", "disk1.vmdk").as_deref(),
            Some("t/disk1.vmdk")
        );
        assert_eq!(
            beside("web.ovf", "disk1.vmdk").as_deref(),
            Some("disk1.vmdk")
        );
        for bad in [
            "../x.vmdk",
            "/etc/passwd",
            "https://evil/x.vmdk",
            "a//b",
            "a\\b",
        ] {
            assert_eq!(beside("t/web.ovf", bad), None, "{bad}");
        }
    }
}
