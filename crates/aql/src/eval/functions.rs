//! The specification's single-row functions (string, numeric, date and time) and the
//! aggregates, each a few lines after its definition in the AQL specification.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::path::Row;
use super::value::{self, Datum, Primitive};
use super::{Context, EvalError, EvalErrorKind, EvalResult};
use crate::ast::*;

/// A number as computed: integers stay integers, as the specification derives result types
/// from argument types.
#[derive(Debug, Clone, Copy)]
enum Numeric {
    Integer(i64),
    Real(f64),
}

impl Numeric {
    fn of(number: &Number) -> Numeric {
        match number.as_i64() {
            Some(integer) => Numeric::Integer(integer),
            None => Numeric::Real(value::number(number)),
        }
    }

    fn real(self) -> f64 {
        match self {
            #[allow(clippy::cast_precision_loss)]
            Numeric::Integer(integer) => integer as f64,
            Numeric::Real(real) => real,
        }
    }

    fn into_json(self) -> Option<Value> {
        match self {
            Numeric::Integer(integer) => Some(Value::from(integer)),
            // NaN and infinities have no JSON: NULL
            Numeric::Real(real) => Number::from_f64(real).map(Value::Number),
        }
    }
}

impl Context<'_> {
    /// A function's values on a row: the function applied to every combination of its
    /// arguments' values; NULL (no value) when an argument is NULL.
    pub(crate) fn call<'a>(
        &self,
        call: &'a FunctionCall,
        row: &Row<'a>,
    ) -> EvalResult<Vec<Datum<'a>>> {
        if let Some((least, most)) = call.function.arity() {
            let count = call.args.len();
            if count < least || most.is_some_and(|most| count > most) {
                return Err(EvalError::new(
                    EvalErrorKind::TypeMismatch,
                    call.span,
                    format!(
                        "{} takes {} arguments, not {count}",
                        call.name.name,
                        arity_text(least, most)
                    ),
                ));
            }
        }
        let mut combinations: Vec<Vec<Datum<'a>>> = vec![Vec::new()];
        for arg in &call.args {
            let values = self.eval_expr(arg, row)?;
            combinations = combinations
                .into_iter()
                .flat_map(|prefix| {
                    values.iter().map(move |value| {
                        let mut next = prefix.clone();
                        next.push(value.clone());
                        next
                    })
                })
                .collect();
        }
        let mut results = Vec::new();
        for args in combinations {
            if let Some(result) = self.apply(call, &args)? {
                results.push(Datum::owned(result));
            }
        }
        Ok(results)
    }

    fn apply(&self, call: &FunctionCall, args: &[Datum<'_>]) -> EvalResult<Option<Value>> {
        let span = call.span;
        let text = |index: usize| -> EvalResult<&str> {
            match args[index].primitive(span)? {
                Primitive::String(text, _) => Ok(text),
                _ => Err(mismatch(call, "strings")),
            }
        };
        let numeric = |index: usize| -> EvalResult<Numeric> {
            match args[index].primitive(span)? {
                Primitive::Number(number) => Ok(Numeric::of(number)),
                _ => Err(mismatch(call, "numbers")),
            }
        };
        let integer = |index: usize| -> EvalResult<i64> {
            match numeric(index)? {
                Numeric::Integer(integer) => Ok(integer),
                Numeric::Real(_) => Err(mismatch(call, "an integer there")),
            }
        };
        let now = &self.clock.now;
        Ok(match call.function {
            Function::Length => Some(Value::from(text(0)?.chars().count())),
            Function::Contains => Some(Value::Bool(text(0)?.contains(text(1)?))),
            Function::Position => {
                let (needle, haystack) = (text(0)?, text(1)?);
                let position = haystack
                    .find(needle)
                    .map_or(0, |byte| haystack[..byte].chars().count() + 1);
                Some(Value::from(position))
            }
            Function::Substring => {
                let characters: Vec<char> = text(0)?.chars().collect();
                let start = integer(1)?;
                // SQL's rule: characters start..start+length, counting from 1, clipped to
                // the string (so a start before 1 eats into the length)
                let end = match args.get(2) {
                    Some(_) => {
                        let length = integer(2)?;
                        if length < 0 {
                            return Err(mismatch(call, "a length that is not negative"));
                        }
                        start.saturating_add(length)
                    }
                    None => i64::MAX,
                };
                let clip = |position: i64| {
                    usize::try_from(position.saturating_sub(1).max(0))
                        .unwrap_or(usize::MAX)
                        .min(characters.len())
                };
                let (from, to) = (clip(start), clip(end));
                Some(Value::String(
                    characters[from..to.max(from)].iter().collect(),
                ))
            }
            Function::Concat => {
                let mut out = String::new();
                for index in 0..args.len() {
                    out.push_str(text(index)?);
                }
                Some(Value::String(out))
            }
            Function::ConcatWs => {
                let separator = text(0)?;
                let parts = (1..args.len()).map(text).collect::<EvalResult<Vec<_>>>()?;
                Some(Value::String(parts.join(separator)))
            }
            Function::Abs => match numeric(0)? {
                Numeric::Integer(integer) => integer.checked_abs().map(Value::from),
                Numeric::Real(real) => Numeric::Real(real.abs()).into_json(),
            },
            Function::Mod => match (numeric(0)?, numeric(1)?) {
                // the remainder takes the dividend's sign, as in SQL; by zero it is NULL
                (_, Numeric::Integer(0)) => None,
                (Numeric::Integer(left), Numeric::Integer(right)) => {
                    left.checked_rem(right).map(Value::from)
                }
                (_, right) if right.real() == 0.0 => None,
                (left, right) => Numeric::Real(left.real() % right.real()).into_json(),
            },
            Function::Ceil | Function::Floor => match numeric(0)? {
                Numeric::Integer(integer) => Some(Value::from(integer)),
                Numeric::Real(real) => {
                    let rounded = if call.function == Function::Ceil {
                        real.ceil()
                    } else {
                        real.floor()
                    };
                    integral(rounded)
                }
            },
            Function::Round => {
                let places = if args.len() > 1 { integer(1)? } else { 0 };
                match numeric(0)? {
                    Numeric::Integer(integer) if places >= 0 => Some(Value::from(integer)),
                    number => {
                        // half away from zero, as PostgreSQL rounds numerics
                        let scale = 10f64.powi(i32::try_from(places).unwrap_or(0));
                        let rounded = (number.real() * scale).round() / scale;
                        match number {
                            Numeric::Integer(_) => integral(rounded),
                            Numeric::Real(_) => Numeric::Real(rounded).into_json(),
                        }
                    }
                }
            }
            Function::CurrentDate => Some(Value::String(now[..10].to_string())),
            Function::CurrentTime => Some(Value::String(now[11..19].to_string())),
            Function::CurrentDateTime | Function::Now => Some(Value::String(now.clone())),
            Function::CurrentTimezone => Some(Value::String(now[now.len() - 6..].to_string())),
            Function::Terminology => {
                return Err(EvalError::new(
                    EvalErrorKind::Unsupported,
                    span,
                    "TERMINOLOGY needs a terminology service",
                ));
            }
            Function::Other => {
                return Err(EvalError::new(
                    EvalErrorKind::Unsupported,
                    call.name.span,
                    format!("unknown function {}", call.name.name),
                ));
            }
        })
    }

    /// An aggregate over the rows of a group: NULLs ignored except by `COUNT(*)`; COUNT of
    /// nothing is 0, the others NULL.
    pub(crate) fn aggregate<'a>(
        &self,
        call: &'a AggregateCall,
        rows: &[&Row<'a>],
    ) -> EvalResult<Option<Datum<'a>>> {
        let path = match &call.argument {
            AggregateArgument::AllRows(_) => {
                return Ok(Some(Datum::owned(Value::from(rows.len()))));
            }
            AggregateArgument::Path(path) => path,
        };
        let mut values: Vec<Datum<'a>> = Vec::new();
        for row in rows {
            values.extend(self.path_values(path, row)?);
        }
        if call.distinct {
            let mut distinct: Vec<Datum<'a>> = Vec::new();
            for datum in values {
                if !distinct
                    .iter()
                    .any(|kept| value::same_cell(Some(kept), Some(&datum)))
                {
                    distinct.push(datum);
                }
            }
            values = distinct;
        }
        let span = call.span;
        Ok(match call.function {
            Aggregate::Count => Some(Datum::owned(Value::from(values.len()))),
            Aggregate::Min | Aggregate::Max => {
                let mut best: Option<Datum<'a>> = None;
                for datum in values {
                    let better = match &best {
                        None => true,
                        Some(current) => {
                            let ordering = value::primitive_order(
                                datum.primitive(span)?,
                                current.primitive(span)?,
                            );
                            if call.function == Aggregate::Min {
                                ordering == Ordering::Less
                            } else {
                                ordering == Ordering::Greater
                            }
                        }
                    };
                    if better {
                        datum.primitive(span)?;
                        best = Some(datum);
                    }
                }
                // a DV_DATE_TIME object's minimum is the object; SQL gives its value, and
                // so does the oracle
                best.map(|datum| match datum.primitive(span) {
                    Ok(Primitive::String(text, _)) => Datum::owned(Value::String(text.into())),
                    _ => datum,
                })
            }
            Aggregate::Sum | Aggregate::Avg => {
                if values.is_empty() {
                    return Ok(None);
                }
                let mut numbers = Vec::new();
                for datum in &values {
                    match datum.primitive(span)? {
                        Primitive::Number(number) => numbers.push(Numeric::of(number)),
                        _ => {
                            return Err(EvalError::new(
                                EvalErrorKind::TypeMismatch,
                                span,
                                format!("{} takes numbers", call.function.canonical_name()),
                            ));
                        }
                    }
                }
                let all_integers = numbers.iter().all(|n| matches!(n, Numeric::Integer(_)));
                let total: f64 = numbers.iter().map(|number| number.real()).sum();
                let result = match call.function {
                    Aggregate::Sum if all_integers => numbers
                        .iter()
                        .try_fold(0i64, |sum, number| match number {
                            Numeric::Integer(integer) => sum.checked_add(*integer),
                            Numeric::Real(_) => None,
                        })
                        .map(Value::from),
                    Aggregate::Sum => Numeric::Real(total).into_json(),
                    #[allow(clippy::cast_precision_loss)]
                    _ => Numeric::Real(total / numbers.len() as f64).into_json(),
                };
                result.map(Datum::owned)
            }
        })
    }
}

/// A whole real as an integer, when it fits.
fn integral(real: f64) -> Option<Value> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    if real.is_finite() && real.abs() < 9.0e15 {
        Some(Value::from(real as i64))
    } else {
        Numeric::Real(real).into_json()
    }
}

fn mismatch(call: &FunctionCall, expected: &str) -> EvalError {
    EvalError::new(
        EvalErrorKind::TypeMismatch,
        call.span,
        format!("{} takes {expected}", call.name.name),
    )
}

fn arity_text(least: usize, most: Option<usize>) -> String {
    match most {
        Some(most) if most == least => least.to_string(),
        Some(most) => format!("{least} to {most}"),
        None => format!("at least {least}"),
    }
}
