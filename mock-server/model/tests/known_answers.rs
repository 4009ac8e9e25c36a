//! Known-answer tests: every worked example of the API fact sheet (API-REFERENCE.md) and of the
//! seed pages that states a hash string, reproduced by the signer from method + parameters +
//! secret alone. Digests were computed independently with `printf %s STRING | sha1sum`.

use model::catalogue::{Catalogue, Product};
use model::params::Params;
use model::sign::{plan, sha1_hex, verify, SignOptions, VerifyOptions};

struct Vector {
    product: Product,
    method: &'static str,
    variant: Option<&'static str>,
    params: &'static [(&'static str, &'static str)],
    admin: bool,
    secret: &'static str,
    string: &'static str,
    digest: &'static str,
}

const VECTORS: &[Vector] = &[
    // M2 aggregate_get page and M4 quickstats_get page: no hashed parameters, secret `secret`.
    Vector {
        product: Product::M4,
        method: "aggregate_get",
        variant: None,
        params: &[("u", "admin")],
        admin: true,
        secret: "secret",
        string: "secret",
        digest: "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4",
    },
    Vector {
        product: Product::Mor,
        method: "aggregate_get",
        variant: None,
        params: &[("u", "admin")],
        admin: true,
        secret: "secret",
        string: "secret",
        digest: "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4",
    },
    Vector {
        product: Product::M4,
        method: "quickstats_get",
        variant: None,
        params: &[("u", "admin")],
        admin: true,
        secret: "secret",
        string: "secret",
        digest: "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4",
    },
    // MOR user_calls_get (2013 seed): s_user=123, secret 456789.
    Vector {
        product: Product::Mor,
        method: "user_calls_get",
        variant: None,
        params: &[("u", "admin"), ("s_user", "123")],
        admin: true,
        secret: "456789",
        string: "123456789",
        digest: "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
    },
    Vector {
        product: Product::M4,
        method: "user_calls_get",
        variant: None,
        params: &[("u", "admin"), ("s_user", "123")],
        admin: true,
        secret: "456789",
        string: "123456789",
        digest: "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
    },
    // user_balance_update (M4 page): user_id 123, balance 100.
    Vector {
        product: Product::M4,
        method: "user_balance_update",
        variant: None,
        params: &[("u", "username"), ("user_id", "123"), ("balance", "100")],
        admin: true,
        secret: "456789",
        string: "123100456789",
        digest: "b1bef44691c237b574263e09b2838ad1e658e507",
    },
    Vector {
        product: Product::Mor,
        method: "user_balance_change",
        variant: None,
        params: &[("u", "admin"), ("user_id", "123"), ("balance", "100")],
        admin: true,
        secret: "456789",
        string: "123100456789",
        digest: "b1bef44691c237b574263e09b2838ad1e658e507",
    },
    // user_balance_get: username USERNAME, secret `secret` (the page prints another digest: MISMATCH).
    Vector {
        product: Product::M4,
        method: "user_balance_get",
        variant: None,
        params: &[("username", "USERNAME")],
        admin: true,
        secret: "secret",
        string: "USERNAMEsecret",
        digest: "092a5ce23f76cfe5c72802cfbc75542de437c94e",
    },
    // exchange_rate_update: AMD, 45.5, secret `secret`.
    Vector {
        product: Product::M4,
        method: "exchange_rate_update",
        variant: None,
        params: &[("u", "admin"), ("currency", "AMD"), ("rate", "45.5")],
        admin: true,
        secret: "secret",
        string: "AMD45.5secret",
        digest: "cd4e5e92a0fe326d6f5c1d40a7952bb4442e1b5d",
    },
    // devices_get: user_id 100.
    Vector {
        product: Product::M4,
        method: "devices_get",
        variant: None,
        params: &[("u", "admin"), ("user_id", "100")],
        admin: true,
        secret: "456789",
        string: "100456789",
        digest: "71516eea4850f7e0300ac86adf9fb64bca845aa7",
    },
    // device_details_get: device_id 5.
    Vector {
        product: Product::M4,
        method: "device_details_get",
        variant: None,
        params: &[("u", "admin"), ("device_id", "5")],
        admin: true,
        secret: "456789",
        string: "5456789",
        digest: "65fd575c441513bd114b84c7dbdb01e0f2716d27",
    },
    // MOR payment_create: all sent values in page order.
    Vector {
        product: Product::Mor,
        method: "payment_create",
        variant: None,
        params: &[
            ("u", "admin"),
            ("user_id", "123"),
            ("p_currency", "EUR"),
            ("paymenttype", "Myname"),
            ("tax_in_amount", "1"),
            ("amount", "100"),
            ("transaction", "2S5sdf77"),
            ("payer_email", "bla"),
        ],
        admin: true,
        secret: "456789",
        string: "123EURMyname11002S5sdf77bla456789",
        digest: "687a2cee0a61dee0bffa3bc8837e201a6a31af5d",
    },
    // M4 payment_create: user_id 2, amount 96, currency USD (the page's digest is copied from MOR).
    Vector {
        product: Product::M4,
        method: "payment_create",
        variant: None,
        params: &[
            ("u", "admin"),
            ("user_id", "2"),
            ("amount", "96"),
            ("currency", "USD"),
            ("amount_in_tax", "1"),
            ("exchange_rate", "0.111"),
            ("payment_to_provider", "1"),
            ("comment", "testest"),
        ],
        admin: true,
        secret: "456789",
        string: "296USD456789",
        digest: "b03b6daebfe471303e8f89b73881a22662ad25b6",
    },
    // payments_get: user_id_s (MOR s_user_id) 123.
    Vector {
        product: Product::M4,
        method: "payments_get",
        variant: None,
        params: &[("u", "username"), ("user_id_s", "123")],
        admin: true,
        secret: "456789",
        string: "123456789",
        digest: "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
    },
    Vector {
        product: Product::Mor,
        method: "payments_get",
        variant: None,
        params: &[("u", "username"), ("s_user_id", "123")],
        admin: true,
        secret: "456789",
        string: "123456789",
        digest: "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
    },
    // tariff_rates_get: M4 tariff_id 2; MOR X4 tariff_id 100; MOR rev 11930 user_id 123 + tariff_id 100.
    Vector {
        product: Product::M4,
        method: "get_tariff",
        variant: None,
        params: &[("u", "admin"), ("tariff_id", "2")],
        admin: true,
        secret: "456789",
        string: "2456789",
        digest: "d674ef6e3ceb3145e825709ac2233c710db15af8",
    },
    Vector {
        product: Product::Mor,
        method: "get_tariff",
        variant: None,
        params: &[("u", "admin"), ("p", "admin"), ("tariff_id", "100")],
        admin: true,
        secret: "456789",
        string: "100456789",
        digest: "71516eea4850f7e0300ac86adf9fb64bca845aa7",
    },
    Vector {
        product: Product::Mor,
        method: "tariff_rates_get",
        variant: Some("rev11930"),
        params: &[("u", "admin"), ("user_id", "123"), ("tariff_id", "100")],
        admin: true,
        secret: "456789",
        string: "123100456789",
        digest: "b1bef44691c237b574263e09b2838ad1e658e507",
    },
    // user_details_get: user_id 123; username; both (the page repeats one digest: MISMATCH).
    Vector {
        product: Product::M4,
        method: "user_details_get",
        variant: None,
        params: &[("u", "admin"), ("user_id", "123")],
        admin: true,
        secret: "456789",
        string: "123456789",
        digest: "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
    },
    Vector {
        product: Product::Mor,
        method: "user_details",
        variant: None,
        params: &[("u", "admin"), ("username", "username")],
        admin: true,
        secret: "456789",
        string: "username456789",
        digest: "17ab579bbc0618f886ffa513310439562dbe6a61",
    },
    Vector {
        product: Product::M4,
        method: "user_details_get",
        variant: None,
        params: &[("u", "admin"), ("username", "username"), ("user_id", "123")],
        admin: true,
        secret: "456789",
        string: "123username456789",
        digest: "d5b0cf9d3719b5c1fd926ede81c4da86463912f1",
    },
    // user_logout: secret alone; the example is consistent with a secret of 123456789 (INF).
    Vector {
        product: Product::M4,
        method: "logout",
        variant: None,
        params: &[("u", "username")],
        admin: false,
        secret: "123456789",
        string: "123456789",
        digest: "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
    },
];

#[test]
fn every_worked_example_reproduces_from_method_parameters_and_secret() {
    let cat = Catalogue::parse_embedded().expect("catalogue");
    for v in VECTORS {
        let m = cat
            .method(v.product, v.method)
            .unwrap_or_else(|| panic!("{}: {} missing", v.product, v.method));
        let params: Params = v.params.iter().copied().collect();
        let opts = SignOptions {
            variant: v.variant.map(str::to_string),
            ..SignOptions::default()
        };
        let p = plan(m, &params, v.admin, &opts);
        assert_eq!(p.string(v.secret), v.string, "{} {}", v.product, v.method);
        assert_eq!(p.digest(v.secret), v.digest, "{} {}", v.product, v.method);
        let vo = VerifyOptions {
            sign: opts,
            ..VerifyOptions::default()
        };
        assert!(verify(m, &params, Some(v.digest), v.secret, v.admin, &vo).is_ok());
    }
}

#[test]
fn the_generic_examples_of_the_hash_construction_page_reproduce() {
    // User 123, start 2009-09-09 00:03 UTC = 1252454580, calltype answered, key "Very Sercet Key".
    assert_eq!(
        sha1_hex("1231252454580answeredVery Sercet Key"),
        "b93c35d5c6183288322122561a3da7e09abb63b7"
    );
    // user-update example: "581" + "asdfghjkl" (no digest printed; computed).
    assert_eq!(
        sha1_hex("581asdfghjkl"),
        "b3b8a6f4063a0569212c91098627a9c394283bd6"
    );
}

#[test]
fn user_login_hashes_u_then_p() {
    let cat = Catalogue::parse_embedded().unwrap();
    let m = cat.method(Product::M4, "login").unwrap();
    let params: Params = [("u", "username"), ("p", "password")].into_iter().collect();
    let p = plan(m, &params, false, &SignOptions::default());
    assert_eq!(p.masked(), "usernamepassword<secret>");
}

#[test]
fn quickstats_hashes_u_for_a_simple_user() {
    let cat = Catalogue::parse_embedded().unwrap();
    let m = cat.method(Product::M4, "quickstats_get").unwrap();
    let params: Params = [("u", "alice")].into_iter().collect();
    let p = plan(m, &params, false, &SignOptions::default());
    assert_eq!(p.string("secret"), "alicesecret");
}
