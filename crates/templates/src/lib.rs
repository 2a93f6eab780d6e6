//! Operational templates (OPT 1.4): the template engine.
//!
//! `opt` parses an OPT into the constraint tree of `model`, once per template; `validate`
//! checks compositions (and EHR_STATUS and FOLDER objects) against it, with `units` telling
//! whether a quantity's UCUM units measure the property its template names; `web_template` gives clients the web template built from
//! it; `flat` converts between canonical compositions and the simplified FLAT and STRUCTURED
//! formats; `example` generates example and random valid compositions (and single-constraint
//! mutations of them). Everything here is pure: no IO, no server.

pub mod example;
pub mod flat;
pub mod model;
pub mod opt;
pub mod units;
pub mod validate;
pub mod web_template;

/// Why an OPT was refused; every message names what is wrong and where.
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
    #[error(
        "the template's root is a {0}; only COMPOSITION, EHR_STATUS and FOLDER templates can be uploaded"
    )]
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
