//! VergeOS: API v4 over HTTPS. A session token from `POST /api/sys/tokens`
//! (basic auth) sent as the `token` cookie, renewed when it expires and
//! revoked at shutdown, or a pre-issued API token; VergeOS's table queries
//! (`fields`, `filter`, `sort`, `limit`) and `*_actions` tables.

mod client;
pub mod config;
pub mod lab;
mod ops;
mod place;
pub mod tools;

use serde_json::Value;

use crate::catalog::{ToolDef, ValidArgs};
use crate::config::Endpoint;

use super::registry::{self, BackendKind, Plug};
use super::{BackendError, BoxFuture, EndpointInfo, Located, ProgressSink};

pub use client::VergeClient;

/// VergeOS, as the registry knows it.
pub static PLUG: Plug = Plug {
    kind: BackendKind::Vergeos,
    name: "vergeos",
    tool_prefix: "vergeos_",
    tools: tools::tools,
    entity_types: include_str!("entities.cedarschema"),
    section_keys: config::KEYS,
    section: config::section,
    env_var: "VERGEOS_HOST",
    from_env: config::from_env,
    check_call: place::check_call,
    place: place::place,
    connect: |ep: &Endpoint| Ok(Box::new(VergeClient::new(ep)?)),
    test_endpoint: "vergeos",
    test_settings: |_| Ok(std::sync::Arc::new(crate::config::NoSettings)),
    lab: Some(registry::LabHooks {
        description: "a simulated VergeOS system",
        start: |_| Box::pin(lab::start_for_lab()),
        demo: lab::demo,
    }),
};

impl super::Client for VergeClient {
    fn execute<'a>(
        &'a self,
        tool: &'a ToolDef,
        args: &'a ValidArgs,
        _endpoint: &'a EndpointInfo,
        _progress: Option<&'a ProgressSink>,
    ) -> BoxFuture<'a, Result<Value, BackendError>> {
        Box::pin(async move {
            let mut answer = ops::execute(self, tool, args).await?;
            self.scrub_value(&mut answer);
            Ok(answer)
        })
    }

    fn locate<'a>(
        &'a self,
        tool: &'a ToolDef,
        args: &'a ValidArgs,
        _with_tags: bool,
    ) -> BoxFuture<'a, Result<Option<Vec<Located>>, BackendError>> {
        Box::pin(ops::locate(self, tool, args))
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.revoke())
    }
}
