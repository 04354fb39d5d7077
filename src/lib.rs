//! Portcullis: a policy-gated, audited MCP server for infrastructure
//! operations. Every tool call is validated, resolved to a Cedar request,
//! authorized, recorded durably, and only then executed.

pub mod audit;
pub mod backends;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod gate;
pub mod lab;
pub mod logging;
pub mod policy;
pub mod principal;
pub mod server;
pub mod util;
