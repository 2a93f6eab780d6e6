//! The registry of people, organisations, care relationships and consent directives, and
//! the audit trail: what the access layer decides with and writes to. The store keeps these
//! rows and enforces their uniqueness and versions; it does not interpret them (the access
//! crate owns what a directive or a relationship means).
//!
//! People and organisations are reference data (keyed by their own ids); relationships and
//! consent directives belong to one person's record and lead their keys with the EHR id,
//! like every per-record table, so that they shard with the record.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Result;

/// A person as the registry keeps them. `document` is the API's JSON of the person (names,
/// birth date, identifiers, contact...); the columns beside it are what the store searches
/// and checks.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRecord {
    pub person_id: Uuid,
    /// The person's one EHR.
    pub ehr_id: Uuid,
    /// 1 when registered, one more on every change (updates check it).
    pub version: u32,
    /// Set when this person was merged into another (the survivor), who answers for them
    /// from then on.
    pub merged_into: Option<Uuid>,
    /// Identifiers by namespace (an NHS number, a hospital number...), each unique across
    /// people: `(namespace, value)`.
    pub identifiers: Vec<(String, String)>,
    /// The family name as searched: compared without regard to case.
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub document: serde_json::Value,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

/// What people to find: every given field must match (family name without regard to case,
/// given name as a case-insensitive prefix). At least one field is expected; the caller
/// checks that.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonSearch {
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub birth_date: Option<String>,
    /// Also return people merged into others.
    pub include_merged: bool,
    pub limit: u32,
}

/// Two people found to be one: `source` is merged into `target`. Both are written with
/// their new versions in one transaction, which fails with
/// [`crate::StoreError::RecordVersionConflict`] unless each is still at `version - 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonMerge {
    /// The source after the merge (`merged_into` set to the target, identifiers it keeps).
    pub source: PersonRecord,
    /// The target after the merge (with any identifiers it takes over from the source).
    pub target: PersonRecord,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationRecord {
    /// The organisation's code (an ODS code in England), unique.
    pub code: String,
    pub name: String,
    /// An `access::OrganisationType` code.
    pub kind: String,
    pub document: serde_json::Value,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

/// A care relationship between a person and an organisation or a professional (or a proxy).
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipRecord {
    pub ehr_id: Uuid,
    pub relationship_id: Uuid,
    /// An `access::RelationshipKind` code.
    pub kind: String,
    /// An organisation code.
    pub organisation: Option<String>,
    /// A user id: a named professional, or the proxy.
    pub professional: Option<String>,
    /// An `access::ProxyAuthority` code, for proxies.
    pub authority: Option<String>,
    pub starts: Option<OffsetDateTime>,
    pub ends: Option<OffsetDateTime>,
    pub document: serde_json::Value,
    pub created: OffsetDateTime,
}

/// A consent directive of one person, with its rules flattened for the query filter.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRecord {
    pub ehr_id: Uuid,
    pub directive_id: Uuid,
    /// 1 when recorded, one more on every change.
    pub version: u32,
    /// `active` or `inactive`.
    pub status: String,
    pub document: serde_json::Value,
    /// What the directive says as rows (empty when inactive): one per actor, purpose and
    /// category it names, so that SQL can test them.
    pub rules: Vec<ConsentRule>,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

/// One row of a directive: `effect` (`permit` or `deny`) for an actor (`actor_kind` `any`,
/// `organisation`, `organisation-type`, `professional`, `proxy` or `role`, and the code or
/// user in `actor`), a purpose (None: any) and a data category (None: the whole record),
/// within a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRule {
    pub effect: String,
    pub actor_kind: String,
    pub actor: Option<String>,
    pub purpose: Option<String>,
    pub category: Option<String>,
    pub starts: Option<OffsetDateTime>,
    pub ends: Option<OffsetDateTime>,
}

/// What an access decision about one record needs, read at once: the person registered with
/// the EHR (if any), their relationships and their consent directives (whose `rules` are left
/// empty: decisions read the documents).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordFacts {
    pub person: Option<PersonRecord>,
    pub relationships: Vec<RelationshipRecord>,
    pub consents: Vec<ConsentRecord>,
}

/// People, organisations, relationships and consent directives.
#[async_trait]
pub trait Registry: Send + Sync {
    /// [`RecordFacts`] of an EHR, in one read (one reader, or one connection with the
    /// statements pipelined): the access guard asks this on every request about a record.
    async fn record_facts(&self, ehr_id: Uuid) -> Result<RecordFacts>;
    /// [`RecordFacts`] of many EHRs at once, in the order given (for deciding a query's
    /// candidates without a read per record).
    async fn records_facts(&self, ehr_ids: &[Uuid]) -> Result<Vec<RecordFacts>>;

    /// Registers a person whose EHR already exists. Fails with
    /// [`crate::StoreError::PersonExists`] if the id is taken,
    /// [`crate::StoreError::IdentifierTaken`] if another person holds one of the
    /// identifiers, and [`crate::StoreError::EhrHasPerson`] if the EHR is another person's.
    async fn create_person(&self, person: PersonRecord) -> Result<()>;
    async fn get_person(&self, person_id: Uuid) -> Result<Option<PersonRecord>>;
    async fn person_by_ehr(&self, ehr_id: Uuid) -> Result<Option<PersonRecord>>;
    async fn person_by_identifier(
        &self,
        namespace: &str,
        value: &str,
    ) -> Result<Option<PersonRecord>>;
    /// People matching the search, ordered by family name, given name, birth date and id.
    async fn search_people(&self, search: &PersonSearch) -> Result<Vec<PersonRecord>>;
    /// Replaces a person with `person.version`, which must be one more than the stored
    /// version ([`crate::StoreError::RecordVersionConflict`] otherwise, with `latest` None if
    /// there is no such person). Identifiers are replaced as a whole.
    async fn update_person(&self, person: PersonRecord) -> Result<()>;
    async fn merge_people(&self, merge: PersonMerge) -> Result<()>;

    /// Creates or replaces an organisation (by code).
    async fn put_organisation(&self, organisation: OrganisationRecord) -> Result<()>;
    async fn get_organisation(&self, code: &str) -> Result<Option<OrganisationRecord>>;
    /// Every organisation, ordered by code.
    async fn list_organisations(&self) -> Result<Vec<OrganisationRecord>>;

    /// Creates or replaces a relationship (by EHR and relationship id).
    async fn put_relationship(&self, relationship: RelationshipRecord) -> Result<()>;
    /// Returns false if there was no such relationship.
    async fn delete_relationship(&self, ehr_id: Uuid, relationship_id: Uuid) -> Result<bool>;
    /// A person's relationships, ordered by creation then id.
    async fn list_relationships(&self, ehr_id: Uuid) -> Result<Vec<RelationshipRecord>>;

    /// Records a directive (`version` 1) or a new version of one (the stored version must
    /// be `version - 1`, else [`crate::StoreError::RecordVersionConflict`]), replacing its
    /// rules.
    async fn put_consent(&self, consent: ConsentRecord) -> Result<()>;
    /// A person's directives, ordered by creation then id.
    async fn list_consents(&self, ehr_id: Uuid) -> Result<Vec<ConsentRecord>>;

    /// The EHRs a caller might reach for direct care, in id order: those with a relationship
    /// naming the organisation or the user, and those with a permit rule whose actor could
    /// be the caller (naming the organisation or the user, or any organisation type or role:
    /// the policy decides those). A superset; the access policy decides each.
    async fn ehrs_in_reach(&self, organisation: Option<&str>, user: &str) -> Result<Vec<Uuid>>;
    /// The EHRs with any consent rule, in id order: the only ones whose secondary use is not
    /// decided by the default policy alone.
    async fn ehrs_with_rules(&self) -> Result<Vec<Uuid>>;
    /// A number that changes (grows) with every change to the registry: people, identifiers,
    /// organisations, relationships, consent directives. Decisions computed from the
    /// registry may be reused while it stays the same.
    async fn registry_generation(&self) -> Result<u64>;
}

/// One event of the audit trail as stored: its place in the chain, the canonical bytes the
/// hash covers, and columns copied out of them for the lookups the API offers.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    /// 1, 2, 3... without gaps.
    pub seq: u64,
    pub time: OffsetDateTime,
    /// The person the event concerns, if any.
    pub person_id: Option<Uuid>,
    pub user: String,
    /// Whether the event was a break-glass access.
    pub break_glass: bool,
    pub allowed: bool,
    /// The canonical bytes of the event (the access crate's serialisation), which the
    /// chain hashes.
    pub canonical: Vec<u8>,
    /// SHA-256 of the previous event's hash followed by `canonical`.
    pub hash: [u8; 32],
    /// The records (EHR ids) the event concerns besides the person's (the event's
    /// `records`), sorted.
    pub ehr_ids: Vec<Uuid>,
}

/// Which events to read, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Only events with `seq >= from_seq`.
    pub from_seq: u64,
    /// Only events about this person: naming them, or showing one of `records`. With
    /// neither, events about anyone.
    pub person_id: Option<Uuid>,
    /// The person's records (their EHR, and those merged into them): events whose
    /// `records` name one of these are about the person too.
    pub records: Vec<Uuid>,
    pub break_glass_only: bool,
    /// Most events to return; 0 means no limit.
    pub limit: u32,
}

/// The append-only, hash-chained audit trail.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends events that continue the chain: the first must have `seq` one more than the
    /// last stored, and each following one more again. If another writer appended first,
    /// nothing is written and [`crate::StoreError::AuditSeqTaken`] tells the caller to
    /// reread the head and rehash.
    async fn append_audit(&self, events: Vec<AuditRow>) -> Result<()>;
    /// The last event's seq and hash (None while the trail is empty).
    async fn audit_head(&self) -> Result<Option<(u64, [u8; 32])>>;
    async fn read_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>>;
}
