//! The query API end to end (`/query/aql`, stored queries, explain, errors, limits): the real
//! router on a real store, each test on SQLite and (with `KITH_TEST_DATABASE_URL`) on
//! PostgreSQL. What queries answer is the corpus's business (`aql_corpus.rs`); this is how
//! they are asked and how the answers and refusals look.

#[macro_use]
mod support;

use axum::http::Method;
use serde_json::{Value, json};
use support::{BASE, Backend, TestApp};

api_tests!(
    adhoc_queries_by_get_and_post,
    paging_and_single_ehr_scope,
    whole_objects_are_canonical_json,
    stored_queries_run_by_name_and_version,
    each_kind_of_bad_query_is_a_400_naming_it_and_where,
    bad_requests_around_the_query,
    explain_shows_the_sql_and_the_plan,
    a_query_that_can_never_match_says_so,
);

const OBSERVATION: &str = "openEHR-EHR-OBSERVATION.minimal.v1";

fn query_url(query: &str) -> String {
    let mut url = format!("{BASE}/query/aql?q=");
    for byte in query.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

async fn post_query(app: &TestApp, body: Value) -> support::Answer {
    app.post_json(
        &format!("{BASE}/query/aql"),
        body.to_string().as_bytes(),
        &[],
    )
    .await
}

/// Three EHRs, the first two with a composition each.
async fn three_ehrs(app: &TestApp) -> Vec<String> {
    let mut ehrs = Vec::new();
    for index in 0..3 {
        let ehr_id = app.create_ehr().await;
        if index < 2 {
            app.create_composition(&ehr_id).await;
        }
        ehrs.push(ehr_id);
    }
    ehrs
}

fn sorted_ids(result: &Value) -> Vec<String> {
    let mut ids: Vec<String> = result["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row[0].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

async fn adhoc_queries_by_get_and_post(app: TestApp) {
    let ehrs = three_ehrs(&app).await;
    let query = format!(
        "SELECT e/ehr_id/value, o/name/value AS observation FROM EHR e CONTAINS OBSERVATION o[{OBSERVATION}]"
    );
    let answer = app.get(&query_url(&query)).await;
    answer.expect(200);
    let result = answer.json();
    assert_eq!(result["q"], query.as_str());
    assert_eq!(
        result["columns"],
        json!([
            {"name": "#0", "path": "e/ehr_id/value"},
            {"name": "observation", "path": "o/name/value"},
        ])
    );
    let meta = &result["meta"];
    assert_eq!(meta["_type"], "RESULTSET");
    assert_eq!(meta["resultsize"], 2);
    assert!(meta["_created"].is_string() && meta["_generator"].is_string());
    assert!(meta["_href"].as_str().unwrap().contains("/query/aql?q="));
    // Server-Timing: the database's share and the whole query, in milliseconds.
    let timing = answer
        .headers
        .get("server-timing")
        .expect("a Server-Timing header")
        .to_str()
        .expect("ascii");
    let duration = |name: &str| -> f64 {
        let entry = timing
            .split(", ")
            .find(|entry| entry.starts_with(&format!("{name};dur=")))
            .unwrap_or_else(|| panic!("{name} in {timing}"));
        entry[name.len() + 5..].parse().expect("a number")
    };
    assert!(
        duration("db") > 0.0 && duration("db") <= duration("aql"),
        "{timing}"
    );
    let mut expected = ehrs[..2].to_vec();
    expected.sort();
    assert_eq!(sorted_ids(&result), expected);

    // POST, with a parameter.
    let answer = post_query(
        &app,
        json!({
            "q": "SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_id/value = $id",
            "query_parameters": {"id": ehrs[2]},
        }),
    )
    .await;
    answer.expect(200);
    assert_eq!(sorted_ids(&answer.json()), vec![ehrs[2].clone()]);

    // GET, with the parameter in the URL (with or without its `$`).
    for name in ["id", "%24id"] {
        let url = format!(
            "{}&{name}={}",
            query_url("SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_id/value = $id"),
            ehrs[1]
        );
        let answer = app.get(&url).await;
        answer.expect(200);
        assert_eq!(sorted_ids(&answer.json()), vec![ehrs[1].clone()]);
    }
    // A URL value that reads as a number is one; quoted, it is a string.
    let url = format!(
        "{}&id=3",
        query_url("SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_id/value = $id")
    );
    assert_eq!(app.get(&url).await.error_code(), "aql_type_mismatch");
    let url = format!(
        "{}&id=%22{}%22",
        query_url("SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_id/value = $id"),
        ehrs[0]
    );
    assert_eq!(
        sorted_ids(&app.get(&url).await.json()),
        vec![ehrs[0].clone()]
    );
}

async fn paging_and_single_ehr_scope(app: TestApp) {
    let ehrs = three_ehrs(&app).await;
    let mut sorted = ehrs.clone();
    sorted.sort();
    let query = "SELECT e/ehr_id/value FROM EHR e ORDER BY e/ehr_id/value";
    let page = |offset: u64, fetch: u64| json!({"q": query, "offset": offset, "fetch": fetch});
    let answer = post_query(&app, page(1, 1)).await;
    answer.expect(200);
    let result = answer.json();
    assert_eq!(result["rows"], json!([[sorted[1]]]));
    assert_eq!(result["meta"]["offset"], 1);
    assert_eq!(result["meta"]["fetch"], 1);
    let answer = post_query(&app, page(2, 10)).await;
    assert_eq!(answer.json()["rows"], json!([[sorted[2]]]));
    let answer = post_query(&app, json!({"q": query, "offset": 1})).await;
    assert_eq!(answer.json()["rows"].as_array().unwrap().len(), 2);
    // The request's window is taken from the query's own LIMIT.
    let answer = post_query(
        &app,
        json!({"q": format!("{query} LIMIT 2"), "offset": 1, "fetch": 5}),
    )
    .await;
    assert_eq!(answer.json()["rows"], json!([[sorted[1]]]));
    // GET paging.
    let answer = app
        .get(&format!("{}&offset=2&fetch=1", query_url(query)))
        .await;
    assert_eq!(answer.json()["rows"], json!([[sorted[2]]]));

    // ehr_id (parameter, body or header) confines the query to one EHR.
    let answer = app
        .get(&format!("{}&ehr_id={}", query_url(query), ehrs[0]))
        .await;
    assert_eq!(answer.json()["rows"], json!([[ehrs[0]]]));
    let answer = post_query(&app, json!({"q": query, "ehr_id": ehrs[1]})).await;
    assert_eq!(answer.json()["rows"], json!([[ehrs[1]]]));
    let answer = app
        .post_json(
            &format!("{BASE}/query/aql"),
            json!({"q": query}).to_string().as_bytes(),
            &[("openehr-ehr-id", &ehrs[2])],
        )
        .await;
    assert_eq!(answer.json()["rows"], json!([[ehrs[2]]]));
    // Aggregates count only inside the scope.
    let answer = app
        .get(&format!(
            "{}&ehr_id={}",
            query_url("SELECT COUNT(*) AS n FROM EHR e CONTAINS COMPOSITION c"),
            ehrs[0]
        ))
        .await;
    assert_eq!(answer.json()["rows"], json!([[1]]));
    // A query the compiler does not cover is scoped the same way.
    let answer = app
        .get(&format!(
            "{}&ehr_id={}",
            query_url("SELECT e/ehr_id/value FROM EHR e CONTAINS COMPOSITION c WHERE LENGTH(c/name/value) > 0"),
            ehrs[1]
        ))
        .await;
    answer.expect(200);
    assert_eq!(answer.json()["rows"], json!([[ehrs[1]]]));
}

async fn whole_objects_are_canonical_json(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let uid = app.create_composition(&ehr_id).await;
    let object_id = uid.split("::").next().unwrap().to_owned();
    let stored = app
        .get(&format!("{BASE}/ehr/{ehr_id}/composition/{uid}"))
        .await
        .json();
    // Compiled (a composition variable) and evaluated (a function in WHERE) both give the
    // stored composition.
    for query in [
        "SELECT c FROM EHR e CONTAINS COMPOSITION c",
        "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE LENGTH(c/name/value) > 0",
    ] {
        let answer = app.get(&query_url(query)).await;
        answer.expect(200);
        let result = answer.json();
        assert_eq!(result["rows"][0][0], stored, "{query}");
        assert_eq!(result["columns"], json!([{"name": "#0", "path": "c"}]));
    }
    // An entry inside it, and the EHR_STATUS.
    let answer = app
        .get(&query_url(&format!(
            "SELECT o FROM EHR e CONTAINS OBSERVATION o[{OBSERVATION}]"
        )))
        .await;
    assert_eq!(answer.json()["rows"][0][0], stored["content"][0]);
    let answer = app
        .get(&query_url("SELECT s FROM EHR e CONTAINS EHR_STATUS s"))
        .await;
    answer.expect(200);
    assert_eq!(answer.json()["rows"][0][0]["_type"], "EHR_STATUS");
    // A version: its uid and its data.
    let answer = app
        .get(&query_url(
            "SELECT v/uid/value, v/data/name/value FROM EHR e CONTAINS VERSION v CONTAINS COMPOSITION c",
        ))
        .await;
    answer.expect(200);
    assert_eq!(
        answer.json()["rows"],
        json!([[format!("{object_id}::{}::1", support::SYSTEM_ID), "Minimal"]])
    );
}

async fn stored_queries_run_by_name_and_version(app: TestApp) {
    let ehrs = three_ehrs(&app).await;
    let definition = format!("{BASE}/definition/query/org.example::one_ehr");
    for (version, text) in [
        (
            "1.0.0",
            "SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_id/value = $id",
        ),
        (
            "1.1.0",
            "SELECT e/ehr_id/value, c/name/value FROM EHR e[ehr_id/value=$id] CONTAINS COMPOSITION c",
        ),
    ] {
        app.call(
            Method::PUT,
            &format!("{definition}/{version}"),
            &[("content-type", "text/plain")],
            text.as_bytes().to_vec(),
        )
        .await
        .expect(200);
    }
    // Latest version by GET, parameters in the URL.
    let answer = app
        .get(&format!("{BASE}/query/org.example::one_ehr?id={}", ehrs[0]))
        .await;
    answer.expect(200);
    let result = answer.json();
    assert_eq!(result["name"], "org.example::one_ehr");
    assert_eq!(result["rows"], json!([[ehrs[0], "Minimal"]]));
    // A named version (or a prefix of one) by POST.
    for version in ["1.0.0", "1.0"] {
        let answer = app
            .post_json(
                &format!("{BASE}/query/org.example::one_ehr/{version}"),
                json!({"offset": 0, "fetch": 10, "query_parameters": {"id": ehrs[2]}})
                    .to_string()
                    .as_bytes(),
                &[],
            )
            .await;
        answer.expect(200);
        assert_eq!(answer.json()["rows"], json!([[ehrs[2]]]));
    }
    // A stored query POSTed without a body runs without parameters (and so says which one
    // is missing).
    let answer = app
        .call(
            Method::POST,
            &format!("{BASE}/query/org.example::one_ehr"),
            &[],
            Vec::new(),
        )
        .await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "aql_missing_parameter");
    // Unknown names and versions.
    app.get(&format!("{BASE}/query/org.example::nothing"))
        .await
        .expect(404);
    app.get(&format!(
        "{BASE}/query/org.example::one_ehr/2.0.0?id={}",
        ehrs[0]
    ))
    .await
    .expect(404);
    // A query that does not parse or check is not stored; a missing parameter is fine.
    let answer = app
        .call(
            Method::PUT,
            &format!("{definition}/3.0.0"),
            &[("content-type", "text/plain")],
            b"SELECT c/nmae FROM COMPOSITION c".to_vec(),
        )
        .await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "aql_unknown_attribute");
    let answer = app
        .call(
            Method::PUT,
            &format!("{definition}/3.0.0"),
            &[("content-type", "text/plain")],
            b"SELECT c FROM COMPOSITION c WHER".to_vec(),
        )
        .await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "aql_syntax_error");
    app.get(&format!("{definition}/3.0.0")).await.expect(404);
}

async fn each_kind_of_bad_query_is_a_400_naming_it_and_where(app: TestApp) {
    for (query, parameters, code, line, column) in [
        (
            "SELECT c/name/value\nFROM EHR e CONTAINS COMPOSITION c\nWHER c/name/value = 'x'",
            json!({}),
            "aql_syntax_error",
            3,
            1,
        ),
        (
            "SELECT x/name/value FROM EHR e CONTAINS COMPOSITION c",
            json!({}),
            "aql_unknown_variable",
            1,
            8,
        ),
        (
            "SELECT c/nmae/value FROM EHR e CONTAINS COMPOSITION c",
            json!({}),
            "aql_unknown_attribute",
            1,
            10,
        ),
        (
            "SELECT c FROM EHR e CONTAINS COMPOSTION c",
            json!({}),
            "aql_unknown_class",
            1,
            30,
        ),
        (
            "SELECT c FROM EHR e[ehr_id/value=$id] CONTAINS COMPOSITION c",
            json!({}),
            "aql_missing_parameter",
            1,
            34,
        ),
        (
            "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/context/start_time/value > $since",
            json!({"since": "yesterday"}),
            "aql_type_mismatch",
            1,
            79,
        ),
        (
            "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/context = 1",
            json!({}),
            "aql_object_comparison",
            1,
            50,
        ),
    ] {
        let answer = post_query(&app, json!({"q": query, "query_parameters": parameters})).await;
        answer.expect(400);
        let body = answer.json();
        assert_eq!(body["error"], code, "{query}: {body}");
        let detail = &body["details"][0];
        assert_eq!(
            (detail["line"].as_u64(), detail["column"].as_u64()),
            (Some(line), Some(column)),
            "{query}: {body}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("line {line}, column {column}: ")),
            "{body}"
        );
    }
    // A syntax error says what was expected and what was found.
    let answer = post_query(
        &app,
        json!({"q": "SELECT c FROM EHR e CONTAINS COMPOSITION c WHER"}),
    )
    .await;
    let detail = answer.json()["details"][0].clone();
    assert_eq!(detail["found"], "WHER");
    assert!(
        detail["expected"]
            .as_array()
            .unwrap()
            .contains(&json!("WHERE"))
    );
    assert!(detail["hint"].as_str().unwrap().contains("WHERE"));
}

async fn bad_requests_around_the_query(app: TestApp) {
    let url = format!("{BASE}/query/aql");
    type Case<'a> = (Vec<u8>, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (b"{".to_vec(), vec![], 400, "malformed_body"),
        (b"[]".to_vec(), vec![], 400, "malformed_body"),
        (
            br#"{"fetch": 1}"#.to_vec(),
            vec![],
            400,
            "invalid_parameter",
        ),
        (br#"{"q": 5}"#.to_vec(), vec![], 400, "invalid_parameter"),
        (
            br#"{"q": "SELECT e FROM EHR e", "offset": -1}"#.to_vec(),
            vec![],
            400,
            "invalid_parameter",
        ),
        (
            br#"{"q": "SELECT e FROM EHR e", "query_parameters": [1]}"#.to_vec(),
            vec![],
            400,
            "invalid_parameter",
        ),
        (
            br#"{"q": "SELECT TOP 5 e/ehr_id/value FROM EHR e", "fetch": 2}"#.to_vec(),
            vec![],
            400,
            "invalid_parameter",
        ),
        (
            br#"{"q": "SELECT e FROM EHR e", "ehr_id": "not-a-uuid"}"#.to_vec(),
            vec![],
            400,
            "invalid_parameter",
        ),
        (
            br#"{"q": "SELECT e FROM EHR e"}"#.to_vec(),
            vec![("openehr-ehr-id", "nope")],
            400,
            "invalid_header",
        ),
    ];
    for (body, headers, status, code) in cases {
        let answer = app.post_json(&url, &body, &headers).await;
        answer.expect(status);
        assert_eq!(
            answer.error_code(),
            code,
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    // The wrong content type, a missing q, a result format Kith does not write.
    let answer = app
        .call(
            Method::POST,
            &url,
            &[("content-type", "text/plain")],
            b"SELECT e FROM EHR e".to_vec(),
        )
        .await;
    answer.expect(415);
    app.get(&url).await.expect(400);
    let answer = app
        .call(
            Method::GET,
            &query_url("SELECT e/ehr_id/value FROM EHR e"),
            &[("accept", "application/xml")],
            Vec::new(),
        )
        .await;
    answer.expect(406);
    // Without a token, nothing.
    let answer = app
        .send(
            axum::http::Request::builder()
                .uri(query_url("SELECT e/ehr_id/value FROM EHR e"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    answer.expect(401);
}

async fn explain_shows_the_sql_and_the_plan(app: TestApp) {
    let answer = app
        .get(&format!(
            "{}&explain=true",
            query_url(&format!(
                "SELECT o/name/value FROM EHR e CONTAINS OBSERVATION o[{OBSERVATION}]"
            ))
        ))
        .await;
    answer.expect(200);
    let plan = answer.json();
    assert_eq!(plan["strategy"], "sql");
    assert!(plan["sql"].as_str().unwrap().contains("query_node"));
    assert_eq!(plan["parameters"][0], OBSERVATION);
    assert!(!plan["plan"].as_array().unwrap().is_empty(), "{plan}");
    // People named by their subject id are found through its index (SQLite's planner uses
    // it on any size; PostgreSQL's prefers a scan of a table this small).
    let answer = app
        .get(&format!(
            "{}&explain=true",
            query_url("SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_status/subject/external_ref/id/value MATCHES {'9990000001', '9990000002'}")
        ))
        .await;
    answer.expect(200);
    let plan = answer.json();
    assert_eq!(plan["strategy"], "sql", "{plan}");
    if plan["sql"].as_str().unwrap().contains("?1") {
        assert!(
            plan["plan"].to_string().contains("ehr_subject_id"),
            "{plan}"
        );
    }
    // A query answered from the documents says why, and shows how the EHRs are found.
    let answer = app
        .post_json(
            &format!("{BASE}/query/aql?explain=true"),
            json!({"q": "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE LENGTH(c/name/value) > 2"})
                .to_string()
                .as_bytes(),
            &[],
        )
        .await;
    answer.expect(200);
    let plan = answer.json();
    assert_eq!(plan["strategy"], "evaluation");
    assert!(plan["reason"].is_string());
    assert!(
        plan["sql"]
            .as_str()
            .unwrap()
            .starts_with("SELECT e.ehr_id FROM ehr e")
    );
}

async fn a_query_that_can_never_match_says_so(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    app.create_composition(&ehr_id).await;
    let answer = app
        .get(&query_url(
            "SELECT o FROM EHR e CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.blood_pressure.v2]",
        ))
        .await;
    answer.expect(200);
    let result = answer.json();
    assert_eq!(result["rows"], json!([]));
    let warnings = result["meta"]["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{result}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("no uploaded template uses openEHR-EHR-OBSERVATION.blood_pressure.v2"),
        "{result}"
    );
    // A node id the archetype does not have in any template.
    let query = format!(
        "SELECT o FROM EHR e CONTAINS OBSERVATION o[{OBSERVATION}] WHERE o/data[at0001]/events[at0099]/time/value > '2020-01-01'"
    );
    let result = app.get(&query_url(&query)).await.json();
    assert_eq!(
        result["meta"]["warnings"],
        json!([format!(
            "o/data[at0001]/events[at0099]/time/value does not exist in {OBSERVATION} in any uploaded template, so it yields nothing"
        )]),
        "{result}"
    );
    // An archetype a template uses, or one under OR or NOT, is no reason to warn.
    for query in [
        format!(
            "SELECT o FROM EHR e CONTAINS OBSERVATION o[{OBSERVATION}] WHERE o/name/value = 'nothing'"
        ),
        "SELECT c FROM EHR e CONTAINS COMPOSITION c NOT CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.blood_pressure.v2]".to_owned(),
    ] {
        let result = app.get(&query_url(&query)).await.json();
        assert!(
            result["meta"]["warnings"].is_null(),
            "{query}: {result}"
        );
    }
}

/// A query the compiler does not cover reads documents, so the EHRs it may read are capped;
/// naming an EHR keeps it under the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluation_is_capped_and_queries_time_out() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) =
            TestApp::with_config(backend, |config| config.aql_evaluation_limit = 1).await
        else {
            continue;
        };
        let ehrs = three_ehrs(&app).await;
        let query =
            "SELECT c/name/value FROM EHR e CONTAINS COMPOSITION c WHERE LENGTH(c/name/value) > 2";
        let answer = app.get(&query_url(query)).await;
        answer.expect(400);
        assert_eq!(answer.error_code(), "query_too_broad");
        let answer = app
            .get(&format!("{}&ehr_id={}", query_url(query), ehrs[0]))
            .await;
        answer.expect(200);
        assert_eq!(answer.json()["rows"], json!([["Minimal"]]));
        // Compiled queries are not capped.
        app.get(&query_url(
            "SELECT c/name/value FROM EHR e CONTAINS COMPOSITION c",
        ))
        .await
        .expect(200);

        // Reading the documents of thirty EHRs takes well over a millisecond.
        let Some(app) = TestApp::with_config(backend, |config| {
            config.query_timeout = std::time::Duration::from_millis(1);
        })
        .await
        else {
            continue;
        };
        for _ in 0..10 {
            three_ehrs(&app).await;
        }
        let answer = app.get(&query_url(query)).await;
        answer.expect(408);
        assert_eq!(answer.error_code(), "query_timeout");
    }
}
