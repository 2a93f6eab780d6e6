//! Reading the audit trail: administrators (the privacy officer) read and export every event,
//! break-glass accesses among them; a person reads who accessed their record
//! (`/api/v1/me/access-log`), and a proxy with the right reads it for them
//! (`/api/v1/people/{id}/access-log`).

use access::audit::{hex, parse_canonical, to_fhir_audit_event};
use access::policy::{Action, Resource};
use access::{NHS_NUMBER_NAMESPACE, NhsNumber, Role};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{AuditFilter, AuditRow};

use super::people::visible_person;
use super::require_role;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::guard::Guard;
use crate::http::Reply;

/// Most events one page returns.
const PAGE: u32 = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditParameters {
    /// Only events about this person.
    person_id: Option<String>,
    /// Only break-glass accesses (the privacy officer's review list).
    #[serde(default)]
    break_glass: bool,
    /// The first seq to return (for paging: the last seq seen plus one).
    #[serde(default)]
    from_seq: u64,
    limit: Option<u32>,
    /// `fhir` for a FHIR R4 Bundle of AuditEvent resources.
    format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LogParameters {
    #[serde(default)]
    from_seq: u64,
    limit: Option<u32>,
}

fn limit_of(limit: Option<u32>) -> ApiResult<u32> {
    match limit {
        None => Ok(PAGE),
        Some(0) => Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "limit",
            "limit must be at least 1",
        )),
        Some(limit) => Ok(limit.min(PAGE)),
    }
}

/// An event as the API gives it: the event's fields, its seq and its hash.
/// An event as JSON; for a person's access log (`own` records given), with only their own
/// records listed: a query that showed them among others must not tell them who the others
/// were.
fn event_json(row: &AuditRow, own: Option<&[uuid::Uuid]>) -> ApiResult<Value> {
    let (seq, mut event) = parse_canonical(&row.canonical)
        .map_err(|error| ApiError::internal("an audit event does not read back", &error))?;
    if let Some(own) = own {
        event.records.retain(|record| {
            uuid::Uuid::parse_str(record).is_ok_and(|record| own.contains(&record))
        });
    }
    let mut value = serde_json::to_value(&event).unwrap_or(Value::Null);
    value["seq"] = json!(seq);
    value["hash"] = json!(hex(&row.hash));
    Ok(value)
}

fn page(rows: &[AuditRow], limit: u32, own: Option<&[uuid::Uuid]>) -> ApiResult<Value> {
    let events = rows
        .iter()
        .map(|row| event_json(row, own))
        .collect::<ApiResult<Vec<_>>>()?;
    let next = (rows.len() as u32 == limit)
        .then(|| rows.last().map(|row| row.seq + 1))
        .flatten();
    Ok(json!({ "events": events, "next_from_seq": next }))
}

/// `GET /api/v1/audit`: the trail, oldest first, for administrators.
pub(super) async fn read(
    State(state): State<AppState>,
    guard: Guard,
    Query(parameters): Query<AuditParameters>,
) -> ApiResult<Reply> {
    require_role(
        &guard.caller,
        &[Role::Administrator],
        "read the audit trail",
    )?;
    let limit = limit_of(parameters.limit)?;
    let person_id = parameters
        .person_id
        .as_deref()
        .map(|text| crate::http::parse_uuid(text, "person_id"))
        .transpose()?;
    // A person's events include those that showed their records (a query's rows).
    let records = match person_id {
        Some(person_id) => state
            .store
            .get_person(person_id)
            .await?
            .map(|person| records_of(&person))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let rows = state
        .store
        .read_audit(&AuditFilter {
            from_seq: parameters.from_seq,
            person_id,
            records,
            break_glass_only: parameters.break_glass,
            limit,
        })
        .await?;
    let body = match parameters.format.as_deref() {
        None | Some("json") => page(&rows, limit, None)?,
        Some("fhir") => {
            let entries = rows
                .iter()
                .map(|row| {
                    let (seq, event) = parse_canonical(&row.canonical).map_err(|error| {
                        ApiError::internal("an audit event does not read back", &error)
                    })?;
                    Ok(json!({ "resource": to_fhir_audit_event(seq, &event) }))
                })
                .collect::<ApiResult<Vec<_>>>()?;
            json!({
                "resourceType": "Bundle",
                "type": "collection",
                "total": entries.len(),
                "entry": entries,
            })
        }
        Some(other) => {
            return Err(ApiError::at(
                ErrorCode::InvalidParameter,
                "format",
                format!("format \"{other}\" is not json or fhir"),
            ));
        }
    };
    Ok(super::json_reply(StatusCode::OK, &body))
}

/// The person's records: their EHR, and those of the people merged into them.
fn records_of(person: &store::PersonRecord) -> Vec<uuid::Uuid> {
    let mut records = vec![person.ehr_id];
    if let Some(merged) = person
        .document
        .get("merged_ehr_ids")
        .and_then(Value::as_array)
    {
        records.extend(
            merged
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|id| uuid::Uuid::parse_str(id).ok()),
        );
    }
    records
}

/// The events about a person, as the person reads them: those naming them, and those whose
/// answer showed one of their records (a query listing them among others).
async fn access_log(
    state: &AppState,
    person: &store::PersonRecord,
    parameters: &LogParameters,
) -> ApiResult<Value> {
    let limit = limit_of(parameters.limit)?;
    let records = records_of(person);
    let rows = state
        .store
        .read_audit(&AuditFilter {
            from_seq: parameters.from_seq,
            person_id: Some(person.person_id),
            records: records.clone(),
            break_glass_only: false,
            limit,
        })
        .await?;
    page(&rows, limit, Some(&records))
}

/// `GET /api/v1/me/access-log`: who looked at my record (the caller is the person, by the
/// NHS number of their credentials).
pub(super) async fn my_access_log(
    State(state): State<AppState>,
    guard: Guard,
    Query(parameters): Query<LogParameters>,
) -> ApiResult<Reply> {
    guard.require_role(&[Role::Patient], "read their own access log")?;
    let number = guard
        .caller
        .nhs_number
        .as_deref()
        .and_then(|text| NhsNumber::parse(text).ok())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Forbidden,
                "the credentials carry no valid NHS number",
            )
        })?;
    let person = state
        .store
        .person_by_identifier(NHS_NUMBER_NAMESPACE, &number.to_string())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                "no person is registered with the NHS number of these credentials",
            )
        })?;
    guard
        .person(
            &state,
            &person,
            Action::ReadAccessLog,
            Resource::Demographics,
            "read-access-log",
        )
        .await?;
    let body = access_log(&state, &person, &parameters).await?;
    Ok(super::json_reply(StatusCode::OK, &body))
}

/// `GET /api/v1/people/{id}/access-log`: the same, for a proxy acting for the person (or an
/// administrator).
pub(super) async fn person_access_log(
    State(state): State<AppState>,
    guard: Guard,
    Path(id): Path<String>,
    Query(parameters): Query<LogParameters>,
) -> ApiResult<Reply> {
    let person = visible_person(
        &state,
        &guard,
        &id,
        Action::ReadAccessLog,
        Resource::Demographics,
        "read-access-log",
    )
    .await?;
    let body = access_log(&state, &person, &parameters).await?;
    Ok(super::json_reply(StatusCode::OK, &body))
}
