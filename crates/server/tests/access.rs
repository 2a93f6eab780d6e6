//! Access control end to end: the authorisation matrix (callers by requests by consent
//! states, every cell a request through the real router with a real token), break-glass,
//! leaks through AQL, and the audit trail (one event per request, tamper detection by
//! `kith audit verify`'s check, the person's access log).

#[macro_use]
mod support;
#[path = "support/access.rs"]
mod access_support;

use access::{Purpose, Role};
use access_support::*;
use axum::http::Method;
use serde_json::{Value, json};
use support::{BASE, Backend, testdata};

macro_rules! access_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = super::AccessApp::new(super::Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = super::AccessApp::new(super::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

access_tests!(
    authorisation_matrix,
    break_glass_is_for_clinicians_with_a_reason_and_always_shown,
    aql_reveals_nothing_hidden,
    every_request_about_a_person_leaves_one_event_and_tampering_is_found,
    registration_and_definitions_need_their_roles,
    every_route_is_decided_and_a_stranger_gets_nothing,
    encoded_and_crafted_paths_are_decided_like_plain_ones,
    purposes_break_glass_and_organisations_cannot_be_stretched,
    a_wide_reach_is_one_list_parameter,
    queries_are_in_the_access_log_of_each_person_they_list,
    population_filters_follow_the_registry_at_once,
);

/// The minimal observation template's compositions are "mental health" here.
fn mental_health() -> access::DataCategories {
    access::DataCategories::from_json(
        r#"{"categories": {
            "mental-health": {"sensitive": true, "templates": ["minimal_observation.en.v1"]},
            "sexual-health": {"sensitive": true},
            "safeguarding": {"sensitive": true}
        }}"#,
    )
    .expect("categories")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sensitive_compositions_need_a_permit_naming_their_category() {
    if let Some(app) = AccessApp::with_categories(Backend::Sqlite, mental_health()).await {
        sensitive_compositions_need_a_permit_naming_their_category(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sensitive_compositions_need_a_permit_naming_their_category() {
    if let Some(app) = AccessApp::with_categories(Backend::Postgres, mental_health()).await {
        sensitive_compositions_need_a_permit_naming_their_category(app).await;
    }
}

async fn sensitive_compositions_need_a_permit_naming_their_category(access: AccessApp) {
    let circle = circle(&access).await;
    let composition = format!(
        "{BASE}/ehr/{}/composition/{}",
        circle.ehr_id, circle.composition_uid
    );
    let versioned = format!(
        "{BASE}/ehr/{}/versioned_composition/{}/version/{}",
        circle.ehr_id,
        circle.composition_uid.split("::").next().unwrap(),
        circle.composition_uid
    );
    let gp = access.who("gp-clinician", Role::Clinician, Some(GP), None, None);
    let patient = access.who("patient", Role::Patient, None, Some(&circle.nhs), None);
    // The record is open to the practice, the mental health composition is not; the answer
    // is the one a missing composition gets.
    access
        .send(
            &gp,
            Method::GET,
            &format!("{BASE}/ehr/{}", circle.ehr_id),
            None,
        )
        .await
        .expect(200);
    for uri in [&composition, &versioned] {
        let refused = access.send(&gp, Method::GET, uri, None).await;
        refused.expect(404);
        assert!(
            refused.text().contains("does not exist"),
            "{}",
            refused.text()
        );
        access
            .send(&patient, Method::GET, uri, None)
            .await
            .expect(200);
        access
            .send(&access.admin(), Method::GET, uri, None)
            .await
            .expect(200);
    }
    // Nor anything about it: its versioned object, its history, the contribution that
    // committed it.
    let object_id = circle.composition_uid.split("::").next().unwrap();
    let original = access
        .send(&access.admin(), Method::GET, &versioned, None)
        .await;
    original.expect(200);
    let contribution_id = original.json()["contribution"]["id"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("a contribution id: {}", original.text()))
        .to_owned();
    for uri in [
        format!(
            "{BASE}/ehr/{}/versioned_composition/{object_id}",
            circle.ehr_id
        ),
        format!(
            "{BASE}/ehr/{}/versioned_composition/{object_id}/revision_history",
            circle.ehr_id
        ),
        format!(
            "{BASE}/ehr/{}/contribution/{contribution_id}",
            circle.ehr_id
        ),
    ] {
        access.send(&gp, Method::GET, &uri, None).await.expect(404);
        access
            .send(&patient, Method::GET, &uri, None)
            .await
            .expect(200);
    }
    // AQL shows nothing of it either: no row, and no count; but the rest of the record (a
    // composition of another template) stays in the practice's queries.
    let answer = access.app.upload_template("minimal_evaluation.opt").await;
    assert!(
        answer.status == 201 || answer.status == 409,
        "{}",
        answer.text()
    );
    access
        .app
        .post_json(
            &format!("{BASE}/ehr/{}/composition", circle.ehr_id),
            &testdata("compositions/minimal_evaluation.canonical.json"),
            &[],
        )
        .await
        .expect(201);
    let rows = |who: Who, q: &'static str| {
        let access = &access;
        async move { access.aql_rows(&who, q).await }
    };
    let count = |who: Who| {
        let access = &access;
        async move {
            access
                .aql_count(
                    &who,
                    "SELECT COUNT(c/uid/value) FROM EHR e CONTAINS COMPOSITION c",
                )
                .await
        }
    };
    assert_eq!(count(gp.clone()).await, 1, "the general composition only");
    assert_eq!(count(patient.clone()).await, 2);
    let researcher = access.who(
        "researcher",
        Role::Clinician,
        Some(HOSPITAL),
        None,
        Some(Purpose::Research),
    );
    assert_eq!(
        count(researcher.clone()).await,
        1,
        "secondary use: general data only"
    );
    // Every way of reaching the sensitive composition finds it absent for the practice and
    // present for the person: by template, by a contained archetype (with and without its
    // composition, folded into a value test or not), through NOT CONTAINS (where its absence
    // must not be seen as presence), and by a query evaluated on the documents (VERSION).
    let sensitive = [
        (
            "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE c/archetype_details/template_id/value = 'minimal_observation.en.v1'",
            0,
            1,
        ),
        (
            "SELECT e/ehr_id/value FROM EHR e CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.minimal.v1]",
            0,
            1,
        ),
        (
            "SELECT COUNT(DISTINCT e/ehr_id/value) FROM EHR e CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.minimal.v1] CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.minimal.v1] WHERE EXISTS o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value",
            0,
            1,
        ),
        (
            "SELECT e/ehr_id/value FROM EHR e NOT CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.minimal.v1]",
            1,
            0,
        ),
        (
            "SELECT v/uid/value FROM EHR e CONTAINS VERSION v CONTAINS COMPOSITION c",
            1,
            2,
        ),
    ];
    for (q, practice, person) in sensitive {
        let found = |rows: Vec<Value>| {
            if q.contains("COUNT") {
                rows[0][0].as_u64().unwrap() as usize
            } else {
                rows.len()
            }
        };
        assert_eq!(found(rows(gp.clone(), q).await), practice, "practice: {q}");
        assert_eq!(found(rows(patient.clone(), q).await), person, "person: {q}");
    }
    // A permit for the whole record does not reach it; one naming the category does.
    directive(
        &access,
        &circle.person_id,
        json!({"decision": "permit", "actors": [{"kind": "organisation", "code": GP}]}),
    )
    .await;
    access
        .send(&gp, Method::GET, &composition, None)
        .await
        .expect(404);
    directive(
        &access,
        &circle.person_id,
        json!({"decision": "permit", "actors": [{"kind": "organisation", "code": GP}],
               "categories": ["mental-health"]}),
    )
    .await;
    access
        .send(&gp, Method::GET, &composition, None)
        .await
        .expect(200);
    assert_eq!(count(gp.clone()).await, 2);
    assert_eq!(count(researcher).await, 1, "the permit is for the practice");
    for (q, _, person) in sensitive {
        let found = rows(gp.clone(), q).await;
        let found = if q.contains("COUNT") {
            found[0][0].as_u64().unwrap() as usize
        } else {
            found.len()
        };
        assert_eq!(found, person, "practice with the permit: {q}");
    }
    // Break-glass reaches it, for another clinician.
    let emergency = access
        .who("ed-doctor", Role::Clinician, Some(HOSPITAL), None, None)
        .with("kith-purpose", "emergency-care")
        .with(
            "kith-break-glass",
            "collapsed at home, known to mental health services",
        );
    access
        .send(&emergency, Method::GET, &composition, None)
        .await
        .expect(200);
}

/// The callers of the matrix.
struct Callers {
    all: Vec<Who>,
}

impl Callers {
    fn new(access: &AccessApp, circle: &Circle) -> Callers {
        let who = |name, role, organisation, nhs, purpose| {
            access.who(name, role, organisation, nhs, purpose)
        };
        Callers {
            all: vec![
                access.admin(),
                who("gp-clinician", Role::Clinician, Some(GP), None, None),
                who("gp-nurse", Role::Nurse, Some(GP), None, None),
                who("gp-admin", Role::AdministrativeStaff, Some(GP), None, None),
                who("gp-system", Role::SystemIntegration, Some(GP), None, None),
                who(
                    "hospital-clinician",
                    Role::Clinician,
                    Some(HOSPITAL),
                    None,
                    None,
                ),
                who("pharmacist", Role::Clinician, Some(PHARMACY), None, None),
                who("hospice-nurse", Role::Nurse, Some(HOSPICE), None, None),
                who(
                    "care-worker",
                    Role::CareWorker,
                    Some(SOCIAL_CARE),
                    None,
                    None,
                ),
                who("patient", Role::Patient, None, Some(&circle.nhs), None),
                who(
                    "other-patient",
                    Role::Patient,
                    None,
                    Some(&circle.other_nhs),
                    None,
                ),
                who(PROXY_USER, Role::Proxy, None, None, None),
                who(
                    "researcher",
                    Role::Clinician,
                    Some(HOSPITAL),
                    None,
                    Some(Purpose::Research),
                ),
            ],
        }
    }

    fn get(&self, name: &str) -> &Who {
        self.all
            .iter()
            .find(|who| who.name == name)
            .unwrap_or_else(|| panic!("no caller {name}"))
    }
}

/// The requests of the matrix, about the person of the circle.
const REQUESTS: [&str; 6] = [
    "ehr",
    "composition",
    "write",
    "person",
    "consents",
    "access-log",
];

async fn request(access: &AccessApp, circle: &Circle, who: &Who, request: &str) -> u16 {
    let person = &circle.person_id;
    let ehr = &circle.ehr_id;
    let answer = match request {
        "ehr" => {
            access
                .send(who, Method::GET, &format!("{BASE}/ehr/{ehr}"), None)
                .await
        }
        "composition" => {
            access
                .send(
                    who,
                    Method::GET,
                    &format!("{BASE}/ehr/{ehr}/composition/{}", circle.composition_uid),
                    None,
                )
                .await
        }
        "write" => {
            let body: Value = serde_json::from_slice(&testdata(
                "compositions/minimal_observation.canonical.json",
            ))
            .unwrap();
            access
                .send(
                    who,
                    Method::POST,
                    &format!("{BASE}/ehr/{ehr}/composition"),
                    Some(body),
                )
                .await
        }
        "person" => {
            access
                .send(who, Method::GET, &format!("/api/v1/people/{person}"), None)
                .await
        }
        "consents" => {
            access
                .send(
                    who,
                    Method::GET,
                    &format!("/api/v1/people/{person}/consents"),
                    None,
                )
                .await
        }
        "access-log" => {
            access
                .send(
                    who,
                    Method::GET,
                    &format!("/api/v1/people/{person}/access-log"),
                    None,
                )
                .await
        }
        other => panic!("no request {other}"),
    };
    // A refusal is the answer a missing record gets: nothing else.
    if answer.status == 404 {
        let code = answer.error_code();
        assert!(
            code == "ehr_not_found" || code == "not_found",
            "{} {request}: {}",
            who.name,
            answer.text()
        );
        assert!(
            answer.text().contains("does not exist"),
            "{} {request}: {}",
            who.name,
            answer.text()
        );
    }
    answer.status.as_u16()
}

/// One line per caller and consent state: the outcome of each request in [`REQUESTS`] order,
/// `A` allowed (200 or 201) and `-` refused as if the record did not exist (404).
const MATRIX: &[(&str, &str, &str)] = &[
    // No directive: direct care through the GP practice's relationship; the person and
    // their proxy everything; administrative staff demographics only; secondary use reads.
    ("none", "administrator", "AAAAAA"),
    ("none", "gp-clinician", "AAAA--"),
    ("none", "gp-nurse", "AAAA--"),
    ("none", "gp-admin", "---A--"),
    ("none", "gp-system", "AAAA--"),
    ("none", "hospital-clinician", "------"),
    ("none", "pharmacist", "------"),
    ("none", "hospice-nurse", "------"),
    ("none", "care-worker", "------"),
    ("none", "patient", "AAAAAA"),
    ("none", "other-patient", "------"),
    ("none", PROXY_USER, "AAAAAA"),
    ("none", "researcher", "AA----"),
    // The person denies their GP practice everything.
    ("deny-gp", "administrator", "AAAAAA"),
    ("deny-gp", "gp-clinician", "------"),
    ("deny-gp", "gp-nurse", "------"),
    ("deny-gp", "gp-admin", "------"),
    ("deny-gp", "gp-system", "------"),
    ("deny-gp", "hospital-clinician", "------"),
    ("deny-gp", "patient", "AAAAAA"),
    ("deny-gp", PROXY_USER, "AAAAAA"),
    ("deny-gp", "researcher", "AA----"),
    // The person lets the hospice in for direct care.
    ("permit-hospice", "hospice-nurse", "AAAA--"),
    ("permit-hospice", "pharmacist", "------"),
    ("permit-hospice", "gp-clinician", "AAAA--"),
    ("permit-hospice", "care-worker", "------"),
    // A national data opt-out: no research, direct care unchanged.
    ("opt-out", "researcher", "------"),
    ("opt-out", "gp-clinician", "AAAA--"),
    ("opt-out", "patient", "AAAAAA"),
];

async fn authorisation_matrix(access: AccessApp) {
    let states = ["none", "deny-gp", "permit-hospice", "opt-out"];
    let mut every_caller = Vec::new();
    for state in states {
        // A fresh circle per state, so directives do not add up.
        let circle = circle(&access).await;
        let callers = Callers::new(&access, &circle);
        match state {
            "none" => {}
            "deny-gp" => {
                directive(
                    &access,
                    &circle.person_id,
                    json!({"decision": "deny", "actors": [{"kind": "organisation", "code": GP}]}),
                )
                .await;
            }
            "permit-hospice" => {
                directive(
                    &access,
                    &circle.person_id,
                    json!({"decision": "permit",
                           "actors": [{"kind": "organisation", "code": HOSPICE}],
                           "purposes": ["direct-care"]}),
                )
                .await;
            }
            "opt-out" => {
                directive(
                    &access,
                    &circle.person_id,
                    json!({"decision": "deny", "purposes": ["research", "population-health"],
                           "note": "national data opt-out"}),
                )
                .await;
            }
            other => panic!("no state {other}"),
        }
        let rows: Vec<_> = MATRIX.iter().filter(|(s, _, _)| *s == state).collect();
        assert!(!rows.is_empty());
        for (_, name, expected) in rows {
            let who = callers.get(name);
            for (index, name_of_request) in REQUESTS.iter().enumerate() {
                let status = request(&access, &circle, who, name_of_request).await;
                let outcome = if (200..300).contains(&status) {
                    'A'
                } else if status == 404 {
                    '-'
                } else {
                    panic!("{state} {name} {name_of_request}: unexpected status {status}");
                };
                assert_eq!(
                    outcome,
                    expected.as_bytes()[index] as char,
                    "{state}: {name} {name_of_request} answered {status}"
                );
            }
        }
        every_caller = callers.all;
    }
    // Every caller appears in the matrix: a new kind of caller needs its line.
    for who in &every_caller {
        assert!(
            MATRIX.iter().any(|(_, name, _)| *name == who.name),
            "{} has no line in the matrix",
            who.name
        );
    }
}

async fn break_glass_is_for_clinicians_with_a_reason_and_always_shown(access: AccessApp) {
    let circle = circle(&access).await;
    let uri = format!("{BASE}/ehr/{}", circle.ehr_id);
    let reason = "unconscious in the emergency department, no history available";
    let clinician = access.who("ed-doctor", Role::Clinician, Some(HOSPITAL), None, None);
    let emergency = clinician.with("kith-purpose", "emergency-care");
    // Refused: no reason, a short one, the wrong purpose, a role that may not, a write.
    for (who, method) in [
        (emergency.clone(), Method::GET),
        (emergency.with("kith-break-glass", "urgent"), Method::GET),
        (clinician.with("kith-break-glass", reason), Method::GET),
        (
            access
                .who("carer", Role::CareWorker, Some(SOCIAL_CARE), None, None)
                .with("kith-purpose", "emergency-care")
                .with("kith-break-glass", reason),
            Method::GET,
        ),
        (emergency.with("kith-break-glass", reason), Method::POST),
    ] {
        // The POST is a write (a composition), which break-glass never allows.
        let (target, body) = if method == Method::POST {
            (
                format!("{uri}/composition"),
                Some(
                    serde_json::from_slice(&testdata(
                        "compositions/minimal_observation.canonical.json",
                    ))
                    .unwrap(),
                ),
            )
        } else {
            (uri.clone(), None)
        };
        let answer = access.send(&who, method.clone(), &target, body).await;
        assert_eq!(
            answer.status,
            404,
            "{:?} {method}: {}",
            who.headers,
            answer.text()
        );
    }
    // Allowed: a clinician, emergency care, a reason; even over the person's deny.
    directive(
        &access,
        &circle.person_id,
        json!({"decision": "deny", "actors": [{"kind": "organisation", "code": HOSPITAL}]}),
    )
    .await;
    let broken = emergency.with("kith-break-glass", reason);
    access
        .send(&broken, Method::GET, &uri, None)
        .await
        .expect(200);
    access
        .send(
            &broken,
            Method::GET,
            &format!(
                "{BASE}/ehr/{}/composition/{}",
                circle.ehr_id, circle.composition_uid
            ),
            None,
        )
        .await
        .expect(200);

    // The privacy officer's list has both reads, with the reason.
    let review = access
        .send(
            &access.admin(),
            Method::GET,
            "/api/v1/audit?break_glass=true",
            None,
        )
        .await;
    review.expect(200);
    let events = review.json()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 2, "{events:?}");
    for event in &events {
        assert_eq!(event["break_glass"], reason);
        assert_eq!(event["user"], "ed-doctor");
        assert_eq!(event["decision"], "allow");
        assert_eq!(event["person"], circle.person_id.as_str());
    }
    // The person sees them in "who looked at my record".
    let patient = access.who("patient", Role::Patient, None, Some(&circle.nhs), None);
    let log = access
        .send(&patient, Method::GET, "/api/v1/me/access-log", None)
        .await;
    log.expect(200);
    let mine = log.json()["events"].as_array().unwrap().clone();
    let glass: Vec<&Value> = mine
        .iter()
        .filter(|event| event["break_glass"] == reason)
        .collect();
    assert_eq!(glass.len(), 2);
    // And the refused attempts are there too, as refusals.
    assert!(
        mine.iter()
            .any(|event| event["user"] == "carer" && event["decision"] == "deny")
    );
    // Another person's log is not theirs to read; their own has nothing of the other's.
    let other = access.who(
        "other-patient",
        Role::Patient,
        None,
        Some(&circle.other_nhs),
        None,
    );
    let other_log = access
        .send(&other, Method::GET, "/api/v1/me/access-log", None)
        .await;
    other_log.expect(200);
    assert!(
        other_log.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|event| event["person"] == circle.other_person_id.as_str())
    );
    access
        .send(
            &access.who("nurse", Role::Nurse, Some(GP), None, None),
            Method::GET,
            "/api/v1/me/access-log",
            None,
        )
        .await
        .expect(403);
    // FHIR export of the review list.
    let fhir = access
        .send(
            &access.admin(),
            Method::GET,
            "/api/v1/audit?break_glass=true&format=fhir",
            None,
        )
        .await;
    fhir.expect(200);
    assert_eq!(fhir.json()["resourceType"], "Bundle");
    assert_eq!(
        fhir.json()["entry"][0]["resource"]["resourceType"],
        "AuditEvent"
    );
    access
        .send(&broken, Method::GET, "/api/v1/audit", None)
        .await
        .expect(403);
}

/// "Who looked at my record" includes queries whose rows showed the person's record among
/// others, without telling them who the others were; counts show nobody.
async fn queries_are_in_the_access_log_of_each_person_they_list(access: AccessApp) {
    let circle = circle(&access).await;
    // The other person joins the practice and has a composition too.
    access
        .send(
            &access.admin(),
            Method::POST,
            &format!("/api/v1/people/{}/relationships", circle.other_person_id),
            Some(json!({"kind": "registered-gp", "organisation": GP, "period": {"start": "2020-01-01T00:00:00Z"}})),
        )
        .await
        .expect(201);
    access.app.create_composition(&circle.other_ehr_id).await;
    let gp = access.who("gp-clinician", Role::Clinician, Some(GP), None, None);
    let query = |q: &'static str| {
        let access = &access;
        let gp = gp.clone();
        async move { access.aql_rows(&gp, q).await.len() }
    };
    // By EHR id, by whole composition, and a count.
    assert_eq!(
        query("SELECT e/ehr_id/value FROM EHR e CONTAINS COMPOSITION c").await,
        2
    );
    assert_eq!(query("SELECT c FROM EHR e CONTAINS COMPOSITION c").await, 2);
    assert_eq!(
        query("SELECT COUNT(c/uid/value) FROM EHR e CONTAINS COMPOSITION c").await,
        1
    );
    for (nhs, ehr_id, other_ehr) in [
        (&circle.nhs, &circle.ehr_id, &circle.other_ehr_id),
        (&circle.other_nhs, &circle.other_ehr_id, &circle.ehr_id),
    ] {
        let person = access.who("patient", Role::Patient, None, Some(nhs), None);
        let log = access
            .send(&person, Method::GET, "/api/v1/me/access-log", None)
            .await;
        log.expect(200);
        let queries: Vec<Value> = log.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["action"] == "query")
            .cloned()
            .collect();
        assert_eq!(queries.len(), 2, "{}", log.text());
        for event in &queries {
            assert_eq!(event["user"], "gp-clinician");
            assert_eq!(event["records"], json!([ehr_id]), "only their own record");
            assert!(!event.to_string().contains(other_ehr.as_str()));
        }
    }
    // The administrator's trail lists both records on each event.
    let trail = access
        .send(&access.admin(), Method::GET, "/api/v1/audit", None)
        .await;
    trail.expect(200);
    let listed: Vec<Value> = trail.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["action"] == "query" && event["user"] == "gp-clinician")
        .map(|event| event["records"].clone())
        .collect();
    let mut both = vec![circle.ehr_id.clone(), circle.other_ehr_id.clone()];
    both.sort();
    assert_eq!(listed, vec![json!(both), json!(both), Value::Null]);
}

/// A caller's population filter is reused between queries, but every change to the
/// registry (a relationship, a directive, its end) shows in the next query.
async fn population_filters_follow_the_registry_at_once(access: AccessApp) {
    let circle = circle(&access).await;
    access.app.create_composition(&circle.other_ehr_id).await;
    let gp = access.who("gp-clinician", Role::Clinician, Some(GP), None, None);
    let count = || {
        let access = &access;
        let gp = gp.clone();
        async move {
            access
                .aql_count(
                    &gp,
                    "SELECT COUNT(c/uid/value) FROM EHR e CONTAINS COMPOSITION c",
                )
                .await
        }
    };
    assert_eq!(count().await, 1, "only the registered person");
    assert_eq!(count().await, 1, "again, from the kept filter");
    // The other person registers with the practice: in the very next query.
    let relationship = access
        .send(
            &access.admin(),
            Method::POST,
            &format!("/api/v1/people/{}/relationships", circle.other_person_id),
            Some(json!({"kind": "registered-gp", "organisation": GP})),
        )
        .await;
    relationship.expect(201);
    let relationship_id = relationship.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(count().await, 2);
    // The first person closes their record to the practice.
    directive(
        &access,
        &circle.person_id,
        json!({"decision": "deny", "actors": [{"kind": "organisation", "code": GP}]}),
    )
    .await;
    assert_eq!(count().await, 1);
    // The other person leaves the practice.
    access
        .send(
            &access.admin(),
            Method::DELETE,
            &format!(
                "/api/v1/people/{}/relationships/{relationship_id}",
                circle.other_person_id
            ),
            None,
        )
        .await
        .expect(204);
    assert_eq!(count().await, 0);
}

async fn aql_reveals_nothing_hidden(access: AccessApp) {
    let circle = circle(&access).await;
    // A composition for the other person too, whom the GP practice does not care for.
    access.app.create_composition(&circle.other_ehr_id).await;
    let count = |who: Who| {
        let access = &access;
        async move {
            access
                .aql_count(
                    &who,
                    "SELECT COUNT(c/uid/value) FROM EHR e CONTAINS COMPOSITION c",
                )
                .await
        }
    };
    let ids = |who: Who| {
        let access = &access;
        async move {
            access
                .aql_rows(
                    &who,
                    "SELECT DISTINCT e/ehr_id/value FROM EHR e CONTAINS COMPOSITION c ORDER BY e/ehr_id/value LIMIT 10",
                )
                .await
                .iter()
                .map(|row| row[0].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let gp = access.who("gp-clinician", Role::Clinician, Some(GP), None, None);
    let hospital = access.who(
        "hospital-clinician",
        Role::Clinician,
        Some(HOSPITAL),
        None,
        None,
    );
    let researcher = access.who(
        "researcher",
        Role::Clinician,
        Some(HOSPITAL),
        None,
        Some(Purpose::Research),
    );
    let carer = access.who(
        "carer",
        Role::CareWorker,
        Some(SOCIAL_CARE),
        None,
        Some(Purpose::Research),
    );
    assert_eq!(count(access.admin()).await, 2);
    assert_eq!(count(gp.clone()).await, 1);
    assert_eq!(ids(gp.clone()).await, vec![circle.ehr_id.clone()]);
    assert_eq!(count(hospital.clone()).await, 0);
    assert_eq!(ids(hospital.clone()).await, Vec::<String>::new());
    assert_eq!(count(researcher.clone()).await, 2);
    assert_eq!(
        count(carer.clone()).await,
        0,
        "a care worker has no secondary use"
    );
    // With the person's deny for the practice and their opt-out, counts and pages drop them.
    directive(
        &access,
        &circle.person_id,
        json!({"decision": "deny", "actors": [{"kind": "organisation", "code": GP}]}),
    )
    .await;
    directive(
        &access,
        &circle.person_id,
        json!({"decision": "deny", "purposes": ["research"]}),
    )
    .await;
    assert_eq!(count(gp.clone()).await, 0);
    assert_eq!(ids(gp.clone()).await, Vec::<String>::new());
    assert_eq!(count(researcher.clone()).await, 1);
    assert_eq!(
        ids(researcher.clone()).await,
        vec![circle.other_ehr_id.clone()]
    );
    // A query naming the hidden EHR finds nothing rather than an error that tells.
    let scoped = access
        .send(
            &gp,
            Method::GET,
            &format!(
                "{BASE}/query/aql?q=SELECT%20c/uid/value%20FROM%20EHR%20e%20CONTAINS%20COMPOSITION%20c&ehr_id={}",
                circle.ehr_id
            ),
            None,
        )
        .await;
    scoped.expect(200);
    assert_eq!(scoped.json()["rows"], json!([]));
    // Explain is for administrators only.
    access
        .send(
            &gp,
            Method::GET,
            &format!("{BASE}/query/aql?q=SELECT%20e/ehr_id/value%20FROM%20EHR%20e&explain=true"),
            None,
        )
        .await
        .expect(403);
    access
        .send(
            &access.admin(),
            Method::GET,
            &format!("{BASE}/query/aql?q=SELECT%20e/ehr_id/value%20FROM%20EHR%20e&explain=true"),
            None,
        )
        .await
        .expect(200);
}

async fn every_request_about_a_person_leaves_one_event_and_tampering_is_found(access: AccessApp) {
    let circle = circle(&access).await;
    let before = audit_events(&access).await.len();
    let gp = access.who("gp-clinician", Role::Clinician, Some(GP), None, None);
    let stranger = access.who(
        "hospital-clinician",
        Role::Clinician,
        Some(HOSPITAL),
        None,
        None,
    );
    let requests: Vec<(Who, &str)> = vec![
        (gp.clone(), "ehr"),
        (gp.clone(), "composition"),
        (gp.clone(), "person"),
        (stranger.clone(), "ehr"),
        (stranger.clone(), "person"),
        (stranger.clone(), "consents"),
    ];
    for (index, (who, name)) in requests.iter().enumerate() {
        let status = request(&access, &circle, who, name).await;
        let events = audit_events(&access).await;
        assert_eq!(
            events.len(),
            before + index + 1,
            "{} {name} ({status}) left {} events",
            who.name,
            events.len() - before - index
        );
        let last = events.last().unwrap();
        assert_eq!(last["user"], who.name);
        assert_eq!(last["person"], circle.person_id.as_str());
        assert_eq!(
            last["decision"],
            if status < 300 { "allow" } else { "deny" },
            "{last}"
        );
        assert!(last["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    }
    // Requests about no person leave none.
    let quiet = audit_events(&access).await.len();
    access
        .send(
            &gp,
            Method::GET,
            &format!("{BASE}/definition/template/adl1.4"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(audit_events(&access).await.len(), quiet);

    // The chain verifies; changing, deleting or reordering any stored event breaks it at
    // that event.
    let rows = access
        .app
        .store
        .read_audit(&store::AuditFilter::default())
        .await
        .unwrap();
    let stored = |rows: &[store::AuditRow]| -> Vec<access::StoredEvent> {
        rows.iter()
            .map(|row| access::StoredEvent {
                seq: row.seq,
                canonical: row.canonical.clone(),
                hash: row.hash,
            })
            .collect()
    };
    let verified = access::audit::verify_chain(stored(&rows)).expect("the chain verifies");
    assert_eq!(verified.events, rows.len() as u64);
    for target in [0, rows.len() / 2, rows.len() - 1] {
        let mut changed = rows.clone();
        let text = String::from_utf8(changed[target].canonical.clone()).unwrap();
        changed[target].canonical = text
            .replace("\"allow\"", "\"deny\"")
            .replace("\"deny\"", "\"allow\"")
            .into_bytes();
        if changed[target].canonical == rows[target].canonical {
            changed[target].canonical.push(b' ');
        }
        let broken = access::audit::verify_chain(stored(&changed)).unwrap_err();
        assert_eq!(broken.seq, rows[target].seq);

        let mut deleted = rows.clone();
        deleted.remove(target);
        if target + 1 < rows.len() {
            let broken = access::audit::verify_chain(stored(&deleted)).unwrap_err();
            assert_eq!(broken.seq, rows[target + 1].seq);
        }
    }
    let mut reordered = rows.clone();
    reordered.swap(1, 2);
    assert!(access::audit::verify_chain(stored(&reordered)).is_err());
}

async fn audit_events(access: &AccessApp) -> Vec<Value> {
    let answer = access
        .send(&access.admin(), Method::GET, "/api/v1/audit", None)
        .await;
    answer.expect(200);
    // Reading the trail is itself no event about a person.
    answer.json()["events"].as_array().unwrap().clone()
}

async fn registration_and_definitions_need_their_roles(access: AccessApp) {
    let clinician = access.who("gp-clinician", Role::Clinician, Some(GP), None, None);
    let clerk = access.who("gp-admin", Role::AdministrativeStaff, Some(GP), None, None);
    let person = json!({"nhs_number": NHS, "name": {"family": "Smith"}});
    let refused = access
        .send(
            &clinician,
            Method::POST,
            "/api/v1/people",
            Some(person.clone()),
        )
        .await;
    refused.expect(403);
    assert!(
        refused.text().contains("may not register people"),
        "{}",
        refused.text()
    );
    let registered = access
        .send(&clerk, Method::POST, "/api/v1/people", Some(person))
        .await;
    registered.expect(201);
    let person_id = registered.json()["id"].as_str().unwrap().to_owned();
    // The clerk records their own practice's relationship, not another's.
    let uri = format!("/api/v1/people/{person_id}/relationships");
    access
        .send(
            &access.admin(),
            Method::PUT,
            &format!("/api/v1/organisations/{GP}"),
            Some(json!({"name": "GP", "type": "gp-practice"})),
        )
        .await
        .expect(201);
    access
        .send(
            &access.admin(),
            Method::PUT,
            &format!("/api/v1/organisations/{HOSPITAL}"),
            Some(json!({"name": "H", "type": "acute-hospital"})),
        )
        .await
        .expect(201);
    access
        .send(
            &clerk,
            Method::POST,
            &uri,
            Some(json!({"kind": "registered-gp", "organisation": HOSPITAL})),
        )
        .await
        .expect(403);
    access
        .send(
            &clerk,
            Method::POST,
            &uri,
            Some(json!({"kind": "registered-gp", "organisation": GP})),
        )
        .await
        .expect(201);
    // Named professionals and proxies are recorded by administrators; a registered-GP
    // relationship only by a GP practice.
    access
        .send(
            &clerk,
            Method::POST,
            &uri,
            Some(json!({"kind": "care-team", "organisation": GP, "professional": "anyone-at-all"})),
        )
        .await
        .expect(403);
    access
        .send(
            &access.admin(),
            Method::PUT,
            &format!("/api/v1/organisations/{PHARMACY}"),
            Some(json!({"name": "P", "type": "pharmacy"})),
        )
        .await
        .expect(201);
    let pharmacy_system = access.who(
        "pharmacy-system",
        Role::SystemIntegration,
        Some(PHARMACY),
        None,
        None,
    );
    access
        .send(
            &pharmacy_system,
            Method::POST,
            &uri,
            Some(json!({"kind": "registered-gp", "organisation": PHARMACY})),
        )
        .await
        .expect(403);
    // Now the practice's clinician reads the demographics; merging is the administrator's.
    access
        .send(
            &clinician,
            Method::GET,
            &format!("/api/v1/people/{person_id}"),
            None,
        )
        .await
        .expect(200);
    access
        .send(
            &clerk,
            Method::POST,
            &format!("/api/v1/people/{person_id}/merge"),
            Some(json!({"into": person_id})),
        )
        .await
        .expect(403);
    // Templates and stored queries: administrators and systems add them, anyone reads.
    let opt = testdata("templates/minimal_observation.opt");
    let upload = |who: Who| {
        let access = &access;
        let opt = opt.clone();
        async move {
            let mut request = axum::http::Request::builder()
                .method(Method::POST)
                .uri(format!("{BASE}/definition/template/adl1.4"))
                .header("authorization", format!("Bearer {}", who.token))
                .header("content-type", "application/xml");
            for (name, value) in &who.headers {
                request = request.header(name.as_str(), value.as_str());
            }
            access
                .app
                .send(request.body(axum::body::Body::from(opt)).unwrap())
                .await
        }
    };
    upload(clinician.clone()).await.expect(403);
    upload(access.who("forms", Role::SystemIntegration, Some(GP), None, None))
        .await
        .expect(201);
    access
        .send(
            &clinician,
            Method::GET,
            &format!("{BASE}/definition/template/adl1.4"),
            None,
        )
        .await
        .expect(200);
    access
        .send(
            &access.admin(),
            Method::PUT,
            "/api/v1/organisations/X1",
            Some(json!({"name": "X", "type": "hospice"})),
        )
        .await
        .expect(201);
    access
        .send(
            &clerk,
            Method::PUT,
            "/api/v1/organisations/X2",
            Some(json!({"name": "X", "type": "hospice"})),
        )
        .await
        .expect(403);
}

/// How a route treats a caller with no right to the person it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Touches one person: a stranger gets what a missing record gets.
    Person,
    /// A query: answered, with the stranger's rows filtered out.
    Query,
    /// Needs a role the stranger (a clinician) does not have: 403 whatever the record.
    Role,
    /// Holds no person's data.
    Open,
}

/// Every route of the router, by the files that register them: a route added without a
/// line here fails `every_route_is_decided_and_a_stranger_gets_nothing`.
const ROUTES: &[(&str, &str, Class)] = &[
    ("POST", "/rest/openehr/v1/ehr", Class::Role),
    ("GET", "/rest/openehr/v1/ehr", Class::Person),
    ("GET", "/rest/openehr/v1/ehr/{ehr_id}", Class::Person),
    ("PUT", "/rest/openehr/v1/ehr/{ehr_id}", Class::Role),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/ehr_status",
        Class::Person,
    ),
    (
        "PUT",
        "/rest/openehr/v1/ehr/{ehr_id}/ehr_status",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/ehr_status/{version_uid}",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/versioned_ehr_status",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/versioned_ehr_status/revision_history",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/versioned_ehr_status/version",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/versioned_ehr_status/version/{version_uid}",
        Class::Person,
    ),
    (
        "POST",
        "/rest/openehr/v1/ehr/{ehr_id}/composition",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/composition/{uid}",
        Class::Person,
    ),
    (
        "PUT",
        "/rest/openehr/v1/ehr/{ehr_id}/composition/{uid}",
        Class::Person,
    ),
    (
        "DELETE",
        "/rest/openehr/v1/ehr/{ehr_id}/composition/{uid}",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/versioned_composition/{object_id}",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/versioned_composition/{object_id}/revision_history",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/versioned_composition/{object_id}/version",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/versioned_composition/{object_id}/version/{version_uid}",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/directory",
        Class::Person,
    ),
    (
        "POST",
        "/rest/openehr/v1/ehr/{ehr_id}/directory",
        Class::Person,
    ),
    (
        "PUT",
        "/rest/openehr/v1/ehr/{ehr_id}/directory",
        Class::Person,
    ),
    (
        "DELETE",
        "/rest/openehr/v1/ehr/{ehr_id}/directory",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/directory/{version_uid}",
        Class::Person,
    ),
    (
        "POST",
        "/rest/openehr/v1/ehr/{ehr_id}/contribution",
        Class::Person,
    ),
    (
        "GET",
        "/rest/openehr/v1/ehr/{ehr_id}/contribution/{contribution_id}",
        Class::Person,
    ),
    (
        "POST",
        "/rest/openehr/v1/definition/template/adl1.4",
        Class::Role,
    ),
    (
        "GET",
        "/rest/openehr/v1/definition/template/adl1.4",
        Class::Open,
    ),
    (
        "GET",
        "/rest/openehr/v1/definition/template/adl1.4/{template_id}",
        Class::Open,
    ),
    (
        "GET",
        "/rest/openehr/v1/definition/template/adl1.4/{template_id}/example",
        Class::Open,
    ),
    ("GET", "/rest/openehr/v1/query/aql", Class::Query),
    ("POST", "/rest/openehr/v1/query/aql", Class::Query),
    ("GET", "/rest/openehr/v1/query/{name}", Class::Query),
    ("POST", "/rest/openehr/v1/query/{name}", Class::Query),
    (
        "GET",
        "/rest/openehr/v1/query/{name}/{version}",
        Class::Query,
    ),
    (
        "POST",
        "/rest/openehr/v1/query/{name}/{version}",
        Class::Query,
    ),
    ("GET", "/rest/openehr/v1/definition/query", Class::Open),
    (
        "GET",
        "/rest/openehr/v1/definition/query/{name}",
        Class::Open,
    ),
    (
        "PUT",
        "/rest/openehr/v1/definition/query/{name}",
        Class::Role,
    ),
    (
        "GET",
        "/rest/openehr/v1/definition/query/{name}/{version}",
        Class::Open,
    ),
    (
        "PUT",
        "/rest/openehr/v1/definition/query/{name}/{version}",
        Class::Role,
    ),
    ("DELETE", "/rest/admin/ehr/{ehr_id}", Class::Role),
    ("DELETE", "/rest/admin/template/{template_id}", Class::Role),
    ("PUT", "/rest/admin/template/{template_id}", Class::Role),
    ("DELETE", "/rest/admin/query/{name}/{version}", Class::Role),
    ("POST", "/api/v1/people", Class::Role),
    ("GET", "/api/v1/people", Class::Query),
    ("GET", "/api/v1/people/{id}", Class::Person),
    ("PUT", "/api/v1/people/{id}", Class::Person),
    ("POST", "/api/v1/people/{id}/merge", Class::Role),
    ("GET", "/api/v1/people/{id}/relationships", Class::Person),
    ("POST", "/api/v1/people/{id}/relationships", Class::Role),
    (
        "DELETE",
        "/api/v1/people/{id}/relationships/{relationship_id}",
        Class::Role,
    ),
    ("GET", "/api/v1/people/{id}/consents", Class::Person),
    ("POST", "/api/v1/people/{id}/consents", Class::Person),
    (
        "GET",
        "/api/v1/people/{id}/consents/{directive_id}",
        Class::Person,
    ),
    (
        "PUT",
        "/api/v1/people/{id}/consents/{directive_id}",
        Class::Person,
    ),
    ("GET", "/api/v1/people/{id}/access-log", Class::Person),
    ("GET", "/api/v1/me/access-log", Class::Role),
    ("GET", "/api/v1/audit", Class::Role),
    ("GET", "/api/v1/organisations", Class::Open),
    ("GET", "/api/v1/organisations/{code}", Class::Open),
    ("PUT", "/api/v1/organisations/{code}", Class::Role),
];

/// The routes the router's source files register, as (method, full path): a tidy check, so
/// that [`ROUTES`] cannot fall behind the router.
fn registered_routes() -> Vec<(String, String)> {
    let source = |file: &str| {
        std::fs::read_to_string(format!("{}/src/{file}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|error| panic!("{file}: {error}"))
    };
    let mut routes = Vec::new();
    for (file, prefix) in [
        ("openehr/mod.rs", "/rest/openehr/v1"),
        ("admin.rs", "/rest/admin"),
        ("api/mod.rs", "/api/v1"),
    ] {
        let text = source(file);
        for piece in text.split(".route(").skip(1) {
            let piece = piece.trim_start();
            let Some(rest) = piece.strip_prefix('"') else {
                continue;
            };
            let (path, rest) = rest.split_once('"').expect("a closed string");
            // The handlers of this route: up to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let mut end = rest.len();
            for (index, character) in rest.char_indices() {
                match character {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = index;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let handlers = &rest[..end];
            for (method, call) in [
                ("GET", "get("),
                ("POST", "post("),
                ("PUT", "put("),
                ("DELETE", "delete("),
            ] {
                let found = handlers.match_indices(call).any(|(index, _)| {
                    index == 0
                        || !handlers[..index]
                            .chars()
                            .last()
                            .is_some_and(|before| before.is_alphanumeric() || before == '_')
                });
                if found {
                    routes.push((method.to_owned(), format!("{prefix}{path}")));
                }
            }
        }
    }
    routes.sort();
    routes
}

async fn every_route_is_decided_and_a_stranger_gets_nothing(access: AccessApp) {
    let mut listed: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(method, path, _)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    listed.sort();
    assert_eq!(
        registered_routes(),
        listed,
        "every route the router registers needs its line in ROUTES (and no other)"
    );

    let circle = circle(&access).await;
    let admin = access.admin();
    // A stored query, a directive and a relationship for the routes that name them.
    access
        .app
        .call(
            Method::PUT,
            &format!("{BASE}/definition/query/kith.test::all/1.0.0"),
            &[("content-type", "text/plain")],
            "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c",
        )
        .await
        .expect(200);
    let directive_id = directive(
        &access,
        &circle.person_id,
        json!({"decision": "deny", "purposes": ["research"]}),
    )
    .await;
    let relationship = access
        .send(
            &admin,
            Method::GET,
            &format!("/api/v1/people/{}/relationships", circle.person_id),
            None,
        )
        .await
        .json()["relationships"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let object_id = circle
        .composition_uid
        .split("::")
        .next()
        .unwrap()
        .to_owned();
    let status = access
        .send(
            &admin,
            Method::GET,
            &format!("{BASE}/ehr/{}/ehr_status", circle.ehr_id),
            None,
        )
        .await;
    let status_uid = status.json()["uid"]["value"].as_str().unwrap().to_owned();
    let fill = |path: &str| {
        let version_uid = if path.contains("ehr_status") {
            status_uid.clone()
        } else {
            circle.composition_uid.clone()
        };
        let mut filled = path
            .replace("{ehr_id}", &circle.ehr_id)
            .replace("{uid}", &circle.composition_uid)
            .replace("{version_uid}", &version_uid)
            .replace("{object_id}", &object_id)
            .replace("{contribution_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{id}", &circle.person_id)
            .replace("{relationship_id}", &relationship)
            .replace("{directive_id}", &directive_id)
            .replace("{template_id}", "minimal_observation.en.v1")
            .replace("{name}", "kith.test::all")
            .replace("{version}", "1.0.0")
            .replace("{code}", GP);
        if path.ends_with("/rest/openehr/v1/ehr") {
            filled.push_str(&format!(
                "?subject_id={}&subject_namespace=uk.nhs.nhs_number",
                circle.nhs
            ));
        }
        filled
    };
    let body_for = |path: &str| -> Option<Value> {
        if path.contains("/composition") {
            Some(
                serde_json::from_slice(&testdata(
                    "compositions/minimal_observation.canonical.json",
                ))
                .unwrap(),
            )
        } else if path.contains("/consents") {
            Some(
                json!({"decision": "permit", "actors": [{"kind": "organisation", "code": HOSPITAL}]}),
            )
        } else if path.ends_with("/query/aql") {
            Some(json!({"q": "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c"}))
        } else {
            Some(json!({}))
        }
    };
    let stranger = access.who(
        "hospital-clinician",
        Role::Clinician,
        Some(HOSPITAL),
        None,
        None,
    );
    for (method, path, class) in ROUTES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut uri = fill(path);
        if method == Method::GET && path.ends_with("/query/aql") {
            uri.push_str("?q=SELECT%20c/uid/value%20FROM%20EHR%20e%20CONTAINS%20COMPOSITION%20c");
        }
        if method == Method::GET && path.ends_with("/api/v1/people") {
            uri.push_str(&format!("?nhs_number={}", circle.nhs));
        }
        let body = if method == Method::GET || method == Method::DELETE {
            None
        } else {
            body_for(path)
        };
        // Requests well formed in every other way, so that only the decision answers.
        let who = if method == Method::PUT {
            let version = if path.contains("/composition") {
                circle.composition_uid.clone()
            } else if path.contains("ehr_status") {
                status_uid.clone()
            } else {
                "1".to_owned()
            };
            stranger.with("if-match", &format!("\"{version}\""))
        } else {
            stranger.clone()
        };
        let answer = access.send(&who, method.clone(), &uri, body).await;
        let status = answer.status.as_u16();
        match class {
            Class::Person => {
                // The answer a missing record gets (its wording varies by route, never by
                // whether the record exists).
                assert_eq!(status, 404, "{method} {path}: {}", answer.text());
                assert!(
                    ["ehr_not_found", "not_found", "object_not_found"]
                        .contains(&answer.error_code().as_str()),
                    "{method} {path}: {}",
                    answer.text()
                );
            }
            Class::Role => assert_eq!(status, 403, "{method} {path}: {}", answer.text()),
            Class::Query => {
                assert_eq!(status, 200, "{method} {path}: {}", answer.text());
                let text = answer.text();
                assert!(
                    !text.contains(&circle.ehr_id)
                        && !text.contains(&object_id)
                        && !text.contains(&circle.person_id),
                    "{method} {path} revealed the record: {text}"
                );
            }
            Class::Open => assert!(
                status < 500 && !answer.text().contains(&circle.ehr_id),
                "{method} {path}: {}",
                answer.text()
            ),
        }
    }
    // The record is as it was: nothing the stranger sent was written.
    let versions = access
        .send(
            &admin,
            Method::GET,
            &format!(
                "{BASE}/ehr/{}/versioned_composition/{object_id}/revision_history",
                circle.ehr_id
            ),
            None,
        )
        .await;
    versions.expect(200);
    let history = versions.json();
    let items = history
        .as_array()
        .or_else(|| history["items"].as_array())
        .unwrap_or_else(|| panic!("a revision history: {history}"));
    assert_eq!(items.len(), 1, "{history}");
}

/// Found in review: a percent-encoded EHR id, or a path ending in the EHR id, once reached
/// handlers without a decision.
async fn encoded_and_crafted_paths_are_decided_like_plain_ones(access: AccessApp) {
    let circle = circle(&access).await;
    let stranger = access.who(
        "hospital-clinician",
        Role::Clinician,
        Some(HOSPITAL),
        None,
        None,
    );
    // "7" is %37: the first character of the id percent-encoded.
    let encoded = |id: &str| {
        let mut characters = id.chars();
        let first = characters.next().unwrap();
        format!("%{:02X}{}", first as u32, characters.as_str())
    };
    let ehr = encoded(&circle.ehr_id);
    for uri in [
        format!("{BASE}/ehr/{ehr}"),
        format!("{BASE}/ehr/{ehr}/composition/{}", circle.composition_uid),
        format!("{BASE}/ehr/{}", circle.ehr_id.to_uppercase()),
    ] {
        let answer = access.send(&stranger, Method::GET, &uri, None).await;
        assert_eq!(answer.status, 404, "{uri}: {}", answer.text());
    }
    // The same encoded path works for those allowed.
    let gp = access.who("gp-clinician", Role::Clinician, Some(GP), None, None);
    access
        .send(&gp, Method::GET, &format!("{BASE}/ehr/{ehr}"), None)
        .await
        .expect(200);
    let body: Value =
        serde_json::from_slice(&testdata("compositions/minimal_observation.canonical.json"))
            .unwrap();
    access
        .send(
            &stranger,
            Method::POST,
            &format!("{BASE}/ehr/{ehr}/composition"),
            Some(body.clone()),
        )
        .await
        .expect(404);
    // A PUT whose path ends in the EHR id is an update of a composition, decided as one.
    let object_id = circle.composition_uid.split("::").next().unwrap();
    let crafted = format!(
        "{BASE}/ehr/{}/composition/{object_id}::{}",
        circle.ehr_id, circle.ehr_id
    );
    let answer = access
        .send(
            &stranger.with("if-match", &format!("\"{}\"", circle.composition_uid)),
            Method::PUT,
            &crafted,
            Some(body),
        )
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text());
    let history = access
        .send(
            &access.admin(),
            Method::GET,
            &format!(
                "{BASE}/ehr/{}/versioned_composition/{object_id}/revision_history",
                circle.ehr_id
            ),
            None,
        )
        .await
        .json();
    let items = history
        .as_array()
        .or_else(|| history["items"].as_array())
        .unwrap()
        .clone();
    assert_eq!(
        items.len(),
        1,
        "the composition was not overwritten: {history}"
    );
}

/// Found in review: a header alone opened secondary use, a search broke glass for everyone
/// unseen, and a deny for an unregistered organisation never applied.
async fn purposes_break_glass_and_organisations_cannot_be_stretched(access: AccessApp) {
    let circle = circle(&access).await;
    let ehr = format!("{BASE}/ehr/{}", circle.ehr_id);
    let clinician = access.who(
        "hospital-clinician",
        Role::Clinician,
        Some(HOSPITAL),
        None,
        None,
    );
    for purpose in ["research", "population-health"] {
        let answer = access
            .send(
                &clinician.with("kith-purpose", purpose),
                Method::GET,
                &ehr,
                None,
            )
            .await;
        answer.expect(403);
        assert!(
            answer.text().contains("must be granted by the credentials"),
            "{}",
            answer.text()
        );
    }
    // Granted by the token, research reads records but not who people are.
    let researcher = access.who(
        "researcher",
        Role::Clinician,
        Some(HOSPITAL),
        None,
        Some(Purpose::Research),
    );
    access
        .send(&researcher, Method::GET, &ehr, None)
        .await
        .expect(200);
    let found = access
        .send(
            &researcher,
            Method::GET,
            "/api/v1/people?birth_date=1950-01-01",
            None,
        )
        .await;
    found.expect(200);
    assert_eq!(found.json()["people"], json!([]));
    // A search never breaks glass.
    let emergency = clinician.with("kith-purpose", "emergency-care").with(
        "kith-break-glass",
        "unconscious, looking for anyone born that day",
    );
    let found = access
        .send(
            &emergency,
            Method::GET,
            "/api/v1/people?birth_date=1950-01-01",
            None,
        )
        .await;
    found.expect(200);
    assert_eq!(found.json()["people"], json!([]));
    // A deny for an organisation nobody registered still applies to its callers.
    directive(
        &access,
        &circle.person_id,
        json!({"decision": "deny", "actors": [{"kind": "organisation", "code": "RXX"}]}),
    )
    .await;
    let unregistered = access.who(
        "rxx-researcher",
        Role::Clinician,
        Some("RXX"),
        None,
        Some(Purpose::Research),
    );
    access
        .send(&unregistered, Method::GET, &ehr, None)
        .await
        .expect(404);
    let count = access
        .send(
            &unregistered,
            Method::POST,
            &format!("{BASE}/query/aql"),
            Some(json!({"q": "SELECT COUNT(DISTINCT e/ehr_id/value) FROM EHR e CONTAINS COMPOSITION c"})),
        )
        .await;
    count.expect(200);
    assert_eq!(count.json()["rows"][0][0], 0);
}

/// A caller who may read more records than a statement may have parameters: their filter is
/// one list parameter (above `aql::sql::INLINE_ID_LIST` records), on both backends, for
/// compiled and evaluated queries alike.
async fn a_wide_reach_is_one_list_parameter(access: AccessApp) {
    let admin = access.admin();
    access
        .send(
            &admin,
            Method::PUT,
            &format!("/api/v1/organisations/{GP}"),
            Some(json!({"name": "GP", "type": "gp-practice"})),
        )
        .await
        .expect(201);
    let wide = aql::sql::INLINE_ID_LIST + 8;
    let mut numbers = (500_000_000..)
        .filter_map(access::NhsNumber::from_nine_digits)
        .map(|number| number.to_string());
    let mut ehrs = Vec::new();
    for index in 0..wide + 3 {
        let person = access
            .send(
                &admin,
                Method::POST,
                "/api/v1/people",
                Some(json!({"nhs_number": numbers.next().unwrap(), "name": {"family": format!("Wide{index}")}})),
            )
            .await;
        person.expect(201);
        let person = person.json();
        let ehr_id = person["ehr_id"].as_str().unwrap().to_owned();
        access.app.create_composition(&ehr_id).await;
        // All but three are the practice's patients.
        if index < wide {
            access
                .send(
                    &admin,
                    Method::POST,
                    &format!(
                        "/api/v1/people/{}/relationships",
                        person["id"].as_str().unwrap()
                    ),
                    Some(json!({"kind": "registered-gp", "organisation": GP})),
                )
                .await
                .expect(201);
        }
        ehrs.push(ehr_id);
    }
    let gp = access.who("gp-clinician", Role::Clinician, Some(GP), None, None);
    for q in [
        // Compiled to SQL.
        "SELECT COUNT(c/uid/value) FROM EHR e CONTAINS COMPOSITION c",
        // Evaluated on the documents (a function of a name is not compiled): the candidates'
        // statement carries the list.
        "SELECT COUNT(c/uid/value) FROM EHR e CONTAINS COMPOSITION c WHERE LENGTH(c/name/value) > 2",
    ] {
        let answer = access
            .send(
                &gp,
                Method::POST,
                &format!("{BASE}/query/aql"),
                Some(json!({"q": q})),
            )
            .await;
        answer.expect(200);
        assert_eq!(answer.json()["rows"][0][0], wide, "{q}");
    }
    // The same list, negated, for secondary use: three people opt out.
    for ehr_index in 0..3 {
        let person = access
            .send(
                &admin,
                Method::GET,
                &format!("/api/v1/people?family=Wide{ehr_index}"),
                None,
            )
            .await
            .json()["people"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        directive(
            &access,
            &person,
            json!({"decision": "deny", "purposes": ["research"]}),
        )
        .await;
    }
    let researcher = access.who(
        "researcher",
        Role::Clinician,
        Some(GP),
        None,
        Some(Purpose::Research),
    );
    let answer = access
        .send(
            &researcher,
            Method::POST,
            &format!("{BASE}/query/aql"),
            Some(json!({"q": "SELECT COUNT(c/uid/value) FROM EHR e CONTAINS COMPOSITION c"})),
        )
        .await;
    answer.expect(200);
    assert_eq!(answer.json()["rows"][0][0], ehrs.len() - 3);
}

/// No write happens that the audit trail cannot record: with the trail's table gone, a
/// write is refused (503) before anything is stored. SQLite only: the test reaches into the
/// database file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_no_write_without_its_audit_event() {
    let Some(access) = AccessApp::new(Backend::Sqlite).await else {
        return;
    };
    let circle = circle(&access).await;
    let file = access.app.sqlite_file().expect("a sqlite file");
    let database = rusqlite::Connection::open(&file).expect("opens");
    database
        .execute_batch("ALTER TABLE audit_event RENAME TO audit_event_away")
        .expect("hides the trail");
    let body: Value =
        serde_json::from_slice(&testdata("compositions/minimal_observation.canonical.json"))
            .unwrap();
    let gp = access.who("gp-clinician", Role::Clinician, Some(GP), None, None);
    let uri = format!("{BASE}/ehr/{}/composition", circle.ehr_id);
    // Sent past the test support's own audit check, which needs the table.
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri(&uri)
        .header("authorization", format!("Bearer {}", gp.token))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let response = tower::ServiceExt::oneshot(access.app.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let consent = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/people/{}/consents", circle.person_id))
        .header("authorization", format!("Bearer {}", support::TOKEN))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"decision": "deny", "purposes": ["research"]}).to_string(),
        ))
        .unwrap();
    let response = tower::ServiceExt::oneshot(access.app.router.clone(), consent)
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    database
        .execute_batch("ALTER TABLE audit_event_away RENAME TO audit_event")
        .expect("restores the trail");
    // Nothing was written: the record still holds its one composition, the person no directive.
    let directives: i64 = database
        .query_row("SELECT count(*) FROM consent_directive", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(directives, 0);
    let history = access
        .send(
            &access.admin(),
            Method::GET,
            &format!("{BASE}/query/aql?q=SELECT%20COUNT(c/uid/value)%20FROM%20EHR%20e%20CONTAINS%20COMPOSITION%20c&ehr_id={}", circle.ehr_id),
            None,
        )
        .await;
    history.expect(200);
    assert_eq!(history.json()["rows"][0][0], 1);
}
