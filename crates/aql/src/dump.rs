//! A debug dump of the tree, one node a line with its byte span, for snapshot tests: unlike the
//! canonical AQL it shows how the parser grouped things and where each node was.

use std::fmt::Write;

use crate::ast::*;
use crate::print::quoted;

/// The tree as indented lines: `Kind@start..end details`, children two spaces further in.
pub fn debug_tree(query: &Query) -> String {
    let mut dump = Dump {
        out: String::new(),
        depth: 0,
    };
    dump.query(query);
    dump.out
}

struct Dump {
    out: String,
    depth: usize,
}

impl Dump {
    fn line(&mut self, label: &str, span: Span, details: &str) {
        let _ = write!(
            self.out,
            "{}{label}@{}..{}",
            "  ".repeat(self.depth),
            span.start,
            span.end
        );
        if !details.is_empty() {
            self.out.push(' ');
            self.out.push_str(details);
        }
        self.out.push('\n');
    }

    fn nested(&mut self, inside: impl FnOnce(&mut Dump)) {
        self.depth += 1;
        inside(self);
        self.depth -= 1;
    }

    fn node(&mut self, label: &str, span: Span, details: &str, inside: impl FnOnce(&mut Dump)) {
        self.line(label, span, details);
        self.nested(inside);
    }

    fn query(&mut self, query: &Query) {
        self.node("Query", query.span, "", |dump| {
            let select = &query.select;
            let details = if select.distinct { "distinct" } else { "" };
            dump.node("Select", select.span, details, |dump| {
                if let Some(top) = &query.top {
                    let direction = match top.direction {
                        Some(TopDirection::Forward) => " forward",
                        Some(TopDirection::Backward) => " backward",
                        None => "",
                    };
                    dump.line("Top", top.span, &format!("{}{direction}", top.count.value));
                }
                for column in &select.columns {
                    let details = column
                        .alias
                        .as_ref()
                        .map(|alias| format!("as {}", alias.name))
                        .unwrap_or_default();
                    dump.node("Column", column.span, &details, |dump| {
                        dump.expr(&column.expr)
                    });
                }
            });
            dump.node("From", query.from.span(), "", |dump| {
                dump.contains(&query.from)
            });
            if let Some(condition) = &query.where_clause {
                dump.node("Where", condition.span(), "", |dump| {
                    dump.condition(condition)
                });
            }
            for item in &query.order_by {
                let details = match item.direction {
                    SortDirection::Ascending => "ascending",
                    SortDirection::Descending => "descending",
                };
                dump.node("OrderBy", item.span, details, |dump| dump.expr(&item.expr));
            }
            if let Some(limit) = &query.limit {
                dump.line("Limit", limit.span, &limit.value.to_string());
            }
            if let Some(offset) = &query.offset {
                dump.line("Offset", offset.span, &offset.value.to_string());
            }
        });
    }

    fn contains(&mut self, expr: &ContainsExpr) {
        match expr {
            ContainsExpr::Class(class) => self.class(class),
            ContainsExpr::Contains {
                parent,
                negated,
                child,
                span,
            } => {
                let label = if *negated { "NotContains" } else { "Contains" };
                self.node(label, *span, "", |dump| {
                    dump.class(parent);
                    dump.contains(child);
                });
            }
            ContainsExpr::And { operands, span } => self.node("And", *span, "", |dump| {
                operands.iter().for_each(|operand| dump.contains(operand));
            }),
            ContainsExpr::Or { operands, span } => self.node("Or", *span, "", |dump| {
                operands.iter().for_each(|operand| dump.contains(operand));
            }),
            ContainsExpr::Not { operand, span } => {
                self.node("Not", *span, "", |dump| dump.contains(operand));
            }
        }
    }

    fn class(&mut self, class: &ClassExpr) {
        let mut details = format!("class={}", class.class.name);
        if let Some(variable) = &class.variable {
            let _ = write!(details, " variable={}", variable.name);
        }
        self.node("Class", class.span, &details, |dump| {
            if let Some(predicate) = &class.predicate {
                dump.predicate(predicate);
            }
        });
    }

    fn path(&mut self, path: &Path) {
        let details = format!("variable={}", path.variable.name);
        self.node("Path", path.span, &details, |dump| {
            if let Some(predicate) = &path.predicate {
                dump.predicate(predicate);
            }
            path.segments
                .iter()
                .for_each(|segment| dump.segment(segment));
        });
    }

    fn object_path(&mut self, path: &ObjectPath) {
        self.node("ObjectPath", path.span, "", |dump| {
            path.segments
                .iter()
                .for_each(|segment| dump.segment(segment));
        });
    }

    fn segment(&mut self, segment: &PathSegment) {
        self.node("Segment", segment.span, &segment.attribute.name, |dump| {
            if let Some(predicate) = &segment.predicate {
                dump.predicate(predicate);
            }
        });
    }

    fn predicate(&mut self, predicate: &Predicate) {
        match predicate {
            Predicate::Node { node, name, span } => {
                self.node("NodePredicate", *span, &node_id(node), |dump| match name {
                    Some(NameShortcut::Value(value)) => {
                        dump.line("NameValue", value.span, &quoted(&value.value));
                    }
                    Some(NameShortcut::Parameter(parameter)) => {
                        dump.line(
                            "NameParameter",
                            parameter.span,
                            &format!("${}", parameter.name),
                        );
                    }
                    Some(NameShortcut::TermCode(code)) => {
                        let details = format!(
                            "terminology={} version={} code={} value={}",
                            code.terminology,
                            code.version.as_deref().unwrap_or("-"),
                            code.code,
                            code.value.as_deref().map_or("-".to_string(), quoted)
                        );
                        dump.line("NameTermCode", code.span, &details);
                    }
                    Some(NameShortcut::Code(code, span)) => {
                        dump.line("NameCode", *span, &node_id(code));
                    }
                    None => {}
                });
            }
            Predicate::Parameter(parameter) => {
                self.line(
                    "ParameterPredicate",
                    parameter.span,
                    &format!("${}", parameter.name),
                );
            }
            Predicate::Comparison {
                path,
                op,
                operand,
                span,
            } => self.node("ComparisonPredicate", *span, op.as_str(), |dump| {
                dump.object_path(path);
                match operand {
                    PredicateOperand::Literal(literal) => dump.literal(literal),
                    PredicateOperand::Parameter(parameter) => dump.parameter(parameter),
                    PredicateOperand::Node(node, span) => dump.line("Node", *span, &node_id(node)),
                    PredicateOperand::Path(path) => dump.object_path(path),
                }
            }),
            Predicate::Matches {
                path,
                pattern,
                span,
            } => self.node(
                "MatchesPredicate",
                *span,
                &format!("{{{pattern}}}"),
                |dump| {
                    dump.object_path(path);
                },
            ),
            Predicate::And { operands, span } => self.node("AndPredicate", *span, "", |dump| {
                operands.iter().for_each(|operand| dump.predicate(operand));
            }),
            Predicate::Or { operands, span } => self.node("OrPredicate", *span, "", |dump| {
                operands.iter().for_each(|operand| dump.predicate(operand));
            }),
            Predicate::LatestVersion(span) => self.line("LatestVersion", *span, ""),
            Predicate::AllVersions(span) => self.line("AllVersions", *span, ""),
        }
    }

    fn literal(&mut self, literal: &Literal) {
        let details = match &literal.value {
            LiteralValue::String(value) => format!("string {}", quoted(value)),
            LiteralValue::Integer(value) => format!("integer {value}"),
            LiteralValue::Real(value) => format!("real {value:?}"),
            LiteralValue::Boolean(value) => format!("boolean {value}"),
            LiteralValue::Null => "null".to_string(),
        };
        self.line("Literal", literal.span, &details);
    }

    fn parameter(&mut self, parameter: &Parameter) {
        self.line("Parameter", parameter.span, &format!("${}", parameter.name));
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Path(path) => self.path(path),
            Expr::Literal(literal) => self.literal(literal),
            Expr::Parameter(parameter) => self.parameter(parameter),
            Expr::Function(call) => self.function(call),
            Expr::Aggregate(call) => {
                let mut details = call.function.canonical_name().to_string();
                if call.distinct {
                    details.push_str(" distinct");
                }
                self.node("Aggregate", call.span, &details, |dump| {
                    match &call.argument {
                        AggregateArgument::AllRows(span) => dump.line("AllRows", *span, ""),
                        AggregateArgument::Path(path) => dump.path(path),
                    }
                });
            }
        }
    }

    fn function(&mut self, call: &FunctionCall) {
        let details = format!("{:?} name={}", call.function, call.name.name);
        self.node("Function", call.span, &details, |dump| {
            call.args.iter().for_each(|argument| dump.expr(argument));
        });
    }

    fn condition(&mut self, condition: &Condition) {
        match condition {
            Condition::Comparison {
                left,
                op,
                right,
                span,
            } => self.node("Comparison", *span, op.as_str(), |dump| {
                dump.expr(left);
                dump.expr(right);
            }),
            Condition::Like {
                operand,
                pattern,
                span,
            } => self.node("Like", *span, "", |dump| {
                dump.expr(operand);
                match pattern {
                    LikePattern::Pattern { pattern, span } => {
                        dump.line("Pattern", *span, &format!("{pattern:?}"));
                    }
                    LikePattern::Parameter(parameter) => dump.parameter(parameter),
                }
            }),
            Condition::Matches {
                operand,
                matches,
                span,
            } => self.node("Matches", *span, "", |dump| {
                dump.expr(operand);
                match matches {
                    MatchesOperand::ValueList { items, span } => {
                        dump.node("ValueList", *span, "", |dump| {
                            items.iter().for_each(|item| dump.expr(item));
                        });
                    }
                    MatchesOperand::Uri { uri, span } => dump.line("Uri", *span, uri),
                    MatchesOperand::Terminology(call) => dump.function(call),
                }
            }),
            Condition::Exists { path, span } => {
                self.node("Exists", *span, "", |dump| dump.path(path));
            }
            Condition::Not { operand, span } => {
                self.node("Not", *span, "", |dump| dump.condition(operand));
            }
            Condition::And { operands, span } => self.node("And", *span, "", |dump| {
                operands.iter().for_each(|operand| dump.condition(operand));
            }),
            Condition::Or { operands, span } => self.node("Or", *span, "", |dump| {
                operands.iter().for_each(|operand| dump.condition(operand));
            }),
            Condition::Xor { operands, span } => self.node("Xor", *span, "", |dump| {
                operands.iter().for_each(|operand| dump.condition(operand));
            }),
        }
    }
}

fn node_id(node: &NodeId) -> String {
    match node {
        NodeId::AtCode(code) => format!("at-code {code}"),
        NodeId::IdCode(code) => format!("id-code {code}"),
        NodeId::Archetype(id) => format!("archetype {id}"),
    }
}
