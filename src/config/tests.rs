use super::*;
use secrecy::ExposeSecret;
use std::collections::HashMap;

struct MapEnv(HashMap<&'static str, &'static str>);

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| v.to_string())
    }
}

fn env(pairs: &[(&'static str, &'static str)]) -> MapEnv {
    MapEnv(pairs.iter().copied().collect())
}

const BASE: &str = r#"
[server]
principal = "alice"
policies = "policies"
audit_log = "audit.jsonl"

[[principals]]
id = "alice"
groups = ["operators"]
"#;

#[test]
fn relative_paths_are_taken_from_the_config_directory() {
    let c = Config::parse(BASE, "t.toml", Path::new("/etc/portcullis"), &env(&[])).unwrap();
    assert_eq!(c.policies, PathBuf::from("/etc/portcullis/policies"));
    assert_eq!(c.audit_log, PathBuf::from("/etc/portcullis/audit.jsonl"));
    assert_eq!(c.principal("alice").unwrap().groups, vec!["operators"]);
}

#[test]
fn mcp_pve_environment_adds_an_endpoint() {
    let e = env(&[
        ("PVE_BASE_URL", "https://pve.example:8006/"),
        ("PVE_TOKEN_ID", "root@pam!mcp"),
        ("PVE_TOKEN_SECRET", "s3cret"),
        ("PVE_VERIFY_SSL", "false"),
    ]);
    let c = Config::parse(BASE, "t.toml", Path::new("."), &e).unwrap();
    let ep = &c.endpoints[0];
    assert_eq!(ep.name, "pve");
    assert_eq!(ep.url.as_str(), "https://pve.example:8006/");
    assert!(!ep.tls_verify);
    assert_eq!(ep.token_secret.expose_secret(), "s3cret");
    // The secret never shows in Debug output.
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn missing_token_variables_are_named() {
    let e = env(&[("PVE_BASE_URL", "https://pve.example:8006")]);
    let err = Config::parse(BASE, "t.toml", Path::new("."), &e)
        .unwrap_err()
        .to_string();
    assert!(err.contains("PVE_TOKEN_ID and PVE_TOKEN_SECRET"), "{err}");
}

#[test]
fn inline_secrets_and_plain_http_are_refused() {
    let inline = format!(
        "{BASE}\n[[endpoints]]\nname = \"a\"\nbackend = \"pve\"\nurl = \"https://h:8006\"\ntoken_id = \"x@pve!t\"\ntoken_secret = \"oops\"\n"
    );
    let err = Config::parse(&inline, "t.toml", Path::new("."), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("must not be written in the configuration file"),
        "{err}"
    );
    let http = format!(
        "{BASE}\n[[endpoints]]\nname = \"a\"\nbackend = \"pve\"\nurl = \"http://h:8006\"\ntoken_id = \"x@pve!t\"\ntoken_secret_env = \"S\"\n"
    );
    let err = Config::parse(&http, "t.toml", Path::new("."), &env(&[("S", "v")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("must use https"), "{err}");
}

#[test]
fn unknown_keys_are_errors() {
    let text = format!("{BASE}\nfoo = 1\n");
    assert!(Config::parse(&text, "t.toml", Path::new("."), &env(&[])).is_err());
}

#[test]
fn the_stdio_principal_must_be_declared() {
    let text = BASE.replace("principal = \"alice\"", "principal = \"mallory\"");
    let err = Config::parse(&text, "t.toml", Path::new("."), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("mallory"), "{err}");
}

#[test]
fn transfer_hosts_are_host_names_on_vsphere_endpoints_only() {
    let with = |backend: &str, auth: &str, hosts: &str| {
        format!(
            "{BASE}\n[[endpoints]]\nname = \"e\"\nbackend = \"{backend}\"\nurl = \"https://vc.example\"\n{auth}\ntransfer_hosts = {hosts}\n"
        )
    };
    let vs = "username = \"u\"\npassword_env = \"PW\"";
    let e = env(&[("PW", "pw")]);
    let c = Config::parse(
        &with(
            "vsphere",
            vs,
            r#"["ESX1.example", "10.0.0.5", "[fd00::5]"]"#,
        ),
        "t",
        Path::new("."),
        &e,
    )
    .unwrap();
    assert_eq!(
        c.endpoints[0].transfer_hosts,
        ["esx1.example", "10.0.0.5", "[fd00::5]"]
    );
    for bad in [
        r#"["https://esx1"]"#,
        r#"["esx1:443"]"#,
        r#"["*.example"]"#,
        r#"["a/b"]"#,
    ] {
        let err = Config::parse(&with("vsphere", vs, bad), "t", Path::new("."), &e)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is not a host name or IP address"),
            "{bad}: {err}"
        );
    }
    let pve = "token_id = \"root@pam!t\"\ntoken_secret_env = \"PW\"";
    let err = Config::parse(&with("pve", pve, r#"["esx1"]"#), "t", Path::new("."), &e)
        .unwrap_err()
        .to_string();
    assert!(err.contains("vsphere endpoints only"), "{err}");
}

#[test]
fn volcengine_endpoints_from_the_file_and_the_seeds_variables() {
    let section = |regions: &str| {
        format!(
            "{BASE}\n[[endpoints]]\nname = \"volc\"\nbackend = \"volcengine\"\nurl = \"https://open.volcengineapi.com\"\n\
             access_key = \"AKLT1\"\nsecret_key_env = \"SK\"\n{regions}\n"
        )
    };
    let e = env(&[("SK", "volc-s3cret")]);
    let c = Config::parse(
        &section("regions = [\"cn-beijing\", \"cn-shanghai\"]"),
        "t",
        Path::new("."),
        &e,
    )
    .unwrap();
    let ep = &c.endpoints[0];
    assert_eq!(
        (ep.token_id.as_str(), ep.regions.clone()),
        (
            "AKLT1",
            vec!["cn-beijing".to_string(), "cn-shanghai".to_string()]
        )
    );
    assert_eq!(ep.token_secret.expose_secret(), "volc-s3cret");
    assert!(!format!("{c:?}").contains("volc-s3cret"));
    for (regions, needle) in [
        ("", "needs regions"),
        ("regions = [\"Beijing\"]", "is not a region id"),
        ("regions = [\"cn-beijing\", \"cn-beijing\"]", "listed twice"),
        (
            "regions = [\"cn-beijing\"]\nsecret_key = \"inline\"",
            "must not be written in the configuration file",
        ),
    ] {
        let err = Config::parse(&section(regions), "t", Path::new("."), &e)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{regions}: {err}");
    }
    // The Volcengine VPN MCP server's variables work as they are.
    let e = env(&[
        ("VOLCENGINE_ACCESS_KEY", "AKLT2"),
        ("VOLCENGINE_SECRET_KEY", "sk2"),
        ("VOLCENGINE_REGION", "cn-shanghai"),
    ]);
    let c = Config::parse(BASE, "t", Path::new("."), &e).unwrap();
    let ep = &c.endpoints[0];
    assert_eq!(ep.name, "volcengine");
    assert_eq!(ep.url.as_str(), "https://open.volcengineapi.com/");
    assert_eq!(ep.regions, ["cn-shanghai"]);
    let e = env(&[
        ("VOLCENGINE_ACCESS_KEY", "AKLT2"),
        ("VOLCENGINE_SECRET_KEY", "sk2"),
    ]);
    let err = Config::parse(BASE, "t", Path::new("."), &e)
        .unwrap_err()
        .to_string();
    assert!(err.contains("VOLCENGINE_REGION"), "{err}");
}

#[test]
fn a_url_with_a_password_is_refused_without_repeating_it() {
    for url in [
        "https://admin:hunter2-canary@h:8006",
        "https://admin:hunter2-canary@h:8006/api2/json",
        "https://admin:hunter2-canary@h:notaport",
    ] {
        let text = format!(
            "{BASE}\n[[endpoints]]\nname = \"a\"\nbackend = \"pve\"\nurl = \"{url}\"\ntoken_id = \"x@pve!t\"\ntoken_secret_env = \"S\"\n"
        );
        let err = Config::parse(&text, "t.toml", Path::new("."), &env(&[("S", "v")]))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2-canary"), "{url}: {err}");
        assert!(err.contains("[credentials removed]@h:"), "{url}: {err}");
    }
}

#[test]
fn duplicate_principals_and_api_keys_are_refused_naming_both() {
    let text = format!("{BASE}\n[[principals]]\nid = \"alice\"\ngroups = [\"admins\"]\n");
    let err = Config::parse(&text, "t.toml", Path::new("."), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("entries 1 and 2"), "{err}");
    assert!(err.contains("\"alice\""), "{err}");

    let key = "a".repeat(64);
    let text = format!(
        "{BASE}\n[http]\n[[http.api_keys]]\nprincipal = \"alice\"\nsha256 = \"{key}\"\n[[http.api_keys]]\nprincipal = \"bob\"\nsha256 = \"{key}\"\n"
    );
    let err = Config::parse(&text, "t.toml", Path::new("."), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("entries 1 (principal \"alice\") and 2 (principal \"bob\")"),
        "{err}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = format!(
        "{BASE}\n[[endpoints]]\nname = \"a\"\nbackend = \"pve\"\nurl = \"https://h:8006\"\ntoken_id = \"x@pve!t\"\ntoken_secret_env = \"MISSING_ONE\"\n\
         [[endpoints]]\nname = \"b\"\nbackend = \"pve\"\nurl = \"https://h:8006\"\ntoken_id = \"x@pve!t\"\ntoken_secret_env = \"MISSING_TWO\"\n\
         [rate_limits]\nnot_a_tier = {{ per_minute = 1 }}\n"
    );
    let err = Config::parse(&text, "t.toml", Path::new("."), &env(&[])).unwrap_err();
    assert_eq!(err.problems().len(), 3, "{err}");
    let text = err.to_string();
    for needle in ["MISSING_ONE", "MISSING_TWO", "not_a_tier", "3 problems"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}
