//! Paths over canonical JSON: what a node is, how an attribute step yields zero, one or
//! many children, and when a predicate keeps a node.

use serde_json::Value;

use super::from::{EhrView, VersionView, VersionedView};
use super::value::{self, Datum};
use super::{Context, EvalError, EvalErrorKind, EvalResult};
use crate::ast::*;

/// Something a variable binds or a path step reaches. The EHR and versions are not stored
/// as documents, so they are nodes of their own whose attributes lead into JSON.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Node<'a> {
    Json(&'a Value),
    Ehr(&'a EhrView<'a>),
    Version(&'a VersionView<'a>),
    VersionedObject(&'a VersionedView<'a>),
}

/// One binding of the FROM variables, by slot; `None` is a variable not bound in this row
/// (the other side of a CONTAINS OR).
pub(crate) type Row<'a> = Vec<Option<Node<'a>>>;

impl<'a> Node<'a> {
    pub fn type_name(self) -> Option<&'a str> {
        match self {
            Node::Json(value) => value.get("_type").and_then(Value::as_str),
            Node::Ehr(_) => Some("EHR"),
            Node::Version(_) => Some("ORIGINAL_VERSION"),
            Node::VersionedObject(versioned) => versioned.meta.get("_type").and_then(Value::as_str),
        }
    }

    pub fn archetype_node_id(self) -> Option<&'a str> {
        match self {
            Node::Json(value) => value.get("archetype_node_id").and_then(Value::as_str),
            Node::Ehr(_) | Node::Version(_) | Node::VersionedObject(_) => None,
        }
    }

    /// The children an attribute step reaches: the items of a list in document order, the
    /// value itself otherwise, nothing when absent.
    pub fn step(self, attribute: &str) -> Vec<Node<'a>> {
        let target = match self {
            Node::Json(value) => value.get(attribute),
            // AQL reads `e/ehr_status/...` and `e/directory/...` as the objects themselves,
            // as the specification's examples do, not as the OBJECT_REFs the EHR holds
            Node::Ehr(view) => match attribute {
                "ehr_status" => view.status,
                "directory" => view.directory,
                _ => view.json.get(attribute),
            },
            Node::Version(version) => match attribute {
                "data" => Some(version.data),
                _ => version.meta.get(attribute),
            },
            Node::VersionedObject(versioned) => versioned.meta.get(attribute),
        };
        match target {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .filter(|item| !item.is_null())
                .map(Node::Json)
                .collect(),
            Some(other) => vec![Node::Json(other)],
        }
    }

    /// The node as canonical JSON.
    pub fn to_json(self) -> Value {
        match self {
            Node::Json(value) => value.clone(),
            Node::Ehr(view) => view.json.clone(),
            Node::VersionedObject(versioned) => versioned.meta.clone(),
            Node::Version(version) => {
                let mut meta = version.meta.clone();
                if let Value::Object(map) = &mut meta {
                    map.insert("data".into(), version.data.clone());
                }
                meta
            }
        }
    }
}

impl Context<'_> {
    /// Walks `segments` from `start`, each value with the type of the object it was read
    /// from (what makes the `value` of a DV_DATE_TIME a date-time).
    pub(crate) fn walk<'a>(
        &self,
        start: Node<'a>,
        segments: &'a [PathSegment],
    ) -> EvalResult<Vec<Datum<'a>>> {
        let mut current: Vec<(Node<'a>, Option<&'a str>)> = vec![(start, None)];
        for segment in segments {
            let mut next = Vec::new();
            for (node, _) in &current {
                let parent = node.type_name();
                for child in node.step(&segment.attribute.name) {
                    let keep = match &segment.predicate {
                        Some(predicate) => self.predicate_holds(child, predicate)?,
                        None => true,
                    };
                    if keep {
                        next.push((child, parent));
                    }
                }
            }
            current = next;
        }
        let last_is_value = segments
            .last()
            .is_some_and(|segment| segment.attribute.name == "value");
        Ok(current
            .into_iter()
            .map(|(node, parent)| Datum::from_node(node, parent.filter(|_| last_is_value)))
            .collect())
    }

    pub(crate) fn predicate_holds<'a>(
        &self,
        node: Node<'a>,
        predicate: &'a Predicate,
    ) -> EvalResult<bool> {
        match predicate {
            Predicate::Node { node: id, name, .. } => {
                if node.archetype_node_id() != Some(id.as_str()) {
                    return Ok(false);
                }
                match name {
                    None => Ok(true),
                    Some(NameShortcut::Value(text)) => Ok(name_is(node, &text.value)),
                    Some(NameShortcut::Parameter(parameter)) => {
                        let text = self.string_parameter(parameter)?;
                        Ok(name_is(node, &text))
                    }
                    Some(NameShortcut::TermCode(code)) => {
                        let terminology = match &code.version {
                            Some(version) => format!("{}({version})", code.terminology),
                            None => code.terminology.clone(),
                        };
                        Ok(name_coded(node, &terminology, &code.code))
                    }
                    Some(NameShortcut::Code(code, _)) => {
                        Ok(name_coded(node, "local", code.as_str()))
                    }
                }
            }
            Predicate::Parameter(parameter) => {
                let id = self.string_parameter(parameter)?;
                Ok(node.archetype_node_id() == Some(id.as_str()))
            }
            Predicate::Comparison {
                path,
                op,
                operand,
                span,
            } => {
                let left = self.walk(node, &path.segments)?;
                let right = match operand {
                    PredicateOperand::Literal(literal) => {
                        value::literal(literal).into_iter().collect()
                    }
                    PredicateOperand::Parameter(parameter) => self.parameter_values(parameter)?,
                    PredicateOperand::Node(id, _) => {
                        vec![Datum::owned(Value::String(id.as_str().to_string()))]
                    }
                    PredicateOperand::Path(other) => self.walk(node, &other.segments)?,
                };
                for left_value in &left {
                    for right_value in &right {
                        if value::compare(*op, left_value, right_value, *span)? {
                            return Ok(true);
                        }
                    }
                }
                Ok(false)
            }
            Predicate::Matches { span, .. } => Err(EvalError::new(
                EvalErrorKind::Unsupported,
                *span,
                "regular expressions in predicates are not supported",
            )),
            Predicate::And { operands, .. } => {
                for operand in operands {
                    if !self.predicate_holds(node, operand)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Predicate::Or { operands, .. } => {
                for operand in operands {
                    if self.predicate_holds(node, operand)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            // which versions a VERSION binds is decided when binding; here they hold
            Predicate::LatestVersion(span) | Predicate::AllVersions(span) => match node {
                Node::Version(_) => Ok(true),
                _ => Err(EvalError::new(
                    EvalErrorKind::Invalid,
                    *span,
                    "LATEST_VERSION and ALL_VERSIONS only apply to VERSION",
                )),
            },
        }
    }

    fn string_parameter(&self, parameter: &Parameter) -> EvalResult<String> {
        match self.parameters.get(&parameter.name) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(EvalError::new(
                EvalErrorKind::TypeMismatch,
                parameter.span,
                format!("parameter ${} must be a string here", parameter.name),
            )),
            None => Err(EvalError::new(
                EvalErrorKind::MissingParameter,
                parameter.span,
                format!("parameter ${} has no value", parameter.name),
            )),
        }
    }
}

fn name_is(node: Node<'_>, text: &str) -> bool {
    node.step("name")
        .into_iter()
        .flat_map(|name| name.step("value"))
        .any(|value| matches!(value, Node::Json(Value::String(found)) if found == text))
}

fn name_coded(node: Node<'_>, terminology: &str, code: &str) -> bool {
    node.step("name")
        .into_iter()
        .flat_map(|name| name.step("defining_code"))
        .any(|defining_code| value::code_phrase_is(defining_code, terminology, code))
}
