//! Values and how they compare: numbers numerically, the values of DV_DATE_TIME, DV_DATE,
//! DV_TIME and DV_DURATION (and strings compared with them) as instants or lengths, other
//! strings by code point, booleans by equality; LIKE patterns; the sort order of ORDER BY.

use std::cmp::Ordering;

use serde_json::{Number, Value};
use templates::validate::iso8601;

use super::path::Node;
use super::{EvalError, EvalErrorKind, EvalResult};
use crate::ast::{ComparisonOp, Literal, LiteralValue, SortDirection, Span};

/// One value of an expression: a node of the data or a value the query made (a literal, a
/// parameter, a function's result).
#[derive(Debug, Clone)]
pub(crate) struct Datum<'a> {
    item: Item<'a>,
    /// The value is a date, time or duration: the `value` string of a DV_DATE_TIME,
    /// DV_DATE, DV_TIME or DV_DURATION, or such an object itself.
    temporal: Option<Temporal>,
}

#[derive(Debug, Clone)]
enum Item<'a> {
    Node(Node<'a>),
    Owned(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Temporal {
    DateTime,
    Date,
    Time,
    Duration,
}

impl Temporal {
    fn of_type(type_name: &str) -> Option<Temporal> {
        match type_name {
            "DV_DATE_TIME" => Some(Temporal::DateTime),
            "DV_DATE" => Some(Temporal::Date),
            "DV_TIME" => Some(Temporal::Time),
            "DV_DURATION" => Some(Temporal::Duration),
            _ => None,
        }
    }

    /// The value's position on its scale: seconds since the epoch (a partial date taking its
    /// first instant, a missing zone read as UTC), seconds since midnight, or nominal seconds.
    fn key(self, text: &str) -> Option<f64> {
        match self {
            Temporal::DateTime | Temporal::Date => {
                iso8601::parse_date_time(text).map(|value| iso8601::date_time_key(&value))
            }
            Temporal::Time => iso8601::parse_time(text).map(|value| iso8601::time_key(&value)),
            Temporal::Duration => {
                iso8601::parse_duration(text).map(|value| iso8601::duration_key(&value))
            }
        }
    }

    /// Dates and date-times share one time line; times and durations are scales of their own.
    fn scale(self) -> u8 {
        match self {
            Temporal::DateTime | Temporal::Date => 0,
            Temporal::Time => 1,
            Temporal::Duration => 2,
        }
    }
}

/// What comparisons see of a datum.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Primitive<'v> {
    Number(&'v Number),
    String(&'v str, Option<Temporal>),
    Boolean(bool),
}

impl<'a> Datum<'a> {
    pub fn owned(value: Value) -> Datum<'a> {
        Datum {
            item: Item::Owned(value),
            temporal: None,
        }
    }

    /// `parent_type`: the type of the object the value was read from, when the last step of
    /// the path was `value`.
    pub fn from_node(node: Node<'a>, parent_type: Option<&str>) -> Datum<'a> {
        let temporal = match node {
            Node::Json(Value::String(_)) => parent_type.and_then(Temporal::of_type),
            Node::Json(Value::Object(_)) => node.type_name().and_then(Temporal::of_type),
            _ => None,
        };
        Datum {
            item: Item::Node(node),
            temporal,
        }
    }

    pub fn into_json(self) -> Value {
        match self.item {
            Item::Node(node) => node.to_json(),
            Item::Owned(value) => value,
        }
    }

    /// The JSON value, when the datum is one (not the EHR or a version).
    pub fn as_json(&self) -> Option<&Value> {
        match &self.item {
            Item::Node(Node::Json(value)) => Some(value),
            Item::Owned(value) => Some(value),
            Item::Node(_) => None,
        }
    }

    /// The value comparisons, LIKE and functions work on. A DV_DATE_TIME, DV_DATE, DV_TIME
    /// or DV_DURATION object stands for its `value` (the specification's examples write
    /// `c/context/start_time <= '1986-01-01'`); any other object is an error.
    pub fn primitive(&self, span: Span) -> EvalResult<Primitive<'_>> {
        let value = self.as_json();
        let value = match (value, self.temporal) {
            (Some(Value::Object(map)), Some(_)) => map.get("value"),
            _ => value,
        };
        match value {
            Some(Value::Number(number)) => Ok(Primitive::Number(number)),
            Some(Value::String(text)) => Ok(Primitive::String(text, self.temporal)),
            Some(Value::Bool(flag)) => Ok(Primitive::Boolean(*flag)),
            _ => Err(EvalError::new(
                EvalErrorKind::ObjectComparison,
                span,
                format!(
                    "{} is an RM object, not a value; compare one of its attributes",
                    self.describe()
                ),
            )),
        }
    }

    /// The RM type of an object datum, for messages.
    fn describe(&self) -> String {
        match &self.item {
            Item::Node(node) => node.type_name().unwrap_or("a list").to_string(),
            Item::Owned(_) => "the value".to_string(),
        }
    }
}

pub(crate) fn literal<'a>(literal: &Literal) -> Option<Datum<'a>> {
    let value = match &literal.value {
        LiteralValue::String(text) => Value::String(text.clone()),
        LiteralValue::Integer(number) => Value::from(*number),
        LiteralValue::Real(number) => Value::from(*number),
        LiteralValue::Boolean(flag) => Value::Bool(*flag),
        LiteralValue::Null => return None,
    };
    Some(Datum::owned(value))
}

/// How two primitives relate.
enum Relation {
    Ordered(Ordering),
    /// Booleans: only equal or not.
    Equality(bool),
    /// A string and a number, say: unequal, and neither before the other.
    Unrelated,
}

fn relate(left: Primitive<'_>, right: Primitive<'_>) -> Relation {
    match (left, right) {
        (Primitive::Number(left), Primitive::Number(right)) => {
            match number(left).partial_cmp(&number(right)) {
                Some(ordering) => Relation::Ordered(ordering),
                None => Relation::Unrelated,
            }
        }
        (Primitive::String(left, left_kind), Primitive::String(right, right_kind)) => {
            let kind = match (left_kind, right_kind) {
                (Some(left_kind), Some(right_kind)) if left_kind.scale() != right_kind.scale() => {
                    return Relation::Unrelated;
                }
                (kind, None) | (None, kind) => kind,
                (kind, Some(_)) => kind,
            };
            // a string that does not read as the other side's type compares as a string,
            // as the specification reads a basic-format date beside an extended one
            if let Some(kind) = kind
                && let (Some(left_key), Some(right_key)) = (kind.key(left), kind.key(right))
                && let Some(ordering) = left_key.partial_cmp(&right_key)
            {
                return Relation::Ordered(ordering);
            }
            Relation::Ordered(left.cmp(right))
        }
        (Primitive::Boolean(left), Primitive::Boolean(right)) => Relation::Equality(left == right),
        _ => Relation::Unrelated,
    }
}

pub(crate) fn number(value: &Number) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

/// Whether `left op right` holds.
pub(crate) fn compare(
    op: ComparisonOp,
    left: &Datum<'_>,
    right: &Datum<'_>,
    span: Span,
) -> EvalResult<bool> {
    let relation = relate(left.primitive(span)?, right.primitive(span)?);
    Ok(match relation {
        Relation::Ordered(ordering) => match op {
            ComparisonOp::Equal => ordering == Ordering::Equal,
            ComparisonOp::NotEqual => ordering != Ordering::Equal,
            ComparisonOp::Greater => ordering == Ordering::Greater,
            ComparisonOp::GreaterOrEqual => ordering != Ordering::Less,
            ComparisonOp::Less => ordering == Ordering::Less,
            ComparisonOp::LessOrEqual => ordering != Ordering::Greater,
        },
        Relation::Equality(equal) => match op {
            ComparisonOp::Equal => equal,
            ComparisonOp::NotEqual => !equal,
            _ => false,
        },
        Relation::Unrelated => op == ComparisonOp::NotEqual,
    })
}

/// `x MATCHES {..., item, ...}` for one value of x and one item: equality, except that a
/// CODE_PHRASE or DV_CODED_TEXT matches a `terminology::code` string.
pub(crate) fn matches_item(datum: &Datum<'_>, item: &Datum<'_>, span: Span) -> EvalResult<bool> {
    if let Some(Value::Object(map)) = datum.as_json() {
        let code_phrase = match map.get("_type").and_then(Value::as_str) {
            Some("CODE_PHRASE") => datum.as_json(),
            Some("DV_CODED_TEXT") => map.get("defining_code"),
            _ => None,
        };
        if let Some(code_phrase) = code_phrase {
            return Ok(match item.as_json() {
                Some(Value::String(text)) => {
                    text.split_once("::").is_some_and(|(terminology, code)| {
                        code_phrase_is(Node::Json(code_phrase), terminology, code)
                    })
                }
                _ => false,
            });
        }
    }
    compare(ComparisonOp::Equal, datum, item, span)
}

pub(crate) fn code_phrase_is(code_phrase: Node<'_>, terminology: &str, code: &str) -> bool {
    let Node::Json(code_phrase) = code_phrase else {
        return false;
    };
    code_phrase.get("code_string").and_then(Value::as_str) == Some(code)
        && code_phrase
            .get("terminology_id")
            .and_then(|id| id.get("value"))
            .and_then(Value::as_str)
            == Some(terminology)
}

/// `x LIKE pattern` for one value of x: `?` is one character, `*` any run, a backslash
/// makes the next character literal, and the whole string must match. Numbers and booleans
/// never match.
pub(crate) fn like(datum: &Datum<'_>, pattern: &str, span: Span) -> EvalResult<bool> {
    match datum.primitive(span)? {
        Primitive::String(text, _) => Ok(glob(&parse_pattern(pattern), text)),
        Primitive::Number(_) | Primitive::Boolean(_) => Ok(false),
    }
}

#[derive(Debug, PartialEq)]
enum PatternItem {
    Character(char),
    One,
    Any,
}

fn parse_pattern(pattern: &str) -> Vec<PatternItem> {
    let mut items = Vec::new();
    let mut characters = pattern.chars();
    while let Some(character) = characters.next() {
        items.push(match character {
            '\\' => PatternItem::Character(characters.next().unwrap_or('\\')),
            '?' => PatternItem::One,
            '*' => PatternItem::Any,
            other => PatternItem::Character(other),
        });
    }
    items
}

/// Matching by dynamic programming over (pattern position, text position), so that runs of
/// `*` cannot make it exponential.
fn glob(pattern: &[PatternItem], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    // matched[j]: the pattern so far matches the first j characters of the text
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for item in pattern {
        let mut next = vec![false; text.len() + 1];
        for position in 0..=text.len() {
            next[position] = match item {
                PatternItem::Any => matched[position] || (position > 0 && next[position - 1]),
                PatternItem::One => position > 0 && matched[position - 1],
                PatternItem::Character(character) => {
                    position > 0 && matched[position - 1] && text[position - 1] == *character
                }
            };
        }
        matched = next;
    }
    matched[text.len()]
}

/// ORDER BY: NULL after every value in ascending order (so first in descending); values of
/// one type by their comparison; values of different types by type: numbers, then strings,
/// then booleans.
pub(crate) fn sort_order(
    left: Option<&Datum<'_>>,
    right: Option<&Datum<'_>>,
    direction: SortDirection,
    span: Span,
) -> EvalResult<Ordering> {
    let ascending = match (left, right) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(left), Some(right)) => primitive_order(left.primitive(span)?, right.primitive(span)?),
    };
    Ok(match direction {
        SortDirection::Ascending => ascending,
        SortDirection::Descending => ascending.reverse(),
    })
}

pub(crate) fn primitive_order(left: Primitive<'_>, right: Primitive<'_>) -> Ordering {
    let rank = |primitive: &Primitive<'_>| match primitive {
        Primitive::Number(_) => 0,
        Primitive::String(..) => 1,
        Primitive::Boolean(_) => 2,
    };
    match relate(left, right) {
        Relation::Ordered(ordering) => ordering,
        Relation::Equality(_) => match (left, right) {
            (Primitive::Boolean(left), Primitive::Boolean(right)) => left.cmp(&right),
            _ => Ordering::Equal,
        },
        Relation::Unrelated => match rank(&left).cmp(&rank(&right)) {
            // a date-time beside a time, say: as strings
            Ordering::Equal => match (left, right) {
                (Primitive::String(left, _), Primitive::String(right, _)) => left.cmp(right),
                _ => Ordering::Equal,
            },
            ordering => ordering,
        },
    }
}

/// Whether two cells are the same for DISTINCT, grouping and COUNT(DISTINCT): the same JSON,
/// numbers compared by value (`120` and `120.0` are one value).
pub(crate) fn same_cell(left: Option<&Datum<'_>>, right: Option<&Datum<'_>>) -> bool {
    match (left, right) {
        (None, None) => true,
        (Some(left), Some(right)) => match (left.as_json(), right.as_json()) {
            (Some(left), Some(right)) => same_json(left, right),
            _ => same_json(&left.clone().into_json(), &right.clone().into_json()),
        },
        _ => false,
    }
}

pub(crate) fn same_json(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(left), Value::Number(right)) => number(left) == number(right),
        (Value::Array(left), Value::Array(right)) => {
            left.len() == right.len() && left.iter().zip(right).all(|(l, r)| same_json(l, r))
        }
        (Value::Object(left), Value::Object(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .all(|(key, value)| right.get(key).is_some_and(|other| same_json(value, other)))
        }
        _ => left == right,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like_text(pattern: &str, text: &str) -> bool {
        glob(&parse_pattern(pattern), text)
    }

    #[test]
    fn like_patterns() {
        assert!(like_text("2019-0?-*", "2019-05-01T10:00:00Z"));
        assert!(!like_text("2019-0?-*", "2019-10-01"));
        assert!(like_text("*", ""));
        assert!(like_text("a*b*c", "axxbyyc"));
        assert!(!like_text("a*b*c", "axxbyy"));
        assert!(like_text("what\\?", "what?"));
        assert!(!like_text("what\\?", "whats"));
        assert!(like_text("\\*x", "*x"));
    }

    #[test]
    fn temporal_strings_compare_as_instants() {
        let zoned = Primitive::String("2024-01-01T10:00:00+01:00", Some(Temporal::DateTime));
        let utc = Primitive::String("2024-01-01T09:30:00Z", None);
        assert!(matches!(
            relate(zoned, utc),
            Relation::Ordered(Ordering::Less)
        ));
        let partial = Primitive::String("2024", None);
        let first = Primitive::String("2024-01-01T00:00:00Z", Some(Temporal::DateTime));
        assert!(matches!(
            relate(first, partial),
            Relation::Ordered(Ordering::Equal)
        ));
        let text = Primitive::String("2024-01-01T09:30:00Z", None);
        assert!(matches!(
            relate(zoned, text),
            Relation::Ordered(Ordering::Less)
        ));
        assert!(matches!(
            relate(utc, zoned),
            Relation::Ordered(Ordering::Greater)
        ));
    }
}
