//! `mor-conformance hash` reproduces the worked examples of the documentation from method,
//! parameters and secret alone, never printing the secret.

use crate::run;

fn digest_of(product: &str, method: &str, secret: &str, params: &[&str]) -> (String, String) {
    let mut args = vec![
        "hash",
        "--product",
        product,
        "--method",
        method,
        "--secret-env",
        "MOR_TEST_SECRET",
    ];
    args.extend_from_slice(params);
    let out = run(&args, &[("MOR_TEST_SECRET", secret)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap_or_default().to_string();
    (stdout, last)
}

#[test]
fn reproduces_the_worked_examples_without_being_told_the_hash_string() {
    let cases: &[(&str, &str, &str, &[&str], &str)] = &[
        (
            "m4",
            "quickstats_get",
            "secret",
            &["u=admin"],
            "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4",
        ),
        (
            "m2",
            "aggregate_get",
            "secret",
            &["u=admin"],
            "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4",
        ),
        (
            "mor",
            "user_calls",
            "456789",
            &["u=admin", "s_user=123"],
            "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
        ),
        (
            "m4",
            "user_balance_update",
            "456789",
            &["u=username", "user_id=123", "balance=100"],
            "b1bef44691c237b574263e09b2838ad1e658e507",
        ),
        (
            "m4",
            "exchange_rate_update",
            "secret",
            &["u=admin", "currency=AMD", "rate=45.5"],
            "cd4e5e92a0fe326d6f5c1d40a7952bb4442e1b5d",
        ),
        (
            "m4",
            "devices_get",
            "456789",
            &["u=admin", "user_id=100"],
            "71516eea4850f7e0300ac86adf9fb64bca845aa7",
        ),
        (
            "m4",
            "device_details_get",
            "456789",
            &["u=admin", "device_id=5"],
            "65fd575c441513bd114b84c7dbdb01e0f2716d27",
        ),
        (
            "m4",
            "get_tariff",
            "456789",
            &["u=admin", "tariff_id=2"],
            "d674ef6e3ceb3145e825709ac2233c710db15af8",
        ),
        (
            "mor",
            "payment_create",
            "456789",
            &[
                "u=admin",
                "user_id=123",
                "p_currency=EUR",
                "paymenttype=Myname",
                "tax_in_amount=1",
                "amount=100",
                "transaction=2S5sdf77",
                "payer_email=bla",
            ],
            "687a2cee0a61dee0bffa3bc8837e201a6a31af5d",
        ),
        (
            "m4",
            "payments_get",
            "456789",
            &["u=username", "user_id_s=123"],
            "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
        ),
        (
            "m4",
            "user_details_get",
            "456789",
            &["u=admin", "username=username", "user_id=123"],
            "d5b0cf9d3719b5c1fd926ede81c4da86463912f1",
        ),
    ];
    for (product, method, secret, params, digest) in cases {
        let (stdout, last) = digest_of(product, method, secret, params);
        assert_eq!(&last, digest, "{product} {method}");
        assert!(
            !stdout.replace("<secret>", "").contains(secret),
            "{product} {method}: secret printed:\n{stdout}"
        );
    }
}

#[test]
fn prints_the_masked_hash_string_and_order_before_the_digest() {
    let (stdout, _) = digest_of(
        "m4",
        "user_balance_update",
        "456789",
        &["balance=100", "user_id=123"],
    );
    assert!(stdout.contains("hash string: 123100<secret>"), "{stdout}");
    assert!(stdout.contains("order: [user_id, balance]"), "{stdout}");
}

#[test]
fn hashes_u_for_a_simple_user_on_quickstats() {
    let (stdout, last) = digest_of("m4", "quickstats_get", "secret", &["u=alice"]);
    assert!(stdout.contains("hash string: alice<secret>"), "{stdout}");
    assert_eq!(last.len(), 40);
}

#[test]
fn exits_with_usage_for_an_unknown_method_or_a_missing_secret() {
    let out = run(
        &[
            "hash",
            "--product",
            "m4",
            "--method",
            "nope",
            "--secret-env",
            "X",
        ],
        &[("X", "k")],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = run(
        &[
            "hash",
            "--product",
            "m4",
            "--method",
            "quickstats_get",
            "--secret-env",
            "MOR_UNSET_VAR",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MOR_UNSET_VAR"));
}

#[test]
fn refuses_unknown_and_missing_parameters_unless_forced() {
    let base = [
        "hash",
        "--product",
        "m4",
        "--method",
        "user_balance_update",
        "--secret-env",
        "X",
    ];
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        run(&a, &[("X", "456789")])
    };
    let out = with(&["user_id=123", "balanse=100"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("does not take balanse"), "{err}");
    let out = with(&["user_id=123"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("needs balance"), "{err}");
    let out = with(&["--force", "user_id=123", "balanse=100"]);
    assert!(out.status.success());
}

#[test]
fn methods_lists_every_method_parameter_and_error_of_the_catalogue() {
    use model::catalogue::{Catalogue, Product};
    for p in Product::ALL {
        let out = run(&["methods", "--product", p.as_str()], &[]);
        assert!(out.status.success());
        let list = String::from_utf8_lossy(&out.stdout).to_string();
        for m in Catalogue::embedded().product(p).methods() {
            assert!(list.contains(&format!("  {} ", m.name)), "{p} {}", m.name);
            let out = run(&["methods", &m.name, "--product", p.as_str()], &[]);
            let full = String::from_utf8_lossy(&out.stdout).to_string();
            for param in &m.params {
                assert!(
                    full.contains(&format!("    {} ", param.name)),
                    "{p} {} {}",
                    m.name,
                    param.name
                );
            }
            for e in &m.errors {
                assert!(full.contains(&e.text), "{p} {} {}", m.name, e.text);
            }
            for a in &m.aliases {
                assert!(full.contains(a.as_str()), "{p} {} {a}", m.name);
            }
        }
    }
    let out = run(&["methods", "no_such_method"], &[]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_global_rule_signs_as_the_x3_code_and_says_what_it_left_out() {
    // Hand-derived (model tests/known_answers.rs): user_id before tariff_id, "25" + "S".
    let (out, last) = digest_of(
        "mor",
        "tariff_rates_get",
        "S",
        &["--rule", "global", "tariff_id=5", "user_id=2"],
    );
    assert_eq!(last, "b731d205f314c0fe36f38f2bea2dfb429812d256", "{out}");
    assert!(out.contains("order: [user_id, tariff_id]"), "{out}");
    // user_id 002 hashed as 2, s_user=all left out, u never hashed: "2" + "S".
    let (out, last) = digest_of(
        "mor",
        "user_calls_get",
        "S",
        &[
            "--rule",
            "global",
            "--force",
            "u=admin",
            "user_id=002",
            "s_user=all",
        ],
    );
    assert_eq!(last, "e26d0bead36f5c5cbbf8e598d49eaf16c87c1370", "{out}");
    assert!(out.contains("s_user (must be all digits)"), "{out}");
    assert!(out.contains("u (never hashed)"), "{out}");
    assert!(out.contains(r#"as integers: user_id "002""#), "{out}");
    // The default stays the method's own list: tariff_id first.
    let (_, last) = digest_of(
        "mor",
        "tariff_rates_get",
        "S",
        &["tariff_id=5", "user_id=2"],
    );
    assert_eq!(last, "b3974fdada9b840b8d5616f3aa7a3b05ef10286f");
}

#[test]
fn the_global_rule_is_refused_for_m4() {
    let out = run(
        &[
            "hash",
            "--product",
            "m4",
            "--method",
            "tariff_rates_get",
            "--secret-env",
            "MOR_TEST_SECRET",
            "--rule",
            "global",
            "tariff_id=5",
        ],
        &[("MOR_TEST_SECRET", "S")],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--rule global is MOR's"), "{err}");
}
