//! The parser's data-driven tests.
//!
//! `tests/data/parser/ok/*.aql` must parse; next to each, `*.ast` holds its canonical AQL and
//! its tree dump. `tests/data/parser/err/*.aql` must not parse; `*.err` holds the error as a
//! user sees it. Run with `UPDATE_EXPECT=1` to rewrite the expectations after a deliberate
//! change, then review the diff. The same corpus feeds the round-trip property and the fuzz.

use std::fs;
use std::path::{Path, PathBuf};

fn data_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/parser")
        .join(kind)
}

/// The `.aql` files of a corpus directory, sorted, with their text.
fn corpus(kind: &str) -> Vec<(PathBuf, String)> {
    let mut files: Vec<PathBuf> = fs::read_dir(data_dir(kind))
        .expect("corpus directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "aql"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).expect("corpus file");
            (path, text)
        })
        .collect()
}

/// What the parser makes of `input`: canonical AQL and tree dump, or the rendered error.
fn parse_result(input: &str) -> String {
    match aql::parse(input) {
        Ok(query) => format!("{query}\n---\n{}", aql::debug_tree(&query)),
        Err(error) => format!("{}\n", error.render(input)),
    }
}

/// Compares what the parser makes of `input` with the file `expect`, or rewrites the file when
/// `UPDATE_EXPECT` is set. Returns a description of the mismatch, if any.
fn check(input: &str, expect: &Path) -> Option<String> {
    let actual = parse_result(input);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        fs::write(expect, &actual).expect("write expectation");
        return None;
    }
    let expected = fs::read_to_string(expect).unwrap_or_default();
    (expected != actual).then(|| {
        format!(
            "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
            expect.display()
        )
    })
}

fn check_corpus(kind: &str, extension: &str, must_parse: bool) -> usize {
    let files = corpus(kind);
    let mut failures = Vec::new();
    for (path, input) in &files {
        if aql::parse(input).is_ok() != must_parse {
            failures.push(format!(
                "{}: {}",
                path.display(),
                if must_parse {
                    "does not parse"
                } else {
                    "parses"
                }
            ));
        }
        if let Some(mismatch) = check(input, &path.with_extension(extension)) {
            failures.push(mismatch);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files differ (UPDATE_EXPECT=1 rewrites them):\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    files.len()
}

#[test]
fn valid_queries() {
    let count = check_corpus("ok", "ast", true);
    assert!(count >= 80, "only {count} valid queries in the corpus");
}

#[test]
fn malformed_queries() {
    let count = check_corpus("err", "err", false);
    assert!(count >= 25, "only {count} malformed queries in the corpus");
}

/// Every expectation file belongs to a query, so a renamed query leaves nothing stale behind.
#[test]
fn no_orphan_expectations() {
    for (kind, extension) in [("ok", "ast"), ("err", "err")] {
        for entry in fs::read_dir(data_dir(kind)).expect("corpus directory") {
            let path = entry.expect("directory entry").path();
            let name = path.display();
            match path.extension().and_then(|extension| extension.to_str()) {
                Some("aql") => {}
                Some(found) if found == extension => {
                    assert!(path.with_extension("aql").exists(), "{name} has no query");
                }
                _ => panic!("{name} does not belong in the {kind} corpus"),
            }
        }
    }
}

/// parse → print → parse gives the same tree, and printing is stable.
#[test]
fn printing_round_trips() {
    for (path, input) in corpus("ok") {
        let query = aql::parse(&input).expect("corpus query parses");
        let printed = query.to_string();
        let reparsed = aql::parse(&printed).unwrap_or_else(|error| {
            panic!(
                "{}: the printed query does not parse: {error}\n{printed}",
                path.display()
            )
        });
        assert!(
            reparsed == query,
            "{}: printed as\n{printed}\nparsed first as\n{}\nthen as\n{}",
            path.display(),
            aql::debug_tree(&query),
            aql::debug_tree(&reparsed)
        );
        assert_eq!(reparsed.to_string(), printed, "{}", path.display());
    }
}

/// A small deterministic generator (SplitMix64), so the fuzz needs no dependency and every run
/// tries the same inputs.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// Pieces of AQL that make mutations likely to reach deep into the grammar.
const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "'",
    "\"",
    "\\",
    "/",
    ",",
    "$",
    "$p",
    "--",
    "\n",
    " ",
    "=",
    "!=",
    "<=",
    ">",
    "*",
    "-",
    ".",
    "::",
    "|",
    ";",
    "SELECT",
    "FROM",
    "WHERE",
    "CONTAINS",
    "NOT",
    "AND",
    "OR",
    "XOR",
    "EXISTS",
    "LIKE",
    "MATCHES",
    "ORDER BY",
    "LIMIT",
    "OFFSET",
    "TOP",
    "DISTINCT",
    "AS",
    "VERSION",
    "LATEST_VERSION",
    "ALL_VERSIONS",
    "COUNT(*)",
    "NULL",
    "true",
    "1",
    "-2.5",
    "1e999",
    "99999999999999999999",
    "at0001",
    "id3",
    "é",
    "\u{FEFF}",
    "openEHR-EHR-OBSERVATION.bp.v2",
    "SNOMED-CT::1234",
    "TERMINOLOGY(",
    "LENGTH(",
    "{/a/}",
    "terminology://x/y?z=1",
    "c/name/value",
    "'x'",
];

fn mutate(random: &mut Random, input: &str) -> String {
    let mut bytes = input.as_bytes().to_vec();
    for _ in 0..=random.below(3) {
        let at = random.below(bytes.len() + 1);
        match random.below(6) {
            0 if !bytes.is_empty() => {
                let end = (at + 1 + random.below(8)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 => {
                let fragment = FRAGMENTS[random.below(FRAGMENTS.len())];
                bytes.splice(at..at, fragment.bytes());
            }
            2 => bytes.insert(at, random.next() as u8),
            3 if !bytes.is_empty() => {
                let from = random.below(bytes.len());
                let end = (from + 1 + random.below(20)).min(bytes.len());
                let copy = bytes[from..end].to_vec();
                bytes.splice(at..at, copy);
            }
            4 if at < bytes.len() => bytes[at] = random.next() as u8,
            _ => bytes.truncate(at),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Mutated corpus queries never panic; errors point inside the text; whatever still parses
/// round-trips through the printer.
#[test]
fn mutations_never_panic() {
    let mut random = Random(0x00A9_1E55);
    let inputs: Vec<String> = corpus("ok")
        .into_iter()
        .chain(corpus("err"))
        .map(|(_, text)| text)
        .collect();
    let mut parsed = 0;
    for round in 0..20_000 {
        let input = mutate(&mut random, &inputs[round % inputs.len()]);
        match aql::parse(&input) {
            Ok(query) => {
                parsed += 1;
                let printed = query.to_string();
                let reparsed = aql::parse(&printed)
                    .unwrap_or_else(|error| panic!("{input:?} printed as {printed:?}: {error}"));
                assert!(
                    reparsed == query,
                    "{input:?} printed as {printed:?}\nparsed first as\n{}\nthen as\n{}",
                    aql::debug_tree(&query),
                    aql::debug_tree(&reparsed)
                );
            }
            Err(error) => {
                assert!(error.span.start <= error.span.end && error.span.end <= input.len());
                assert!(
                    input.is_char_boundary(error.span.start),
                    "{input:?}: {error}"
                );
                let line_count = input.split('\n').count() as u32;
                assert!(
                    error.line >= 1 && error.line <= line_count,
                    "{input:?}: {error}"
                );
                assert!(error.column >= 1, "{input:?}: {error}");
                assert!(!error.message.is_empty() && !error.found.is_empty());
                let _ = error.render(&input);
            }
        }
    }
    // the mutations must not all be fatal, or the round trip above tests nothing
    assert!(parsed > 1_000, "only {parsed} mutated queries parsed");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for (open, close) in [("(", ")"), ("NOT ", ""), ("LENGTH(", ")")] {
        let depth = 10_000;
        let input = format!(
            "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE {}LENGTH(c/name/value) > 1{}",
            open.repeat(depth),
            close.repeat(depth)
        );
        let error = aql::parse(&input).expect_err("too deep");
        assert!(error.message.contains("nested too deeply"), "{error}");
    }
    let contains_chain = format!("SELECT c FROM EHR e{}", " CONTAINS CLUSTER x".repeat(5_000));
    assert!(aql::parse(&contains_chain).is_err());
    let predicates = format!("SELECT c{} FROM EHR e", "[name/value=a".repeat(5_000));
    assert!(aql::parse(&predicates).is_err());
}

#[test]
fn spans_give_lines_and_columns_in_characters() {
    let input = "SELECT c/name/value\nFROM EHR e CONTAINS COMPOSITION c\nWHERE c/name/value = 'é' AND c/uid/value = $uid";
    let query = aql::parse(input).expect("parses");
    let Some(aql::ast::Condition::And { operands, .. }) = &query.where_clause else {
        panic!("expected AND");
    };
    let aql::ast::Condition::Comparison { right, .. } = &operands[1] else {
        panic!("expected a comparison");
    };
    let span = right.span();
    assert_eq!(&input[span.start..span.end], "$uid");
    assert_eq!((span.line, span.column), (3, 44));
}

#[test]
fn errors_carry_what_was_expected() {
    let error = aql::parse("SELECT c\nFROM EHR e CONTAINS COMPOSITION c\nWHER c/name/value = 'x'")
        .expect_err("misspelt WHERE");
    assert_eq!((error.line, error.column), (3, 1));
    assert_eq!(error.found, "WHER");
    for wanted in ["CONTAINS", "WHERE", "ORDER BY", "LIMIT", "end of query"] {
        assert!(error.expected.iter().any(|item| item == wanted), "{error}");
    }
    assert_eq!(error.hint.as_deref(), Some("did you mean WHERE?"));
}
