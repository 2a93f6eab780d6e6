//! Compilation of a checked query to one SQL statement over the query rows of
//! [`crate::index`], for SQLite and for PostgreSQL.
//!
//! A query compiles when everything it asks for is in the rows: its variables bind archetype
//! roots (COMPOSITION, EHR_STATUS, any ENTRY, or any class named with an archetype id), and
//! every path it reads is the EHR id, a root's name, or an attribute of a data value the index
//! keeps a column for. Anything else is [`NotCompiled`], with the reason, and is answered by
//! evaluating the documents instead (so the set of compiled queries can grow without changing
//! any answer).
//!
//! The statement's shape: one row source per variable (`ehr` for the EHR, `query_node` for
//! the others, joined by the nested-set test of CONTAINS), a LEFT JOIN of `query_value` per
//! selected value path (a path with several values multiplies the row, as docs/aql.md says),
//! each WHERE condition on a path as a semi-join `(ehr_id, object_id, seq) IN (SELECT ... FROM
//! query_value ...)` (existential, two-valued, and able to drive a population query from the
//! value indexes), or, when the query names its EHRs, a correlated `EXISTS` on the bound
//! object's own rows, the caller's row filter, then grouping, ordering and paging, all inside the
//! statement so that no count or page can reveal a row outside the filter.

use std::fmt::Write;

use openehr_rm::model;
use serde_json::Value;

use crate::ast::{
    Aggregate, AggregateArgument, ComparisonOp, Condition, Expr, LikePattern, Literal,
    LiteralValue, MatchesOperand, NodeId, Path, PathSegment, Predicate, PredicateOperand,
    SortDirection,
};
use crate::check::{Checked, VariableClass};
use crate::index::{self, ValueKind};

/// The SQL dialect to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// What of the store the caller may see, applied inside the statement: which EHRs, and which
/// compositions in them are withheld (data categories the caller may not read in those
/// records). A withheld composition is treated as absent everywhere in the query: it binds no
/// variable, and a `NOT CONTAINS` does not see it either.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFilter {
    pub scope: Scope,
    pub withheld: Vec<Withheld>,
}

/// Which EHRs the caller may see.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// Every EHR (the administrator).
    All,
    /// Only these EHRs.
    Ehrs(Vec<[u8; 16]>),
    /// Every EHR but these (secondary use, with the people who opted out left out).
    Except(Vec<[u8; 16]>),
}

/// Compositions withheld from some EHRs: those whose template is one of `templates` or whose
/// root archetype is one of `archetypes`, in the EHRs `ehrs` names.
#[derive(Debug, Clone, PartialEq)]
pub struct Withheld {
    pub templates: Vec<String>,
    pub archetypes: Vec<String>,
    pub ehrs: EhrSet,
}

/// A set of EHRs, by its members or by those it leaves out (whichever list is shorter);
/// the lists are sorted.
#[derive(Debug, Clone, PartialEq)]
pub enum EhrSet {
    Only(Vec<[u8; 16]>),
    AllBut(Vec<[u8; 16]>),
}

impl EhrSet {
    pub fn contains(&self, ehr_id: &[u8; 16]) -> bool {
        match self {
            EhrSet::Only(ehrs) => ehrs.binary_search(ehr_id).is_ok(),
            EhrSet::AllBut(ehrs) => ehrs.binary_search(ehr_id).is_err(),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, EhrSet::Only(ehrs) if ehrs.is_empty())
    }
}

impl RowFilter {
    /// Everything (the administrator).
    pub fn all() -> RowFilter {
        RowFilter {
            scope: Scope::All,
            withheld: Vec::new(),
        }
    }

    /// Only these EHRs, whole.
    pub fn ehrs(ehrs: Vec<[u8; 16]>) -> RowFilter {
        RowFilter {
            scope: Scope::Ehrs(ehrs),
            withheld: Vec::new(),
        }
    }

    /// Every EHR but these, whole.
    pub fn except(ehrs: Vec<[u8; 16]>) -> RowFilter {
        RowFilter {
            scope: Scope::Except(ehrs),
            withheld: Vec::new(),
        }
    }

    /// Whether a composition (of this template and root archetype, in this EHR) is withheld.
    pub fn withholds(
        &self,
        ehr_id: &[u8; 16],
        template_id: Option<&str>,
        archetype_id: &str,
    ) -> bool {
        self.withheld.iter().any(|withheld| {
            let member = template_id
                .is_some_and(|template| withheld.templates.iter().any(|known| known == template))
                || withheld
                    .archetypes
                    .iter()
                    .any(|known| known == archetype_id);
            member && withheld.ehrs.contains(ehr_id)
        })
    }
}

/// A bound parameter of the statement.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Text(String),
    Integer(i64),
    Real(f64),
    /// An EHR or object id (a BLOB in SQLite, a uuid in PostgreSQL).
    Uuid([u8; 16]),
    /// A list of EHR ids as one parameter (a JSON array of hex ids in SQLite, a uuid[] in
    /// PostgreSQL): a caller may see more records than a statement may have parameters.
    UuidList(Vec<[u8; 16]>),
}

/// Lists of EHR ids longer than this are one parameter ([`SqlParam::UuidList`]); shorter
/// ones a parameter per id, which the planners see through best.
pub const INLINE_ID_LIST: usize = 32;

/// `column IN (the ids)` (or NOT IN) for a dialect, with `param` turning a parameter into
/// its placeholder: a placeholder per id up to [`INLINE_ID_LIST`], one list parameter above.
pub fn id_list_condition(
    dialect: Dialect,
    column: &str,
    ids: &[[u8; 16]],
    negated: bool,
    mut param: impl FnMut(SqlParam) -> String,
) -> String {
    if ids.is_empty() {
        return if negated { "1 = 1" } else { "1 = 0" }.to_owned();
    }
    if ids.len() <= INLINE_ID_LIST {
        let list: Vec<String> = ids.iter().map(|id| param(SqlParam::Uuid(*id))).collect();
        let not = if negated { "NOT " } else { "" };
        return format!("{column} {not}IN ({})", list.join(", "));
    }
    let placeholder = param(SqlParam::UuidList(ids.to_vec()));
    match (dialect, negated) {
        (Dialect::Sqlite, false) => {
            format!("{column} IN (SELECT unhex(value) FROM json_each({placeholder}))")
        }
        (Dialect::Sqlite, true) => {
            format!("{column} NOT IN (SELECT unhex(value) FROM json_each({placeholder}))")
        }
        (Dialect::Postgres, false) => format!("{column} = ANY({placeholder})"),
        (Dialect::Postgres, true) => format!("{column} <> ALL({placeholder})"),
    }
}

/// How to turn the statement's output columns into one AQL result cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// An EHR id at this output column, written as its canonical string.
    EhrId(usize),
    /// A data value's attribute: the value row's `kind` is at `kind`, and `columns` lists the
    /// output column to read for each kind it may have. No row (or no column for its kind)
    /// gives NULL.
    Value {
        kind: usize,
        columns: Vec<(ValueKind, usize, Output)>,
    },
    /// A root's name (text) at this output column.
    Text(usize),
    /// A number computed by the statement (an aggregate).
    Number(usize),
    /// A whole object, to be read from the stored document: the EHR id, object id and the
    /// root's `seq` are at these output columns (all NULL when the variable is unbound).
    Object {
        ehr_id: usize,
        object_id: usize,
        seq: usize,
    },
}

/// How a stored column becomes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    /// A number written as an integer when it has no fraction.
    Integer,
    Real,
    /// 1 or 0 as true or false.
    Boolean,
}

/// A compiled query.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlQuery {
    pub text: String,
    pub params: Vec<SqlParam>,
    /// The path keys (archetype ids, archetype id + relative path) the statement reads,
    /// for [`compile_with_paths`].
    pub path_keys: Vec<String>,
    /// One entry per AQL column.
    pub cells: Vec<Cell>,
    /// The number of output columns of the statement.
    pub width: usize,
}

impl SqlQuery {
    /// Whether a cell is a whole object, whose document is read after the rows (in the same
    /// snapshot).
    pub fn reads_documents(&self) -> bool {
        self.cells
            .iter()
            .any(|cell| matches!(cell, Cell::Object { .. }))
    }
}

/// Why a query is not compiled to SQL (it is evaluated on the documents instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCompiled(pub String);

type Compiled<T> = Result<T, NotCompiled>;

fn not_compiled<T>(reason: impl Into<String>) -> Compiled<T> {
    Err(NotCompiled(reason.into()))
}

/// Compiles a checked query for a dialect and the caller's row filter.
pub fn compile(checked: &Checked<'_>, dialect: Dialect, filter: &RowFilter) -> Compiled<SqlQuery> {
    compile_with_paths(checked, dialect, filter, &PathIds::new())
}

/// The ids of path keys in `query_path` (path key to `path_id`), as far as the caller knows
/// them. A key's id never changes once given (rows of `query_path` are never deleted).
pub type PathIds = std::collections::HashMap<String, i64>;

/// [`compile`] with the ids of the path keys the statement reads ([`SqlQuery::path_keys`] of
/// a first compilation): a known key is written as its id, so that the database plans with
/// the real path (its statistics for that path, a hash join where one pays) instead of a
/// subquery it cannot see into. Unknown keys keep the subquery, so a path first used by a
/// commit after the ids were read is still found.
pub fn compile_with_paths(
    checked: &Checked<'_>,
    dialect: Dialect,
    filter: &RowFilter,
    paths: &PathIds,
) -> Compiled<SqlQuery> {
    Compiler {
        checked,
        dialect,
        paths,
        path_keys: Vec::new(),
        params: Vec::new(),
        from: String::new(),
        joins: String::new(),
        conditions: Vec::new(),
        outputs: Vec::new(),
        value_joins: Vec::new(),
        transparent: checked
            .variables
            .iter()
            .map(|variable| is_transparent_version(checked, variable))
            .collect(),
        branch_bound: std::collections::BTreeMap::new(),
        aggregate_joins: Vec::new(),
        column_joins: Vec::new(),
        narrowed: false,
        aliases: (0..checked.variables.len())
            .map(|index| format!("v{index}"))
            .collect(),
        folded: vec![None; checked.variables.len()],
        value_host: None,
    }
    .query(filter)
}

/// A variable's row source in the statement.
#[derive(Debug, Clone)]
struct Source {
    alias: String,
    /// `ehr` rows have no object id or seq.
    is_ehr: bool,
    /// Bound only in the rows of its OR operand (NULL in the others).
    optional: bool,
    /// Folded into its parent's conditions (see [`Compiler::fold_leaves`]): it has no row
    /// source, and its one condition tests that its parent contains a match.
    folded: Option<Folded>,
    /// The variable's index.
    variable: usize,
}

/// A variable without a row source of its own, whose condition tests its parent.
#[derive(Debug, Clone)]
struct Folded {
    /// The parent variable (its alias is settled only after every fold and elision).
    parent: usize,
    /// The parent is the EHR (or reads as it): the match is anywhere in the EHR; otherwise
    /// the parent is the root of an object (a COMPOSITION or EHR_STATUS), and the match is
    /// anywhere in that object.
    parent_is_ehr: bool,
    /// The archetype of the object the match must lie in, when its composition was folded
    /// too (see [`Compiler::fold_leaves`]); value rows name it (`object_path_id`).
    object_archetype: Option<String>,
}

struct Compiler<'c, 'q> {
    checked: &'c Checked<'q>,
    dialect: Dialect,
    /// Known ids of path keys (see [`compile_with_paths`]).
    paths: &'c PathIds,
    /// Every path key the statement reads, for the caller to resolve.
    path_keys: Vec<String>,
    params: Vec<SqlParam>,
    from: String,
    joins: String,
    conditions: Vec<String>,
    /// Output expressions of the statement.
    outputs: Vec<String>,
    /// The value rows joined for SELECT, by (row source, archetype, relative path, kinds): one
    /// join per data value however many of its attributes are read, so that they come from
    /// the same value.
    value_joins: Vec<(String, Option<String>, String, Vec<ValueKind>)>,
    /// Per variable: a `VERSION v[LATEST_VERSION]` nothing reads, which binds exactly the
    /// latest objects the index rows describe, so it needs no row source of its own.
    transparent: Vec<bool>,
    /// Per OR operand: the conditions that its variables are bound.
    branch_bound: std::collections::BTreeMap<usize, Vec<String>>,
    /// The value joins aggregates read, and whether each may multiply the rows (a path
    /// with several values).
    aggregate_joins: Vec<(String, bool)>,
    /// The value joins of the other columns.
    column_joins: Vec<String>,
    /// Whether the query is confined to EHRs it names (see `query`).
    narrowed: bool,
    /// Per variable: the row source its paths read. An EHR whose rows the query needs only
    /// for their id reads it from its first contained variable's row (see
    /// [`Compiler::elide_ehr_rows`]).
    aliases: Vec<String>,
    /// Per variable: folded into its parent (see [`Compiler::fold_leaves`]).
    folded: Vec<Option<Folded>>,
    /// (EHR, folded leaf): the EHR's rows are the value rows of the leaf's one test (see
    /// [`Compiler::elide_ehr_rows`]).
    value_host: Option<(usize, usize)>,
}

/// A value path resolved against the index: the variable's row source, the relative path key
/// of the value and the attribute steps inside the value.
struct ValuePath<'p> {
    source: Source,
    /// The archetype the variable names, when it names one (narrows the path key).
    archetype: Option<String>,
    rel_path: String,
    tail: Vec<&'p str>,
    kinds: Vec<ValueKind>,
    /// Whether the path may yield several values (it steps through a list).
    multiple: bool,
}

/// What a path in the query reads.
enum Target<'p> {
    EhrId(Source),
    /// A text kept in a column of the row sources (a root's name, the EHR's subject, a
    /// composition's template id): the SQL expression that reads it.
    Text(String),
    Value(ValuePath<'p>),
    Object(Source),
}

impl Compiler<'_, '_> {
    /// The placeholder of a parameter; an equal parameter already bound is reused, so that
    /// conditions that differ only in the value kind read the same.
    fn param(&mut self, param: SqlParam) -> String {
        let number = match self.params.iter().position(|known| *known == param) {
            Some(position) => position + 1,
            None => {
                self.params.push(param.clone());
                self.params.len()
            }
        };
        match self.dialect {
            Dialect::Sqlite => format!("?{number}"),
            Dialect::Postgres => {
                let cast = match param {
                    SqlParam::Text(_) => "::text",
                    SqlParam::Integer(_) => "::int8",
                    SqlParam::Real(_) => "::float8",
                    SqlParam::Uuid(_) => "::uuid",
                    SqlParam::UuidList(_) => "::uuid[]",
                };
                format!("${number}{cast}")
            }
        }
    }

    /// Records a path key the statement reads and gives its id when known.
    fn path_id(&mut self, key: &str) -> Option<i64> {
        if !self.path_keys.iter().any(|known| known == key) {
            self.path_keys.push(key.to_owned());
        }
        self.paths.get(key).copied()
    }

    /// `= <id>` when the path key's id is known, else `= (SELECT path_id ...)`.
    fn path_id_equals(&mut self, key: &str) -> String {
        match self.path_id(key) {
            Some(id) => format!("= {id}"),
            None => {
                let param = self.param(SqlParam::Text(key.to_owned()));
                format!("= (SELECT path_id FROM query_path WHERE path = {param})")
            }
        }
    }

    fn text_collation(&self) -> &'static str {
        // Code point order, as docs/aql.md says strings compare; PostgreSQL's default
        // collation follows the locale instead.
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " COLLATE \"C\"",
        }
    }

    fn source_of(&self, name: &str) -> Compiled<Source> {
        let Some((index, variable)) = self.checked.variable(name) else {
            return not_compiled(format!("'{name}' is not a variable"));
        };
        Ok(Source {
            alias: self.aliases[index].clone(),
            is_ehr: variable.class == VariableClass::Ehr,
            optional: variable.optional,
            folded: self.folded[index].clone(),
            variable: index,
        })
    }

    fn query(mut self, filter: &RowFilter) -> Compiled<SqlQuery> {
        let query = self.checked.query;
        // A query confined to named EHRs tests its conditions on the rows of the objects it
        // has bound (a correlated EXISTS); a population query lets the value indexes find
        // the matching values first (an IN over them).
        self.narrowed = matches!(filter.scope, Scope::Ehrs(_))
            || self.checked.variables.iter().any(|variable| {
                variable.class == VariableClass::Ehr && variable.predicate.is_some()
            });
        // Withheld compositions are left out by a condition on each bound object's root row,
        // so every variable keeps a row of its own (no folding into value rows).
        if filter.withheld.is_empty() {
            self.fold_leaves();
        }
        self.elide_ehr_rows();
        self.bindings(&filter.withheld)?;
        let driving = self
            .checked
            .variables
            .iter()
            .enumerate()
            .position(|(index, variable)| !variable.negated && !self.transparent[index])
            .map(|index| self.aliases[index].clone());
        let Some(driving) = driving else {
            return not_compiled("the query binds no variable");
        };
        match &filter.scope {
            Scope::All => {}
            Scope::Ehrs(ehrs) if ehrs.is_empty() => {
                self.conditions.push(format!("{driving}.ehr_id IN (NULL)"));
            }
            Scope::Ehrs(ehrs) => {
                let dialect = self.dialect;
                let condition = id_list_condition(
                    dialect,
                    &format!("{driving}.ehr_id"),
                    ehrs,
                    false,
                    |param| self.param(param),
                );
                self.conditions.push(condition);
            }
            Scope::Except(ehrs) => {
                if !ehrs.is_empty() {
                    let dialect = self.dialect;
                    let condition = id_list_condition(
                        dialect,
                        &format!("{driving}.ehr_id"),
                        ehrs,
                        true,
                        |param| self.param(param),
                    );
                    self.conditions.push(condition);
                }
            }
        }
        if let Some(condition) = &query.where_clause {
            let sql = self.condition(condition)?;
            if sql != HOSTED {
                self.conditions.push(sql);
            }
        }
        if self.from.is_empty() {
            return not_compiled("nothing to select from");
        }

        if query
            .top
            .as_ref()
            .is_some_and(|top| top.direction == Some(crate::ast::TopDirection::Backward))
        {
            return not_compiled("TOP BACKWARD");
        }

        let aggregated = query
            .select
            .columns
            .iter()
            .any(|column| matches!(column.expr, Expr::Aggregate(_)));
        let mut cells = Vec::new();
        let mut group_by = Vec::new();
        for column in &query.select.columns {
            let first_output = self.outputs.len();
            let cell = self.column(&column.expr)?;
            if aggregated && !matches!(column.expr, Expr::Aggregate(_)) {
                group_by
                    .extend((first_output..self.outputs.len()).map(|index| format!("c{index}")));
            }
            cells.push(cell);
        }
        // An aggregate of a path takes its values without multiplying the rows the other
        // aggregates see (docs/aql.md): one such join is exact, more (or one beside
        // COUNT(*)) would count the product.
        let counts_rows = query.select.columns.iter().any(|column| {
            matches!(&column.expr, Expr::Aggregate(call) if matches!(call.argument, AggregateArgument::AllRows(_)))
        });
        let multiplying = self
            .aggregate_joins
            .iter()
            .filter(|(_, multiple)| *multiple)
            .count();
        if multiplying > 1 || (multiplying == 1 && (counts_rows || self.aggregate_joins.len() > 1))
        {
            return not_compiled(
                "aggregates of a path with several values beside COUNT(*) or other paths",
            );
        }
        if self
            .aggregate_joins
            .iter()
            .any(|(join, _)| self.column_joins.contains(join))
        {
            return not_compiled("an aggregate of a path that also groups");
        }
        if query.select.distinct && cells.iter().any(|cell| matches!(cell, Cell::Object { .. })) {
            // DISTINCT compares objects by content, not by identity.
            return not_compiled("DISTINCT whole objects");
        }
        // (expression, direction) of every sort key.
        let mut order = Vec::new();
        for item in &query.order_by {
            let nulls = match item.direction {
                SortDirection::Ascending => "ASC NULLS LAST",
                SortDirection::Descending => "DESC NULLS FIRST",
            };
            if query.select.distinct {
                // Only a selected column's value is left to sort on after DISTINCT.
                let selected = match &item.expr {
                    Expr::Path(path) if path.segments.is_empty() => self
                        .checked
                        .aliases
                        .iter()
                        .flatten()
                        .any(|alias| *alias == path.variable.name),
                    expr => query
                        .select
                        .columns
                        .iter()
                        .any(|column| column.expr == *expr),
                };
                if !selected {
                    return not_compiled("DISTINCT with ORDER BY something not selected");
                }
            }
            for key in self.order_key(&item.expr, aggregated)? {
                order.push((key, nulls));
            }
        }

        // With DISTINCT, the sort keys are computed inside as hidden columns (a key is a
        // function of the selected value, so it splits no row) and sorted on outside.
        let wrap = query.select.distinct && !order.is_empty();
        let mut text = String::from("SELECT ");
        if query.select.distinct {
            text.push_str("DISTINCT ");
        }
        let mut outputs: Vec<String> = self
            .outputs
            .iter()
            .enumerate()
            .map(|(index, expr)| format!("{expr} AS c{index}"))
            .collect();
        if wrap {
            for (index, (key, _)) in order.iter_mut().enumerate() {
                outputs.push(format!("{key} AS k{index}"));
                *key = format!("d.k{index}");
            }
        }
        text.push_str(&outputs.join(", "));
        let _ = write!(text, "\nFROM {}{}", self.from, self.joins);
        if !self.conditions.is_empty() {
            let _ = write!(text, "\nWHERE {}", self.conditions.join("\n  AND "));
        }
        if !group_by.is_empty() {
            let _ = write!(text, "\nGROUP BY {}", group_by.join(", "));
        }
        if wrap {
            let columns: Vec<String> = (0..self.outputs.len())
                .map(|index| format!("d.c{index}"))
                .collect();
            text = format!("SELECT {} FROM ({text}) d", columns.join(", "));
        }
        if !order.is_empty() {
            let keys: Vec<String> = order
                .iter()
                .map(|(key, nulls)| format!("{key} {nulls}"))
                .collect();
            let _ = write!(text, "\nORDER BY {}", keys.join(", "));
        }
        let limit = query
            .limit
            .as_ref()
            .map(|count| count.value)
            .or(query.top.as_ref().map(|top| top.count.value));
        if let Some(limit) = limit {
            let limit = self.param(SqlParam::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
            let _ = write!(text, "\nLIMIT {limit}");
        }
        if let Some(offset) = &query.offset {
            if limit.is_none() && self.dialect == Dialect::Sqlite {
                text.push_str("\nLIMIT -1");
            }
            let offset = self.param(SqlParam::Integer(
                i64::try_from(offset.value).unwrap_or(i64::MAX),
            ));
            let _ = write!(text, " OFFSET {offset}");
        }
        Ok(SqlQuery {
            text,
            params: self.params,
            path_keys: self.path_keys,
            width: self.outputs.len(),
            cells,
        })
    }

    /// The nearest ancestor of a variable that has a row source (skipping transparent
    /// versions).
    fn row_parent(&self, index: usize) -> Option<usize> {
        let variables = &self.checked.variables;
        let mut parent = variables[index].parent;
        while let Some(candidate) = parent
            && self.transparent[candidate]
        {
            parent = variables[candidate].parent;
        }
        parent
    }

    /// Whether a variable binds a row source of its own in every row: not under NOT or OR,
    /// and not a transparent VERSION.
    fn bound_in_every_row(&self, index: usize) -> bool {
        let variable = &self.checked.variables[index];
        !variable.negated
            && !variable.optional
            && variable.branches.is_empty()
            && !self.transparent[index]
    }

    /// Folds a leaf variable into its parent when nothing reads it but one condition, and the
    /// answer cannot tell how many of it there are: `COUNT(DISTINCT e/ehr_id/value) FROM EHR e
    /// CONTAINS COMPOSITION c[...] CONTAINS OBSERVATION o[...] WHERE o/... > 140` asks only
    /// whether each composition contains a matching observation, which the value rows answer
    /// alone (`(c.ehr_id, c.object_id) IN (SELECT ... FROM query_value ...)`), without a row
    /// per observation.
    ///
    /// Folding is exact when: the query's answer does not depend on how often a row repeats
    /// (DISTINCT, or aggregates that are all MIN, MAX or COUNT(DISTINCT)); the variable
    /// contains nothing, is not under NOT or OR, and names an archetype of a class it binds
    /// (so every value row of the archetype's paths lies under a root it would bind); its
    /// parent is the EHR or the root of an object (COMPOSITION, EHR_STATUS), so containment
    /// is "the same EHR" or "the same object"; and exactly one top-level conjunct of WHERE
    /// reads it, built only of OR and tests of its values, which distribute over "there is
    /// one that": (exists o: A or B) = (exists o: A) or (exists o: B).
    fn fold_leaves(&mut self) {
        let query = self.checked.query;
        if !multiplicity_free(query) {
            return;
        }
        let Some(condition) = &query.where_clause else {
            return;
        };
        let mut conjuncts = Vec::new();
        top_level_conjuncts(condition, &mut conjuncts);
        for index in 0..self.checked.variables.len() {
            let variable = &self.checked.variables[index];
            let VariableClass::Rm(class) = variable.class else {
                continue;
            };
            if !self.bound_in_every_row(index)
                || self
                    .checked
                    .variables
                    .iter()
                    .any(|other| other.parent == Some(index))
                || !matches!(variable.predicate, Some(Predicate::Node { name: None, .. }))
            {
                continue;
            }
            let archetype_class = variable
                .node_id
                .as_deref()
                .filter(|node| index::is_archetype_id(node))
                .and_then(archetype_rm_class);
            let Some(archetype_class) = archetype_class else {
                continue;
            };
            if !model::conforms(archetype_class, class) || is_object_root_class(archetype_class) {
                continue;
            }
            let Some(parent) = self.row_parent(index) else {
                continue;
            };
            let parent_variable = &self.checked.variables[parent];
            let parent_is_ehr = parent_variable.class == VariableClass::Ehr;
            let parent_is_root = matches!(parent_variable.class, VariableClass::Rm(class) if is_object_root_class(class));
            if !(parent_is_ehr || parent_is_root)
                || parent_variable.negated
                || parent_variable.optional
                || self.folded[parent].is_some()
            {
                continue;
            }
            let name = variable.name.as_str();
            let reads = |expr: &Expr| expr.paths().iter().any(|path| path.variable.name == name);
            if query
                .select
                .columns
                .iter()
                .any(|column| reads(&column.expr))
                || query.order_by.iter().any(|item| reads(&item.expr))
            {
                continue;
            }
            let mut reading = conjuncts.iter().filter(|conjunct| {
                conjunct
                    .paths()
                    .iter()
                    .any(|path| path.variable.name == name)
            });
            let (Some(only), None) = (reading.next(), reading.next()) else {
                continue;
            };
            if !self.tests_values_of(only, name) {
                continue;
            }
            self.folded[index] = Some(Folded {
                parent,
                parent_is_ehr,
                object_archetype: None,
            });
        }
        // A composition that only holds one folded variable, and that nothing else reads,
        // folds into the EHR in turn: its archetype becomes a condition on the value rows'
        // object (`EHR e CONTAINS COMPOSITION c[X] CONTAINS OBSERVATION o[Y] WHERE o/v > 1`:
        // the EHRs with a value of Y over 1 in an object whose root is an X).
        for index in 0..self.checked.variables.len() {
            let variable = &self.checked.variables[index];
            let VariableClass::Rm(class) = variable.class else {
                continue;
            };
            let children: Vec<usize> = (0..self.checked.variables.len())
                .filter(|&child| self.checked.variables[child].parent == Some(index))
                .collect();
            let [child] = children.as_slice() else {
                continue;
            };
            let Some(child_fold) = self.folded[*child].clone() else {
                continue;
            };
            let archetype = variable
                .node_id
                .clone()
                .filter(|node| index::is_archetype_id(node))
                .filter(|node| archetype_rm_class(node).is_some_and(|of| of == class));
            let Some(archetype) = archetype else {
                continue;
            };
            let Some(parent) = self.row_parent(index) else {
                continue;
            };
            let parent_variable = &self.checked.variables[parent];
            if !is_object_root_class(class)
                || child_fold.parent_is_ehr
                || !self.bound_in_every_row(index)
                || !matches!(variable.predicate, Some(Predicate::Node { name: None, .. }))
                || parent_variable.class != VariableClass::Ehr
                || parent_variable.negated
                || uses_variable(query, &variable.name)
            {
                continue;
            }
            self.folded[*child] = Some(Folded {
                parent,
                parent_is_ehr: true,
                object_archetype: Some(archetype),
            });
            self.folded[index] = Some(Folded {
                parent,
                parent_is_ehr: true,
                object_archetype: None,
            });
        }
    }

    /// Whether `condition` is an OR of tests of values of the variable `name` only.
    fn tests_values_of(&self, condition: &Condition, name: &str) -> bool {
        let value_of = |expr: &Expr| match expr {
            Expr::Path(path) if path.variable.name == name => {
                matches!(self.target(path), Ok(Target::Value(_)))
            }
            _ => false,
        };
        let constant = |expr: &Expr| matches!(expr, Expr::Literal(_) | Expr::Parameter(_));
        match condition {
            Condition::Or { operands, .. } => operands
                .iter()
                .all(|operand| self.tests_values_of(operand, name)),
            Condition::Comparison { left, right, .. } => {
                (value_of(left) && constant(right)) || (constant(left) && value_of(right))
            }
            Condition::Like { operand, .. } | Condition::Matches { operand, .. } => {
                value_of(operand)
            }
            Condition::Exists { path, .. } => {
                path.variable.name == name && matches!(self.target(path), Ok(Target::Value(_)))
            }
            Condition::And { .. } | Condition::Xor { .. } | Condition::Not { .. } => false,
        }
    }

    /// Reads an EHR's id from the row of the first variable it contains instead of joining
    /// the `ehr` table, when the query reads nothing else of the EHR: every row of the
    /// contained variable is in exactly one EHR, which exists.
    fn elide_ehr_rows(&mut self) {
        let query = self.checked.query;
        for index in 0..self.checked.variables.len() {
            let variable = &self.checked.variables[index];
            if variable.class != VariableClass::Ehr || variable.negated {
                continue;
            }
            let only_id = query
                .paths()
                .iter()
                .filter(|path| path.variable.name == variable.name)
                .all(|path| {
                    path.predicate.is_none()
                        && path
                            .segments
                            .iter()
                            .all(|segment| segment.predicate.is_none())
                        && segment_names(&path.segments) == ["ehr_id", "value"]
                });
            if !only_id {
                continue;
            }
            let host = (index + 1..self.checked.variables.len()).find(|&candidate| {
                self.row_parent(candidate) == Some(index)
                    && matches!(
                        self.checked.variables[candidate].class,
                        VariableClass::Rm(_)
                    )
                    && self.bound_in_every_row(candidate)
                    && self.folded[candidate].is_none()
            });
            if let Some(host) = host {
                self.aliases[index] = self.aliases[host].clone();
                continue;
            }
            // Everything the EHR contains is folded into it: the value rows of one folded
            // test (a single test, not an OR) are its rows, so the population count is one
            // scan of a value index instead of that scan and a lookup of every EHR.
            let everything_folded = (0..self.checked.variables.len()).all(|other| {
                other == index || self.transparent[other] || self.folded[other].is_some()
            });
            if !everything_folded || self.value_host.is_some() {
                continue;
            }
            let query = self.checked.query;
            let Some(condition) = &query.where_clause else {
                continue;
            };
            let mut conjuncts = Vec::new();
            top_level_conjuncts(condition, &mut conjuncts);
            let single_test = |conjunct: &Condition| match conjunct {
                Condition::Comparison { .. }
                | Condition::Like { .. }
                | Condition::Exists { .. } => conjunct
                    .paths()
                    .first()
                    .map(|path| path.variable.name.clone()),
                _ => None,
            };
            let hosting = conjuncts.iter().find_map(|conjunct| {
                let name = single_test(conjunct)?;
                let (leaf, _) = self.checked.variable(&name)?;
                let folded = self.folded[leaf].as_ref()?;
                (folded.parent == index && folded.parent_is_ehr).then_some(leaf)
            });
            if let Some(leaf) = hosting {
                self.value_host = Some((index, leaf));
            }
        }
    }

    /// The row sources of the FROM variables and the conditions that relate them.
    fn bindings(&mut self, withheld: &[Withheld]) -> Compiled<()> {
        let variables = self.checked.variables.clone();
        let transparent = self.transparent.clone();
        // One OR in FROM, its operands classes (with what they contain): a row per operand
        // binding, from a small table of operand numbers the operands' rows join on.
        let mut operands = 0;
        for variable in variables.iter().filter(|variable| variable.optional) {
            match variable.branches.as_slice() {
                [(0, operand)] if !variable.negated => operands = operands.max(operand + 1),
                _ => return not_compiled("OR in FROM other than one OR of classes"),
            }
        }
        let mut branch_table = false;
        for (index, variable) in variables.iter().enumerate() {
            let alias = self.aliases[index].clone();
            if transparent[index] {
                if variable.optional {
                    return not_compiled("VERSION under OR");
                }
                continue;
            }
            let rm_class = match variable.class {
                VariableClass::Ehr => {
                    // An EHR read only for its id has no row source of its own (see
                    // `elide_ehr_rows`): its id is that of the variable it contains.
                    let hosted_by_values = self.value_host.is_some_and(|(ehr, _)| ehr == index);
                    if alias == format!("v{index}") && !hosted_by_values {
                        self.from = format!("ehr {alias}");
                    }
                    if let Some(predicate) = &variable.predicate {
                        let condition = self.ehr_predicate(&alias, predicate)?;
                        self.conditions.push(condition);
                    }
                    continue;
                }
                VariableClass::Rm(class) => class,
                VariableClass::Version { .. } | VariableClass::VersionedObject => {
                    return not_compiled("VERSION and VERSIONED_OBJECT are read from the versions");
                }
            };
            if self.folded[index].is_some() {
                // Tested by its one condition, on its parent's row.
                continue;
            }
            let name = model::class(rm_class).name;
            let bound_by_roots = matches!(name, "COMPOSITION" | "EHR_STATUS")
                || ["ENTRY", "CARE_ENTRY"]
                    .iter()
                    .filter_map(|ancestor| model::class_id(ancestor))
                    .any(|ancestor| model::conforms(rm_class, ancestor))
                || variable
                    .node_id
                    .as_deref()
                    .is_some_and(index::is_archetype_id);
            if !bound_by_roots {
                return not_compiled(format!(
                    "{name} without an archetype id may bind nodes that are not archetype roots"
                ));
            }
            match &variable.predicate {
                None | Some(Predicate::Node { name: None, .. }) => {}
                Some(Predicate::Parameter(_)) => {}
                Some(_) => return not_compiled("a predicate other than an archetype id"),
            }
            let mut own = Vec::new();
            let types = concrete_names(rm_class);
            let list = types
                .iter()
                .map(|type_name| format!("'{type_name}'"))
                .collect::<Vec<_>>()
                .join(", ");
            own.push(format!("{alias}.rm_type IN ({list})"));
            if is_object_root_class(rm_class) {
                // A composition or EHR_STATUS is the root of its object.
                own.push(format!("{alias}.seq = 0"));
            }
            if let Some(node_id) = &variable.node_id {
                let equals = self.path_id_equals(node_id);
                own.push(format!("{alias}.archetype_path_id {equals}"));
            }
            let parent = self.row_parent(index);
            // Withheld compositions bind nothing. A variable inside another object variable
            // is in that variable's object, which is tested already.
            let in_tested_object = parent
                .is_some_and(|parent| matches!(variables[parent].class, VariableClass::Rm(_)));
            if !withheld.is_empty() && !in_tested_object {
                let condition = if is_object_root_class(rm_class) {
                    format!("NOT ({})", self.withheld_match(&alias, withheld))
                } else {
                    let root = format!("{alias}_root");
                    format!(
                        "NOT EXISTS (SELECT 1 FROM query_node {root} WHERE {root}.ehr_id = {alias}.ehr_id AND {root}.object_id = {alias}.object_id AND {root}.seq = 0 AND ({}))",
                        self.withheld_match(&root, withheld)
                    )
                };
                own.push(condition);
            }
            if let Some(parent) = parent {
                let parent_alias = &self.aliases[parent];
                match variables[parent].class {
                    // The EHR read from this variable's own row relates it to nothing.
                    VariableClass::Ehr if *parent_alias == alias => {}
                    VariableClass::Ehr => {
                        own.push(format!("{alias}.ehr_id = {parent_alias}.ehr_id"));
                    }
                    // Everything in an object lies inside its root.
                    VariableClass::Rm(parent_class) if is_object_root_class(parent_class) => {
                        own.push(format!(
                            "{alias}.ehr_id = {parent_alias}.ehr_id AND {alias}.object_id = {parent_alias}.object_id AND {alias}.seq > 0"
                        ));
                    }
                    _ => own.push(format!(
                        "{alias}.ehr_id = {parent_alias}.ehr_id AND {alias}.object_id = {parent_alias}.object_id AND {alias}.seq > {parent_alias}.seq AND {alias}.seq <= {parent_alias}.last_seq"
                    )),
                }
            }
            if variable.negated {
                if parent.is_none() {
                    return not_compiled("NOT at the top of FROM");
                }
                if variables.iter().any(|other| other.parent == Some(index)) {
                    return not_compiled("containment under NOT CONTAINS");
                }
                self.conditions.push(format!(
                    "NOT EXISTS (SELECT 1 FROM query_node {alias} WHERE {})",
                    own.join(" AND ")
                ));
                continue;
            }
            if let [(_, operand)] = variable.branches.as_slice() {
                if self.from.is_empty() {
                    return not_compiled("OR at the top of FROM");
                }
                if !branch_table {
                    let numbers = (0..operands)
                        .map(|number| format!("SELECT {number} AS operand"))
                        .collect::<Vec<_>>()
                        .join(" UNION ALL ");
                    let _ = write!(self.joins, "\nJOIN ({numbers}) operands ON 1 = 1");
                    branch_table = true;
                }
                own.insert(0, format!("operands.operand = {operand}"));
                let _ = write!(
                    self.joins,
                    "\nLEFT JOIN query_node {alias} ON {}",
                    own.join(" AND ")
                );
                // The operand's row exists only when all its variables are bound.
                self.branch_bound
                    .entry(*operand)
                    .or_default()
                    .push(format!("{alias}.seq IS NOT NULL"));
                continue;
            }
            if self.from.is_empty() {
                self.from = format!("query_node {alias}");
                self.conditions.extend(own);
            } else {
                let _ = write!(
                    self.joins,
                    "\nJOIN query_node {alias} ON {}",
                    own.join(" AND ")
                );
            }
        }
        if branch_table {
            let alternatives: Vec<String> = self
                .branch_bound
                .iter()
                .map(|(operand, bound)| {
                    format!("(operands.operand = {operand} AND {})", bound.join(" AND "))
                })
                .collect();
            self.conditions
                .push(format!("({})", alternatives.join(" OR ")));
        }
        if self.from.is_empty() && self.value_host.is_none() {
            return not_compiled("nothing to select from");
        }
        Ok(())
    }

    /// Whether the object root row `row` is a withheld composition: of a withheld template
    /// or root archetype, in an EHR it is withheld from.
    fn withheld_match(&mut self, row: &str, withheld: &[Withheld]) -> String {
        let mut alternatives = Vec::new();
        for entry in withheld {
            let mut members = Vec::new();
            if !entry.templates.is_empty() {
                let list: Vec<String> = entry
                    .templates
                    .iter()
                    .map(|template| self.param(SqlParam::Text(template.clone())))
                    .collect();
                // Only composition roots have a template id.
                members.push(format!(
                    "COALESCE({row}.template_id, '') IN ({})",
                    list.join(", ")
                ));
            }
            for archetype in &entry.archetypes {
                let equals = self.path_id_equals(archetype);
                members.push(format!("{row}.archetype_path_id {equals}"));
            }
            if members.is_empty() || entry.ehrs.is_empty() {
                continue;
            }
            let dialect = self.dialect;
            let (ehrs, negated) = match &entry.ehrs {
                EhrSet::Only(ehrs) => (ehrs, false),
                EhrSet::AllBut(ehrs) => (ehrs, true),
            };
            let ehrs =
                id_list_condition(dialect, &format!("{row}.ehr_id"), ehrs, negated, |param| {
                    self.param(param)
                });
            alternatives.push(format!("(({}) AND {ehrs})", members.join(" OR ")));
        }
        if alternatives.is_empty() {
            return "1 = 0".to_owned();
        }
        alternatives.join(" OR ")
    }

    /// `EHR e[ehr_id/value = ...]`.
    fn ehr_predicate(&mut self, alias: &str, predicate: &Predicate) -> Compiled<String> {
        match predicate {
            Predicate::Comparison {
                path,
                op: ComparisonOp::Equal,
                operand,
                ..
            } if segment_names(&path.segments) == ["ehr_id", "value"] => {
                let value = match operand {
                    PredicateOperand::Literal(literal) => literal_value(literal),
                    PredicateOperand::Parameter(parameter) => self
                        .checked
                        .parameters
                        .get(&parameter.name)
                        .cloned()
                        .unwrap_or(Value::Null),
                    _ => return not_compiled("an EHR predicate other than ehr_id/value = a value"),
                };
                Ok(self.ehr_id_equals(alias, &value))
            }
            _ => not_compiled("an EHR predicate other than ehr_id/value = a value"),
        }
    }

    fn ehr_id_equals(&mut self, alias: &str, value: &Value) -> String {
        match value.as_str().and_then(parse_uuid) {
            Some(uuid) => {
                let param = self.param(SqlParam::Uuid(uuid));
                format!("{alias}.ehr_id = {param}")
            }
            // Not a UUID: no EHR has it.
            None => "1 = 0".to_owned(),
        }
    }

    /// Resolves a path against the index.
    fn target<'p>(&self, path: &'p Path) -> Compiled<Target<'p>> {
        let source = self.source_of(&path.variable.name)?;
        let Some((_, variable)) = self.checked.variable(&path.variable.name) else {
            return not_compiled("unknown variable");
        };
        if path.predicate.is_some() {
            return not_compiled("a predicate on a path's variable");
        }
        let names = segment_names(&path.segments);
        let alias = &source.alias;
        if source.is_ehr {
            if path
                .segments
                .iter()
                .any(|segment| segment.predicate.is_some())
            {
                return not_compiled("a predicate in an EHR path");
            }
            // The subject of the latest EHR_STATUS is kept on the EHR's row.
            return match names.as_slice() {
                ["ehr_id", "value"] => Ok(Target::EhrId(source)),
                ["ehr_status", "subject", "external_ref", "id", "value"] => {
                    Ok(Target::Text(format!("{alias}.subject_id")))
                }
                ["ehr_status", "subject", "external_ref", "namespace"] => {
                    Ok(Target::Text(format!("{alias}.subject_namespace")))
                }
                ["system_id", "value"] => Ok(Target::Text(format!("{alias}.system_id"))),
                _ => not_compiled("an EHR attribute other than its id, system id or subject"),
            };
        }
        if names.is_empty() {
            return Ok(Target::Object(source));
        }
        if path
            .segments
            .iter()
            .any(|segment| segment.predicate.is_some())
            && matches!(
                names.as_slice(),
                ["name", "value"] | ["archetype_details", ..]
            )
        {
            return not_compiled("a predicate in a path to a root's name or template");
        }
        if names == ["name", "value"] {
            return Ok(Target::Text(format!("{alias}.name")));
        }
        if names == ["archetype_node_id"] && path.segments[0].predicate.is_none() {
            // The variable binds archetype roots, whose node id is their archetype id.
            return Ok(Target::Text(format!(
                "(SELECT a.path FROM query_path a WHERE a.path_id = {alias}.archetype_path_id)"
            )));
        }
        if names == ["archetype_details", "template_id", "value"]
            && variable
                .rm_class()
                .is_some_and(|class| model::class(class).name == "COMPOSITION")
        {
            // A composition is the root of its object, whose row keeps the latest version's
            // template id (`index`'s rows describe the latest version).
            return Ok(Target::Text(format!("{alias}.template_id")));
        }
        let Some(start) = variable.rm_class() else {
            return not_compiled("a variable without an RM class");
        };
        let data_value = model::class_id("DATA_VALUE").unwrap_or(u16::MAX);
        let mut rel_path = String::new();
        let mut classes: std::collections::BTreeSet<u16> = crate::check::concrete(start);
        let mut position = 0;
        // Walk the steps into LOCATABLEs and plain objects until a data value is reached.
        while position < path.segments.len() {
            let segment = &path.segments[position];
            let name = segment.attribute.name.as_str();
            if index::SKIPPED.contains(&name) {
                return not_compiled(format!("'{name}' is not indexed"));
            }
            let typed = crate::check::type_path(start, &path.segments[..=position])
                .map_err(|error| NotCompiled(error.message))?;
            classes = typed.classes.clone();
            if classes.is_empty() {
                return not_compiled(
                    "a path that ends inside a data value the index does not keep",
                );
            }
            rel_path.push('/');
            rel_path.push_str(name);
            let all_values = classes
                .iter()
                .all(|class| model::conforms(*class, data_value));
            match &segment.predicate {
                None => {}
                Some(Predicate::Node {
                    node: NodeId::AtCode(code) | NodeId::IdCode(code),
                    name: None,
                    ..
                }) if !all_values => {
                    let _ = write!(rel_path, "[{code}]");
                }
                Some(_) => {
                    return not_compiled("a predicate in a path other than a node id");
                }
            }
            position += 1;
            if all_values {
                // An interval's limits have rows of their own.
                if let Some(next) = path.segments.get(position)
                    && matches!(next.attribute.name.as_str(), "lower" | "upper")
                    && next.predicate.is_none()
                {
                    rel_path.push('/');
                    rel_path.push_str(&next.attribute.name);
                    position += 1;
                    classes = crate::check::type_path(start, &path.segments[..position])
                        .map_err(|error| NotCompiled(error.message))?
                        .classes;
                }
                break;
            }
        }
        let reached_value = classes
            .iter()
            .all(|class| model::conforms(*class, data_value));
        if !reached_value {
            return not_compiled("a path to an object other than a data value");
        }
        let tail: Vec<&str> = path.segments[position..]
            .iter()
            .map(|segment| segment.attribute.name.as_str())
            .collect();
        if path.segments[position..]
            .iter()
            .any(|segment| segment.predicate.is_some())
        {
            return not_compiled("a predicate inside a data value");
        }
        let mut kinds = Vec::new();
        for class in &classes {
            let kind =
                ValueKind::from_type_name(model::class(*class).name).unwrap_or(ValueKind::Other);
            if tail.is_empty() {
                // The whole value: every kind it may be (for EXISTS).
                kinds.push(kind);
                continue;
            }
            // Kinds for which the tail is not a primitive attribute cannot hold what is asked for.
            if !tail_is_primitive(*class, &path.segments[position..]) {
                continue;
            }
            if column_for(kind, &tail).is_none() {
                return not_compiled(format!(
                    "{} has no column for '{}'",
                    model::class(*class).name,
                    tail.join("/")
                ));
            }
            kinds.push(kind);
        }
        kinds.sort_by_key(|kind| kind.code());
        kinds.dedup();
        let archetype = variable
            .node_id
            .clone()
            .filter(|node| index::is_archetype_id(node));
        if kinds.is_empty() && !tail.is_empty() {
            return not_compiled("a path to an object inside a data value");
        }
        let multiple =
            crate::check::type_path(start, &path.segments).map_or(true, |typed| typed.multiple);
        Ok(Target::Value(ValuePath {
            source,
            archetype,
            rel_path,
            tail,
            kinds,
            multiple,
        }))
    }

    /// `query_value` rows of a value path, as SQL conditions on the alias `row`.
    fn value_rows(&mut self, path: &ValuePath<'_>, row: &str, correlate: bool) -> Vec<String> {
        let mut conditions = Vec::new();
        let known = path
            .archetype
            .as_ref()
            .and_then(|archetype| self.path_id(&format!("{archetype}{}", path.rel_path)));
        let rel = path.rel_path.clone();
        conditions.push(match (known, &path.archetype) {
            (Some(id), _) => format!("{row}.path_id = {id}"),
            (None, Some(archetype)) => {
                let rel = self.param(SqlParam::Text(rel));
                let archetype = self.param(SqlParam::Text(archetype.clone()));
                format!(
                    "{row}.path_id IN (SELECT path_id FROM query_path WHERE archetype_id = {archetype} AND rel_path = {rel})"
                )
            }
            (None, None) => {
                let rel = self.param(SqlParam::Text(rel));
                format!("{row}.path_id IN (SELECT path_id FROM query_path WHERE rel_path = {rel})")
            }
        });
        if correlate {
            let source = &path.source.alias;
            conditions.push(format!(
                "{row}.ehr_id = {source}.ehr_id AND {row}.object_id = {source}.object_id AND {row}.root_seq = {source}.seq"
            ));
        }
        let kinds = path
            .kinds
            .iter()
            .map(|kind| kind.code().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        conditions.push(format!("{row}.kind IN ({kinds})"));
        conditions
    }

    fn column(&mut self, expr: &Expr) -> Compiled<Cell> {
        match expr {
            Expr::Path(path) => match self.target(path)? {
                Target::EhrId(source) => {
                    Ok(Cell::EhrId(self.output(format!("{}.ehr_id", source.alias))))
                }
                Target::Text(expr) => Ok(Cell::Text(self.output(expr))),
                Target::Object(source) => {
                    let alias = &source.alias;
                    Ok(Cell::Object {
                        ehr_id: self.output(format!("{alias}.ehr_id")),
                        object_id: self.output(format!("{alias}.object_id")),
                        seq: self.output(format!("{alias}.seq")),
                    })
                }
                Target::Value(value) => {
                    if value.tail.is_empty() {
                        return not_compiled("a whole data value");
                    }
                    // Each occurrence of a multi-valued path multiplies the rows on its own
                    // (docs/aql.md); a single value is read once however often it is named.
                    let row = if value.multiple {
                        self.fresh_value_join(&value)
                    } else {
                        self.value_join(&value)
                    };
                    self.column_joins.push(row.clone());
                    let kind = self.output(format!("{row}.kind"));
                    let mut columns = Vec::new();
                    for value_kind in &value.kinds {
                        let Some(column) = column_for(*value_kind, &value.tail) else {
                            continue;
                        };
                        let output = self.output(format!("{row}.{}", column.output_column));
                        columns.push((*value_kind, output, column.output));
                    }
                    Ok(Cell::Value { kind, columns })
                }
            },
            Expr::Aggregate(call) => {
                let argument = match &call.argument {
                    AggregateArgument::AllRows(_) => "*".to_owned(),
                    AggregateArgument::Path(path) => match self.target(path)? {
                        Target::EhrId(source) => format!("{}.ehr_id", source.alias),
                        Target::Value(value) if !value.tail.is_empty() => {
                            let row = self.value_join(&value);
                            if !self.aggregate_joins.iter().any(|(known, _)| *known == row) {
                                self.aggregate_joins.push((row.clone(), value.multiple));
                            }
                            let columns: Vec<_> = value
                                .kinds
                                .iter()
                                .filter_map(|kind| column_for(*kind, &value.tail))
                                .map(|column| column.compare_column)
                                .collect();
                            match columns.as_slice() {
                                [column, rest @ ..] if rest.iter().all(|other| other == column) => {
                                    format!("{row}.{column}")
                                }
                                _ => {
                                    return not_compiled(
                                        "an aggregate over values of several types",
                                    );
                                }
                            }
                        }
                        _ => return not_compiled("an aggregate over something other than a value"),
                    },
                };
                if matches!(call.function, Aggregate::Min | Aggregate::Max)
                    && !argument.ends_with(".num")
                {
                    return not_compiled("MIN and MAX of something other than a number");
                }
                let function = call.function.canonical_name();
                let distinct = if call.distinct { "DISTINCT " } else { "" };
                let expr = match (call.function, self.dialect) {
                    // PostgreSQL's COUNT is a bigint, AVG of doubles a double: both read as numbers.
                    (Aggregate::Count, Dialect::Postgres) => {
                        format!("{function}({distinct}{argument})::float8")
                    }
                    _ => format!("{function}({distinct}{argument})"),
                };
                Ok(Cell::Number(self.output(expr)))
            }
            Expr::Literal(_) | Expr::Parameter(_) | Expr::Function(_) => {
                not_compiled("a literal, parameter or function as a column")
            }
        }
    }

    /// The alias of the value rows of `value`, joined once (the first join of it).
    fn value_join(&mut self, value: &ValuePath<'_>) -> String {
        let key = Self::join_key(value);
        if let Some(position) = self.value_joins.iter().position(|known| *known == key) {
            return format!("s{position}");
        }
        self.fresh_value_join(value)
    }

    fn join_key(value: &ValuePath<'_>) -> (String, Option<String>, String, Vec<ValueKind>) {
        (
            value.source.alias.clone(),
            value.archetype.clone(),
            value.rel_path.clone(),
            value.kinds.clone(),
        )
    }

    /// A join of the value rows of `value` of its own.
    fn fresh_value_join(&mut self, value: &ValuePath<'_>) -> String {
        let key = Self::join_key(value);
        let row = format!("s{}", self.value_joins.len());
        self.value_joins.push(key);
        let on = self.value_rows(value, &row, true).join(" AND ");
        let _ = write!(self.joins, "\nLEFT JOIN query_value {row} ON {on}");
        row
    }

    fn output(&mut self, expr: String) -> usize {
        self.outputs.push(expr);
        self.outputs.len() - 1
    }

    /// The sort expressions of one ORDER BY item, most significant first (without the
    /// direction).
    fn order_key(&mut self, expr: &Expr, aggregated: bool) -> Compiled<Vec<String>> {
        if aggregated {
            return not_compiled("ORDER BY with aggregates");
        }
        // A column's alias stands for the column's expression.
        let query = self.checked.query;
        let expr = match expr {
            Expr::Path(path) if path.segments.is_empty() && path.predicate.is_none() => query
                .select
                .columns
                .iter()
                .find(|column| {
                    column
                        .alias
                        .as_ref()
                        .is_some_and(|alias| alias.name == path.variable.name)
                })
                .map_or(expr, |column| &column.expr),
            _ => expr,
        };
        let Expr::Path(path) = expr else {
            return not_compiled("ORDER BY on something other than a path");
        };
        // A selected column sorts by the value in each row (docs/aql.md).
        let selected = query
            .select
            .columns
            .iter()
            .any(|column| column.expr == *expr);
        let key = match self.target(path)? {
            Target::EhrId(source) => format!("{}.ehr_id", source.alias),
            Target::Text(expr) => format!("{expr}{}", self.text_collation()),
            Target::Value(value) if !value.tail.is_empty() => {
                let columns: Vec<_> = value
                    .kinds
                    .iter()
                    .filter_map(|kind| column_for(*kind, &value.tail))
                    .map(|column| column.compare_column)
                    .collect();
                let column = match columns.as_slice() {
                    [column, rest @ ..] if rest.iter().all(|other| other == column) => *column,
                    _ if selected => {
                        let row = self.value_join(&value);
                        return Ok(self.mixed_order_key(&row, &value.kinds, &value.tail));
                    }
                    _ => return not_compiled("ORDER BY values of several types"),
                };
                let collation = if column == "text" || column == "code" {
                    self.text_collation()
                } else {
                    ""
                };
                if selected {
                    let row = self.value_join(&value);
                    format!("{row}.{column}{collation}")
                } else {
                    // A path with several values sorts by its first (docs/aql.md).
                    let conditions = self.value_rows(&value, "o", true).join(" AND ");
                    format!(
                        "(SELECT o.{column} FROM query_value o WHERE {conditions} ORDER BY o.item LIMIT 1){collation}"
                    )
                }
            }
            Target::Object(_) | Target::Value(_) => return not_compiled("ORDER BY a whole object"),
        };
        Ok(vec![key])
    }

    /// The sort keys of a selected value whose kinds keep it in different columns: numbers,
    /// then strings, then booleans (docs/aql.md), each by its own column. Strings kept in
    /// different columns (dates as instants, durations by length, texts) sort in that order
    /// of kinds, which only matters for a path whose values mix them.
    fn mixed_order_key(&self, row: &str, kinds: &[ValueKind], tail: &[&str]) -> Vec<String> {
        // (rank, column) groups in sort order, with their kind codes.
        let mut groups: Vec<((u8, u8), &'static str, Vec<u8>)> = Vec::new();
        for kind in kinds {
            let Some(column) = column_for(*kind, tail) else {
                continue;
            };
            let column = column.compare_column;
            let rank = match (kind, column) {
                (ValueKind::Boolean, _) => (2, 0),
                (_, "instant") => (1, 0),
                (ValueKind::Duration, _) => (1, 1),
                (_, "text" | "code" | "system" | "units") => (1, 2),
                _ => (0, 0),
            };
            match groups
                .iter_mut()
                .find(|group| group.0 == rank && group.1 == column)
            {
                Some(group) => group.2.push(kind.code()),
                None => groups.push((rank, column, vec![kind.code()])),
            }
        }
        groups.sort_by_key(|group| (group.0, group.1));
        let mut rank_cases = String::from("CASE");
        let mut keys = Vec::new();
        for (position, (_, column, codes)) in groups.iter().enumerate() {
            let codes = codes
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let _ = write!(rank_cases, " WHEN {row}.kind IN ({codes}) THEN {position}");
            let collation = if matches!(*column, "text" | "code" | "system" | "units") {
                self.text_collation()
            } else {
                ""
            };
            keys.push(format!(
                "CASE WHEN {row}.kind IN ({codes}) THEN {row}.{column}{collation} END"
            ));
        }
        rank_cases.push_str(" END");
        keys.insert(0, rank_cases);
        keys
    }

    /// A condition in two-valued logic: an atomic condition on a variable that is unbound in
    /// a row (the other operand of an OR in FROM) is false there, not NULL.
    fn condition(&mut self, condition: &Condition) -> Compiled<String> {
        let sql = self.condition_of_bound(condition)?;
        if matches!(
            condition,
            Condition::And { .. }
                | Condition::Or { .. }
                | Condition::Xor { .. }
                | Condition::Not { .. }
        ) {
            return Ok(sql);
        }
        let mut guards = Vec::new();
        for path in condition.paths() {
            let source = self.source_of(&path.variable.name)?;
            let guard = format!("{}.seq IS NOT NULL", source.alias);
            if source.optional && !guards.contains(&guard) {
                guards.push(guard);
            }
        }
        if guards.is_empty() {
            return Ok(sql);
        }
        Ok(format!("({} AND {sql})", guards.join(" AND ")))
    }

    fn condition_of_bound(&mut self, condition: &Condition) -> Compiled<String> {
        match condition {
            Condition::And { operands, .. } => self.join_conditions(operands, " AND "),
            Condition::Or { operands, .. } => self.join_conditions(operands, " OR "),
            Condition::Xor { operands, .. } => {
                // True when an odd number hold.
                let mut parts = Vec::new();
                for operand in operands {
                    parts.push(format!(
                        "(CASE WHEN {} THEN 1 ELSE 0 END)",
                        self.condition(operand)?
                    ));
                }
                Ok(format!("(({}) % 2 = 1)", parts.join(" + ")))
            }
            Condition::Not { operand, .. } => Ok(format!("NOT ({})", self.condition(operand)?)),
            Condition::Exists { path, .. } => match self.target(path)? {
                Target::EhrId(_) | Target::Object(_) => Ok("1 = 1".to_owned()),
                Target::Text(expr) => Ok(format!("{expr} IS NOT NULL")),
                Target::Value(value) => self.value_semi_join(&value, |_, _, _| Ok(None)),
            },
            Condition::Comparison {
                left, op, right, ..
            } => {
                let (path, op, operand) = match (left.as_ref(), right.as_ref()) {
                    (Expr::Path(path), other) => (path, *op, other),
                    (other, Expr::Path(path)) => (path, flip(*op), other),
                    _ => return not_compiled("a comparison without a path"),
                };
                let value = self.operand_value(operand)?;
                self.compare(path, op, &value)
            }
            Condition::Like {
                operand, pattern, ..
            } => {
                let Expr::Path(path) = operand.as_ref() else {
                    return not_compiled("LIKE on something other than a path");
                };
                let pattern = match pattern {
                    LikePattern::Pattern { pattern, .. } => pattern.clone(),
                    LikePattern::Parameter(parameter) => {
                        match self.checked.parameters.get(&parameter.name) {
                            Some(Value::String(text)) => text.clone(),
                            _ => return not_compiled("a LIKE parameter that is not a string"),
                        }
                    }
                };
                self.like(path, &pattern)
            }
            Condition::Matches {
                operand, matches, ..
            } => {
                let Expr::Path(path) = operand.as_ref() else {
                    return not_compiled("MATCHES on something other than a path");
                };
                let MatchesOperand::ValueList { items, .. } = matches else {
                    return not_compiled("MATCHES a terminology");
                };
                let mut alternatives = Vec::new();
                for item in items {
                    // A parameter holding an array stands for its items.
                    let values = match self.operand_value(item)? {
                        Value::Array(values) => values,
                        value => vec![value],
                    };
                    for value in values {
                        alternatives.push(self.compare(path, ComparisonOp::Equal, &value)?);
                    }
                }
                if alternatives.is_empty() {
                    return Ok("1 = 0".to_owned());
                }
                Ok(format!("({})", alternatives.join(" OR ")))
            }
        }
    }

    fn join_conditions(&mut self, operands: &[Condition], separator: &str) -> Compiled<String> {
        let mut parts = Vec::new();
        for operand in operands {
            let part = self.condition(operand)?;
            // The test whose rows are the FROM holds in every row (only ever an AND operand).
            if part != HOSTED {
                parts.push(part);
            }
        }
        if parts.is_empty() {
            return Ok(HOSTED.to_owned());
        }
        Ok(format!("({})", parts.join(separator)))
    }

    fn operand_value(&self, expr: &Expr) -> Compiled<Value> {
        match expr {
            Expr::Literal(literal) => Ok(literal_value(literal)),
            Expr::Parameter(parameter) => Ok(self
                .checked
                .parameters
                .get(&parameter.name)
                .cloned()
                .unwrap_or(Value::Null)),
            _ => not_compiled("a comparison with something other than a value"),
        }
    }

    /// `path op value`, existential over the path's values.
    fn compare(&mut self, path: &Path, op: ComparisonOp, value: &Value) -> Compiled<String> {
        if value.is_null() {
            return not_compiled("a comparison with NULL");
        }
        match self.target(path)? {
            Target::EhrId(source) => match op {
                ComparisonOp::Equal => Ok(self.ehr_id_equals(&source.alias, value)),
                ComparisonOp::NotEqual => {
                    let equal = self.ehr_id_equals(&source.alias, value);
                    Ok(format!("NOT ({equal})"))
                }
                _ => not_compiled("ordering EHR ids"),
            },
            Target::Text(expr) => {
                let Value::String(text) = value else {
                    return Ok(if op == ComparisonOp::NotEqual {
                        "1 = 1"
                    } else {
                        "1 = 0"
                    }
                    .to_owned());
                };
                let param = self.param(SqlParam::Text(text.clone()));
                // Equality is the same under every deterministic collation; leaving it out
                // lets PostgreSQL use the column's index (built with the default collation).
                let collation = if matches!(op, ComparisonOp::Equal | ComparisonOp::NotEqual) {
                    ""
                } else {
                    self.text_collation()
                };
                Ok(format!("{expr}{collation} {} {param}", op.as_str()))
            }
            Target::Object(_) => not_compiled("a comparison of a whole object"),
            Target::Value(target) if target.tail.is_empty() => {
                not_compiled("a comparison of a whole data value")
            }
            Target::Value(target) => {
                let op_text = op.as_str();
                self.value_semi_join(&target, |compiler, kind, column| {
                    let Some(param) = typed_param(kind, column, value) else {
                        // Unrelated types: only != holds (docs/aql.md).
                        return Ok(Some(
                            if op == ComparisonOp::NotEqual {
                                "1 = 1"
                            } else {
                                "1 = 0"
                            }
                            .to_owned(),
                        ));
                    };
                    let is_text = matches!(column, "text" | "code" | "system" | "units");
                    let param = compiler.param(param);
                    if is_text && op == ComparisonOp::Equal && compiler.dialect == Dialect::Postgres
                    {
                        // PostgreSQL indexes codes and texts by their first 200 characters.
                        return Ok(Some(format!(
                            "left(r.{column}, 200) = left({param}, 200) AND r.{column} = {param}"
                        )));
                    }
                    let collation = if is_text {
                        compiler.text_collation()
                    } else {
                        ""
                    };
                    Ok(Some(format!("r.{column}{collation} {op_text} {param}")))
                })
            }
        }
    }

    fn like(&mut self, path: &Path, pattern: &str) -> Compiled<String> {
        let dialect = self.dialect;
        let (operator, translated) = like_pattern(dialect, pattern);
        match self.target(path)? {
            Target::Text(expr) => {
                let param = self.param(SqlParam::Text(translated));
                Ok(format!("{expr} {operator} {param}"))
            }
            Target::Value(target) if !target.tail.is_empty() => {
                self.value_semi_join(&target, |compiler, kind, column| {
                    // Dates and durations match LIKE as their text.
                    let column = if matches!(
                        kind,
                        ValueKind::DateTime
                            | ValueKind::Date
                            | ValueKind::Time
                            | ValueKind::Duration
                    ) {
                        "iso8601"
                    } else {
                        column
                    };
                    if !matches!(column, "text" | "code" | "system" | "units" | "iso8601") {
                        return Ok(Some("1 = 0".to_owned()));
                    }
                    let param = compiler.param(SqlParam::Text(translated.clone()));
                    Ok(Some(format!("r.{column} {operator} {param}")))
                })
            }
            _ => not_compiled("LIKE on something other than a text value"),
        }
    }

    /// `(ehr_id, object_id, seq) IN (SELECT ... FROM query_value r WHERE <path> AND <per kind>)`.
    /// `per_kind` gives the condition on one kind's column (None: any row of the kind).
    fn value_semi_join(
        &mut self,
        target: &ValuePath<'_>,
        mut per_kind: impl FnMut(&mut Self, ValueKind, &'static str) -> Compiled<Option<String>>,
    ) -> Compiled<String> {
        let mut conditions = self.value_rows(target, "r", false);
        // Kinds whose condition reads the same share one alternative (`r.kind IN (4, 5) AND
        // r.num > $1`), which the value index serves with one range.
        let mut groups: Vec<(Option<String>, Vec<String>)> = Vec::new();
        let mut any = true;
        for kind in &target.kinds {
            let Some(column) = column_for(*kind, &target.tail) else {
                continue;
            };
            let condition = per_kind(self, *kind, column.compare_column)?;
            any &= condition.is_none();
            let code = kind.code().to_string();
            match groups.iter_mut().find(|(known, _)| *known == condition) {
                Some((_, codes)) => codes.push(code),
                None => groups.push((condition, vec![code])),
            }
        }
        if !any {
            let alternatives: Vec<String> = groups
                .iter()
                .map(|(condition, codes)| {
                    let kinds = match codes.as_slice() {
                        [one] => format!("r.kind = {one}"),
                        many => format!("r.kind IN ({})", many.join(", ")),
                    };
                    match condition {
                        Some(condition) => format!("({kinds} AND {condition})"),
                        None => kinds,
                    }
                })
                .collect();
            conditions.push(format!("({})", alternatives.join(" OR ")));
        } else if !target.tail.is_empty() && !target.kinds.is_empty() {
            // EXISTS of an attribute: the column for it must hold something.
            let present: Vec<String> = target
                .kinds
                .iter()
                .filter_map(|kind| column_for(*kind, &target.tail).map(|column| (kind, column)))
                .map(|(kind, column)| {
                    format!(
                        "(r.kind = {} AND r.{} IS NOT NULL)",
                        kind.code(),
                        column.compare_column
                    )
                })
                .collect();
            conditions.push(format!("({})", present.join(" OR ")));
        }
        if let Some(folded) = &target.source.folded {
            // Whether the parent contains a match: the same EHR, or the same object.
            let parent = &self.aliases[folded.parent].clone();
            let (keys, correlation) = if folded.parent_is_ehr {
                (vec!["ehr_id"], format!("r.ehr_id = {parent}.ehr_id"))
            } else {
                (
                    vec!["ehr_id", "object_id"],
                    format!("r.ehr_id = {parent}.ehr_id AND r.object_id = {parent}.object_id"),
                )
            };
            if let Some(archetype) = &folded.object_archetype {
                let equals = self.path_id_equals(archetype);
                conditions.push(format!("r.object_path_id {equals}"));
            }
            if let Some((ehr, leaf)) = self.value_host
                && ehr == folded.parent
                && target.source.variable == leaf
                && self.from.is_empty()
            {
                // The EHR's rows: the EHR ids of the matching values (a derived table both
                // databases merge into the statement).
                self.from = format!(
                    "(SELECT r.ehr_id FROM query_value r WHERE {}) {parent}",
                    conditions.join(" AND ")
                );
                return Ok(HOSTED.to_owned());
            }
            if self.narrowed {
                return Ok(format!(
                    "EXISTS (SELECT 1 FROM query_value r WHERE {correlation} AND {})",
                    conditions.join(" AND ")
                ));
            }
            let outer: Vec<String> = keys.iter().map(|key| format!("{parent}.{key}")).collect();
            let inner: Vec<String> = keys.iter().map(|key| format!("r.{key}")).collect();
            let outer = match outer.as_slice() {
                [one] => one.clone(),
                many => format!("({})", many.join(", ")),
            };
            return Ok(format!(
                "{outer} IN (SELECT {} FROM query_value r WHERE {})",
                inner.join(", "),
                conditions.join(" AND ")
            ));
        }
        let source = &target.source.alias;
        if self.narrowed {
            return Ok(format!(
                "EXISTS (SELECT 1 FROM query_value r WHERE r.ehr_id = {source}.ehr_id AND r.object_id = {source}.object_id AND r.root_seq = {source}.seq AND {})",
                conditions.join(" AND ")
            ));
        }
        Ok(format!(
            "({source}.ehr_id, {source}.object_id, {source}.seq) IN (SELECT r.ehr_id, r.object_id, r.root_seq FROM query_value r WHERE {})",
            conditions.join(" AND ")
        ))
    }
}

/// Where an attribute of a data value is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueColumn {
    /// The column compared and sorted on.
    pub compare_column: &'static str,
    /// The column returned.
    pub output_column: &'static str,
    pub output: Output,
}

const fn same(column: &'static str, output: Output) -> ValueColumn {
    ValueColumn {
        compare_column: column,
        output_column: column,
        output,
    }
}

/// The column of `tail` (attribute steps inside a value of this kind), per the table in
/// [`crate::index`].
pub fn column_for(kind: ValueKind, tail: &[&str]) -> Option<ValueColumn> {
    use ValueKind as K;
    let text = same("text", Output::Text);
    let code = same("code", Output::Text);
    let system = same("system", Output::Text);
    Some(match (kind, tail) {
        (K::Boolean, ["value"]) => same("num", Output::Boolean),
        (K::Text | K::Uri | K::EhrUri | K::Parsable, ["value"]) => text,
        (K::CodedText, ["value"]) => text,
        (K::CodedText, ["defining_code", "code_string"]) => code,
        (K::CodedText, ["defining_code", "terminology_id", "value"]) => system,
        (K::Quantity, ["magnitude"]) => same("num", Output::Real),
        (K::Quantity, ["units"]) => same("units", Output::Text),
        (K::Count, ["magnitude"]) => same("num", Output::Integer),
        (K::Proportion, ["numerator"]) => same("num", Output::Real),
        (K::Ordinal, ["value"]) => same("num", Output::Integer),
        (K::Scale, ["value"]) => same("num", Output::Real),
        (K::Ordinal | K::Scale, ["symbol", "value"]) => text,
        (K::Ordinal | K::Scale, ["symbol", "defining_code", "code_string"]) => code,
        (K::Ordinal | K::Scale, ["symbol", "defining_code", "terminology_id", "value"]) => system,
        (K::DateTime | K::Date | K::Time, ["value"]) => ValueColumn {
            compare_column: "instant",
            output_column: "iso8601",
            output: Output::Text,
        },
        (K::Duration, ["value"]) => ValueColumn {
            compare_column: "num",
            output_column: "iso8601",
            output: Output::Text,
        },
        (K::Identifier, ["id"]) => text,
        (K::Identifier, ["type"]) => code,
        (K::Identifier, ["issuer"]) => system,
        (K::Parsable, ["formalism"]) => code,
        (K::State, ["value", "value"]) => text,
        (K::State, ["value", "defining_code", "code_string"]) => code,
        (K::State, ["value", "defining_code", "terminology_id", "value"]) => system,
        (K::CodePhrase, ["code_string"]) => code,
        (K::CodePhrase, ["terminology_id", "value"]) => system,
        _ => return None,
    })
}

/// Whether `tail` leads from an object of exactly `class` (not a descendant) to a primitive.
fn tail_is_primitive(class: u16, tail: &[PathSegment]) -> bool {
    let Some((first, rest)) = tail.split_first() else {
        return false;
    };
    let Some(attribute) = model::class(class).attribute(&first.attribute.name) else {
        return false;
    };
    match attribute.kind {
        model::ValueKind::Object => crate::check::type_path(attribute.class, rest)
            .is_ok_and(|typed| typed.primitive.is_some()),
        _ => rest.is_empty(),
    }
}

/// A comparison value converted to the column's type; None when the types are unrelated.
fn typed_param(kind: ValueKind, column: &str, value: &Value) -> Option<SqlParam> {
    match (column, value) {
        ("instant", Value::String(text)) => index::instant(kind, text).map(SqlParam::Integer),
        ("num", Value::String(text)) if kind == ValueKind::Duration => {
            templates::validate::iso8601::parse_duration(text).map(|duration| {
                SqlParam::Real(templates::validate::iso8601::duration_key(&duration))
            })
        }
        ("num", Value::Number(number)) => number.as_f64().map(SqlParam::Real),
        ("num", Value::Bool(flag)) if kind == ValueKind::Boolean => {
            Some(SqlParam::Real(if *flag { 1.0 } else { 0.0 }))
        }
        ("text" | "code" | "system" | "units", Value::String(text)) => {
            Some(SqlParam::Text(text.clone()))
        }
        _ => None,
    }
}

/// The LIKE operator and the pattern in the dialect's syntax: SQLite's GLOB (case-sensitive,
/// `*` and `?` as in AQL), PostgreSQL's LIKE (`%` and `_`).
fn like_pattern(dialect: Dialect, pattern: &str) -> (&'static str, String) {
    let mut translated = String::new();
    let mut characters = pattern.chars();
    while let Some(character) = characters.next() {
        let literal = match character {
            '\\' => match characters.next() {
                Some(next) => Some(next),
                None => Some('\\'),
            },
            '*' => {
                translated.push(if dialect == Dialect::Sqlite { '*' } else { '%' });
                None
            }
            '?' => {
                translated.push(if dialect == Dialect::Sqlite { '?' } else { '_' });
                None
            }
            other => Some(other),
        };
        if let Some(literal) = literal {
            match (dialect, literal) {
                (Dialect::Sqlite, '*' | '?' | '[') => {
                    translated.push('[');
                    translated.push(literal);
                    translated.push(']');
                }
                (Dialect::Postgres, '%' | '_' | '\\') => {
                    translated.push('\\');
                    translated.push(literal);
                }
                _ => translated.push(literal),
            }
        }
    }
    match dialect {
        Dialect::Sqlite => ("GLOB", translated),
        Dialect::Postgres => ("LIKE", translated),
    }
}

fn flip(op: ComparisonOp) -> ComparisonOp {
    match op {
        ComparisonOp::Greater => ComparisonOp::Less,
        ComparisonOp::GreaterOrEqual => ComparisonOp::LessOrEqual,
        ComparisonOp::Less => ComparisonOp::Greater,
        ComparisonOp::LessOrEqual => ComparisonOp::GreaterOrEqual,
        other => other,
    }
}

fn literal_value(literal: &Literal) -> Value {
    match &literal.value {
        LiteralValue::String(text) => Value::String(text.clone()),
        LiteralValue::Integer(number) => Value::from(*number),
        LiteralValue::Real(number) => Value::from(*number),
        LiteralValue::Boolean(flag) => Value::Bool(*flag),
        LiteralValue::Null => Value::Null,
    }
}

fn segment_names(segments: &[PathSegment]) -> Vec<&str> {
    segments
        .iter()
        .map(|segment| segment.attribute.name.as_str())
        .collect()
}

fn concrete_names(class: u16) -> Vec<&'static str> {
    crate::check::concrete(class)
        .into_iter()
        .map(|id| model::class(id).name)
        .collect()
}

/// The bytes of a UUID written as text.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    uuid::Uuid::try_parse(text).ok().map(uuid::Uuid::into_bytes)
}

/// Whether a VERSION variable only links its parent to its contents: latest versions, no
/// predicate beyond `LATEST_VERSION`, not negated, and no path of the query starts at it.
fn is_transparent_version(checked: &Checked<'_>, variable: &crate::check::Variable) -> bool {
    variable.class == (VariableClass::Version { all: false })
        && !variable.negated
        && matches!(variable.predicate, None | Some(Predicate::LatestVersion(_)))
        && !uses_variable(checked.query, &variable.name)
}

/// The condition of the one test whose value rows are the statement's FROM: it holds in
/// every row, and is left out of WHERE.
const HOSTED: &str = "1 = 1";

/// Whether the answer is the same however often a row repeats: DISTINCT, or aggregates that
/// are all MIN, MAX or COUNT(DISTINCT) (with or without grouping columns).
fn multiplicity_free(query: &crate::ast::Query) -> bool {
    if query.select.distinct {
        return true;
    }
    let aggregates: Vec<_> = query
        .select
        .columns
        .iter()
        .filter_map(|column| match &column.expr {
            Expr::Aggregate(call) => Some(call),
            _ => None,
        })
        .collect();
    !aggregates.is_empty()
        && aggregates.iter().all(|call| match call.function {
            Aggregate::Min | Aggregate::Max => true,
            Aggregate::Count => {
                call.distinct && matches!(call.argument, AggregateArgument::Path(_))
            }
            _ => false,
        })
}

/// The operands of the top-level AND of a condition (the condition itself when it is not
/// an AND).
fn top_level_conjuncts<'c>(condition: &'c Condition, into: &mut Vec<&'c Condition>) {
    match condition {
        Condition::And { operands, .. } => {
            for operand in operands {
                top_level_conjuncts(operand, into);
            }
        }
        other => into.push(other),
    }
}

/// The RM class an archetype id constrains (`openEHR-EHR-OBSERVATION.blood_pressure.v2`:
/// OBSERVATION).
fn archetype_rm_class(archetype_id: &str) -> Option<u16> {
    let qualified = archetype_id.split('.').next()?;
    let class = qualified.rsplit('-').next()?;
    model::class_id(class)
}

/// COMPOSITION and EHR_STATUS are always the root of their object (`seq` 0).
fn is_object_root_class(class: u16) -> bool {
    matches!(model::class(class).name, "COMPOSITION" | "EHR_STATUS")
}

/// Whether any path of SELECT, WHERE or ORDER BY starts at the variable.
fn uses_variable(query: &crate::ast::Query, name: &str) -> bool {
    query.paths().iter().any(|path| path.variable.name == name)
}
