//! The registry and the audit trail on SQLite: writes go through the one writer thread
//! like every other write (so they group-commit with it); reads use the reader pool.

use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{WriteOutcome, is_constraint_violation, optional_uuid_at, uuid_at};
use crate::codec::parse_json;
use crate::{
    AuditFilter, AuditRow, ConsentRecord, ConsentRule, OrganisationRecord, PersonMerge,
    PersonRecord, PersonSearch, RelationshipRecord, Result, StoreError,
};

/// A registry or audit write, applied by the writer thread.
pub(super) enum RegistryWrite {
    CreatePerson(PersonRecord),
    UpdatePerson(PersonRecord),
    MergePeople(Box<PersonMerge>),
    PutOrganisation(OrganisationRecord),
    PutRelationship(RelationshipRecord),
    DeleteRelationship(Uuid, Uuid),
    PutConsent(ConsentRecord),
    AppendAudit(Vec<AuditRow>),
}

pub(super) fn apply(connection: &Connection, write: &RegistryWrite) -> Result<WriteOutcome> {
    let done = |result: Result<()>| result.map(|()| WriteOutcome::Done);
    match write {
        RegistryWrite::CreatePerson(person) => done(create_person(connection, person)),
        RegistryWrite::UpdatePerson(person) => done(update_person(connection, person)),
        RegistryWrite::MergePeople(merge) => done(
            update_person(connection, &merge.source)
                .and_then(|()| update_person(connection, &merge.target)),
        ),
        RegistryWrite::PutOrganisation(organisation) => {
            done(put_organisation(connection, organisation))
        }
        RegistryWrite::PutRelationship(relationship) => {
            done(put_relationship(connection, relationship))
        }
        RegistryWrite::DeleteRelationship(ehr_id, relationship_id) => {
            let deleted = connection
                .prepare_cached(
                    "DELETE FROM care_relationship WHERE ehr_id = ?1 AND relationship_id = ?2",
                )?
                .execute(params![ehr_id.as_bytes(), relationship_id.as_bytes()])?;
            Ok(WriteOutcome::Existed(deleted > 0))
        }
        RegistryWrite::PutConsent(consent) => done(put_consent(connection, consent)),
        RegistryWrite::AppendAudit(events) => done(append_audit(connection, events)),
    }
}

fn micros(instant: OffsetDateTime) -> i64 {
    (instant.unix_timestamp_nanos() / 1_000) as i64
}

fn from_micros(micros: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|error| StoreError::Corrupt(format!("a stored time is out of range: {error}")))
}

fn optional_from_micros(micros: Option<i64>) -> Result<Option<OffsetDateTime>> {
    micros.map(from_micros).transpose()
}

fn version_of(version: u32) -> i64 {
    i64::from(version)
}

fn create_person(connection: &Connection, person: &PersonRecord) -> Result<()> {
    let inserted = connection
        .prepare_cached(
            "INSERT INTO person (person_id, ehr_id, version, merged_into, family_name, family_key,
                                 given_name, birth_date, document, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, lower(?5), ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            person.person_id.as_bytes(),
            person.ehr_id.as_bytes(),
            version_of(person.version),
            person.merged_into.as_ref().map(Uuid::as_bytes),
            person.family_name,
            person.given_name,
            person.birth_date,
            person.document.to_string(),
            micros(person.created),
            micros(person.updated),
        ]);
    if let Err(error) = inserted {
        if !is_constraint_violation(&error) {
            return Err(error.into());
        }
        let taken: Option<i64> = connection
            .prepare_cached("SELECT 1 FROM person WHERE person_id = ?1")?
            .query_row([person.person_id.as_bytes()], |row| row.get(0))
            .optional()?;
        return Err(if taken.is_some() {
            StoreError::PersonExists(person.person_id)
        } else {
            StoreError::EhrHasPerson(person.ehr_id)
        });
    }
    insert_identifiers(connection, person)
}

fn insert_identifiers(connection: &Connection, person: &PersonRecord) -> Result<()> {
    let mut insert = connection.prepare_cached(
        "INSERT INTO person_identifier (namespace, value, person_id) VALUES (?1, ?2, ?3)",
    )?;
    for (namespace, value) in &person.identifiers {
        match insert.execute(params![namespace, value, person.person_id.as_bytes()]) {
            Err(error) if is_constraint_violation(&error) => {
                return Err(StoreError::IdentifierTaken {
                    namespace: namespace.clone(),
                    value: value.clone(),
                });
            }
            other => other?,
        };
    }
    Ok(())
}

fn update_person(connection: &Connection, person: &PersonRecord) -> Result<()> {
    let stored: Option<i64> = connection
        .prepare_cached("SELECT version FROM person WHERE person_id = ?1")?
        .query_row([person.person_id.as_bytes()], |row| row.get(0))
        .optional()?;
    if stored != Some(version_of(person.version) - 1) {
        return Err(StoreError::RecordVersionConflict {
            id: person.person_id,
            version: person.version,
            latest: stored.map(|version| version as u32),
        });
    }
    connection
        .prepare_cached(
            "UPDATE person SET version = ?2, merged_into = ?3, family_name = ?4,
                               family_key = lower(?4), given_name = ?5, birth_date = ?6,
                               document = ?7, updated = ?8
             WHERE person_id = ?1",
        )?
        .execute(params![
            person.person_id.as_bytes(),
            version_of(person.version),
            person.merged_into.as_ref().map(Uuid::as_bytes),
            person.family_name,
            person.given_name,
            person.birth_date,
            person.document.to_string(),
            micros(person.updated),
        ])?;
    connection
        .prepare_cached("DELETE FROM person_identifier WHERE person_id = ?1")?
        .execute([person.person_id.as_bytes()])?;
    insert_identifiers(connection, person)
}

fn put_organisation(connection: &Connection, organisation: &OrganisationRecord) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO organisation (code, name, kind, document, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                 document = excluded.document, updated = excluded.updated",
        )?
        .execute(params![
            organisation.code,
            organisation.name,
            organisation.kind,
            organisation.document.to_string(),
            micros(organisation.created),
            micros(organisation.updated),
        ])?;
    Ok(())
}

fn put_relationship(connection: &Connection, relationship: &RelationshipRecord) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO care_relationship
                 (ehr_id, relationship_id, kind, organisation, professional, authority, starts,
                  ends, document, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            relationship.ehr_id.as_bytes(),
            relationship.relationship_id.as_bytes(),
            relationship.kind,
            relationship.organisation,
            relationship.professional,
            relationship.authority,
            relationship.starts.map(micros),
            relationship.ends.map(micros),
            relationship.document.to_string(),
            micros(relationship.created),
        ])?;
    Ok(())
}

fn put_consent(connection: &Connection, consent: &ConsentRecord) -> Result<()> {
    let key = params![consent.ehr_id.as_bytes(), consent.directive_id.as_bytes()];
    let stored: Option<i64> = connection
        .prepare_cached(
            "SELECT version FROM consent_directive WHERE ehr_id = ?1 AND directive_id = ?2",
        )?
        .query_row(key, |row| row.get(0))
        .optional()?;
    let expected = (consent.version > 1).then(|| version_of(consent.version) - 1);
    if stored != expected {
        return Err(StoreError::RecordVersionConflict {
            id: consent.directive_id,
            version: consent.version,
            latest: stored.map(|version| version as u32),
        });
    }
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO consent_directive
                 (ehr_id, directive_id, version, status, document, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            consent.ehr_id.as_bytes(),
            consent.directive_id.as_bytes(),
            version_of(consent.version),
            consent.status,
            consent.document.to_string(),
            micros(consent.created),
            micros(consent.updated),
        ])?;
    connection
        .prepare_cached("DELETE FROM consent_rule WHERE ehr_id = ?1 AND directive_id = ?2")?
        .execute(key)?;
    let mut insert = connection.prepare_cached(
        "INSERT INTO consent_rule (ehr_id, directive_id, rule, effect, actor_kind, actor, purpose,
                                   category, starts, ends)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (number, rule) in consent.rules.iter().enumerate() {
        insert.execute(params![
            consent.ehr_id.as_bytes(),
            consent.directive_id.as_bytes(),
            number as i64,
            rule.effect,
            rule.actor_kind,
            rule.actor,
            rule.purpose,
            rule.category,
            rule.starts.map(micros),
            rule.ends.map(micros),
        ])?;
    }
    Ok(())
}

fn append_audit(connection: &Connection, events: &[AuditRow]) -> Result<()> {
    let Some(first) = events.first() else {
        return Ok(());
    };
    let last: Option<i64> = connection
        .prepare_cached("SELECT max(seq) FROM audit_event")?
        .query_row([], |row| row.get(0))?;
    let expected = last.unwrap_or(0) + 1;
    if first.seq as i64 != expected {
        return Err(StoreError::AuditSeqTaken(first.seq));
    }
    let mut insert = connection.prepare_cached(
        "INSERT INTO audit_event (seq, time, person_id, user_id, break_glass, allowed, canonical,
                                  hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut insert_record =
        connection.prepare_cached("INSERT INTO audit_record (seq, ehr_id) VALUES (?1, ?2)")?;
    for (offset, event) in events.iter().enumerate() {
        if event.seq != first.seq + offset as u64 {
            return Err(StoreError::AuditSeqTaken(event.seq));
        }
        insert.execute(params![
            event.seq as i64,
            micros(event.time),
            event.person_id.as_ref().map(Uuid::as_bytes),
            event.user,
            event.break_glass,
            event.allowed,
            event.canonical,
            event.hash.as_slice(),
        ])?;
        for ehr_id in &event.ehr_ids {
            insert_record.execute(params![event.seq as i64, ehr_id.as_bytes()])?;
        }
    }
    Ok(())
}

const PERSON_COLUMNS: &str = "p.person_id, p.ehr_id, p.version, p.merged_into, p.family_name, \
                              p.given_name, p.birth_date, p.document, p.created, p.updated";

fn person_from_row(connection: &Connection, row: &Row<'_>) -> Result<PersonRecord> {
    let person_id = uuid_at(row, 0)?;
    let document: String = row.get(7)?;
    let identifiers = connection
        .prepare_cached(
            "SELECT namespace, value FROM person_identifier WHERE person_id = ?1
             ORDER BY namespace, value",
        )?
        .query_map([person_id.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<Vec<(String, String)>>>()?;
    Ok(PersonRecord {
        person_id,
        ehr_id: uuid_at(row, 1)?,
        version: row.get::<_, i64>(2)? as u32,
        merged_into: optional_uuid_at(row, 3)?,
        identifiers,
        family_name: row.get(4)?,
        given_name: row.get(5)?,
        birth_date: row.get(6)?,
        document: parse_json(&document)?,
        created: from_micros(row.get(8)?)?,
        updated: from_micros(row.get(9)?)?,
    })
}

fn people_where(
    connection: &Connection,
    condition: &str,
    parameters: &[&dyn rusqlite::ToSql],
) -> Result<Vec<PersonRecord>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {PERSON_COLUMNS} FROM person p WHERE {condition}"
    ))?;
    let mut rows = statement.query(parameters)?;
    let mut people = Vec::new();
    while let Some(row) = rows.next()? {
        people.push(person_from_row(connection, row)?);
    }
    Ok(people)
}

pub(super) fn get_person(connection: &Connection, person_id: Uuid) -> Result<Option<PersonRecord>> {
    Ok(people_where(connection, "p.person_id = ?1", &[&person_id.as_bytes()])?.pop())
}

pub(super) fn person_by_ehr(connection: &Connection, ehr_id: Uuid) -> Result<Option<PersonRecord>> {
    Ok(people_where(connection, "p.ehr_id = ?1", &[&ehr_id.as_bytes()])?.pop())
}

pub(super) fn person_by_identifier(
    connection: &Connection,
    namespace: &str,
    value: &str,
) -> Result<Option<PersonRecord>> {
    Ok(people_where(
        connection,
        "p.person_id = (SELECT person_id FROM person_identifier
                        WHERE namespace = ?1 AND value = ?2)",
        &[&namespace, &value],
    )?
    .pop())
}

pub(super) fn search_people(
    connection: &Connection,
    search: &PersonSearch,
) -> Result<Vec<PersonRecord>> {
    let given_prefix = search
        .given_name
        .as_ref()
        .map(|given| format!("{}%", escape_like(&given.to_lowercase())));
    people_where(
        connection,
        "(?1 IS NULL OR p.family_key = lower(?1))
         AND (?2 IS NULL OR lower(p.given_name) LIKE ?2 ESCAPE '\\')
         AND (?3 IS NULL OR p.birth_date = ?3)
         AND (?4 OR p.merged_into IS NULL)
         ORDER BY p.family_key, lower(p.given_name), p.birth_date, p.person_id
         LIMIT ?5",
        &[
            &search.family_name,
            &given_prefix,
            &search.birth_date,
            &search.include_merged,
            &i64::from(search.limit),
        ],
    )
}

/// A LIKE pattern matching `text` literally.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

fn organisation_from_row(row: &Row<'_>) -> Result<OrganisationRecord> {
    let document: String = row.get(3)?;
    Ok(OrganisationRecord {
        code: row.get(0)?,
        name: row.get(1)?,
        kind: row.get(2)?,
        document: parse_json(&document)?,
        created: from_micros(row.get(4)?)?,
        updated: from_micros(row.get(5)?)?,
    })
}

pub(super) fn get_organisation(
    connection: &Connection,
    code: &str,
) -> Result<Option<OrganisationRecord>> {
    let mut statement = connection.prepare_cached(
        "SELECT code, name, kind, document, created, updated FROM organisation WHERE code = ?1",
    )?;
    let mut rows = statement.query([code])?;
    rows.next()?.map(organisation_from_row).transpose()
}

pub(super) fn list_organisations(connection: &Connection) -> Result<Vec<OrganisationRecord>> {
    let mut statement = connection.prepare_cached(
        "SELECT code, name, kind, document, created, updated FROM organisation ORDER BY code",
    )?;
    let mut rows = statement.query([])?;
    let mut organisations = Vec::new();
    while let Some(row) = rows.next()? {
        organisations.push(organisation_from_row(row)?);
    }
    Ok(organisations)
}

pub(super) fn list_relationships(
    connection: &Connection,
    ehr_id: Uuid,
) -> Result<Vec<RelationshipRecord>> {
    let mut statement = connection.prepare_cached(
        "SELECT relationship_id, kind, organisation, professional, authority, starts, ends,
                document, created
         FROM care_relationship WHERE ehr_id = ?1 ORDER BY created, relationship_id",
    )?;
    let mut rows = statement.query([ehr_id.as_bytes()])?;
    let mut relationships = Vec::new();
    while let Some(row) = rows.next()? {
        let document: String = row.get(7)?;
        relationships.push(RelationshipRecord {
            ehr_id,
            relationship_id: uuid_at(row, 0)?,
            kind: row.get(1)?,
            organisation: row.get(2)?,
            professional: row.get(3)?,
            authority: row.get(4)?,
            starts: optional_from_micros(row.get(5)?)?,
            ends: optional_from_micros(row.get(6)?)?,
            document: parse_json(&document)?,
            created: from_micros(row.get(8)?)?,
        });
    }
    Ok(relationships)
}

/// The directives alone, for decisions (which read the documents, not the rules).
pub(super) fn list_consents_without_rules(
    connection: &Connection,
    ehr_id: Uuid,
) -> Result<Vec<ConsentRecord>> {
    let mut statement = connection.prepare_cached(
        "SELECT directive_id, version, status, document, created, updated
         FROM consent_directive WHERE ehr_id = ?1 ORDER BY created, directive_id",
    )?;
    let mut rows = statement.query([ehr_id.as_bytes()])?;
    let mut consents = Vec::new();
    while let Some(row) = rows.next()? {
        let document: String = row.get(3)?;
        consents.push(ConsentRecord {
            ehr_id,
            directive_id: uuid_at(row, 0)?,
            version: row.get::<_, i64>(1)? as u32,
            status: row.get(2)?,
            document: parse_json(&document)?,
            rules: Vec::new(),
            created: from_micros(row.get(4)?)?,
            updated: from_micros(row.get(5)?)?,
        });
    }
    Ok(consents)
}

pub(super) fn list_consents(connection: &Connection, ehr_id: Uuid) -> Result<Vec<ConsentRecord>> {
    let mut rules = connection.prepare_cached(
        "SELECT effect, actor_kind, actor, purpose, category, starts, ends FROM consent_rule
         WHERE ehr_id = ?1 AND directive_id = ?2 ORDER BY rule",
    )?;
    let mut consents = list_consents_without_rules(connection, ehr_id)?;
    for consent in &mut consents {
        let mut rows = rules.query(params![ehr_id.as_bytes(), consent.directive_id.as_bytes()])?;
        while let Some(rule) = rows.next()? {
            consent.rules.push(ConsentRule {
                effect: rule.get(0)?,
                actor_kind: rule.get(1)?,
                actor: rule.get(2)?,
                purpose: rule.get(3)?,
                category: rule.get(4)?,
                starts: optional_from_micros(rule.get(5)?)?,
                ends: optional_from_micros(rule.get(6)?)?,
            });
        }
    }
    Ok(consents)
}

fn hash_at(row: &Row<'_>, index: usize) -> Result<[u8; 32]> {
    let bytes: Vec<u8> = row.get(index)?;
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("an audit hash is not 32 bytes".to_owned()))
}

pub(super) fn audit_head(connection: &Connection) -> Result<Option<(u64, [u8; 32])>> {
    let mut statement =
        connection.prepare_cached("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")?;
    let mut rows = statement.query([])?;
    rows.next()?
        .map(|row| Ok((row.get::<_, i64>(0)? as u64, hash_at(row, 1)?)))
        .transpose()
}

pub(super) fn read_audit(connection: &Connection, filter: &AuditFilter) -> Result<Vec<AuditRow>> {
    let limit = if filter.limit == 0 {
        -1
    } else {
        i64::from(filter.limit)
    };
    let from_seq = filter.from_seq as i64;
    let person_id = filter.person_id.as_ref().map(Uuid::as_bytes);
    let records: Vec<String> = filter
        .records
        .iter()
        .map(|id| id.simple().to_string())
        .collect();
    let records = serde_json::to_string(&records).unwrap_or_default();
    let mut parameters: Vec<&dyn rusqlite::ToSql> =
        vec![&from_seq, &filter.break_glass_only, &limit];
    // About a person: naming them, or showing one of their records. Each alternative is
    // answered by its own index.
    let about = if filter.person_id.is_none() && filter.records.is_empty() {
        ""
    } else {
        parameters.extend([&person_id as &dyn rusqlite::ToSql, &records]);
        "AND (person_id = ?4 OR seq IN (SELECT r.seq FROM audit_record r
                                        WHERE r.ehr_id IN (SELECT unhex(value) FROM json_each(?5))))"
    };
    let mut statement = connection.prepare_cached(&format!(
        "SELECT seq, time, person_id, user_id, break_glass, allowed, canonical, hash,
                (SELECT json_group_array(lower(hex(r.ehr_id))) FROM audit_record r
                 WHERE r.seq = audit_event.seq)
         FROM audit_event
         WHERE seq >= ?1 {about} AND (NOT ?2 OR break_glass = 1)
         ORDER BY seq LIMIT ?3"
    ))?;
    let mut rows = statement.query(parameters.as_slice())?;
    let mut events = Vec::new();
    while let Some(row) = rows.next()? {
        let listed: String = row.get(8)?;
        let hex: Vec<String> = serde_json::from_str(&listed)
            .map_err(|error| StoreError::Database(format!("audit records: {error}")))?;
        let mut ehr_ids = hex
            .iter()
            .map(|id| {
                Uuid::parse_str(id)
                    .map_err(|error| StoreError::Database(format!("audit records: {error}")))
            })
            .collect::<Result<Vec<Uuid>>>()?;
        ehr_ids.sort_unstable();
        events.push(AuditRow {
            seq: row.get::<_, i64>(0)? as u64,
            time: from_micros(row.get(1)?)?,
            person_id: optional_uuid_at(row, 2)?,
            user: row.get(3)?,
            break_glass: row.get(4)?,
            allowed: row.get(5)?,
            canonical: row.get(6)?,
            hash: hash_at(row, 7)?,
            ehr_ids,
        });
    }
    Ok(events)
}

fn ehr_ids(
    connection: &Connection,
    sql: &str,
    parameters: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Uuid>> {
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query(parameters)?;
    let mut ids = Vec::new();
    while let Some(row) = rows.next()? {
        ids.push(uuid_at(row, 0)?);
    }
    Ok(ids)
}

pub(super) fn ehrs_in_reach(
    connection: &Connection,
    organisation: Option<&str>,
    user: &str,
) -> Result<Vec<Uuid>> {
    ehr_ids(
        connection,
        "SELECT ehr_id FROM care_relationship WHERE organisation = ?1
         UNION SELECT ehr_id FROM care_relationship WHERE professional = ?2
         UNION SELECT ehr_id FROM consent_rule
               WHERE effect = 'permit'
                 AND (actor_kind IN ('any', 'organisation-type', 'role')
                      OR (actor_kind = 'organisation' AND actor = ?1)
                      OR (actor_kind IN ('professional', 'proxy') AND actor = ?2))
         ORDER BY 1",
        &[&organisation, &user],
    )
}

pub(super) fn ehrs_with_rules(connection: &Connection) -> Result<Vec<Uuid>> {
    ehr_ids(
        connection,
        "SELECT DISTINCT ehr_id FROM consent_rule ORDER BY 1",
        &[],
    )
}

pub(super) fn registry_generation(connection: &Connection) -> Result<u64> {
    let generation: i64 = connection
        .prepare_cached("SELECT generation FROM registry_generation WHERE id = 1")?
        .query_row([], |row| row.get(0))?;
    Ok(generation as u64)
}
