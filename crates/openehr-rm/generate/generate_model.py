#!/usr/bin/env python3
"""Generate crates/openehr-rm/src/model/generated.rs from the openEHR specifications.

The generated Rust file is committed: builds and CI never run this script and need
no network. Rerun it only to move to another release of the specifications.

Inputs (read from SPEC_DIR, default /tmp/spec, laid out as in the two repositories):

  openEHR/specifications-ITS-BMM (ODIN BMM schemas, release 1.1.0):
    bmm/components/BASE/Release-1.1.0/openehr_base_foundation_types_110.bmm
    bmm/components/BASE/Release-1.1.0/openehr_base_base_types_110.bmm
    bmm/components/RM/Release-1.1.0/openehr_rm_data_types_110.bmm
    bmm/components/RM/Release-1.1.0/openehr_rm_structures_110.bmm
    bmm/components/RM/Release-1.1.0/openehr_rm_ehr_110.bmm
  openEHR/specifications-ITS-XML (XML schemas, release 1.1.0; BASE for BaseTypes.xsd,
  which RM 1.1.0 includes from BASE rather than carrying its own copy):
    xsd/components/BASE/Release-1.1.0/BaseTypes.xsd
    xsd/components/RM/Release-1.1.0/DataTypes.xsd
    xsd/components/RM/Release-1.1.0/DataStructures.xsd
    xsd/components/RM/Release-1.1.0/Common.xsd
    xsd/components/RM/Release-1.1.0/Ehr.xsd

The BMM gives classes, abstractness, ancestors, properties in declaration order (inherited
first), their declared types, multiplicity and is_mandatory (computed properties such as
EVENT.offset are left out: they are never serialised). Where the BMM says mandatory but the
XSD of the same release says minOccurs="0" the attribute is optional (DV_INTERVAL.lower_included
and upper_included, which EHRbase and Archie omit; EHR.contributions; REVISION_HISTORY.items),
except DV_URI.value and DV_EHR_URI.value (see KEEP_MANDATORY). The XSDs give the XML element
order of each class and which properties are XML attributes (LOCATABLE.archetype_node_id).

Additions not in the BMM files (documented in the RM EHR specification, section "Versioned
objects", as bindings of VERSIONED_OBJECT<T>): VERSIONED_COMPOSITION, VERSIONED_EHR_STATUS,
VERSIONED_EHR_ACCESS, VERSIONED_FOLDER, concrete subclasses of VERSIONED_OBJECT without
properties of their own.

Usage: python3 generate_model.py [SPEC_DIR]
"""

import os
import re
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "..", "src", "model", "generated.rs")

BMM_FILES = [
    "bmm/components/BASE/Release-1.1.0/openehr_base_foundation_types_110.bmm",
    "bmm/components/BASE/Release-1.1.0/openehr_base_base_types_110.bmm",
    "bmm/components/RM/Release-1.1.0/openehr_rm_data_types_110.bmm",
    "bmm/components/RM/Release-1.1.0/openehr_rm_structures_110.bmm",
    "bmm/components/RM/Release-1.1.0/openehr_rm_ehr_110.bmm",
]
XSD_FILES = [
    "xsd/components/BASE/Release-1.1.0/BaseTypes.xsd",
    "xsd/components/RM/Release-1.1.0/DataTypes.xsd",
    "xsd/components/RM/Release-1.1.0/DataStructures.xsd",
    "xsd/components/RM/Release-1.1.0/Common.xsd",
    "xsd/components/RM/Release-1.1.0/Ehr.xsd",
]

# Root classes a repository stores or exchanges; the model is their closure.
ROOTS = [
    "COMPOSITION", "EHR_STATUS", "EHR_ACCESS", "FOLDER", "CONTRIBUTION", "ORIGINAL_VERSION",
    "IMPORTED_VERSION", "VERSIONED_OBJECT", "EHR", "REVISION_HISTORY", "ATTESTATION",
    "GENERIC_ENTRY", "DV_GENERAL_TIME_SPECIFICATION", "DV_PERIODIC_TIME_SPECIFICATION",
    "UUID", "ISO_OID", "INTERNET_ID", "VERSION_TREE_ID",
]
VERSIONED_BINDINGS = ["VERSIONED_COMPOSITION", "VERSIONED_EHR_ACCESS", "VERSIONED_EHR_STATUS", "VERSIONED_FOLDER"]

# The XSD makes DV_URI.value optional only because xs:anyURI admits an empty string; a
# URI value without its text carries nothing, so the BMM's mandatory stands.
KEEP_MANDATORY = {"DV_URI.value", "DV_EHR_URI.value"}

# BMM primitive types and the value kind they map to. Array<Octet> is carried as base64
# text in both canonical JSON and XML, so it is a String here rather than a list.
PRIMITIVES = {
    "String": "String", "Character": "String", "Uri": "String",
    "Integer": "Integer", "Integer64": "Integer64",
    "Real": "Real", "Double": "Double", "Boolean": "Boolean",
    "Octet": "String",
    # Enumerations in BASE/RM are typed by their primitive base.
    "PROPORTION_KIND": "Integer", "VALIDITY_KIND": "String", "VERSION_STATUS": "String",
}


# ---------------------------------------------------------------- ODIN reader

TOKEN = re.compile(r'''
    (?P<ws>\s+|--[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<interval>\|[^|]*\|)
  | (?P<ellipsis>\.\.\.)
  | (?P<punct>[<>=\[\](),;])
  | (?P<word>[A-Za-z0-9_.+\-]+)
''', re.VERBOSE)


def tokenize(text):
    tokens = []
    position = 0
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match:
            raise SystemExit(f"odin: cannot read {text[position:position + 30]!r}")
        position = match.end()
        kind = match.lastgroup
        if kind == "ws":
            continue
        value = match.group(kind)
        if kind == "string":
            value = bytes(value[1:-1], "utf-8").decode("unicode_escape")
        tokens.append((kind, value))
    return tokens


class OdinParser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.index = 0

    def peek(self, offset=0):
        position = self.index + offset
        return self.tokens[position] if position < len(self.tokens) else (None, None)

    def take(self, expected=None):
        token = self.tokens[self.index]
        if expected is not None and token[1] != expected:
            raise SystemExit(f"odin: expected {expected!r}, found {token!r}")
        self.index += 1
        return token

    def document(self):
        result = {}
        while self.index < len(self.tokens):
            name = self.take()[1]
            self.take("=")
            result[name] = self.value()
        return result

    def value(self):
        if self.peek()[1] == "(":
            self.take("(")
            self.take()
            self.take(")")
        self.take("<")
        if self.peek()[1] == ">":
            self.take(">")
            return None
        kind, token = self.peek()
        if token == "[":
            result = {}
            while self.peek()[1] == "[":
                self.take("[")
                key = self.take()[1]
                self.take("]")
                self.take("=")
                result[key] = self.value()
            self.take(">")
            return result
        if kind == "word" and self.peek(1)[1] == "=":
            result = {}
            while self.peek()[1] != ">":
                name = self.take()[1]
                self.take("=")
                result[name] = self.value()
            self.take(">")
            return result
        items = []
        is_list = False
        while self.peek()[1] != ">":
            kind, token = self.take()
            if token == "," or kind == "ellipsis":
                is_list = True
                continue
            if kind == "word" and token in ("True", "False"):
                items.append(token == "True")
            else:
                items.append(token)
        self.take(">")
        return items if is_list or len(items) != 1 else items[0]


def read_bmm(path):
    with open(path, encoding="utf-8") as handle:
        return OdinParser(tokenize(handle.read())).document()


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- BMM model

def load_bmm(spec_dir):
    classes = {}
    for relative in BMM_FILES:
        document = read_bmm(os.path.join(spec_dir, relative))
        for name, definition in (document.get("class_definitions") or {}).items():
            classes[name] = definition
        for name, definition in (document.get("primitive_types") or {}).items():
            classes[name] = definition
    return classes


def generic_bound(classes, class_name, parameter):
    """The type a generic parameter stands for when the class is used without arguments."""
    definition = classes.get(class_name) or {}
    parameters = definition.get("generic_parameter_defs") or {}
    if parameter in parameters:
        return (parameters[parameter] or {}).get("conforms_to_type") or "Any"
    return None


def property_type(classes, owner, definition):
    """(type name, is container) of a BMM property, generics resolved to their bound."""
    type_name = definition.get("type")
    type_def = definition.get("type_def")
    is_container = False
    if type_def is not None:
        if "container_type" in type_def:
            is_container = True
            container = type_def["container_type"]
            if "type_def" in type_def:
                type_name = type_def["type_def"]["root_type"]
            else:
                type_name = type_def["type"]
            if container == "Array" and type_name == "Octet":
                is_container = False
        else:
            type_name = type_def["root_type"]
    if type_name and len(type_name) == 1:
        type_name = generic_bound(classes, owner, type_name) or "Any"
    return type_name, is_container


def ancestors_of(classes, name):
    return [a for a in as_list((classes.get(name) or {}).get("ancestors")) if a != "..."]


def all_ancestors(classes, name):
    seen = []
    stack = list(ancestors_of(classes, name))
    while stack:
        ancestor = stack.pop(0)
        if ancestor not in seen:
            seen.append(ancestor)
            stack.extend(ancestors_of(classes, ancestor))
    return seen


def properties_of(classes, name, generic_owner=None):
    """Properties in declaration order, inherited first; a redefinition keeps its place.

    Open generic types (T) resolve against the most derived class that declares the
    parameter, so DV_INTERVAL.lower (inherited from Interval<T>) becomes DV_ORDERED."""
    generic_owner = generic_owner or name
    result = {}
    for ancestor in ancestors_of(classes, name):
        for property_name, value in properties_of(classes, ancestor, generic_owner).items():
            result[property_name] = value
    for property_name, definition in ((classes.get(name) or {}).get("properties") or {}).items():
        if definition.get("is_computed"):
            continue
        type_name, is_container = property_type(classes, name, definition)
        if type_name in ("T", "U") or (type_name and len(type_name) == 1):
            type_name = "Any"
        raw = definition.get("type")
        if raw and len(raw) == 1:
            # An unconstrained redeclaration (POINT_EVENT<T>) must not widen EVENT<T: ITEM_STRUCTURE>.
            owner_bound = generic_bound(classes, generic_owner, raw)
            declared_bound = generic_bound(classes, name, raw)
            type_name = next((b for b in (owner_bound, declared_bound) if b and b != "Any"), "Any")
        result[property_name] = {
            "name": property_name,
            "type": type_name,
            "list": is_container,
            "mandatory": bool(definition.get("is_mandatory")),
        }
    return result


# ---------------------------------------------------------------- XSD model

XS = "{http://www.w3.org/2001/XMLSchema}"


def load_xsd(spec_dir):
    types = {}
    for relative in XSD_FILES:
        root = ET.parse(os.path.join(spec_dir, relative)).getroot()
        for complex_type in root.findall(f"{XS}complexType"):
            name = complex_type.get("name")
            base = None
            elements = []
            attributes = []
            optional = []
            for node in complex_type.iter():
                if node.tag == f"{XS}extension":
                    base = node.get("base")
                elif node.tag == f"{XS}element":
                    elements.append(node.get("name"))
                    if node.get("minOccurs") == "0":
                        optional.append(node.get("name"))
                elif node.tag == f"{XS}attribute":
                    attributes.append(node.get("name"))
            types[name] = {"base": base, "elements": elements, "attributes": attributes, "optional": optional}
    return types


def xsd_layout(types, name):
    """(elements in order, attributes, optional elements) of an XSD type, inherited first."""
    definition = types.get(name)
    if definition is None:
        return None
    elements, attributes, optional = [], [], []
    if definition["base"] and definition["base"] in types:
        elements, attributes, optional = xsd_layout(types, definition["base"])
    return (elements + definition["elements"], attributes + definition["attributes"],
            optional + definition["optional"])


# ---------------------------------------------------------------- closure and output

def main():
    spec_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SPEC_DIR", "/tmp/spec")
    classes = load_bmm(spec_dir)
    xsd_types = load_xsd(spec_dir)

    for binding in VERSIONED_BINDINGS:
        classes[binding] = {"name": binding, "ancestors": ["VERSIONED_OBJECT"], "properties": {}}
    # VERSIONED_OBJECT itself is concrete in the BMM; keep it, its bindings are what servers send.

    def is_rm_class(name):
        # Foundation types (Any, Interval, String...) are spelt in mixed case; RM classes are upper case.
        return name in classes and name.isupper() and name not in PRIMITIVES

    descendants = {}
    for name in classes:
        for ancestor in all_ancestors(classes, name):
            descendants.setdefault(ancestor, []).append(name)

    wanted = set()
    stack = list(ROOTS) + VERSIONED_BINDINGS
    while stack:
        name = stack.pop()
        if name in wanted or not is_rm_class(name):
            continue
        wanted.add(name)
        for property_definition in properties_of(classes, name).values():
            stack.append(property_definition["type"])
        for ancestor in all_ancestors(classes, name):
            stack.append(ancestor)
        stack.extend(descendants.get(name, []))

    names = sorted(wanted)
    index = {name: position for position, name in enumerate(names)}
    warnings = []
    lines = []
    lines.append("//! Generated RM 1.1.0 class table: do not edit, rerun generate/generate_model.py.")
    lines.append("// Sources: openEHR specifications-ITS-BMM (BASE and RM Release-1.1.0 .bmm) and")
    lines.append("// specifications-ITS-XML (RM Release-1.1.0 and BASE Release-1.1.0 .xsd).")
    lines.append("")
    lines.append("use super::{AttributeDef, ClassDef, ValueKind::*};")
    lines.append("")
    lines.append("/// Attribute type for declared type `Any`: every class conforms to it.")
    lines.append("pub const ANY_CLASS: u16 = u16::MAX;")
    lines.append("")
    lines.append("/// Every RM class, sorted by name so that a class id is its position.")
    lines.append("pub static CLASSES: &[ClassDef] = &[")
    for name in names:
        definition = classes[name]
        is_abstract = bool(definition.get("is_abstract"))
        ancestor_ids = sorted(index[a] for a in all_ancestors(classes, name) if a in index)
        properties = list(properties_of(classes, name).values())
        layout = xsd_layout(xsd_types, name)
        property_names = [p["name"] for p in properties]
        xsd_optional = []
        if layout is None:
            xml_elements, xml_attributes = property_names, []
            if not is_abstract:
                warnings.append(f"{name}: no XSD type, XML order follows the BMM")
        else:
            xml_elements, xml_attributes, xsd_optional = layout
            for element in xml_elements + xml_attributes:
                if element not in property_names:
                    warnings.append(f"{name}: XSD element {element} is not a BMM property (ignored)")
            missing = [p for p in property_names if p not in xml_elements and p not in xml_attributes]
            for property_name in missing:
                warnings.append(f"{name}: BMM property {property_name} is not in the XSD (written last in XML)")
            xml_elements = [e for e in xml_elements if e in property_names] + missing
        xml_attributes = [a for a in xml_attributes if a in property_names]
        xml_order = [property_names.index(a) for a in xml_attributes] + [
            property_names.index(e) for e in xml_elements if e not in xml_attributes]
        by_name = sorted(range(len(properties)), key=lambda i: properties[i]["name"])
        attribute_text = []
        for property_definition in properties:
            # Mandatory follows the BMM, except where the XSD of the same release makes the
            # element optional: where the two published contracts disagree the looser one wins,
            # so data valid under either (DV_INTERVAL without lower_included, as EHRbase and
            # Archie write it) is accepted.
            qualified = f"{name}.{property_definition['name']}"
            if (property_definition["mandatory"] and property_definition["name"] in xsd_optional
                    and qualified not in KEEP_MANDATORY):
                warnings.append(f"{name}: {property_definition['name']} is mandatory in the BMM, optional in the XSD: optional")
                property_definition = dict(property_definition, mandatory=False)
            type_name = property_definition["type"]
            kind = PRIMITIVES.get(type_name, "Object")
            if kind == "Object":
                if type_name == "Any":
                    class_id = "ANY_CLASS"
                elif type_name in index:
                    class_id = str(index[type_name])
                else:
                    raise SystemExit(f"{name}.{property_definition['name']}: unknown type {type_name}")
            else:
                class_id = "0"
            attribute_text.append(
                "AttributeDef { name: %s, type_name: %s, kind: %s, class: %s, list: %s, mandatory: %s, xml_attribute: %s }"
                % (rust_string(property_definition["name"]), rust_string(type_name), kind, class_id,
                   rust_bool(property_definition["list"]), rust_bool(property_definition["mandatory"]),
                   rust_bool(property_definition["name"] in xml_attributes)))
        lines.append(f"    // {index[name]}")
        lines.append(f"    ClassDef {{ name: {rust_string(name)}, is_abstract: {rust_bool(is_abstract)}, "
                     f"ancestors: &{ancestor_ids}, by_name: &{by_name}, xml_order: &{xml_order}, attributes: &[")
        for text in attribute_text:
            lines.append(f"        {text},")
        lines.append("    ] },")
    lines.append("];")
    lines.append("")
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    for warning in warnings:
        print("note:", warning, file=sys.stderr)
    print(f"wrote {len(names)} classes to {os.path.relpath(OUTPUT)}", file=sys.stderr)


def rust_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rust_bool(value):
    return "true" if value else "false"


if __name__ == "__main__":
    main()
