//! Fuzz target `catalogue`: the catalogue loader ([`model::catalogue::Catalogue::merge_str`], what
//! `--catalogue FILE` does) over the embedded catalogue, then the signer over every method of the
//! merged product catalogue (hash order, variants, `u` rules, defaults), as the mock and the
//! runner use a catalogue.
//!
//! Checked: nothing panics; a digest is 40 lowercase hex characters.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use model::catalogue::Catalogue;
use model::params::Params;
use model::quirks::AbsentParams;
use model::sign::{self, SignOptions};
use model::{Product, Quirks};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut catalogue = Catalogue::embedded().clone();
    if catalogue.merge_str(text, Path::new("fuzz.yaml")).is_err() {
        return;
    }
    let quirks = Quirks::default();
    for product in [Product::M4, Product::Mor] {
        for method in catalogue.product(product).methods() {
            let mut params = Params::new().with("u", "admin");
            for p in method.hash_order(None) {
                params.push(p.clone(), "1");
            }
            let mut opts = SignOptions::from_quirks(&quirks, &method.name, (0, 0));
            let variants =
                std::iter::once(None).chain(method.hash_variants.keys().cloned().map(Some));
            for (variant, absent) in variants
                .flat_map(|v| [AbsentParams::Skip, AbsentParams::Defaults].map(|a| (v.clone(), a)))
            {
                opts.variant = variant;
                opts.absent = absent;
                for admin in [true, false] {
                    let d = sign::sign(method, &params, admin, "secret", &opts);
                    assert!(
                        d.len() == 40 && d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                        "digest {d:?}"
                    );
                    let _ = sign::plan(method, &Params::new(), admin, &opts).explain();
                }
            }
            let _ = catalogue.method(product, &method.name);
        }
    }
});
