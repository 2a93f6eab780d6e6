//! The registry and the audit trail on PostgreSQL: each write is one transaction on a pooled
//! connection (they are rare beside commits, so they do not go through the group
//! committers); the audit trail's order is kept by its primary key on `seq`.

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::PostgresStore;
use crate::{
    AuditFilter, AuditLog, AuditRow, ConsentRecord, ConsentRule, OrganisationRecord, PersonMerge,
    PersonRecord, PersonSearch, Registry, RelationshipRecord, Result, StoreError,
};

fn is_unique_violation(error: &tokio_postgres::Error) -> Option<&str> {
    let db_error = error.as_db_error()?;
    (db_error.code() == &SqlState::UNIQUE_VIOLATION).then(|| db_error.constraint().unwrap_or(""))
}

fn version_of(version: u32) -> Result<i32> {
    i32::try_from(version)
        .map_err(|_| StoreError::Database(format!("version number {version} is too large")))
}

fn seq_of(seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| StoreError::Database(format!("audit seq {seq} is too large")))
}

const PERSON_COLUMNS: &str = "p.person_id, p.ehr_id, p.version, p.merged_into, p.family_name, \
                              p.given_name, p.birth_date, p.document, p.created, p.updated, \
                              ARRAY(SELECT i.namespace FROM person_identifier i \
                                    WHERE i.person_id = p.person_id ORDER BY i.namespace, i.value), \
                              ARRAY(SELECT i.value FROM person_identifier i \
                                    WHERE i.person_id = p.person_id ORDER BY i.namespace, i.value)";

fn person_from_row(row: &Row) -> Result<PersonRecord> {
    let namespaces: Vec<String> = row.try_get(10)?;
    let values: Vec<String> = row.try_get(11)?;
    Ok(PersonRecord {
        person_id: row.try_get(0)?,
        ehr_id: row.try_get(1)?,
        version: row.try_get::<_, i32>(2)? as u32,
        merged_into: row.try_get(3)?,
        family_name: row.try_get(4)?,
        given_name: row.try_get(5)?,
        birth_date: row.try_get(6)?,
        document: row.try_get(7)?,
        created: row.try_get(8)?,
        updated: row.try_get(9)?,
        identifiers: namespaces.into_iter().zip(values).collect(),
    })
}

async fn insert_identifiers(
    transaction: &deadpool_postgres::Transaction<'_>,
    person: &PersonRecord,
) -> Result<()> {
    let namespaces: Vec<&str> = person.identifiers.iter().map(|(n, _)| n.as_str()).collect();
    let values: Vec<&str> = person.identifiers.iter().map(|(_, v)| v.as_str()).collect();
    let inserted = transaction
        .execute(
            "INSERT INTO person_identifier (namespace, value, person_id)
             SELECT n, v, $3 FROM unnest($1::text[], $2::text[]) AS t(n, v)",
            &[&namespaces, &values, &person.person_id],
        )
        .await;
    match inserted {
        Ok(_) => Ok(()),
        // Checked just before ([`identifier_taken`]), so another writer took one of them
        // since; which one the error does not say, so name the first.
        Err(error) if is_unique_violation(&error).is_some() => {
            let (namespace, value) = person.identifiers.first().cloned().unwrap_or_default();
            Err(StoreError::IdentifierTaken { namespace, value })
        }
        Err(error) => Err(error.into()),
    }
}

/// The first of `identifiers` held by someone other than `person_id`, checked before
/// writing so that the error can name it.
async fn identifier_taken(
    transaction: &deadpool_postgres::Transaction<'_>,
    person: &PersonRecord,
) -> Result<Option<StoreError>> {
    let namespaces: Vec<&str> = person.identifiers.iter().map(|(n, _)| n.as_str()).collect();
    let values: Vec<&str> = person.identifiers.iter().map(|(_, v)| v.as_str()).collect();
    let row = transaction
        .query_opt(
            "SELECT i.namespace, i.value FROM person_identifier i
             JOIN unnest($1::text[], $2::text[]) AS t(n, v) ON i.namespace = t.n AND i.value = t.v
             WHERE i.person_id <> $3
             ORDER BY i.namespace, i.value LIMIT 1",
            &[&namespaces, &values, &person.person_id],
        )
        .await?;
    Ok(row.map(|row| StoreError::IdentifierTaken {
        namespace: row.get(0),
        value: row.get(1),
    }))
}

async fn update_person_in(
    transaction: &deadpool_postgres::Transaction<'_>,
    person: &PersonRecord,
) -> Result<()> {
    let stored = transaction
        .query_opt(
            "SELECT version FROM person WHERE person_id = $1 FOR UPDATE",
            &[&person.person_id],
        )
        .await?
        .map(|row| row.get::<_, i32>(0));
    if stored != Some(version_of(person.version)? - 1) {
        return Err(StoreError::RecordVersionConflict {
            id: person.person_id,
            version: person.version,
            latest: stored.map(|version| version as u32),
        });
    }
    transaction
        .execute(
            "UPDATE person SET version = $2, merged_into = $3, family_name = $4,
                               family_key = lower($4), given_name = $5, birth_date = $6,
                               document = $7, updated = $8
             WHERE person_id = $1",
            &[
                &person.person_id,
                &version_of(person.version)?,
                &person.merged_into,
                &person.family_name,
                &person.given_name,
                &person.birth_date,
                &person.document,
                &person.updated,
            ],
        )
        .await?;
    transaction
        .execute(
            "DELETE FROM person_identifier WHERE person_id = $1",
            &[&person.person_id],
        )
        .await?;
    if let Some(taken) = identifier_taken(transaction, person).await? {
        return Err(taken);
    }
    insert_identifiers(transaction, person).await
}

/// A directive from `directive_id, version, status, document, created, updated`, its rules
/// not read.
fn directive_from_row(ehr_id: Uuid, row: &Row) -> Result<ConsentRecord> {
    Ok(ConsentRecord {
        ehr_id,
        directive_id: row.try_get(0)?,
        version: row.try_get::<_, i32>(1)? as u32,
        status: row.try_get(2)?,
        document: row.try_get(3)?,
        rules: Vec::new(),
        created: row.try_get(4)?,
        updated: row.try_get(5)?,
    })
}

fn relationship_from_row(ehr_id: Uuid, row: &Row) -> Result<RelationshipRecord> {
    Ok(RelationshipRecord {
        ehr_id,
        relationship_id: row.try_get(0)?,
        kind: row.try_get(1)?,
        organisation: row.try_get(2)?,
        professional: row.try_get(3)?,
        authority: row.try_get(4)?,
        starts: row.try_get(5)?,
        ends: row.try_get(6)?,
        document: row.try_get(7)?,
        created: row.try_get(8)?,
    })
}

fn organisation_from_row(row: &Row) -> Result<OrganisationRecord> {
    Ok(OrganisationRecord {
        code: row.try_get(0)?,
        name: row.try_get(1)?,
        kind: row.try_get(2)?,
        document: row.try_get(3)?,
        created: row.try_get(4)?,
        updated: row.try_get(5)?,
    })
}

fn hash_of(row: &Row, index: usize) -> Result<[u8; 32]> {
    let bytes: Vec<u8> = row.try_get(index)?;
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("an audit hash is not 32 bytes".to_owned()))
}

impl PostgresStore {
    async fn people_where(
        &self,
        condition: &str,
        parameters: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<PersonRecord>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT {PERSON_COLUMNS} FROM person p WHERE {condition}"
            ))
            .await?;
        client
            .query(&statement, parameters)
            .await?
            .iter()
            .map(person_from_row)
            .collect()
    }
}

#[async_trait]
impl Registry for PostgresStore {
    async fn records_facts(&self, ehr_ids: &[Uuid]) -> Result<Vec<crate::RecordFacts>> {
        if ehr_ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let person_sql =
            format!("SELECT {PERSON_COLUMNS}, p.ehr_id FROM person p WHERE p.ehr_id = ANY($1)");
        let (people, relationships, consents) = tokio::try_join!(
            client.prepare_cached(&person_sql),
            client.prepare_cached(
                "SELECT relationship_id, kind, organisation, professional, authority, starts,
                        ends, document, created, ehr_id
                 FROM care_relationship WHERE ehr_id = ANY($1)
                 ORDER BY ehr_id, created, relationship_id",
            ),
            client.prepare_cached(
                "SELECT directive_id, version, status, document, created, updated, ehr_id
                 FROM consent_directive WHERE ehr_id = ANY($1)
                 ORDER BY ehr_id, created, directive_id",
            ),
        )?;
        let ids = ehr_ids.to_vec();
        let key: [&(dyn ToSql + Sync); 1] = [&ids];
        // Three statements for all of them, pipelined on one connection.
        let (people, relationships, consents) = tokio::try_join!(
            client.query(&people, &key),
            client.query(&relationships, &key),
            client.query(&consents, &key),
        )?;
        let mut facts: std::collections::HashMap<Uuid, crate::RecordFacts> = ehr_ids
            .iter()
            .map(|id| (*id, crate::RecordFacts::default()))
            .collect();
        for row in &people {
            let ehr_id: Uuid = row.try_get(12)?;
            if let Some(entry) = facts.get_mut(&ehr_id) {
                entry.person = Some(person_from_row(row)?);
            }
        }
        for row in &relationships {
            let ehr_id: Uuid = row.try_get(9)?;
            if let Some(entry) = facts.get_mut(&ehr_id) {
                entry
                    .relationships
                    .push(relationship_from_row(ehr_id, row)?);
            }
        }
        for row in &consents {
            let ehr_id: Uuid = row.try_get(6)?;
            if let Some(entry) = facts.get_mut(&ehr_id) {
                entry.consents.push(directive_from_row(ehr_id, row)?);
            }
        }
        Ok(ehr_ids
            .iter()
            .map(|id| facts.get(id).cloned().unwrap_or_default())
            .collect())
    }

    async fn record_facts(&self, ehr_id: Uuid) -> Result<crate::RecordFacts> {
        Ok(self
            .records_facts(&[ehr_id])
            .await?
            .pop()
            .unwrap_or_default())
    }

    async fn create_person(&self, person: PersonRecord) -> Result<()> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        let inserted = transaction
            .execute(
                "INSERT INTO person (person_id, ehr_id, version, merged_into, family_name,
                                     family_key, given_name, birth_date, document, created,
                                     updated)
                 VALUES ($1, $2, $3, $4, $5, lower($5), $6, $7, $8, $9, $10)",
                &[
                    &person.person_id,
                    &person.ehr_id,
                    &version_of(person.version)?,
                    &person.merged_into,
                    &person.family_name,
                    &person.given_name,
                    &person.birth_date,
                    &person.document,
                    &person.created,
                    &person.updated,
                ],
            )
            .await;
        match inserted {
            Ok(_) => {}
            Err(error) => {
                return Err(match is_unique_violation(&error) {
                    Some("person_pkey") => StoreError::PersonExists(person.person_id),
                    Some(_) => StoreError::EhrHasPerson(person.ehr_id),
                    None => error.into(),
                });
            }
        }
        if let Some(taken) = identifier_taken(&transaction, &person).await? {
            return Err(taken);
        }
        insert_identifiers(&transaction, &person).await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn get_person(&self, person_id: Uuid) -> Result<Option<PersonRecord>> {
        Ok(self
            .people_where("p.person_id = $1", &[&person_id])
            .await?
            .pop())
    }

    async fn person_by_ehr(&self, ehr_id: Uuid) -> Result<Option<PersonRecord>> {
        Ok(self.people_where("p.ehr_id = $1", &[&ehr_id]).await?.pop())
    }

    async fn person_by_identifier(
        &self,
        namespace: &str,
        value: &str,
    ) -> Result<Option<PersonRecord>> {
        Ok(self
            .people_where(
                "p.person_id = (SELECT person_id FROM person_identifier
                                WHERE namespace = $1 AND value = $2)",
                &[&namespace, &value],
            )
            .await?
            .pop())
    }

    async fn search_people(&self, search: &PersonSearch) -> Result<Vec<PersonRecord>> {
        let given_prefix = search.given_name.as_ref().map(|given| {
            let mut pattern = String::new();
            for character in given.to_lowercase().chars() {
                if matches!(character, '%' | '_' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(character);
            }
            pattern.push('%');
            pattern
        });
        self.people_where(
            "($1::text IS NULL OR p.family_key = lower($1))
             AND ($2::text IS NULL OR lower(p.given_name) LIKE $2)
             AND ($3::text IS NULL OR p.birth_date = $3)
             AND ($4 OR p.merged_into IS NULL)
             ORDER BY p.family_key, lower(p.given_name), p.birth_date, p.person_id
             LIMIT $5",
            &[
                &search.family_name,
                &given_prefix,
                &search.birth_date,
                &search.include_merged,
                &i64::from(search.limit),
            ],
        )
        .await
    }

    async fn update_person(&self, person: PersonRecord) -> Result<()> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        update_person_in(&transaction, &person).await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn merge_people(&self, merge: PersonMerge) -> Result<()> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        // Locked in id order, so two merges of the same pair cannot deadlock.
        let (first, second) = if merge.source.person_id < merge.target.person_id {
            (&merge.source, &merge.target)
        } else {
            (&merge.target, &merge.source)
        };
        transaction
            .execute(
                "SELECT 1 FROM person WHERE person_id IN ($1, $2) ORDER BY person_id FOR UPDATE",
                &[&first.person_id, &second.person_id],
            )
            .await?;
        // The source gives up identifiers before the target takes them.
        update_person_in(&transaction, &merge.source).await?;
        update_person_in(&transaction, &merge.target).await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn put_organisation(&self, organisation: OrganisationRecord) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO organisation (code, name, kind, document, created, updated)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                     document = excluded.document, updated = excluded.updated",
                &[
                    &organisation.code,
                    &organisation.name,
                    &organisation.kind,
                    &organisation.document,
                    &organisation.created,
                    &organisation.updated,
                ],
            )
            .await?;
        Ok(())
    }

    async fn get_organisation(&self, code: &str) -> Result<Option<OrganisationRecord>> {
        let client = self.client().await?;
        client
            .query_opt(
                "SELECT code, name, kind, document, created, updated FROM organisation
                 WHERE code = $1",
                &[&code],
            )
            .await?
            .as_ref()
            .map(organisation_from_row)
            .transpose()
    }

    async fn list_organisations(&self) -> Result<Vec<OrganisationRecord>> {
        let client = self.client().await?;
        client
            .query(
                "SELECT code, name, kind, document, created, updated FROM organisation
                 ORDER BY code",
                &[],
            )
            .await?
            .iter()
            .map(organisation_from_row)
            .collect()
    }

    async fn put_relationship(&self, relationship: RelationshipRecord) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO care_relationship
                     (ehr_id, relationship_id, kind, organisation, professional, authority,
                      starts, ends, document, created)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (ehr_id, relationship_id) DO UPDATE SET
                     kind = excluded.kind, organisation = excluded.organisation,
                     professional = excluded.professional, authority = excluded.authority,
                     starts = excluded.starts, ends = excluded.ends,
                     document = excluded.document, created = excluded.created",
                &[
                    &relationship.ehr_id,
                    &relationship.relationship_id,
                    &relationship.kind,
                    &relationship.organisation,
                    &relationship.professional,
                    &relationship.authority,
                    &relationship.starts,
                    &relationship.ends,
                    &relationship.document,
                    &relationship.created,
                ],
            )
            .await?;
        Ok(())
    }

    async fn delete_relationship(&self, ehr_id: Uuid, relationship_id: Uuid) -> Result<bool> {
        let client = self.client().await?;
        let deleted = client
            .execute(
                "DELETE FROM care_relationship WHERE ehr_id = $1 AND relationship_id = $2",
                &[&ehr_id, &relationship_id],
            )
            .await?;
        Ok(deleted > 0)
    }

    async fn list_relationships(&self, ehr_id: Uuid) -> Result<Vec<RelationshipRecord>> {
        let client = self.client().await?;
        client
            .query(
                "SELECT relationship_id, kind, organisation, professional, authority, starts,
                        ends, document, created
                 FROM care_relationship WHERE ehr_id = $1 ORDER BY created, relationship_id",
                &[&ehr_id],
            )
            .await?
            .iter()
            .map(|row| relationship_from_row(ehr_id, row))
            .collect()
    }

    async fn put_consent(&self, consent: ConsentRecord) -> Result<()> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        let stored = transaction
            .query_opt(
                "SELECT version FROM consent_directive WHERE ehr_id = $1 AND directive_id = $2
                 FOR UPDATE",
                &[&consent.ehr_id, &consent.directive_id],
            )
            .await?
            .map(|row| row.get::<_, i32>(0));
        let expected = if consent.version > 1 {
            Some(version_of(consent.version)? - 1)
        } else {
            None
        };
        if stored != expected {
            return Err(StoreError::RecordVersionConflict {
                id: consent.directive_id,
                version: consent.version,
                latest: stored.map(|version| version as u32),
            });
        }
        let written = transaction
            .execute(
                "INSERT INTO consent_directive
                     (ehr_id, directive_id, version, status, document, created, updated)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (ehr_id, directive_id) DO UPDATE SET
                     version = excluded.version, status = excluded.status,
                     document = excluded.document, updated = excluded.updated",
                &[
                    &consent.ehr_id,
                    &consent.directive_id,
                    &version_of(consent.version)?,
                    &consent.status,
                    &consent.document,
                    &consent.created,
                    &consent.updated,
                ],
            )
            .await;
        if let Err(error) = written {
            // Two first versions at once: the loser conflicts like a stale update.
            return Err(match is_unique_violation(&error) {
                Some(_) => StoreError::RecordVersionConflict {
                    id: consent.directive_id,
                    version: consent.version,
                    latest: Some(1),
                },
                None => error.into(),
            });
        }
        transaction
            .execute(
                "DELETE FROM consent_rule WHERE ehr_id = $1 AND directive_id = $2",
                &[&consent.ehr_id, &consent.directive_id],
            )
            .await?;
        let column = |pick: fn(&ConsentRule) -> Option<&str>| -> Vec<Option<&str>> {
            consent.rules.iter().map(pick).collect()
        };
        let effects = column(|rule| Some(rule.effect.as_str()));
        let actor_kinds = column(|rule| Some(rule.actor_kind.as_str()));
        let actors = column(|rule| rule.actor.as_deref());
        let purposes = column(|rule| rule.purpose.as_deref());
        let categories = column(|rule| rule.category.as_deref());
        let starts: Vec<Option<OffsetDateTime>> =
            consent.rules.iter().map(|rule| rule.starts).collect();
        let ends: Vec<Option<OffsetDateTime>> =
            consent.rules.iter().map(|rule| rule.ends).collect();
        transaction
            .execute(
                "INSERT INTO consent_rule (ehr_id, directive_id, rule, effect, actor_kind, actor,
                                           purpose, category, starts, ends)
                 SELECT $1, $2, (ordinality - 1)::integer, e, k, a, p, c, s, f
                 FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                             $8::timestamptz[], $9::timestamptz[])
                      WITH ORDINALITY AS t(e, k, a, p, c, s, f, ordinality)",
                &[
                    &consent.ehr_id,
                    &consent.directive_id,
                    &effects,
                    &actor_kinds,
                    &actors,
                    &purposes,
                    &categories,
                    &starts,
                    &ends,
                ],
            )
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn list_consents(&self, ehr_id: Uuid) -> Result<Vec<ConsentRecord>> {
        let client = self.client().await?;
        let directives = client
            .query(
                "SELECT directive_id, version, status, document, created, updated
                 FROM consent_directive WHERE ehr_id = $1 ORDER BY created, directive_id",
                &[&ehr_id],
            )
            .await?;
        let rules = client
            .query(
                "SELECT directive_id, effect, actor_kind, actor, purpose, category, starts, ends
                 FROM consent_rule WHERE ehr_id = $1 ORDER BY directive_id, rule",
                &[&ehr_id],
            )
            .await?;
        directives
            .iter()
            .map(|row| {
                let mut directive = directive_from_row(ehr_id, row)?;
                directive.rules = rules
                    .iter()
                    .filter(|rule| rule.get::<_, Uuid>(0) == directive.directive_id)
                    .map(|rule| {
                        Ok(ConsentRule {
                            effect: rule.try_get(1)?,
                            actor_kind: rule.try_get(2)?,
                            actor: rule.try_get(3)?,
                            purpose: rule.try_get(4)?,
                            category: rule.try_get(5)?,
                            starts: rule.try_get(6)?,
                            ends: rule.try_get(7)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(directive)
            })
            .collect()
    }

    async fn ehrs_in_reach(&self, organisation: Option<&str>, user: &str) -> Result<Vec<Uuid>> {
        let client = self.client().await?;
        client
            .query(
                "SELECT ehr_id FROM care_relationship WHERE organisation = $1
                 UNION SELECT ehr_id FROM care_relationship WHERE professional = $2
                 UNION SELECT ehr_id FROM consent_rule
                       WHERE effect = 'permit'
                         AND (actor_kind IN ('any', 'organisation-type', 'role')
                              OR (actor_kind = 'organisation' AND actor = $1)
                              OR (actor_kind IN ('professional', 'proxy') AND actor = $2))
                 ORDER BY 1",
                &[&organisation, &user],
            )
            .await?
            .iter()
            .map(|row| Ok(row.try_get(0)?))
            .collect()
    }

    async fn ehrs_with_rules(&self) -> Result<Vec<Uuid>> {
        let client = self.client().await?;
        client
            .query("SELECT DISTINCT ehr_id FROM consent_rule ORDER BY 1", &[])
            .await?
            .iter()
            .map(|row| Ok(row.try_get(0)?))
            .collect()
    }

    async fn registry_generation(&self) -> Result<u64> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT generation FROM registry_generation WHERE id = 1")
            .await?;
        let generation: i64 = client.query_one(&statement, &[]).await?.try_get(0)?;
        Ok(generation as u64)
    }
}

#[async_trait]
impl AuditLog for PostgresStore {
    async fn append_audit(&self, events: Vec<AuditRow>) -> Result<()> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        for (offset, event) in events.iter().enumerate() {
            if event.seq != first.seq + offset as u64 {
                return Err(StoreError::AuditSeqTaken(event.seq));
            }
        }
        let seqs = events
            .iter()
            .map(|event| seq_of(event.seq))
            .collect::<Result<Vec<i64>>>()?;
        let times: Vec<OffsetDateTime> = events.iter().map(|event| event.time).collect();
        let people: Vec<Option<Uuid>> = events.iter().map(|event| event.person_id).collect();
        let users: Vec<&str> = events.iter().map(|event| event.user.as_str()).collect();
        let break_glass: Vec<bool> = events.iter().map(|event| event.break_glass).collect();
        let allowed: Vec<bool> = events.iter().map(|event| event.allowed).collect();
        let canonical: Vec<&[u8]> = events
            .iter()
            .map(|event| event.canonical.as_slice())
            .collect();
        let hashes: Vec<&[u8]> = events.iter().map(|event| event.hash.as_slice()).collect();
        let previous = seq_of(first.seq)? - 1;
        // The records each event concerns, as (seq, ehr id) pairs.
        let mut record_seqs = Vec::new();
        let mut record_ehrs: Vec<Uuid> = Vec::new();
        for event in &events {
            for ehr_id in &event.ehr_ids {
                record_seqs.push(seq_of(event.seq)?);
                record_ehrs.push(*ehr_id);
            }
        }
        let client = self.client().await?;
        // One statement, autocommit: the batch goes in only if it continues the stored
        // chain (the last seq is the one before its first, read by the primary key's last
        // entry); another writer's rows make it insert nothing, or clash on the key. The
        // events' records go in with them, in the same statement, only when they do.
        let events_insert = "INSERT INTO audit_event (seq, time, person_id, user_id, break_glass,
                                                      allowed, canonical, hash)
             SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::uuid[], $4::text[],
                                  $5::boolean[], $6::boolean[], $7::bytea[], $8::bytea[])
             WHERE COALESCE((SELECT seq FROM audit_event ORDER BY seq DESC LIMIT 1), 0) = $9";
        let arguments: [&(dyn ToSql + Sync); 9] = [
            &seqs,
            &times,
            &people,
            &users,
            &break_glass,
            &allowed,
            &canonical,
            &hashes,
            &previous,
        ];
        let inserted = if record_seqs.is_empty() {
            let statement = client.prepare_cached(events_insert).await?;
            client.execute(&statement, &arguments).await
        } else {
            let statement = client
                .prepare_cached(&format!(
                    "WITH inserted AS ({events_insert} RETURNING seq),
                          records AS (INSERT INTO audit_record (seq, ehr_id)
                                      SELECT r.seq, r.ehr_id
                                      FROM unnest($10::bigint[], $11::uuid[]) AS r (seq, ehr_id)
                                      WHERE r.seq IN (SELECT seq FROM inserted))
                     SELECT count(*) FROM inserted"
                ))
                .await?;
            let mut with_records = arguments.to_vec();
            with_records.push(&record_seqs);
            with_records.push(&record_ehrs);
            client
                .query_one(&statement, &with_records)
                .await
                .and_then(|row| row.try_get::<_, i64>(0))
                .map(|count| count as u64)
        };
        match inserted {
            Ok(count) if count == events.len() as u64 => Ok(()),
            Ok(_) => Err(StoreError::AuditSeqTaken(first.seq)),
            Err(error) if is_unique_violation(&error).is_some() => {
                Err(StoreError::AuditSeqTaken(first.seq))
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn audit_head(&self) -> Result<Option<(u64, [u8; 32])>> {
        let client = self.client().await?;
        client
            .query_opt(
                "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .await?
            .map(|row| Ok((row.try_get::<_, i64>(0)? as u64, hash_of(&row, 1)?)))
            .transpose()
    }

    async fn read_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>> {
        let client = self.client().await?;
        let limit = (filter.limit != 0).then(|| i64::from(filter.limit));
        let from_seq = seq_of(filter.from_seq)?;
        let mut parameters: Vec<&(dyn ToSql + Sync)> =
            vec![&from_seq, &filter.break_glass_only, &limit];
        // About a person: naming them, or showing one of their records. Each alternative is
        // answered by its own index.
        let about = if filter.person_id.is_none() && filter.records.is_empty() {
            ""
        } else {
            parameters.extend([&filter.person_id as &(dyn ToSql + Sync), &filter.records]);
            "AND (person_id = $4 OR seq IN (SELECT r.seq FROM audit_record r
                                            WHERE r.ehr_id = ANY($5::uuid[])))"
        };
        client
            .query(
                &format!(
                    "SELECT seq, time, person_id, user_id, break_glass, allowed, canonical, hash,
                            ARRAY(SELECT r.ehr_id FROM audit_record r
                                  WHERE r.seq = audit_event.seq ORDER BY r.ehr_id)
                     FROM audit_event
                     WHERE seq >= $1 {about} AND (NOT $2 OR break_glass)
                     ORDER BY seq LIMIT $3"
                ),
                &parameters,
            )
            .await?
            .iter()
            .map(|row| {
                Ok(AuditRow {
                    seq: row.try_get::<_, i64>(0)? as u64,
                    time: row.try_get(1)?,
                    person_id: row.try_get(2)?,
                    user: row.try_get(3)?,
                    break_glass: row.try_get(4)?,
                    allowed: row.try_get(5)?,
                    canonical: row.try_get(6)?,
                    hash: hash_of(row, 7)?,
                    ehr_ids: row.try_get(8)?,
                })
            })
            .collect()
    }
}
