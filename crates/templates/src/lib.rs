//! Operational templates (OPT 1.4): reading an uploaded OPT's identity.
//!
//! This is the first stage of the template engine: it checks that an upload is an
//! operational template and extracts what the store indexes (template id, concept and
//! root archetype). The constraint tree and validation build on it.

pub mod model;
pub mod opt;
pub mod validate;
pub mod web_template;

use quick_xml::Reader;
use quick_xml::events::Event;

/// What the store keeps about a template besides its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSummary {
    pub template_id: String,
    pub concept: String,
    /// The archetype id of the root node (for example `openEHR-EHR-COMPOSITION.encounter.v1`).
    pub root_archetype_id: String,
    /// The RM type of the root node (`COMPOSITION` for every template Kith accepts today).
    pub root_rm_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the template is not well-formed xml: {message} at byte {position}")]
    Xml { message: String, position: u64 },
    #[error(
        "the document is not an operational template: its root element is <{0}>, not <template>"
    )]
    NotATemplate(String),
    #[error("the document is empty")]
    Empty,
    #[error("the template has no {0}")]
    Missing(&'static str),
    #[error("the template's root is a {0}; only COMPOSITION templates can be uploaded")]
    UnsupportedRoot(String),
    #[error("unknown constraint type {xsi_type} at {path}")]
    UnknownConstraintType { xsi_type: String, path: String },
    #[error("the constraint at {path} has no xsi:type")]
    UntypedConstraint { path: String },
    #[error("missing <{element}> at {path}")]
    MissingElement { element: &'static str, path: String },
    #[error("invalid <{element}> '{value}' at {path}")]
    InvalidValue {
        element: &'static str,
        value: String,
        path: String,
    },
    #[error("broken interval <{element}> at {path}: {reason}")]
    BrokenInterval {
        element: &'static str,
        path: String,
        reason: String,
    },
    #[error("broken constraint reference at {path}: {reference} {reason}")]
    BrokenReference {
        reference: String,
        path: String,
        reason: &'static str,
    },
}

/// Reads the identity of an OPT 1.4 document, refusing anything that is not one.
pub fn read_summary(opt: &[u8]) -> Result<TemplateSummary, TemplateError> {
    let mut reader = Reader::from_reader(opt);
    reader.config_mut().trim_text(true);
    // The element path from the root, without namespace prefixes, e.g. ["template", "template_id", "value"].
    let mut stack: Vec<String> = Vec::new();
    let mut template_id = None;
    let mut concept = None;
    let mut root_archetype_id = None;
    let mut root_rm_type = None;
    let mut buffer = Vec::new();
    let xml_error = |reader: &Reader<&[u8]>, error: &dyn std::fmt::Display| TemplateError::Xml {
        message: error.to_string(),
        position: reader.buffer_position(),
    };
    loop {
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|error| xml_error(&reader, &error))?;
        match event {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if stack.is_empty() && name != "template" {
                    return Err(TemplateError::NotATemplate(name));
                }
                stack.push(name);
            }
            // An empty root element (`<composition/>`) is a document without a template.
            Event::Empty(start) if stack.is_empty() => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                return Err(TemplateError::NotATemplate(name));
            }
            Event::End(_) => {
                stack.pop();
                if stack.is_empty() {
                    break;
                }
            }
            Event::Text(text) => {
                let value = text
                    .decode()
                    .map_err(|error| xml_error(&reader, &error))?
                    .into_owned();
                if stack.is_empty() {
                    return Err(TemplateError::Xml {
                        message: "text outside the root element".into(),
                        position: reader.buffer_position(),
                    });
                }
                let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                match path.as_slice() {
                    ["template", "template_id", "value"] => template_id = Some(value),
                    ["template", "concept"] => concept = Some(value),
                    ["template", "definition", "archetype_id", "value"] => {
                        root_archetype_id = Some(value)
                    }
                    ["template", "definition", "rm_type_name"] => root_rm_type = Some(value),
                    _ => {}
                }
            }
            Event::Eof => {
                if stack.is_empty() {
                    return Err(TemplateError::Empty);
                }
                return Err(TemplateError::Xml {
                    message: format!("unexpected end of document inside <{}>", stack.join("/")),
                    position: reader.buffer_position(),
                });
            }
            _ => {}
        }
        buffer.clear();
    }
    let template_id = template_id
        .filter(|id| !id.trim().is_empty())
        .ok_or(TemplateError::Missing("template_id"))?;
    let root_rm_type = root_rm_type.ok_or(TemplateError::Missing("definition"))?;
    if root_rm_type != "COMPOSITION" {
        return Err(TemplateError::UnsupportedRoot(root_rm_type));
    }
    Ok(TemplateSummary {
        concept: concept.unwrap_or_else(|| template_id.clone()),
        template_id,
        root_archetype_id: root_archetype_id.ok_or(TemplateError::Missing("root archetype id"))?,
        root_rm_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template_file(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../testdata/templates/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    #[test]
    fn every_shared_template_has_an_identity() {
        let expected = [
            ("EHRN Vital signs.v2.opt", "EHRN Vital signs.v2"),
            (
                "IDCR - Adverse Reaction List.v1.opt",
                "Adverse Reaction List.v1",
            ),
            (
                "IDCR - Immunisation summary.v0.opt",
                "IDCR - Immunisation summary.v0",
            ),
            ("IDCR - Problem List.v1.opt", "IDCR - Problem List.v1"),
            ("ReSPECT-3.v0.opt", "ReSPECT-3.v0"),
            ("Test_all_types.opt", "test_all_types.en.v1"),
            (
                "ehrbase_blood_pressure_simple.de.v0.opt",
                "ehrbase_blood_pressure_simple.de.v0",
            ),
            (
                "ehrbase_multi_occurrence.de.opt",
                "ehrbase_multi_occurrence.de.v1",
            ),
            ("ehrn_vital_signs.v2.opt", "ehrn_vital_signs.v2"),
            ("minimal_action2.opt", "Minimal action 2"),
            ("minimal_evaluation.opt", "minimal_evaluation.en.v1"),
            ("minimal_instruction.opt", "minimal_instruction.en.v1"),
            ("minimal_observation.opt", "minimal_observation.en.v1"),
            ("nested.en.v1.opt", "nested.en.v1"),
            ("persistent_minimal.opt", "persistent_minimal.en.v1"),
        ];
        for (file, template_id) in expected {
            let summary =
                read_summary(&template_file(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(summary.template_id, template_id, "{file}");
            assert_eq!(summary.root_rm_type, "COMPOSITION", "{file}");
            assert!(
                summary
                    .root_archetype_id
                    .starts_with("openEHR-EHR-COMPOSITION."),
                "{file}: {}",
                summary.root_archetype_id
            );
        }
    }

    #[test]
    fn refuses_what_is_not_an_operational_template() {
        assert!(matches!(read_summary(b""), Err(TemplateError::Empty)));
        assert!(matches!(
            read_summary(b"not xml at all"),
            Err(TemplateError::Xml { .. })
        ));
        assert_eq!(
            read_summary(b"<composition/>"),
            Err(TemplateError::NotATemplate("composition".into()))
        );
        assert!(matches!(
            read_summary(b"<template><concept>x</concept>"),
            Err(TemplateError::Xml { .. })
        ));
        assert!(matches!(
            read_summary(b"<template><concept>x</wrong></template>"),
            Err(TemplateError::Xml { .. })
        ));
        assert_eq!(
            read_summary(b"<template><concept>x</concept></template>"),
            Err(TemplateError::Missing("template_id"))
        );
        assert_eq!(
            read_summary(
                b"<template><template_id><value>t</value></template_id>\
                  <definition><rm_type_name>EHR_STATUS</rm_type_name></definition></template>"
            ),
            Err(TemplateError::UnsupportedRoot("EHR_STATUS".into()))
        );
    }
}
