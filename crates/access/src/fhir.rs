//! The FHIR R4 code systems, identifier systems and extension URLs that the Consent and
//! AuditEvent exports share, and the coding of purposes of use.
//!
//! Kith's own systems live under one base, [`KITH_FHIR_BASE`], so that a deployment that
//! publishes them elsewhere changes one line.

use serde_json::{Value, json};

use crate::model::Purpose;

macro_rules! kith_url {
    ($path:literal) => {
        concat!("https://kith-health.github.io/fhir", $path)
    };
}

/// The base of Kith's own FHIR URLs.
pub const KITH_FHIR_BASE: &str = kith_url!("");
/// The identifier system of Kith user ids (professionals, proxies, system integrations).
pub const KITH_USER_SYSTEM: &str = kith_url!("/Id/user");
/// The identifier system of openEHR EHR ids held by Kith.
pub const KITH_EHR_SYSTEM: &str = kith_url!("/Id/ehr");
/// The identifier system of Kith's person ids.
pub const KITH_PERSON_SYSTEM: &str = kith_url!("/Id/person");
/// The code system of data category names.
pub const KITH_DATA_CATEGORY_SYSTEM: &str = kith_url!("/CodeSystem/data-category");
/// The code system of roles (`crate::Role` codes).
pub const KITH_ROLE_SYSTEM: &str = kith_url!("/CodeSystem/role");
/// The code system of organisation types (`crate::OrganisationType` codes).
pub const KITH_ORGANISATION_TYPE_SYSTEM: &str = kith_url!("/CodeSystem/organisation-type");
/// Extension on a Consent actor's reference: the actor is every organisation of a type.
pub const KITH_ACTOR_ORGANISATION_TYPE_EXTENSION: &str =
    kith_url!("/StructureDefinition/consent-actor-organisation-type");
/// Extension on a Consent actor's reference: the actor is everyone with a role.
pub const KITH_ACTOR_ROLE_EXTENSION: &str = kith_url!("/StructureDefinition/consent-actor-role");
/// Extension on a Consent: the person's note (R4 Consent has no note element).
pub const KITH_CONSENT_NOTE_EXTENSION: &str = kith_url!("/StructureDefinition/consent-note");
/// The NHS identifier system of organisation (ODS) codes.
pub const ODS_ORGANISATION_CODE_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// HL7 v3 ActReason: purposes of use.
pub const V3_ACT_REASON_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

/// The v3 ActReason code and display of a purpose of use.
pub fn purpose_act_reason(purpose: Purpose) -> (&'static str, &'static str) {
    match purpose {
        Purpose::DirectCare => ("TREAT", "treatment"),
        Purpose::EmergencyCare => ("ETREAT", "Emergency Treatment"),
        Purpose::OwnAccess => ("PATRQT", "patient requested"),
        Purpose::Research => ("HRESCH", "healthcare research"),
        Purpose::PopulationHealth => ("POPHLTH", "population health"),
    }
}

/// The purpose of use with this v3 ActReason code.
pub fn purpose_from_act_reason(code: &str) -> Option<Purpose> {
    Purpose::ALL
        .iter()
        .copied()
        .find(|purpose| purpose_act_reason(*purpose).0 == code)
}

/// A purpose of use as a FHIR Coding.
pub fn purpose_coding(purpose: Purpose) -> Value {
    let (code, display) = purpose_act_reason(purpose);
    json!({"system": V3_ACT_REASON_SYSTEM, "code": code, "display": display})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_map_to_act_reasons_both_ways() {
        let expected = [
            (Purpose::DirectCare, "TREAT"),
            (Purpose::EmergencyCare, "ETREAT"),
            (Purpose::OwnAccess, "PATRQT"),
            (Purpose::Research, "HRESCH"),
            (Purpose::PopulationHealth, "POPHLTH"),
        ];
        assert_eq!(expected.len(), Purpose::ALL.len());
        for (purpose, code) in expected {
            assert_eq!(purpose_act_reason(purpose).0, code);
            assert_eq!(purpose_from_act_reason(code), Some(purpose));
        }
        assert_eq!(purpose_from_act_reason("BTG"), None);
        assert_eq!(
            KITH_ROLE_SYSTEM,
            "https://kith-health.github.io/fhir/CodeSystem/role"
        );
    }
}
