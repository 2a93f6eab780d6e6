//! Running compiled AQL statements on PostgreSQL, and reading an EHR's versions for the
//! evaluator.

use std::collections::HashMap;

use deadpool_postgres::Object;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

use aql::rows::{ObjectRef, SqlValue, object_refs};
use aql::sql::{SqlParam, SqlQuery};

use super::version_meta_from_row;
use crate::codec::decompress;
use crate::{QueryRows, Result, StoreError, StoredVersion};

/// The statement's parameters as PostgreSQL values; the compiler casts each placeholder to
/// the parameter's type (`$1::text`), so these types are the ones the server expects.
fn params_of(query: &SqlQuery) -> Vec<Box<dyn ToSql + Sync + Send>> {
    query
        .params
        .iter()
        .map(|param| -> Box<dyn ToSql + Sync + Send> {
            match param {
                SqlParam::Text(text) => Box::new(text.clone()),
                SqlParam::Integer(integer) => Box::new(*integer),
                SqlParam::Real(real) => Box::new(*real),
                SqlParam::Uuid(bytes) => Box::new(Uuid::from_bytes(*bytes)),
                SqlParam::UuidList(ids) => Box::new(
                    ids.iter()
                        .map(|id| Uuid::from_bytes(*id))
                        .collect::<Vec<Uuid>>(),
                ),
            }
        })
        .collect()
}

fn sql_value(row: &Row, column: usize) -> Result<SqlValue> {
    let column_type = row.columns()[column].type_();
    let value = match *column_type {
        Type::INT2 => row
            .try_get::<_, Option<i16>>(column)?
            .map(|integer| SqlValue::Integer(integer.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(column)?
            .map(|integer| SqlValue::Integer(integer.into())),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(column)?
            .map(SqlValue::Integer),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(column)?
            .map(|real| SqlValue::Real(real.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(column)?.map(SqlValue::Real),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(column)?
            .map(|flag| SqlValue::Integer(i64::from(flag))),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
            .try_get::<_, Option<String>>(column)?
            .map(SqlValue::Text),
        Type::UUID => row
            .try_get::<_, Option<Uuid>>(column)?
            .map(|id| SqlValue::Uuid(id.into_bytes())),
        ref other => {
            return Err(StoreError::Database(format!(
                "a compiled query returned a column of type {other}, which Kith does not read"
            )));
        }
    };
    Ok(value.unwrap_or(SqlValue::Null))
}

/// Prepared AQL statements kept per connection: the same query with other parameters (a
/// stored query, an application's query for the next patient) skips parsing and one round
/// trip. Beyond this many, a connection's cache is emptied rather than grown without bound
/// by ad hoc queries.
const CACHED_STATEMENTS: usize = 256;

fn row_values(row: &Row) -> Result<Vec<SqlValue>> {
    (0..row.len())
        .map(|column| sql_value(row, column))
        .collect()
}

pub(super) async fn run(client: &mut Object, query: &SqlQuery) -> Result<QueryRows> {
    let params = params_of(query);
    let arguments: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|param| &**param as &(dyn ToSql + Sync))
        .collect();
    if client.statement_cache.size() >= CACHED_STATEMENTS {
        client.statement_cache.clear();
    }
    let statement = client.prepare_cached(&query.text).await?;
    if !query.reads_documents() {
        // One statement is its own snapshot: no transaction, no extra round trips.
        let mut rows = Vec::new();
        for row in client.query(&statement, &arguments).await? {
            rows.push(row_values(&row)?);
        }
        return Ok(QueryRows {
            rows,
            documents: HashMap::new(),
        });
    }
    let document_statement = client
        .prepare_cached(
            "SELECT data FROM version WHERE ehr_id = $1 AND object_id = $2
             ORDER BY version DESC LIMIT 1",
        )
        .await?;
    // REPEATABLE READ: the rows and the documents from one snapshot.
    let transaction = super::read_snapshot(client).await?;
    let mut rows = Vec::new();
    for row in transaction.query(&statement, &arguments).await? {
        rows.push(row_values(&row)?);
    }
    let mut documents = HashMap::new();
    for ObjectRef {
        ehr_id, object_id, ..
    } in object_refs(query, &rows)
    {
        if documents.contains_key(&(ehr_id, object_id)) {
            continue;
        }
        let keys: [&(dyn ToSql + Sync); 2] =
            [&Uuid::from_bytes(ehr_id), &Uuid::from_bytes(object_id)];
        if let Some(row) = transaction.query_opt(&document_statement, &keys).await? {
            let compressed: Vec<u8> = row.try_get(0)?;
            documents.insert((ehr_id, object_id), decompress(&compressed)?);
        }
    }
    transaction.commit().await?;
    Ok(QueryRows { rows, documents })
}

/// `EXPLAIN` in PostgreSQL's text format, one line per row.
pub(super) async fn explain(client: &Object, query: &SqlQuery) -> Result<Vec<String>> {
    let params = params_of(query);
    let arguments: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|param| &**param as &(dyn ToSql + Sync))
        .collect();
    let rows = client
        .query(&format!("EXPLAIN {}", query.text), &arguments)
        .await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<_, String>(0)?))
        .collect()
}

pub(super) async fn ehr_versions(
    client: &Object,
    ehr_id: Uuid,
    latest_only: bool,
) -> Result<Vec<StoredVersion>> {
    let statement = client
        .prepare_cached(version_query!(
            ", v.data",
            "JOIN versioned_object o ON o.ehr_id = v.ehr_id AND o.object_id = v.object_id \
             WHERE v.ehr_id = $1 AND (NOT $2 OR v.version = o.latest_version) \
             ORDER BY c.time_committed, v.contribution_id, v.object_id, v.version"
        ))
        .await?;
    let rows = client.query(&statement, &[&ehr_id, &latest_only]).await?;
    rows.iter()
        .map(|row| {
            let compressed: Vec<u8> = row.try_get(12)?;
            Ok(StoredVersion {
                meta: version_meta_from_row(row, ehr_id)?,
                data: decompress(&compressed)?,
            })
        })
        .collect()
}
