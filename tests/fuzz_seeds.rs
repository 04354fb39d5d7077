//! The seeds of the validate_args fuzz target (fuzz/seeds/validate_args)
//! start where they claim to: the first byte picks the tool the way the
//! target does (index modulo the catalog's length), and the rest is an
//! argument set that tool accepts, so the fuzzer begins from inputs that
//! reach path building rather than ones refused before it. Each seed is
//! named `TOOL` or `TOOL.WHAT`.
#![allow(
    clippy::unwrap_used,
    reason = "a test or benchmark that cannot go on fails loudly"
)]

use portcullis::backends::path::fill;
use portcullis::catalog::{validate, Catalog};
use serde_json::Value;

#[test]
fn every_validate_args_seed_reaches_path_building() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/validate_args");
    let catalog = Catalog::builtin();
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 3, "{seeds:?}");
    for seed in seeds {
        let name = seed.file_name().unwrap().to_string_lossy().to_string();
        let data = std::fs::read(&seed).unwrap();
        let (&pick, json) = data.split_first().expect("a seed has a selector byte");
        let tool = &catalog.tools()[usize::from(pick) % catalog.tools().len()];
        let meant = name.split('.').next().unwrap();
        let index = catalog.tools().iter().position(|t| t.name == meant);
        assert_eq!(
            tool.name,
            meant,
            "{name}: selector byte {pick} picks another tool; {meant} is at index {index:?} of {}",
            catalog.tools().len()
        );
        let args: Value = serde_json::from_slice(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        let valid = validate(tool, Some(&args))
            .unwrap_or_else(|e| panic!("{name}: refused before any path is built: {e}"));
        let rest = portcullis::backends::pve::tools::rest_call(tool)
            .unwrap_or_else(|| panic!("{name}: not a REST tool"));
        let path = fill(rest.path, &valid).unwrap();
        assert_eq!(
            path.split('/').count(),
            rest.path.split('/').count(),
            "{name}: {path}"
        );
    }
}
