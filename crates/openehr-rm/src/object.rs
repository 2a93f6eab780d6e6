//! The generic RM tree: [`RmObject`] (a class and its attributes) and [`RmValue`].

use crate::model::{self, ANY_CLASS, AttributeDef, ClassDef, ValueKind};
use crate::{RmError, RmErrorKind};

/// An attribute value. Integer and Integer64 attributes hold `Integer`, Real and Double hold
/// `Real`, container attributes hold `List`.
#[derive(Debug, Clone, PartialEq)]
pub enum RmValue {
    Boolean(bool),
    Integer(i64),
    Real(f64),
    String(String),
    Object(Box<RmObject>),
    List(Vec<RmValue>),
}

impl RmValue {
    /// The article-and-noun phrase used in "expected ..., found ..." messages.
    pub fn describe(&self) -> &'static str {
        match self {
            RmValue::Boolean(_) => "a boolean",
            RmValue::Integer(_) => "an integer",
            RmValue::Real(_) => "a number",
            RmValue::String(_) => "a string",
            RmValue::Object(_) => "an object",
            RmValue::List(_) => "a list",
        }
    }
}

/// An instance of a concrete RM class. Attributes are kept sorted by their index in the class
/// table, so two trees with the same content compare equal whatever order they were read in.
#[derive(Debug, Clone, PartialEq)]
pub struct RmObject {
    class: u16,
    attributes: Vec<(u8, RmValue)>,
}

impl RmObject {
    /// An empty object of a concrete class.
    pub fn new(type_name: &str) -> Result<RmObject, RmError> {
        let class = model::class_id(type_name).ok_or_else(|| unknown_type(type_name))?;
        RmObject::of_class(class).map_err(RmError::finish)
    }

    pub(crate) fn of_class(class: u16) -> Result<RmObject, RmError> {
        let definition = model::class(class);
        if definition.is_abstract {
            return Err(RmError::new(
                RmErrorKind::AbstractType,
                format!("type \"{}\" is abstract", definition.name),
            ));
        }
        Ok(RmObject {
            class,
            attributes: Vec::new(),
        })
    }

    pub fn type_name(&self) -> &'static str {
        self.class_def().name
    }

    pub fn class_def(&self) -> &'static ClassDef {
        model::class(self.class)
    }

    pub(crate) fn class_id(&self) -> u16 {
        self.class
    }

    fn position(&self, attribute: &str) -> Result<usize, usize> {
        match self.class_def().attribute_index(attribute) {
            Some(index) => self.position_of_index(index),
            None => Err(usize::MAX),
        }
    }

    fn position_of_index(&self, index: usize) -> Result<usize, usize> {
        self.attributes
            .binary_search_by_key(&index, |(existing, _)| usize::from(*existing))
    }

    pub fn get(&self, attribute: &str) -> Option<&RmValue> {
        self.position(attribute)
            .ok()
            .map(|position| &self.attributes[position].1)
    }

    pub fn get_mut(&mut self, attribute: &str) -> Option<&mut RmValue> {
        self.position(attribute)
            .ok()
            .map(|position| &mut self.attributes[position].1)
    }

    /// Sets an attribute after checking that the class has it and that the value conforms to
    /// its declared type; an Integer given for a Real attribute is widened.
    pub fn set(&mut self, attribute: &str, value: RmValue) -> Result<(), RmError> {
        let definition = self.class_def();
        let index = definition.attribute_index(attribute).ok_or_else(|| {
            RmError::new(
                RmErrorKind::UnknownAttribute,
                format!("unknown attribute \"{attribute}\" of {}", definition.name),
            )
            .within(attribute)
            .finish()
        })?;
        let attribute_def = &definition.attributes[index];
        let value = conform_value(attribute_def, value)
            .map_err(|error| error.within(attribute).finish())?;
        self.insert(index, value);
        Ok(())
    }

    /// Inserts a value already checked against the attribute with this index.
    pub(crate) fn insert(&mut self, index: usize, value: RmValue) {
        let key = u8::try_from(index).unwrap_or(u8::MAX);
        match self.position_of_index(index) {
            Ok(position) => self.attributes[position].1 = value,
            Err(position) => self.attributes.insert(position, (key, value)),
        }
    }

    pub(crate) fn contains_index(&self, index: usize) -> bool {
        self.position_of_index(index).is_ok()
    }

    pub(crate) fn value_at_index_mut(&mut self, index: usize) -> Option<&mut RmValue> {
        match self.position_of_index(index) {
            Ok(position) => Some(&mut self.attributes[position].1),
            Err(_) => None,
        }
    }

    pub(crate) fn value_at_index(&self, index: usize) -> Option<&RmValue> {
        match self.position_of_index(index) {
            Ok(position) => Some(&self.attributes[position].1),
            Err(_) => None,
        }
    }

    pub fn remove(&mut self, attribute: &str) -> Option<RmValue> {
        self.position(attribute)
            .ok()
            .map(|position| self.attributes.remove(position).1)
    }

    pub fn get_str(&self, attribute: &str) -> Option<&str> {
        match self.get(attribute) {
            Some(RmValue::String(text)) => Some(text),
            _ => None,
        }
    }

    pub fn get_object(&self, attribute: &str) -> Option<&RmObject> {
        match self.get(attribute) {
            Some(RmValue::Object(object)) => Some(object),
            _ => None,
        }
    }

    /// Whether this object's class is `type_name` or a descendant of it (`Any` included).
    pub fn is_a(&self, type_name: &str) -> bool {
        if type_name == "Any" {
            return true;
        }
        model::class_id(type_name).is_some_and(|ancestor| model::conforms(self.class, ancestor))
    }

    /// The attributes that are set, in metadata (canonical JSON) order.
    pub fn attributes(&self) -> impl Iterator<Item = (&'static AttributeDef, &RmValue)> {
        let definitions = self.class_def().attributes;
        self.attributes
            .iter()
            .map(move |(index, value)| (&definitions[usize::from(*index)], value))
    }

    /// The first mandatory attribute absent anywhere in the tree under this object (this
    /// one included), as an error at its JSON path, in document order.
    pub fn check_mandatory_everywhere(&self) -> Result<(), RmError> {
        self.check_mandatory()?;
        for (attribute, value) in self.attributes() {
            let check = |value: &RmValue| match value {
                RmValue::Object(child) => child.check_mandatory_everywhere(),
                _ => Ok(()),
            };
            match value {
                RmValue::List(items) => {
                    for (index, item) in items.iter().enumerate() {
                        check(item)
                            .map_err(|error| error.within_index(index).within(attribute.name))?;
                    }
                }
                other => check(other).map_err(|error| error.within(attribute.name))?,
            }
        }
        Ok(())
    }

    /// The first mandatory attribute that is absent, as an error at its path.
    pub fn check_mandatory(&self) -> Result<(), RmError> {
        let definition = self.class_def();
        for (index, attribute) in definition.attributes.iter().enumerate() {
            if attribute.mandatory && !self.contains_index(index) {
                return Err(RmError::new(
                    RmErrorKind::MissingAttribute,
                    format!(
                        "missing mandatory attribute \"{}\" of {}",
                        attribute.name, definition.name
                    ),
                )
                .within(attribute.name));
            }
        }
        Ok(())
    }
}

/// Whether `type_name` is `ancestor` or one of its descendants; false when either is unknown.
pub fn conforms_to(type_name: &str, ancestor: &str) -> bool {
    match model::class_id(type_name) {
        Some(_) if ancestor == "Any" => true,
        Some(id) => model::class_id(ancestor).is_some_and(|ancestor| model::conforms(id, ancestor)),
        None => false,
    }
}

pub(crate) fn unknown_type(type_name: &str) -> RmError {
    RmError::new(
        RmErrorKind::UnknownType,
        format!("unknown type \"{type_name}\""),
    )
}

pub(crate) fn expected(what: &str, found: &str) -> RmError {
    RmError::new(
        RmErrorKind::WrongType,
        format!("expected {what}, found {found}"),
    )
}

/// The phrase naming what an attribute of this kind expects.
pub(crate) fn kind_phrase(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::String => "a string",
        ValueKind::Integer | ValueKind::Integer64 => "an integer",
        ValueKind::Real | ValueKind::Double => "a number",
        ValueKind::Boolean => "a boolean",
        ValueKind::Object => "an object",
    }
}

/// The error for an object whose class does not conform to the declared one.
pub(crate) fn not_conforming(actual: u16, declared: u16) -> RmError {
    let declared_name = if declared == ANY_CLASS {
        "Any"
    } else {
        model::class(declared).name
    };
    RmError::new(
        RmErrorKind::WrongType,
        format!(
            "type \"{}\" does not conform to {declared_name}",
            model::class(actual).name
        ),
    )
}

fn conform_value(attribute: &AttributeDef, value: RmValue) -> Result<RmValue, RmError> {
    if attribute.list {
        let RmValue::List(items) = value else {
            return Err(expected("a list", value.describe()));
        };
        let mut checked = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            checked
                .push(conform_single(attribute, item).map_err(|error| error.within_index(index))?);
        }
        Ok(RmValue::List(checked))
    } else {
        conform_single(attribute, value)
    }
}

fn conform_single(attribute: &AttributeDef, value: RmValue) -> Result<RmValue, RmError> {
    match (attribute.kind, value) {
        (ValueKind::String, value @ RmValue::String(_))
        | (ValueKind::Boolean, value @ RmValue::Boolean(_))
        | (ValueKind::Integer | ValueKind::Integer64, value @ RmValue::Integer(_))
        | (ValueKind::Real | ValueKind::Double, value @ RmValue::Real(_)) => Ok(value),
        // Widening is exact for the magnitudes RM data carry (|n| < 2^53).
        #[allow(clippy::cast_precision_loss)]
        (ValueKind::Real | ValueKind::Double, RmValue::Integer(number)) => {
            Ok(RmValue::Real(number as f64))
        }
        (ValueKind::Object, RmValue::Object(object)) => {
            if model::conforms(object.class, attribute.class) {
                Ok(RmValue::Object(object))
            } else {
                Err(not_conforming(object.class, attribute.class))
            }
        }
        (kind, value) => Err(expected(kind_phrase(kind), value.describe())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_checks_attribute_and_type() {
        let mut text = RmObject::new("DV_TEXT").expect("concrete class");
        text.set("value", RmValue::String("hello".into()))
            .expect("string value");
        assert_eq!(text.get_str("value"), Some("hello"));
        let error = text
            .set("value", RmValue::Integer(3))
            .expect_err("wrong type");
        assert_eq!(error.kind, RmErrorKind::WrongType);
        assert_eq!(error.path, "/value");
        let error = text
            .set("foo", RmValue::Integer(3))
            .expect_err("unknown attribute");
        assert_eq!(error.message, "unknown attribute \"foo\" of DV_TEXT");

        let mut element = RmObject::new("ELEMENT").expect("concrete class");
        element
            .set("value", RmValue::Object(Box::new(text)))
            .expect("DV_TEXT is a DATA_VALUE");
        let party = RmObject::new("PARTY_SELF").expect("concrete class");
        let error = element
            .set("value", RmValue::Object(Box::new(party)))
            .expect_err("not data");
        assert_eq!(
            error.message,
            "type \"PARTY_SELF\" does not conform to DATA_VALUE"
        );
        assert!(element.is_a("LOCATABLE") && element.is_a("Any") && !element.is_a("ENTRY"));
        assert!(element.remove("value").is_some() && element.get("value").is_none());
    }

    #[test]
    fn new_rejects_unknown_and_abstract_types() {
        assert_eq!(
            RmObject::new("DV_TEXTT").expect_err("unknown").kind,
            RmErrorKind::UnknownType
        );
        assert_eq!(
            RmObject::new("ENTRY").expect_err("abstract").kind,
            RmErrorKind::AbstractType
        );
        assert!(
            conforms_to("DV_CODED_TEXT", "DV_TEXT") && !conforms_to("DV_TEXT", "DV_CODED_TEXT")
        );
    }
}
