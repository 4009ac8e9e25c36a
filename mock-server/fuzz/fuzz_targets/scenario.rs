//! Fuzz target `scenario`: the scenario loader ([`model::scenario::load_str`]: YAML through the
//! one `serde_yaml` call site, `deny_unknown_fields`, case line scanning, validation against the
//! embedded catalogue) and, for a scenario that loads with an empty world base, the mock state
//! built from it (`Shared::new`: clock, settings, quirks, world records, overlay), which is what
//! `mor-mock --scenario` and `POST /__admin/scenario` do with a file.
//!
//! Checked: nothing panics; a load error names the file and a line inside the text.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mock_server::{MockConfig, Shared};
use model::catalogue::Catalogue;
use model::scenario::WorldBase;
use model::{LoadError, Product};

/// 2026-11-23 12:00:00 UTC.
const CLOCK: i64 = 1_795_435_200;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.yaml");
    match model::scenario::load_str(text, path, Catalogue::embedded()) {
        Ok(loaded) => {
            // The generated default world is costly and the same each time: build the mock only
            // from scenarios that start from an empty world.
            let empty = loaded
                .scenario
                .world
                .as_ref()
                .is_some_and(|w| w.base == WorldBase::Empty);
            if empty {
                for product in [Product::M4, Product::Mor] {
                    let config = MockConfig::new(product)
                        .clock(CLOCK)
                        .scenario(loaded.scenario.clone());
                    let _ = Shared::new(config);
                }
            }
        }
        Err(LoadError::Source(e)) => {
            let message = e.to_string();
            assert!(
                message.contains("fuzz.yaml"),
                "error without the file: {message}"
            );
        }
        Err(_) => {}
    }
});
