//! `/api/v1/people`: register, find, read, update and merge people. Each person has one EHR,
//! created with them (or adopted, when an EHR for their NHS number already exists without a
//! person), whose EHR_STATUS names them as its subject: by NHS number when they have one
//! (namespace `uk.nhs.nhs_number`), else by their person id (namespace `kith.person`).

use access::nhs::{NHS_NUMBER_NAMESPACE, NhsNumber};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{PersonMerge, PersonRecord, PersonSearch, SubjectKey};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{json_body, version_from_if_match};
use crate::AppState;
use crate::error::{ApiError, ApiResult, Detail, ErrorCode};
use crate::guard::{AuditNote, Guard};
use crate::http::{Format, RawBody, Reply, format_time};
use access::Role;
use access::policy::{Action, Resource};

/// The namespace of NHS numbers in an EHR_STATUS subject's external reference.
pub const EHR_SUBJECT_NHS_NAMESPACE: &str = "uk.nhs.nhs_number";
/// The namespace of person ids in the EHR_STATUS subject of people without an NHS number.
pub const EHR_SUBJECT_PERSON_NAMESPACE: &str = "kith.person";
/// Most people one search returns.
const SEARCH_LIMIT: u32 = 100;

/// Who may register people: the administrator, administrative staff and systems (a GP or
/// hospital system registering its patients).
const REGISTRARS: &[Role] = &[
    Role::Administrator,
    Role::AdministrativeStaff,
    Role::SystemIntegration,
];

const GENDERS: [&str; 4] = ["female", "male", "other", "unknown"];

/// A person as a client sends them (registration and update).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonInput {
    #[serde(default)]
    nhs_number: Option<String>,
    #[serde(default)]
    identifiers: Vec<IdentifierInput>,
    name: NameInput,
    #[serde(default)]
    birth_date: Option<String>,
    #[serde(default)]
    gender: Option<String>,
    /// Kept as sent (free-form contact details).
    #[serde(default)]
    address: Option<Value>,
    #[serde(default)]
    telecom: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentifierInput {
    system: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameInput {
    family: String,
    #[serde(default)]
    given: Vec<String>,
    #[serde(default)]
    prefix: Option<String>,
}

/// A checked [`PersonInput`]: what the registry keeps.
struct Checked {
    nhs_number: Option<NhsNumber>,
    identifiers: Vec<(String, String)>,
    family: String,
    given: Vec<String>,
    birth_date: Option<String>,
    document: Value,
}

fn invalid(details: Vec<Detail>) -> ApiError {
    let summary = details
        .iter()
        .map(|detail| format!("{}: {}", detail.path, detail.message))
        .collect::<Vec<_>>()
        .join("; ");
    let mut error = ApiError::new(
        ErrorCode::InvalidParameter,
        format!("the person is not valid: {summary}"),
    );
    error.details = details;
    error
}

fn detail(path: &str, message: impl Into<String>) -> Detail {
    Detail {
        path: path.to_owned(),
        message: message.into(),
        ..Detail::default()
    }
}

fn check(input: PersonInput, today: time::Date) -> ApiResult<Checked> {
    let mut details = Vec::new();
    let mut nhs_number = None;
    if let Some(text) = &input.nhs_number {
        match NhsNumber::parse(text) {
            Ok(number) => nhs_number = Some(number),
            Err(error) => details.push(detail("/nhs_number", error.to_string())),
        }
    }
    let mut identifiers: Vec<(String, String)> = Vec::new();
    for (index, identifier) in input.identifiers.iter().enumerate() {
        let path = format!("/identifiers/{index}");
        let system = identifier.system.trim();
        let value = identifier.value.trim();
        if system.is_empty() {
            details.push(detail(&format!("{path}/system"), "the system is empty"));
            continue;
        }
        if value.is_empty() {
            details.push(detail(&format!("{path}/value"), "the value is empty"));
            continue;
        }
        if identifiers.iter().any(|(known, _)| known == system) {
            details.push(detail(
                &format!("{path}/system"),
                format!("a person has one identifier per system; {system} is given twice"),
            ));
            continue;
        }
        if system == NHS_NUMBER_NAMESPACE {
            match NhsNumber::parse(value) {
                Ok(number) => match nhs_number {
                    Some(given) if given != number => details.push(detail(
                        &format!("{path}/value"),
                        format!("the NHS number {number} differs from nhs_number {given}"),
                    )),
                    _ => nhs_number = Some(number),
                },
                Err(error) => details.push(detail(&format!("{path}/value"), error.to_string())),
            }
            continue;
        }
        identifiers.push((system.to_owned(), value.to_owned()));
    }
    if let Some(number) = nhs_number {
        identifiers.insert(0, (NHS_NUMBER_NAMESPACE.to_owned(), number.to_string()));
    }
    let family = input.name.family.trim().to_owned();
    if family.is_empty() {
        details.push(detail("/name/family", "the family name is empty"));
    }
    let given: Vec<String> = input
        .name
        .given
        .iter()
        .map(|name| name.trim().to_owned())
        .collect();
    if let Some(index) = given.iter().position(String::is_empty) {
        details.push(detail(
            &format!("/name/given/{index}"),
            "a given name is empty",
        ));
    }
    if let Some(birth_date) = &input.birth_date {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        match time::Date::parse(birth_date, format) {
            Ok(date) if date > today => {
                details.push(detail("/birth_date", "the birth date is in the future"))
            }
            Ok(_) => {}
            Err(_) => details.push(detail(
                "/birth_date",
                format!("\"{birth_date}\" is not a date (YYYY-MM-DD)"),
            )),
        }
    }
    if let Some(gender) = &input.gender
        && !GENDERS.contains(&gender.as_str())
    {
        details.push(detail(
            "/gender",
            format!("\"{gender}\" is not one of {}", GENDERS.join(", ")),
        ));
    }
    if !details.is_empty() {
        return Err(invalid(details));
    }
    let mut name = json!({ "family": family, "given": given });
    if let Some(prefix) = &input.name.prefix {
        name["prefix"] = json!(prefix.trim());
    }
    let mut document = json!({ "name": name });
    if let Some(birth_date) = &input.birth_date {
        document["birth_date"] = json!(birth_date);
    }
    if let Some(gender) = &input.gender {
        document["gender"] = json!(gender);
    }
    if let Some(address) = input.address {
        document["address"] = address;
    }
    if let Some(telecom) = input.telecom {
        document["telecom"] = telecom;
    }
    Ok(Checked {
        nhs_number,
        identifiers,
        given,
        family,
        birth_date: input.birth_date,
        document,
    })
}

/// The API's JSON of a person.
pub(crate) fn person_json(person: &PersonRecord) -> Value {
    let mut value = person.document.clone();
    let nhs_number = person
        .identifiers
        .iter()
        .find(|(system, _)| system == NHS_NUMBER_NAMESPACE)
        .map(|(_, value)| value.clone());
    value["id"] = json!(person.person_id.to_string());
    value["ehr_id"] = json!(person.ehr_id.to_string());
    value["version"] = json!(person.version);
    value["nhs_number"] = json!(nhs_number);
    value["identifiers"] = Value::Array(
        person
            .identifiers
            .iter()
            .map(|(system, value)| json!({ "system": system, "value": value }))
            .collect(),
    );
    value["merged_into"] = json!(person.merged_into.map(|id| id.to_string()));
    value["created"] = json!(format_time(person.created));
    value["updated"] = json!(format_time(person.updated));
    value
}

fn person_reply(status: StatusCode, person: &PersonRecord) -> Reply {
    Reply::new(status)
        .etag(&person.version.to_string())
        .header(
            header::LOCATION,
            &format!("/api/v1/people/{}", person.person_id),
        )
        .body(
            Format::Json,
            serde_json::to_vec(&person_json(person)).unwrap_or_default(),
        )
}

/// The EHR_STATUS subject that names a person.
fn subject_of(person_id: Uuid, nhs_number: Option<NhsNumber>) -> (SubjectKey, &'static str) {
    match nhs_number {
        Some(number) => (
            SubjectKey {
                namespace: EHR_SUBJECT_NHS_NAMESPACE.to_owned(),
                id: number.to_string(),
            },
            "nhs_number",
        ),
        None => (
            SubjectKey {
                namespace: EHR_SUBJECT_PERSON_NAMESPACE.to_owned(),
                id: person_id.to_string(),
            },
            "kith_person_id",
        ),
    }
}

/// `POST /api/v1/people`: registers a person and creates (or adopts) their EHR.
pub(super) async fn register(
    State(state): State<AppState>,
    guard: Guard,
    body: RawBody,
) -> ApiResult<Reply> {
    guard.require_role(REGISTRARS, "register people")?;
    let caller = &guard.caller;
    let input: PersonInput = json_body(&body)?;
    let now = OffsetDateTime::now_utc();
    let checked = check(input, now.date())?;
    for (system, value) in &checked.identifiers {
        if let Some(existing) = state.store.person_by_identifier(system, value).await? {
            // The person learns that someone tried to register them again.
            guard.slot.note(AuditNote {
                person_id: Some(existing.person_id),
                allowed: false,
                reason: format!("deny registration: identifier {system}|{value} is this person's"),
                break_glass: None,
                action: "register".to_owned(),
                records: Vec::new(),
            });
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "identifier {system}|{value} belongs to person {}",
                    existing.person_id
                ),
            ));
        }
    }
    let person_id = Uuid::new_v4();
    let (subject, scheme) = subject_of(person_id, checked.nhs_number);
    guard.slot.note(AuditNote {
        person_id: Some(person_id),
        allowed: true,
        reason: format!(
            "allow registration by a {} ({})",
            caller.role.label(),
            caller.role
        ),
        break_glass: None,
        action: "register".to_owned(),
        records: Vec::new(),
    });
    // Appended before anything is written: no registration without its event.
    guard.slot.record_now(&state).await?;
    // An EHR for this NHS number may exist without a person (created through the openEHR
    // API, or left by a registration that stopped between its two writes): it becomes
    // theirs. With a person, the identifier check above has already refused.
    let ehr_id = match state.store.find_ehr_by_subject(&subject).await? {
        Some(ehr) => match state.store.person_by_ehr(ehr.ehr_id).await? {
            Some(owner) => {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                        "the ehr of this NHS number belongs to person {}",
                        owner.person_id
                    ),
                ));
            }
            None => ehr.ehr_id,
        },
        None => {
            let ehr_id = Uuid::new_v4();
            crate::ingest::create_ehr_for_subject(
                &state,
                ehr_id,
                &subject,
                scheme,
                None,
                &caller.user,
            )
            .await
            .map_err(|error| error.0)?;
            ehr_id
        }
    };
    let person = PersonRecord {
        person_id,
        ehr_id,
        version: 1,
        merged_into: None,
        identifiers: checked.identifiers,
        family_name: Some(checked.family),
        given_name: checked.given.first().cloned(),
        birth_date: checked.birth_date,
        document: checked.document,
        created: now,
        updated: now,
    };
    state.store.create_person(person.clone()).await?;
    Ok(person_reply(StatusCode::CREATED, &person))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchParameters {
    nhs_number: Option<String>,
    /// `system|value`.
    identifier: Option<String>,
    family: Option<String>,
    given: Option<String>,
    birth_date: Option<String>,
    #[serde(default)]
    include_merged: bool,
}

/// `GET /api/v1/people?...`: by NHS number, by identifier, or by name and birth date.
pub(super) async fn search(
    State(state): State<AppState>,
    guard: Guard,
    Query(parameters): Query<SearchParameters>,
) -> ApiResult<Reply> {
    let people = if let Some(text) = &parameters.nhs_number {
        let number = NhsNumber::parse(text).map_err(|error| {
            ApiError::at(ErrorCode::InvalidParameter, "nhs_number", error.to_string())
        })?;
        state
            .store
            .person_by_identifier(NHS_NUMBER_NAMESPACE, &number.to_string())
            .await?
            .into_iter()
            .collect()
    } else if let Some(identifier) = &parameters.identifier {
        let Some((system, value)) = identifier.split_once('|') else {
            return Err(ApiError::at(
                ErrorCode::InvalidParameter,
                "identifier",
                "an identifier is written system|value",
            ));
        };
        state
            .store
            .person_by_identifier(system, value)
            .await?
            .into_iter()
            .collect()
    } else {
        if parameters.family.is_none() && parameters.birth_date.is_none() {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                "name a person to find: nhs_number, identifier, or family and/or birth_date (with given optionally)",
            ));
        }
        state
            .store
            .search_people(&PersonSearch {
                family_name: parameters.family.clone(),
                given_name: parameters.given.clone(),
                birth_date: parameters.birth_date.clone(),
                include_merged: parameters.include_merged,
                limit: SEARCH_LIMIT,
            })
            .await?
    };
    // Only the people the caller may see: the others are left out as if absent. A search
    // never breaks glass (emergency access is to one person, read by id).
    let caller = crate::auth::Caller {
        break_glass: None,
        ..guard.caller.clone()
    };
    let found = people.len();
    let mut visible = Vec::with_capacity(found);
    for person in people {
        let decision = crate::guard::decide(
            &state,
            &caller,
            Some(&person),
            Action::Read,
            Resource::Demographics,
        )
        .await?;
        if decision.allowed {
            visible.push(person);
        }
    }
    guard.slot.note(AuditNote {
        person_id: match visible.as_slice() {
            [one] => Some(one.person_id),
            _ => None,
        },
        allowed: true,
        reason: format!(
            "search: {} shown, {} not visible to the caller",
            visible.len(),
            found - visible.len()
        ),
        break_glass: None,
        action: "search".to_owned(),
        records: Vec::new(),
    });
    let people: Vec<Value> = visible.iter().map(person_json).collect();
    Ok(super::json_reply(
        StatusCode::OK,
        &json!({ "people": people }),
    ))
}

/// The person `{id}` names, decided for the caller (a refusal answers as a missing person).
pub(crate) async fn visible_person(
    state: &AppState,
    guard: &Guard,
    text: &str,
    action: Action,
    resource: Resource,
    audit_action: &str,
) -> ApiResult<PersonRecord> {
    let person = require_person(state, text).await?;
    guard
        .person(state, &person, action, resource, audit_action)
        .await?;
    Ok(person)
}

pub(crate) async fn require_person(state: &AppState, text: &str) -> ApiResult<PersonRecord> {
    let person_id = crate::http::parse_uuid(text, "person id")?;
    // The same answer a refused caller gets (`guard::person_not_visible`).
    state
        .store
        .get_person(person_id)
        .await?
        .ok_or_else(|| crate::guard::person_not_visible(person_id))
}

/// `GET /api/v1/people/{id}`.
pub(super) async fn read(
    State(state): State<AppState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<Reply> {
    let person = visible_person(
        &state,
        &guard,
        &id,
        Action::Read,
        Resource::Demographics,
        "read",
    )
    .await?;
    Ok(person_reply(StatusCode::OK, &person))
}

/// `PUT /api/v1/people/{id}` with `If-Match: "<version>"`: replaces the person's details.
/// The NHS number cannot change here (it names their EHR); a wrong one is corrected by
/// registering the right one and merging.
pub(super) async fn update(
    State(state): State<AppState>,
    guard: Guard,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: RawBody,
) -> ApiResult<Reply> {
    let stored = visible_person(
        &state,
        &guard,
        &id,
        Action::Write,
        Resource::Demographics,
        "update",
    )
    .await?;
    let expected = version_from_if_match(&headers)?;
    let input: PersonInput = json_body(&body)?;
    let now = OffsetDateTime::now_utc();
    let checked = check(input, now.date())?;
    if stored.merged_into.is_some() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "person {} was merged into {}; update that person",
                stored.person_id,
                stored.merged_into.unwrap_or_default()
            ),
        ));
    }
    if stored.version != expected {
        return Err(ApiError::new(
            ErrorCode::PreconditionFailed,
            format!(
                "person {} is at version {}, not {expected}",
                stored.person_id, stored.version
            ),
        ));
    }
    let stored_nhs = stored
        .identifiers
        .iter()
        .find(|(system, _)| system == NHS_NUMBER_NAMESPACE)
        .map(|(_, value)| value.clone());
    if stored_nhs != checked.nhs_number.map(|number| number.to_string()) {
        return Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "/nhs_number",
            "the NHS number cannot be changed by an update: register the right number and merge",
        ));
    }
    let mut person = stored.clone();
    person.version = stored.version + 1;
    person.identifiers = checked.identifiers;
    person.family_name = Some(checked.family);
    person.given_name = checked.given.first().cloned();
    person.birth_date = checked.birth_date;
    person.document = checked.document;
    person.updated = now;
    state.store.update_person(person.clone()).await?;
    Ok(person_reply(StatusCode::OK, &person))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeInput {
    /// The person who remains.
    into: String,
}

/// `POST /api/v1/people/{id}/merge` with `{"into": "<person id>"}`: the person `{id}` is
/// found to be the same as `into`. The source keeps their EHR and is marked merged; the
/// identifiers of systems the survivor has no identifier in move to the survivor, the
/// others stay with the source. The answer lists every change; nothing else moves.
pub(super) async fn merge(
    State(state): State<AppState>,
    guard: Guard,
    Path(id): Path<String>,
    body: RawBody,
) -> ApiResult<Reply> {
    guard.require_role(&[Role::Administrator], "merge people")?;
    let input: MergeInput = json_body(&body)?;
    let source = require_person(&state, &id).await?;
    let target_id = crate::http::parse_uuid(&input.into, "into")?;
    if target_id == source.person_id {
        return Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "/into",
            "a person cannot be merged into themself",
        ));
    }
    let target = state.store.get_person(target_id).await?.ok_or_else(|| {
        ApiError::at(
            ErrorCode::InvalidParameter,
            "/into",
            format!("person {target_id} does not exist"),
        )
    })?;
    for (person, role) in [(&source, "source"), (&target, "target")] {
        if let Some(survivor) = person.merged_into {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "the {role} person {} was already merged into {survivor}",
                    person.person_id
                ),
            ));
        }
    }
    let now = OffsetDateTime::now_utc();
    let (moved, kept): (Vec<_>, Vec<_>) =
        source.identifiers.iter().cloned().partition(|(system, _)| {
            !target
                .identifiers
                .iter()
                .any(|(target_system, _)| target_system == system)
        });
    let mut merged_source = source.clone();
    merged_source.version += 1;
    merged_source.merged_into = Some(target.person_id);
    merged_source.identifiers = kept.clone();
    merged_source.updated = now;
    let mut merged_target = target.clone();
    merged_target.version += 1;
    merged_target.identifiers.extend(moved.iter().cloned());
    merged_target.identifiers.sort();
    let mut merged_ehrs = merged_target
        .document
        .get("merged_ehr_ids")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    merged_ehrs.push(json!(source.ehr_id.to_string()));
    merged_target.document["merged_ehr_ids"] = Value::Array(merged_ehrs);
    merged_target.updated = now;
    guard.slot.note(AuditNote {
        person_id: Some(source.person_id),
        allowed: true,
        reason: format!(
            "allow administrator: merged into person {} (identifiers moved: {})",
            target.person_id,
            moved.len()
        ),
        break_glass: None,
        action: "merge".to_owned(),
        // The survivor's record: the merge is in their access log too.
        records: vec![target.ehr_id],
    });
    guard.slot.record_now(&state).await?;
    state
        .store
        .merge_people(PersonMerge {
            source: merged_source.clone(),
            target: merged_target.clone(),
        })
        .await?;
    let identifiers = |list: &[(String, String)]| -> Vec<Value> {
        list.iter()
            .map(|(system, value)| json!({ "system": system, "value": value }))
            .collect()
    };
    let answer = json!({
        "source": person_json(&merged_source),
        "target": person_json(&merged_target),
        "moved_identifiers": identifiers(&moved),
        "kept_identifiers": identifiers(&kept),
        "source_ehr_id": source.ehr_id.to_string(),
        "note": "the source's EHR and its compositions stay where they are; the target lists it under merged_ehr_ids",
    });
    Ok(super::json_reply(StatusCode::OK, &answer))
}
