//! Where requests go and who sends them: the target file, credentials per role, and the URL rule.
//!
//! URL rule: requests go to `{base}/billing/api/<method>`, unless the base already ends in
//! `/billing`, in which case they go to `{base}/api/<method>`. So `http://host` and
//! `http://host/billing` both reach `http://host/billing/api/<method>`. A case's raw `path`
//! replaces `/billing/api/<method>` and is taken from the site root (the base without a trailing
//! `/billing`).
//!
//! A target file (`--target-file`, YAML):
//!
//! ```yaml
//! base_url: https://billing.example.com/billing
//! product: m4
//! seeded: false            # true only if the target runs the scenarios' seeded world
//! credentials:
//!   admin:    { username: admin, secret_env: MOR_SECRET }
//!   reseller: { username: res1, secret_file: /run/secrets/res1 }
//!   user:     { username: alice, secret_env: MOR_SECRET, password_env: ALICE_PASSWORD }
//! policy: { require_get_disabled: true, require_hash_check: true, api_only_under_billing_api: true }
//! quirks: { hash_hex_case: any }   # known positions of this deployment's quirks, if any
//! ```
//!
//! Secrets are read from environment variables or files, never from the command line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use model::catalogue::Product;
use model::facts::Facts;
use model::quirks::{Quirks, QuirksPatch};
use model::settings::SettingsPatch;
use serde::Deserialize;

use crate::plan::Policy;
use crate::secret::{self, SecretError};

/// The target flags of `run`, `props` and `probe`. Every flag can also be given by the environment
/// variable named; secrets come from environment variables or files, never from the command line.
#[derive(Debug, Clone, Default, Args)]
pub struct TargetArgs {
    /// Base URL of the target (`http://host` or `http://host/billing`). `run` and `props` without
    /// one use the in-process mock.
    #[arg(long, env = "MOR_TARGET", value_name = "BASE_URL")]
    pub target: Option<String>,
    /// A target file (base URL, product, credentials per role, seeded, policy, quirks).
    #[arg(long, env = "MOR_TARGET_FILE", value_name = "FILE")]
    pub target_file: Option<PathBuf>,
    /// Product: mor, m4 (m2 is an alias of m4). Default: the target file's, else m4 (`probe`:
    /// told from the answers).
    #[arg(long, env = "MOR_PRODUCT")]
    pub product: Option<Product>,
    /// The admin's username on the target (default: the target file's, else `admin`).
    #[arg(long, env = "MOR_USERNAME")]
    pub username: Option<String>,
    /// Environment variable holding the admin's API secret (default `MOR_SECRET`).
    #[arg(
        long,
        env = "MOR_SECRET_ENV",
        value_name = "VAR",
        conflicts_with = "secret_file"
    )]
    pub secret_env: Option<String>,
    /// File holding the admin's API secret.
    #[arg(long, env = "MOR_SECRET_FILE", value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// A server generation's quirk positions (`x3`, `wiki-2024` for mor; `m4`): the in-process
    /// mock's, or what a target is known to do (as a target file's `profile:`, which it
    /// replaces; the file's `quirks:` still win). Implies its product.
    #[arg(long, env = "MOR_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
}

impl TargetArgs {
    /// The target file given (`--target-file`), or an empty one, with the profile (`--profile`,
    /// else the file's `profile:`) folded into its `quirks` (see [`TargetFile::with_profile`]).
    pub fn file(&self) -> Result<TargetFile, String> {
        TargetFile::load_or_default(self.target_file.as_deref())?
            .with_profile(self.product, self.profile.as_deref())
    }

    /// The base URL: `--target`, else the target file's.
    pub fn base(&self, tf: &TargetFile) -> Option<String> {
        self.target.clone().or(tf.base_url.clone())
    }

    /// The product: `--product`, else the target file's.
    pub fn product(&self, tf: &TargetFile) -> Option<Product> {
        self.product.or(tf.product)
    }

    /// The external target at `base`, with the admin flags applied (see [`External::resolve`]).
    pub fn external(&self, base: &str, tf: &TargetFile) -> Result<External, String> {
        External::resolve(
            base,
            tf,
            self.username.as_deref(),
            self.secret_env.as_deref(),
            self.secret_file.as_deref(),
        )
    }
}

/// An external target, resolved: where requests go, who signs them and how.
#[derive(Debug, Clone)]
pub struct External {
    /// Base URL, without a trailing `/`.
    pub base: String,
    /// Credentials per role.
    pub credentials: Credentials,
    /// Known quirks (how requests are signed for it): the target file's, else the defaults.
    pub quirks: Quirks,
}

impl External {
    /// The target at `base` with a target file's credentials (the admin's overridden by the
    /// flags given, see [`resolve_credentials`]) and known quirks.
    pub fn resolve(
        base: &str,
        tf: &TargetFile,
        username: Option<&str>,
        secret_env: Option<&str>,
        secret_file: Option<&Path>,
    ) -> Result<External, String> {
        if let Some((scheme, rest)) = base.split_once("://") {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            if authority.contains('@') {
                return Err(format!(
                    "the base URL carries credentials ({scheme}://…@…): give the target without them; secrets come from environment variables or files, never from the command line"
                ));
            }
        }
        let credentials = resolve_credentials(&tf.credentials, username, secret_env, secret_file)?;
        let mut quirks = Quirks::default();
        if let Some(q) = &tf.quirks {
            quirks.apply(q);
        }
        Ok(External {
            base: base.trim_end_matches('/').to_string(),
            credentials,
            quirks,
        })
    }
}

/// The roles a target file can give credentials for.
pub use model::facts::ROLES;

/// One role's credentials as written in a target file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    /// The username sent as `u`.
    pub username: String,
    /// Environment variable holding the API secret that signs this role's requests.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// File holding that secret.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Environment variable holding the password (user_login).
    #[serde(default)]
    pub password_env: Option<String>,
}

/// A target file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    /// Base URL (see the module's URL rule).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Product the target runs.
    #[serde(default)]
    pub product: Option<Product>,
    /// Whether the target runs our seeded world (exact checks run only then).
    #[serde(default)]
    pub seeded: Option<bool>,
    /// Credentials per role (`admin`, `manager`, `reseller`, `accountant`, `user`).
    #[serde(default)]
    pub credentials: BTreeMap<String, CredentialSpec>,
    /// What the deployment must have.
    #[serde(default)]
    pub policy: Option<Policy>,
    /// The server generation the deployment is known to be (a profile of
    /// `catalogue/profiles.yaml`): every quirk pinned at that profile's position, under
    /// `quirks`.
    #[serde(default)]
    pub profile: Option<String>,
    /// Known quirk positions of the deployment (used when signing; a pinned quirk's cases
    /// fail instead of being observed).
    #[serde(default)]
    pub quirks: Option<QuirksPatch>,
    /// Known settings of the deployment (`allow_get`, `hash_check`, `xml_extension`, ...);
    /// discovery finds the rest it can.
    #[serde(default)]
    pub settings: Option<SettingsPatch>,
    /// Known data (`user.id: 17`, `tariff.id: 3`, `currency.code: EUR`); discovery finds the
    /// rest it can. Names: `mor-conformance facts` or model::facts::FACTS.
    #[serde(default)]
    pub facts: Facts,
}

impl TargetFile {
    /// Read and parse a target file; errors name the file and line.
    pub fn load(path: &Path) -> Result<TargetFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let tf: TargetFile = model::yaml::from_str(&text, path).map_err(|e| e.to_string())?;
        for name in tf.facts.0.keys() {
            if !model::facts::is_fact(name) {
                return Err(format!(
                    "{}: facts.{name}: unknown fact (known: {})",
                    path.display(),
                    model::facts::FACTS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if let Some(name) = &tf.profile {
            let profiles = model::profile::Profiles::embedded();
            if !profiles.exists(name) {
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with("profile:"))
                    .map_or(1, |i| i + 1);
                return Err(format!(
                    "{}:{line}: profile: unknown profile `{name}` (known: {})",
                    path.display(),
                    profiles.names()
                ));
            }
        }
        for role in tf.credentials.keys() {
            if !ROLES.contains(&role.as_str()) {
                return Err(format!(
                    "{}: credentials.{role}: unknown role (expected one of {})",
                    path.display(),
                    ROLES.join(", ")
                ));
            }
        }
        Ok(tf)
    }

    /// Fold a profile into the known quirks: `flag` (`--profile`), else the file's `profile:`,
    /// sets every quirk to that profile's position; the file's own `quirks` are laid over it.
    /// The profile implies its product when neither `product` (`--product`) nor the file gives
    /// one; a profile of another product is an error listing that product's profiles.
    pub fn with_profile(
        mut self,
        product: Option<Product>,
        flag: Option<&str>,
    ) -> Result<TargetFile, String> {
        let Some(name) = flag.map(str::to_string).or(self.profile.clone()) else {
            return Ok(self);
        };
        let profiles = model::profile::Profiles::embedded();
        let product = match product.or(self.product) {
            Some(p) => p,
            None => profiles
                .all()
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.product)
                .ok_or_else(|| format!("unknown profile `{name}` (known: {})", profiles.names()))?,
        };
        let profile = profiles.get(product, &name)?;
        let mut quirks = profile.patch();
        if let Some(own) = &self.quirks {
            quirks.merge(own);
        }
        self.quirks = Some(quirks);
        self.product = Some(product);
        self.profile = Some(name);
        Ok(self)
    }

    /// [`TargetFile::load`] the file given, or an empty target file without one.
    pub fn load_or_default(path: Option<&Path>) -> Result<TargetFile, String> {
        path.map_or_else(|| Ok(TargetFile::default()), TargetFile::load)
    }
}

/// Where a credential's secret comes from, for reproductions (`"$MOR_SECRET"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file.
    File(PathBuf),
}

impl SecretSource {
    /// The source named by a variable or a file (the variable wins), if either is given.
    pub fn from_flags(env: Option<&str>, file: Option<&Path>) -> Option<SecretSource> {
        match (env, file) {
            (Some(v), _) => Some(SecretSource::Env(v.to_string())),
            (None, Some(f)) => Some(SecretSource::File(f.to_path_buf())),
            (None, None) => None,
        }
    }

    /// Read the secret.
    pub fn read(&self) -> Result<String, SecretError> {
        match self {
            SecretSource::Env(v) => secret::from_env(v),
            SecretSource::File(f) => secret::from_file(f),
        }
    }

    /// A shell expression that yields the secret: `"$VAR"` or `"$(cat FILE)"`.
    pub fn shell(&self) -> String {
        match self {
            SecretSource::Env(v) => format!("\"${v}\""),
            SecretSource::File(f) => format!(
                "\"$(cat {})\"",
                crate::client::shell_quote(&f.display().to_string())
            ),
        }
    }
}

/// One role's resolved credentials. The secret is never printed (see `report`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// Username sent as `u`.
    pub username: String,
    /// API secret that signs this role's requests.
    pub secret: String,
    /// Where the secret comes from, for reproductions.
    pub source: SecretSource,
    /// Password, for user_login.
    pub password: Option<String>,
    /// Where the password comes from, for reproductions (`"$USER_PASSWORD"`).
    pub password_source: Option<SecretSource>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("secret", &"<secret>")
            .field("source", &self.source)
            .finish()
    }
}

/// Credentials per role.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Role name -> credential.
    pub roles: BTreeMap<String, Credential>,
}

impl Credentials {
    /// The credential of a role.
    pub fn get(&self, role: &str) -> Option<&Credential> {
        self.roles.get(role)
    }

    /// Every API secret (no password), for what a run builds from a target's answers: a
    /// password enters a request only through its source, never as text to search for.
    pub fn api_secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.roles.values().map(|c| c.secret.clone()).collect();
        out.retain(|s| !s.is_empty());
        out.sort();
        out.dedup();
        out
    }

    /// Every secret and password, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in self.roles.values() {
            out.push(c.secret.clone());
            if let Some(p) = &c.password {
                out.push(p.clone());
            }
        }
        out.retain(|s| !s.is_empty());
        out.sort();
        out.dedup();
        out
    }

    /// What answers from a target with these credentials are masked with: every secret and
    /// password, with the usernames always shown.
    pub fn known(&self) -> crate::secret::Known {
        crate::secret::Known::new(self.secrets())
            .with_usernames(self.roles.values().map(|c| c.username.clone()))
    }

    /// Resolve a target file's credentials (reading environment variables and files).
    pub fn from_specs(specs: &BTreeMap<String, CredentialSpec>) -> Result<Credentials, String> {
        let mut roles = BTreeMap::new();
        for (role, spec) in specs {
            let source =
                SecretSource::from_flags(spec.secret_env.as_deref(), spec.secret_file.as_deref())
                    .ok_or_else(|| format!("credentials.{role}: give secret_env or secret_file"))?;
            let secret = source
                .read()
                .map_err(|e| format!("credentials.{role}: {e}"))?;
            let password = match &spec.password_env {
                Some(v) => {
                    Some(secret::from_env(v).map_err(|e| format!("credentials.{role}: {e}"))?)
                }
                None => None,
            };
            roles.insert(
                role.clone(),
                Credential {
                    username: spec.username.clone(),
                    secret,
                    source,
                    password,
                    password_source: spec.password_env.clone().map(SecretSource::Env),
                },
            );
        }
        Ok(Credentials { roles })
    }
}

/// Credentials of an external target: a target file's, with the admin's overridden by the flags
/// given (`username`, a secret variable or a secret file). Without a target-file admin the
/// admin is `admin` signing with `$MOR_SECRET`. The rules of every command that reaches an
/// external target (see [`External::resolve`]).
pub fn resolve_credentials(
    specs: &BTreeMap<String, CredentialSpec>,
    username: Option<&str>,
    secret_env: Option<&str>,
    secret_file: Option<&Path>,
) -> Result<Credentials, String> {
    let mut specs = specs.clone();
    let flags_given = username.is_some() || secret_env.is_some() || secret_file.is_some();
    if flags_given || !specs.contains_key("admin") {
        let old = specs.get("admin").cloned();
        let username = username
            .map(str::to_string)
            .or(old.as_ref().map(|o| o.username.clone()))
            .unwrap_or_else(|| "admin".into());
        let (secret_env, secret_file) = match (secret_env, secret_file) {
            (Some(v), _) => (Some(v.to_string()), None),
            (None, Some(f)) => (None, Some(f.to_path_buf())),
            (None, None) => match &old {
                Some(o) => (o.secret_env.clone(), o.secret_file.clone()),
                None => (Some("MOR_SECRET".into()), None),
            },
        };
        specs.insert(
            "admin".into(),
            CredentialSpec {
                username,
                secret_env,
                secret_file,
                password_env: old.and_then(|o| o.password_env),
            },
        );
    }
    Credentials::from_specs(&specs).map_err(|m| {
        format!(
            "{m} (secrets come from environment variables or files, never from the command line)"
        )
    })
}

/// The site root of a base URL: without a trailing `/` or `/billing`.
pub fn site_root(base: &str) -> &str {
    let b = base.trim_end_matches('/');
    b.strip_suffix("/billing").unwrap_or(b)
}

/// The URL of `method` under `base` (see the module's URL rule).
pub fn api_url(base: &str, method: &str) -> String {
    format!("{}/billing/api/{method}", site_root(base))
}

/// The URL of a raw path under `base`'s site root.
pub fn raw_url(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        format!("{}{path}", site_root(base))
    } else {
        format!("{}/{path}", site_root(base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_lives_under_billing_api_whether_or_not_the_base_names_billing() {
        assert_eq!(
            api_url("http://127.0.0.1:8080", "quickstats_get"),
            "http://127.0.0.1:8080/billing/api/quickstats_get"
        );
        assert_eq!(
            api_url("http://host/billing/", "x"),
            "http://host/billing/api/x"
        );
        assert_eq!(
            raw_url("http://host/billing", "/api/x"),
            "http://host/api/x"
        );
    }

    #[test]
    fn a_target_file_with_an_unknown_field_is_refused_with_its_line() {
        let dir = std::env::temp_dir().join(format!("target-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.yaml");
        std::fs::write(&f, "base_url: http://x\nseded: true\n").unwrap();
        let e = TargetFile::load(&f).unwrap_err();
        assert!(e.contains("t.yaml:2"), "{e}");
        assert!(e.contains("seded"), "{e}");
    }

    #[test]
    fn a_base_url_with_credentials_is_refused_without_repeating_them() {
        let e = External::resolve(
            "http://user:pw@host/billing",
            &TargetFile::default(),
            None,
            Some("PATH"),
            None,
        )
        .unwrap_err();
        assert!(e.contains("carries credentials"), "{e}");
        assert!(!e.contains("pw"), "{e}");
    }

    #[test]
    fn debug_output_of_a_credential_hides_the_secret() {
        let c = Credential {
            username: "admin".into(),
            secret: "hunter2".into(),
            source: SecretSource::Env("X".into()),
            password: None,
            password_source: None,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
