//! Authentication: who is calling. Every route outside `/health` and `/rest/status` sits
//! behind [`require_caller`]; handlers that touch the record take a [`Caller`], which only
//! that middleware can have put in the request.
//!
//! A caller proves who they are with the administrator's token, a bearer JWT from a trusted
//! issuer (configured OpenID Connect issuers, and Kith's own local tokens), or HTTP Basic
//! for configured users. The request adds why it asks (`Kith-Purpose`, unless the
//! credentials fix the purpose) and, in an emergency, `Kith-Break-Glass: <reason>`. What the
//! caller may then do is the access policy's business, not this module's.
//!
//! Every refusal is logged with its reason (and the issuer and key id where known), never
//! with the token or password.

mod basic;
mod claims;
pub mod config;
mod fetch;
mod jwt;
mod keys;
pub mod local;

use std::collections::HashMap;

use access::{OrganisationType, Purpose, Role};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub use basic::hash_password;
pub use config::{AuthConfigError, AuthenticationConfig};
pub use local::{LocalSigningKey, LocalToken, LocalTokenError};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use claims::Identity;
use jwt::{TokenVerifier, TrustedIssuer};
use keys::KeyTiming;

/// The request header naming the purpose of use, as an `access::Purpose` code.
pub const PURPOSE_HEADER: &str = "kith-purpose";
/// The request header carrying the reason for an emergency (break-glass) access.
pub const BREAK_GLASS_HEADER: &str = "kith-break-glass";
/// The longest break-glass reason accepted: a sentence or two, kept in the audit trail.
pub const LONGEST_BREAK_GLASS_REASON: usize = 1000;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user id recorded as committer when the client names none.
    pub user: String,
    /// True exactly when `role` is [`Role::Administrator`].
    pub is_admin: bool,
    pub role: Role,
    /// The caller's organisation code (for example an ODS code), when the credentials say.
    pub organisation: Option<String>,
    pub organisation_type: Option<OrganisationType>,
    /// The caller's own NHS number (10 digits), for the patient role.
    pub nhs_number: Option<String>,
    /// Why the caller asks: fixed by the credentials, else the `Kith-Purpose` header, else
    /// None and the access policy chooses a default for the role.
    pub purpose: Option<Purpose>,
    /// The trimmed `Kith-Break-Glass` reason; what it allows is the policy's decision.
    pub break_glass: Option<String>,
    pub method: AuthMethod,
}

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// The administrator's token (`KITH_ADMIN_TOKEN` or `<data-dir>/admin-token`).
    AdminToken,
    /// A JWT from this issuer (`kith:<system-id>` for local tokens).
    Bearer { issuer: String },
    /// HTTP Basic, for a user of the authentication configuration.
    Basic,
}

impl Caller {
    fn new(identity: Identity, purpose: Option<Purpose>, break_glass: Option<String>) -> Caller {
        Caller {
            user: identity.user,
            is_admin: identity.role == Role::Administrator,
            role: identity.role,
            organisation: identity.organisation,
            organisation_type: identity.organisation_type,
            nhs_number: identity.nhs_number,
            purpose,
            break_glass,
            method: identity.method,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Present only when `require_caller` authenticated the request; a route mounted
        // outside it cannot obtain a caller, so it cannot reach the record.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "authentication is required"))
    }
}

/// An administrator: the caller of the admin API.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if !caller.is_admin {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "this operation needs the administrator role",
            ));
        }
        Ok(Admin(caller))
    }
}

/// Why a request was not let in. The message names the class of problem for the client;
/// [`Refusal::reason`] names it for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("credentials are required (authorization: bearer <token>, or basic)")]
    MissingCredentials,
    #[error("the authorization header is not bearer or basic credentials")]
    UnreadableAuthorization,
    #[error("the bearer token is not valid")]
    UnknownToken,
    #[error("the bearer token is not a well-formed jwt")]
    MalformedToken,
    #[error("the token's issuer is not trusted")]
    UntrustedIssuer,
    #[error("the token's signing algorithm {0:?} is not accepted")]
    AlgorithmNotAccepted(String),
    #[error("the token names no key id (kid)")]
    MissingKeyId,
    #[error("the token's key id is not one of its issuer's keys")]
    UnknownKey,
    #[error("the keys of the token's issuer cannot be fetched; try again later")]
    KeysUnavailable,
    #[error("the token's algorithm is not the one its key is for")]
    AlgorithmMismatch,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the bearer token has expired")]
    Expired,
    #[error("the bearer token is not valid yet")]
    NotYetValid,
    #[error("the token is not meant for this server (audience)")]
    WrongAudience,
    #[error("the token has no {0} claim")]
    MissingClaim(String),
    #[error("the token's {claim} claim is not valid: {problem}")]
    InvalidClaim { claim: String, problem: String },
    #[error("http basic authentication is not configured")]
    BasicNotConfigured,
    #[error("the user name or password is wrong")]
    WrongPassword { user_exists: bool },
    #[error("the credentials give the caller no kith role")]
    NoRole,
    #[error("a token for the patient role must carry the patient's nhs number")]
    PatientWithoutNhsNumber,
    #[error(
        "the credentials fix the purpose {fixed}; the kith-purpose header cannot change it to {asked}"
    )]
    PurposeConflict { fixed: Purpose, asked: Purpose },
    #[error("the kith-purpose header names an unknown purpose {0:?} (known: {known})", known = purpose_codes())]
    UnknownPurpose(String),
    #[error(
        "secondary use ({0}) must be granted by the credentials (a purpose claim), not asked for in a header"
    )]
    SecondaryUseNotGranted(Purpose),
    #[error("the {0} header must be given once")]
    RepeatedHeader(&'static str),
    #[error(
        "the kith-break-glass reason must be utf-8 text of at most {LONGEST_BREAK_GLASS_REASON} bytes"
    )]
    UnreadableBreakGlass,
}

fn purpose_codes() -> String {
    Purpose::ALL
        .iter()
        .map(|purpose| purpose.code())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Refusal {
    /// A stable name for the log.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::MissingCredentials => "missing_credentials",
            Refusal::UnreadableAuthorization => "unreadable_authorization",
            Refusal::UnknownToken => "unknown_token",
            Refusal::MalformedToken => "malformed_token",
            Refusal::UntrustedIssuer => "untrusted_issuer",
            Refusal::AlgorithmNotAccepted(_) => "algorithm_not_accepted",
            Refusal::MissingKeyId => "missing_key_id",
            Refusal::UnknownKey => "unknown_key_id",
            Refusal::KeysUnavailable => "issuer_keys_unavailable",
            Refusal::AlgorithmMismatch => "algorithm_mismatch",
            Refusal::BadSignature => "bad_signature",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::WrongAudience => "wrong_audience",
            Refusal::MissingClaim(_) => "missing_claim",
            Refusal::InvalidClaim { .. } => "invalid_claim",
            Refusal::BasicNotConfigured => "basic_not_configured",
            Refusal::WrongPassword { user_exists: true } => "wrong_password",
            Refusal::WrongPassword { user_exists: false } => "unknown_user",
            Refusal::NoRole => "no_role",
            Refusal::PatientWithoutNhsNumber => "patient_without_nhs_number",
            Refusal::PurposeConflict { .. } => "purpose_conflict",
            Refusal::UnknownPurpose(_) => "unknown_purpose",
            Refusal::SecondaryUseNotGranted(_) => "secondary_use_not_granted",
            Refusal::RepeatedHeader(_) => "repeated_header",
            Refusal::UnreadableBreakGlass => "unreadable_break_glass",
        }
    }

    /// 401 when the credentials do not prove who the caller is; 403 when they do, but
    /// give no usable role or forbid what the request asks; 400 for a bad request header.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Refusal::NoRole
            | Refusal::PatientWithoutNhsNumber
            | Refusal::PurposeConflict { .. }
            | Refusal::SecondaryUseNotGranted(_) => ErrorCode::Forbidden,
            Refusal::UnknownPurpose(_)
            | Refusal::RepeatedHeader(_)
            | Refusal::UnreadableBreakGlass => ErrorCode::InvalidHeader,
            _ => ErrorCode::Unauthorized,
        }
    }
}

/// A refusal with what the log should say about it.
#[derive(Debug)]
pub(crate) struct Refused {
    pub refusal: Refusal,
    /// The token's issuer (as the token claims it), where known.
    pub issuer: Option<String>,
    pub key_id: Option<String>,
    /// The Basic user, when it exists.
    pub user: Option<String>,
}

impl From<Refusal> for Refused {
    fn from(refusal: Refusal) -> Refused {
        Refused {
            refusal,
            issuer: None,
            key_id: None,
            user: None,
        }
    }
}

impl Refused {
    fn log(&self, path: &str) {
        // Values from the request are logged with Debug formatting, which escapes control
        // characters, and cut short: a token cannot write lines into the log.
        let short = |value: &Option<String>| {
            value
                .as_deref()
                .map(|value| value.chars().take(200).collect::<String>())
        };
        tracing::info!(
            reason = self.refusal.reason(),
            issuer = ?short(&self.issuer),
            kid = ?short(&self.key_id),
            user = ?short(&self.user),
            path,
            "refused a request: {}",
            self.refusal
        );
    }
}

/// Checks credentials: the trusted issuers and their keys, the Basic users.
pub struct Authenticator {
    tokens: TokenVerifier,
    basic: basic::BasicUsers,
}

impl Default for Authenticator {
    /// Only the administrator's token: no issuer, no local tokens, no Basic users.
    fn default() -> Self {
        let config = AuthenticationConfig::default();
        Authenticator {
            tokens: verifier(&config, HashMap::new()),
            basic: basic::BasicUsers::default(),
        }
    }
}

fn verifier(
    config: &AuthenticationConfig,
    issuers: HashMap<String, TrustedIssuer>,
) -> TokenVerifier {
    TokenVerifier {
        issuers,
        leeway: config.leeway.as_secs(),
        timing: KeyTiming {
            cache: config.key_cache,
            refetch_interval: config.refetch_interval,
        },
        fetcher: fetch::Fetcher::new(config.fetch_timeout),
        verified: jwt::VerifiedTokens::default(),
    }
}

impl Authenticator {
    /// Trusts the configured issuers and users, and with `local` the tokens signed by the
    /// data directory's key for this system id. Key sets from files are read now; those at
    /// URLs are fetched when the first token from their issuer arrives, so that the server
    /// starts without the network.
    pub fn new(
        config: &AuthenticationConfig,
        local: Option<(&str, &LocalSigningKey)>,
    ) -> Result<Authenticator, AuthConfigError> {
        // Checked here too, for configurations built in code rather than read from a file.
        config::check_user_prefixes(&config.issuers)?;
        let mut issuers = HashMap::new();
        if let Some((system_id, key)) = local {
            let issuer = TrustedIssuer::local(system_id, key);
            issuers.insert(issuer.name().to_owned(), issuer);
        }
        for issuer_config in &config.issuers {
            let issuer = TrustedIssuer::configured(issuer_config)?;
            if issuers.insert(issuer.name().to_owned(), issuer).is_some() {
                return Err(AuthConfigError::Invalid(format!(
                    "issuer {} is configured twice (or is the local tokens' issuer)",
                    issuer_config.issuer
                )));
            }
        }
        Ok(Authenticator {
            tokens: verifier(config, issuers),
            basic: basic::BasicUsers::configured(&config.users)?,
        })
    }

    /// The issuers whose tokens are accepted, sorted, for the start-up log.
    pub fn trusted_issuers(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tokens.issuers.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The caller the request's credentials and headers describe.
    pub(crate) async fn authenticate(
        &self,
        admin_token: &str,
        headers: &HeaderMap,
    ) -> Result<Caller, Refused> {
        let identity = self.identify(admin_token, headers).await?;
        let issuer = match &identity.method {
            AuthMethod::Bearer { issuer } => Some(issuer.clone()),
            AuthMethod::AdminToken | AuthMethod::Basic => None,
        };
        let (purpose, break_glass) =
            request_headers(&identity, headers).map_err(|refusal| Refused {
                refusal,
                issuer,
                key_id: None,
                user: None,
            })?;
        Ok(Caller::new(identity, purpose, break_glass))
    }

    async fn identify(&self, admin_token: &str, headers: &HeaderMap) -> Result<Identity, Refused> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(Refused::from(
                if headers.contains_key(header::AUTHORIZATION) {
                    Refusal::RepeatedHeader("authorization")
                } else {
                    Refusal::MissingCredentials
                },
            ));
        };
        let value = value
            .to_str()
            .map_err(|_| Refused::from(Refusal::UnreadableAuthorization))?;
        let (scheme, credentials) = value
            .trim()
            .split_once(' ')
            .ok_or_else(|| Refused::from(Refusal::UnreadableAuthorization))?;
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            // An empty administrator token (a process that serves no requests) matches nothing.
            if !admin_token.is_empty()
                && constant_time_equal(credentials.as_bytes(), admin_token.as_bytes())
            {
                return Ok(Identity {
                    user: "admin".to_owned(),
                    role: Role::Administrator,
                    organisation: None,
                    organisation_type: None,
                    nhs_number: None,
                    purpose: None,
                    method: AuthMethod::AdminToken,
                });
            }
            if !jwt::looks_like_jwt(credentials) {
                return Err(Refused::from(Refusal::UnknownToken));
            }
            return self.tokens.verify(credentials).await;
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = STANDARD
                .decode(credentials)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| Refused::from(Refusal::UnreadableAuthorization))?;
            let (user, password) = decoded
                .split_once(':')
                .ok_or_else(|| Refused::from(Refusal::UnreadableAuthorization))?;
            return self
                .basic
                .verify(user, password)
                .await
                .map_err(|refusal| Refused {
                    // A user name is not a secret, but an unknown one may be a password
                    // typed into the wrong field: only known names are logged.
                    user: matches!(refusal, Refusal::WrongPassword { user_exists: true })
                        .then(|| user.to_owned()),
                    refusal,
                    issuer: None,
                    key_id: None,
                });
        }
        Err(Refused::from(Refusal::UnreadableAuthorization))
    }
}

/// The purpose (the credentials' own, else the header's) and the break-glass reason.
fn request_headers(
    identity: &Identity,
    headers: &HeaderMap,
) -> Result<(Option<Purpose>, Option<String>), Refusal> {
    let single = |name: &'static str| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (value, None) => Ok(value),
            _ => Err(Refusal::RepeatedHeader(name)),
        }
    };
    let asked = match single(PURPOSE_HEADER)? {
        Some(value) => {
            let text = String::from_utf8_lossy(value.as_bytes()).trim().to_owned();
            let code: String = text.chars().take(100).collect();
            Some(Purpose::from_code(&text).ok_or(Refusal::UnknownPurpose(code))?)
        }
        None => None,
    };
    let purpose = match (identity.purpose, asked) {
        (Some(fixed), Some(asked)) if fixed != asked => {
            return Err(Refusal::PurposeConflict { fixed, asked });
        }
        // Research and population health open records without a care relationship, so
        // only an issuer (or `kith token --purpose`) grants them: a header cannot.
        (None, Some(asked @ (Purpose::Research | Purpose::PopulationHealth))) => {
            return Err(Refusal::SecondaryUseNotGranted(asked));
        }
        (Some(fixed), _) => Some(fixed),
        (None, asked) => asked,
    };
    let break_glass = match single(BREAK_GLASS_HEADER)? {
        Some(value) => {
            let reason = std::str::from_utf8(value.as_bytes())
                .map_err(|_| Refusal::UnreadableBreakGlass)?
                .trim();
            if reason.len() > LONGEST_BREAK_GLASS_REASON {
                return Err(Refusal::UnreadableBreakGlass);
            }
            (!reason.is_empty()).then(|| reason.to_owned())
        }
        None => None,
    };
    Ok((purpose, break_glass))
}

/// Compares secrets in time independent of where they differ.
fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    left.iter()
        .zip(right)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// Authenticates the request; answers 401 (or 403, or 400 for a bad purpose or break-glass
/// header) without putting a [`Caller`] in it.
pub async fn require_caller(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let authenticated = state
        .config
        .authentication
        .authenticate(&state.config.admin_token, request.headers())
        .await;
    match authenticated {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(refused) => {
            refused.log(request.uri().path());
            ApiError::new(refused.refusal.error_code(), refused.refusal.to_string()).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_equal;

    #[test]
    fn compares_secrets() {
        assert!(constant_time_equal(b"abc", b"abc"));
        assert!(!constant_time_equal(b"abc", b"abd"));
        assert!(!constant_time_equal(b"abc", b"abcd"));
        assert!(constant_time_equal(b"", b""));
    }
}
