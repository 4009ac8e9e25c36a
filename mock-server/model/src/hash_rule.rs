//! The MOR hash rule as the X3 server code computes it, as data: one global ordered list of
//! parameter names with a value filter per name, the same for every method
//! ([`catalogue/mor-hash-rule.yaml`](../catalogue/mor-hash-rule.yaml), which cites the code it was
//! read from). The signer ([`crate::sign`]) uses it when the quirk `mor_hash_rule` is `global`.
//!
//! Every listed name that is present in the request and passes its filter is concatenated in the
//! list's order, then the secret. A value failing its filter is left out silently; integer fields
//! are hashed as integers (`002` -> `2`). Names not in the list (`u`, `p`, `hash`, `test`, ...)
//! are never hashed.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalogue::Product;
use crate::error::SourceError;

/// The embedded rule file, compiled in.
const EMBEDDED_PATH: &str = "catalogue/mor-hash-rule.yaml";
const EMBEDDED: &str = include_str!("../catalogue/mor-hash-rule.yaml");

/// What a listed parameter's value must look like to be hashed (X3 `mor_api.rb`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueFilter {
    /// All ASCII digits (empty allowed), hashed as the integer: leading zeros dropped, an empty
    /// value becomes `0` (Ruby `to_i`).
    Integer,
    /// All ASCII digits (empty allowed), hashed as sent.
    Digits,
    /// All ASCII digits or exactly `all`, hashed as sent.
    DigitsOrAll,
    /// Only these characters, hashed as sent.
    OnlyChars {
        /// The characters allowed.
        chars: String,
    },
    /// Exactly one of these words.
    OneOf {
        /// The words accepted.
        words: Vec<String>,
    },
    /// Some line of the value is `postpaid`, `prepaid`, `all` or one or more digits and commas
    /// (Ruby's `^` and `$` anchor lines, not the whole value).
    UsersPattern,
    /// Contains one of these strings anywhere (an unanchored match).
    ContainsAny {
        /// The strings looked for.
        parts: Vec<String>,
    },
    /// Never hashed (the order names it, but the code never collects it).
    Never,
}

fn all_digits(v: &str) -> bool {
    v.bytes().all(|b| b.is_ascii_digit())
}

impl ValueFilter {
    /// The value that enters the hash string, or `None` when the value fails the filter.
    pub fn apply<'v>(&self, value: &'v str) -> Option<Cow<'v, str>> {
        let pass = match self {
            ValueFilter::Integer => {
                if !all_digits(value) {
                    return None;
                }
                let trimmed = value.trim_start_matches('0');
                return Some(if trimmed.is_empty() {
                    Cow::Borrowed("0")
                } else {
                    Cow::Borrowed(trimmed)
                });
            }
            ValueFilter::Digits => all_digits(value),
            ValueFilter::DigitsOrAll => all_digits(value) || value == "all",
            ValueFilter::OnlyChars { chars } => value.chars().all(|c| chars.contains(c)),
            ValueFilter::OneOf { words } => words.iter().any(|w| w == value),
            ValueFilter::UsersPattern => value.split('\n').any(|line| {
                matches!(line, "postpaid" | "prepaid" | "all")
                    || (!line.is_empty() && line.bytes().all(|b| b.is_ascii_digit() || b == b','))
            }),
            ValueFilter::ContainsAny { parts } => parts.iter().any(|p| value.contains(p.as_str())),
            ValueFilter::Never => false,
        };
        pass.then_some(Cow::Borrowed(value))
    }

    /// What the filter requires, as a lowercase fragment (`must be all digits`).
    pub fn describe(&self) -> String {
        match self {
            ValueFilter::Integer => "must be all digits (hashed as an integer)".into(),
            ValueFilter::Digits => "must be all digits".into(),
            ValueFilter::DigitsOrAll => "must be all digits or `all`".into(),
            ValueFilter::OnlyChars { chars } => format!("may contain only `{chars}`"),
            ValueFilter::OneOf { words } => format!("must be one of {}", words.join(", ")),
            ValueFilter::UsersPattern => {
                "must be postpaid, prepaid, all or digits and commas".into()
            }
            ValueFilter::ContainsAny { parts } => format!("must contain {}", parts.join(" or ")),
            ValueFilter::Never => "is never hashed (the code never collects it)".into(),
        }
    }
}

/// The global hash rule of one product, as read from its rule file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalHashRule {
    /// Format version; 1.
    pub version: u32,
    /// The product whose server computes it.
    pub product: Product,
    /// Where the rule was read (repository, file, commit, lines).
    pub source: String,
    /// Names that are never hashed although requests carry them (not in the order).
    pub excluded: Vec<String>,
    /// The filter of each filtered name; a listed name without one is taken raw.
    #[serde(default)]
    pub filters: BTreeMap<String, ValueFilter>,
    /// The concatenation order.
    pub order: Vec<String>,
    /// Each listed name's position in `order` (built when the file is parsed), so a request's
    /// few parameters are placed without walking the whole list.
    #[serde(skip)]
    #[schemars(skip)]
    rank: HashMap<String, usize>,
}

impl GlobalHashRule {
    /// The MOR rule compiled into the binaries, parsed once.
    ///
    /// The embedded file is checked by the crate's tests, so a failure here is a build defect; it
    /// is reported with the file, line and field rather than panicking at an unwrap.
    pub fn embedded() -> &'static GlobalHashRule {
        static CELL: OnceLock<GlobalHashRule> = OnceLock::new();
        CELL.get_or_init(|| match Self::parse(EMBEDDED, Path::new(EMBEDDED_PATH)) {
            Ok(r) => r,
            Err(e) => panic!("embedded MOR hash rule is invalid (a build defect): {e}"),
        })
    }

    /// Parse and check a rule file: no name twice in the order, every filtered name in the order,
    /// no excluded name in it.
    pub fn parse(text: &str, path: &Path) -> Result<GlobalHashRule, SourceError> {
        let mut rule: GlobalHashRule = crate::yaml::from_str(text, path)?;
        let file = path.display().to_string();
        let mut seen = BTreeSet::new();
        for name in &rule.order {
            if !seen.insert(name.as_str()) {
                return Err(SourceError::new(
                    &file,
                    1,
                    "order",
                    format!("`{name}` is listed twice"),
                ));
            }
        }
        for name in rule.filters.keys() {
            if !seen.contains(name.as_str()) {
                return Err(SourceError::new(
                    &file,
                    1,
                    "filters",
                    format!("`{name}` has a filter but is not in the order"),
                ));
            }
        }
        for name in &rule.excluded {
            if seen.contains(name.as_str()) {
                return Err(SourceError::new(
                    &file,
                    1,
                    "excluded",
                    format!("`{name}` is excluded but listed in the order"),
                ));
            }
        }
        rule.rank = rule
            .order
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Ok(rule)
    }

    /// The position of `name` in the order, if it is listed.
    pub fn rank(&self, name: &str) -> Option<usize> {
        self.rank.get(name).copied()
    }

    /// The filter of `name`, if it has one.
    pub fn filter(&self, name: &str) -> Option<&ValueFilter> {
        self.filters.get(name)
    }

    /// Whether `name` is in the order.
    pub fn lists(&self, name: &str) -> bool {
        self.rank.contains_key(name)
    }

    /// Whether `name` is excluded by name (`u`, `p`, `hash`, ...).
    pub fn excludes(&self, name: &str) -> bool {
        self.excluded.iter().any(|n| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_rule_parses_and_orders_user_id_first() {
        let r = GlobalHashRule::parse(EMBEDDED, Path::new(EMBEDDED_PATH)).unwrap();
        assert_eq!(r.product, Product::Mor);
        assert_eq!(r.order.first().map(String::as_str), Some("user_id"));
        assert_eq!(r.order.len(), 192);
        for name in [
            "u",
            "p",
            "hash",
            "test",
            "action",
            "controller",
            "s_amount_min",
        ] {
            assert!(!r.lists(name), "{name} must not be hashed");
        }
        let pos = |n: &str| r.order.iter().position(|x| x == n).unwrap();
        assert!(pos("user_id") < pos("tariff_id"));
        assert!(pos("name") < pos("id") && pos("id") < pos("currency"));
        assert!(pos("s_user") < pos("order_by") && pos("order_by") < pos("only_did"));
    }

    #[test]
    fn integer_fields_drop_leading_zeros_and_an_empty_value_is_zero() {
        let f = ValueFilter::Integer;
        assert_eq!(f.apply("002").as_deref(), Some("2"));
        assert_eq!(f.apply("000").as_deref(), Some("0"));
        assert_eq!(f.apply("").as_deref(), Some("0"));
        assert_eq!(
            f.apply("12345678901234567890123").as_deref(),
            Some("12345678901234567890123")
        );
        assert_eq!(f.apply("2a"), None);
        assert_eq!(f.apply("-2"), None);
        assert_eq!(f.apply("٣"), None, "only ASCII digits");
    }

    #[test]
    fn the_users_pattern_anchors_lines_as_ruby_does() {
        let f = ValueFilter::UsersPattern;
        assert!(f.apply("postpaid").is_some());
        assert!(f.apply("1,2,3").is_some());
        assert!(f.apply("x\nall").is_some());
        assert!(f.apply("postpaid ").is_none());
        assert!(f.apply("").is_none());
    }

    #[test]
    fn a_rule_naming_a_filter_outside_its_order_is_refused() {
        let text = "version: 1\nproduct: mor\nsource: t\nexcluded: [u]\nfilters: { x: { kind: digits } }\norder: [a]\n";
        let e = GlobalHashRule::parse(text, Path::new("t.yaml")).unwrap_err();
        assert!(e.to_string().contains("`x`"), "{e}");
        let twice = "version: 1\nproduct: mor\nsource: t\nexcluded: []\norder: [a, a]\n";
        assert!(GlobalHashRule::parse(twice, Path::new("t.yaml")).is_err());
    }
}
