//! Canonical openEHR XML: reading into and writing from the generic RM tree.
//!
//! Element order and XML attributes come from the XSD columns of the class table. Names are
//! matched by local name, so any namespace prefix is accepted on input; output uses the
//! default namespace `http://schemas.openehr.org/v1`. XML cannot say "present but empty" for a
//! list, so an empty list does not survive a trip through XML.

use std::fmt::Write as _;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::QName;
use quick_xml::reader::Reader;

use crate::json::{Mandatory, declared_class, runtime_class};
use crate::model::{AttributeDef, ValueKind};
use crate::object::expected;
use crate::{RmError, RmErrorKind, RmObject, RmValue};

const NAMESPACE: &str = "http://schemas.openehr.org/v1";
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Parses canonical XML whose root element is declared as `expected_type`.
pub fn from_slice(bytes: &[u8], expected_type: &str) -> Result<RmObject, RmError> {
    read_slice(bytes, expected_type, Mandatory::Check)
}

/// Like [`from_slice`], but an absent mandatory attribute is left for a later check, as
/// [`crate::json::from_slice_deferring_mandatory`] does.
pub fn from_slice_deferring_mandatory(
    bytes: &[u8],
    expected_type: &str,
) -> Result<RmObject, RmError> {
    read_slice(bytes, expected_type, Mandatory::Defer)
}

fn read_slice(
    bytes: &[u8],
    expected_type: &str,
    mandatory: Mandatory,
) -> Result<RmObject, RmError> {
    let declared = declared_class(expected_type).map_err(RmError::finish)?;
    let mut parser = Parser {
        reader: Reader::from_reader(bytes),
        input: bytes,
        mandatory,
    };
    let root = loop {
        match parser.next()? {
            Event::Start(start) => break parser.read_object(&start, declared, false),
            Event::Empty(start) => break parser.read_object(&start, declared, true),
            Event::Eof => {
                return Err(parser.syntax("malformed xml: no root element"));
            }
            Event::Text(text) if !is_blank(&text) => {
                return Err(parser.syntax("malformed xml: text before the root element"));
            }
            _ => {}
        }
    }
    .map_err(RmError::finish)?;
    loop {
        match parser.next()? {
            Event::Eof => return Ok(root),
            Event::Text(text) if is_blank(&text) => {}
            Event::Comment(_) | Event::PI(_) => {}
            _ => return Err(parser.syntax("malformed xml: content after the root element")),
        }
    }
}

struct Parser<'input> {
    reader: Reader<&'input [u8]>,
    input: &'input [u8],
    mandatory: Mandatory,
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

impl<'input> Parser<'input> {
    fn next(&mut self) -> Result<Event<'input>, RmError> {
        self.reader.read_event().map_err(|error| {
            let position = self.reader.error_position();
            self.syntax_at(&format!("malformed xml: {error}"), position)
        })
    }

    fn syntax(&self, message: &str) -> RmError {
        self.syntax_at(message, self.reader.buffer_position())
    }

    /// Syntax errors carry line and column, as people look for them in an editor.
    fn syntax_at(&self, message: &str, position: u64) -> RmError {
        let end = usize::try_from(position)
            .unwrap_or(usize::MAX)
            .min(self.input.len());
        let before = &self.input[..end];
        let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |index| index + 1);
        let column = end - line_start + 1;
        RmError::new(
            RmErrorKind::Syntax,
            format!("{message} at line {line} column {column}"),
        )
    }

    fn read_object(
        &mut self,
        start: &BytesStart<'_>,
        declared: u16,
        empty: bool,
    ) -> Result<RmObject, RmError> {
        let mut type_name = None;
        let mut plain_attributes = Vec::new();
        for attribute in start.attributes() {
            let attribute =
                attribute.map_err(|error| self.syntax(&format!("malformed xml: {error}")))?;
            let key = attribute.key;
            let value = attribute
                .unescape_value()
                .map_err(|error| self.syntax(&format!("malformed xml: {error}")))?
                .into_owned();
            match key.prefix() {
                Some(prefix) if prefix.as_ref() == b"xmlns" => {}
                Some(_) if key.local_name().as_ref() == b"type" => type_name = Some(value),
                Some(_) => {}
                None if key.as_ref() == b"xmlns" => {}
                None => plain_attributes.push((key_text(key), value)),
            }
        }
        // Type names may carry a namespace prefix ("v1:DV_TEXT"); class names never contain ':'.
        let bare_type = type_name
            .as_deref()
            .map(|name| name.rsplit(':').next().unwrap_or(name));
        let mut object = runtime_class(bare_type, declared, "xsi:type")?;
        let class = object.class_def();
        for (name, value) in plain_attributes {
            let Some(index) = class.attribute_index(&name) else {
                return Err(unknown_attribute(&name, class.name).within(&name));
            };
            let attribute = &class.attributes[index];
            let value = parse_primitive(attribute, value).map_err(|error| error.within(&name))?;
            object.insert(index, value);
        }
        if !empty {
            self.read_children(&mut object)?;
        }
        if self.mandatory == Mandatory::Check {
            object.check_mandatory()?;
        }
        Ok(object)
    }

    fn read_children(&mut self, object: &mut RmObject) -> Result<(), RmError> {
        let class = object.class_def();
        loop {
            let (start, empty) = match self.next()? {
                Event::Start(start) => (start, false),
                Event::Empty(start) => (start, true),
                Event::End(_) => return Ok(()),
                Event::Text(text) if is_blank(&text) => continue,
                Event::Comment(_) | Event::PI(_) => continue,
                Event::Eof => return Err(self.syntax("malformed xml: unexpected end of document")),
                _ => {
                    return Err(RmError::new(
                        RmErrorKind::WrongType,
                        format!("unexpected text in {}", class.name),
                    ));
                }
            };
            let local = start.local_name();
            let name = String::from_utf8_lossy(local.as_ref());
            let Some(index) = class.attribute_index(&name) else {
                return Err(unknown_attribute(&name, class.name).within(&name));
            };
            let attribute = &class.attributes[index];
            let list_length = match object.value_at_index(index) {
                Some(RmValue::List(items)) => Some(items.len()),
                Some(_) => {
                    return Err(RmError::new(
                        RmErrorKind::InvalidValue,
                        format!("attribute \"{name}\" occurs more than once"),
                    )
                    .within(&name));
                }
                None => None,
            };
            let value = self.read_value(attribute, &start, empty).map_err(|error| {
                match (attribute.list, list_length) {
                    (true, length) => error.within_index(length.unwrap_or(0)).within(&name),
                    (false, _) => error.within(&name),
                }
            })?;
            if attribute.list {
                match object.value_at_index_mut(index) {
                    Some(RmValue::List(items)) => items.push(value),
                    _ => object.insert(index, RmValue::List(vec![value])),
                }
            } else {
                object.insert(index, value);
            }
        }
    }

    fn read_value(
        &mut self,
        attribute: &AttributeDef,
        start: &BytesStart<'_>,
        empty: bool,
    ) -> Result<RmValue, RmError> {
        if attribute.kind == ValueKind::Object {
            return Ok(RmValue::Object(Box::new(self.read_object(
                start,
                attribute.class,
                empty,
            )?)));
        }
        let text = if empty {
            String::new()
        } else {
            self.read_text()?
        };
        parse_primitive(attribute, text)
    }

    fn read_text(&mut self) -> Result<String, RmError> {
        let mut text = String::new();
        loop {
            match self.next()? {
                Event::Text(part) => {
                    let content = part
                        .xml10_content()
                        .map_err(|error| self.syntax(&format!("malformed xml: {error}")))?;
                    text.push_str(&content);
                }
                Event::CData(part) => {
                    let content = part
                        .decode()
                        .map_err(|error| self.syntax(&format!("malformed xml: {error}")))?;
                    text.push_str(&content);
                }
                Event::GeneralRef(reference) => {
                    let resolved = reference
                        .resolve_char_ref()
                        .map_err(|error| self.syntax(&format!("malformed xml: {error}")))?;
                    if let Some(character) = resolved {
                        text.push(character);
                    } else {
                        let name = String::from_utf8_lossy(reference.as_ref()).into_owned();
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(replacement) => text.push_str(replacement),
                            None => {
                                return Err(
                                    self.syntax(&format!("malformed xml: unknown entity &{name};"))
                                );
                            }
                        }
                    }
                }
                Event::End(_) => return Ok(text),
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => return Err(self.syntax("malformed xml: unexpected end of document")),
                _ => {
                    return Err(RmError::new(
                        RmErrorKind::WrongType,
                        "expected text, found an element",
                    ));
                }
            }
        }
    }
}

fn key_text(key: QName<'_>) -> String {
    String::from_utf8_lossy(key.as_ref()).into_owned()
}

fn unknown_attribute(name: &str, class: &str) -> RmError {
    RmError::new(
        RmErrorKind::UnknownAttribute,
        format!("unknown attribute \"{name}\" of {class}"),
    )
}

fn parse_primitive(attribute: &AttributeDef, text: String) -> Result<RmValue, RmError> {
    let trimmed = text.trim();
    match attribute.kind {
        ValueKind::String => Ok(RmValue::String(text)),
        ValueKind::Boolean => match trimmed {
            "true" | "1" => Ok(RmValue::Boolean(true)),
            "false" | "0" => Ok(RmValue::Boolean(false)),
            _ => Err(expected("a boolean", &format!("\"{text}\""))),
        },
        ValueKind::Integer | ValueKind::Integer64 => trimmed
            .parse()
            .map(RmValue::Integer)
            .map_err(|_| expected("an integer", &format!("\"{text}\""))),
        ValueKind::Real | ValueKind::Double => trimmed
            .parse()
            .map(RmValue::Real)
            .map_err(|_| expected("a number", &format!("\"{text}\""))),
        ValueKind::Object => Err(expected("an object", "text")),
    }
}

/// Canonical XML with `root_element` as the document element ("composition", "version"...).
/// The root always carries `xsi:type`; other elements carry it when the runtime class differs
/// from the declared one.
pub fn to_vec(object: &RmObject, root_element: &str) -> Vec<u8> {
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write_object(&mut out, root_element, object, None);
    out.into_bytes()
}

fn write_object(out: &mut String, element: &str, object: &RmObject, declared: Option<u16>) {
    let class = object.class_def();
    out.push('<');
    out.push_str(element);
    if declared.is_none() {
        out.push_str(" xmlns=\"");
        out.push_str(NAMESPACE);
        out.push_str("\" xmlns:xsi=\"");
        out.push_str(XSI_NAMESPACE);
        out.push('"');
    }
    if declared != Some(object.class_id()) {
        out.push_str(" xsi:type=\"");
        out.push_str(class.name);
        out.push('"');
    }
    let mut has_children = false;
    for &index in class.xml_order {
        let index = usize::from(index);
        let attribute = &class.attributes[index];
        let Some(value) = object.value_at_index(index) else {
            continue;
        };
        // XML attributes come first in xml_order, so they are all written before the '>'.
        if attribute.xml_attribute
            && let Some(text) = primitive_text(value)
        {
            out.push(' ');
            out.push_str(attribute.name);
            out.push_str("=\"");
            escape_into(out, &text, true);
            out.push('"');
            continue;
        }
        if !has_children {
            out.push('>');
            has_children = true;
        }
        match value {
            RmValue::List(items) => {
                for item in items {
                    write_value(out, attribute, item);
                }
            }
            value => write_value(out, attribute, value),
        }
    }
    if has_children {
        out.push_str("</");
        out.push_str(element);
        out.push('>');
    } else {
        out.push_str("/>");
    }
}

fn write_value(out: &mut String, attribute: &AttributeDef, value: &RmValue) {
    if let RmValue::Object(object) = value {
        write_object(out, attribute.name, object, Some(attribute.class));
        return;
    }
    out.push('<');
    out.push_str(attribute.name);
    out.push('>');
    if let Some(text) = primitive_text(value) {
        escape_into(out, &text, false);
    }
    out.push_str("</");
    out.push_str(attribute.name);
    out.push('>');
}

fn primitive_text(value: &RmValue) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    match value {
        RmValue::String(text) => Some(Cow::Borrowed(text)),
        RmValue::Boolean(flag) => Some(Cow::Borrowed(if *flag { "true" } else { "false" })),
        RmValue::Integer(number) => Some(Cow::Owned(number.to_string())),
        RmValue::Real(number) => {
            let mut text = String::new();
            // Display gives the shortest text that reads back as the same f64.
            let _ = write!(text, "{number}");
            Some(Cow::Owned(text))
        }
        RmValue::Object(_) | RmValue::List(_) => None,
    }
}

/// Escapes markup; carriage returns (and, in attributes, all whitespace controls) become
/// character references so that end-of-line and attribute normalisation leave them intact.
fn escape_into(out: &mut String, text: &str, in_attribute: bool) {
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_reads_back() {
        let mut text = RmObject::new("DV_TEXT").expect("concrete class");
        let awkward = "a < b & c > \"d\"\r\n\ttab ]]> é";
        text.set("value", RmValue::String(awkward.into()))
            .expect("string");
        let bytes = to_vec(&text, "value");
        let back = from_slice(&bytes, "DV_TEXT").expect("reads back");
        assert_eq!(back, text);
    }

    #[test]
    fn locatable_node_id_is_an_xml_attribute() {
        let cluster = crate::model::class_by_name("CLUSTER").expect("class");
        let node_id = cluster.attribute("archetype_node_id").expect("attribute");
        assert!(node_id.xml_attribute);
        assert!(!cluster.attribute("name").expect("attribute").xml_attribute);
    }
}
