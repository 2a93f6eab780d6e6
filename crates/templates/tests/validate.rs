//! Validating every shared example composition against its template.

use templates::validate::{Violation, validate};

mod support;
use support::{CANONICAL_EXAMPLES, read};

fn violations(template: &str, composition: &str) -> Vec<Violation> {
    let template = templates::opt::parse(&read("templates", template))
        .unwrap_or_else(|error| panic!("{template}: {error}"));
    let composition =
        openehr_rm::json::from_slice(&read("compositions", composition), "COMPOSITION")
            .unwrap_or_else(|error| panic!("{composition}: {error}"));
    validate(&template, &composition)
}

fn check(template: &str, composition: &str, expected: &[(&str, &str)]) {
    let found: Vec<(String, String)> = violations(template, composition)
        .into_iter()
        .map(|violation| (violation.path, violation.message))
        .collect();
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(path, message)| ((*path).to_owned(), (*message).to_owned()))
        .collect();
    assert_eq!(found, expected, "{composition}");
}

#[test]
fn valid_examples_have_no_violations() {
    for (template, composition) in CANONICAL_EXAMPLES {
        check(template, composition, &[]);
    }
}

/// The all-types example was written as a smoke test for an older server and breaks four
/// rules; each is real:
/// - RM Data Types, DV_CODED_TEXT: "a text item whose value must be the rubric from a
///   controlled terminology, the key of which is the defining_code"; `value1` is not the
///   rubric of local code at0006 ("coded text terminology") in the template.
/// - RM Data Types, DV_URI: the value is a URI per RFC 3986, whose grammar starts with a
///   scheme (`URI = scheme ":" hier-part ...`); `www.iana.org` has none.
/// - RM Data Structures, ELEMENT invariant `Inv_null_flavour_indicated`
///   (`is_null() xor null_flavour = Void`): the element `uri` has neither a value nor a null
///   flavour.
/// - ADL 1.4 (C_DATE patterns): in `yyyy-??-XX` the day is not allowed, and `20190114`
///   (compact ISO 8601 for 2019-01-14) has one.
#[test]
fn all_types_example_breaks_four_rules() {
    let observation = "/content[openEHR-EHR-OBSERVATION.test_all_types.v1]/data[at0001]/events[at0002]/data[at0003]";
    check(
        "Test_all_types.opt",
        "all_types_systematic_tests.canonical.json",
        &[
            (
                &format!("{observation}/items[at0005]/value/value"),
                "\"value1\" is not the text of local code at0006 (\"coded text terminology\")",
            ),
            (
                &format!("{observation}/items[at0019]/value/uri/value"),
                "\"www.iana.org\" is not a valid uri",
            ),
            (
                "/content[openEHR-EHR-EVALUATION.test_all_types.v1]/data[at0001]/items[at0002]",
                "an element must have a value or a null flavour",
            ),
            (
                "/content[openEHR-EHR-SECTION.test_all_types.v1]/items[at0001]/items[at0002]/items[openEHR-EHR-INSTRUCTION.test_all_types.v1]/activities[at0001]/description[at0002]/items[at0003]/value/value",
                "\"20190114\" does not match the pattern yyyy-??-XX",
            ),
        ],
    );
}
