//! The openEHR Simplified Formats: FLAT and STRUCTURED compositions, to and from canonical.
//!
//! A FLAT path is a chain of web template ids, so the web template is the grammar of the
//! format. [`FlatFormat::new`] builds the web template once and turns it into an indexed
//! tree ([`tree`]): each node knows its children by id and the RM steps (attribute, node id,
//! name, concrete type) that lead from its parent's object to its own. The steps matter
//! because the web template dissolves structure (HISTORY, ITEM_TREE, a single EVENT, an
//! ELEMENT around its value) that a canonical composition must still contain; the types of
//! those hidden objects come from the constraint tree, or from the RM table where the
//! template leaves an attribute unconstrained. Requests then never touch the web template
//! JSON again.
//!
//! FLAT → canonical ([`input`]) first groups the keys into a tree of node instances (so an
//! index gap or an unknown id is found before anything is built), then builds objects
//! bottom-up and places each through its steps, sharing hidden parents among siblings, and
//! finally fills what a canonical composition must have and the data left out, from `ctx/`
//! first and from the template or [`InputDefaults`] after that. STRUCTURED ([`structured`])
//! is the same paths nested, so it is converted to and from FLAT rather than implemented
//! twice.
//!
//! Canonical → FLAT ([`output`]) must never lose data quietly: a stored composition
//! converted for a client and sent back would otherwise come back poorer, with nobody
//! told. So the walk keeps accounts of every object it reads and every attribute it writes,
//! and whatever in the composition is left over is a [`FormatError`] naming its RM path.
//! An earlier version only looked for archetyped objects nobody reached, and so missed a
//! value inside an ELEMENT it had reached (the DV_INTERVALs of Test_all_types went missing
//! that way).
//!
//! Decisions, and their reasons:
//! - DV_INTERVAL follows the SDK: bounds are the web template's `lower`/`upper` children
//!   with their own suffixes (`.../interval_quantity/lower|magnitude`), flags are suffixes
//!   of the interval (`|lower_unbounded`, `|upper_unbounded`, `|lower_included`,
//!   `|upper_included`; the brief's `/lower_included` form is not the SDK's). On input an
//!   absent `|x_unbounded` is derived from the bound (unbounded when it is missing) and an
//!   absent `|x_included` stays absent (the RM makes it optional). On output `unbounded`
//!   is written when true (as the SDK does) or when it contradicts the missing bound;
//!   `included` is written whenever present, so that an explicit `true` survives.
//! - `_link:N|meaning|type|target` and a party's `/relationship|code|value|terminology`
//!   (making a PARTY_RELATED) follow the SDK's keys; without them the shared examples
//!   could not be written at all under the accounting above.
//! - An ITEM_TREE/ITEM_LIST/ITEM_TABLE/HISTORY with no items, rows or events, and nothing
//!   beyond its node id and name (and a HISTORY's mandatory origin), is skipped on output
//!   when the web template has no node for it: templates that constrain nothing inside a
//!   `protocol` or `state` filter the node out, yet compositions carry the empty tree, and
//!   refusing those would refuse valid data for no information. Input recreates, empty,
//!   with the template's node id and name, every structure the RM or the template makes
//!   mandatory (an EVENT's `data`, an OBSERVATION's HISTORY, an ACTIVITY's `description`:
//!   single attributes whose one alternative is such a structure) when no key fills it, so
//!   the composition stays valid; an optional one (`protocol`, `state`) is not recreated,
//!   and a round trip drops it: that is the one deliberate loss of an object.
//! - Names the template constrains to a DV_CODED_TEXT are built coded: the code the node
//!   fixes (the web template makes one node per local code, named by its term; or the only
//!   code allowed), with its term in the composition's language. Where the template leaves
//!   the choice open (several codes of an external terminology, a value set), the SDK's
//!   `<node>/_name|code`, `|value` and `|terminology` give it (`|value` alone gives a
//!   DV_TEXT name); output writes those keys for a coded name that is not the one input
//!   would build. Path names match coded names by code, so a translated term still finds
//!   its node.
//! - Attributes input recreates from the template are not accounted for: the node id,
//!   `archetype_details` (written fresh, rm_version 1.1.0), the type of a party reference
//!   (PERSON/ORGANISATION/ANY) and the `_type` of ids.
//! - Indexes of a multiple node count the instances that write a key. An instance that
//!   writes none (everything in it is what input recreates, as an empty archetyped
//!   ITEM_TREE) takes no index, so `node:1` never follows a missing `node:0`, which input
//!   refuses as a gap; such an instance is not written, like a single one.
//! - An event the template leaves abstract (EVENT, the vital signs' `any_event`) takes the
//!   SDK's `<event>/width`, `<event>/math_function|code|value|terminology` and
//!   `<event>|sample_count`, also where the web template dissolves a single event into
//!   its entry for the first two (the keys then sit next to its `time`). The web template
//!   does not list them for an EVENT, so the FLAT tree adds the two nodes; input builds a
//!   POINT_EVENT unless one of the keys is given, and then an INTERVAL_EVENT.
//! - Mandatory structures input recreates include archetype roots (an ITEM_TREE archetype
//!   as an ACTIVITY's description), with their archetype id and details; output skips them
//!   when empty, archetype details included.
//! - Names: input names every object after the template (see `input::default_name`); a
//!   name other than that one is the SDK's `<node>/_name` (the bare key for a DV_TEXT,
//!   `|code`, `|value` and `|terminology` for a DV_CODED_TEXT), the composition's
//!   (`<root>/_name`) included. Output consumes a name input would recreate and writes
//!   any other; the name of an object the web template hides (an ITEM_TREE, a dissolved
//!   event) has no key, so a name other than the template's there is reported.
//! - The attributes of data values, with the SDK's keys (its conformance examples in
//!   test-data `composition/flat/simSDT/conformance`): suffixes `|formatting` (texts),
//!   `|normal_status` (a code of `openehr_normal_statuses`), `|accuracy`,
//!   `|accuracy_is_percent`, `|magnitude_status`, `|units_system`, `|units_display_name`,
//!   `|preferred_term` (code phrases); paths `/_normal_range/lower|magnitude` (bounds as
//!   values of the same type, flags as for intervals), `/_other_reference_ranges:N` with
//!   `/meaning`, `/_mapping:N|match`, `/_mapping:N/target|code|terminology`,
//!   `/_mapping:N/purpose|code|value|terminology`, `/_language` and `/_encoding` (texts).
//! - Any LOCATABLE with a node writes `/_feeder_audit`: `/originating_system_audit` and
//!   `/feeder_system_audit` (`|system_id`, `|version_id`, `|time`, parties `/location`,
//!   `/provider`, `/subject`, a PARTY_SELF subject as `|_type`), the item ids
//!   `/originating_system_item_id:N|id|type|issuer|assigner` (singular, as the SDK, though
//!   the RM attribute is plural) and `/feeder_system_item_id:N`, and the original content
//!   as `/original_content` (DV_PARSABLE) or `/original_content_multimedia`. An ELEMENT's
//!   `/_null_reason` and an EVENT_CONTEXT's `/_location` follow the SDK too.
//! - A DV_PARSABLE's text is the bare key (`|value` only for a `wf_definition`), as the SDK
//!   writes it; input takes either.
//!
//! What FLAT, as implemented, cannot carry, and so reports rather than writes: a name other
//! than the template's on an object the web template hides, a feeder audit's
//! `other_details`, a text's hyperlink, a quantity's property, a temporal value's accuracy
//! (a DV_DURATION), a multimedia's data, thumbnail and integrity check, party identifiers,
//! an INTERVAL_EVENT's `sample_count` where the event is dissolved into its entry, any value
//! type without a writer, and the content of an open archetype slot (an archetype the
//! template does not place there has no web template node, so no key). `|name` is not an
//! SDK suffix for locatables, so there is no `|name` override.

mod input;
mod output;
mod structured;
mod tree;

use std::collections::BTreeMap;

use openehr_rm::RmObject;
use serde_json::{Map, Value};

use crate::model::Template;

/// Built once per template (the server caches it next to the parsed template); holds the
/// web-template tree indexed for fast conversion.
#[derive(Debug, Clone)]
pub struct FlatFormat {
    template_id: String,
    default_language: String,
    tree: tree::Tree,
}

/// Values the caller supplies where neither the data nor `ctx/` gives one (the pure core
/// never reads the clock).
#[derive(Debug, Clone, Default)]
pub struct InputDefaults {
    /// ISO 8601 date-time, used for ctx/time, context/start_time, event time etc. when absent.
    pub time: Option<String>,
}

/// One fault of a FLAT or STRUCTURED document, or of a composition that cannot be written
/// as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FormatError {
    /// The FLAT key or STRUCTURED JSON path at fault.
    pub path: String,
    /// Lowercase, no trailing period.
    pub message: String,
}

impl FormatError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> FormatError {
        FormatError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl FlatFormat {
    pub fn new(template: &Template) -> FlatFormat {
        FlatFormat {
            template_id: template.template_id.clone(),
            default_language: template.language.clone(),
            tree: tree::Tree::new(template),
        }
    }

    pub fn template_id(&self) -> &str {
        &self.template_id
    }

    /// The id FLAT paths start with (the web template tree's id).
    pub fn root_id(&self) -> &str {
        self.tree.root_id()
    }

    pub fn to_canonical(
        &self,
        flat: &Map<String, Value>,
        defaults: &InputDefaults,
    ) -> Result<RmObject, Vec<FormatError>> {
        input::to_canonical(self, flat, defaults)
    }

    pub fn from_canonical(
        &self,
        composition: &RmObject,
    ) -> Result<Map<String, Value>, Vec<FormatError>> {
        output::from_canonical(self, composition)
    }

    pub fn structured_to_canonical(
        &self,
        structured: &Value,
        defaults: &InputDefaults,
    ) -> Result<RmObject, Vec<FormatError>> {
        let flat = structured::to_flat(structured).map_err(|error| vec![error])?;
        self.to_canonical(&flat, defaults)
    }

    pub fn structured_from_canonical(
        &self,
        composition: &RmObject,
    ) -> Result<Value, Vec<FormatError>> {
        let flat = self.from_canonical(composition)?;
        Ok(structured::from_flat(&flat))
    }
}

/// FLAT as STRUCTURED, without a template: the nesting follows the paths alone.
pub fn flat_to_structured(flat: &Map<String, Value>) -> Value {
    structured::from_flat(flat)
}

/// STRUCTURED as FLAT, without a template; every array member gets an index.
pub fn structured_to_flat(structured: &Value) -> Result<Map<String, Value>, FormatError> {
    structured::to_flat(structured)
}

/// Picks the text for `language` from localized texts, falling back to the template's
/// language and then to any.
pub(crate) fn localized<'a>(
    texts: &'a BTreeMap<String, String>,
    language: &str,
    default_language: &str,
) -> Option<&'a str> {
    texts
        .get(language)
        .or_else(|| texts.get(default_language))
        .or_else(|| texts.values().next())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_format_is_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<FlatFormat>();
    }
}
