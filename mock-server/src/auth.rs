//! Who is calling and whether the signature holds: the login and hash stages of `dispatch`.
//!
//! Secrets (API Configuration page; API-REFERENCE.md 1.2 point 12): the admin's API Secret Key
//! (`settings.api_secret`) signs for the admin, M4 managers ("only by using Admin Hash and Secret
//! key"), accountants, partners and users the admin owns; a reseller always signs with his own
//! key (documented on API_Configuration), whatever the quirks say. A reseller's users sign with
//! their reseller's key while the quirk `user_secret` is `owner` (the default, INF) and with the
//! admin's while it is `admin`.
//!
//! Hash checking is skipped when the admin's "Disable hash checking" is on (`settings.hash_check`
//! off) or, for a reseller signer, when his own "Disable hash checking" is on; a method whose
//! catalogue entry says `hash_required: false` is checked only when a `hash` is sent.

use model::catalogue::{Method, Role};
use model::params::Params;
use model::quirks::UserSecret;
use model::sign::{self, HashMismatch, MismatchReason, VerifyOptions};
use model::world::User;
use model::{Quirks, Settings};

use crate::defect::Defect;
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

/// Whether hash checking is on for requests signed for `caller` (the admin's setting, and a
/// reseller's own "Disable hash checking").
pub fn hash_required(caller: Option<&User>, settings: &Settings) -> bool {
    if !settings.hash_check {
        return false;
    }
    !caller.is_some_and(|c| c.role.is_reseller() && c.hash_check_disabled)
}

/// Whether this request's hash must be verified: hash checking is on for `signer` and either the
/// method requires a hash (catalogue `hash_required`) or a `hash` parameter was sent.
pub fn must_verify(
    method: &Method,
    params: &Params,
    signer: Option<&User>,
    settings: &Settings,
) -> bool {
    hash_required(signer, settings) && (method.hash_required || params.get("hash").is_some())
}

/// The user a login-free method is about, whose signing secret verifies its hash: for a method
/// with a `u` parameter (user_login, user_logout) the user it names, blocked or not; otherwise the
/// owner of the uniquehash `id` (user_simple_balance_get). None (the admin's secret) when no user
/// is named.
pub fn subject<'w>(method: &Method, world: &'w World, params: &Params) -> Option<&'w User> {
    if method.param("u").is_some() {
        params.get("u").and_then(|u| world.user_by_name(u))
    } else {
        params.get("id").and_then(|id| world.user_by_uniquehash(id))
    }
}

/// Whether this request skips the login step although its method logs in: user_balance_get
/// without `u` while the quirk `balance_get_requires_u` is off (the M4 example sends no `u`;
/// the hash, with the admin's secret, authenticates). A `u` that is sent is always resolved.
pub fn login_optional(method: &Method, params: &Params, quirks: &Quirks) -> bool {
    method.name == "user_balance_get" && !quirks.balance_get_requires_u && params.get("u").is_none()
}

/// Verify the request's `hash` for `method` with the secret of `caller`. `defect` (test only)
/// may make a broken server accept more: `hash_secret_ignored` a digest of the values alone,
/// `hash_order_ignored` a digest of the values in reverse order.
pub fn verify(
    method: &Method,
    params: &Params,
    caller: Option<&User>,
    secret: &str,
    quirks: &Quirks,
    today: (i64, i64),
    defect: Option<Defect>,
) -> Result<(), HashMismatch> {
    let opts = VerifyOptions::from_quirks(quirks, &method.name, today);
    let is_admin = caller.is_some_and(|c| c.role == Role::Admin);
    let sent = params.get("hash");
    match sign::check(method, params, sent, secret, is_admin, &opts) {
        Err(m) if m.reason == MismatchReason::Digest && accepted_anyway(&m, secret, defect) => {
            Ok(())
        }
        other => other,
    }
}

/// Whether a server broken by `defect` accepts the digest `m` refused.
fn accepted_anyway(m: &HashMismatch, secret: &str, defect: Option<Defect>) -> bool {
    let Some(sent) = m.supplied.as_deref().map(str::to_ascii_lowercase) else {
        return false;
    };
    match defect {
        Some(Defect::HashSecretIgnored) => m.expected.digest("") == sent,
        Some(Defect::HashOrderIgnored) => {
            let mut reversed = m.expected.clone();
            reversed.parts.reverse();
            reversed.digest(secret) == sent
        }
        _ => false,
    }
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
