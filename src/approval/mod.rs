//! Calls that wait for a person: parked with what exactly will run, and
//! released (once) when that person answers. Transport-neutral, so the
//! MCP server, the CLI and (next) an approvers' page share one store.

mod pending;
mod requests;

pub use pending::{CallKey, Pending};
pub use requests::{
    Answer, AnswerChannel, ApprovalError, ApprovalKey, ApprovalRequest, Approvals, Opened, Parked,
    State, DEFAULT_TTL,
};
