//! Virtual disks, network adapters, serial ports and CD/DVD drives: read
//! from `config.hardware.device`,
//! changed with ReconfigVM_Task device changes. An existing device is sent
//! back to vCenter as it described it (changed where needed), as govmomi
//! does, so no property of it is lost.

use std::time::Duration;

use serde_json::{json, Value};

use super::tools::DeviceOp;
use super::xml::{el, escape, MoRef, Xml};
use super::{BackendError, VimClient};
use crate::backends::ProgressSink;
use crate::catalog::ValidArgs;

const NIC_TYPES: [&str; 6] = [
    "VirtualE1000",
    "VirtualE1000e",
    "VirtualVmxnet3",
    "VirtualVmxnet2",
    "VirtualPCNet32",
    "VirtualSriovEthernetCard",
];
const DISK_CONTROLLERS: [&str; 5] = [
    "VirtualLsiLogicController",
    "VirtualLsiLogicSASController",
    "ParaVirtualSCSIController",
    "VirtualBusLogicController",
    "VirtualIDEController",
];
const KB_PER_GB: i64 = 1024 * 1024;

fn label(d: &Xml) -> &str {
    d.at(&["deviceInfo", "label"]).unwrap_or_default()
}

fn is_disk(d: &Xml) -> bool {
    d.xsi_type.as_deref() == Some("VirtualDisk")
}

fn is_serial(d: &Xml) -> bool {
    d.xsi_type.as_deref() == Some("VirtualSerialPort")
}

fn serial_json(d: &Xml) -> Value {
    json!({
        "label": label(d),
        "key": int(d, &["key"]),
        "uri": d.at(&["backing", "serviceURI"]),
        "direction": d.at(&["backing", "direction"]),
        "backing": d.child("backing").and_then(|b| b.xsi_type.clone()),
        "connected": d.at(&["connectable", "connected"]).map(|t| t == "true"),
    })
}

/// A network serial port URI: `telnet://:2001`, `tcp://host:2001` …
fn serial_uri_ok(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return false;
    };
    let Some((host, port)) = rest.rsplit_once(':') else {
        return false;
    };
    ["telnet", "telnets", "tcp", "tcp4", "tcp6", "ssl", "tls"].contains(&scheme)
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-[]:".contains(c))
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

/// The device with its connection state set.
fn connected(d: &Xml, on: bool) -> Xml {
    let mut d = d.clone();
    if d.child("connectable").is_none() {
        d.children.push(Xml {
            name: "connectable".into(),
            ..Xml::default()
        });
    }
    if let Some(c) = d.child_mut("connectable") {
        c.set("startConnected", &on.to_string());
        c.set("connected", &on.to_string());
    }
    d
}

fn is_cdrom(d: &Xml) -> bool {
    d.xsi_type.as_deref() == Some("VirtualCdrom")
}

/// A drive's backing that holds an ISO image from a datastore.
fn iso_backing(file: &str) -> String {
    format!(
        "<backing xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"VirtualCdromIsoBackingInfo\">{}</backing>",
        el("fileName", file)
    )
}

/// An empty drive: a client-device backing with no device, as vSphere's
/// own clients leave a drive whose image was ejected.
const EJECTED_BACKING: &str = "<backing xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"VirtualCdromRemotePassthroughBackingInfo\"><deviceName></deviceName><useAutoDetect>false</useAutoDetect><exclusive>false</exclusive></backing>";

/// The device with `backing` in place of its own.
fn with_backing(d: &Xml, backing: &str) -> Result<Xml, BackendError> {
    let backing = Xml::parse(backing).map_err(BackendError::Internal)?;
    let mut d = d.clone();
    match d.children.iter_mut().find(|c| c.name == "backing") {
        Some(b) => *b = backing,
        None => d.children.push(backing),
    }
    Ok(d)
}

/// `[datastore] path` of an ISO from the call's `iso_path` (bracketed, or
/// a path inside `datastore`), its path checked to stay inside the
/// datastore.
fn iso_location<'a>(
    iso_path: &'a str,
    datastore: Option<&'a str>,
) -> Result<(&'a str, &'a str), String> {
    let (ds, path) = match (super::files::split_datastore_path(iso_path), datastore) {
        (Some((ds, path)), None) => (ds, path),
        (Some((ds, path)), Some(given)) if ds == given => (ds, path),
        (Some((ds, _)), Some(given)) => {
            return Err(format!(
                "iso_path names datastore {ds:?} and datastore says {given:?}; give one"
            ))
        }
        (None, Some(ds)) => (ds, iso_path),
        (None, None) => {
            return Err(format!(
                "iso_path {iso_path:?} names no datastore and the VM's own is unknown: write it as \"[datastore] path/to.iso\" or pass datastore"
            ))
        }
    };
    let climbs = path
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if ds.is_empty() || climbs || path.contains('\\') {
        return Err(format!(
            "iso_path {iso_path:?} must be a relative path inside the datastore (no empty, . or .. segments)"
        ));
    }
    Ok((ds, path))
}

fn is_nic(d: &Xml) -> bool {
    d.xsi_type
        .as_deref()
        .is_some_and(|t| NIC_TYPES.contains(&t))
}

fn int(d: &Xml, path: &[&str]) -> Option<i64> {
    d.at(path).and_then(|t| t.parse().ok())
}

fn disk_json(d: &Xml) -> Value {
    json!({
        "label": label(d),
        "key": int(d, &["key"]),
        "capacity_gb": int(d, &["capacityInKB"]).map(|kb| kb as f64 / KB_PER_GB as f64),
        "file": d.at(&["backing", "fileName"]),
        "thin": d.at(&["backing", "thinProvisioned"]).map(|t| t == "true"),
        "disk_mode": d.at(&["backing", "diskMode"]),
        "controller_key": int(d, &["controllerKey"]),
        "unit_number": int(d, &["unitNumber"]),
    })
}

fn nic_json(d: &Xml) -> Value {
    json!({
        "label": label(d),
        "key": int(d, &["key"]),
        "type": d.xsi_type,
        "mac_address": d.at(&["macAddress"]),
        "network": d.at(&["backing", "deviceName"]),
        "connected": d.at(&["connectable", "connected"]).map(|t| t == "true"),
        "start_connected": d.at(&["connectable", "startConnected"]).map(|t| t == "true"),
    })
}

/// `<deviceChange>` for one device.
fn change(operation: &str, file_operation: Option<&str>, device: &str) -> String {
    format!(
        "<deviceChange>{}{}{device}</deviceChange>",
        el("operation", operation),
        file_operation
            .map(|f| el("fileOperation", f))
            .unwrap_or_default()
    )
}

/// A device element named `device` (it came back as a list item).
fn as_device(d: &Xml) -> String {
    let mut d = d.clone();
    d.name = "device".into();
    d.to_xml()
}

/// A device call's arguments, decoded once from the validated ones (the
/// catalog has checked presence and type; absent ones take their
/// documented defaults).
struct DeviceArgs<'a> {
    disk: &'a str,
    nic: &'a str,
    network: &'a str,
    uri: &'a str,
    adapter: &'a str,
    direction: &'a str,
    port: Option<&'a str>,
    cdrom: Option<&'a str>,
    /// Only the calls that take a size read it.
    size_gb: Option<i64>,
    thin: bool,
    connected: bool,
}

impl<'a> DeviceArgs<'a> {
    fn of(args: &'a ValidArgs) -> DeviceArgs<'a> {
        let text = |name| args.str(name).unwrap_or_default();
        DeviceArgs {
            disk: text("disk"),
            nic: text("nic"),
            network: text("network"),
            uri: text("uri"),
            adapter: args.str("adapter").unwrap_or("vmxnet3"),
            direction: args.str("direction").unwrap_or("server"),
            port: args.str("port"),
            cdrom: args.str("cdrom"),
            size_gb: args.int("size_gb"),
            thin: args.bool("thin").unwrap_or(true),
            connected: args.bool("connected").unwrap_or(true),
        }
    }
}

impl VimClient {
    async fn devices(&self, vm: &MoRef) -> Result<Vec<Xml>, BackendError> {
        let p = self
            .props(vm, &["config.hardware.device"])
            .await?
            .ok_or_else(|| BackendError::NotFound {
                endpoint: self.name.clone(),
                what: "VM (it was removed)".into(),
            })?;
        Ok(p.values
            .get("config.hardware.device")
            .map(|d| d.children.clone())
            .unwrap_or_default())
    }

    fn one<'a>(
        &self,
        devices: &'a [Xml],
        kind: &str,
        key: &str,
        matches: fn(&Xml) -> bool,
    ) -> Result<&'a Xml, BackendError> {
        devices
            .iter()
            .filter(|d| matches(d))
            .find(|d| label(d) == key || d.at(&["key"]) == Some(key))
            .ok_or_else(|| BackendError::NotFound {
                endpoint: self.name.clone(),
                what: format!(
                    "{kind} {key:?} on this VM; it has: {}",
                    devices
                        .iter()
                        .filter(|d| matches(d))
                        .map(label)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    async fn reconfigure(
        &self,
        vm: &MoRef,
        device_change: String,
        wait: Option<Duration>,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        self.task_on_vm(
            "ReconfigVM_Task",
            vm,
            &format!("<spec>{device_change}</spec>"),
            wait,
            progress,
        )
        .await
    }

    /// The CD/DVD drive the call names, or the VM's only one; `None` when
    /// it has none and none was named.
    fn drive<'a>(
        &self,
        devices: &'a [Xml],
        named: Option<&str>,
    ) -> Result<Option<&'a Xml>, BackendError> {
        let drives: Vec<&Xml> = devices.iter().filter(|d| is_cdrom(d)).collect();
        match (named, drives.as_slice()) {
            (Some(key), _) => self.one(devices, "CD/DVD drive", key, is_cdrom).map(Some),
            (None, []) => Ok(None),
            (None, [one]) => Ok(Some(*one)),
            (None, _) => self
                .one(devices, "single CD/DVD drive (give cdrom)", "", is_cdrom)
                .map(Some),
        }
    }

    /// A new CD/DVD drive holding `iso`, on an IDE controller with a free
    /// unit (each takes two).
    fn new_drive(&self, devices: &[Xml], iso: &str) -> Result<String, BackendError> {
        let (controller, unit) = devices
            .iter()
            .filter(|d| d.xsi_type.as_deref() == Some("VirtualIDEController"))
            .filter_map(|c| {
                let key = c.at(&["key"])?;
                let used: Vec<i64> = devices
                    .iter()
                    .filter(|d| d.at(&["controllerKey"]) == Some(key))
                    .filter_map(|d| int(d, &["unitNumber"]))
                    .collect();
                (0..2).find(|u| !used.contains(u)).map(|u| (key, u))
            })
            .next()
            .ok_or_else(|| {
                self.invalid(
                    "the VM has no CD/DVD drive and no IDE controller with a free unit to add one",
                )
            })?;
        Ok(format!(
            "<device xsi:type=\"VirtualCdrom\"><key>-1</key>\
             <backing xsi:type=\"VirtualCdromIsoBackingInfo\">{}</backing>\
             <connectable><startConnected>true</startConnected><allowGuestControl>true</allowGuestControl><connected>true</connected></connectable>\
             <controllerKey>{}</controllerKey><unitNumber>{unit}</unitNumber></device>",
            el("fileName", iso),
            escape(controller)
        ))
    }

    /// A network by name, for a NIC backing.
    pub(super) async fn network(&self, name: &str) -> Result<MoRef, BackendError> {
        self.find("Network", "network", name).await
    }

    pub(super) async fn devices_op(
        &self,
        op: DeviceOp,
        args: &ValidArgs,
        wait: Option<Duration>,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let vm = self.vm(args).await?;
        let devices = self.devices(&vm).await?;
        let a = DeviceArgs::of(args);
        match op {
            DeviceOp::ListDisks => Ok(Value::Array(
                devices
                    .iter()
                    .filter(|d| is_disk(d))
                    .map(disk_json)
                    .collect(),
            )),
            DeviceOp::DiskInfo => Ok(disk_json(self.one(&devices, "disk", a.disk, is_disk)?)),
            DeviceOp::ListNics => Ok(Value::Array(
                devices.iter().filter(|d| is_nic(d)).map(nic_json).collect(),
            )),
            DeviceOp::NicInfo => Ok(nic_json(self.one(
                &devices,
                "network adapter",
                a.nic,
                is_nic,
            )?)),
            DeviceOp::AddDisk => {
                let controller = devices
                    .iter()
                    .find(|d| {
                        d.xsi_type
                            .as_deref()
                            .is_some_and(|t| DISK_CONTROLLERS.contains(&t))
                    })
                    .and_then(|c| c.at(&["key"]))
                    .ok_or_else(|| {
                        self.invalid("the VM has no disk controller to attach a disk to")
                    })?;
                let used: Vec<i64> = devices
                    .iter()
                    .filter(|d| d.at(&["controllerKey"]) == Some(controller))
                    .filter_map(|d| int(d, &["unitNumber"]))
                    .collect();
                // Unit 7 is the SCSI controller's own.
                let unit = (0..16)
                    .find(|u| *u != 7 && !used.contains(u))
                    .ok_or_else(|| self.invalid("the disk controller has no free unit"))?;
                let kb = a.size_gb.unwrap_or(1) * KB_PER_GB;
                let device = format!(
                    "<device xsi:type=\"VirtualDisk\"><key>-1</key>\
                     <backing xsi:type=\"VirtualDiskFlatVer2BackingInfo\"><fileName></fileName><diskMode>persistent</diskMode>\
                     <thinProvisioned>{}</thinProvisioned></backing>\
                     <controllerKey>{}</controllerKey><unitNumber>{unit}</unitNumber><capacityInKB>{kb}</capacityInKB></device>",
                    a.thin,
                    escape(controller)
                );
                self.reconfigure(&vm, change("add", Some("create"), &device), wait, progress)
                    .await
            }
            DeviceOp::RemoveDisk => {
                let disk = self.one(&devices, "disk", a.disk, is_disk)?;
                let destroy = args
                    .bool("delete_file")
                    .unwrap_or(false)
                    .then_some("destroy");
                self.reconfigure(
                    &vm,
                    change("remove", destroy, &as_device(disk)),
                    wait,
                    progress,
                )
                .await
            }
            DeviceOp::ResizeDisk => {
                let disk = self.one(&devices, "disk", a.disk, is_disk)?;
                let now = int(disk, &["capacityInKB"]).unwrap_or(0);
                let kb = a.size_gb.unwrap_or(0) * KB_PER_GB;
                if kb <= now {
                    return Err(self.invalid(format!(
                        "disks only grow: {} is {} GB, asked for {} GB",
                        label(disk),
                        now / KB_PER_GB,
                        kb / KB_PER_GB
                    )));
                }
                let mut d = disk.clone();
                d.set("capacityInKB", &kb.to_string());
                if d.child("capacityInBytes").is_some() {
                    d.set("capacityInBytes", &(kb * 1024).to_string());
                }
                self.reconfigure(&vm, change("edit", None, &as_device(&d)), wait, progress)
                    .await
            }
            DeviceOp::AddNic => {
                let name = a.network;
                let net = self.network(name).await?;
                let ty = match a.adapter {
                    "e1000" => "VirtualE1000",
                    "e1000e" => "VirtualE1000e",
                    _ => "VirtualVmxnet3",
                };
                let device = format!(
                    "<device xsi:type=\"{ty}\"><key>-1</key>\
                     <backing xsi:type=\"VirtualEthernetCardNetworkBackingInfo\">{}<network type=\"Network\">{}</network></backing>\
                     <connectable><startConnected>true</startConnected><allowGuestControl>true</allowGuestControl><connected>true</connected></connectable>\
                     <addressType>generated</addressType></device>",
                    el("deviceName", name),
                    escape(&net.id)
                );
                self.reconfigure(&vm, change("add", None, &device), wait, progress)
                    .await
            }
            DeviceOp::RemoveNic => {
                let nic = self.one(&devices, "network adapter", a.nic, is_nic)?;
                self.reconfigure(&vm, change("remove", None, &as_device(nic)), wait, progress)
                    .await
            }
            DeviceOp::ConnectNic => {
                let nic = self.one(&devices, "network adapter", a.nic, is_nic)?;
                let nic = connected(nic, a.connected);
                self.reconfigure(&vm, change("edit", None, &as_device(&nic)), wait, progress)
                    .await
            }
            DeviceOp::GetSerialPorts => Ok(Value::Array(
                devices
                    .iter()
                    .filter(|d| is_serial(d))
                    .map(serial_json)
                    .collect(),
            )),
            DeviceOp::SetupSerialPort => {
                let uri = a.uri;
                if !serial_uri_ok(uri) {
                    return Err(self.invalid(format!(
                        "uri {uri:?} must be scheme://[host]:port with scheme telnet, telnets, tcp or ssl, e.g. telnet://:2001"
                    )));
                }
                let direction = a.direction;
                let device = format!(
                    "<device xsi:type=\"VirtualSerialPort\"><key>-1</key>\
                     <backing xsi:type=\"VirtualSerialPortURIBackingInfo\">{}{}</backing>\
                     <connectable><startConnected>true</startConnected><allowGuestControl>true</allowGuestControl><connected>true</connected></connectable>\
                     <yieldOnPoll>true</yieldOnPoll></device>",
                    el("direction", direction),
                    el("serviceURI", uri)
                );
                self.reconfigure(&vm, change("add", None, &device), wait, progress)
                    .await
            }
            DeviceOp::ConnectSerialPort
            | DeviceOp::ClearSerialPort
            | DeviceOp::RemoveSerialPort => {
                let serials: Vec<&Xml> = devices.iter().filter(|d| is_serial(d)).collect();
                let port = match (a.port, serials.as_slice()) {
                    (Some(p), _) => self.one(&devices, "serial port", p, is_serial)?,
                    (None, [one]) => *one,
                    (None, _) => {
                        self.one(&devices, "single serial port (give port)", "", is_serial)?
                    }
                };
                match op {
                    DeviceOp::RemoveSerialPort => {
                        self.reconfigure(
                            &vm,
                            change("remove", None, &as_device(port)),
                            wait,
                            progress,
                        )
                        .await
                    }
                    DeviceOp::ConnectSerialPort => {
                        let d = connected(port, a.connected);
                        self.reconfigure(&vm, change("edit", None, &as_device(&d)), wait, progress)
                            .await
                    }
                    // Drop whoever is attached and start afresh: disconnect,
                    // then connect again.
                    _ => {
                        let off = connected(port, false);
                        self.reconfigure(
                            &vm,
                            change("edit", None, &as_device(&off)),
                            wait,
                            progress,
                        )
                        .await?;
                        let on = connected(port, true);
                        self.reconfigure(&vm, change("edit", None, &as_device(&on)), wait, progress)
                            .await
                    }
                }
            }
            DeviceOp::ChangeNicNetwork => {
                let nic = self.one(&devices, "network adapter", a.nic, is_nic)?;
                let name = a.network;
                let net = self.network(name).await?;
                let nic = with_backing(
                    nic,
                    &format!(
                        "<backing xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"VirtualEthernetCardNetworkBackingInfo\">{}<network type=\"Network\">{}</network></backing>",
                        el("deviceName", name),
                        escape(&net.id)
                    ),
                )?;
                self.reconfigure(&vm, change("edit", None, &as_device(&nic)), wait, progress)
                    .await
            }
            DeviceOp::SetNicMac => {
                let mut nic = self
                    .one(&devices, "network adapter", a.nic, is_nic)?
                    .clone();
                nic.set("addressType", "manual");
                nic.set("macAddress", args.str("mac_address").unwrap_or_default());
                self.reconfigure(&vm, change("edit", None, &as_device(&nic)), wait, progress)
                    .await
            }
            DeviceOp::MoveDisk => {
                let disk = self.one(&devices, "disk", a.disk, is_disk)?;
                let name = args.str("datastore").unwrap_or_default();
                let ds = self.find("Datastore", "datastore", name).await?;
                let file = disk.at(&["backing", "fileName"]).unwrap_or_default();
                if super::files::split_datastore_path(file).is_some_and(|(on, _)| on == name) {
                    return Err(self.invalid(format!(
                        "{} is already on datastore {name:?} ({file})",
                        label(disk)
                    )));
                }
                let key = disk.at(&["key"]).unwrap_or_default();
                let spec = format!(
                    "<spec><disk>{}<datastore type=\"Datastore\">{}</datastore></disk></spec>",
                    el("diskId", key),
                    escape(&ds.id)
                );
                self.task_on_vm("RelocateVM_Task", &vm, &spec, wait, progress)
                    .await
            }
            DeviceOp::AttachIso => {
                let iso_path = args.str("iso_path").unwrap_or_default();
                let home;
                let datastore = match args.str("datastore") {
                    Some(d) => Some(d),
                    // Unbracketed and no datastore: the VM's own, as
                    // mcvsphere has it.
                    None if super::files::split_datastore_path(iso_path).is_none() => {
                        home = self
                            .props(&vm, &["config.files.vmPathName"])
                            .await?
                            .and_then(|p| p.text("config.files.vmPathName").map(str::to_string))
                            .unwrap_or_default();
                        super::files::split_datastore_path(&home).map(|(ds, _)| ds)
                    }
                    None => None,
                };
                let (ds_name, path) =
                    iso_location(iso_path, datastore).map_err(|e| self.invalid(e))?;
                // A missing image is named here, not as vCenter's fault
                // after the drive was changed.
                let ds = self.find("Datastore", "datastore", ds_name).await?;
                let (url, shown) = self.datastore_file(&ds, path).await?;
                let iso = format!("[{shown}] {path}");
                self.transfer(reqwest::Method::HEAD, &url, None, 0)
                    .await
                    .map_err(|e| match e {
                        BackendError::NotFound { endpoint, .. } => BackendError::NotFound {
                            endpoint,
                            what: format!("ISO image {iso}"),
                        },
                        other => other,
                    })?;
                let device_change = match self.drive(&devices, a.cdrom)? {
                    Some(drive) => {
                        let d = connected(&with_backing(drive, &iso_backing(&iso))?, true);
                        change("edit", None, &as_device(&d))
                    }
                    None => change("add", None, &self.new_drive(&devices, &iso)?),
                };
                let mut out = self.reconfigure(&vm, device_change, wait, progress).await?;
                out["iso"] = json!(iso);
                Ok(out)
            }
            DeviceOp::DetachIso => {
                let drive = self.drive(&devices, a.cdrom)?.ok_or_else(|| {
                    self.invalid("the VM has no CD/DVD drive, so no ISO image to detach")
                })?;
                let d = connected(&with_backing(drive, EJECTED_BACKING)?, false);
                self.reconfigure(&vm, change("edit", None, &as_device(&d)), wait, progress)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_uris() {
        for ok in [
            "telnet://:2001",
            "tcp://10.0.0.5:7000",
            "telnets://console.example:443",
        ] {
            assert!(serial_uri_ok(ok), "{ok}");
        }
        for bad in [
            "telnet://:0",
            "file:///etc/passwd",
            "telnet://:2001/x",
            "http://a:80",
            "telnet:2001",
            "telnet://a b:1",
        ] {
            assert!(!serial_uri_ok(bad), "{bad}");
        }
    }
}
