//! Behaviour declared as data: a method whose work is an operation on the world's records
//! (list with filters, find by a key, create with validation, update, delete, assign and
//! unassign) is described in its catalogue entry (`engine:`) and run by the mock's one engine
//! (`mock_server::engine`), so adding such a method is a catalogue entry and its tests, not a
//! handler. This module holds the declaration, its templates and its checks; it runs nothing.
//!
//! ```yaml
//! engine:
//!   steps:                      # in order; the first failing check answers its error
//!     - { require: [did], error: Invalid DID specified }
//!     - { find: dids, as: did, where: { did: "{{param.did}}" }, error: DID was not found }
//!     - { allowed: "{{did.reseller_id}}", error: Your are not authorized to use this DID }
//!     - { check: "{{did.status}}", in: [active], error: DID is already free }
//!     - { update: did, set: { status: free, device_id: "0", user_id: "0" } }
//!   answer: <page><status><success>Device was unassigned from DID</success></status></page>
//! ```
//!
//! Steps: `setting` (a boolean setting must be on), `require` (parameters sent and not empty),
//! `valid` (a sent parameter has a form: `is: digits | number | flag | one_of`, `min_len`),
//! `same` / `differ` (two parameters equal / not equal), `find` (bind the record of a
//! collection whose fields equal the `where` values), `absent` (no such record: uniqueness),
//! `allowed` (the caller may act on the user an id names, under the method's `access` scope),
//! `check` (a value is `in` / `not_in` a list); then the writes `create` (a record from `set`,
//! its `id` the next free one, `{{new_id}}`), `update` (a bound record's fields from `set`; a
//! value naming a parameter that was not sent leaves the field as it is), `delete` (a bound
//! record) and `purge` (every record matching `where`). `when_sent: PARAM` runs a step only when
//! that parameter is sent and not empty, `unless_same: [A, B]` only when the two templates differ,
//! `when_same: [A, B]` only when they are equal (`["{{param.status}}", paid]`);
//! `in` / `not_in` values are templates. The calls are
//! read only by `absent: calls` (on user, device, provider, termination device or reseller). `list`
//! selects the rows of a collection by parameter filters, `exclude` / `only` field values and the
//! caller's scope, for an answer element marked `each="rows"` (`empty_error`: the error when no
//! row is left). `list.children` gives each row the records of another collection whose `key`
//! field is the row's id (a page of them: `offset`, `limit` parameters), repeated by an answer
//! element inside the row marked `each="NAME"`. A `create` or `purge` step with `each: PARAM`
//! runs once per comma-separated item of the parameter, `{{item}}` naming it. Writes take
//! effect together, after every check passed.
//!
//! Templates: `{{param.NAME}}`, `{{caller.FIELD}}` (and `{{caller.acting_id}}`: the account a
//! caller acts for, the admin's 0 for an accountant or manager), `{{BINDING.FIELD}}` (a record bound by
//! `find` or `create`, `row` in a list), `{{new_id}}` (in a `create`), `{{now}}` (date and time),
//! `{{today}}` (date); filters `|fixed:N` (N decimals), `|digits:N` (zero-padded to N digits),
//! `|usertype` (a role as MOR prints it), `|datetime` (Unix seconds as `YYYY-MM-DD HH:MM:SS`),
//! `|replace:FROM:TO` (every FROM as TO), `|decimal` (a number as a Rails decimal column stores
//! text: the number, else 0). In the answer an element with `if="{{...}}"` is
//! left out when the value is empty or `0`.
//!
//! `variants` names other answers the method gives where the documentation contradicts itself
//! (a page's revisions, the X3 code): the quirk `answer_variants` selects one per method
//! (`credit_note_delete: current_page`); without it the method answers `answer`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A method's behaviour as data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Engine {
    /// Checks and writes, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The rows an answer element marked `each="rows"` repeats, for a list method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListSpec>,
    /// The success answer: XML with templates (the declaration is the method's `response`).
    pub answer: String,
    /// Other success answers by name, one of which the quirk `answer_variants` may select for
    /// the method (a CONTRA point: what another revision of the page or the X3 code answers).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variants: BTreeMap<String, String>,
    /// The error text answered when a write cannot be stored (a value of the wrong type for its
    /// field); a documented error of the method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// The form a `valid` step wants of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// ASCII digits only.
    Digits,
    /// A decimal number (sign and fraction allowed).
    Number,
    /// `0` or `1`.
    Flag,
    /// One of `values`.
    OneOf,
    /// Any text (with `min_len`).
    Text,
}

/// One step; exactly one of the action fields is set, the others qualify it. Read it through
/// [`Step::action`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Action: a boolean setting that must be on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
    /// Action: parameters that must be sent, not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require: Option<Vec<String>>,
    /// Action: a parameter that, when sent and not empty, must have the form `is`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<String>,
    /// Action: two parameters that must be equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same: Option<[String; 2]>,
    /// Action: two parameters that must differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differ: Option<[String; 2]>,
    /// Action: bind (`as`) the first record of this collection matching `where`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find: Option<String>,
    /// Action: no record of this collection may match `where`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<String>,
    /// Action: the caller may act on the user this template names (the method's access scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<String>,
    /// Action: this template's value must be `in` (or not `not_in`) a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Action: create a record of this collection from `set`, bound `as`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<String>,
    /// Action: change the record bound under this name by `set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
    /// Action: delete the record bound under this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<String>,
    /// Action: delete every record of this collection matching `where`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge: Option<String>,
    /// Run the step only when this parameter is sent and not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_sent: Option<String>,
    /// Run the step (a `create` or a `purge`) once per comma-separated item of this parameter
    /// (trimmed, empty items left out; not sent: not at all), `{{item}}` naming the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub each: Option<String>,
    /// Skip the step when these two templates have the same value (a username changed to the
    /// one the user already has needs no uniqueness check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unless_same: Option<[String; 2]>,
    /// Run the step only when these two templates have the same value (a credit note is paid
    /// when `status` is `paid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_same: Option<[String; 2]>,
    /// The binding name (`find`, `create`).
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// Field -> template a record must match (`find`, `absent`).
    #[serde(default, rename = "where", skip_serializing_if = "BTreeMap::is_empty")]
    pub matching: BTreeMap<String, String>,
    /// Field -> template (`create`, `update`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<String, String>,
    /// The form (`valid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is: Option<Form>,
    /// The allowed values (`valid` with `one_of`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// The shortest length (`valid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_len: Option<usize>,
    /// Values allowed (`check`).
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
    /// Values refused (`check`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_in: Option<Vec<String>>,
    /// The error answered when the check fails (`allowed` without one: the general Access
    /// Denied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a step does, with its operands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action<'a> {
    /// A boolean setting must be on.
    Setting(&'a str),
    /// Parameters must be sent and not empty.
    Require(&'a [String]),
    /// A sent parameter must have a form.
    Valid(&'a str),
    /// Two parameters must be equal.
    Same(&'a [String; 2]),
    /// Two parameters must differ.
    Differ(&'a [String; 2]),
    /// Bind a record.
    Find(&'a str),
    /// No record may match.
    Absent(&'a str),
    /// The caller may act on a user.
    Allowed(&'a str),
    /// A value must be in / not in a list.
    Check(&'a str),
    /// Create a record.
    Create(&'a str),
    /// Change a bound record.
    Update(&'a str),
    /// Delete a bound record.
    Delete(&'a str),
    /// Delete every matching record.
    Purge(&'a str),
}

impl Action<'_> {
    /// Whether the step changes the world.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Action::Create(_) | Action::Update(_) | Action::Delete(_) | Action::Purge(_)
        )
    }
}

impl Step {
    /// The action of this step, or why it has none or several.
    pub fn action(&self) -> Result<Action<'_>, String> {
        let mut found = Vec::new();
        if let Some(v) = &self.setting {
            found.push(Action::Setting(v));
        }
        if let Some(v) = &self.require {
            found.push(Action::Require(v));
        }
        if let Some(v) = &self.valid {
            found.push(Action::Valid(v));
        }
        if let Some(v) = &self.same {
            found.push(Action::Same(v));
        }
        if let Some(v) = &self.differ {
            found.push(Action::Differ(v));
        }
        if let Some(v) = &self.find {
            found.push(Action::Find(v));
        }
        if let Some(v) = &self.absent {
            found.push(Action::Absent(v));
        }
        if let Some(v) = &self.allowed {
            found.push(Action::Allowed(v));
        }
        if let Some(v) = &self.check {
            found.push(Action::Check(v));
        }
        if let Some(v) = &self.create {
            found.push(Action::Create(v));
        }
        if let Some(v) = &self.update {
            found.push(Action::Update(v));
        }
        if let Some(v) = &self.delete {
            found.push(Action::Delete(v));
        }
        if let Some(v) = &self.purge {
            found.push(Action::Purge(v));
        }
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err("a step needs one of setting, require, valid, same, differ, find, absent, allowed, check, create, update, delete, purge".into()),
            _ => Err("a step has more than one action".into()),
        }
    }
}

/// How a list filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// Equal text.
    #[default]
    Eq,
    /// The field contains the value.
    Contains,
    /// The field starts with the value.
    Prefix,
}

/// A list filter: when `param` is sent, not empty and not one of `ignore`, rows whose `field`
/// matches it are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// The request parameter.
    pub param: String,
    /// The row field.
    pub field: String,
    /// How they compare.
    #[serde(default, rename = "match")]
    pub how: Match,
    /// Values that mean no filter (`all`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// The rows of a list method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSpec {
    /// The collection.
    pub collection: String,
    /// Parameter filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// Field -> template: rows whose field equals the value are left out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exclude: BTreeMap<String, String>,
    /// Field -> template: only rows whose field equals the value are kept (the caller's own:
    /// `owner_id: "{{caller.acting_id}}"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub only: BTreeMap<String, String>,
    /// The error answered when no row is left (a documented error of the method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_error: Option<String>,
    /// A template over `row` naming the user a row belongs to: only rows of users the caller
    /// may act on (the method's access scope) are listed. Without it every row is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<String>,
    /// The parameter holding the 1-based index of the first row to answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The parameter holding the most rows to answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// The records each row holds (a number pool's numbers), for an answer element inside the
    /// row marked `each="NAME"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<Children>,
}

/// The records of another collection a list row holds: those whose `key` field is the row's
/// id, by id, a page of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Children {
    /// The name an answer element repeats under (`each="NAME"`) and its templates read
    /// (`{{NAME.FIELD}}`).
    pub name: String,
    /// The collection.
    pub collection: String,
    /// The child's field holding its row's id.
    pub key: String,
    /// The parameter holding how many of a row's children to skip (0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    /// The parameter holding the most children to answer per row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// What a template reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A request parameter.
    Param(String),
    /// A field of the caller.
    Caller(String),
    /// A field of a bound record.
    Bound(String, String),
    /// The id a `create` is giving its record.
    NewId,
    /// The clock's date and time.
    Now,
    /// The clock's date.
    Today,
    /// The item a step with `each` runs for.
    Item,
}

/// A filter applied to a reference's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pipe {
    /// An amount with N decimals.
    Fixed(usize),
    /// An integer zero-padded to N digits.
    Digits(usize),
    /// A role as MOR's `usertype` (`reseller_pro` is a `reseller`).
    Usertype,
    /// Unix seconds as a date and time (`YYYY-MM-DD HH:MM:SS`, UTC); other text as it is.
    Datetime,
    /// Every occurrence of the first text replaced by the second (`replace:#:_`).
    Replace(String, String),
    /// A decimal as a Rails decimal column stores text: the number, else 0 (`abc`, empty).
    Decimal,
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text as written.
    Text(String),
    /// A value.
    Ref(Source, Vec<Pipe>),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template(pub Vec<Part>);

impl Template {
    /// Parse `text`; an unknown reference or filter is an error naming it.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find("{{") {
            if i > 0 {
                parts.push(Part::Text(rest[..i].to_string()));
            }
            let after = &rest[i + 2..];
            let j = after
                .find("}}")
                .ok_or_else(|| format!("`{{{{` without `}}}}` in `{text}`"))?;
            let mut pieces = after[..j].split('|').map(str::trim);
            let name = pieces.next().unwrap_or_default();
            let source = match name.split_once('.') {
                Some(("param", p)) if !p.is_empty() => Source::Param(p.to_string()),
                Some(("caller", f)) if !f.is_empty() => Source::Caller(f.to_string()),
                Some((b, f)) if !b.is_empty() && !f.is_empty() => {
                    Source::Bound(b.to_string(), f.to_string())
                }
                None if name == "new_id" => Source::NewId,
                None if name == "now" => Source::Now,
                None if name == "today" => Source::Today,
                None if name == "item" => Source::Item,
                _ => return Err(format!("`{{{{{name}}}}}` names nothing (expected param.NAME, caller.FIELD, BINDING.FIELD, new_id, now, today or item)")),
            };
            let mut pipes = Vec::new();
            for p in pieces {
                let (f, arg) = p.split_once(':').unwrap_or((p, ""));
                let n = || {
                    arg.trim()
                        .parse::<usize>()
                        .map_err(|_| format!("filter `{p}` needs a number"))
                };
                pipes.push(match f.trim() {
                    "fixed" => Pipe::Fixed(n()?),
                    "digits" => Pipe::Digits(n()?),
                    "usertype" => Pipe::Usertype,
                    "datetime" => Pipe::Datetime,
                    "decimal" => Pipe::Decimal,
                    "replace" => match arg.split_once(':') {
                        Some((from, to)) if !from.is_empty() => {
                            Pipe::Replace(from.to_string(), to.to_string())
                        }
                        _ => return Err(format!("filter `{p}` needs replace:FROM:TO")),
                    },
                    other => {
                        return Err(format!(
                            "unknown filter `{other}` (expected fixed:N, digits:N, usertype, datetime, decimal or replace:FROM:TO)"
                        ))
                    }
                });
            }
            parts.push(Part::Ref(source, pipes));
            rest = &after[j + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template(parts))
    }

    /// Every reference of the template.
    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.0.iter().filter_map(|p| match p {
            Part::Ref(s, _) => Some(s),
            Part::Text(_) => None,
        })
    }
}

impl Engine {
    /// Whether any step writes.
    pub fn writes(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.action().is_ok_and(|a| a.writes()))
    }

    /// Check the declaration against its method: every step has one action, templates parse
    /// and name parameters the method declares and records bound earlier, typed collections'
    /// fields exist, and every error text is documented (`documented` says whether a text is
    /// one of the method's or the product's errors). The error names the step.
    pub fn validate(
        &self,
        params: &[&str],
        documented: &dyn Fn(&str) -> bool,
    ) -> Result<(), String> {
        let mut bound: Vec<(String, String)> = Vec::new(); // (binding, collection)
        let check_template = |t: &str,
                              bound: &[(String, String)],
                              extra: &[&str]|
         -> Result<(), String> {
            let tpl = Template::parse(t)?;
            for s in tpl.sources() {
                match s {
                    Source::Param(p) if !params.contains(&p.as_str()) => {
                        return Err(format!(
                            "`{{{{param.{p}}}}}`: the method has no parameter `{p}`"
                        ))
                    }
                    Source::Bound(b, f) => {
                        if let Some((_, coll)) = bound.iter().find(|(n, _)| n == b) {
                            check_field(coll, f)?;
                        } else if !extra.contains(&b.as_str()) {
                            return Err(format!(
                                "`{{{{{b}.{f}}}}}`: nothing is bound as `{b}` before this"
                            ));
                        }
                    }
                    Source::Caller(f) if f != "acting_id" => check_field("users", f)?,
                    Source::Item if !extra.contains(&"item") => {
                        return Err("`{{item}}` names the item of a step with `each` only".into())
                    }
                    _ => {}
                }
            }
            Ok(())
        };
        let doc = |e: &Option<String>, what: &str| -> Result<(), String> {
            match e {
                Some(t) if !documented(t) => Err(format!(
                    "error `{t}` is not documented: add it to the method's errors"
                )),
                None if what != "allowed" => Err(format!("a `{what}` step needs an `error`")),
                _ => Ok(()),
            }
        };
        let param_known = |p: &str| -> Result<(), String> {
            if params.contains(&p) {
                Ok(())
            } else {
                Err(format!("the method has no parameter `{p}`"))
            }
        };
        for (i, step) in self.steps.iter().enumerate() {
            let at = |e: String| format!("steps[{i}]: {e}");
            let action = step.action().map_err(at)?;
            if let Some(p) = &step.when_sent {
                param_known(p).map_err(at)?;
            }
            let item: &[&str] = if let Some(p) = &step.each {
                param_known(p).map_err(at)?;
                if !matches!(action, Action::Create(_) | Action::Purge(_)) {
                    return Err(at("`each` goes with a `create` or a `purge` only".into()));
                }
                &["item"]
            } else {
                &[]
            };
            for v in step
                .one_of
                .iter()
                .chain(step.not_in.iter())
                .flatten()
                .chain(step.unless_same.iter().flatten())
                .chain(step.when_same.iter().flatten())
            {
                check_template(v, &bound, &[]).map_err(at)?;
            }
            if matches!(action, Action::Find(c) | Action::Create(c) | Action::Purge(c) if c == CALLS)
            {
                return Err(at("the calls can only be tested with `absent`".into()));
            }
            match action {
                Action::Setting(_) => doc(&step.error, "setting").map_err(at)?,
                Action::Require(ps) => {
                    doc(&step.error, "require").map_err(at)?;
                    for p in ps {
                        param_known(p).map_err(at)?;
                    }
                }
                Action::Valid(p) => {
                    doc(&step.error, "valid").map_err(at)?;
                    param_known(p).map_err(at)?;
                    if step.is.is_none() && step.min_len.is_none() {
                        return Err(at("a `valid` step needs `is` or `min_len`".into()));
                    }
                }
                Action::Same(ps) | Action::Differ(ps) => {
                    doc(&step.error, "same").map_err(at)?;
                    for p in ps {
                        param_known(p).map_err(at)?;
                    }
                }
                Action::Find(coll) | Action::Absent(coll) => {
                    doc(&step.error, "find").map_err(at)?;
                    if step.matching.is_empty() {
                        return Err(at("needs `where`".into()));
                    }
                    for (f, t) in &step.matching {
                        check_field(coll, f).map_err(at)?;
                        check_template(t, &bound, &[]).map_err(at)?;
                    }
                    if let (Action::Find(_), Some(b)) = (action, &step.bind) {
                        bound.push((b.clone(), coll.to_string()));
                    } else if let Action::Find(_) = action {
                        return Err(at("a `find` step needs `as`".into()));
                    }
                }
                Action::Allowed(t) | Action::Check(t) => {
                    doc(
                        &step.error,
                        if matches!(action, Action::Allowed(_)) {
                            "allowed"
                        } else {
                            "check"
                        },
                    )
                    .map_err(at)?;
                    check_template(t, &bound, &[]).map_err(at)?;
                    if matches!(action, Action::Check(_))
                        && step.one_of.is_none()
                        && step.not_in.is_none()
                    {
                        return Err(at("a `check` step needs `in` or `not_in`".into()));
                    }
                }
                Action::Create(coll) => {
                    let Some(b) = &step.bind else {
                        return Err(at("a `create` step needs `as`".into()));
                    };
                    for (f, t) in &step.set {
                        check_field(coll, f).map_err(at)?;
                        check_template(t, &bound, item).map_err(at)?;
                    }
                    bound.push((b.clone(), coll.to_string()));
                }
                Action::Purge(coll) => {
                    if step.matching.is_empty() {
                        return Err(at("needs `where`".into()));
                    }
                    for (f, t) in &step.matching {
                        check_field(coll, f).map_err(at)?;
                        check_template(t, &bound, item).map_err(at)?;
                    }
                }
                Action::Update(b) | Action::Delete(b) => {
                    let Some((_, coll)) = bound.iter().find(|(n, _)| n == b).cloned() else {
                        return Err(at(format!("nothing is bound as `{b}` before this")));
                    };
                    for (f, t) in &step.set {
                        check_field(&coll, f).map_err(at)?;
                        check_template(t, &bound, &[]).map_err(at)?;
                    }
                }
            }
        }
        if let Some(l) = &self.list {
            if l.collection == CALLS {
                return Err("list: the calls cannot be listed by the engine".into());
            }
            for f in &l.filters {
                param_known(&f.param).map_err(|e| format!("list: {e}"))?;
                check_field(&l.collection, &f.field).map_err(|e| format!("list: {e}"))?;
            }
            for (f, t) in l.exclude.iter().chain(&l.only) {
                check_field(&l.collection, f).map_err(|e| format!("list: {e}"))?;
                check_template(t, &bound, &[]).map_err(|e| format!("list: {e}"))?;
            }
            if let Some(t) = &l.empty_error {
                if !documented(t) {
                    return Err(format!("list: empty_error `{t}` is not documented"));
                }
            }
            if let Some(v) = &l.visible {
                let mut with_row = bound.clone();
                with_row.push(("row".into(), l.collection.clone()));
                check_template(v, &with_row, &[]).map_err(|e| format!("list: {e}"))?;
            }
            for p in [&l.from, &l.limit].into_iter().flatten() {
                param_known(p).map_err(|e| format!("list: {e}"))?;
            }
            bound.push(("row".into(), l.collection.clone()));
            if let Some(c) = &l.children {
                let e = |e: String| format!("list: children: {e}");
                if c.collection == CALLS {
                    return Err(e("the calls cannot be listed by the engine".into()));
                }
                check_field(&c.collection, &c.key).map_err(e)?;
                for p in [&c.offset, &c.limit].into_iter().flatten() {
                    param_known(p).map_err(e)?;
                }
                if c.name == "row" || bound.iter().any(|(n, _)| *n == c.name) {
                    return Err(e(format!("`{}` is already bound", c.name)));
                }
                bound.push((c.name.clone(), c.collection.clone()));
            }
        }
        fn walk(
            el: &crate::xml::Element,
            f: &mut dyn FnMut(&str) -> Result<(), String>,
        ) -> Result<(), String> {
            for (_, v) in &el.attrs {
                f(v)?;
            }
            for c in &el.children {
                match c {
                    crate::xml::Node::Element(e) => walk(e, f)?,
                    crate::xml::Node::Text(t) => f(t)?,
                }
            }
            Ok(())
        }
        let answers = std::iter::once(("answer".to_string(), &self.answer)).chain(
            self.variants
                .iter()
                .map(|(name, a)| (format!("variants.{name}"), a)),
        );
        for (what, answer) in answers {
            let doc = crate::xml::parse(answer).map_err(|e| format!("{what}: {e}"))?;
            walk(&doc.root, &mut |t| check_template(t, &bound, &[]))
                .map_err(|e| format!("{what}: {e}"))?;
        }
        if let Some(t) = &self.failed {
            if !documented(t) {
                return Err(format!("failed: error `{t}` is not documented"));
            }
        }
        Ok(())
    }
}

/// The calls, which the engine reads only to test that none matches (`absent: calls`), on
/// these fields.
pub const CALLS: &str = "calls";

/// The fields `absent: calls` can test.
pub const CALL_FIELDS: [&str; 5] = [
    "user_id",
    "device_id",
    "provider_id",
    "tp_device_id",
    "reseller_id",
];

fn check_field(collection: &str, field: &str) -> Result<(), String> {
    if collection == CALLS {
        return if CALL_FIELDS.contains(&field) {
            Ok(())
        } else {
            Err(format!(
                "calls can be tested on {} only",
                CALL_FIELDS.join(", ")
            ))
        };
    }
    match crate::records::fields(collection) {
        Some(fields) if !fields.contains_key(field) => Err(format!(
            "{collection} have no field `{field}` (they have: {})",
            fields.keys().cloned().collect::<Vec<_>>().join(", ")
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_references_and_filters() {
        let t = Template::parse(
            "x{{param.a}}-{{did.status}}{{caller.balance|fixed:4}}{{new_id|digits:6}}",
        )
        .unwrap();
        assert_eq!(t.0.len(), 6);
        assert_eq!(t.0[5], Part::Ref(Source::NewId, vec![Pipe::Digits(6)]));
        assert!(Template::parse("{{nothing}}").is_err());
        assert!(Template::parse("{{param.a|shout}}").is_err());
        assert!(Template::parse("{{param.a").is_err());
    }

    #[test]
    fn the_replace_filter_takes_what_and_by_what() {
        let t = Template::parse("{{item|replace:#:_}}").unwrap();
        assert_eq!(
            t.0[0],
            Part::Ref(Source::Item, vec![Pipe::Replace("#".into(), "_".into())])
        );
        assert!(Template::parse("{{item|replace:#}}").is_err());
        assert!(Template::parse("{{item|replace::_}}").is_err());
    }

    #[test]
    fn each_goes_with_a_create_or_a_purge_and_item_with_each() {
        let ok = |t: &str| t == "E";
        let e = engine("steps:\n  - { create: dids, as: d, each: did, set: { did: \"{{item|replace:#:_}}\" } }\nanswer: <page/>\n");
        assert_eq!(e.validate(&["did"], &ok), Ok(()));
        assert!(e
            .validate(&[], &ok)
            .unwrap_err()
            .contains("no parameter `did`"));
        let e = engine("steps:\n  - { find: dids, as: d, each: did, where: { did: \"{{item}}\" }, error: E }\nanswer: <page/>\n");
        assert!(e
            .validate(&["did"], &ok)
            .unwrap_err()
            .contains("`each` goes with a `create` or a `purge` only"));
        let e =
            engine("steps:\n  - { purge: dids, where: { did: \"{{item}}\" } }\nanswer: <page/>\n");
        assert!(e
            .validate(&["did"], &ok)
            .unwrap_err()
            .contains("`{{item}}` names the item of a step with `each` only"));
        let e = engine("answer: <page>{{item}}</page>\n");
        assert!(e.validate(&[], &ok).is_err());
    }

    #[test]
    fn children_name_a_field_of_their_collection_and_bind_their_name_for_the_answer() {
        let ok = |_: &str| true;
        let list = |key: &str, answer: &str| {
            engine(&format!("list: {{ collection: number_pools, children: {{ name: numbers, collection: number_pool_numbers, key: {key}, limit: n }} }}\nanswer: {answer}\n"))
        };
        let e = list(
            "number_pool_id",
            "<page><p each=\"rows\"><n each=\"numbers\">{{numbers.number}}</n></p></page>",
        );
        assert_eq!(e.validate(&["n"], &ok), Ok(()));
        assert!(e
            .validate(&[], &ok)
            .unwrap_err()
            .contains("list: children: the method has no parameter `n`"));
        let e = list("pool_id", "<page/>");
        assert!(e
            .validate(&["n"], &ok)
            .unwrap_err()
            .contains("no field `pool_id`"));
        let e = list("number_pool_id", "<page>{{numbers.colour}}</page>");
        assert!(e
            .validate(&["n"], &ok)
            .unwrap_err()
            .contains("no field `colour`"));
    }

    #[test]
    fn variants_and_when_same_are_checked_like_the_answer_and_unless_same() {
        let ok = |_: &str| true;
        let e = engine("steps:\n  - { find: dids, as: d, where: { did: \"{{param.did}}\" }, error: E }\n  - { update: d, when_same: [\"{{param.status}}\", paid], set: { status: active } }\nanswer: <page>{{d.did}}</page>\nvariants:\n  old: <status>{{d.status}}</status>\n");
        assert_eq!(e.validate(&["did", "status"], &ok), Ok(()));
        assert!(e
            .validate(&["did"], &ok)
            .unwrap_err()
            .contains("steps[1]: `{{param.status}}`: the method has no parameter `status`"));
        let e = engine("answer: <page/>\nvariants:\n  old: <status>{{row.did}}</status>\n");
        let err = e.validate(&[], &ok).unwrap_err();
        assert!(
            err.starts_with("variants.old:") && err.contains("nothing is bound as `row`"),
            "{err}"
        );
        let e = engine("answer: <page/>\nvariants:\n  old: <status>\n");
        assert!(e
            .validate(&[], &ok)
            .unwrap_err()
            .starts_with("variants.old:"));
    }

    fn engine(yaml: &str) -> Engine {
        crate::yaml::from_str(yaml, std::path::Path::new("t.yaml"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn validation_names_the_step_and_what_is_wrong() {
        let ok = |t: &str| t == "DID was not found";
        let e = engine("steps:\n  - { find: dids, as: d, where: { did: \"{{param.did}}\" }, error: DID was not found }\nanswer: <page>{{d.status}}</page>\n");
        assert_eq!(e.validate(&["did"], &ok), Ok(()));
        assert!(!e.writes());
        // An undeclared parameter, an unknown field, an undocumented error, an unbound name.
        let err = e.validate(&[], &ok).unwrap_err();
        assert!(
            err.starts_with("steps[0]:") && err.contains("no parameter `did`"),
            "{err}"
        );
        let e = engine("steps:\n  - { find: dids, as: d, where: { number: \"{{param.did}}\" }, error: DID was not found }\nanswer: <page/>\n");
        assert!(e
            .validate(&["did"], &ok)
            .unwrap_err()
            .contains("no field `number`"));
        let e = engine("steps:\n  - { require: [did], error: Nope }\nanswer: <page/>\n");
        assert!(e
            .validate(&["did"], &ok)
            .unwrap_err()
            .contains("not documented"));
        let e = engine("steps:\n  - { delete: d }\nanswer: <page/>\n");
        assert!(e
            .validate(&[], &ok)
            .unwrap_err()
            .contains("nothing is bound as `d`"));
        let e = engine("steps:\n  - { require: [did], find: dids, error: DID was not found }\nanswer: <page/>\n");
        assert!(e
            .validate(&["did"], &ok)
            .unwrap_err()
            .contains("more than one action"));
        let e = engine("answer: <page>{{row.did}}</page>\n");
        assert!(e
            .validate(&[], &ok)
            .unwrap_err()
            .contains("nothing is bound as `row`"));
        let e = engine("list: { collection: dids, only: { reseller_id: \"{{caller.acting_id}}\" }, empty_error: No DIDs }\nanswer: <page>{{row.did}}</page>\n");
        assert!(e
            .validate(&[], &ok)
            .unwrap_err()
            .contains("empty_error `No DIDs` is not documented"));
        let e = engine("list: { collection: dids, only: { owner: \"1\" } }\nanswer: <page/>\n");
        assert!(e
            .validate(&[], &ok)
            .unwrap_err()
            .contains("no field `owner`"));
    }
}
