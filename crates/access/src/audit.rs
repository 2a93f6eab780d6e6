//! The audit trail's pure parts: the event, its canonical bytes, the hash chain that makes
//! tampering detectable and its verification, and the export as FHIR R4 AuditEvent.
//!
//! Each stored event keeps its sequence number (1, 2, 3... with no gaps), its canonical bytes
//! and its hash: SHA-256 of the previous event's hash followed by the canonical bytes, the
//! first event's previous hash being 32 zero bytes. Changing, removing, inserting or
//! reordering any event changes every hash after it, so [`verify_chain`] finds the first
//! broken link. Removing the newest events leaves a shorter valid chain: that is caught by
//! comparing the head hash (or the count) with a copy kept elsewhere, which is why
//! verification reports both.
//!
//! Canonical bytes are compact JSON with the keys in this fixed order and every key present
//! (`null` when absent): `seq`, `time`, `user`, `role`, `organisation`, `purpose`, `action`,
//! `object`, `person`, `decision`, `reason`, `break_glass`, `request_id`,
//! `client_address`. Times are RFC 3339 in UTC with exactly six fractional digits
//! (`2026-06-01T12:00:00.000000Z`): an event's time is kept to the microsecond. Strings are
//! escaped as serde_json escapes them. One key may follow `client_address`: `records`, the
//! ids of the EHRs the event also concerns (the records whose data a query's answer showed,
//! the other record of a merge), a sorted array, written only when it is not empty, so that
//! events without it keep the bytes they were first hashed with. The format is what the
//! hashes cover, so it never changes otherwise; a new field would need a new format, told
//! apart by a new first key.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::fhir::{
    KITH_EHR_SYSTEM, KITH_ROLE_SYSTEM, KITH_USER_SYSTEM, ODS_ORGANISATION_CODE_SYSTEM,
    V3_ACT_REASON_SYSTEM, purpose_coding,
};
use crate::model::{Purpose, Role, codes};

codes! {
    /// Whether the audited request was allowed.
    AuditDecision {
        /// The request went ahead.
        Allow = "allow", "allowed";
        /// The request was refused.
        Deny = "deny", "denied";
    }
}

/// One audited request that touched a person's data (or tried to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When the decision was made.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The caller's user id.
    pub user: String,
    /// The caller's role, when authentication established one.
    pub role: Option<Role>,
    /// The code of the organisation the caller acted for.
    pub organisation: Option<String>,
    /// The purpose of use the caller gave.
    pub purpose: Option<Purpose>,
    /// What was done: `read`, `create`, `update`, `delete`, `query`, `consent-update`,
    /// `merge`...
    pub action: String,
    /// What it was done to: the route and the object's id.
    pub object: String,
    /// The person whose data it is (Kith's person id), when known.
    pub person: Option<String>,
    /// Allowed or denied.
    pub decision: AuditDecision,
    /// Why (the policy's explanation).
    pub reason: String,
    /// The break-glass reason the caller gave, if any.
    pub break_glass: Option<String>,
    /// The request's id, to find it in the logs.
    pub request_id: String,
    /// The client's network address.
    pub client_address: Option<String>,
    /// The EHRs (ids) the event concerns besides the person's: the records whose data a
    /// query's answer showed, the other record of a merge. Sorted, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
}

/// The hash before the first event.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

const CANONICAL_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

fn canonical_time(time: OffsetDateTime) -> String {
    time.to_offset(UtcOffset::UTC)
        .format(CANONICAL_TIME)
        // Every component the format names is present in an OffsetDateTime; only a year
        // beyond four digits could fail, and the time crate without large dates has none.
        .expect("an OffsetDateTime has every component of the canonical time format")
}

/// The order of these fields is the canonical key order.
#[derive(Serialize)]
struct CanonicalOut<'a> {
    seq: u64,
    time: String,
    user: &'a str,
    role: Option<Role>,
    organisation: Option<&'a str>,
    purpose: Option<Purpose>,
    action: &'a str,
    object: &'a str,
    person: Option<&'a str>,
    decision: AuditDecision,
    reason: &'a str,
    break_glass: Option<&'a str>,
    request_id: &'a str,
    client_address: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    records: &'a [String],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CanonicalIn {
    seq: u64,
    time: String,
    user: String,
    role: Option<Role>,
    organisation: Option<String>,
    purpose: Option<Purpose>,
    action: String,
    object: String,
    person: Option<String>,
    decision: AuditDecision,
    reason: String,
    break_glass: Option<String>,
    request_id: String,
    client_address: Option<String>,
    #[serde(default)]
    records: Vec<String>,
}

/// The canonical bytes of an event with its sequence number (see the module documentation).
pub fn canonical_bytes(event: &AuditEvent, seq: u64) -> Vec<u8> {
    let canonical = CanonicalOut {
        seq,
        time: canonical_time(event.time),
        user: &event.user,
        role: event.role,
        organisation: event.organisation.as_deref(),
        purpose: event.purpose,
        action: &event.action,
        object: &event.object,
        person: event.person.as_deref(),
        decision: event.decision,
        reason: &event.reason,
        break_glass: event.break_glass.as_deref(),
        request_id: &event.request_id,
        client_address: event.client_address.as_deref(),
        records: &event.records,
    };
    serde_json::to_vec(&canonical).expect("strings, numbers and codes always serialise")
}

/// Why bytes are not a canonical event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// Not JSON of the event's shape.
    #[error("not an audit event: {0}")]
    Shape(String),
    /// The time is not in the canonical form.
    #[error("the time {0:?} is not RFC 3339 in UTC with six fractional digits")]
    Time(String),
    /// An event, but not written the canonical way (spacing, key order, escaping).
    #[error("an audit event, but not in canonical form")]
    NotCanonical,
}

/// Reads canonical bytes back: the sequence number and the event. Bytes that parse but are
/// not exactly what [`canonical_bytes`] writes for that event are refused, so every event
/// has one representation.
pub fn parse_canonical(bytes: &[u8]) -> Result<(u64, AuditEvent), CanonicalError> {
    let canonical: CanonicalIn =
        serde_json::from_slice(bytes).map_err(|error| CanonicalError::Shape(error.to_string()))?;
    let time = PrimitiveDateTime::parse(&canonical.time, CANONICAL_TIME)
        .map_err(|_| CanonicalError::Time(canonical.time.clone()))?
        .assume_utc();
    let event = AuditEvent {
        time,
        user: canonical.user,
        role: canonical.role,
        organisation: canonical.organisation,
        purpose: canonical.purpose,
        action: canonical.action,
        object: canonical.object,
        person: canonical.person,
        decision: canonical.decision,
        reason: canonical.reason,
        break_glass: canonical.break_glass,
        request_id: canonical.request_id,
        client_address: canonical.client_address,
        records: canonical.records,
    };
    if canonical_bytes(&event, canonical.seq) != bytes {
        return Err(CanonicalError::NotCanonical);
    }
    Ok((canonical.seq, event))
}

/// The hash of an event: SHA-256 of the previous event's hash followed by its canonical bytes.
pub fn chain_hash(previous: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(canonical);
    hasher.finalize().into()
}

/// A hash as lowercase hexadecimal, for people and command output.
pub fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// An event as stored: its sequence number, canonical bytes and chain hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its position in the chain, from 1.
    pub seq: u64,
    /// [`canonical_bytes`] of the event with `seq`.
    pub canonical: Vec<u8>,
    /// [`chain_hash`] of the previous event's hash and `canonical`.
    pub hash: [u8; 32],
}

/// The stored form of the event that follows the one with hash `previous`, at `seq`.
pub fn seal(previous: &[u8; 32], seq: u64, event: &AuditEvent) -> StoredEvent {
    let canonical = canonical_bytes(event, seq);
    let hash = chain_hash(previous, &canonical);
    StoredEvent {
        seq,
        canonical,
        hash,
    }
}

/// A chain that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedChain {
    /// How many events it has.
    pub events: u64,
    /// The last event's hash ([`GENESIS_HASH`] for an empty chain).
    pub head: [u8; 32],
}

/// The first event at which a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the audit chain breaks at event {seq}: {why}")]
pub struct BrokenLink {
    /// The sequence number of the first event that does not verify.
    pub seq: u64,
    /// What is wrong with it.
    pub why: BrokenWhy,
}

/// What is wrong with the first event that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokenWhy {
    /// Its hash is not the hash of the previous hash and its bytes: it, or one before it,
    /// was changed, removed or moved.
    #[error("its hash does not follow from the previous event and its bytes")]
    HashMismatch,
    /// Its sequence number is not the one after the previous event's.
    #[error("expected event {expected} here: events are missing or out of order")]
    SequenceGap {
        /// The sequence number that should have come.
        expected: u64,
    },
    /// Its bytes carry another sequence number than its row.
    #[error("its bytes say it is event {inside}")]
    SequenceMismatch {
        /// The sequence number inside the canonical bytes.
        inside: u64,
    },
    /// Its bytes are not a canonical event.
    #[error("{0}")]
    Unparseable(CanonicalError),
}

/// Verifies a chain one event at a time, for callers that read events from a cursor.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    events: u64,
    head: [u8; 32],
}

impl Default for ChainVerifier {
    fn default() -> ChainVerifier {
        ChainVerifier::new()
    }
}

impl ChainVerifier {
    /// A verifier expecting the first event.
    pub fn new() -> ChainVerifier {
        ChainVerifier {
            events: 0,
            head: GENESIS_HASH,
        }
    }

    /// A verifier that trusts the chain up to event `events`, whose hash is `head` (a
    /// checkpoint kept elsewhere), and expects event `events + 1` next.
    pub fn resume(events: u64, head: [u8; 32]) -> ChainVerifier {
        ChainVerifier { events, head }
    }

    /// Checks the next event: its sequence number, its hash, that its bytes are a canonical
    /// event with the same sequence number.
    pub fn check(&mut self, event: &StoredEvent) -> Result<(), BrokenLink> {
        let expected = self.events + 1;
        let broken = |why| BrokenLink {
            seq: event.seq,
            why,
        };
        if event.seq != expected {
            return Err(broken(BrokenWhy::SequenceGap { expected }));
        }
        if chain_hash(&self.head, &event.canonical) != event.hash {
            return Err(broken(BrokenWhy::HashMismatch));
        }
        let (inside, _) = parse_canonical(&event.canonical)
            .map_err(|error| broken(BrokenWhy::Unparseable(error)))?;
        if inside != event.seq {
            return Err(broken(BrokenWhy::SequenceMismatch { inside }));
        }
        self.events = expected;
        self.head = event.hash;
        Ok(())
    }

    /// The chain checked so far.
    pub fn finish(self) -> VerifiedChain {
        VerifiedChain {
            events: self.events,
            head: self.head,
        }
    }
}

/// Verifies a whole chain, in sequence order, from the first event.
pub fn verify_chain(
    events: impl IntoIterator<Item = StoredEvent>,
) -> Result<VerifiedChain, BrokenLink> {
    let mut verifier = ChainVerifier::new();
    for event in events {
        verifier.check(&event)?;
    }
    Ok(verifier.finish())
}

/// The FHIR AuditEvent action code and RESTful interaction of an audited action.
fn interaction(action: &str) -> (&'static str, Option<&'static str>) {
    match action {
        "read" => ("R", Some("read")),
        "create" => ("C", Some("create")),
        "update" | "consent-update" => ("U", Some("update")),
        "delete" => ("D", Some("delete")),
        "query" | "search" => ("E", Some("search")),
        "merge" => ("U", Some("operation")),
        _ => ("E", None),
    }
}

/// The event as a FHIR R4 AuditEvent resource; `seq` is its id.
pub fn to_fhir_audit_event(seq: u64, event: &AuditEvent) -> Value {
    let (action, restful) = interaction(&event.action);
    let mut resource = json!({
        "resourceType": "AuditEvent",
        "id": seq.to_string(),
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
        "action": action,
        "recorded": canonical_time(event.time),
        "outcome": match event.decision {
            AuditDecision::Allow => "0",
            // A refusal is the request failing, not the system: "minor failure".
            AuditDecision::Deny => "4",
        },
        "outcomeDesc": event.reason,
        "source": {
            "observer": {"display": "kith"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}],
        },
    });
    if let Some(restful) = restful {
        resource["subtype"] = json!([{"system": "http://hl7.org/fhir/restful-interaction", "code": restful, "display": restful}]);
    }
    let mut purposes = Vec::new();
    if let Some(purpose) = event.purpose {
        purposes.push(json!({"coding": [purpose_coding(purpose)]}));
    }
    if let Some(reason) = &event.break_glass {
        purposes.push(json!({
            "coding": [{"system": V3_ACT_REASON_SYSTEM, "code": "BTG", "display": "break the glass"}],
            "text": reason,
        }));
    }
    if !purposes.is_empty() {
        resource["purposeOfEvent"] = Value::Array(purposes);
    }
    let mut user = json!({
        "who": {"identifier": {"system": KITH_USER_SYSTEM, "value": event.user}, "display": event.user},
        "requestor": true,
    });
    if let Some(role) = event.role {
        user["role"] = json!([{"coding": [{"system": KITH_ROLE_SYSTEM, "code": role.code(), "display": role.label()}]}]);
    }
    if let Some(address) = &event.client_address {
        // Type 2 is "IP address" in the network access point types.
        user["network"] = json!({"address": address, "type": "2"});
    }
    let mut agents = vec![user];
    if let Some(organisation) = &event.organisation {
        agents.push(json!({
            "who": {"type": "Organization", "identifier": {"system": ODS_ORGANISATION_CODE_SYSTEM, "value": organisation}},
            "requestor": false,
        }));
    }
    resource["agent"] = Value::Array(agents);
    let mut entities = vec![json!({
        "what": {"display": event.object},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
    })];
    if let Some(person) = &event.person {
        entities.push(json!({
            "what": {"reference": format!("Patient/{person}")},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"},
        }));
    }
    for record in &event.records {
        entities.push(json!({
            "what": {"identifier": {"system": KITH_EHR_SYSTEM, "value": record}},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4", "display": "Domain Resource"},
            "description": "an EHR whose data the request showed",
        }));
    }
    resource["entity"] = Value::Array(entities);
    resource
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn event(index: u64) -> AuditEvent {
        AuditEvent {
            time: datetime!(2026-06-01 12:00:00.123456 UTC) + time::Duration::seconds(index as i64),
            user: format!("user-{index}"),
            role: Some(Role::Clinician),
            organisation: Some("A81001".into()),
            purpose: Some(Purpose::DirectCare),
            action: "read".into(),
            object: format!("/rest/openehr/v1/ehr/e/composition/c{index}"),
            person: Some("p-1".into()),
            decision: AuditDecision::Allow,
            reason: "allow care-relationship: care relationship with the person (registered GP practice)".into(),
            break_glass: None,
            request_id: format!("r-{index}"),
            client_address: Some("192.0.2.1".into()),
            records: Vec::new(),
        }
    }

    fn bare_event() -> AuditEvent {
        AuditEvent {
            time: datetime!(2026-06-01 13:00:00.5 +01:00),
            user: "anonymous \"quoted\" é".into(),
            role: None,
            organisation: None,
            purpose: None,
            action: "query".into(),
            object: "/rest/openehr/v1/query/aql".into(),
            person: None,
            decision: AuditDecision::Deny,
            reason: "deny no-care-relationship".into(),
            break_glass: None,
            request_id: "r-x".into(),
            client_address: None,
            records: Vec::new(),
        }
    }

    fn chain(length: u64) -> Vec<StoredEvent> {
        let mut previous = GENESIS_HASH;
        (1..=length)
            .map(|seq| {
                let stored = seal(&previous, seq, &event(seq));
                previous = stored.hash;
                stored
            })
            .collect()
    }

    #[test]
    fn canonical_bytes_are_fixed() {
        let expected = concat!(
            r#"{"seq":7,"time":"2026-06-01T12:00:01.123456Z","user":"user-1","role":"clinician","#,
            r#""organisation":"A81001","purpose":"direct-care","action":"read","#,
            r#""object":"/rest/openehr/v1/ehr/e/composition/c1","person":"p-1","decision":"allow","#,
            r#""reason":"allow care-relationship: care relationship with the person (registered GP practice)","#,
            r#""break_glass":null,"request_id":"r-1","client_address":"192.0.2.1"}"#
        );
        assert_eq!(
            String::from_utf8(canonical_bytes(&event(1), 7)).unwrap(),
            expected
        );
        let bare = String::from_utf8(canonical_bytes(&bare_event(), 1)).unwrap();
        assert_eq!(
            bare,
            concat!(
                r#"{"seq":1,"time":"2026-06-01T12:00:00.500000Z","user":"anonymous \"quoted\" é","role":null,"#,
                r#""organisation":null,"purpose":null,"action":"query","object":"/rest/openehr/v1/query/aql","#,
                r#""person":null,"decision":"deny","reason":"deny no-care-relationship","break_glass":null,"#,
                r#""request_id":"r-x","client_address":null}"#
            )
        );
    }

    #[test]
    fn records_are_a_last_key_written_only_when_there_are_some() {
        let mut query = bare_event();
        query.records = vec!["0a".into(), "0b".into()];
        let bytes = String::from_utf8(canonical_bytes(&query, 1)).unwrap();
        assert!(
            bytes.ends_with(r#","client_address":null,"records":["0a","0b"]}"#),
            "{bytes}"
        );
        let (_, parsed) = parse_canonical(bytes.as_bytes()).unwrap();
        assert_eq!(parsed, query);
        // An empty list is written by leaving the key out, so that form alone is canonical.
        let empty = String::from_utf8(canonical_bytes(&bare_event(), 1))
            .unwrap()
            .replace('}', r#","records":[]}"#);
        assert_eq!(
            parse_canonical(empty.as_bytes()),
            Err(CanonicalError::NotCanonical)
        );
        let exported = to_fhir_audit_event(1, &query);
        let entities = exported["entity"].as_array().unwrap();
        assert_eq!(entities.len(), 3);
        assert_eq!(entities[2]["what"]["identifier"]["value"], "0b");
    }

    #[test]
    fn canonical_time_is_utc_to_the_microsecond() {
        let mut nanoseconds = event(1);
        nanoseconds.time = datetime!(2026-06-01 12:00:00.123456789 UTC);
        let mut offset = event(1);
        offset.time = datetime!(2026-06-01 14:00:00.123456 +02:00);
        let truncated = canonical_bytes(&nanoseconds, 1);
        assert_eq!(truncated, canonical_bytes(&offset, 1));
        assert!(
            String::from_utf8(truncated)
                .unwrap()
                .contains(r#""time":"2026-06-01T12:00:00.123456Z""#)
        );
    }

    #[test]
    fn canonical_bytes_parse_back() {
        for (seq, original) in [(1, event(3)), (42, bare_event())] {
            let (parsed_seq, parsed) = parse_canonical(&canonical_bytes(&original, seq)).unwrap();
            assert_eq!(parsed_seq, seq);
            assert_eq!(parsed, original);
        }
    }

    #[test]
    fn non_canonical_bytes_are_refused() {
        let canonical = String::from_utf8(canonical_bytes(&event(1), 1)).unwrap();
        type IsExpected = fn(&CanonicalError) -> bool;
        let cases: Vec<(String, IsExpected)> = vec![
            (canonical.replacen(',', ", ", 1), |error| {
                *error == CanonicalError::NotCanonical
            }),
            (
                canonical
                    .replacen(r#"{"seq":1,"#, r#"{"#, 1)
                    .replacen('}', r#","seq":1}"#, 1),
                |error| *error == CanonicalError::NotCanonical,
            ),
            (canonical.replacen(".123456Z", "Z", 1), |error| {
                matches!(error, CanonicalError::Time(_))
            }),
            (
                canonical.replacen(".123456Z", ".123456+00:00", 1),
                |error| matches!(error, CanonicalError::Time(_)),
            ),
            (
                canonical.replacen(r#""role":"clinician""#, r#""role":"doctor""#, 1),
                |error| matches!(error, CanonicalError::Shape(_)),
            ),
            (
                canonical.replacen(r#","client_address""#, r#","extra":1,"client_address""#, 1),
                |error| matches!(error, CanonicalError::Shape(_)),
            ),
            (
                canonical.replacen(r#","request_id":"r-1""#, "", 1),
                |error| matches!(error, CanonicalError::Shape(_)),
            ),
            ("not json".into(), |error| {
                matches!(error, CanonicalError::Shape(_))
            }),
        ];
        for (bytes, expected) in cases {
            let error = parse_canonical(bytes.as_bytes()).unwrap_err();
            assert!(expected(&error), "{bytes}: {error:?}");
        }
        // The same text escaped differently is the same event, but not its canonical bytes.
        let bare = String::from_utf8(canonical_bytes(&bare_event(), 1)).unwrap();
        let escaped = bare.replacen('é', "\\u00e9", 1);
        assert_ne!(escaped, bare);
        assert_eq!(
            parse_canonical(escaped.as_bytes()),
            Err(CanonicalError::NotCanonical)
        );
    }

    #[test]
    fn chain_hash_is_sha_256_of_previous_then_bytes() {
        assert_eq!(
            hex(&chain_hash(&GENESIS_HASH, b"")),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
        assert_eq!(
            hex(&chain_hash(&GENESIS_HASH, b"kith")),
            "3f56de15e90c20cc7387abf0eafa14da044cda3895d1f5435203a39f4748c709"
        );
    }

    #[test]
    fn an_intact_chain_verifies_to_its_head() {
        let events = chain(5);
        let head = events[4].hash;
        assert_eq!(
            verify_chain(events.clone()),
            Ok(VerifiedChain { events: 5, head })
        );
        assert_eq!(
            verify_chain([]),
            Ok(VerifiedChain {
                events: 0,
                head: GENESIS_HASH
            })
        );
        // Resuming from a checkpoint verifies the rest only.
        let mut verifier = ChainVerifier::resume(3, events[2].hash);
        for event in &events[3..] {
            verifier.check(event).unwrap();
        }
        assert_eq!(verifier.finish(), VerifiedChain { events: 5, head });
    }

    #[test]
    fn tampering_is_found_at_the_first_broken_link() {
        type Tamper = fn(&mut Vec<StoredEvent>);
        let cases: &[(&str, Tamper, BrokenLink)] = &[
            (
                "one byte of event 3 changed",
                |events| events[2].canonical[20] ^= 1,
                BrokenLink {
                    seq: 3,
                    why: BrokenWhy::HashMismatch,
                },
            ),
            (
                "event 3's stored hash changed",
                |events| events[2].hash[0] ^= 1,
                BrokenLink {
                    seq: 3,
                    why: BrokenWhy::HashMismatch,
                },
            ),
            (
                "event 2 deleted",
                |events| {
                    events.remove(1);
                },
                BrokenLink {
                    seq: 3,
                    why: BrokenWhy::SequenceGap { expected: 2 },
                },
            ),
            (
                "the first event deleted",
                |events| {
                    events.remove(0);
                },
                BrokenLink {
                    seq: 2,
                    why: BrokenWhy::SequenceGap { expected: 1 },
                },
            ),
            (
                "events 2 and 3 reordered",
                |events| events.swap(1, 2),
                BrokenLink {
                    seq: 3,
                    why: BrokenWhy::SequenceGap { expected: 2 },
                },
            ),
            (
                "events 2 and 3 swapped under their sequence numbers",
                |events| {
                    let (second, third) = (events[1].clone(), events[2].clone());
                    events[1] = StoredEvent { seq: 2, ..third };
                    events[2] = StoredEvent { seq: 3, ..second };
                },
                BrokenLink {
                    seq: 2,
                    why: BrokenWhy::HashMismatch,
                },
            ),
            (
                "an event inserted after event 2",
                |events| {
                    let forged = seal(&events[1].hash, 3, &event(99));
                    events.insert(2, forged);
                },
                BrokenLink {
                    seq: 3,
                    why: BrokenWhy::SequenceGap { expected: 4 },
                },
            ),
            (
                "event 4's decision rewritten with every later hash recomputed, but its seq copied from event 3",
                |events| {
                    let mut rewritten = event(4);
                    rewritten.decision = AuditDecision::Deny;
                    let forged = seal(&events[2].hash, 3, &rewritten);
                    events[3] = StoredEvent { seq: 4, ..forged };
                },
                BrokenLink {
                    seq: 4,
                    why: BrokenWhy::SequenceMismatch { inside: 3 },
                },
            ),
            (
                "event 2 replaced by hashed garbage",
                |events| {
                    let canonical = b"{\"seq\":2}".to_vec();
                    let hash = chain_hash(&events[0].hash, &canonical);
                    events[1] = StoredEvent {
                        seq: 2,
                        canonical,
                        hash,
                    };
                },
                BrokenLink {
                    seq: 2,
                    why: BrokenWhy::Unparseable(CanonicalError::Shape(
                        "missing field `time` at line 1 column 9".into(),
                    )),
                },
            ),
        ];
        for (what, tamper, expected) in cases {
            let mut events = chain(5);
            tamper(&mut events);
            assert_eq!(verify_chain(events).unwrap_err(), *expected, "{what}");
        }
        let broken = BrokenLink {
            seq: 3,
            why: BrokenWhy::SequenceGap { expected: 2 },
        };
        assert_eq!(
            broken.to_string(),
            "the audit chain breaks at event 3: expected event 2 here: events are missing or out of order"
        );
    }

    #[test]
    fn fhir_audit_event_has_the_r4_shape() {
        let mut glass = event(1);
        glass.purpose = Some(Purpose::EmergencyCare);
        glass.break_glass = Some("unconscious in resus".into());
        glass.reason = "allow break-glass".into();
        let expected = json!({
            "resourceType": "AuditEvent",
            "id": "12",
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
            "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "read", "display": "read"}],
            "action": "R",
            "recorded": "2026-06-01T12:00:01.123456Z",
            "outcome": "0",
            "outcomeDesc": "allow break-glass",
            "purposeOfEvent": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "ETREAT", "display": "Emergency Treatment"}]},
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG", "display": "break the glass"}], "text": "unconscious in resus"}
            ],
            "agent": [
                {
                    "who": {"identifier": {"system": KITH_USER_SYSTEM, "value": "user-1"}, "display": "user-1"},
                    "requestor": true,
                    "role": [{"coding": [{"system": KITH_ROLE_SYSTEM, "code": "clinician", "display": "clinician"}]}],
                    "network": {"address": "192.0.2.1", "type": "2"}
                },
                {
                    "who": {"type": "Organization", "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A81001"}},
                    "requestor": false
                }
            ],
            "source": {
                "observer": {"display": "kith"},
                "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}]
            },
            "entity": [
                {
                    "what": {"display": "/rest/openehr/v1/ehr/e/composition/c1"},
                    "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"}
                },
                {
                    "what": {"reference": "Patient/p-1"},
                    "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
                    "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}
                }
            ]
        });
        assert_eq!(to_fhir_audit_event(12, &glass), expected);

        let bare = to_fhir_audit_event(1, &bare_event());
        assert_eq!(bare["outcome"], "4");
        assert_eq!(bare["action"], "E");
        assert_eq!(bare["subtype"][0]["code"], "search");
        assert_eq!(bare["recorded"], "2026-06-01T12:00:00.500000Z");
        assert!(bare.get("purposeOfEvent").is_none());
        assert_eq!(bare["agent"].as_array().unwrap().len(), 1);
        assert!(
            bare["agent"][0].get("role").is_none() && bare["agent"][0].get("network").is_none()
        );
        assert_eq!(bare["entity"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn actions_map_to_fhir_codes() {
        let cases = [
            ("read", "R", Some("read")),
            ("create", "C", Some("create")),
            ("update", "U", Some("update")),
            ("consent-update", "U", Some("update")),
            ("delete", "D", Some("delete")),
            ("query", "E", Some("search")),
            ("merge", "U", Some("operation")),
            ("verify", "E", None),
        ];
        for (action, code, restful) in cases {
            assert_eq!(interaction(action), (code, restful), "{action}");
        }
    }
}
