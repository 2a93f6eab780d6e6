//! Consent directives: the person's own rules permitting or denying access to their record,
//! by actor, purpose, data category and period; their JSON shape, validation, and export
//! to (and import from) FHIR R4 Consent.
//!
//! # JSON (the body of `/api/v1/people/{id}/consents`)
//!
//! ```json
//! {
//!   "id": "0b6f4a64-3c2e-4f0e-9f55-1b2c3d4e5f60",
//!   "decision": "deny",
//!   "actors": [
//!     {"kind": "organisation", "code": "A81001"},
//!     {"kind": "organisation-type", "type": "hospice"},
//!     {"kind": "professional", "user": "dr-jones"},
//!     {"kind": "proxy", "user": "son-of-person"},
//!     {"kind": "role", "role": "care-worker"}
//!   ],
//!   "purposes": ["research", "population-health"],
//!   "categories": ["mental-health"],
//!   "period": {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
//!   "status": "active",
//!   "note": "no research use of my mental health record"
//! }
//! ```
//!
//! Only `decision` is required. An empty or absent `actors` means anyone (except the person
//! themself and the administrator, whom directives never bind); an empty `purposes` means
//! any purpose; an empty `categories` means the whole record; an absent `period` means
//! always; `status` defaults to `active`; an absent `id` reads as the nil UUID, for the
//! server to assign. Unknown fields are refused. Codes are those of [`crate::Role`],
//! [`crate::Purpose`] and [`crate::OrganisationType`].
//!
//! # Matching
//!
//! A directive applies to a request when it is active, its period contains the time of the
//! request, one of its actors matches the caller (or it has none), and its purposes include
//! the request's purpose (or it has none). What the policy makes of that is in
//! [`crate::policy`].

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::category::DataCategories;
use crate::fhir::{
    KITH_ACTOR_ORGANISATION_TYPE_EXTENSION, KITH_ACTOR_ROLE_EXTENSION, KITH_CONSENT_NOTE_EXTENSION,
    KITH_DATA_CATEGORY_SYSTEM, KITH_ORGANISATION_TYPE_SYSTEM, KITH_ROLE_SYSTEM, KITH_USER_SYSTEM,
    ODS_ORGANISATION_CODE_SYSTEM, V3_ACT_REASON_SYSTEM, purpose_coding, purpose_from_act_reason,
};
use crate::model::{FieldError, OrganisationType, Period, Purpose, Role, codes};
use crate::nhs::{NHS_NUMBER_NAMESPACE, NhsNumber};
use crate::policy::Principal;

codes! {
    /// Whether a directive lets its actors in or keeps them out.
    ConsentDecision {
        /// Lets the actors in.
        Permit = "permit", "permit";
        /// Keeps the actors out.
        Deny = "deny", "deny";
    }
}

codes! {
    /// Whether a directive is in force. An inactive directive is kept for the record of what
    /// the person decided and when, and never matches.
    DirectiveStatus {
        /// In force.
        Active = "active", "active";
        /// Withdrawn or superseded.
        Inactive = "inactive", "inactive";
    }
}

/// Who a directive is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Actor {
    /// Everyone acting for the organisation with this code.
    Organisation {
        /// The organisation's code (ODS in England).
        code: String,
    },
    /// Everyone acting for an organisation of this type.
    OrganisationType {
        /// The type.
        #[serde(rename = "type")]
        organisation_type: OrganisationType,
    },
    /// A named professional (or system integration), by user id.
    Professional {
        /// The user id.
        user: String,
    },
    /// A named proxy, by user id.
    Proxy {
        /// The user id.
        user: String,
    },
    /// Everyone with this role.
    Role {
        /// The role.
        role: Role,
    },
}

impl Actor {
    /// Whether the caller is this actor.
    pub fn matches(&self, principal: &Principal) -> bool {
        match self {
            Actor::Organisation { code } => principal
                .organisation
                .as_ref()
                .is_some_and(|organisation| &organisation.code == code),
            Actor::OrganisationType { organisation_type } => principal
                .organisation
                .as_ref()
                .is_some_and(|organisation| organisation.kind == Some(*organisation_type)),
            // A proxy and a professional could share a user id space; the role keeps a
            // directive about Dr Smith from binding a relative who happens to share the id.
            Actor::Professional { user } => {
                &principal.user == user && !matches!(principal.role, Role::Proxy | Role::Patient)
            }
            Actor::Proxy { user } => &principal.user == user && principal.role == Role::Proxy,
            Actor::Role { role } => principal.role == *role,
        }
    }
}

/// Notes longer than this are refused: a note is a reminder, not a document.
pub const MAXIMUM_NOTE_CHARACTERS: usize = 2000;

/// A person's directive about access to their record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentDirective {
    /// The directive's id.
    #[serde(default)]
    pub id: Uuid,
    /// Permit or deny.
    pub decision: ConsentDecision,
    /// Who it is about; empty for anyone.
    #[serde(default)]
    pub actors: Vec<Actor>,
    /// For which purposes; empty for any purpose.
    #[serde(default)]
    pub purposes: Vec<Purpose>,
    /// Which data categories; empty for the whole record.
    #[serde(default)]
    pub categories: Vec<String>,
    /// When it is in force.
    #[serde(default)]
    pub period: Period,
    /// Whether it is in force at all.
    #[serde(default = "active")]
    pub status: DirectiveStatus,
    /// The person's own words about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn active() -> DirectiveStatus {
    DirectiveStatus::Active
}

impl ConsentDirective {
    /// Whether the directive applies to this caller and purpose at `now`, whatever the data:
    /// active, in its period, the caller among its actors (or no actors), the purpose among
    /// its purposes (or no purposes).
    pub fn applies_to(&self, principal: &Principal, purpose: Purpose, now: OffsetDateTime) -> bool {
        self.status == DirectiveStatus::Active
            && self.period.contains(now)
            && (self.actors.is_empty() || self.actors.iter().any(|actor| actor.matches(principal)))
            && (self.purposes.is_empty() || self.purposes.contains(&purpose))
    }

    /// Whether the directive covers data in this category, either by naming it or by having
    /// no categories (the whole record).
    pub fn covers_category(&self, category: &str) -> bool {
        self.categories.is_empty() || self.names_category(category)
    }

    /// Whether the directive names this category explicitly (what a sensitive category needs).
    pub fn names_category(&self, category: &str) -> bool {
        self.categories.iter().any(|named| named == category)
    }

    /// The problems of this directive, each at its JSON pointer; empty when valid.
    /// `known_categories` are the categories a directive may name.
    pub fn validate(&self, known_categories: &DataCategories) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut seen_actors = HashSet::new();
        for (index, actor) in self.actors.iter().enumerate() {
            let path = format!("/actors/{index}");
            match actor {
                Actor::Organisation { code } => {
                    check_identifier(&mut errors, format!("{path}/code"), code)
                }
                Actor::Professional { user } | Actor::Proxy { user } => {
                    check_identifier(&mut errors, format!("{path}/user"), user)
                }
                Actor::Role {
                    role: role @ (Role::Administrator | Role::Patient),
                } => errors.push(FieldError::new(
                    format!("{path}/role"),
                    format!(
                        "the {} role is never bound by consent directives",
                        role.code()
                    ),
                )),
                Actor::Role { .. } | Actor::OrganisationType { .. } => {}
            }
            if !seen_actors.insert(actor) {
                errors.push(FieldError::new(path, "this actor is listed twice"));
            }
        }
        let mut seen_purposes = HashSet::new();
        for (index, purpose) in self.purposes.iter().enumerate() {
            if !seen_purposes.insert(purpose) {
                errors.push(FieldError::new(
                    format!("/purposes/{index}"),
                    "this purpose is listed twice",
                ));
            }
        }
        let mut seen_categories = HashSet::new();
        for (index, category) in self.categories.iter().enumerate() {
            let path = format!("/categories/{index}");
            if !known_categories.contains(category) {
                let known: Vec<&str> = known_categories.names().collect();
                errors.push(FieldError::new(
                    path,
                    format!(
                        "unknown data category {category:?} (known: {})",
                        known.join(", ")
                    ),
                ));
            } else if !seen_categories.insert(category) {
                errors.push(FieldError::new(path, "this category is listed twice"));
            }
        }
        if self.decision == ConsentDecision::Permit
            && self.actors.is_empty()
            && self.purposes.is_empty()
        {
            // Such a permit would let every caller in for every reason: almost certainly not
            // what the person meant, and impossible to take back from the copies already read.
            errors.push(FieldError::new(
                "/actors",
                "a permit for anyone must name the purposes it permits",
            ));
        }
        errors.extend(self.period.validate("/period"));
        if let Some(note) = &self.note
            && note.chars().count() > MAXIMUM_NOTE_CHARACTERS
        {
            errors.push(FieldError::new(
                "/note",
                format!("a note has at most {MAXIMUM_NOTE_CHARACTERS} characters"),
            ));
        }
        errors
    }
}

fn check_identifier(errors: &mut Vec<FieldError>, path: String, value: &str) {
    if value.trim().is_empty() || value.trim() != value {
        errors.push(FieldError::new(
            path,
            "must not be empty or have spaces around it",
        ));
    }
}

/// An instant as FHIR writes it (RFC 3339 in UTC).
pub(crate) fn fhir_instant(instant: OffsetDateTime) -> String {
    let utc = instant.to_offset(time::UtcOffset::UTC);
    // Rfc3339 refuses years outside 0..=9999, which no directive or event has; the fallback
    // keeps the export total rather than panicking on a corrupt row.
    utc.format(&Rfc3339).unwrap_or_else(|_| utc.to_string())
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

const V3_ACT_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const PARTICIPATION_TYPE_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

fn fhir_actor(actor: &Actor) -> Value {
    let reference = match actor {
        Actor::Organisation { code } => json!({
            "type": "Organization",
            "identifier": {"system": ODS_ORGANISATION_CODE_SYSTEM, "value": code},
        }),
        Actor::Professional { user } => json!({
            "type": "Practitioner",
            "identifier": {"system": KITH_USER_SYSTEM, "value": user},
        }),
        Actor::Proxy { user } => json!({
            "type": "RelatedPerson",
            "identifier": {"system": KITH_USER_SYSTEM, "value": user},
        }),
        // FHIR has no reference to "every organisation of a type" or "everyone with a role";
        // an extension on the reference carries the code and the display says it in words.
        Actor::OrganisationType { organisation_type } => json!({
            "type": "Organization",
            "display": format!("any {}", organisation_type.label()),
            "extension": [{
                "url": KITH_ACTOR_ORGANISATION_TYPE_EXTENSION,
                "valueCoding": coding(KITH_ORGANISATION_TYPE_SYSTEM, organisation_type.code(), organisation_type.label()),
            }],
        }),
        Actor::Role { role } => json!({
            "type": "PractitionerRole",
            "display": format!("anyone with the role {}", role.label()),
            "extension": [{
                "url": KITH_ACTOR_ROLE_EXTENSION,
                "valueCoding": coding(KITH_ROLE_SYSTEM, role.code(), role.label()),
            }],
        }),
    };
    json!({
        "role": {"coding": [coding(PARTICIPATION_TYPE_SYSTEM, "IRCP", "information recipient")]},
        "reference": reference,
    })
}

/// The directive as a FHIR R4 Consent resource about the person with this NHS number,
/// recorded at `recorded`.
pub fn to_fhir_consent(
    directive: &ConsentDirective,
    patient_nhs_number: &NhsNumber,
    recorded: OffsetDateTime,
) -> Value {
    let mut provision = Map::new();
    provision.insert("type".into(), json!(directive.decision.code()));
    let mut period = Map::new();
    if let Some(start) = directive.period.start {
        period.insert("start".into(), json!(fhir_instant(start)));
    }
    if let Some(end) = directive.period.end {
        period.insert("end".into(), json!(fhir_instant(end)));
    }
    if !period.is_empty() {
        provision.insert("period".into(), Value::Object(period));
    }
    if !directive.actors.is_empty() {
        provision.insert(
            "actor".into(),
            directive.actors.iter().map(fhir_actor).collect(),
        );
    }
    if !directive.purposes.is_empty() {
        provision.insert(
            "purpose".into(),
            directive
                .purposes
                .iter()
                .map(|purpose| purpose_coding(*purpose))
                .collect(),
        );
    }
    if !directive.categories.is_empty() {
        provision.insert(
            "securityLabel".into(),
            directive
                .categories
                .iter()
                .map(|category| coding(KITH_DATA_CATEGORY_SYSTEM, category, category))
                .collect(),
        );
    }
    let (policy_code, policy_display) = match directive.decision {
        ConsentDecision::Permit => ("OPTIN", "opt-in"),
        ConsentDecision::Deny => ("OPTOUT", "opt-out"),
    };
    let mut consent = json!({
        "resourceType": "Consent",
        "id": directive.id.to_string(),
        "status": directive.status.code(),
        "scope": {"coding": [coding("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", "Privacy Consent")]},
        "category": [{"coding": [coding("http://loinc.org", "59284-0", "Patient Consent")]}],
        "patient": {
            "type": "Patient",
            "identifier": {"system": NHS_NUMBER_NAMESPACE, "value": patient_nhs_number.to_string()},
        },
        "dateTime": fhir_instant(recorded),
        "policyRule": {"coding": [coding(V3_ACT_CODE_SYSTEM, policy_code, policy_display)]},
        "provision": Value::Object(provision),
    });
    if let Some(note) = &directive.note {
        consent["extension"] = json!([{"url": KITH_CONSENT_NOTE_EXTENSION, "valueString": note}]);
    }
    consent
}

/// Reads a FHIR R4 Consent of the shape [`to_fhir_consent`] writes back into a directive
/// (the patient and the recorded time are the caller's business). Anything it cannot
/// represent exactly (nested provisions, actions, data references, other code systems) is an
/// error at its JSON pointer rather than a directive that says less than the resource did.
pub fn from_fhir_consent(consent: &Value) -> Result<ConsentDirective, Vec<FieldError>> {
    let mut errors = Vec::new();
    if consent.get("resourceType").and_then(Value::as_str) != Some("Consent") {
        errors.push(FieldError::new("/resourceType", "must be \"Consent\""));
    }
    let id = match consent
        .get("id")
        .map(|id| id.as_str().and_then(|id| Uuid::parse_str(id).ok()))
    {
        None => Uuid::nil(),
        Some(Some(id)) => id,
        Some(None) => {
            errors.push(FieldError::new("/id", "must be a UUID"));
            Uuid::nil()
        }
    };
    let status = match consent.get("status").and_then(Value::as_str) {
        Some("active") => DirectiveStatus::Active,
        Some("inactive") => DirectiveStatus::Inactive,
        _ => {
            errors.push(FieldError::new(
                "/status",
                "must be \"active\" or \"inactive\"",
            ));
            DirectiveStatus::Inactive
        }
    };
    let mut note = None;
    for (index, extension) in array(consent, "extension", "", &mut errors)
        .iter()
        .enumerate()
    {
        match (
            extension.get("url").and_then(Value::as_str),
            extension.get("valueString").and_then(Value::as_str),
        ) {
            (Some(KITH_CONSENT_NOTE_EXTENSION), Some(text)) => note = Some(text.to_owned()),
            _ => errors.push(FieldError::new(
                format!("/extension/{index}"),
                "unsupported extension",
            )),
        }
    }
    let Some(provision) = consent
        .get("provision")
        .filter(|provision| provision.is_object())
    else {
        errors.push(FieldError::new(
            "/provision",
            "a provision with a type is required",
        ));
        return Err(errors);
    };
    for unsupported in ["provision", "action", "data", "dataPeriod", "code", "class"] {
        if provision.get(unsupported).is_some() {
            errors.push(FieldError::new(
                format!("/provision/{unsupported}"),
                "not supported by Kith's consent directives",
            ));
        }
    }
    let decision = match provision.get("type").and_then(Value::as_str) {
        Some("permit") => ConsentDecision::Permit,
        Some("deny") => ConsentDecision::Deny,
        _ => {
            errors.push(FieldError::new(
                "/provision/type",
                "must be \"permit\" or \"deny\"",
            ));
            ConsentDecision::Deny
        }
    };
    let mut period = Period::default();
    if let Some(fhir_period) = provision.get("period") {
        for (name, slot) in [("start", &mut period.start), ("end", &mut period.end)] {
            if let Some(value) = fhir_period.get(name) {
                match value
                    .as_str()
                    .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
                {
                    Some(instant) => *slot = Some(instant),
                    None => errors.push(FieldError::new(
                        format!("/provision/period/{name}"),
                        "must be a date and time with seconds and an offset",
                    )),
                }
            }
        }
    }
    let mut actors = Vec::new();
    for (index, actor) in array(provision, "actor", "/provision", &mut errors)
        .iter()
        .enumerate()
    {
        match actor_from_fhir(&actor["reference"]) {
            Some(parsed) => actors.push(parsed),
            None => errors.push(FieldError::new(
                format!("/provision/actor/{index}/reference"),
                "not an actor Kith can represent (an organisation code, a user, an organisation type or a role)",
            )),
        }
    }
    let mut purposes = Vec::new();
    for (index, purpose) in array(provision, "purpose", "/provision", &mut errors)
        .iter()
        .enumerate()
    {
        let parsed = (purpose.get("system").and_then(Value::as_str) == Some(V3_ACT_REASON_SYSTEM))
            .then(|| {
                purpose
                    .get("code")
                    .and_then(Value::as_str)
                    .and_then(purpose_from_act_reason)
            })
            .flatten();
        match parsed {
            Some(parsed) => purposes.push(parsed),
            None => errors.push(FieldError::new(
                format!("/provision/purpose/{index}"),
                "not a v3-ActReason code Kith knows (TREAT, ETREAT, PATRQT, HRESCH, POPHLTH)",
            )),
        }
    }
    let mut categories = Vec::new();
    for (index, label) in array(provision, "securityLabel", "/provision", &mut errors)
        .iter()
        .enumerate()
    {
        match (
            label.get("system").and_then(Value::as_str),
            label.get("code").and_then(Value::as_str),
        ) {
            (Some(KITH_DATA_CATEGORY_SYSTEM), Some(code)) => categories.push(code.to_owned()),
            _ => errors.push(FieldError::new(
                format!("/provision/securityLabel/{index}"),
                format!("must be a code of {KITH_DATA_CATEGORY_SYSTEM}"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ConsentDirective {
        id,
        decision,
        actors,
        purposes,
        categories,
        period,
        status,
        note,
    })
}

/// The array at `object[name]`, or empty; a non-array is an error at `prefix/name`.
fn array<'a>(
    object: &'a Value,
    name: &str,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> &'a [Value] {
    match object.get(name) {
        None => &[],
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push(FieldError::new(
                format!("{prefix}/{name}"),
                "must be an array",
            ));
            &[]
        }
    }
}

fn actor_from_fhir(reference: &Value) -> Option<Actor> {
    let identifier = &reference["identifier"];
    let identifier_value = || identifier["value"].as_str().map(str::to_owned);
    let reference_type = reference["type"].as_str();
    match (identifier["system"].as_str(), reference_type) {
        (Some(ODS_ORGANISATION_CODE_SYSTEM), Some("Organization")) => {
            return Some(Actor::Organisation {
                code: identifier_value()?,
            });
        }
        (Some(KITH_USER_SYSTEM), Some("Practitioner")) => {
            return Some(Actor::Professional {
                user: identifier_value()?,
            });
        }
        (Some(KITH_USER_SYSTEM), Some("RelatedPerson")) => {
            return Some(Actor::Proxy {
                user: identifier_value()?,
            });
        }
        _ => {}
    }
    let extension = reference["extension"].as_array()?.first()?;
    let code = extension["valueCoding"]["code"].as_str()?;
    match extension["url"].as_str()? {
        KITH_ACTOR_ORGANISATION_TYPE_EXTENSION => Some(Actor::OrganisationType {
            organisation_type: OrganisationType::from_code(code)?,
        }),
        KITH_ACTOR_ROLE_EXTENSION => Some(Actor::Role {
            role: Role::from_code(code)?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::OrganisationRef;
    use time::macros::datetime;

    fn directive(json: Value) -> ConsentDirective {
        serde_json::from_value(json).unwrap()
    }

    fn principal(
        user: &str,
        role: Role,
        organisation: Option<(&str, OrganisationType)>,
    ) -> Principal {
        Principal {
            user: user.into(),
            role,
            organisation: organisation.map(|(code, kind)| OrganisationRef {
                code: code.into(),
                kind: Some(kind),
            }),
            nhs_number: None,
        }
    }

    #[test]
    fn json_shape_round_trips_with_defaults() {
        let full = json!({
            "id": "0b6f4a64-3c2e-4f0e-9f55-1b2c3d4e5f60",
            "decision": "deny",
            "actors": [
                {"kind": "organisation", "code": "A81001"},
                {"kind": "organisation-type", "type": "hospice"},
                {"kind": "professional", "user": "dr-jones"},
                {"kind": "proxy", "user": "son"},
                {"kind": "role", "role": "care-worker"}
            ],
            "purposes": ["research", "population-health"],
            "categories": ["mental-health"],
            "period": {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
            "status": "inactive",
            "note": "no research"
        });
        let parsed = directive(full.clone());
        assert_eq!(serde_json::to_value(&parsed).unwrap(), full);
        let minimal = directive(json!({"decision": "permit"}));
        assert_eq!(minimal.id, Uuid::nil());
        assert_eq!(minimal.status, DirectiveStatus::Active);
        assert!(
            minimal.actors.is_empty()
                && minimal.purposes.is_empty()
                && minimal.categories.is_empty()
        );
        assert_eq!(minimal.period, Period::default());
        for refused in [
            json!({}),
            json!({"decision": "maybe"}),
            json!({"decision": "deny", "purpose": ["research"]}),
            json!({"decision": "deny", "actors": [{"kind": "organisation", "code": "X", "extra": 1}]}),
            json!({"decision": "deny", "actors": [{"kind": "team", "code": "X"}]}),
            json!({"decision": "deny", "actors": [{"kind": "role", "role": "doctor"}]}),
        ] {
            assert!(
                serde_json::from_value::<ConsentDirective>(refused.clone()).is_err(),
                "{refused}"
            );
        }
    }

    #[test]
    fn validation_points_at_each_problem() {
        let categories = DataCategories::default();
        let cases: &[(Value, &[(&str, &str)])] = &[
            (json!({"decision": "deny"}), &[]),
            (
                json!({"decision": "permit", "actors": [{"kind": "organisation-type", "type": "hospice"}]}),
                &[],
            ),
            (
                json!({"decision": "permit"}),
                &[(
                    "/actors",
                    "a permit for anyone must name the purposes it permits",
                )],
            ),
            (
                json!({"decision": "permit", "purposes": ["research"], "categories": ["mental-health"]}),
                &[],
            ),
            (
                json!({"decision": "deny", "actors": [{"kind": "organisation", "code": ""}]}),
                &[(
                    "/actors/0/code",
                    "must not be empty or have spaces around it",
                )],
            ),
            (
                json!({"decision": "deny", "actors": [{"kind": "role", "role": "nurse"}, {"kind": "professional", "user": " x"}]}),
                &[(
                    "/actors/1/user",
                    "must not be empty or have spaces around it",
                )],
            ),
            (
                json!({"decision": "deny", "actors": [{"kind": "proxy", "user": ""}]}),
                &[(
                    "/actors/0/user",
                    "must not be empty or have spaces around it",
                )],
            ),
            (
                json!({"decision": "deny", "actors": [{"kind": "role", "role": "administrator"}]}),
                &[(
                    "/actors/0/role",
                    "the administrator role is never bound by consent directives",
                )],
            ),
            (
                json!({"decision": "deny", "actors": [{"kind": "role", "role": "patient"}]}),
                &[(
                    "/actors/0/role",
                    "the patient role is never bound by consent directives",
                )],
            ),
            (
                json!({"decision": "deny", "actors": [{"kind": "role", "role": "nurse"}, {"kind": "role", "role": "nurse"}]}),
                &[("/actors/1", "this actor is listed twice")],
            ),
            (
                json!({"decision": "deny", "purposes": ["research", "research"]}),
                &[("/purposes/1", "this purpose is listed twice")],
            ),
            (
                json!({"decision": "deny", "categories": ["mental-health", "mental-health"]}),
                &[("/categories/1", "this category is listed twice")],
            ),
            (
                json!({"decision": "deny", "categories": ["safeguarding", "hiv"]}),
                &[(
                    "/categories/1",
                    "unknown data category \"hiv\" (known: mental-health, safeguarding, sexual-health)",
                )],
            ),
            (
                json!({"decision": "deny", "period": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}}),
                &[("/period/end", "the period must end after it starts")],
            ),
            (
                json!({"decision": "deny", "note": "x".repeat(MAXIMUM_NOTE_CHARACTERS + 1)}),
                &[("/note", "a note has at most 2000 characters")],
            ),
            (
                json!({"decision": "deny", "note": "x".repeat(MAXIMUM_NOTE_CHARACTERS)}),
                &[],
            ),
        ];
        for (json, expected) in cases {
            let found: Vec<(String, String)> = directive(json.clone())
                .validate(&categories)
                .into_iter()
                .map(|error| (error.path, error.message))
                .collect();
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(path, message)| ((*path).into(), (*message).into()))
                .collect();
            assert_eq!(found, expected, "{json}");
        }
    }

    #[test]
    fn actors_match_callers() {
        let gp = principal(
            "dr-jones",
            Role::Clinician,
            Some(("A81001", OrganisationType::GpPractice)),
        );
        let proxy = principal("dr-jones", Role::Proxy, None);
        let cases: &[(Value, &Principal, bool)] = &[
            (json!({"kind": "organisation", "code": "A81001"}), &gp, true),
            (
                json!({"kind": "organisation", "code": "A81002"}),
                &gp,
                false,
            ),
            (
                json!({"kind": "organisation", "code": "A81001"}),
                &proxy,
                false,
            ),
            (
                json!({"kind": "organisation-type", "type": "gp-practice"}),
                &gp,
                true,
            ),
            (
                json!({"kind": "organisation-type", "type": "hospice"}),
                &gp,
                false,
            ),
            (
                json!({"kind": "professional", "user": "dr-jones"}),
                &gp,
                true,
            ),
            (
                json!({"kind": "professional", "user": "dr-smith"}),
                &gp,
                false,
            ),
            (
                json!({"kind": "professional", "user": "dr-jones"}),
                &proxy,
                false,
            ),
            (json!({"kind": "proxy", "user": "dr-jones"}), &proxy, true),
            (json!({"kind": "proxy", "user": "dr-jones"}), &gp, false),
            (json!({"kind": "role", "role": "clinician"}), &gp, true),
            (json!({"kind": "role", "role": "nurse"}), &gp, false),
        ];
        for (actor, caller, expected) in cases {
            let actor: Actor = serde_json::from_value(actor.clone()).unwrap();
            assert_eq!(actor.matches(caller), *expected, "{actor:?} {caller:?}");
        }
    }

    #[test]
    fn applies_to_checks_status_period_actor_and_purpose() {
        let gp = principal(
            "dr-jones",
            Role::Clinician,
            Some(("A81001", OrganisationType::GpPractice)),
        );
        let now = datetime!(2026-06-01 12:00 UTC);
        let cases: &[(Value, Purpose, bool)] = &[
            (json!({"decision": "deny"}), Purpose::DirectCare, true),
            (
                json!({"decision": "deny", "status": "inactive"}),
                Purpose::DirectCare,
                false,
            ),
            (
                json!({"decision": "deny", "purposes": ["research"]}),
                Purpose::DirectCare,
                false,
            ),
            (
                json!({"decision": "deny", "purposes": ["research"]}),
                Purpose::Research,
                true,
            ),
            (
                json!({"decision": "deny", "actors": [{"kind": "role", "role": "nurse"}]}),
                Purpose::DirectCare,
                false,
            ),
            (
                json!({"decision": "deny", "actors": [{"kind": "role", "role": "nurse"}, {"kind": "organisation", "code": "A81001"}]}),
                Purpose::DirectCare,
                true,
            ),
            (
                json!({"decision": "deny", "period": {"end": "2026-06-01T12:00:00Z"}}),
                Purpose::DirectCare,
                false,
            ),
            (
                json!({"decision": "deny", "period": {"start": "2026-06-01T12:00:00Z"}}),
                Purpose::DirectCare,
                true,
            ),
            (
                json!({"decision": "deny", "period": {"start": "2026-06-01T12:00:01Z"}}),
                Purpose::DirectCare,
                false,
            ),
        ];
        for (json, purpose, expected) in cases {
            assert_eq!(
                directive(json.clone()).applies_to(&gp, *purpose, now),
                *expected,
                "{json} {purpose}"
            );
        }
        let whole = directive(json!({"decision": "deny"}));
        let mental = directive(json!({"decision": "deny", "categories": ["mental-health"]}));
        assert!(whole.covers_category("mental-health") && !whole.names_category("mental-health"));
        assert!(mental.covers_category("mental-health") && mental.names_category("mental-health"));
        assert!(!mental.covers_category("sexual-health"));
    }

    #[test]
    fn fhir_consent_has_the_r4_shape() {
        let hospice_permit = directive(json!({
            "id": "0b6f4a64-3c2e-4f0e-9f55-1b2c3d4e5f60",
            "decision": "permit",
            "actors": [
                {"kind": "organisation", "code": "RXX01"},
                {"kind": "organisation-type", "type": "hospice"},
                {"kind": "role", "role": "nurse"}
            ],
            "purposes": ["direct-care", "emergency-care"],
            "categories": ["mental-health"],
            "period": {"start": "2026-01-01T01:00:00+01:00"},
            "note": "the hospice may see my mental health care"
        }));
        let number = NhsNumber::parse("9434765919").unwrap();
        let consent = to_fhir_consent(&hospice_permit, &number, datetime!(2026-01-02 10:00 UTC));
        let expected = json!({
            "resourceType": "Consent",
            "id": "0b6f4a64-3c2e-4f0e-9f55-1b2c3d4e5f60",
            "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy", "display": "Privacy Consent"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
            "patient": {"type": "Patient", "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}},
            "dateTime": "2026-01-02T10:00:00Z",
            "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN", "display": "opt-in"}]},
            "extension": [{"url": KITH_CONSENT_NOTE_EXTENSION, "valueString": "the hospice may see my mental health care"}],
            "provision": {
                "type": "permit",
                "period": {"start": "2026-01-01T00:00:00Z"},
                "actor": [
                    {
                        "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient"}]},
                        "reference": {"type": "Organization", "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RXX01"}}
                    },
                    {
                        "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient"}]},
                        "reference": {"type": "Organization", "display": "any hospice", "extension": [{"url": KITH_ACTOR_ORGANISATION_TYPE_EXTENSION, "valueCoding": {"system": KITH_ORGANISATION_TYPE_SYSTEM, "code": "hospice", "display": "hospice"}}]}
                    },
                    {
                        "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient"}]},
                        "reference": {"type": "PractitionerRole", "display": "anyone with the role nurse", "extension": [{"url": KITH_ACTOR_ROLE_EXTENSION, "valueCoding": {"system": KITH_ROLE_SYSTEM, "code": "nurse", "display": "nurse"}}]}
                    }
                ],
                "purpose": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT", "display": "treatment"},
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "ETREAT", "display": "Emergency Treatment"}
                ],
                "securityLabel": [{"system": KITH_DATA_CATEGORY_SYSTEM, "code": "mental-health", "display": "mental-health"}]
            }
        });
        assert_eq!(consent, expected);
        // A deny with nothing but the decision: OPTOUT, no empty arrays or objects (FHIR
        // forbids empty elements).
        let bare = to_fhir_consent(
            &directive(json!({"decision": "deny", "status": "inactive"})),
            &number,
            datetime!(2026-01-02 10:00 UTC),
        );
        assert_eq!(bare["provision"], json!({"type": "deny"}));
        assert_eq!(bare["status"], "inactive");
        assert_eq!(bare["policyRule"]["coding"][0]["code"], "OPTOUT");
        assert!(bare.get("extension").is_none());
    }

    #[test]
    fn fhir_consent_reads_back() {
        let number = NhsNumber::parse("9434765919").unwrap();
        let originals = [
            json!({"decision": "deny"}),
            json!({
                "id": "0b6f4a64-3c2e-4f0e-9f55-1b2c3d4e5f60",
                "decision": "deny",
                "actors": [
                    {"kind": "organisation", "code": "A81001"},
                    {"kind": "organisation-type", "type": "111"},
                    {"kind": "professional", "user": "dr-jones"},
                    {"kind": "proxy", "user": "son"},
                    {"kind": "role", "role": "care-worker"}
                ],
                "purposes": ["own-access", "research", "population-health"],
                "categories": ["mental-health", "safeguarding"],
                "period": {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
                "status": "inactive",
                "note": "no research"
            }),
        ];
        for original in originals {
            let original = directive(original);
            let consent = to_fhir_consent(&original, &number, datetime!(2026-01-02 10:00 UTC));
            assert_eq!(from_fhir_consent(&consent), Ok(original));
        }
    }

    #[test]
    fn fhir_consent_refuses_what_it_cannot_represent() {
        let cases: &[(Value, &[&str])] = &[
            (
                json!({"resourceType": "Patient", "status": "active", "provision": {"type": "deny"}}),
                &["/resourceType"],
            ),
            (
                json!({"resourceType": "Consent", "status": "draft", "provision": {"type": "deny"}}),
                &["/status"],
            ),
            (
                json!({"resourceType": "Consent", "id": "x", "status": "active", "provision": {"type": "deny"}}),
                &["/id"],
            ),
            (
                json!({"resourceType": "Consent", "status": "active"}),
                &["/provision"],
            ),
            (
                json!({"resourceType": "Consent", "status": "active", "provision": {"type": "maybe"}}),
                &["/provision/type"],
            ),
            (
                json!({"resourceType": "Consent", "status": "active", "provision": {"type": "deny", "provision": [{"type": "permit"}]}}),
                &["/provision/provision"],
            ),
            (
                json!({"resourceType": "Consent", "status": "active", "provision": {"type": "deny", "period": {"start": "2026-01-01"}}}),
                &["/provision/period/start"],
            ),
            (
                json!({"resourceType": "Consent", "status": "active", "provision": {"type": "deny", "actor": [{"reference": {"reference": "Practitioner/1"}}]}}),
                &["/provision/actor/0/reference"],
            ),
            (
                json!({"resourceType": "Consent", "status": "active", "provision": {"type": "deny", "purpose": [{"system": V3_ACT_REASON_SYSTEM, "code": "BTG"}]}}),
                &["/provision/purpose/0"],
            ),
            (
                json!({"resourceType": "Consent", "status": "active", "provision": {"type": "deny", "securityLabel": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}]}}),
                &["/provision/securityLabel/0"],
            ),
            (
                json!({"resourceType": "Consent", "status": "active", "provision": {"type": "deny", "purpose": {}}}),
                &["/provision/purpose"],
            ),
            (
                json!({"resourceType": "Consent", "status": "active", "extension": [{"url": "x"}], "provision": {"type": "deny"}}),
                &["/extension/0"],
            ),
        ];
        for (consent, paths) in cases {
            let errors = from_fhir_consent(consent).unwrap_err();
            let found: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
            assert_eq!(found, *paths, "{consent}");
        }
    }
}
