//! The engine: runs a method whose behaviour its catalogue entry declares as data
//! ([`model::engine`]): checks in order (the first failing one answers its documented error),
//! then the writes together, then the answer rendered from its template. It sits where a
//! method's own code would (`dispatch` has already checked API, GET, login, hash, role and
//! permission) and computes from the same world, so a record it creates is listed by the
//! hand-written methods (a device created is in devices_get) and the other way round.
//!
//! Reads and checks see the records as the request's earlier writes left them; the writes are
//! made on a copy of the world's records and stored only when every record is valid for its
//! collection, under the write lock `dispatch` holds for a method with `writes: true`: a write
//! is all or nothing, and seen by every later request.

use std::collections::BTreeMap;

use model::catalogue::Wrapper;
use model::engine::{Action, Engine, Form, Match, Part, Pipe, Source, Step, Template};
use model::records;
use model::world::Record;
use model::world::{format_date, format_datetime, Money, WorldData};
use model::xml::{Document, Element, Node};
use serde_json::Value;

use crate::methods::{Ctx, Reply};
use crate::world::World;

/// What a run produced: the answer, and the world's new records when it wrote.
#[derive(Debug)]
pub struct Outcome {
    /// The answer.
    pub reply: Reply,
    /// The world's records after the writes (None: nothing was written).
    pub data: Option<WorldData>,
}

/// Run `engine` for the request in `ctx` against `world`.
pub fn run(ctx: &Ctx<'_>, engine: &Engine, world: &World) -> Outcome {
    let mut run = Run {
        ctx,
        world,
        caller: ctx.caller.and_then(|c| match serde_json::to_value(c) {
            Ok(Value::Object(mut m)) => {
                // The account the caller acts for: an accountant or a manager works on the
                // admin's records (X3 api_controller: user_id 0 for an accountant).
                let acting = match c.role {
                    model::Role::Accountant | model::Role::Manager => 0,
                    _ => c.id,
                };
                m.insert("acting_id".into(), Value::from(acting));
                Some(m)
            }
            _ => None,
        }),
        collections: BTreeMap::new(),
        read_len: BTreeMap::new(),
        rewritten: Vec::new(),
        touched: Vec::new(),
        bound: BTreeMap::new(),
        children: engine.list.as_ref().and_then(|l| l.children.clone()),
    };
    match run.steps(engine) {
        Ok(()) => {}
        Err(reply) => return Outcome { reply, data: None },
    }
    let rows = match &engine.list {
        Some(list) => run.rows(list),
        None => Vec::new(),
    };
    if let Some(c) = engine.list.as_ref().and_then(|l| l.children.as_ref()) {
        run.collection(&c.collection);
    }
    if let (Some(text), true) = (
        engine.list.as_ref().and_then(|l| l.empty_error.as_deref()),
        rows.is_empty(),
    ) {
        return Outcome {
            reply: error(ctx, text),
            data: None,
        };
    }
    let data = if run.touched.is_empty() {
        None
    } else {
        let mut data = world.data.clone();
        for name in &run.touched {
            let recs = run
                .collections
                .get(name)
                .map(Vec::as_slice)
                .unwrap_or_default();
            // A collection whose records as read are unchanged (only created ones follow them)
            // gets only the new records converted; any other is replaced whole.
            let written = match run.read_len.get(name) {
                Some(&len) if !run.rewritten.contains(name) && len <= recs.len() => {
                    records::append(&mut data, name, recs[len..].to_vec())
                }
                _ => records::replace(&mut data, name, recs.to_vec()),
            };
            if let Err(e) = written {
                tracing::error!(method = %ctx.method.name, error = %e, "a declared write is not a valid record");
                let text = engine.failed.as_deref().unwrap_or("Internal error");
                return Outcome {
                    reply: error(ctx, text),
                    data: None,
                };
            }
        }
        Some(data)
    };
    // A CONTRA point of the answer: the variant the quirk selects for the method, if declared.
    let answer = ctx
        .quirks
        .answer_variants
        .get(ctx.method.name.as_str())
        .and_then(|v| engine.variants.get(v))
        .unwrap_or(&engine.answer);
    let reply = match model::xml::parse(answer) {
        Ok(doc) => {
            let mut out = run.render(&doc.root, &rows, Extra::default());
            let root = out
                .pop()
                .unwrap_or_else(|| Element::new(doc.root.name.clone()));
            Reply::Xml(Document {
                declaration: ctx.method.response.declaration,
                root,
            })
        }
        Err(e) => {
            // The catalogue's checks parse every answer; this is a defect of an extra file.
            tracing::error!(method = %ctx.method.name, error = %e, "declared answer is not XML");
            Reply::Text(String::new())
        }
    };
    Outcome { reply, data }
}

/// The error reply for `text`: in the method's wrapper for it, else the product's general one,
/// else `<page>`.
fn error(ctx: &Ctx<'_>, text: &str) -> Reply {
    let general = &model::Catalogue::embedded().product(ctx.product).general;
    let wrapper = ctx
        .method
        .error(text)
        .map(|e| e.wrapper)
        .or_else(|| {
            [
                &general.access_denied,
                &general.bad_login,
                &general.not_authorized,
                &general.feature_disabled,
            ]
            .into_iter()
            .find(|g| g.text == text)
            .map(|g| g.wrapper)
        })
        .unwrap_or(Wrapper::Page);
    Reply::Error {
        text: text.to_string(),
        wrapper,
    }
}

/// A record bound by `find` or `create`: where it is in its collection's working copy.
#[derive(Debug, Clone)]
struct Bound {
    collection: String,
    index: usize,
}

struct Run<'a> {
    ctx: &'a Ctx<'a>,
    world: &'a World,
    caller: Option<Record>,
    /// Working copies of the collections read so far.
    collections: BTreeMap<String, Vec<Record>>,
    /// How many records each collection had when read.
    read_len: BTreeMap<String, usize>,
    /// The collections whose records as read were changed or removed (not only added to).
    rewritten: Vec<String>,
    /// The collections written, in order.
    touched: Vec<String>,
    bound: BTreeMap<String, Bound>,
    /// The records each list row holds (`list.children`).
    children: Option<model::engine::Children>,
}

/// What a template is evaluated with besides the request and the bound records.
#[derive(Default, Clone, Copy)]
struct Extra<'r> {
    row: Option<&'r Record>,
    /// A child record of the row, under its name (`list.children`).
    child: Option<(&'r str, &'r Record)>,
    new_id: Option<u64>,
    /// The item a step with `each` runs for.
    item: Option<&'r str>,
}

impl Run<'_> {
    fn collection(&mut self, name: &str) -> &mut Vec<Record> {
        if !self.collections.contains_key(name) {
            let recs = records::read(&self.world.data, name);
            self.read_len.insert(name.to_string(), recs.len());
            self.collections.insert(name.to_string(), recs);
        }
        self.collections.entry(name.to_string()).or_default()
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.ctx.params.get(name)
    }

    fn sent(&self, name: &str) -> Option<&str> {
        self.param(name).filter(|v| !v.trim().is_empty())
    }

    fn field(&self, binding: &str, field: &str, extra: Extra<'_>) -> String {
        let rec = if binding == "row" && extra.row.is_some() {
            extra.row
        } else if let Some((_, child)) = extra.child.filter(|(n, _)| *n == binding) {
            Some(child)
        } else {
            self.bound.get(binding).and_then(|b| {
                self.collections
                    .get(&b.collection)
                    .and_then(|c| c.get(b.index))
            })
        };
        rec.and_then(|r| r.get(field))
            .map(records::text)
            .unwrap_or_default()
    }

    fn eval(&self, t: &Template, extra: Extra<'_>) -> String {
        let mut out = String::new();
        for part in &t.0 {
            match part {
                Part::Text(s) => out.push_str(s),
                Part::Ref(src, pipes) => {
                    let mut v = match src {
                        Source::Param(p) => self.param(p).unwrap_or_default().to_string(),
                        Source::Caller(f) => self
                            .caller
                            .as_ref()
                            .and_then(|c| c.get(f))
                            .map(records::text)
                            .unwrap_or_default(),
                        Source::Bound(b, f) => self.field(b, f, extra),
                        Source::NewId => extra.new_id.map(|n| n.to_string()).unwrap_or_default(),
                        Source::Now => format_datetime(self.ctx.now),
                        Source::Today => format_date(self.ctx.now),
                        Source::Item => extra.item.unwrap_or_default().to_string(),
                    };
                    for p in pipes {
                        v = pipe(p, v);
                    }
                    out.push_str(&v);
                }
            }
        }
        out
    }

    fn text(&self, template: &str, extra: Extra<'_>) -> String {
        // Templates were parsed when the catalogue loaded; one that does not parse now (never,
        // for a loaded catalogue) reads as its text.
        match Template::parse(template) {
            Ok(t) => self.eval(&t, extra),
            Err(_) => template.to_string(),
        }
    }

    /// Whether a template names a parameter that was not sent (a `set` value then leaves the
    /// field alone).
    fn names_unsent_param(&self, template: &str) -> bool {
        Template::parse(template).is_ok_and(|t| {
            t.sources()
                .any(|s| matches!(s, Source::Param(p) if self.param(p).is_none()))
        })
    }

    fn matches(&self, rec: &Record, step: &Step, extra: Extra<'_>) -> bool {
        step.matching
            .iter()
            .all(|(f, t)| rec.get(f).map(records::text).unwrap_or_default() == self.text(t, extra))
    }

    fn fail(&self, step: &Step) -> Reply {
        match &step.error {
            Some(t) => error(self.ctx, t),
            None => self.ctx.access_denied(),
        }
    }

    fn steps(&mut self, engine: &Engine) -> Result<(), Reply> {
        for step in &engine.steps {
            let Ok(action) = step.action() else {
                continue; // refused when the catalogue loaded
            };
            if step
                .when_sent
                .as_deref()
                .is_some_and(|p| self.sent(p).is_none())
            {
                continue;
            }
            if let Some([a, b]) = &step.unless_same {
                if self.text(a, Extra::default()) == self.text(b, Extra::default()) {
                    continue;
                }
            }
            if let Some([a, b]) = &step.when_same {
                if self.text(a, Extra::default()) != self.text(b, Extra::default()) {
                    continue;
                }
            }
            match &step.each {
                Some(p) => {
                    let items: Vec<String> = self
                        .param(p)
                        .unwrap_or_default()
                        .split(',')
                        .map(str::trim)
                        .filter(|i| !i.is_empty())
                        .map(str::to_string)
                        .collect();
                    for item in &items {
                        self.step(engine, step, action, Some(item))?;
                    }
                }
                None => self.step(engine, step, action, None)?,
            }
        }
        Ok(())
    }

    /// One step, for `item` when it runs once per item.
    fn step(
        &mut self,
        engine: &Engine,
        step: &Step,
        action: Action<'_>,
        item: Option<&str>,
    ) -> Result<(), Reply> {
        let at = Extra {
            item,
            ..Extra::default()
        };
        {
            match action {
                Action::Absent(model::engine::CALLS) => {
                    if self.a_call_matches(step) {
                        return Err(self.fail(step));
                    }
                }
                Action::Setting(name) => {
                    if !crate::dispatch::feature_on(self.ctx.settings, name) {
                        return Err(self.fail(step));
                    }
                }
                Action::Require(ps) => {
                    if ps.iter().any(|p| self.sent(p).is_none()) {
                        return Err(self.fail(step));
                    }
                }
                Action::Valid(p) => {
                    if let Some(v) = self.sent(p) {
                        if !valid(v, step) {
                            return Err(self.fail(step));
                        }
                    }
                }
                Action::Same([a, b]) | Action::Differ([a, b]) => {
                    let equal =
                        self.param(a).unwrap_or_default() == self.param(b).unwrap_or_default();
                    if equal != matches!(action, Action::Same(_)) {
                        return Err(self.fail(step));
                    }
                }
                Action::Find(coll) | Action::Absent(coll) => {
                    self.collection(coll);
                    let found = self.collections[coll]
                        .iter()
                        .position(|r| self.matches(r, step, at));
                    match (action, found) {
                        (Action::Find(_), Some(index)) => {
                            if let Some(b) = &step.bind {
                                self.bound.insert(
                                    b.clone(),
                                    Bound {
                                        collection: coll.to_string(),
                                        index,
                                    },
                                );
                            }
                        }
                        (Action::Absent(_), None) => {}
                        _ => return Err(self.fail(step)),
                    }
                }
                Action::Allowed(t) => {
                    let target = self.text(t, Extra::default());
                    let ok = crate::methods::parse_id(&target)
                        .is_some_and(|id| self.ctx.can_act_on(self.world, id));
                    if !ok {
                        return Err(self.fail(step));
                    }
                }
                Action::Check(t) => {
                    let v = self.text(t, Extra::default());
                    let listed =
                        |l: &Vec<String>| l.iter().any(|x| self.text(x, Extra::default()) == v);
                    let refused = step.one_of.as_ref().is_some_and(|l| !listed(l))
                        || step.not_in.as_ref().is_some_and(listed);
                    if refused {
                        return Err(self.fail(step));
                    }
                }
                Action::Create(coll) => {
                    let id = records::next_id(self.collection(coll));
                    let extra = Extra {
                        new_id: Some(id),
                        ..at
                    };
                    let mut rec = Record::new();
                    let failed = || {
                        error(
                            self.ctx,
                            engine.failed.as_deref().unwrap_or("Internal error"),
                        )
                    };
                    rec.insert(
                        "id".into(),
                        records::coerce(coll, "id", &id.to_string()).map_err(|_| failed())?,
                    );
                    for (f, t) in &step.set {
                        if self.names_unsent_param(t) {
                            continue;
                        }
                        let v = self.text(t, extra);
                        let value = records::coerce(coll, f, &v).map_err(|e| {
                            tracing::info!(method = %self.ctx.method.name, error = %e, "declared create refused");
                            failed()
                        })?;
                        rec.insert(f.clone(), value);
                    }
                    let recs = self.collection(coll);
                    recs.push(rec);
                    let index = recs.len() - 1;
                    if let Some(b) = &step.bind {
                        self.bound.insert(
                            b.clone(),
                            Bound {
                                collection: coll.to_string(),
                                index,
                            },
                        );
                    }
                    self.touch(coll);
                }
                Action::Update(b) => {
                    let Some(bound) = self.bound.get(b).cloned() else {
                        return Ok(());
                    };
                    let mut changes = Vec::new();
                    for (f, t) in &step.set {
                        if self.names_unsent_param(t) {
                            continue;
                        }
                        let v = self.text(t, Extra::default());
                        let value = records::coerce(&bound.collection, f, &v).map_err(|e| {
                            tracing::info!(method = %self.ctx.method.name, error = %e, "declared update refused");
                            error(self.ctx, engine.failed.as_deref().unwrap_or("Internal error"))
                        })?;
                        changes.push((f.clone(), value));
                    }
                    if let Some(rec) = self
                        .collections
                        .get_mut(&bound.collection)
                        .and_then(|c| c.get_mut(bound.index))
                    {
                        for (f, v) in changes {
                            rec.insert(f, v);
                        }
                    }
                    if self
                        .read_len
                        .get(&bound.collection)
                        .is_none_or(|&len| bound.index < len)
                    {
                        self.rewrite(&bound.collection);
                    }
                    self.touch(&bound.collection);
                }
                Action::Purge(coll) => {
                    self.collection(coll);
                    let keep: Vec<bool> = self.collections[coll]
                        .iter()
                        .map(|r| !self.matches(r, step, at))
                        .collect();
                    if keep.iter().all(|k| *k) {
                        return Ok(());
                    }
                    // Bindings into this collection would point elsewhere once records go.
                    self.bound.retain(|_, b| b.collection != coll);
                    let mut it = keep.into_iter();
                    if let Some(c) = self.collections.get_mut(coll) {
                        c.retain(|_| it.next().unwrap_or(true));
                    }
                    self.rewrite(coll);
                    self.touch(coll);
                }
                Action::Delete(b) => {
                    let Some(gone) = self.bound.remove(b) else {
                        return Ok(());
                    };
                    if let Some(c) = self.collections.get_mut(&gone.collection) {
                        if gone.index < c.len() {
                            c.remove(gone.index);
                        }
                    }
                    // Later records of the collection moved up by one.
                    for other in self.bound.values_mut() {
                        if other.collection == gone.collection && other.index > gone.index {
                            other.index -= 1;
                        }
                    }
                    self.rewrite(&gone.collection);
                    self.touch(&gone.collection);
                }
            }
        }
        Ok(())
    }

    /// Whether some call has every field of the step's `where` (`absent: calls`), read from the
    /// world's packed call columns rather than as records.
    fn a_call_matches(&self, step: &Step) -> bool {
        let want: Vec<(&str, Option<u64>)> = step
            .matching
            .iter()
            .map(|(f, t)| {
                (
                    f.as_str(),
                    self.text(t, Extra::default()).trim().parse().ok(),
                )
            })
            .collect();
        if want.iter().any(|(_, v)| v.is_none()) {
            return false; // a value that is no id matches no call
        }
        // The calls' distinct cells hold every combination of ids a call has.
        self.world.call_cells().iter().any(|c| {
            want.iter().all(|(f, v)| {
                let have = match *f {
                    "user_id" => c.user_id,
                    "device_id" => c.device_id,
                    "provider_id" => c.provider_id,
                    "tp_device_id" => c.tp_device_id,
                    "reseller_id" => c.reseller_id,
                    _ => return false,
                };
                Some(have) == *v
            })
        })
    }

    /// Mark a collection's records as read changed or removed: it is written back whole.
    fn rewrite(&mut self, name: &str) {
        if !self.rewritten.iter().any(|t| t == name) {
            self.rewritten.push(name.to_string());
        }
    }

    fn touch(&mut self, name: &str) {
        if !self.touched.iter().any(|t| t == name) {
            self.touched.push(name.to_string());
        }
    }

    /// The rows of the list: filtered by the parameters sent, the exclusions and the caller's
    /// scope, by id, then the page asked.
    fn rows(&mut self, list: &model::engine::ListSpec) -> Vec<Record> {
        self.collection(&list.collection);
        let all = self.collections[&list.collection].clone();
        let mut rows: Vec<Record> = all
            .into_iter()
            .filter(|row| {
                list.filters.iter().all(|f| {
                    let Some(want) = self.sent(&f.param) else {
                        return true;
                    };
                    if f.ignore.iter().any(|i| i == want) {
                        return true;
                    }
                    let have = row.get(&f.field).map(records::text).unwrap_or_default();
                    match f.how {
                        Match::Eq => have == want,
                        Match::Contains => have.contains(want),
                        Match::Prefix => have.starts_with(want),
                    }
                })
            })
            .filter(|row| {
                list.exclude.iter().all(|(f, t)| {
                    row.get(f).map(records::text).unwrap_or_default()
                        != self.text(t, Extra::default())
                }) && list.only.iter().all(|(f, t)| {
                    row.get(f).map(records::text).unwrap_or_default()
                        == self.text(t, Extra::default())
                })
            })
            .filter(|row| match &list.visible {
                None => true,
                Some(t) => {
                    let extra = Extra {
                        row: Some(row),
                        ..Extra::default()
                    };
                    crate::methods::parse_id(&self.text(t, extra))
                        .is_some_and(|id| self.ctx.can_act_on(self.world, id))
                }
            })
            .collect();
        rows.sort_by_key(|r| {
            r.get("id")
                .map(records::text)
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0)
        });
        let from = list
            .from
            .as_deref()
            .and_then(|p| self.sent(p))
            .and_then(crate::methods::parse_id)
            .map_or(0, |n| n.saturating_sub(1) as usize);
        let rows: Vec<Record> = rows.into_iter().skip(from).collect();
        match list
            .limit
            .as_deref()
            .and_then(|p| self.sent(p))
            .and_then(crate::methods::parse_id)
        {
            Some(n) => rows.into_iter().take(n as usize).collect(),
            None => rows,
        }
    }

    /// The answer element `el` rendered: its copies (none when its `if` is empty or `0`, one
    /// per row when marked `each="rows"`, one per child of the row when marked with the
    /// children's name).
    fn render(&self, el: &Element, rows: &[Record], extra: Extra<'_>) -> Vec<Element> {
        if let Some((_, cond)) = el.attrs.iter().find(|(k, _)| k == "if") {
            let v = self.text(cond, extra);
            if v.trim().is_empty() || v.trim() == "0" {
                return Vec::new();
            }
        }
        match el.attrs.iter().find(|(k, _)| k == "each").map(|(_, v)| v) {
            Some(each) if each == "rows" => rows
                .iter()
                .flat_map(|r| {
                    let at = Extra {
                        row: Some(r),
                        ..extra
                    };
                    self.render_one(el, rows, at)
                })
                .collect(),
            Some(each) => match self.children.as_ref().filter(|c| c.name == *each) {
                Some(c) => self
                    .children_of(c, extra.row)
                    .iter()
                    .flat_map(|k| {
                        let at = Extra {
                            child: Some((c.name.as_str(), *k)),
                            ..extra
                        };
                        self.render_one(el, rows, at)
                    })
                    .collect(),
                None => self.render_one(el, rows, extra),
            },
            None => self.render_one(el, rows, extra),
        }
    }

    /// The children of `row` (`list.children`): by id, the page the parameters ask.
    fn children_of(&self, c: &model::engine::Children, row: Option<&Record>) -> Vec<&Record> {
        let Some(id) = row.and_then(|r| r.get("id")).map(records::text) else {
            return Vec::new();
        };
        let mut kids: Vec<&Record> = self
            .collections
            .get(&c.collection)
            .map(|all| {
                all.iter()
                    .filter(|k| k.get(&c.key).map(records::text).as_deref() == Some(&id))
                    .collect()
            })
            .unwrap_or_default();
        kids.sort_by_key(|r| {
            r.get("id")
                .map(records::text)
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0)
        });
        let number = |p: &Option<String>| {
            p.as_deref()
                .and_then(|p| self.sent(p))
                .and_then(crate::methods::parse_id)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        let skip = number(&c.offset).unwrap_or(0);
        let take = number(&c.limit).unwrap_or(usize::MAX);
        kids.into_iter().skip(skip).take(take).collect()
    }

    fn render_one(&self, el: &Element, rows: &[Record], extra: Extra<'_>) -> Vec<Element> {
        let mut out = Element::new(el.name.clone());
        for (k, v) in &el.attrs {
            if k != "if" && k != "each" {
                out.attrs.push((k.clone(), self.text(v, extra)));
            }
        }
        for c in &el.children {
            match c {
                Node::Element(e) => {
                    for r in self.render(e, rows, extra) {
                        out.children.push(Node::Element(r));
                    }
                }
                Node::Text(t) => {
                    let v = self.text(t, extra);
                    if !v.trim().is_empty() || !t.trim().is_empty() {
                        out.children.push(Node::Text(v));
                    }
                }
            }
        }
        vec![out]
    }
}

fn valid(v: &str, step: &Step) -> bool {
    if step.min_len.is_some_and(|n| v.chars().count() < n) {
        return false;
    }
    match step.is {
        None | Some(Form::Text) => true,
        Some(Form::Digits) => v.bytes().all(|b| b.is_ascii_digit()),
        Some(Form::Number) => v.parse::<Money>().is_ok(),
        Some(Form::Flag) => v == "0" || v == "1",
        Some(Form::OneOf) => step.values.iter().any(|x| x == v),
    }
}

fn pipe(p: &Pipe, v: String) -> String {
    match p {
        Pipe::Fixed(n) => v.parse::<Money>().map_or(v, |m| m.fixed(*n)),
        Pipe::Digits(n) => v
            .trim()
            .parse::<u64>()
            .map_or(v, |x| format!("{x:0width$}", width = *n)),
        Pipe::Usertype => match v.as_str() {
            "reseller_pro" => "reseller".to_string(),
            _ => v,
        },
        // Digits only (a timestamp parameter); anything else stays as sent, for the record's
        // own check to refuse.
        Pipe::Replace(from, to) => v.replace(from.as_str(), to),
        Pipe::Decimal => v
            .trim()
            .parse::<Money>()
            .map_or_else(|_| "0".into(), |m| m.to_string()),
        Pipe::Datetime => match crate::methods::parse_id(&v).and_then(|t| i64::try_from(t).ok()) {
            Some(t) => format_datetime(t),
            None => v,
        },
    }
}

#[cfg(test)]
mod tests {
    use model::catalogue::{Catalogue, Product};

    #[test]
    fn the_decimal_filter_stores_text_as_a_decimal_column_does() {
        use model::engine::Pipe;
        let d = |v: &str| super::pipe(&Pipe::Decimal, v.to_string());
        assert_eq!(d("4.50"), "4.5");
        assert_eq!(d(" 3 "), "3.0");
        assert_eq!(d("ten"), "0");
        assert_eq!(d(""), "0");
    }

    /// The README's table of methods per product, counted from the catalogue: by code (a
    /// handler), declared as data (an engine block) or catalogued only (answered from the
    /// documented sample, or from the inferred shape where no sample is documented).
    #[test]
    fn methods_per_product_in_the_readme() {
        let readme = include_str!("../../README.md");
        for p in Product::ALL {
            let methods = Catalogue::embedded().product(p).methods();
            let engine = methods.iter().filter(|m| m.engine.is_some()).count();
            let code = methods
                .iter()
                .filter(|m| m.engine.is_none() && crate::methods::handler(&m.name).is_some())
                .count();
            let sample = methods.iter().filter(|m| m.is_documented_sample()).count();
            let inferred = methods.iter().filter(|m| m.inferred.is_some()).count();
            let neither: Vec<&str> = methods
                .iter()
                .filter(|m| {
                    m.engine.is_none()
                        && crate::methods::handler(&m.name).is_none()
                        && !m.is_catalogued_only()
                })
                .map(|m| m.name.as_str())
                .collect();
            assert!(
                neither.is_empty(),
                "{p}: neither computed nor catalogued with a documented sample or inferred shape: {neither:?}"
            );
            // A documented sample or inferred shape never stands beside a behaviour: the mock
            // would compute the answer while `methods` and the count say it is the sample.
            let both: Vec<&str> = methods
                .iter()
                .filter(|m| m.is_catalogued_only() && crate::methods::handler(&m.name).is_some())
                .map(|m| m.name.as_str())
                .collect();
            assert!(
                both.is_empty(),
                "{p}: a handler and a documented sample or inferred shape: {both:?}"
            );
            let name = match p {
                Product::Mor => "MOR",
                Product::M4 => "M4",
            };
            let row = format!("| {name} | {code} | {engine} | {sample} | {inferred} |");
            assert!(readme.contains(&row), "README lacks the row `{row}`");
        }
    }
}
