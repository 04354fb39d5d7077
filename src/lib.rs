//! Portcullis: a policy-gated, audited MCP server for infrastructure
//! operations. Every tool call is validated, resolved to a Cedar request,
//! authorized, recorded durably, and only then executed.

pub mod admin;
pub mod approval;
pub mod audit;
pub mod auth;
pub mod backends;
pub mod break_glass;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod dropin;
pub mod gate;
pub mod http;
pub mod lab;
pub mod logging;
pub mod metrics;
pub mod policy;
pub mod principal;
pub mod reload;
pub mod runtime;
pub mod server;
pub mod state;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod util;
