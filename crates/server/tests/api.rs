//! The openEHR REST API and the admin API end to end: the real router on a real store,
//! every test run on SQLite and (with `KITH_TEST_DATABASE_URL`) on PostgreSQL.

#[macro_use]
mod support;

use axum::http::Method;
use serde_json::{Value, json};
use support::{Answer, BASE, SYSTEM_ID, TOKEN, TestApp, testdata};

api_tests!(
    health_and_status_need_no_token,
    everything_else_needs_the_token,
    ehr_create_read_and_find_by_subject,
    ehr_create_with_given_id_and_status_body,
    ehr_bad_input,
    ehr_status_versions,
    composition_lifecycle,
    composition_versioned_object,
    composition_bad_input,
    composition_xml_in_and_out,
    every_example_composition_round_trips_through_the_api,
    directory_lifecycle,
    contribution_commits_all_or_nothing,
    contribution_bad_input,
    templates_upload_list_get,
    stored_queries_and_admin_deletes,
    admin_erases_an_ehr,
    concurrent_updates_with_one_if_match,
    ehrbase_alias_routes,
    body_size_limit,
    headers_in_both_spellings,
    status_update_moves_the_subject,
    an_unmodifiable_ehr_refuses_writes,
    deleted_compositions_stay_deleted,
    contribution_ids_and_references,
    ehr_names_its_latest_status_version,
    stored_query_versions_match_by_prefix,
    undecodable_requests_get_json_errors,
    mutated_compositions_never_get_a_server_error,
    templates_are_parsed_at_upload_and_after_a_restart,
    compositions_are_validated_against_their_template,
    admin_replaces_only_unused_templates,
    simplified_formats_in_and_out,
    simplified_format_errors,
    every_template_has_an_example_that_commits,
    each_kind_of_broken_constraint_is_refused_with_its_path,
    ehr_status_and_folder_templates_are_enforced_where_named,
);

fn ehr_url(ehr_id: &str) -> String {
    format!("{BASE}/ehr/{ehr_id}")
}

async fn health_and_status_need_no_token(app: TestApp) {
    for uri in ["/health", "/rest/status", "/ehrbase/rest/status"] {
        let request = axum::http::Request::get(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        let answer = app.send(request).await;
        answer.expect(200);
        assert_eq!(answer.json()["status"], "ok", "{uri}");
    }
    let request = axum::http::Request::get("/rest/status")
        .body(axum::body::Body::empty())
        .unwrap();
    let status = app.send(request).await.json();
    assert_eq!(status["system_id"], SYSTEM_ID);
    assert!(status["database"] == "sqlite" || status["database"] == "postgresql");
}

async fn everything_else_needs_the_token(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let routes = [
        (Method::POST, format!("{BASE}/ehr")),
        (Method::GET, ehr_url(&ehr_id)),
        (Method::PUT, ehr_url(&uuid::Uuid::new_v4().to_string())),
        (
            Method::GET,
            format!("{BASE}/ehr?subject_id=1&subject_namespace=x"),
        ),
        (Method::GET, format!("{}/ehr_status", ehr_url(&ehr_id))),
        (Method::PUT, format!("{}/ehr_status", ehr_url(&ehr_id))),
        (
            Method::GET,
            format!("{}/versioned_ehr_status/revision_history", ehr_url(&ehr_id)),
        ),
        (Method::POST, format!("{}/composition", ehr_url(&ehr_id))),
        (
            Method::GET,
            format!("{}/composition/{}", ehr_url(&ehr_id), uuid::Uuid::new_v4()),
        ),
        (
            Method::DELETE,
            format!(
                "{}/composition/{}::x::1",
                ehr_url(&ehr_id),
                uuid::Uuid::new_v4()
            ),
        ),
        (Method::GET, format!("{}/directory", ehr_url(&ehr_id))),
        (Method::POST, format!("{}/contribution", ehr_url(&ehr_id))),
        (Method::GET, format!("{BASE}/definition/template/adl1.4")),
        (Method::POST, format!("{BASE}/definition/template/adl1.4")),
        (Method::GET, format!("{BASE}/definition/query")),
        (Method::DELETE, format!("/rest/admin/ehr/{ehr_id}")),
        (Method::DELETE, "/rest/admin/template/x".to_owned()),
        (
            Method::DELETE,
            "/ehrbase/rest/admin/query/a::b/1.0.0".to_owned(),
        ),
        (Method::GET, "/no/such/route".to_owned()),
    ];
    for (method, uri) in routes {
        for authorization in [
            None,
            Some("Bearer wrong-token"),
            Some(TOKEN),
            Some("Basic YWRtaW46YWRtaW4="),
        ] {
            let mut request = axum::http::Request::builder()
                .method(method.clone())
                .uri(&uri);
            if let Some(value) = authorization {
                request = request.header("authorization", value);
            }
            let answer = app
                .send(request.body(axum::body::Body::empty()).unwrap())
                .await;
            answer.expect(401);
            assert_eq!(answer.error_code(), "unauthorized", "{method} {uri}");
            assert!(answer.headers.contains_key("www-authenticate"));
        }
    }
    // The EHR is untouched by the refused admin call.
    app.get(&ehr_url(&ehr_id)).await.expect(200);
}

async fn ehr_create_read_and_find_by_subject(app: TestApp) {
    let answer = app
        .call(Method::POST, &format!("{BASE}/ehr"), &[], Vec::new())
        .await;
    answer.expect(201);
    assert!(answer.body.is_empty(), "return=minimal is the default");
    let ehr_id = answer.etag();
    assert_eq!(answer.header("location"), ehr_url(&ehr_id));
    assert!(answer.headers.contains_key("last-modified"));

    let ehr = app.get(&ehr_url(&ehr_id)).await;
    ehr.expect(200);
    let body = ehr.json();
    assert_eq!(body["ehr_id"]["value"], ehr_id);
    assert_eq!(body["system_id"]["value"], SYSTEM_ID);
    assert_eq!(body["ehr_status"]["type"], "EHR_STATUS");
    assert!(
        body["time_created"]["value"]
            .as_str()
            .unwrap()
            .contains('T')
    );

    let status = json!({
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": { "_type": "DV_TEXT", "value": "EHR Status" },
        "subject": {
            "_type": "PARTY_SELF",
            "external_ref": {
                "_type": "PARTY_REF",
                "id": { "_type": "GENERIC_ID", "value": "9434765919", "scheme": "nhs_number" },
                "namespace": "uk.nhs.nhs_number",
                "type": "PERSON"
            }
        },
        "is_queryable": true,
        "is_modifiable": true
    });
    let body = serde_json::to_vec(&status).unwrap();
    let created = app
        .post_json(
            &format!("{BASE}/ehr"),
            &body,
            &[("prefer", "return=representation")],
        )
        .await;
    created.expect(201);
    let representation = created.json();
    let subject_ehr = representation["ehr_id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created.etag(), subject_ehr);

    let found = app
        .get(&format!(
            "{BASE}/ehr?subject_id=9434765919&subject_namespace=uk.nhs.nhs_number"
        ))
        .await;
    found.expect(200);
    assert_eq!(found.json()["ehr_id"]["value"], subject_ehr);

    // One EHR per subject.
    let again = app.post_json(&format!("{BASE}/ehr"), &body, &[]).await;
    again.expect(409);

    app.get(&format!(
        "{BASE}/ehr?subject_id=0000000000&subject_namespace=uk.nhs.nhs_number"
    ))
    .await
    .expect(404);
    app.get(&format!("{BASE}/ehr?subject_id=1"))
        .await
        .expect(400);

    let identifier = app
        .call(
            Method::POST,
            &format!("{BASE}/ehr"),
            &[("prefer", "return=identifier")],
            Vec::new(),
        )
        .await;
    identifier.expect(201);
    assert_eq!(identifier.json()["uid"], identifier.etag());
}

async fn ehr_create_with_given_id_and_status_body(app: TestApp) {
    let ehr_id = uuid::Uuid::new_v4().to_string();
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<ehr_status xmlns="http://schemas.openehr.org/v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" archetype_node_id="openEHR-EHR-EHR_STATUS.generic.v1">
  <name><value>EHR Status</value></name>
  <subject/>
  <is_queryable>true</is_queryable>
  <is_modifiable>false</is_modifiable>
</ehr_status>"#;
    let answer = app
        .call(
            Method::PUT,
            &ehr_url(&ehr_id),
            &[
                ("content-type", "application/xml"),
                ("prefer", "return=representation"),
                ("accept", "application/xml"),
            ],
            xml.to_vec(),
        )
        .await;
    answer.expect(201);
    assert_eq!(answer.header("content-type"), "application/xml");
    assert!(answer.text().contains(&ehr_id));
    let status = app.get(&format!("{}/ehr_status", ehr_url(&ehr_id))).await;
    status.expect(200);
    assert_eq!(status.json()["is_modifiable"], false);
    // The same id again is a conflict.
    app.call(Method::PUT, &ehr_url(&ehr_id), &[], Vec::new())
        .await
        .expect(409);
}

async fn ehr_bad_input(app: TestApp) {
    let answer = app.get(&ehr_url("not-a-uuid")).await;
    answer.expect(404);
    assert_eq!(answer.error_code(), "ehr_not_found");
    let answer = app.get(&ehr_url(&uuid::Uuid::new_v4().to_string())).await;
    answer.expect(404);
    assert_eq!(answer.error_code(), "ehr_not_found");
    app.call(Method::PUT, &ehr_url("1234"), &[], Vec::new())
        .await
        .expect(400);

    let answer = app
        .post_json(&format!("{BASE}/ehr"), b"{\"_type\": \"EHR_STATUS\",", &[])
        .await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "malformed_body");

    let missing = json!({ "_type": "EHR_STATUS", "archetype_node_id": "x", "name": {"value": "s"}, "subject": {"_type": "PARTY_SELF"}, "is_queryable": true });
    let answer = app
        .post_json(
            &format!("{BASE}/ehr"),
            &serde_json::to_vec(&missing).unwrap(),
            &[],
        )
        .await;
    answer.expect(400);
    assert_eq!(
        answer.json()["details"][0]["path"],
        "/is_modifiable",
        "{}",
        answer.text()
    );

    let wrong_type = json!({ "_type": "EHR_STATUS", "archetype_node_id": "x", "name": {"value": "s"}, "subject": {"_type": "PARTY_SELF"}, "is_queryable": "yes", "is_modifiable": true });
    let answer = app
        .post_json(
            &format!("{BASE}/ehr"),
            &serde_json::to_vec(&wrong_type).unwrap(),
            &[],
        )
        .await;
    answer.expect(400);
    assert_eq!(answer.json()["details"][0]["path"], "/is_queryable");

    let answer = app
        .call(
            Method::POST,
            &format!("{BASE}/ehr"),
            &[("content-type", "text/plain")],
            b"hello".to_vec(),
        )
        .await;
    answer.expect(415);
    let answer = app
        .call(
            Method::GET,
            &ehr_url(&uuid::Uuid::new_v4().to_string()),
            &[("accept", "text/html")],
            Vec::new(),
        )
        .await;
    answer.expect(406);
    let answer = app
        .call(Method::PATCH, &format!("{BASE}/ehr"), &[], Vec::new())
        .await;
    answer.expect(405);
}

async fn ehr_status_versions(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let status_url = format!("{}/ehr_status", ehr_url(&ehr_id));
    let first = app.get(&status_url).await;
    first.expect(200);
    let first_uid = first.etag();
    assert!(
        first_uid.ends_with(&format!("::{SYSTEM_ID}::1")),
        "{first_uid}"
    );
    assert_eq!(first.json()["uid"]["value"], first_uid);
    assert!(first.header("location").ends_with(&first_uid));
    let status_id = first_uid.split("::").next().unwrap().to_owned();

    let mut updated = first.json();
    updated["is_queryable"] = json!(false);
    let body = serde_json::to_vec(&updated).unwrap();
    let if_match = format!("\"{first_uid}\"");

    // If-Match is required.
    let answer = app
        .call(
            Method::PUT,
            &status_url,
            &[("content-type", "application/json")],
            body.clone(),
        )
        .await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "if_match_required");

    let answer = app
        .call(
            Method::PUT,
            &status_url,
            &[
                ("content-type", "application/json"),
                ("if-match", &if_match),
                ("prefer", "return=representation"),
            ],
            body.clone(),
        )
        .await;
    answer.expect(200);
    let second_uid = answer.etag();
    assert_eq!(second_uid, format!("{status_id}::{SYSTEM_ID}::2"));
    assert_eq!(answer.json()["is_queryable"], false);
    assert_eq!(answer.json()["uid"]["value"], second_uid);

    // A stale If-Match gets 412 naming the latest version.
    let answer = app
        .call(
            Method::PUT,
            &status_url,
            &[
                ("content-type", "application/json"),
                ("if-match", &if_match),
            ],
            body.clone(),
        )
        .await;
    answer.expect(412);
    assert_eq!(answer.etag(), second_uid);

    // Minimal by default: 204 with the new ETag.
    let answer = app
        .call(
            Method::PUT,
            &status_url,
            &[
                ("content-type", "application/json"),
                ("if-match", &second_uid),
                (
                    "openehr-audit-details",
                    "committer.name=\"Dr Who\", description=\"fix\"",
                ),
            ],
            body.clone(),
        )
        .await;
    answer.expect(204);
    let third_uid = answer.etag();
    assert!(third_uid.ends_with("::3"));

    // By version id, at time, versioned object, revision history.
    let answer = app.get(&format!("{status_url}/{first_uid}")).await;
    answer.expect(200);
    assert_eq!(answer.json()["is_queryable"], true);
    let answer = app
        .get(&format!("{status_url}/{status_id}::{SYSTEM_ID}::9"))
        .await;
    answer.expect(404);
    let answer = app.get(&format!("{status_url}/{status_id}")).await;
    answer.expect(400);

    let answer = app
        .get(&format!(
            "{status_url}?version_at_time=2000-01-01T00:00:00Z"
        ))
        .await;
    answer.expect(404);
    let answer = app
        .get(&format!(
            "{status_url}?version_at_time=2999-01-01T00:00:00%2B01:00"
        ))
        .await;
    answer.expect(200);
    assert_eq!(answer.etag(), third_uid);
    app.get(&format!("{status_url}?version_at_time=yesterday"))
        .await
        .expect(400);

    let versioned = app
        .get(&format!("{}/versioned_ehr_status", ehr_url(&ehr_id)))
        .await;
    versioned.expect(200);
    assert_eq!(versioned.json()["uid"]["value"], status_id);
    assert_eq!(versioned.json()["owner_id"]["id"]["value"], ehr_id);

    let history = app
        .get(&format!(
            "{}/versioned_ehr_status/revision_history",
            ehr_url(&ehr_id)
        ))
        .await;
    history.expect(200);
    let items = history.json()["items"].as_array().unwrap().clone();
    let ids: Vec<&str> = items
        .iter()
        .map(|item| item["version_id"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [first_uid.as_str(), second_uid.as_str(), third_uid.as_str()]
    );
    assert_eq!(items[2]["audits"][0]["committer"]["name"], "Dr Who");
    assert_eq!(items[2]["audits"][0]["description"]["value"], "fix");
    assert_eq!(
        items[0]["audits"][0]["change_type"]["defining_code"]["code_string"],
        "249"
    );
    assert_eq!(
        items[1]["audits"][0]["change_type"]["defining_code"]["code_string"],
        "251"
    );

    let version = app
        .get(&format!(
            "{}/versioned_ehr_status/version/{second_uid}",
            ehr_url(&ehr_id)
        ))
        .await;
    version.expect(200);
    let version = version.json();
    assert_eq!(version["_type"], "ORIGINAL_VERSION");
    assert_eq!(version["uid"]["value"], second_uid);
    assert_eq!(version["preceding_version_uid"]["value"], first_uid);
    assert_eq!(version["data"]["is_queryable"], false);
    assert_eq!(
        version["lifecycle_state"]["defining_code"]["code_string"],
        "532"
    );

    let latest = app
        .get(&format!(
            "{}/versioned_ehr_status/version",
            ehr_url(&ehr_id)
        ))
        .await;
    latest.expect(200);
    assert_eq!(latest.json()["uid"]["value"], third_uid);
}

async fn composition_lifecycle(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let uid = app.create_composition(&ehr_id).await;
    let object_id = uid.split("::").next().unwrap().to_owned();
    assert_eq!(uid, format!("{object_id}::{SYSTEM_ID}::1"));
    let compositions = format!("{}/composition", ehr_url(&ehr_id));

    // Read by version id and by object id.
    let by_version = app.get(&format!("{compositions}/{uid}")).await;
    by_version.expect(200);
    assert_eq!(by_version.etag(), uid);
    assert_eq!(by_version.header("content-type"), "application/json");
    let composition = by_version.json();
    assert_eq!(composition["uid"]["value"], uid);
    assert_eq!(composition["_type"], "COMPOSITION");
    let latest = app.get(&format!("{compositions}/{object_id}")).await;
    latest.expect(200);
    assert_eq!(latest.json(), composition);

    // Update with If-Match.
    let mut changed = composition.clone();
    changed["name"]["value"] = json!("Minimal, amended");
    let body = serde_json::to_vec(&changed).unwrap();
    let answer = app
        .call(
            Method::PUT,
            &format!("{compositions}/{object_id}"),
            &[
                ("content-type", "application/json"),
                ("if-match", &uid),
                ("prefer", "return=representation"),
            ],
            body.clone(),
        )
        .await;
    answer.expect(200);
    let second = answer.etag();
    assert_eq!(second, format!("{object_id}::{SYSTEM_ID}::2"));
    assert_eq!(answer.json()["name"]["value"], "Minimal, amended");
    assert!(
        answer
            .header("location")
            .ends_with(&format!("/composition/{second}"))
    );

    // A stale If-Match: 412 with the latest version.
    let answer = app
        .call(
            Method::PUT,
            &format!("{compositions}/{object_id}"),
            &[("content-type", "application/json"), ("if-match", &uid)],
            body.clone(),
        )
        .await;
    answer.expect(412);
    assert_eq!(answer.etag(), second);

    // The old version is still there, unchanged.
    let old = app.get(&format!("{compositions}/{uid}")).await;
    old.expect(200);
    assert_eq!(old.json()["name"]["value"], composition["name"]["value"]);

    // At time.
    let answer = app
        .get(&format!(
            "{compositions}/{object_id}?version_at_time=2999-01-01T00:00:00Z"
        ))
        .await;
    answer.expect(200);
    assert_eq!(answer.etag(), second);
    app.get(&format!(
        "{compositions}/{object_id}?version_at_time=1999-01-01T00:00:00Z"
    ))
    .await
    .expect(404);

    // Delete: a new version in state deleted; reading the latest answers 204.
    let answer = app
        .call(
            Method::DELETE,
            &format!("{compositions}/{uid}"),
            &[],
            Vec::new(),
        )
        .await;
    answer.expect(409);
    let answer = app
        .call(
            Method::DELETE,
            &format!("{compositions}/{second}"),
            &[],
            Vec::new(),
        )
        .await;
    answer.expect(204);
    let third = answer.etag();
    assert!(third.ends_with("::3"));
    let answer = app.get(&format!("{compositions}/{object_id}")).await;
    answer.expect(204);
    assert!(answer.body.is_empty());
    let answer = app
        .call(
            Method::DELETE,
            &format!("{compositions}/{third}"),
            &[],
            Vec::new(),
        )
        .await;
    answer.expect(400);
    // Earlier versions stay readable.
    app.get(&format!("{compositions}/{second}"))
        .await
        .expect(200);

    // Unknown ids.
    app.get(&format!("{compositions}/{}", uuid::Uuid::new_v4()))
        .await
        .expect(404);
    app.get(&format!(
        "{}/composition/{object_id}",
        ehr_url(&uuid::Uuid::new_v4().to_string())
    ))
    .await
    .expect(404);
    app.get(&format!("{compositions}/{object_id}::{SYSTEM_ID}::x"))
        .await
        .expect(400);
    // An EHR_STATUS is not a composition.
    let status = app
        .get(&format!("{}/ehr_status", ehr_url(&ehr_id)))
        .await
        .etag();
    app.get(&format!("{compositions}/{status}"))
        .await
        .expect(404);
}

async fn composition_versioned_object(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let uid = app.create_composition(&ehr_id).await;
    let object_id = uid.split("::").next().unwrap().to_owned();
    let composition = app
        .get(&format!("{}/composition/{uid}", ehr_url(&ehr_id)))
        .await
        .json();
    let answer = app
        .call(
            Method::PUT,
            &format!("{}/composition/{object_id}", ehr_url(&ehr_id)),
            &[
                ("content-type", "application/json"),
                ("if-match", &uid),
                ("openehr-version", "lifecycle_state.code_string=\"553\""),
            ],
            serde_json::to_vec(&composition).unwrap(),
        )
        .await;
    answer.expect(204);
    let second = answer.etag();
    let versioned = format!("{}/versioned_composition/{object_id}", ehr_url(&ehr_id));

    let answer = app.get(&versioned).await;
    answer.expect(200);
    assert_eq!(answer.json()["_type"], "VERSIONED_COMPOSITION");
    assert_eq!(answer.json()["uid"]["value"], object_id);

    let history = app.get(&format!("{versioned}/revision_history")).await;
    history.expect(200);
    let items = history.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["version_id"]["value"], uid);
    assert_eq!(items[1]["version_id"]["value"], second);

    let version = app.get(&format!("{versioned}/version/{second}")).await;
    version.expect(200);
    let version = version.json();
    assert_eq!(
        version["lifecycle_state"]["defining_code"]["code_string"],
        "553"
    );
    assert_eq!(version["data"]["uid"]["value"], second);
    assert!(version["contribution"]["id"]["value"].is_string());

    let at_time = app
        .get(&format!(
            "{versioned}/version?version_at_time=2999-01-01T00:00:00Z"
        ))
        .await;
    at_time.expect(200);
    assert_eq!(at_time.json()["uid"]["value"], second);
    let latest = app.get(&format!("{versioned}/version")).await;
    assert_eq!(latest.json()["uid"]["value"], second);

    // The contribution of a version can be read back.
    let contribution = version["contribution"]["id"]["value"].as_str().unwrap();
    let answer = app
        .get(&format!("{}/contribution/{contribution}", ehr_url(&ehr_id)))
        .await;
    answer.expect(200);
    assert_eq!(answer.json()["versions"][0]["id"]["value"], second);

    app.get(&format!(
        "{versioned}/version/{}::{SYSTEM_ID}::1",
        uuid::Uuid::new_v4()
    ))
    .await
    .expect(404);
    app.get(&format!(
        "{}/versioned_composition/{}",
        ehr_url(&ehr_id),
        uuid::Uuid::new_v4()
    ))
    .await
    .expect(404);
    app.get(&format!(
        "{}/versioned_composition/{}/revision_history",
        ehr_url(&ehr_id),
        uuid::Uuid::new_v4()
    ))
    .await
    .expect(404);
    app.get(&format!(
        "{}/versioned_composition/not-a-uuid",
        ehr_url(&ehr_id)
    ))
    .await
    .expect(400);
}

async fn composition_bad_input(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let url = format!("{}/composition", ehr_url(&ehr_id));
    let example: Value =
        serde_json::from_slice(&testdata("compositions/minimal_observation.canonical.json"))
            .unwrap();

    // The template has not been uploaded: 422 naming it.
    let answer = app
        .post_json(&url, &serde_json::to_vec(&example).unwrap(), &[])
        .await;
    answer.expect(422);
    assert_eq!(
        answer.json()["details"][0]["path"],
        "/archetype_details/template_id/value"
    );
    app.upload_template("minimal_observation.opt")
        .await
        .expect(201);

    // Malformed JSON: 400 with line and column.
    let answer = app
        .post_json(&url, b"{\n  \"_type\": \"COMPOSITION\",\n  oops\n}", &[])
        .await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "malformed_body");
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("line 3"),
        "{}",
        answer.text()
    );

    // An unknown _type deep inside: 400 with its path.
    let mut unknown = example.clone();
    unknown["content"][0]["data"]["events"][0]["data"]["items"][0]["value"]["_type"] =
        json!("DV_TEXTT");
    let answer = app
        .post_json(&url, &serde_json::to_vec(&unknown).unwrap(), &[])
        .await;
    answer.expect(400);
    assert_eq!(
        answer.json()["details"][0]["path"],
        "/content/0/data/events/0/data/items/0/value",
        "{}",
        answer.text()
    );

    // A missing mandatory attribute is reported by validation, with its AQL path.
    let mut missing = example.clone();
    missing["content"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    let answer = app
        .post_json(&url, &serde_json::to_vec(&missing).unwrap(), &[])
        .await;
    answer.expect(422);
    assert_eq!(
        answer.json()["details"][0],
        json!({
            "path": "/content[openEHR-EHR-OBSERVATION.minimal.v1]/name",
            "message": "missing mandatory attribute \"name\" of OBSERVATION"
        }),
        "{}",
        answer.text()
    );

    // A composition that names no template.
    let mut untemplated = example.clone();
    untemplated["archetype_details"]
        .as_object_mut()
        .unwrap()
        .remove("template_id");
    let answer = app
        .post_json(&url, &serde_json::to_vec(&untemplated).unwrap(), &[])
        .await;
    answer.expect(422);

    // Not a composition at all.
    let answer = app
        .post_json(&url, br#"{"_type": "EHR_STATUS"}"#, &[])
        .await;
    answer.expect(400);

    // Wrong media types.
    app.call(
        Method::POST,
        &url,
        &[("content-type", "text/plain")],
        b"x".to_vec(),
    )
    .await
    .expect(415);
    app.call(
        Method::POST,
        &url,
        &[],
        serde_json::to_vec(&example).unwrap(),
    )
    .await
    .expect(415);
    app.call(
        Method::POST,
        &url,
        &[
            ("content-type", "application/json"),
            ("accept", "image/png"),
        ],
        serde_json::to_vec(&example).unwrap(),
    )
    .await
    .expect(406);
    app.post_json(&url, b"", &[]).await.expect(400);

    // Unknown EHR.
    let answer = app
        .post_json(
            &format!("{}/composition", ehr_url(&uuid::Uuid::new_v4().to_string())),
            &serde_json::to_vec(&example).unwrap(),
            &[],
        )
        .await;
    answer.expect(404);

    // Bad headers.
    let answer = app
        .post_json(
            &url,
            &serde_json::to_vec(&example).unwrap(),
            &[("openehr-audit-details", "committer.name=\"unterminated")],
        )
        .await;
    answer.expect(400);
    let answer = app
        .post_json(
            &url,
            &serde_json::to_vec(&example).unwrap(),
            &[("openehr-version", "lifecycle_state.code_string=\"999\"")],
        )
        .await;
    answer.expect(400);

    // Update with a malformed If-Match, or one naming another object.
    let uid = app.create_composition(&ehr_id).await;
    let object_id = uid.split("::").next().unwrap();
    let body = serde_json::to_vec(&example).unwrap();
    app.call(
        Method::PUT,
        &format!("{url}/{object_id}"),
        &[
            ("content-type", "application/json"),
            ("if-match", "nonsense"),
        ],
        body.clone(),
    )
    .await
    .expect(400);
    let other = format!("{}::{SYSTEM_ID}::1", uuid::Uuid::new_v4());
    app.call(
        Method::PUT,
        &format!("{url}/{object_id}"),
        &[("content-type", "application/json"), ("if-match", &other)],
        body.clone(),
    )
    .await
    .expect(412);
    app.call(
        Method::PUT,
        &format!("{url}/{object_id}"),
        &[("content-type", "application/json")],
        body.clone(),
    )
    .await
    .expect(400);
    let missing_object = uuid::Uuid::new_v4();
    app.call(
        Method::PUT,
        &format!("{url}/{missing_object}"),
        &[
            ("content-type", "application/json"),
            ("if-match", &format!("{missing_object}::{SYSTEM_ID}::1")),
        ],
        body,
    )
    .await
    .expect(404);

    // Nothing from the refused requests was stored: exactly one composition exists.
    let versions = app
        .store
        .list_versions(ehr_id.parse().unwrap(), object_id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(versions.len(), 1);
}

async fn composition_xml_in_and_out(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let uid = app.create_composition(&ehr_id).await;
    let url = format!("{}/composition/{uid}", ehr_url(&ehr_id));
    let xml = app
        .call(
            Method::GET,
            &url,
            &[("accept", "application/xml")],
            Vec::new(),
        )
        .await;
    xml.expect(200);
    assert_eq!(xml.header("content-type"), "application/xml");
    assert!(xml.text().contains("<composition"), "{}", xml.text());
    let json = app.get(&url).await.json();

    // The XML names the first composition's uid: committing it again is a conflict.
    let answer = app
        .call(
            Method::POST,
            &format!("{}/composition", ehr_url(&ehr_id)),
            &[("content-type", "application/xml")],
            xml.body.clone(),
        )
        .await;
    answer.expect(409);

    // Without the uid, committing the XML gives the same composition under a new uid.
    let mut tree = openehr_rm::xml::from_slice(&xml.body, "COMPOSITION").unwrap();
    tree.remove("uid");
    let answer = app
        .call(
            Method::POST,
            &format!("{}/composition", ehr_url(&ehr_id)),
            &[
                ("content-type", "application/xml"),
                ("prefer", "return=representation"),
            ],
            openehr_rm::xml::to_vec(&tree, "composition"),
        )
        .await;
    answer.expect(201);
    let mut again = answer.json();
    assert_ne!(again["uid"], json["uid"]);
    again["uid"] = json["uid"].clone();
    assert_eq!(again, json);

    // The shared XML example names "IDCR - Adverse Reaction List.v1", but its OPT's template id
    // is "Adverse Reaction List.v1": the template it names has not been uploaded.
    app.upload_template("IDCR - Adverse Reaction List.v1.opt")
        .await
        .expect(201);
    let answer = app
        .call(
            Method::POST,
            &format!("{}/composition", ehr_url(&ehr_id)),
            &[("content-type", "application/xml")],
            testdata("compositions/adverse_reac_with_feeder_audit.canonical.xml"),
        )
        .await;
    answer.expect(422);
    assert_eq!(
        answer.json()["details"][0]["path"],
        "/archetype_details/template_id/value"
    );
    // Malformed XML names the line and column.
    let answer = app
        .call(
            Method::POST,
            &format!("{}/composition", ehr_url(&ehr_id)),
            &[("content-type", "application/xml")],
            b"<composition>\n<name><value>x</name>".to_vec(),
        )
        .await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "malformed_body");
}

async fn every_example_composition_round_trips_through_the_api(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let examples = [
        (
            "minimal_observation.canonical.json",
            "minimal_observation.opt",
        ),
        (
            "minimal_evaluation.canonical.json",
            "minimal_evaluation.opt",
        ),
        (
            "minimal_instruction.canonical.json",
            "minimal_instruction.opt",
        ),
        ("minimal_action2_1.canonical.json", "minimal_action2.opt"),
        (
            "minimal_persistent.canonical.json",
            "persistent_minimal.opt",
        ),
        (
            "persistent_minimal.en.v1__full.canonical.json",
            "persistent_minimal.opt",
        ),
        (
            "multi_occurrence.canonical.json",
            "ehrbase_multi_occurrence.de.opt",
        ),
        ("nested.en.v1.canonical.json", "nested.en.v1.opt"),
        (
            "all_types_systematic_tests.canonical.json",
            "Test_all_types.opt",
        ),
    ];
    for (composition, template) in examples {
        let upload = app.upload_template(template).await;
        assert!(
            upload.status == 201 || upload.status == 409,
            "{template}: {}",
            upload.text()
        );
        let body = if composition.starts_with("all_types") {
            serde_json::to_vec(&valid_all_types()).unwrap()
        } else {
            testdata(&format!("compositions/{composition}"))
        };
        let answer = app
            .post_json(&format!("{}/composition", ehr_url(&ehr_id)), &body, &[])
            .await;
        assert_eq!(answer.status, 201, "{composition}: {}", answer.text());
        let uid = answer.etag();
        let stored = app
            .get(&format!("{}/composition/{uid}", ehr_url(&ehr_id)))
            .await;
        stored.expect(200);
        // The stored tree equals the sent tree except for the uid the server assigned.
        let mut sent = openehr_rm::json::from_slice(&body, "COMPOSITION").unwrap();
        let got = openehr_rm::json::from_slice(&stored.body, "COMPOSITION").unwrap();
        sent.set("uid", got.get("uid").unwrap().clone()).unwrap();
        assert_eq!(sent, got, "{composition}");
        // And the XML the API serves parses to the same tree.
        let xml = app
            .call(
                Method::GET,
                &format!("{}/composition/{uid}", ehr_url(&ehr_id)),
                &[("accept", "application/xml")],
                Vec::new(),
            )
            .await;
        xml.expect(200);
        assert_eq!(
            openehr_rm::xml::from_slice(&xml.body, "COMPOSITION").unwrap(),
            got,
            "{composition} as xml"
        );
    }
}

async fn directory_lifecycle(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let url = format!("{}/directory", ehr_url(&ehr_id));
    app.get(&url).await.expect(404);
    let folder = json!({
        "_type": "FOLDER",
        "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
        "name": { "_type": "DV_TEXT", "value": "root" },
        "folders": [
            { "_type": "FOLDER", "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1", "name": { "_type": "DV_TEXT", "value": "episodes" },
              "folders": [ { "_type": "FOLDER", "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1", "name": { "_type": "DV_TEXT", "value": "2026" } } ] }
        ]
    });
    let answer = app
        .post_json(
            &url,
            &serde_json::to_vec(&folder).unwrap(),
            &[("prefer", "return=representation")],
        )
        .await;
    answer.expect(201);
    let first = answer.etag();
    assert_eq!(answer.json()["uid"]["value"], first);
    assert!(
        answer
            .header("location")
            .ends_with(&format!("/directory/{first}"))
    );
    app.post_json(&url, &serde_json::to_vec(&folder).unwrap(), &[])
        .await
        .expect(409);

    let ehr = app.get(&ehr_url(&ehr_id)).await.json();
    assert_eq!(
        ehr["directory"]["id"]["value"],
        first.split("::").next().unwrap()
    );

    let answer = app.get(&format!("{url}?path=episodes/2026")).await;
    answer.expect(200);
    assert_eq!(answer.json()["name"]["value"], "2026");
    app.get(&format!("{url}?path=episodes/1999"))
        .await
        .expect(404);

    let mut changed = folder.clone();
    changed["name"]["value"] = json!("root, renamed");
    let body = serde_json::to_vec(&changed).unwrap();
    app.call(
        Method::PUT,
        &url,
        &[("content-type", "application/json")],
        body.clone(),
    )
    .await
    .expect(400);
    let answer = app
        .call(
            Method::PUT,
            &url,
            &[("content-type", "application/json"), ("if-match", &first)],
            body.clone(),
        )
        .await;
    answer.expect(204);
    let second = answer.etag();
    app.call(
        Method::PUT,
        &url,
        &[("content-type", "application/json"), ("if-match", &first)],
        body,
    )
    .await
    .expect(412);

    let answer = app.get(&format!("{url}/{first}")).await;
    answer.expect(200);
    assert_eq!(answer.json()["name"]["value"], "root");
    let answer = app.get(&format!("{url}/{first}?path=episodes")).await;
    assert_eq!(answer.json()["name"]["value"], "episodes");
    let answer = app.get(&url).await;
    assert_eq!(answer.json()["name"]["value"], "root, renamed");
    let answer = app
        .get(&format!("{url}?version_at_time=2999-01-01T00:00:00Z"))
        .await;
    assert_eq!(answer.etag(), second);
    let xml = app
        .call(
            Method::GET,
            &url,
            &[("accept", "application/xml")],
            Vec::new(),
        )
        .await;
    xml.expect(200);
    assert!(xml.text().contains("root, renamed"));

    app.call(Method::DELETE, &url, &[("if-match", &first)], Vec::new())
        .await
        .expect(412);
    let answer = app
        .call(Method::DELETE, &url, &[("if-match", &second)], Vec::new())
        .await;
    answer.expect(204);
    app.get(&url).await.expect(204);
}

fn version_entry(data: Value, change_type: (&str, &str), preceding: Option<&str>) -> Value {
    let mut entry = json!({
        "_type": "ORIGINAL_VERSION",
        "data": data,
        "commit_audit": {
            "_type": "AUDIT_DETAILS",
            "change_type": { "_type": "DV_CODED_TEXT", "value": change_type.0, "defining_code": { "_type": "CODE_PHRASE", "terminology_id": { "_type": "TERMINOLOGY_ID", "value": "openehr" }, "code_string": change_type.1 } },
            "committer": { "_type": "PARTY_IDENTIFIED", "name": "Nurse Ratched" },
            "system_id": "x",
            "time_committed": { "value": "2026-01-01T00:00:00Z" }
        },
        "lifecycle_state": { "_type": "DV_CODED_TEXT", "value": "complete", "defining_code": { "_type": "CODE_PHRASE", "terminology_id": { "_type": "TERMINOLOGY_ID", "value": "openehr" }, "code_string": "532" } }
    });
    if let Some(preceding) = preceding {
        entry["preceding_version_uid"] =
            json!({ "_type": "OBJECT_VERSION_ID", "value": preceding });
    }
    entry
}

async fn contribution_commits_all_or_nothing(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let existing = app.create_composition(&ehr_id).await;
    let example: Value =
        serde_json::from_slice(&testdata("compositions/minimal_observation.canonical.json"))
            .unwrap();
    let url = format!("{}/contribution", ehr_url(&ehr_id));
    let contribution = json!({
        "versions": [
            version_entry(example.clone(), ("creation", "249"), None),
            version_entry(example.clone(), ("modification", "251"), Some(&existing)),
        ],
        "audit": { "committer": { "_type": "PARTY_IDENTIFIED", "name": "Nurse Ratched" } }
    });
    let answer = app
        .post_json(
            &url,
            &serde_json::to_vec(&contribution).unwrap(),
            &[("prefer", "return=representation")],
        )
        .await;
    answer.expect(201);
    let body = answer.json();
    let contribution_id = answer.etag();
    assert_eq!(body["uid"]["value"], contribution_id);
    assert!(
        answer
            .header("location")
            .ends_with(&format!("/contribution/{contribution_id}"))
    );
    let versions = body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert!(
        versions[0]["id"]["value"]
            .as_str()
            .unwrap()
            .ends_with("::1")
    );
    let object_id = existing.split("::").next().unwrap();
    assert_eq!(
        versions[1]["id"]["value"],
        format!("{object_id}::{SYSTEM_ID}::2")
    );
    assert_eq!(body["audit"]["committer"]["name"], "Nurse Ratched");

    let read = app.get(&format!("{url}/{contribution_id}")).await;
    read.expect(200);
    // The same versions; the order of a contribution's versions is not significant.
    let sorted = |value: &Value| {
        let mut ids: Vec<String> = value
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"]["value"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(sorted(&read.json()["versions"]), sorted(&body["versions"]));

    // One bad version (a stale preceding version) commits nothing, not even the valid creation.
    let mut fresh = example.clone();
    let fresh_id = uuid::Uuid::new_v4();
    fresh["uid"] =
        json!({ "_type": "OBJECT_VERSION_ID", "value": format!("{fresh_id}::{SYSTEM_ID}::1") });
    let contribution = json!({
        "versions": [
            version_entry(fresh.clone(), ("creation", "249"), None),
            version_entry(example.clone(), ("modification", "251"), Some(&existing)),
        ]
    });
    let answer = app
        .post_json(&url, &serde_json::to_vec(&contribution).unwrap(), &[])
        .await;
    answer.expect(412);
    assert_eq!(
        answer.json()["details"][0]["path"],
        "/versions/1/preceding_version_uid"
    );
    app.get(&format!("{}/composition/{fresh_id}", ehr_url(&ehr_id)))
        .await
        .expect(404);

    // One invalid version (an unknown _type) commits nothing either.
    let mut broken = example.clone();
    broken["content"][0]["_type"] = json!("OBSERVATIONN");
    let contribution = json!({
        "versions": [
            version_entry(fresh.clone(), ("creation", "249"), None),
            version_entry(broken, ("creation", "249"), None),
        ]
    });
    let answer = app
        .post_json(&url, &serde_json::to_vec(&contribution).unwrap(), &[])
        .await;
    answer.expect(400);
    assert_eq!(
        answer.json()["details"][0]["path"],
        "/versions/1/data/content/0"
    );
    app.get(&format!("{}/composition/{fresh_id}", ehr_url(&ehr_id)))
        .await
        .expect(404);

    // A deletion without data, and an EHR_STATUS modification, in one contribution.
    let status = app.get(&format!("{}/ehr_status", ehr_url(&ehr_id))).await;
    let status_uid = status.etag();
    let second = format!("{object_id}::{SYSTEM_ID}::2");
    let contribution = json!({
        "versions": [
            { "preceding_version_uid": { "value": second }, "commit_audit": { "change_type": { "value": "deleted", "defining_code": { "code_string": "523" } }, "committer": { "_type": "PARTY_IDENTIFIED", "name": "x" } } },
            version_entry(status.json(), ("modification", "251"), Some(&status_uid)),
        ]
    });
    let answer = app
        .post_json(&url, &serde_json::to_vec(&contribution).unwrap(), &[])
        .await;
    answer.expect(201);
    app.get(&format!("{}/composition/{object_id}", ehr_url(&ehr_id)))
        .await
        .expect(204);
    assert!(
        app.get(&format!("{}/ehr_status", ehr_url(&ehr_id)))
            .await
            .etag()
            .ends_with("::2")
    );
}

async fn contribution_bad_input(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let url = format!("{}/contribution", ehr_url(&ehr_id));
    app.upload_template("minimal_observation.opt")
        .await
        .expect(201);
    let example: Value =
        serde_json::from_slice(&testdata("compositions/minimal_observation.canonical.json"))
            .unwrap();
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({}), 400, "/versions"),
        (json!({ "versions": [] }), 400, "/versions"),
        (
            json!({ "versions": [ { "commit_audit": {} } ] }),
            400,
            "/versions/0/data",
        ),
        (
            json!({ "versions": [ { "data": { "name": "x" } } ] }),
            400,
            "/versions/0/data/_type",
        ),
        (
            json!({ "versions": [ { "data": { "_type": "PERSON" } } ] }),
            400,
            "/versions/0/data/_type",
        ),
        (
            json!({ "versions": [ version_entry(example.clone(), ("modification", "251"), None) ] }),
            400,
            "/versions/0/preceding_version_uid",
        ),
        (
            json!({ "versions": [ version_entry(example.clone(), ("creation", "249"), Some("nonsense")) ] }),
            400,
            "/versions/0/preceding_version_uid/value",
        ),
        (
            json!({ "versions": [ version_entry(example.clone(), ("bogus", "999"), None) ] }),
            400,
            "/versions/0/commit_audit/change_type",
        ),
        (
            json!({ "versions": [ version_entry(json!({"_type": "EHR_STATUS", "archetype_node_id": "x", "name": {"value": "s"}, "subject": {"_type": "PARTY_SELF"}, "is_queryable": true, "is_modifiable": true}), ("creation", "249"), None) ] }),
            409,
            "/versions/0/data",
        ),
    ];
    for (body, status, path) in cases {
        let answer = app
            .post_json(&url, &serde_json::to_vec(&body).unwrap(), &[])
            .await;
        answer.expect(status);
        assert_eq!(
            answer.json()["details"][0]["path"],
            path,
            "{body}: {}",
            answer.text()
        );
    }
    let mut unknown_template = example.clone();
    unknown_template["archetype_details"]["template_id"]["value"] = json!("no such template");
    let answer = app.post_json(&url, &serde_json::to_vec(&json!({ "versions": [ version_entry(unknown_template, ("creation", "249"), None) ] })).unwrap(), &[]).await;
    answer.expect(422);
    assert_eq!(
        answer.json()["details"][0]["path"],
        "/versions/0/data/archetype_details/template_id/value"
    );
    app.post_json(&url, b"[1,2", &[]).await.expect(400);
    app.call(
        Method::POST,
        &url,
        &[("content-type", "application/xml")],
        b"<contribution/>".to_vec(),
    )
    .await
    .expect(415);
    app.get(&format!("{url}/{}", uuid::Uuid::new_v4()))
        .await
        .expect(404);
    app.get(&format!("{url}/nope")).await.expect(400);
}

async fn templates_upload_list_get(app: TestApp) {
    let url = format!("{BASE}/definition/template/adl1.4");
    let answer = app.upload_template("ReSPECT-3.v0.opt").await;
    answer.expect(201);
    assert_eq!(answer.header("location"), format!("{url}/ReSPECT-3.v0"));
    let answer = app
        .upload_template("IDCR - Adverse Reaction List.v1.opt")
        .await;
    answer.expect(201);
    assert_eq!(
        answer.header("location"),
        format!("{url}/Adverse%20Reaction%20List.v1")
    );
    app.upload_template("ReSPECT-3.v0.opt").await.expect(409);

    let list = app.get(&url).await;
    list.expect(200);
    let ids: Vec<String> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["template_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["Adverse Reaction List.v1", "ReSPECT-3.v0"]);
    assert_eq!(list.json()[1]["concept"], "ReSPECT-3.v0");

    let opt = app
        .get(&format!("{url}/Adverse%20Reaction%20List.v1"))
        .await;
    opt.expect(200);
    assert_eq!(opt.header("content-type"), "application/xml");
    assert_eq!(
        opt.body,
        testdata("templates/IDCR - Adverse Reaction List.v1.opt"),
        "the OPT comes back as uploaded"
    );
    // The web template, by its media type or by plain JSON as EHRbase answers.
    for (accept, content_type) in [
        ("application/openehr.wt+json", "application/openehr.wt+json"),
        ("application/json", "application/json"),
    ] {
        let answer = app
            .call(
                Method::GET,
                &format!("{url}/ReSPECT-3.v0"),
                &[("accept", accept)],
                Vec::new(),
            )
            .await;
        answer.expect(200);
        assert_eq!(answer.header("content-type"), content_type);
        // Keys in EHRbase's order, not sorted.
        assert!(
            answer
                .text()
                .starts_with(r#"{"templateId":"ReSPECT-3.v0","version":"#)
        );
        let web_template = answer.json();
        assert_eq!(web_template["templateId"], "ReSPECT-3.v0");
        assert_eq!(web_template["tree"]["rmType"], "COMPOSITION");
        assert!(web_template["tree"]["children"].as_array().unwrap().len() > 3);
    }
    app.call(
        Method::GET,
        &format!("{url}/ReSPECT-3.v0"),
        &[("accept", "text/html")],
        Vec::new(),
    )
    .await
    .expect(406);
    app.call(
        Method::GET,
        &format!("{url}/nope"),
        &[("accept", "application/openehr.wt+json")],
        Vec::new(),
    )
    .await
    .expect(404);
    app.get(&format!("{url}/nope")).await.expect(404);

    for bad in [
        &b"not xml"[..],
        b"<composition/>",
        b"<template><concept>x</concept></template>",
        b"<template><unclosed>",
    ] {
        let answer = app
            .call(
                Method::POST,
                &url,
                &[("content-type", "application/xml")],
                bad.to_vec(),
            )
            .await;
        answer.expect(400);
        assert_eq!(answer.error_code(), "invalid_template");
    }
    app.call(
        Method::POST,
        &url,
        &[("content-type", "application/json")],
        b"{}".to_vec(),
    )
    .await
    .expect(415);
}

async fn stored_queries_and_admin_deletes(app: TestApp) {
    let url = format!("{BASE}/definition/query");
    let aql = "SELECT e/ehr_id/value FROM EHR e";
    app.call(
        Method::PUT,
        &format!("{url}/org.example::ehrs/1.0.0"),
        &[("content-type", "text/plain")],
        aql.as_bytes().to_vec(),
    )
    .await
    .expect(200);
    app.call(
        Method::PUT,
        &format!("{url}/org.example::ehrs"),
        &[("content-type", "text/plain")],
        aql.as_bytes().to_vec(),
    )
    .await
    .expect(200);
    app.call(
        Method::PUT,
        &format!("{url}/org.example::ehrs/1.0.0"),
        &[],
        aql.as_bytes().to_vec(),
    )
    .await
    .expect(409);
    app.call(
        Method::PUT,
        &format!("{url}/aql/1.0.0"),
        &[],
        aql.as_bytes().to_vec(),
    )
    .await
    .expect(400);
    app.call(
        Method::PUT,
        &format!("{url}/org.example::ehrs/1.0"),
        &[],
        aql.as_bytes().to_vec(),
    )
    .await
    .expect(400);

    let list = app.get(&format!("{url}/org.example::ehrs")).await;
    list.expect(200);
    let versions: Vec<String> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(versions, ["1.0.0", "1.0.1"]);
    let query = app.get(&format!("{url}/org.example::ehrs/1.0.1")).await;
    query.expect(200);
    assert_eq!(query.json()["q"], aql);

    let answer = app
        .call(
            Method::DELETE,
            "/rest/admin/query/org.example::ehrs/1.0.0",
            &[],
            Vec::new(),
        )
        .await;
    answer.expect(200);
    app.get(&format!("{url}/org.example::ehrs/1.0.0"))
        .await
        .expect(404);
    app.call(
        Method::DELETE,
        "/rest/admin/query/org.example::ehrs/1.0.0",
        &[],
        Vec::new(),
    )
    .await
    .expect(404);

    // A template in use cannot be deleted; an unused one can.
    let ehr_id = app.create_ehr().await;
    app.create_composition(&ehr_id).await;
    let answer = app
        .call(
            Method::DELETE,
            "/rest/admin/template/minimal_observation.en.v1",
            &[],
            Vec::new(),
        )
        .await;
    answer.expect(409);
    app.upload_template("minimal_evaluation.opt")
        .await
        .expect(201);
    let answer = app
        .call(
            Method::DELETE,
            "/ehrbase/rest/admin/template/minimal_evaluation.en.v1",
            &[],
            Vec::new(),
        )
        .await;
    answer.expect(200);
    assert_eq!(answer.json()["deleted"], 1);
    app.get(&format!(
        "{BASE}/definition/template/adl1.4/minimal_evaluation.en.v1"
    ))
    .await
    .expect(404);
    // Compositions for a deleted template are refused.
    let body = testdata("compositions/minimal_evaluation.canonical.json");
    app.post_json(&format!("{}/composition", ehr_url(&ehr_id)), &body, &[])
        .await
        .expect(422);
    app.call(
        Method::DELETE,
        "/rest/admin/template/minimal_evaluation.en.v1",
        &[],
        Vec::new(),
    )
    .await
    .expect(404);
}

async fn admin_erases_an_ehr(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let uid = app.create_composition(&ehr_id).await;
    let other = app.create_ehr().await;
    let other_uid = app.create_composition(&other).await;
    app.call(
        Method::DELETE,
        &format!("/rest/admin/ehr/{ehr_id}"),
        &[],
        Vec::new(),
    )
    .await
    .expect(204);
    app.get(&ehr_url(&ehr_id)).await.expect(404);
    app.get(&format!("{}/composition/{uid}", ehr_url(&ehr_id)))
        .await
        .expect(404);
    let object_id = uid.split("::").next().unwrap().parse().unwrap();
    assert!(
        app.store
            .list_versions(ehr_id.parse().unwrap(), object_id)
            .await
            .unwrap()
            .is_empty()
    );
    app.call(
        Method::DELETE,
        &format!("/rest/admin/ehr/{ehr_id}"),
        &[],
        Vec::new(),
    )
    .await
    .expect(404);
    app.call(Method::DELETE, "/rest/admin/ehr/nope", &[], Vec::new())
        .await
        .expect(400);
    // Other EHRs are untouched.
    app.get(&format!("{}/composition/{other_uid}", ehr_url(&other)))
        .await
        .expect(200);
}

async fn concurrent_updates_with_one_if_match(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let uid = app.create_composition(&ehr_id).await;
    let object_id = uid.split("::").next().unwrap().to_owned();
    let body = app
        .get(&format!("{}/composition/{uid}", ehr_url(&ehr_id)))
        .await
        .body;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let app = app.clone();
        let (url, uid, body) = (
            format!("{}/composition/{object_id}", ehr_url(&ehr_id)),
            uid.clone(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let answer: Answer = app
                .call(
                    Method::PUT,
                    &url,
                    &[("content-type", "application/json"), ("if-match", &uid)],
                    body,
                )
                .await;
            answer.status.as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|status| **status == 204).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|status| **status == 412).count(),
        23,
        "{statuses:?}"
    );
    let history = app
        .get(&format!(
            "{}/versioned_composition/{object_id}/revision_history",
            ehr_url(&ehr_id)
        ))
        .await
        .json();
    let ids: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["version_id"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [uid.clone(), format!("{object_id}::{SYSTEM_ID}::2")]);
}

async fn ehrbase_alias_routes(app: TestApp) {
    let answer = app
        .call(
            Method::POST,
            "/ehrbase/rest/openehr/v1/ehr",
            &[],
            Vec::new(),
        )
        .await;
    answer.expect(201);
    let ehr_id = answer.etag();
    assert_eq!(
        answer.header("location"),
        format!("/ehrbase/rest/openehr/v1/ehr/{ehr_id}")
    );
    app.get(&format!("/ehrbase/rest/openehr/v1/ehr/{ehr_id}"))
        .await
        .expect(200);
    app.get(&ehr_url(&ehr_id)).await.expect(200);
}

async fn body_size_limit(_app: TestApp) {
    let Some(app) = TestApp::with_limit(support::Backend::Sqlite, 1024).await else {
        return;
    };
    let big = vec![b' '; 2048];
    let answer = app.post_json(&format!("{BASE}/ehr"), &big, &[]).await;
    answer.expect(413);
    assert_eq!(answer.error_code(), "payload_too_large");
    let example = testdata("compositions/minimal_observation.canonical.json");
    let ehr_id = app.create_ehr().await;
    app.post_json(&format!("{}/composition", ehr_url(&ehr_id)), &example, &[])
        .await
        .expect(413);
}

async fn headers_in_both_spellings(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    app.upload_template("minimal_observation.opt")
        .await
        .expect(201);
    let url = format!("{}/composition", ehr_url(&ehr_id));
    let body = testdata("compositions/minimal_observation.canonical.json");
    // 1.0.3 spelling with the 1.0.3 attribute names; 1.1.0 spelling with the short ones.
    let spellings = [
        (
            "openEHR-AUDIT_DETAILS",
            "committer.name=\"Dr Old\", description.value=\"old style\"",
            "openEHR-VERSION",
            "lifecycle_state.code_string=\"553\"",
        ),
        (
            "openehr-audit-details",
            "committer.name=\"Dr New\", description=\"new style\"",
            "openehr-version",
            "lifecycle_state=\"553\"",
        ),
    ];
    for (audit_name, audit, version_name, version) in spellings {
        let answer = app
            .post_json(
                &url,
                &body,
                &[
                    (audit_name, audit),
                    (version_name, version),
                    ("prefer", "return=identifier"),
                ],
            )
            .await;
        answer.expect(201);
        let uid = answer.etag();
        assert_eq!(answer.json()["uid"], uid);
        let object_id = uid.split("::").next().unwrap();
        let version = app
            .get(&format!(
                "{}/versioned_composition/{object_id}/version/{uid}",
                ehr_url(&ehr_id)
            ))
            .await
            .json();
        let expected_name = if audit_name.starts_with("openEHR") {
            "Dr Old"
        } else {
            "Dr New"
        };
        assert_eq!(version["commit_audit"]["committer"]["name"], expected_name);
        assert!(
            version["commit_audit"]["description"]["value"]
                .as_str()
                .unwrap()
                .ends_with("style")
        );
        assert_eq!(
            version["lifecycle_state"]["defining_code"]["code_string"],
            "553"
        );
    }
    // Attributes the server sets itself are ignored, not refused.
    let answer = app
        .post_json(
            &url,
            &body,
            &[(
                "openehr-audit-details",
                "committer.name=\"x\", system_id=\"elsewhere\"",
            )],
        )
        .await;
    answer.expect(201);

    // 1.0.3 put the attribute in the header name; 1.1.0 allows several header lines.
    let request = axum::http::Request::post(&url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .header("openEHR-AUDIT_DETAILS.committer", "name=\"Dr Split\", external_ref.id=\"BC8132EA\", external_ref.namespace=\"demographic\", external_ref.type=\"PERSON\"")
        .header("openEHR-VERSION.lifecycle_state", "code_string=\"553\"")
        .header("openehr-audit-details", "change_type.code_string=\"250\"")
        .header("openehr-audit-details", "description.value=\"second line\"");
    let answer = app
        .send(request.body(axum::body::Body::from(body.clone())).unwrap())
        .await;
    answer.expect(201);
    let uid = answer.etag();
    let object_id = uid.split("::").next().unwrap();
    let version = app
        .get(&format!(
            "{}/versioned_composition/{object_id}/version/{uid}",
            ehr_url(&ehr_id)
        ))
        .await
        .json();
    assert_eq!(version["commit_audit"]["committer"]["name"], "Dr Split");
    assert_eq!(
        version["commit_audit"]["committer"]["external_ref"]["id"]["value"],
        "BC8132EA"
    );
    assert_eq!(
        version["commit_audit"]["description"]["value"], "second line",
        "the second header line was read"
    );
    assert_eq!(
        version["commit_audit"]["change_type"]["defining_code"]["code_string"],
        "249"
    );
    assert_eq!(
        version["lifecycle_state"]["defining_code"]["code_string"],
        "553"
    );

    // Values are still checked.
    let answer = app
        .post_json(
            &url,
            &body,
            &[("openehr-audit-details", "change_type=\"nonsense\"")],
        )
        .await;
    answer.expect(400);
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("nonsense")
    );
}

async fn status_update_moves_the_subject(app: TestApp) {
    let status = |id: &str| {
        json!({
            "_type": "EHR_STATUS",
            "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
            "name": { "_type": "DV_TEXT", "value": "EHR Status" },
            "subject": { "_type": "PARTY_SELF", "external_ref": {
                "_type": "PARTY_REF", "id": { "_type": "GENERIC_ID", "value": id, "scheme": "nhs_number" },
                "namespace": "uk.nhs.nhs_number", "type": "PERSON" } },
            "is_queryable": true,
            "is_modifiable": true
        })
    };
    let first = app
        .post_json(
            &format!("{BASE}/ehr"),
            &serde_json::to_vec(&status("9000000009")).unwrap(),
            &[],
        )
        .await;
    first.expect(201);
    let ehr_id = first.etag();
    let other = app
        .post_json(
            &format!("{BASE}/ehr"),
            &serde_json::to_vec(&status("9000000017")).unwrap(),
            &[],
        )
        .await;
    other.expect(201);

    let status_url = format!("{}/ehr_status", ehr_url(&ehr_id));
    let current = app.get(&status_url).await.etag();
    let answer = app
        .call(
            Method::PUT,
            &status_url,
            &[("content-type", "application/json"), ("if-match", &current)],
            serde_json::to_vec(&status("9000000025")).unwrap(),
        )
        .await;
    answer.expect(204);
    let found = app
        .get(&format!(
            "{BASE}/ehr?subject_id=9000000025&subject_namespace=uk.nhs.nhs_number"
        ))
        .await;
    found.expect(200);
    assert_eq!(found.json()["ehr_id"]["value"], ehr_id);
    app.get(&format!(
        "{BASE}/ehr?subject_id=9000000009&subject_namespace=uk.nhs.nhs_number"
    ))
    .await
    .expect(404);

    // Taking another EHR's subject is a conflict, and nothing is written.
    let latest = answer.etag();
    let answer = app
        .call(
            Method::PUT,
            &status_url,
            &[("content-type", "application/json"), ("if-match", &latest)],
            serde_json::to_vec(&status("9000000017")).unwrap(),
        )
        .await;
    answer.expect(409);
    assert_eq!(app.get(&status_url).await.etag(), latest);
}

async fn an_unmodifiable_ehr_refuses_writes(app: TestApp) {
    let status = json!({
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": { "_type": "DV_TEXT", "value": "EHR Status" },
        "subject": { "_type": "PARTY_SELF" },
        "is_queryable": true,
        "is_modifiable": false
    });
    let created = app
        .post_json(
            &format!("{BASE}/ehr"),
            &serde_json::to_vec(&status).unwrap(),
            &[],
        )
        .await;
    created.expect(201);
    let ehr_id = created.etag();
    app.upload_template("minimal_observation.opt")
        .await
        .expect(201);
    let composition = testdata("compositions/minimal_observation.canonical.json");
    let answer = app
        .post_json(
            &format!("{}/composition", ehr_url(&ehr_id)),
            &composition,
            &[],
        )
        .await;
    answer.expect(409);
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("is_modifiable")
    );
    let folder = json!({ "_type": "FOLDER", "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1", "name": { "_type": "DV_TEXT", "value": "root" } });
    app.post_json(
        &format!("{}/directory", ehr_url(&ehr_id)),
        &serde_json::to_vec(&folder).unwrap(),
        &[],
    )
    .await
    .expect(409);

    // The status stays writable; once modifiable again, the EHR takes compositions.
    let status_url = format!("{}/ehr_status", ehr_url(&ehr_id));
    let current = app.get(&status_url).await.etag();
    let mut modifiable = status.clone();
    modifiable["is_modifiable"] = json!(true);
    app.call(
        Method::PUT,
        &status_url,
        &[("content-type", "application/json"), ("if-match", &current)],
        serde_json::to_vec(&modifiable).unwrap(),
    )
    .await
    .expect(204);
    app.post_json(
        &format!("{}/composition", ehr_url(&ehr_id)),
        &composition,
        &[],
    )
    .await
    .expect(201);
}

async fn deleted_compositions_stay_deleted(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let uid = app.create_composition(&ehr_id).await;
    let object_id = uid.split("::").next().unwrap().to_owned();
    let url = format!("{}/composition", ehr_url(&ehr_id));
    let body = app.get(&format!("{url}/{uid}")).await.body;
    let deleted = app
        .call(Method::DELETE, &format!("{url}/{uid}"), &[], Vec::new())
        .await;
    deleted.expect(204);
    let deleted_uid = deleted.etag();
    // Updating a deleted composition is refused, with either version as If-Match.
    for if_match in [uid.as_str(), deleted_uid.as_str()] {
        let answer = app
            .call(
                Method::PUT,
                &format!("{url}/{object_id}"),
                &[("content-type", "application/json"), ("if-match", if_match)],
                body.clone(),
            )
            .await;
        answer.expect(404);
    }
    // So is a contribution that modifies it, or deletes it again.
    let example: Value = serde_json::from_slice(&body).unwrap();
    let modify = json!({ "versions": [ version_entry(example, ("modification", "251"), Some(&deleted_uid)) ] });
    let answer = app
        .post_json(
            &format!("{}/contribution", ehr_url(&ehr_id)),
            &serde_json::to_vec(&modify).unwrap(),
            &[],
        )
        .await;
    answer.expect(404);
    assert_eq!(
        answer.json()["details"][0]["path"],
        "/versions/0/preceding_version_uid"
    );
    let delete = json!({ "versions": [ { "preceding_version_uid": { "value": deleted_uid }, "commit_audit": { "change_type": { "defining_code": { "code_string": "523" } } } } ] });
    let answer = app
        .post_json(
            &format!("{}/contribution", ehr_url(&ehr_id)),
            &serde_json::to_vec(&delete).unwrap(),
            &[],
        )
        .await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "already_deleted");
    let history = app
        .get(&format!(
            "{}/versioned_composition/{object_id}/revision_history",
            ehr_url(&ehr_id)
        ))
        .await
        .json();
    assert_eq!(history["items"].as_array().unwrap().len(), 2);
}

async fn contribution_ids_and_references(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    app.upload_template("minimal_observation.opt")
        .await
        .expect(201);
    let example: Value =
        serde_json::from_slice(&testdata("compositions/minimal_observation.canonical.json"))
            .unwrap();
    let url = format!("{}/contribution", ehr_url(&ehr_id));
    let contribution_id = uuid::Uuid::new_v4().to_string();
    let folder = json!({ "_type": "FOLDER", "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1", "name": { "_type": "DV_TEXT", "value": "root" } });
    let body = json!({
        "uid": { "_type": "HIER_OBJECT_ID", "value": contribution_id },
        "versions": [ version_entry(example.clone(), ("creation", "249"), None), version_entry(folder, ("creation", "249"), None) ],
        "audit": { "system_id": SYSTEM_ID, "committer": { "_type": "PARTY_IDENTIFIED", "name": "Integrator" } }
    });
    let answer = app
        .post_json(
            &url,
            &serde_json::to_vec(&body).unwrap(),
            &[("prefer", "return=representation")],
        )
        .await;
    answer.expect(201);
    assert_eq!(answer.etag(), contribution_id);
    let mut types: Vec<String> = answer.json()["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(types, ["COMPOSITION", "FOLDER"]);
    // The same contribution id again is a conflict; nothing of it is kept.
    let again = json!({ "uid": { "value": contribution_id }, "versions": [ version_entry(example.clone(), ("creation", "249"), None) ] });
    app.post_json(&url, &serde_json::to_vec(&again).unwrap(), &[])
        .await
        .expect(409);
    // Another system's id in the audit is refused.
    let foreign = json!({ "versions": [ version_entry(example.clone(), ("creation", "249"), None) ], "audit": { "system_id": "elsewhere", "committer": { "_type": "PARTY_IDENTIFIED", "name": "x" } } });
    let answer = app
        .post_json(&url, &serde_json::to_vec(&foreign).unwrap(), &[])
        .await;
    answer.expect(400);
    assert_eq!(answer.json()["details"][0]["path"], "/audit/system_id");
    // An invalid committer is named.
    let invalid = json!({ "versions": [ version_entry(example, ("creation", "249"), None) ], "audit": { "committer": { "_type": "DV_TEXT", "value": "x" } } });
    let answer = app
        .post_json(&url, &serde_json::to_vec(&invalid).unwrap(), &[])
        .await;
    answer.expect(400);
    assert!(
        answer.json()["details"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("/audit/committer")
    );
    // Identifier only.
    let plain = json!({ "versions": [ version_entry(serde_json::from_slice(&testdata("compositions/minimal_observation.canonical.json")).unwrap(), ("creation", "249"), None) ] });
    let answer = app
        .post_json(
            &url,
            &serde_json::to_vec(&plain).unwrap(),
            &[("prefer", "return=identifier")],
        )
        .await;
    answer.expect(201);
    assert_eq!(answer.json()["uid"], answer.etag());
}

async fn ehr_names_its_latest_status_version(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let ehr = app.get(&ehr_url(&ehr_id)).await.json();
    let status_uid = ehr["ehr_status"]["id"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(ehr["ehr_status"]["id"]["_type"], "OBJECT_VERSION_ID");
    assert!(status_uid.ends_with(&format!("::{SYSTEM_ID}::1")));
    // Clients send it back as If-Match to update the status.
    let status_url = format!("{}/ehr_status", ehr_url(&ehr_id));
    let status = app.get(&status_url).await.body;
    app.call(
        Method::PUT,
        &status_url,
        &[
            ("content-type", "application/json"),
            ("if-match", &status_uid),
        ],
        status,
    )
    .await
    .expect(204);
    let ehr = app.get(&ehr_url(&ehr_id)).await.json();
    assert!(
        ehr["ehr_status"]["id"]["value"]
            .as_str()
            .unwrap()
            .ends_with("::2")
    );
}

async fn stored_query_versions_match_by_prefix(app: TestApp) {
    let url = format!("{BASE}/definition/query");
    for (version, text) in [
        ("1.9.0", "SELECT c/uid/value FROM COMPOSITION c"),
        ("1.10.2", "SELECT c/name/value FROM COMPOSITION c"),
        ("2.0.0", "SELECT e/ehr_id/value FROM EHR e"),
    ] {
        app.call(
            Method::PUT,
            &format!("{url}/org.example::q/{version}?query_type=AQL"),
            &[("content-type", "text/plain")],
            text.as_bytes().to_vec(),
        )
        .await
        .expect(200);
    }
    for (pattern, expected) in [
        ("1", "1.10.2"),
        ("1.9", "1.9.0"),
        ("2.0.0", "2.0.0"),
        ("2", "2.0.0"),
    ] {
        let answer = app.get(&format!("{url}/org.example::q/{pattern}")).await;
        answer.expect(200);
        assert_eq!(answer.json()["version"], expected, "{pattern}");
    }
    app.get(&format!("{url}/org.example::q/3"))
        .await
        .expect(404);
    app.get(&format!("{url}/org.example::q/1.1"))
        .await
        .expect(404);
    app.call(
        Method::PUT,
        &format!("{url}/unqualified/1.0.0"),
        &[("content-type", "text/plain")],
        b"SELECT e/ehr_id/value FROM EHR e".to_vec(),
    )
    .await
    .expect(200);
    app.call(
        Method::PUT,
        &format!("{url}/org.example::q/1.0.0?query_type=SQL"),
        &[],
        b"SELECT 1".to_vec(),
    )
    .await
    .expect(400);
}

async fn undecodable_requests_get_json_errors(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    // A query string that is not UTF-8 once decoded, and a path segment that is not either:
    // axum refuses these before any handler runs; the answer still has the JSON error body.
    let answer = app
        .get(&format!(
            "{}/ehr_status?version_at_time=%FF",
            ehr_url(&ehr_id)
        ))
        .await;
    answer.expect(400);
    let answer = app
        .get(&format!("{}/composition/%FF%FE", ehr_url(&ehr_id)))
        .await;
    answer.expect(400);
}

/// Every JSON value in a document, by JSON pointer.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                out.push(path.clone());
                pointers(child, path, out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let path = format!("{at}/{index}");
                out.push(path.clone());
                pointers(child, path, out);
            }
        }
        _ => {}
    }
}

/// Single random mutations of a real composition (a removed attribute, a value of another
/// JSON type, an unknown `_type`, an extra attribute) are answered with 201, 400 or 422, never
/// with a server error, and a refused one writes nothing.
async fn mutated_compositions_never_get_a_server_error(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    app.upload_template("Test_all_types.opt").await.expect(201);
    let original = valid_all_types();
    let mut paths = Vec::new();
    pointers(&original, String::new(), &mut paths);
    let replacements = [
        json!(null),
        json!(42),
        json!(-1.5),
        json!("text"),
        json!(true),
        json!([]),
        json!({}),
        json!({"_type": "NO_SUCH_TYPE"}),
    ];
    // A fixed linear congruential sequence: the same mutations on every run.
    let mut seed: u64 = 0x6b69_7468;
    let mut next = |bound: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % bound
    };
    let url = format!("{}/composition", ehr_url(&ehr_id));
    let mut statuses = std::collections::BTreeMap::new();
    let mut accepted = 0;
    let mut refused = Vec::new();
    for _ in 0..300 {
        let mut mutated = original.clone();
        // Each attempt names its own object id, so a refused one can be looked for afterwards.
        let object_id = uuid::Uuid::new_v4();
        mutated["uid"] = json!({ "_type": "OBJECT_VERSION_ID", "value": format!("{object_id}::{SYSTEM_ID}::1") });
        let path = &paths[next(paths.len())];
        let (parent, key) = path.rsplit_once('/').unwrap();
        match next(3) {
            0 => match mutated.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&key.replace("~1", "/").replace("~0", "~"));
                }
                Some(Value::Array(items)) => {
                    let index: usize = key.parse().unwrap();
                    items.remove(index);
                }
                _ => {}
            },
            1 => {
                *mutated.pointer_mut(path).unwrap() =
                    replacements[next(replacements.len())].clone();
            }
            _ => {
                if let Some(Value::Object(map)) = mutated.pointer_mut(parent) {
                    map.insert("unexpected_attribute".into(), json!("x"));
                }
            }
        }
        let answer = app
            .post_json(&url, &serde_json::to_vec(&mutated).unwrap(), &[])
            .await;
        let status = answer.status.as_u16();
        assert!(
            matches!(status, 201 | 400 | 422),
            "{path}: {status} {}",
            answer.text()
        );
        if status != 201 {
            let body = answer.json();
            assert!(
                body["message"].is_string() && body["details"].is_array(),
                "{body}"
            );
            refused.push(object_id);
        } else {
            accepted += 1;
            app.get(&format!("{url}/{}", answer.etag()))
                .await
                .expect(200);
        }
        *statuses.entry(status).or_insert(0) += 1;
    }
    // Nothing of a refused attempt was stored.
    for object_id in refused {
        app.get(&format!("{url}/{object_id}")).await.expect(404);
    }
    assert!(accepted > 0, "{statuses:?}");
    eprintln!("mutations answered: {statuses:?}");
    assert!(
        statuses.get(&400).copied().unwrap_or(0) > 50,
        "the mutations exercise the refusals: {statuses:?}"
    );
    assert!(
        statuses.get(&422).copied().unwrap_or(0) > 10,
        "the mutations exercise template validation: {statuses:?}"
    );
}

async fn templates_are_parsed_at_upload_and_after_a_restart(app: TestApp) {
    // An OPT that is well-formed but has a constraint type no OPT has: refused with the path.
    let opt = String::from_utf8(testdata("templates/minimal_observation.opt")).unwrap();
    let broken = opt.replacen(
        "xsi:type=\"C_SINGLE_ATTRIBUTE\"",
        "xsi:type=\"C_NO_SUCH_ATTRIBUTE\"",
        1,
    );
    let answer = app
        .call(
            Method::POST,
            &format!("{BASE}/definition/template/adl1.4"),
            &[("content-type", "application/xml")],
            broken.into_bytes(),
        )
        .await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "invalid_template");
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("C_NO_SUCH_ATTRIBUTE"),
        "{}",
        answer.text()
    );
    app.get(&format!(
        "{BASE}/definition/template/adl1.4/minimal_observation.en.v1"
    ))
    .await
    .expect(404);

    // After a restart (a new state on the same store) the stored OPT is parsed on first use.
    app.upload_template("minimal_observation.opt")
        .await
        .expect(201);
    let config = server::Config {
        system_id: SYSTEM_ID.into(),
        admin_token: TOKEN.into(),
        body_limit: server::DEFAULT_BODY_LIMIT,
        aql_evaluation_limit: server::DEFAULT_AQL_EVALUATION_LIMIT,
        query_timeout: server::DEFAULT_QUERY_TIMEOUT,
        authentication: server::auth::Authenticator::default(),
        trusted_proxies: server::client::TrustedProxies::default(),
    };
    let restarted = server::app(
        server::AppState::new(app.store.clone(), config)
            .await
            .unwrap(),
    );
    let ehr_id = app.create_ehr().await;
    let request = axum::http::Request::post(format!("{}/composition", ehr_url(&ehr_id)))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(testdata(
            "compositions/minimal_observation.canonical.json",
        )))
        .unwrap();
    let response = tower::ServiceExt::oneshot(restarted, request)
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

/// The shared all-types example with its four template violations mended
/// (`testdata/compositions/all_types_systematic_tests.valid.canonical.json`; see
/// `compositions_are_validated_against_their_template` for what they are and why).
fn valid_all_types() -> Value {
    serde_json::from_slice(&testdata(
        "compositions/all_types_systematic_tests.valid.canonical.json",
    ))
    .unwrap()
}

async fn compositions_are_validated_against_their_template(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    app.upload_template("Test_all_types.opt").await.expect(201);
    let url = format!("{}/composition", ehr_url(&ehr_id));
    // The shared example breaks four rules; each is reported with its path, and nothing is stored.
    let example = testdata("compositions/all_types_systematic_tests.canonical.json");
    let answer = app.post_json(&url, &example, &[]).await;
    answer.expect(422);
    assert_eq!(answer.error_code(), "template_violation");
    let details = answer.json()["details"].as_array().unwrap().clone();
    let found: Vec<(&str, &str)> = details
        .iter()
        .map(|d| (d["path"].as_str().unwrap(), d["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            // A DV_CODED_TEXT's value must be the text of its local code (RM data types).
            (
                "/content[openEHR-EHR-OBSERVATION.test_all_types.v1]/data[at0001]/events[at0002]/data[at0003]/items[at0005]/value/value",
                "\"value1\" is not the text of local code at0006 (\"coded text terminology\")"
            ),
            // A URI needs a scheme (RFC 3986).
            (
                "/content[openEHR-EHR-OBSERVATION.test_all_types.v1]/data[at0001]/events[at0002]/data[at0003]/items[at0019]/value/uri/value",
                "\"www.iana.org\" is not a valid uri"
            ),
            // ELEMENT: a value or a null flavour (Inv_null_flavour_indicated).
            (
                "/content[openEHR-EHR-EVALUATION.test_all_types.v1]/data[at0001]/items[at0002]",
                "an element must have a value or a null flavour"
            ),
            // The template's date pattern forbids a day.
            (
                "/content[openEHR-EHR-SECTION.test_all_types.v1]/items[at0001]/items[at0002]/items[openEHR-EHR-INSTRUCTION.test_all_types.v1]/activities[at0001]/description[at0002]/items[at0003]/value/value",
                "\"20190114\" does not match the pattern yyyy-??-XX"
            ),
        ]
    );
    // Mended, it is accepted.
    app.post_json(&url, &serde_json::to_vec(&valid_all_types()).unwrap(), &[])
        .await
        .expect(201);

    // An update and a contribution are validated too; a contribution's paths name its version.
    let uid = app
        .post_json(&url, &serde_json::to_vec(&valid_all_types()).unwrap(), &[])
        .await
        .etag();
    let object_id = uid.split("::").next().unwrap();
    let answer = app
        .call(
            Method::PUT,
            &format!("{url}/{object_id}"),
            &[("content-type", "application/json"), ("if-match", &uid)],
            example.clone(),
        )
        .await;
    answer.expect(422);
    let contribution = json!({ "versions": [ version_entry(valid_all_types(), ("creation", "249"), None), version_entry(serde_json::from_slice(&example).unwrap(), ("creation", "249"), None) ] });
    let answer = app
        .post_json(
            &format!("{}/contribution", ehr_url(&ehr_id)),
            &serde_json::to_vec(&contribution).unwrap(),
            &[],
        )
        .await;
    answer.expect(422);
    assert!(
        answer.json()["details"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("/versions/1/data/content["),
        "{}",
        answer.text()
    );
}

async fn replace_template(app: &TestApp, url: &str, body: &str) -> Answer {
    app.call(
        Method::PUT,
        url,
        &[("content-type", "application/xml")],
        body.as_bytes().to_vec(),
    )
    .await
}

async fn admin_replaces_only_unused_templates(app: TestApp) {
    app.upload_template("minimal_observation.opt")
        .await
        .expect(201);
    let original = String::from_utf8(testdata("templates/minimal_observation.opt")).unwrap();
    let changed = original
        .replace(
            "<concept>Minimal observation</concept>",
            "<concept>Changed observation</concept>",
        )
        .replace(
            "<items id=\"text\">text</items>",
            "<items id=\"text\">Comment</items>",
        );
    let admin_url = "/rest/admin/template/minimal_observation.en.v1";
    let answer = replace_template(&app, admin_url, &changed).await;
    answer.expect(200);
    assert_eq!(answer.text(), changed);

    // The new OPT is served and the cached parse is the new one.
    let url = format!("{BASE}/definition/template/adl1.4");
    assert_eq!(
        app.get(&url).await.json()[0]["concept"],
        "Changed observation"
    );
    let web_template = app
        .call(
            Method::GET,
            &format!("{url}/minimal_observation.en.v1"),
            &[("accept", "application/openehr.wt+json")],
            Vec::new(),
        )
        .await
        .json();
    assert!(
        web_template.to_string().contains("\"Comment\""),
        "{web_template}"
    );

    // Bad replacements: another id, not an OPT, a template that does not exist.
    let answer = replace_template(&app, "/rest/admin/template/other.v1", &changed).await;
    answer.expect(400);
    assert!(
        answer.text().contains("not \\\"other.v1\\\""),
        "{}",
        answer.text()
    );
    replace_template(&app, admin_url, "<template/>")
        .await
        .expect(400);
    let missing = changed.replace("minimal_observation.en.v1", "missing.v1");
    replace_template(&app, "/rest/admin/template/missing.v1", &missing)
        .await
        .expect(404);

    // Once a composition uses it, it stays as it is.
    let ehr_id = app.create_ehr().await;
    app.post_json(
        &format!("{}/composition", ehr_url(&ehr_id)),
        &testdata("compositions/minimal_observation.canonical.json"),
        &[],
    )
    .await
    .expect(201);
    let answer = replace_template(&app, admin_url, &original).await;
    answer.expect(409);
    assert!(
        answer.text().contains("new template id"),
        "{}",
        answer.text()
    );
    assert_eq!(
        app.get(&url).await.json()[0]["concept"],
        "Changed observation"
    );
}

const FLAT: &str = "application/openehr.wt.flat+json";
const STRUCTURED: &str = "application/openehr.wt.structured+json";
const VITAL_SIGNS: &str = "ehrn_vital_signs.v2";

/// True when every key of `given` is in `got` with an equal value (numbers as numbers).
fn flat_contains(got: &Value, given: &Value) -> Result<(), String> {
    for (key, value) in given.as_object().unwrap() {
        if key.starts_with("ctx/") {
            continue;
        }
        let found = &got[key];
        let equal = match (found.as_f64(), value.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => found == value,
        };
        if !equal {
            return Err(format!("{key}: sent {value}, got {found}"));
        }
    }
    Ok(())
}

async fn simplified_formats_in_and_out(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    app.upload_template("ehrn_vital_signs.v2.opt")
        .await
        .expect(201);
    let url = format!("{}/composition", ehr_url(&ehr_id));
    let flat_example: Value =
        serde_json::from_slice(&testdata("compositions/ehrn_vital_signs.v2.flat.json")).unwrap();

    // The specification's convention: the media type and the template id header.
    let answer = app
        .call(
            Method::POST,
            &url,
            &[
                ("content-type", FLAT),
                ("openehr-template-id", VITAL_SIGNS),
                ("prefer", "return=representation"),
            ],
            serde_json::to_vec(&flat_example).unwrap(),
        )
        .await;
    answer.expect(201);
    assert_eq!(
        answer.header("content-type"),
        FLAT,
        "answers in the format it was sent"
    );
    flat_contains(&answer.json(), &flat_example).unwrap();
    let uid = answer.etag();

    // Stored as canonical JSON: read back in each format.
    let canonical = app.get(&format!("{url}/{uid}")).await;
    canonical.expect(200);
    assert_eq!(canonical.header("content-type"), "application/json");
    assert_eq!(
        canonical.json()["archetype_details"]["template_id"]["value"],
        VITAL_SIGNS
    );
    for (accept, query, content_type) in [
        (FLAT, "", FLAT),
        ("application/json", "?format=FLAT", FLAT),
        ("application/openehr.wt.flat.schema+json", "", FLAT),
        (STRUCTURED, "", STRUCTURED),
        ("*/*", "?format=STRUCTURED", STRUCTURED),
        ("application/xml", "", "application/xml"),
        (FLAT, "?format=XML", "application/xml"),
    ] {
        let answer = app
            .call(
                Method::GET,
                &format!("{url}/{uid}{query}"),
                &[("accept", accept)],
                Vec::new(),
            )
            .await;
        answer.expect(200);
        assert_eq!(
            answer.header("content-type"),
            content_type,
            "{accept} {query}"
        );
        if content_type == FLAT {
            flat_contains(&answer.json(), &flat_example).unwrap();
        }
    }

    // EHRbase's convention: format and templateId in the query, sent as application/json.
    let answer = app
        .post_json(
            &format!("{url}?format=FLAT&templateId={VITAL_SIGNS}"),
            &serde_json::to_vec(&flat_example).unwrap(),
            &[("prefer", "return=representation")],
        )
        .await;
    answer.expect(201);
    assert_eq!(answer.header("content-type"), FLAT);
    flat_contains(&answer.json(), &flat_example).unwrap();

    // STRUCTURED out, STRUCTURED back in, the same canonical composition comes out.
    let mut structured = app
        .call(
            Method::GET,
            &format!("{url}/{uid}"),
            &[("accept", STRUCTURED)],
            Vec::new(),
        )
        .await
        .json();
    // Without its uid, or it would name the composition it came from (409).
    let shown = structured.to_string();
    let root = structured
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    let root = match root {
        Value::Array(items) => &mut items[0],
        other => other,
    };
    assert!(
        root.as_object_mut().unwrap().remove("_uid").is_some(),
        "{shown}"
    );
    let structured = serde_json::to_vec(&structured).unwrap();
    let answer = app
        .call(
            Method::POST,
            &url,
            &[
                ("content-type", STRUCTURED),
                ("openehr-template-id", VITAL_SIGNS),
                ("accept", "application/json"),
                ("prefer", "return=representation"),
            ],
            structured,
        )
        .await;
    answer.expect(201);
    let mut again = answer.json();
    let mut first = canonical.json();
    for composition in [&mut again, &mut first] {
        composition.as_object_mut().unwrap().remove("uid");
    }
    assert_eq!(again, first);

    // An update in FLAT, with the 1.0.3 header spelling and a changed value.
    let mut changed = flat_example.clone();
    let systolic =
        "ehrn_vital_signs.v2/vital_signs:0/blood_pressure:0/any_event:0/systolic|magnitude";
    changed[systolic] = json!(135.0);
    let object_id = uid.split("::").next().unwrap();
    let answer = app
        .call(
            Method::PUT,
            &format!("{url}/{object_id}"),
            &[
                ("content-type", FLAT),
                ("openEHR-TEMPLATE_ID", VITAL_SIGNS),
                ("if-match", &uid),
                ("prefer", "return=representation"),
            ],
            serde_json::to_vec(&changed).unwrap(),
        )
        .await;
    answer.expect(200);
    assert_eq!(answer.json()[systolic], json!(135.0));
    assert!(answer.etag().ends_with("::2"));
}

async fn simplified_format_errors(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    app.upload_template("ehrn_vital_signs.v2.opt")
        .await
        .expect(201);
    let url = format!("{}/composition", ehr_url(&ehr_id));
    let flat_example: Value =
        serde_json::from_slice(&testdata("compositions/ehrn_vital_signs.v2.flat.json")).unwrap();
    let body = serde_json::to_vec(&flat_example).unwrap();
    let post = |headers: Vec<(&'static str, &'static str)>, url: String, body: Vec<u8>| {
        let app = &app;
        async move { app.call(Method::POST, &url, &headers, body).await }
    };

    // No template named: 422, naming both ways to name it.
    let answer = post(vec![("content-type", FLAT)], url.clone(), body.clone()).await;
    answer.expect(422);
    assert_eq!(answer.error_code(), "unknown_template");
    assert!(
        answer.text().contains("openehr-template-id"),
        "{}",
        answer.text()
    );
    // A template that was never uploaded.
    let answer = post(
        vec![("content-type", FLAT), ("openehr-template-id", "nope.v1")],
        url.clone(),
        body.clone(),
    )
    .await;
    answer.expect(422);
    assert!(answer.text().contains("nope.v1"), "{}", answer.text());

    // A key the template does not have: 400 naming the key; nothing is stored.
    let mut unknown = flat_example.clone();
    unknown["ehrn_vital_signs.v2/vital_signs:0/no_such_node"] = json!("x");
    let answer = post(
        vec![("content-type", FLAT), ("openehr-template-id", VITAL_SIGNS)],
        url.clone(),
        serde_json::to_vec(&unknown).unwrap(),
    )
    .await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "invalid_simplified_format");
    let details = answer.json()["details"].clone();
    assert!(
        details
            .as_array()
            .unwrap()
            .iter()
            .any(|detail| detail["path"] == "ehrn_vital_signs.v2/vital_signs:0/no_such_node"),
        "{details}"
    );

    // A value outside the template's constraints converts, then fails validation with 422.
    let mut out_of_range = flat_example.clone();
    out_of_range["ehrn_vital_signs.v2/vital_signs:0/blood_pressure:0/any_event:0/systolic|magnitude"] =
        json!(-5.0);
    let answer = post(
        vec![("content-type", FLAT), ("openehr-template-id", VITAL_SIGNS)],
        url.clone(),
        serde_json::to_vec(&out_of_range).unwrap(),
    )
    .await;
    answer.expect(422);
    assert_eq!(answer.error_code(), "template_violation");
    assert!(
        answer.json()["details"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("/value/magnitude"),
        "{}",
        answer.text()
    );

    // Not JSON, not an object, an unknown format, FLAT declared over XML.
    let headers = vec![("content-type", FLAT), ("openehr-template-id", VITAL_SIGNS)];
    post(headers.clone(), url.clone(), b"{not json".to_vec())
        .await
        .expect(400);
    let answer = post(headers.clone(), url.clone(), b"[1, 2]".to_vec()).await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "invalid_simplified_format");
    let answer = post(
        vec![("content-type", "application/json")],
        format!("{url}?format=CSV"),
        body.clone(),
    )
    .await;
    answer.expect(400);
    assert_eq!(answer.error_code(), "invalid_parameter");
    post(
        vec![("content-type", "application/xml")],
        format!("{url}?format=FLAT&templateId={VITAL_SIGNS}"),
        body.clone(),
    )
    .await
    .expect(415);
    // An Accept nobody offers.
    let uid = app
        .call(
            Method::POST,
            &url,
            &[("content-type", FLAT), ("openehr-template-id", VITAL_SIGNS)],
            body.clone(),
        )
        .await
        .etag();
    app.call(
        Method::GET,
        &format!("{url}/{uid}"),
        &[("accept", "text/csv")],
        Vec::new(),
    )
    .await
    .expect(406);
}

async fn every_template_has_an_example_that_commits(app: TestApp) {
    let ehr_id = app.create_ehr().await;
    let url = format!("{}/composition", ehr_url(&ehr_id));
    let mut files: Vec<String> = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/templates"),
    )
    .unwrap()
    .map(|entry| entry.unwrap().file_name().into_string().unwrap())
    .collect();
    files.sort();
    assert_eq!(files.len(), 15);
    let mut failures = Vec::new();
    for file in &files {
        let answer = app.upload_template(file).await;
        answer.expect(201);
        let template_id = answer
            .header("location")
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let example_url = format!("{BASE}/definition/template/adl1.4/{template_id}/example");
        for (query, accept, content_type) in [
            ("", "application/json", "application/json"),
            ("?format=XML", "", "application/xml"),
            ("?format=FLAT", "", FLAT),
            ("", STRUCTURED, STRUCTURED),
        ] {
            let mut headers = vec![];
            if !accept.is_empty() {
                headers.push(("accept", accept));
            }
            let example = app
                .call(
                    Method::GET,
                    &format!("{example_url}{query}"),
                    &headers,
                    Vec::new(),
                )
                .await;
            if example.status != 200 {
                failures.push(format!("{file} example {content_type}: {}", example.text()));
                continue;
            }
            assert_eq!(
                example.header("content-type"),
                content_type,
                "{file} {query}"
            );
            // Every form of the example commits, so it validates against its template.
            let decoded_id = template_id.replace("%20", " ");
            let answer = app
                .call(
                    Method::POST,
                    &url,
                    &[
                        ("content-type", content_type),
                        ("openehr-template-id", &decoded_id),
                    ],
                    example.body.clone(),
                )
                .await;
            if answer.status != 201 {
                failures.push(format!("{file} commit {content_type}: {}", answer.text()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    app.get(&format!("{BASE}/definition/template/adl1.4/nope/example"))
        .await
        .expect(404);
}

/// For every kind of constraint, a composition that breaks exactly that one (generated by
/// `templates::example::mutations` from the template's example) is refused with 422 and a
/// violation at the path of the broken node; the unbroken example commits.
async fn each_kind_of_broken_constraint_is_refused_with_its_path(app: TestApp) {
    use std::collections::BTreeSet;
    use templates::example::{MutationKind, example, mutations};
    let ehr_id = app.create_ehr().await;
    let url = format!("{}/composition", ehr_url(&ehr_id));
    let mut committed: BTreeSet<String> = BTreeSet::new();
    for file in [
        "Test_all_types.opt",
        "ehrn_vital_signs.v2.opt",
        "ReSPECT-3.v0.opt",
        "IDCR - Adverse Reaction List.v1.opt",
        "IDCR - Problem List.v1.opt",
        "minimal_action2.opt",
        "minimal_instruction.opt",
        "nested.en.v1.opt",
        "ehrbase_multi_occurrence.de.opt",
    ] {
        app.upload_template(file).await.expect(201);
        let template = templates::opt::parse(&testdata(&format!("templates/{file}"))).unwrap();
        let valid = example(&template);
        app.post_json(&url, &openehr_rm::json::to_vec(&valid), &[])
            .await
            .expect(201);
        // One mutation of each kind per template is enough; the templates crate's property
        // test runs tens of thousands against the validator directly.
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for mutation in mutations(&template, &valid) {
            let kind = format!("{:?}", mutation.kind);
            if !seen.insert(kind.clone()) {
                continue;
            }
            let answer = app
                .post_json(&url, &openehr_rm::json::to_vec(&mutation.composition), &[])
                .await;
            assert_eq!(
                answer.status,
                422,
                "{file}, {kind} ({}): {}",
                mutation.description,
                answer.text()
            );
            // A composition naming another template names one that was never uploaded.
            let code = if mutation.kind == MutationKind::TemplateIdMismatch {
                "unknown_template"
            } else {
                "template_violation"
            };
            assert_eq!(answer.error_code(), code, "{file}, {kind}");
            let paths: Vec<String> = answer.json()["details"]
                .as_array()
                .unwrap()
                .iter()
                .map(|detail| detail["path"].as_str().unwrap().to_owned())
                .collect();
            assert!(
                paths.contains(&mutation.path),
                "{file}, {kind} ({}): expected a violation at {}, got {paths:?}",
                mutation.description,
                mutation.path
            );
            committed.insert(kind);
        }
    }
    // No shared composition template has a quantity with a property and no units, or a
    // unique container: the EHR_STATUS and FOLDER templates below have, and that test
    // commits those kinds.
    let missing: Vec<String> = MutationKind::ALL
        .iter()
        .filter(|kind| {
            !matches!(
                kind,
                MutationKind::QuantityProperty | MutationKind::DuplicateMember
            )
        })
        .map(|kind| format!("{kind:?}"))
        .filter(|kind| !committed.contains(kind))
        .collect();
    assert!(missing.is_empty(), "kinds never committed: {missing:?}");
}

/// The details' paths of a 422 template violation.
fn violation_paths(answer: &Answer, what: &str) -> Vec<String> {
    assert_eq!(answer.status, 422, "{what}: {}", answer.text());
    assert_eq!(answer.error_code(), "template_violation", "{what}");
    answer.json()["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| detail["path"].as_str().unwrap().to_owned())
        .collect()
}

/// An EHR_STATUS or FOLDER that names an uploaded template is validated against it like a
/// composition (at EHR creation, on update and in a contribution), with paths; one naming a
/// template that was never uploaded is checked against the RM only, since their templates
/// are optional.
async fn ehr_status_and_folder_templates_are_enforced_where_named(app: TestApp) {
    use std::collections::BTreeSet;
    use templates::example::{MutationKind, example, mutations};
    let upload = |file: &'static str| {
        let app = &app;
        async move {
            app.call(
                Method::POST,
                &format!("{BASE}/definition/template/adl1.4"),
                &[("content-type", "application/xml")],
                testdata(&format!("handwritten/{file}")),
            )
            .await
        }
    };
    upload("kith_ehr_status.v1.opt").await.expect(201);
    upload("kith_folder.v1.opt").await.expect(201);
    let parse =
        |file: &str| templates::opt::parse(&testdata(&format!("handwritten/{file}"))).unwrap();
    let mut committed: BTreeSet<MutationKind> = BTreeSet::new();

    // EHR_STATUS: the example creates an EHR; each kind of mutation is refused on update.
    let template = parse("kith_ehr_status.v1.opt");
    let status = example(&template);
    let answer = app
        .post_json(
            &format!("{BASE}/ehr"),
            &openehr_rm::json::to_vec(&status),
            &[],
        )
        .await;
    answer.expect(201);
    let ehr_id = answer.etag();
    let status_url = format!("{}/ehr_status", ehr_url(&ehr_id));
    let mut seen = BTreeSet::new();
    let all = mutations(&template, &status);
    let broken = all
        .iter()
        .find(|mutation| mutation.kind == MutationKind::QuantityProperty)
        .expect("a property mutation");
    let answer = app
        .post_json(
            &format!("{BASE}/ehr"),
            &openehr_rm::json::to_vec(&broken.composition),
            &[],
        )
        .await;
    assert!(violation_paths(&answer, "ehr creation").contains(&broken.path));
    for mutation in &all {
        if !seen.insert(mutation.kind) {
            continue;
        }
        let latest = app.get(&status_url).await.etag();
        let answer = app
            .call(
                Method::PUT,
                &status_url,
                &[
                    ("content-type", "application/json"),
                    ("if-match", &format!("\"{latest}\"")),
                ],
                openehr_rm::json::to_vec(&mutation.composition),
            )
            .await;
        let what = format!("ehr_status {:?} ({})", mutation.kind, mutation.description);
        if mutation.kind == MutationKind::TemplateIdMismatch {
            // Another template, never uploaded: the RM alone decides.
            assert_eq!(answer.status, 204, "{what}: {}", answer.text());
            continue;
        }
        let paths = violation_paths(&answer, &what);
        assert!(
            paths.contains(&mutation.path),
            "{what}: expected {}, got {paths:?}",
            mutation.path
        );
        committed.insert(mutation.kind);
    }
    // The same check inside a contribution, with the version's path in front.
    let latest = app.get(&status_url).await.etag();
    let contribution = json!({"versions": [{
        "_type": "ORIGINAL_VERSION",
        "preceding_version_uid": {"_type": "OBJECT_VERSION_ID", "value": latest},
        "lifecycle_state": {"_type": "DV_CODED_TEXT", "value": "complete",
            "defining_code": {"_type": "CODE_PHRASE", "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"}, "code_string": "532"}},
        "commit_audit": {"_type": "AUDIT_DETAILS", "system_id": SYSTEM_ID,
            "committer": {"_type": "PARTY_IDENTIFIED", "name": "Dr Who"},
            "time_committed": {"_type": "DV_DATE_TIME", "value": "2024-01-15T09:30:00Z"},
            "change_type": {"_type": "DV_CODED_TEXT", "value": "modification",
                "defining_code": {"_type": "CODE_PHRASE", "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"}, "code_string": "251"}}},
        "data": serde_json::from_slice::<Value>(&openehr_rm::json::to_vec(&broken.composition)).unwrap()
    }]});
    let answer = app
        .post_json(
            &format!("{}/contribution", ehr_url(&ehr_id)),
            &serde_json::to_vec(&contribution).unwrap(),
            &[],
        )
        .await;
    assert!(
        violation_paths(&answer, "contribution")
            .contains(&format!("/versions/0/data{}", broken.path)),
        "{}",
        answer.text()
    );
    // Naming no template, or one never uploaded: the RM only.
    let mut untemplated: Value =
        serde_json::from_slice(&openehr_rm::json::to_vec(&broken.composition)).unwrap();
    untemplated["archetype_details"]["template_id"]["value"] = json!("never.uploaded.v1");
    let latest = app.get(&status_url).await.etag();
    app.call(
        Method::PUT,
        &status_url,
        &[
            ("content-type", "application/json"),
            ("if-match", &format!("\"{latest}\"")),
        ],
        serde_json::to_vec(&untemplated).unwrap(),
    )
    .await
    .expect(204);

    // FOLDER: the example is the directory; each kind of mutation is refused on update.
    let template = parse("kith_folder.v1.opt");
    let folder = example(&template);
    // The example EHR_STATUS above says is_modifiable false (the generator's default).
    let ehr_id = app.create_ehr().await;
    let directory_url = format!("{}/directory", ehr_url(&ehr_id));
    app.post_json(&directory_url, &openehr_rm::json::to_vec(&folder), &[])
        .await
        .expect(201);
    let mut seen = BTreeSet::new();
    for mutation in mutations(&template, &folder) {
        if !seen.insert(mutation.kind) || mutation.kind == MutationKind::TemplateIdMismatch {
            continue;
        }
        let latest = app.get(&directory_url).await.etag();
        let answer = app
            .call(
                Method::PUT,
                &directory_url,
                &[
                    ("content-type", "application/json"),
                    ("if-match", &format!("\"{latest}\"")),
                ],
                openehr_rm::json::to_vec(&mutation.composition),
            )
            .await;
        let what = format!("directory {:?} ({})", mutation.kind, mutation.description);
        let paths = violation_paths(&answer, &what);
        assert!(
            paths.contains(&mutation.path),
            "{what}: expected {}, got {paths:?}",
            mutation.path
        );
        committed.insert(mutation.kind);
    }
    for kind in [
        MutationKind::QuantityProperty,
        MutationKind::DuplicateMember,
        MutationKind::NullFlavourInvalid,
        MutationKind::WrongTerminology,
        MutationKind::MissingMandatory,
    ] {
        assert!(
            committed.contains(&kind),
            "{kind:?} never refused: {committed:?}"
        );
    }

    // The example endpoint serves an EHR_STATUS template's example; FLAT is for compositions.
    let example_url = format!("{BASE}/definition/template/adl1.4/kith_ehr_status.v1/example");
    let answer = app.get(&example_url).await;
    answer.expect(200);
    assert_eq!(answer.json()["_type"], "EHR_STATUS");
    let answer = app.get(&format!("{example_url}?format=XML")).await;
    answer.expect(200);
    assert!(answer.text().contains("<ehr_status"), "{}", answer.text());
    app.get(&format!("{example_url}?format=FLAT"))
        .await
        .expect(406);

    // A composition cannot name an EHR_STATUS template.
    let answer = app
        .post_json(
            &format!("{}/composition", ehr_url(&ehr_id)),
            &openehr_rm::json::to_vec(&status),
            &[],
        )
        .await;
    assert!(
        answer.status == 400 || answer.status == 422,
        "{}",
        answer.text()
    );
}
