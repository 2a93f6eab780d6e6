//! FROM: what an EHR offers a query (its latest visible objects, or their versions) and the
//! rows of variable bindings a containment expression makes of it.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::path::{Node, Row};
use super::{
    Context, EhrData, EvalError, EvalErrorKind, EvalResult, LifecycleState, ObjectKind, VersionData,
};
use crate::ast::*;

/// One EHR as queries see it, built once per query.
#[derive(Debug)]
pub(crate) struct EhrView<'d> {
    /// The EHR object: ids, time created, and OBJECT_REFs to its status and directory.
    pub json: Value,
    pub status: Option<&'d Value>,
    pub directory: Option<&'d Value>,
    /// The latest version of every object not deleted, in order of creation.
    pub objects: Vec<&'d Value>,
    /// The same compositions by object id, for the references of a FOLDER.
    compositions: HashMap<&'d str, &'d Value>,
    /// Every version of every object (only when the query has a VERSION or VERSIONED_OBJECT
    /// class).
    pub versions: Vec<VersionView<'d>>,
    /// Every versioned object, deleted ones too (only when `versions` is filled).
    pub versioned: Vec<VersionedView<'d>>,
}

/// A VERSIONED_OBJECT: its identity as the REST API gives it, and where its versions are.
#[derive(Debug)]
pub(crate) struct VersionedView<'d> {
    /// VERSIONED_COMPOSITION, VERSIONED_EHR_STATUS or VERSIONED_FOLDER with `uid`,
    /// `owner_id` and `time_created`.
    pub meta: Value,
    /// Its versions in `EhrView::versions`.
    pub versions: std::ops::Range<usize>,
    /// The latest version's data, unless the object is deleted.
    pub latest: Option<&'d Value>,
}

/// An ORIGINAL_VERSION: its metadata as JSON, its data as stored.
#[derive(Debug)]
pub(crate) struct VersionView<'d> {
    /// ORIGINAL_VERSION without `data`.
    pub meta: Value,
    pub data: &'d Value,
    /// The latest version of an object that is not deleted.
    pub latest_visible: bool,
}

impl<'d> EhrView<'d> {
    pub fn new(ehr: &'d EhrData, with_versions: bool) -> EhrView<'d> {
        // every object's versions, objects in order of creation, versions by number
        let mut order: Vec<&'d str> = Vec::new();
        let mut histories: HashMap<&'d str, Vec<(&'d super::ContributionData, &'d VersionData)>> =
            HashMap::new();
        for contribution in &ehr.contributions {
            for version in &contribution.versions {
                let history = histories.entry(&version.object_id).or_default();
                if history.is_empty() {
                    order.push(&version.object_id);
                }
                history.push((contribution, version));
            }
        }
        let mut view = EhrView {
            json: Value::Null,
            status: None,
            directory: None,
            objects: Vec::new(),
            compositions: HashMap::new(),
            versions: Vec::new(),
            versioned: Vec::new(),
        };
        let mut status_id = None;
        let mut directory_id = None;
        for object_id in order {
            let history = histories
                .get_mut(object_id)
                .expect("every object has a history");
            history.sort_by_key(|(_, version)| version.version);
            let (_, latest) = *history.last().expect("a history has a version");
            let visible = latest.lifecycle_state != LifecycleState::Deleted;
            if visible {
                view.objects.push(&latest.data);
                match latest.kind {
                    ObjectKind::Composition => {
                        view.compositions.insert(object_id, &latest.data);
                    }
                    ObjectKind::EhrStatus => {
                        view.status = Some(&latest.data);
                        status_id = Some(object_id);
                    }
                    ObjectKind::Folder => {
                        view.directory = Some(&latest.data);
                        directory_id = Some(object_id);
                    }
                }
            }
            if with_versions {
                let count = history.len();
                let (first_contribution, _) = history[0];
                let kind = match latest.kind {
                    ObjectKind::Composition => "VERSIONED_COMPOSITION",
                    ObjectKind::EhrStatus => "VERSIONED_EHR_STATUS",
                    ObjectKind::Folder => "VERSIONED_FOLDER",
                };
                view.versioned.push(VersionedView {
                    meta: json!({
                        "_type": kind,
                        "uid": { "_type": "HIER_OBJECT_ID", "value": object_id },
                        "owner_id": {
                            "_type": "OBJECT_REF",
                            "id": { "_type": "HIER_OBJECT_ID", "value": ehr.ehr_id },
                            "namespace": "local",
                            "type": "EHR",
                        },
                        "time_created": {
                            "_type": "DV_DATE_TIME",
                            "value": first_contribution.time_committed,
                        },
                    }),
                    versions: view.versions.len()..view.versions.len() + count,
                    latest: visible.then_some(&latest.data),
                });
                for (index, (contribution, version)) in history.iter().enumerate() {
                    view.versions.push(VersionView {
                        meta: version_meta(ehr, contribution, version),
                        data: &version.data,
                        latest_visible: visible && index + 1 == count,
                    });
                }
            }
        }
        let mut json = json!({
            "_type": "EHR",
            "system_id": { "_type": "HIER_OBJECT_ID", "value": ehr.system_id },
            "ehr_id": { "_type": "HIER_OBJECT_ID", "value": ehr.ehr_id },
            "time_created": { "_type": "DV_DATE_TIME", "value": ehr.time_created },
        });
        if let Some(id) = status_id {
            json["ehr_status"] = object_ref(id, "EHR_STATUS");
        }
        if let Some(id) = directory_id {
            json["directory"] = object_ref(id, "FOLDER");
        }
        view.json = json;
        view
    }
}

fn object_ref(id: &str, ref_type: &str) -> Value {
    json!({
        "_type": "OBJECT_REF",
        "id": { "_type": "HIER_OBJECT_ID", "value": id },
        "namespace": "local",
        "type": ref_type,
    })
}

/// The ORIGINAL_VERSION the REST API returns for a version, without its data.
fn version_meta(
    ehr: &EhrData,
    contribution: &super::ContributionData,
    version: &VersionData,
) -> Value {
    let uid = |number: u32| format!("{}::{}::{number}", version.object_id, ehr.system_id);
    let mut meta = json!({
        "_type": "ORIGINAL_VERSION",
        "uid": { "_type": "OBJECT_VERSION_ID", "value": uid(version.version) },
        "contribution": {
            "_type": "OBJECT_REF",
            "id": { "_type": "HIER_OBJECT_ID", "value": contribution.contribution_id },
            "namespace": "local",
            "type": "CONTRIBUTION",
        },
        "commit_audit": {
            "_type": "AUDIT_DETAILS",
            "system_id": ehr.system_id,
            "time_committed": { "_type": "DV_DATE_TIME", "value": contribution.time_committed },
            "change_type": version.change_type.coded(),
            "committer": contribution.committer,
        },
        "lifecycle_state": version.lifecycle_state.coded(),
    });
    if version.version > 1 {
        meta["preceding_version_uid"] =
            json!({ "_type": "OBJECT_VERSION_ID", "value": uid(version.version - 1) });
    }
    meta
}

/// Whether the query reads versions (a VERSION or VERSIONED_OBJECT class), so that every
/// version, not only the latest, must be at hand.
pub fn mentions_version(expr: &ContainsExpr) -> bool {
    let is_version = |class: &ClassExpr| {
        class.class.name.eq_ignore_ascii_case("VERSION")
            || class.class.name.eq_ignore_ascii_case("VERSIONED_OBJECT")
    };
    match expr {
        ContainsExpr::Class(class) => is_version(class),
        ContainsExpr::Contains { parent, child, .. } => {
            is_version(parent) || mentions_version(child)
        }
        ContainsExpr::And { operands, .. } | ContainsExpr::Or { operands, .. } => {
            operands.iter().any(mentions_version)
        }
        ContainsExpr::Not { operand, .. } => mentions_version(operand),
    }
}

/// Where a class expression looks for objects.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// The top of the FROM clause: the EHR itself and everything in it.
    Ehr,
    /// Strictly inside an object (for an EHR: inside any of its top-level objects).
    Inside(Node<'a>),
}

/// The binding rows of the FROM clause in one EHR, in order of discovery.
pub(crate) fn bind_query<'a>(
    context: &Context<'_>,
    from: &'a ContainsExpr,
    view: &'a EhrView<'a>,
) -> EvalResult<Vec<Row<'a>>> {
    Binder { context, view }.bind(from, Scope::Ehr)
}

struct Binder<'c, 'a> {
    context: &'c Context<'c>,
    view: &'a EhrView<'a>,
}

impl<'a> Binder<'_, 'a> {
    fn bind(&self, expr: &'a ContainsExpr, scope: Scope<'a>) -> EvalResult<Vec<Row<'a>>> {
        match expr {
            ContainsExpr::Class(class) => Ok(self
                .candidates(class, scope)?
                .into_iter()
                .map(|node| self.row_with(class, node))
                .collect()),
            ContainsExpr::Contains {
                parent,
                negated,
                child,
                ..
            } => {
                let mut rows = Vec::new();
                for node in self.candidates(parent, scope)? {
                    let inner = self.bind(child, Scope::Inside(node))?;
                    if *negated {
                        if inner.is_empty() {
                            rows.push(self.row_with(parent, node));
                        }
                    } else {
                        let own = self.row_with(parent, node);
                        rows.extend(inner.into_iter().map(|row| merge(&own, &row)));
                    }
                }
                Ok(rows)
            }
            ContainsExpr::And { operands, .. } => {
                // every combination of the operands' rows: each binds independently
                let mut rows = vec![self.empty_row()];
                for operand in operands {
                    let operand_rows = self.bind(operand, scope)?;
                    rows = rows
                        .iter()
                        .flat_map(|row| operand_rows.iter().map(move |other| merge(row, other)))
                        .collect();
                }
                Ok(rows)
            }
            ContainsExpr::Or { operands, .. } => {
                let mut rows = Vec::new();
                for operand in operands {
                    rows.extend(self.bind(operand, scope)?);
                }
                Ok(rows)
            }
            ContainsExpr::Not { operand, .. } => Ok(if self.bind(operand, scope)?.is_empty() {
                vec![self.empty_row()]
            } else {
                Vec::new()
            }),
        }
    }

    fn empty_row(&self) -> Row<'a> {
        vec![None; self.context.variables.len()]
    }

    fn row_with(&self, class: &ClassExpr, node: Node<'a>) -> Row<'a> {
        let mut row = self.empty_row();
        if let Some(variable) = &class.variable
            && let Some(slot) = self.context.variables.slot(&variable.name)
        {
            row[slot] = Some(node);
        }
        row
    }

    /// The objects a class expression binds in a scope: of its class (or a subclass), kept
    /// by its predicate.
    fn candidates(&self, class: &'a ClassExpr, scope: Scope<'a>) -> EvalResult<Vec<Node<'a>>> {
        let name = class.class.name.to_ascii_uppercase();
        let in_ehr = matches!(scope, Scope::Ehr | Scope::Inside(Node::Ehr(_)));
        let nodes: Vec<Node<'a>> = match name.as_str() {
            "EHR" => match scope {
                Scope::Ehr => vec![Node::Ehr(self.view)],
                Scope::Inside(_) => Vec::new(),
            },
            "VERSION" if in_ehr => {
                let all = class.predicate.as_ref().is_some_and(wants_all_versions);
                self.view
                    .versions
                    .iter()
                    .filter(|version| all || version.latest_visible)
                    .map(Node::Version)
                    .collect()
            }
            // The versions of one object: all of them with ALL_VERSIONS, else the latest
            // (none when it is deleted).
            "VERSION" => match scope {
                Scope::Inside(Node::VersionedObject(versioned)) => {
                    let all = class.predicate.as_ref().is_some_and(wants_all_versions);
                    self.view.versions[versioned.versions.clone()]
                        .iter()
                        .filter(|version| all || version.latest_visible)
                        .map(Node::Version)
                        .collect()
                }
                _ => Vec::new(),
            },
            "VERSIONED_OBJECT" if in_ehr => self
                .view
                .versioned
                .iter()
                .map(Node::VersionedObject)
                .collect(),
            "VERSIONED_OBJECT" => Vec::new(),
            _ => {
                let class_id = openehr_rm::model::class_id(&name).ok_or_else(|| {
                    EvalError::new(
                        EvalErrorKind::UnknownClass,
                        class.class.span,
                        format!("unknown class {}", class.class.name),
                    )
                })?;
                // compositions and EHR statuses are never inside another object, so the
                // top of an EHR need not be searched for them
                let top_level_only = name == "COMPOSITION" || name == "EHR_STATUS";
                let contents = match scope {
                    Scope::Ehr | Scope::Inside(Node::Ehr(_)) if top_level_only => {
                        self.view.objects.clone()
                    }
                    _ => self.contents(scope),
                };
                contents
                    .into_iter()
                    .filter(|value| {
                        value
                            .get("_type")
                            .and_then(Value::as_str)
                            .and_then(openehr_rm::model::class_id)
                            .is_some_and(|own| openehr_rm::model::conforms(own, class_id))
                    })
                    .map(Node::Json)
                    .collect()
            }
        };
        let Some(predicate) = &class.predicate else {
            return Ok(nodes);
        };
        let mut kept = Vec::new();
        for node in nodes {
            if self.context.predicate_holds(node, predicate)? {
                kept.push(node);
            }
        }
        Ok(kept)
    }

    /// The LOCATABLE objects of a scope, in document order.
    fn contents(&self, scope: Scope<'a>) -> Vec<&'a Value> {
        let mut found = Vec::new();
        match scope {
            Scope::Ehr | Scope::Inside(Node::Ehr(_)) => {
                for object in &self.view.objects {
                    found.push(*object);
                    locatables_below(object, &mut found);
                }
            }
            Scope::Inside(Node::Version(version)) => {
                found.push(version.data);
                locatables_below(version.data, &mut found);
            }
            // Inside a versioned object: its latest version's data.
            Scope::Inside(Node::VersionedObject(versioned)) => {
                if let Some(data) = versioned.latest {
                    found.push(data);
                    locatables_below(data, &mut found);
                }
            }
            Scope::Inside(Node::Json(value)) => {
                locatables_below(value, &mut found);
                // a FOLDER contains the compositions its items refer to (and their content)
                let folders: Vec<&Value> = std::iter::once(value)
                    .chain(found.iter().copied())
                    .filter(|object| object.get("_type").and_then(Value::as_str) == Some("FOLDER"))
                    .collect();
                for folder in folders {
                    for item in folder
                        .get("items")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let referenced = item
                            .pointer("/id/value")
                            .and_then(Value::as_str)
                            .map(|id| id.split("::").next().unwrap_or(id))
                            .and_then(|id| self.view.compositions.get(id));
                        if let Some(composition) = referenced {
                            found.push(composition);
                            locatables_below(composition, &mut found);
                        }
                    }
                }
            }
        }
        found
    }
}

/// Whether a VERSION predicate asks for every version rather than the latest.
fn wants_all_versions(predicate: &Predicate) -> bool {
    match predicate {
        Predicate::AllVersions(_) => true,
        Predicate::And { operands, .. } => operands.iter().any(wants_all_versions),
        _ => false,
    }
}

/// Every LOCATABLE (an object with an `archetype_node_id`) strictly below `value`.
fn locatables_below<'d>(value: &'d Value, found: &mut Vec<&'d Value>) {
    let children: Box<dyn Iterator<Item = &'d Value>> = match value {
        Value::Object(map) => Box::new(map.values()),
        Value::Array(items) => Box::new(items.iter()),
        _ => return,
    };
    for child in children {
        if child.get("archetype_node_id").is_some() && child.get("_type").is_some() {
            found.push(child);
        }
        locatables_below(child, found);
    }
}

/// Two partial rows as one; the FROM clause binds each variable on one side only.
fn merge<'a>(left: &Row<'a>, right: &Row<'a>) -> Row<'a> {
    left.iter()
        .zip(right)
        .map(|(left, right)| left.or(*right))
        .collect()
}
