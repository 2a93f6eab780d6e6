//! The differential test of AQL (issue 4): random valid queries, generated from a fixed seed
//! over a generated dataset, are answered by the reference evaluator (`aql::eval`, the
//! oracle) and by `POST /query/aql` on SQLite and on PostgreSQL (with
//! `KITH_TEST_DATABASE_URL`), and every answer must be the oracle's: the same columns, the
//! same rows (as multisets, or in order where the ORDER BY leaves no ties), or the same
//! refusal.
//!
//! The dataset is the corpus's ward dataset and copies of its EHRs under new ids whose
//! magnitudes, dates and codes are varied, each change kept only if the composition still
//! passes its template's validation. The queries are drawn from paths found in the data
//! (walking every archetyped node of it), so most of them return rows.
//!
//! `AQL_DIFF_SEED` (decimal or `0x` hex) and `AQL_DIFF_COUNT` change the seed and the
//! number of queries; the seed is printed, so a failing run can be replayed.

mod support;

#[path = "support/corpus_load.rs"]
mod corpus_load;

#[path = "../../aql/tests/corpus_case/mod.rs"]
mod corpus_case;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Instant;

use aql::eval::{Clock, Dataset, ObjectKind};
use corpus_case::{CorpusDataset, error_code};
use serde_json::{Map, Value, json};
use support::{BASE, Backend, TestApp};

const DEFAULT_SEED: u64 = 0x4b49_5448;
const DEFAULT_COUNT: usize = 600;
/// Copies of the ward dataset's EHRs, besides the originals.
const COPIES: usize = 3;
/// Queries whose oracle answer (before paging) is longer are replaced by another: they test
/// nothing more and cost time.
const MAX_ROWS: usize = 1500;
/// Path segments below a bound node that the catalogue follows.
const MAX_DEPTH: usize = 10;

// ---------------------------------------------------------------------------------------
// Randomness: SplitMix64, so that a seed gives the same queries everywhere.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[allow(clippy::cast_possible_truncation)]
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    /// True with the given chance in percent.
    fn percent(&mut self, chance: u64) -> bool {
        self.next() % 100 < chance
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    #[allow(clippy::cast_precision_loss)]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------
// The dataset: the ward EHRs and varied copies of them.

fn ward() -> CorpusDataset {
    let path = corpus_case::corpus_dir().join("ward/dataset.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn parsed_templates(files: &[String]) -> BTreeMap<String, templates::model::Template> {
    files
        .iter()
        .map(|file| {
            let bytes = support::testdata(&format!("templates/{file}"));
            let template =
                templates::opt::parse(&bytes).unwrap_or_else(|error| panic!("{file}: {error}"));
            (template.template_id.clone(), template)
        })
        .collect()
}

fn is_valid(template: &templates::model::Template, data: &Value) -> bool {
    openehr_rm::json::from_value(data, "COMPOSITION")
        .is_ok_and(|object| templates::validate::validate(template, &object).is_empty())
}

/// A place in a composition that can change: a JSON pointer and what to do there.
enum Change {
    Magnitude(String),
    Count(String),
    Coded(String, String),
}

/// The pools of coded texts seen at each place of each template, to swap between.
type CodedPools = BTreeMap<String, Vec<Value>>;

/// Walks a composition: its changeable places (with `pointer`) and the key of each place in
/// the template (`place`: attribute names and node ids).
fn changes(
    value: &Value,
    pointer: &str,
    place: &str,
    out: &mut Vec<Change>,
    pools: &mut CodedPools,
) {
    match value {
        Value::Object(object) => {
            match object.get("_type").and_then(Value::as_str) {
                Some("DV_QUANTITY") if object.get("magnitude").is_some_and(Value::is_f64) => {
                    out.push(Change::Magnitude(format!("{pointer}/magnitude")));
                }
                Some("DV_COUNT") if object.get("magnitude").is_some() => {
                    out.push(Change::Count(format!("{pointer}/magnitude")));
                }
                Some("DV_CODED_TEXT") | Some("DV_ORDINAL") => {
                    let pool = pools.entry(place.to_owned()).or_default();
                    if !pool.contains(value) {
                        pool.push(value.clone());
                    }
                    out.push(Change::Coded(pointer.to_owned(), place.to_owned()));
                    return;
                }
                _ => {}
            }
            for (key, child) in object {
                let node = child
                    .get("archetype_node_id")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                match child {
                    Value::Array(items) => {
                        for (index, item) in items.iter().enumerate() {
                            let node = item
                                .get("archetype_node_id")
                                .and_then(Value::as_str)
                                .unwrap_or("");
                            changes(
                                item,
                                &format!("{pointer}/{key}/{index}"),
                                &format!("{place}/{key}[{node}]"),
                                out,
                                pools,
                            );
                        }
                    }
                    _ => changes(
                        child,
                        &format!("{pointer}/{key}"),
                        &format!("{place}/{key}[{node}]"),
                        out,
                        pools,
                    ),
                }
            }
        }
        Value::Array(_) | Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// Shifts every DV_DATE_TIME and DV_DATE value of a document by `minutes`.
fn shift_dates(value: &mut Value, minutes: i64) {
    match value {
        Value::Object(object) => {
            let kind = object
                .get("_type")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let (Some(kind), Some(Value::String(text))) = (kind, object.get_mut("value"))
                && let Some(shifted) = shift_date(&kind, text, minutes)
            {
                *text = shifted;
            }
            for child in object.values_mut() {
                shift_dates(child, minutes);
            }
        }
        Value::Array(items) => {
            for item in items {
                shift_dates(item, minutes);
            }
        }
        _ => {}
    }
}

fn shift_date(kind: &str, text: &str, minutes: i64) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    match kind {
        "DV_DATE_TIME" => {
            let instant = time::OffsetDateTime::parse(text, &Rfc3339).ok()?;
            (instant + time::Duration::minutes(minutes))
                .format(&Rfc3339)
                .ok()
        }
        "DV_DATE" if text.len() == 10 => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let date = time::Date::parse(text, &format).ok()?;
            (date + time::Duration::days(minutes / 1440))
                .format(&format)
                .ok()
        }
        _ => None,
    }
}

/// Varies one composition: every change is kept only if the template still accepts it.
fn vary(
    data: &mut Value,
    template: &templates::model::Template,
    pools: &CodedPools,
    rng: &mut Rng,
) {
    let mut places = Vec::new();
    changes(data, "", "", &mut places, &mut CodedPools::new());
    let minutes = i64::try_from(rng.below(400 * 1440)).unwrap_or(0) - 200 * 1440;
    let before = data.clone();
    shift_dates(data, minutes);
    if !is_valid(template, data) {
        *data = before;
    }
    for place in places {
        let (pointer, new) = match &place {
            Change::Magnitude(pointer) => {
                let Some(old) = data.pointer(pointer).and_then(Value::as_f64) else {
                    continue;
                };
                let factor = 0.7 + 0.6 * rng.unit();
                let mut new = (old * factor * 10.0).round() / 10.0;
                if rng.percent(50) {
                    new = new.round();
                }
                (pointer, json!(new))
            }
            Change::Count(pointer) => {
                let Some(old) = data.pointer(pointer).and_then(Value::as_i64) else {
                    continue;
                };
                let step = i64::try_from(rng.below(7)).unwrap_or(0) - 3;
                (pointer, json!((old + step).max(0)))
            }
            Change::Coded(pointer, key) => match pools.get(key) {
                Some(pool) if pool.len() > 1 => (pointer, rng.pick(pool).clone()),
                _ => continue,
            },
        };
        let Some(slot) = data.pointer_mut(pointer) else {
            continue;
        };
        let old = std::mem::replace(slot, new);
        if !is_valid(template, data)
            && let Some(slot) = data.pointer_mut(pointer)
        {
            *slot = old;
        }
    }
}

/// The ward dataset and `COPIES` varied copies of each of its EHRs.
fn generated_dataset(rng: &mut Rng) -> Dataset {
    let ward = ward();
    let templates = parsed_templates(&ward.templates);
    let mut pools = CodedPools::new();
    for ehr in &ward.dataset.ehrs {
        for contribution in &ehr.contributions {
            for version in &contribution.versions {
                if version.kind == ObjectKind::Composition {
                    let template = template_id(&version.data);
                    changes(&version.data, "", &template, &mut Vec::new(), &mut pools);
                }
            }
        }
    }
    let mut dataset = ward.dataset.clone();
    for copy in 1..=COPIES {
        for ehr in &ward.dataset.ehrs {
            // Ids are `e000000N-…` (EHR), `0000000N-…` (objects), `c000000N-…`
            // (contributions): the copy's number replaces the first zero.
            let digits = &ehr.ehr_id[1..8];
            let renamed = format!("{copy}{}", &digits[1..]);
            let text = serde_json::to_string(ehr)
                .expect("json")
                .replace(&format!("e{digits}-"), &format!("e{renamed}-"))
                .replace(&format!("0{digits}-"), &format!("0{renamed}-"))
                .replace(&format!("c{digits}-"), &format!("c{renamed}-"));
            let mut copied: aql::eval::EhrData = serde_json::from_str(&text).expect("copy");
            for contribution in &mut copied.contributions {
                for version in &mut contribution.versions {
                    if version.kind == ObjectKind::EhrStatus {
                        // One EHR per subject: the copy is another person.
                        if let Some(id) = version.data.pointer_mut("/subject/external_ref/id/value")
                            && let Some(text) = id.as_str()
                        {
                            *id = Value::String(format!("{text}-{copy}"));
                        }
                    }
                    if version.kind != ObjectKind::Composition {
                        continue;
                    }
                    let template = &templates[&template_id(&version.data)];
                    vary(&mut version.data, template, &pools, rng);
                }
            }
            dataset.ehrs.push(copied);
        }
    }
    dataset
}

fn template_id(data: &Value) -> String {
    data["archetype_details"]["template_id"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

// ---------------------------------------------------------------------------------------
// The catalogue: what paths the data has below each kind of bound node.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Text,
    /// The `value` of a DV_DATE_TIME or DV_DATE.
    Date,
    /// The `value` of a DV_TIME or DV_DURATION: compared for equality only.
    Opaque,
    Bool,
    Object,
}

#[derive(Debug, Clone)]
struct PathInfo {
    /// Relative to the bound node, without the variable (`data[at0001]/…/magnitude`).
    path: String,
    kind: Kind,
    /// The `_type` of an object path.
    object_type: Option<String>,
    /// Values seen (up to a few), for literals; for objects only of coded types.
    values: Vec<Value>,
    /// Whether some node yields more than one value.
    multi: bool,
    /// Of a shape the SQL compiler covers (a value reached through node ids only, outside
    /// the attributes the index skips), so that the generator can favour it: a query
    /// answered by evaluation tests the oracle against itself.
    compilable: bool,
}

fn compilable(path: &str, kind: Kind) -> bool {
    kind != Kind::Object
        && !path.contains("[openEHR-")
        && (path == "name/value"
            || path.split('/').all(|segment| {
                let attribute = segment.split('[').next().unwrap_or(segment);
                !aql::index::SKIPPED.contains(&attribute)
            }))
}

impl PathInfo {
    fn sortable(&self) -> bool {
        match self.kind {
            Kind::Number | Kind::Text | Kind::Date | Kind::Opaque | Kind::Bool => true,
            Kind::Object => matches!(
                self.object_type.as_deref(),
                Some("DV_DATE_TIME" | "DV_DATE")
            ),
        }
    }

    fn comparable(&self) -> bool {
        self.sortable()
    }
}

/// A bindable node of a composition, for CONTAINS chains.
#[derive(Debug, Clone)]
struct Node {
    rm_type: String,
    node_id: String,
    name: Option<String>,
    /// The nearest bindable ancestor.
    parent: Option<usize>,
}

const BINDABLE: &[&str] = &[
    "COMPOSITION",
    "EHR_STATUS",
    "FOLDER",
    "SECTION",
    "OBSERVATION",
    "EVALUATION",
    "INSTRUCTION",
    "ACTION",
    "ADMIN_ENTRY",
    "CLUSTER",
    "ELEMENT",
    "POINT_EVENT",
    "INTERVAL_EVENT",
    "HISTORY",
    "ITEM_TREE",
];

const ENTRIES: &[&str] = &[
    "OBSERVATION",
    "EVALUATION",
    "INSTRUCTION",
    "ACTION",
    "ADMIN_ENTRY",
];

fn conforms(rm_type: &str, class: &str) -> bool {
    rm_type == class
        || (class == "ENTRY" && ENTRIES.contains(&rm_type))
        || (class == "CARE_ENTRY" && ENTRIES.contains(&rm_type) && rm_type != "ADMIN_ENTRY")
        || (class == "EVENT" && (rm_type == "POINT_EVENT" || rm_type == "INTERVAL_EVENT"))
}

type PathMap = BTreeMap<String, PathInfo>;

struct Catalogue {
    /// (RM type, archetype node id) of bound nodes → the paths below them.
    roots: BTreeMap<(String, String), PathMap>,
    /// The bindable nodes of each latest composition, the composition first.
    documents: Vec<Vec<Node>>,
    ehr_paths: PathMap,
    ehr_ids: Vec<String>,
}

fn is_locatable(object: &Map<String, Value>) -> Option<&str> {
    object.get("archetype_node_id").and_then(Value::as_str)
}

fn segment(key: &str, child: &Value) -> String {
    match child.as_object().and_then(is_locatable) {
        Some(node) => format!("{key}[{node}]"),
        None => key.to_owned(),
    }
}

fn join(prefix: &str, segment: &str) -> String {
    if prefix.is_empty() {
        segment.to_owned()
    } else {
        format!("{prefix}/{segment}")
    }
}

fn remember(
    map: &mut PathMap,
    counts: &mut BTreeMap<String, usize>,
    info: PathInfo,
    value: Option<&Value>,
) {
    *counts.entry(info.path.clone()).or_default() += 1;
    let info = PathInfo {
        compilable: compilable(&info.path, info.kind),
        ..info
    };
    let entry = map.entry(info.path.clone()).or_insert(info);
    if let Some(value) = value
        && entry.values.len() < 12
        && !entry.values.contains(value)
    {
        entry.values.push(value.clone());
    }
}

/// The paths below `value` (an object), relative to the bound node.
fn leaves(
    value: &Value,
    prefix: &str,
    depth: usize,
    map: &mut PathMap,
    counts: &mut BTreeMap<String, usize>,
) {
    let Some(object) = value.as_object() else {
        return;
    };
    let parent_type = object.get("_type").and_then(Value::as_str).unwrap_or("");
    for (key, child) in object {
        if key == "_type" {
            continue;
        }
        let children: Vec<&Value> = match child {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for child in children {
            let path = join(prefix, &segment(key, child));
            match child {
                Value::Object(inner) => {
                    let object_type = inner
                        .get("_type")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    let keep = matches!(
                        object_type.as_deref(),
                        Some("DV_CODED_TEXT" | "CODE_PHRASE" | "DV_DATE_TIME")
                    );
                    remember(
                        map,
                        counts,
                        PathInfo {
                            path: path.clone(),
                            kind: Kind::Object,
                            object_type,
                            values: Vec::new(),
                            multi: false,
                            compilable: false,
                        },
                        keep.then_some(child),
                    );
                    if depth < MAX_DEPTH {
                        leaves(child, &path, depth + 1, map, counts);
                    }
                }
                Value::Array(_) | Value::Null => {}
                primitive => {
                    let kind = match primitive {
                        Value::Number(_) => Kind::Number,
                        Value::Bool(_) => Kind::Bool,
                        _ if key == "value"
                            && matches!(parent_type, "DV_DATE_TIME" | "DV_DATE") =>
                        {
                            Kind::Date
                        }
                        _ if key == "value" && matches!(parent_type, "DV_TIME" | "DV_DURATION") => {
                            Kind::Opaque
                        }
                        _ => Kind::Text,
                    };
                    remember(
                        map,
                        counts,
                        PathInfo {
                            path,
                            kind,
                            object_type: None,
                            values: Vec::new(),
                            multi: false,
                            compilable: false,
                        },
                        Some(primitive),
                    );
                }
            }
        }
    }
}

impl Catalogue {
    fn new(dataset: &Dataset) -> Catalogue {
        let mut catalogue = Catalogue {
            roots: BTreeMap::new(),
            documents: Vec::new(),
            ehr_paths: PathMap::new(),
            ehr_ids: Vec::new(),
        };
        let mut ehr_ids = Vec::new();
        let mut system_ids = Vec::new();
        let mut times = Vec::new();
        for ehr in &dataset.ehrs {
            ehr_ids.push(json!(ehr.ehr_id));
            system_ids.push(json!(ehr.system_id));
            times.push(json!(ehr.time_created));
            catalogue.ehr_ids.push(ehr.ehr_id.clone());
            let mut latest: BTreeMap<&str, &aql::eval::VersionData> = BTreeMap::new();
            for contribution in &ehr.contributions {
                for version in &contribution.versions {
                    latest.insert(&version.object_id, version);
                }
            }
            for version in latest.values() {
                if version.lifecycle_state == aql::eval::LifecycleState::Deleted {
                    continue;
                }
                let mut nodes = Vec::new();
                catalogue.walk(&version.data, None, &mut nodes);
                if version.kind == ObjectKind::Composition {
                    catalogue.documents.push(nodes);
                }
            }
        }
        let fixed = [
            ("ehr_id/value", Kind::Text, ehr_ids),
            ("system_id/value", Kind::Text, system_ids),
            ("time_created/value", Kind::Date, times),
        ];
        for (path, kind, values) in fixed {
            catalogue.ehr_paths.insert(
                path.into(),
                PathInfo {
                    path: path.into(),
                    kind,
                    object_type: None,
                    values: values.into_iter().take(12).collect(),
                    multi: false,
                    compilable: path == "ehr_id/value",
                },
            );
        }
        catalogue.ehr_paths.insert(
            "time_created".into(),
            PathInfo {
                path: "time_created".into(),
                kind: Kind::Object,
                object_type: Some("DV_DATE_TIME".into()),
                values: Vec::new(),
                multi: false,
                compilable: false,
            },
        );
        for (prefix, rm_type) in [("ehr_status", "EHR_STATUS"), ("directory", "FOLDER")] {
            let merged = catalogue.merged(|(key_type, _)| key_type == rm_type);
            for info in merged.into_values() {
                let path = format!("{prefix}/{}", info.path);
                catalogue.ehr_paths.insert(
                    path.clone(),
                    PathInfo {
                        path,
                        compilable: false,
                        ..info
                    },
                );
            }
        }
        catalogue
    }

    fn walk(&mut self, value: &Value, parent: Option<usize>, nodes: &mut Vec<Node>) {
        match value {
            Value::Object(object) => {
                let mut parent = parent;
                let rm_type = object.get("_type").and_then(Value::as_str).unwrap_or("");
                if let Some(node_id) = is_locatable(object)
                    && BINDABLE.contains(&rm_type)
                {
                    nodes.push(Node {
                        rm_type: rm_type.to_owned(),
                        node_id: node_id.to_owned(),
                        name: value["name"]["value"].as_str().map(str::to_owned),
                        parent,
                    });
                    parent = Some(nodes.len() - 1);
                    let map = self
                        .roots
                        .entry((rm_type.to_owned(), node_id.to_owned()))
                        .or_default();
                    let mut counts = BTreeMap::new();
                    leaves(value, "", 0, map, &mut counts);
                    for (path, count) in counts {
                        if count > 1
                            && let Some(info) = map.get_mut(&path)
                        {
                            info.multi = true;
                        }
                    }
                }
                for child in object.values() {
                    self.walk(child, parent, nodes);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(item, parent, nodes);
                }
            }
            _ => {}
        }
    }

    /// The paths of every bound-node kind `keep` accepts, merged.
    fn merged(&self, keep: impl Fn(&(String, String)) -> bool) -> PathMap {
        let mut merged = PathMap::new();
        for (key, paths) in &self.roots {
            if !keep(key) {
                continue;
            }
            for (path, info) in paths {
                match merged.get_mut(path) {
                    Some(existing) => {
                        existing.multi |= info.multi;
                        for value in &info.values {
                            if existing.values.len() < 12 && !existing.values.contains(value) {
                                existing.values.push(value.clone());
                            }
                        }
                    }
                    None => {
                        merged.insert(path.clone(), info.clone());
                    }
                }
            }
        }
        merged
    }

    /// The paths a variable of this class and archetype node id can have.
    fn paths_of(&self, var: &Var) -> Vec<PathInfo> {
        if var.class == "EHR" {
            return self.ehr_paths.values().cloned().collect();
        }
        self.merged(|(rm_type, node_id)| {
            conforms(rm_type, &var.class) && var.node_id.as_ref().is_none_or(|id| id == node_id)
        })
        .into_values()
        .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Queries.

#[derive(Debug, Clone)]
struct Var {
    name: String,
    class: String,
    node_id: Option<String>,
    /// Bound under NOT CONTAINS: may not be used elsewhere.
    usable: bool,
}

#[derive(Debug, Clone)]
struct Column {
    expr: String,
    alias: Option<String>,
    sortable: bool,
}

#[derive(Debug, Clone)]
struct OrderKey {
    /// As written in ORDER BY.
    expr: String,
    /// The selected column it names, if any.
    column: Option<usize>,
    descending: bool,
}

#[derive(Debug, Clone, Default)]
struct Generated {
    distinct: bool,
    columns: Vec<Column>,
    from: String,
    condition: Option<String>,
    order: Vec<OrderKey>,
    limit: Option<(u64, Option<u64>)>,
    parameters: Map<String, Value>,
    rest_offset: Option<u64>,
    rest_fetch: Option<u64>,
    /// A query given as text (`AQL_DIFF_QUERY`), not generated.
    raw: Option<String>,
}

impl Generated {
    /// The query text; `probe` is the query without LIMIT and OFFSET, with each ORDER BY
    /// key that is not a column added as one, so that the oracle shows the sort keys.
    fn render(&self, probe: bool) -> String {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut text = String::from("SELECT ");
        if self.distinct {
            text.push_str("DISTINCT ");
        }
        let mut columns: Vec<String> = self
            .columns
            .iter()
            .map(|column| match &column.alias {
                Some(alias) => format!("{} AS {alias}", column.expr),
                None => column.expr.clone(),
            })
            .collect();
        if probe {
            for (index, key) in self.order.iter().enumerate() {
                if key.column.is_none() {
                    columns.push(format!("{} AS sort_key_{index}", key.expr));
                }
            }
        }
        text.push_str(&columns.join(", "));
        let _ = write!(text, " FROM {}", self.from);
        if let Some(condition) = &self.condition {
            let _ = write!(text, " WHERE {condition}");
        }
        if !self.order.is_empty() {
            let keys: Vec<String> = self
                .order
                .iter()
                .map(|key| {
                    format!(
                        "{}{}",
                        key.expr,
                        if key.descending { " DESC" } else { " ASC" }
                    )
                })
                .collect();
            let _ = write!(text, " ORDER BY {}", keys.join(", "));
        }
        if !probe && let Some((limit, offset)) = self.limit {
            let _ = write!(text, " LIMIT {limit}");
            if let Some(offset) = offset {
                let _ = write!(text, " OFFSET {offset}");
            }
        }
        text
    }

    fn windowed(&self) -> bool {
        self.limit.is_some() || self.rest_offset.is_some() || self.rest_fetch.is_some()
    }
}

fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn number_literal(number: f64, rng: &mut Rng) -> String {
    if number.fract() == 0.0 && number.abs() < 1e12 && rng.percent(50) {
        #[allow(clippy::cast_possible_truncation)]
        let integer = number as i64;
        integer.to_string()
    } else {
        format!("{number:?}")
    }
}

fn like_escape(text: &str) -> String {
    let mut out = String::new();
    for character in text.chars() {
        if matches!(character, '?' | '*' | '\\') {
            out.push('\\');
        }
        out.push(character);
    }
    out
}

struct Generator<'c> {
    catalogue: &'c Catalogue,
    rng: Rng,
    vars: Vec<Var>,
    parameters: Map<String, Value>,
}

impl Generator<'_> {
    fn parameter(&mut self, value: Value) -> String {
        let name = format!("p{}", self.parameters.len());
        self.parameters.insert(name.clone(), value);
        format!("${name}")
    }

    /// A class to bind a node with: its own type or a superclass.
    fn class_of(&mut self, node: &Node) -> String {
        let rm_type = node.rm_type.as_str();
        if self.rng.percent(30) {
            if ENTRIES.contains(&rm_type) {
                return if rm_type != "ADMIN_ENTRY" && self.rng.percent(50) {
                    "CARE_ENTRY".into()
                } else {
                    "ENTRY".into()
                };
            }
            if rm_type == "POINT_EVENT" || rm_type == "INTERVAL_EVENT" {
                return "EVENT".into();
            }
        }
        rm_type.to_owned()
    }

    /// `CLASS name[predicate]` for a node, and its variable.
    fn bind(&mut self, node: &Node, name: &str, usable: bool) -> String {
        let class = self.class_of(node);
        let archetyped = node.node_id.starts_with("openEHR-");
        let with_predicate = self.rng.percent(if archetyped { 80 } else { 55 });
        let mut text = format!("{class} {name}");
        let mut node_id = None;
        if with_predicate {
            node_id = Some(node.node_id.clone());
            match (&node.name, self.rng.below(14)) {
                (Some(node_name), 0) => {
                    let _ = write!(text, "[{}, {}]", node.node_id, string_literal(node_name));
                }
                (_, 1) if archetyped => {
                    let parameter = self.parameter(json!(node.node_id));
                    let _ = write!(text, "[{parameter}]");
                }
                _ => {
                    let _ = write!(text, "[{}]", node.node_id);
                }
            }
        }
        self.vars.push(Var {
            name: name.to_owned(),
            class,
            node_id,
            usable,
        });
        text
    }

    fn ehr(&mut self) -> String {
        self.vars.push(Var {
            name: "e".into(),
            class: "EHR".into(),
            node_id: None,
            usable: true,
        });
        if self.rng.percent(25) {
            let id = if self.rng.percent(5) {
                "f0000000-0000-4000-8000-000000000000".to_owned()
            } else {
                self.rng.pick(&self.catalogue.ehr_ids).clone()
            };
            if self.rng.percent(50) {
                let parameter = self.parameter(json!(id));
                format!("EHR e[ehr_id/value={parameter}]")
            } else {
                format!("EHR e[ehr_id/value={}]", string_literal(&id))
            }
        } else {
            "EHR e".into()
        }
    }

    fn document(&mut self) -> Vec<Node> {
        self.rng.pick(&self.catalogue.documents).clone()
    }

    /// A random node of a document other than its root, most often an archetype root
    /// (what the SQL compiler binds).
    fn inner_node(&mut self, nodes: &[Node]) -> Option<usize> {
        let roots: Vec<usize> = (1..nodes.len())
            .filter(|index| nodes[*index].node_id.starts_with("openEHR-"))
            .collect();
        if !roots.is_empty() && self.rng.percent(85) {
            return Some(*self.rng.pick(&roots));
        }
        (nodes.len() > 1).then(|| 1 + self.rng.below(nodes.len() - 1))
    }

    fn from(&mut self) -> String {
        let strategy = self.rng.below(100);
        let with_ehr = self.rng.percent(55);
        let mut text = String::new();
        if with_ehr {
            text = self.ehr();
        }
        let contains = |text: &mut String, part: String| {
            if text.is_empty() {
                *text = part;
            } else {
                let _ = write!(text, " CONTAINS {part}");
            }
        };
        let nodes = self.document();
        match strategy {
            // A chain down one document: COMPOSITION, maybe a node between, a node.
            0..=39 => {
                let composition = self.bind(&nodes[0], "c", true);
                contains(&mut text, composition);
                if let Some(index) = self.inner_node(&nodes) {
                    let mut chain = vec![index];
                    let mut ancestor = nodes[index].parent;
                    while let Some(up) = ancestor {
                        if up != 0 {
                            chain.push(up);
                        }
                        ancestor = nodes[up].parent;
                    }
                    let mut ancestors = chain[1..].to_vec();
                    if self.rng.percent(85) {
                        ancestors.retain(|index| nodes[*index].node_id.starts_with("openEHR-"));
                    }
                    if !ancestors.is_empty() && self.rng.percent(50) {
                        let between = *self.rng.pick(&ancestors);
                        let part = self.bind(&nodes[between].clone(), "a", true);
                        contains(&mut text, part);
                    }
                    if self.rng.percent(85) {
                        let part = self.bind(&nodes[index].clone(), "x", true);
                        contains(&mut text, part);
                    }
                }
            }
            // One class, alone or under EHR.
            40..=54 => {
                if let Some(index) = self.inner_node(&nodes) {
                    let part = self.bind(&nodes[index].clone(), "x", true);
                    contains(&mut text, part);
                } else {
                    let part = self.bind(&nodes[0], "c", true);
                    contains(&mut text, part);
                }
            }
            // AND, OR, NOT under a composition.
            55..=79 => {
                let composition = self.bind(&nodes[0], "c", true);
                contains(&mut text, composition);
                let other = if self.rng.percent(70) {
                    nodes.clone()
                } else {
                    self.document()
                };
                let (Some(first), Some(second)) =
                    (self.inner_node(&nodes), self.inner_node(&other))
                else {
                    return text;
                };
                let first = nodes[first].clone();
                let second = other[second].clone();
                let part = match self.rng.below(5) {
                    0 | 1 => {
                        let x = self.bind(&first, "x", true);
                        let y = self.bind(&second, "y", true);
                        format!("({x} AND {y})")
                    }
                    2 => {
                        let x = self.bind(&first, "x", true);
                        let y = self.bind(&second, "y", true);
                        format!("({x} OR {y})")
                    }
                    3 => {
                        let x = self.bind(&first, "x", true);
                        let y = self.bind(&second, "y", false);
                        format!("({x} AND NOT {y})")
                    }
                    _ => {
                        let y = self.bind(&second, "y", false);
                        let last = text.rfind(" CONTAINS ").map_or(0, |at| at + 10);
                        let head = text[..last].to_owned();
                        let composition = text[last..].to_owned();
                        return format!("{head}{composition} NOT CONTAINS {y}");
                    }
                };
                contains(&mut text, part);
            }
            // Two compositions of one EHR.
            80..=87 => {
                if text.is_empty() {
                    text = self.ehr();
                }
                let second = self.document();
                let c1 = self.bind(&nodes[0], "c", true);
                let c2 = self.bind(&second[0], "d", true);
                let operator = if self.rng.percent(75) { "AND" } else { "OR" };
                contains(&mut text, format!("({c1} {operator} {c2})"));
            }
            // The EHR, its status or its directory.
            88..=93 => {
                if text.is_empty() {
                    text = self.ehr();
                }
                if self.rng.percent(50) {
                    self.vars.push(Var {
                        name: "s".into(),
                        class: "EHR_STATUS".into(),
                        node_id: None,
                        usable: true,
                    });
                    contains(&mut text, "EHR_STATUS s".into());
                }
            }
            // A composition alone.
            _ => {
                let part = self.bind(&nodes[0], "c", true);
                contains(&mut text, part);
            }
        }
        text
    }

    fn usable(&self) -> Vec<Var> {
        self.vars.iter().filter(|var| var.usable).cloned().collect()
    }

    /// A path of a usable variable that `keep` accepts: `(text, info)`.
    fn path(&mut self, keep: impl Fn(&PathInfo) -> bool) -> Option<(String, PathInfo)> {
        let vars = self.usable();
        for _ in 0..6 {
            let var = self.rng.pick(&vars).clone();
            let mut paths: Vec<PathInfo> = self
                .catalogue
                .paths_of(&var)
                .into_iter()
                .filter(&keep)
                .collect();
            if paths.is_empty() {
                continue;
            }
            if self.rng.percent(80) && paths.iter().any(|info| info.compilable) {
                paths.retain(|info| info.compilable);
            }
            let info = self.rng.pick(&paths).clone();
            return Some((format!("{}/{}", var.name, info.path), info));
        }
        None
    }

    fn literal(&mut self, info: &PathInfo) -> Option<(String, Value)> {
        if info.values.is_empty() {
            return None;
        }
        let value = self.rng.pick(&info.values).clone();
        match info.kind {
            Kind::Number => {
                let mut number = value.as_f64()?;
                if self.rng.percent(40) {
                    number = (number * (0.8 + 0.4 * self.rng.unit())).round();
                }
                let text = number_literal(number, &mut self.rng);
                let json: Value = serde_json::from_str(&text).ok()?;
                Some((text, json))
            }
            Kind::Date => {
                let mut text = value.as_str()?.to_owned();
                if self.rng.percent(25) && text.len() >= 10 {
                    text.truncate(if self.rng.percent(50) { 10 } else { 7 });
                }
                Some((string_literal(&text), json!(text)))
            }
            Kind::Text | Kind::Opaque => {
                let text = value.as_str()?.to_owned();
                Some((string_literal(&text), json!(text)))
            }
            Kind::Bool => {
                let flag = value.as_bool()? ^ self.rng.percent(30);
                Some((flag.to_string(), json!(flag)))
            }
            Kind::Object => {
                let text = value["value"].as_str()?.to_owned();
                Some((string_literal(&text), json!(text)))
            }
        }
    }

    fn operand(&mut self, info: &PathInfo) -> Option<String> {
        let (text, json) = self.literal(info)?;
        Some(if self.rng.percent(30) {
            self.parameter(json)
        } else {
            text
        })
    }

    fn operator(&mut self, kind: Kind) -> &'static str {
        const ALL: &[&str] = &["=", "!=", "<", "<=", ">", ">="];
        match kind {
            Kind::Number | Kind::Date => ALL[self.rng.below(ALL.len())],
            Kind::Text if self.rng.percent(30) => ALL[self.rng.below(ALL.len())],
            _ => {
                if self.rng.percent(75) {
                    "="
                } else {
                    "!="
                }
            }
        }
    }

    fn atom(&mut self) -> Option<String> {
        match self.rng.below(100) {
            0..=44 => {
                let (path, info) =
                    self.path(|info| info.comparable() && !info.values.is_empty())?;
                let kind = if info.kind == Kind::Object {
                    Kind::Date
                } else {
                    info.kind
                };
                let operator = self.operator(kind);
                let operand = self.operand(&info)?;
                Some(format!("{path} {operator} {operand}"))
            }
            45..=57 => {
                let (path, info) =
                    self.path(|info| info.kind == Kind::Text && !info.values.is_empty())?;
                let value = self.rng.pick(&info.values).as_str()?.to_owned();
                let characters: Vec<char> = value.chars().collect();
                let cut = self.rng.below(characters.len() + 1);
                let head: String = characters[..cut].iter().collect();
                let tail: String = characters[cut..].iter().collect();
                let pattern = match self.rng.below(5) {
                    0 => like_escape(&value),
                    1 => format!("{}*", like_escape(&head)),
                    2 => format!("*{}", like_escape(&tail)),
                    3 if !tail.is_empty() => {
                        let rest: String = characters[cut + 1..].iter().collect();
                        format!("{}?{}", like_escape(&head), like_escape(&rest))
                    }
                    _ => format!("*{}*", like_escape(&head[head.len().saturating_sub(3)..])),
                };
                let operand = if self.rng.percent(25) {
                    self.parameter(json!(pattern))
                } else {
                    string_literal(&pattern)
                };
                Some(format!("{path} LIKE {operand}"))
            }
            58..=69 => {
                if self.rng.percent(35) {
                    let (path, info) = self.path(|info| {
                        matches!(
                            info.object_type.as_deref(),
                            Some("DV_CODED_TEXT" | "CODE_PHRASE")
                        ) && !info.values.is_empty()
                    })?;
                    let mut items = Vec::new();
                    for _ in 0..=self.rng.below(2) {
                        let value = self.rng.pick(&info.values).clone();
                        let code = if value["_type"] == "CODE_PHRASE" {
                            value
                        } else {
                            value["defining_code"].clone()
                        };
                        items.push(string_literal(&format!(
                            "{}::{}",
                            code["terminology_id"]["value"].as_str()?,
                            code["code_string"].as_str()?
                        )));
                    }
                    return Some(format!("{path} MATCHES {{{}}}", items.join(", ")));
                }
                let (path, info) = self.path(|info| {
                    matches!(info.kind, Kind::Number | Kind::Text) && !info.values.is_empty()
                })?;
                let mut texts = Vec::new();
                let mut values = Vec::new();
                for _ in 0..=self.rng.below(3) {
                    let (text, json) = self.literal(&info)?;
                    texts.push(text);
                    values.push(json);
                }
                if self.rng.percent(25) {
                    let parameter = self.parameter(Value::Array(values));
                    Some(format!("{path} MATCHES {{{parameter}}}"))
                } else {
                    Some(format!("{path} MATCHES {{{}}}", texts.join(", ")))
                }
            }
            70..=79 => {
                let (path, _) = self.path(|_| true)?;
                Some(format!("EXISTS {path}"))
            }
            80..=89 => {
                let kind = if self.rng.percent(60) {
                    Kind::Number
                } else {
                    Kind::Date
                };
                let (left, _) = self.path(|info| info.kind == kind)?;
                let (right, _) = self.path(|info| info.kind == kind)?;
                let operator = self.operator(kind);
                Some(format!("{left} {operator} {right}"))
            }
            _ => {
                let inner = self.atom()?;
                Some(format!("NOT {inner}"))
            }
        }
    }

    fn condition(&mut self, depth: usize) -> Option<String> {
        if depth == 0 || self.rng.percent(55) {
            return self.atom();
        }
        let left = self.condition(depth - 1)?;
        match self.rng.below(10) {
            0 => Some(format!("NOT ({left})")),
            choice => {
                let right = self.condition(depth - 1)?;
                let operator = match choice {
                    1..=4 => "AND",
                    5..=7 => "OR",
                    _ => "XOR",
                };
                Some(format!("({left} {operator} {right})"))
            }
        }
    }

    /// Makes a query one that must be refused, so that refusals are compared too: an
    /// unknown variable, a parameter not given, a string compared with a number.
    fn spoil(&mut self, generated: &mut Generated) {
        let and = |condition: &Option<String>, extra: String| match condition {
            Some(condition) => format!("({condition}) AND {extra}"),
            None => extra,
        };
        match self.rng.below(3) {
            0 => generated.columns.push(Column {
                expr: "undeclared/name/value".into(),
                alias: None,
                sortable: false,
            }),
            1 => {
                if let Some((path, _)) = self.path(|info| info.kind != Kind::Object) {
                    generated.condition =
                        Some(and(&generated.condition, format!("{path} = $not_given")));
                }
            }
            _ => {
                if let Some((path, _)) =
                    self.path(|info| info.kind == Kind::Number && info.compilable)
                {
                    generated.condition =
                        Some(and(&generated.condition, format!("{path} > 'high'")));
                }
            }
        }
    }

    fn query(&mut self) -> Option<Generated> {
        self.vars.clear();
        self.parameters = Map::new();
        let from = self.from();
        if self.usable().is_empty() {
            return None;
        }
        let mut generated = Generated {
            from,
            ..Generated::default()
        };
        let aggregate = self.rng.percent(20);
        let mut alias_number = 0;
        let mut alias = |rng: &mut Rng| {
            alias_number += 1;
            rng.percent(35).then(|| format!("col{alias_number}"))
        };
        if aggregate {
            for _ in 0..self.rng.below(3) {
                let (path, info) = self.path(|info| info.kind != Kind::Object)?;
                generated.columns.push(Column {
                    expr: path,
                    alias: alias(&mut self.rng),
                    sortable: info.sortable(),
                });
            }
            for _ in 0..=self.rng.below(2) {
                let expr = match self.rng.below(6) {
                    0 => "COUNT(*)".to_owned(),
                    1 => format!("COUNT({})", self.path(|_| true)?.0),
                    2 => format!(
                        "COUNT(DISTINCT {})",
                        self.path(|info| info.kind != Kind::Object)?.0
                    ),
                    3 => format!(
                        "MIN({})",
                        self.path(|info| matches!(
                            info.kind,
                            Kind::Number | Kind::Text | Kind::Date
                        ))?
                        .0
                    ),
                    4 => format!(
                        "MAX({})",
                        self.path(|info| matches!(
                            info.kind,
                            Kind::Number | Kind::Text | Kind::Date
                        ))?
                        .0
                    ),
                    _ => format!(
                        "{}({})",
                        if self.rng.percent(50) { "SUM" } else { "AVG" },
                        self.path(|info| info.kind == Kind::Number)?.0
                    ),
                };
                generated.columns.push(Column {
                    expr,
                    alias: alias(&mut self.rng),
                    sortable: true,
                });
            }
        } else {
            generated.distinct = self.rng.percent(15);
            for _ in 0..=self.rng.below(3) {
                if self.rng.percent(6) {
                    let var = self.rng.pick(&self.usable()).clone();
                    generated.columns.push(Column {
                        expr: var.name.clone(),
                        alias: None,
                        sortable: false,
                    });
                    continue;
                }
                let objects = self.rng.percent(15);
                let (path, info) = self.path(|info| objects || info.kind != Kind::Object)?;
                generated.columns.push(Column {
                    expr: path,
                    alias: alias(&mut self.rng),
                    sortable: info.sortable(),
                });
            }
        }
        if self.rng.percent(65) {
            generated.condition = self.condition(2);
        }
        if self.rng.percent(45) {
            for _ in 0..=self.rng.below(2) {
                let sortable: Vec<usize> = (0..generated.columns.len())
                    .filter(|index| generated.columns[*index].sortable)
                    .collect();
                let descending = self.rng.percent(50);
                if !sortable.is_empty() && (aggregate || generated.distinct || self.rng.percent(60))
                {
                    let index = *self.rng.pick(&sortable);
                    let column = &generated.columns[index];
                    let (expr, index) = match &column.alias {
                        Some(alias) if self.rng.percent(60) => (alias.clone(), index),
                        // An expression sorts by the first column that has it.
                        _ => (
                            column.expr.clone(),
                            generated
                                .columns
                                .iter()
                                .position(|other| other.expr == column.expr)
                                .unwrap_or(index),
                        ),
                    };
                    generated.order.push(OrderKey {
                        expr,
                        column: Some(index),
                        descending,
                    });
                } else if !aggregate && !generated.distinct {
                    let Some((path, _)) = self.path(|info| info.sortable() && !info.multi) else {
                        continue;
                    };
                    generated.order.push(OrderKey {
                        expr: path,
                        column: None,
                        descending,
                    });
                }
            }
        }
        let limit_chance = if generated.order.is_empty() { 10 } else { 35 };
        if self.rng.percent(limit_chance) {
            let limit = 1 + self.rng.below(8) as u64;
            let offset = self.rng.percent(50).then(|| self.rng.below(6) as u64);
            generated.limit = Some((limit, offset));
        }
        if self.rng.percent(12) {
            generated.rest_offset = self.rng.percent(70).then(|| self.rng.below(5) as u64);
            generated.rest_fetch = self.rng.percent(70).then(|| 1 + self.rng.below(8) as u64);
        }
        if self.rng.percent(4) {
            self.spoil(&mut generated);
        }
        generated.parameters = std::mem::take(&mut self.parameters);
        Some(generated)
    }
}

// ---------------------------------------------------------------------------------------
// Answers and their comparison.

#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Rows {
        columns: Vec<String>,
        rows: Vec<Value>,
    },
    Refused(String),
    /// Anything but 200 or 400 (a 500, a 422 for a query too broad).
    Failed(u16, String),
}

impl Answer {
    fn render(&self) -> String {
        match self {
            Answer::Rows { columns, rows } => {
                let mut out = format!("columns {}\n", json!(columns));
                for row in rows.iter().take(12) {
                    let _ = writeln!(out, "  {row}");
                }
                if rows.len() > 12 {
                    let _ = writeln!(out, "  … {} rows in all", rows.len());
                }
                if rows.is_empty() {
                    out.push_str("  (no rows)\n");
                }
                out
            }
            Answer::Refused(code) => format!("refused: {code}\n"),
            Answer::Failed(status, body) => format!("status {status}: {body}\n"),
        }
    }
}

fn oracle(text: &str, parameters: &Map<String, Value>, dataset: &Dataset) -> Answer {
    let query = match aql::parse(text) {
        Ok(query) => query,
        Err(_) => return Answer::Refused("syntax_error".into()),
    };
    let clock = Clock {
        now: "2025-06-01T12:00:00.000+00:00".into(),
    };
    match aql::eval::evaluate_at(&query, parameters, dataset, &clock) {
        Ok(result) => Answer::Rows {
            columns: result
                .columns
                .into_iter()
                .map(|column| column.name)
                .collect(),
            rows: result.rows.into_iter().map(Value::Array).collect(),
        },
        Err(error) => Answer::Refused(error_code(error.kind).into()),
    }
}

fn body_of(generated: &Generated, text: &str) -> Vec<u8> {
    let mut body = json!({"q": text, "query_parameters": generated.parameters});
    if let Some(offset) = generated.rest_offset {
        body["offset"] = json!(offset);
    }
    if let Some(fetch) = generated.rest_fetch {
        body["fetch"] = json!(fetch);
    }
    body.to_string().into_bytes()
}

async fn ask(app: &TestApp, generated: &Generated, text: &str) -> Answer {
    let answer = app
        .post_json(&format!("{BASE}/query/aql"), &body_of(generated, text), &[])
        .await;
    match answer.status.as_u16() {
        200 => {
            let result = answer.json();
            Answer::Rows {
                columns: result["columns"]
                    .as_array()
                    .map(|columns| {
                        columns
                            .iter()
                            .map(|column| column["name"].as_str().unwrap_or_default().to_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
                rows: result["rows"].as_array().cloned().unwrap_or_default(),
            }
        }
        400 => {
            let code = answer.error_code();
            Answer::Refused(code.strip_prefix("aql_").unwrap_or(&code).to_owned())
        }
        status => Answer::Failed(status, answer.text()),
    }
}

/// How the server answers: `sql`, `evaluation` with the compiler's reason, or `refused`.
async fn strategy(app: &TestApp, generated: &Generated, text: &str) -> (String, Option<String>) {
    let answer = app
        .post_json(
            &format!("{BASE}/query/aql?explain=true"),
            &body_of(generated, text),
            &[],
        )
        .await;
    match answer.status.as_u16() {
        200 => {
            let explanation = answer.json();
            (
                explanation["strategy"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_owned(),
                explanation["reason"].as_str().map(str::to_owned),
            )
        }
        _ => ("refused".into(), None),
    }
}

/// A value as comparable text: numbers to 9 significant digits, object keys sorted.
fn canonical(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let ordered: BTreeMap<&String, Value> = map
                    .iter()
                    .map(|(key, value)| (key, sorted(value)))
                    .collect();
                serde_json::to_value(ordered).expect("json")
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(&corpus_case::normalise(value)).to_string()
}

fn multiset(rows: &[Value]) -> Vec<String> {
    let mut texts: Vec<String> = rows.iter().map(canonical).collect();
    texts.sort();
    texts
}

/// The oracle's answer before paging, in order, with the sort keys of each row.
struct Full {
    /// Each row's projection (the query's own columns).
    rows: Vec<String>,
    keys: Vec<String>,
}

fn full_answer(generated: &Generated, dataset: &Dataset) -> Result<Full, String> {
    let Answer::Rows { rows, .. } = oracle(&generated.render(true), &generated.parameters, dataset)
    else {
        return Err("the oracle refuses the probe it answers unpaged".into());
    };
    let width = generated.columns.len();
    let mut extra = width;
    let key_columns: Vec<usize> = generated
        .order
        .iter()
        .map(|key| {
            key.column.unwrap_or_else(|| {
                extra += 1;
                extra - 1
            })
        })
        .collect();
    let mut full = Full {
        rows: Vec::new(),
        keys: Vec::new(),
    };
    for row in rows {
        let items = row.as_array().cloned().unwrap_or_default();
        full.rows.push(canonical(&Value::Array(
            items[..width.min(items.len())].to_vec(),
        )));
        full.keys.push(canonical(&Value::Array(
            key_columns
                .iter()
                .map(|index| items.get(*index).cloned().unwrap_or(Value::Null))
                .collect(),
        )));
    }
    Ok(full)
}

/// Whether `actual` is an answer the query allows, given the oracle's (`expected`, paged)
/// and its unpaged answer. Without ORDER BY rows are a multiset (a paged one a part of the
/// whole); with it, each row must come from the rows tied at its position.
fn rows_agree(
    generated: &Generated,
    expected: &[Value],
    full: Option<&Full>,
    actual: &[Value],
) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!(
            "{} rows instead of {}",
            actual.len(),
            expected.len()
        ));
    }
    let actual_texts: Vec<String> = actual.iter().map(canonical).collect();
    let Some(full) = full else {
        return if multiset(expected) == multiset(actual) {
            Ok(())
        } else {
            Err("different rows".into())
        };
    };
    if generated.order.is_empty() {
        let mut pool: BTreeMap<&str, usize> = BTreeMap::new();
        for row in &full.rows {
            *pool.entry(row).or_default() += 1;
        }
        for row in &actual_texts {
            match pool.get_mut(row.as_str()) {
                Some(count) if *count > 0 => *count -= 1,
                _ => return Err(format!("row {row} is not in the whole answer")),
            }
        }
        return Ok(());
    }
    let start = usize::try_from(
        generated.limit.and_then(|(_, offset)| offset).unwrap_or(0)
            + generated.rest_offset.unwrap_or(0),
    )
    .unwrap_or(usize::MAX);
    if !actual.is_empty() && start.saturating_add(actual.len()) > full.rows.len() {
        return Err("the oracle's paged answer is longer than its whole one".into());
    }
    // Classes of rows tied on every sort key, as (first, end) of each position.
    let mut class = vec![(0, 0); full.rows.len()];
    let mut first = 0;
    for index in 1..=full.rows.len() {
        if index == full.rows.len() || full.keys[index] != full.keys[first] {
            for slot in &mut class[first..index] {
                *slot = (first, index);
            }
            first = index;
        }
    }
    let mut pending: BTreeMap<(usize, usize), Vec<&str>> = BTreeMap::new();
    for (position, row) in actual_texts.iter().enumerate() {
        let (first, end) = class[start + position];
        let tied = &full.rows[first..end];
        if !tied.contains(row) {
            return Err(format!(
                "row {} ({row}) is not among the rows sorted there",
                position + 1
            ));
        }
        pending.entry((first, end)).or_default().push(row);
    }
    for ((first, end), mut rows) in pending {
        if first >= start && end <= start + actual.len() {
            let mut tied: Vec<&str> = full.rows[first..end].iter().map(String::as_str).collect();
            tied.sort_unstable();
            rows.sort_unstable();
            if tied != rows {
                return Err(format!(
                    "rows {}..{} are not the tied rows",
                    first - start + 1,
                    end - start
                ));
            }
        }
    }
    Ok(())
}

fn agree(
    generated: &Generated,
    expected: &Answer,
    full: Option<&Full>,
    actual: &Answer,
) -> Result<(), String> {
    match (expected, actual) {
        (
            Answer::Rows { columns, rows },
            Answer::Rows {
                columns: actual_columns,
                rows: actual_rows,
            },
        ) => {
            if columns != actual_columns {
                return Err("different columns".into());
            }
            rows_agree(generated, rows, full, actual_rows)
        }
        (Answer::Refused(code), Answer::Refused(actual_code)) if code == actual_code => Ok(()),
        _ => Err("different outcome".into()),
    }
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differential() {
    let started = Instant::now();
    let seed = env_number("AQL_DIFF_SEED").unwrap_or(DEFAULT_SEED);
    let count = env_number("AQL_DIFF_COUNT")
        .and_then(|count| usize::try_from(count).ok())
        .unwrap_or(DEFAULT_COUNT);
    eprintln!("aql differential: seed {seed:#x} (AQL_DIFF_SEED), {count} queries (AQL_DIFF_COUNT)");
    let mut rng = Rng(seed);
    let dataset = generated_dataset(&mut rng);
    let catalogue = Catalogue::new(&dataset);
    let Some(sqlite) = TestApp::new(Backend::Sqlite).await else {
        return;
    };
    let postgres = TestApp::new(Backend::Postgres).await;
    if postgres.is_none() {
        eprintln!("aql differential: PostgreSQL SKIPPED (KITH_TEST_DATABASE_URL is not set)");
    }
    let mut backends: Vec<(&str, TestApp)> = vec![("sqlite", sqlite)];
    if let Some(postgres) = postgres {
        backends.push(("postgres", postgres));
    }
    for (_, app) in &backends {
        corpus_load::load(app, &dataset).await;
    }
    let loaded = started.elapsed();

    let mut generator = Generator {
        catalogue: &catalogue,
        rng: Rng(seed ^ 0x5151_5151),
        vars: Vec::new(),
        parameters: Map::new(),
    };
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut replaced = 0;
    let mut with_rows = 0;
    let mut refused = 0;
    let mut strategies: BTreeMap<String, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    // AQL_DIFF_QUERY (with AQL_DIFF_PARAMETERS, a JSON object) runs one query instead, on the
    // same data, to minimise a mismatch; its rows are compared as multisets.
    let single = std::env::var("AQL_DIFF_QUERY").ok().map(|text| Generated {
        raw: Some(text),
        parameters: std::env::var("AQL_DIFF_PARAMETERS")
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default(),
        ..Generated::default()
    });
    let count = if single.is_some() { 1 } else { count };
    while ran < count {
        let Some(generated) = single.clone().or_else(|| generator.query()) else {
            replaced += 1;
            continue;
        };
        let text = generated.render(false);
        let mut expected = oracle(&text, &generated.parameters, &dataset);
        let full = if generated.windowed() || !generated.order.is_empty() {
            match full_answer(&generated, &dataset) {
                Ok(full) => Some(full),
                Err(reason) => {
                    if matches!(expected, Answer::Rows { .. }) {
                        failures.push(format!("#{ran} on the oracle: {reason}\n{text}\n"));
                    }
                    None
                }
            }
        } else {
            None
        };
        if let Answer::Rows { rows, .. } = &mut expected {
            let whole = full.as_ref().map_or(rows.len(), |full| full.rows.len());
            if whole > MAX_ROWS {
                replaced += 1;
                continue;
            }
            let offset = usize::try_from(generated.rest_offset.unwrap_or(0)).unwrap_or(0);
            let fetch = generated.rest_fetch.map_or(usize::MAX, |fetch| {
                usize::try_from(fetch).unwrap_or(usize::MAX)
            });
            *rows = rows.iter().skip(offset).take(fetch).cloned().collect();
            if !rows.is_empty() {
                with_rows += 1;
            }
        } else {
            refused += 1;
        }
        ran += 1;
        for (name, app) in &backends {
            let actual = ask(app, &generated, &text).await;
            let (strategy, reason) = strategy(app, &generated, &text).await;
            if generated.raw.is_some() {
                eprintln!(
                    "--- oracle\n{}--- {name} ({strategy})\n{}",
                    expected.render(),
                    actual.render()
                );
            }
            *strategies.entry(format!("{name} {strategy}")).or_default() += 1;
            if let Some(reason) = reason {
                *reasons.entry(format!("{name}: {reason}")).or_default() += 1;
            }
            if let Err(reason) = agree(&generated, &expected, full.as_ref(), &actual) {
                failures.push(format!(
                    "#{ran} on {name} ({strategy}): {reason}\n{text}\nparameters {}{}\n--- oracle\n{}--- {name}\n{}",
                    json!(generated.parameters),
                    match (generated.rest_offset, generated.rest_fetch) {
                        (None, None) => String::new(),
                        (offset, fetch) => format!(", REST offset {offset:?} fetch {fetch:?}"),
                    },
                    expected.render(),
                    actual.render()
                ));
            }
        }
    }
    let distinct_failures: BTreeSet<&str> = failures
        .iter()
        .filter_map(|failure| failure.lines().nth(1))
        .collect();
    eprintln!(
        "aql differential: seed {seed:#x}: {ran} queries ({with_rows} with rows, {refused} refused by the oracle, {replaced} replaced for size) over {} EHRs on {}; {strategies:?}; loaded in {:.1} s, all in {:.1} s; {} mismatches in {} queries",
        dataset.ehrs.len(),
        backends
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(" and "),
        loaded.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        failures.len(),
        distinct_failures.len()
    );
    for (reason, times) in &reasons {
        eprintln!("  evaluated, {times} times: {reason}");
    }
    if single.is_some() {
        eprintln!("{}", failures.join("\n"));
    }
    assert!(
        failures.is_empty(),
        "seed {seed:#x}: {} answers differ from the oracle's:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}
