//! A VergeOS endpoint's own keys (a user and password, or a pre-issued API
//! token), and the VergeOS MCP server's environment variables
//! (`VERGEOS_HOST`, `VERGEOS_USER`, `VERGEOS_PASS`, `VERGEOS_TOKEN`), which
//! add an endpoint named `vergeos`. Unlike that server, certificates are
//! verified: `VERGEOS_CA_FILE` names the CA of a self-signed system.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;
use serde::Deserialize;

use crate::backends::registry::{BackendKind, BackendParts};
use crate::config::{
    env_bool, env_file, host_url, parse_url, ConfigError, CredentialKeys, Credentials, Endpoint,
    Env, NoSettings, SectionInput, DEFAULT_TIMEOUT,
};

/// The id a pre-issued API token is filed under (it has none of its own).
pub const API_TOKEN_ID: &str = "api-token";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    username: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    /// Present only to refuse it with a clear message.
    password: Option<toml::Value>,
    api_token_env: Option<String>,
    api_token_file: Option<PathBuf>,
    /// Present only to refuse it with a clear message.
    api_token: Option<toml::Value>,
}

pub const KEYS: &[&str] = &[
    "username",
    "password_env",
    "password_file",
    "password",
    "api_token_env",
    "api_token_file",
    "api_token",
];

pub fn section(input: &SectionInput) -> Result<BackendParts, String> {
    let s: Section = input.parse()?;
    let token_given =
        s.api_token.is_some() || s.api_token_env.is_some() || s.api_token_file.is_some();
    let password_given = s.username.is_some()
        || s.password.is_some()
        || s.password_env.is_some()
        || s.password_file.is_some();
    let credentials = match (token_given, password_given) {
        (true, true) => {
            return Err("give a username and password, or an API token, not both".into())
        }
        (true, false) => {
            let (id, secret) = input.credential(CredentialKeys {
                id: ("api_token", Some(API_TOKEN_ID.into())),
                secret: "api_token",
                inline: s.api_token.as_ref(),
                env: s.api_token_env.as_deref(),
                file: s.api_token_file.as_deref(),
            })?;
            Credentials::ApiToken { id, secret }
        }
        (false, _) => {
            let (user, password) = input.credential(CredentialKeys {
                id: ("username", s.username),
                secret: "password",
                inline: s.password.as_ref(),
                env: s.password_env.as_deref(),
                file: s.password_file.as_deref(),
            })?;
            Credentials::UserPassword { user, password }
        }
    };
    Ok(BackendParts {
        credentials,
        settings: Arc::new(NoSettings),
    })
}

/// The endpoint described by the VergeOS MCP server's variables, if set.
pub fn from_env(env: &dyn Env) -> Result<Option<Endpoint>, ConfigError> {
    let Some(host) = env.var("VERGEOS_HOST") else {
        return Ok(None);
    };
    let credentials = match (
        env.var("VERGEOS_TOKEN"),
        env.var("VERGEOS_USER"),
        env.var("VERGEOS_PASS"),
    ) {
        (Some(token), _, _) => Credentials::ApiToken {
            id: API_TOKEN_ID.into(),
            secret: SecretString::from(token),
        },
        (None, Some(user), Some(pass)) => Credentials::UserPassword {
            user,
            password: SecretString::from(pass),
        },
        _ => {
            return Err(ConfigError::Invalid(
                "VERGEOS_HOST is set, but neither VERGEOS_TOKEN nor both VERGEOS_USER and VERGEOS_PASS are: set the API token, or the user and password".into(),
            ))
        }
    };
    let ca_pem = env_file(env, "VERGEOS_CA_FILE")?;
    // The server took a bare host (with an optional port) and always
    // spoke https; a URL is accepted too.
    let url = host_url(&host, "");
    Ok(Some(Endpoint {
        name: "vergeos".into(),
        backend: BackendKind::Vergeos,
        url: parse_url("vergeos", &url)?,
        credentials,
        tls_verify: env_bool(env, "VERGEOS_VERIFY_SSL", true)?,
        ca_pem,
        timeout: DEFAULT_TIMEOUT,
        default: false,
        settings: Arc::new(NoSettings),
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use secrecy::ExposeSecret;

    use crate::config::testing::{env, BASE};
    use crate::config::{Config, Credentials};

    #[test]
    fn the_seeds_variables_add_an_endpoint_that_verifies_tls() {
        let e = env(&[
            ("VERGEOS_HOST", "verge.example:8443"),
            ("VERGEOS_USER", "admin"),
            ("VERGEOS_PASS", "pw-canary-1"),
        ]);
        let c = Config::parse(BASE, "t.toml", Path::new("."), &e).unwrap();
        let ep = &c.endpoints[0];
        assert_eq!(ep.name, "vergeos");
        assert_eq!(ep.url.as_str(), "https://verge.example:8443/");
        assert!(ep.tls_verify, "verified by default, unlike the seed");
        assert!(
            matches!(&ep.credentials, Credentials::UserPassword { user, .. } if user == "admin")
        );
        assert!(!format!("{c:?}").contains("pw-canary-1"));
    }

    #[test]
    fn a_token_wins_and_missing_credentials_are_named() {
        let e = env(&[("VERGEOS_HOST", "h"), ("VERGEOS_TOKEN", "tok-canary")]);
        let c = Config::parse(BASE, "t.toml", Path::new("."), &e).unwrap();
        assert_eq!(
            c.endpoints[0].credentials.secret().expose_secret(),
            "tok-canary"
        );
        let e = env(&[("VERGEOS_HOST", "h"), ("VERGEOS_USER", "u")]);
        let err = Config::parse(BASE, "t.toml", Path::new("."), &e)
            .unwrap_err()
            .to_string();
        assert!(err.contains("VERGEOS_PASS"), "{err}");
    }

    #[test]
    fn a_section_takes_a_password_or_a_token_never_both_never_inline() {
        let with = |keys: &str| {
            format!("{BASE}\n[[endpoints]]\nname = \"v\"\nbackend = \"vergeos\"\nurl = \"https://v.example\"\n{keys}\n")
        };
        let e = env(&[("PW", "pw"), ("TOK", "tok")]);
        let parse = |keys: &str| Config::parse(&with(keys), "t", Path::new("."), &e);
        let c = parse("api_token_env = \"TOK\"").unwrap();
        assert!(matches!(
            c.endpoints[0].credentials,
            Credentials::ApiToken { .. }
        ));
        let c = parse("username = \"u\"\npassword_env = \"PW\"").unwrap();
        assert!(matches!(
            c.endpoints[0].credentials,
            Credentials::UserPassword { .. }
        ));
        let both = parse("username = \"u\"\npassword_env = \"PW\"\napi_token_env = \"TOK\"")
            .unwrap_err()
            .to_string();
        assert!(both.contains("not both"), "{both}");
        let inline = parse("api_token = \"tok\"").unwrap_err().to_string();
        assert!(inline.contains("must not be written"), "{inline}");
    }
}
