//! Who may do what to whose record: the vocabulary of callers (roles, organisations,
//! purposes of use), people's identifiers (the NHS number and its check digit), consent
//! directives, the access decision, and the audit trail's hash chain. Pure: no IO, no
//! clock (the time of a decision is an input), no database; the server and the store call
//! in with facts and get decisions back.
//!
//! Modules:
//! - [`model`]: roles, purposes, organisation types, proxy authorities, relationships and
//!   periods, and the field-located errors of validation;
//! - [`nhs`]: the NHS number, parsed and checked (Modulus 11);
//! - [`category`]: data categories (sets of templates and archetypes), some sensitive;
//! - [`consent`]: consent directives, their JSON, validation and FHIR R4 Consent form;
//! - [`policy`]: the access decision and the default policy's rules, in its documentation;
//! - [`audit`]: audit events, their canonical bytes, the hash chain and FHIR R4 AuditEvent;
//! - [`fhir`]: the FHIR systems and codings the exports share.

pub mod audit;
pub mod category;
pub mod consent;
pub mod fhir;
pub mod model;
pub mod nhs;
pub mod policy;

pub use audit::{AuditDecision, AuditEvent, BrokenLink, BrokenWhy, StoredEvent, VerifiedChain};
pub use category::{DataCategories, DataCategory};
pub use consent::{Actor, ConsentDecision, ConsentDirective, DirectiveStatus};
pub use model::{
    FieldError, OrganisationType, Period, ProxyAuthority, Purpose, Relationship, RelationshipKind,
    Role,
};
pub use nhs::{NHS_NUMBER_NAMESPACE, NhsNumber, NhsNumberError};
pub use policy::{
    AccessRequest, Action, Decision, DecisionReason, OrganisationRef, PersonFacts, Principal,
    Resource, decide, explain,
};
