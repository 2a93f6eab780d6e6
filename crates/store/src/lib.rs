//! The versioned record store: one trait, [`Store`], and two backends (SQLite, PostgreSQL).
//!
//! The store knows nothing of the Reference Model beyond what it must index: it keeps each
//! version's canonical JSON (compressed) together with the typed metadata the HTTP layer
//! extracts before committing. Everything that decides *what* a version contains happens
//! before the store is called; the store decides only whether the commit is consistent
//! (optimistic concurrency, one EHR per subject, unknown objects) and makes it durable.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

pub use aql::index::IndexRows;
pub use aql::rows::SqlValue;
pub use aql::sql::{Dialect, PathIds, SqlQuery};

mod codec;
pub mod postgres;
mod registry;
pub mod sqlite;

pub use registry::{
    AuditFilter, AuditLog, AuditRow, ConsentRecord, ConsentRule, OrganisationRecord, PersonMerge,
    PersonRecord, PersonSearch, RecordFacts, Registry, RelationshipRecord,
};

/// The ids of `keys` a cache of `query_path` ids already has, and the keys it lacks (for
/// [`Store::path_ids`]; ids never change, so a cached one is always right).
fn split_cached_path_ids<Id: Copy + Into<i64>>(
    cache: &std::collections::HashMap<String, Id>,
    keys: &[String],
) -> (PathIds, Vec<String>) {
    let mut found = PathIds::new();
    let mut missing = Vec::new();
    for key in keys {
        match cache.get(key) {
            Some(id) => {
                found.insert(key.clone(), (*id).into());
            }
            None => missing.push(key.clone()),
        }
    }
    (found, missing)
}

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Opens the store the configuration names: PostgreSQL for a `postgres://` or
/// `postgresql://` URL, otherwise SQLite at `data_dir/kith.db` (creating `data_dir`).
pub async fn open_store(database_url: Option<&str>, data_dir: &Path) -> Result<Arc<dyn Store>> {
    if let Some(url) = database_url
        && (url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        return Ok(Arc::new(PostgresStore::connect(url).await?));
    }
    tokio::fs::create_dir_all(data_dir).await.map_err(|error| {
        StoreError::Database(format!(
            "cannot create the data directory {}: {error}",
            data_dir.display()
        ))
    })?;
    Ok(Arc::new(
        SqliteStore::open(&data_dir.join("kith.db")).await?,
    ))
}

/// The EHR_STATUS object a new EHR starts with: its contribution's version 1 of kind
/// `EhrStatus`. Both backends refuse a `NewEhr` without one, or whose contribution names
/// another EHR, before writing anything.
/// Whether a new EHR may be modified, from its first EHR_STATUS (true when not stated).
pub(crate) fn new_ehr_is_modifiable(ehr: &NewEhr) -> bool {
    ehr.contribution
        .versions
        .iter()
        .find(|version| version.kind == ObjectKind::EhrStatus)
        .and_then(|version| version.status.as_ref())
        .is_none_or(|facts| facts.is_modifiable)
}

pub(crate) fn new_ehr_status_id(ehr: &NewEhr) -> Result<Uuid> {
    if ehr.contribution.ehr_id != ehr.ehr_id {
        return Err(StoreError::Database(format!(
            "the contribution of new ehr {} names ehr {}",
            ehr.ehr_id, ehr.contribution.ehr_id
        )));
    }
    ehr.contribution
        .versions
        .iter()
        .find(|version| version.kind == ObjectKind::EhrStatus && version.version == 1)
        .map(|version| version.object_id)
        .ok_or_else(|| {
            StoreError::Database(format!(
                "new ehr {} has no ehr_status version 1",
                ehr.ehr_id
            ))
        })
}

/// Which versioned object class a version belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    EhrStatus,
    Composition,
    Folder,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::EhrStatus => "EHR_STATUS",
            ObjectKind::Composition => "COMPOSITION",
            ObjectKind::Folder => "FOLDER",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "EHR_STATUS" => Some(ObjectKind::EhrStatus),
            "COMPOSITION" => Some(ObjectKind::Composition),
            "FOLDER" => Some(ObjectKind::Folder),
            _ => None,
        }
    }
}

/// openEHR `change_type` codes (terminology group "audit change type").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Creation,
    Amendment,
    Modification,
    Synthesis,
    Deleted,
    AttestationOnly,
    FormatConversion,
    Unknown,
}

impl ChangeType {
    /// The openEHR terminology code.
    pub fn code(self) -> &'static str {
        match self {
            ChangeType::Creation => "249",
            ChangeType::Amendment => "250",
            ChangeType::Modification => "251",
            ChangeType::Synthesis => "252",
            ChangeType::Deleted => "523",
            ChangeType::AttestationOnly => "666",
            ChangeType::FormatConversion => "817",
            ChangeType::Unknown => "253",
        }
    }

    /// The openEHR terminology rubric.
    pub fn rubric(self) -> &'static str {
        match self {
            ChangeType::Creation => "creation",
            ChangeType::Amendment => "amendment",
            ChangeType::Modification => "modification",
            ChangeType::Synthesis => "synthesis",
            ChangeType::Deleted => "deleted",
            ChangeType::AttestationOnly => "attestation",
            ChangeType::FormatConversion => "format conversion",
            ChangeType::Unknown => "unknown",
        }
    }

    /// Accepts a code (`"249"`) or a rubric (`"creation"`, any case).
    pub fn parse(text: &str) -> Option<Self> {
        const ALL: [ChangeType; 8] = [
            ChangeType::Creation,
            ChangeType::Amendment,
            ChangeType::Modification,
            ChangeType::Synthesis,
            ChangeType::Deleted,
            ChangeType::AttestationOnly,
            ChangeType::FormatConversion,
            ChangeType::Unknown,
        ];
        ALL.into_iter()
            .find(|kind| kind.code() == text || kind.rubric().eq_ignore_ascii_case(text))
    }
}

/// openEHR `lifecycle_state` of a version (terminology group "version lifecycle state").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleState {
    Complete,
    Incomplete,
    Deleted,
}

impl LifecycleState {
    pub fn code(self) -> &'static str {
        match self {
            LifecycleState::Complete => "532",
            LifecycleState::Incomplete => "553",
            LifecycleState::Deleted => "523",
        }
    }

    pub fn rubric(self) -> &'static str {
        match self {
            LifecycleState::Complete => "complete",
            LifecycleState::Incomplete => "incomplete",
            LifecycleState::Deleted => "deleted",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            LifecycleState::Complete,
            LifecycleState::Incomplete,
            LifecycleState::Deleted,
        ]
        .into_iter()
        .find(|state| state.code() == code)
    }
}

/// The AUDIT_DETAILS of a contribution, as the store keeps them.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub system_id: String,
    pub time_committed: OffsetDateTime,
    pub change_type: ChangeType,
    /// The committer (a PARTY_PROXY) in canonical JSON.
    pub committer: serde_json::Value,
    /// The description (a DV_TEXT) in canonical JSON, if any.
    pub description: Option<serde_json::Value>,
}

/// One version to commit.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub object_id: Uuid,
    pub kind: ObjectKind,
    /// The version number this commit creates: 1 for a new object, latest + 1 otherwise.
    /// The commit fails with [`StoreError::VersionConflict`] unless the object's latest
    /// version is exactly `version - 1` (for `version == 1`: unless the object does not exist).
    pub version: u32,
    pub change_type: ChangeType,
    pub lifecycle_state: LifecycleState,
    /// The template id of a composition, for the template index and the "in use" check.
    pub template_id: Option<String>,
    /// For an EHR_STATUS version: what the store indexes of it. A later version that names
    /// another subject moves the EHR's entry in the one-EHR-per-subject lookup
    /// ([`StoreError::SubjectHasEhr`] if another EHR holds it); `None` leaves both as they
    /// were. Ignored for other kinds.
    pub status: Option<StatusFacts>,
    /// Canonical JSON of the version's data (the COMPOSITION, EHR_STATUS or FOLDER with its
    /// `uid` already set to this version's id). The store compresses it.
    pub data: Vec<u8>,
    /// The query rows of this version (`aql::index::index_rows` of `data`), which replace
    /// the object's rows: the rows always describe the latest version. Empty for a deleted
    /// version, whose object then has no rows.
    pub index: IndexRows,
}

/// What the store keeps of an EHR_STATUS version besides its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFacts {
    /// The subject's external reference, unique across EHRs when present.
    pub subject: Option<SubjectKey>,
    /// While false, only EHR_STATUS versions may be committed to the EHR
    /// ([`StoreError::EhrNotModifiable`]).
    pub is_modifiable: bool,
}

/// A contribution to commit atomically: all versions or none.
#[derive(Debug, Clone)]
pub struct NewContribution {
    pub ehr_id: Uuid,
    pub contribution_id: Uuid,
    pub audit: Audit,
    pub versions: Vec<NewVersion>,
}

/// A new EHR with its first EHR_STATUS version, committed as one contribution.
#[derive(Debug, Clone)]
pub struct NewEhr {
    pub ehr_id: Uuid,
    pub system_id: String,
    pub time_created: OffsetDateTime,
    /// The subject's external reference (namespace, id), unique across EHRs when present.
    pub subject: Option<SubjectKey>,
    /// The contribution that creates the EHR_STATUS (kind `EhrStatus`, version 1).
    pub contribution: NewContribution,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubjectKey {
    pub namespace: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EhrRecord {
    pub ehr_id: Uuid,
    pub system_id: String,
    pub time_created: OffsetDateTime,
    pub ehr_status_id: Uuid,
    pub directory_id: Option<Uuid>,
    pub subject: Option<SubjectKey>,
}

/// Metadata of one committed version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionMeta {
    pub ehr_id: Uuid,
    pub object_id: Uuid,
    pub kind: ObjectKind,
    pub version: u32,
    pub contribution_id: Uuid,
    pub audit: Audit,
    pub lifecycle_state: LifecycleState,
    pub template_id: Option<String>,
}

/// One committed version with its (decompressed) canonical JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVersion {
    pub meta: VersionMeta,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VersionedObjectMeta {
    pub ehr_id: Uuid,
    pub object_id: Uuid,
    pub kind: ObjectKind,
    pub time_created: OffsetDateTime,
    pub latest_version: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContributionRecord {
    pub ehr_id: Uuid,
    pub contribution_id: Uuid,
    pub audit: Audit,
    /// (object id, version number, kind) of every version the contribution committed.
    pub versions: Vec<(Uuid, u32, ObjectKind)>,
}

/// Which version of an object to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VersionSelector {
    Latest,
    Number(u32),
    /// The version that was latest at this instant (the last committed at or before it).
    AtTime(OffsetDateTime),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRecord {
    pub template_id: String,
    pub concept: String,
    pub archetype_id: String,
    pub created_at: OffsetDateTime,
    /// The OPT exactly as uploaded.
    pub opt: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("ehr {0} does not exist")]
    EhrNotFound(Uuid),
    #[error("ehr {0} may not be modified: its ehr_status says is_modifiable false")]
    EhrNotModifiable(Uuid),
    #[error("ehr {0} already exists")]
    EhrExists(Uuid),
    #[error("an ehr for subject {namespace}:{id} already exists", namespace = .0.namespace, id = .0.id)]
    SubjectHasEhr(SubjectKey),
    #[error("object {object_id} version {version} conflicts: latest version is {latest:?}")]
    VersionConflict {
        object_id: Uuid,
        version: u32,
        latest: Option<u32>,
    },
    #[error("object {object_id} is a {actual} not a {expected}", actual = .actual.as_str(), expected = .expected.as_str())]
    KindMismatch {
        object_id: Uuid,
        expected: ObjectKind,
        actual: ObjectKind,
    },
    #[error("the ehr already has a directory {0}")]
    DirectoryExists(Uuid),
    #[error("template {0} already exists")]
    TemplateExists(String),
    #[error("template {0} is used by compositions")]
    TemplateInUse(String),
    #[error("contribution {0} already exists")]
    ContributionExists(Uuid),
    #[error("stored query {0} version {1} already exists")]
    StoredQueryExists(String, String),
    #[error("person {0} already exists")]
    PersonExists(Uuid),
    #[error("identifier {namespace}|{value} belongs to another person")]
    IdentifierTaken { namespace: String, value: String },
    #[error("ehr {0} already belongs to a person")]
    EhrHasPerson(Uuid),
    #[error("record {id} version {version} conflicts: latest version is {latest:?}")]
    RecordVersionConflict {
        id: Uuid,
        version: u32,
        latest: Option<u32>,
    },
    #[error("audit event {0} was appended by another writer")]
    AuditSeqTaken(u64),
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The versioned store. Both backends pass the same behavioural suite (`tests/behaviour.rs`).
#[async_trait]
pub trait Store: Registry + AuditLog + Send + Sync + 'static {
    /// A short name for logs and the status endpoint (`"sqlite"`, `"postgresql"`).
    fn backend_name(&self) -> &'static str;

    async fn create_ehr(&self, ehr: NewEhr) -> Result<()>;
    async fn get_ehr(&self, ehr_id: Uuid) -> Result<Option<EhrRecord>>;
    async fn find_ehr_by_subject(&self, subject: &SubjectKey) -> Result<Option<EhrRecord>>;

    /// Commits every version of the contribution or none of them. A FOLDER version 1 becomes
    /// the EHR's directory (an EHR has at most one).
    async fn commit(&self, contribution: NewContribution) -> Result<()>;

    async fn get_versioned_object(
        &self,
        ehr_id: Uuid,
        object_id: Uuid,
    ) -> Result<Option<VersionedObjectMeta>>;
    async fn get_version(
        &self,
        ehr_id: Uuid,
        object_id: Uuid,
        selector: VersionSelector,
    ) -> Result<Option<StoredVersion>>;
    /// Every version of the object, oldest first (the revision history).
    async fn list_versions(&self, ehr_id: Uuid, object_id: Uuid) -> Result<Vec<VersionMeta>>;
    async fn get_contribution(
        &self,
        ehr_id: Uuid,
        contribution_id: Uuid,
    ) -> Result<Option<ContributionRecord>>;

    /// Physically erases an EHR and everything in it. Returns false if it did not exist.
    async fn delete_ehr(&self, ehr_id: Uuid) -> Result<bool>;

    async fn put_template(&self, template: TemplateRecord) -> Result<()>;
    async fn get_template(&self, template_id: &str) -> Result<Option<TemplateRecord>>;
    /// All templates without their OPT bodies (`opt` is empty), ordered by template id.
    async fn list_templates(&self) -> Result<Vec<TemplateRecord>>;
    /// Deletes a template no composition uses. Returns false if it did not exist.
    async fn delete_template(&self, template_id: &str) -> Result<bool>;
    /// Replaces the OPT (and concept and archetype id) of an existing template that no
    /// composition uses, keeping its `created_at`. Returns false if it did not exist;
    /// refuses with [`StoreError::TemplateInUse`] if any version names it.
    async fn replace_template(&self, template: TemplateRecord) -> Result<bool>;

    /// Stores an AQL query under a qualified name and semantic version. Replacing an existing
    /// (name, version) is refused with [`StoreError::StoredQueryExists`].
    async fn put_stored_query(&self, query: StoredQuery) -> Result<()>;
    /// The given version, or the highest semantic version when `version` is None.
    async fn get_stored_query(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<StoredQuery>>;
    /// Every stored query whose name starts with `name_prefix`, ordered by name and version.
    async fn list_stored_queries(&self, name_prefix: &str) -> Result<Vec<StoredQuery>>;
    /// Deletes a stored query (all versions when `version` is None). Returns how many were deleted.
    async fn delete_stored_query(&self, name: &str, version: Option<&str>) -> Result<u64>;

    /// The query rows the store keeps for an object (those of its latest version), with
    /// paths listed in order of first use. Empty when the object has none or is unknown.
    async fn index_of(&self, ehr_id: Uuid, object_id: Uuid) -> Result<IndexRows>;

    /// The SQL dialect this backend runs compiled AQL statements in.
    fn dialect(&self) -> Dialect;

    /// Runs a statement compiled by `aql::sql::compile` for [`Store::dialect`], and reads,
    /// in the same snapshot, the latest document of every object its whole-object cells
    /// name (so that the rows and the documents agree even while others commit).
    async fn run_query(&self, query: &SqlQuery) -> Result<QueryRows>;

    /// The database's plan for a compiled statement, one line per plan node.
    async fn explain_query(&self, query: &SqlQuery) -> Result<Vec<String>>;

    /// The ids of those `query_path` keys that exist (for `aql::sql::compile_with_paths`).
    /// Ids never change once given, so backends may cache them.
    async fn path_ids(&self, keys: &[String]) -> Result<PathIds>;

    /// The versions of an EHR's objects with their documents, in commit order (by commit
    /// time, then contribution): every version, or only the latest of each object. For the
    /// evaluator, which answers the queries that do not compile to SQL.
    async fn ehr_versions(&self, ehr_id: Uuid, latest_only: bool) -> Result<Vec<StoredVersion>>;

    /// Bytes the database occupies on disk (SQLite: the database and WAL files; PostgreSQL:
    /// the total relation size of Kith's tables), for the benchmark's storage figures.
    async fn storage_bytes(&self) -> Result<u64>;
}

/// What [`Store::run_query`] read: the statement's rows, and the decompressed canonical JSON
/// of the latest version of every object the rows' whole-object cells name, keyed by
/// (EHR id, object id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryRows {
    pub rows: Vec<Vec<SqlValue>>,
    pub documents: HashMap<([u8; 16], [u8; 16]), Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredQuery {
    /// Qualified name, `namespace::name` (for example `org.example::blood_pressure`).
    pub name: String,
    /// Semantic version `major.minor.patch`.
    pub version: String,
    pub query_type: String,
    pub text: String,
    pub saved: OffsetDateTime,
}
