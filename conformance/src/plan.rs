//! Stage 1 of `run`: load scenario files, validate them, and select the cases to run.
//!
//! Files are loaded through [`model::scenario::load`]; the first invalid file stops the run with
//! `file:line: field: message` (exit 2). Selection narrows by product, method (canonical name or
//! alias), tag and partition. Partitioning is nextest's *count* partitioning: the selected cases
//! are sorted by file then case index, numbered from 0, and shard `k/n` takes those whose number
//! `i` satisfies `i % n == k - 1`, so every case lands in exactly one shard whatever the machine.
//!
//! Policy probes ([`policy_probes`]) are built-in cases for what a production deployment must
//! have; they are planned like any other case under the pseudo file `<policy>`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use model::catalogue::{Catalogue, HttpVerb, Product};
use model::scenario::{
    Case, CheckKind, Encoding, Expect, LoadedScenario, ParamList, Request, Scenario, Signing,
};
use thiserror::Error;

use crate::exit::Failure;

/// Why a plan could not be made.
#[derive(Debug, Error)]
pub enum PlanError {
    /// The command line named something that does not exist or makes no sense (exit 1).
    #[error("{0}")]
    Usage(String),
    /// A scenario file is invalid (exit 2); the message starts with `file:line:`.
    #[error("{0}")]
    Invalid(String),
}

impl From<PlanError> for Failure {
    fn from(e: PlanError) -> Failure {
        match e {
            PlanError::Usage(m) => Failure::usage(m),
            PlanError::Invalid(m) => Failure::invalid(m),
        }
    }
}

/// The embedded catalogue, with the methods of an extra catalogue file (`--catalogue`) added or
/// overridden; a bad file is invalid (exit 2).
pub fn catalogue(extra: Option<&Path>) -> Result<Catalogue, Failure> {
    let embedded = Catalogue::embedded().clone();
    match extra {
        Some(f) => embedded
            .with_file(f)
            .map_err(|e| Failure::invalid(e.to_string())),
        None => Ok(embedded),
    }
}

/// `--partition k/n`: shard `k` (1-based) of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// This shard, 1..=n.
    pub k: usize,
    /// Number of shards.
    pub n: usize,
}

impl FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.strip_prefix("count:").unwrap_or(s);
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("partition `{s}` is not k/n"))?;
        let k: usize = k
            .trim()
            .parse()
            .map_err(|_| format!("partition `{s}`: k is not a number"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("partition `{s}`: n is not a number"))?;
        if n == 0 || k == 0 || k > n {
            return Err(format!("partition `{s}`: need 1 <= k <= n"));
        }
        Ok(Partition { k, n })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only cases for this product (a run covers one product).
    pub product: Option<Product>,
    /// Only cases calling one of these methods (canonical names or aliases).
    pub methods: Vec<String>,
    /// Only cases carrying one of these tags (the case's or its scenario's).
    pub tags: Vec<String>,
    /// Only this shard.
    pub partition: Option<Partition>,
}

/// A built-in probe: an expectation the scenario format cannot state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The answer must not be a working API answer (a path outside `/billing/api/`).
    NotAnApiAnswer,
}

/// One case selected to run.
#[derive(Debug, Clone)]
pub struct PlannedCase {
    /// The scenario file (as named on the command line).
    pub file: String,
    /// The case's index in its file.
    pub index: usize,
    /// The 1-based line of the case in its file.
    pub line: usize,
    /// The case.
    pub case: Case,
    /// For policy probes: the extra expectation.
    pub probe: Option<Probe>,
}

/// A scenario with the cases selected from it.
#[derive(Debug, Clone)]
pub struct PlannedScenario {
    /// The loaded file.
    pub loaded: LoadedScenario,
    /// The selected cases, in file order.
    pub cases: Vec<PlannedCase>,
}

/// The whole plan, sorted by file then case index.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The product the run covers.
    pub product: Product,
    /// Scenarios with at least one selected case.
    pub scenarios: Vec<PlannedScenario>,
}

impl Plan {
    /// Every planned case, in order.
    pub fn cases(&self) -> impl Iterator<Item = &PlannedCase> {
        self.scenarios.iter().flat_map(|s| s.cases.iter())
    }

    /// Number of planned cases.
    pub fn len(&self) -> usize {
        self.scenarios.iter().map(|s| s.cases.len()).sum()
    }

    /// Whether nothing is planned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every `.yaml`/`.yml` file under `paths` (files as given, directories recursively), sorted and
/// deduplicated. A path that does not exist is a usage error.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, PlanError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out).map_err(|e| PlanError::Usage(format!("{}: {e}", p.display())))?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(PlanError::Usage(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

/// Load and validate every file; the first invalid one is the error.
pub fn load(files: &[PathBuf], catalogue: &Catalogue) -> Result<Vec<LoadedScenario>, PlanError> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let loaded =
            model::scenario::load(f, catalogue).map_err(|e| PlanError::Invalid(e.to_string()))?;
        validate_expectations(&loaded)?;
        out.push(loaded);
    }
    Ok(out)
}

/// Expected XML in a scenario must be well-formed: a defect of the file, found before sending.
fn validate_expectations(s: &LoadedScenario) -> Result<(), PlanError> {
    for (i, c) in s.scenario.cases.iter().enumerate() {
        let line = s.case_lines.get(i).copied().unwrap_or(1);
        let bad = |field: &str, e: model::xml::XmlError| {
            PlanError::Invalid(format!("{}:{line}: cases[{i}].expect.{field}: {e}", s.path))
        };
        if let Some(x) = &c.expect.xml {
            model::xml::parse(x).map_err(|e| bad("xml", e))?;
        }
        if let Some(x) = c.expect.structure.as_deref().filter(|x| *x != "sample") {
            model::xml::parse(x).map_err(|e| bad("structure", e))?;
        }
    }
    Ok(())
}

/// The product a run covers when neither the flag nor the target file names one.
pub const DEFAULT_PRODUCT: Product = Product::M4;

/// Select the cases to run, sorted by file then index, then partitioned.
pub fn select(scenarios: Vec<LoadedScenario>, sel: &Selection, catalogue: &Catalogue) -> Plan {
    let product = sel.product.unwrap_or(DEFAULT_PRODUCT);
    let mut scenarios = scenarios;
    scenarios.sort_by(|a, b| a.path.cmp(&b.path));
    let mut planned = Vec::new();
    let mut counter = 0usize;
    for loaded in scenarios {
        let mut cases = Vec::new();
        for (i, case) in loaded.scenario.cases.iter().enumerate() {
            if !case.applies_to(&loaded.scenario, product) {
                continue;
            }
            if !sel.methods.is_empty() && !method_selected(case, &sel.methods, product, catalogue) {
                continue;
            }
            if !sel.tags.is_empty()
                && !sel
                    .tags
                    .iter()
                    .any(|t| case.tags.contains(t) || loaded.scenario.tags.contains(t))
            {
                continue;
            }
            let n = counter;
            counter += 1;
            if let Some(p) = sel.partition {
                if n % p.n != p.k - 1 {
                    continue;
                }
            }
            cases.push(PlannedCase {
                file: loaded.path.clone(),
                index: i,
                line: loaded.case_lines.get(i).copied().unwrap_or(1),
                case: case.clone(),
                probe: None,
            });
        }
        if !cases.is_empty() {
            planned.push(PlannedScenario { loaded, cases });
        }
    }
    Plan {
        product,
        scenarios: planned,
    }
}

fn method_selected(case: &Case, wanted: &[String], product: Product, cat: &Catalogue) -> bool {
    let sent = &case.request.method;
    let canonical = cat.method(product, sent).map(|m| m.name.as_str());
    wanted.iter().any(|w| {
        w == sent || Some(w.as_str()) == canonical || {
            let wc = cat.method(product, w).map(|m| m.name.as_str());
            wc.is_some() && wc == canonical
        }
    })
}

/// What a production deployment must have (`--policy production` or the target file's
/// `policy` block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// GET requests are refused (`GET Requests are disabled`).
    pub require_get_disabled: bool,
    /// A wrong hash is refused (`Incorrect hash`).
    pub require_hash_check: bool,
    /// The API answers only under `/billing/api/`.
    pub api_only_under_billing_api: bool,
}

impl Policy {
    /// Every requirement on.
    pub fn production() -> Policy {
        Policy {
            require_get_disabled: true,
            require_hash_check: true,
            api_only_under_billing_api: true,
        }
    }

    /// Whether any requirement is on.
    pub fn any(&self) -> bool {
        self.require_get_disabled || self.require_hash_check || self.api_only_under_billing_api
    }
}

/// The pseudo file name policy probes are reported under.
pub const POLICY_FILE: &str = "<policy>";

/// The built-in policy probes as a planned scenario (None when the policy asks for nothing).
///
/// Each probe calls `quickstats_get` as the admin, a read that exists in both products:
/// with GET (expects `GET Requests are disabled`), with a corrupted digest (expects
/// `Incorrect hash`), and at `/api/quickstats_get` and `/quickstats_get` outside `/billing/api/`
/// (expects anything but a working API answer).
pub fn policy_probes(
    policy: &Policy,
    product: Product,
    catalogue: &Catalogue,
) -> Option<PlannedScenario> {
    if !policy.any() {
        return None;
    }
    let general = &catalogue.product(product).general;
    let method = "quickstats_get";
    let req = |http: HttpVerb, sign: Signing, path: Option<&str>| Request {
        method: method.into(),
        caller: "admin".into(),
        u: None,
        params: ParamList::default(),
        http: Some(http),
        encoding: Encoding::Query,
        sign,
        path: path.map(str::to_string),
    };
    let case = |name: &str, request: Request, expect: Expect| Case {
        name: name.into(),
        description: String::new(),
        kind: CheckKind::Policy,
        products: Vec::new(),
        tags: vec!["policy".into()],
        request,
        expect,
        snapshot: false,
        quirk: None,
        positions: Default::default(),
    };
    let mut cases = Vec::new();
    if policy.require_get_disabled {
        cases.push((
            case(
                "policy: GET requests are disabled",
                req(HttpVerb::Get, Signing::Auto, None),
                Expect {
                    error: Some(general.get_disabled.text.clone()),
                    ..Expect::default()
                },
            ),
            None,
        ));
    }
    if policy.require_hash_check {
        cases.push((
            case(
                "policy: hash checking is on",
                req(HttpVerb::Post, Signing::Corrupt, None),
                Expect {
                    error: Some(general.incorrect_hash.text.clone()),
                    ..Expect::default()
                },
            ),
            None,
        ));
    }
    if policy.api_only_under_billing_api {
        for path in ["/api/quickstats_get", "/quickstats_get"] {
            cases.push((
                case(
                    &format!("policy: the API does not answer at {path}"),
                    req(HttpVerb::Post, Signing::Auto, Some(path)),
                    Expect::default(),
                ),
                Some(Probe::NotAnApiAnswer),
            ));
        }
    }
    let scenario = Scenario {
        version: 1,
        name: Some("policy".into()),
        description: "built-in policy probes".into(),
        products: Vec::new(),
        tags: vec!["policy".into()],
        clock: None,
        world: None,
        settings: None,
        quirks: None,
        overlay: None,
        cases: cases.iter().map(|(c, _)| c.clone()).collect(),
    };
    let loaded = LoadedScenario {
        path: POLICY_FILE.into(),
        scenario,
        case_lines: vec![1; cases.len()],
    };
    let cases = cases
        .into_iter()
        .enumerate()
        .map(|(i, (case, probe))| PlannedCase {
            file: POLICY_FILE.into(),
            index: i,
            line: 1,
            case,
            probe,
        })
        .collect();
    Some(PlannedScenario { loaded, cases })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(path: &str, text: &str) -> LoadedScenario {
        model::scenario::load_str(text, Path::new(path), Catalogue::embedded()).unwrap()
    }

    const TWO: &str = "version: 1\ncases:\n  - name: a\n    request: { method: quickstats_get }\n  - name: b\n    tags: [t]\n    request: { method: user_calls }\n";

    #[test]
    fn partitions_are_disjoint_and_cover_every_case() {
        let all = || vec![scenario("b.yaml", TWO), scenario("a.yaml", TWO)];
        let full = select(all(), &Selection::default(), Catalogue::embedded());
        assert_eq!(full.len(), 4);
        assert_eq!(full.scenarios[0].loaded.path, "a.yaml");
        let mut seen = Vec::new();
        for k in 1..=3 {
            let sel = Selection {
                partition: Some(Partition { k, n: 3 }),
                ..Selection::default()
            };
            for c in select(all(), &sel, Catalogue::embedded()).cases() {
                seen.push((c.file.clone(), c.index));
            }
        }
        seen.sort();
        assert_eq!(
            seen,
            vec![
                ("a.yaml".into(), 0),
                ("a.yaml".into(), 1),
                ("b.yaml".into(), 0),
                ("b.yaml".into(), 1)
            ]
        );
    }

    #[test]
    fn selects_by_canonical_method_name_and_by_tag() {
        let sel = Selection {
            methods: vec!["user_calls_get".into()],
            ..Selection::default()
        };
        let p = select(vec![scenario("a.yaml", TWO)], &sel, Catalogue::embedded());
        assert_eq!(
            p.cases().map(|c| c.case.name.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        let sel = Selection {
            tags: vec!["t".into()],
            ..Selection::default()
        };
        assert_eq!(
            select(vec![scenario("a.yaml", TWO)], &sel, Catalogue::embedded()).len(),
            1
        );
    }

    #[test]
    fn a_bad_partition_is_refused() {
        assert!("0/3".parse::<Partition>().is_err());
        assert!("4/3".parse::<Partition>().is_err());
        assert!("x".parse::<Partition>().is_err());
        assert_eq!(
            "2/3".parse::<Partition>().unwrap(),
            Partition { k: 2, n: 3 }
        );
    }

    #[test]
    fn malformed_expected_xml_is_an_invalid_scenario_with_its_line() {
        let text = "version: 1\ncases:\n  - name: a\n    request: { method: quickstats_get }\n    expect: { xml: \"<page><a></page>\" }\n";
        let dir = std::env::temp_dir().join(format!("plan-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bad.yaml");
        std::fs::write(&f, text).unwrap();
        let e = load(&[f], Catalogue::embedded()).unwrap_err().to_string();
        assert!(e.contains("bad.yaml:3: cases[0].expect.xml:"), "{e}");
    }
}
