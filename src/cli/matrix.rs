//! `portcullis policy matrix` (who may do what where) and `portcullis
//! policy diff OLD NEW` (every decision over that space that changes
//! between two policy sets). The space and the decisions are the gate's
//! ([`crate::gate::matrix`]); this module words them.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use super::CliResult;
use crate::gate::matrix::{self, Cell, Place, Subject};
use crate::gate::Gate;
use crate::policy::PolicyEngine;
use crate::runtime::Runtime;
use crate::util::markup_escape as esc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Csv,
    Html,
    Json,
}

const LEGEND: &str = "allow: allowed as asked; confirm: allowed with confirm: true \
(or a human's answer); human confirm: allowed only when a human answers through the \
client; approval: allowed only once approvers approve it; deny: refused; undecided: the sample call could not be decided offline. \
* : a policy that may apply has a condition or a resource scope finer than an endpoint, \
so other arguments, resources or times may be decided otherwise (try them with dry-run).";

fn cell_text(c: &Cell) -> String {
    format!(
        "{}{}",
        c.access.as_str(),
        if c.may_vary { " *" } else { "" }
    )
}

pub fn run(rt: &Runtime, format: Format) -> CliResult<ExitCode> {
    let engine = rt.gate.policies();
    let subjects = Subject::all(&rt.config.principals, &[&engine]);
    let places = Place::all(&rt.gate)?;
    let cells = matrix::matrix(&rt.gate, &subjects, &places);
    let text = match format {
        Format::Markdown => markdown(&subjects, &places, &cells),
        Format::Csv => csv(&subjects, &places, &cells),
        Format::Html => html(&subjects, &places, &cells, &engine),
        Format::Json => {
            let rows: Vec<_> = places
                .iter()
                .enumerate()
                .map(|(j, p)| {
                    let by: serde_json::Map<_, _> = subjects
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (s.label.clone(), json!(cells[i][j])))
                        .collect();
                    json!({"tool": p.tool, "tier": p.tier, "destructive": p.destructive,
                           "at": p.at, "sample_args": p.args, "subjects": by})
                })
                .collect();
            let out = json!({"policy_set": engine.digest().to_string(), "places": rows});
            serde_json::to_string_pretty(&out).unwrap_or_default() + "\n"
        }
    };
    out!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Markdown table cells: `|` would end the cell, a line break the row,
/// and `<`/`&` could start markup (names come from policy files).
fn md(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn markdown(subjects: &[Subject], places: &[Place], cells: &[Vec<Cell>]) -> String {
    let mut out = String::from("| tool | tier | destructive | at |");
    for s in subjects {
        let _ = write!(out, " {} |", md(&s.label));
    }
    out.push_str("\n|---|---|---|---|");
    out.push_str(&"---|".repeat(subjects.len()));
    out.push('\n');
    for (j, p) in places.iter().enumerate() {
        let _ = write!(
            out,
            "| {} | {} | {} | {} |",
            p.tool,
            p.tier,
            if p.destructive { "yes" } else { "no" },
            md(&p.at)
        );
        for row in cells {
            let _ = write!(out, " {} |", cell_text(&row[j]));
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(LEGEND);
    out.push('\n');
    out
}

/// One CSV field (RFC 4180 quoting). A field a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv(subjects: &[Subject], places: &[Place], cells: &[Vec<Cell>]) -> String {
    let mut out = String::from("tool,tier,destructive,at");
    for s in subjects {
        out.push(',');
        out.push_str(&csv_field(&s.label));
    }
    out.push_str("\r\n");
    for (j, p) in places.iter().enumerate() {
        out.push_str(&[p.tool, p.tier, if p.destructive { "yes" } else { "no" }].join(","));
        out.push(',');
        out.push_str(&csv_field(&p.at));
        for row in cells {
            out.push(',');
            out.push_str(&csv_field(&cell_text(&row[j])));
        }
        out.push_str("\r\n");
    }
    out
}

fn html(
    subjects: &[Subject],
    places: &[Place],
    cells: &[Vec<Cell>],
    engine: &PolicyEngine,
) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Portcullis access matrix</title>\n<style>\
body{font:14px system-ui,sans-serif;margin:1em}table{border-collapse:collapse}\
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}\
th{position:sticky;top:0;background:#eee}\
.allow{background:#cfc}.confirm{background:#ffd}.human-confirm{background:#fec}\
.approval{background:#def}.deny{background:#fcc}.undecided{background:#ddd}\
</style></head><body>\n<h1>Who may do what where</h1>\n",
    );
    let _ = writeln!(
        out,
        "<p>Policy set <code>{}</code>. {}</p>",
        esc(engine.digest()),
        esc(LEGEND)
    );
    out.push_str("<table><thead><tr><th>tool</th><th>tier</th><th>destructive</th><th>at</th>");
    for s in subjects {
        let _ = write!(out, "<th>{}</th>", esc(&s.label));
    }
    out.push_str("</tr></thead><tbody>\n");
    for (j, p) in places.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            esc(p.tool),
            esc(p.tier),
            if p.destructive { "yes" } else { "no" },
            esc(&p.at)
        );
        for row in cells {
            let c = &row[j];
            let title = c.note.clone().unwrap_or_else(|| c.policies.join(", "));
            let _ = write!(
                out,
                "<td class=\"{}\" title=\"{}\">{}</td>",
                c.access.as_str().replace(' ', "-"),
                esc(&title),
                esc(&cell_text(c))
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n</body></html>\n");
    out
}

/// The policies behind a cell, with where each is written.
fn responsible(c: &Cell, engine: &PolicyEngine) -> Vec<String> {
    c.policies
        .iter()
        .map(|id| match engine.origin(id) {
            Some(at) => format!("{id} ({at})"),
            None => id.clone(),
        })
        .collect()
}

/// Every cell whose decision differs between the policy sets in `old` and
/// `new`. Exit 0 when none does, 1 when some do.
pub fn diff(
    gate: &Gate,
    config: &crate::config::Config,
    old: &Path,
    new: &Path,
    as_json: bool,
) -> CliResult<ExitCode> {
    // Each set as it would decide: with the configuration's [listing].
    let load = |dir: &Path| {
        PolicyEngine::load_set(dir, &config.listing.policies(), gate.catalog())
            .map_err(|e| format!("policies in {} refused: {e}", dir.display()))
    };
    let (old_engine, new_engine) = (load(old)?, load(new)?);
    let subjects = Subject::all(&config.principals, &[&old_engine, &new_engine]);
    let places = Place::all(gate)?;
    let (old_digest, new_digest) = (old_engine.digest().clone(), new_engine.digest().clone());
    gate.replace_policies(old_engine);
    let before = matrix::matrix(gate, &subjects, &places);
    let old_engine = gate.policies();
    gate.replace_policies(new_engine);
    let after = matrix::matrix(gate, &subjects, &places);
    let new_engine = gate.policies();

    let mut changes = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        for (j, p) in places.iter().enumerate() {
            let (b, a) = (&before[i][j], &after[i][j]);
            if b.access != a.access {
                changes.push(json!({
                    "tool": p.tool, "at": p.at, "subject": s.label,
                    "old": b.access, "new": a.access,
                    "old_policies": responsible(b, &old_engine),
                    "new_policies": responsible(a, &new_engine),
                    "may_vary": b.may_vary || a.may_vary,
                }));
            }
        }
    }
    if as_json {
        let out = json!({"old": &*old_digest, "new": &*new_digest,
                         "decisions": subjects.len() * places.len(), "changes": changes});
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        outln!(
            "{} of {} decisions change ({} subjects × {} tool places)",
            changes.len(),
            subjects.len() * places.len(),
            subjects.len(),
            places.len()
        );
        let varies = (0..subjects.len())
            .flat_map(|i| (0..places.len()).map(move |j| (i, j)))
            .filter(|&(i, j)| before[i][j].may_vary || after[i][j].may_vary)
            .count();
        let undecided = (0..subjects.len())
            .flat_map(|i| (0..places.len()).map(move |j| (i, j)))
            .filter(|&(i, j)| {
                [&before[i][j], &after[i][j]]
                    .iter()
                    .any(|c| c.access == matrix::Access::Undecided)
            })
            .count();
        if varies > 0 {
            outln!(
                "note: {varies} of the decisions compared depend on arguments, resources or time (one sample call each): \
                 a change to those conditions shows only where the sample call is decided differently; check such calls with dry-run"
            );
        }
        if undecided > 0 {
            outln!(
                "note: {undecided} sample calls could not be decided offline and were not compared"
            );
        }
        for c in &changes {
            let s = |k: &str| c[k].as_str().unwrap_or_default().replace('_', " ");
            let list = |k: &str| {
                let v: Vec<&str> = c[k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str())
                    .collect();
                if v.is_empty() {
                    "no policy (default deny)".to_string()
                } else {
                    v.join(", ")
                }
            };
            outln!(
                "{} on {} for {}: {} -> {}{}\n    was: {}\n    now: {}",
                s("tool").replace(' ', "_"),
                c["at"].as_str().unwrap_or_default(),
                c["subject"].as_str().unwrap_or_default(),
                s("old"),
                s("new"),
                if c["may_vary"] == true {
                    " (other calls may differ)"
                } else {
                    ""
                },
                list("old_policies"),
                list("new_policies"),
            );
        }
    }
    Ok(if changes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
