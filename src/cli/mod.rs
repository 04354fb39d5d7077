//! The `portcullis` command line. `main.rs` only parses and calls [`run`].

#[macro_use]
pub(crate) mod out;
mod approvals;
mod demo;
mod explain;
mod matrix;
mod policy_test;
mod shadow_report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use crate::audit::{verify_file, AuditLog};
use crate::backends::Backends;
use crate::catalog::{Catalog, ToolDef};
use crate::config::{Config, ProcessEnv};
use crate::gate::verdict::DecisionKind;
use crate::gate::{CallRequest, Caller, Confirmation, Outcome, Rejection};
use crate::policy::{schema, PolicyEngine};
use crate::principal::Principal;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "A policy-gated, audited MCP server for infrastructure operations"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where configuration comes from: a file, or the embedded lab.
#[derive(Debug, Args, Clone)]
pub struct SourceArgs {
    /// Configuration file (default: $PORTCULLIS_CONFIG).
    #[arg(long, env = "PORTCULLIS_CONFIG", conflicts_with = "lab")]
    pub config: Option<PathBuf>,
    /// Use the embedded lab: every backend's simulator and the default policies.
    #[arg(long)]
    pub lab: bool,
    /// Policy directory, overriding the configuration's (or the lab's bundle).
    #[arg(long)]
    pub policies: Option<PathBuf>,
    /// Audit log for the lab (default: lab-audit.jsonl in the user's state
    /// directory, $XDG_STATE_HOME/portcullis or ~/.local/state/portcullis).
    #[arg(long)]
    pub lab_audit_log: Option<PathBuf>,
    /// With --config: also start the embedded lab cluster and add it as
    /// endpoint "lab" (for trying a configuration without infrastructure).
    #[arg(long, requires = "config")]
    pub lab_backend: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum Transport {
    Stdio,
    Http,
}

#[derive(Debug, Args, Clone)]
pub struct WhoArgs {
    /// The principal to act as (must be configured unless --group is given).
    #[arg(long = "as", value_name = "USER")]
    pub principal: Option<String>,
    /// Groups of an ad-hoc principal (repeatable); for trying policies.
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (one local principal) or Streamable HTTP
    /// (the configuration's [http] section: authenticated principals).
    Serve {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        who: WhoArgs,
        #[arg(long, value_enum, default_value = "stdio")]
        transport: Transport,
        /// Listen here instead of [http] listen (HTTP only).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Shell completions, generated from this command line's definition
    /// (e.g. `portcullis completions bash > /etc/bash_completion.d/portcullis`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page, as roff (e.g. `portcullis man > portcullis.1`;
    /// `man -l portcullis.1`).
    Man,
    /// Write the configuration file and policy directory a seed's
    /// environment amounts to (what `serve` uses without a configuration
    /// file), to edit and then run with `--config`.
    Init {
        /// The seed: mcp-pve, mcvsphere (also vSphere-MCP-Pro), vergeos,
        /// volcengine.
        #[arg(long = "from", value_name = "SEED")]
        from: String,
        /// Where to write portcullis.toml and policies/ (created; must not
        /// hold them already).
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },
    /// Is the HTTP server up? GETs its /healthz: exit 0 if it answers 200
    /// (for container health checks and monitoring scripts).
    Health {
        #[arg(
            long,
            env = "PORTCULLIS_HEALTH_URL",
            default_value = "http://127.0.0.1:8080/healthz"
        )]
        url: url::Url,
    },
    /// Make a new API key: prints the key once, and the line for the
    /// configuration (which stores only its SHA-256).
    ApiKey {
        /// The principal the key authenticates.
        #[arg(long = "for", value_name = "PRINCIPAL")]
        principal: String,
        /// Groups to record with the key (repeatable).
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// A person's key for the approvers' page and admin API
        /// (`[[http.approver_keys]]`; groups come from `[[principals]]`).
        #[arg(long, conflicts_with = "groups")]
        approver: bool,
    },
    /// Serve MCP over stdio against the embedded lab, or run its demo.
    Lab {
        /// Run a scripted scenario end to end and exit (non-zero if any step misbehaves).
        #[arg(long)]
        demo: bool,
        /// Audit log (default: lab-audit.jsonl in the user's state
        /// directory, $XDG_STATE_HOME/portcullis or ~/.local/state/portcullis).
        #[arg(long)]
        audit_log: Option<PathBuf>,
        /// Policy directory instead of the embedded default bundle.
        #[arg(long)]
        policies: Option<PathBuf>,
        #[command(flatten)]
        who: WhoArgs,
    },
    /// Check configuration, policies and schema; exit 0 if all is well.
    Check {
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Print the Cedar schema generated from the tool catalog.
    Schema,
    /// List tools; with --as, whether that principal may call each.
    Tools {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        who: WhoArgs,
        /// Print the README's Markdown table instead.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        /// Print JSON: every tool, whether it is available and, if not, why.
        #[arg(long)]
        json: bool,
    },
    /// Decide a call without running it. Exit 0 when allowed, 1 when denied.
    DryRun {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        who: WhoArgs,
        tool: String,
        /// Arguments as a JSON object.
        #[arg(default_value = "{}")]
        args: String,
        /// Decide as if confirmed this way: none, argument or elicitation.
        #[arg(long, default_value = "none")]
        confirmation: String,
        /// Print the decision and the complete Cedar request as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run one tool call through the full path (for scripts).
    Call {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        who: WhoArgs,
        tool: String,
        #[arg(default_value = "{}")]
        args: String,
    },
    /// Policy authoring helpers.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Emergency access: grant a principal a group for a bounded time, with
    /// a reason, on a running server (through its admin socket). Every call
    /// made under a grant is marked; its start and end are audited.
    BreakGlass {
        /// The server's admin socket (`admin_socket` in `[server]`).
        #[arg(long, env = "PORTCULLIS_ADMIN_SOCKET")]
        socket: PathBuf,
        #[command(subcommand)]
        command: BreakGlassCommand,
    },
    /// Answer calls parked for approval on a running server: through its
    /// admin socket (`--socket`, answering `--as` a configured principal)
    /// or its admin API (`--url`, as the principal whose approver key is in
    /// PORTCULLIS_APPROVER_KEY).
    Approvals {
        #[command(flatten)]
        to: approvals::Channel,
        #[command(subcommand)]
        command: ApprovalsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// The approval requests not yet answered or spent.
    List,
    /// One request: exactly what will run, on what, asked by whom and why.
    Show { id: String },
    /// Approve, as a principal whom policy lets approve
    /// (`Action::"approve"`; the shipped bundle: never one's own request).
    Approve {
        id: String,
        /// Who answers (with --socket; over --url the key says who).
        #[arg(long = "as")]
        approver: Option<String>,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Deny, with a reason the requester is shown.
    Deny {
        id: String,
        /// Who answers (with --socket; over --url the key says who).
        #[arg(long = "as")]
        approver: Option<String>,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BreakGlassCommand {
    /// Grant PRINCIPAL the group GROUP for a while.
    Grant {
        #[arg(long)]
        principal: String,
        #[arg(long)]
        group: String,
        /// How long: "30m", "2h" (at most the server's break_glass_max).
        #[arg(long = "for", value_parser = humantime::parse_duration)]
        duration: std::time::Duration,
        /// Why: what is broken, the incident or ticket. Recorded.
        #[arg(long)]
        reason: String,
        /// Who asks (a configured principal): where grants need an
        /// approval (`break_glass_needs_approval`), the grant is parked as
        /// an approval request in their name.
        #[arg(long = "as")]
        requested_by: Option<String>,
        /// The approved request to make the grant under (asked again,
        /// exactly as approved).
        #[arg(long = "approval")]
        approval_id: Option<String>,
    },
    /// The grants in force.
    List,
    /// End a grant before its time.
    End { id: String },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run decision test cases (TOML); exit 0 when every case passes.
    Test {
        /// Policy directory, overriding each file's `policies`.
        #[arg(long)]
        policies: Option<PathBuf>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Who may do what where: every configured principal and any member
    /// of each group the configuration or the policies name, × every tool
    /// on every endpoint (and configured region), decided on a sample call
    /// as allow / confirm / human confirm / deny.
    Matrix {
        #[command(flatten)]
        source: SourceArgs,
        #[arg(long, value_enum, default_value = "markdown")]
        format: matrix::Format,
    },
    /// Every decision of the matrix's space that changes between the policy
    /// directories OLD and NEW, with the policies responsible. Exit 0 when
    /// none changes, 1 when some do.
    Diff {
        #[command(flatten)]
        source: SourceArgs,
        old: PathBuf,
        new: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Summarise shadow mode's disagreements (`shadow` records in audit
    /// logs) by tool and principal: what the candidate set
    /// (`shadow_policies`) would deny that is allowed today, and the
    /// reverse. Exit 0 when there are none, 1 when there are.
    ShadowReport {
        /// Audit log files (live and sealed segments).
        #[arg(required = true)]
        logs: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain of audit logs; exit 0 when every file is intact.
    /// With the chain key every record's MAC is checked; with the public
    /// key every checkpoint's signature is, and there must be one.
    Verify {
        #[command(flatten)]
        key: ChainKeyArgs,
        /// The checkpoint signing key's public half (PEM).
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
        /// Accept keyed records whose MACs cannot be checked (no key given):
        /// only links and signatures are checked then.
        #[arg(long)]
        links_only: bool,
        /// Accept a first file that starts mid-chain (the segments before it
        /// not given), e.g. the live file alone.
        #[arg(long)]
        partial: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Set an unreadable last line aside (kept in a side file beside the
    /// log) and continue the chain with a `recovered` record naming it.
    /// Stop every server writing to the log first. A keyed log needs its
    /// key.
    Repair {
        #[command(flatten)]
        key: ChainKeyArgs,
        file: PathBuf,
    },
    /// Decide a recorded call again with the policy set its decision
    /// names (kept beside the log), and show the policies that determined
    /// it. Exit 0 when the decision comes out as recorded.
    Explain {
        /// The call id (`call` in the records).
        call: String,
        /// The audit log holding the call.
        #[arg(long, value_name = "FILE")]
        log: PathBuf,
    },
    /// Write the calls in audit logs as events for a SIEM, one JSON object
    /// per line on stdout: OCSF 1.7.0 API Activity (class 6003), one event
    /// per call (its decision and outcome).
    Export {
        #[arg(long, value_enum, default_value = "ocsf")]
        format: ExportFormat,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Download the archived segments and policy sets (the `[archive]` of
    /// CONFIG) into DIR, each as first written: then `audit verify DIR/*
    /// LIVE_LOG` checks the chain across the archive and the host.
    Fetch {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Make a chain key and a checkpoint signing key pair in DIR:
    /// audit-chain.key and audit-signing.pem (keep them on the server,
    /// readable only by it) and audit-signing.pub.pem (give it to whoever
    /// verifies). Existing files are never overwritten.
    Keygen {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Ocsf,
}

/// Where the audit chain key is, for the commands that read a log.
#[derive(Debug, clap::Args)]
pub struct ChainKeyArgs {
    /// A file holding the chain key (as `[audit] chain_key_file`).
    #[arg(long, value_name = "FILE", conflicts_with = "key_env")]
    pub key_file: Option<PathBuf>,
    /// An environment variable holding the chain key.
    #[arg(long, value_name = "VAR")]
    pub key_env: Option<String>,
}

impl ChainKeyArgs {
    fn load(&self) -> CliResult<Option<crate::audit::ChainKey>> {
        crate::config::audit::chain_key(
            self.key_file.as_deref(),
            self.key_env.as_deref(),
            &ProcessEnv,
        )
        .map_err(|e| e.to_string())
    }
}

/// A failure for the operator, printed on stderr.
type CliResult<T> = Result<T, String>;

pub use crate::runtime::Runtime;

/// The policy texts, and the directory they came from (if any).
fn policy_sources(
    dir: Option<&Path>,
    config: &Config,
    lab: bool,
) -> CliResult<(Vec<crate::policy::PolicySource>, Option<PathBuf>)> {
    let dir = match (dir, lab) {
        (Some(d), _) => d.to_path_buf(),
        (None, true) => return Ok((crate::lab::default_policies(), None)),
        (None, false) => config.policies.clone(),
    };
    let sources = crate::policy::read_set(&dir, &config.listing.policies())
        .map_err(|e| format!("policies refused: {e}"))?;
    Ok((sources, Some(dir)))
}

/// Build the gate from a configuration file or the lab. `audit` opens the
/// audit log (every command that can execute needs it) and records the
/// policy set loaded.
pub async fn runtime(source: &SourceArgs, audit: bool) -> CliResult<Runtime> {
    let rt = compose_runtime(source, audit).await?;
    if audit {
        rt.gate
            .record_policy_loaded("start")
            .await
            .map_err(|e| format!("audit log refused: {e}"))?;
    }
    Ok(rt)
}

async fn compose_runtime(source: &SourceArgs, audit: bool) -> CliResult<Runtime> {
    // No configuration file, but a seed's environment: a drop-in. What it
    // chose is said on stderr (stdout is the MCP stream over stdio).
    if !source.lab && source.config.is_none() {
        if let Some((config, policies, choices)) = crate::dropin::config(&ProcessEnv)? {
            for line in choices.describe() {
                eprintln!("portcullis: {line}");
            }
            let policies = match source.policies.as_deref() {
                Some(dir) => {
                    crate::policy::read_dir(dir).map_err(|e| format!("policies refused: {e}"))?
                }
                None => policies,
            };
            return crate::runtime::compose(crate::runtime::Parts {
                config,
                policies,
                policy_dir: source.policies.clone(),
                audit,
                dry_run_source: dry_run_source(source),
                labs: None,
            });
        }
    }
    let (lab, config) = if source.lab {
        let log = match &source.lab_audit_log {
            Some(p) => p.clone(),
            None => crate::dropin::state_file(&ProcessEnv, "lab-audit.jsonl")?,
        };
        let (lab, config) = crate::lab::start(&log, 0.3).await?;
        (Some(lab), config)
    } else {
        let path = source.config.as_ref().ok_or(
            "give --config FILE (or set PORTCULLIS_CONFIG), use --lab, or set a seed's environment (PVE_BASE_URL, VCENTER_HOST, VERGEOS_HOST or VOLCENGINE_ACCESS_KEY and the variables beside it)",
        )?;
        let mut config =
            Config::load(path, &ProcessEnv).map_err(|e| format!("configuration refused: {e}"))?;
        let lab = if source.lab_backend {
            let (labs, endpoints) = crate::lab::start_simulators(0.3).await?;
            config.endpoints.iter_mut().for_each(|e| e.default = false);
            config.endpoints.extend(endpoints);
            Some(labs)
        } else {
            None
        };
        (lab, config)
    };
    let (policies, policy_dir) = policy_sources(source.policies.as_deref(), &config, source.lab)?;
    crate::runtime::compose(crate::runtime::Parts {
        config,
        policies,
        policy_dir,
        audit,
        dry_run_source: dry_run_source(source),
        labs: lab,
    })
}

/// The `portcullis dry-run` options that load the same configuration and
/// policies as `source` (absolute paths, so they work from any directory).
fn dry_run_source(source: &SourceArgs) -> String {
    let abs = |p: &Path| {
        let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let text = p.display().to_string();
        format!("'{}'", text.replace('\'', "'\\''"))
    };
    let mut out = Vec::new();
    match (&source.config, source.lab) {
        (_, true) => out.push("--lab".to_string()),
        (Some(c), false) => out.push(format!("--config {}", abs(c))),
        (None, false) => {}
    }
    if source.lab_backend {
        out.push("--lab-backend".into());
    }
    if let Some(p) = &source.policies {
        out.push(format!("--policies {}", abs(p)));
    }
    out.join(" ")
}

fn principal(config: &Config, who: &WhoArgs, fallback: Option<&str>) -> CliResult<Principal> {
    let id = who
        .principal
        .as_deref()
        .or(fallback)
        .ok_or("give --as USER")?;
    if !who.groups.is_empty() {
        return Ok(Principal::new(id, who.groups.clone()));
    }
    config.principal(id).cloned().ok_or_else(|| {
        let known: Vec<&str> = config.principals.iter().map(|p| p.id.as_str()).collect();
        format!(
            "unknown principal {id:?}; configured: {} (or give --group to try an ad-hoc one)",
            known.join(", ")
        )
    })
}

fn parse_args(raw: &str) -> CliResult<Value> {
    serde_json::from_str(raw).map_err(|e| format!("ARGS must be a JSON object: {e}"))
}

fn cli_caller(principal: Principal) -> Caller {
    Caller {
        principal,
        transport: crate::gate::Transport::Cli,
        authentication: crate::gate::Authentication::Local,
        client: "portcullis-cli".into(),
        can_elicit: false,
        break_glass: None,
    }
}

fn parse_confirmation(s: &str) -> CliResult<Confirmation> {
    match s {
        "none" => Ok(Confirmation::None),
        "argument" => Ok(Confirmation::Argument),
        "elicitation" => Ok(Confirmation::Elicitation),
        "approval" => Ok(Confirmation::Approval),
        other => Err(format!(
            "--confirmation must be none, argument, elicitation or approval, not {other:?}"
        )),
    }
}

async fn dry_run(
    rt: &Runtime,
    who: &WhoArgs,
    tool: &str,
    args: &str,
    confirmation: &str,
    as_json: bool,
) -> CliResult<ExitCode> {
    let caller = cli_caller(principal(&rt.config, who, None)?);
    let args = parse_args(args)?;
    let req = CallRequest {
        tool,
        args: Some(&args),
        confirmation: parse_confirmation(confirmation)?,
        confirms: None,
    };
    // Read-only on the backend: a target only the backend can place is
    // looked up.
    let p = match rt.gate.prepare_live(&caller, &req).await {
        Ok(p) => p,
        Err(Rejection::UnknownTool) => {
            return Err(format!("unknown tool {tool:?}; see `portcullis tools`"))
        }
        Err(Rejection::InvalidArguments(e)) => return Err(format!("invalid arguments: {e}")),
        Err(Rejection::Invalid(m)) => return Err(format!("invalid arguments: {m}")),
        Err(Rejection::Unresolved(m)) => return Err(format!("the target could not be found: {m}")),
        Err(Rejection::Approval(m)) => return Err(m),
    };
    let engine = rt.gate.policies();
    let decision = if p.decision.allowed {
        DecisionKind::Allow
    } else {
        DecisionKind::Deny
    }
    .as_str();
    let origins: Vec<Value> = p
        .decision
        .policies
        .iter()
        .map(|id| json!({"id": id, "at": engine.origin(id)}))
        .collect();
    if as_json {
        let out = json!({
            "decision": decision,
            "policies": origins,
            "errors": p.decision.errors,
            "request": rt.gate.request_json(&caller, &p),
        });
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        outln!("decision: {decision}");
        outln!(
            "principal: {} (groups: {})",
            caller.principal.id,
            caller.principal.groups.join(", ")
        );
        outln!(
            "action: {} [tier {}{}]",
            p.tool.action(),
            p.tool.tier.as_str(),
            if p.context.destructive {
                ", destructive"
            } else {
                ""
            }
        );
        outln!(
            "resource: {}",
            p.resources.first().map(|r| r.display()).unwrap_or_default()
        );
        if p.decision.policies.is_empty() {
            outln!(
                "determining policies: none ({})",
                if p.decision.allowed {
                    "?"
                } else {
                    "no permit matched: default deny"
                }
            );
        }
        for o in &origins {
            outln!(
                "determining policy: {} ({})",
                o["id"].as_str().unwrap_or(""),
                o["at"].as_str().unwrap_or("?")
            );
        }
        for e in &p.decision.errors {
            outln!("policy error: {e}");
        }
    }
    Ok(if p.decision.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn call(rt: &Runtime, who: &WhoArgs, tool: &str, args: &str) -> CliResult<ExitCode> {
    let caller = cli_caller(principal(&rt.config, who, None)?);
    let args = parse_args(args)?;
    let req = CallRequest {
        tool,
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    match rt.gate.call(&caller, req, None).await {
        Outcome::UnknownTool(m) => Err(m),
        Outcome::NeedsHuman { prompt, .. } => {
            Err(format!("needs a human's confirmation: {prompt}"))
        }
        Outcome::Done(r) => {
            if r.is_error {
                eprintln!("{}", r.text);
                Ok(ExitCode::from(1))
            } else {
                outln!("{}", r.text);
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

fn tools(rt: &Runtime, who: &WhoArgs, markdown: bool, json: bool) -> CliResult<ExitCode> {
    use crate::gate::Availability;
    let catalog = rt.gate.catalog();
    if markdown {
        out!("{}", catalog.markdown_table());
        return Ok(ExitCode::SUCCESS);
    }
    let me = match (&who.principal, who.groups.is_empty()) {
        (None, true) => None,
        _ => Some(principal(&rt.config, who, None)?),
    };
    // Without a principal: available means an endpoint of its backend is
    // configured (policy is then not asked).
    let anyone = Principal::new("", Vec::<String>::new());
    let rows: Vec<(&ToolDef, Availability)> = catalog
        .tools()
        .iter()
        .map(|t| {
            let a = match &me {
                Some(p) => rt.gate.availability(p, t),
                None => match rt.gate.availability(&anyone, t) {
                    Availability::NoEndpoint => Availability::NoEndpoint,
                    _ => Availability::Listed,
                },
            };
            (t, a)
        })
        .collect();
    if json {
        let tools: Vec<Value> = rows
            .iter()
            .map(|(t, a)| {
                let mut v = json!({
                    "name": t.name,
                    "title": t.title,
                    "backend": t.backend.as_str(),
                    "category": t.category,
                    "tier": t.tier.as_str(),
                    "destructive": t.destructive_text(),
                    "available": *a == Availability::Listed,
                });
                if let Some(why) = a.reason(t.backend) {
                    v["unavailable"] = json!(why);
                }
                if let Some(tool) = t.stands_for {
                    v["stands_for"] = json!(tool);
                }
                v
            })
            .collect();
        let mut out = json!({"tools": tools});
        if let Some(p) = &me {
            out["principal"] = json!({"id": p.id, "groups": p.groups});
        }
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let width = rows
        .iter()
        .map(|(t, _)| t.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let head = if me.is_some() {
        "MAY CALL"
    } else {
        "AVAILABLE"
    };
    outln!(
        "{:<width$}  {:<8} {:<11} {head}",
        "TOOL",
        "TIER",
        "DESTRUCTIVE"
    );
    for (t, a) in &rows {
        let status = match a.reason(t.backend) {
            None => "yes".to_string(),
            Some(why) => format!("no: {why}"),
        };
        outln!(
            "{:<width$}  {:<8} {:<11} {status}",
            t.name,
            t.tier.as_str(),
            t.destructive_text()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn break_glass(socket: &Path, command: BreakGlassCommand) -> CliResult<ExitCode> {
    use crate::admin::Request;
    let request = match command {
        BreakGlassCommand::Grant {
            principal,
            group,
            duration,
            reason,
            requested_by,
            approval_id,
        } => Request::Grant(crate::break_glass::GrantRequest {
            principal,
            group,
            seconds: duration.as_secs(),
            reason,
            requested_by,
            approval_id,
        }),
        BreakGlassCommand::List => Request::List,
        BreakGlassCommand::End { id } => Request::End { id },
    };
    let answer = crate::admin::request(socket, &request).await?;
    let line = |g: &Value| {
        format!(
            "{}  {} in group {} until {}  (by {}: {})",
            g["id"].as_str().unwrap_or_default(),
            g["principal"].as_str().unwrap_or_default(),
            g["group"].as_str().unwrap_or_default(),
            g["until"].as_str().unwrap_or_default(),
            g["granted_by"].as_str().unwrap_or_default(),
            g["reason"].as_str().unwrap_or_default(),
        )
    };
    match request {
        Request::Grant(_) if answer["parked"] == true => {
            let id = answer["approval"]["id"].as_str().unwrap_or_default();
            outln!(
                "not granted yet: this server's break-glass needs an approval. Approval request {id} is open;\n\
                 approvers answer it (`portcullis approvals show {id}`), then run this command again with --approval {id}."
            );
            // Distinct from success: nothing is in force yet.
            return Ok(ExitCode::from(3));
        }
        Request::Grant(_) => outln!("granted: {}", line(&answer["grant"])),
        Request::End { .. } => outln!("ended: {}", line(&answer["grant"])),
        _ => {
            let grants = answer["grants"].as_array().cloned().unwrap_or_default();
            if grants.is_empty() {
                outln!("no break-glass grant is in force");
            }
            for g in &grants {
                outln!("{}", line(g));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn audit_verify(
    key: &ChainKeyArgs,
    pubkey: Option<&Path>,
    links_only: bool,
    partial: bool,
    files: &[PathBuf],
) -> CliResult<ExitCode> {
    let key = key.load()?;
    let pubkey = pubkey
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            crate::audit::CheckpointVerifier::from_pem(&text, &p.display().to_string())
                .map_err(|e| e.to_string())
        })
        .transpose()?;
    let opts = crate::audit::VerifyOptions {
        key: key.as_ref(),
        pubkey: pubkey.as_ref(),
    };
    let mut ok = true;
    for (f, result) in crate::audit::verify_chain(files, opts) {
        match result {
            Ok(r) => {
                outln!(
                    "{}: intact, {} records (seq {}..{}), head {}",
                    f.display(),
                    r.records,
                    r.first_seq,
                    (r.first_seq + r.records).saturating_sub(1),
                    r.head
                );
                if !r.linked {
                    outln!(
                        "  starts mid-chain after {}, not given: its link to the records before is not checked{}",
                        r.previous.as_deref().unwrap_or("an earlier segment"),
                        if partial { "" } else { " (give every segment, or --partial)" }
                    );
                    ok &= partial;
                }
                for line in verify_details(&r, &opts) {
                    outln!("  {line}");
                }
                if r.unchecked_macs > 0 && !links_only {
                    outln!("  NOT VERIFIED: give the chain key (--key-file or --key-env), or --links-only to accept links and signatures alone");
                    ok = false;
                }
            }
            Err(e) => {
                ok = false;
                outln!("{}: BROKEN: {e}", f.display());
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What a verification proved beyond the links, and what it did not.
fn verify_details(
    r: &crate::audit::VerifyReport,
    opts: &crate::audit::VerifyOptions<'_>,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(k) = opts.key {
        out.push(format!(
            "every record's MAC checked with chain key {}",
            k.id()
        ));
    } else if r.unchecked_macs > 0 {
        out.push(format!(
            "{} keyed records: links checked, MACs not (give --key-file or --key-env)",
            r.unchecked_macs
        ));
    }
    match (r.last_checkpoint, opts.pubkey) {
        (None, _) => {}
        (Some(last), Some(p)) => out.push(format!(
            "{} checkpoints signed by {}; the last covers records up to seq {last}",
            r.checkpoints,
            p.id()
        )),
        (Some(last), None) => out.push(format!(
            "{} checkpoints, signatures not checked (give --pubkey); the last covers records up to seq {last}",
            r.checkpoints
        )),
    }
    if r.last_checkpoint.is_some() && r.after_last_checkpoint > 0 {
        out.push(format!(
            "{} records after the last checkpoint are covered by no signature: \
             a cut among them cannot be told from this file alone",
            r.after_last_checkpoint
        ));
    }
    out
}

/// Write new audit keys into `dir`, never over an existing file.
fn audit_keygen(dir: &Path) -> CliResult<ExitCode> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let (pem, signer) = crate::audit::CheckpointSigner::generate().map_err(|e| e.to_string())?;
    let mut chain = zeroize::Zeroizing::new([0u8; 32]);
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut chain[..])
        .map_err(|e| format!("the system's random source failed: {e}"))?;
    let chain_hex = zeroize::Zeroizing::new(hex::encode(&chain[..]) + "\n");
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let public_pem = signer.public().to_pem();
    let files: [(&str, &[u8], u32); 3] = [
        ("audit-chain.key", chain_hex.as_bytes(), 0o600),
        ("audit-signing.pem", pem.as_bytes(), 0o600),
        ("audit-signing.pub.pem", public_pem.as_bytes(), 0o644),
    ];
    for (name, _, _) in &files {
        if dir.join(name).exists() {
            return Err(format!(
                "{} exists; keygen never overwrites a key",
                dir.join(name).display()
            ));
        }
    }
    for (name, bytes, mode) in files {
        let path = dir.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        outln!("wrote {}", path.display());
    }
    outln!(
        "checkpoint signing key {}: set [audit] chain_key_file and signing_key_file, \
         and verify with `portcullis audit verify --key-file audit-chain.key --pubkey audit-signing.pub.pem LOG`",
        signer.id()
    );
    Ok(ExitCode::SUCCESS)
}

/// `portcullis init --from SEED`: the drop-in's configuration and its
/// policies as files.
fn init(from: &str, dir: &Path) -> CliResult<ExitCode> {
    let seed = crate::dropin::SEEDS
        .iter()
        .find(|s| s.name == from)
        .ok_or_else(|| {
            format!(
                "no seed {from:?}; the seeds are {}",
                crate::dropin::SEEDS
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    let choices = crate::dropin::choose(seed, &ProcessEnv)?;
    let policies = crate::dropin::policies(seed, &ProcessEnv)?;
    let config = dir.join("portcullis.toml");
    let policy_dir = dir.join("policies");
    if config.exists() || policy_dir.exists() {
        return Err(format!(
            "{} or {} exists already; give another --dir",
            config.display(),
            policy_dir.display()
        ));
    }
    let io = |what: &Path, e: std::io::Error| format!("cannot write {}: {e}", what.display());
    std::fs::create_dir_all(&policy_dir).map_err(|e| io(&policy_dir, e))?;
    for p in &policies {
        // `mcvsphere/00-readers.cedar`, `env/PVE_CATEGORIES`: one file each.
        let file = p.name.rsplit('/').next().unwrap_or(&p.name);
        let file = if file.ends_with(".cedar") {
            file.to_string()
        } else {
            format!("50-{file}.cedar")
        };
        let path = policy_dir.join(file);
        std::fs::write(&path, &p.text).map_err(|e| io(&path, e))?;
    }
    std::fs::write(&config, crate::dropin::config_text(&choices, "policies"))
        .map_err(|e| io(&config, e))?;
    // The principal and the audit log (the other lines are about running
    // without this file).
    for line in choices.describe().iter().skip(1).step_by(2) {
        outln!("{line}");
    }
    outln!(
        "wrote {} and {} ({} policies); check it with: portcullis check --config {}",
        config.display(),
        policy_dir.display(),
        policies.len(),
        config.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Every problem `serve` would hit with this configuration, all at once:
/// the configuration, the policies, the audit log, the HTTP listener's
/// TLS files and keys, the backends' clients.
async fn check(source: &SourceArgs) -> CliResult<ExitCode> {
    if source.lab {
        // The lab builds its own configuration; nothing to collect.
        let rt = runtime(source, false).await?;
        print_config(&rt.config, Some(rt.gate.policies().len()));
        return Ok(ExitCode::SUCCESS);
    }
    let (config, dropin_policies) = match &source.config {
        Some(path) => match Config::load(path, &ProcessEnv) {
            Ok(c) => (c, None),
            Err(e) => {
                for p in e.problems() {
                    outln!("problem: configuration: {p}");
                }
                outln!("check: FAILED ({} problem(s))", e.problems().len());
                return Ok(ExitCode::from(1));
            }
        },
        // What `serve` would run with no configuration file: a seed's
        // environment, its choices said as `serve` says them.
        None => match crate::dropin::config(&ProcessEnv) {
            Ok(Some((config, policies, choices))) => {
                for line in choices.describe() {
                    outln!("{line}");
                }
                (config, Some(policies))
            }
            Ok(None) => {
                return Err("give --config FILE (or set PORTCULLIS_CONFIG), use --lab, or set a seed's environment (PVE_BASE_URL, VCENTER_HOST, VERGEOS_HOST or VOLCENGINE_ACCESS_KEY and the variables beside it)".into())
            }
            Err(e) => {
                outln!("problem: {e}");
                outln!("check: FAILED (1 problem(s))");
                return Ok(ExitCode::from(1));
            }
        },
    };
    let mut problems: Vec<String> = Vec::new();
    let catalog = Catalog::builtin();
    let sources = match (&dropin_policies, source.policies.as_deref()) {
        (Some(p), None) => Ok(p.clone()),
        _ => policy_sources(source.policies.as_deref(), &config, false).map(|(s, _)| s),
    };
    let policies = sources.and_then(|sources| {
        PolicyEngine::from_sources(&sources, &catalog).map_err(|e| format!("policies refused: {e}"))
    });
    let policy_count = match policies {
        Ok(engine) => Some(engine.len()),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    print_config(&config, policy_count);
    if let Some(dir) = &config.shadow_policies {
        match PolicyEngine::load_set(dir, &config.listing.policies(), &catalog) {
            Ok(engine) => outln!(
                "shadow policies: {} ({} policies, decided beside the live set, never enforced)",
                dir.display(),
                engine.len()
            ),
            Err(e) => problems.push(format!("shadow policies ({}) refused: {e}", dir.display())),
        }
    }
    if let Err(e) = Backends::new(&config.endpoints) {
        problems.push(e.to_string());
    }
    problems.extend(check_audit_log(
        &config.audit_log,
        config.audit.key.as_deref(),
    ));
    if let Some(h) = &config.http {
        if let Some(t) = &h.tls {
            if let Err(e) = crate::http::tls::server_config(t) {
                problems.push(format!("http TLS: {e}"));
            }
        }
        if let Some(crate::config::OauthConfig {
            jwks: crate::config::JwksSource::File(f),
            ..
        }) = &h.oauth
        {
            if let Err(e) = std::fs::read(f) {
                problems.push(format!("oauth.jwks_file {}: {e}", f.display()));
            }
        }
    }
    if let Some(state) = &config.state {
        let redis = crate::state::Redis::new(state.redis.clone());
        match redis.cmd(&[b"PING"]).await {
            Ok(_) => outln!(
                "shared state: Redis at {} (reachable; approvals, break-glass grants and rate limits are shared)",
                state.redis.address()
            ),
            Err(e) => problems.push(e.to_string()),
        }
    }
    for p in &problems {
        outln!("problem: {p}");
    }
    if problems.is_empty() {
        outln!("check: ok");
        Ok(ExitCode::SUCCESS)
    } else {
        outln!("check: FAILED ({} problem(s))", problems.len());
        Ok(ExitCode::from(1))
    }
}

/// What the audit log would do when a server starts: its directory must
/// exist and be writable, and its end must be readable or recoverable.
fn check_audit_log(path: &Path, key: Option<&crate::audit::ChainKey>) -> Vec<String> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return vec![format!(
            "audit log directory {} does not exist; create it (owned by the user Portcullis runs as)",
            parent.display()
        )];
    }
    match crate::audit::inspect(path) {
        Ok(state) => {
            outln!("audit log: {} ({state})", path.display());
            match state {
                crate::audit::LogState::NeedsRepair { .. } => vec![format!(
                    "audit log {}: {state}; run `portcullis audit repair {}`",
                    path.display(),
                    path.display()
                )],
                _ => crate::audit::check_key(path, key)
                    .err()
                    .into_iter()
                    .map(|e| e.to_string())
                    .collect(),
            }
        }
        Err(e) => vec![format!("audit log {}: {e}", path.display())],
    }
}

fn print_config(config: &Config, policies: Option<usize>) {
    outln!(
        "configuration: ok ({} endpoint(s), {} principal(s))",
        config.endpoints.len(),
        config.principals.len()
    );
    match policies {
        Some(n) => {
            outln!("policies: ok ({n} policies, strict validation against the generated schema)");
        }
        None => outln!("policies: FAILED (see below)"),
    }
    let a = &config.audit;
    let mut audit = vec![match &a.key {
        Some(k) => format!("chain keyed (HMAC-SHA256, key {})", k.id()),
        None => "chain unkeyed (SHA-256)".to_string(),
    }];
    if let Some(s) = &a.signer {
        audit.push(format!(
            "checkpoints signed by {} every {} records or {} s",
            s.id(),
            a.checkpoint_every,
            a.checkpoint_interval.as_secs()
        ));
    }
    match (a.rotate_bytes, a.rotate_age) {
        (None, None) => audit.push("no rotation".into()),
        (b, t) => audit.push(format!(
            "rotated past {}{}",
            b.map_or(String::new(), |b| format!("{b} bytes")),
            t.map_or(String::new(), |t| format!(" or {} s", t.as_secs()))
        )),
    }
    if let Some(o) = &a.ocsf_log {
        audit.push(format!("OCSF copy in {}", o.display()));
    }
    outln!("audit settings: {}", audit.join("; "));
    if let Some(ar) = &config.archive {
        outln!(
            "archive: s3 {} bucket {} prefix {:?}, {} for {} days, not ready past {} s behind{}",
            ar.bucket.endpoint,
            ar.bucket.bucket,
            ar.prefix,
            ar.mode.as_str(),
            ar.retain.as_secs() / 86_400,
            ar.max_lag.as_secs(),
            if ar.fail_closed {
                ", then refusing calls"
            } else {
                ""
            }
        );
    }
    for ep in &config.endpoints {
        outln!(
            "endpoint {}: {} {} (TLS verification {})",
            ep.name,
            ep.backend.as_str(),
            ep.url,
            if ep.tls_verify { "on" } else { "OFF" }
        );
    }
    if let Some(h) = &config.http {
        let mut methods = Vec::new();
        if !h.api_keys.is_empty() {
            methods.push(format!("{} API key(s)", h.api_keys.len()));
        }
        if let Some(o) = &h.oauth {
            methods.push(format!("OAuth (issuer {})", o.issuer));
        }
        if h.tls.as_ref().is_some_and(|t| t.client_ca.is_some()) {
            methods.push("mTLS".into());
        }
        outln!(
            "http: {}://{}{} ({}; authentication: {}; allowed hosts: {})",
            if h.tls.is_some() { "https" } else { "http" },
            h.listen,
            h.path,
            if h.stateless { "stateless" } else { "sessions" },
            methods.join(", "),
            h.allowed_hosts.join(", ")
        );
    }
    for (tier, l) in &config.rate_limits {
        outln!(
            "rate limit {}: {} per minute per principal, bursts of {}",
            tier.as_str(),
            l.per_minute,
            l.burst
        );
    }
    match &config.admin_socket {
        Some(socket) => outln!(
            "admin socket: {} (break-glass grants of at most {}{}; approval requests open {}, {} approval(s) each)",
            socket.display(),
            humantime::format_duration(config.break_glass_max),
            if config.break_glass_needs_approval { ", each approved first" } else { "" },
            humantime::format_duration(config.approval_ttl),
            config.approvals_required
        ),
        None => outln!("admin socket: none (no break-glass grants on this server)"),
    }
    let approvers: Vec<&str> = config
        .http
        .iter()
        .flat_map(|h| &h.approver_keys)
        .map(|k| k.principal.as_str())
        .collect();
    match (&config.admin_socket, approvers.is_empty()) {
        (_, false) => outln!(
            "approvers' page and admin API: {}/ over HTTP, for {}",
            crate::config::ADMIN_PREFIX,
            approvers.join(", ")
        ),
        (None, true) => outln!(
            "approvals: no admin socket and no [[http.approver_keys]], so nothing can answer an approval request \
             (calls policy parks for approval are refused instead)"
        ),
        (Some(_), true) => {}
    }
}

/// Reload policies on SIGHUP or change, when they come from a directory.
fn watch_policies(rt: &Runtime) {
    if let Some((dir, digest)) = &rt.policy_dir {
        crate::reload::PolicyReloader::with_shadow(
            rt.gate.clone(),
            dir.clone(),
            digest.clone(),
            rt.config.shadow_policies.clone(),
            rt.config.listing.policies(),
        )
        .watch();
    }
}

async fn serve_http(rt: &Runtime, listen: Option<std::net::SocketAddr>) -> CliResult<()> {
    let mut cfg =
        rt.config.http.clone().ok_or(
            "the configuration has no [http] section: see examples/shared-deployment.toml \
         (to try HTTP on the lab: serve --transport http --config examples/lab-http.toml --lab-backend)",
        )?;
    if let Some(l) = listen {
        cfg.listen = l;
    }
    let listener = crate::http::start(rt.gate.clone(), cfg, rt.config.principals.clone())
        .await
        .map_err(|e| e.to_string())?;
    // One fixed line on stderr, so scripts can find the bound port.
    eprintln!("portcullis: serving MCP at {}", listener.url);
    tracing::info!(url = %listener.url, "serving MCP over Streamable HTTP");
    shutdown_signal().await;
    tracing::info!("shutting down: no new connections; open sessions are closed");
    listener.shutdown().await;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn api_key(principal: &str, groups: &[String], approver: bool) -> CliResult<ExitCode> {
    let (key, sha256) = crate::auth::apikey::generate()?;
    eprintln!("The key is shown once. Give it to {principal:?}; put the lines below in the configuration.");
    outln!("{key}");
    outln!();
    if approver {
        outln!("[[http.approver_keys]]");
        outln!("principal = {}", toml_string(principal));
    } else {
        outln!("[[http.api_keys]]");
        outln!("principal = {}", toml_string(principal));
        let quoted: Vec<String> = groups.iter().map(|g| toml_string(g)).collect();
        outln!("groups = [{}]", quoted.join(", "));
    }
    outln!("sha256 = \"{sha256}\"");
    Ok(ExitCode::SUCCESS)
}

async fn health(url: &url::Url) -> CliResult<ExitCode> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    match client.get(url.clone()).send().await {
        Ok(r) if r.status() == reqwest::StatusCode::OK => {
            outln!("healthy: {url} answered 200");
            Ok(ExitCode::SUCCESS)
        }
        Ok(r) => {
            outln!("unhealthy: {url} answered {}", r.status());
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            outln!("unhealthy: {url}: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// A TOML basic string (JSON string escaping is a subset TOML accepts).
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Run a parsed command line.
pub async fn run(cli: Cli) -> CliResult<ExitCode> {
    match cli.command {
        Command::Schema => {
            out!("{}", schema::generate(&Catalog::builtin()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { source } => check(&source).await,
        Command::Audit {
            command:
                AuditCommand::Verify {
                    key,
                    pubkey,
                    links_only,
                    partial,
                    files,
                },
        } => audit_verify(&key, pubkey.as_deref(), links_only, partial, &files),
        Command::Audit {
            command: AuditCommand::Keygen { out },
        } => audit_keygen(&out),
        Command::Audit {
            command: AuditCommand::Fetch { config, out },
        } => {
            let config = Config::load(&config, &ProcessEnv)
                .map_err(|e| format!("configuration refused: {e}"))?;
            let archive = config
                .archive
                .as_ref()
                .ok_or("the configuration has no [archive] section")?;
            let files = crate::audit::archive::fetch(archive, &out).await?;
            for f in &files {
                outln!("fetched {}", f.display());
            }
            outln!(
                "{} objects; verify with: portcullis audit verify {}/audit*.[0-9]* {}",
                files.len(),
                out.display(),
                config.audit_log.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Explain { call, log },
        } => explain::run(&call, &log),
        Command::Audit {
            command:
                AuditCommand::Export {
                    format: ExportFormat::Ocsf,
                    files,
                },
        } => {
            for f in &files {
                let text = std::fs::read_to_string(f)
                    .map_err(|e| format!("cannot read {}: {e}", f.display()))?;
                let records = text.lines().filter_map(|l| serde_json::from_str(l).ok());
                for e in crate::audit::ocsf::events(records) {
                    outln!("{e}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Repair { key, file },
        } => {
            let options = crate::audit::AuditOptions {
                key: key.load()?.map(std::sync::Arc::new),
                ..Default::default()
            };
            AuditLog::repair(&file, options).map_err(|e| e.to_string())?;
            let report = verify_file(&file)
                .map_err(|e| format!("repaired the end, but the chain is broken elsewhere: {e}"))?;
            outln!(
                "{}: repaired; intact, {} records, head {}",
                file.display(),
                report.records,
                report.head
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command: PolicyCommand::Test { policies, files },
        } => policy_test::run(policies.as_deref(), &files),
        Command::Policy {
            command: PolicyCommand::ShadowReport { logs, json },
        } => shadow_report::run(&logs, json),
        Command::Policy {
            command: PolicyCommand::Matrix { source, format },
        } => {
            let rt = runtime(&source, false).await?;
            matrix::run(&rt, format)
        }
        Command::Policy {
            command:
                PolicyCommand::Diff {
                    source,
                    old,
                    new,
                    json,
                },
        } => {
            let rt = runtime(&source, false).await?;
            matrix::diff(&rt.gate, &rt.config, &old, &new, json)
        }
        Command::Tools {
            source,
            who,
            markdown,
            json,
        } => {
            let rt = runtime(&source, false).await?;
            tools(&rt, &who, markdown, json)
        }
        Command::DryRun {
            source,
            who,
            tool,
            args,
            confirmation,
            json,
        } => {
            let rt = runtime(&source, false).await?;
            dry_run(&rt, &who, &tool, &args, &confirmation, json).await
        }
        Command::Call {
            source,
            who,
            tool,
            args,
        } => {
            let rt = runtime(&source, true).await?;
            call(&rt, &who, &tool, &args).await
        }
        Command::Serve {
            source,
            who,
            transport,
            listen,
        } => {
            let mut rt = runtime(&source, true).await?;
            rt.start_archive();
            watch_policies(&rt);
            if let Some(socket) = &rt.config.admin_socket {
                crate::admin::serve(socket, rt.gate.clone(), rt.config.principals.clone())?;
            }
            match transport {
                Transport::Stdio => {
                    let me = principal(&rt.config, &who, rt.config.stdio_principal.as_deref())?;
                    tracing::info!(principal = %me.id, groups = ?me.groups, "serving MCP on stdio");
                    crate::server::serve_stdio(rt.gate.clone(), me).await?;
                }
                Transport::Http if who.principal.is_some() || !who.groups.is_empty() => {
                    return Err("--as and --group apply to stdio only: over HTTP every request's principal comes from its credentials".into());
                }
                Transport::Http => serve_http(&rt, listen).await?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Health { url } => health(&url).await,
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "portcullis", &mut out);
            out!("{}", String::from_utf8_lossy(&out));
            Ok(ExitCode::SUCCESS)
        }
        Command::Init { from, dir } => init(&from, &dir),
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(|e| format!("cannot render the manual page: {e}"))?;
            out!("{}", String::from_utf8_lossy(&out));
            Ok(ExitCode::SUCCESS)
        }
        Command::ApiKey {
            principal,
            groups,
            approver,
        } => api_key(&principal, &groups, approver),
        Command::BreakGlass { socket, command } => break_glass(&socket, command).await,
        Command::Approvals { to, command } => approvals::run(&to, command).await,
        Command::Lab {
            demo,
            audit_log,
            policies,
            who,
        } => {
            let source = SourceArgs {
                config: None,
                lab: true,
                policies,
                lab_audit_log: audit_log,
                lab_backend: false,
            };
            let rt = runtime(&source, true).await?;
            if demo {
                return demo::run(&rt).await;
            }
            let me = principal(&rt.config, &who, rt.config.stdio_principal.as_deref())?;
            tracing::info!(principal = %me.id, "serving the lab over MCP stdio");
            crate::server::serve_stdio(rt.gate.clone(), me).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
