//! The change-control shapes the REST API returns (AUDIT_DETAILS, ORIGINAL_VERSION,
//! REVISION_HISTORY, VERSIONED_OBJECT, CONTRIBUTION) built from store records, and the
//! audit of a new commit built from the caller and the `openEHR-AUDIT_DETAILS` header.

use openehr_rm::{RmObject, RmValue};
use serde_json::{Value, json};
use store::{Audit, ChangeType, ContributionRecord, LifecycleState, StoredVersion, VersionMeta};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::{AuditHeader, VersionUid, format_time};

/// The audit of a commit: the committer named in the header, else the caller.
pub fn new_audit(
    state: &AppState,
    caller: &Caller,
    header: &AuditHeader,
    change_type: ChangeType,
) -> Audit {
    audit_by(state, &caller.user, header, change_type)
}

/// The audit of a commit: the committer named in the header, else `default_committer`.
/// `server::ingest` calls this directly: it has no request, so no `Caller`.
pub fn audit_by(
    state: &AppState,
    default_committer: &str,
    header: &AuditHeader,
    change_type: ChangeType,
) -> Audit {
    let mut committer = json!({
        "_type": "PARTY_IDENTIFIED",
        "name": header.committer_name.clone().unwrap_or_else(|| default_committer.to_owned()),
    });
    if let Some(id) = &header.committer_id {
        committer["external_ref"] = json!({
            "_type": "PARTY_REF",
            "id": { "_type": "GENERIC_ID", "value": id, "scheme": "id" },
            "namespace": header.committer_namespace.clone().unwrap_or_else(|| "DEMOGRAPHIC".into()),
            "type": header.committer_type.clone().unwrap_or_else(|| "PERSON".into()),
        });
    }
    Audit {
        system_id: state.config.system_id.clone(),
        time_committed: OffsetDateTime::now_utc(),
        change_type: header.change_type.unwrap_or(change_type),
        committer,
        description: header
            .description
            .as_ref()
            .map(|text| json!({ "_type": "DV_TEXT", "value": text })),
    }
}

fn coded(value: &str, code: &str) -> Value {
    json!({
        "_type": "DV_CODED_TEXT",
        "value": value,
        "defining_code": {
            "_type": "CODE_PHRASE",
            "terminology_id": { "_type": "TERMINOLOGY_ID", "value": "openehr" },
            "code_string": code,
        }
    })
}

pub fn lifecycle_json(state: LifecycleState) -> Value {
    coded(state.rubric(), state.code())
}

pub fn audit_json(audit: &Audit) -> Value {
    let mut value = json!({
        "_type": "AUDIT_DETAILS",
        "system_id": audit.system_id,
        "time_committed": { "_type": "DV_DATE_TIME", "value": format_time(audit.time_committed) },
        "change_type": coded(audit.change_type.rubric(), audit.change_type.code()),
        "committer": audit.committer,
    });
    if let Some(description) = &audit.description {
        value["description"] = description.clone();
    }
    value
}

pub fn object_ref(id_type: &str, id: &str, ref_type: &str) -> Value {
    json!({
        "_type": "OBJECT_REF",
        "id": { "_type": id_type, "value": id },
        "namespace": "local",
        "type": ref_type,
    })
}

pub fn version_uid(meta: &VersionMeta) -> String {
    VersionUid::format(meta.object_id, &meta.audit.system_id, meta.version)
}

/// ORIGINAL_VERSION of a stored version, with its data in canonical JSON.
pub fn original_version_json(stored: &StoredVersion) -> ApiResult<Value> {
    let meta = &stored.meta;
    let data: Value = serde_json::from_slice(&stored.data)
        .map_err(|error| ApiError::internal("stored version is not json", &error))?;
    let mut value = json!({
        "_type": "ORIGINAL_VERSION",
        "uid": { "_type": "OBJECT_VERSION_ID", "value": version_uid(meta) },
        "contribution": object_ref("HIER_OBJECT_ID", &meta.contribution_id.to_string(), "CONTRIBUTION"),
        "commit_audit": audit_json(&meta.audit),
        "lifecycle_state": lifecycle_json(meta.lifecycle_state),
        "data": data,
    });
    if meta.version > 1 {
        value["preceding_version_uid"] = json!({
            "_type": "OBJECT_VERSION_ID",
            "value": VersionUid::format(meta.object_id, &meta.audit.system_id, meta.version - 1),
        });
    }
    Ok(value)
}

pub fn revision_history_json(versions: &[VersionMeta]) -> Value {
    let items: Vec<Value> = versions
        .iter()
        .map(|meta| {
            json!({
                "_type": "REVISION_HISTORY_ITEM",
                "version_id": { "_type": "OBJECT_VERSION_ID", "value": version_uid(meta) },
                "audits": [audit_json(&meta.audit)],
            })
        })
        .collect();
    json!({ "_type": "REVISION_HISTORY", "items": items })
}

pub fn versioned_object_json(
    type_name: &str,
    ehr_id: Uuid,
    object_id: Uuid,
    time_created: OffsetDateTime,
) -> Value {
    json!({
        "_type": type_name,
        "uid": { "_type": "HIER_OBJECT_ID", "value": object_id.to_string() },
        "owner_id": object_ref("HIER_OBJECT_ID", &ehr_id.to_string(), "EHR"),
        "time_created": { "_type": "DV_DATE_TIME", "value": format_time(time_created) },
    })
}

/// A CONTRIBUTION; its versions are referenced by version id with their type
/// (COMPOSITION, EHR_STATUS or FOLDER), as the specification's examples do.
pub fn contribution_json(record: &ContributionRecord) -> Value {
    let system_id = &record.audit.system_id;
    let versions: Vec<Value> = record
        .versions
        .iter()
        .map(|(object_id, version, kind)| {
            object_ref(
                "OBJECT_VERSION_ID",
                &VersionUid::format(*object_id, system_id, *version),
                kind.as_str(),
            )
        })
        .collect();
    json!({
        "_type": "CONTRIBUTION",
        "uid": { "_type": "HIER_OBJECT_ID", "value": record.contribution_id.to_string() },
        "versions": versions,
        "audit": audit_json(&record.audit),
    })
}

/// Sets a LOCATABLE's `uid` to an OBJECT_VERSION_ID.
pub fn set_version_uid(object: &mut RmObject, uid: &str) -> ApiResult<()> {
    let mut id = RmObject::new("OBJECT_VERSION_ID")?;
    id.set("value", RmValue::String(uid.to_owned()))?;
    object.set("uid", RmValue::Object(Box::new(id)))?;
    Ok(())
}

/// The object id a client put in a new object's `uid`, if it is one Kith can keep.
///
/// Clients migrating data supply their own ids; a `uid` whose object id is not a UUID
/// (placeholders such as the examples' `__THIS_SHOULD_BE_MODIFIED_BY_THE_TEST_`) is replaced.
pub fn client_object_id(object: &RmObject) -> Option<Uuid> {
    let value = object.get_object("uid")?.get_str("value")?;
    let object_id = value.split("::").next()?;
    Uuid::parse_str(object_id)
        .ok()
        .filter(|_| object_id.len() == 36)
}
