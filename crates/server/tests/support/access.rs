//! Test support for access control: an app that accepts local tokens, tokens for every kind
//! of caller, and a small circle of care (organisations, a person with a registered GP and a
//! proxy, a composition in their record).

#![allow(dead_code)]

use std::time::Duration;

use access::{OrganisationType, Purpose, Role};
use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use server::auth::{AuthenticationConfig, Authenticator, LocalSigningKey, LocalToken};

use crate::support::{Answer, Backend, SYSTEM_ID, TOKEN, TestApp};

/// The app, with the key its local tokens are signed with.
pub struct AccessApp {
    pub app: TestApp,
    /// Circles built so far.
    circles: std::sync::atomic::AtomicU32,
    key: LocalSigningKey,
    _key_dir: tempfile::TempDir,
}

/// A caller: a token, and headers sent with every request.
#[derive(Clone, Debug)]
pub struct Who {
    pub name: &'static str,
    pub token: String,
    pub headers: Vec<(String, String)>,
}

impl Who {
    /// The same caller with another header (a purpose, a break-glass reason).
    pub fn with(&self, name: &str, value: &str) -> Who {
        let mut who = self.clone();
        who.headers.push((name.to_owned(), value.to_owned()));
        who
    }
}

pub const GP: &str = "A81001";
pub const HOSPITAL: &str = "RJ1";
pub const PHARMACY: &str = "FX100";
pub const HOSPICE: &str = "HOS1";
pub const SOCIAL_CARE: &str = "SC1";
/// The person's NHS number, and another person's.
pub const NHS: &str = "9434765919";
pub const OTHER_NHS: &str = "9000000009";
pub const PROXY_USER: &str = "daughter-7";

impl AccessApp {
    /// The rows of an AQL query asked as `who`, which must be answered with 200.
    #[allow(dead_code)]
    pub async fn aql_rows(&self, who: &Who, q: &str) -> Vec<Value> {
        let answer = self
            .send(
                who,
                Method::POST,
                "/rest/openehr/v1/query/aql",
                Some(json!({ "q": q })),
            )
            .await;
        answer.expect(200);
        answer.json()["rows"].as_array().unwrap().clone()
    }

    /// The first cell of an AQL answer's first row, as a number (a count).
    #[allow(dead_code)]
    pub async fn aql_count(&self, who: &Who, q: &str) -> i64 {
        self.aql_rows(who, q).await[0][0].as_i64().unwrap()
    }

    pub async fn new(backend: Backend) -> Option<AccessApp> {
        Self::with_categories(backend, access::DataCategories::default()).await
    }

    /// The app with these data categories.
    pub async fn with_categories(
        backend: Backend,
        categories: access::DataCategories,
    ) -> Option<AccessApp> {
        let key_dir = tempfile::tempdir().expect("tempdir");
        let key = LocalSigningKey::load_or_create(key_dir.path()).expect("signing key");
        let authenticator =
            Authenticator::new(&AuthenticationConfig::default(), Some((SYSTEM_ID, &key)))
                .expect("authenticator");
        let app = TestApp::with_setup(
            backend,
            move |config| config.authentication = authenticator,
            move |state| state.with_categories(categories),
        )
        .await?;
        Some(AccessApp {
            app,
            circles: std::sync::atomic::AtomicU32::new(0),
            key,
            _key_dir: key_dir,
        })
    }

    pub fn admin(&self) -> Who {
        Who {
            name: "administrator",
            token: TOKEN.to_owned(),
            headers: Vec::new(),
        }
    }

    /// A caller with a local token.
    pub fn who(
        &self,
        name: &'static str,
        role: Role,
        organisation: Option<&str>,
        nhs_number: Option<&str>,
        purpose: Option<Purpose>,
    ) -> Who {
        let token = self
            .key
            .mint(
                SYSTEM_ID,
                &LocalToken {
                    user: name.to_owned(),
                    role,
                    organisation: organisation.map(str::to_owned),
                    organisation_type: None,
                    nhs_number: nhs_number.map(str::to_owned),
                    purpose,
                    lifetime: Duration::from_secs(600),
                },
            )
            .expect("mints a token");
        Who {
            name,
            token,
            headers: Vec::new(),
        }
    }

    pub async fn send(&self, who: &Who, method: Method, uri: &str, body: Option<Value>) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", who.token));
        for (name, value) in &who.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.app.send(request.body(body).expect("request")).await
    }
}

/// What the circle of care was built with.
pub struct Circle {
    /// The person's NHS number, and the other person's.
    pub nhs: String,
    pub other_nhs: String,
    pub person_id: String,
    pub ehr_id: String,
    pub composition_uid: String,
    pub other_person_id: String,
    pub other_ehr_id: String,
}

/// Organisations of every kind, a person registered at the GP practice with a proxy, and a
/// composition in their record; another person with no relationship to anyone.
pub async fn circle(access: &AccessApp) -> Circle {
    let admin = access.admin();
    for (code, kind) in [
        (GP, OrganisationType::GpPractice),
        (HOSPITAL, OrganisationType::AcuteHospital),
        (PHARMACY, OrganisationType::Pharmacy),
        (HOSPICE, OrganisationType::Hospice),
        (SOCIAL_CARE, OrganisationType::SocialCare),
    ] {
        let answer = access
            .send(
                &admin,
                Method::PUT,
                &format!("/api/v1/organisations/{code}"),
                Some(json!({"name": code, "type": kind.code()})),
            )
            .await;
        // Created the first time, replaced when a test builds a second circle.
        assert!(
            answer.status == 201 || answer.status == 200,
            "{}",
            answer.text()
        );
    }
    let mut people = Vec::new();
    // Each circle has its own two people: the NHS numbers of earlier circles are taken.
    let (first, second) = next_numbers(access);
    for (number, family) in [(first.as_str(), "Smith"), (second.as_str(), "Other")] {
        let answer = access
            .send(
                &admin,
                Method::POST,
                "/api/v1/people",
                Some(json!({"nhs_number": number, "name": {"family": family}, "birth_date": "1950-01-01"})),
            )
            .await;
        answer.expect(201);
        people.push(answer.json());
    }
    let person_id = people[0]["id"].as_str().unwrap().to_owned();
    for relationship in [
        json!({"kind": "registered-gp", "organisation": GP, "period": {"start": "2020-01-01T00:00:00Z"}}),
        json!({"kind": "proxy", "professional": PROXY_USER, "authority": "lasting-power-of-attorney-health"}),
    ] {
        access
            .send(
                &admin,
                Method::POST,
                &format!("/api/v1/people/{person_id}/relationships"),
                Some(relationship),
            )
            .await
            .expect(201);
    }
    let ehr_id = people[0]["ehr_id"].as_str().unwrap().to_owned();
    let composition_uid = access.app.create_composition(&ehr_id).await;
    Circle {
        nhs: first,
        other_nhs: second,
        person_id,
        ehr_id,
        composition_uid,
        other_person_id: people[1]["id"].as_str().unwrap().to_owned(),
        other_ehr_id: people[1]["ehr_id"].as_str().unwrap().to_owned(),
    }
}

/// The NHS numbers of the app's next circle: the constants for the first, fresh valid ones
/// after.
fn next_numbers(access: &AccessApp) -> (String, String) {
    let circle = access
        .circles
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if circle == 0 {
        return (NHS.to_owned(), OTHER_NHS.to_owned());
    }
    let mut numbers = (0..)
        .map(|offset| 400_000_000 + circle * 1000 + offset)
        .filter_map(access::NhsNumber::from_nine_digits)
        .map(|number| number.to_string());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

/// Records a consent directive for the person as the administrator.
pub async fn directive(access: &AccessApp, person_id: &str, body: Value) -> String {
    let answer = access
        .send(
            &access.admin(),
            Method::POST,
            &format!("/api/v1/people/{person_id}/consents"),
            Some(body),
        )
        .await;
    answer.expect(201);
    answer.json()["id"].as_str().unwrap().to_owned()
}
