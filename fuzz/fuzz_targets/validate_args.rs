//! Argument validation on arbitrary input: it must never panic, and any
//! argument set it accepts must fill its tool's path template without
//! leaving it (same segments, fixed parts unchanged, no dot segments), or,
//! for Volcengine tools, become OpenAPI parameters that are all the tool's
//! own (no argument can add `Action`, `Version` or another parameter).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::backends::path::fill;
use portcullis::backends::volc::{pascal, query_params, sign::canonical_query};
use portcullis::backends::pve::tools::rest_call;
use portcullis::backends::volc::tools::VolcCall;
use portcullis::catalog::{validate, Catalog};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, json)) = data.split_first() else { return };
    let Ok(args) = serde_json::from_slice::<serde_json::Value>(json) else { return };
    let catalog = Catalog::builtin();
    let tool = &catalog.tools()[usize::from(pick) % catalog.tools().len()];
    let Ok(valid) = validate(tool, Some(&args)) else { return };
    if tool.operation::<VolcCall>().is_some() {
        let params = query_params(tool, &valid);
        let own: Vec<String> = tool.params.iter().map(|p| pascal(p.name)).collect();
        for (k, _) in &params {
            let base = k.split('.').next().unwrap_or_default();
            assert!(own.iter().any(|o| o == base), "{k} is not a parameter of {}", tool.name);
        }
        // Every key and value is escaped: the query has one '=' per pair.
        let q = canonical_query(&params);
        assert!(q.is_empty() || q.split('&').all(|p| p.matches('=').count() == 1), "{q}");
        return;
    }
    // vim25 tools put values in XML-escaped SOAP bodies, never in a URL:
    // for them, validation not panicking is the property.
    let Some(rest) = rest_call(tool) else { return };
    let path = fill(rest.path, &valid).expect("accepted arguments fill the template");
    let t: Vec<&str> = rest.path.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    assert_eq!(t.len(), p.len(), "{path} left {}", rest.path);
    for (t, p) in t.iter().zip(&p) {
        if t.starts_with('{') {
            assert!(!p.is_empty() && *p != "." && *p != "..", "{path}");
        } else {
            assert_eq!(t, p);
        }
    }
});
