//! `mor-conformance schema` publishes the JSON Schema of the scenario format.

use crate::run;

#[test]
fn prints_a_json_schema_of_the_scenario_format() {
    let out = run(&["schema"], &[]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["title"], "Scenario");
    assert!(v["properties"]["cases"].is_object());
    assert!(v["$defs"]["Case"]["properties"]["request"].is_object());
}
