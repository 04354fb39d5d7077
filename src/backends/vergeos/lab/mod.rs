//! A simulated VergeOS system, served over HTTPS on loopback in process:
//! the embedded lab's VergeOS and the tests' fake. There is no VergeOS
//! simulator to borrow, so this one checks what VergeOS checks (basic auth
//! on token creation, the `token` cookie or an `Authorization` header on
//! every API call, field names, filters, row keys, action names) and
//! answers in the API's shapes. The official Python SDK (pyvergeos) drives
//! it in `tests/vergeos_sdk.rs` to show it is faithful.

mod query;
mod seed;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use base64::Engine;
use hyper::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Map, Value};

use crate::backends::sim::{HttpsSim, SimRequest, SimResponse};
use crate::config::{Credentials, Endpoint};
use query::{Db, Link, Row};

pub use crate::backends::sim::Fault;
pub use seed::{ACME_APP, DB, LEGACY, WEB};

pub const USER: &str = "portcullis-lab";

struct State {
    tables: BTreeMap<&'static str, Vec<Row>>,
    /// Session tokens handed out, and whether each still holds.
    tokens: BTreeMap<String, bool>,
    password: String,
    api_token: String,
    stubborn: BTreeSet<i64>,
    /// Answer per-machine queries (`machine_nics`, drives, snapshots) with
    /// every machine's rows, as the VergeOS MCP server reports VergeOS
    /// doing for NICs.
    nic_quirk: bool,
    /// Hand out session tokens but accept none (an account without API
    /// rights).
    refuse_sessions: bool,
    /// Every action request body, in order.
    actions: Vec<Value>,
    next_key: i64,
    now: i64,
}

impl Db for State {
    fn columns(&self, table: &str) -> Option<&'static [&'static str]> {
        seed::columns(table)
    }

    fn link(&self, table: &str, column: &str) -> Option<Link> {
        Some(match (table, column) {
            ("vms" | "nodes" | "vnets", "machine") => Link::Key("machines"),
            ("machines", "status") => Link::Back("machine_status", "machine"),
            ("machines", "stats") => Link::Back("machine_stats", "machine"),
            ("machines" | "nodes", "cluster") => Link::Key("clusters"),
            ("machine_status", "node" | "migrated_node") => Link::Key("nodes"),
            ("machine_nics" | "tenants", "vnet") => Link::Key("vnets"),
            (
                "machine_nics" | "machine_drives" | "machine_snapshots" | "machine_stats"
                | "machine_status",
                "machine",
            ) => Link::Key("machines"),
            _ => return None,
        })
    }

    fn rows(&self, table: &str) -> &[Row] {
        self.tables.get(table).map_or(&[], Vec::as_slice)
    }

    fn now(&self) -> i64 {
        self.now
    }
}

fn err(status: StatusCode, message: impl Into<String>) -> SimResponse {
    SimResponse::json(status, json!({"err": message.into()}))
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn params(query: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

impl State {
    fn table(&mut self, t: &str) -> Option<&mut Vec<Row>> {
        self.tables.get_mut(t)
    }

    fn find(&self, table: &str, key: &str) -> Option<&Row> {
        self.rows(table).iter().find(|r| match r.get("$key") {
            Some(Value::String(s)) => s == key,
            Some(Value::Number(n)) => key.parse::<i64>().ok() == n.as_i64(),
            _ => false,
        })
    }

    fn status_mut(&mut self, machine: i64) -> Option<&mut Row> {
        self.table("machine_status")?
            .iter_mut()
            .find(|r| int(r.get("machine")) == Some(machine))
    }

    fn set_running(&mut self, machine: i64, running: bool) {
        if let Some(s) = self.status_mut(machine) {
            s.insert("running".into(), json!(running));
            s.insert(
                "status".into(),
                json!(if running { "running" } else { "stopped" }),
            );
            s.insert(
                "state".into(),
                json!(if running { "online" } else { "offline" }),
            );
        }
    }

    fn is_running(&self, machine: i64) -> bool {
        self.rows("machine_status")
            .iter()
            .find(|r| int(r.get("machine")) == Some(machine))
            .is_some_and(|r| r.get("running") == Some(&json!(true)))
    }

    fn authorized(&self, req: &SimRequest) -> bool {
        let cookie_token = req
            .headers
            .get_all(hyper::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().strip_prefix("token="))
            .any(|t| {
                (self.tokens.get(t) == Some(&true) && !self.refuse_sessions) || t == self.api_token
            });
        let header = req
            .headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        cookie_token
            || header
                .strip_prefix("Bearer ")
                .is_some_and(|t| t == self.api_token)
            || self.basic_ok(header)
    }

    fn basic_ok(&self, header: &str) -> bool {
        let Some(b64) = header.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return false;
        };
        String::from_utf8_lossy(&raw) == format!("{USER}:{}", self.password)
    }

    fn handle(&mut self, req: &SimRequest) -> SimResponse {
        let path = req.path.trim_end_matches('/');
        if path == "/api/sys/tokens" && req.method == "POST" {
            return self.login(req);
        }
        if let Some(key) = path.strip_prefix("/api/sys/tokens/") {
            if req.method == "DELETE" && self.authorized(req) {
                return match self.tokens.get_mut(key) {
                    Some(live) => {
                        *live = false;
                        SimResponse::json(StatusCode::OK, json!({}))
                    }
                    None => err(StatusCode::NOT_FOUND, "token not found"),
                };
            }
        }
        if !self.authorized(req) {
            return err(
                StatusCode::UNAUTHORIZED,
                "Permission denied: not logged in or session expired",
            );
        }
        let Some(rest) = path.strip_prefix("/api/v4/") else {
            return err(StatusCode::NOT_FOUND, format!("no such API path {path}"));
        };
        let (table, key) = match rest.split_once('/') {
            Some((t, k)) => (t, Some(k)),
            None => (rest, None),
        };
        let body: Value = if req.body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(e) => return err(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")),
            }
        };
        match (req.method.as_str(), table, key) {
            ("GET", t, k) => self.get(t, k, &params(&req.query)),
            ("POST", "vm_actions" | "vnet_actions" | "tenant_actions", None) => {
                self.action(table, &body)
            }
            ("POST", "machine_drives" | "machine_snapshots", None) => self.create(table, &body),
            ("PUT", "vms" | "machine_drives", Some(k)) => self.update(table, k, &body),
            ("DELETE", "machine_snapshots", Some(k)) => {
                let Some(rows) = self.table(table) else {
                    return err(StatusCode::NOT_FOUND, "no such table");
                };
                let before = rows.len();
                rows.retain(|r| int(r.get("$key")).map(|n| n.to_string()).as_deref() != Some(k));
                if rows.len() == before {
                    return err(
                        StatusCode::NOT_FOUND,
                        format!("machine_snapshots/{k} not found"),
                    );
                }
                SimResponse::empty(StatusCode::NO_CONTENT)
            }
            (m, t, _) => err(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{m} is not supported on {t}"),
            ),
        }
    }

    fn login(&mut self, req: &SimRequest) -> SimResponse {
        let header = req
            .headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let body_ok = body.get("login").and_then(Value::as_str) == Some(USER)
            && body.get("password").and_then(Value::as_str) == Some(self.password.as_str());
        if !self.basic_ok(header) || !body_ok {
            return err(StatusCode::UNAUTHORIZED, "Invalid username or password");
        }
        let token = crate::util::random_hex(20);
        self.tokens.insert(token.clone(), true);
        SimResponse::json(StatusCode::CREATED, json!({"$key": token, "$row": 1}))
    }

    fn get(&self, table: &str, key: Option<&str>, p: &BTreeMap<String, String>) -> SimResponse {
        if self.columns(table).is_none() {
            return err(StatusCode::NOT_FOUND, format!("no such table '{table}'"));
        }
        let fields = match query::parse_fields(
            self,
            table,
            p.get("fields").map_or("most", String::as_str),
        ) {
            Ok(f) => f,
            Err(e) => return err(StatusCode::BAD_REQUEST, e),
        };
        if let Some(k) = key {
            return match self.find(table, k) {
                Some(r) => SimResponse::json(
                    StatusCode::OK,
                    Value::Object(query::project(self, table, r, &fields)),
                ),
                None => err(StatusCode::NOT_FOUND, format!("{table}/{k} not found")),
            };
        }
        let aliases: BTreeMap<String, String> = fields
            .iter()
            .filter_map(|f| match f {
                query::Field::Path { expr, key } if expr != key => {
                    Some((key.clone(), expr.clone()))
                }
                _ => None,
            })
            .collect();
        let mut rows: Vec<Row> = self.rows(table).to_vec();
        if let Some(text) = p.get("filter") {
            let filter = match query::parse_filter(text) {
                Ok(f) => f,
                Err(e) => return err(StatusCode::BAD_REQUEST, format!("invalid filter: {e}")),
            };
            let mut named = Vec::new();
            query::filter_fields(&filter, &mut named);
            let columns = self.columns(table).unwrap_or(&[]);
            if let Some(bad) = named.iter().find(|f| {
                let head = f.split('#').next().unwrap_or(f);
                head != "$key" && !columns.contains(&head) && !aliases.contains_key(*f)
            }) {
                return err(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid filter field '{bad}' for table '{table}'"),
                );
            }
            let quirk = self.nic_quirk
                && matches!(
                    table,
                    "machine_nics" | "machine_drives" | "machine_snapshots"
                );
            if !quirk {
                rows.retain(|r| query::matches(self, table, r, &aliases, &filter));
            }
        }
        if let Some(s) = p.get("sort") {
            query::sort(self, table, &mut rows, s);
        }
        let offset = p
            .get("offset")
            .and_then(|o| o.parse().ok())
            .unwrap_or(0usize);
        let limit = p
            .get("limit")
            .and_then(|o| o.parse().ok())
            .unwrap_or(usize::MAX);
        let out: Vec<Value> = rows
            .iter()
            .skip(offset)
            .take(limit)
            .map(|r| Value::Object(query::project(self, table, r, &fields)))
            .collect();
        SimResponse::json(StatusCode::OK, Value::Array(out))
    }

    fn action(&mut self, table: &str, body: &Value) -> SimResponse {
        self.actions.push(body.clone());
        let (field, allowed): (&str, &[&str]) = match table {
            "vm_actions" => (
                "vm",
                &["poweron", "poweroff", "kill", "reset", "restore", "clone"],
            ),
            "vnet_actions" => ("vnet", &["poweron", "poweroff", "kill", "reset", "refresh"]),
            _ => (
                "tenant",
                &[
                    "poweron",
                    "poweroff",
                    "kill",
                    "reset",
                    "isolateon",
                    "isolateoff",
                ],
            ),
        };
        let action = body.get("action").and_then(Value::as_str).unwrap_or("");
        if !allowed.contains(&action) {
            return err(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Invalid action '{action}' for {table}"),
            );
        }
        let Some(key) = int(body.get(field)) else {
            return err(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("'{field}' is required and must be a key"),
            );
        };
        let target = match field {
            "vm" => "vms",
            "vnet" => "vnets",
            _ => "tenants",
        };
        let Some(row) = self.find(target, &key.to_string()).cloned() else {
            return err(StatusCode::NOT_FOUND, format!("{target}/{key} not found"));
        };
        if field == "tenant" {
            let running = matches!(action, "poweron" | "reset");
            if let Some(t) = self
                .table("tenants")
                .and_then(|t| t.iter_mut().find(|r| int(r.get("$key")) == Some(key)))
            {
                if let Some(Value::Object(s)) = t.get_mut("status") {
                    s.insert("running".into(), json!(running));
                    s.insert(
                        "status".into(),
                        json!(if running { "running" } else { "stopped" }),
                    );
                }
            }
            return SimResponse::json(StatusCode::OK, json!({}));
        }
        let Some(machine) = int(row.get("machine")) else {
            return err(StatusCode::UNPROCESSABLE_ENTITY, "object has no machine");
        };
        if row.get("is_snapshot") == Some(&json!(true)) && action == "poweron" {
            return err(
                StatusCode::UNPROCESSABLE_ENTITY,
                "a snapshot VM cannot be powered on",
            );
        }
        match action {
            "poweron" => self.set_running(machine, true),
            "poweroff" if !self.stubborn.contains(&machine) => self.set_running(machine, false),
            "poweroff" => {}
            "kill" => self.set_running(machine, false),
            "reset" if !self.is_running(machine) => {
                return err(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "cannot reset: not running",
                )
            }
            "restore" => {
                let snap = int(body.pointer("/params/snapshot"));
                let belongs = snap
                    .and_then(|s| self.find("machine_snapshots", &s.to_string()))
                    .is_some_and(|s| int(s.get("machine")) == Some(machine));
                if !belongs {
                    return err(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "params.snapshot is not a snapshot of this VM",
                    );
                }
            }
            "clone" => {
                self.next_key += 1;
                let mut copy = row.clone();
                copy.insert("$key".into(), json!(self.next_key));
                copy.insert("is_snapshot".into(), json!(false));
                let name = body
                    .pointer("/params/name")
                    .cloned()
                    .unwrap_or(json!("clone"));
                copy.insert("name".into(), name);
                let k = self.next_key;
                if let Some(t) = self.table("vms") {
                    t.push(copy);
                }
                return SimResponse::json(
                    StatusCode::OK,
                    json!({"response": {"vmkey": k.to_string()}}),
                );
            }
            _ => {}
        }
        SimResponse::json(StatusCode::OK, json!({}))
    }

    fn create(&mut self, table: &str, body: &Value) -> SimResponse {
        let Some(b) = body.as_object() else {
            return err(StatusCode::BAD_REQUEST, "body must be a JSON object");
        };
        let writable: &[&str] = if table == "machine_drives" {
            &[
                "machine",
                "name",
                "disksize",
                "interface",
                "media",
                "description",
                "enabled",
            ]
        } else {
            &[
                "machine",
                "name",
                "description",
                "expires",
                "expires_type",
                "quiesce",
                "created_manually",
            ]
        };
        if let Some(bad) = b.keys().find(|k| !writable.contains(&k.as_str())) {
            return err(
                StatusCode::BAD_REQUEST,
                format!("Invalid field '{bad}' for table '{table}'"),
            );
        }
        let machine = int(b.get("machine"));
        if machine.is_none_or(|m| self.find("machines", &m.to_string()).is_none()) {
            return err(
                StatusCode::UNPROCESSABLE_ENTITY,
                "'machine' must name an existing machine",
            );
        }
        if b.get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return err(StatusCode::UNPROCESSABLE_ENTITY, "'name' is required");
        }
        self.next_key += 1;
        let key = self.next_key;
        let mut row: Row = b.clone();
        row.remove("quiesce");
        row.insert("$key".into(), json!(key));
        if table == "machine_snapshots" {
            row.insert("created".into(), json!(self.now));
            row.insert(
                "quiesced".into(),
                b.get("quiesce").cloned().unwrap_or(json!(false)),
            );
        }
        if let Some(t) = self.table(table) {
            t.push(row);
        }
        SimResponse::json(
            StatusCode::CREATED,
            json!({"$key": key, "$row": 1, "location": format!("/v4/{table}/{key}"), "dbpath": format!("{table}/{key}")}),
        )
    }

    fn update(&mut self, table: &str, key: &str, body: &Value) -> SimResponse {
        let Some(b) = body.as_object() else {
            return err(StatusCode::BAD_REQUEST, "body must be a JSON object");
        };
        let writable: &[&str] = if table == "vms" {
            &["name", "description", "cpu_cores", "ram", "enabled"]
        } else {
            &["name", "description", "disksize", "interface", "enabled"]
        };
        if let Some(bad) = b.keys().find(|k| !writable.contains(&k.as_str())) {
            return err(
                StatusCode::BAD_REQUEST,
                format!("Invalid field '{bad}' for table '{table}'"),
            );
        }
        let Some(current) = self.find(table, key).cloned() else {
            return err(StatusCode::NOT_FOUND, format!("{table}/{key} not found"));
        };
        if let (Some(new), Some(old)) = (int(b.get("disksize")), int(current.get("disksize"))) {
            if new < old {
                return err(StatusCode::UNPROCESSABLE_ENTITY, "drives cannot shrink");
            }
        }
        if let Some(row) = self.table(table).and_then(|t| {
            t.iter_mut()
                .find(|r| int(r.get("$key")).map(|n| n.to_string()).as_deref() == Some(key))
        }) {
            for (k, v) in b {
                row.insert(k.clone(), v.clone());
            }
        }
        SimResponse::json(StatusCode::OK, json!({}))
    }
}

/// A running simulated VergeOS system.
pub struct Lab {
    pub url: String,
    pub ca_pem: Vec<u8>,
    pub user: String,
    pub password: SecretString,
    pub api_token: SecretString,
    state: Arc<Mutex<State>>,
    server: HttpsSim,
}

impl Lab {
    pub async fn start() -> Result<Lab, String> {
        let password = crate::util::random_hex(16);
        let api_token = crate::util::random_hex(24);
        let now = crate::util::UtcTime::now().epoch;
        let state = Arc::new(Mutex::new(State {
            tables: seed::tables(now),
            tokens: BTreeMap::new(),
            password: password.clone(),
            api_token: api_token.clone(),
            stubborn: seed::STUBBORN_MACHINES.into_iter().collect(),
            nic_quirk: false,
            refuse_sessions: false,
            actions: Vec::new(),
            next_key: 1000,
            now,
        }));
        let st = state.clone();
        let server = HttpsSim::start(
            Arc::new(move |req| {
                let mut s = st.lock().unwrap_or_else(|p| p.into_inner());
                s.now = crate::util::UtcTime::now().epoch;
                s.handle(&req)
            }),
            json!({"err": "injected failure"}),
        )
        .await?;
        Ok(Lab {
            url: server.url.clone(),
            ca_pem: server.ca_pem.clone(),
            user: USER.into(),
            password: SecretString::from(password),
            api_token: SecretString::from(api_token),
            state,
            server,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every (method, path) the system received, in order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.server.requests()
    }

    /// Fail the next request(s) in the given ways, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.server.inject(faults);
    }

    /// Every action body posted to a `*_actions` table, in order.
    pub fn actions(&self) -> Vec<Value> {
        self.with(|s| s.actions.clone())
    }

    /// Session tokens now valid.
    pub fn live_sessions(&self) -> usize {
        self.with(|s| s.tokens.values().filter(|v| **v).count())
    }

    /// Every session token ever handed out (for canary scans).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.with(|s| s.tokens.keys().cloned().collect())
    }

    /// Expire every session token, as VergeOS does after inactivity.
    pub fn expire_sessions(&self) {
        self.with(|s| s.tokens.values_mut().for_each(|v| *v = false));
    }

    /// Hand out session tokens but refuse them on every call.
    pub fn refuse_sessions(&self, on: bool) {
        self.with(|s| s.refuse_sessions = on);
    }

    /// Answer NIC queries with every machine's NICs (the seed's quirk).
    pub fn nic_quirk(&self, on: bool) {
        self.with(|s| s.nic_quirk = on);
    }

    /// Whether the machine is running.
    pub fn running(&self, machine: i64) -> bool {
        self.with(|s| s.is_running(machine))
    }

    /// A table's rows as the system holds them.
    pub fn table(&self, table: &str) -> Vec<Map<String, Value>> {
        self.with(|s| s.rows(table).to_vec())
    }

    /// Make a graceful power-off of this machine never complete (or
    /// complete again).
    pub fn ignore_acpi(&self, machine: i64, ignore: bool) {
        self.with(|s| {
            if ignore {
                s.stubborn.insert(machine);
            } else {
                s.stubborn.remove(&machine);
            }
        });
    }

    /// The system as an endpoint logging in with the user and password.
    pub fn endpoint(&self, name: &str) -> Result<Endpoint, String> {
        self.endpoint_with(
            name,
            Credentials::UserPassword {
                user: self.user.clone(),
                password: self.password.clone(),
            },
        )
    }

    /// The system as an endpoint with a pre-issued API token.
    pub fn token_endpoint(&self, name: &str) -> Result<Endpoint, String> {
        self.endpoint_with(
            name,
            Credentials::ApiToken {
                id: super::config::API_TOKEN_ID.into(),
                secret: self.api_token.clone(),
            },
        )
    }

    fn endpoint_with(&self, name: &str, credentials: Credentials) -> Result<Endpoint, String> {
        self.server
            .endpoint(name, crate::backends::BackendKind::Vergeos, credentials)
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

/// The lab's VergeOS endpoint name (the Proxmox VE lab is "lab").
pub const LAB_ENDPOINT: &str = "verge-lab";

pub async fn start_for_lab() -> Result<crate::backends::registry::Started, String> {
    let lab = Lab::start().await?;
    let endpoint = lab.endpoint(LAB_ENDPOINT)?;
    Ok((Box::new(lab), endpoint))
}

/// The demo's steps on the simulated VergeOS system.
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
            "vergeos_list_vms",
            json!({}),
            true,
            "a reader lists VergeOS VMs",
        ),
        s(
            "bob",
            "vergeos_power_off_vm",
            json!({"id": DB.0, "wait_timeout": 5}),
            true,
            "a graceful power-off is not destructive: the operator runs it unconfirmed",
        ),
        s(
            "bob",
            "vergeos_power_off_vm",
            json!({"id": LEGACY.0, "wait_timeout": 1, "force_after_timeout": true}),
            false,
            "forcing after the wait is destructive: unconfirmed, it is refused",
        ),
        s(
            "bob",
            "vergeos_power_off_vm",
            json!({"id": LEGACY.0, "wait_timeout": 1, "force_after_timeout": true, "confirm": true}),
            true,
            "confirmed, the VM that ignores ACPI is forced off",
        ),
        s(
            "bob",
            "vergeos_tenant_action",
            json!({"id": 1, "action": "poweroff", "confirm": true}),
            false,
            "operators never act on a whole tenant",
        ),
    ]
}
