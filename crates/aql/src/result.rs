//! The answer to a query: the openEHR REST query API's result set (`meta`, `q`, `name`,
//! `columns` with `name` and `path`, `rows`), which the evaluator returns and the REST
//! endpoints serialise as is.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ast::{Expr, Query};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultSet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<ResultMeta>,
    /// The query as executed.
    pub q: String,
    /// The stored query's qualified name, when a stored query was run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub columns: Vec<ResultColumn>,
    /// One array per row, one value per column: JSON primitives, canonical RM objects, or
    /// `null` where a path has no value.
    pub rows: Vec<Vec<Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultColumn {
    /// The alias, or the expression in canonical AQL when there is none.
    pub name: String,
    /// The column's path in canonical AQL (`c/context/start_time/value`), for path columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The REST specification's `meta` block; every field is optional there, and warnings are
/// Kith's (a query that can never match says so).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultMeta {
    #[serde(rename = "_href", default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(rename = "_type", default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<String>,
    #[serde(
        rename = "_schema_version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub schema_version: Option<String>,
    #[serde(rename = "_created", default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(
        rename = "_generator",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub generator: Option<String>,
    #[serde(
        rename = "_executed_aql",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub executed_aql: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resultsize: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The columns of a query's result: named by their alias, or `#0`, `#1`… by position when
/// they have none (the REST specification's rule), with the path in canonical AQL for path
/// columns.
pub fn columns(query: &Query) -> Vec<ResultColumn> {
    query
        .select
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| ResultColumn {
            name: column
                .alias
                .as_ref()
                .map_or_else(|| format!("#{index}"), |alias| alias.name.clone()),
            path: match &column.expr {
                Expr::Path(path) => Some(path.to_string()),
                _ => None,
            },
        })
        .collect()
}
