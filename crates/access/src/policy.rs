//! The access decision: given who is asking, why, for what, the facts about the person
//! (their NHS number, relationships and consent directives) and the time, allow or deny, with
//! a reason. [`decide`] is a pure function; the server gathers the facts and records the
//! decision in the audit trail.
//!
//! # The default policy (UK practice)
//!
//! These are the rules as users read them. "The record" is the person's clinical data;
//! "demographics" are their name, identifiers and contact details. A rule that refuses
//! gives the reason code in brackets.
//!
//! 1. **Administrators** may do everything. Every access is audited like anyone else's.
//! 2. **The person** (role patient) may read and write their own record, manage their
//!    consent directives and read who looked at their record, sensitive data included, with
//!    the purpose own-access. "Their own" means the NHS number in their login equals the
//!    record's (`not-own-record`); another purpose is refused (`purpose-not-permitted`).
//!    Which entries a person may write (their own notes, what matters to them) is decided
//!    where entries are written, not here.
//! 3. **A proxy** (a relative or carer) acts for the person while an active proxy
//!    relationship names them with an authority (`no-proxy-relationship`), with the purpose
//!    own-access. They may read, write and read the access log. They may manage consent only
//!    under a lasting power of attorney for health and welfare, parental responsibility or a
//!    court-appointed deputyship; a proxy the person delegated may not
//!    (`proxy-authority-insufficient`). Those three authorities stand in the person's place
//!    and see sensitive data like the person; a delegated proxy needs the person's explicit
//!    permit to read it, like a professional (rule 6). The person's deny directives bind
//!    proxies too (rule 7).
//! 4. **Clinicians, nurses, care workers and system integrations** acting for direct care or
//!    emergency care need an active care relationship (registered GP practice, active episode
//!    or care team; not a proxy relationship) whose organisation is the caller's organisation
//!    or whose named professional is the caller (`no-care-relationship`), or a permit
//!    directive (rule 7). **Administrative staff** may read and write demographics on the
//!    same terms, never the record (`role-not-permitted`). No professional manages consent
//!    or reads the access log (`role-not-permitted`), and none acts with the purpose
//!    own-access (`purpose-not-permitted`).
//! 5. **Secondary use** (research, population health) is open to clinicians and system
//!    integrations without a care relationship, for reading the record only
//!    (`action-not-permitted`), never demographics (`demographics-not-for-secondary-use`:
//!    who a person is is not research data), unless a deny directive applies: a national or
//!    local opt-out is a deny directive for those purposes. Other roles are refused
//!    (`role-not-permitted`). The purpose must come from the credentials (the server refuses
//!    a secondary purpose asked for only in a header).
//! 6. **Sensitive categories** (mental health, sexual health, safeguarding, or as
//!    configured): reading data in a sensitive category needs an active permit directive
//!    that matches the caller and the purpose and names that category explicitly (a permit
//!    for "the whole record" does not reach sensitive data), even where a care relationship
//!    allows the rest (`sensitive-without-permit`). The person, proxies of rule 3's three
//!    authorities and administrators are exempt. Writing into a sensitive category needs
//!    only what rule 4 asks: the mental health team is not stopped from recording care.
//! 7. **Directives**: an active deny directive whose period contains the time of the request,
//!    whose actors include the caller (or are empty), whose purposes include the request's
//!    (or are empty) and whose categories include one of the data's categories (or are empty,
//!    for the whole record; demographics are in no category) refuses reads and writes
//!    (`consent-deny`), whatever relationship or permit there is: deny beats permit. A
//!    matching permit allows what rule 4 would not: a hospice without a relationship, for
//!    example. Without a care relationship, every part of the data must be covered: general
//!    data by a permit for the whole record, each category by a permit naming it (or, if not
//!    sensitive, for the whole record); demographics by any matching permit. Directives never
//!    bind the person themself nor administrators, and do not govern consent management or
//!    access-log reading (rules 2, 3, 8).
//! 8. **Break-glass**: when the rules above refuse, a clinician or nurse may read with the
//!    purpose emergency-care by giving a reason of at least ten characters
//!    (`Kith-Break-Glass`). The read is allowed with the reason `break-glass`; it overrides
//!    deny directives and sensitive categories: emergency access overrides the person's
//!    dissent, which is why it is always audited with its reason, listed for the privacy
//!    officer, and shown to the person. Care workers, administrative staff and system
//!    integrations may not break glass (emergency access is a clinical judgement, and a
//!    system has no one to account for it); writes, other purposes and short reasons are
//!    refused (`break-glass-refused`, naming which). A request that the rules allow anyway is
//!    not a break-glass access, whatever it carried.
//! 9. **Consent management and access-log reading** are for rules 1, 2 and 3 only.
//!
//! Reasons' messages ([`DecisionReason::message`]) speak of the caller's rights, never of
//! the data (a refusal for a sensitive category does not name the category), so they may go
//! in a 403 body; [`explain`] adds the details (directive ids, the category) for the audit
//! trail, which only the person and administrators read.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::category::DataCategories;
use crate::consent::{ConsentDecision, ConsentDirective};
use crate::model::{
    OrganisationType, ProxyAuthority, Purpose, Relationship, RelationshipKind, Role, codes,
};
use crate::nhs::NhsNumber;

/// A break-glass reason shorter than this (after trimming) is refused: "emergency" alone
/// tells the reviewer nothing.
pub const MINIMUM_BREAK_GLASS_REASON_CHARACTERS: usize = 10;

/// The roles that may break glass.
pub const BREAK_GLASS_ROLES: [Role; 2] = [Role::Clinician, Role::Nurse];

/// The organisation a caller acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationRef {
    /// Its code (ODS in England).
    pub code: String,
    /// Its type, when known (an organisation neither registered nor typed by the
    /// credentials still matches directives and relationships by its code).
    pub kind: Option<OrganisationType>,
}

/// Who is asking, as authentication established it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The user id.
    pub user: String,
    /// The role.
    pub role: Role,
    /// The organisation the user acts for, if any.
    pub organisation: Option<OrganisationRef>,
    /// The user's own NHS number, for a person reading their own record.
    pub nhs_number: Option<NhsNumber>,
}

codes! {
    /// What the caller wants to do.
    Action {
        /// Read the data.
        Read = "read", "read";
        /// Create, update or delete data.
        Write = "write", "write";
        /// Read, create or change the person's consent directives.
        ManageConsent = "manage-consent", "manage consent directives";
        /// Read who accessed the person's record.
        ReadAccessLog = "read-access-log", "read the access log";
    }
}

/// What part of the person's data the request touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Resource {
    /// Name, identifiers, contact details.
    Demographics,
    /// Clinical data, in these categories (empty for general data).
    Record {
        /// The data's category names.
        categories: Vec<String>,
    },
}

/// A request to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    /// Who is asking.
    pub principal: Principal,
    /// Why.
    pub purpose: Purpose,
    /// To do what.
    pub action: Action,
    /// To which data.
    pub resource: Resource,
    /// The break-glass reason, when the request carries one (possibly empty).
    pub break_glass: Option<String>,
}

/// What the decision needs to know about the person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonFacts {
    /// Their NHS number, if known.
    pub nhs_number: Option<NhsNumber>,
    /// Their care and proxy relationships, past, present and future.
    pub relationships: Vec<Relationship>,
    /// Their consent directives, active or not.
    pub directives: Vec<ConsentDirective>,
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go ahead.
    pub allowed: bool,
    /// Why.
    pub reason: DecisionReason,
    /// Whether it goes ahead only by breaking glass.
    pub break_glass: bool,
}

/// What a role's limit is, when a role is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleLimit {
    /// Administrative staff see demographics, not the record.
    DemographicsOnly,
    /// Consent management and the access log belong to the person.
    PersonAndProxiesOnly,
    /// The role may not use records for research or population health.
    NoSecondaryUse,
}

/// Why break-glass was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakGlassRefusal {
    /// The role may not break glass.
    RoleMayNotBreakGlass {
        /// The caller's role.
        role: Role,
    },
    /// Only reads.
    OnlyReads,
    /// Only for emergency care.
    PurposeMustBeEmergencyCare,
    /// The reason was empty.
    NoReason,
    /// The reason was too short.
    ReasonTooShort {
        /// Its length in characters, trimmed.
        found: usize,
    },
}

impl BreakGlassRefusal {
    /// Why, for people.
    pub fn message(&self) -> String {
        match self {
            BreakGlassRefusal::RoleMayNotBreakGlass { role } => format!(
                "the {} role may not break glass (only clinicians and nurses)",
                role.label()
            ),
            BreakGlassRefusal::OnlyReads => "break-glass allows reading only".to_owned(),
            BreakGlassRefusal::PurposeMustBeEmergencyCare => {
                "break-glass needs the purpose emergency-care".to_owned()
            }
            BreakGlassRefusal::NoReason => {
                "break-glass needs a reason and none was given".to_owned()
            }
            BreakGlassRefusal::ReasonTooShort { found } => format!(
                "a break-glass reason needs at least {MINIMUM_BREAK_GLASS_REASON_CHARACTERS} characters, found {found}"
            ),
        }
    }
}

/// Why a decision went the way it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionReason {
    /// Rule 1.
    Administrator,
    /// Rule 2.
    OwnRecord,
    /// Rule 3.
    ProxyAuthority {
        /// The authority the proxy acts under.
        authority: ProxyAuthority,
    },
    /// Rule 4.
    CareRelationship {
        /// The relationship's kind.
        kind: RelationshipKind,
    },
    /// Rule 7: a permit allowed what rule 4 would not.
    ConsentPermit {
        /// The permit.
        directive: Uuid,
    },
    /// Rule 5.
    SecondaryUse,
    /// Rule 8.
    BreakGlass {
        /// What the decision would have been without it.
        overridden: Box<DecisionReason>,
    },
    /// Rule 2: a person reading someone else's record.
    NotOwnRecord,
    /// Rule 3: no active proxy relationship with an authority.
    NoProxyRelationship,
    /// Rule 3: a delegated proxy managing consent.
    ProxyAuthorityInsufficient {
        /// The authority the proxy has.
        authority: ProxyAuthority,
    },
    /// Rule 4.
    NoCareRelationship,
    /// Rule 7.
    ConsentDeny {
        /// The deny directive.
        directive: Uuid,
    },
    /// Rule 6.
    SensitiveWithoutPermit {
        /// The first category without a permit.
        category: String,
    },
    /// Rules 4, 5, 9.
    RoleNotPermitted {
        /// The caller's role.
        role: Role,
        /// What the role is limited to.
        limit: RoleLimit,
    },
    /// Rules 2 to 4: a purpose the role may not act for.
    PurposeNotPermitted {
        /// The caller's role.
        role: Role,
        /// The purpose asked for.
        purpose: Purpose,
    },
    /// Rule 5: secondary use is read-only.
    ActionNotPermitted {
        /// The action asked for.
        action: Action,
        /// The purpose asked for.
        purpose: Purpose,
    },
    /// Rule 5: secondary use reads the record, never who the person is.
    DemographicsNotForSecondaryUse {
        /// The purpose asked for.
        purpose: Purpose,
    },
    /// Rule 8.
    BreakGlassRefused {
        /// Why break-glass was refused.
        why: BreakGlassRefusal,
        /// Why the request was refused in the first place.
        underlying: Box<DecisionReason>,
    },
}

impl DecisionReason {
    /// The stable code (for audit events, API bodies and tests).
    pub fn code(&self) -> &'static str {
        match self {
            DecisionReason::Administrator => "administrator",
            DecisionReason::OwnRecord => "own-record",
            DecisionReason::ProxyAuthority { .. } => "proxy-authority",
            DecisionReason::CareRelationship { .. } => "care-relationship",
            DecisionReason::ConsentPermit { .. } => "consent-permit",
            DecisionReason::SecondaryUse => "secondary-use",
            DecisionReason::BreakGlass { .. } => "break-glass",
            DecisionReason::NotOwnRecord => "not-own-record",
            DecisionReason::NoProxyRelationship => "no-proxy-relationship",
            DecisionReason::ProxyAuthorityInsufficient { .. } => "proxy-authority-insufficient",
            DecisionReason::NoCareRelationship => "no-care-relationship",
            DecisionReason::ConsentDeny { .. } => "consent-deny",
            DecisionReason::SensitiveWithoutPermit { .. } => "sensitive-without-permit",
            DecisionReason::RoleNotPermitted { .. } => "role-not-permitted",
            DecisionReason::PurposeNotPermitted { .. } => "purpose-not-permitted",
            DecisionReason::ActionNotPermitted { .. } => "action-not-permitted",
            DecisionReason::DemographicsNotForSecondaryUse { .. } => {
                "demographics-not-for-secondary-use"
            }
            DecisionReason::BreakGlassRefused { .. } => "break-glass-refused",
        }
    }

    /// The reason for people, about the caller's rights and never about the data, so that
    /// it may be shown to the caller.
    pub fn message(&self) -> String {
        match self {
            DecisionReason::Administrator => "administrators may access every record".to_owned(),
            DecisionReason::OwnRecord => "a person may access their own record".to_owned(),
            DecisionReason::ProxyAuthority { authority } => {
                format!("acting for the person under {}", authority.label())
            }
            DecisionReason::CareRelationship { kind } => {
                format!("care relationship with the person ({})", kind.label())
            }
            DecisionReason::ConsentPermit { .. } => "the person's consent permits this access".to_owned(),
            DecisionReason::SecondaryUse => {
                "secondary use by a permitted role, with no opt-out in force".to_owned()
            }
            DecisionReason::BreakGlass { .. } => {
                "emergency access (break-glass) with a stated reason: it is audited and shown to the person"
                    .to_owned()
            }
            DecisionReason::NotOwnRecord => "a person may access only their own record".to_owned(),
            DecisionReason::NoProxyRelationship => {
                "the caller has no active proxy authority to act for this person".to_owned()
            }
            DecisionReason::ProxyAuthorityInsufficient { authority } => format!(
                "a proxy acting under {} may read and write but not manage consent",
                authority.label()
            ),
            DecisionReason::NoCareRelationship => {
                "direct and emergency care need an active care relationship with the person, or their consent"
                    .to_owned()
            }
            DecisionReason::ConsentDeny { .. } => "the person's consent directives refuse this access".to_owned(),
            DecisionReason::SensitiveWithoutPermit { .. } => {
                "data in a sensitive category needs the person's explicit permission".to_owned()
            }
            DecisionReason::RoleNotPermitted { role, limit } => match limit {
                RoleLimit::DemographicsOnly => {
                    format!("the {} role may access demographics only", role.label())
                }
                RoleLimit::PersonAndProxiesOnly => {
                    "only the person, their proxy and administrators may manage consent or read the access log"
                        .to_owned()
                }
                RoleLimit::NoSecondaryUse => format!(
                    "the {} role may not use records for research or population health",
                    role.label()
                ),
            },
            DecisionReason::PurposeNotPermitted { role, purpose } => format!(
                "the {} role may not act for the purpose {}",
                role.label(),
                purpose.code()
            ),
            DecisionReason::ActionNotPermitted { action, purpose } => format!(
                "the purpose {} allows reading only, not to {}",
                purpose.code(),
                action.label()
            ),
            DecisionReason::DemographicsNotForSecondaryUse { purpose } => format!(
                "the purpose {} reads records, not who people are (names, identifiers, contact details)",
                purpose.code()
            ),
            DecisionReason::BreakGlassRefused { why, .. } => {
                format!("break-glass refused: {}", why.message())
            }
        }
    }

    /// The details the message leaves out, for the audit trail: directive ids, the category,
    /// what break-glass overrode or why it was asked for.
    fn detail(&self) -> Option<String> {
        match self {
            DecisionReason::ConsentPermit { directive }
            | DecisionReason::ConsentDeny { directive } => Some(format!("directive {directive}")),
            DecisionReason::SensitiveWithoutPermit { category } => {
                Some(format!("category {category}"))
            }
            DecisionReason::BreakGlass { overridden } => {
                Some(format!("overrode {}", overridden.summary()))
            }
            DecisionReason::BreakGlassRefused { underlying, .. } => {
                Some(format!("refused first by {}", underlying.summary()))
            }
            _ => None,
        }
    }

    fn summary(&self) -> String {
        match self.detail() {
            Some(detail) => format!("{} ({detail})", self.code()),
            None => self.code().to_owned(),
        }
    }
}

/// The decision in one line for the audit trail: outcome, code, details and message, for
/// example `deny consent-deny (directive 0b6f…): the person's consent directives refuse
/// this access`.
pub fn explain(decision: &Decision) -> String {
    let outcome = if decision.allowed { "allow" } else { "deny" };
    format!(
        "{outcome} {}: {}",
        decision.reason.summary(),
        decision.reason.message()
    )
}

/// Decides a request by the default policy (the rules in the module documentation).
pub fn decide(
    request: &AccessRequest,
    facts: &PersonFacts,
    categories: &DataCategories,
    now: OffsetDateTime,
) -> Decision {
    let context = Context {
        request,
        facts,
        categories,
        now,
    };
    let refusal = match context.default_decision() {
        Ok(reason) => {
            return Decision {
                allowed: true,
                reason,
                break_glass: false,
            };
        }
        Err(refusal) => refusal,
    };
    let Some(given) = &request.break_glass else {
        return Decision {
            allowed: false,
            reason: refusal,
            break_glass: false,
        };
    };
    match break_glass_refusal(request, given) {
        None => Decision {
            allowed: true,
            reason: DecisionReason::BreakGlass {
                overridden: Box::new(refusal),
            },
            break_glass: true,
        },
        Some(why) => Decision {
            allowed: false,
            reason: DecisionReason::BreakGlassRefused {
                why,
                underlying: Box::new(refusal),
            },
            break_glass: false,
        },
    }
}

fn break_glass_refusal(request: &AccessRequest, given: &str) -> Option<BreakGlassRefusal> {
    let role = request.principal.role;
    if !BREAK_GLASS_ROLES.contains(&role) {
        return Some(BreakGlassRefusal::RoleMayNotBreakGlass { role });
    }
    if request.action != Action::Read {
        return Some(BreakGlassRefusal::OnlyReads);
    }
    if request.purpose != Purpose::EmergencyCare {
        return Some(BreakGlassRefusal::PurposeMustBeEmergencyCare);
    }
    let found = given.trim().chars().count();
    if found == 0 {
        return Some(BreakGlassRefusal::NoReason);
    }
    if found < MINIMUM_BREAK_GLASS_REASON_CHARACTERS {
        return Some(BreakGlassRefusal::ReasonTooShort { found });
    }
    None
}

/// Everything one decision reads, so that the rules below read as rules.
struct Context<'a> {
    request: &'a AccessRequest,
    facts: &'a PersonFacts,
    categories: &'a DataCategories,
    now: OffsetDateTime,
}

type Outcome = Result<DecisionReason, DecisionReason>;

impl Context<'_> {
    fn default_decision(&self) -> Outcome {
        match self.request.principal.role {
            Role::Administrator => Ok(DecisionReason::Administrator),
            Role::Patient => self.person(),
            Role::Proxy => self.proxy(),
            Role::Clinician
            | Role::Nurse
            | Role::CareWorker
            | Role::SystemIntegration
            | Role::AdministrativeStaff => self.professional(),
        }
    }

    fn purpose_not_permitted(&self) -> DecisionReason {
        DecisionReason::PurposeNotPermitted {
            role: self.request.principal.role,
            purpose: self.request.purpose,
        }
    }

    /// Rule 2.
    fn person(&self) -> Outcome {
        let own = match (self.request.principal.nhs_number, self.facts.nhs_number) {
            (Some(caller), Some(person)) => caller == person,
            _ => false,
        };
        if !own {
            return Err(DecisionReason::NotOwnRecord);
        }
        if self.request.purpose != Purpose::OwnAccess {
            return Err(self.purpose_not_permitted());
        }
        Ok(DecisionReason::OwnRecord)
    }

    /// Rule 3.
    fn proxy(&self) -> Outcome {
        let user = &self.request.principal.user;
        // Of several active authorities, the one that may manage consent wins: a parent who
        // was also given a delegation keeps their parental responsibility.
        let authority = self
            .facts
            .relationships
            .iter()
            .filter(|relationship| {
                relationship.kind == RelationshipKind::Proxy
                    && relationship.is_active(self.now)
                    && relationship.professional.as_ref() == Some(user)
            })
            .filter_map(|relationship| relationship.authority)
            .max_by_key(|authority| authority.may_manage_consent());
        let Some(authority) = authority else {
            return Err(DecisionReason::NoProxyRelationship);
        };
        if self.request.purpose != Purpose::OwnAccess {
            return Err(self.purpose_not_permitted());
        }
        match self.request.action {
            Action::ManageConsent if !authority.may_manage_consent() => {
                Err(DecisionReason::ProxyAuthorityInsufficient { authority })
            }
            Action::ManageConsent | Action::ReadAccessLog => {
                Ok(DecisionReason::ProxyAuthority { authority })
            }
            Action::Read | Action::Write => {
                self.refuse_if_denied()?;
                if !authority.may_manage_consent() {
                    self.refuse_sensitive_without_permit()?;
                }
                Ok(DecisionReason::ProxyAuthority { authority })
            }
        }
    }

    /// Rules 4, 5 and 9 for everyone who is neither the person, their proxy nor an
    /// administrator.
    fn professional(&self) -> Outcome {
        let role = self.request.principal.role;
        if matches!(
            self.request.action,
            Action::ManageConsent | Action::ReadAccessLog
        ) {
            return Err(DecisionReason::RoleNotPermitted {
                role,
                limit: RoleLimit::PersonAndProxiesOnly,
            });
        }
        match self.request.purpose {
            Purpose::OwnAccess => Err(self.purpose_not_permitted()),
            Purpose::DirectCare | Purpose::EmergencyCare => self.care(),
            Purpose::Research | Purpose::PopulationHealth => self.secondary_use(),
        }
    }

    /// Rule 4, with rules 6 and 7.
    fn care(&self) -> Outcome {
        let principal = &self.request.principal;
        if principal.role == Role::AdministrativeStaff
            && matches!(self.request.resource, Resource::Record { .. })
        {
            return Err(DecisionReason::RoleNotPermitted {
                role: principal.role,
                limit: RoleLimit::DemographicsOnly,
            });
        }
        self.refuse_if_denied()?;
        let relationship = self.facts.relationships.iter().find(|relationship| {
            relationship.kind != RelationshipKind::Proxy
                && relationship.is_active(self.now)
                && (relationship.professional.as_ref() == Some(&principal.user)
                    || relationship.organisation.as_ref().is_some_and(|code| {
                        principal
                            .organisation
                            .as_ref()
                            .is_some_and(|organisation| &organisation.code == code)
                    }))
        });
        match relationship {
            Some(relationship) => {
                self.refuse_sensitive_without_permit()?;
                Ok(DecisionReason::CareRelationship {
                    kind: relationship.kind,
                })
            }
            None => self.covered_by_permits(),
        }
    }

    /// Rule 5, with rules 6 and 7.
    fn secondary_use(&self) -> Outcome {
        let role = self.request.principal.role;
        if !matches!(role, Role::Clinician | Role::SystemIntegration) {
            return Err(DecisionReason::RoleNotPermitted {
                role,
                limit: RoleLimit::NoSecondaryUse,
            });
        }
        if self.request.action != Action::Read {
            return Err(DecisionReason::ActionNotPermitted {
                action: self.request.action,
                purpose: self.request.purpose,
            });
        }
        if self.request.resource == Resource::Demographics {
            return Err(DecisionReason::DemographicsNotForSecondaryUse {
                purpose: self.request.purpose,
            });
        }
        self.refuse_if_denied()?;
        self.refuse_sensitive_without_permit()?;
        Ok(DecisionReason::SecondaryUse)
    }

    /// The directives of this decision that apply to the caller and purpose now.
    fn applicable(&self, decision: ConsentDecision) -> impl Iterator<Item = &ConsentDirective> {
        self.facts.directives.iter().filter(move |directive| {
            directive.decision == decision
                && directive.applies_to(&self.request.principal, self.request.purpose, self.now)
        })
    }

    fn data_categories(&self) -> &[String] {
        match &self.request.resource {
            Resource::Demographics => &[],
            Resource::Record { categories } => categories,
        }
    }

    /// Rule 7's deny.
    fn refuse_if_denied(&self) -> Result<(), DecisionReason> {
        let data_categories = self.data_categories();
        let deny = self.applicable(ConsentDecision::Deny).find(|directive| {
            directive.categories.is_empty()
                || data_categories
                    .iter()
                    .any(|category| directive.names_category(category))
        });
        match deny {
            Some(directive) => Err(DecisionReason::ConsentDeny {
                directive: directive.id,
            }),
            None => Ok(()),
        }
    }

    /// Rule 6: reads of sensitive data need a permit naming each sensitive category.
    fn refuse_sensitive_without_permit(&self) -> Result<(), DecisionReason> {
        if self.request.action != Action::Read {
            return Ok(());
        }
        for category in self.data_categories() {
            if self.categories.is_sensitive(category)
                && !self
                    .applicable(ConsentDecision::Permit)
                    .any(|directive| directive.names_category(category))
            {
                return Err(DecisionReason::SensitiveWithoutPermit {
                    category: category.clone(),
                });
            }
        }
        Ok(())
    }

    /// Rule 7's permit, without a care relationship: every part of the data covered.
    fn covered_by_permits(&self) -> Outcome {
        let mut permits = self.applicable(ConsentDecision::Permit).peekable();
        let Some(first) = permits.peek() else {
            return Err(DecisionReason::NoCareRelationship);
        };
        let first = first.id;
        let permits: Vec<&ConsentDirective> = permits.collect();
        match &self.request.resource {
            Resource::Demographics => Ok(DecisionReason::ConsentPermit { directive: first }),
            Resource::Record { categories } if categories.is_empty() => permits
                .iter()
                .find(|directive| directive.categories.is_empty())
                .map(|directive| DecisionReason::ConsentPermit {
                    directive: directive.id,
                })
                .ok_or(DecisionReason::NoCareRelationship),
            Resource::Record { categories } => {
                let mut covering = None;
                for category in categories {
                    let sensitive = self.categories.is_sensitive(category);
                    let permit = permits.iter().find(|directive| {
                        if sensitive {
                            directive.names_category(category)
                        } else {
                            directive.covers_category(category)
                        }
                    });
                    match permit {
                        Some(permit) => {
                            if covering.is_none() {
                                covering = Some(permit.id);
                            }
                        }
                        None if sensitive => {
                            return Err(DecisionReason::SensitiveWithoutPermit {
                                category: category.clone(),
                            });
                        }
                        None => return Err(DecisionReason::NoCareRelationship),
                    }
                }
                Ok(DecisionReason::ConsentPermit {
                    directive: covering.unwrap_or(first),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
