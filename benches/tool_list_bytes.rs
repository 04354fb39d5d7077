//! The tool list's cost in an agent's context: every MCP client sends the
//! whole tools/list to its model on every turn. Prints, for the tools
//! mcp-pve 0.1.0 offers (its tools/list as released,
//! tests/interop/data/mcp-pve-0.1.0-tools-list.json), the bytes of its
//! definitions and of Portcullis's for the same tools (compact JSON, as
//! sent; one endpoint, so no `endpoint` argument), the ratio, and the
//! tools that cost most over mcp-pve's.
//!
//!     cargo bench --bench tool_list_bytes
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use portcullis::catalog::Catalog;
use portcullis::server::mcp_tool;
use serde_json::Value;

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop/data/mcp-pve-0.1.0-tools-list.json");
    let peer: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let catalog = Catalog::builtin();
    let mut rows = Vec::new();
    let mut listed = Vec::new();
    let (mut theirs, mut ours) = (0usize, 0usize);
    for t in &peer {
        let name = t["name"].as_str().unwrap();
        let Some(def) = catalog.get(name) else {
            println!("{name}: not in Portcullis's catalog");
            continue;
        };
        let a = serde_json::to_string(t).unwrap().len();
        let tool = serde_json::to_value(mcp_tool(def, false)).unwrap();
        let b = serde_json::to_string(&tool).unwrap().len();
        listed.push(tool);
        theirs += a;
        ours += b;
        rows.push((b as i64 - a as i64, name, a, b));
    }
    // For looking at what the bytes are spent on: the listing as compared.
    if let Some(path) = std::env::var_os("TOOL_LIST_DUMP") {
        std::fs::write(path, serde_json::to_string(&listed).unwrap()).unwrap();
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    println!("tools compared: {}", rows.len());
    println!(
        "mcp-pve 0.1.0: {theirs} bytes ({} per tool); Portcullis: {ours} bytes ({} per tool); ratio {:.2}",
        theirs / rows.len().max(1),
        ours / rows.len().max(1),
        ours as f64 / theirs.max(1) as f64
    );
    println!("most over mcp-pve's (tool: theirs -> ours):");
    for (_, name, a, b) in rows.iter().take(5) {
        println!("  {name}: {a} -> {b}");
    }
}
