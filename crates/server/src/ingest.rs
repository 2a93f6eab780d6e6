//! Writing to the record without HTTP, for bulk loads such as `kith seed`: the functions the
//! POST handlers commit through, behind a small public surface.
//!
//! Nothing here is a shortcut. A template is stored as `POST /definition/template/adl1.4`
//! stores it, an EHR is created as `PUT /ehr/{ehr_id}` creates it, and a composition goes
//! through the template lookup, `validate`, `check_mandatory_everywhere`, the index rows and
//! `Store::commit` exactly as `POST /ehr/{ehr_id}/composition` does; a FLAT document is
//! converted by the template's cached `FlatFormat` like a FLAT request body. The caller is
//! whoever holds the database (the `kith` binary), so these take a committer's name for the
//! audit instead of an authenticated request.

use openehr_rm::RmObject;
use serde_json::{Map, Value, json};
use store::{ChangeType, LifecycleState, SubjectKey};
use templates::flat::InputDefaults;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, Detail, ErrorCode};
use crate::http::AuditHeader;
use crate::openehr::{composition, definition, ehr};
use crate::versioning::{audit_by, version_uid};

/// What the REST API would have answered, as an error the binary can print.
#[derive(Debug)]
pub struct IngestError(pub ApiError);

impl IngestError {
    /// The stable error code the REST API would answer with (`template_violation`, ...).
    pub fn code(&self) -> &'static str {
        self.0.code.as_str()
    }

    pub fn details(&self) -> &[Detail] {
        &self.0.details
    }
}

impl std::fmt::Display for IngestError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.0.code.as_str(), self.0.message)?;
        for detail in &self.0.details {
            write!(formatter, "; {}: {}", detail.path, detail.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for IngestError {}

impl From<ApiError> for IngestError {
    fn from(error: ApiError) -> Self {
        IngestError(error)
    }
}

impl From<store::StoreError> for IngestError {
    fn from(error: store::StoreError) -> Self {
        IngestError(error.into())
    }
}

impl From<openehr_rm::RmError> for IngestError {
    fn from(error: openehr_rm::RmError) -> Self {
        IngestError(error.into())
    }
}

pub type IngestResult<T> = Result<T, IngestError>;

/// The audit of a commit by `committer`, as a request whose `openehr-audit-details` names
/// that committer would get it.
fn audit(state: &AppState, committer: &str, change_type: ChangeType) -> store::Audit {
    let header = AuditHeader {
        committer_name: Some(committer.to_owned()),
        ..AuditHeader::default()
    };
    audit_by(state, committer, &header, change_type)
}

/// Stores an OPT as `POST /definition/template/adl1.4` does; returns its template id.
pub async fn upload_template(state: &AppState, opt: &[u8]) -> IngestResult<String> {
    Ok(definition::store_template(state, opt).await?)
}

/// Whether a template with this id has been uploaded.
pub async fn has_template(state: &AppState, template_id: &str) -> IngestResult<bool> {
    Ok(state.template(template_id).await?.is_some())
}

/// Creates the EHR `ehr_id` for a subject, as `PUT /ehr/{ehr_id}` with an EHR_STATUS body
/// does: the status names the subject (a PARTY_SELF whose external reference has the id
/// `subject.id` of `scheme` in `subject.namespace`; one EHR per subject) and carries `other_details` (an ITEM_STRUCTURE
/// in canonical JSON) when given. The EHR_STATUS object id is derived from the EHR id, so a
/// caller choosing EHR ids reproducibly gets reproducible status ids too.
pub async fn create_ehr_for_subject(
    state: &AppState,
    ehr_id: Uuid,
    subject: &SubjectKey,
    scheme: &str,
    other_details: Option<Value>,
    committer: &str,
) -> IngestResult<Uuid> {
    let status_id = Uuid::new_v5(&ehr_id, b"ehr_status");
    let mut status = json!({
        "_type": "EHR_STATUS",
        "uid": { "_type": "HIER_OBJECT_ID", "value": status_id.to_string() },
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": { "_type": "DV_TEXT", "value": "EHR Status" },
        "subject": {
            "_type": "PARTY_SELF",
            "external_ref": {
                "_type": "PARTY_REF",
                "id": { "_type": "GENERIC_ID", "value": subject.id, "scheme": scheme },
                "namespace": subject.namespace,
                "type": "PERSON"
            }
        },
        "is_queryable": true,
        "is_modifiable": true,
    });
    if let Some(details) = other_details {
        status["other_details"] = details;
    }
    // Read with the RM checks, as a request body is.
    let status = openehr_rm::json::from_value(&status, "EHR_STATUS")?;
    let audit = audit(state, committer, ChangeType::Creation);
    ehr::commit_new_ehr(state, ehr_id, status, audit).await?;
    Ok(ehr_id)
}

/// A canonical composition from a FLAT document (paths of the template's web template), as
/// a FLAT request body is converted; `time` (ISO 8601) fills the times the document leaves
/// out, where a request would use the time it arrived.
pub async fn composition_from_flat(
    state: &AppState,
    template_id: &str,
    flat: &Map<String, Value>,
    time: &str,
) -> IngestResult<RmObject> {
    let known = state.template(template_id).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownTemplate,
            format!("template \"{template_id}\" has not been uploaded"),
        )
    })?;
    let defaults = InputDefaults {
        time: Some(time.to_owned()),
    };
    known
        .formats
        .to_canonical(flat, &defaults)
        .map_err(|errors| {
            let mut error = ApiError::new(
                ErrorCode::InvalidSimplifiedFormat,
                format!("the flat composition does not fit template \"{template_id}\""),
            );
            error.details = errors
                .into_iter()
                .map(|error| Detail {
                    path: error.path,
                    message: error.message,
                    ..Default::default()
                })
                .collect();
            IngestError(error)
        })
}

/// Validates and commits a new composition as `POST /ehr/{ehr_id}/composition` does
/// (version 1, complete, its own contribution); a composition whose `uid` holds a UUID keeps
/// it as its object id. Returns the version uid.
pub async fn commit_composition(
    state: &AppState,
    ehr_id: Uuid,
    composition: RmObject,
    committer: &str,
) -> IngestResult<String> {
    let audit = audit(state, committer, ChangeType::Creation);
    let stored =
        composition::commit_new(state, ehr_id, composition, LifecycleState::Complete, audit)
            .await?;
    Ok(version_uid(&stored.meta))
}
