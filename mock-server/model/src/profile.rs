//! Server generations as presets: a named profile sets every quirk position at once to what one
//! generation of the server does (`x3`: the MOR X3 server code; `wiki-2024`: MOR as the current
//! wiki describes it; `m4`: the M4 pages), each position with its evidence
//! ([`catalogue/profiles.yaml`](../catalogue/profiles.yaml)).
//!
//! `mor-mock --profile NAME`, the runner's `run --profile NAME` and target file `profile: NAME`,
//! and `probe` (which names the nearest profile) all read the names here.
//!
//! Loading is strict: every quirk of [`Quirks`] must have a position in every profile, or say
//! `inherit: default` explicitly; an unknown quirk name or position, a profile for an unknown
//! product, a missing reference for a wiki, X3 or PHP source are load errors naming the file,
//! line and field.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::catalogue::Product;
use crate::error::SourceError;
use crate::quirks::{Quirks, QuirksPatch};

/// The embedded profiles file, compiled in.
const EMBEDDED_PATH: &str = "catalogue/profiles.yaml";
const EMBEDDED: &str = include_str!("../catalogue/profiles.yaml");

/// Where a position's evidence comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A wiki page and revision.
    Wiki,
    /// The MOR X3 server code (GitHub `adeshjohnson/MX3`), file and line.
    X3,
    /// The PHP client (`CODEIQBV/laravel-kolmisoft`).
    Php,
    /// Our inference: nothing states it.
    Inference,
}

impl Source {
    /// Its name as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Wiki => "wiki",
            Source::X3 => "x3",
            Source::Php => "php",
            Source::Inference => "inference",
        }
    }
}

/// Why a profile takes a position.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Evidence {
    /// The kind of source.
    pub source: Source,
    /// Page and revision, file and line (required except for inference).
    pub reference: Option<String>,
    /// What the source says, in a sentence.
    pub note: String,
    /// Whether the profile keeps the quirk's default explicitly (`inherit: default`).
    pub inherits: bool,
}

/// One named profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Its name (`x3`, `wiki-2024`, `m4`).
    pub name: String,
    /// The product it describes.
    pub product: Product,
    /// One line on what it is.
    pub summary: String,
    /// Every quirk's position (inherited ones at the default).
    pub quirks: Quirks,
    /// The evidence of each position, by quirk name.
    pub evidence: BTreeMap<String, Evidence>,
}

impl Profile {
    /// A patch setting every quirk to this profile's position.
    pub fn patch(&self) -> QuirksPatch {
        self.quirks.to_patch()
    }
}

/// Every profile, with each product's default.
#[derive(Debug, Clone, PartialEq)]
pub struct Profiles {
    profiles: Vec<Profile>,
    defaults: BTreeMap<Product, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRepr {
    version: u32,
    defaults: BTreeMap<Product, String>,
    profiles: BTreeMap<String, ProfileRepr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileRepr {
    product: Product,
    summary: String,
    quirks: BTreeMap<String, PositionRepr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PositionRepr {
    #[serde(default)]
    position: Option<serde_json::Value>,
    #[serde(default)]
    inherit: Option<String>,
    source: Source,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    note: String,
}

/// The names of every quirk, in declaration order.
pub fn quirk_names() -> Vec<String> {
    match serde_json::to_value(Quirks::default()) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The position of `quirk` in `quirks`, as written in files (`lower`, `true`, `200`).
pub fn position_of(quirks: &Quirks, quirk: &str) -> Option<String> {
    let v = serde_json::to_value(quirks).ok()?;
    v.get(quirk).map(|p| match p {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The position of `quirk` that decides a request to `method` (canonical name): the per-method
/// quirks resolve to that method's entry (`error_precedence`: the method's `check_order` entry,
/// else the global position; `check_order`: the method's entry, else `none`; both `none` for a
/// method of `open_methods`, which checks neither; `open_methods`: `open` or `gated`; `redirects`:
/// `redirect` or `none` for the path name `method`, which is then not canonical); every other
/// quirk is its position as [`position_of`] gives it.
pub fn position_for(quirks: &Quirks, quirk: &str, method: Option<&str>) -> Option<String> {
    let as_text = |p: crate::quirks::Precedence| {
        serde_json::to_value(p)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    };
    match (quirk, method) {
        ("redirects", Some(m)) => Some(
            if quirks.redirects.contains_key(m) {
                "redirect"
            } else {
                "none"
            }
            .into(),
        ),
        // A method without a selected variant answers its declared `answer`.
        ("answer_variants", Some(m)) => Some(
            quirks
                .answer_variants
                .get(m)
                .cloned()
                .unwrap_or_else(|| "declared".into()),
        ),
        ("open_methods", Some(m)) => Some(if quirks.is_open(m) { "open" } else { "gated" }.into()),
        // An open method checks neither login nor hash: no order applies.
        ("error_precedence" | "check_order", Some(m)) if quirks.is_open(m) => Some("none".into()),
        ("error_precedence", Some(m)) => as_text(quirks.precedence_of(m)),
        ("check_order", Some(m)) => match quirks.check_order.get(m) {
            Some(p) => as_text(*p),
            None => Some("none".to_string()),
        },
        _ => position_of(quirks, quirk),
    }
}

/// 1-based line of the first line at or after `from` whose text starts with `key:`.
fn line_of(text: &str, from: usize, key: &str) -> usize {
    let want = format!("{key}:");
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.trim_start().starts_with(&want))
        .map_or(from.max(1), |(i, _)| i + 1)
}

impl Profiles {
    /// The embedded profiles (`catalogue/profiles.yaml`), loaded once.
    ///
    /// # Panics
    /// If the embedded file is invalid: a build defect the tests catch.
    pub fn embedded() -> &'static Profiles {
        static P: OnceLock<Profiles> = OnceLock::new();
        P.get_or_init(|| {
            Profiles::from_str(EMBEDDED, Path::new(EMBEDDED_PATH))
                .unwrap_or_else(|e| panic!("embedded profiles invalid: {e}"))
        })
    }

    /// Parse and check a profiles file (`path` names it in errors).
    pub fn from_str(text: &str, path: &Path) -> Result<Profiles, SourceError> {
        let name = path.display().to_string();
        let file: FileRepr = crate::yaml::from_str(text, path)?;
        if file.version != 1 {
            return Err(SourceError::new(
                &name,
                line_of(text, 1, "version"),
                "version",
                format!("unsupported version {} (expected 1)", file.version),
            ));
        }
        let known = quirk_names();
        let mut profiles = Vec::new();
        for (pname, p) in file.profiles {
            let at = line_of(text, line_of(text, 1, "profiles"), &pname);
            let mut patch = serde_json::Map::new();
            let mut evidence = BTreeMap::new();
            for (q, pos) in &p.quirks {
                let qline = line_of(text, at, q);
                let field = format!("profiles.{pname}.quirks.{q}");
                let err = |m: String| SourceError::new(&name, qline, &field, m);
                if !known.contains(q) {
                    return Err(err(format!("unknown quirk (known: {})", known.join(", "))));
                }
                let inherits = match (&pos.position, pos.inherit.as_deref()) {
                    (Some(v), None) => {
                        let one = serde_json::json!({ q.as_str(): v });
                        serde_json::from_value::<QuirksPatch>(one)
                            .map_err(|e| err(format!("position {v}: {e}")))?;
                        patch.insert(q.clone(), v.clone());
                        false
                    }
                    (None, Some("default")) => true,
                    (None, Some(other)) => {
                        return Err(err(format!(
                            "inherit: {other}: only `inherit: default` is known"
                        )))
                    }
                    (Some(_), Some(_)) => {
                        return Err(err("give either position or inherit, not both".into()))
                    }
                    (None, None) => {
                        return Err(err(
                            "no position: give `position: P` or `inherit: default`".into()
                        ))
                    }
                };
                if pos.source != Source::Inference
                    && pos.reference.as_deref().is_none_or(|r| r.trim().is_empty())
                {
                    return Err(err(format!(
                        "source {} needs `ref` (page and revision, or file and line)",
                        pos.source.as_str()
                    )));
                }
                evidence.insert(
                    q.clone(),
                    Evidence {
                        source: pos.source,
                        reference: pos.reference.clone(),
                        note: pos.note.clone(),
                        inherits,
                    },
                );
            }
            if let Some(missing) = known.iter().find(|q| !p.quirks.contains_key(*q)) {
                return Err(SourceError::new(
                    &name,
                    line_of(text, at, "quirks"),
                    &format!("profiles.{pname}.quirks"),
                    format!(
                        "quirk `{missing}` has no position (give `position: P` or `inherit: default`)"
                    ),
                ));
            }
            let patch: QuirksPatch = serde_json::from_value(serde_json::Value::Object(patch))
                .map_err(|e| {
                    SourceError::new(&name, at, &format!("profiles.{pname}"), e.to_string())
                })?;
            let mut quirks = Quirks::default();
            quirks.apply(&patch);
            profiles.push(Profile {
                name: pname,
                product: p.product,
                summary: p.summary,
                quirks,
                evidence,
            });
        }
        for product in Product::ALL {
            let Some(d) = file.defaults.get(&product) else {
                return Err(SourceError::new(
                    &name,
                    line_of(text, 1, "defaults"),
                    "defaults",
                    format!("no default profile for {product}"),
                ));
            };
            if !profiles
                .iter()
                .any(|p| &p.name == d && p.product == product)
            {
                return Err(SourceError::new(
                    &name,
                    line_of(text, 1, "defaults"),
                    &format!("defaults.{product}"),
                    format!("`{d}` is not a profile of {product}"),
                ));
            }
        }
        Ok(Profiles {
            profiles,
            defaults: file.defaults,
        })
    }

    /// Every profile, by name.
    pub fn all(&self) -> &[Profile] {
        &self.profiles
    }

    /// The profiles of `product`.
    pub fn of(&self, product: Product) -> impl Iterator<Item = &Profile> {
        self.profiles.iter().filter(move |p| p.product == product)
    }

    /// The default profile of `product`.
    pub fn default_of(&self, product: Product) -> &Profile {
        let name = &self.defaults[&product];
        self.profiles
            .iter()
            .find(|p| &p.name == name)
            .expect("checked when loaded")
    }

    /// The profile `name` of `product`; an unknown name, or one of another product, is an
    /// error listing the known ones.
    pub fn get(&self, product: Product, name: &str) -> Result<&Profile, String> {
        let known = self
            .of(product)
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        match self.profiles.iter().find(|p| p.name == name) {
            Some(p) if p.product == product => Ok(p),
            Some(p) => Err(format!(
                "profile `{name}` describes {}, not {product} (profiles of {product}: {known})",
                p.product
            )),
            None => Err(format!(
                "unknown profile `{name}` for {product} (known: {known})"
            )),
        }
    }

    /// Whether `name` is a profile of any product.
    pub fn exists(&self, name: &str) -> bool {
        self.profiles.iter().any(|p| p.name == name)
    }

    /// Every profile name, comma-separated (for messages).
    pub fn names(&self) -> String {
        self.profiles
            .iter()
            .map(|p| format!("{} ({})", p.name, p.product))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_variant_position_is_per_method_and_declared_without_one() {
        let mut q = Quirks::default();
        q.answer_variants
            .insert("credit_note_delete".into(), "current_page".into());
        let at = |m| position_for(&q, "answer_variants", Some(m));
        assert_eq!(at("credit_note_delete").as_deref(), Some("current_page"));
        assert_eq!(at("credit_note_update").as_deref(), Some("declared"));
    }

    #[test]
    fn per_method_positions_name_canonical_methods_and_their_errors() {
        let cat = crate::catalogue::Catalogue::embedded();
        for p in Profiles::embedded().all() {
            let canonical = |m: &str| cat.method(p.product, m).is_some_and(|x| x.name == m);
            for m in p.quirks.check_order.keys() {
                assert!(canonical(m), "{}: check_order names `{m}`", p.name);
            }
            for (m, texts) in &p.quirks.error_wrappers {
                assert!(canonical(m), "{}: error_wrappers names `{m}`", p.name);
                let method = cat.method(p.product, m).expect("known");
                let g = &cat.product(p.product).general;
                for t in texts.keys() {
                    let known = method.error(t).is_some()
                        || [&g.bad_login, &g.incorrect_hash, &g.access_denied]
                            .iter()
                            .any(|e| &e.text == t);
                    assert!(
                        known,
                        "{}: error_wrappers {m} names the error `{t}`",
                        p.name
                    );
                }
            }
        }
    }

    fn load(text: &str) -> Result<Profiles, SourceError> {
        Profiles::from_str(text, Path::new("p.yaml"))
    }

    /// The embedded file with one edit (`from` replaced by `to`, which must occur).
    fn edited(from: &str, to: &str) -> String {
        assert!(EMBEDDED.contains(from), "fixture text `{from}` not found");
        EMBEDDED.replacen(from, to, 1)
    }

    #[test]
    fn every_profile_sets_every_quirk_with_its_evidence() {
        let p = Profiles::embedded();
        let names = quirk_names();
        assert!(names.len() >= 17, "{names:?}");
        for profile in p.all() {
            for q in &names {
                let e = profile
                    .evidence
                    .get(q)
                    .unwrap_or_else(|| panic!("{}: {q} has no evidence", profile.name));
                assert!(!e.note.trim().is_empty(), "{}: {q}", profile.name);
            }
            assert_eq!(profile.evidence.len(), names.len(), "{}", profile.name);
        }
        for name in ["x3", "wiki-2024", "m4"] {
            assert!(p.exists(name), "{name}");
        }
        assert_eq!(p.default_of(Product::Mor).name, "wiki-2024");
        assert_eq!(p.default_of(Product::M4).name, "m4");
    }

    #[test]
    fn x3_hashes_by_the_global_rule_and_the_wiki_per_method() {
        use crate::quirks::{MorHashRule, Nesting};
        let p = Profiles::embedded();
        let x3 = p.get(Product::Mor, "x3").unwrap();
        assert_eq!(x3.quirks.mor_hash_rule, MorHashRule::Global);
        assert_eq!(x3.quirks.balance_update_nesting, Nesting::Double);
        assert_eq!(x3.evidence["mor_hash_rule"].source, Source::X3);
        let wiki = p.get(Product::Mor, "wiki-2024").unwrap();
        assert_eq!(wiki.quirks.mor_hash_rule, MorHashRule::PerMethod);
        // Inherited positions are the defaults, and say so.
        let m4 = p.get(Product::M4, "m4").unwrap();
        assert!(m4.evidence["mor_hash_rule"].inherits);
        assert_eq!(m4.quirks.mor_hash_rule, Quirks::default().mor_hash_rule);
    }

    #[test]
    fn an_unknown_profile_lists_the_known_ones() {
        let p = Profiles::embedded();
        let e = p.get(Product::Mor, "x4").unwrap_err();
        assert!(e.contains("unknown profile `x4`"), "{e}");
        assert!(e.contains("x3") && e.contains("wiki-2024"), "{e}");
        let e = p.get(Product::M4, "x3").unwrap_err();
        assert!(e.contains("describes mor"), "{e}");
        assert!(e.contains("profiles of m4: m4"), "{e}");
    }

    #[test]
    fn an_unknown_quirk_is_a_load_error_with_its_line() {
        let text = edited(
            "      hash_hex_case:\n        position: lower\n        source: x3",
            "      hash_hex_kase:\n        position: lower\n        source: x3",
        );
        let e = load(&text).unwrap_err();
        assert!(e.message.contains("unknown quirk"), "{e}");
        assert_eq!(e.field, "profiles.x3.quirks.hash_hex_kase");
        assert_eq!(
            text.lines().nth(e.line - 1).map(str::trim),
            Some("hash_hex_kase:")
        );
    }

    #[test]
    fn an_unknown_position_is_a_load_error() {
        let text = edited("position: global", "position: worldwide");
        let e = load(&text).unwrap_err();
        assert_eq!(e.field, "profiles.x3.quirks.mor_hash_rule");
        assert!(e.message.contains("worldwide"), "{e}");
        let text = edited("position: 200", "position: two hundred");
        assert!(load(&text).is_err());
    }

    #[test]
    fn a_quirk_without_a_position_is_a_load_error() {
        // Drop x3's balance_update entry entirely.
        let text = edited(
            "      balance_update:\n        position: add\n        source: x3\n        ref: C 1836-1874\n        note: balance + to_d(balance)\n",
            "",
        );
        let e = load(&text).unwrap_err();
        assert!(
            e.message.contains("`balance_update` has no position"),
            "{e}"
        );
        let text = edited(
            "        inherit: default\n        source: x3",
            "        source: x3",
        );
        let e = load(&text).unwrap_err();
        assert!(e.message.contains("no position"), "{e}");
        let text = edited("        inherit: default\n", "        inherit: wiki\n");
        let e = load(&text).unwrap_err();
        assert!(e.message.contains("only `inherit: default`"), "{e}");
    }

    #[test]
    fn a_source_without_a_reference_is_a_load_error() {
        let text = edited("        ref: M 62-183\n", "");
        let e = load(&text).unwrap_err();
        assert!(e.message.contains("needs `ref`"), "{e}");
    }

    #[test]
    fn a_default_of_another_product_is_a_load_error() {
        let text = edited("  m4: m4\n", "  m4: x3\n");
        let e = load(&text).unwrap_err();
        assert_eq!(e.field, "defaults.m4");
    }

    #[test]
    fn position_of_reads_any_quirk_as_written() {
        let q = Quirks::default();
        assert_eq!(position_of(&q, "hash_hex_case").as_deref(), Some("lower"));
        assert_eq!(position_of(&q, "json_body").as_deref(), Some("true"));
        assert_eq!(position_of(&q, "error_http_status").as_deref(), Some("200"));
        assert_eq!(position_of(&q, "nope"), None);
    }
}
