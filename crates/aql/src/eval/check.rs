//! What is checked before any data is read, so that a mistake in a query is reported even
//! when no EHR would reach it: variables are declared once and resolve, a variable under
//! NOT CONTAINS is not used, and every parameter the query uses has a value.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{EvalError, EvalErrorKind, EvalResult};
use crate::ast::*;

/// The FROM variables, each with its slot in a binding row.
#[derive(Debug, Default)]
pub(crate) struct Variables {
    slots: HashMap<String, usize>,
    /// Bound under NOT CONTAINS or NOT: they never hold a value in a row.
    negated: Vec<String>,
}

impl Variables {
    pub fn slot(&self, name: &str) -> Option<usize> {
        self.slots.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }
}

pub(crate) fn check(query: &Query, parameters: &Map<String, Value>) -> EvalResult<Variables> {
    let mut variables = Variables::default();
    declare(&query.from, false, &mut variables)?;

    let walker = Walker {
        variables: &variables,
        parameters,
        aliases: query
            .select
            .columns
            .iter()
            .filter_map(|column| column.alias.as_ref().map(|alias| alias.name.as_str()))
            .collect(),
    };
    walker.contains(&query.from)?;
    for column in &query.select.columns {
        walker.expr(&column.expr, false)?;
    }
    if let Some(condition) = &query.where_clause {
        walker.condition(condition)?;
    }
    for order in &query.order_by {
        walker.expr(&order.expr, true)?;
    }
    Ok(variables)
}

fn declare(expr: &ContainsExpr, negated: bool, variables: &mut Variables) -> EvalResult<()> {
    let mut class = |class: &ClassExpr, negated: bool| -> EvalResult<()> {
        if let Some(variable) = &class.variable {
            if variables.slots.contains_key(&variable.name) {
                return Err(EvalError::new(
                    EvalErrorKind::DuplicateVariable,
                    variable.span,
                    format!("variable {} is declared twice", variable.name),
                ));
            }
            let slot = variables.slots.len();
            variables.slots.insert(variable.name.clone(), slot);
            if negated {
                variables.negated.push(variable.name.clone());
            }
        }
        Ok(())
    };
    match expr {
        ContainsExpr::Class(parent) => class(parent, negated),
        ContainsExpr::Contains {
            parent,
            negated: not_contains,
            child,
            ..
        } => {
            class(parent, negated)?;
            declare(child, negated || *not_contains, variables)
        }
        ContainsExpr::And { operands, .. } | ContainsExpr::Or { operands, .. } => operands
            .iter()
            .try_for_each(|operand| declare(operand, negated, variables)),
        ContainsExpr::Not { operand, .. } => declare(operand, true, variables),
    }
}

struct Walker<'q> {
    variables: &'q Variables,
    parameters: &'q Map<String, Value>,
    aliases: Vec<&'q str>,
}

impl Walker<'_> {
    fn parameter(&self, parameter: &Parameter) -> EvalResult<()> {
        if self.parameters.contains_key(&parameter.name) {
            Ok(())
        } else {
            Err(EvalError::new(
                EvalErrorKind::MissingParameter,
                parameter.span,
                format!("parameter ${} has no value", parameter.name),
            ))
        }
    }

    fn contains(&self, expr: &ContainsExpr) -> EvalResult<()> {
        match expr {
            ContainsExpr::Class(class) => self.class(class),
            ContainsExpr::Contains { parent, child, .. } => {
                self.class(parent)?;
                self.contains(child)
            }
            ContainsExpr::And { operands, .. } | ContainsExpr::Or { operands, .. } => operands
                .iter()
                .try_for_each(|operand| self.contains(operand)),
            ContainsExpr::Not { operand, .. } => self.contains(operand),
        }
    }

    fn class(&self, class: &ClassExpr) -> EvalResult<()> {
        let name = class.class.name.to_ascii_uppercase();
        if name != "VERSION" && openehr_rm::model::class_id(&name).is_none() {
            return Err(EvalError::new(
                EvalErrorKind::UnknownClass,
                class.class.span,
                format!("unknown class {}", class.class.name),
            ));
        }
        match &class.predicate {
            Some(predicate) => self.predicate(predicate),
            None => Ok(()),
        }
    }

    fn predicate(&self, predicate: &Predicate) -> EvalResult<()> {
        match predicate {
            Predicate::Node { name, .. } => match name {
                Some(NameShortcut::Parameter(parameter)) => self.parameter(parameter),
                _ => Ok(()),
            },
            Predicate::Parameter(parameter) => self.parameter(parameter),
            Predicate::Comparison { path, operand, .. } => {
                self.object_path(path)?;
                match operand {
                    PredicateOperand::Parameter(parameter) => self.parameter(parameter),
                    PredicateOperand::Path(path) => self.object_path(path),
                    PredicateOperand::Literal(_) | PredicateOperand::Node(..) => Ok(()),
                }
            }
            Predicate::Matches { path, .. } => self.object_path(path),
            Predicate::And { operands, .. } | Predicate::Or { operands, .. } => operands
                .iter()
                .try_for_each(|operand| self.predicate(operand)),
            Predicate::LatestVersion(_) | Predicate::AllVersions(_) => Ok(()),
        }
    }

    fn object_path(&self, path: &ObjectPath) -> EvalResult<()> {
        path.segments
            .iter()
            .try_for_each(|segment| match &segment.predicate {
                Some(predicate) => self.predicate(predicate),
                None => Ok(()),
            })
    }

    /// `alias_allowed`: in ORDER BY, a bare name may be a column alias.
    fn path(&self, path: &Path, alias_allowed: bool) -> EvalResult<()> {
        let name = &path.variable.name;
        let bare = path.segments.is_empty() && path.predicate.is_none();
        if self.variables.slot(name).is_none() {
            if !(alias_allowed && bare && self.aliases.contains(&name.as_str())) {
                return Err(EvalError::new(
                    EvalErrorKind::UnknownVariable,
                    path.variable.span,
                    format!("unknown variable {name}"),
                ));
            }
        } else if self.variables.negated.contains(name) {
            return Err(EvalError::new(
                EvalErrorKind::Invalid,
                path.variable.span,
                format!("variable {name} is bound under NOT CONTAINS and has no value to use"),
            ));
        }
        if let Some(predicate) = &path.predicate {
            self.predicate(predicate)?;
        }
        path.segments
            .iter()
            .try_for_each(|segment| match &segment.predicate {
                Some(predicate) => self.predicate(predicate),
                None => Ok(()),
            })
    }

    fn expr(&self, expr: &Expr, alias_allowed: bool) -> EvalResult<()> {
        match expr {
            Expr::Path(path) => self.path(path, alias_allowed),
            Expr::Literal(_) => Ok(()),
            Expr::Parameter(parameter) => self.parameter(parameter),
            Expr::Function(call) => call.args.iter().try_for_each(|arg| self.expr(arg, false)),
            Expr::Aggregate(call) => match &call.argument {
                AggregateArgument::AllRows(_) => Ok(()),
                AggregateArgument::Path(path) => self.path(path, false),
            },
        }
    }

    fn condition(&self, condition: &Condition) -> EvalResult<()> {
        match condition {
            Condition::Comparison { left, right, .. } => {
                self.expr(left, false)?;
                self.expr(right, false)
            }
            Condition::Like {
                operand, pattern, ..
            } => {
                self.expr(operand, false)?;
                match pattern {
                    LikePattern::Parameter(parameter) => self.parameter(parameter),
                    LikePattern::Pattern { .. } => Ok(()),
                }
            }
            Condition::Matches {
                operand, matches, ..
            } => {
                self.expr(operand, false)?;
                match matches {
                    MatchesOperand::ValueList { items, .. } => {
                        items.iter().try_for_each(|item| self.expr(item, false))
                    }
                    MatchesOperand::Uri { .. } => Ok(()),
                    MatchesOperand::Terminology(call) => {
                        call.args.iter().try_for_each(|arg| self.expr(arg, false))
                    }
                }
            }
            Condition::Exists { path, .. } => self.path(path, false),
            Condition::Not { operand, .. } => self.condition(operand),
            Condition::And { operands, .. }
            | Condition::Or { operands, .. }
            | Condition::Xor { operands, .. } => operands
                .iter()
                .try_for_each(|operand| self.condition(operand)),
        }
    }
}
