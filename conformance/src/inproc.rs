//! The in-process target: with no `--target`, each scenario runs against its own `mor-mock`
//! instance started from that scenario (world, settings, quirks, overlay, clock), so every
//! credential, quirk and the clock are known and exact checks can run.
//!
//! Credentials of the in-process mock: `admin` with the settings' API secret; `manager`,
//! `reseller`, `accountant` and `user` are the first account of that role in the mock's world (a
//! `user` owned by the admin if there is one), signing with the documented owner's secret (the
//! scenario's `user_secret` quirk changes what the mock accepts, not how the client signs).
//! Reproductions name them `$MOR_SECRET` (the admin's secret) and `$MOR_<RESELLER>_SECRET` (a
//! reseller's own).

use mock_server::{MockConfig, MockServer};
use model::catalogue::{Product, Role};
use model::quirks::{Quirks, UserSecret};
use model::scenario::Scenario;
use model::world::User;

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
}

impl InProcess {
    /// Start a mock for `scenario` (or the default world when None) and `product`.
    pub async fn start(scenario: Option<&Scenario>, product: Product) -> Result<InProcess, String> {
        let mut config = MockConfig::new(product);
        if let Some(s) = scenario {
            config = config.scenario(s.clone());
        }
        let server = MockServer::start(config)
            .await
            .map_err(|e| format!("cannot start the in-process mock: {e}"))?;
        let (credentials, quirks, today) = {
            let live = server.shared().read();
            // Roles sign as documented (the owner's secret); the scenario's `user_secret`
            // quirk changes what the mock accepts, which is what its cases check.
            let creds = credentials(
                &live.world.data.users,
                &live.settings.api_secret,
                &Quirks::default(),
            );
            (creds, live.quirks.clone(), live.clock.today())
        };
        Ok(InProcess {
            base: server.url(),
            server,
            credentials,
            quirks,
            today,
        })
    }

    /// Stop the mock.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Credentials of the roles found in a world.
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
        },
    );
    let secret_of = |u: &User| -> (String, SecretSource) {
        if quirks.user_secret == UserSecret::Admin {
            return (admin_secret.to_string(), admin_source.clone());
        }
        let own = |r: &User| {
            r.api_secret.clone().map(|s| {
                (
                    s,
                    SecretSource::Env(format!("MOR_{}_SECRET", r.username.to_ascii_uppercase())),
                )
            })
        };
        if u.role.is_reseller() {
            return own(u).unwrap_or((admin_secret.to_string(), admin_source.clone()));
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
                },
            );
        }
    }
    out
}
