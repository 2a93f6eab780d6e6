//! Access control and auditing at the HTTP edge. Every request that touches a person's
//! data is decided by `access::policy::decide` (with the caller, their purpose, the person's
//! relationships and consent directives) and leaves exactly one audit event, whether it was
//! allowed or refused.
//!
//! - [`audit_requests`] wraps every authenticated route: it gives the request an
//!   [`AuditSlot`], runs the handler, and, when a decision was noted in the slot, appends
//!   the event to the trail before the answer leaves (no answer without its record; if the
//!   trail cannot be written the client gets a 503 instead).
//! - [`guard_ehr_routes`] decides every `/ehr/{ehr_id}/...` route of the openEHR API before
//!   its handler runs, so a route added there later is guarded without anyone remembering.
//! - [`Guard`] is the extractor handlers of other routes (people, consents, the access log)
//!   use to decide about one person.
//!
//! The rule on refusals: a caller who may not see a record gets exactly the answer they
//! would get if it did not exist (the same status, code and message), so a refusal reveals
//! nothing about the record's existence. Administrators get the real answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use access::policy::{
    AccessRequest, Action, Decision, OrganisationRef, PersonFacts, Principal, Resource,
};
use access::{AuditDecision, AuditEvent, NhsNumber, Purpose, Role};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use store::PersonRecord;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::client;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// What a request did to a person's data, noted by the guard for the audit event.
#[derive(Debug, Clone)]
pub struct AuditNote {
    pub person_id: Option<Uuid>,
    pub allowed: bool,
    pub reason: String,
    /// The break-glass reason, when the access was allowed only by breaking glass.
    pub break_glass: Option<String>,
    /// A name for what was done (`read`, `create`, `update`, `delete`, `query`, ...).
    pub action: String,
    /// Records (EHRs) the event concerns besides the person's: the other record of a
    /// merge. A query's rows are added by [`AuditSlot::showed_records`].
    pub records: Vec<Uuid>,
}

/// The request's place for its audit note; the first refusal, or else the last decision,
/// is what the event records. A request that writes has its event appended before the write
/// ([`AuditSlot::record_now`]), so no write is ever unaudited; later notes of that request
/// are then not recorded again.
#[derive(Clone, Default)]
pub struct AuditSlot(Arc<Mutex<Slot>>);

#[derive(Default)]
struct Slot {
    note: Option<AuditNote>,
    /// What the event says besides the note (set by [`audit_requests`]).
    context: Option<EventContext>,
    /// Records the answer showed besides the person's (see [`AuditSlot::showed_records`]).
    records: Vec<Uuid>,
    recorded: bool,
}

/// The request's side of its audit event.
#[derive(Clone)]
struct EventContext {
    caller: Caller,
    object: String,
    request_id: String,
    client_address: Option<String>,
}

impl AuditSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn note(&self, note: AuditNote) {
        let mut slot = self.lock();
        if slot.recorded {
            return;
        }
        match &slot.note {
            Some(existing) if !existing.allowed => {}
            _ => slot.note = Some(note),
        }
    }

    /// Names the records (EHRs) whose data the answer shows besides the person's: a query's
    /// rows. The event lists them, and each of those people finds it in their access log.
    pub fn showed_records(&self, records: impl IntoIterator<Item = Uuid>) {
        self.lock().records.extend(records);
    }

    /// Appends the event of the note so far now, before the request writes anything: a
    /// write the trail cannot record does not happen (503).
    pub async fn record_now(&self, state: &AppState) -> ApiResult<()> {
        let (note, context) = {
            let mut slot = self.lock();
            if slot.recorded {
                return Ok(());
            }
            let (Some(mut note), Some(context)) = (slot.note.take(), slot.context.clone()) else {
                return Ok(());
            };
            note.records.append(&mut slot.records);
            slot.recorded = true;
            (note, context)
        };
        append(state, note, context).await
    }

    fn take(&self) -> Option<(AuditNote, EventContext)> {
        let mut slot = self.lock();
        if slot.recorded {
            return None;
        }
        let mut note = slot.note.take()?;
        note.records.append(&mut slot.records);
        slot.context.clone().map(|context| (note, context))
    }
}

/// Appends one request's event.
async fn append(state: &AppState, note: AuditNote, context: EventContext) -> ApiResult<()> {
    let mut records = note.records;
    records.sort_unstable();
    records.dedup();
    let caller = &context.caller;
    let event = AuditEvent {
        time: OffsetDateTime::now_utc(),
        user: caller.user.clone(),
        role: Some(caller.role),
        organisation: caller.organisation.clone(),
        purpose: Some(purpose_of(caller)),
        action: note.action,
        object: context.object,
        person: note.person_id.map(|id| id.to_string()),
        decision: if note.allowed {
            AuditDecision::Allow
        } else {
            AuditDecision::Deny
        },
        reason: note.reason,
        break_glass: note.break_glass,
        request_id: context.request_id,
        client_address: context.client_address,
        records: records.iter().map(Uuid::to_string).collect(),
    };
    state
        .audit
        .record(event, note.person_id, records)
        .await
        .map(|_| ())
        .map_err(|error| {
            tracing::error!(%error, "an access could not be audited; its answer is withheld");
            ApiError::new(
                ErrorCode::ServiceUnavailable,
                "the audit trail cannot be written just now; try again",
            )
        })
}

/// The audit action a request's method stands for.
fn action_name(method: &Method) -> &'static str {
    match *method {
        Method::GET | Method::HEAD => "read",
        Method::POST => "create",
        Method::PUT | Method::PATCH => "update",
        Method::DELETE => "delete",
        _ => "other",
    }
}

/// The purpose of a request: the caller's, else the usual one for their role.
pub fn purpose_of(caller: &Caller) -> Purpose {
    caller.purpose.unwrap_or(match caller.role {
        Role::Patient | Role::Proxy => Purpose::OwnAccess,
        _ => Purpose::DirectCare,
    })
}

/// The caller as the policy sees them. An organisation's type comes from the credentials,
/// else from the registered organisation; a caller whose organisation is unknown acts for
/// no organisation (so no relationship of an organisation can match them).
pub async fn principal_of(state: &AppState, caller: &Caller) -> ApiResult<Principal> {
    // The registered organisation's type, where it is registered (the registry is under
    // this node's administrators' control); else the credentials'; else unknown, and the
    // caller still matches relationships and directives naming the organisation's code.
    let organisation = match &caller.organisation {
        None => None,
        Some(code) => {
            let registered = state.organisation_type(code).await?;
            Some(OrganisationRef {
                code: code.clone(),
                kind: registered.or(caller.organisation_type),
            })
        }
    };
    Ok(Principal {
        user: caller.user.clone(),
        role: caller.role,
        organisation,
        nhs_number: caller
            .nhs_number
            .as_deref()
            .and_then(|number| NhsNumber::parse(number).ok()),
    })
}

/// What the policy needs to know about a record's person, from what the store keeps.
pub fn facts_from(record: &store::RecordFacts) -> PersonFacts {
    let Some(person) = &record.person else {
        return PersonFacts::default();
    };
    let nhs_number = person
        .identifiers
        .iter()
        .find(|(system, _)| system == access::NHS_NUMBER_NAMESPACE)
        .and_then(|(_, value)| NhsNumber::parse(value).ok());
    PersonFacts {
        nhs_number,
        relationships: record
            .relationships
            .iter()
            .filter_map(crate::api::relationships::relationship_of)
            .collect(),
        directives: record
            .consents
            .iter()
            .filter_map(crate::api::consents::directive_of)
            .collect(),
    }
}

/// Decides a request about the person whose EHR is `ehr_id` (who may be unregistered, or
/// the EHR may not exist: then only administrators go ahead, and the handler answers).
pub async fn decide_for_ehr(
    state: &AppState,
    caller: &Caller,
    ehr_id: Uuid,
    action: Action,
    resource: Resource,
) -> ApiResult<(Option<PersonRecord>, Decision)> {
    // Administrators are allowed whatever the facts (rule 1): only the person is read, for
    // the audit event.
    let record = if caller.role == Role::Administrator {
        store::RecordFacts {
            person: state.store.person_by_ehr(ehr_id).await?,
            ..store::RecordFacts::default()
        }
    } else {
        state.store.record_facts(ehr_id).await?
    };
    let decision = decide_with(state, caller, &facts_from(&record), action, resource).await?;
    Ok((record.person, decision))
}

/// Decides a request about `person`.
pub async fn decide(
    state: &AppState,
    caller: &Caller,
    person: Option<&PersonRecord>,
    action: Action,
    resource: Resource,
) -> ApiResult<Decision> {
    // Administrators are allowed whatever the facts (rule 1), so they are not read.
    let facts = match person {
        Some(person) if caller.role != Role::Administrator => {
            let record = state.store.record_facts(person.ehr_id).await?;
            facts_from(&store::RecordFacts {
                person: Some(person.clone()),
                ..record
            })
        }
        _ => PersonFacts::default(),
    };
    decide_with(state, caller, &facts, action, resource).await
}

/// Decides a request with the facts already read.
async fn decide_with(
    state: &AppState,
    caller: &Caller,
    facts: &PersonFacts,
    action: Action,
    resource: Resource,
) -> ApiResult<Decision> {
    let request = AccessRequest {
        principal: principal_of(state, caller).await?,
        purpose: purpose_of(caller),
        action,
        resource,
        break_glass: caller.break_glass.clone(),
    };
    Ok(access::policy::decide(
        &request,
        facts,
        &state.categories,
        OffsetDateTime::now_utc(),
    ))
}

/// What rows of the query tables a caller's AQL may read: every EHR for administrators;
/// for secondary use, every EHR but those the policy closes to the caller; otherwise the
/// EHRs the policy lets the caller read, among those in their reach (relationships and
/// permits naming them, or, for the person, their own). Each candidate is decided by the
/// same function as every other read.
///
/// Data categories: in a record the caller may read, the compositions of a category the
/// caller may not read there (a sensitive one without a permit naming it, or one a directive
/// denies) are withheld inside the statement ([`aql::sql::Withheld`]): they bind no variable
/// and no `NOT CONTAINS` sees them, so no row, count or aggregate reflects them, while the
/// rest of the record stays in the query. Which records a category is withheld from is
/// decided from the registry alone (not from which records hold such data), so that:
///
/// A population filter (a query naming no record) depends only on the caller, the purpose,
/// the registry and the time. It is kept per caller and reused while the registry's
/// generation ([`store::Registry::registry_generation`]) stays the same, until the first
/// start or end of a period among the facts decided, and for at most a minute (a
/// relationship that starts later, unseen until then, widens the caller's reach within a
/// minute; everything that narrows it takes effect at once).
pub async fn row_filter(
    state: &AppState,
    caller: &Caller,
    named: Option<&[Uuid]>,
) -> ApiResult<aql::sql::RowFilter> {
    use aql::sql::RowFilter;
    if caller.role == Role::Administrator {
        return Ok(RowFilter::all());
    }
    // A query never breaks glass: emergency access is to one person's record, read directly.
    let caller = &Caller {
        break_glass: None,
        ..caller.clone()
    };
    let purpose = purpose_of(caller);
    let principal = principal_of(state, caller).await?;
    if named.is_some() {
        return Ok(decide_filter(state, caller, &principal, purpose, named)
            .await?
            .0);
    }
    let key = format!("{principal:?} {purpose:?}");
    // Read before the facts: a change after this read makes the next query recompute.
    let generation = state.store.registry_generation().await?;
    if let Some(filter) = state.row_filters.get(&key, generation) {
        return Ok(filter);
    }
    let (filter, boundary) = decide_filter(state, caller, &principal, purpose, None).await?;
    state
        .row_filters
        .put(key, generation, boundary, filter.clone());
    Ok(filter)
}

/// [`row_filter`] computed: the filter, and the first instant after now at which one of the
/// decided facts' periods starts or ends (the decisions may change then).
async fn decide_filter(
    state: &AppState,
    caller: &Caller,
    principal: &Principal,
    purpose: Purpose,
    named: Option<&[Uuid]>,
) -> ApiResult<(aql::sql::RowFilter, Option<OffsetDateTime>)> {
    use aql::sql::{EhrSet, RowFilter, Scope, Withheld};
    let now = OffsetDateTime::now_utc();
    let decide_with = |facts: &PersonFacts, categories: Vec<String>| {
        access::policy::decide(
            &AccessRequest {
                principal: principal.clone(),
                purpose,
                action: Action::Read,
                resource: Resource::Record { categories },
                break_glass: None,
            },
            facts,
            &state.categories,
            now,
        )
    };
    let mut secondary = matches!(purpose, Purpose::Research | Purpose::PopulationHealth);
    if secondary && !decide_with(&PersonFacts::default(), Vec::new()).allowed {
        // A role that may not use records for secondary use sees nothing at all.
        return Ok((RowFilter::ehrs(Vec::new()), None));
    }
    let candidates = if let Some(named) = named {
        // The query names its records: decide those, and keep the allowed (whatever the
        // purpose).
        secondary = false;
        let mut named = named.to_vec();
        named.sort();
        named.dedup();
        named
    } else if secondary {
        // Records without directives get the default decision.
        state.store.ehrs_with_rules().await?
    } else if caller.role == Role::Patient {
        let own = match principal.nhs_number {
            Some(number) => {
                state
                    .store
                    .person_by_identifier(access::NHS_NUMBER_NAMESPACE, &number.to_string())
                    .await?
            }
            None => None,
        };
        own.map(|person| vec![person.ehr_id]).unwrap_or_default()
    } else {
        state
            .store
            .ehrs_in_reach(caller.organisation.as_deref(), &caller.user)
            .await?
    };
    // The categories that have members: per category, the decided records where the caller
    // may read it and those where they may not.
    struct Category {
        name: String,
        templates: Vec<String>,
        archetypes: Vec<String>,
        allowed: Vec<[u8; 16]>,
        refused: Vec<[u8; 16]>,
    }
    let mut categories: Vec<Category> = state
        .categories
        .iter()
        .filter(|(_, category)| !category.templates.is_empty() || !category.archetypes.is_empty())
        .map(|(name, category)| Category {
            name: name.to_owned(),
            templates: category.templates.iter().cloned().collect(),
            archetypes: category.archetypes.iter().cloned().collect(),
            allowed: Vec::new(),
            refused: Vec::new(),
        })
        .collect();
    let mut decided = Vec::with_capacity(candidates.len());
    let mut boundary: Option<OffsetDateTime> = None;
    // The candidates' facts in batches: a read per batch, not per record.
    for batch in candidates.chunks(FACTS_BATCH) {
        let facts = state.store.records_facts(batch).await?;
        for (ehr_id, record) in batch.iter().zip(&facts) {
            let facts = facts_from(record);
            for instant in period_boundaries(&facts) {
                if instant > now && boundary.is_none_or(|known| instant < known) {
                    boundary = Some(instant);
                }
            }
            let allowed = decide_with(&facts, Vec::new()).allowed;
            // Secondary use keeps the refused ones (to leave out); direct care the allowed.
            if allowed != secondary {
                decided.push(*ehr_id.as_bytes());
            }
            if !allowed {
                continue;
            }
            for category in &mut categories {
                if decide_with(&facts, vec![category.name.clone()]).allowed {
                    category.allowed.push(*ehr_id.as_bytes());
                } else {
                    category.refused.push(*ehr_id.as_bytes());
                }
            }
        }
    }
    let withheld = categories
        .into_iter()
        .filter_map(|mut category| {
            category.allowed.sort_unstable();
            category.refused.sort_unstable();
            let ehrs = if secondary {
                // Every record not decided here gets the default decision.
                if decide_with(&PersonFacts::default(), vec![category.name.clone()]).allowed {
                    EhrSet::Only(category.refused)
                } else {
                    EhrSet::AllBut(category.allowed)
                }
            } else if category.refused.len() <= category.allowed.len() {
                // Within the records in scope, whichever list is shorter.
                EhrSet::Only(category.refused)
            } else {
                EhrSet::AllBut(category.allowed)
            };
            (!ehrs.is_empty()).then_some(Withheld {
                templates: category.templates,
                archetypes: category.archetypes,
                ehrs,
            })
        })
        .collect();
    let filter = RowFilter {
        scope: if secondary {
            Scope::Except(decided)
        } else {
            Scope::Ehrs(decided)
        },
        withheld,
    };
    Ok((filter, boundary))
}

/// The instants at which the facts' relationships and directives start or end.
fn period_boundaries(facts: &PersonFacts) -> impl Iterator<Item = OffsetDateTime> + '_ {
    let periods = facts
        .relationships
        .iter()
        .map(|relationship| &relationship.period)
        .chain(facts.directives.iter().map(|directive| &directive.period));
    periods.flat_map(|period| [period.start, period.end].into_iter().flatten())
}

/// Population row filters by caller and purpose (see [`row_filter`]).
#[derive(Clone, Default)]
pub struct RowFilters(Arc<Mutex<HashMap<String, CachedFilter>>>);

struct CachedFilter {
    generation: u64,
    expires: OffsetDateTime,
    filter: aql::sql::RowFilter,
}

/// How long a population filter is reused at most.
const ROW_FILTER_TTL: time::Duration = time::Duration::seconds(60);
/// Callers whose filters are kept; beyond that the cache starts again.
const ROW_FILTER_CALLERS: usize = 1024;

impl RowFilters {
    fn get(&self, key: &str, generation: u64) -> Option<aql::sql::RowFilter> {
        let cache = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let cached = cache.get(key)?;
        (cached.generation == generation && OffsetDateTime::now_utc() < cached.expires)
            .then(|| cached.filter.clone())
    }

    fn put(
        &self,
        key: String,
        generation: u64,
        boundary: Option<OffsetDateTime>,
        filter: aql::sql::RowFilter,
    ) {
        let mut expires = OffsetDateTime::now_utc() + ROW_FILTER_TTL;
        if let Some(boundary) = boundary {
            expires = expires.min(boundary);
        }
        let mut cache = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= ROW_FILTER_CALLERS {
            cache.clear();
        }
        cache.insert(
            key,
            CachedFilter {
                generation,
                expires,
                filter,
            },
        );
    }
}

/// Notes a decision in the request's audit slot.
pub fn note(
    slot: &AuditSlot,
    person: Option<&PersonRecord>,
    decision: &Decision,
    action: &str,
    caller: &Caller,
) {
    slot.note(AuditNote {
        person_id: person.map(|person| person.person_id),
        allowed: decision.allowed,
        reason: access::policy::explain(decision),
        break_glass: decision
            .break_glass
            .then(|| caller.break_glass.clone().unwrap_or_default()),
        action: action.to_owned(),
        records: Vec::new(),
    });
}

/// The answer to a caller who may not see an EHR: the one a missing EHR gets.
pub fn ehr_not_visible(ehr_id: Uuid) -> ApiError {
    ApiError::new(
        ErrorCode::EhrNotFound,
        format!("ehr {ehr_id} does not exist"),
    )
}

/// The answer to a caller who may not see a person: the one a missing person gets.
pub fn person_not_visible(person_id: Uuid) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("person {person_id} does not exist"),
    )
}

/// Records whose facts one store read fetches when a query's candidates are decided.
const FACTS_BATCH: usize = 1000;

tokio::task_local! {
    /// Who is reading, while a guarded `/ehr/{ehr_id}/...` request runs: every version read
    /// in it ([`check_categories`]) is decided again with the data's categories.
    static READER: Reader;
}

#[derive(Clone)]
struct Reader {
    caller: Caller,
    slot: AuditSlot,
    person: Option<PersonRecord>,
}

/// The categories of a composition version (by its template and root archetype).
fn categories_of(state: &AppState, version: &store::StoredVersion) -> Vec<String> {
    let Some(template_id) = version.meta.template_id.as_deref() else {
        return Vec::new();
    };
    // The root archetype is in the document; read it only if a category lists archetypes.
    let archetype_id = if state
        .categories
        .iter()
        .any(|(_, category)| !category.archetypes.is_empty())
    {
        serde_json::from_slice::<serde_json::Value>(&version.data)
            .ok()
            .and_then(|value| {
                value
                    .get("archetype_node_id")
                    .and_then(|id| id.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    state
        .categories
        .categories_of(template_id, &archetype_id)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Decides a version about to be answered by its data categories (for a composition in a
/// category; general data was decided with the request). A refusal answers as if the
/// version did not exist: the caller learns nothing of what it holds.
pub async fn check_categories(
    state: &AppState,
    version: &store::StoredVersion,
    not_found: impl FnOnce() -> ApiError,
) -> ApiResult<()> {
    if !categories_in_use(state) {
        return Ok(());
    }
    let Ok(reader) = READER.try_with(Reader::clone) else {
        return Ok(());
    };
    let categories = categories_of(state, version);
    if categories.is_empty() {
        return Ok(());
    }
    let decision = decide(
        state,
        &reader.caller,
        reader.person.as_ref(),
        Action::Read,
        Resource::Record { categories },
    )
    .await?;
    note(
        &reader.slot,
        reader.person.as_ref(),
        &decision,
        "read",
        &reader.caller,
    );
    if decision.allowed {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// Whether any data category has members (else no composition is in a category, and
/// nothing needs deciding twice).
fn categories_in_use(state: &AppState) -> bool {
    state
        .categories
        .iter()
        .any(|(_, category)| !category.templates.is_empty() || !category.archetypes.is_empty())
}

/// [`check_categories`] for the object's versions named by id (its latest, or the given
/// version): for answers about an object that carry no document (its versioned object, its
/// revision history, a contribution listing it), which must not show more than the
/// document would.
pub async fn check_object(
    state: &AppState,
    ehr_id: Uuid,
    object_id: Uuid,
    selector: store::VersionSelector,
    not_found: impl FnOnce() -> ApiError,
) -> ApiResult<()> {
    if !categories_in_use(state) || READER.try_with(|_| ()).is_err() {
        return Ok(());
    }
    match state.store.get_version(ehr_id, object_id, selector).await? {
        Some(version) => check_categories(state, &version, not_found).await,
        None => Ok(()),
    }
}

/// Decides every `/ehr/{ehr_id}/...` request at the level of the whole record before its
/// handler runs: reads need the right to read the record, anything else the right to write.
pub async fn guard_ehr_routes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // The route's own `ehr_id` parameter, percent-decoded as the handler will read it: the
    // decision is about exactly the record the handler serves.
    let (mut parts, body) = request.into_parts();
    let matched = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|matched| matched.as_str().to_owned())
        .unwrap_or_default();
    let raw = match axum::extract::RawPathParams::from_request_parts(&mut parts, &state).await {
        Ok(params) => params
            .iter()
            .find(|(name, _)| *name == "ehr_id")
            .map(|(_, value)| value.to_owned()),
        Err(_) => None,
    };
    let request = Request::from_parts(parts, body);
    let Some(raw) = raw else {
        return next.run(request).await;
    };
    // `PUT /ehr/{ehr_id}` (that route, nothing under it) creates an EHR: its handler
    // allows the roles that register people.
    if request.method() == Method::PUT && matched.ends_with("/ehr/{ehr_id}") {
        return next.run(request).await;
    }
    let Ok(ehr_id) = Uuid::parse_str(&raw) else {
        // The handler would refuse it too; nothing is decided about no record.
        return ApiError::new(ErrorCode::EhrNotFound, format!("ehr {raw} does not exist"))
            .into_response();
    };
    let (Some(caller), Some(slot)) = (
        request.extensions().get::<Caller>().cloned(),
        request.extensions().get::<AuditSlot>().cloned(),
    ) else {
        return ApiError::new(ErrorCode::Unauthorized, "authentication is required")
            .into_response();
    };
    let action = if matches!(*request.method(), Method::GET | Method::HEAD) {
        Action::Read
    } else {
        Action::Write
    };
    let outcome = decide_for_ehr(
        &state,
        &caller,
        ehr_id,
        action,
        Resource::Record {
            categories: Vec::new(),
        },
    )
    .await;
    let (person, decision) = match outcome {
        Ok(decided) => decided,
        Err(error) => return error.into_response(),
    };
    note(
        &slot,
        person.as_ref(),
        &decision,
        action_name(request.method()),
        &caller,
    );
    // A write's event is appended before the write.
    if action == Action::Write
        && let Err(error) = slot.record_now(&state).await
    {
        return error.into_response();
    }
    if !decision.allowed {
        return ehr_not_visible(ehr_id).into_response();
    }
    let reader = Reader {
        caller,
        slot,
        person,
    };
    READER.scope(reader, next.run(request)).await
}

/// Runs the request with an audit slot, and appends its event when a decision was noted.
pub async fn audit_requests(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let slot = AuditSlot::default();
    let request_id = client::request_id(request.headers());
    let client_address = client::client_address(
        request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip()),
        request.headers(),
        &state.config.trusted_proxies,
    );
    if let Some(caller) = request.extensions().get::<Caller>().cloned() {
        slot.lock().context = Some(EventContext {
            caller,
            object: format!("{} {}", request.method(), request.uri().path()),
            request_id: request_id.clone(),
            client_address,
        });
    }
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let Some((note, context)) = slot.take() else {
        return response;
    };
    match append(&state, note, context).await {
        Ok(()) => response,
        Err(error) => error.into_response(),
    }
}

/// The caller and the request's audit slot, for handlers that decide about a person.
pub struct Guard {
    pub caller: Caller,
    pub slot: AuditSlot,
}

impl<S: Send + Sync> FromRequestParts<S> for Guard {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let slot = parts
            .extensions
            .get::<AuditSlot>()
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "authentication is required"))?;
        Ok(Guard { caller, slot })
    }
}

impl Guard {
    /// Refuses (403, audited as a refusal) a caller whose role is not among `roles`: a
    /// refusal by role reveals nothing about any record.
    pub fn require_role(&self, roles: &[Role], what: &str) -> ApiResult<()> {
        let refused = crate::api::require_role(&self.caller, roles, what);
        if let Err(error) = &refused {
            self.slot.note(AuditNote {
                person_id: None,
                allowed: false,
                reason: format!("deny role-not-permitted: {}", error.message),
                break_glass: None,
                action: what.to_owned(),
                records: Vec::new(),
            });
        }
        refused
    }

    /// Decides about `person` and notes it; refused requests get the answer a missing
    /// person gets.
    pub async fn person(
        &self,
        state: &AppState,
        person: &PersonRecord,
        action: Action,
        resource: Resource,
        audit_action: &str,
    ) -> ApiResult<Decision> {
        let decision = decide(state, &self.caller, Some(person), action, resource).await?;
        note(
            &self.slot,
            Some(person),
            &decision,
            audit_action,
            &self.caller,
        );
        // A write's event is appended before the write.
        if matches!(action, Action::Write | Action::ManageConsent) {
            self.slot.record_now(state).await?;
        }
        if !decision.allowed {
            return Err(person_not_visible(person.person_id));
        }
        Ok(decision)
    }
}
