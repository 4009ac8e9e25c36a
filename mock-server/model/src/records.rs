//! The world's collections as records: every kind of record of [`WorldData`] seen the same way,
//! as a flat map of field names to values, so that a method declared in the catalogue (see
//! [`crate::catalogue::Engine`]) can list, find, create, change and delete records of any
//! collection without code of its own.
//!
//! A typed collection (`users`, `devices`, `dids`, ...) is read through its serde form (the field
//! names a scenario's world uses) and written back through the same form, so a record the engine
//! builds is checked exactly as a scenario's would be (`deny_unknown_fields`, types). Text values
//! are coerced to each field's type from the collection's JSON Schema (`"5"` into an integer
//! field, `"1"` into a flag). A collection the typed world does not model lives in
//! [`WorldData::records`] as plain records whose values stay text.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::world::{
    CreditNote, Currency, Destination, Device, Did, Invoice, Lcr, LcrProvider, NumberPool, Payment,
    Phonebook, PoolNumber, Provider, ProviderRule, Record, Service, Subscription, Tariff, User,
    WorldData,
};

/// The collections the typed world models, by the names scenarios and the catalogue use.
pub const TYPED: [&str; 18] = [
    "users",
    "devices",
    "providers",
    "destinations",
    "tariffs",
    "payments",
    "currencies",
    "dids",
    "services",
    "subscriptions",
    "invoices",
    "credit_notes",
    "number_pools",
    "number_pool_numbers",
    "phonebooks",
    "lcrs",
    "lcr_providers",
    "provider_rules",
];

/// Whether `name` is one of the typed collections.
pub fn is_typed(name: &str) -> bool {
    TYPED.contains(&name)
}

/// A value as the text an answer shows: strings as they are, numbers as written, booleans as
/// `1`/`0` (how MOR prints flags), null as empty.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn to_records<T: Serialize>(v: &[T]) -> Vec<Record> {
    v.iter()
        .filter_map(|r| match serde_json::to_value(r) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect()
}

/// Every record of collection `name` (an unknown, untyped collection has none yet).
pub fn read(data: &WorldData, name: &str) -> Vec<Record> {
    match name {
        "users" => to_records(&data.users),
        "devices" => to_records(&data.devices),
        "providers" => to_records(&data.providers),
        "destinations" => to_records(&data.destinations),
        "tariffs" => to_records(&data.tariffs),
        "payments" => to_records(&data.payments),
        "currencies" => to_records(&data.currencies),
        "dids" => to_records(&data.dids),
        "services" => to_records(&data.services),
        "subscriptions" => to_records(&data.subscriptions),
        "invoices" => to_records(&data.invoices),
        "credit_notes" => to_records(&data.credit_notes),
        "number_pools" => to_records(&data.number_pools),
        "number_pool_numbers" => to_records(&data.number_pool_numbers),
        "phonebooks" => to_records(&data.phonebooks),
        "lcrs" => to_records(&data.lcrs),
        "lcr_providers" => to_records(&data.lcr_providers),
        "provider_rules" => to_records(&data.provider_rules),
        other => data.records.get(other).cloned().unwrap_or_default(),
    }
}

fn from_records<T: DeserializeOwned>(name: &str, records: Vec<Record>) -> Result<Vec<T>, String> {
    records
        .into_iter()
        .map(|r| {
            let id = r.get("id").map(text).unwrap_or_default();
            serde_json::from_value(Value::Object(r)).map_err(|e| format!("{name} record {id}: {e}"))
        })
        .collect()
}

/// Replace every record of collection `name`. A typed collection's records must have its
/// fields and types (the error names the collection, the record's id and the field); on error
/// nothing changes.
pub fn replace(data: &mut WorldData, name: &str, records: Vec<Record>) -> Result<(), String> {
    write(data, name, records, false)
}

/// Add `records` at the end of collection `name`, as [`replace`] would with the whole
/// collection plus these (a write that only created records converts only those). On error
/// nothing changes.
pub fn append(data: &mut WorldData, name: &str, records: Vec<Record>) -> Result<(), String> {
    write(data, name, records, true)
}

/// [`replace`] or, with `extend`, [`append`]: one list of the typed collections for both.
fn write(
    data: &mut WorldData,
    name: &str,
    records: Vec<Record>,
    extend: bool,
) -> Result<(), String> {
    fn put<T: DeserializeOwned>(
        to: &mut Vec<T>,
        name: &str,
        records: Vec<Record>,
        extend: bool,
    ) -> Result<(), String> {
        let new = from_records(name, records)?;
        if extend {
            to.extend(new);
        } else {
            *to = new;
        }
        Ok(())
    }
    match name {
        "users" => put(&mut data.users, name, records, extend),
        "devices" => put(&mut data.devices, name, records, extend),
        "providers" => put(&mut data.providers, name, records, extend),
        "destinations" => put(&mut data.destinations, name, records, extend),
        "tariffs" => put(&mut data.tariffs, name, records, extend),
        "payments" => put(&mut data.payments, name, records, extend),
        "currencies" => put(&mut data.currencies, name, records, extend),
        "dids" => put(&mut data.dids, name, records, extend),
        "services" => put(&mut data.services, name, records, extend),
        "subscriptions" => put(&mut data.subscriptions, name, records, extend),
        "invoices" => put(&mut data.invoices, name, records, extend),
        "credit_notes" => put(&mut data.credit_notes, name, records, extend),
        "number_pools" => put(&mut data.number_pools, name, records, extend),
        "number_pool_numbers" => put(&mut data.number_pool_numbers, name, records, extend),
        "phonebooks" => put(&mut data.phonebooks, name, records, extend),
        "lcrs" => put(&mut data.lcrs, name, records, extend),
        "lcr_providers" => put(&mut data.lcr_providers, name, records, extend),
        "provider_rules" => put(&mut data.provider_rules, name, records, extend),
        other => {
            let to = data.records.entry(other.to_string()).or_default();
            if extend {
                to.extend(records);
            } else {
                *to = records;
            }
            Ok(())
        }
    }
}

/// The JSON type a field of a typed collection takes, read from its JSON Schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text (also amounts, times, enums).
    Text,
    /// An integer.
    Integer,
    /// A decimal number.
    Number,
    /// A flag.
    Bool,
    /// A list (only an empty text sets it: to no items).
    List,
}

/// A field of a typed collection: its kind and whether it may be null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The JSON type.
    pub kind: FieldKind,
    /// Whether null is allowed (an optional field): empty text sets null.
    pub nullable: bool,
}

fn schema_fields<T: schemars::JsonSchema>() -> BTreeMap<String, Field> {
    let schema = schemars::schema_for!(T);
    let mut out = BTreeMap::new();
    let Some(props) = schema
        .as_value()
        .get("properties")
        .and_then(Value::as_object)
    else {
        return out;
    };
    for (name, p) in props {
        let types: Vec<&str> = match p.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        // An optional field of a referenced type (`Option<When>`) is `anyOf: [{$ref}, {type: null}]`.
        let null_variant = ["anyOf", "oneOf"].iter().any(|k| {
            p.get(*k).and_then(Value::as_array).is_some_and(|a| {
                a.iter()
                    .any(|v| v.get("type").and_then(Value::as_str) == Some("null"))
            })
        });
        let nullable = types.contains(&"null") || null_variant;
        let kind = if types.contains(&"string") || types.is_empty() {
            FieldKind::Text
        } else if types.contains(&"integer") {
            FieldKind::Integer
        } else if types.contains(&"number") {
            FieldKind::Number
        } else if types.contains(&"boolean") {
            FieldKind::Bool
        } else if types.contains(&"array") {
            FieldKind::List
        } else {
            FieldKind::Text
        };
        out.insert(name.clone(), Field { kind, nullable });
    }
    out
}

/// The fields of typed collection `name` (None for an untyped collection: any field, text).
pub fn fields(name: &str) -> Option<&'static BTreeMap<String, Field>> {
    static CELL: OnceLock<BTreeMap<&'static str, BTreeMap<String, Field>>> = OnceLock::new();
    let all = CELL.get_or_init(|| {
        BTreeMap::from([
            ("users", schema_fields::<User>()),
            ("devices", schema_fields::<Device>()),
            ("providers", schema_fields::<Provider>()),
            ("destinations", schema_fields::<Destination>()),
            ("tariffs", schema_fields::<Tariff>()),
            ("payments", schema_fields::<Payment>()),
            ("currencies", schema_fields::<Currency>()),
            ("dids", schema_fields::<Did>()),
            ("services", schema_fields::<Service>()),
            ("subscriptions", schema_fields::<Subscription>()),
            ("invoices", schema_fields::<Invoice>()),
            ("credit_notes", schema_fields::<CreditNote>()),
            ("number_pools", schema_fields::<NumberPool>()),
            ("number_pool_numbers", schema_fields::<PoolNumber>()),
            ("phonebooks", schema_fields::<Phonebook>()),
            ("lcrs", schema_fields::<Lcr>()),
            ("lcr_providers", schema_fields::<LcrProvider>()),
            ("provider_rules", schema_fields::<ProviderRule>()),
        ])
    });
    all.get(name)
}

/// The value field `field` of collection `name` takes for `text`: typed by the field's kind
/// (`"12"` an integer, `"1"`/`"true"` a flag, empty text null where allowed), text otherwise.
/// An error names the field and says what it wanted.
pub fn coerce(collection: &str, field: &str, text: &str) -> Result<Value, String> {
    let Some(fields) = fields(collection) else {
        return Ok(Value::String(text.to_string()));
    };
    let Some(f) = fields.get(field) else {
        return Err(format!("{collection} have no field `{field}`"));
    };
    let t = text.trim();
    if t.is_empty() && f.nullable {
        return Ok(Value::Null);
    }
    let bad = |what: &str| format!("{collection}.{field}: `{text}` is not {what}");
    Ok(match f.kind {
        FieldKind::Text => Value::String(text.to_string()),
        FieldKind::Integer => {
            if let Ok(n) = t.parse::<u64>() {
                Value::from(n)
            } else {
                Value::from(t.parse::<i64>().map_err(|_| bad("an integer"))?)
            }
        }
        FieldKind::Number => serde_json::Number::from_f64(t.parse().map_err(|_| bad("a number"))?)
            .map(Value::Number)
            .ok_or_else(|| bad("a finite number"))?,
        FieldKind::Bool => match t {
            "1" | "true" => Value::Bool(true),
            "0" | "false" | "" => Value::Bool(false),
            _ => return Err(bad("0 or 1")),
        },
        FieldKind::List if t.is_empty() => Value::Array(Vec::new()),
        FieldKind::List => Value::Array(
            t.split(',')
                .map(|s| Value::String(s.trim().to_string()))
                .collect(),
        ),
    })
}

/// The next free id of a collection: one more than the highest `id` (1 for an empty one).
pub fn next_id(records: &[Record]) -> u64 {
    records
        .iter()
        .filter_map(|r| text(r.get("id")?).parse::<u64>().ok())
        .max()
        .map_or(1, |m| m + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn did(id: u64, number: &str) -> Did {
        Did {
            id,
            did: number.into(),
            provider_id: 1,
            status: "free".into(),
            user_id: 0,
            device_id: 0,
            reseller_id: 0,
            dialplan_id: 0,
        }
    }

    #[test]
    fn a_typed_collection_reads_and_writes_back_through_its_serde_form() {
        let mut data = WorldData {
            dids: vec![did(1, "3706"), did(4, "3707")],
            ..WorldData::default()
        };
        let mut recs = read(&data, "dids");
        assert_eq!(next_id(&recs), 5);
        assert_eq!(text(&recs[1]["did"]), "3707");
        recs[0].insert("status".into(), coerce("dids", "status", "active").unwrap());
        recs[0].insert(
            "device_id".into(),
            coerce("dids", "device_id", "7").unwrap(),
        );
        replace(&mut data, "dids", recs).unwrap();
        assert_eq!(data.dids[0].status, "active");
        assert_eq!(data.dids[0].device_id, 7);
    }

    #[test]
    fn appending_converts_the_new_records_only_and_refuses_a_bad_one_leaving_all_as_it_was() {
        let mut data = WorldData {
            dids: vec![did(1, "3706")],
            ..WorldData::default()
        };
        let mut new = read(
            &WorldData {
                dids: vec![did(2, "3707"), did(3, "3708")],
                ..WorldData::default()
            },
            "dids",
        );
        append(&mut data, "dids", new.clone()).unwrap();
        assert_eq!(
            data.dids,
            vec![did(1, "3706"), did(2, "3707"), did(3, "3708")]
        );
        new[1].insert("colour".into(), Value::String("red".into()));
        let e = append(&mut data, "dids", new).unwrap_err();
        assert!(e.contains("dids record 3") && e.contains("colour"), "{e}");
        assert_eq!(data.dids.len(), 3);
        // An untyped collection keeps its records as they are.
        let phone: Record = [("id".to_string(), Value::from("1"))].into_iter().collect();
        append(&mut data, "contacts", vec![phone.clone()]).unwrap();
        append(&mut data, "contacts", vec![phone]).unwrap();
        assert_eq!(data.records["contacts"].len(), 2);
    }

    #[test]
    fn a_record_with_an_unknown_field_or_a_bad_type_is_refused_and_nothing_changes() {
        let mut data = WorldData {
            dids: vec![did(1, "3706")],
            ..WorldData::default()
        };
        let mut recs = read(&data, "dids");
        recs[0].insert("colour".into(), Value::String("red".into()));
        let e = replace(&mut data, "dids", recs).unwrap_err();
        assert!(e.contains("dids record 1") && e.contains("colour"), "{e}");
        assert_eq!(data.dids, vec![did(1, "3706")]);
        let e = coerce("dids", "device_id", "x7").unwrap_err();
        assert_eq!(e, "dids.device_id: `x7` is not an integer");
        assert!(coerce("dids", "colour", "1").is_err());
    }

    #[test]
    fn text_values_take_each_fields_type() {
        assert_eq!(coerce("users", "blocked", "1").unwrap(), Value::Bool(true));
        assert_eq!(coerce("users", "tariff_id", "").unwrap(), Value::Null);
        // An optional time (anyOf a reference and null): empty text clears it.
        assert_eq!(coerce("credit_notes", "pay_date", "").unwrap(), Value::Null);
        assert_eq!(
            coerce("users", "tariff_id", "3").unwrap(),
            Value::from(3u64)
        );
        assert_eq!(
            coerce("users", "balance", "1.50").unwrap(),
            Value::String("1.50".into())
        );
        assert_eq!(
            coerce("users", "role", "user").unwrap(),
            Value::String("user".into())
        );
        assert_eq!(
            coerce("devices", "port", "5060").unwrap(),
            Value::from(5060u64)
        );
        // Untyped collections keep text.
        assert_eq!(
            coerce("contacts", "number", "0037").unwrap(),
            Value::String("0037".into())
        );
    }

    #[test]
    fn an_untyped_collection_lives_in_the_records_map() {
        let mut data = WorldData::default();
        assert!(read(&data, "contacts").is_empty());
        let mut r = Record::new();
        r.insert("id".into(), Value::String("1".into()));
        replace(&mut data, "contacts", vec![r]).unwrap();
        assert_eq!(read(&data, "contacts").len(), 1);
        assert_eq!(next_id(&read(&data, "contacts")), 2);
    }
}
