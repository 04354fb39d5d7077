use super::testing::{env, BASE};
use super::*;

#[test]
fn relative_paths_are_taken_from_the_config_directory() {
    let c = Config::parse(BASE, "t.toml", Path::new("/etc/portcullis"), &env(&[])).unwrap();
    assert_eq!(c.policies, PathBuf::from("/etc/portcullis/policies"));
    assert_eq!(c.audit_log, PathBuf::from("/etc/portcullis/audit.jsonl"));
    assert_eq!(c.principal("alice").unwrap().groups, vec!["operators"]);
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
fn approver_keys_are_people_s_own_and_name_configured_principals() {
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    let parse = |keys: &str| {
        let text = format!(
            "{BASE}\n[http]\n[[http.api_keys]]\nprincipal = \"agent\"\nsha256 = \"{a}\"\n{keys}"
        );
        Config::parse(&text, "t.toml", Path::new("."), &env(&[])).map_err(|e| e.to_string())
    };
    let ok = parse(&format!(
        "[[http.approver_keys]]\nprincipal = \"alice\"\nsha256 = \"{b}\"\n"
    ))
    .unwrap();
    let keys = &ok.http.unwrap().approver_keys;
    assert_eq!(keys[0].principal, "alice");
    let err = parse(&format!(
        "[[http.approver_keys]]\nprincipal = \"alice\"\nsha256 = \"{a}\"\n"
    ))
    .unwrap_err();
    assert!(
        err.contains("also the [[http.api_keys]] key of \"agent\""),
        "{err}"
    );
    let err = parse(&format!(
        "[[http.approver_keys]]\nprincipal = \"nobody\"\nsha256 = \"{b}\"\n"
    ))
    .unwrap_err();
    assert!(
        err.contains("names \"nobody\", who is not listed under [[principals]]"),
        "{err}"
    );
    let err = parse(&format!(
        "[[http.approver_keys]]\nprincipal = \"alice\"\nsha256 = \"{b}\"\n[[http.approver_keys]]\nprincipal = \"bob\"\nsha256 = \"{b}\"\n"
    ))
    .unwrap_err();
    assert!(
        err.contains("\"alice\" and \"bob\" have the same sha256"),
        "{err}"
    );
    let text = format!(
        "{BASE}\n[http]\npath = \"/admin/mcp\"\n[[http.api_keys]]\nprincipal = \"agent\"\nsha256 = \"{a}\"\n"
    );
    let err = Config::parse(&text, "t.toml", Path::new("."), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("is under /admin"), "{err}");
}

#[test]
fn the_state_section_names_redis_and_keeps_its_password_out_of_the_file() {
    let parse = |section: &str, vars: &[(&'static str, &'static str)]| {
        let text = format!("{BASE}\n[state]\n{section}");
        Config::parse(&text, "t.toml", Path::new("/etc/p"), &env(vars)).map_err(|e| e.to_string())
    };
    let c = parse(
        "redis_url = \"redis://portcullis@10.0.0.5:6380/2\"\npassword_env = \"R\"\nkey_prefix = \"prod-a\"\nrate_limits_if_unreachable = \"local\"\nbinding_key_env = \"K\"\n",
        &[("R", "s3cret"), ("K", "0123456789abcdef0123456789abcdef")],
    )
    .unwrap();
    let state = c.state.unwrap();
    assert_eq!(state.redis.address(), "redis://portcullis@10.0.0.5:6380/2");
    assert_eq!(state.redis.prefix, "prod-a");
    assert_eq!(
        state.rate_limits_if_unreachable,
        crate::state::WhenUnreachable::Local
    );
    assert!(!format!("{:?}", state.redis).contains("s3cret"));
    for (section, needle) in [
        (
            "redis_url = \"redis://u:pw@h/0\"\n",
            "must not hold the password",
        ),
        (
            "redis_url = \"redis://h/0\"\npassword_env = \"MISSING\"\n",
            "password_env MISSING is not set",
        ),
        ("redis_url = \"http://h/0\"\n", "redis:// or rediss://"),
        (
            "redis_url = \"redis://h/0\"\nca_file = \"ca.pem\"\n",
            "rediss:// (TLS) only",
        ),
        (
            "redis_url = \"redis://h/0\"\nkey_prefix = \"a b\"\n",
            "key_prefix",
        ),
        (
            "redis_url = \"redis://h/0\"\nrate_limits_if_unreachable = \"allow\"\n",
            "\"deny\"",
        ),
        ("password_env = \"R\"\n", "need redis_url"),
        (
            "redis_url = \"redis://h/0\"\nbinding_key_env = \"SHORT\"\n",
            "at least 32 bytes",
        ),
        (
            "redis_url = \"redis://h/0\"\n",
            "binding_key_env is required",
        ),
    ] {
        let err = parse(section, &[("R", "x"), ("SHORT", "tooshort")]).unwrap_err();
        assert!(
            err.contains(needle) && !err.contains("pw@"),
            "{section}: {err}"
        );
    }
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

#[test]
fn the_archive_section_is_checked_and_its_secret_read_from_the_environment() {
    let section = |endpoint: &str, mode: &str| {
        format!(
            "{BASE}\n[archive]\nendpoint = \"{endpoint}\"\nregion = \"eu-west-1\"\nbucket = \"audit-b\"\n\
             retention_mode = \"{mode}\"\nretention_days = 30\n"
        )
    };
    let keys = env(&[
        ("AWS_ACCESS_KEY_ID", "AKIA1"),
        ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
    ]);
    let ok = Config::parse(
        &section("https://s3.example", "COMPLIANCE"),
        "t.toml",
        Path::new("."),
        &keys,
    )
    .unwrap();
    let a = ok.archive.as_ref().unwrap();
    assert_eq!(
        (a.mode, a.retain),
        (
            crate::audit::archive::RetentionMode::Compliance,
            std::time::Duration::from_secs(30 * 86_400)
        )
    );
    assert!(!format!("{a:?}").contains("s3cr3t"));
    let err = |text: String, e: &super::testing::MapEnv| {
        Config::parse(&text, "t.toml", Path::new("."), e)
            .unwrap_err()
            .to_string()
    };
    let e = err(section("http://s3.example", "COMPLIANCE"), &keys);
    assert!(e.contains("must be https"), "{e}");
    assert!(Config::parse(
        &section("http://127.0.0.1:9000", "GOVERNANCE"),
        "t.toml",
        Path::new("."),
        &keys
    )
    .is_ok());
    let bad_bucket = section("https://s3.example", "COMPLIANCE").replace("audit-b", "Audit/B?");
    let e = err(bad_bucket, &keys);
    assert!(e.contains("bucket \"Audit/B?\""), "{e}");
    let dotdot = section("https://s3.example", "COMPLIANCE") + "prefix = \"a/../b/\"\n";
    let e = err(dotdot, &keys);
    assert!(e.contains("prefix"), "{e}");
    let e = err(section("https://s3.example", "FOREVER"), &keys);
    assert!(e.contains("COMPLIANCE or GOVERNANCE"), "{e}");
    let e = err(
        section("https://s3.example", "COMPLIANCE"),
        &env(&[("AWS_ACCESS_KEY_ID", "AKIA1")]),
    );
    assert!(e.contains("AWS_SECRET_ACCESS_KEY is not set"), "{e}");
}

#[test]
fn the_audit_section_reads_its_keys_and_refuses_a_short_one() {
    let text = |extra: &str| format!("{BASE}\n[audit]\n{extra}\n");
    let long = "k".repeat(40);
    let ok = Config::parse(
        &text("chain_key_env = \"K\"\nrotate_bytes = 1000"),
        "t.toml",
        Path::new("."),
        &env(&[("K", Box::leak(long.into_boxed_str()))]),
    )
    .unwrap();
    assert!(ok.audit.key.is_some());
    assert_eq!(ok.audit.rotate_bytes, Some(1000));
    let e = Config::parse(
        &text("chain_key_env = \"K\""),
        "t.toml",
        Path::new("."),
        &env(&[("K", "short")]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("at least 32") && !e.contains("short\""), "{e}");
    let e = Config::parse(
        &text("chain_key_env = \"K\""),
        "t.toml",
        Path::new("."),
        &env(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("K is not set"), "{e}");
}
