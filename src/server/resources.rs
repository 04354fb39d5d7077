//! MCP resources: inventory listings (`<backend>://<endpoint>/vms` …), each
//! the answer of a catalog list tool. Listing shows only what policy lets
//! the caller read; reading goes through the gate like the tool call it is
//! (authorized, audited), so a resource is never a way around policy.

use rmcp::model::{ReadResourceResult, Resource, ResourceContents};
use serde_json::json;

use crate::catalog::ToolDef;
use crate::gate::{CallRequest, Caller, Confirmation, Gate, Outcome};

fn uri(tool: &ToolDef, endpoint: &str, name: &str) -> String {
    format!("{}://{endpoint}/{name}", tool.backend.as_str())
}

/// The resources this caller may read.
pub fn list(gate: &Gate, caller: &Caller) -> Vec<Resource> {
    let mut out = Vec::new();
    for tool in gate.catalog().resource_tools() {
        let name = tool.resource.unwrap_or_default();
        for ep in gate
            .backends()
            .endpoints()
            .filter(|e| e.backend == tool.backend)
        {
            let args = json!({"endpoint": ep.name});
            let req = CallRequest {
                tool: tool.name,
                args: Some(&args),
                confirmation: Confirmation::None,
                confirms: None,
            };
            // Offline decision: list tools act on the endpoint itself.
            if gate.prepare(caller, &req).is_ok_and(|p| p.decision.allowed) {
                out.push(
                    Resource::new(uri(tool, &ep.name, name), format!("{}-{name}", ep.name))
                        .with_title(format!("{} on {}", tool.title, ep.name))
                        .with_description(tool.description)
                        .with_mime_type("application/json"),
                );
            }
        }
    }
    out
}

/// Why a resource could not be read, for the client.
pub enum ReadError {
    Unknown(String),
    Refused(String),
}

/// Read one resource: the list tool's call, through the gate.
pub async fn read(
    gate: &Gate,
    caller: &Caller,
    uri_text: &str,
) -> Result<ReadResourceResult, ReadError> {
    let found = gate.catalog().resource_tools().find_map(|tool| {
        let prefix = format!("{}://", tool.backend.as_str());
        let rest = uri_text.strip_prefix(&prefix)?;
        let (endpoint, name) = rest.split_once('/')?;
        (Some(name) == tool.resource).then(|| (tool, endpoint.to_string()))
    });
    let Some((tool, endpoint)) = found else {
        return Err(ReadError::Unknown(format!(
            "no resource {uri_text:?}; see resources/list"
        )));
    };
    let args = json!({"endpoint": endpoint});
    let req = CallRequest {
        tool: tool.name,
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    match gate.call(caller, req, None).await {
        Outcome::Done(r) if !r.is_error => {
            let mut contents = ResourceContents::text(r.text, uri_text);
            if let ResourceContents::TextResourceContents { mime_type, .. } = &mut contents {
                *mime_type = Some("application/json".into());
            }
            Ok(ReadResourceResult::new(vec![contents]))
        }
        Outcome::Done(r) => Err(ReadError::Refused(r.text)),
        Outcome::UnknownTool(m) | Outcome::NeedsHuman { prompt: m, .. } => {
            Err(ReadError::Refused(m))
        }
    }
}
