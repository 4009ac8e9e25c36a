//! Methods whose behaviour the catalogue declares (`engine:`), over real HTTP: a client's
//! first day (register a user, give him a device and a DID, top up his balance, read it all
//! back through the list and detail methods), and a method added by a catalogue file alone.

use std::io::Read;
use std::path::PathBuf;

use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::params::Params;
use mock_server::model::sign::{self, SignOptions};
use mock_server::model::xml;
use mock_server::MockConfig;

use crate::support::{Answer, Mock, SECRET};

/// POST `method` with `params` (and `u` when given), signed from `catalogue` with `secret`,
/// unpacking a gzip body.
async fn call(
    mock: &Mock,
    catalogue: &Catalogue,
    method: &str,
    u: Option<&str>,
    params: &[(&str, &str)],
    secret: &str,
) -> Answer {
    let m = catalogue
        .method(mock.product, method)
        .unwrap_or_else(|| panic!("{method} is in the catalogue"));
    let mut p = Params::new();
    if let Some(u) = u {
        p.push("u", u);
    }
    for (k, v) in params {
        p.push(*k, *v);
    }
    let digest = sign::sign(m, &p, u == Some("admin"), secret, &SignOptions::default());
    p.push("hash", digest);
    let url = format!("{}/billing/api/{method}", mock.server.url());
    // Form body, as a PHP or curl client posts.
    let r = mock
        .client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(p.to_query())
        .send()
        .await
        .expect("answered");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.expect("body");
    let body = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .expect("gzip body");
        s
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let a = Answer {
        status,
        headers,
        body,
    };
    assert_eq!(a.status, 200, "{method}: {}", a.body);
    assert!(
        a.error().is_none(),
        "{method} answered an error: {}",
        a.body
    );
    a
}

fn at(a: &Answer, path: &str) -> String {
    let doc = xml::parse(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    doc.root
        .at(path)
        .unwrap_or_else(|| panic!("no {path} in {}", a.body))
        .text_content()
}

/// The texts of `field` in every element at `rows`' parent whose name is `rows`' last segment.
fn column(a: &Answer, rows: &str, field: &str) -> Vec<String> {
    let doc = xml::parse(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    let (parent, name) = rows.rsplit_once('/').unwrap_or(("", rows));
    let p = if parent.is_empty() {
        Some(&doc.root)
    } else {
        doc.root.at(parent)
    };
    p.map(|p| {
        p.elements()
            .filter(|e| e.name == name)
            .map(|e| {
                e.at(field)
                    .map(xml::Element::text_content)
                    .unwrap_or_default()
            })
            .collect()
    })
    .unwrap_or_default()
}

#[tokio::test]
async fn a_client_registers_a_user_gives_him_a_device_and_a_did_tops_him_up_and_reads_it_all_back()
{
    let mock = Mock::start_with(MockConfig::new(Product::Mor)).await;
    let cat = Catalogue::embedded();
    let admin = Some("admin");

    // Register under the admin (his uniquehash in the default world), no `u`.
    let reg = call(
        &mock,
        cat,
        "user_register",
        None,
        &[
            ("id", "adm1nun1q"),
            ("username", "carol"),
            ("password", "carol-pw-1"),
            ("password2", "carol-pw-1"),
            ("first_name", "Carol"),
            ("last_name", "Client"),
            ("email", "carol@example.com"),
            ("country_id", "1"),
            ("device_type", "SIP"),
        ],
        SECRET,
    )
    .await;
    let user_id = at(&reg, "user_device_settings/user_id");
    let first_device = at(&reg, "user_device_settings/device_id");

    // A second device, then a DID on it.
    let dev = call(
        &mock,
        cat,
        "device_create",
        admin,
        &[
            ("user_id", &user_id),
            ("type", "IAX2"),
            ("description", "desk"),
        ],
        SECRET,
    )
    .await;
    assert_eq!(at(&dev, "status"), "Device created");
    let device_id = at(&dev, "id");
    let did = call(
        &mock,
        cat,
        "did_create",
        admin,
        &[("provider_id", "1"), ("did", "37069990001")],
        SECRET,
    )
    .await;
    let did_id = at(&did, "did_details/id");
    call(
        &mock,
        cat,
        "did_device_assign",
        admin,
        &[("device_id", &device_id), ("did", "37069990001")],
        SECRET,
    )
    .await;

    // Top up.
    let up = call(
        &mock,
        cat,
        "user_balance_update",
        admin,
        &[("user_id", &user_id), ("balance", "25.50")],
        SECRET,
    )
    .await;
    assert_eq!(at(&up, "user/balance"), "25.5");

    // Read it all back: lists, then details.
    let users = call(&mock, cat, "users_get", admin, &[("p", "admin")], SECRET).await;
    let names = column(&users, "status/users/user", "username");
    let i = names
        .iter()
        .position(|n| n == "carol")
        .unwrap_or_else(|| panic!("carol listed: {}", users.body));
    assert_eq!(column(&users, "status/users/user", "id")[i], user_id);
    assert_eq!(column(&users, "status/users/user", "balance")[i], "25.5");

    let details = call(
        &mock,
        cat,
        "user_details_get",
        admin,
        &[("user_id", &user_id)],
        SECRET,
    )
    .await;
    assert_eq!(at(&details, "details/other_details/username"), "carol");
    assert_eq!(
        at(&details, "details/main_detail/balance_number"),
        "25.5000"
    );
    assert_eq!(
        at(&details, "details/registration/reg_email"),
        "carol@example.com"
    );

    let balance = call(
        &mock,
        cat,
        "user_balance_get",
        admin,
        &[("username", "carol")],
        SECRET,
    )
    .await;
    assert_eq!(at(&balance, "balance"), "25.5");

    let devices = call(
        &mock,
        cat,
        "devices_get",
        admin,
        &[("user_id", &user_id)],
        SECRET,
    )
    .await;
    assert_eq!(
        column(&devices, "devices/device", "device_id"),
        [first_device.clone(), device_id.clone()]
    );
    assert_eq!(
        column(&devices, "devices/device", "device_type"),
        ["SIP", "IAX2"]
    );
    let device = call(
        &mock,
        cat,
        "device_details_get",
        admin,
        &[("device_id", &device_id)],
        SECRET,
    )
    .await;
    assert!(!at(&device, "name").is_empty(), "{}", device.body);

    let dids = call(
        &mock,
        cat,
        "dids_get",
        admin,
        &[("search_user", &user_id)],
        SECRET,
    )
    .await;
    assert_eq!(column(&dids, "dids/did", "id"), [did_id]);
    assert_eq!(column(&dids, "dids/did", "did_number"), ["37069990001"]);
    assert_eq!(column(&dids, "dids/did", "did_status"), ["active"]);
    assert_eq!(column(&dids, "dids/did", "device_id"), [device_id]);
    mock.stop().await;
}

/// A collection and two methods the embedded catalogue does not have, declared in a file.
const PHONEBOOK_CATALOGUE: &str = r#"version: 1
product: mor
methods:
  - name: phonebook_add
    summary: Adds a phone book entry for a user (a collection only this file knows).
    writes: true
    params:
      - { name: u, required: true }
      - { name: user_id, required: true, type: integer }
      - { name: name, required: true }
      - { name: number, required: true }
    hash: [user_id, number]
    access:
      - { role: admin, scope: any }
      - { role: reseller, scope: own_and_owned }
    response:
      sample: <page><status>{{text}}</status><id>{{int}}</id></page>
    errors:
      - { text: User was not found, wrapper: page }
      - { text: Number must be digits, wrapper: page }
      - { text: Number already in the phone book, wrapper: page }
    engine:
      steps:
        - { require: [user_id], error: User was not found }
        - { find: users, as: owner, where: { id: "{{param.user_id}}" }, error: User was not found }
        - { allowed: "{{owner.id}}" }
        - { require: [number], error: Number must be digits }
        - { valid: number, is: digits, error: Number must be digits }
        - { absent: contacts, where: { user_id: "{{owner.id}}", number: "{{param.number}}" }, error: Number already in the phone book }
        - { create: contacts, as: entry, set: { user_id: "{{owner.id}}", name: "{{param.name}}", number: "{{param.number}}" } }
      answer: <page><status>Phone book entry added</status><id>{{entry.id}}</id></page>
  - name: phonebook_entries_get
    summary: Lists a user's phone book.
    params:
      - { name: u, required: true }
      - { name: user_id, required: true, type: integer }
    hash: [user_id]
    access:
      - { role: admin, scope: any }
      - { role: reseller, scope: own_and_owned }
    response:
      sample: <page><phonebook><entry><name>{{text}}</name><number>{{text}}</number></entry></phonebook></page>
    errors:
      - { text: User was not found, wrapper: page }
    engine:
      steps:
        - { find: users, as: owner, where: { id: "{{param.user_id}}" }, error: User was not found }
        - { allowed: "{{owner.id}}" }
      list:
        collection: contacts
        filters: [ { param: user_id, field: user_id } ]
      answer: <page><phonebook><entry each="rows"><name>{{row.name}}</name><number>{{row.number}}</number></entry></phonebook></page>
"#;

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn a_method_declared_in_an_extra_catalogue_file_runs_over_http_with_no_code() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let file = TempFile(std::env::temp_dir().join(format!(
        "phonebook-catalogue-{}-{nanos}.yaml",
        std::process::id()
    )));
    std::fs::write(&file.0, PHONEBOOK_CATALOGUE).expect("catalogue written");
    let cat = Catalogue::embedded()
        .clone()
        .with_file(&file.0)
        .expect("the extra catalogue loads");
    let mut config = MockConfig::new(Product::Mor);
    config.catalogue_file = Some(file.0.clone());
    let mock = Mock::start_with(config).await;

    let added = call(
        &mock,
        &cat,
        "phonebook_add",
        Some("admin"),
        &[("user_id", "1"), ("name", "Mum"), ("number", "37060000001")],
        SECRET,
    )
    .await;
    assert_eq!(
        xml::canonical(&added.body).expect("XML"),
        xml::canonical("<page><status>Phone book entry added</status><id>1</id></page>")
            .expect("XML")
    );
    call(
        &mock,
        &cat,
        "phonebook_add",
        Some("admin"),
        &[
            ("user_id", "1"),
            ("name", "Office"),
            ("number", "37052000000"),
        ],
        SECRET,
    )
    .await;
    call(
        &mock,
        &cat,
        "phonebook_add",
        Some("admin"),
        &[("user_id", "2"), ("name", "Other"), ("number", "1")],
        SECRET,
    )
    .await;
    let list = call(
        &mock,
        &cat,
        "phonebook_entries_get",
        Some("admin"),
        &[("user_id", "1")],
        SECRET,
    )
    .await;
    assert_eq!(column(&list, "phonebook/entry", "name"), ["Mum", "Office"]);
    assert_eq!(
        column(&list, "phonebook/entry", "number"),
        ["37060000001", "37052000000"]
    );

    // Its documented errors, its roles and its signature, all from the file.
    let raw = |method: &'static str,
               u: &'static str,
               params: Vec<(&'static str, &'static str)>,
               secret: &'static str| {
        let m = cat.method(Product::Mor, method).expect("declared");
        let mut p = Params::new();
        p.push("u", u);
        for (k, v) in &params {
            p.push(*k, *v);
        }
        p.push(
            "hash",
            sign::sign(m, &p, u == "admin", secret, &SignOptions::default()),
        );
        p
    };
    for (params, secret, want) in [
        (
            vec![("user_id", "1"), ("name", "Mum"), ("number", "37060000001")],
            SECRET,
            "Number already in the phone book",
        ),
        (
            vec![("user_id", "1"), ("name", "X"), ("number", "3706x")],
            SECRET,
            "Number must be digits",
        ),
        (
            vec![("user_id", "999"), ("name", "X"), ("number", "1")],
            SECRET,
            "User was not found",
        ),
        (
            vec![("user_id", "1"), ("name", "X"), ("number", "2")],
            "wrong",
            "Incorrect hash",
        ),
    ] {
        let p = raw("phonebook_add", "admin", params, secret);
        let a = mock.send(reqwest::Method::POST, "phonebook_add", &p).await;
        assert_eq!(a.error().as_deref(), Some(want), "{}", a.body);
    }
    let p = raw(
        "phonebook_add",
        "reseller",
        vec![("user_id", "1"), ("name", "X"), ("number", "3")],
        "reseller_secret",
    );
    let a = mock.send(reqwest::Method::POST, "phonebook_add", &p).await;
    assert_eq!(a.error().as_deref(), Some("Access Denied"), "{}", a.body);
    // The refused requests wrote nothing.
    let list = call(
        &mock,
        &cat,
        "phonebook_entries_get",
        Some("admin"),
        &[("user_id", "1")],
        SECRET,
    )
    .await;
    assert_eq!(column(&list, "phonebook/entry", "name").len(), 2);
    mock.stop().await;
}

#[test]
fn an_extra_catalogue_file_with_a_broken_declaration_names_file_line_and_field() {
    let text = PHONEBOOK_CATALOGUE.replace(
        "{{param.number}}\" }, error: Number already",
        "{{param.numbr}}\" }, error: Number already",
    );
    let mut cat = Catalogue::embedded().clone();
    let e = cat
        .merge_str(&text, std::path::Path::new("phonebook.yaml"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("phonebook.yaml:4:"), "{e}");
    assert!(e.contains("methods[phonebook_add].engine"), "{e}");
    assert!(e.contains("no parameter `numbr`"), "{e}");
}

/// Two writes in one declared method, the second one not a valid record (a role MOR does not
/// have): the answer is the method's `failed` error and neither record is stored.
const HALF_WRITE_CATALOGUE: &str = r#"version: 1
product: mor
methods:
  - name: device_and_wizard_create
    summary: Creates a device, then a user whose role is given (a test of all-or-nothing writes).
    writes: true
    params:
      - { name: u, required: true }
      - { name: role, required: true }
    hash: [role]
    access:
      - { role: admin, scope: any }
    response:
      sample: <page><status>{{text}}</status></page>
    errors:
      - { text: Nothing was created, wrapper: page }
    engine:
      steps:
        - { create: devices, as: device, set: { user_id: "1", name: half_write } }
        - { create: users, as: user, set: { username: wizard, role: "{{param.role}}" } }
      answer: <page><status>Both created</status></page>
      failed: Nothing was created
"#;

#[tokio::test]
async fn a_declared_method_whose_second_write_is_invalid_stores_neither() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let file = TempFile(std::env::temp_dir().join(format!(
        "half-write-catalogue-{}-{nanos}.yaml",
        std::process::id()
    )));
    std::fs::write(&file.0, HALF_WRITE_CATALOGUE).expect("catalogue written");
    let cat = Catalogue::embedded()
        .clone()
        .with_file(&file.0)
        .expect("the extra catalogue loads");
    let mut config = MockConfig::new(Product::Mor);
    config.catalogue_file = Some(file.0.clone());
    let mock = Mock::start_with(config).await;
    let sign = |role: &str| {
        let m = cat
            .method(Product::Mor, "device_and_wizard_create")
            .expect("declared");
        let mut p = Params::new();
        p.push("u", "admin");
        p.push("role", role);
        p.push(
            "hash",
            sign::sign(m, &p, true, SECRET, &SignOptions::default()),
        );
        p
    };
    let devices_of_user1 = |a: &Answer| column(a, "devices/device", "device_id").len();
    let before = call(
        &mock,
        &cat,
        "devices_get",
        Some("admin"),
        &[("user_id", "1")],
        SECRET,
    )
    .await;
    // `wizard` is no role: the user record is refused when the writes are stored.
    let a = mock
        .send(
            reqwest::Method::POST,
            "device_and_wizard_create",
            &sign("wizard"),
        )
        .await;
    assert_eq!(
        a.error().as_deref(),
        Some("Nothing was created"),
        "{}",
        a.body
    );
    let after = call(
        &mock,
        &cat,
        "devices_get",
        Some("admin"),
        &[("user_id", "1")],
        SECRET,
    )
    .await;
    assert_eq!(devices_of_user1(&after), devices_of_user1(&before));
    let users = call(
        &mock,
        &cat,
        "users_get",
        Some("admin"),
        &[("p", "admin")],
        SECRET,
    )
    .await;
    assert!(
        !column(&users, "status/users/user", "username").contains(&"wizard".to_string()),
        "{}",
        users.body
    );
    // A valid role stores both.
    let a = mock
        .send(
            reqwest::Method::POST,
            "device_and_wizard_create",
            &sign("user"),
        )
        .await;
    assert!(a.error().is_none(), "{}", a.body);
    let after = call(
        &mock,
        &cat,
        "devices_get",
        Some("admin"),
        &[("user_id", "1")],
        SECRET,
    )
    .await;
    assert_eq!(devices_of_user1(&after), devices_of_user1(&before) + 1);
    mock.stop().await;
}
