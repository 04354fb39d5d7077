//! `portcullis policy test`: decision test cases for policy authors, run
//! through the same preparation and authorization as real calls.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::Value;

use crate::backends::registry::{self, BackendKind, PLUGS};
use crate::backends::{Backends, Located};
use crate::catalog::Catalog;
use crate::config::Endpoint;
use crate::gate::{Authentication, CallRequest, Caller, Gate, Rejection, Transport};
use crate::policy::PolicyEngine;
use crate::principal::Principal;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    /// Policy directory, relative to this file.
    policies: Option<PathBuf>,
    #[serde(default)]
    endpoints: Vec<TestEndpoint>,
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct TestEndpoint {
    name: String,
    /// A backend's name (see `registry`); the first backend's by default.
    #[serde(default = "first_backend")]
    backend: String,
    #[serde(default = "yes")]
    tls_verify: bool,
    /// The backend's own settings (e.g. `regions`), as its plug reads them.
    #[serde(flatten)]
    extra: toml::Table,
}

fn first_backend() -> String {
    PLUGS[0].name.into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    principal: String,
    #[serde(default)]
    groups: Vec<String>,
    tool: String,
    #[serde(default)]
    args: Option<Value>,
    #[serde(default = "none")]
    confirmation: String,
    #[serde(default = "stdio")]
    transport: String,
    /// How the principal authenticated: local, api_key, oauth or mtls.
    #[serde(default = "local")]
    authentication: String,
    /// Where the target lives, when the arguments cannot say (what a live
    /// call asks the backend): the target first, then its places.
    #[serde(default)]
    resource: Vec<TestPlace>,
    /// allow, deny or invalid.
    expect: String,
}

/// One entity of a case's `resource` chain.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestPlace {
    /// A backend's entity type (`VergeVm`, `Vm` …).
    kind: String,
    id: String,
    #[serde(default)]
    attrs: serde_json::Map<String, Value>,
    /// `[type, id]` pairs; none: directly under the endpoint.
    #[serde(default)]
    parents: Vec<(String, String)>,
}

impl TestPlace {
    fn located(&self) -> Result<Located, String> {
        let known = |k: &str| {
            registry::entity_type(k)
                .ok_or_else(|| format!("resource kind {k:?} is not an entity type of any backend"))
        };
        let kind = known(&self.kind)?;
        let attrs = self
            .attrs
            .iter()
            .map(|(k, v)| {
                let name = registry::entity_attr(kind, k)
                    .ok_or_else(|| format!("{kind} has no attribute {k:?}"))?;
                Ok((name, v.clone()))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Located {
            kind,
            id: self.id.clone(),
            attrs,
            parents: self
                .parents
                .iter()
                .map(|(k, id)| Ok((known(k)?, id.clone())))
                .collect::<Result<_, String>>()?,
        })
    }
}

fn none() -> String {
    "none".into()
}

fn stdio() -> String {
    "stdio".into()
}

fn local() -> String {
    "local".into()
}

fn gate_for(file: &TestFile, policies: PolicyEngine) -> Result<Gate, String> {
    // Without declared endpoints, one of each backend, named as its plug
    // says, with its default test settings.
    let no_extra = toml::Table::new();
    let declared: Vec<(&str, BackendKind, bool, &toml::Table)> = if file.endpoints.is_empty() {
        PLUGS
            .iter()
            .map(|p| (p.test_endpoint, p.kind, true, &no_extra))
            .collect()
    } else {
        file.endpoints
            .iter()
            .map(|e| {
                let kind = BackendKind::by_name(&e.backend).ok_or_else(|| {
                    format!(
                        "endpoint {}: backend {:?} is not one of {}",
                        e.name,
                        e.backend,
                        registry::names()
                    )
                })?;
                Ok((e.name.as_str(), kind, e.tls_verify, &e.extra))
            })
            .collect::<Result<_, String>>()?
    };
    // Endpoints that are resolved but never contacted: a test runs no backend.
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for (name, kind, tls_verify, extra) in declared {
        let first = !endpoints.iter().any(|e: &Endpoint| e.backend == kind);
        let mut ep = Endpoint::placeholder_of(kind, name, tls_verify, first);
        ep.settings =
            (kind.plug().test_settings)(extra).map_err(|e| format!("endpoint {name}: {e}"))?;
        endpoints.push(ep);
    }
    let backends = Backends::new(&endpoints).map_err(|e| e.to_string())?;
    Ok(Gate::new(Catalog::builtin(), policies, None, backends))
}

/// The catalog's own spelling of a case's `transport` or `authentication`,
/// refusing a misspelt one rather than quietly testing something else.
/// `value` as one of `all` (named by `as_str`), or an error listing them.
fn known<T: Copy>(
    what: &str,
    value: &str,
    all: &[T],
    as_str: fn(T) -> &'static str,
) -> Result<T, String> {
    all.iter()
        .copied()
        .find(|a| as_str(*a) == value)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|a| as_str(*a)).collect();
            format!("{what} {value:?} is not one of {}", names.join(", "))
        })
}

/// Run every case of one file; returns (passed, failed).
fn run_file(path: &Path, override_dir: Option<&Path>) -> Result<(usize, usize), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: TestFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let dir = match (override_dir, &file.policies) {
        (Some(d), _) => d.to_path_buf(),
        (None, Some(p)) => base.join(p),
        (None, None) => {
            return Err(format!(
                "{}: say which policies to test (`policies = \"dir\"` or --policies)",
                path.display()
            ))
        }
    };
    let catalog = Catalog::builtin();
    let engine =
        PolicyEngine::load_dir(&dir, &catalog).map_err(|e| format!("{}: {e}", dir.display()))?;
    let gate = gate_for(&file, engine)?;
    let (mut passed, mut failed) = (0, 0);
    for case in &file.case {
        let caller = Caller {
            principal: Principal::new(case.principal.clone(), case.groups.clone()),
            transport: known(
                "transport",
                &case.transport,
                &Transport::ALL,
                Transport::as_str,
            )?,
            authentication: known(
                "authentication",
                &case.authentication,
                &Authentication::ALL,
                Authentication::as_str,
            )?,
            client: "policy-test".into(),
            can_elicit: false,
            break_glass: None,
        };
        let confirmation = super::parse_confirmation(&case.confirmation)?;
        let req = CallRequest {
            tool: &case.tool,
            args: case.args.as_ref(),
            confirmation,
            confirms: None,
        };
        let prepared = if case.resource.is_empty() {
            gate.prepare(&caller, &req)
        } else {
            let found = case
                .resource
                .iter()
                .map(TestPlace::located)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: case {:?}: {e}", path.display(), case.name))?;
            gate.prepare_located(&caller, &req, found)
        };
        let (got, detail) = match prepared {
            Ok(p) if p.decision.allowed => ("allow", p.decision.policies.join(", ")),
            Ok(p) => ("deny", p.decision.policies.join(", ")),
            Err(Rejection::Invalid(m) | Rejection::Unresolved(m) | Rejection::Approval(m)) => {
                ("invalid", m)
            }
            Err(Rejection::InvalidArguments(e)) => ("invalid", e.to_string()),
            Err(Rejection::UnknownTool) => ("invalid", format!("unknown tool {}", case.tool)),
        };
        if got == case.expect {
            passed += 1;
            outln!("PASS {}", case.name);
        } else {
            failed += 1;
            outln!(
                "FAIL {}: expected {}, got {got} ({detail})",
                case.name,
                case.expect
            );
        }
    }
    Ok((passed, failed))
}

pub fn run(policies: Option<&Path>, files: &[PathBuf]) -> Result<ExitCode, String> {
    let (mut passed, mut failed) = (0, 0);
    for f in files {
        let (p, x) = run_file(f, policies)?;
        passed += p;
        failed += x;
    }
    outln!("policy decisions: {passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
