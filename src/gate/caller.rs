//! Who is calling, and over what: the facts about a caller that policies
//! see as `context.transport`, `context.authentication` and `context.client`.

use crate::principal::Principal;

/// Over what a call arrived. Policies see [`Transport::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Stdio,
    Http,
    Cli,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::Stdio, Transport::Http, Transport::Cli];

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "http",
            Transport::Cli => "cli",
        }
    }

    pub fn parse(text: &str) -> Option<Transport> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// How the principal was established. Policies see [`Authentication::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Authentication {
    /// Whoever started the process (stdio, CLI).
    Local,
    ApiKey,
    Oauth,
    Mtls,
}

impl Authentication {
    pub const ALL: [Authentication; 4] = [
        Authentication::Local,
        Authentication::ApiKey,
        Authentication::Oauth,
        Authentication::Mtls,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Authentication::Local => "local",
            Authentication::ApiKey => "api_key",
            Authentication::Oauth => "oauth",
            Authentication::Mtls => "mtls",
        }
    }

    pub fn parse(text: &str) -> Option<Authentication> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// Who is calling, and over what.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub transport: Transport,
    pub authentication: Authentication,
    pub client: String,
    /// The client can put a question to a human (MCP elicitation).
    pub can_elicit: bool,
    /// The break-glass grants (their ids) this call is made under, set by
    /// the gate: the principal's groups then include the granted ones.
    pub break_glass: Option<String>,
}

impl Caller {
    /// A local caller on stdio (whoever started the process), who cannot be
    /// asked for confirmation: the common case in tests and tools.
    pub fn local(id: &str, groups: &[&str]) -> Caller {
        Caller::stdio(Principal::new(id, groups.to_vec()))
    }

    /// `principal`, local on stdio, unable to be asked for confirmation.
    pub fn stdio(principal: Principal) -> Caller {
        Caller {
            principal,
            transport: Transport::Stdio,
            authentication: Authentication::Local,
            client: "local".into(),
            can_elicit: false,
            break_glass: None,
        }
    }

    /// The same caller, over another transport.
    pub fn over(mut self, transport: Transport) -> Caller {
        self.transport = transport;
        self
    }
}
