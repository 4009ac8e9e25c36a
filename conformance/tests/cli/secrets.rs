//! Secrets out by construction (issue 12 item 1): for each API secret of a list (`secret`,
//! `user1` — the default world's password of user1 —, `<`, `&`, `"`, a one-character one and a
//! seeded random 40-character one), mocks on port 0 sign with it and one of them echoes it
//! back (escaped, URL-encoded and as its SHA-1 digest), then `run` (terminal, `--junit`,
//! `--json`, `--html`, `--record`), `props` (`--junit`, `--json`), `probe` (`--out`, `--json`)
//! and `diff` (`--json`) run against them. Every artifact must parse in its format, hold no
//! value made from the secret (the secret itself where it is long enough to be searched, its
//! escaped forms, its SHA-1 digest, any 40-hex digest), and still name user1 by its name.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::{run, start_mock, text};

/// Seed of the random 40-character secret (printed by the test).
const SEED: u64 = 0x5EC2_E75E_ED12;

/// The shortest secret searched for in text (`secret::MIN_SEARCHED` of the runner).
const MIN_SEARCHED: usize = 8;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mor-secrets-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// A random secret of 40 letters, digits and punctuation (splitmix64, seeded).
fn random_secret(seed: u64) -> String {
    const CHARS: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!*<>&\"' ";
    let mut x = seed;
    (0..40)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            CHARS[(z % CHARS.len() as u64) as usize] as char
        })
        .collect()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn sha1(s: &str) -> String {
    model::sign::sha1_hex(s)
}

/// The values that must appear in no artifact.
fn forbidden(secret: &str) -> Vec<String> {
    let mut out = vec![sha1(secret), sha1(secret).to_uppercase()];
    if secret.chars().count() >= MIN_SEARCHED {
        out.push(secret.to_string());
        out.push(xml_escape(secret));
        out.push(model::params::form_encode(secret));
    }
    out
}

/// The first run of exactly 40 hex digits (a digest) in a text.
fn digest_in(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_hexdigit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_hexdigit() {
                j += 1;
            }
            if j - i == 40 && (j == b.len() || !b[j].is_ascii_alphanumeric()) {
                return Some(t[i..j].to_string());
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

/// Well-formed XML (JUnit, HTML, a recording's body): every tag closed by its name, every
/// text and attribute value with valid escapes.
fn assert_xml(what: &str, t: &str) {
    let mut r = quick_xml::Reader::from_str(t);
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        let ev = r
            .read_event()
            .unwrap_or_else(|e| panic!("{what} is not well-formed XML: {e}\n{t}"));
        let attrs = |e: &quick_xml::events::BytesStart| {
            for a in e.attributes() {
                let a = a.unwrap_or_else(|e| panic!("{what}: bad attribute: {e}\n{t}"));
                quick_xml::escape::unescape(&String::from_utf8_lossy(&a.value))
                    .unwrap_or_else(|e| panic!("{what}: bad escape in an attribute: {e}\n{t}"));
            }
        };
        match ev {
            quick_xml::events::Event::Start(e) => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
                attrs(&e);
            }
            quick_xml::events::Event::Empty(e) => {
                if depth == 0 {
                    roots += 1;
                }
                attrs(&e);
            }
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Text(x) => {
                quick_xml::escape::unescape(&String::from_utf8_lossy(&x))
                    .unwrap_or_else(|e| panic!("{what}: bad escape in text: {e}\n{t}"));
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!((depth, roots), (0, 1), "{what}: one closed root\n{t}");
}

/// What every artifact must hold: none of the forbidden values, no digest, no control code.
fn assert_clean(what: &str, t: &str, forbidden: &[String]) {
    for f in forbidden {
        assert!(!t.contains(f.as_str()), "{what} holds `{f}`:\n{t}");
    }
    assert_eq!(digest_in(t), None, "{what} holds a digest:\n{t}");
    assert!(
        !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{what} holds a control code"
    );
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The runner's scenarios: each failing case shows the answer it got.
const CASES: &str = r#"version: 1
name: secrets fixture
products: [m4]
cases:
  - name: user1's details (fails on purpose, to show the answer)
    request: { method: user_details_get, params: { username: user1 } }
    expect: { xml: "<page><nothing/></page>" }
  - name: the balance of user1 (fails on purpose)
    request: { method: user_balance_get, params: { username: user1 } }
    expect: { values: { balance: "not a number" } }
  - name: quick stats of an echoing target (fails on purpose)
    request: { method: quickstats_get }
    expect: { xml: "<page><nothing/></page>" }
  - name: a wrong secret is refused
    kind: protocol
    request: { method: user_details_get, params: { username: user1 }, sign: wrong_secret }
    expect: { error: Incorrect hash, wrapper: status }
  - name: user1 logs in (fails on purpose, to show the password's place)
    request: { method: user_login, u: user1, params: { p: user1 } }
    expect: { error: never answered }
"#;

/// A mock scenario whose quick stats echo the secret: escaped, URL-encoded and digested, beside
/// user1's name.
fn echo(secret: &str) -> String {
    let body = format!(
        "<page><echo>{}</echo><url>{}</url><digest>{}</digest><who>user1</who></page>",
        xml_escape(secret),
        model::params::form_encode(secret),
        sha1(secret)
    );
    format!(
        "version: 1\noverlay:\n  responses:\n    - match: {{ method: quickstats_get }}\n      body: {}\n",
        serde_json::to_string(&body).unwrap()
    )
}

async fn cli(args: Vec<String>, secret: &str) -> Output {
    let secret = secret.to_string();
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&a, &[("MOR_SECRET", secret.as_str()), ("CI", "true")])
    })
    .await
    .expect("runner thread")
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

async fn check_secret(i: usize, secret: &str) {
    let dir = scratch(&format!("s{i}"));
    let p = |n: &str| dir.join(n).display().to_string();
    std::fs::write(dir.join("cases.yaml"), CASES).unwrap();
    let plain = start_mock(secret, None, None, &[]).await;
    let echoing = start_mock(secret, None, None, &[&echo(secret)]).await;
    let bad = forbidden(secret);
    let show = format!("secret #{i} {secret:?}");

    // run: terminal, JUnit, JSON, HTML and a recording, against the echoing target.
    let out = cli(
        s(&[
            "run",
            &p("cases.yaml"),
            "--target",
            &echoing.url(),
            "--seeded",
            "true",
            "--junit",
            &p("run.xml"),
            "--json",
            &p("run.json"),
            "--html",
            &p("run.html"),
            "--record",
            &p("rec"),
        ]),
        secret,
    )
    .await;
    let terminal = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{show}: {terminal}\n{}",
        text(&out.stderr)
    );
    assert_clean(&format!("{show}: run's terminal"), &terminal, &bad);
    assert_clean(&format!("{show}: run's stderr"), &text(&out.stderr), &bad);
    // Names and words stay as they are; passwords and digests are shown by their place.
    assert!(terminal.contains("user1's details"), "{show}: {terminal}");
    assert!(terminal.contains("<who>user1</who>"), "{show}: {terminal}");
    assert!(terminal.contains("username=user1"), "{show}: {terminal}");
    assert!(
        terminal.contains("p=<password>") || terminal.contains("$MOR_"),
        "{show}: {terminal}"
    );
    assert!(
        !terminal.contains("<secret>user1") && !terminal.contains("username=<"),
        "{show}: {terminal}"
    );
    let junit = read(&dir.join("run.xml"));
    assert_xml(&format!("{show}: JUnit"), &junit);
    assert_clean(&format!("{show}: JUnit"), &junit, &bad);
    assert!(junit.contains("user1"), "{show}: {junit}");
    let html = read(&dir.join("run.html"));
    assert_xml(&format!("{show}: HTML"), &html);
    assert_clean(&format!("{show}: HTML"), &html, &bad);
    let json = read(&dir.join("run.json"));
    let v: serde_json::Value = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{show}: run's JSON does not parse: {e}"));
    assert_clean(&format!("{show}: run's JSON"), &json, &bad);
    let details = v["outcomes"]
        .as_array()
        .and_then(|o| {
            o.iter().find(|o| {
                o["case"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("user1's details"))
            })
        })
        .unwrap_or_else(|| panic!("{show}: no outcome of user1's details: {json}"));
    assert!(
        details["actual"]
            .as_str()
            .is_some_and(|a| a.contains("<username>user1</username>")),
        "{show}: the answer names user1: {details}"
    );
    let recs = files(&dir.join("rec"));
    assert!(recs.len() >= 4, "{show}: {recs:?}");
    let mut named = false;
    for f in &recs {
        let t = read(f);
        let body: String = t
            .lines()
            .filter(|l| !l.starts_with("# "))
            .collect::<Vec<_>>()
            .join("\n");
        if body.trim_start().starts_with('<') {
            assert_xml(&format!("{show}: recording {}", f.display()), &body);
        }
        assert_clean(&format!("{show}: recording {}", f.display()), &t, &bad);
        named |= t.contains("<username>user1</username>");
    }
    assert!(named, "{show}: no recording names user1");

    // props: JUnit and JSON, a few cases of two methods.
    let out = cli(
        s(&[
            "props",
            "--target",
            &plain.url(),
            "--method",
            "user_details_get",
            "--method",
            "quickstats_get",
            "--cases",
            "4",
            "--seed",
            "7",
            "--regressions",
            &p("regressions.json"),
            "--junit",
            &p("props.xml"),
            "--json",
            &p("props.json"),
        ]),
        secret,
    )
    .await;
    let terminal = text(&out.stdout);
    assert!(
        matches!(out.status.code(), Some(0 | 4)),
        "{show}: props: {terminal}\n{}",
        text(&out.stderr)
    );
    assert_clean(&format!("{show}: props' terminal"), &terminal, &bad);
    assert!(!terminal.contains("wrong_<secret>"), "{show}: {terminal}");
    let junit = read(&dir.join("props.xml"));
    assert_xml(&format!("{show}: props' JUnit"), &junit);
    assert_clean(&format!("{show}: props' JUnit"), &junit, &bad);
    let json = read(&dir.join("props.json"));
    serde_json::from_str::<serde_json::Value>(&json)
        .unwrap_or_else(|e| panic!("{show}: props' JSON does not parse: {e}"));
    assert_clean(&format!("{show}: props' JSON"), &json, &bad);

    // probe: the profile (YAML) and its JSON with every observation.
    let out = cli(
        s(&[
            "probe",
            "--target",
            &plain.url(),
            "--rate",
            "100000",
            "--out",
            &p("profile.yaml"),
            "--json",
            &p("profile.json"),
        ]),
        secret,
    )
    .await;
    let terminal = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{show}: probe: {terminal}\n{}",
        text(&out.stderr)
    );
    assert_clean(&format!("{show}: probe's terminal"), &terminal, &bad);
    let yaml = read(&dir.join("profile.yaml"));
    serde_yaml::from_str::<serde_yaml::Value>(&yaml)
        .unwrap_or_else(|e| panic!("{show}: the profile does not parse: {e}"));
    assert_clean(&format!("{show}: the profile"), &yaml, &bad);
    assert!(yaml.contains("user_secret"), "{show}: {yaml}");
    assert!(!yaml.contains("user_<secret>"), "{show}: {yaml}");
    let json = read(&dir.join("profile.json"));
    serde_json::from_str::<serde_json::Value>(&json)
        .unwrap_or_else(|e| panic!("{show}: probe's JSON does not parse: {e}"));
    assert_clean(&format!("{show}: probe's JSON"), &json, &bad);

    // diff: the plain mock against the echoing one.
    let out = cli(
        s(&[
            "diff",
            &p("cases.yaml"),
            "--baseline",
            &plain.url(),
            "--candidate",
            &echoing.url(),
            "--rate",
            "100000",
            "--json",
            &p("diff.json"),
        ]),
        secret,
    )
    .await;
    let terminal = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{show}: diff: {terminal}\n{}",
        text(&out.stderr)
    );
    assert_clean(&format!("{show}: diff's terminal"), &terminal, &bad);
    assert!(terminal.contains("user1"), "{show}: {terminal}");
    let json = read(&dir.join("diff.json"));
    serde_json::from_str::<serde_json::Value>(&json)
        .unwrap_or_else(|e| panic!("{show}: diff's JSON does not parse: {e}"));
    assert_clean(&format!("{show}: diff's JSON"), &json, &bad);
    assert!(json.contains("user1"), "{show}: {json}");

    plain.shutdown().await;
    echoing.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_artifact_holds_a_secret_and_every_one_parses_whatever_the_secret() {
    let random = random_secret(SEED);
    println!("random 40-character secret from seed {SEED:#x}");
    let secrets = ["secret", "user1", "<", "&", "\"", "z", random.as_str()];
    for (i, secret) in secrets.iter().enumerate() {
        check_secret(i, secret).await;
    }
}
