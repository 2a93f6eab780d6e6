//! The openEHR Reference Model (RM 1.1.0) as one metadata-driven tree, with canonical JSON and XML.
//!
//! Classes and attributes come from a table generated from the published BMM and XSD files
//! (`model::generated`, see `generate/generate_model.py`); every RM object is an [`RmObject`]
//! whose attributes are checked against that table. Parsing never panics on bad input: it
//! returns an [`RmError`] naming the path of the offending attribute.

pub mod ids;
pub mod json;
pub mod model;
mod object;
pub mod xml;

pub use object::{RmObject, RmValue, conforms_to};

/// What went wrong while reading or building an RM tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RmErrorKind {
    /// The document is not well-formed JSON or XML.
    Syntax,
    /// A `_type` or `xsi:type` names no RM class.
    UnknownType,
    /// A class that cannot be instantiated was named, or left implicit where only it is declared.
    AbstractType,
    /// An attribute the class does not have.
    UnknownAttribute,
    /// A mandatory attribute is absent.
    MissingAttribute,
    /// A value of the wrong shape or a type that does not conform to the declared one.
    WrongType,
    /// A value of the right shape whose content is not allowed.
    InvalidValue,
}

/// An error with the path (JSON-pointer-like, list items by index) of the offending attribute.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} at {path}")]
pub struct RmError {
    pub kind: RmErrorKind,
    pub path: String,
    pub message: String,
}

impl RmError {
    /// An error at the current node; enclosing nodes add their segments as the error unwinds.
    pub(crate) fn new(kind: RmErrorKind, message: impl Into<String>) -> RmError {
        RmError {
            kind,
            path: String::new(),
            message: message.into(),
        }
    }

    /// Errors are built at the leaf and prefixed on the way out, so a successful parse pays
    /// nothing for path bookkeeping.
    pub(crate) fn within(mut self, segment: &str) -> RmError {
        let mut path = String::with_capacity(segment.len() + 1 + self.path.len());
        path.push('/');
        path.push_str(segment);
        path.push_str(&self.path);
        self.path = path;
        self
    }

    pub(crate) fn within_index(self, index: usize) -> RmError {
        self.within(&index.to_string())
    }

    /// The root path is written `/` so that messages never end in a bare "at".
    pub(crate) fn finish(mut self) -> RmError {
        if self.path.is_empty() {
            self.path.push('/');
        }
        self
    }
}
