//! Running compiled AQL statements on SQLite, and reading an EHR's versions for the
//! evaluator.

use std::collections::HashMap;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, params};
use uuid::Uuid;

use aql::rows::{ObjectRef, SqlValue, object_refs};
use aql::sql::{SqlParam, SqlQuery};

use super::version_meta_from_row;
use crate::codec::decompress;
use crate::{QueryRows, Result, StoreError, StoredVersion};

struct Param<'a>(&'a SqlParam);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            SqlParam::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            SqlParam::Integer(integer) => ToSqlOutput::Borrowed(ValueRef::Integer(*integer)),
            SqlParam::Real(real) => ToSqlOutput::Borrowed(ValueRef::Real(*real)),
            SqlParam::Uuid(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
            SqlParam::UuidList(ids) => ToSqlOutput::Owned(rusqlite::types::Value::Text(
                serde_json::to_string(
                    &ids.iter()
                        .map(|id| uuid::Uuid::from_bytes(*id).simple().to_string())
                        .collect::<Vec<_>>(),
                )
                .unwrap_or_default(),
            )),
        })
    }
}

fn params_of(query: &SqlQuery) -> Vec<Param<'_>> {
    query.params.iter().map(Param).collect()
}

fn sql_value(value: ValueRef<'_>) -> Result<SqlValue> {
    Ok(match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(integer) => SqlValue::Integer(integer),
        ValueRef::Real(real) => SqlValue::Real(real),
        ValueRef::Text(text) => SqlValue::Text(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(bytes) => SqlValue::Uuid(bytes.try_into().map_err(|_| {
            StoreError::Corrupt(format!(
                "a {}-byte blob where an id was expected",
                bytes.len()
            ))
        })?),
    })
}

pub(super) fn run(connection: &Connection, query: &SqlQuery) -> Result<QueryRows> {
    // One read transaction: the rows and the documents from one snapshot.
    let transaction = connection.unchecked_transaction()?;
    let mut rows = Vec::new();
    {
        // The connection keeps a few prepared statements (rusqlite's LRU): the same query
        // with other parameters is not parsed again.
        let mut statement = transaction.prepare_cached(&query.text)?;
        let width = statement.column_count();
        let mut cursor = statement.query(rusqlite::params_from_iter(params_of(query)))?;
        while let Some(row) = cursor.next()? {
            let mut values = Vec::with_capacity(width);
            for column in 0..width {
                values.push(sql_value(row.get_ref(column)?)?);
            }
            rows.push(values);
        }
    }
    let mut documents = HashMap::new();
    {
        let mut statement = transaction.prepare_cached(
            "SELECT data FROM version WHERE ehr_id = ?1 AND object_id = ?2
             ORDER BY version DESC LIMIT 1",
        )?;
        for ObjectRef {
            ehr_id, object_id, ..
        } in object_refs(query, &rows)
        {
            if documents.contains_key(&(ehr_id, object_id)) {
                continue;
            }
            let mut cursor = statement.query(params![&ehr_id[..], &object_id[..]])?;
            if let Some(row) = cursor.next()? {
                let compressed: Vec<u8> = row.get(0)?;
                documents.insert((ehr_id, object_id), decompress(&compressed)?);
            }
        }
    }
    transaction.commit()?;
    Ok(QueryRows { rows, documents })
}

/// `EXPLAIN QUERY PLAN`, each node indented under its parent.
pub(super) fn explain(connection: &Connection, query: &SqlQuery) -> Result<Vec<String>> {
    let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {}", query.text))?;
    let mut cursor = statement.query(rusqlite::params_from_iter(params_of(query)))?;
    let mut depths: HashMap<i64, usize> = HashMap::new();
    let mut lines = Vec::new();
    while let Some(row) = cursor.next()? {
        let id: i64 = row.get(0)?;
        let parent: i64 = row.get(1)?;
        let detail: String = row.get(3)?;
        let depth = depths.get(&parent).map_or(0, |depth| depth + 1);
        depths.insert(id, depth);
        lines.push(format!("{}{detail}", "  ".repeat(depth)));
    }
    Ok(lines)
}

pub(super) fn ehr_versions(
    connection: &Connection,
    ehr_id: Uuid,
    latest_only: bool,
) -> Result<Vec<StoredVersion>> {
    let transaction = connection.unchecked_transaction()?;
    let versions = {
        let mut statement = transaction.prepare_cached(version_query!(
            ", v.data",
            "JOIN versioned_object o ON o.ehr_id = v.ehr_id AND o.object_id = v.object_id \
             WHERE v.ehr_id = ?1 AND (?2 = 0 OR v.version = o.latest_version) \
             ORDER BY c.time_committed, v.contribution_id, v.object_id, v.version"
        ))?;
        let mut cursor = statement.query(params![ehr_id.as_bytes(), latest_only])?;
        let mut versions = Vec::new();
        while let Some(row) = cursor.next()? {
            let meta = version_meta_from_row(row, ehr_id)?;
            let compressed: Vec<u8> = row.get(12)?;
            versions.push(StoredVersion {
                meta,
                data: decompress(&compressed)?,
            });
        }
        versions
    };
    transaction.commit()?;
    Ok(versions)
}
