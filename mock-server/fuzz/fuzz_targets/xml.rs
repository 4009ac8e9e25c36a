//! Fuzz target `xml`: the XML stage the runner checks answers with ([`model::xml`]): parse,
//! canonical form, render, and the diff that names the first difference.
//!
//! The input is one document, or two separated by a NUL byte (expected, then actual).
//!
//! Checked, beyond "nothing panics": the canonical form is idempotent (canonical text parses and
//! canonicalizes to itself); a tree rendered compactly and parsed again has the same canonical
//! form; a tree without placeholders shows no exact difference with itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use model::xml::{self, DiffMode, Layout};

fuzz_target!(|data: &[u8]| {
    let (first, second) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(text) = std::str::from_utf8(first) else {
        return;
    };
    let Ok(doc) = xml::parse(text) else {
        return;
    };
    let canon = xml::canonical_element(&doc.root);
    match xml::canonical(&canon) {
        Ok(again) => assert_eq!(again, canon, "canonical form is not idempotent"),
        Err(e) => panic!("canonical text does not parse ({e}):\n{canon}"),
    }
    let rendered = doc.render(Layout::Compact);
    match xml::parse(&rendered) {
        Ok(back) => assert_eq!(
            xml::canonical_element(&back.root),
            canon,
            "render then parse changed the tree:\n{rendered}"
        ),
        Err(e) => panic!("rendered text does not parse ({e}):\n{rendered}"),
    }
    // A tree differs from itself only through placeholders (`{{number}}` expected matches a
    // number, and the text `{{number}}` is not one). Structural mode is not reflexive by design:
    // every child of a list element is compared against the first one, so `<v>x</v><v>1</v>`
    // differs from itself in value type; it only has to run.
    if !text.contains("{{") {
        if let Some(d) = xml::diff(&doc.root, &doc.root, DiffMode::Exact) {
            panic!("a tree differs from itself: {d}");
        }
    }
    let _ = xml::diff(&doc.root, &doc.root, DiffMode::Structure);
    let _ = xml::shape(&doc.root);
    if let Some(other) = second.and_then(|b| std::str::from_utf8(b).ok()) {
        if let Ok(actual) = xml::parse(other) {
            for mode in [DiffMode::Exact, DiffMode::Structure] {
                if let Some(d) = xml::diff(&doc.root, &actual.root, mode) {
                    let _ = d.to_string();
                }
            }
        }
    }
});
