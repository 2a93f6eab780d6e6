//! Reading an operational template (OPT 1.4 XML) into the constraint tree of [`crate::model`].
//!
//! Two steps. quick-xml streams the document into a small element tree (local names, the
//! `xsi:type`, attributes and text), because the OPT's meaning of an element depends on its
//! siblings and its `xsi:type`, which a flat event stream makes awkward. Then the `Converter`
//! walks that tree into the model, carrying the node path (`/content[openEHR-EHR-...]/data[at0001]`)
//! of every constraint so that an error says where it is. References (ARCHETYPE_INTERNAL_REF,
//! CONSTRAINT_REF) are checked once the whole tree exists, since they may point forward.
//!
//! Annotations, the template-level `<constraints>` (default values by differential path) and
//! `assumed_value`s are read apart from the constraints, into the root terminology's
//! [`TemplateDetails`], since only the web template shows them, with the C_STRING lists marked
//! `list_open`. What the model does not keep: `<view>` and `<description>` metadata.

use std::fmt::Display;
use std::str::FromStr;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::TemplateError;
use crate::model::{
    AssumedValue, AttributeConstraint, Cardinality, CodePhraseConstraint, CodeRef, Interval,
    Multiplicity, ObjectConstraint, ObjectKind, OrdinalItem, PrimitiveConstraint, QuantityItem,
    ScaleItem, Template, TemplateDetails, TemporalConstraint, Term, Terminology,
};

/// Parses an OPT 1.4 document into its constraint tree, refusing anything that is not a
/// well-formed operational template of a COMPOSITION, EHR_STATUS or FOLDER.
pub fn parse(opt: &[u8]) -> Result<Template, TemplateError> {
    let document = read_tree(opt)?;
    let template_id = document
        .child("template_id")
        .and_then(|id| id.text_of("value"))
        .filter(|id| !id.is_empty())
        .ok_or(TemplateError::Missing("template_id"))?
        .to_owned();
    let language = document
        .child("language")
        .and_then(|language| language.text_of("code_string"))
        .filter(|code| !code.is_empty())
        .ok_or(TemplateError::Missing("language"))?
        .to_owned();
    let concept = document
        .text_of("concept")
        .filter(|concept| !concept.is_empty())
        .unwrap_or(&template_id)
        .to_owned();
    let definition = document
        .child("definition")
        .ok_or(TemplateError::Missing("definition"))?;
    let converter = Converter {
        language: &language,
    };
    // Producers always type the definition, but its kind is fixed by the schema anyway.
    let mut root = converter.object_of_type(
        definition,
        definition.xsi_type.as_deref().unwrap_or("C_ARCHETYPE_ROOT"),
        "/",
    )?;
    if !Template::ROOT_TYPES.contains(&root.rm_type.as_str()) {
        return Err(TemplateError::UnsupportedRoot(root.rm_type));
    }
    if !matches!(root.kind, ObjectKind::ArchetypeRoot { .. }) {
        return Err(TemplateError::Missing("root archetype id"));
    }
    check_references(&root, &root, &root, "")?;
    if let ObjectKind::ArchetypeRoot { terms, .. } = &mut root.kind {
        terms.details = template_details(&document, definition);
    }
    Ok(Template {
        template_id,
        concept,
        language,
        root,
    })
}

/// One XML element: local names only, since OPT producers disagree on prefixes but never
/// on local names.
#[derive(Debug, Default)]
struct Element {
    name: String,
    xsi_type: Option<String>,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// The text of the child `name`, without the indentation pretty-printers add.
    fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(Element::trimmed)
    }

    fn trimmed(&self) -> &str {
        self.text.trim()
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

fn read_tree(opt: &[u8]) -> Result<Element, TemplateError> {
    let mut reader = Reader::from_reader(opt);
    let xml_error = |reader: &Reader<&[u8]>, error: &dyn Display| TemplateError::Xml {
        message: error.to_string(),
        position: reader.buffer_position(),
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|error| xml_error(&reader, &error))?;
        match event {
            Event::Start(start) => {
                let element = element_of(&start).map_err(|error| xml_error(&reader, &error))?;
                if stack.is_empty() {
                    check_root(&element, root.is_some(), &reader)?;
                }
                stack.push(element);
            }
            Event::Empty(start) => {
                let element = element_of(&start).map_err(|error| xml_error(&reader, &error))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => {
                        check_root(&element, root.is_some(), &reader)?;
                        root = Some(element);
                    }
                }
            }
            Event::End(_) => {
                // quick-xml has already checked that the end tag matches its start tag.
                if let Some(element) = stack.pop() {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                }
            }
            Event::Text(text) => {
                let value = text.decode().map_err(|error| xml_error(&reader, &error))?;
                match stack.last_mut() {
                    Some(element) => element.text.push_str(&value),
                    None if value.trim().is_empty() => {}
                    None => {
                        return Err(TemplateError::Xml {
                            message: "text outside the root element".into(),
                            position: reader.buffer_position(),
                        });
                    }
                }
            }
            Event::CData(data) => {
                let value = data.decode().map_err(|error| xml_error(&reader, &error))?;
                if let Some(element) = stack.last_mut() {
                    element.text.push_str(&value);
                }
            }
            // quick-xml 0.38 reports `&amp;` and `&#38;` apart from the text around them.
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    reference
                        .resolve_char_ref()
                        .map_err(|error| xml_error(&reader, &error))?
                        .map(String::from)
                } else {
                    let name = reference
                        .decode()
                        .map_err(|error| xml_error(&reader, &error))?;
                    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned)
                };
                let resolved = resolved.ok_or_else(|| TemplateError::Xml {
                    message: "unknown entity reference".into(),
                    position: reader.buffer_position(),
                })?;
                if let Some(element) = stack.last_mut() {
                    element.text.push_str(&resolved);
                }
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(TemplateError::Xml {
                        message: format!("unexpected end of document inside <{}>", open.name),
                        position: reader.buffer_position(),
                    });
                }
                return root.ok_or(TemplateError::Empty);
            }
            _ => {}
        }
    }
}

fn check_root(
    element: &Element,
    seen_root: bool,
    reader: &Reader<&[u8]>,
) -> Result<(), TemplateError> {
    if seen_root {
        return Err(TemplateError::Xml {
            message: format!("a second root element <{}>", element.name),
            position: reader.buffer_position(),
        });
    }
    if element.name != "template" {
        return Err(TemplateError::NotATemplate(element.name.clone()));
    }
    Ok(())
}

fn element_of(start: &BytesStart) -> Result<Element, quick_xml::Error> {
    let mut element = Element {
        name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
        ..Element::default()
    };
    for attribute in start.attributes() {
        let attribute = attribute?;
        let key = attribute.key.local_name();
        let key = String::from_utf8_lossy(key.as_ref()).into_owned();
        let value = attribute.unescape_value()?.into_owned();
        // `xsi:type` is the only prefixed attribute the OPT gives meaning to.
        if key == "type" && attribute.key.prefix().is_some() {
            element.xsi_type = Some(value);
        } else if !attribute.key.as_ref().starts_with(b"xmlns") {
            element.attributes.push((key, value));
        }
    }
    Ok(element)
}

struct Converter<'a> {
    /// The template language: OPT 1.4 term definitions carry no language of their own.
    language: &'a str,
}

impl Converter<'_> {
    fn object(&self, element: &Element, path: &str) -> Result<ObjectConstraint, TemplateError> {
        let xsi_type = element
            .xsi_type
            .as_deref()
            .ok_or_else(|| TemplateError::UntypedConstraint { path: path.into() })?;
        self.object_of_type(element, xsi_type, path)
    }

    /// `path` is the node path of this object (with its node id), for errors and children.
    fn object_of_type(
        &self,
        element: &Element,
        xsi_type: &str,
        path: &str,
    ) -> Result<ObjectConstraint, TemplateError> {
        let rm_type = required_text(element, "rm_type_name", path)?.to_owned();
        let mut node_id = element.text_of("node_id").unwrap_or_default().to_owned();
        let occurrences = match element.child("occurrences") {
            Some(occurrences) => multiplicity(occurrences, "occurrences", path)?,
            // AM 1.4: occurrences default to 1..1.
            None => Interval::closed(1, 1),
        };
        let kind = match xsi_type {
            "C_COMPLEX_OBJECT" => ObjectKind::Complex {
                attributes: self.attributes(element, path)?,
            },
            "C_ARCHETYPE_ROOT" => {
                let archetype_id = element
                    .child("archetype_id")
                    .and_then(|id| id.text_of("value"))
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| missing("archetype_id", path))?
                    .to_owned();
                // AQL paths name an archetype root by its archetype id, not its at0000.
                node_id = archetype_id.clone();
                ObjectKind::ArchetypeRoot {
                    attributes: self.attributes(element, path)?,
                    terms: self.terminology(element, path)?,
                    archetype_id,
                }
            }
            "ARCHETYPE_SLOT" => ObjectKind::Slot {
                includes: assertion_patterns(element, "includes", path)?,
                excludes: assertion_patterns(element, "excludes", path)?,
            },
            "ARCHETYPE_INTERNAL_REF" => ObjectKind::InternalRef {
                target_path: required_text(element, "target_path", path)?.to_owned(),
            },
            "CONSTRAINT_REF" => ObjectKind::ConstraintRef {
                reference: required_text(element, "reference", path)?.to_owned(),
            },
            "C_PRIMITIVE_OBJECT" => {
                let item = element.child("item").ok_or_else(|| missing("item", path))?;
                ObjectKind::Primitive(primitive(item, path)?)
            }
            "C_CODE_PHRASE" | "C_CODE_REFERENCE" => {
                let terminology_id = element
                    .child("terminology_id")
                    .and_then(|id| id.text_of("value"))
                    .map(str::to_owned);
                let reference_set_uri = element
                    .text_of("referenceSetUri")
                    .filter(|uri| !uri.is_empty())
                    .map(str::to_owned);
                let terminology_id = match (terminology_id, &reference_set_uri) {
                    (Some(id), _) => id,
                    // A value set alone names its terminology only inside its URI.
                    (None, Some(_)) => String::new(),
                    (None, None) => return Err(missing("terminology_id", path)),
                };
                ObjectKind::CodePhrase(CodePhraseConstraint {
                    terminology_id,
                    codes: element
                        .children_named("code_list")
                        .map(|code| code.trimmed().to_owned())
                        .collect(),
                    reference_set_uri,
                })
            }
            "C_DV_QUANTITY" => ObjectKind::Quantity {
                property: element
                    .child("property")
                    .map(|property| code_ref(property, "property", path))
                    .transpose()?,
                items: element
                    .children_named("list")
                    .map(|item| quantity_item(item, path))
                    .collect::<Result<_, _>>()?,
            },
            "C_DV_ORDINAL" => ObjectKind::Ordinal {
                items: element
                    .children_named("list")
                    .map(|item| {
                        Ok(OrdinalItem {
                            value: number(item, "value", path)?,
                            symbol: symbol(item, path)?,
                        })
                    })
                    .collect::<Result<_, TemplateError>>()?,
            },
            "C_DV_SCALE" => ObjectKind::Scale {
                items: element
                    .children_named("list")
                    .map(|item| {
                        Ok(ScaleItem {
                            value: number(item, "value", path)?,
                            symbol: symbol(item, path)?,
                        })
                    })
                    .collect::<Result<_, TemplateError>>()?,
            },
            other => {
                return Err(TemplateError::UnknownConstraintType {
                    xsi_type: other.to_owned(),
                    path: path.into(),
                });
            }
        };
        Ok(ObjectConstraint {
            rm_type,
            node_id,
            occurrences,
            kind,
        })
    }

    fn attributes(
        &self,
        element: &Element,
        path: &str,
    ) -> Result<Vec<AttributeConstraint>, TemplateError> {
        element
            .children_named("attributes")
            .map(|attribute| self.attribute(attribute, path))
            .collect()
    }

    fn attribute(
        &self,
        element: &Element,
        parent_path: &str,
    ) -> Result<AttributeConstraint, TemplateError> {
        let name = element
            .text_of("rm_attribute_name")
            .filter(|name| !name.is_empty())
            .ok_or_else(|| missing("rm_attribute_name", parent_path))?
            .to_owned();
        let attribute_path = format!("{}/{name}", parent_path.trim_end_matches('/'));
        let existence = match element.child("existence") {
            Some(existence) => multiplicity(existence, "existence", &attribute_path)?,
            None => Interval::closed(1, 1),
        };
        let cardinality = match element.xsi_type.as_deref() {
            Some("C_SINGLE_ATTRIBUTE") => None,
            Some("C_MULTIPLE_ATTRIBUTE") => Some(match element.child("cardinality") {
                Some(cardinality) => Cardinality {
                    interval: multiplicity(
                        cardinality
                            .child("interval")
                            .ok_or_else(|| missing("interval", &attribute_path))?,
                        "interval",
                        &attribute_path,
                    )?,
                    is_ordered: boolean(cardinality, "is_ordered", &attribute_path)?
                        .unwrap_or(true),
                    is_unique: boolean(cardinality, "is_unique", &attribute_path)?.unwrap_or(false),
                },
                // AM 1.4: a container without cardinality is an ordered list of any size.
                None => Cardinality {
                    interval: Interval {
                        lower: Some(0),
                        upper: None,
                        lower_included: true,
                        upper_included: false,
                    },
                    is_ordered: true,
                    is_unique: false,
                },
            }),
            Some(other) => {
                return Err(TemplateError::UnknownConstraintType {
                    xsi_type: other.to_owned(),
                    path: attribute_path,
                });
            }
            None => {
                return Err(TemplateError::UntypedConstraint {
                    path: attribute_path,
                });
            }
        };
        let children = element
            .children_named("children")
            .map(|child| {
                let node = child
                    .child("archetype_id")
                    .and_then(|id| id.text_of("value"))
                    .or_else(|| child.text_of("node_id"))
                    .unwrap_or_default();
                let child_path = if node.is_empty() {
                    attribute_path.clone()
                } else {
                    format!("{attribute_path}[{node}]")
                };
                self.object(child, &child_path)
            })
            .collect::<Result<_, _>>()?;
        Ok(AttributeConstraint {
            name,
            existence,
            cardinality,
            children,
        })
    }

    fn terminology(&self, element: &Element, path: &str) -> Result<Terminology, TemplateError> {
        let mut terminology = Terminology::default();
        let terms = terminology
            .terms
            .entry(self.language.to_owned())
            .or_default();
        let definitions = element
            .children_named("term_definitions")
            .chain(element.children_named("constraint_definitions"));
        for definition in definitions {
            let code = definition
                .attribute("code")
                .ok_or_else(|| missing("term_definitions code", path))?;
            let mut term = Term::default();
            for item in definition.children_named("items") {
                match item.attribute("id") {
                    Some("text") => term.text = item.trimmed().to_owned(),
                    Some("description") => term.description = item.trimmed().to_owned(),
                    Some(other) => {
                        terminology
                            .term_items
                            .entry(self.language.to_owned())
                            .or_default()
                            .entry(code.to_owned())
                            .or_default()
                            .insert(other.to_owned(), item.trimmed().to_owned());
                    }
                    None => {}
                }
            }
            terms.insert(code.to_owned(), term);
        }
        for bindings in element.children_named("term_bindings") {
            let Some(terminology_name) = bindings.attribute("terminology") else {
                continue;
            };
            for item in bindings.children_named("items") {
                let (Some(code), Some(value)) = (item.attribute("code"), item.child("value"))
                else {
                    continue;
                };
                // A binding to a URI rather than a code has no code_string; the model keeps codes.
                if value.child("code_string").is_none() {
                    continue;
                }
                terminology
                    .bindings
                    .entry(terminology_name.to_owned())
                    .or_default()
                    .insert(code.to_owned(), code_ref(value, "term_bindings", path)?);
            }
        }
        for bindings in element.children_named("constraint_bindings") {
            let Some(terminology_name) = bindings.attribute("terminology") else {
                continue;
            };
            for item in bindings.children_named("items") {
                let (Some(code), Some(uri)) = (item.attribute("code"), item.text_of("value"))
                else {
                    continue;
                };
                terminology
                    .constraint_bindings
                    .entry(code.to_owned())
                    .or_default()
                    .insert(terminology_name.to_owned(), uri.to_owned());
            }
        }
        Ok(terminology)
    }
}

fn missing(element: &'static str, path: &str) -> TemplateError {
    TemplateError::MissingElement {
        element,
        path: path.into(),
    }
}

fn required_text<'a>(
    element: &'a Element,
    name: &'static str,
    path: &str,
) -> Result<&'a str, TemplateError> {
    element
        .text_of(name)
        .filter(|text| !text.is_empty())
        .ok_or_else(|| missing(name, path))
}

fn number<T: FromStr>(
    element: &Element,
    name: &'static str,
    path: &str,
) -> Result<T, TemplateError> {
    let text = required_text(element, name, path)?;
    text.parse().map_err(|_| TemplateError::InvalidValue {
        element: name,
        value: text.into(),
        path: path.into(),
    })
}

fn boolean(
    element: &Element,
    name: &'static str,
    path: &str,
) -> Result<Option<bool>, TemplateError> {
    match element.text_of(name) {
        None => Ok(None),
        Some("true") | Some("1") => Ok(Some(true)),
        Some("false") | Some("0") => Ok(Some(false)),
        Some(other) => Err(TemplateError::InvalidValue {
            element: name,
            value: other.into(),
            path: path.into(),
        }),
    }
}

/// A CODE_PHRASE-shaped element: `<terminology_id><value>` and `<code_string>`.
fn code_ref(element: &Element, name: &'static str, path: &str) -> Result<CodeRef, TemplateError> {
    let terminology_id = element
        .child("terminology_id")
        .and_then(|id| id.text_of("value"))
        .ok_or_else(|| missing(name, path))?;
    let code = element
        .text_of("code_string")
        .ok_or_else(|| missing(name, path))?;
    Ok(CodeRef {
        terminology_id: terminology_id.to_owned(),
        code: code.to_owned(),
    })
}

fn symbol(item: &Element, path: &str) -> Result<CodeRef, TemplateError> {
    let defining_code = item
        .child("symbol")
        .and_then(|symbol| symbol.child("defining_code"))
        .ok_or_else(|| missing("symbol", path))?;
    code_ref(defining_code, "symbol", path)
}

fn quantity_item(item: &Element, path: &str) -> Result<QuantityItem, TemplateError> {
    let magnitude = item
        .child("magnitude")
        .map(|magnitude| interval::<f64>(magnitude, "magnitude", path))
        .transpose()?;
    let precision = item
        .child("precision")
        .map(|precision| interval::<i32>(precision, "precision", path))
        .transpose()?;
    Ok(QuantityItem {
        units: required_text(item, "units", path)?.to_owned(),
        magnitude,
        precision,
    })
}

fn primitive(item: &Element, path: &str) -> Result<PrimitiveConstraint, TemplateError> {
    let xsi_type = item
        .xsi_type
        .as_deref()
        .ok_or_else(|| TemplateError::UntypedConstraint { path: path.into() })?;
    let temporal = || -> Result<TemporalConstraint, TemplateError> {
        Ok(TemporalConstraint {
            pattern: item
                .text_of("pattern")
                .filter(|pattern| !pattern.is_empty())
                .map(str::to_owned),
            range: item
                .child("range")
                .map(|range| interval::<String>(range, "range", path))
                .transpose()?,
        })
    };
    let list: Vec<String> = item
        .children_named("list")
        .map(|value| value.trimmed().to_owned())
        .collect();
    Ok(match xsi_type {
        "C_STRING" => PrimitiveConstraint::String {
            pattern: item.text_of("pattern").map(str::to_owned),
            list,
        },
        "C_INTEGER" => PrimitiveConstraint::Integer {
            list: numbers(&list, path)?,
            range: item
                .child("range")
                .map(|range| interval::<i64>(range, "range", path))
                .transpose()?,
        },
        "C_REAL" => PrimitiveConstraint::Real {
            list: numbers(&list, path)?,
            range: item
                .child("range")
                .map(|range| interval::<f64>(range, "range", path))
                .transpose()?,
        },
        "C_BOOLEAN" => PrimitiveConstraint::Boolean {
            true_valid: boolean(item, "true_valid", path)?.unwrap_or(true),
            false_valid: boolean(item, "false_valid", path)?.unwrap_or(true),
        },
        "C_DATE" => PrimitiveConstraint::Date(temporal()?),
        "C_TIME" => PrimitiveConstraint::Time(temporal()?),
        "C_DATE_TIME" => PrimitiveConstraint::DateTime(temporal()?),
        "C_DURATION" => PrimitiveConstraint::Duration(temporal()?),
        other => {
            return Err(TemplateError::UnknownConstraintType {
                xsi_type: other.to_owned(),
                path: path.into(),
            });
        }
    })
}

fn numbers<T: FromStr>(values: &[String], path: &str) -> Result<Vec<T>, TemplateError> {
    values
        .iter()
        .map(|value| {
            value.parse().map_err(|_| TemplateError::InvalidValue {
                element: "list",
                value: value.clone(),
                path: path.into(),
            })
        })
        .collect()
}

/// The archetype id patterns of a slot's `includes` or `excludes` assertions.
fn assertion_patterns(
    slot: &Element,
    name: &'static str,
    path: &str,
) -> Result<Vec<String>, TemplateError> {
    slot.children_named(name)
        .map(|assertion| {
            let pattern = assertion
                .child("expression")
                .and_then(|expression| expression.child("right_operand"))
                .and_then(|operand| operand.child("item"))
                .and_then(|item| item.text_of("pattern"));
            if let Some(pattern) = pattern {
                return Ok(pattern.to_owned());
            }
            // Some producers give only the ADL text: `archetype_id/value matches {/pattern/}`.
            assertion
                .text_of("string_expression")
                .and_then(|text| text.split_once("{/"))
                .and_then(|(_, rest)| rest.rsplit_once("/}"))
                .map(|(pattern, _)| pattern.to_owned())
                .ok_or_else(|| missing(name, path))
        })
        .collect()
}

fn multiplicity(
    element: &Element,
    name: &'static str,
    path: &str,
) -> Result<Multiplicity, TemplateError> {
    interval::<u32>(element, name, path)
}

/// An interval element (`lower`, `upper`, `*_included`, `*_unbounded`), checked for order
/// where its values are ordered.
fn interval<T: FromStr + Bound>(
    element: &Element,
    name: &'static str,
    path: &str,
) -> Result<Interval<T>, TemplateError> {
    let broken = |reason: String| TemplateError::BrokenInterval {
        element: name,
        path: path.into(),
        reason,
    };
    let bound =
        |side: &'static str, unbounded_name: &'static str| -> Result<Option<T>, TemplateError> {
            let text = element.text_of(side);
            let unbounded = boolean(element, unbounded_name, path)?.unwrap_or(text.is_none());
            match (unbounded, text) {
                (true, _) => Ok(None),
                (false, None) => Err(broken(format!(
                    "{side} is missing but {unbounded_name} is false"
                ))),
                (false, Some(text)) => text
                    .parse()
                    .map(Some)
                    .map_err(|_| broken(format!("{side} '{text}' is not a valid bound"))),
            }
        };
    let lower = bound("lower", "lower_unbounded")?;
    let upper = bound("upper", "upper_unbounded")?;
    let lower_included =
        lower.is_some() && boolean(element, "lower_included", path)?.unwrap_or(true);
    let upper_included =
        upper.is_some() && boolean(element, "upper_included", path)?.unwrap_or(true);
    if let (Some(lower), Some(upper)) = (&lower, &upper)
        && T::is_above(lower, upper)
    {
        return Err(broken(format!("lower {lower} is above upper {upper}")));
    }
    Ok(Interval {
        lower,
        upper,
        lower_included,
        upper_included,
    })
}

/// Interval bounds: numbers are checked for order; ISO 8601 text is not, since text order is
/// not time order (`PT2H` against `PT90M`).
trait Bound: Display {
    fn is_above(lower: &Self, upper: &Self) -> bool;
}

macro_rules! ordered_bound {
    ($($number:ty),*) => {$(
        impl Bound for $number {
            fn is_above(lower: &Self, upper: &Self) -> bool {
                lower > upper
            }
        }
    )*};
}
ordered_bound!(u32, i32, i64, f64);

impl Bound for String {
    fn is_above(_: &Self, _: &Self) -> bool {
        false
    }
}

/// Checks that every ARCHETYPE_INTERNAL_REF and CONSTRAINT_REF points at something: an internal
/// reference at a node of its archetype (or of the template, as some producers write it), a
/// constraint reference at an ac-code of its archetype's terminology.
fn check_references(
    node: &ObjectConstraint,
    archetype: &ObjectConstraint,
    template: &ObjectConstraint,
    path: &str,
) -> Result<(), TemplateError> {
    let archetype = match node.kind {
        ObjectKind::ArchetypeRoot { .. } => node,
        _ => archetype,
    };
    match &node.kind {
        ObjectKind::InternalRef { target_path }
            if resolve(archetype, target_path).is_none()
                && resolve(template, target_path).is_none() =>
        {
            return Err(TemplateError::BrokenReference {
                reference: target_path.clone(),
                path: display_path(path),
                reason: "names no node of its archetype",
            });
        }
        ObjectKind::ConstraintRef { reference } => {
            let defined = match &archetype.kind {
                ObjectKind::ArchetypeRoot { terms, .. } => terms
                    .terms
                    .values()
                    .any(|terms| terms.contains_key(reference)),
                _ => false,
            };
            if !defined {
                return Err(TemplateError::BrokenReference {
                    reference: reference.clone(),
                    path: display_path(path),
                    reason: "is not defined in its archetype's constraint_definitions",
                });
            }
        }
        _ => {}
    }
    for attribute in node.attributes() {
        for child in &attribute.children {
            let child_path = if child.node_id.is_empty() {
                format!("{path}/{}", attribute.name)
            } else {
                format!("{path}/{}[{}]", attribute.name, child.node_id)
            };
            check_references(child, archetype, template, &child_path)?;
        }
    }
    Ok(())
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "/".into()
    } else {
        path.into()
    }
}

/// The node at an archetype path such as `/data[at0001]/events[at0002]`, below `root`.
fn resolve<'a>(root: &'a ObjectConstraint, target_path: &str) -> Option<&'a ObjectConstraint> {
    let mut node = root;
    for segment in path_segments(target_path) {
        let (attribute_name, predicate) = match segment.split_once('[') {
            Some((name, rest)) => (name, Some(rest.trim_end_matches(']'))),
            None => (segment, None),
        };
        // A predicate may add a name (`at0001, 'Systolic'`); the node id alone identifies.
        let node_id = predicate.map(|predicate| {
            predicate
                .split_once(',')
                .map_or(predicate, |(id, _)| id)
                .trim()
        });
        let attribute = node.attribute(attribute_name)?;
        node = match node_id {
            Some(node_id) => attribute
                .children
                .iter()
                .find(|child| child.node_id == node_id)?,
            None => attribute.children.first()?,
        };
    }
    Some(node)
}

/// Splits a path at the slashes outside predicates (a name predicate may hold a slash).
fn path_segments(path: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, character) in path.char_indices() {
        match character {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '/' if depth == 0 => {
                if index > start {
                    segments.push(&path[start..index]);
                }
                start = index + 1;
            }
            _ => {}
        }
    }
    if path.len() > start {
        segments.push(&path[start..]);
    }
    segments
}

/// The template's annotations, `<constraints>` default values and the constraints'
/// assumed values, each by path (the form [`TemplateDetails`] describes). None of these
/// can make an OPT invalid: what cannot be read is left out.
fn template_details(document: &Element, definition: &Element) -> TemplateDetails {
    let mut details = TemplateDetails::default();
    for annotation in document.children_named("annotations") {
        let Some(path) = annotation.attribute("path") else {
            continue;
        };
        let items = details
            .annotations
            .entry(below_root(path.trim()))
            .or_default();
        for item in annotation.children_named("items") {
            if let Some(id) = item.attribute("id") {
                items.insert(id.to_owned(), item.trimmed().to_owned());
            }
        }
    }
    for constraints in document.children_named("constraints") {
        for attribute in constraints.children_named("attributes") {
            let (Some(path), Some(name)) = (
                attribute.text_of("differential_path"),
                attribute.text_of("rm_attribute_name"),
            ) else {
                continue;
            };
            let path = format!("{}/{name}", below_root(path));
            for value in attribute
                .children_named("children")
                .filter_map(|child| child.child("default_value"))
            {
                let fields = details.default_values.entry(path.clone()).or_default();
                for field in &value.children {
                    // A code sits inside its field (`defining_code`, an ordinal's `symbol`).
                    let code = [field]
                        .into_iter()
                        .chain(field.child("defining_code"))
                        .find_map(|code| code.text_of("code_string"));
                    match code {
                        Some(code) => fields.insert("defining_code".into(), code.to_owned()),
                        None => fields.insert(field.name.clone(), field.trimmed().to_owned()),
                    };
                }
            }
        }
    }
    collect_node_details(definition, "", &mut details);
    details
}

/// A path as the OPT writes it from the root archetype (`[openEHR-EHR-COMPOSITION.x.v1]/content[...]`)
/// without that archetype id and without name predicates (`[at0001 and name/value='x']`).
fn below_root(path: &str) -> String {
    let below = path.find('/').map_or("", |slash| &path[slash..]);
    let mut text = String::with_capacity(below.len());
    let mut rest = below;
    while let Some(start) = rest.find(" and name/value=") {
        text.push_str(&rest[..start]);
        rest = &rest[start..];
        rest = rest.find(']').map_or("", |end| &rest[end..]);
    }
    text.push_str(rest);
    text
}

/// The assumed values and open string lists below `object`, whose path is `path` (empty
/// for the root).
fn collect_node_details(object: &Element, path: &str, details: &mut TemplateDetails) {
    for attribute in object.children_named("attributes") {
        let Some(name) = attribute.text_of("rm_attribute_name") else {
            continue;
        };
        let attribute_path = format!("{path}/{name}");
        for child in attribute.children_named("children") {
            let node = child
                .child("archetype_id")
                .and_then(|id| id.text_of("value"))
                .or_else(|| child.text_of("node_id"))
                .unwrap_or_default();
            let child_path = if node.is_empty() {
                attribute_path.clone()
            } else {
                format!("{attribute_path}[{node}]")
            };
            if let Some(value) = assumed_value(child) {
                details.assumed_values.insert(child_path.clone(), value);
            }
            let item = child.child("item");
            if item.and_then(|item| item.xsi_type.as_deref()) == Some("C_STRING")
                && item.and_then(|item| item.text_of("list_open")) == Some("true")
            {
                details.open_string_lists.insert(child_path.clone());
            }
            collect_node_details(child, &child_path, details);
        }
    }
}

fn assumed_value(object: &Element) -> Option<AssumedValue> {
    let code = |element: &Element| code_ref(element, "assumed_value", "").ok();
    match object.xsi_type.as_deref()? {
        "C_PRIMITIVE_OBJECT" => object
            .child("item")?
            .text_of("assumed_value")
            .map(|value| AssumedValue::Primitive(value.to_owned())),
        "C_DV_QUANTITY" => {
            let assumed = object.child("assumed_value")?;
            Some(AssumedValue::Quantity {
                magnitude: assumed
                    .text_of("magnitude")
                    .and_then(|magnitude| magnitude.parse().ok()),
                units: assumed.text_of("units").map(str::to_owned),
            })
        }
        "C_DV_ORDINAL" => {
            let assumed = object.child("assumed_value")?;
            Some(AssumedValue::Ordinal {
                value: assumed
                    .text_of("value")
                    .and_then(|value| value.parse().ok()),
                symbol: code(assumed.child("symbol")?.child("defining_code")?)?,
            })
        }
        "C_CODE_PHRASE" => code(object.child("assumed_value")?).map(AssumedValue::Code),
        _ => None,
    }
}
