//! The state of one mock instance, shared by every connection: the product, the catalogue, the
//! live world with its settings, quirks, clock and overlay behind one lock, the journal, and the
//! start state that `/__admin/reset` returns to.
//!
//! Locking: API reads take the read lock for the whole of their checks and answer; write
//! methods (catalogue `writes: true`, or a handler that writes) take the write lock, so a write
//! is atomic and seen by every later read. No lock is held across an `.await`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use model::catalogue::{Catalogue, Product, ProductCatalogue};
use model::scenario::{Overlay, Scenario, WorldBase};
use model::world::WorldData;
use model::{Quirks, Settings};

use crate::admin::AdminAccess;
use crate::clock::Clock;
use crate::config::{ConfigError, Limits, MockConfig};
use crate::defect::Defect;
use crate::generate;
use crate::journal::Journal;
use crate::overlay::OverlayState;
use crate::unseen;
use crate::world::World;

/// The part of the state that requests read and write methods change.
#[derive(Debug)]
pub struct Live {
    /// The world methods compute from.
    pub world: World,
    /// Settings in force.
    pub settings: Settings,
    /// Quirks in force.
    pub quirks: Quirks,
    /// The clock.
    pub clock: Clock,
    /// Canned answers and faults.
    pub overlay: OverlayState,
}

/// What `/__admin/reset` goes back to.
#[derive(Debug, Clone)]
struct Start {
    world: World,
    settings: Settings,
    quirks: Quirks,
    clock: Clock,
    overlay: Overlay,
}

/// Everything a request needs; one per mock instance, behind an `Arc`.
#[derive(Debug)]
pub struct Shared {
    /// The product mocked.
    pub product: Product,
    /// The catalogue in force (embedded plus the extra file).
    pub catalogue: Catalogue,
    /// Whether hash mismatches are explained in a response header.
    pub explain: bool,
    /// The deliberate defect switched on (test only; see `defect`). Fixed for the instance's
    /// life: reset, reload and the admin API leave it alone.
    pub defect: Option<Defect>,
    live: RwLock<Live>,
    /// Counts the write locks taken (see [`Shared::write`]).
    generation: AtomicU64,
    /// One scenario application at a time.
    applying: Mutex<()>,
    /// The request journal.
    pub journal: Journal,
    /// Who may use the admin API (from the bound address and the admin token).
    pub admin: AdminAccess,
    /// Body size and read time bounds of the server.
    pub limits: Limits,
    /// The proxy, when the mock forwards API requests to a deployment (`--proxy`).
    pub proxy: Option<crate::proxy::Proxy>,
    /// Recent login attempts per client address (quirk `login_throttle`).
    pub logins: crate::login_throttle::LoginHistory,
    start: Mutex<Start>,
    config: Mutex<MockConfig>,
    /// The edge (axum router inside its tower layers) serving this instance, built on first use.
    edge: OnceLock<crate::server::EdgeService>,
}

impl Shared {
    /// Build the state a configuration describes (no socket involved).
    pub fn new(mut config: MockConfig) -> Result<Shared, ConfigError> {
        let catalogue = config.catalogue()?;
        // The scenarios are consumed: their records move into the start state (keeping them
        // too would hold a large world twice).
        let scenarios = std::mem::take(&mut config.scenarios);
        let start = build_start(&config, scenarios, catalogue.product(config.product))?;
        let live = start.to_live(catalogue.product(config.product));
        let proxy = match &config.proxy {
            Some(p) => Some(crate::proxy::Proxy::new(p.clone()).map_err(ConfigError::Proxy)?),
            None => None,
        };
        Ok(Shared {
            product: config.product,
            catalogue,
            explain: config.explain,
            defect: config.defect,
            live: RwLock::new(live),
            generation: AtomicU64::new(0),
            applying: Mutex::new(()),
            journal: Journal::new(),
            admin: AdminAccess::of(config.bind.ip(), config.admin_token.as_ref()),
            limits: config.limits,
            proxy,
            logins: Default::default(),
            start: Mutex::new(start),
            config: Mutex::new(config),
            edge: OnceLock::new(),
        })
    }

    /// The router that serves this instance (the same for the server and in-process callers;
    /// built once, a cheap handle after that).
    pub fn edge(self: &Arc<Self>) -> crate::server::EdgeService {
        self.edge.get_or_init(|| crate::server::app(self)).clone()
    }

    /// The catalogue of the mocked product.
    pub fn methods(&self) -> &ProductCatalogue {
        self.catalogue.product(self.product)
    }

    /// The live state, to read. A panic in another request cannot leave the state half-written
    /// (writes build their result before storing it), so a poisoned lock is taken over.
    pub fn read(&self) -> RwLockReadGuard<'_, Live> {
        self.live.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The live state, to change. Every write counts (see [`Shared::apply_scenario`]).
    pub fn write(&self) -> RwLockWriteGuard<'_, Live> {
        let guard = self.live.write().unwrap_or_else(|e| e.into_inner());
        // Counted while the lock is held, so a builder that read the count under the read
        // lock sees every write that came after its copy.
        self.generation.fetch_add(1, Ordering::SeqCst);
        guard
    }

    /// Replace the live state; the old one is freed after the lock is released.
    fn swap(&self, live: Live) {
        let old = std::mem::replace(&mut *self.write(), live);
        drop(old);
    }

    /// Go back to the start world, settings, quirks, clock and overlay, and forget the login
    /// attempts (the journal is kept). The copy of the start world is made before the write
    /// lock is taken.
    pub fn reset(&self) {
        self.logins.clear();
        let live = {
            let start = self.start.lock().unwrap_or_else(|e| e.into_inner());
            start.to_live(self.methods())
        };
        self.swap(live);
    }

    /// Lay one more scenario over the live state (`/__admin/scenario`). The start state is not
    /// changed: a reset forgets it. On error nothing changes.
    ///
    /// The new state is built from a copy, outside the write lock (merging and indexing a large
    /// world takes a while), and swapped in; API requests go on meanwhile. A write that lands
    /// between the copy and the swap is not lost: the build starts again from the new state
    /// (a few times, then under the write lock).
    pub fn apply_scenario(&self, scenario: &Scenario) -> Result<(), ConfigError> {
        let _one_at_a_time = self.applying.lock().unwrap_or_else(|e| e.into_inner());
        let base = {
            let config = self.config.lock().unwrap_or_else(|e| e.into_inner());
            Base::of(&config)
        };
        for _ in 0..APPLY_ATTEMPTS {
            let (generation, parts) = {
                let live = self.read();
                (self.generation.load(Ordering::SeqCst), Parts::of(&live))
            };
            let built = parts.layered(self.product, base, scenario, self.methods())?;
            let old = {
                let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
                if self.generation.load(Ordering::SeqCst) != generation {
                    continue;
                }
                self.generation.fetch_add(1, Ordering::SeqCst);
                std::mem::replace(&mut *live, built)
            };
            // The old world is freed after the lock is released.
            drop(old);
            return Ok(());
        }
        let mut live = self.write();
        let built = Parts::of(&live).layered(self.product, base, scenario, self.methods())?;
        let old = std::mem::replace(&mut *live, built);
        drop(live);
        drop(old);
        Ok(())
    }

    /// Rebuild everything from the configuration with these scenarios (files changed on disk).
    /// On error the old state is kept.
    pub fn reload(&self, scenarios: Vec<Scenario>) -> Result<(), ConfigError> {
        let mut config = self
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        config.scenarios = Vec::new();
        let start = build_start(&config, scenarios, self.methods())?;
        let live = start.to_live(self.methods());
        *self.start.lock().unwrap_or_else(|e| e.into_inner()) = start;
        self.swap(live);
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = config;
        Ok(())
    }
}

/// How many times a scenario is built outside the write lock before writers that keep changing
/// the state make it build under the lock.
const APPLY_ATTEMPTS: usize = 3;

/// A copy of the live state's parts, for a scenario to be laid over.
struct Parts {
    data: WorldData,
    settings: Settings,
    quirks: Quirks,
    clock: Clock,
    overlay: Overlay,
}

impl Parts {
    fn of(live: &Live) -> Parts {
        Parts {
            data: live.world.data.clone(),
            settings: live.settings.clone(),
            quirks: live.quirks.clone(),
            clock: live.clock,
            overlay: live.overlay.rules().clone(),
        }
    }

    /// The live state with `scenario` laid over these parts.
    fn layered(
        mut self,
        product: Product,
        base: Base,
        scenario: &Scenario,
        catalogue: &ProductCatalogue,
    ) -> Result<Live, ConfigError> {
        let mut data = Some(self.data);
        layer(
            product,
            base,
            scenario.clone(),
            &mut data,
            &mut self.settings,
            &mut self.quirks,
            &mut self.clock,
            &mut self.overlay,
        )?;
        let data = data.unwrap_or_else(|| base.generate(product, None, self.clock.now()));
        Ok(Live {
            world: World::build(data, self.clock.today().0),
            settings: self.settings,
            quirks: self.quirks,
            clock: self.clock,
            overlay: OverlayState::new(self.overlay, catalogue),
        })
    }
}

impl Start {
    fn to_live(&self, catalogue: &ProductCatalogue) -> Live {
        Live {
            world: self.world.clone(),
            settings: self.settings.clone(),
            quirks: self.quirks.clone(),
            clock: self.clock,
            overlay: OverlayState::new(self.overlay.clone(), catalogue),
        }
    }
}

/// Which generated world a mock starts from: the default world of a seed, or the unseen world
/// of a seed (`MockConfig::unseen_world`, never a scenario's choice).
#[derive(Debug, Clone, Copy)]
struct Base {
    seed: Option<u64>,
    unseen: Option<u64>,
}

impl Base {
    fn of(config: &MockConfig) -> Base {
        Base {
            seed: config.seed,
            unseen: config.unseen_world,
        }
    }

    /// The generated world at `now`; `seed` (a scenario's `world.seed`) replaces the configured
    /// seed of whichever kind is in force.
    fn generate(self, product: Product, seed: Option<u64>, now: i64) -> WorldData {
        let key = match self.unseen {
            Some(unseen) => Generated::Unseen(product, seed.unwrap_or(unseen), now),
            None => Generated::Default(product, seed.or(self.seed).unwrap_or(1), now),
        };
        key.world()
    }
}

/// A generated world, named by what it is a function of: its kind, product, seed and `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generated {
    Default(Product, u64, i64),
    Unseen(Product, u64, i64),
}

/// How many generated worlds are kept for reuse.
const GENERATED_KEPT: usize = 4;

impl Generated {
    /// The world, generated or, when one of the last few generated is the same, copied.
    ///
    /// Generating is a pure function of the key, and a process often builds many mocks on one
    /// world (the runner in-process builds one per scenario file, most on the default world at
    /// one pinned clock): copying the world is a fraction of generating it again.
    fn world(self) -> WorldData {
        static KEPT: Mutex<Vec<(Generated, Arc<WorldData>)>> = Mutex::new(Vec::new());
        let hit = {
            let kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
            kept.iter()
                .find(|(k, _)| *k == self)
                .map(|(_, w)| Arc::clone(w))
        };
        if let Some(w) = hit {
            return WorldData::clone(&w);
        }
        let w = match self {
            Generated::Default(product, seed, now) => generate::default_world(product, seed, now),
            Generated::Unseen(product, seed, now) => unseen::unseen_world(product, seed, now),
        };
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        if !kept.iter().any(|(k, _)| *k == self) {
            if kept.len() == GENERATED_KEPT {
                kept.remove(0);
            }
            kept.push((self, Arc::new(w.clone())));
        }
        w
    }
}

fn build_start(
    config: &MockConfig,
    scenarios: Vec<Scenario>,
    _catalogue: &ProductCatalogue,
) -> Result<Start, ConfigError> {
    let mut settings = Settings::default();
    settings.apply(&config.settings);
    let mut quirks = Quirks::default();
    quirks.apply(&config.quirks);
    let mut clock = config.clock.map_or(Clock::Real, Clock::Pinned);
    let mut overlay = Overlay::default();
    // The default world is generated only if no scenario replaces it first.
    let mut data: Option<WorldData> = None;
    for s in scenarios
        .into_iter()
        .filter(|s| s.applies_to(config.product))
    {
        layer(
            config.product,
            Base::of(config),
            s,
            &mut data,
            &mut settings,
            &mut quirks,
            &mut clock,
            &mut overlay,
        )?;
    }
    let data = data.unwrap_or_else(|| Base::of(config).generate(config.product, None, clock.now()));
    Ok(Start {
        world: World::build(data, clock.today().0),
        settings,
        quirks,
        clock,
        overlay,
    })
}

/// Lay one scenario over the parts of a state.
#[allow(clippy::too_many_arguments)]
fn layer(
    product: Product,
    base: Base,
    s: Scenario,
    data: &mut Option<WorldData>,
    settings: &mut Settings,
    quirks: &mut Quirks,
    clock: &mut Clock,
    overlay: &mut Overlay,
) -> Result<(), ConfigError> {
    if let Some(w) = &s.clock {
        let t = w.resolve(clock.today().0).map_err(ConfigError::Clock)?;
        *clock = Clock::Pinned(t);
    }
    if let Some(p) = &s.settings {
        settings.apply(p);
    }
    if let Some(p) = &s.quirks {
        quirks.apply(p);
    }
    if let Some(w) = s.world {
        let now = clock.now();
        match (w.base, w.seed) {
            (WorldBase::Empty, _) => {
                *data = Some(WorldData {
                    users: vec![generate::admin()],
                    ..WorldData::default()
                });
            }
            (WorldBase::Default, Some(seed)) => {
                *data = Some(base.generate(product, Some(seed), now));
            }
            (WorldBase::Default, None) => {
                if data.is_none() {
                    *data = Some(base.generate(product, None, now));
                }
            }
        }
        if let Some(d) = data.as_mut() {
            d.extend_with(w.data);
        }
    }
    if let Some(o) = s.overlay {
        overlay.seed = o.seed;
        overlay.responses.extend(o.responses);
        overlay.faults.extend(o.faults);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(yaml: &str) -> Scenario {
        model::scenario::load_str(yaml, Path::new("t.yaml"), Catalogue::embedded())
            .map(|l| l.scenario)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn scenarios_layer_over_flags_in_order_and_reset_returns_to_the_start() {
        let config = MockConfig::new(Product::M4)
            .settings(model::settings::SettingsPatch {
                allow_get: Some(true),
                api_secret: Some("flag".into()),
                ..Default::default()
            })
            .scenario(scenario("version: 1\nsettings: { api_secret: one }\n"))
            .scenario(scenario(
                "version: 1\nclock: \"2026-11-23 12:00:00\"\nsettings: { hash_check: false }\n",
            ));
        let shared = Shared::new(config).unwrap_or_else(|e| panic!("{e}"));
        {
            let live = shared.read();
            assert!(live.settings.allow_get);
            assert_eq!(live.settings.api_secret, "one");
            assert!(!live.settings.hash_check);
            assert!(matches!(live.clock, Clock::Pinned(_)));
        }
        shared.write().settings.api_enabled = false;
        shared.reset();
        assert!(shared.read().settings.api_enabled);
        assert_eq!(shared.read().settings.api_secret, "one");
    }

    #[test]
    fn an_empty_base_keeps_only_the_admin_and_the_records_given() {
        let s = scenario("version: 1\nworld:\n  base: empty\n  users:\n    - { id: 5, username: eve, role: user }\n");
        let shared = Shared::new(MockConfig::new(Product::Mor).scenario(s))
            .unwrap_or_else(|e| panic!("{e}"));
        let live = shared.read();
        let names: Vec<&str> = live
            .world
            .data
            .users
            .iter()
            .map(|u| u.username.as_str())
            .collect();
        assert_eq!(names, ["admin", "eve"]);
    }

    #[test]
    fn relative_times_of_a_scenario_world_follow_the_pinned_clock() {
        let s = scenario(
            "version: 1\nclock: \"2020-01-15 12:00:00\"\nworld:\n  base: empty\n  users:\n    - { id: 5, username: eve, role: user }\n  calls:\n    - { id: 1, calldate: \"today 10:00:00\", dst: \"370\", user_id: 5, disposition: ANSWERED }\n",
        );
        let shared =
            Shared::new(MockConfig::new(Product::M4).scenario(s)).unwrap_or_else(|e| panic!("{e}"));
        let live = shared.read();
        let (start, end) = live.clock.today();
        assert_eq!(live.world.calls_between(start, end).len(), 1);
    }

    #[test]
    fn an_unseen_world_replaces_the_default_world_and_scenarios_build_on_it() {
        let s = scenario(
            "version: 1\nworld:\n  base: default\n  users:\n    - { id: 99999, username: eve, role: user }\n",
        );
        let config = MockConfig::new(Product::Mor).unseen_world(3).scenario(s);
        let shared = Shared::new(config).unwrap_or_else(|e| panic!("{e}"));
        let live = shared.read();
        assert!(live.world.user_by_name("user1").is_none());
        assert!(live.world.user_by_name("eve").is_some());
        for a in unseen::unseen_accounts(Product::Mor, 3) {
            assert!(live.world.user_by_name(&a.username).is_some(), "{a:?}");
        }
        drop(live);
        shared.reset();
        assert!(shared.read().world.user_by_name("user1").is_none());
    }

    #[test]
    fn a_scenario_cannot_switch_on_a_defect_or_the_unseen_world() {
        for field in ["defect: any_hash_accepted", "unseen_world: 3"] {
            let r = model::scenario::load_str(
                &format!("version: 1\n{field}\n"),
                Path::new("t.yaml"),
                Catalogue::embedded(),
            );
            assert!(r.is_err(), "{field}");
        }
    }

    #[test]
    fn a_write_during_a_scenario_build_is_never_lost() {
        let shared = Shared::new(MockConfig::new(Product::M4).clock(1_795_435_200))
            .unwrap_or_else(|e| panic!("{e}"));
        let before = shared.read().world.user(1).map(|u| u.balance);
        let mut calls = String::from("version: 1\nworld:\n  base: default\n  calls:\n");
        for i in 0..2_000 {
            calls.push_str(&format!(
                "    - {{ id: {}, calldate: \"today 10:00:00\", dst: \"370\", user_id: 1, disposition: ANSWERED }}\n",
                900_000 + i
            ));
        }
        let s = scenario(&calls);
        let writes = 300;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..5 {
                    shared.apply_scenario(&s).unwrap_or_else(|e| panic!("{e}"));
                }
            });
            scope.spawn(|| {
                for _ in 0..writes {
                    let changed = shared
                        .write()
                        .world
                        .change_balance(1, model::world::Money::units(1));
                    assert!(changed.is_some());
                    std::thread::yield_now();
                }
            });
        });
        let after = shared.read().world.user(1).map(|u| u.balance);
        assert_eq!(
            after.zip(before).map(|(a, b)| a.0 - b.0),
            Some(model::world::Money::units(writes).0)
        );
        assert!(shared
            .read()
            .world
            .data
            .calls
            .iter()
            .any(|c| c.id == 900_000));
    }

    #[test]
    fn reload_replaces_the_state_built_from_the_files() {
        let shared = Shared::new(MockConfig::new(Product::M4)).unwrap_or_else(|e| panic!("{e}"));
        assert!(shared.read().settings.api_enabled);
        shared
            .reload(vec![scenario(
                "version: 1\nsettings: { api_enabled: false }\n",
            )])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!shared.read().settings.api_enabled);
        shared.reset();
        assert!(
            !shared.read().settings.api_enabled,
            "the reloaded files are the new start"
        );
    }

    #[test]
    fn a_kept_generated_world_is_the_one_its_key_generates() {
        // More keys than are kept, each asked twice in a row and again after the others, so
        // hits, misses and evictions all happen; every answer must equal a fresh generation.
        let now = 1_795_435_200;
        let keys = [
            Generated::Default(Product::M4, 1, now),
            Generated::Default(Product::Mor, 1, now),
            Generated::Default(Product::M4, 2, now),
            Generated::Default(Product::M4, 1, now + 86_400),
            Generated::Unseen(Product::M4, 1, now),
            Generated::Unseen(Product::Mor, 7, now),
        ];
        assert!(keys.len() > GENERATED_KEPT);
        for round in 0..2 {
            for key in keys {
                let fresh = match key {
                    Generated::Default(p, seed, now) => generate::default_world(p, seed, now),
                    Generated::Unseen(p, seed, now) => unseen::unseen_world(p, seed, now),
                };
                assert!(key.world() == fresh, "round {round}: {key:?}");
                assert!(key.world() == fresh, "round {round}, kept: {key:?}");
            }
        }
    }
}
