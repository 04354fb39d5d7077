//! Read-only views beyond the lists: VMware Tools state, quick statistics,
//! alarms, one cluster / resource pool / network, datastore browsing.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::tools::MonitoringOp;
use super::xml::{el, MoRef, Xml};
use super::{request, BackendError, VimClient};
use crate::catalog::{control, ValidArgs};

fn names(v: Option<&Xml>, inv: &super::inventory::Inventory) -> Vec<Value> {
    v.map(|x| {
        x.children
            .iter()
            .filter_map(Xml::moref)
            .map(|m| json!(inv.name(&m)))
            .collect()
    })
    .unwrap_or_default()
}

impl VimClient {
    pub(super) async fn monitoring_op(
        &self,
        op: MonitoringOp,
        args: &ValidArgs,
    ) -> Result<Value, BackendError> {
        let key = |name: &str| args.str(name).unwrap_or_default();
        match op {
            MonitoringOp::ToolsStatus => {
                let vm = self.find("VirtualMachine", "VM", key("vm")).await?;
                let p = self
                    .props(
                        &vm,
                        &[
                            "guest.toolsStatus",
                            "guest.toolsRunningStatus",
                            "guest.toolsVersionStatus2",
                            "guest.toolsVersion",
                        ],
                    )
                    .await?
                    .unwrap_or_default();
                Ok(json!({
                    "vm": vm.id,
                    "status": p.text("guest.toolsStatus"),
                    "running_status": p.text("guest.toolsRunningStatus"),
                    "version_status": p.text("guest.toolsVersionStatus2"),
                    "version": p.text("guest.toolsVersion"),
                }))
            }
            MonitoringOp::WaitForTools => {
                let vm = self.find("VirtualMachine", "VM", key("vm")).await?;
                let limit = Duration::from_secs(
                    args.int("wait_seconds")
                        .unwrap_or(control::DEFAULT_WAIT_SECONDS)
                        .max(1) as u64,
                );
                let start = Instant::now();
                loop {
                    let p = self
                        .props(&vm, &["guest.toolsRunningStatus"])
                        .await?
                        .unwrap_or_default();
                    let status = p
                        .text("guest.toolsRunningStatus")
                        .unwrap_or("unknown")
                        .to_string();
                    if status == "guestToolsRunning" {
                        return Ok(
                            json!({"vm": vm.id, "tools": status, "waited_seconds": start.elapsed().as_secs()}),
                        );
                    }
                    if start.elapsed() >= limit {
                        return Ok(json!({
                            "vm": vm.id,
                            "tools": status,
                            "note": format!("VMware Tools not running after {}s", limit.as_secs()),
                        }));
                    }
                    tokio::time::sleep(Duration::from_secs(1).min(limit)).await;
                }
            }
            MonitoringOp::VmStats => {
                let vm = self.find("VirtualMachine", "VM", key("vm")).await?;
                let p = self
                    .props(
                        &vm,
                        &[
                            "summary.quickStats",
                            "config.hardware.numCPU",
                            "config.hardware.memoryMB",
                        ],
                    )
                    .await?
                    .unwrap_or_default();
                Ok(
                    json!({"vm": vm.id, "cpus": p.int("config.hardware.numCPU"), "memory_mb": p.int("config.hardware.memoryMB"), "quick_stats": p.json("summary.quickStats")}),
                )
            }
            MonitoringOp::HostStats => {
                let host = self
                    .find_or_only("HostSystem", "host", args.str("host"))
                    .await?;
                let p = self
                    .props(
                        &host,
                        &[
                            "summary.quickStats",
                            "summary.hardware.cpuMhz",
                            "summary.hardware.numCpuCores",
                            "summary.hardware.memorySize",
                        ],
                    )
                    .await?
                    .unwrap_or_default();
                Ok(json!({
                    "host": host.id,
                    "cpu_total_mhz": p.int("summary.hardware.cpuMhz").unwrap_or(0) * p.int("summary.hardware.numCpuCores").unwrap_or(0),
                    "memory_bytes": p.int("summary.hardware.memorySize"),
                    "quick_stats": p.json("summary.quickStats"),
                }))
            }
            MonitoringOp::Alarms => {
                let (_, content, _) = self.current().await?;
                let p = self
                    .props(&content.root, &["triggeredAlarmState"])
                    .await?
                    .unwrap_or_default();
                let inv = self.inventory(false).await?;
                let alarms: Vec<Value> = p
                    .values
                    .get("triggeredAlarmState")
                    .map(|v| {
                        v.children
                            .iter()
                            .map(|a| {
                                json!({
                                    "entity": a.child("entity").and_then(Xml::moref).map(|m| inv.path(&m)),
                                    "status": a.at(&["overallStatus"]),
                                    "time": a.at(&["time"]),
                                    "acknowledged": a.at(&["acknowledged"]).map(|t| t == "true"),
                                    "alarm": a.at(&["alarm"]),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Value::Array(alarms))
            }
            MonitoringOp::ClusterInfo => {
                let c = self
                    .find("ClusterComputeResource", "cluster", key("cluster"))
                    .await?;
                let p = self
                    .props(
                        &c,
                        &[
                            "name",
                            "host",
                            "summary",
                            "configuration.drsConfig",
                            "configuration.dasConfig.enabled",
                        ],
                    )
                    .await?
                    .unwrap_or_default();
                let inv = self.inventory(false).await?;
                Ok(json!({
                    "id": c.id,
                    "path": inv.path(&c),
                    "hosts": names(p.values.get("host"), &inv),
                    "summary": p.json("summary"),
                    "drs": p.json("configuration.drsConfig"),
                    "ha_enabled": p.text("configuration.dasConfig.enabled").map(|t| t == "true"),
                }))
            }
            MonitoringOp::ResourcePoolInfo => {
                let rp = self
                    .find("ResourcePool", "resource pool", key("pool"))
                    .await?;
                let p = self
                    .props(
                        &rp,
                        &[
                            "name",
                            "config.cpuAllocation",
                            "config.memoryAllocation",
                            "vm",
                            "resourcePool",
                            "summary.quickStats",
                        ],
                    )
                    .await?
                    .unwrap_or_default();
                let inv = self.inventory(false).await?;
                Ok(json!({
                    "id": rp.id,
                    "path": inv.path(&rp),
                    "cpu_allocation": p.json("config.cpuAllocation"),
                    "memory_allocation": p.json("config.memoryAllocation"),
                    "vms": names(p.values.get("vm"), &inv),
                    "child_pools": names(p.values.get("resourcePool"), &inv),
                    "quick_stats": p.json("summary.quickStats"),
                }))
            }
            MonitoringOp::NetworkInfo => {
                let n = self.network(key("network")).await?;
                let p = self
                    .props(&n, &["name", "summary", "host", "vm"])
                    .await?
                    .unwrap_or_default();
                let inv = self.inventory(false).await?;
                Ok(json!({
                    "id": n.id,
                    "name": p.text("name"),
                    "accessible": p.values.get("summary").and_then(|s| s.at(&["accessible"])).map(|t| t == "true"),
                    "hosts": names(p.values.get("host"), &inv),
                    "vms": names(p.values.get("vm"), &inv),
                }))
            }
            MonitoringOp::DrsRecommendations => {
                let c = self
                    .find("ClusterComputeResource", "cluster", key("cluster"))
                    .await?;
                let p = self
                    .props(&c, &["recommendation", "configuration.drsConfig.enabled"])
                    .await?
                    .unwrap_or_default();
                let inv = self.inventory(false).await?;
                let name_of = |x: Option<&Xml>| {
                    x.and_then(Xml::moref)
                        .map(|m| json!(inv.name(&m).map(str::to_string).unwrap_or(m.id)))
                };
                let recommendations: Vec<Value> = p
                    .values
                    .get("recommendation")
                    .map(|list| {
                        list.children
                            .iter()
                            .map(|r| {
                                json!({
                                    "key": r.at(&["key"]),
                                    "rating": r.at(&["rating"]).and_then(|t| t.parse::<i64>().ok()),
                                    "reason": r.at(&["reason"]),
                                    "reason_text": r.at(&["reasonText"]),
                                    "time": r.at(&["time"]),
                                    "target": name_of(r.child("target")),
                                    "actions": r.all("action").map(|a| json!({
                                        "type": a.xsi_type,
                                        "target": name_of(a.child("target")),
                                        "detail": a.to_json(),
                                    })).collect::<Vec<_>>(),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(json!({
                    "cluster": c.id,
                    "path": inv.path(&c),
                    "drs_enabled": p.text("configuration.drsConfig.enabled").map(|t| t == "true"),
                    "recommendations": recommendations,
                }))
            }
            MonitoringOp::BrowseDatastore => {
                let ds = self.datastore_arg(args).await?;
                let p = self
                    .props(&ds, &["browser", "name"])
                    .await?
                    .unwrap_or_default();
                let browser = p
                    .moref("browser")
                    .ok_or_else(|| self.invalid("the datastore has no browser"))?;
                let path = format!(
                    "[{}] {}",
                    p.text("name").unwrap_or_default(),
                    args.str("path").unwrap_or("")
                );
                let out = self
                    .run_task(
                        "SearchDatastore_Task",
                        &browser,
                        &format!(
                            "{}<searchSpec><details><fileType>true</fileType><fileSize>true</fileSize><modification>true</modification>\
                             <fileOwner>false</fileOwner></details></searchSpec>",
                            el("datastorePath", &path)
                        ),
                        Some(Duration::from_secs(60)),
                        None,
                    )
                    .await?;
                let files = out["result"]["file"].clone();
                Ok(json!({
                    "path": path,
                    "files": match files {
                        Value::Array(a) => a,
                        Value::Null => vec![],
                        one => vec![one],
                    },
                }))
            }
        }
    }

    /// Cancel a running task by its id (`task-123`).
    pub(super) async fn cancel_task(&self, id: &str) -> Result<Value, BackendError> {
        let task = MoRef::new("Task", id);
        if self.props(&task, &["info.state"]).await?.is_none() {
            return Err(BackendError::NotFound {
                endpoint: self.name.clone(),
                what: format!("task {id:?}; see vsphere_list_recent_tasks"),
            });
        }
        self.call("CancelTask", |_| request("CancelTask", &task, ""))
            .await?;
        Ok(json!({"task": id, "cancel": "requested"}))
    }
}
