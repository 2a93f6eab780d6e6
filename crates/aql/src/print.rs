//! Writes a tree back as canonical AQL: keywords in capitals, one clause per line, strings in
//! single quotes, parentheses only where the tree needs them. Parsing the output gives the same
//! tree again (spans aside), which the corpus tests check on every query.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::*;

impl Display for Query {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        formatter.write_str("SELECT ")?;
        if self.select.distinct {
            formatter.write_str("DISTINCT ")?;
        }
        if let Some(top) = &self.top {
            write!(formatter, "TOP {} ", top.count.value)?;
            match top.direction {
                Some(TopDirection::Forward) => formatter.write_str("FORWARD ")?,
                Some(TopDirection::Backward) => formatter.write_str("BACKWARD ")?,
                None => {}
            }
        }
        write_list(formatter, &self.select.columns, ", ")?;
        write!(formatter, "\nFROM {}", self.from)?;
        if let Some(condition) = &self.where_clause {
            write!(formatter, "\nWHERE {condition}")?;
        }
        if !self.order_by.is_empty() {
            formatter.write_str("\nORDER BY ")?;
            write_list(formatter, &self.order_by, ", ")?;
        }
        if let Some(limit) = &self.limit {
            write!(formatter, "\nLIMIT {}", limit.value)?;
        }
        if let Some(offset) = &self.offset {
            write!(formatter, " OFFSET {}", offset.value)?;
        }
        Ok(())
    }
}

fn write_list<T: Display>(
    formatter: &mut Formatter<'_>,
    items: &[T],
    separator: &str,
) -> fmt::Result {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            formatter.write_str(separator)?;
        }
        write!(formatter, "{item}")?;
    }
    Ok(())
}

impl Display for Column {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.expr)?;
        if let Some(alias) = &self.alias {
            write!(formatter, " AS {}", alias.name)?;
        }
        Ok(())
    }
}

impl Display for OrderBy {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.expr)?;
        if self.direction == SortDirection::Descending {
            formatter.write_str(" DESC")?;
        }
        Ok(())
    }
}

impl Display for ContainsExpr {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        write_contains(formatter, self, true)
    }
}

/// `trailing`: nothing follows in the output. A CONTAINS takes everything to its right, so
/// it needs parentheses unless it comes last.
fn write_contains(
    formatter: &mut Formatter<'_>,
    expr: &ContainsExpr,
    trailing: bool,
) -> fmt::Result {
    let parenthesised = |formatter: &mut Formatter<'_>, expr: &ContainsExpr| -> fmt::Result {
        formatter.write_char('(')?;
        write_contains(formatter, expr, true)?;
        formatter.write_char(')')
    };
    match expr {
        ContainsExpr::Class(class) => write!(formatter, "{class}"),
        ContainsExpr::Contains {
            parent,
            negated,
            child,
            ..
        } => {
            if !trailing {
                return parenthesised(formatter, expr);
            }
            let keyword = if *negated { "NOT CONTAINS" } else { "CONTAINS" };
            write!(formatter, "{parent} {keyword} ")?;
            match **child {
                ContainsExpr::And { .. } | ContainsExpr::Or { .. } => {
                    parenthesised(formatter, child)
                }
                _ => write_contains(formatter, child, true),
            }
        }
        ContainsExpr::And { operands, .. } | ContainsExpr::Or { operands, .. } => {
            let is_and = matches!(expr, ContainsExpr::And { .. });
            for (index, operand) in operands.iter().enumerate() {
                if index > 0 {
                    formatter.write_str(if is_and { " AND " } else { " OR " })?;
                }
                let last = trailing && index + 1 == operands.len();
                let nested_binary = match operand {
                    ContainsExpr::Or { .. } => true,
                    ContainsExpr::And { .. } => is_and,
                    _ => false,
                };
                if nested_binary {
                    parenthesised(formatter, operand)?;
                } else {
                    write_contains(formatter, operand, last)?;
                }
            }
            Ok(())
        }
        ContainsExpr::Not { operand, .. } => {
            formatter.write_str("NOT ")?;
            match **operand {
                ContainsExpr::And { .. } | ContainsExpr::Or { .. } | ContainsExpr::Not { .. } => {
                    parenthesised(formatter, operand)
                }
                _ => write_contains(formatter, operand, trailing),
            }
        }
    }
}

impl Display for ClassExpr {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.class.name)?;
        if let Some(variable) = &self.variable {
            write!(formatter, " {}", variable.name)?;
        }
        if let Some(predicate) = &self.predicate {
            write!(formatter, "[{predicate}]")?;
        }
        Ok(())
    }
}

impl Display for Path {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.variable.name)?;
        if let Some(predicate) = &self.predicate {
            write!(formatter, "[{predicate}]")?;
        }
        for segment in &self.segments {
            write!(formatter, "/{segment}")?;
        }
        Ok(())
    }
}

impl Display for ObjectPath {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        write_list(formatter, &self.segments, "/")
    }
}

impl Display for PathSegment {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.attribute.name)?;
        if let Some(predicate) = &self.predicate {
            write!(formatter, "[{predicate}]")?;
        }
        Ok(())
    }
}

/// The inside of the brackets, in openEHR path style (`at0001 and name/value='x'`).
impl Display for Predicate {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Predicate::Node { node, name, .. } => {
                formatter.write_str(node.as_str())?;
                match name {
                    Some(NameShortcut::Value(value)) => {
                        write!(formatter, ", {}", quoted(&value.value))
                    }
                    Some(NameShortcut::Parameter(parameter)) => {
                        write!(formatter, ", ${}", parameter.name)
                    }
                    Some(NameShortcut::TermCode(code)) => write!(formatter, ", {code}"),
                    Some(NameShortcut::Code(code, _)) => write!(formatter, ", {}", code.as_str()),
                    None => Ok(()),
                }
            }
            Predicate::Parameter(parameter) => write!(formatter, "${}", parameter.name),
            Predicate::Comparison {
                path, op, operand, ..
            } => {
                write!(formatter, "{path}{}", op.as_str())?;
                match operand {
                    PredicateOperand::Literal(literal) => write!(formatter, "{literal}"),
                    PredicateOperand::Parameter(parameter) => {
                        write!(formatter, "${}", parameter.name)
                    }
                    PredicateOperand::Node(node, _) => formatter.write_str(node.as_str()),
                    PredicateOperand::Path(path) => write!(formatter, "{path}"),
                }
            }
            Predicate::Matches { path, pattern, .. } => {
                write!(formatter, "{path} matches {{{pattern}}}")
            }
            Predicate::And { operands, .. } | Predicate::Or { operands, .. } => {
                let is_and = matches!(self, Predicate::And { .. });
                for (index, operand) in operands.iter().enumerate() {
                    if index > 0 {
                        formatter.write_str(if is_and { " and " } else { " or " })?;
                    }
                    let nested = match operand {
                        Predicate::Or { .. } => true,
                        Predicate::And { .. } => is_and,
                        _ => false,
                    };
                    if nested {
                        write!(formatter, "({operand})")?;
                    } else {
                        write!(formatter, "{operand}")?;
                    }
                }
                Ok(())
            }
            Predicate::LatestVersion(_) => formatter.write_str("LATEST_VERSION"),
            Predicate::AllVersions(_) => formatter.write_str("ALL_VERSIONS"),
        }
    }
}

impl Display for TermCode {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.terminology)?;
        if let Some(version) = &self.version {
            write!(formatter, "({version})")?;
        }
        write!(formatter, "::{}", self.code)?;
        if let Some(value) = &self.value {
            write!(formatter, "|{value}|")?;
        }
        Ok(())
    }
}

impl Display for Literal {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        match &self.value {
            LiteralValue::String(value) => formatter.write_str(&quoted(value)),
            LiteralValue::Integer(value) => write!(formatter, "{value}"),
            // Debug keeps a decimal point (`2.0`) and switches to exponents for very large
            // or small values, so the text reads back as the same real
            LiteralValue::Real(value) => write!(formatter, "{value:?}"),
            LiteralValue::Boolean(value) => write!(formatter, "{value}"),
            LiteralValue::Null => formatter.write_str("NULL"),
        }
    }
}

impl Display for Expr {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Path(path) => write!(formatter, "{path}"),
            Expr::Literal(literal) => write!(formatter, "{literal}"),
            Expr::Parameter(parameter) => write!(formatter, "${}", parameter.name),
            Expr::Function(call) => write!(formatter, "{call}"),
            Expr::Aggregate(call) => write!(formatter, "{call}"),
        }
    }
}

impl Display for FunctionCall {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        let name = self.function.canonical_name().unwrap_or(&self.name.name);
        write!(formatter, "{name}(")?;
        write_list(formatter, &self.args, ", ")?;
        formatter.write_char(')')
    }
}

impl Display for AggregateCall {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}(", self.function.canonical_name())?;
        if self.distinct {
            formatter.write_str("DISTINCT ")?;
        }
        match &self.argument {
            AggregateArgument::AllRows(_) => formatter.write_char('*')?,
            AggregateArgument::Path(path) => write!(formatter, "{path}")?,
        }
        formatter.write_char(')')
    }
}

/// Binding strength, loosest first; an operand binding no tighter than its operator needs
/// parentheses.
fn precedence(condition: &Condition) -> u8 {
    match condition {
        Condition::Or { .. } => 1,
        Condition::Xor { .. } => 2,
        Condition::And { .. } => 3,
        Condition::Not { .. } => 4,
        _ => 5,
    }
}

impl Display for Condition {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Comparison {
                left, op, right, ..
            } => write!(formatter, "{left} {} {right}", op.as_str()),
            Condition::Like {
                operand, pattern, ..
            } => match pattern {
                LikePattern::Pattern { pattern, .. } => {
                    write!(formatter, "{operand} LIKE {}", quoted_like_pattern(pattern))
                }
                LikePattern::Parameter(parameter) => {
                    write!(formatter, "{operand} LIKE ${}", parameter.name)
                }
            },
            Condition::Matches {
                operand, matches, ..
            } => {
                write!(formatter, "{operand} MATCHES ")?;
                match matches {
                    MatchesOperand::ValueList { items, .. } => {
                        formatter.write_char('{')?;
                        write_list(formatter, items, ", ")?;
                        formatter.write_char('}')
                    }
                    MatchesOperand::Uri { uri, .. } => write!(formatter, "{{{uri}}}"),
                    MatchesOperand::Terminology(call) => write!(formatter, "{call}"),
                }
            }
            Condition::Exists { path, .. } => write!(formatter, "EXISTS {path}"),
            Condition::Not { operand, .. } => {
                if precedence(operand) < precedence(self) {
                    write!(formatter, "NOT ({operand})")
                } else {
                    write!(formatter, "NOT {operand}")
                }
            }
            Condition::And { operands, .. }
            | Condition::Or { operands, .. }
            | Condition::Xor { operands, .. } => {
                let keyword = match self {
                    Condition::And { .. } => " AND ",
                    Condition::Or { .. } => " OR ",
                    _ => " XOR ",
                };
                for (index, operand) in operands.iter().enumerate() {
                    if index > 0 {
                        formatter.write_str(keyword)?;
                    }
                    if precedence(operand) <= precedence(self) {
                        write!(formatter, "({operand})")?;
                    } else {
                        write!(formatter, "{operand}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// A string as a single-quoted AQL literal.
pub(crate) fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for character in value.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            _ => push_escaped(&mut out, character),
        }
    }
    out.push('\'');
    out
}

/// A LIKE pattern as a single-quoted literal; its backslash pairs are already AQL escapes.
fn quoted_like_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 2);
    out.push('\'');
    let mut characters = pattern.chars();
    while let Some(character) = characters.next() {
        if character == '\\' {
            out.push('\\');
            match characters.next() {
                Some(escaped) => out.push(escaped),
                // a lone trailing backslash (only from a hand-built tree) is made literal
                None => out.push('\\'),
            }
        } else {
            push_escaped(&mut out, character);
        }
    }
    out.push('\'');
    out
}

fn push_escaped(out: &mut String, character: char) {
    match character {
        '\'' => out.push_str("\\'"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        control if control.is_control() && (control as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", control as u32);
        }
        other => out.push(other),
    }
}
