//! The words of the access model, with the stable codes the API, tokens and stored rows use.

use serde::{Deserialize, Serialize};

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
}
