//! The embedded default world, generated deterministically from a seed relative to the clock.

use model::catalogue::{Product, Role};
use model::world::{User, WorldData};

/// The default world of `product` for `seed`, with "today" and "this month" relative to `now`.
pub fn default_world(product: Product, seed: u64, now: i64) -> WorldData {
    let _ = (product, seed, now);
    WorldData {
        users: vec![admin()],
        ..WorldData::default()
    }
}

/// The System Admin (id 0).
pub fn admin() -> User {
    User {
        id: 0,
        username: "admin".into(),
        password: "admin".into(),
        role: Role::Admin,
        first_name: "System".into(),
        last_name: "Admin".into(),
        balance: Default::default(),
        currency: "USD".into(),
        owner_id: 0,
        uniquehash: "adm1nun1q".into(),
        api_secret: None,
        hash_check_disabled: false,
        permissions: Vec::new(),
        tariff_id: None,
        postpaid: true,
        credit: None,
        blocked: false,
        email: String::new(),
        country: String::new(),
        vat_percent: Default::default(),
    }
}
