//! The mock's world at run time: the records of [`model::world::WorldData`] with the indexes the
//! methods need. Built from the generated default world (see `generate`) or a scenario's.

use std::collections::HashMap;

use model::world::{User, WorldData};

/// The world the mock computes from.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// All records.
    pub data: WorldData,
    user_by_id: HashMap<u64, usize>,
    user_by_name: HashMap<String, usize>,
    user_by_uniquehash: HashMap<String, usize>,
}

impl World {
    /// Index a world.
    pub fn new(data: WorldData) -> World {
        let mut w = World {
            data,
            ..World::default()
        };
        w.reindex();
        w
    }

    /// Rebuild the indexes after records were added or removed.
    pub fn reindex(&mut self) {
        self.user_by_id.clear();
        self.user_by_name.clear();
        self.user_by_uniquehash.clear();
        for (i, u) in self.data.users.iter().enumerate() {
            self.user_by_id.insert(u.id, i);
            self.user_by_name.insert(u.username.clone(), i);
            if !u.uniquehash.is_empty() {
                self.user_by_uniquehash.insert(u.uniquehash.clone(), i);
            }
        }
    }

    /// The user with this id.
    pub fn user(&self, id: u64) -> Option<&User> {
        self.user_by_id.get(&id).map(|&i| &self.data.users[i])
    }

    /// The user with this id, to change.
    pub fn user_mut(&mut self, id: u64) -> Option<&mut User> {
        self.user_by_id.get(&id).map(|&i| &mut self.data.users[i])
    }

    /// The user logging in as `username`.
    pub fn user_by_name(&self, username: &str) -> Option<&User> {
        self.user_by_name.get(username).map(|&i| &self.data.users[i])
    }

    /// The user with this uniquehash.
    pub fn user_by_uniquehash(&self, hash: &str) -> Option<&User> {
        self.user_by_uniquehash
            .get(hash)
            .map(|&i| &self.data.users[i])
    }
}
