//! From a verified token's claims to who the caller is: the configured claim paths (dotted
//! for nested claims, reading through arrays), the issuer's role map, and the checks on the
//! values (known codes, the NHS number's form).

use std::collections::HashMap;

use access::{OrganisationType, Purpose, Role};
use serde_json::{Map, Value};

use super::config::ClaimNames;
use super::{AuthMethod, Refusal};

/// Who the credentials say the caller is, before the request's own headers (purpose,
/// break-glass) are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub user: String,
    pub role: Role,
    pub organisation: Option<String>,
    pub organisation_type: Option<OrganisationType>,
    pub nhs_number: Option<String>,
    /// A purpose the credentials fix; the request cannot change it.
    pub purpose: Option<Purpose>,
    pub method: AuthMethod,
}

/// The values at a claim path, as text: a string, a number, or the strings and numbers of an
/// array. A top-level claim named exactly `path` wins (claim names may contain dots, as
/// URL-shaped names do); otherwise each dot goes one object deeper, and an array on the way
/// is read element by element (`nhsid_nrbac_roles.role_code` reads the code of every role).
pub(crate) fn claim_values(claims: &Map<String, Value>, path: &str) -> Vec<String> {
    if let Some(value) = claims.get(path) {
        return leaf_texts(value);
    }
    let mut segments = path.split('.');
    let mut current: Vec<&Value> = segments
        .next()
        .and_then(|first| claims.get(first))
        .into_iter()
        .collect();
    for segment in segments {
        current = current
            .into_iter()
            .flat_map(|value| match value {
                Value::Object(object) => object.get(segment).into_iter().collect::<Vec<_>>(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(|item| item.as_object()?.get(segment))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
    }
    current.into_iter().flat_map(leaf_texts).collect()
}

fn leaf_texts(value: &Value) -> Vec<String> {
    let text = |value: &Value| match value {
        Value::String(text) => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    let texts: Vec<String> = match value {
        Value::Array(items) => items.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    };
    texts.into_iter().filter(|text| !text.is_empty()).collect()
}

/// An NHS number as its 10 digits (people write "943 476 5919"), or None unless it is a
/// valid one: 10 digits, in groups of 3-3-4 if grouped, with a right Modulus 11 check digit.
pub(crate) fn normalise_nhs_number(text: &str) -> Option<String> {
    access::NhsNumber::parse(text.trim())
        .ok()
        .map(|number| number.to_string())
}

/// The caller a verified token describes.
pub(crate) fn identity_from_claims(
    claims: &Map<String, Value>,
    names: &ClaimNames,
    roles: &HashMap<String, Role>,
    method: AuthMethod,
) -> Result<Identity, Refusal> {
    let first = |path: &str| claim_values(claims, path).into_iter().next();
    let user = first(&names.user).ok_or_else(|| Refusal::MissingClaim(names.user.clone()))?;
    // The first value that means a Kith role: issuers list roles Kith has no use for
    // (Keycloak's "offline_access") beside those it has.
    let role = claim_values(claims, &names.role)
        .iter()
        .find_map(|value| {
            if roles.is_empty() {
                Role::from_code(value)
            } else {
                roles.get(value).copied()
            }
        })
        .ok_or(Refusal::NoRole)?;
    let organisation_type = match first(&names.organisation_type) {
        Some(code) => {
            Some(
                OrganisationType::from_code(&code).ok_or_else(|| Refusal::InvalidClaim {
                    claim: names.organisation_type.clone(),
                    problem: format!("{code} is not an organisation type code"),
                })?,
            )
        }
        None => None,
    };
    let nhs_number = match first(&names.nhs_number) {
        // The value is not repeated: an NHS number is personal data, and this goes to the log.
        Some(text) => Some(
            normalise_nhs_number(&text).ok_or_else(|| Refusal::InvalidClaim {
                claim: names.nhs_number.clone(),
                problem: "an nhs number has 10 digits".into(),
            })?,
        ),
        None => None,
    };
    let purpose = match first(&names.purpose) {
        Some(code) => Some(
            Purpose::from_code(&code).ok_or_else(|| Refusal::InvalidClaim {
                claim: names.purpose.clone(),
                problem: format!("{code} is not a purpose code"),
            })?,
        ),
        None => None,
    };
    if role == Role::Patient && nhs_number.is_none() {
        return Err(Refusal::PatientWithoutNhsNumber);
    }
    Ok(Identity {
        user,
        role,
        organisation: first(&names.organisation),
        organisation_type,
        nhs_number,
        purpose,
        method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn reads_claim_paths() {
        let token = claims(json!({
            "sub": "u1",
            "https://kith.example/role": "nurse",
            "realm_access": {"roles": ["offline_access", "doctor"]},
            "nhsid_nrbac_roles": [
                {"role_code": "S8000:G8000:R8000", "org_code": "RRV"},
                {"role_code": "S8000:G8000:R8001", "org_code": "RAL"}
            ],
            "numeric": 9434765919u64,
            "empty": "  ",
            "object": {"a": 1}
        }));
        for (path, expected) in [
            ("sub", vec!["u1"]),
            ("https://kith.example/role", vec!["nurse"]),
            ("realm_access.roles", vec!["offline_access", "doctor"]),
            (
                "nhsid_nrbac_roles.role_code",
                vec!["S8000:G8000:R8000", "S8000:G8000:R8001"],
            ),
            ("nhsid_nrbac_roles.org_code", vec!["RRV", "RAL"]),
            ("numeric", vec!["9434765919"]),
            ("empty", vec![]),
            ("object", vec![]),
            ("realm_access.missing", vec![]),
            ("missing", vec![]),
        ] {
            assert_eq!(claim_values(&token, path), expected, "{path}");
        }
    }

    #[test]
    fn normalises_nhs_numbers() {
        for (text, expected) in [
            ("9434765919", Some("9434765919")),
            ("943 476 5919", Some("9434765919")),
            ("943-476-5919", Some("9434765919")),
            ("9434765918", None),
            ("94 3476 5919", None),
            ("943476591", None),
            ("94347659190", None),
            ("943476591x", None),
        ] {
            assert_eq!(normalise_nhs_number(text).as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn maps_claims_to_an_identity() {
        let names = ClaimNames {
            role: "realm_access.roles".into(),
            ..ClaimNames::default()
        };
        let roles: HashMap<String, Role> = [
            ("doctor".to_owned(), Role::Clinician),
            ("patient".to_owned(), Role::Patient),
        ]
        .into();
        let method = AuthMethod::AdminToken;
        let identity =
            |value: Value| identity_from_claims(&claims(value), &names, &roles, method.clone());
        let found = identity(
            json!({"sub": "u1", "realm_access": {"roles": ["uma", "doctor"]},
            "kith_org": "RRV", "kith_org_type": "acute-hospital", "kith_purpose": "direct-care"}),
        )
        .unwrap();
        assert_eq!(found.role, Role::Clinician);
        assert_eq!(found.organisation.as_deref(), Some("RRV"));
        assert_eq!(
            found.organisation_type,
            Some(OrganisationType::AcuteHospital)
        );
        assert_eq!(found.purpose, Some(Purpose::DirectCare));
        for (value, expected) in [
            (
                json!({"realm_access": {"roles": ["doctor"]}}),
                Refusal::MissingClaim("sub".into()),
            ),
            // A Kith code is not enough when the issuer has a role map.
            (
                json!({"sub": "u", "realm_access": {"roles": ["clinician"]}}),
                Refusal::NoRole,
            ),
            (
                json!({"sub": "u", "realm_access": {"roles": ["patient"]}}),
                Refusal::PatientWithoutNhsNumber,
            ),
            (
                json!({"sub": "u", "realm_access": {"roles": ["doctor"]}, "kith_nhs_number": "12"}),
                Refusal::InvalidClaim {
                    claim: "kith_nhs_number".into(),
                    problem: "an nhs number has 10 digits".into(),
                },
            ),
            (
                json!({"sub": "u", "realm_access": {"roles": ["doctor"]}, "kith_purpose": "curiosity"}),
                Refusal::InvalidClaim {
                    claim: "kith_purpose".into(),
                    problem: "curiosity is not a purpose code".into(),
                },
            ),
            (
                json!({"sub": "u", "realm_access": {"roles": ["doctor"]}, "kith_org_type": "castle"}),
                Refusal::InvalidClaim {
                    claim: "kith_org_type".into(),
                    problem: "castle is not an organisation type code".into(),
                },
            ),
        ] {
            assert_eq!(identity(value.clone()).unwrap_err(), expected, "{value}");
        }
        let patient = identity(json!({"sub": "p", "realm_access": {"roles": ["patient"]},
            "kith_nhs_number": "943 476 5919"}))
        .unwrap();
        assert_eq!(patient.nhs_number.as_deref(), Some("9434765919"));
    }
}
