//! What the integration tests of this crate share: reading test data, and which shared
//! canonical example belongs to which template.

pub fn read(folder: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../testdata/{folder}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// (template, composition) of every shared canonical JSON example that conforms to its
/// template (the all-types one as mended, see testdata/NOTICE.md).
pub const CANONICAL_EXAMPLES: &[(&str, &str)] = &[
    ("minimal_action2.opt", "minimal_action2_1.canonical.json"),
    (
        "minimal_evaluation.opt",
        "minimal_evaluation.canonical.json",
    ),
    (
        "minimal_instruction.opt",
        "minimal_instruction.canonical.json",
    ),
    (
        "minimal_observation.opt",
        "minimal_observation.canonical.json",
    ),
    (
        "persistent_minimal.opt",
        "minimal_persistent.canonical.json",
    ),
    (
        "persistent_minimal.opt",
        "persistent_minimal.en.v1__full.canonical.json",
    ),
    (
        "ehrbase_multi_occurrence.de.opt",
        "multi_occurrence.canonical.json",
    ),
    ("nested.en.v1.opt", "nested.en.v1.canonical.json"),
    (
        "Test_all_types.opt",
        "all_types_systematic_tests.valid.canonical.json",
    ),
];
