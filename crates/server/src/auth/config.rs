//! The authentication configuration file (`kith serve --auth-config`): trusted token issuers
//! with their claim mapping, HTTP Basic users, and the timing of key fetches.
//!
//! The file is JSON; unknown fields are refused so that a misspelt setting in a security
//! configuration fails at start instead of being silently ignored. docs/authentication.md
//! documents the shape.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The default clock leeway for `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// How long fetched keys are used before they are fetched again.
pub const DEFAULT_KEY_CACHE: Duration = Duration::from_secs(3600);
/// The longest a discovery or key set fetch may take.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest time between two fetches that a token naming an unknown key (or a failed
/// fetch) may cause, so that tokens with made-up key ids cannot hammer the issuer.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// Everything `kith serve --auth-config FILE` configures.
#[derive(Debug, Clone)]
pub struct AuthenticationConfig {
    pub issuers: Vec<IssuerConfig>,
    pub users: Vec<BasicUserConfig>,
    /// Allowed clock difference when checking `exp` and `nbf`.
    pub leeway: Duration,
    /// How long keys fetched from an issuer are used before they are fetched again.
    pub key_cache: Duration,
    /// The longest a discovery document or key set fetch may take.
    pub fetch_timeout: Duration,
    /// The shortest time between fetches caused by an unknown key id or a failed fetch.
    pub refetch_interval: Duration,
}

impl Default for AuthenticationConfig {
    fn default() -> Self {
        AuthenticationConfig {
            issuers: Vec::new(),
            users: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            key_cache: DEFAULT_KEY_CACHE,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            refetch_interval: DEFAULT_REFETCH_INTERVAL,
        }
    }
}

/// One trusted OpenID Connect (or plain JWT) issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerConfig {
    /// The exact `iss` value of its tokens.
    pub issuer: String,
    /// The value its tokens' `aud` must contain.
    pub audience: String,
    pub keys: KeySource,
    /// The signature algorithms accepted from it (a subset of RS256, ES256, EdDSA).
    pub algorithms: Vec<String>,
    pub claims: ClaimNames,
    /// The issuer's role values (for example "R8000" or "doctor") to Kith role codes. Empty:
    /// the role claim holds Kith role codes.
    pub roles: BTreeMap<String, String>,
    /// Put before the user claim's value to make the caller's user id (`cis2:` makes claim
    /// `555123` the user `cis2:555123`), so that one issuer cannot name another's users.
    /// Empty: no prefix, which at most one issuer may have.
    pub user_prefix: String,
}

/// Where an issuer's public keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `{issuer}/.well-known/openid-configuration`, then its `jwks_uri`.
    Discovery,
    /// A JWKS at this URL.
    JwksUri(String),
    /// A JWKS in this file (for networks without access to the issuer); read at start and
    /// again when the key cache expires, so replacing the file rotates keys.
    JwksFile(PathBuf),
}

/// The claims that carry who the caller is. Each is a claim name, or a dotted path into
/// nested objects (`realm_access.roles`); a name that exists as written at the top level
/// wins over the dotted reading, so URL-shaped claim names work too.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimNames {
    pub user: String,
    pub role: String,
    pub organisation: String,
    pub organisation_type: String,
    pub nhs_number: String,
    pub purpose: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            user: "sub".into(),
            role: "kith_role".into(),
            organisation: "kith_org".into(),
            organisation_type: "kith_org_type".into(),
            nhs_number: "kith_nhs_number".into(),
            purpose: "kith_purpose".into(),
        }
    }
}

/// A user who signs in with HTTP Basic.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicUserConfig {
    pub user: String,
    /// A PHC string from Argon2id (`kith hash-password` prints one).
    pub password_hash: String,
    /// A Kith role code.
    pub role: String,
    pub organisation: Option<String>,
    pub organisation_type: Option<String>,
    /// A purpose fixed for this user, as a token's purpose claim would fix it.
    pub purpose: Option<String>,
}

/// Why the authentication configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("cannot read the authentication configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the authentication configuration {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the authentication configuration is not valid: {0}")]
    Invalid(String),
    #[error("the key set of issuer {issuer} is not usable: {message}")]
    KeySet { issuer: String, message: String },
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    issuers: Vec<IssuerShape>,
    #[serde(default)]
    users: Vec<BasicUserConfig>,
    leeway_seconds: Option<u64>,
    key_cache_seconds: Option<u64>,
    fetch_timeout_seconds: Option<u64>,
    refetch_interval_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerShape {
    issuer: String,
    audience: String,
    #[serde(default)]
    discovery: bool,
    jwks_uri: Option<String>,
    jwks_file: Option<PathBuf>,
    algorithms: Option<Vec<String>>,
    #[serde(default)]
    claims: ClaimNames,
    #[serde(default)]
    roles: BTreeMap<String, String>,
    #[serde(default)]
    user_prefix: String,
}

/// The algorithms Kith accepts at all: asymmetric only, so that no shared secret exists and
/// a public key can never be used as an HMAC secret; `none` never.
pub const SUPPORTED_ALGORITHMS: &[&str] = &["RS256", "ES256", "EdDSA"];

impl AuthenticationConfig {
    /// Reads the file; a relative `jwks_file` is taken from the file's directory.
    pub fn from_file(path: &Path) -> Result<AuthenticationConfig, AuthConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Parses the file's text; `path` names it in errors, and a relative `jwks_file` is
    /// taken from its directory.
    pub fn from_json(text: &str, path: &Path) -> Result<AuthenticationConfig, AuthConfigError> {
        let shape: FileShape =
            serde_json::from_str(text).map_err(|source| AuthConfigError::Parse {
                path: path.to_owned(),
                source,
            })?;
        let directory = path.parent().unwrap_or(Path::new("."));
        let defaults = AuthenticationConfig::default();
        let seconds = |value: Option<u64>, default: Duration| {
            value.map(Duration::from_secs).unwrap_or(default)
        };
        let issuers = shape
            .issuers
            .into_iter()
            .map(|issuer| issuer.resolve(directory))
            .collect::<Result<Vec<_>, _>>()?;
        check_user_prefixes(&issuers)?;
        Ok(AuthenticationConfig {
            issuers,
            users: shape.users,
            leeway: seconds(shape.leeway_seconds, defaults.leeway),
            key_cache: seconds(shape.key_cache_seconds, defaults.key_cache),
            fetch_timeout: seconds(shape.fetch_timeout_seconds, defaults.fetch_timeout),
            refetch_interval: seconds(shape.refetch_interval_seconds, defaults.refetch_interval),
        })
    }
}

impl IssuerShape {
    fn resolve(self, directory: &Path) -> Result<IssuerConfig, AuthConfigError> {
        let invalid = |message: String| AuthConfigError::Invalid(message);
        let keys = match (self.discovery, self.jwks_uri, self.jwks_file) {
            (true, None, None) => KeySource::Discovery,
            (false, Some(uri), None) => KeySource::JwksUri(uri),
            (false, None, Some(file)) => KeySource::JwksFile(directory.join(file)),
            _ => {
                return Err(invalid(format!(
                    "issuer {} needs exactly one of discovery: true, jwks_uri or jwks_file",
                    self.issuer
                )));
            }
        };
        let algorithms = self.algorithms.unwrap_or_else(|| {
            SUPPORTED_ALGORITHMS
                .iter()
                .map(|name| (*name).to_owned())
                .collect()
        });
        Ok(IssuerConfig {
            issuer: self.issuer,
            audience: self.audience,
            keys,
            algorithms,
            claims: self.claims,
            roles: self.roles,
            user_prefix: self.user_prefix,
        })
    }
}

/// Refuses issuers whose user ids could meet: access rules name professionals by user id,
/// so an issuer able to issue another issuer's user ids could act as that issuer's users.
/// Two prefixes must therefore differ and neither may begin the other (`a:` and `a:b:`
/// meet at `a:b:c`, which is user `b:c` of the first and `c` of the second). The empty
/// prefix begins every other, so it is allowed once, and the token verifier refuses that
/// issuer's user ids that begin with another issuer's prefix instead. Local tokens and
/// Basic users are configured by whoever runs the server and are not checked here.
pub(crate) fn check_user_prefixes(issuers: &[IssuerConfig]) -> Result<(), AuthConfigError> {
    for issuer in issuers {
        if issuer
            .user_prefix
            .chars()
            .any(|character| character.is_whitespace() || character.is_control())
        {
            return Err(AuthConfigError::Invalid(format!(
                "issuer {}: user_prefix {:?} contains whitespace or a control character",
                issuer.issuer, issuer.user_prefix
            )));
        }
    }
    for (index, first) in issuers.iter().enumerate() {
        for second in &issuers[index + 1..] {
            let (one, other) = (&first.user_prefix, &second.user_prefix);
            let problem = if first.issuer == second.issuer {
                // An issuer listed twice is refused as such when the issuers are trusted.
                continue;
            } else if one.is_empty() && other.is_empty() {
                "both have no user_prefix; at most one issuer may go without one".to_owned()
            } else if one.is_empty() || other.is_empty() {
                continue;
            } else if one == other {
                format!("have the same user_prefix {one:?}")
            } else if one.starts_with(other.as_str()) || other.starts_with(one.as_str()) {
                let (shorter, longer) = if one.len() < other.len() {
                    (one, other)
                } else {
                    (other, one)
                };
                format!(
                    "have user prefixes {shorter:?} and {longer:?}, and the first begins the second, so their user ids could meet"
                )
            } else {
                continue;
            };
            return Err(AuthConfigError::Invalid(format!(
                "issuers {} and {} {problem}",
                first.issuer, second.issuer
            )));
        }
    }
    Ok(())
}

/// Whether a URL may be used to fetch keys: HTTPS, or plain HTTP only to this machine (a
/// key set fetched in clear text over a network could be replaced on the way).
pub(crate) fn check_fetch_url(url: &str) -> Result<axum::http::Uri, String> {
    let uri: axum::http::Uri = url
        .parse()
        .map_err(|error| format!("{url} is not a url: {error}"))?;
    let host = uri.host().unwrap_or_default();
    match uri.scheme_str() {
        Some("https") if !host.is_empty() => Ok(uri),
        Some("http") if is_loopback(host) => Ok(uri),
        Some("http") => Err(format!(
            "{url} must use https (plain http is allowed only for localhost)"
        )),
        _ => Err(format!("{url} is not an https url")),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_shape() {
        let text = r#"{
            "leeway_seconds": 30,
            "issuers": [
                {"issuer": "https://id.example/realms/kith", "audience": "kith", "discovery": true,
                 "algorithms": ["RS256"], "claims": {"user": "preferred_username", "role": "realm_access.roles"},
                 "roles": {"doctor": "clinician"}},
                {"issuer": "https://cis2.example", "audience": "kith-app", "jwks_file": "keys/cis2.json",
                 "user_prefix": "cis2:"}
            ],
            "users": [{"user": "ehrbase", "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "role": "system", "organisation": "RRV"}]
        }"#;
        let config =
            AuthenticationConfig::from_json(text, Path::new("/etc/kith/auth.json")).unwrap();
        assert_eq!(config.leeway, Duration::from_secs(30));
        assert_eq!(config.key_cache, DEFAULT_KEY_CACHE);
        assert_eq!(config.issuers[0].keys, KeySource::Discovery);
        assert_eq!(config.issuers[0].claims.user, "preferred_username");
        assert_eq!(config.issuers[0].claims.nhs_number, "kith_nhs_number");
        assert_eq!(
            config.issuers[1].keys,
            KeySource::JwksFile(PathBuf::from("/etc/kith/keys/cis2.json"))
        );
        assert_eq!(config.issuers[1].algorithms, SUPPORTED_ALGORITHMS);
        assert_eq!(config.issuers[0].user_prefix, "");
        assert_eq!(config.issuers[1].user_prefix, "cis2:");
        assert_eq!(config.users[0].organisation.as_deref(), Some("RRV"));
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for (text, expected) in [
            (
                r#"{"issuers": [{"issuer": "x", "audience": "a"}]}"#,
                "needs exactly one of",
            ),
            (
                r#"{"issuers": [{"issuer": "x", "audience": "a", "discovery": true, "jwks_uri": "https://x/k"}]}"#,
                "needs exactly one of",
            ),
            (
                r#"{"issuers": [{"issuer": "x", "audience": "a", "discovery": true, "audiense": "b"}]}"#,
                "unknown field `audiense`",
            ),
            (r#"{"leeway": 5}"#, "unknown field `leeway`"),
        ] {
            let error = AuthenticationConfig::from_json(text, Path::new("auth.json"))
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    /// A configuration file with these issuers, each `(issuer, user_prefix)`; a prefix of
    /// None leaves the key out.
    fn with_prefixes(issuers: &[(&str, Option<&str>)]) -> Result<AuthenticationConfig, String> {
        let issuers: Vec<serde_json::Value> = issuers
            .iter()
            .map(|(issuer, prefix)| {
                let mut value = serde_json::json!({
                    "issuer": issuer, "audience": "kith", "discovery": true
                });
                if let Some(prefix) = prefix {
                    value["user_prefix"] = (*prefix).into();
                }
                value
            })
            .collect();
        let text = serde_json::json!({ "issuers": issuers }).to_string();
        AuthenticationConfig::from_json(&text, Path::new("auth.json"))
            .map_err(|error| error.to_string())
    }

    #[test]
    fn a_configuration_built_in_code_is_checked_too() {
        let mut config = with_prefixes(&[
            ("https://a.example", None),
            ("https://b.example", Some("b:")),
        ])
        .expect("a valid file");
        config.issuers[1].user_prefix = String::new();
        let refused = crate::auth::Authenticator::new(&config, None)
            .err()
            .expect("two issuers without a prefix are refused")
            .to_string();
        assert!(
            refused.contains("at most one issuer may go without one"),
            "{refused}"
        );
    }

    #[test]
    fn reads_user_prefixes_that_keep_issuers_apart() {
        let config = with_prefixes(&[
            ("https://keycloak.example", None),
            ("https://cis2.example", Some("cis2:")),
            ("https://login.example", Some("nhs-login:")),
        ])
        .unwrap();
        let prefixes: Vec<&str> = config
            .issuers
            .iter()
            .map(|issuer| issuer.user_prefix.as_str())
            .collect();
        assert_eq!(prefixes, ["", "cis2:", "nhs-login:"]);
        // One issuer alone needs no prefix, and an empty one is no prefix.
        assert!(with_prefixes(&[("https://a.example", None)]).is_ok());
        assert!(
            with_prefixes(&[
                ("https://a.example", Some("")),
                ("https://b.example", Some("b:"))
            ])
            .is_ok()
        );
        // Sharing a beginning is not beginning one another.
        assert!(
            with_prefixes(&[
                ("https://a.example", Some("a:x:")),
                ("https://b.example", Some("a:y:"))
            ])
            .is_ok()
        );
    }

    #[test]
    fn refuses_user_prefixes_that_let_issuers_meet() {
        let (a, b) = ("https://a.example", "https://b.example");
        for (issuers, expected) in [
            (
                vec![(a, None), (b, None)],
                "both have no user_prefix; at most one issuer may go without one",
            ),
            (
                vec![(a, Some("")), (b, None)],
                "both have no user_prefix; at most one issuer may go without one",
            ),
            (
                vec![(a, Some("x:")), (b, Some("x:"))],
                "have the same user_prefix \"x:\"",
            ),
            (
                vec![(a, Some("a:")), (b, Some("a:b:"))],
                "have user prefixes \"a:\" and \"a:b:\", and the first begins the second",
            ),
            (
                vec![(a, Some("a:b:")), (b, Some("a:"))],
                "have user prefixes \"a:\" and \"a:b:\", and the first begins the second",
            ),
        ] {
            let error = with_prefixes(&issuers).unwrap_err();
            assert!(
                error.contains(&format!("issuers {a} and {b} {expected}")),
                "{issuers:?}: {error}"
            );
        }
        // A third issuer meeting the second is named with it.
        let error = with_prefixes(&[
            (a, None),
            (b, Some("b:")),
            ("https://c.example", Some("b:")),
        ])
        .unwrap_err();
        assert!(
            error.contains("issuers https://b.example and https://c.example have the same"),
            "{error}"
        );
        for prefix in ["a :", " a:", "a:\t", "a:\n", "a\u{00a0}:", "a\u{0007}:"] {
            let error = with_prefixes(&[(a, Some(prefix))]).unwrap_err();
            assert!(
                error.contains(&format!(
                    "issuer {a}: user_prefix {prefix:?} contains whitespace or a control character"
                )),
                "{prefix:?}: {error}"
            );
        }
    }

    #[test]
    fn fetches_only_over_https_or_from_this_machine() {
        for (url, allowed) in [
            ("https://id.example/jwks", true),
            ("http://127.0.0.1:8081/jwks", true),
            ("http://localhost/jwks", true),
            ("http://[::1]:80/jwks", true),
            ("http://id.example/jwks", false),
            ("ftp://id.example/jwks", false),
            ("not a url", false),
        ] {
            assert_eq!(check_fetch_url(url).is_ok(), allowed, "{url}");
        }
    }
}
