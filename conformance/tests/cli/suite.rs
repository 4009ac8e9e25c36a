//! Every file of the scenario suite (`scenarios/`) loads: valid YAML, no unknown field, every
//! method known to the catalogue.

use std::path::{Path, PathBuf};

use model::catalogue::Catalogue;

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn every_scenario_file_of_the_suite_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    let cat = Catalogue::embedded();
    let errors: Vec<String> = files
        .iter()
        .filter_map(|f| model::scenario::load(f, cat).err().map(|e| e.to_string()))
        .collect();
    assert!(
        errors.is_empty(),
        "invalid scenario files:\n{}",
        errors.join("\n")
    );
}
