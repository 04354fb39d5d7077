//! The embedded lab: a simulated Proxmox VE cluster served over HTTPS on
//! loopback, in process, so `portcullis lab` exercises the real client
//! (TLS verified against the lab's own certificate, API-token auth, PVE's
//! envelopes and errors, tasks with UPIDs) with no infrastructure.
//!
//! It answers the endpoints of the catalog's PVE tools, checks the token
//! and refuses parameters those endpoints do not take, as PVE does. Tests
//! can inject faults (an HTTP status, garbage, a hang, a reset).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

pub use crate::backends::sim::Fault;
use crate::backends::sim::{HttpsSim, SimRequest, SimResponse};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Qemu,
    Lxc,
}

#[derive(Debug, Clone)]
struct Guest {
    kind: Kind,
    node: String,
    name: String,
    running: bool,
    /// Paused (QEMU) or frozen (LXC) while running.
    suspended: bool,
    config: BTreeMap<String, Value>,
    snapshots: Vec<(String, String, u64)>,
}

#[derive(Debug, Clone)]
struct Task {
    upid: String,
    node: String,
    kind: String,
    id: String,
    start: u64,
    done_at: Instant,
    exit: String,
}

struct State {
    guests: BTreeMap<u64, Guest>,
    tasks: Vec<Task>,
    /// Each node's system services and whether they run (one set, as the
    /// lab's nodes are alike).
    services: BTreeMap<String, bool>,
    /// Access control, pools and HA: each a collection of objects by id.
    collections: BTreeMap<&'static str, BTreeMap<String, serde_json::Map<String, Value>>>,
    acl: Vec<Value>,
    ha_armed: bool,
    firewall: serde_json::Map<String, Value>,
    rules: Vec<serde_json::Map<String, Value>>,
    network: BTreeMap<(String, String), serde_json::Map<String, Value>>,
    options: serde_json::Map<String, Value>,
    task_seconds: f64,
    pid: u32,
}

/// A running lab server.
pub struct Lab {
    pub url: String,
    pub ca_pem: Vec<u8>,
    pub token_id: String,
    pub token_secret: SecretString,
    state: Arc<Mutex<State>>,
    server: HttpsSim,
}

const NODES: [&str; 2] = ["pve1", "pve2"];
const STORAGE: [(&str, &str, &str); 2] = [
    ("local", "dir", "iso,vztmpl,backup"),
    ("local-lvm", "lvmthin", "images,rootdir"),
];
pub const TOKEN_ID: &str = "portcullis@pve!lab";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Requests remembered by the lab.
fn seed() -> BTreeMap<u64, Guest> {
    let mut g = BTreeMap::new();
    let qemu = |node: &str, name: &str, running: bool, cores: u64, mem: u64| Guest {
        kind: Kind::Qemu,
        node: node.into(),
        name: name.into(),
        running,
        suspended: false,
        config: [
            ("name".to_string(), json!(name)),
            ("cores".to_string(), json!(cores)),
            ("memory".to_string(), json!(mem)),
            (
                "scsi0".to_string(),
                json!(format!("local-lvm:vm-disk-0,size=32G")),
            ),
            (
                "net0".to_string(),
                json!("virtio=BC:24:11:00:00:01,bridge=vmbr0"),
            ),
        ]
        .into_iter()
        .collect(),
        snapshots: Vec::new(),
    };
    g.insert(100, qemu("pve1", "web-01", true, 2, 2048));
    g.insert(101, qemu("pve1", "db-01", true, 4, 8192));
    g.insert(102, qemu("pve2", "build-01", false, 8, 16384));
    let mut ct = qemu("pve2", "dns-01", true, 1, 512);
    ct.kind = Kind::Lxc;
    g.insert(200, ct);
    g
}

fn ok(data: Value) -> (StatusCode, Value) {
    (StatusCode::OK, json!({ "data": data }))
}

fn fail(status: StatusCode, message: String) -> (StatusCode, Value) {
    (status, json!({ "data": null, "message": message }))
}

fn bad_params(errors: Value) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        json!({ "data": null, "errors": errors }),
    )
}

/// Form or query parameters; a repeated one (a list, as PVE takes
/// `vms=100&vms=101`) joined with commas.
fn parse_form(raw: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()).into_owned() {
        out.entry(k)
            .and_modify(|have| {
                have.push(',');
                have.push_str(&v);
            })
            .or_insert(v);
    }
    out
}

impl State {
    /// The pool a guest is a member of, if any.
    fn pool_of(&self, vmid: u64) -> Option<String> {
        self.collections
            .get("pools")?
            .iter()
            .find_map(|(id, pool)| {
                let listed = pool
                    .get("members")
                    .and_then(Value::as_array)
                    .is_some_and(|m| m.iter().any(|x| x["vmid"] == json!(vmid)))
                    || pool
                        .get("vms")
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.split(',').any(|x| x == vmid.to_string()));
                listed.then(|| id.clone())
            })
    }

    fn storages(&self) -> impl Iterator<Item = &serde_json::Map<String, Value>> {
        self.collections
            .get("storage")
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    /// Firewall rules are numbered by position, from 0.
    fn renumber_rules(&mut self) {
        for (i, r) in self.rules.iter_mut().enumerate() {
            r.insert("pos".into(), json!(i));
        }
    }

    fn new_task(&mut self, node: &str, kind: &str, id: &str, exit: &str) -> String {
        self.pid += 1;
        let start = now();
        let upid = format!(
            "UPID:{node}:{:08X}:{:08X}:{start:08X}:{kind}:{id}:{TOKEN_ID}:",
            self.pid,
            self.pid * 7
        );
        let done_at = Instant::now() + Duration::from_secs_f64(self.task_seconds);
        self.tasks.push(Task {
            upid: upid.clone(),
            node: node.into(),
            kind: kind.into(),
            id: id.into(),
            start,
            done_at,
            exit: exit.into(),
        });
        upid
    }

    fn task_view(t: &Task) -> Value {
        let running = Instant::now() < t.done_at;
        let mut v = json!({
            "upid": t.upid, "node": t.node, "type": t.type_name(), "id": t.id, "user": TOKEN_ID,
            "starttime": t.start, "status": if running { "running" } else { "stopped" },
        });
        if !running {
            v["exitstatus"] = json!(t.exit);
            v["endtime"] = json!(t.start + 1);
        }
        v
    }

    fn guest_view(vmid: u64, g: &Guest) -> Value {
        json!({
            "vmid": vmid, "name": g.name, "status": if g.running { "running" } else { "stopped" },
            "cpus": g.config.get("cores").cloned().unwrap_or(json!(1)),
            "maxmem": g.config.get("memory").and_then(Value::as_u64).unwrap_or(512) * 1024 * 1024,
            "uptime": if g.running { 3600 } else { 0 },
            "tags": g.config.get("tags").cloned().unwrap_or(json!("")),
        })
    }
}

impl Task {
    fn type_name(&self) -> &str {
        &self.kind
    }
}

/// Check that only `allowed` parameters were given, as PVE's schema does.
fn only(params: &BTreeMap<String, String>, allowed: &[&str]) -> Result<(), (StatusCode, Value)> {
    let extra: serde_json::Map<String, Value> = params
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| (k.clone(), json!("property is not defined in schema and the schema does not allow additional properties")))
        .collect();
    if extra.is_empty() {
        Ok(())
    } else {
        Err(bad_params(Value::Object(extra)))
    }
}

/// A collection the lab keeps: its API path, the parameter naming an
/// object, and the parameters create and update take.
struct Collection {
    path: &'static str,
    id: &'static str,
    create: &'static [&'static str],
    update: &'static [&'static str],
}

type Objects = BTreeMap<String, serde_json::Map<String, Value>>;

const COLLECTIONS: [Collection; 6] = [
    Collection {
        path: "storage",
        id: "storage",
        create: &[
            "storage", "type", "content", "path", "server", "export", "vgname", "pool", "nodes",
            "shared",
        ],
        update: &["content", "nodes", "shared", "disable"],
    },
    Collection {
        path: "cluster/backup",
        id: "id",
        create: &[
            "id",
            "vmid",
            "storage",
            "schedule",
            "mode",
            "compress",
            "mailnotification",
            "mailto",
            "enabled",
            "node",
            "pool",
            "maxfiles",
        ],
        update: &["vmid", "storage", "schedule", "mode", "compress", "enabled"],
    },
    Collection {
        path: "access/users",
        id: "userid",
        create: &[
            "userid",
            "password",
            "email",
            "firstname",
            "lastname",
            "groups",
            "comment",
            "enable",
            "expire",
        ],
        update: &[
            "email",
            "firstname",
            "lastname",
            "groups",
            "comment",
            "enable",
            "expire",
        ],
    },
    Collection {
        path: "pools",
        id: "poolid",
        create: &["poolid", "comment"],
        update: &["comment", "vms", "storage", "delete"],
    },
    Collection {
        path: "cluster/ha/resources",
        id: "sid",
        create: &[
            "sid",
            "group",
            "max_relocate",
            "max_restart",
            "state",
            "comment",
        ],
        update: &[
            "group",
            "max_relocate",
            "max_restart",
            "state",
            "comment",
            "delete",
            "digest",
        ],
    },
    Collection {
        path: "cluster/ha/rules",
        id: "rule",
        create: &[
            "rule",
            "type",
            "resources",
            "affinity",
            "nodes",
            "strict",
            "disable",
            "comment",
        ],
        update: &[
            "resources",
            "affinity",
            "nodes",
            "strict",
            "disable",
            "comment",
            "delete",
            "digest",
            "type",
        ],
    },
];

fn seed_collections() -> BTreeMap<&'static str, Objects> {
    let objects = |items: Value, id: &str| -> Objects {
        items
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| Some((o.get(id)?.as_str()?.to_string(), o.as_object()?.clone())))
            .collect()
    };
    [
        ("access/users", objects(json!([
            {"userid": "root@pam", "enable": 1, "expire": 0, "tokens": {"lab": {"privsep": 1, "expire": 0}}},
            {"userid": "alice@pve", "enable": 1, "expire": 0, "groups": "readers"},
        ]), "userid")),
        ("pools", objects(json!([
            {"poolid": "dev", "comment": "development", "members": [{"type": "qemu", "vmid": 102, "id": "qemu/102"}]},
        ]), "poolid")),
        ("cluster/ha/resources", objects(json!([
            {"sid": "vm:101", "type": "vm", "state": "started", "max_relocate": 1, "max_restart": 1},
        ]), "sid")),
        ("storage", objects(Value::Array(
            STORAGE
                .iter()
                .map(|(s, t, c)| json!({"storage": s, "type": t, "content": c, "shared": 0}))
                .collect(),
        ), "storage")),
        ("cluster/backup", objects(json!([
            {"id": "backup-nightly", "schedule": "daily 02:00", "storage": "local", "mode": "snapshot", "all": 1, "enabled": 1},
        ]), "id")),
        ("cluster/ha/rules", objects(json!([
            {"rule": "keep-db-apart", "type": "resource-affinity", "resources": "vm:101", "affinity": "negative"},
        ]), "rule")),
    ]
    .into_iter()
    .collect()
}

/// GET, POST, PUT and DELETE on one of the lab's collections.
fn collection(
    st: &mut State,
    method: &str,
    c: &Collection,
    id: Option<&str>,
    p: &BTreeMap<String, String>,
) -> Result<(StatusCode, Value), (StatusCode, Value)> {
    let items = st.collections.entry(c.path).or_default();
    let missing = |id: &str| {
        fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{} '{id}' does not exist", c.id),
        )
    };
    Ok(match (method, id) {
        ("GET", None) => ok(Value::Array(
            items
                .values()
                .filter(|o| {
                    p.iter().all(|(k, want)| {
                        let key = if k == "enabled" { "enable" } else { k.as_str() };
                        match o.get(key) {
                            Some(Value::String(s)) => s == want,
                            Some(other) => {
                                serde_json::from_str::<Value>(want).ok().as_ref() == Some(other)
                            }
                            None => false,
                        }
                    })
                })
                .cloned()
                .map(Value::Object)
                .collect(),
        )),
        ("GET", Some(id)) => ok(Value::Object(
            items.get(id).cloned().ok_or_else(|| missing(id))?,
        )),
        ("POST", None) => {
            only(p, c.create)?;
            let id = p.get(c.id).cloned().ok_or_else(|| {
                bad_params(json!({c.id: "property is missing and it is not optional"}))
            })?;
            if items.contains_key(&id) {
                return Err(fail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("{} '{id}' already exists", c.id),
                ));
            }
            let o: serde_json::Map<String, Value> = p
                .iter()
                .filter(|(k, _)| *k != "password")
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            items.insert(id, o);
            ok(Value::Null)
        }
        ("PUT", Some(id)) => {
            only(p, c.update)?;
            let o = items.get_mut(id).ok_or_else(|| missing(id))?;
            for (k, v) in p {
                o.insert(k.clone(), json!(v));
            }
            ok(Value::Null)
        }
        ("DELETE", Some(id)) => {
            only(p, &[])?;
            let members = items
                .get(id)
                .ok_or_else(|| missing(id))?
                .get("members")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if members > 0 {
                return Err(fail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("pool '{id}' is not empty"),
                ));
            }
            items.remove(id);
            ok(Value::Null)
        }
        (m, _) => {
            return Err(fail(
                StatusCode::NOT_IMPLEMENTED,
                format!("Method '{m} /{}' not implemented", c.path),
            ))
        }
    })
}

/// The guest kind a path segment names.
fn kind_of(segment: &str) -> Kind {
    if segment == "qemu" {
        Kind::Qemu
    } else {
        Kind::Lxc
    }
}

/// The task type prefix of a guest kind (qmstart, vzstart).
fn prefix(k: Kind) -> &'static str {
    if k == Kind::Qemu {
        "qm"
    } else {
        "vz"
    }
}

/// Config keys each kind's PUT takes.
const QEMU_CONFIG: &[&str] = &[
    "name",
    "cores",
    "sockets",
    "memory",
    "onboot",
    "tags",
    "description",
    "cpu",
    "net0",
    "scsi0",
];
const LXC_CONFIG: &[&str] = &[
    "hostname",
    "cores",
    "memory",
    "swap",
    "onboot",
    "description",
    "net0",
];

fn route(
    st: &mut State,
    method: &str,
    path: &str,
    params: &BTreeMap<String, String>,
) -> (StatusCode, Value) {
    match route_inner(st, method, path, params) {
        Ok(r) | Err(r) => r,
    }
}

fn route_inner(
    st: &mut State,
    method: &str,
    path: &str,
    p: &BTreeMap<String, String>,
) -> Result<(StatusCode, Value), (StatusCode, Value)> {
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let no_such_node = |n: &str| {
        fail(StatusCode::INTERNAL_SERVER_ERROR, format!("hostname lookup '{n}' failed - failed to get address info for: {n}: Name or service not known"))
    };
    if let ["nodes", node, ..] = segs.as_slice() {
        if !NODES.contains(node) {
            return Err(no_such_node(node));
        }
    }
    let guest_missing = |node: &str, vmid: u64, kind: Kind| {
        let dir = if kind == Kind::Qemu {
            "qemu-server"
        } else {
            "lxc"
        };
        fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Configuration file 'nodes/{node}/{dir}/{vmid}.conf' does not exist"),
        )
    };
    let find =
        |st: &State, node: &str, vmid: &str, kind: Kind| -> Result<u64, (StatusCode, Value)> {
            let id: u64 = vmid
                .parse()
                .map_err(|_| bad_params(json!({"vmid": "type check ('integer') failed"})))?;
            match st.guests.get(&id) {
                Some(g) if g.node == node && g.kind == kind => Ok(id),
                _ => Err(guest_missing(node, id, kind)),
            }
        };
    let joined = segs.join("/");
    // A backup job's id is made by PVE, not given.
    if method == "POST" && joined == "cluster/backup" {
        let n = st
            .collections
            .get("cluster/backup")
            .map_or(0, BTreeMap::len);
        let mut with_id = p.clone();
        with_id.insert("id".into(), format!("backup-{:08x}", n + 1));
        return collection(st, method, &COLLECTIONS[1], None, &with_id);
    }
    for c in &COLLECTIONS {
        if joined == c.path {
            return collection(st, method, c, None, p);
        }
        if let Some(id) = joined
            .strip_prefix(c.path)
            .and_then(|r| r.strip_prefix('/'))
        {
            if !id.contains('/') {
                return collection(st, method, c, Some(id), p);
            }
        }
    }
    Ok(match (method, segs.as_slice()) {
        ("GET", ["access", "roles"]) => ok(json!([
            {"roleid": "Administrator", "special": 1, "privs": "Sys.Audit,Sys.Modify,VM.PowerMgmt"},
            {"roleid": "PVEVMUser", "special": 1, "privs": "VM.Console,VM.PowerMgmt"},
            {"roleid": "PVEAuditor", "special": 1, "privs": "Sys.Audit,VM.Audit"},
        ])),
        ("GET", ["access", "groups"]) => ok(json!([
            {"groupid": "readers", "comment": "read-only", "users": "alice@pve"},
            {"groupid": "ops", "comment": "operators", "users": ""},
        ])),
        ("GET", ["access", "domains"]) => ok(json!([
            {"realm": "pam", "type": "pam", "comment": "Linux PAM"},
            {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server", "default": 1},
        ])),
        ("GET", ["access", "acl"]) => ok(Value::Array(st.acl.clone())),
        ("PUT", ["access", "acl"]) => {
            only(p, &["path", "roles", "users", "groups", "tokens", "propagate", "delete"])?;
            let required = |k: &str| {
                p.get(k)
                    .cloned()
                    .ok_or_else(|| bad_params(json!({k: "property is missing and it is not optional"})))
            };
            let (path, roles) = (required("path")?, required("roles")?);
            let delete = p.get("delete").is_some_and(|d| d == "1");
            let propagate = if p.get("propagate").is_some_and(|v| v == "0") { 0 } else { 1 };
            for (kind, key) in [("user", "users"), ("group", "groups")] {
                for who in p.get(key).map(String::as_str).unwrap_or("").split(',').filter(|w| !w.is_empty()) {
                    for role in roles.split(',') {
                        st.acl.retain(|a| !(a["path"] == path && a["ugid"] == who && a["roleid"] == role));
                        if !delete {
                            st.acl.push(json!({"path": path, "type": kind, "ugid": who, "roleid": role, "propagate": propagate}));
                        }
                    }
                }
            }
            ok(Value::Null)
        }
        ("POST", ["cluster", "ha", "status", which @ ("arm-ha" | "disarm-ha")]) => {
            let disarm = *which == "disarm-ha";
            only(p, if disarm { &["resource-mode"] } else { &[] })?;
            if disarm && !matches!(p.get("resource-mode").map(String::as_str), Some("freeze" | "ignore")) {
                return Err(bad_params(json!({"resource-mode": "value must be one of freeze, ignore"})));
            }
            st.ha_armed = !disarm;
            ok(Value::Null)
        }
        ("POST", ["cluster", "bulk-action", "guest", action @ ("start" | "shutdown" | "suspend" | "migrate")]) => {
            let allowed: &[&str] = match *action {
                "start" => &["vms", "timeout", "max-workers"],
                "shutdown" => &["vms", "timeout", "force-stop", "max-workers"],
                "suspend" => &["vms", "to-disk", "statestorage", "max-workers"],
                _ => &["vms", "target", "online", "with-local-disks", "max-workers"],
            };
            only(p, allowed)?;
            let vms: Vec<u64> = p
                .get("vms")
                .map(String::as_str)
                .unwrap_or("")
                .split(',')
                .map(|v| v.parse().map_err(|_| bad_params(json!({"vms": "type check ('integer') failed"}))))
                .collect::<Result<_, _>>()?;
            if let Some(missing) = vms.iter().find(|v| !st.guests.contains_key(v)) {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("guest {missing} does not exist")));
            }
            let target = p.get("target").cloned();
            if *action == "migrate" && !target.as_deref().is_some_and(|t| NODES.contains(&t)) {
                return Err(bad_params(json!({"target": "no such cluster node"})));
            }
            for id in &vms {
                let g = st.guests.get_mut(id).expect("checked above");
                match *action {
                    "start" => g.running = true,
                    "shutdown" => {
                        g.running = false;
                        g.suspended = false;
                    }
                    "suspend" if g.kind == Kind::Qemu && g.running => g.suspended = true,
                    "migrate" => g.node = target.clone().unwrap_or_default(),
                    _ => {}
                }
            }
            ok(json!(st.new_task("pve1", &format!("bulk{action}"), "", "OK")))
        }
        ("GET", ["version"]) => ok(json!({"version": "9.0.3", "release": "9.0", "repoid": "lab"})),
        ("GET", ["nodes"]) => ok(Value::Array(
            NODES
                .iter()
                .map(|n| json!({"node": n, "status": "online", "cpu": 0.07, "maxcpu": 16, "mem": 12_884_901_888u64, "maxmem": 68_719_476_736u64, "uptime": 864_000, "type": "node"}))
                .collect(),
        )),
        ("GET", ["nodes", node, "status"]) => ok(json!({
            "cpu": 0.07, "uptime": 864_000, "loadavg": ["0.31", "0.28", "0.25"], "pveversion": "pve-manager/9.0.3",
            "memory": {"total": 68_719_476_736u64, "used": 12_884_901_888u64, "free": 55_834_574_848u64},
            "cpuinfo": {"cpus": 16, "model": "Lab CPU", "sockets": 1}, "node": node,
        })),
        ("GET", ["nodes", node, kind @ ("qemu" | "lxc")]) => {
            let want = if *kind == "qemu" { Kind::Qemu } else { Kind::Lxc };
            ok(Value::Array(
                st.guests.iter().filter(|(_, g)| g.node == *node && g.kind == want).map(|(id, g)| State::guest_view(*id, g)).collect(),
            ))
        }
        ("GET", ["nodes", node, kind @ ("qemu" | "lxc"), vmid, "status", "current"]) => {
            let id = find(st, node, vmid, kind_of(kind))?;
            let mut v = State::guest_view(id, &st.guests[&id]);
            if st.guests[&id].suspended {
                v["status"] = json!("running");
                v["qmpstatus"] = json!("paused");
            } else {
                v["qmpstatus"] = v["status"].clone();
            }
            ok(v)
        }
        ("GET", ["nodes", node, kind @ ("qemu" | "lxc"), vmid, "config"]) => {
            let id = find(st, node, vmid, kind_of(kind))?;
            ok(json!(st.guests[&id].config))
        }
        ("GET", ["nodes", node, kind @ ("qemu" | "lxc"), vmid, "rrddata"]) => {
            only(p, &["timeframe", "cf"])?;
            let id = find(st, node, vmid, kind_of(kind))?;
            let points = match p.get("timeframe").map(String::as_str) {
                Some("hour") => 70,
                Some("day" | "week" | "month" | "year") => 70,
                _ => return Err(bad_params(json!({"timeframe": "value must be one of hour, day, week, month, year"}))),
            };
            let running = st.guests[&id].running;
            ok(Value::Array(
                (0..points)
                    .map(|i| json!({"time": now() - (points - i) * 60, "cpu": if running { 0.05 } else { 0.0 }, "mem": 536_870_912u64, "maxmem": 2_147_483_648u64}))
                    .collect(),
            ))
        }
        ("PUT", ["nodes", node, kind @ ("qemu" | "lxc"), vmid, "config"]) => {
            let k = kind_of(kind);
            only(p, if k == Kind::Qemu { QEMU_CONFIG } else { LXC_CONFIG })?;
            let id = find(st, node, vmid, k)?;
            let g = st.guests.get_mut(&id).expect("found above");
            for (key, v) in p {
                let value = v.parse::<u64>().map(|n| json!(n)).unwrap_or_else(|_| json!(v));
                g.config.insert(key.clone(), value);
                if key == "name" || key == "hostname" {
                    g.name = v.clone();
                }
            }
            ok(Value::Null)
        }
        ("POST", ["nodes", node, kind @ ("qemu" | "lxc")]) => {
            let k = kind_of(kind);
            let allowed: &[&str] = if k == Kind::Qemu {
                &["vmid", "name", "memory", "cores", "sockets", "ostype", "ide2", "scsi0", "net0", "scsihw", "boot", "start", "description"]
            } else {
                &["vmid", "ostemplate", "hostname", "memory", "swap", "cores", "rootfs", "net0", "password", "unprivileged", "start", "ssh-public-keys", "storage", "entrypoint", "env"]
            };
            only(p, allowed)?;
            let vmid: u64 = p.get("vmid").and_then(|v| v.parse().ok()).ok_or_else(|| bad_params(json!({"vmid": "property is missing and it is not optional"})))?;
            if k == Kind::Lxc && !p.contains_key("ostemplate") {
                return Err(bad_params(json!({"ostemplate": "property is missing and it is not optional"})));
            }
            if st.guests.contains_key(&vmid) {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("unable to create VM {vmid}: config file already exists")));
            }
            let name_key = if k == Kind::Qemu { "name" } else { "hostname" };
            let name = p.get(name_key).cloned().unwrap_or_else(|| format!("{kind}-{vmid}"));
            let config: BTreeMap<String, Value> = p
                .iter()
                .filter(|(key, _)| !["vmid", "start", "password", "ostemplate"].contains(&key.as_str()))
                .map(|(key, v)| (key.clone(), v.parse::<u64>().map(|n| json!(n)).unwrap_or_else(|_| json!(v))))
                .collect();
            st.guests.insert(vmid, Guest { kind: k, node: node.to_string(), name, running: p.get("start").is_some_and(|v| v == "1"), suspended: false, config, snapshots: Vec::new() });
            let task = if k == Kind::Qemu { "qmcreate" } else { "vzcreate" };
            ok(json!(st.new_task(node, task, &vmid.to_string(), "OK")))
        }
        ("POST", ["nodes", node, "qemu", vmid, "migrate"]) => {
            only(p, &["target", "online", "with-local-disks", "targetstorage"])?;
            let id = find(st, node, vmid, Kind::Qemu)?;
            let target = p.get("target").cloned().ok_or_else(|| bad_params(json!({"target": "property is missing and it is not optional"})))?;
            if !NODES.contains(&target.as_str()) {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("no such cluster node '{target}'")));
            }
            if target == *node {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, "target is local node.".to_string()));
            }
            let g = st.guests.get_mut(&id).expect("found above");
            if g.running && p.get("online").is_none_or(|o| o != "1") {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, "can't migrate running VM without --online".into()));
            }
            g.node = target;
            ok(json!(st.new_task(node, "qmigrate", vmid, "OK")))
        }
        ("GET", ["nodes", node, kind @ ("qemu" | "lxc"), vmid, "snapshot"]) => {
            let id = find(st, node, vmid, kind_of(kind))?;
            let mut list: Vec<Value> = st.guests[&id]
                .snapshots
                .iter()
                .map(|(n, d, t)| json!({"name": n, "description": d, "snaptime": t}))
                .collect();
            list.push(json!({"name": "current", "description": "You are here!", "running": st.guests[&id].running as u8}));
            ok(Value::Array(list))
        }
        ("POST", ["nodes", node, kind @ ("qemu" | "lxc"), vmid, "snapshot"]) => {
            let k = kind_of(kind);
            only(p, if k == Kind::Qemu { &["snapname", "description", "vmstate"] } else { &["snapname", "description"] })?;
            let id = find(st, node, vmid, k)?;
            let name = p.get("snapname").cloned().ok_or_else(|| bad_params(json!({"snapname": "property is missing and it is not optional"})))?;
            let g = st.guests.get_mut(&id).expect("found above");
            if g.snapshots.iter().any(|(n, _, _)| *n == name) {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("snapshot name '{name}' already used")));
            }
            g.snapshots.push((name, p.get("description").cloned().unwrap_or_default(), now()));
            ok(json!(st.new_task(node, &format!("{}snapshot", prefix(k)), vmid, "OK")))
        }
        ("POST", ["nodes", node, kind @ ("qemu" | "lxc"), vmid, "snapshot", snap, "rollback"]) => {
            only(p, &["start"])?;
            let k = kind_of(kind);
            let id = find(st, node, vmid, k)?;
            if !st.guests[&id].snapshots.iter().any(|(n, _, _)| n == snap) {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("snapshot '{snap}' does not exist")));
            }
            st.guests.get_mut(&id).expect("found above").running = false;
            ok(json!(st.new_task(node, &format!("{}rollback", prefix(k)), vmid, "OK")))
        }
        ("DELETE", ["nodes", node, kind @ ("qemu" | "lxc"), vmid, "snapshot", snap]) => {
            only(p, &["force"])?;
            let k = kind_of(kind);
            let id = find(st, node, vmid, k)?;
            let g = st.guests.get_mut(&id).expect("found above");
            let before = g.snapshots.len();
            g.snapshots.retain(|(n, _, _)| n != snap);
            if g.snapshots.len() == before {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("snapshot '{snap}' does not exist")));
            }
            ok(json!(st.new_task(node, &format!("{}delsnapshot", prefix(k)), vmid, "OK")))
        }
        ("POST", ["nodes", node, kind @ ("qemu" | "lxc"), vmid, "status", action]) => {
            let k = if *kind == "qemu" { Kind::Qemu } else { Kind::Lxc };
            let allowed: &[&str] = if *action == "shutdown" { &["timeout", "forceStop"] } else { &[] };
            only(p, allowed)?;
            let id = find(st, node, vmid, k)?;
            let prefix = prefix(k);
            let g = st.guests.get_mut(&id).expect("found above");
            let (task, exit) = match *action {
                "start" if g.running => (format!("{prefix}start"), "VM already running".to_string()),
                "start" => {
                    g.running = true;
                    (format!("{prefix}start"), "OK".into())
                }
                "stop" | "shutdown" => {
                    g.running = false;
                    g.suspended = false;
                    (format!("{prefix}{action}"), "OK".into())
                }
                "reboot" | "reset" | "suspend" if !g.running => (format!("{prefix}{action}"), format!("VM {vmid} not running")),
                "reboot" | "reset" => (format!("{prefix}{action}"), "OK".into()),
                "suspend" => {
                    g.suspended = true;
                    (format!("{prefix}suspend"), "OK".into())
                }
                "resume" if !g.suspended => (format!("{prefix}resume"), format!("VM {vmid} not suspended")),
                "resume" => {
                    g.suspended = false;
                    (format!("{prefix}resume"), "OK".into())
                }
                other => return Err(fail(StatusCode::NOT_IMPLEMENTED, format!("Method 'POST /nodes/{node}/{kind}/{vmid}/status/{other}' not implemented"))),
            };
            ok(json!(st.new_task(node, &task, vmid, &exit)))
        }
        ("POST", ["nodes", node, kind @ ("qemu" | "lxc"), vmid, "clone"]) => {
            let k = kind_of(kind);
            let name_key = if k == Kind::Qemu { "name" } else { "hostname" };
            only(p, &["newid", name_key, "target", "full", "storage", "description", "snapname"])?;
            let id = find(st, node, vmid, k)?;
            if let Some(snap) = p.get("snapname") {
                if !st.guests[&id].snapshots.iter().any(|(n, _, _)| n == snap) {
                    return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("snapshot '{snap}' does not exist")));
                }
            }
            let newid: u64 = p.get("newid").and_then(|v| v.parse().ok()).ok_or_else(|| bad_params(json!({"newid": "property is missing and it is not optional"})))?;
            if st.guests.contains_key(&newid) {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("unable to create VM {newid}: config file already exists")));
            }
            let mut g = st.guests[&id].clone();
            g.name = p.get(name_key).cloned().unwrap_or_else(|| format!("Copy-of-VM-{}", g.name));
            g.config.insert(name_key.into(), json!(g.name));
            g.node = p.get("target").cloned().unwrap_or_else(|| node.to_string());
            g.running = false;
            g.snapshots.clear();
            st.guests.insert(newid, g);
            ok(json!(st.new_task(node, &format!("{}clone", prefix(k)), vmid, "OK")))
        }
        ("DELETE", ["nodes", node, kind @ ("qemu" | "lxc"), vmid]) => {
            let k = kind_of(kind);
            only(p, if k == Kind::Qemu { &["purge", "destroy-unreferenced-disks", "skiplock"] } else { &["purge", "destroy-unreferenced-disks", "force"] })?;
            let id = find(st, node, vmid, k)?;
            if st.guests[&id].running && !(k == Kind::Lxc && p.get("force").is_some_and(|f| f == "1")) {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("VM {vmid} is running - destroy failed")));
            }
            st.guests.remove(&id);
            ok(json!(st.new_task(node, &format!("{}destroy", prefix(k)), vmid, "OK")))
        }
        ("GET", ["nodes", node, "version"]) => ok(json!({"version": "9.0.3", "release": "9.0", "repoid": "lab", "node": node})),
        ("GET", ["nodes", _, "dns"]) => ok(json!({"search": "lab.internal", "dns1": "192.0.2.53", "dns2": "192.0.2.54"})),
        ("GET", ["nodes", _, "time"]) => ok(json!({"timezone": "UTC", "time": now(), "localtime": now()})),
        ("GET", ["nodes", node, "syslog"]) => {
            only(p, &["start", "limit", "since", "until", "service"])?;
            let start = p.get("start").and_then(|v| v.parse().ok()).unwrap_or(0usize);
            let limit = p.get("limit").and_then(|v| v.parse().ok()).unwrap_or(50usize);
            ok(Value::Array(
                (0..200usize)
                    .skip(start)
                    .take(limit)
                    .map(|n| json!({"n": n + 1, "t": format!("{node} pvedaemon[1234]: lab log line {}", n + 1)}))
                    .collect(),
            ))
        }
        ("GET", ["nodes", _, "services"]) => ok(Value::Array(
            st.services.iter().map(|(name, running)| json!({"service": name, "name": name, "state": if *running { "running" } else { "stopped" }, "desc": format!("{name} (lab)")})).collect(),
        )),
        ("POST", ["nodes", node, "services", service, command]) => {
            only(p, &[])?;
            let Some(running) = st.services.get_mut(*service) else {
                return Err(bad_params(json!({"service": format!("value '{service}' does not have a value in the enumeration")})));
            };
            *running = match *command {
                "start" | "restart" | "reload" => true,
                "stop" => false,
                other => return Err(fail(StatusCode::NOT_IMPLEMENTED, format!("Method 'POST /nodes/{node}/services/{service}/{other}' not implemented"))),
            };
            ok(json!(st.new_task(node, &format!("srv{command}"), service, "OK")))
        }
        ("DELETE", ["nodes", node, "tasks", upid]) => {
            let t = st
                .tasks
                .iter_mut()
                .find(|t| t.upid == *upid && t.node == *node)
                .ok_or_else(|| fail(StatusCode::INTERNAL_SERVER_ERROR, "no such task".into()))?;
            if Instant::now() < t.done_at {
                t.done_at = Instant::now();
                t.exit = "interrupted by signal".into();
            }
            ok(Value::Null)
        }
        ("GET", ["cluster", "nextid"]) => {
            only(p, &["vmid"])?;
            let next = (100u64..).find(|id| !st.guests.contains_key(id)).unwrap_or(100);
            ok(json!(next.to_string()))
        }
        ("GET", ["cluster", "log"]) => {
            only(p, &["max"])?;
            let max = p.get("max").and_then(|v| v.parse().ok()).unwrap_or(50usize);
            ok(Value::Array(
                st.tasks.iter().rev().take(max).enumerate().map(|(i, t)| json!({"id": i, "node": t.node, "time": t.start, "pri": 6, "tag": "pvedaemon", "user": TOKEN_ID, "msg": format!("starting task {}", t.upid)})).collect(),
            ))
        }
        ("GET", ["cluster", "options"]) => ok(Value::Object(st.options.clone())),
        ("GET", ["cluster", "backup-info", "not-backed-up"]) => ok(Value::Array(
            st.guests.iter().map(|(id, g)| json!({"vmid": id, "name": g.name, "type": if g.kind == Kind::Qemu { "qemu" } else { "lxc" }})).collect(),
        )),
        ("GET", ["cluster", "ha", "status", "current"]) => ok(json!([
            {"id": "quorum", "type": "quorum", "status": "OK", "quorate": 1, "node": "pve1"},
            {"id": "master", "type": "master", "status": if st.ha_armed { "pve1 (active, 1764547200)" } else { "pve1 (disarmed)" }, "node": "pve1"},
        ])),
        ("GET", ["cluster", "replication"]) => ok(json!([])),
        ("GET", ["nodes", _, "storage"]) => {
            only(p, &["content", "storage", "enabled", "format", "target"])?;
            ok(Value::Array(
                st.storages()
                    .filter(|o| p.get("content").is_none_or(|c| o.get("content").and_then(Value::as_str).is_some_and(|have| have.split(',').any(|h| c.split(',').any(|w| w == h)))))
                    .map(|o| {
                        let mut v = Value::Object(o.clone());
                        v["total"] = json!(107_374_182_400u64);
                        v["used"] = json!(32_212_254_720u64);
                        v["avail"] = json!(75_161_927_680u64);
                        v["active"] = json!(1);
                        v
                    })
                    .collect(),
            ))
        }
        ("GET", ["nodes", _, "storage", storage, "status"]) => {
            if !st.storages().any(|o| o.get("storage") == Some(&json!(storage))) {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("storage '{storage}' does not exist")));
            }
            ok(json!({"storage": storage, "total": 107_374_182_400u64, "used": 32_212_254_720u64, "avail": 75_161_927_680u64, "active": 1, "enabled": 1}))
        }
        ("POST", ["nodes", node, "storage", storage, "oci-registry-pull"]) => {
            only(p, &["reference", "filename"])?;
            if !p.contains_key("reference") {
                return Err(bad_params(json!({"reference": "property is missing and it is not optional"})));
            }
            ok(json!(st.new_task(node, "ocipull", storage, "OK")))
        }
        ("POST", ["nodes", node, "vzdump"]) => {
            only(p, &["vmid", "storage", "mode", "compress", "mailnotification", "mailto", "all"])?;
            for id in p.get("vmid").map(String::as_str).unwrap_or("").split(',').filter(|v| !v.is_empty()) {
                if id.parse::<u64>().map_or(true, |v| !st.guests.contains_key(&v)) {
                    return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("guest {id} does not exist")));
                }
            }
            // PVE names one guest in the UPID, none for several.
            let id = p.get("vmid").filter(|v| !v.contains(',')).cloned().unwrap_or_default();
            ok(json!(st.new_task(node, "vzdump", &id, "OK")))
        }
        ("GET", ["cluster", "firewall", "options"]) => ok(Value::Object(st.firewall.clone())),
        ("PUT", ["cluster", "firewall", "options"]) => {
            only(p, &["enable", "policy_in", "policy_out", "log_ratelimit", "ebtables", "digest", "delete"])?;
            for (k, v) in p {
                st.firewall.insert(k.clone(), json!(v));
            }
            ok(Value::Null)
        }
        ("GET", ["cluster", "firewall", "rules"]) => ok(Value::Array(st.rules.iter().cloned().map(Value::Object).collect())),
        ("POST", ["cluster", "firewall", "rules"]) => {
            only(p, &["action", "type", "enable", "source", "dest", "proto", "dport", "sport", "comment", "pos", "macro", "iface", "log"])?;
            for k in ["action", "type"] {
                if !p.contains_key(k) {
                    return Err(bad_params(json!({k: "property is missing and it is not optional"})));
                }
            }
            let at = p.get("pos").and_then(|v| v.parse().ok()).unwrap_or(0usize).min(st.rules.len());
            let rule: serde_json::Map<String, Value> = p.iter().filter(|(k, _)| *k != "pos").map(|(k, v)| (k.clone(), json!(v))).collect();
            st.rules.insert(at, rule);
            st.renumber_rules();
            ok(Value::Null)
        }
        ("PUT" | "DELETE", ["cluster", "firewall", "rules", pos]) => {
            let at: usize = pos.parse().map_err(|_| bad_params(json!({"pos": "type check ('integer') failed"})))?;
            if at >= st.rules.len() {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("no rule at position {at}")));
            }
            if method == "DELETE" {
                only(p, &["digest"])?;
                st.rules.remove(at);
            } else {
                only(p, &["action", "enable", "source", "dest", "proto", "dport", "sport", "comment", "digest", "moveto", "type", "delete"])?;
                for (k, v) in p {
                    st.rules[at].insert(k.clone(), json!(v));
                }
            }
            st.renumber_rules();
            ok(Value::Null)
        }
        ("GET", ["cluster", "firewall", "aliases"]) => ok(json!([{"name": "lab-net", "cidr": "10.0.0.0/24", "comment": "lab"}])),
        ("GET", ["cluster", "firewall", "ipset"]) => ok(json!([{"name": "management", "comment": "admin hosts"}])),
        ("GET", ["nodes", node, "network"]) => {
            only(p, &["type"])?;
            ok(Value::Array(
                st.network
                    .iter()
                    .filter(|((n, _), o)| n == node && p.get("type").is_none_or(|t| o.get("type") == Some(&json!(t))))
                    .map(|(_, o)| Value::Object(o.clone()))
                    .collect(),
            ))
        }
        ("GET", ["nodes", node, "network", iface]) => ok(Value::Object(
            st.network
                .get(&((*node).to_string(), (*iface).to_string()))
                .cloned()
                .ok_or_else(|| fail(StatusCode::INTERNAL_SERVER_ERROR, format!("interface '{iface}' does not exist")))?,
        )),
        ("POST" | "PUT", ["nodes", node, "network", rest @ ..]) if rest.len() <= 1 => {
            only(p, &["iface", "type", "address", "netmask", "gateway", "bridge_ports", "bridge_vlan_aware", "autostart", "comments"])?;
            let iface = rest.first().map(|s| (*s).to_string()).or_else(|| p.get("iface").cloned())
                .ok_or_else(|| bad_params(json!({"iface": "property is missing and it is not optional"})))?;
            if !p.contains_key("type") {
                return Err(bad_params(json!({"type": "property is missing and it is not optional"})));
            }
            let key = ((*node).to_string(), iface.clone());
            let exists = st.network.contains_key(&key);
            if method == "POST" && exists {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("interface '{iface}' already exists")));
            }
            if method == "PUT" && !exists {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("interface '{iface}' does not exist")));
            }
            let o = st.network.entry(key).or_default();
            o.insert("iface".into(), json!(iface));
            for (k, v) in p {
                o.insert(k.clone(), json!(v));
            }
            ok(Value::Null)
        }
        ("DELETE", ["nodes", node, "network", iface]) => {
            if st.network.remove(&((*node).to_string(), (*iface).to_string())).is_none() {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("interface '{iface}' does not exist")));
            }
            ok(Value::Null)
        }
        ("PUT", ["cluster", "options"]) => {
            only(p, &["keyboard", "language", "console", "http_proxy", "migration_unsecure", "crs", "delete"])?;
            for (k, v) in p {
                st.options.insert(k.clone(), json!(v));
            }
            ok(Value::Null)
        }
        ("GET", ["nodes", node, "storage", storage, "content"]) => {
            only(p, &["content", "vmid"])?;
            if !st.storages().any(|o| o.get("storage") == Some(&json!(storage))) {
                return Err(fail(StatusCode::INTERNAL_SERVER_ERROR, format!("storage '{storage}' does not exist")));
            }
            let mut items = Vec::new();
            if *storage == "local" {
                items.push(json!({"volid": "local:iso/debian-13.iso", "content": "iso", "format": "iso", "size": 663_748_608u64}));
            } else {
                for (id, g) in st.guests.iter().filter(|(_, g)| g.node == *node) {
                    items.push(json!({"volid": format!("local-lvm:vm-{id}-disk-0"), "content": if g.kind == Kind::Qemu { "images" } else { "rootdir" }, "format": "raw", "vmid": id, "size": 34_359_738_368u64}));
                }
            }
            items.retain(|i| {
                p.get("content").is_none_or(|c| i["content"] == json!(c))
                    && p.get("vmid").is_none_or(|v| v.parse::<u64>().ok() == i["vmid"].as_u64())
            });
            ok(Value::Array(items))
        }
        ("GET", ["cluster", "status"]) => ok(json!([
            {"type": "cluster", "name": "lab", "quorate": 1, "nodes": 2, "version": 2},
            {"type": "node", "name": "pve1", "online": 1, "local": 1, "nodeid": 1},
            {"type": "node", "name": "pve2", "online": 1, "local": 0, "nodeid": 2},
        ])),
        ("GET", ["cluster", "resources"]) => {
            only(p, &["type"])?;
            let mut r: Vec<Value> = Vec::new();
            for n in NODES {
                r.push(json!({"id": format!("node/{n}"), "type": "node", "node": n, "status": "online"}));
                for o in st.storages() {
                    let (s, t) = (o.get("storage").cloned().unwrap_or_default(), o.get("type").cloned().unwrap_or_default());
                    r.push(json!({"id": format!("storage/{n}/{}", s.as_str().unwrap_or_default()), "type": "storage", "storage": s, "node": n, "plugintype": t}));
                }
            }
            for (id, g) in &st.guests {
                let t = if g.kind == Kind::Qemu { "qemu" } else { "lxc" };
                let mut v = State::guest_view(*id, g);
                if let Some(pool) = st.pool_of(*id) {
                    v["pool"] = json!(pool);
                }
                v["id"] = json!(format!("{t}/{id}"));
                v["type"] = json!(t);
                v["node"] = json!(g.node);
                r.push(v);
            }
            let want = p.get("type").map(String::as_str);
            r.retain(|v| match want {
                None => true,
                Some("vm") => v["type"] == "qemu" || v["type"] == "lxc",
                Some(t) => v["type"] == t,
            });
            ok(Value::Array(r))
        }
        ("GET", ["nodes", node, "tasks"]) => {
            only(p, &["limit", "vmid", "errors", "source", "start", "typefilter"])?;
            let limit = p.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50usize);
            let skip = p.get("start").and_then(|l| l.parse().ok()).unwrap_or(0usize);
            let list: Vec<Value> = st
                .tasks
                .iter()
                .rev()
                .filter(|t| t.node == *node && p.get("vmid").is_none_or(|v| *v == t.id))
                .filter(|t| p.get("typefilter").is_none_or(|k| *k == t.kind))
                .skip(skip)
                .map(State::task_view)
                .filter(|v| p.get("errors").is_none_or(|e| e == "0") || v["exitstatus"].as_str().is_some_and(|x| x != "OK"))
                .take(limit)
                .collect();
            ok(Value::Array(list))
        }
        ("GET", ["nodes", node, "tasks", upid, what @ ("status" | "log")]) => {
            let t = st
                .tasks
                .iter()
                .find(|t| t.upid == *upid && t.node == *node)
                .ok_or_else(|| fail(StatusCode::INTERNAL_SERVER_ERROR, "no such task".into()))?;
            if *what == "status" {
                ok(State::task_view(t))
            } else {
                let mut lines = vec![json!({"n": 1, "t": format!("starting {} for {}", t.kind, t.id)})];
                if Instant::now() >= t.done_at {
                    let last = if t.exit == "OK" { "TASK OK".to_string() } else { format!("TASK ERROR: {}", t.exit) };
                    lines.push(json!({"n": 2, "t": last}));
                }
                ok(Value::Array(lines))
            }
        }
        (m, _) => fail(StatusCode::NOT_IMPLEMENTED, format!("Method '{m} /{path}' not implemented", path = segs.join("/"))),
    })
}

fn handle(state: &Mutex<State>, expected_auth: &SecretString, req: SimRequest) -> SimResponse {
    let authorized = req
        .headers
        .get(hyper::header::AUTHORIZATION)
        .is_some_and(|v| {
            crate::util::constant_time_eq(v.as_bytes(), expected_auth.expose_secret().as_bytes())
        });
    if !authorized {
        return SimResponse::json(
            StatusCode::UNAUTHORIZED,
            json!({"data": null, "message": "authentication failure"}),
        );
    }
    let Some(path) = req.path.strip_prefix("/api2/json") else {
        return SimResponse::json(
            StatusCode::NOT_IMPLEMENTED,
            json!({"data": null, "message": "not an API path"}),
        );
    };
    let mut params = parse_form(&req.query);
    params.extend(parse_form(&String::from_utf8_lossy(&req.body)));
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let (status, v) = route(&mut s, &req.method, path, &params);
    SimResponse::json(status, v)
}

impl Lab {
    /// Start a lab on an ephemeral loopback port. Tasks finish after
    /// `task_seconds`.
    pub async fn start(task_seconds: f64) -> Result<Lab, String> {
        let secret = crate::util::random_hex(16);
        let expected = SecretString::from(format!("PVEAPIToken={TOKEN_ID}={secret}"));
        let state = Arc::new(Mutex::new(State {
            guests: seed(),
            tasks: Vec::new(),
            services: [
                "pveproxy",
                "pvedaemon",
                "pvestatd",
                "pve-cluster",
                "corosync",
                "pve-firewall",
                "pve-ha-lrm",
                "sshd",
                "chrony",
            ]
            .into_iter()
            .map(|s| (s.to_string(), true))
            .collect(),
            collections: seed_collections(),
            acl: vec![
                json!({"path": "/", "type": "user", "ugid": "root@pam", "roleid": "Administrator", "propagate": 1}),
            ],
            ha_armed: true,
            firewall: json!({"enable": 0, "policy_in": "DROP", "policy_out": "ACCEPT"}).as_object().cloned().unwrap_or_default(),
            rules: vec![json!({"pos": 0, "type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "8006", "comment": "web UI"}).as_object().cloned().unwrap_or_default()],
            network: NODES
                .iter()
                .flat_map(|n| {
                    [("vmbr0", "bridge"), ("eno1", "eth")].map(|(i, t)| {
                        ((n.to_string(), i.to_string()), json!({"iface": i, "type": t, "active": 1, "autostart": 1}).as_object().cloned().unwrap_or_default())
                    })
                })
                .collect(),
            options: json!({"keyboard": "en-us", "language": "en", "console": "html5", "http_proxy": "http://proxyuser:proxy-canary-pw@proxy.lab.internal:3128", "migration": {"type": "secure"}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            task_seconds,
            pid: 0x1000,
        }));
        let st = state.clone();
        let server = HttpsSim::start(
            Arc::new(move |req| handle(&st, &expected, req)),
            json!({"data": null, "message": "injected failure"}),
        )
        .await?;
        Ok(Lab {
            url: server.url.clone(),
            ca_pem: server.ca_pem.clone(),
            token_id: TOKEN_ID.to_string(),
            token_secret: SecretString::from(secret),
            state,
            server,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every (method, path) the lab received, in order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.server.requests()
    }

    /// Fail the next request(s) in the given ways, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.server.inject(faults);
    }

    /// Whether a guest exists and is running: `None` when it does not exist.
    pub fn guest_running(&self, vmid: u64) -> Option<bool> {
        self.with(|s| s.guests.get(&vmid).map(|g| g.running))
    }

    pub fn snapshots(&self, vmid: u64) -> Vec<String> {
        self.with(|s| {
            s.guests
                .get(&vmid)
                .map(|g| g.snapshots.iter().map(|x| x.0.clone()).collect())
                .unwrap_or_default()
        })
    }
}

impl crate::backends::registry::Simulator for Lab {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send + Sync> {
        self
    }
}

impl Lab {
    /// The lab cluster as endpoint "lab".
    pub fn endpoint(&self) -> Result<crate::config::Endpoint, String> {
        self.server.endpoint(
            "lab",
            crate::backends::BackendKind::Pve,
            crate::config::Credentials::ApiToken {
                id: self.token_id.clone(),
                secret: self.token_secret.clone(),
            },
        )
    }
}

/// Start a lab cluster for the embedded lab.
pub async fn start_for_lab(
    task_seconds: f64,
) -> Result<
    (
        Box<dyn crate::backends::registry::Simulator>,
        crate::config::Endpoint,
    ),
    String,
> {
    let lab = Lab::start(task_seconds).await?;
    let endpoint = lab.endpoint()?;
    Ok((Box::new(lab), endpoint))
}

/// The demo's steps on the lab cluster.
pub fn demo() -> Vec<crate::backends::registry::DemoStep> {
    let s = |who, tool, args, expect_ok, why| crate::backends::registry::DemoStep {
        who,
        tool,
        args,
        expect_ok,
        why,
    };
    vec![
        s(
            "alice",
            "pve_list_qemu_vms",
            json!({"node": "pve1"}),
            true,
            "a reader lists VMs",
        ),
        s(
            "alice",
            "pve_stop_qemu_vm",
            json!({"node": "pve1", "vmid": 100}),
            false,
            "a reader may not stop a VM",
        ),
        s(
            "bob",
            "pve_stop_qemu_vm",
            json!({"node": "pve1", "vmid": 100}),
            false,
            "stopping is destructive: unconfirmed, it is refused",
        ),
        s(
            "bob",
            "pve_stop_qemu_vm",
            json!({"node": "pve1", "vmid": 100, "confirm": true}),
            true,
            "confirmed, the operator stops it",
        ),
        s(
            "bob",
            "pve_create_qemu_snapshot",
            json!({"node": "pve1", "vmid": 101, "snapname": "pre_upgrade"}),
            true,
            "operators take snapshots",
        ),
        s(
            "bob",
            "pve_delete_qemu_vm",
            json!({"node": "pve2", "vmid": 102, "confirm": true}),
            false,
            "operators may not delete VMs",
        ),
        s(
            "carol",
            "pve_delete_qemu_vm",
            json!({"node": "pve2", "vmid": 102}),
            false,
            "an admin must confirm a delete",
        ),
        s(
            "carol",
            "pve_delete_qemu_vm",
            json!({"node": "pve2", "vmid": 102, "confirm": true}),
            true,
            "confirmed, the admin deletes it",
        ),
        s(
            "carol",
            "pve_get_node_status",
            json!({"node": "../../etc"}),
            false,
            "a hostile path value never reaches the backend",
        ),
    ]
}
