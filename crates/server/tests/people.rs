//! Kith's own API for people, organisations, care relationships and consent directives,
//! end to end on the real router and store (SQLite, and PostgreSQL when
//! `KITH_TEST_DATABASE_URL` is set).

#[macro_use]
mod support;

use axum::http::Method;
use serde_json::{Value, json};
use support::{BASE, TestApp};

api_tests!(
    register_find_read_and_update_a_person,
    registration_refuses_bad_people_with_their_paths,
    registration_links_the_ehr_by_nhs_number,
    merging_two_people_says_what_moved,
    organisations_and_relationships,
    consent_directives_are_versioned_and_exported_as_fhir,
);

const PEOPLE: &str = "/api/v1/people";

async fn register(app: &TestApp, body: Value) -> Value {
    let answer = app
        .post_json(PEOPLE, body.to_string().as_bytes(), &[])
        .await;
    answer.expect(201);
    answer.json()
}

async fn put_json(
    app: &TestApp,
    uri: &str,
    body: Value,
    extra: &[(&str, &str)],
) -> support::Answer {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(extra);
    app.call(Method::PUT, uri, &headers, body.to_string().into_bytes())
        .await
}

fn ann() -> Value {
    json!({
        "nhs_number": "943 476 5919",
        "identifiers": [{"system": "https://hospital.example/mrn", "value": "H123"}],
        "name": {"family": "Smith", "given": ["Ann", "Marie"], "prefix": "Mrs"},
        "birth_date": "1950-03-04",
        "gender": "female",
        "telecom": [{"system": "phone", "value": "01234 567890"}]
    })
}

async fn register_find_read_and_update_a_person(app: TestApp) {
    let person = register(&app, ann()).await;
    let id = person["id"].as_str().unwrap().to_owned();
    assert_eq!(
        person["nhs_number"], "9434765919",
        "stored without its spaces"
    );
    assert_eq!(person["version"], 1);
    assert_eq!(
        person["identifiers"],
        json!([
            {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"},
            {"system": "https://hospital.example/mrn", "value": "H123"}
        ])
    );
    assert_eq!(person["name"]["given"], json!(["Ann", "Marie"]));
    assert_eq!(person["telecom"][0]["value"], "01234 567890");

    // Found by NHS number (in any accepted spelling), identifier, name and birth date.
    for query in [
        "nhs_number=9434765919",
        "nhs_number=943-476-5919",
        "identifier=https://hospital.example/mrn|H123",
        "family=SMITH&birth_date=1950-03-04",
        "family=smith&given=an",
        "birth_date=1950-03-04",
    ] {
        let answer = app.get(&format!("{PEOPLE}?{query}")).await;
        answer.expect(200);
        let people = answer.json()["people"].as_array().unwrap().clone();
        assert_eq!(people.len(), 1, "{query}");
        assert_eq!(people[0]["id"], id.as_str(), "{query}");
    }
    for query in ["family=smith&given=marie", "nhs_number=9000000009"] {
        let answer = app.get(&format!("{PEOPLE}?{query}")).await;
        answer.expect(200);
        assert_eq!(answer.json()["people"], json!([]), "{query}");
    }
    for (query, code) in [
        ("nhs_number=9434765918", "invalid_parameter"),
        ("identifier=nobar", "invalid_parameter"),
        ("given=ann", "invalid_parameter"),
        ("unknown=1", "invalid_parameter"),
    ] {
        let answer = app.get(&format!("{PEOPLE}?{query}")).await;
        answer.expect(400);
        assert_eq!(answer.error_code(), code, "{query}");
    }

    let read = app.get(&format!("{PEOPLE}/{id}")).await;
    read.expect(200);
    assert_eq!(read.etag(), "1");
    assert_eq!(read.json(), person);
    app.get(&format!("{PEOPLE}/{}", uuid::Uuid::new_v4()))
        .await
        .expect(404);
    app.get(&format!("{PEOPLE}/not-a-uuid")).await.expect(400);

    let mut changed = ann();
    changed["name"]["family"] = json!("Jones");
    changed["identifiers"] = json!([]);
    let uri = format!("{PEOPLE}/{id}");
    // Without If-Match, with a stale one, and changing the NHS number: refused.
    let unconditional = put_json(&app, &uri, changed.clone(), &[]).await;
    unconditional.expect(400);
    assert_eq!(unconditional.error_code(), "if_match_required");
    put_json(&app, &uri, changed.clone(), &[("if-match", "\"7\"")])
        .await
        .expect(412);
    let mut other_number = changed.clone();
    other_number["nhs_number"] = json!("9000000009");
    put_json(&app, &uri, other_number, &[("if-match", "\"1\"")])
        .await
        .expect(400);
    let updated = put_json(&app, &uri, changed, &[("if-match", "\"1\"")]).await;
    updated.expect(200);
    assert_eq!(updated.json()["version"], 2);
    assert_eq!(updated.json()["name"]["family"], "Jones");
    let found = app.get(&format!("{PEOPLE}?family=jones")).await;
    assert_eq!(found.json()["people"][0]["id"], id.as_str());
    let gone = app
        .get(&format!(
            "{PEOPLE}?identifier=https://hospital.example/mrn|H123"
        ))
        .await;
    assert_eq!(gone.json()["people"], json!([]));
}

async fn registration_refuses_bad_people_with_their_paths(app: TestApp) {
    register(&app, ann()).await;
    for (body, path, fragment) in [
        (
            json!({"nhs_number": "9434765918", "name": {"family": "X"}}),
            "/nhs_number",
            "check digit",
        ),
        (
            json!({"nhs_number": "1234567890", "name": {"family": "X"}}),
            "/nhs_number",
            "",
        ),
        (
            json!({"identifiers": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "123"}], "name": {"family": "X"}}),
            "/identifiers/0/value",
            "10 digits",
        ),
        (json!({"name": {"family": " "}}), "/name/family", "empty"),
        (
            json!({"name": {"family": "X"}, "birth_date": "1950-02-30"}),
            "/birth_date",
            "not a date",
        ),
        (
            json!({"name": {"family": "X"}, "birth_date": "2999-01-01"}),
            "/birth_date",
            "future",
        ),
        (
            json!({"name": {"family": "X"}, "gender": "f"}),
            "/gender",
            "not one of",
        ),
        (
            json!({"name": {"family": "X"}, "identifiers": [{"system": "a", "value": "1"}, {"system": "a", "value": "2"}]}),
            "/identifiers/1/system",
            "twice",
        ),
        (
            json!({"nhs_number": "9434765919", "identifiers": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}], "name": {"family": "X"}}),
            "/identifiers/0/value",
            "differs",
        ),
    ] {
        let answer = app
            .post_json(PEOPLE, body.to_string().as_bytes(), &[])
            .await;
        answer.expect(400);
        let error = answer.json();
        assert_eq!(error["details"][0]["path"], path, "{body}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains(fragment),
            "{body}: {error}"
        );
    }
    // The check result 10 case names itself.
    let answer = app
        .post_json(
            PEOPLE,
            json!({"nhs_number": "1000000010", "name": {"family": "X"}})
                .to_string()
                .as_bytes(),
            &[],
        )
        .await;
    answer.expect(400);
    // Wrong shapes and content types.
    for body in [
        "not json",
        r#"{"name": {"family": "X"}, "nickname": "y"}"#,
        r#"{"name": "X"}"#,
        "[]",
    ] {
        let answer = app.post_json(PEOPLE, body.as_bytes(), &[]).await;
        answer.expect(400);
        assert_eq!(answer.error_code(), "malformed_body", "{body}");
    }
    app.call(
        Method::POST,
        PEOPLE,
        &[("content-type", "text/plain")],
        ann().to_string(),
    )
    .await
    .expect(415);
    // The same NHS number, or another person's identifier, conflicts.
    let again = app
        .post_json(PEOPLE, ann().to_string().as_bytes(), &[])
        .await;
    again.expect(409);
    assert!(
        again.text().contains("belongs to person"),
        "{}",
        again.text()
    );
    let no_people = app.get(&format!("{PEOPLE}?family=x")).await;
    assert_eq!(
        no_people.json()["people"],
        json!([]),
        "nothing partial was kept"
    );
}

async fn registration_links_the_ehr_by_nhs_number(app: TestApp) {
    // An EHR created through the openEHR API for an NHS number is adopted.
    let status = json!({
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": {"_type": "DV_TEXT", "value": "EHR Status"},
        "subject": {"_type": "PARTY_SELF", "external_ref": {
            "_type": "PARTY_REF",
            "id": {"_type": "GENERIC_ID", "value": "9000000009", "scheme": "nhs_number"},
            "namespace": "uk.nhs.nhs_number", "type": "PERSON"}},
        "is_queryable": true, "is_modifiable": true
    });
    let created = app
        .post_json(
            &format!("{BASE}/ehr"),
            status.to_string().as_bytes(),
            &[("prefer", "return=representation")],
        )
        .await;
    created.expect(201);
    let existing_ehr = created.json()["ehr_id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let adopted = register(
        &app,
        json!({"nhs_number": "9000000009", "name": {"family": "Adopted"}}),
    )
    .await;
    assert_eq!(adopted["ehr_id"], existing_ehr.as_str());

    // A new person gets a new EHR whose status names them by NHS number.
    let person = register(&app, ann()).await;
    let ehr_id = person["ehr_id"].as_str().unwrap();
    let found = app
        .get(&format!(
            "{BASE}/ehr?subject_id=9434765919&subject_namespace=uk.nhs.nhs_number"
        ))
        .await;
    found.expect(200);
    assert_eq!(found.json()["ehr_id"]["value"], ehr_id);

    // Without an NHS number, the person id is the subject.
    let nameless = register(&app, json!({"name": {"family": "NoNumber"}})).await;
    let found = app
        .get(&format!(
            "{BASE}/ehr?subject_id={}&subject_namespace=kith.person",
            nameless["id"].as_str().unwrap()
        ))
        .await;
    found.expect(200);
    assert_eq!(found.json()["ehr_id"]["value"], nameless["ehr_id"]);
    assert_eq!(nameless["nhs_number"], Value::Null);
}

async fn merging_two_people_says_what_moved(app: TestApp) {
    let mut first = ann();
    first["nhs_number"] = json!("9000000009");
    let source = register(&app, first).await;
    let mut second = ann();
    second["identifiers"] = json!([{"system": "https://other.example/id", "value": "O1"}]);
    let target = register(&app, second).await;
    let source_id = source["id"].as_str().unwrap();
    let target_id = target["id"].as_str().unwrap();
    let merge_uri = format!("{PEOPLE}/{source_id}/merge");

    for (body, status) in [
        (json!({"into": source_id}), 400),
        (json!({"into": uuid::Uuid::new_v4().to_string()}), 400),
        (json!({"into": "nope"}), 400),
        (json!({}), 400),
    ] {
        app.post_json(&merge_uri, body.to_string().as_bytes(), &[])
            .await
            .expect(status);
    }
    let merged = app
        .post_json(
            &merge_uri,
            json!({"into": target_id}).to_string().as_bytes(),
            &[],
        )
        .await;
    merged.expect(200);
    let answer = merged.json();
    // The target keeps its NHS number; the source's stays with the source; the hospital
    // number (a system the target lacks) moves.
    assert_eq!(
        answer["moved_identifiers"],
        json!([{"system": "https://hospital.example/mrn", "value": "H123"}])
    );
    assert_eq!(
        answer["kept_identifiers"],
        json!([{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}])
    );
    assert_eq!(answer["source"]["merged_into"], target_id);
    assert_eq!(
        answer["target"]["merged_ehr_ids"],
        json!([source["ehr_id"]])
    );
    assert_eq!(answer["source_ehr_id"], source["ehr_id"]);
    let found = app
        .get(&format!(
            "{PEOPLE}?identifier=https://hospital.example/mrn|H123"
        ))
        .await;
    assert_eq!(found.json()["people"][0]["id"], target_id);
    // A merged person is not found by name unless asked, and is merged only once.
    let by_name = app.get(&format!("{PEOPLE}?family=smith")).await;
    assert_eq!(by_name.json()["people"].as_array().unwrap().len(), 1);
    let with_merged = app
        .get(&format!("{PEOPLE}?family=smith&include_merged=true"))
        .await;
    assert_eq!(with_merged.json()["people"].as_array().unwrap().len(), 2);
    app.post_json(
        &merge_uri,
        json!({"into": target_id}).to_string().as_bytes(),
        &[],
    )
    .await
    .expect(409);
    put_json(
        &app,
        &format!("{PEOPLE}/{source_id}"),
        ann(),
        &[("if-match", "\"2\"")],
    )
    .await
    .expect(409);
    // The merge is in both people's trails: the source's by person, the survivor's by the
    // record the event names.
    for person in [&source_id, &target_id] {
        let trail = app.get(&format!("/api/v1/audit?person_id={person}")).await;
        trail.expect(200);
        let merges: Vec<Value> = trail.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["action"] == "merge")
            .cloned()
            .collect();
        assert_eq!(merges.len(), 1, "{person}: {}", trail.text());
        assert_eq!(merges[0]["person"], source_id);
        assert_eq!(
            merges[0]["records"],
            json!([answer["target"]["ehr_id"].as_str().unwrap()])
        );
    }
}

async fn organisations_and_relationships(app: TestApp) {
    let surgery = put_json(
        &app,
        "/api/v1/organisations/A81001",
        json!({"name": "Riverside Surgery", "type": "gp-practice", "details": {"town": "Leeds"}}),
        &[],
    )
    .await;
    surgery.expect(201);
    put_json(
        &app,
        "/api/v1/organisations/A81001",
        json!({"name": "Riverside Medical Centre", "type": "gp-practice"}),
        &[],
    )
    .await
    .expect(200);
    for (code, body, path) in [
        (
            "A81-001",
            json!({"name": "X", "type": "gp-practice"}),
            "code",
        ),
        ("B1", json!({"name": "X", "type": "surgery"}), "/type"),
        ("B1", json!({"name": " ", "type": "hospice"}), "/name"),
    ] {
        let answer = put_json(&app, &format!("/api/v1/organisations/{code}"), body, &[]).await;
        answer.expect(400);
        assert_eq!(answer.json()["details"][0]["path"], path);
    }
    let read = app.get("/api/v1/organisations/A81001").await;
    read.expect(200);
    assert_eq!(read.json()["name"], "Riverside Medical Centre");
    app.get("/api/v1/organisations/NOPE").await.expect(404);
    assert_eq!(
        app.get("/api/v1/organisations").await.json()["organisations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let person = register(&app, ann()).await;
    let uri = format!("{PEOPLE}/{}/relationships", person["id"].as_str().unwrap());
    let gp = app
        .post_json(
            &uri,
            json!({"kind": "registered-gp", "organisation": "A81001",
                   "period": {"start": "2020-01-01T00:00:00Z"}})
            .to_string()
            .as_bytes(),
            &[],
        )
        .await;
    gp.expect(201);
    let gp_id = gp.json()["id"].as_str().unwrap().to_owned();
    let proxy = app
        .post_json(
            &uri,
            json!({"kind": "proxy", "professional": "daughter-7",
                   "authority": "lasting-power-of-attorney-health"})
            .to_string()
            .as_bytes(),
            &[],
        )
        .await;
    proxy.expect(201);
    for (body, path) in [
        (json!({"kind": "proxy", "professional": "x"}), "/authority"),
        (
            json!({"kind": "registered-gp", "organisation": "NOPE"}),
            "/organisation",
        ),
        (
            json!({"kind": "registered-gp", "organisation": "A81001", "id": uuid::Uuid::new_v4()}),
            "/id",
        ),
    ] {
        let answer = app.post_json(&uri, body.to_string().as_bytes(), &[]).await;
        answer.expect(400);
        assert_eq!(answer.json()["details"][0]["path"], path, "{body}");
    }
    let listed = app.get(&uri).await;
    listed.expect(200);
    let listed = listed.json();
    let kinds: Vec<&str> = listed["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|relationship| relationship["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["registered-gp", "proxy"]);
    app.call(Method::DELETE, &format!("{uri}/{gp_id}"), &[], Vec::new())
        .await
        .expect(204);
    app.call(Method::DELETE, &format!("{uri}/{gp_id}"), &[], Vec::new())
        .await
        .expect(404);
    assert_eq!(
        app.get(&uri).await.json()["relationships"][0]["kind"],
        "proxy"
    );
}

async fn consent_directives_are_versioned_and_exported_as_fhir(app: TestApp) {
    let person = register(&app, ann()).await;
    let uri = format!("{PEOPLE}/{}/consents", person["id"].as_str().unwrap());
    let deny = json!({
        "decision": "deny",
        "actors": [{"kind": "organisation-type", "type": "pharmacy"}],
        "purposes": ["direct-care"],
        "categories": ["mental-health"],
        "period": {"start": "2026-01-01T00:00:00Z"},
        "note": "no pharmacies for my mental health notes"
    });
    let created = app.post_json(&uri, deny.to_string().as_bytes(), &[]).await;
    created.expect(201);
    assert_eq!(created.etag(), "1");
    let directive = created.json();
    let directive_uri = format!("{uri}/{}", directive["id"].as_str().unwrap());
    assert_eq!(directive["decision"], "deny");
    assert_eq!(directive["status"], "active");

    // Field errors name their place.
    for (body, path) in [
        (json!({"decision": "maybe"}), ""),
        (
            json!({"decision": "deny", "categories": ["astrology"]}),
            "/categories/0",
        ),
        (json!({"decision": "permit"}), ""),
    ] {
        let answer = app.post_json(&uri, body.to_string().as_bytes(), &[]).await;
        answer.expect(400);
        if !path.is_empty() {
            assert_eq!(answer.json()["details"][0]["path"], path, "{body}");
        }
    }

    // The rules the query filter reads follow the directive.
    let stored = app
        .store
        .list_consents(uuid::Uuid::parse_str(person["ehr_id"].as_str().unwrap()).unwrap())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].rules.len(), 1);
    assert_eq!(stored[0].rules[0].actor_kind, "organisation-type");
    assert_eq!(stored[0].rules[0].actor.as_deref(), Some("pharmacy"));
    assert_eq!(
        stored[0].rules[0].category.as_deref(),
        Some("mental-health")
    );

    let mut withdrawn = deny.clone();
    withdrawn["status"] = json!("inactive");
    let unconditional = put_json(&app, &directive_uri, withdrawn.clone(), &[]).await;
    unconditional.expect(400);
    assert_eq!(unconditional.error_code(), "if_match_required");
    put_json(
        &app,
        &directive_uri,
        withdrawn.clone(),
        &[("if-match", "\"2\"")],
    )
    .await
    .expect(412);
    let updated = put_json(&app, &directive_uri, withdrawn, &[("if-match", "\"1\"")]).await;
    updated.expect(200);
    assert_eq!(updated.json()["version"], 2);
    assert_eq!(updated.json()["status"], "inactive");
    let stored = app
        .store
        .list_consents(uuid::Uuid::parse_str(person["ehr_id"].as_str().unwrap()).unwrap())
        .await
        .unwrap();
    assert!(
        stored[0].rules.is_empty(),
        "an inactive directive has no rules"
    );

    let listed = app.get(&uri).await;
    assert_eq!(listed.json()["consents"].as_array().unwrap().len(), 1);

    let fhir = app.get(&format!("{directive_uri}?format=fhir")).await;
    fhir.expect(200);
    let consent = fhir.json();
    assert_eq!(consent["resourceType"], "Consent");
    assert_eq!(consent["status"], "inactive");
    assert_eq!(consent["patient"]["identifier"]["value"], "9434765919");
    assert_eq!(consent["provision"]["type"], "deny");
    app.get(&format!("{directive_uri}?format=xml"))
        .await
        .expect(400);
    app.get(&format!("{uri}/{}", uuid::Uuid::new_v4()))
        .await
        .expect(404);
}
