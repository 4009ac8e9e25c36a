//! Facts of a target: what a case needs to know about a deployment's data to run on it (a
//! caller's id, a device, a period that has calls, an id proven absent).
//!
//! A case names a fact instead of a literal id of a world: `s_user: $user.id`. The runner fills
//! facts from the target file, from read-only discovery against a foreign target, or from the
//! world of the in-process mock; a case whose fact is unknown is skipped with the fact's name.
//! The vocabulary is fixed ([`FACTS`]), so a misspelled fact is an error when the file loads.
//!
//! ```text
//! $user.id                 the id of the `user` credential's account
//! $period_with_calls.start the first second (Unix) of a day on which `user` made calls
//! $absent.username         a username the target proved not to know
//! ```
//!
//! Inside a longer value a fact is written `{{fact:NAME}}` (`<id>{{fact:tariff.id}}</id>` in an
//! XML parameter). A password fact is a whole value only: it is masked in every report, which the
//! text around it would not be.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The roles a case can call as (`as:`) and a target file can give credentials for.
pub const ROLES: [&str; 6] = [
    "admin",
    "manager",
    "reseller",
    "reseller_pro",
    "accountant",
    "user",
];

/// The caller that sends no `u` at all.
pub const NOBODY: &str = "nobody";

/// Every fact a case may name, with what it means.
pub const FACTS: &[(&str, &str)] = &[
    ("admin.username", "the admin's username"),
    (
        "admin.uniquehash",
        "the admin's uniquehash (user_register's owner; the API never shows it: give it in the target file)",
    ),
    ("admin.id", "the admin's user id"),
    ("manager.username", "the manager credential's username"),
    ("manager.id", "the manager credential's user id"),
    ("reseller.username", "the reseller credential's username"),
    ("reseller.id", "the reseller credential's user id"),
    (
        "reseller_pro.username",
        "the reseller PRO credential's username",
    ),
    ("reseller_pro.id", "the reseller PRO credential's user id"),
    (
        "accountant.username",
        "the accountant credential's username",
    ),
    ("accountant.id", "the accountant credential's user id"),
    (
        "user.username",
        "the simple user credential's username (without one: a user of the admin with calls)",
    ),
    (
        "user.id",
        "the simple user credential's user id (without one: a user of the admin with calls)",
    ),
    (
        "user.password",
        "the simple user's password (from the credentials' password_env; never printed)",
    ),
    (
        "admin.password",
        "the admin's password (from password_env; never printed)",
    ),
    (
        "manager.password",
        "the manager's password (from password_env; never printed)",
    ),
    (
        "reseller.password",
        "the reseller's password (from password_env; never printed)",
    ),
    (
        "other_user.username",
        "a simple user of the admin other than the `user` credential",
    ),
    ("other_user.id", "that other user's id"),
    (
        "other_user_device.id",
        "a device of that other user (the device writes no other scenario reads back)",
    ),
    ("device.id", "a device of the `user` credential's account"),
    ("tariff.id", "a tariff the admin can read"),
    (
        "provider.id",
        "a provider of the admin (MOR: the provider of a DID dids_get lists)",
    ),
    (
        "currency.code",
        "a currency other than the default, known to the target",
    ),
    (
        "period_with_calls.start",
        "00:00:00 (Unix seconds) of a day on which `user` made calls",
    ),
    ("period_with_calls.end", "23:59:59 of that day"),
    (
        "period_with_calls.wide_start",
        "00:00:00 six days before that day (a week ending with it)",
    ),
    (
        "today.start",
        "00:00:00 (Unix seconds) of today in the target's clock (UTC)",
    ),
    ("today.end", "23:59:59 of today"),
    ("month.start", "00:00:00 of the first day of this month"),
    (
        "run.id",
        "a token of this run (against a deployment the runner's start in Unix milliseconds; in-process 1): names a write creates, `Conformance tariff {{fact:run.id}}`, stay new when the suite runs against the same deployment again",
    ),
    (
        "reseller_user.id",
        "a simple user of the `reseller` credential (users_get as the reseller)",
    ),
    ("reseller_user.username", "that user's username"),
    (
        "service.id",
        "a service of the admin (MOR; no read shows a service's id: give it in the target file)",
    ),
    (
        "reseller_service.id",
        "a service of the `reseller` credential (MOR; give it in the target file)",
    ),
    (
        "subscription.id",
        "a subscription of a simple user of the admin (subscriptions_get as the admin)",
    ),
    (
        "credit_note.id",
        "a credit note of a simple user of the admin, the `user` account's where he has one (MOR; no read shows a credit note's id: give it in the target file)",
    ),
    (
        "reseller_credit_note.id",
        "a credit note of a simple user of a reseller (MOR; give it in the target file)",
    ),
    (
        "absent.credit_note_id",
        "a credit note id the target does not know (credit_notes_get as the admin lists none by it)",
    ),
    ("absent.user_id", "a user id the target does not know"),
    ("absent.username", "a username the target does not know"),
    ("absent.device_id", "a device id the target does not know"),
    ("absent.tariff_id", "a tariff id the target does not know"),
    (
        "number_pool.id",
        "a number pool of the admin, one with numbers where there is one (number_pools_get)",
    ),
    (
        "absent.number_pool_id",
        "a number pool id the target does not know",
    ),
    (
        "phonebook.id",
        "a phonebook record of the `user` credential's account (MOR phonebooks_get)",
    ),
    (
        "absent.phonebook_id",
        "a phonebook record id far above every one seen (MOR; no read finds a record by id, so not proven absent)",
    ),
    (
        "lcr.id",
        "an LCR of the admin, one with providers where there is one (MOR lcrs_get lists the first)",
    ),
    ("lcr.name", "that LCR's name (lcrs_get's s_name)"),
    (
        "absent.lcr_id",
        "an LCR id far above every one seen (MOR; no read finds an LCR by id, so not proven absent)",
    ),
    (
        "absent.provider_rule_id",
        "a provider rule id far above every one seen (MOR; no read finds a rule by id, so not proven absent)",
    ),
];

/// The role whose password a fact names (`user.password` -> `user`): such facts come from the
/// credentials, are masked in every report, and are never kept with the other facts.
pub fn password_of(name: &str) -> Option<&str> {
    name.strip_suffix(".password")
}

/// Whether `name` (without the `$`) is a fact of the vocabulary.
pub fn is_fact(name: &str) -> bool {
    FACTS.iter().any(|(n, _)| *n == name)
}

/// The fact a value names (`$user.id` -> `user.id`), if it names one. Only a whole value is a
/// reference; `$` elsewhere is literal text.
pub fn reference(value: &str) -> Option<&str> {
    let name = value.strip_prefix('$')?;
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    ok.then_some(name)
}

/// The facts a value names: the whole value `$NAME`, or each `{{fact:NAME}}` inside it (a
/// name there may be misspelled: [`is_fact`] tells).
pub fn references(value: &str) -> Vec<&str> {
    if let Some(name) = reference(value) {
        return vec![name];
    }
    embedded(value).map(|(_, name, _)| name).collect()
}

/// The `{{fact:NAME}}` of a value (spaces inside the braces allowed, as with the other
/// placeholders): where each starts, its name, where it ends.
fn embedded(value: &str) -> impl Iterator<Item = (usize, &str, usize)> {
    let mut from = 0;
    std::iter::from_fn(move || loop {
        let start = from + value.get(from..)?.find("{{")?;
        let len = value[start + 2..].find("}}")?;
        from = start + 2 + len + 2;
        if let Some(name) = value[start + 2..start + 2 + len]
            .trim()
            .strip_prefix("fact:")
        {
            return Some((start, name.trim(), from));
        }
    })
}

/// `value` with its fact references replaced by what `lookup` gives; `Err(name)` for the first
/// fact `lookup` does not know.
pub fn interpolate(value: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    if let Some(name) = reference(value) {
        return lookup(name).ok_or_else(|| name.to_string());
    }
    let mut out = String::with_capacity(value.len());
    let mut done = 0;
    for (start, name, end) in embedded(value) {
        out.push_str(&value[done..start]);
        out.push_str(&lookup(name).ok_or_else(|| name.to_string())?);
        done = end;
    }
    out.push_str(&value[done..]);
    Ok(out)
}

/// Known facts of one target, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Facts(pub BTreeMap<String, String>);

impl Facts {
    /// The value of a fact.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Set a fact (a later source wins).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_string(), value.into());
    }

    /// Set a fact unless it is already known (the target file wins over discovery).
    pub fn fill(&mut self, name: &str, value: impl Into<String>) {
        self.0
            .entry(name.to_string())
            .or_insert_with(|| value.into());
    }

    /// `value` with its fact references replaced by the facts; `Err(name)` for an unknown one.
    pub fn resolve(&self, value: &str) -> Result<String, String> {
        interpolate(value, |name| self.get(name).map(str::to_string))
    }
}

/// The day holding Unix time `t`, in UTC: its first and last second.
pub fn day_of(t: i64) -> (i64, i64) {
    let start = t.div_euclid(86_400) * 86_400;
    (start, start + 86_399)
}

/// Set the three `period_with_calls` facts for the day holding `t`.
pub fn set_period_with_calls(facts: &mut Facts, t: i64) {
    let (start, end) = day_of(t);
    facts.set("period_with_calls.start", start.to_string());
    facts.set("period_with_calls.end", end.to_string());
    facts.set(
        "period_with_calls.wide_start",
        (start - 6 * 86_400).to_string(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_a_whole_value_naming_a_fact() {
        assert_eq!(reference("$user.id"), Some("user.id"));
        assert_eq!(reference("user.id"), None);
        assert_eq!(reference("$"), None);
        assert_eq!(reference("$5 off"), None);
        assert!(is_fact("period_with_calls.start"));
        assert!(!is_fact("user.idd"));
    }

    #[test]
    fn resolving_names_the_missing_fact() {
        let mut f = Facts::default();
        f.set("user.id", "17");
        assert_eq!(f.resolve("$user.id"), Ok("17".into()));
        assert_eq!(f.resolve("42"), Ok("42".into()));
        assert_eq!(f.resolve("$device.id"), Err("device.id".into()));
        assert_eq!(
            f.resolve("<id>{{fact:user.id}}</id><n>{{ fact:user.id }}</n>"),
            Ok("<id>17</id><n>17</n>".into())
        );
        assert_eq!(
            f.resolve("a {{fact:user.id}} b {{fact:device.id}}"),
            Err("device.id".into())
        );
        assert_eq!(f.resolve("{{fact:user.id"), Ok("{{fact:user.id".into()));
        assert_eq!(f.resolve("$5 and {{int}}"), Ok("$5 and {{int}}".into()));
        assert_eq!(
            references("x{{fact:user.id}}y{{fact:tariff.id}}"),
            ["user.id", "tariff.id"]
        );
        assert_eq!(references("$user.id"), ["user.id"]);
        f.fill("user.id", "18");
        assert_eq!(f.get("user.id"), Some("17"));
    }

    #[test]
    fn a_period_is_a_utc_day_and_the_week_ending_with_it() {
        let mut f = Facts::default();
        set_period_with_calls(&mut f, 1_795_435_200);
        assert_eq!(f.get("period_with_calls.start"), Some("1795392000"));
        assert_eq!(f.get("period_with_calls.end"), Some("1795478399"));
        assert_eq!(f.get("period_with_calls.wide_start"), Some("1794873600"));
    }
}
