//! The RM class table: lookups by name, attribute indexes and the conformance relation.

#[rustfmt::skip]
mod generated;

pub use generated::{ANY_CLASS, CLASSES};

/// The value an attribute holds, as declared in the BMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    String,
    Integer,
    Integer64,
    Real,
    Double,
    Boolean,
    /// An RM object whose class conforms to [`AttributeDef::class`].
    Object,
}

/// One attribute of a class, inherited ones included.
#[derive(Debug)]
pub struct AttributeDef {
    pub name: &'static str,
    /// The declared type as the BMM spells it (generic parameters resolved to their bound).
    pub type_name: &'static str,
    pub kind: ValueKind,
    /// Class id of the declared type when `kind` is `Object`; [`ANY_CLASS`] for `Any`.
    pub class: u16,
    /// A container (List, Set) in the BMM; Array<Octet> is base64 text, not a list.
    pub list: bool,
    pub mandatory: bool,
    /// Written as an XML attribute rather than an element (LOCATABLE.archetype_node_id).
    pub xml_attribute: bool,
}

/// One RM class. Its id is its position in [`CLASSES`], which is sorted by name.
#[derive(Debug)]
pub struct ClassDef {
    pub name: &'static str,
    pub is_abstract: bool,
    /// Ids of all ancestors (transitively), sorted.
    pub ancestors: &'static [u16],
    /// Attribute indexes sorted by attribute name, for binary search.
    pub by_name: &'static [u8],
    /// Attribute indexes in XML order: XML attributes first, then elements in XSD order.
    pub xml_order: &'static [u8],
    /// Attributes in BMM order, inherited first; this is also the canonical JSON order.
    pub attributes: &'static [AttributeDef],
}

impl ClassDef {
    pub fn attribute_index(&self, name: &str) -> Option<usize> {
        self.by_name
            .binary_search_by(|&index| self.attributes[usize::from(index)].name.cmp(name))
            .ok()
            .map(|position| usize::from(self.by_name[position]))
    }

    pub fn attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        let attributes: &'static [AttributeDef] = self.attributes;
        self.attribute_index(name).map(|index| &attributes[index])
    }
}

/// The class id of a type name; generic arguments (`DV_INTERVAL<DV_QUANTITY>`) are ignored
/// because the tree does not carry them.
pub fn class_id(type_name: &str) -> Option<u16> {
    let bare = match type_name.find('<') {
        Some(position) => type_name[..position].trim_end(),
        None => type_name,
    };
    CLASSES
        .binary_search_by(|class| class.name.cmp(bare))
        .ok()
        .and_then(|position| u16::try_from(position).ok())
}

/// The class with the given id. Ids come from this table, so indexing cannot fail for them.
pub fn class(id: u16) -> &'static ClassDef {
    &CLASSES[usize::from(id)]
}

/// The class definition for a name, if the RM has such a class.
pub fn class_by_name(type_name: &str) -> Option<&'static ClassDef> {
    class_id(type_name).map(class)
}

/// Whether class `id` is `ancestor` or one of its descendants; everything conforms to `Any`.
pub fn conforms(id: u16, ancestor: u16) -> bool {
    ancestor == ANY_CLASS || id == ancestor || class(id).ancestors.binary_search(&ancestor).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_indexes_are_consistent() {
        for pair in CLASSES.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for class in CLASSES {
            assert_eq!(
                class.by_name.len(),
                class.attributes.len(),
                "{}",
                class.name
            );
            assert_eq!(
                class.xml_order.len(),
                class.attributes.len(),
                "{}",
                class.name
            );
            for attribute in class.attributes {
                assert_eq!(
                    class.attribute(attribute.name).map(|found| found.name),
                    Some(attribute.name)
                );
            }
        }
    }

    #[test]
    fn generic_names_resolve_to_the_bare_class() {
        assert_eq!(
            class_id("DV_INTERVAL<DV_QUANTITY>"),
            class_id("DV_INTERVAL")
        );
        assert!(class_id("NOT_A_CLASS").is_none());
    }
}
