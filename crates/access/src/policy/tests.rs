//! The policy's decision matrix: one line per case, callers, relationships, directives and
//! data named by the fixtures below, and invariants checked over every combination.

use std::sync::LazyLock;

use time::Duration;
use time::macros::datetime;

use super::*;
use crate::category::DataCategory;
use crate::consent::{Actor, DirectiveStatus};
use crate::model::Period;

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
const PERSON: &str = "9434765919";
const SOMEONE_ELSE: &str = "4010232137";

fn nhs(text: &str) -> NhsNumber {
    NhsNumber::parse(text).unwrap()
}

fn caller(name: &str) -> Principal {
    let at = |code: &str, kind| {
        Some(OrganisationRef {
            code: code.into(),
            kind: Some(kind),
        })
    };
    let (user, role, organisation, nhs_number) = match name {
        "admin" => ("admin", Role::Administrator, None, None),
        "patient" => ("person", Role::Patient, None, Some(nhs(PERSON))),
        "other-patient" => ("someone", Role::Patient, None, Some(nhs(SOMEONE_ELSE))),
        "anonymous-patient" => ("anonymous", Role::Patient, None, None),
        "proxy" => ("proxy-1", Role::Proxy, None, None),
        "gp-clinician" => (
            "dr-gp",
            Role::Clinician,
            at("A81001", OrganisationType::GpPractice),
            None,
        ),
        "gp-nurse" => (
            "nurse-gp",
            Role::Nurse,
            at("A81001", OrganisationType::GpPractice),
            None,
        ),
        "gp-care-worker" => (
            "carer-gp",
            Role::CareWorker,
            at("A81001", OrganisationType::GpPractice),
            None,
        ),
        "gp-admin" => (
            "clerk-gp",
            Role::AdministrativeStaff,
            at("A81001", OrganisationType::GpPractice),
            None,
        ),
        "gp-system" => (
            "gp-system",
            Role::SystemIntegration,
            at("A81001", OrganisationType::GpPractice),
            None,
        ),
        "hospital-clinician" => (
            "dr-hospital",
            Role::Clinician,
            at("RXX01", OrganisationType::AcuteHospital),
            None,
        ),
        "hospice-nurse" => (
            "nurse-hospice",
            Role::Nurse,
            at("H0001", OrganisationType::Hospice),
            None,
        ),
        "hospice-care-worker" => (
            "carer-hospice",
            Role::CareWorker,
            at("H0001", OrganisationType::Hospice),
            None,
        ),
        // Named in a care-team relationship; acts for an organisation that has none.
        "named-clinician" => (
            "dr-jones",
            Role::Clinician,
            at("ZZZ99", OrganisationType::Community),
            None,
        ),
        "researcher" => (
            "dr-research",
            Role::Clinician,
            at("R1", OrganisationType::AcuteHospital),
            None,
        ),
        "research-nurse" => (
            "nurse-research",
            Role::Nurse,
            at("R1", OrganisationType::AcuteHospital),
            None,
        ),
        "analytics" => ("analytics", Role::SystemIntegration, None, None),
        other => panic!("unknown caller {other}"),
    };
    Principal {
        user: user.into(),
        role,
        organisation,
        nhs_number,
    }
}

fn since(start: OffsetDateTime) -> Period {
    Period {
        start: Some(start),
        end: None,
    }
}

fn until(end: OffsetDateTime) -> Period {
    Period {
        start: None,
        end: Some(end),
    }
}

fn relationship(name: &str) -> Relationship {
    let long_ago = since(datetime!(2020-01-01 00:00 UTC));
    let care =
        |kind, organisation: Option<&str>, professional: Option<&str>, period| Relationship {
            id: Uuid::nil(),
            kind,
            organisation: organisation.map(str::to_owned),
            professional: professional.map(str::to_owned),
            authority: None,
            period,
        };
    let proxy = |user: &str, authority, period| Relationship {
        id: Uuid::nil(),
        kind: RelationshipKind::Proxy,
        organisation: None,
        professional: Some(user.into()),
        authority,
        period,
    };
    use ProxyAuthority::*;
    use RelationshipKind::*;
    match name {
        "gp" => care(RegisteredGp, Some("A81001"), None, long_ago),
        "gp-ended" => care(RegisteredGp, Some("A81001"), None, until(NOW)),
        "gp-future" => care(
            RegisteredGp,
            Some("A81001"),
            None,
            since(NOW + Duration::SECOND),
        ),
        "gp-starts-now" => care(RegisteredGp, Some("A81001"), None, since(NOW)),
        "hospital" => care(ActiveEpisode, Some("RXX01"), None, long_ago),
        "jones" => care(CareTeam, None, Some("dr-jones"), long_ago),
        // Malformed (validation refuses it) but must never pass for a care relationship.
        "proxy-at-gp" => Relationship {
            organisation: Some("A81001".into()),
            ..proxy("someone", Some(LastingPowerOfAttorneyHealth), long_ago)
        },
        "proxy-lpa" => proxy("proxy-1", Some(LastingPowerOfAttorneyHealth), long_ago),
        "proxy-parent" => proxy("proxy-1", Some(ParentalResponsibility), long_ago),
        "proxy-deputy" => proxy("proxy-1", Some(CourtAppointedDeputy), long_ago),
        "proxy-delegated" => proxy("proxy-1", Some(DelegatedByPerson), long_ago),
        "proxy-expired" => proxy("proxy-1", Some(LastingPowerOfAttorneyHealth), until(NOW)),
        "proxy-no-authority" => proxy("proxy-1", None, long_ago),
        "proxy-other" => proxy("proxy-2", Some(LastingPowerOfAttorneyHealth), long_ago),
        other => panic!("unknown relationship {other}"),
    }
}

/// Directive names double as their ids' seeds, so a reason's directive id is checkable.
const DIRECTIVES: &[&str] = &[
    "deny-all",
    "deny-all-inactive",
    "deny-all-expired",
    "deny-all-future",
    "deny-all-starts-now",
    "opt-out",
    "deny-gp",
    "deny-gp-mh",
    "deny-nurses",
    "deny-hospice-type",
    "deny-proxy",
    "deny-proxy-sh",
    "deny-eol",
    "permit-gp",
    "permit-gp-mh",
    "permit-gp-mh-inactive",
    "permit-hospice",
    "permit-hospice-eol",
    "permit-hospice-mh",
    "permit-research-mh",
    "permit-jones",
    "permit-proxy-sh",
];

fn directive_id(name: &str) -> Uuid {
    let index = DIRECTIVES.iter().position(|known| *known == name).unwrap();
    Uuid::from_u128(index as u128 + 1)
}

fn directive(name: &str) -> ConsentDirective {
    let base = |decision| ConsentDirective {
        id: directive_id(name),
        decision,
        actors: Vec::new(),
        purposes: Vec::new(),
        categories: Vec::new(),
        period: Period::default(),
        status: DirectiveStatus::Active,
        note: None,
    };
    let deny = || base(ConsentDecision::Deny);
    let permit = || base(ConsentDecision::Permit);
    let gp = || {
        vec![Actor::Organisation {
            code: "A81001".into(),
        }]
    };
    let hospice = || {
        vec![Actor::OrganisationType {
            organisation_type: OrganisationType::Hospice,
        }]
    };
    let categories =
        |names: &[&str]| -> Vec<String> { names.iter().map(|name| (*name).to_owned()).collect() };
    match name {
        "deny-all" => deny(),
        "deny-all-inactive" => ConsentDirective {
            status: DirectiveStatus::Inactive,
            ..deny()
        },
        "deny-all-expired" => ConsentDirective {
            period: until(NOW),
            ..deny()
        },
        "deny-all-future" => ConsentDirective {
            period: since(NOW + Duration::SECOND),
            ..deny()
        },
        "deny-all-starts-now" => ConsentDirective {
            period: since(NOW),
            ..deny()
        },
        "opt-out" => ConsentDirective {
            purposes: vec![Purpose::Research, Purpose::PopulationHealth],
            ..deny()
        },
        "deny-gp" => ConsentDirective {
            actors: gp(),
            ..deny()
        },
        "deny-gp-mh" => ConsentDirective {
            actors: gp(),
            categories: categories(&["mental-health"]),
            ..deny()
        },
        "deny-nurses" => ConsentDirective {
            actors: vec![Actor::Role { role: Role::Nurse }],
            ..deny()
        },
        "deny-hospice-type" => ConsentDirective {
            actors: hospice(),
            ..deny()
        },
        "deny-proxy" => ConsentDirective {
            actors: vec![Actor::Proxy {
                user: "proxy-1".into(),
            }],
            ..deny()
        },
        "deny-proxy-sh" => ConsentDirective {
            actors: vec![Actor::Proxy {
                user: "proxy-1".into(),
            }],
            categories: categories(&["sexual-health"]),
            ..deny()
        },
        "deny-eol" => ConsentDirective {
            categories: categories(&["end-of-life"]),
            ..deny()
        },
        "permit-gp" => ConsentDirective {
            actors: gp(),
            purposes: vec![Purpose::DirectCare],
            ..permit()
        },
        "permit-gp-mh" => ConsentDirective {
            actors: gp(),
            categories: categories(&["mental-health"]),
            ..permit()
        },
        "permit-gp-mh-inactive" => ConsentDirective {
            actors: gp(),
            categories: categories(&["mental-health"]),
            status: DirectiveStatus::Inactive,
            ..permit()
        },
        "permit-hospice" => ConsentDirective {
            actors: hospice(),
            purposes: vec![Purpose::DirectCare],
            ..permit()
        },
        "permit-hospice-eol" => ConsentDirective {
            actors: hospice(),
            purposes: vec![Purpose::DirectCare],
            categories: categories(&["end-of-life"]),
            ..permit()
        },
        "permit-hospice-mh" => ConsentDirective {
            actors: hospice(),
            purposes: vec![Purpose::DirectCare],
            categories: categories(&["mental-health"]),
            ..permit()
        },
        "permit-research-mh" => ConsentDirective {
            purposes: vec![Purpose::Research],
            categories: categories(&["mental-health"]),
            ..permit()
        },
        "permit-jones" => ConsentDirective {
            actors: vec![Actor::Professional {
                user: "dr-jones".into(),
            }],
            purposes: vec![Purpose::DirectCare],
            ..permit()
        },
        "permit-proxy-sh" => ConsentDirective {
            actors: vec![Actor::Proxy {
                user: "proxy-1".into(),
            }],
            categories: categories(&["sexual-health"]),
            ..permit()
        },
        other => panic!("unknown directive {other}"),
    }
}

fn resource(name: &str) -> Resource {
    let record = |names: &[&str]| Resource::Record {
        categories: names.iter().map(|name| (*name).to_owned()).collect(),
    };
    match name {
        "demo" => Resource::Demographics,
        "record" => record(&[]),
        "mh" => record(&["mental-health"]),
        "sh" => record(&["sexual-health"]),
        "sg" => record(&["safeguarding"]),
        "eol" => record(&["end-of-life"]),
        "mh+eol" => record(&["end-of-life", "mental-health"]),
        other => panic!("unknown resource {other}"),
    }
}

fn break_glass(name: &str) -> Option<String> {
    match name {
        "-" => None,
        "bg" => Some("unconscious in resus, no history available".into()),
        "bg-short" => Some("  urgent  ".into()),
        "bg-empty" => Some("   ".into()),
        "bg-ten" => Some(" 0123456789 ".into()),
        "bg-nine" => Some("012345678".into()),
        other => panic!("unknown break-glass reason {other}"),
    }
}

/// The default sensitive categories and one that is not.
static CATEGORIES: LazyLock<DataCategories> = LazyLock::new(|| {
    let mut all: Vec<(String, DataCategory)> = DataCategories::default()
        .iter()
        .map(|(name, category)| (name.to_owned(), category.clone()))
        .collect();
    all.push(("end-of-life".into(), DataCategory::default()));
    DataCategories::new(all).unwrap()
});

fn categories() -> &'static DataCategories {
    &CATEGORIES
}

fn list<T>(field: &str, make: impl Fn(&str) -> T) -> Vec<T> {
    if field == "-" {
        Vec::new()
    } else {
        field.split(',').map(make).collect()
    }
}

fn action(code: &str) -> Action {
    Action::from_code(code).unwrap_or_else(|| panic!("unknown action {code}"))
}

fn purpose(code: &str) -> Purpose {
    Purpose::from_code(code).unwrap_or_else(|| panic!("unknown purpose {code}"))
}

/// Decides one line: `caller purpose action resource relationships directives break-glass`.
fn decide_line(line: &str) -> Decision {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let &[
        caller_name,
        purpose_code,
        action_code,
        resource_name,
        relationships,
        directives,
        glass,
    ] = fields.as_slice()
    else {
        panic!("a case has seven fields before the expectation: {line}");
    };
    let request = AccessRequest {
        principal: caller(caller_name),
        purpose: purpose(purpose_code),
        action: action(action_code),
        resource: resource(resource_name),
        break_glass: break_glass(glass),
    };
    let facts = PersonFacts {
        nhs_number: Some(nhs(PERSON)),
        relationships: list(relationships, relationship),
        directives: list(directives, directive),
    };
    decide(&request, &facts, categories(), NOW)
}

/// One case: seven fields, `=>`, `allow` or `deny`, the reason code, and for a directive
/// reason optionally the directive's name.
fn check(case: &str) {
    let (given, expected) = case
        .split_once("=>")
        .unwrap_or_else(|| panic!("no => in {case}"));
    let decision = decide_line(given);
    let expected: Vec<&str> = expected.split_whitespace().collect();
    let found_outcome = if decision.allowed { "allow" } else { "deny" };
    assert_eq!(
        (found_outcome, decision.reason.code()),
        (expected[0], expected[1]),
        "{case}\n{}",
        explain(&decision)
    );
    assert_eq!(
        decision.break_glass,
        decision.reason.code() == "break-glass",
        "{case}"
    );
    if let Some(name) = expected.get(2) {
        let directive = match &decision.reason {
            DecisionReason::ConsentDeny { directive }
            | DecisionReason::ConsentPermit { directive } => *directive,
            other => panic!("{case}: {other:?} names no directive"),
        };
        assert_eq!(directive, directive_id(name), "{case}");
    }
}

#[test]
fn decision_matrix() {
    let cases = [
        // caller          purpose           action          resource relationships  directives   glass   => expected
        // Rule 1: administrators.
        "admin               direct-care       read            mh      -                deny-all     -       => allow administrator",
        "admin               research          write           record  -                opt-out      -       => allow administrator",
        "admin               own-access        manage-consent  record  -                -            -       => allow administrator",
        "admin               emergency-care    read            record  -                -            bg      => allow administrator",
        // Rule 2: the person.
        "patient             own-access        read            mh      -                deny-all     -       => allow own-record",
        "patient             own-access        write           record  -                -            -       => allow own-record",
        "patient             own-access        manage-consent  record  -                -            -       => allow own-record",
        "patient             own-access        read-access-log demo    -                -            -       => allow own-record",
        "patient             direct-care       read            record  -                -            -       => deny purpose-not-permitted",
        "patient             research          read            record  -                -            -       => deny purpose-not-permitted",
        "other-patient       own-access        read            record  -                -            -       => deny not-own-record",
        "other-patient       own-access        read-access-log demo    -                -            -       => deny not-own-record",
        "anonymous-patient   own-access        read            demo    -                -            -       => deny not-own-record",
        "other-patient       emergency-care    read            record  -                -            bg      => deny break-glass-refused",
        // Rule 3: proxies.
        "proxy               own-access        read            record  proxy-lpa        -            -       => allow proxy-authority",
        "proxy               own-access        read            mh      proxy-lpa        -            -       => allow proxy-authority",
        "proxy               own-access        read            sg      proxy-parent     -            -       => allow proxy-authority",
        "proxy               own-access        manage-consent  record  proxy-lpa        -            -       => allow proxy-authority",
        "proxy               own-access        manage-consent  record  proxy-parent     -            -       => allow proxy-authority",
        "proxy               own-access        manage-consent  record  proxy-deputy     -            -       => allow proxy-authority",
        "proxy               own-access        manage-consent  record  proxy-delegated  -            -       => deny proxy-authority-insufficient",
        "proxy               own-access        manage-consent  record  proxy-delegated,proxy-parent - -      => allow proxy-authority",
        "proxy               own-access        read            record  proxy-delegated  -            -       => allow proxy-authority",
        "proxy               own-access        write           record  proxy-delegated  -            -       => allow proxy-authority",
        "proxy               own-access        read-access-log demo    proxy-delegated  -            -       => allow proxy-authority",
        "proxy               own-access        read            mh      proxy-delegated  -            -       => deny sensitive-without-permit",
        "proxy               own-access        read            sh      proxy-delegated  permit-proxy-sh -    => allow proxy-authority",
        "proxy               own-access        write           mh      proxy-delegated  -            -       => allow proxy-authority",
        "proxy               own-access        read            record  proxy-expired    -            -       => deny no-proxy-relationship",
        "proxy               own-access        read            record  proxy-no-authority -          -       => deny no-proxy-relationship",
        "proxy               own-access        read            record  proxy-other      -            -       => deny no-proxy-relationship",
        "proxy               own-access        read            record  -                -            -       => deny no-proxy-relationship",
        "proxy               own-access        read            record  gp               -            -       => deny no-proxy-relationship",
        "proxy               direct-care       read            record  proxy-lpa        -            -       => deny purpose-not-permitted",
        "proxy               own-access        read            record  proxy-lpa        deny-proxy   -       => deny consent-deny deny-proxy",
        "proxy               own-access        read            record  proxy-lpa        deny-all     -       => deny consent-deny deny-all",
        "proxy               own-access        read            sh      proxy-lpa        deny-proxy-sh -      => deny consent-deny deny-proxy-sh",
        "proxy               own-access        read            record  proxy-lpa        deny-proxy-sh -      => allow proxy-authority",
        "proxy               own-access        manage-consent  record  proxy-lpa        deny-proxy   -       => allow proxy-authority",
        "proxy               own-access        read-access-log demo    proxy-delegated  deny-proxy   -       => allow proxy-authority",
        "proxy               emergency-care    read            record  proxy-lpa        -            bg      => deny break-glass-refused",
        // Rule 4: care relationships.
        "gp-clinician        direct-care       read            record  gp               -            -       => allow care-relationship",
        "gp-clinician        direct-care       write           record  gp               -            -       => allow care-relationship",
        "gp-clinician        emergency-care    read            record  gp               -            -       => allow care-relationship",
        "gp-nurse            direct-care       read            record  gp               -            -       => allow care-relationship",
        "gp-care-worker      direct-care       read            record  gp               -            -       => allow care-relationship",
        "gp-system           direct-care       write           record  gp               -            -       => allow care-relationship",
        "gp-admin            direct-care       read            demo    gp               -            -       => allow care-relationship",
        "gp-admin            direct-care       write           demo    gp               -            -       => allow care-relationship",
        "gp-admin            direct-care       read            record  gp               -            -       => deny role-not-permitted",
        "gp-admin            direct-care       read            demo    -                -            -       => deny no-care-relationship",
        "gp-clinician        direct-care       read            record  -                -            -       => deny no-care-relationship",
        "gp-clinician        direct-care       read            demo    -                -            -       => deny no-care-relationship",
        "gp-clinician        direct-care       read            record  gp-ended         -            -       => deny no-care-relationship",
        "gp-clinician        direct-care       read            record  gp-future        -            -       => deny no-care-relationship",
        "gp-clinician        direct-care       read            record  gp-starts-now    -            -       => allow care-relationship",
        "hospital-clinician  direct-care       read            record  gp               -            -       => deny no-care-relationship",
        "hospital-clinician  direct-care       read            record  hospital         -            -       => allow care-relationship",
        "hospital-clinician  direct-care       read            record  gp,hospital      -            -       => allow care-relationship",
        "named-clinician     direct-care       read            record  jones            -            -       => allow care-relationship",
        "gp-clinician        direct-care       read            record  jones            -            -       => deny no-care-relationship",
        "gp-clinician        direct-care       read            record  proxy-at-gp      -            -       => deny no-care-relationship",
        "gp-clinician        own-access        read            record  gp               -            -       => deny purpose-not-permitted",
        "gp-clinician        direct-care       manage-consent  record  gp               -            -       => deny role-not-permitted",
        "gp-clinician        direct-care       read-access-log demo    gp               -            -       => deny role-not-permitted",
        "gp-admin            own-access        manage-consent  record  gp               -            -       => deny role-not-permitted",
        // Rule 6: sensitive categories under a care relationship.
        "gp-clinician        direct-care       read            mh      gp               -            -       => deny sensitive-without-permit",
        "gp-clinician        direct-care       read            mh      gp               permit-gp-mh -       => allow care-relationship",
        "gp-clinician        direct-care       read            mh      gp               permit-gp-mh-inactive - => deny sensitive-without-permit",
        "gp-clinician        direct-care       read            mh      gp               permit-hospice-mh -  => deny sensitive-without-permit",
        "gp-clinician        direct-care       read            mh      gp               permit-gp    -       => deny sensitive-without-permit",
        "gp-clinician        direct-care       read            sh      gp               permit-gp-mh -       => deny sensitive-without-permit",
        "gp-clinician        direct-care       read            sg      gp               -            -       => deny sensitive-without-permit",
        "gp-clinician        direct-care       write           mh      gp               -            -       => allow care-relationship",
        "gp-clinician        direct-care       read            eol     gp               -            -       => allow care-relationship",
        "gp-clinician        direct-care       read            mh+eol  gp               permit-gp-mh -       => allow care-relationship",
        "gp-clinician        direct-care       read            mh+eol  gp               -            -       => deny sensitive-without-permit",
        // Rule 7: deny directives.
        "gp-clinician        direct-care       read            record  gp               deny-all     -       => deny consent-deny deny-all",
        "gp-clinician        direct-care       read            demo    gp               deny-all     -       => deny consent-deny deny-all",
        "gp-clinician        direct-care       write           record  gp               deny-all     -       => deny consent-deny deny-all",
        "gp-admin            direct-care       read            demo    gp               deny-all     -       => deny consent-deny deny-all",
        "gp-clinician        direct-care       read            record  gp               deny-all-inactive - => allow care-relationship",
        "gp-clinician        direct-care       read            record  gp               deny-all-expired -  => allow care-relationship",
        "gp-clinician        direct-care       read            record  gp               deny-all-future -   => allow care-relationship",
        "gp-clinician        direct-care       read            record  gp               deny-all-starts-now - => deny consent-deny deny-all-starts-now",
        "gp-clinician        direct-care       read            record  gp               deny-gp      -       => deny consent-deny deny-gp",
        "hospital-clinician  direct-care       read            record  hospital         deny-gp      -       => allow care-relationship",
        "gp-clinician        direct-care       read            record  gp               deny-gp-mh   -       => allow care-relationship",
        "gp-clinician        direct-care       read            demo    gp               deny-gp-mh   -       => allow care-relationship",
        "gp-clinician        direct-care       read            mh      gp               deny-gp-mh,permit-gp-mh - => deny consent-deny deny-gp-mh",
        "gp-clinician        direct-care       read            mh      gp               permit-gp-mh,deny-gp-mh - => deny consent-deny deny-gp-mh",
        "gp-nurse            direct-care       read            record  gp               deny-nurses  -       => deny consent-deny deny-nurses",
        "gp-clinician        direct-care       read            record  gp               deny-nurses  -       => allow care-relationship",
        "gp-clinician        direct-care       read            eol     gp               deny-eol     -       => deny consent-deny deny-eol",
        "gp-clinician        direct-care       read            mh+eol  gp               deny-eol,permit-gp-mh - => deny consent-deny deny-eol",
        "gp-clinician        direct-care       read            record  gp               deny-eol     -       => allow care-relationship",
        "gp-clinician        direct-care       read            record  gp               opt-out      -       => allow care-relationship",
        // Rule 7: permits without a care relationship.
        "hospice-nurse       direct-care       read            record  -                permit-hospice -     => allow consent-permit permit-hospice",
        "hospice-nurse       direct-care       write           record  -                permit-hospice -     => allow consent-permit permit-hospice",
        "hospice-care-worker direct-care       read            record  -                permit-hospice -     => allow consent-permit permit-hospice",
        "hospice-nurse       emergency-care    read            record  -                permit-hospice -     => deny no-care-relationship",
        "hospice-nurse       direct-care       read            demo    -                permit-hospice-eol - => allow consent-permit permit-hospice-eol",
        "hospice-nurse       direct-care       read            record  -                permit-hospice-eol - => deny no-care-relationship",
        "hospice-nurse       direct-care       read            eol     -                permit-hospice-eol - => allow consent-permit permit-hospice-eol",
        "hospice-nurse       direct-care       read            eol     -                permit-hospice -     => allow consent-permit permit-hospice",
        "hospice-nurse       direct-care       read            mh      -                permit-hospice -     => deny sensitive-without-permit",
        "hospice-nurse       direct-care       read            mh      -                permit-hospice,permit-hospice-mh - => allow consent-permit permit-hospice-mh",
        "hospice-nurse       direct-care       read            mh+eol  -                permit-hospice-mh -  => deny no-care-relationship",
        "hospice-nurse       direct-care       read            mh+eol  -                permit-hospice-eol,permit-hospice-mh - => allow consent-permit permit-hospice-eol",
        "hospice-nurse       direct-care       read            record  -                permit-hospice,deny-hospice-type - => deny consent-deny deny-hospice-type",
        "hospice-nurse       direct-care       read            record  -                permit-gp-mh -       => deny no-care-relationship",
        "named-clinician     direct-care       read            record  -                permit-jones -       => allow consent-permit permit-jones",
        "hospital-clinician  direct-care       read            record  -                permit-jones -       => deny no-care-relationship",
        "gp-clinician        direct-care       read            record  -                permit-gp    -       => allow consent-permit permit-gp",
        "gp-clinician        direct-care       read            mh      -                permit-gp,permit-gp-mh - => allow consent-permit permit-gp-mh",
        // Rule 5: secondary use.
        "researcher          research          read            record  -                -            -       => allow secondary-use",
        "analytics           population-health read            record  -                -            -       => allow secondary-use",
        "researcher          research          read            record  -                opt-out      -       => deny consent-deny opt-out",
        "analytics           population-health read            demo    -                opt-out      -       => deny demographics-not-for-secondary-use",
        "analytics           population-health read            demo    -                -            -       => deny demographics-not-for-secondary-use",
        "researcher          research          read            demo    gp               -            -       => deny demographics-not-for-secondary-use",
        "researcher          research          read            record  -                deny-gp      -       => allow secondary-use",
        "researcher          research          read            record  -                deny-all-inactive - => allow secondary-use",
        "researcher          research          write           record  -                -            -       => deny action-not-permitted",
        "research-nurse      research          read            record  -                -            -       => deny role-not-permitted",
        "gp-care-worker      population-health read            record  gp               -            -       => deny role-not-permitted",
        "gp-admin            research          read            demo    gp               -            -       => deny role-not-permitted",
        "researcher          research          read            mh      -                -            -       => deny sensitive-without-permit",
        "researcher          research          read            mh      -                permit-research-mh - => allow secondary-use",
        "researcher          population-health read            mh      -                permit-research-mh - => deny sensitive-without-permit",
        "researcher          research          read            mh      -                permit-research-mh,opt-out - => deny consent-deny opt-out",
        // Rule 8: break-glass.
        "hospital-clinician  emergency-care    read            record  -                -            -       => deny no-care-relationship",
        "hospital-clinician  emergency-care    read            record  -                -            bg      => allow break-glass",
        "hospital-clinician  emergency-care    read            mh      hospital         -            bg      => allow break-glass",
        "gp-clinician        emergency-care    read            record  gp               deny-all     bg      => allow break-glass",
        "gp-clinician        emergency-care    read            demo    gp               deny-all     bg      => allow break-glass",
        "hospice-nurse       emergency-care    read            record  -                -            bg      => allow break-glass",
        "hospital-clinician  emergency-care    read            record  -                -            bg-ten  => allow break-glass",
        "gp-clinician        emergency-care    read            record  gp               -            bg      => allow care-relationship",
        "hospice-care-worker emergency-care    read            record  -                -            bg      => deny break-glass-refused",
        "gp-admin            emergency-care    read            demo    -                -            bg      => deny break-glass-refused",
        "gp-system           emergency-care    read            record  -                -            bg      => deny break-glass-refused",
        "hospital-clinician  direct-care       read            record  -                -            bg      => deny break-glass-refused",
        "hospital-clinician  emergency-care    write           record  -                -            bg      => deny break-glass-refused",
        "hospital-clinician  emergency-care    manage-consent  record  -                -            bg      => deny break-glass-refused",
        "hospital-clinician  emergency-care    read            record  -                -            bg-short => deny break-glass-refused",
        "hospital-clinician  emergency-care    read            record  -                -            bg-empty => deny break-glass-refused",
        "hospital-clinician  emergency-care    read            record  -                -            bg-nine => deny break-glass-refused",
        "researcher          research          read            record  -                opt-out      bg      => deny break-glass-refused",
    ];
    for case in cases {
        check(case);
    }
}

#[test]
fn break_glass_refusals_say_why() {
    let cases: &[(&str, BreakGlassRefusal, &str)] = &[
        (
            "hospice-care-worker emergency-care read record - - bg",
            BreakGlassRefusal::RoleMayNotBreakGlass {
                role: Role::CareWorker,
            },
            "break-glass refused: the care worker role may not break glass (only clinicians and nurses)",
        ),
        (
            "hospital-clinician emergency-care write record - - bg",
            BreakGlassRefusal::OnlyReads,
            "break-glass refused: break-glass allows reading only",
        ),
        (
            "hospital-clinician direct-care read record - - bg",
            BreakGlassRefusal::PurposeMustBeEmergencyCare,
            "break-glass refused: break-glass needs the purpose emergency-care",
        ),
        (
            "hospital-clinician emergency-care read record - - bg-empty",
            BreakGlassRefusal::NoReason,
            "break-glass refused: break-glass needs a reason and none was given",
        ),
        (
            "hospital-clinician emergency-care read record - - bg-short",
            BreakGlassRefusal::ReasonTooShort { found: 6 },
            "break-glass refused: a break-glass reason needs at least 10 characters, found 6",
        ),
        (
            "hospital-clinician emergency-care read record - - bg-nine",
            BreakGlassRefusal::ReasonTooShort { found: 9 },
            "break-glass refused: a break-glass reason needs at least 10 characters, found 9",
        ),
    ];
    for (line, expected_why, message) in cases {
        let decision = decide_line(line);
        match &decision.reason {
            DecisionReason::BreakGlassRefused { why, underlying } => {
                assert_eq!(why, expected_why, "{line}");
                assert_eq!(underlying.code(), "no-care-relationship", "{line}");
            }
            other => panic!("{line}: {other:?}"),
        }
        assert_eq!(decision.reason.message(), *message, "{line}");
    }
}

#[test]
fn explain_gives_the_audit_details_and_messages_hide_the_data() {
    let cases = [
        (
            "gp-clinician direct-care read record gp deny-all -",
            "deny consent-deny (directive 00000000-0000-0000-0000-000000000001): the person's consent directives refuse this access",
        ),
        (
            "gp-clinician direct-care read mh gp - -",
            "deny sensitive-without-permit (category mental-health): data in a sensitive category needs the person's explicit permission",
        ),
        (
            "gp-clinician emergency-care read record gp deny-all bg",
            "allow break-glass (overrode consent-deny (directive 00000000-0000-0000-0000-000000000001)): emergency access (break-glass) with a stated reason: it is audited and shown to the person",
        ),
        (
            "gp-system emergency-care read record - - bg",
            "deny break-glass-refused (refused first by no-care-relationship): break-glass refused: the system integration role may not break glass (only clinicians and nurses)",
        ),
        (
            "gp-clinician direct-care read record gp - -",
            "allow care-relationship: care relationship with the person (registered GP practice)",
        ),
        (
            "gp-admin direct-care read record gp - -",
            "deny role-not-permitted: the administrative staff role may access demographics only",
        ),
        (
            "researcher research write record - - -",
            "deny action-not-permitted: the purpose research allows reading only, not to write",
        ),
        (
            "proxy own-access manage-consent record proxy-delegated - -",
            "deny proxy-authority-insufficient: a proxy acting under delegated by the person may read and write but not manage consent",
        ),
    ];
    for (line, expected) in cases {
        let decision = decide_line(line);
        assert_eq!(explain(&decision), expected, "{line}");
        // The message alone (what a 403 may show) names no category and no directive.
        let message = decision.reason.message();
        assert!(
            !message.contains("mental-health") && !message.contains("00000000"),
            "{message}"
        );
    }
}

/// Every combination of the fixtures, checked against rules that hold whatever the rest:
/// the matrix above pins the exact reasons, this proves there is no corner where the
/// properties users rely on fail.
#[test]
fn invariants_hold_over_every_combination() {
    let callers = [
        "admin",
        "patient",
        "other-patient",
        "proxy",
        "gp-clinician",
        "gp-nurse",
        "gp-care-worker",
        "gp-admin",
        "gp-system",
        "hospice-nurse",
        "researcher",
    ];
    let relationship_sets = [
        "-",
        "gp",
        "gp-ended",
        "proxy-lpa",
        "proxy-delegated",
        "gp,proxy-delegated",
    ];
    let directive_sets = [
        "-",
        "deny-all",
        "deny-all-inactive",
        "opt-out",
        "deny-gp-mh",
        "permit-gp-mh",
        "permit-hospice",
        "permit-hospice-mh",
        "deny-all,permit-gp-mh,permit-hospice",
    ];
    let resources = ["demo", "record", "mh", "eol", "mh+eol"];
    let glasses = ["-", "bg", "bg-short"];
    let mut combinations = 0;
    for caller_name in callers {
        for purpose in Purpose::ALL {
            for action in Action::ALL {
                for resource_name in resources {
                    for relationships in relationship_sets {
                        for directives in directive_sets {
                            for glass in glasses {
                                let line = format!(
                                    "{caller_name} {purpose} {action} {resource_name} {relationships} {directives} {glass}"
                                );
                                let decision = decide_line(&line);
                                combinations += 1;
                                let role = caller(caller_name).role;
                                let code = decision.reason.code();
                                let message = || format!("{line}: {}", explain(&decision));
                                // Administrators always, and only they, get `administrator`.
                                assert_eq!(
                                    role == Role::Administrator,
                                    code == "administrator",
                                    "{}",
                                    message()
                                );
                                assert!(
                                    decision.allowed || role != Role::Administrator,
                                    "{}",
                                    message()
                                );
                                // Break-glass is flagged exactly when it is the reason, and only
                                // for clinicians' and nurses' emergency reads with a good reason.
                                assert_eq!(
                                    decision.break_glass,
                                    code == "break-glass",
                                    "{}",
                                    message()
                                );
                                if decision.break_glass {
                                    assert!(BREAK_GLASS_ROLES.contains(&role), "{}", message());
                                    assert_eq!(
                                        (*purpose, *action, glass),
                                        (Purpose::EmergencyCare, Action::Read, "bg"),
                                        "{}",
                                        message()
                                    );
                                }
                                // An active deny for everyone stops every non-exempt read and
                                // write short of break-glass.
                                if directives.split(',').any(|name| name == "deny-all")
                                    && matches!(action, Action::Read | Action::Write)
                                    && !matches!(role, Role::Administrator | Role::Patient)
                                {
                                    assert!(
                                        !decision.allowed || decision.break_glass,
                                        "{}",
                                        message()
                                    );
                                }
                                // Consent and the access log are for the person, proxies and
                                // administrators.
                                if decision.allowed
                                    && matches!(
                                        action,
                                        Action::ManageConsent | Action::ReadAccessLog
                                    )
                                {
                                    assert!(
                                        matches!(
                                            role,
                                            Role::Administrator | Role::Patient | Role::Proxy
                                        ),
                                        "{}",
                                        message()
                                    );
                                }
                                // Nobody but the person, a proxy and an administrator acts with
                                // own-access, and they act with nothing else.
                                if decision.allowed && matches!(role, Role::Patient | Role::Proxy) {
                                    assert_eq!(*purpose, Purpose::OwnAccess, "{}", message());
                                }
                                if decision.allowed && *purpose == Purpose::OwnAccess {
                                    assert!(
                                        matches!(
                                            role,
                                            Role::Administrator | Role::Patient | Role::Proxy
                                        ),
                                        "{}",
                                        message()
                                    );
                                }
                                // Sensitive data is read by a professional only with a permit
                                // naming it, or by breaking glass.
                                if decision.allowed
                                    && *action == Action::Read
                                    && resource_name.contains("mh")
                                    && !matches!(
                                        role,
                                        Role::Administrator | Role::Patient | Role::Proxy
                                    )
                                    && !decision.break_glass
                                {
                                    let named_permit = directives.split(',').any(|name| {
                                        name.starts_with("permit") && name.ends_with("-mh")
                                    });
                                    assert!(named_permit, "{}", message());
                                }
                                // Secondary use never writes.
                                if decision.allowed
                                    && matches!(
                                        purpose,
                                        Purpose::Research | Purpose::PopulationHealth
                                    )
                                {
                                    assert!(
                                        *action == Action::Read || role == Role::Administrator,
                                        "{}",
                                        message()
                                    );
                                }
                                // Someone else's record is never the person's.
                                if caller_name == "other-patient" {
                                    assert!(!decision.allowed, "{}", message());
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(combinations, 11 * 5 * 4 * 5 * 6 * 9 * 3);
}

#[test]
fn period_boundaries_use_the_instant_not_the_clock_face() {
    // A relationship ending at 13:00 in UTC+1 ends at the decision's NOW (12:00 UTC).
    let mut facts = PersonFacts {
        nhs_number: Some(nhs(PERSON)),
        relationships: vec![Relationship {
            period: until(datetime!(2026-06-01 13:00 +01:00)),
            ..relationship("gp")
        }],
        directives: Vec::new(),
    };
    let request = AccessRequest {
        principal: caller("gp-clinician"),
        purpose: Purpose::DirectCare,
        action: Action::Read,
        resource: resource("record"),
        break_glass: None,
    };
    assert_eq!(
        decide(&request, &facts, categories(), NOW).reason.code(),
        "no-care-relationship"
    );
    let just_before = NOW - Duration::NANOSECOND;
    assert!(decide(&request, &facts, categories(), just_before).allowed);
    facts.relationships[0].period = since(datetime!(2026-06-01 13:00 +01:00));
    assert!(decide(&request, &facts, categories(), NOW).allowed);
    assert!(!decide(&request, &facts, categories(), just_before).allowed);
}

#[test]
fn a_person_without_a_known_nhs_number_is_nobodys_own_record() {
    let facts = PersonFacts::default();
    let request = AccessRequest {
        principal: caller("patient"),
        purpose: Purpose::OwnAccess,
        action: Action::Read,
        resource: resource("record"),
        break_glass: None,
    };
    assert_eq!(
        decide(&request, &facts, categories(), NOW).reason.code(),
        "not-own-record"
    );
}
