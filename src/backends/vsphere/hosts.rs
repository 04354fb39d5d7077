//! ESXi host administration: hardware and networking views, services and
//! NTP (through the host's HostServiceSystem and configuration), reboot and
//! shutdown.

use std::time::Duration;

use serde_json::{json, Value};

use super::tools::HostOp;
use super::xml::{el, MoRef, Xml};
use super::{request, BackendError, VimClient};
use crate::backends::ProgressSink;
use crate::catalog::ValidArgs;

fn service_json(s: &Xml) -> Value {
    json!({
        "key": s.at(&["key"]),
        "label": s.at(&["label"]),
        "running": s.at(&["running"]).map(|t| t == "true"),
        "policy": s.at(&["policy"]),
        "required": s.at(&["required"]).map(|t| t == "true"),
    })
}

impl VimClient {
    async fn service_system(&self, host: &MoRef) -> Result<MoRef, BackendError> {
        self.props(host, &["configManager.serviceSystem"])
            .await?
            .and_then(|p| p.moref("configManager.serviceSystem"))
            .ok_or_else(|| self.invalid("this host exposes no service system"))
    }

    async fn services(&self, system: &MoRef) -> Result<Vec<Xml>, BackendError> {
        let p = self
            .props(system, &["serviceInfo"])
            .await?
            .unwrap_or_default();
        Ok(p.values
            .get("serviceInfo")
            .map(|i| i.all("service").cloned().collect())
            .unwrap_or_default())
    }

    /// A service by key or label, with the system that runs it.
    async fn service(&self, host: &MoRef, key: &str) -> Result<(MoRef, Xml), BackendError> {
        let system = self.service_system(host).await?;
        let services = self.services(&system).await?;
        let service = services
            .iter()
            .find(|s| s.at(&["key"]) == Some(key) || s.at(&["label"]) == Some(key))
            .cloned()
            .ok_or_else(|| BackendError::NotFound {
                endpoint: self.name.clone(),
                what: format!(
                    "service {key:?} on this host; it has: {}",
                    services
                        .iter()
                        .filter_map(|s| s.at(&["key"]))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        Ok((system, service))
    }

    /// Call a HostServiceSystem method on one service.
    async fn service_call(
        &self,
        system: &MoRef,
        method: &str,
        id: &str,
        rest: &str,
    ) -> Result<(), BackendError> {
        let body = format!("{}{rest}", el("id", id));
        self.call(method, |_| request(method, system, &body))
            .await
            .map(drop)
    }

    /// A service as it is now.
    async fn service_now(&self, system: &MoRef, id: &str) -> Result<Value, BackendError> {
        let after = self.services(system).await?;
        Ok(after
            .iter()
            .find(|s| s.at(&["key"]) == Some(id))
            .map_or(Value::Null, service_json))
    }

    pub(super) async fn host_op(
        &self,
        op: HostOp,
        args: &ValidArgs,
        wait: Option<Duration>,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let host = self
            .find_or_only("HostSystem", "host", args.str("host"))
            .await?;
        match op {
            HostOp::EnterMaintenance | HostOp::ExitMaintenance => {
                let (method, body) = if op == HostOp::EnterMaintenance {
                    (
                        "EnterMaintenanceMode_Task",
                        "<timeout>0</timeout><evacuatePoweredOffVms>false</evacuatePoweredOffVms>",
                    )
                } else {
                    ("ExitMaintenanceMode_Task", "<timeout>0</timeout>")
                };
                self.run_task(method, &host, body, wait, progress).await
            }
            HostOp::HostHardware => {
                let p = self
                    .props(
                        &host,
                        &[
                            "summary.hardware",
                            "hardware.systemInfo",
                            "hardware.biosInfo",
                        ],
                    )
                    .await?
                    .unwrap_or_default();
                Ok(json!({
                    "host": host.id,
                    "summary": p.json("summary.hardware"),
                    "system": p.json("hardware.systemInfo"),
                    "bios": p.json("hardware.biosInfo"),
                }))
            }
            HostOp::HostNetworking => {
                let p = self
                    .props(&host, &["config.network"])
                    .await?
                    .unwrap_or_default();
                let net = p.values.get("config.network");
                let list = |name: &str, f: &dyn Fn(&Xml) -> Value| -> Vec<Value> {
                    net.map(|n| n.all(name).map(f).collect())
                        .unwrap_or_default()
                };
                Ok(json!({
                    "host": host.id,
                    "vswitches": list("vswitch", &|v| json!({"name": v.at(&["name"]), "ports": v.at(&["numPorts"]), "mtu": v.at(&["mtu"])})),
                    "portgroups": list("portgroup", &|g| json!({"name": g.at(&["spec", "name"]), "vlan": g.at(&["spec", "vlanId"]), "vswitch": g.at(&["spec", "vswitchName"])})),
                    "vmkernel_nics": list("vnic", &|v| json!({"device": v.at(&["device"]), "portgroup": v.at(&["portgroup"]), "ip": v.at(&["spec", "ip", "ipAddress"]), "mac": v.at(&["spec", "mac"])})),
                    "physical_nics": list("pnic", &|v| json!({"device": v.at(&["device"]), "mac": v.at(&["mac"]), "driver": v.at(&["driver"])})),
                }))
            }
            HostOp::NtpConfig => {
                let p = self
                    .props(&host, &["config.dateTimeInfo"])
                    .await?
                    .unwrap_or_default();
                let dt = p.values.get("config.dateTimeInfo");
                Ok(json!({
                    "host": host.id,
                    "ntp_servers": dt.and_then(|d| d.child("ntpConfig")).map(|n| n.all("server").map(|s| s.text.clone()).collect::<Vec<_>>()).unwrap_or_default(),
                    "time_zone": dt.and_then(|d| d.at(&["timeZone", "key"])),
                }))
            }
            HostOp::ListServices => {
                let system = self.service_system(&host).await?;
                Ok(Value::Array(
                    self.services(&system)
                        .await?
                        .iter()
                        .map(service_json)
                        .collect(),
                ))
            }
            HostOp::ServiceStatus
            | HostOp::StartService
            | HostOp::StopService
            | HostOp::RestartService
            | HostOp::SetServicePolicy => {
                let (system, service) = self
                    .service(&host, args.str("service").unwrap_or_default())
                    .await?;
                let id = service.at(&["key"]).unwrap_or_default();
                let (method, rest) = match op {
                    HostOp::ServiceStatus => return Ok(service_json(&service)),
                    HostOp::StartService => ("StartService", String::new()),
                    HostOp::StopService => ("StopService", String::new()),
                    HostOp::RestartService => ("RestartService", String::new()),
                    _ => (
                        "UpdateServicePolicy",
                        el("policy", args.str("policy").unwrap_or_default()),
                    ),
                };
                self.service_call(&system, method, id, &rest).await?;
                let now = self.service_now(&system, id).await?;
                Ok(json!({"host": host.id, "requested": method, "service": now}))
            }
            HostOp::ConfigureNtp => {
                let servers: Vec<&str> = args.strs("ntp_servers");
                if servers.is_empty() {
                    // An empty list would leave the host without time.
                    return Err(self.invalid("ntp_servers must name at least one server"));
                }
                let date_time = self
                    .props(&host, &["configManager.dateTimeSystem"])
                    .await?
                    .and_then(|p| p.moref("configManager.dateTimeSystem"))
                    .ok_or_else(|| self.invalid("this host exposes no date and time system"))?;
                let config = format!(
                    "<config><ntpConfig>{}</ntpConfig></config>",
                    servers.iter().map(|s| el("server", s)).collect::<String>()
                );
                self.call("UpdateDateTimeConfig", |_| {
                    request("UpdateDateTimeConfig", &date_time, &config)
                })
                .await?;
                let mut out = json!({"host": host.id, "ntp_servers": servers});
                if args.bool("start_service").unwrap_or(true) {
                    // ntpd reads its servers when it starts: start it with
                    // the host from now on, and (re)start it now.
                    let (system, ntpd) = self.service(&host, "ntpd").await?;
                    self.service_call(&system, "UpdateServicePolicy", "ntpd", &el("policy", "on"))
                        .await?;
                    let method = if ntpd.at(&["running"]) == Some("true") {
                        "RestartService"
                    } else {
                        "StartService"
                    };
                    self.service_call(&system, method, "ntpd", "").await?;
                    out["ntpd"] = self.service_now(&system, "ntpd").await?;
                }
                Ok(out)
            }
            HostOp::RebootHost | HostOp::ShutdownHost => {
                let method = if op == HostOp::RebootHost {
                    "RebootHost_Task"
                } else {
                    "ShutdownHost_Task"
                };
                let force = args.bool("force").unwrap_or(false);
                self.run_task(
                    method,
                    &host,
                    &format!("<force>{force}</force>"),
                    wait,
                    progress,
                )
                .await
            }
        }
    }
}
