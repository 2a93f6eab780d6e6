//! The rows a compiled statement ([`crate::sql::SqlQuery`]) returns, as the store reads them
//! from either database, and their conversion into result-set cells.
//!
//! A row is one [`SqlValue`] per output column; each AQL column is one [`Cell`] reading one
//! or more of them. Whole objects are not in the rows: a cell names the object (EHR, object
//! and archetype root), the caller reads the documents of [`object_refs`] and hands them to
//! [`to_json`].

use std::collections::HashMap;

use serde_json::{Number, Value};

use crate::index::ValueKind;
use crate::sql::{Cell, Output, SqlQuery};

/// One output column of one row.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    /// An EHR or object id.
    Uuid([u8; 16]),
}

impl SqlValue {
    fn as_integer(&self) -> Option<i64> {
        match self {
            SqlValue::Integer(integer) => Some(*integer),
            #[allow(clippy::cast_possible_truncation)]
            SqlValue::Real(real) if real.fract() == 0.0 => Some(*real as i64),
            _ => None,
        }
    }

    fn as_real(&self) -> Option<f64> {
        match self {
            #[allow(clippy::cast_precision_loss)]
            SqlValue::Integer(integer) => Some(*integer as f64),
            SqlValue::Real(real) => Some(*real),
            _ => None,
        }
    }
}

/// An archetype root of a stored object, named by a row: the document of the object's
/// latest version, and the root's number in [`crate::index`]'s document order (0 for the
/// object itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub ehr_id: [u8; 16],
    pub object_id: [u8; 16],
    pub seq: u32,
}

/// The objects the rows' cells name, each once, in order of first appearance.
pub fn object_refs(query: &SqlQuery, rows: &[Vec<SqlValue>]) -> Vec<ObjectRef> {
    let mut seen = std::collections::HashSet::new();
    let mut refs = Vec::new();
    for row in rows {
        for cell in &query.cells {
            if let Some(object) = object_ref(cell, row)
                && seen.insert(object)
            {
                refs.push(object);
            }
        }
    }
    refs
}

fn object_ref(cell: &Cell, row: &[SqlValue]) -> Option<ObjectRef> {
    let Cell::Object {
        ehr_id,
        object_id,
        seq,
    } = cell
    else {
        return None;
    };
    match (row.get(*ehr_id)?, row.get(*object_id)?, row.get(*seq)?) {
        (SqlValue::Uuid(ehr_id), SqlValue::Uuid(object_id), seq) => Some(ObjectRef {
            ehr_id: *ehr_id,
            object_id: *object_id,
            seq: u32::try_from(seq.as_integer()?).ok()?,
        }),
        _ => None,
    }
}

/// One result row: a JSON value per AQL column. `objects` holds the canonical JSON of every
/// object in [`object_refs`]; an object missing from it (deleted since the statement ran)
/// reads as `null`.
pub fn to_json(
    query: &SqlQuery,
    row: &[SqlValue],
    objects: &HashMap<ObjectRef, Value>,
) -> Vec<Value> {
    query
        .cells
        .iter()
        .map(|cell| cell_json(cell, row, objects))
        .collect()
}

fn cell_json(cell: &Cell, row: &[SqlValue], objects: &HashMap<ObjectRef, Value>) -> Value {
    let at = |column: usize| row.get(column).unwrap_or(&SqlValue::Null);
    match cell {
        Cell::EhrId(column) => match at(*column) {
            SqlValue::Uuid(bytes) => Value::String(uuid::Uuid::from_bytes(*bytes).to_string()),
            SqlValue::Text(text) => Value::String(text.clone()),
            _ => Value::Null,
        },
        Cell::Text(column) => match at(*column) {
            SqlValue::Text(text) => Value::String(text.clone()),
            _ => Value::Null,
        },
        Cell::Number(column) => number(at(*column), Output::Integer),
        Cell::Object { .. } => object_ref(cell, row)
            .and_then(|object| objects.get(&object).cloned())
            .unwrap_or(Value::Null),
        Cell::Value { kind, columns } => {
            let Some(code) = at(*kind).as_integer() else {
                return Value::Null;
            };
            let Some(kind) = u8::try_from(code).ok().and_then(ValueKind::from_code) else {
                return Value::Null;
            };
            columns
                .iter()
                .find(|(candidate, _, _)| *candidate == kind)
                .map_or(Value::Null, |(_, column, output)| match output {
                    Output::Text => match at(*column) {
                        SqlValue::Text(text) => Value::String(text.clone()),
                        _ => Value::Null,
                    },
                    Output::Boolean => at(*column)
                        .as_integer()
                        .map_or(Value::Null, |flag| Value::Bool(flag != 0)),
                    Output::Integer | Output::Real => number(at(*column), *output),
                })
        }
    }
}

/// A number as JSON: an integer when it has no fraction and `output` is `Integer`.
fn number(value: &SqlValue, output: Output) -> Value {
    if output == Output::Integer
        && let Some(integer) = value.as_integer()
    {
        return Value::from(integer);
    }
    value
        .as_real()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}
