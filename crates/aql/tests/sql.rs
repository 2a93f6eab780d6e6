//! Snapshots of the SQL each query in `tests/data/sql` compiles to, for both dialects, or of
//! the reason it is not compiled. `UPDATE_EXPECT=1 cargo test -p aql --test sql` rewrites
//! the `.sql` files; review the diff before committing it.

use std::path::{Path, PathBuf};

use aql::sql::{Dialect, RowFilter, SqlParam, compile};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sql")
}

/// The parameters named on the query's first line (`-- params: {...}`).
fn parameters(source: &str) -> serde_json::Map<String, serde_json::Value> {
    source
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("-- params:"))
        .map(|json| serde_json::from_str(json.trim()).expect("params are JSON"))
        .unwrap_or_default()
}

fn render(source: &str, dialect: Dialect, filter: &RowFilter) -> String {
    let query = aql::parse(source).expect("parses");
    let checked = aql::check::check(&query, &parameters(source)).expect("checks");
    match compile(&checked, dialect, filter) {
        Ok(compiled) => {
            let params: Vec<String> = compiled
                .params
                .iter()
                .enumerate()
                .map(|(index, param)| {
                    let value = match param {
                        SqlParam::Text(text) => format!("'{text}'"),
                        SqlParam::Integer(number) => number.to_string(),
                        SqlParam::Real(number) => format!("{number:?}"),
                        SqlParam::Uuid(bytes) => format!(
                            "uuid {}",
                            bytes
                                .iter()
                                .map(|byte| format!("{byte:02x}"))
                                .collect::<String>()
                        ),
                        SqlParam::UuidList(ids) => format!("{} uuids", ids.len()),
                    };
                    format!("-- {}: {value}", index + 1)
                })
                .collect();
            format!(
                "{}\n{}\n-- cells: {:?}\n",
                compiled.text,
                params.join("\n"),
                compiled.cells
            )
        }
        Err(reason) => format!("-- not compiled: {}\n", reason.0),
    }
}

/// Compares `actual` with the file, or writes it under `UPDATE_EXPECT=1`.
fn check(file: &Path, actual: &str) -> Option<String> {
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(file, actual).expect("writes the expectation");
        return None;
    }
    let expected = std::fs::read_to_string(file).unwrap_or_default();
    (expected != actual).then(|| {
        format!(
            "{} differs:\n--- expected\n{expected}\n--- actual\n{actual}",
            file.display()
        )
    })
}

#[test]
fn queries_compile_to_the_expected_sql() {
    let mut queries: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("reads the data dir")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "aql"))
        .collect();
    queries.sort();
    assert!(queries.len() >= 10, "the corpus is there");
    let mut failures = Vec::new();
    for query in &queries {
        let source = std::fs::read_to_string(query).expect("reads the query");
        for (dialect, suffix) in [
            (Dialect::Sqlite, "sqlite.sql"),
            (Dialect::Postgres, "postgres.sql"),
        ] {
            let actual = render(&source, dialect, &RowFilter::all());
            failures.extend(check(&query.with_extension(suffix), &actual));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_row_filter_is_inside_the_statement_before_paging_and_aggregates() {
    let source = std::fs::read_to_string(data_dir().join("population_count.aql")).expect("reads");
    let filter = RowFilter::ehrs(vec![[7; 16], [9; 16]]);
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let sql = render(&source, dialect, &filter);
        let filter_at = sql.find("v0.ehr_id IN (").expect("the filter is there");
        let select_count = sql.find("COUNT(").expect("the count is there");
        let from = sql.find("\nFROM").expect("a FROM");
        // The count is over the rows the WHERE clause (with the filter) leaves.
        assert!(select_count < from && from < filter_at, "{sql}");
        assert!(sql.contains("uuid 0707"), "{sql}");
    }
    let nobody = RowFilter::ehrs(Vec::new());
    let sql = render(&source, Dialect::Sqlite, &nobody);
    assert!(sql.contains("v0.ehr_id IN (NULL)"), "{sql}");
}

#[test]
fn known_path_ids_are_written_in_and_unknown_ones_looked_up() {
    let source =
        std::fs::read_to_string(data_dir().join("corpus_issue_patient_blood_pressures.aql"))
            .expect("reads");
    let query = aql::parse(&source).expect("parses");
    let checked = aql::check::check(&query, &parameters(&source)).expect("checks");
    let first = compile(&checked, Dialect::Postgres, &RowFilter::all()).expect("compiles");
    assert_eq!(
        first.path_keys,
        [
            "openEHR-EHR-COMPOSITION.encounter.v1",
            "openEHR-EHR-OBSERVATION.blood_pressure.v2",
            "openEHR-EHR-COMPOSITION.encounter.v1/context/start_time",
            "openEHR-EHR-OBSERVATION.blood_pressure.v2/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value",
            "openEHR-EHR-OBSERVATION.blood_pressure.v2/data[at0001]/events[at0006]/data[at0003]/items[at0005]/value",
        ]
    );
    // Every key but the diastolic's is known.
    let ids: aql::sql::PathIds = first.path_keys[..4]
        .iter()
        .enumerate()
        .map(|(index, key)| (key.clone(), 100 + index as i64))
        .collect();
    let second = aql::sql::compile_with_paths(&checked, Dialect::Postgres, &RowFilter::all(), &ids)
        .expect("compiles");
    let text = &second.text;
    for expected in [
        "v1.archetype_path_id = 100",
        "v2.archetype_path_id = 101",
        "s0.path_id = 102",
        "s1.path_id = 103",
        "s2.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = $",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    // Every placeholder of the statement is bound, and no parameter is left unused.
    for number in 1..=second.params.len() {
        assert!(
            text.contains(&format!("${number}::")),
            "${number} in {text}"
        );
    }
    assert!(!text.contains(&format!("${}::", second.params.len() + 1)));
}
