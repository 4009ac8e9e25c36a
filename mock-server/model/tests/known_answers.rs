//! Known-answer tests: every worked example of the API fact sheet (API-REFERENCE.md) and of the
//! seed pages that states a hash string, reproduced by the signer from method + parameters +
//! secret alone, and the MOR global hash rule (X3 code) on vectors derived by hand from the rule.
//! Digests were computed independently with `printf %s STRING | sha1sum`.

use model::catalogue::{Catalogue, Product};
use model::params::Params;
use model::quirks::MorHashRule;
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

/// A known answer of the MOR global hash rule (quirk `mor_hash_rule: global`), derived by hand
/// from the rule as the X3 code states it (`catalogue/mor-hash-rule.yaml`: one ordered list of
/// names, a value filter per name, integers normalised, `u`/`p`/`hash`/`test` never hashed),
/// never from the signer. Digests: `printf %s STRING | sha1sum`.
struct GlobalVector {
    method: &'static str,
    params: &'static [(&'static str, &'static str)],
    secret: &'static str,
    string: &'static str,
    digest: &'static str,
    /// Whether the method's own list (per-method rule) gives another hash string.
    differs: bool,
}

const GLOBAL_VECTORS: &[GlobalVector] = &[
    // user_id comes first in the global order, so before tariff_id (the catalogue is reversed).
    GlobalVector {
        method: "tariff_rates_get",
        params: &[("tariff_id", "5"), ("user_id", "2")],
        secret: "S",
        string: "25S",
        digest: "b731d205f314c0fe36f38f2bea2dfb429812d256",
        differs: true,
    },
    // name, then id, then currency (the catalogue hashes id, name, currency).
    GlobalVector {
        method: "tariff_wholesale_update",
        params: &[("id", "7"), ("name", "N"), ("currency", "EUR")],
        secret: "S",
        string: "N7EURS",
        digest: "34ff15f449b1c0eb79b243d1b71517e593d2b8be",
        differs: true,
    },
    // order_by is hashed whatever the method (the MOR user_calls_get list lacks it).
    GlobalVector {
        method: "user_calls_get",
        params: &[("s_user", "2"), ("order_by", "time"), ("order_desc", "1")],
        secret: "S",
        string: "2time1S",
        digest: "7b4c56f77a5700546bd2c002e781fe430d7a092a",
        differs: true,
    },
    // s_user=all fails "all digits" and is left out; period_start 0100 is the integer 100;
    // s_device=all passes "digits or all".
    GlobalVector {
        method: "user_calls_get",
        params: &[
            ("s_user", "all"),
            ("s_device", "all"),
            ("s_call_type", "answered"),
            ("period_start", "0100"),
        ],
        secret: "S",
        string: "100answeredallS",
        digest: "e748c9f904939648c3422902017b536bea1a7212",
        differs: true,
    },
    // description and fee are hashed in payment_create although its page does not list them.
    GlobalVector {
        method: "payment_create",
        params: &[
            ("user_id", "2"),
            ("p_currency", "USD"),
            ("amount", "5"),
            ("description", "D"),
            ("fee", "1"),
        ],
        secret: "S",
        string: "2DUSD51S",
        digest: "2cf2d873afaac408b21380eb9cdc2c9d33be3a6f",
        differs: true,
    },
    // Any listed name counts, whatever the method: p_currency in payments_get.
    GlobalVector {
        method: "payments_get",
        params: &[("s_user_id", "2"), ("p_currency", "USD")],
        secret: "S",
        string: "2USDS",
        digest: "59e24c946a54b2469f274ba47b74bca46644d113",
        differs: true,
    },
    // s_amount_min is not in the global list: never hashed.
    GlobalVector {
        method: "payments_get",
        params: &[("s_user_id", "2"), ("s_amount_min", "3")],
        secret: "S",
        string: "2S",
        digest: "e26d0bead36f5c5cbbf8e598d49eaf16c87c1370",
        differs: true,
    },
    // user_id 002 is the integer 2; balance +5 passes "only 0-9 . - +" and is kept as sent.
    GlobalVector {
        method: "user_balance_update",
        params: &[("user_id", "002"), ("balance", "+5")],
        secret: "S",
        string: "2+5S",
        digest: "145e0891820dd890bca945e0931e5f5b771cfe3d",
        differs: true,
    },
    // A non-numeric user_id is left out.
    GlobalVector {
        method: "user_balance_update",
        params: &[("user_id", "abc"), ("balance", "10")],
        secret: "S",
        string: "10S",
        digest: "a252f36c674b9f4b1921a56959f2bfc4bddc01a8",
        differs: true,
    },
    // A non-numeric balance is left out.
    GlobalVector {
        method: "user_balance_update",
        params: &[("user_id", "7"), ("balance", "abc")],
        secret: "S",
        string: "7S",
        digest: "32f76151195402f125afc8817b83c89dcda61c7e",
        differs: true,
    },
    // An empty user_id is all digits (none) and is the integer 0.
    GlobalVector {
        method: "user_balance_update",
        params: &[("user_id", ""), ("balance", "1")],
        secret: "S",
        string: "01S",
        digest: "9dab3927b9fac37a6293d9023531a6812209504b",
        differs: true,
    },
    // An exponent is not among "0-9 . - +": the balance is left out.
    GlobalVector {
        method: "user_balance_update",
        params: &[("user_id", "4"), ("balance", "-1.5e3")],
        secret: "S",
        string: "4S",
        digest: "5c6bdd4feea3d66ccae286465f9bc5d11968bf3d",
        differs: true,
    },
    // A repeated parameter counts once, with its last value (Rails).
    GlobalVector {
        method: "user_balance_update",
        params: &[("user_id", "1"), ("user_id", "2"), ("balance", "3")],
        secret: "S",
        string: "23S",
        digest: "a6040855723b750e91fb50273b9d4c5635f8652e",
        differs: false,
    },
    // u, p and test are never hashed; 0003 is the integer 3.
    GlobalVector {
        method: "devices_get",
        params: &[
            ("u", "admin"),
            ("p", "admin"),
            ("user_id", "0003"),
            ("test", "1"),
        ],
        secret: "S",
        string: "3S",
        digest: "04f17d13515c7ae9d67ad92357ea652d554bb0ca",
        differs: true,
    },
    // Where the orders agree, so do the rules.
    GlobalVector {
        method: "user_details_get",
        params: &[("username", "user1"), ("user_id", "1")],
        secret: "S",
        string: "1user1S",
        digest: "d623f1b2fcf60ebc947474e5e2adccdbb50428ed",
        differs: false,
    },
    GlobalVector {
        method: "user_balance_get",
        params: &[("currency", "EUR"), ("username", "user1")],
        secret: "S",
        string: "user1EURS",
        digest: "01bb2d6321b94ac120c5e95cf3186bf4c4b695b5",
        differs: false,
    },
    // rate is not in the global list.
    GlobalVector {
        method: "exchange_rate_update",
        params: &[("currency", "AMD"), ("rate", "45.5")],
        secret: "S",
        string: "AMDS",
        digest: "2b672b33144e2d51d9c4d8bc207ba8da6438a50d",
        differs: true,
    },
    // quickstats_get: u is never hashed, even for a simple user (the catalogue hashes it).
    GlobalVector {
        method: "quickstats_get",
        params: &[("u", "user1")],
        secret: "secret",
        string: "secret",
        digest: "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4",
        differs: true,
    },
    // Every user_calls_get filter at once: s_hgc=x1 fails "digits or all", only_did 00 is 0,
    // s_call_type and order_by are absent and contribute nothing.
    GlobalVector {
        method: "user_calls_get",
        params: &[
            ("only_did", "00"),
            ("order_desc", "1"),
            ("s_destination", "370"),
            ("s_did", "all"),
            ("s_hgc", "x1"),
            ("s_provider", "all"),
            ("s_device", "12"),
            ("s_user", "3"),
            ("period_end", "1700086399"),
            ("period_start", "1700000000"),
        ],
        secret: "S",
        string: "17000000001700086399312allall37010S",
        digest: "47d3ea2aa57c4dcffb3f1f97e39b64ed53f22cb7",
        differs: true,
    },
    // Parameters the global list does not know (s_uniqueid, s_reseller) are not hashed.
    GlobalVector {
        method: "user_calls_get",
        params: &[("s_user", "5"), ("s_uniqueid", "abc"), ("s_reseller", "2")],
        secret: "S",
        string: "5S",
        digest: "30e1ddb610c6bf47d4758f0719cc0c3b2e40546c",
        differs: false,
    },
    // payments_get: s_user_id=x fails "all digits"; s_amount_max comes before s_currency.
    GlobalVector {
        method: "payments_get",
        params: &[
            ("s_user_id", "x"),
            ("s_currency", "EUR"),
            ("s_amount_max", "10"),
            ("s_username", "bob"),
            ("s_completed", "1"),
            ("s_transaction", "T1"),
            ("s_till", "1700086399"),
            ("s_from", "1700000000"),
        ],
        secret: "S",
        string: "17000000001700086399T11bob10EURS",
        digest: "33a8a624a3e5cb35c56c94f587eee1c32f55410c",
        differs: true,
    },
    // comments_for_user is not in the global list.
    GlobalVector {
        method: "payment_create",
        params: &[
            ("comments_for_user", "hi"),
            ("payer_email", "a@b.c"),
            ("transaction", "tx"),
            ("amount", "10"),
            ("tax_in_amount", "1"),
            ("paymenttype", "manual"),
            ("p_currency", "EUR"),
            ("user_id", "2"),
        ],
        secret: "S",
        string: "2EURmanual110txa@b.cS",
        digest: "67d9de5dcb44478589fb36756ae0723d2c45e06a",
        differs: true,
    },
    // tariff_id 007 is the integer 7; additional_retail_info is not in the global list.
    GlobalVector {
        method: "tariff_rates_get",
        params: &[("tariff_id", "007"), ("additional_retail_info", "1")],
        secret: "S",
        string: "7S",
        digest: "32f76151195402f125afc8817b83c89dcda61c7e",
        differs: true,
    },
    // test is never hashed (the catalogue does not hash it either; the order still differs).
    GlobalVector {
        method: "tariff_wholesale_update",
        params: &[
            ("id", "7"),
            ("name", "Gold"),
            ("currency", "EUR"),
            ("test", "1"),
        ],
        secret: "S",
        string: "Gold7EURS",
        digest: "38e90747f3503a2240e3acd6c7a050d0ad094ba2",
        differs: true,
    },
    // id and currency are listed names: user_simple_balance_get's uniquehash `id` is hashed.
    GlobalVector {
        method: "user_simple_balance_get",
        params: &[("id", "uniq1"), ("currency", "USD")],
        secret: "S",
        string: "uniq1USDS",
        digest: "14b9065e83c4e0bacb32b6c9a60f5094b810effd",
        differs: true,
    },
    // Empty values: period_start is the integer 0; an empty s_user or order_by adds nothing.
    GlobalVector {
        method: "user_calls_get",
        params: &[("period_start", ""), ("s_user", ""), ("order_by", "")],
        secret: "S",
        string: "0S",
        digest: "8973b4cf2a26aa65831c0507bc8efb15486cd211",
        differs: true,
    },
    // description is hashed in user_calls_get too, after order_by.
    GlobalVector {
        method: "user_calls_get",
        params: &[("description", "x"), ("order_by", "time"), ("s_user", "2")],
        secret: "S",
        string: "2timexS",
        digest: "0f7d0bc749fe718a8fde3e6f1925814fdaa24a66",
        differs: true,
    },
    // device_details_get: device_id is the last name of the global list.
    GlobalVector {
        method: "device_details_get",
        params: &[("u", "admin"), ("device_id", "5")],
        secret: "S",
        string: "5S",
        digest: "30e1ddb610c6bf47d4758f0719cc0c3b2e40546c",
        differs: false,
    },
];

fn global_opts() -> SignOptions {
    SignOptions {
        rule: MorHashRule::Global,
        ..SignOptions::default()
    }
}

#[test]
fn the_global_rule_reproduces_every_hand_derived_vector() {
    let cat = Catalogue::parse_embedded().expect("catalogue");
    assert!(GLOBAL_VECTORS.len() >= 20);
    for v in GLOBAL_VECTORS {
        let m = cat
            .method(Product::Mor, v.method)
            .unwrap_or_else(|| panic!("mor: {} missing", v.method));
        let params: Params = v.params.iter().copied().collect();
        let p = plan(m, &params, false, &global_opts());
        assert_eq!(p.string(v.secret), v.string, "{} {:?}", v.method, v.params);
        assert_eq!(
            sha1_hex(v.string),
            v.digest,
            "{}: digest of {}",
            v.method,
            v.string
        );
        assert_eq!(p.digest(v.secret), v.digest, "{}", v.method);
        let vo = VerifyOptions {
            sign: global_opts(),
            ..VerifyOptions::default()
        };
        assert!(verify(m, &params, Some(v.digest), v.secret, false, &vo).is_ok());
    }
}

#[test]
fn the_global_rule_and_the_method_lists_differ_where_the_vectors_say() {
    let cat = Catalogue::parse_embedded().expect("catalogue");
    for v in GLOBAL_VECTORS {
        let Some(m) = cat.method(Product::Mor, v.method) else {
            panic!("mor: {} missing", v.method);
        };
        let params: Params = v.params.iter().copied().collect();
        let per_method = plan(m, &params, false, &SignOptions::default()).string(v.secret);
        assert_eq!(
            per_method != v.string,
            v.differs,
            "{} {:?}",
            v.method,
            v.params
        );
        // A server on the global rule refuses the per-method digest exactly where they differ.
        let vo = VerifyOptions {
            sign: global_opts(),
            ..VerifyOptions::default()
        };
        let refused = verify(
            m,
            &params,
            Some(&sha1_hex(&per_method)),
            v.secret,
            false,
            &vo,
        )
        .is_err();
        assert_eq!(refused, v.differs, "{}", v.method);
    }
}

#[test]
fn the_global_rule_does_not_touch_m4() {
    let cat = Catalogue::parse_embedded().expect("catalogue");
    let m = cat
        .method(Product::M4, "tariff_rates_get")
        .expect("m4 tariff_rates_get");
    let params: Params = [("tariff_id", "5"), ("user_id", "2")].into_iter().collect();
    assert_eq!(
        plan(m, &params, true, &global_opts()).values(),
        plan(m, &params, true, &SignOptions::default()).values()
    );
}
