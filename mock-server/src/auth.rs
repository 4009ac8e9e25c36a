//! Who is calling and whether the signature holds: the login and hash stages of `dispatch`.
//!
//! Secrets (API Configuration page; API-REFERENCE.md 1.2 point 12): the admin's API Secret Key
//! (`settings.api_secret`) signs for the admin, M4 managers ("only by using Admin Hash and Secret
//! key"), accountants, partners and users the admin owns; a reseller signs with his own key, and
//! so do his users while the quirk `user_secret` is `owner` (INF). Hash checking is skipped when
//! the admin's "Disable hash checking" is on (`settings.hash_check` off) or, for a reseller
//! caller, when his own "Disable hash checking" is on.

use model::catalogue::{Method, Role};
use model::params::Params;
use model::quirks::UserSecret;
use model::sign::{self, HashMismatch, VerifyOptions};
use model::world::User;
use model::{Quirks, Settings};

use crate::world::World;

/// The caller named by `u`, if that user exists and is not blocked.
pub fn login<'w>(world: &'w World, params: &Params) -> Option<&'w User> {
    let u = params.get("u")?;
    world.user_by_name(u).filter(|user| !user.blocked)
}

/// The secret that validates `caller`'s hash (`None`: nobody logged in, the admin's).
pub fn secret_for<'a>(
    caller: Option<&'a User>,
    world: &'a World,
    settings: &'a Settings,
    quirks: &Quirks,
) -> &'a str {
    let admin = settings.api_secret.as_str();
    let Some(caller) = caller else {
        return admin;
    };
    match caller.role {
        Role::Reseller | Role::ResellerPro => caller.api_secret.as_deref().unwrap_or(admin),
        Role::User => match quirks.user_secret {
            UserSecret::Admin => admin,
            UserSecret::Owner => world
                .user(caller.owner_id)
                .filter(|o| o.role.is_reseller() && o.id != caller.id)
                .and_then(|o| o.api_secret.as_deref())
                .unwrap_or(admin),
        },
        Role::Admin | Role::Manager | Role::Accountant | Role::Partner => admin,
    }
}

/// Whether a hash is required from `caller`.
pub fn hash_required(caller: Option<&User>, settings: &Settings) -> bool {
    if !settings.hash_check {
        return false;
    }
    !caller.is_some_and(|c| c.role.is_reseller() && c.hash_check_disabled)
}

/// Verify the request's `hash` for `method` with the secret of `caller`.
pub fn verify(
    method: &Method,
    params: &Params,
    caller: Option<&User>,
    secret: &str,
    quirks: &Quirks,
    today: (i64, i64),
) -> Result<(), HashMismatch> {
    let opts = VerifyOptions::from_quirks(quirks, &method.name, today);
    let is_admin = caller.is_some_and(|c| c.role == Role::Admin);
    sign::verify(method, params, params.get("hash"), secret, is_admin, &opts).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::world::WorldData;

    fn user(id: u64, name: &str, role: Role, owner: u64, secret: Option<&str>) -> User {
        let mut u = crate::generate::admin();
        u.id = id;
        u.username = name.into();
        u.role = role;
        u.owner_id = owner;
        u.uniquehash = format!("uh{id}");
        u.api_secret = secret.map(str::to_string);
        u
    }

    fn world() -> World {
        World::new(WorldData {
            users: vec![
                user(0, "admin", Role::Admin, 0, None),
                user(3, "res", Role::Reseller, 0, Some("rsecret")),
                user(4, "ruser", Role::User, 3, None),
                user(5, "auser", Role::User, 0, None),
            ],
            ..WorldData::default()
        })
    }

    #[test]
    fn a_reseller_and_his_users_sign_with_his_secret() {
        let w = world();
        let s = Settings::default();
        let q = Quirks::default();
        let sec = |n: &str| secret_for(w.user_by_name(n), &w, &s, &q).to_string();
        assert_eq!(sec("admin"), "secret");
        assert_eq!(sec("res"), "rsecret");
        assert_eq!(sec("ruser"), "rsecret");
        assert_eq!(sec("auser"), "secret");
        let q = Quirks {
            user_secret: UserSecret::Admin,
            ..Quirks::default()
        };
        assert_eq!(secret_for(w.user_by_name("ruser"), &w, &s, &q), "secret");
    }

    #[test]
    fn a_reseller_with_hash_checking_disabled_needs_no_hash() {
        let mut r = user(3, "res", Role::Reseller, 0, Some("k"));
        let s = Settings::default();
        assert!(hash_required(Some(&r), &s));
        r.hash_check_disabled = true;
        assert!(!hash_required(Some(&r), &s));
        let off = Settings {
            hash_check: false,
            ..Settings::default()
        };
        assert!(!hash_required(None, &off));
    }
}
