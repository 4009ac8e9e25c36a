//! The in-process target: with no `--target`, each scenario runs against its own `mor-mock`
//! instance started from that scenario (world, settings, quirks, overlay, clock), so every
//! credential, quirk and the clock are known and exact checks can run.
//!
//! Credentials of the in-process mock: `admin` with the settings' API secret; `manager`,
//! `reseller`, `accountant` and `user` are the first account of that role in the mock's world (a
//! `user` owned by the admin if there is one), signing with the documented owner's secret (the
//! scenario's `user_secret` quirk changes what the mock accepts, not how the client signs; a
//! reseller signs with his own key in every position).
//! Reproductions name them `$MOR_SECRET` (the admin's secret) and `$MOR_<RESELLER>_SECRET` (a
//! reseller's own).

use mock_server::{MockConfig, MockServer};
use model::catalogue::{Product, Role};
use model::quirks::{Quirks, QuirksPatch, UserSecret};
use model::scenario::Scenario;
use model::world::User;

use mock_server::world::World;
use model::facts::{set_period_with_calls, Facts, ROLES};
use model::settings::Settings;

use crate::discover::Discovery;
use crate::target::{Credential, Credentials, SecretSource};

/// A running in-process mock and what the runner needs to know about it.
#[derive(Debug)]
pub struct InProcess {
    server: MockServer,
    /// Its base URL.
    pub base: String,
    /// Credentials per role.
    pub credentials: Credentials,
    /// Its quirks.
    pub quirks: Quirks,
    /// Today's bounds in its clock.
    pub today: (i64, i64),
    /// Facts of its world and its settings (what discovery would find, read from the world).
    pub discovery: Discovery,
}

impl InProcess {
    /// Start a mock for `scenario` (or the default world when None) and `product`, its quirks
    /// set first by `quirks` (a profile's positions, `run --profile`), then by the scenario's.
    pub async fn start(
        scenario: Option<&Scenario>,
        product: Product,
        quirks: Option<&QuirksPatch>,
    ) -> Result<InProcess, String> {
        let mut config = MockConfig::new(product);
        if let Some(q) = quirks {
            config = config.quirks(q.clone());
        }
        if let Some(s) = scenario {
            config = config.scenario(s.clone());
        }
        let server = MockServer::start(config)
            .await
            .map_err(|e| format!("cannot start the in-process mock: {e}"))?;
        let (credentials, quirks, today, discovery) = {
            let live = server.shared().read();
            // Roles sign as documented (the owner's secret); the scenario's `user_secret`
            // quirk changes what the mock accepts, which is what its cases check.
            let creds = credentials(
                &live.world.data.users,
                &live.settings.api_secret,
                &Quirks::default(),
            );
            let mut discovery = world_facts(&live.world, &creds, &live.settings, live.clock.now());
            // A method the mock does not implement (quirk unimplemented_methods, profile x3)
            // is not served: its cases skip, as discovery decides on a deployment.
            // A method none of whose names the mock answers to (quirk served_names) likewise.
            for m in model::catalogue::Catalogue::embedded()
                .product(product)
                .methods()
            {
                if !live.quirks.serves_method(m) {
                    discovery.unavailable.insert(
                        m.name.to_string(),
                        "answers to none of its names: quirk served_names".into(),
                    );
                }
            }
            for m in &live.quirks.unimplemented_methods {
                discovery.unavailable.insert(
                    m.clone(),
                    "not implemented: quirk unimplemented_methods".into(),
                );
            }
            (creds, live.quirks.clone(), live.clock.today(), discovery)
        };
        Ok(InProcess {
            base: server.url(),
            server,
            credentials,
            quirks,
            today,
            discovery,
        })
    }

    /// Stop the mock.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Credentials of the roles found in a world, signing the way a mock with `quirks` verifies: the
/// admin, managers, accountants and admin-owned users with the admin's secret; a reseller with
/// his own key in every position of `user_secret`; a reseller's user with his reseller's key
/// (`owner`) or the admin's (`admin`).
pub fn credentials(users: &[User], admin_secret: &str, quirks: &Quirks) -> Credentials {
    let admin_source = SecretSource::Env("MOR_SECRET".into());
    let mut out = Credentials::default();
    let admin = users.iter().find(|u| u.role == Role::Admin);
    out.roles.insert(
        "admin".into(),
        Credential {
            username: admin.map_or("admin".into(), |u| u.username.clone()),
            secret: admin_secret.to_string(),
            source: admin_source.clone(),
            password: admin.map(|u| u.password.clone()),
            password_source: Some(SecretSource::Env("MOR_ADMIN_PASSWORD".into())),
        },
    );
    let secret_of = |u: &User| -> (String, SecretSource) {
        let own = |r: &User| {
            r.api_secret.clone().map(|s| {
                (
                    s,
                    SecretSource::Env(format!("MOR_{}_SECRET", r.username.to_ascii_uppercase())),
                )
            })
        };
        // A reseller always signs with his own key (API_Configuration), whatever `user_secret`.
        if u.role.is_reseller() {
            return own(u).unwrap_or((admin_secret.to_string(), admin_source.clone()));
        }
        if quirks.user_secret == UserSecret::Admin {
            return (admin_secret.to_string(), admin_source.clone());
        }
        match users
            .iter()
            .find(|o| o.id == u.owner_id && o.role.is_reseller())
        {
            Some(owner) => own(owner).unwrap_or((admin_secret.to_string(), admin_source.clone())),
            None => (admin_secret.to_string(), admin_source.clone()),
        }
    };
    let roles: [(&str, Role); 5] = [
        ("manager", Role::Manager),
        ("reseller", Role::Reseller),
        ("reseller_pro", Role::ResellerPro),
        ("accountant", Role::Accountant),
        ("user", Role::User),
    ];
    for (name, role) in roles {
        let mut candidates: Vec<&User> = users.iter().filter(|u| u.role == role).collect();
        candidates.sort_by_key(|u| (u.owner_id != 0, u.id));
        if let Some(u) = candidates.first() {
            let (secret, source) = secret_of(u);
            out.roles.insert(
                name.into(),
                Credential {
                    username: u.username.clone(),
                    secret,
                    source,
                    password: Some(u.password.clone()),
                    password_source: Some(SecretSource::Env(format!(
                        "MOR_{}_PASSWORD",
                        name.to_ascii_uppercase()
                    ))),
                },
            );
        }
    }
    out
}

/// The facts of a mock's world, as discovery would find them on a deployment: each credential's
/// id, another simple user of the admin, a device and the tariff of `user`, a currency other than
/// the default, the latest day up to `now` on which `user` made calls, and ids proven absent.
pub fn world_facts(world: &World, creds: &Credentials, settings: &Settings, now: i64) -> Discovery {
    let mut f = Facts::default();
    let users = &world.data.users;
    for role in ROLES {
        if let Some(u) = creds
            .get(role)
            .and_then(|c| world.user_by_name(&c.username))
        {
            f.set(&format!("{role}.username"), u.username.clone());
            f.set(&format!("{role}.id"), u.id.to_string());
        }
    }
    let user = creds
        .get("user")
        .and_then(|c| world.user_by_name(&c.username));
    let calls_of = |id: u64| world.data.calls.iter().filter(|c| c.user_id == id).count();
    let mut others: Vec<&User> = users
        .iter()
        .filter(|u| u.role == Role::User && u.owner_id == 0 && Some(u.id) != user.map(|x| x.id))
        .collect();
    others.sort_by_key(|u| (calls_of(u.id) == 0, u.id));
    if let Some(o) = others.first() {
        f.set("other_user.username", o.username.clone());
        f.set("other_user.id", o.id.to_string());
        if let Some(d) = world.devices_of(o.id).first() {
            f.set("other_user_device.id", d.id.to_string());
        }
    }
    if let Some(u) = user {
        if let Some(d) = world.devices_of(u.id).first() {
            f.set("device.id", d.id.to_string());
        }
        let latest = (0..world.data.calls.len())
            .filter(|&i| world.data.calls[i].user_id == u.id && world.call_time(i) <= now)
            .map(|i| world.call_time(i))
            .max();
        if let Some(t) = latest {
            set_period_with_calls(&mut f, t);
        }
        if let Some(t) = u.tariff_id.filter(|t| world.tariff(*t).is_some()) {
            f.set("tariff.id", t.to_string());
        }
    }
    if f.get("tariff.id").is_none() {
        if let Some(t) = world.data.tariffs.iter().find(|t| t.owner_id == 0) {
            f.set("tariff.id", t.id.to_string());
        }
    }
    if !settings.uniquehash.is_empty() {
        f.set("admin.uniquehash", settings.uniquehash.clone());
    }
    // A provider of the admin: the provider of his first DID, else his first provider.
    let provider = world
        .data
        .dids
        .iter()
        .filter(|d| d.reseller_id == 0)
        .map(|d| d.provider_id)
        .find(|id| world.provider(*id).is_some())
        .or_else(|| {
            world
                .data
                .providers
                .iter()
                .find(|p| p.user_id == 0)
                .map(|p| p.id)
        });
    if let Some(p) = provider {
        f.set("provider.id", p.to_string());
    }
    // A simple user of the `reseller` credential, and the admin's and the reseller's services.
    let reseller = creds
        .get("reseller")
        .and_then(|c| world.user_by_name(&c.username));
    if let Some(r) = reseller {
        if let Some(u) = users
            .iter()
            .find(|u| u.role == Role::User && u.owner_id == r.id)
        {
            f.set("reseller_user.id", u.id.to_string());
            f.set("reseller_user.username", u.username.clone());
        }
    }
    let service_of = |owner: u64| world.data.services.iter().find(|s| s.owner_id == owner);
    if let Some(s) = service_of(0) {
        f.set("service.id", s.id.to_string());
    }
    if let Some(s) = reseller.and_then(|r| service_of(r.id)) {
        f.set("reseller_service.id", s.id.to_string());
    }
    // A subscription of a simple user of the admin, the first subscriptions_get lists (as
    // discovery finds it).
    if let Some(sub) = world.data.subscriptions.iter().find(|s| {
        world
            .user(s.user_id)
            .is_some_and(|u| u.role == Role::User && u.owner_id == 0)
    }) {
        f.set("subscription.id", sub.id.to_string());
    }
    // A credit note of a simple user of the admin, the `user` credential's first.
    let user_id = user.map(|u| u.id);
    let admin_users_note = |n: &&model::world::CreditNote| {
        world
            .user(n.user_id)
            .is_some_and(|u| u.role == Role::User && u.owner_id == 0)
    };
    if let Some(n) = world
        .data
        .credit_notes
        .iter()
        .filter(admin_users_note)
        .find(|n| Some(n.user_id) == user_id)
        .or_else(|| world.data.credit_notes.iter().find(admin_users_note))
    {
        f.set("credit_note.id", n.id.to_string());
    }
    if let Some(n) = world.data.credit_notes.iter().find(|n| {
        world.user(n.user_id).is_some_and(|u| {
            u.role == Role::User && world.user(u.owner_id).is_some_and(|o| o.role.is_reseller())
        })
    }) {
        f.set("reseller_credit_note.id", n.id.to_string());
    }
    let used: Vec<&str> = users.iter().map(|u| u.currency.as_str()).collect();
    let mut currencies: Vec<_> = world
        .data
        .currencies
        .iter()
        .filter(|c| c.name != settings.default_currency && !c.auto_update)
        .collect();
    currencies.sort_by_key(|c| !used.contains(&c.name.as_str()));
    if let Some(c) = currencies.first() {
        f.set("currency.code", c.name.clone());
    }
    let top = |ids: &mut dyn Iterator<Item = u64>| (ids.max().unwrap_or(0) + 1) * 1000 + 7;
    f.set(
        "absent.user_id",
        top(&mut users.iter().map(|u| u.id)).to_string(),
    );
    f.set("absent.username", "mor_conformance_no_such_user");
    f.set(
        "absent.device_id",
        top(&mut world.data.devices.iter().map(|d| d.id)).to_string(),
    );
    f.set(
        "absent.tariff_id",
        top(&mut world.data.tariffs.iter().map(|t| t.id)).to_string(),
    );
    // A number pool of the admin, one with numbers where there is one.
    let admin_pools: Vec<u64> = world
        .data
        .number_pools
        .iter()
        .filter(|p| p.owner_id == 0)
        .map(|p| p.id)
        .collect();
    let has_numbers = |id: &u64| {
        world
            .data
            .number_pool_numbers
            .iter()
            .any(|n| n.number_pool_id == *id)
    };
    if let Some(p) = admin_pools
        .iter()
        .find(|id| has_numbers(id))
        .or(admin_pools.first())
    {
        f.set("number_pool.id", p.to_string());
    }
    f.set(
        "absent.number_pool_id",
        top(&mut world.data.number_pools.iter().map(|p| p.id)).to_string(),
    );
    f.set(
        "absent.credit_note_id",
        top(&mut world.data.credit_notes.iter().map(|n| n.id)).to_string(),
    );
    // A phonebook record of the `user` credential's account (MOR).
    if let Some(p) = user.and_then(|u| world.data.phonebooks.iter().find(|p| p.user_id == u.id)) {
        f.set("phonebook.id", p.id.to_string());
    }
    f.set(
        "absent.phonebook_id",
        top(&mut world.data.phonebooks.iter().map(|p| p.id)).to_string(),
    );
    // An LCR of the admin: the first lcrs_get lists (by id).
    if let Some(l) = world
        .data
        .lcrs
        .iter()
        .filter(|l| l.owner_id == 0)
        .min_by_key(|l| l.id)
    {
        f.set("lcr.id", l.id.to_string());
        f.set("lcr.name", l.name.clone());
    }
    f.set(
        "absent.lcr_id",
        top(&mut world.data.lcrs.iter().map(|l| l.id)).to_string(),
    );
    f.set(
        "absent.provider_rule_id",
        top(&mut world.data.provider_rules.iter().map(|r| r.id)).to_string(),
    );
    let mut d = Discovery::from_file(&f, Some(&settings.to_patch()));
    for v in d.sources.values_mut() {
        *v = "the mock's world".into();
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: u64, name: &str, role: Role, owner: u64, secret: Option<&str>) -> User {
        let json = serde_json::json!({
            "id": id, "username": name, "role": role, "owner_id": owner, "api_secret": secret,
        });
        serde_json::from_value(json).expect("user")
    }

    fn secrets(q: UserSecret) -> Vec<(String, String)> {
        let users = [
            user(0, "admin", Role::Admin, 0, None),
            user(3, "res", Role::Reseller, 0, Some("rsecret")),
            user(4, "ruser", Role::User, 3, None),
            user(6, "mgr", Role::Manager, 0, None),
        ];
        let quirks = Quirks {
            user_secret: q,
            ..Quirks::default()
        };
        let creds = credentials(&users, "secret", &quirks);
        let mut out: Vec<(String, String)> = creds
            .roles
            .iter()
            .map(|(role, c)| (role.clone(), c.secret.clone()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_reseller_signs_with_his_own_key_in_every_user_secret_position() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            secrets(UserSecret::Owner),
            pairs(&[
                ("admin", "secret"),
                ("manager", "secret"),
                ("reseller", "rsecret"),
                ("user", "rsecret"),
            ])
        );
        assert_eq!(
            secrets(UserSecret::Admin),
            pairs(&[
                ("admin", "secret"),
                ("manager", "secret"),
                ("reseller", "rsecret"),
                ("user", "secret"),
            ])
        );
    }
}
