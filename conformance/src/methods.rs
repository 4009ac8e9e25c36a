//! `mor-conformance methods [NAME] [--product P]`: the catalogue on the command line. Every method
//! with its aliases, HTTP verbs, parameters (required, default, allowed values), hash order, who
//! may call it, the answer's shape and the documented errors; one method in full when named.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use model::catalogue::{Catalogue, Method, Product, UInHash};

use crate::exit::Failure;

/// Arguments of `methods`.
#[derive(Debug, Args)]
pub struct MethodsArgs {
    /// A method name or alias: that method in full (default: every method, shortly).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Product: mor, m4 (m2 is an alias of m4). Default: both.
    #[arg(long, env = "MOR_PRODUCT")]
    pub product: Option<Product>,
    /// An extra catalogue file that adds or overrides methods.
    #[arg(long)]
    pub catalogue: Option<PathBuf>,
}

/// Run `methods`; returns the text to print.
pub fn run(args: &MethodsArgs) -> Result<String, Failure> {
    let catalogue = crate::plan::catalogue(args.catalogue.as_deref())?;
    let products = match args.product {
        Some(p) => vec![p],
        None => Product::ALL.to_vec(),
    };
    let mut out = String::new();
    match &args.name {
        Some(name) => {
            let mut found = false;
            for p in products {
                if let Some(m) = catalogue.method(p, name) {
                    found = true;
                    describe(&mut out, &catalogue, p, m);
                }
            }
            if !found {
                return Err(Failure::usage(format!(
                    "unknown method `{name}` (`mor-conformance methods` lists them)"
                )));
            }
        }
        None => {
            for p in products {
                let _ = writeln!(out, "{p}:");
                for m in catalogue.product(p).methods() {
                    let _ = writeln!(
                        out,
                        "  {:<26} {}{}{}",
                        m.name,
                        m.summary,
                        if m.aliases.is_empty() {
                            String::new()
                        } else {
                            format!(" (also {})", m.aliases.join(", "))
                        },
                        match (&m.sample, &m.inferred) {
                            (Some(_), _) => " [catalogued only: documented sample]",
                            (None, Some(_)) => " [catalogued only: inferred shape]",
                            (None, None) => "",
                        }
                    );
                }
            }
        }
    }
    Ok(out)
}

/// One method in full.
pub fn describe(out: &mut String, catalogue: &Catalogue, product: Product, m: &Method) {
    let _ = writeln!(out, "{} ({product})", m.name);
    let _ = writeln!(out, "  {}", m.summary);
    if !m.aliases.is_empty() {
        let _ = writeln!(out, "  aliases: {}", m.aliases.join(", "));
    }
    let verbs: Vec<String> = m
        .http
        .iter()
        .map(|v| format!("{v:?}").to_uppercase())
        .collect();
    let _ = writeln!(
        out,
        "  http: {}{}",
        verbs.join(", "),
        if m.writes { "; writes" } else { "" }
    );
    if let Some(engine) = &m.engine {
        let _ = writeln!(out, "  behaviour: {}", declared(engine));
    }
    if let Some(sample) = &m.sample {
        let _ = writeln!(
            out,
            "  behaviour: catalogued only: the mock answers the documented sample below after the protocol checks ({})",
            sample.source
        );
    }
    if let Some(inferred) = &m.inferred {
        let _ = writeln!(
            out,
            "  behaviour: catalogued only, no documented sample: the mock answers the inferred answer below, placeholders filled, after the protocol checks (INF: {})",
            inferred.source
        );
    }
    let _ = writeln!(out, "  parameters:");
    for p in &m.params {
        let mut notes = vec![if p.required { "required" } else { "optional" }.to_string()];
        notes.push(format!("{:?}", p.kind).to_lowercase());
        if let Some(d) = &p.default {
            notes.push(format!("default {d}"));
        }
        if !p.values.is_empty() {
            notes.push(format!("one of {}", p.values.join(" | ")));
        }
        let _ = writeln!(out, "    {:<22} {} — {}", p.name, notes.join(", "), p.doc);
    }
    let hash = if m.hash.is_empty() {
        "sha1(secret)".to_string()
    } else {
        format!("sha1({} + secret)", m.hash.join(" + "))
    };
    let u_note = match m.u_in_hash {
        UInHash::NonAdmin if m.hash.iter().any(|h| h == "u") => {
            " (u only when the caller is not the System Admin)"
        }
        _ => "",
    };
    let optional = if m.hash_required {
        ""
    } else {
        "; the hash is optional, checked when sent"
    };
    let _ = writeln!(out, "  hash: {hash}{u_note}{optional}");
    for (name, order) in &m.hash_variants {
        let _ = writeln!(out, "    variant {name}: {}", order.join(" + "));
    }
    let _ = writeln!(out, "  who may call:");
    for a in &m.access {
        let perm = a
            .permission
            .as_deref()
            .map_or(String::new(), |p| format!(", permission {p}"));
        let _ = writeln!(out, "    {} ({:?}{perm})", a.role, a.scope);
    }
    let _ = writeln!(
        out,
        "  answer ({:?}, declaration {:?}):",
        m.response.body, m.response.declaration
    );
    for line in m.response.sample.lines() {
        let _ = writeln!(out, "    {line}");
    }
    if let Some(sample) = &m.sample {
        let _ = writeln!(out, "  documented sample:");
        for line in sample.answer.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(out, "  errors:");
    let general = &catalogue.product(product).general;
    for e in &m.errors {
        let _ = writeln!(out, "    {} ({:?}) — {}", e.text, e.wrapper, e.when);
    }
    for e in [
        &general.bad_login,
        &general.incorrect_hash,
        &general.access_denied,
        &general.get_disabled,
        &general.api_disabled,
    ] {
        if !m.errors.iter().any(|x| x.text == e.text) {
            let _ = writeln!(out, "    {} ({:?}) — {}", e.text, e.wrapper, e.when);
        }
    }
    out.push('\n');
}

/// One line on a behaviour declared in the catalogue: what it checks, lists and writes.
fn declared(engine: &model::engine::Engine) -> String {
    use model::engine::Action;
    let mut checks = 0;
    let mut writes: Vec<String> = Vec::new();
    for step in &engine.steps {
        match step.action() {
            Ok(Action::Create(c)) => writes.push(format!("creates a record of {c}")),
            Ok(Action::Purge(c)) => writes.push(format!("deletes the matching {c}")),
            Ok(Action::Update(b)) => writes.push(format!("updates the {b} found")),
            Ok(Action::Delete(b)) => writes.push(format!("deletes the {b} found")),
            Ok(_) => checks += 1,
            Err(_) => {}
        }
    }
    let mut parts = vec![format!(
        "declared in the catalogue (engine): {checks} checks"
    )];
    if let Some(l) = &engine.list {
        parts.push(format!("lists {}", l.collection));
    }
    if !writes.is_empty() {
        parts.push(writes.join(", "));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_method_says_what_its_engine_checks_and_writes() {
        let cat = Catalogue::embedded();
        let mut out = String::new();
        let m = cat
            .method(Product::Mor, "did_device_assign")
            .expect("in the catalogue");
        describe(&mut out, cat, Product::Mor, m);
        assert!(
            out.contains("  behaviour: declared in the catalogue (engine): 9 checks; updates the did found\n"),
            "{out}"
        );
        let mut out = String::new();
        let m = cat
            .method(Product::Mor, "user_balance_update")
            .expect("in the catalogue");
        describe(&mut out, cat, Product::Mor, m);
        assert!(!out.contains("behaviour:"), "{out}");
    }

    #[test]
    fn a_method_catalogued_only_says_it_answers_its_documented_sample_and_where_it_is_from() {
        let cat = Catalogue::embedded();
        let m = cat
            .method(Product::Mor, "system_version_get")
            .expect("in the catalogue");
        let mut out = String::new();
        describe(&mut out, cat, Product::Mor, m);
        assert!(
            out.contains("  behaviour: catalogued only: the mock answers the documented sample below after the protocol checks (MOR API system version get, https://wiki.kolmisoft.com/index.php/MOR_API_system_version_get"),
            "{out}"
        );
        assert!(out.contains("  documented sample:\n    <page>"), "{out}");
        let list = run(&MethodsArgs {
            name: None,
            product: Some(Product::Mor),
            catalogue: None,
        })
        .expect("listed");
        let line = list
            .lines()
            .find(|l| l.starts_with("  system_version_get "))
            .expect("listed");
        assert!(
            line.ends_with(" (also get_version) [catalogued only: documented sample]"),
            "{line}"
        );
        let computed = list
            .lines()
            .find(|l| l.starts_with("  user_balance_get "))
            .expect("listed");
        assert!(!computed.contains("catalogued only"), "{computed}");
    }

    #[test]
    fn a_method_with_an_inferred_shape_says_so_and_never_calls_it_a_documented_sample() {
        let cat = Catalogue::embedded();
        let m = cat
            .method(Product::Mor, "providers_get")
            .expect("in the catalogue");
        let mut out = String::new();
        describe(&mut out, cat, Product::Mor, m);
        assert!(
            out.contains("  behaviour: catalogued only, no documented sample: the mock answers the inferred answer below, placeholders filled, after the protocol checks (INF: MOR API providers get, https://wiki.kolmisoft.com/index.php?oldid=29158"),
            "{out}"
        );
        assert!(out.contains("    <id>{{int}}</id>\n"), "{out}");
        assert!(!out.contains("  documented sample:\n"), "{out}");
        assert!(!out.contains("answers the documented sample"), "{out}");
        let list = run(&MethodsArgs {
            name: None,
            product: Some(Product::Mor),
            catalogue: None,
        })
        .expect("listed");
        let line = list
            .lines()
            .find(|l| l.starts_with("  providers_get "))
            .expect("listed");
        assert!(
            line.ends_with(" [catalogued only: inferred shape]"),
            "{line}"
        );
    }
}
