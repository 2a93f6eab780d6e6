//! The words of the access model, with the stable codes the API, tokens and stored rows use.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Declares a closed set of codes: a Rust enum, its stable wire code (used in JSON, token
/// claims and stored rows) and a human label, with parsing both ways.
macro_rules! codes {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $code:literal, $label:literal;)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $code)] $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stable code.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)*
                }
            }

            /// A label for people.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)*
                }
            }

            /// The value with this code (exact, lower case).
            pub fn from_code(code: &str) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(self.code())
            }
        }
    };
}

// The other modules declare their closed sets with the same macro.
pub(crate) use codes;

codes! {
    /// What a caller is, for the access decision.
    Role {
        Clinician = "clinician", "clinician";
        Nurse = "nurse", "nurse";
        CareWorker = "care-worker", "care worker";
        AdministrativeStaff = "administrative", "administrative staff";
        /// The person the record is about.
        Patient = "patient", "the person themself";
        /// A relative or carer acting for the person, with a stated authority.
        Proxy = "proxy", "proxy (relative or carer)";
        /// Another system acting on its own account (a GP or hospital system's interface).
        SystemIntegration = "system", "system integration";
        Administrator = "administrator", "administrator";
    }
}

codes! {
    /// Why the caller is asking (purpose of use).
    Purpose {
        DirectCare = "direct-care", "direct care";
        EmergencyCare = "emergency-care", "emergency care";
        /// The person reading or writing their own record (or a proxy doing it for them).
        OwnAccess = "own-access", "the person's own access";
        Research = "research", "research";
        PopulationHealth = "population-health", "population health";
    }
}

codes! {
    /// The kind of an organisation.
    OrganisationType {
        GpPractice = "gp-practice", "GP practice";
        AcuteHospital = "acute-hospital", "acute hospital";
        Community = "community", "community services";
        MentalHealth = "mental-health", "mental health";
        Ambulance = "ambulance", "ambulance service";
        NhsOneOneOne = "111", "NHS 111";
        Hospice = "hospice", "hospice";
        SocialCare = "social-care", "social care";
        Pharmacy = "pharmacy", "pharmacy";
    }
}

codes! {
    /// The legal ground on which a proxy acts for a person.
    ProxyAuthority {
        /// A registered lasting power of attorney for health and welfare.
        LastingPowerOfAttorneyHealth = "lasting-power-of-attorney-health", "lasting power of attorney (health and welfare)";
        /// A parent or guardian of a child.
        ParentalResponsibility = "parental-responsibility", "parental responsibility";
        /// A deputy the Court of Protection appointed for health and welfare.
        CourtAppointedDeputy = "court-appointed-deputy", "court-appointed deputy";
        /// The person chose this proxy (a relative or carer helping them) and can take it back.
        DelegatedByPerson = "delegated-by-person", "delegated by the person";
    }
}

impl ProxyAuthority {
    /// Whether this authority stands in the person's place for their consent decisions. A
    /// person's own delegation lets a helper read and write, not rewrite the person's choices.
    pub fn may_manage_consent(self) -> bool {
        !matches!(self, ProxyAuthority::DelegatedByPerson)
    }
}

codes! {
    /// What ties an organisation, a professional or a proxy to a person.
    RelationshipKind {
        /// The GP practice the person is registered with.
        RegisteredGp = "registered-gp", "registered GP practice";
        /// An organisation treating the person now (an admission, a referral, a package of care).
        ActiveEpisode = "active-episode", "active episode of care";
        /// A named professional in the person's care team.
        CareTeam = "care-team", "member of the care team";
        /// A relative or carer acting for the person, with an authority.
        Proxy = "proxy", "proxy";
    }
}

/// An interval of time, either end open. The start is inclusive and the end exclusive, so
/// a period ending at noon and one starting at noon do not overlap. Serialised as RFC 3339
/// (`{"start": "2026-01-01T00:00:00Z"}`); an absent end means "until further notice".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// The first instant inside the period; `None` for "since always".
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub start: Option<OffsetDateTime>,
    /// The first instant after the period; `None` for "until further notice".
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub end: Option<OffsetDateTime>,
}

impl Period {
    /// Whether `now` is inside the period: at or after the start, before the end.
    pub fn contains(&self, now: OffsetDateTime) -> bool {
        self.start.is_none_or(|start| start <= now) && self.end.is_none_or(|end| now < end)
    }

    /// The problems of this period, with `prefix` (a JSON pointer) for their paths: an end
    /// at or before the start makes a period that contains nothing, which is always a mistake.
    pub fn validate(&self, prefix: &str) -> Vec<FieldError> {
        match (self.start, self.end) {
            (Some(start), Some(end)) if end <= start => vec![FieldError::new(
                format!("{prefix}/end"),
                "the period must end after it starts",
            )],
            _ => Vec::new(),
        }
    }
}

/// One problem in a submitted object, located by a JSON pointer (RFC 6901) into it, for
/// the `details` of a 422 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    /// Where, as a JSON pointer: `/actors/0/code`.
    pub path: String,
    /// What is wrong, lowercase, without a trailing period.
    pub message: String,
}

impl FieldError {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A care relationship (an organisation or a named professional caring for the person) or
/// a proxy relationship (a relative or carer acting for them), over a period. The access
/// policy reads these: direct care needs one that is active.
///
/// JSON: `{"id": "…", "kind": "registered-gp", "organisation": "A81001", "period":
/// {"start": "2020-01-01T00:00:00Z"}}`, or for a proxy `{"kind": "proxy", "professional":
/// "user-42", "authority": "parental-responsibility"}`. An absent `id` reads as the nil
/// UUID, for the server to assign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relationship {
    /// The relationship's id.
    #[serde(default)]
    pub id: Uuid,
    /// What kind of relationship.
    pub kind: RelationshipKind,
    /// The organisation's code (an ODS code in England), when an organisation is related.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// A user id: the named professional or, for a proxy, the proxy themself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub professional: Option<String>,
    /// The proxy's authority: required for a proxy, forbidden otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<ProxyAuthority>,
    /// When the relationship holds.
    #[serde(default)]
    pub period: Period,
}

impl Relationship {
    /// Whether the relationship holds at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.period.contains(now)
    }

    /// The problems of this relationship, each at its field's JSON pointer; empty when valid.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (path, value) in [
            ("/organisation", &self.organisation),
            ("/professional", &self.professional),
        ] {
            if let Some(value) = value
                && (value.trim().is_empty() || value.trim() != value)
            {
                errors.push(FieldError::new(
                    path,
                    "must not be empty or have spaces around it",
                ));
            }
        }
        match self.kind {
            RelationshipKind::Proxy => {
                if self.authority.is_none() {
                    errors.push(FieldError::new(
                        "/authority",
                        "a proxy relationship needs the authority the proxy acts under",
                    ));
                }
                if self.professional.is_none() {
                    errors.push(FieldError::new(
                        "/professional",
                        "a proxy relationship needs the proxy's user id",
                    ));
                }
                if self.organisation.is_some() {
                    errors.push(FieldError::new(
                        "/organisation",
                        "a proxy relationship is with a person, not an organisation",
                    ));
                }
            }
            RelationshipKind::RegisteredGp | RelationshipKind::ActiveEpisode => {
                if self.organisation.is_none() {
                    errors.push(FieldError::new(
                        "/organisation",
                        format!(
                            "a {} relationship needs the organisation's code",
                            self.kind.label()
                        ),
                    ));
                }
            }
            RelationshipKind::CareTeam => {
                if self.professional.is_none() {
                    errors.push(FieldError::new(
                        "/professional",
                        "a care team relationship needs the professional's user id",
                    ));
                }
            }
        }
        if self.kind != RelationshipKind::Proxy && self.authority.is_some() {
            errors.push(FieldError::new(
                "/authority",
                "only a proxy relationship has an authority",
            ));
        }
        errors.extend(self.period.validate("/period"));
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::from_code(role.code()), Some(*role));
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::json!(role.code())
            );
        }
        for purpose in Purpose::ALL {
            assert_eq!(Purpose::from_code(purpose.code()), Some(*purpose));
        }
        for kind in OrganisationType::ALL {
            assert_eq!(OrganisationType::from_code(kind.code()), Some(*kind));
        }
        assert_eq!(Role::from_code("Clinician"), None);
    }

    #[test]
    fn period_contains_start_but_not_end() {
        use time::macros::datetime;
        let start = datetime!(2026-01-01 00:00 UTC);
        let end = datetime!(2026-02-01 00:00 UTC);
        let bounded = Period {
            start: Some(start),
            end: Some(end),
        };
        let cases = [
            (bounded, datetime!(2025-12-31 23:59:59.999999 UTC), false),
            (bounded, start, true),
            (bounded, datetime!(2026-01-15 12:00 UTC), true),
            (bounded, datetime!(2026-01-31 23:59:59.999999 UTC), true),
            (bounded, end, false),
            // The same instant in another offset is the same instant.
            (bounded, datetime!(2026-02-01 01:00 +01:00), false),
            (
                Period {
                    start: None,
                    end: Some(end),
                },
                datetime!(1900-01-01 00:00 UTC),
                true,
            ),
            (
                Period {
                    start: Some(start),
                    end: None,
                },
                datetime!(2999-01-01 00:00 UTC),
                true,
            ),
            (Period::default(), start, true),
        ];
        for (period, now, expected) in cases {
            assert_eq!(period.contains(now), expected, "{period:?} at {now}");
        }
    }

    #[test]
    fn period_serialises_as_rfc_3339() {
        use time::macros::datetime;
        let period = Period {
            start: Some(datetime!(2026-01-01 09:30 UTC)),
            end: None,
        };
        let json = serde_json::to_value(period).unwrap();
        assert_eq!(json, serde_json::json!({"start": "2026-01-01T09:30:00Z"}));
        assert_eq!(serde_json::from_value::<Period>(json).unwrap(), period);
        let offset: Period =
            serde_json::from_str(r#"{"start": "2026-01-01T10:30:00+01:00"}"#).unwrap();
        assert_eq!(offset.start, period.start);
        assert!(serde_json::from_str::<Period>(r#"{"start": "2026-01-01"}"#).is_err());
        assert!(serde_json::from_str::<Period>(r#"{"begin": "2026-01-01T00:00:00Z"}"#).is_err());
        assert_eq!(
            Period {
                start: period.start,
                end: period.start
            }
            .validate("/period"),
            vec![FieldError::new(
                "/period/end",
                "the period must end after it starts"
            )]
        );
    }

    #[test]
    fn relationship_validation_locates_each_problem() {
        let cases: &[(&str, &[&str])] = &[
            (
                r#"{"kind": "registered-gp", "organisation": "A81001"}"#,
                &[],
            ),
            (r#"{"kind": "registered-gp"}"#, &["/organisation"]),
            (
                r#"{"kind": "active-episode", "organisation": "RRV", "professional": "dr-who"}"#,
                &[],
            ),
            (
                r#"{"kind": "active-episode", "professional": "dr-who"}"#,
                &["/organisation"],
            ),
            (r#"{"kind": "care-team", "professional": "nurse-1"}"#, &[]),
            (
                r#"{"kind": "care-team", "organisation": "RRV"}"#,
                &["/professional"],
            ),
            (
                r#"{"kind": "care-team", "professional": " nurse-1"}"#,
                &["/professional"],
            ),
            (
                r#"{"kind": "registered-gp", "organisation": ""}"#,
                &["/organisation"],
            ),
            (
                r#"{"kind": "proxy", "professional": "mum", "authority": "parental-responsibility"}"#,
                &[],
            ),
            (
                r#"{"kind": "proxy", "professional": "mum"}"#,
                &["/authority"],
            ),
            (
                r#"{"kind": "proxy", "authority": "delegated-by-person"}"#,
                &["/professional"],
            ),
            (
                r#"{"kind": "proxy", "professional": "mum", "authority": "court-appointed-deputy", "organisation": "A81001"}"#,
                &["/organisation"],
            ),
            (
                r#"{"kind": "registered-gp", "organisation": "A81001", "authority": "parental-responsibility"}"#,
                &["/authority"],
            ),
            (
                r#"{"kind": "registered-gp", "organisation": "A81001", "period": {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}}"#,
                &["/period/end"],
            ),
        ];
        for (json, paths) in cases {
            let relationship: Relationship = serde_json::from_str(json).unwrap();
            let found: Vec<String> = relationship
                .validate()
                .into_iter()
                .map(|error| error.path)
                .collect();
            assert_eq!(found, *paths, "{json}");
        }
        assert!(serde_json::from_str::<Relationship>(r#"{"kind": "friend"}"#).is_err());
    }

    #[test]
    fn only_authorities_in_the_persons_place_manage_consent() {
        let may: Vec<ProxyAuthority> = ProxyAuthority::ALL
            .iter()
            .copied()
            .filter(|authority| authority.may_manage_consent())
            .collect();
        assert_eq!(
            may,
            [
                ProxyAuthority::LastingPowerOfAttorneyHealth,
                ProxyAuthority::ParentalResponsibility,
                ProxyAuthority::CourtAppointedDeputy
            ]
        );
    }
}
