//! Bearer JWTs: which issuer, which key, which algorithm, then signature and claims.
//!
//! The order matters. The unverified payload is read only for `iss`, to choose the issuer's
//! key set; the header's `alg` must be one the issuer is allowed and the one its key is
//! for, so a token cannot pick how it is checked (no `none`, no HMAC with a public key as
//! the secret); the signature is checked before any claim is believed.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use access::Role;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::claims::{Identity, identity_from_claims};
use super::config::{AuthConfigError, ClaimNames, IssuerConfig, SUPPORTED_ALGORITHMS};
use super::fetch::Fetcher;
use super::keys::{IssuerKeys, KeyProblem, KeyTiming};
use super::local::{LOCAL_AUDIENCE, LocalSigningKey, local_issuer};
use super::{AuthMethod, Refusal, Refused};

/// An issuer whose tokens are accepted.
pub(crate) struct TrustedIssuer {
    name: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    claims: ClaimNames,
    roles: HashMap<String, Role>,
    keys: IssuerKeys,
    /// Put before the user claim's value to make the caller's user id; empty for at most one
    /// configured issuer (the configuration refuses more) and for local tokens.
    user_prefix: String,
    /// Kith's own local tokens, minted by whoever runs the server: they may name any user,
    /// so their user ids are not checked against the other issuers' prefixes.
    is_local: bool,
}

impl TrustedIssuer {
    pub(crate) fn configured(config: &IssuerConfig) -> Result<TrustedIssuer, AuthConfigError> {
        let invalid = |message: String| {
            AuthConfigError::Invalid(format!("issuer {}: {message}", config.issuer))
        };
        if config.issuer.trim().is_empty() || config.audience.trim().is_empty() {
            return Err(invalid("issuer and audience must not be empty".into()));
        }
        let algorithms = config
            .algorithms
            .iter()
            .map(|name| {
                SUPPORTED_ALGORITHMS
                    .contains(&name.as_str())
                    .then(|| name.parse::<Algorithm>().ok())
                    .flatten()
                    .ok_or_else(|| {
                        invalid(format!(
                            "algorithm {name} is not accepted (only {})",
                            SUPPORTED_ALGORITHMS.join(", ")
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if algorithms.is_empty() {
            return Err(invalid(
                "algorithms must name at least one algorithm".into(),
            ));
        }
        let roles = config
            .roles
            .iter()
            .map(|(theirs, ours)| {
                Role::from_code(ours)
                    .map(|role| (theirs.clone(), role))
                    .ok_or_else(|| {
                        invalid(format!(
                            "roles maps {theirs} to {ours}, which is not a kith role"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        let keys = IssuerKeys::configured(&config.issuer, &config.keys).map_err(|message| {
            AuthConfigError::KeySet {
                issuer: config.issuer.clone(),
                message,
            }
        })?;
        Ok(TrustedIssuer {
            name: config.issuer.clone(),
            audience: config.audience.clone(),
            algorithms,
            claims: config.claims.clone(),
            roles,
            keys,
            user_prefix: config.user_prefix.clone(),
            is_local: false,
        })
    }

    /// Kith's own local tokens, signed by the key in the data directory.
    pub(crate) fn local(system_id: &str, key: &LocalSigningKey) -> TrustedIssuer {
        let name = local_issuer(system_id);
        TrustedIssuer {
            keys: IssuerKeys::fixed(&name, key.key_set()),
            name,
            audience: LOCAL_AUDIENCE.to_owned(),
            algorithms: vec![Algorithm::EdDSA],
            claims: ClaimNames::default(),
            roles: HashMap::new(),
            user_prefix: String::new(),
            is_local: true,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// Everything needed to verify bearer JWTs.
pub(crate) struct TokenVerifier {
    pub issuers: HashMap<String, TrustedIssuer>,
    pub leeway: u64,
    pub timing: KeyTiming,
    pub fetcher: Fetcher,
    pub verified: VerifiedTokens,
}

/// How long a verified token is believed without checking it again. A client sends the
/// same token with every request until it expires; checking the signature each time would
/// cost more than reading a composition. Short, so that a key the issuer withdraws stops
/// working within a minute.
const VERIFIED_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// The most tokens remembered; beyond it the expired are dropped, then all.
const MOST_VERIFIED_TOKENS: usize = 10_000;

/// Tokens verified a moment ago, with the identity they gave.
#[derive(Default)]
pub(crate) struct VerifiedTokens {
    entries: RwLock<HashMap<Box<str>, (Identity, Instant)>>,
}

impl VerifiedTokens {
    fn get(&self, token: &str) -> Option<Identity> {
        let entries = self.entries.read().ok()?;
        let (identity, until) = entries.get(token)?;
        (Instant::now() < *until).then(|| identity.clone())
    }

    /// Remembers a verified token until it expires, or for [`VERIFIED_TOKEN_LIFETIME`].
    fn remember(&self, token: &str, identity: &Identity, expires: Option<u64>) {
        let now = Instant::now();
        let left = expires
            .map(|expires| Duration::from_secs(expires.saturating_sub(unix_now())))
            .unwrap_or_default()
            .min(VERIFIED_TOKEN_LIFETIME);
        if left.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= MOST_VERIFIED_TOKENS {
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= MOST_VERIFIED_TOKENS {
                entries.clear();
            }
        }
        entries.insert(token.into(), (identity.clone(), now + left));
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// What the header says, read before anything is verified.
struct UnverifiedHeader {
    algorithm: String,
    key_id: Option<String>,
}

impl TokenVerifier {
    pub(crate) async fn verify(&self, token: &str) -> Result<Identity, Refused> {
        if let Some(identity) = self.verified.get(token) {
            return Ok(identity);
        }
        let (header, unverified_claims) = unverified_parts(token).map_err(Refused::from)?;
        let issuer_name = unverified_claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| Refused::from(Refusal::MissingClaim("iss".into())))?;
        let refused = |refusal: Refusal| Refused {
            refusal,
            issuer: Some(issuer_name.to_owned()),
            key_id: header.key_id.clone(),
            user: None,
        };
        let issuer = self
            .issuers
            .get(issuer_name)
            .ok_or_else(|| refused(Refusal::UntrustedIssuer))?;
        let algorithm = header
            .algorithm
            .parse::<Algorithm>()
            .ok()
            .filter(|algorithm| issuer.algorithms.contains(algorithm))
            .ok_or_else(|| refused(Refusal::AlgorithmNotAccepted(header.algorithm.clone())))?;
        let key_id = header
            .key_id
            .as_deref()
            .ok_or_else(|| refused(Refusal::MissingKeyId))?;
        let key = issuer
            .keys
            .key(key_id, self.timing, &self.fetcher)
            .await
            .map_err(|problem| match problem {
                KeyProblem::Unknown => refused(Refusal::UnknownKey),
                KeyProblem::Unavailable(_) => refused(Refusal::KeysUnavailable),
            })?;
        if key.algorithm != algorithm {
            return Err(refused(Refusal::AlgorithmMismatch));
        }
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&issuer.name]);
        validation.set_audience(&[&issuer.audience]);
        let verified = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|error| {
                refused(match error.into_kind() {
                    ErrorKind::InvalidSignature => Refusal::BadSignature,
                    ErrorKind::ExpiredSignature => Refusal::Expired,
                    ErrorKind::ImmatureSignature => Refusal::NotYetValid,
                    ErrorKind::InvalidAudience => Refusal::WrongAudience,
                    ErrorKind::InvalidIssuer => Refusal::UntrustedIssuer,
                    ErrorKind::InvalidAlgorithm => Refusal::AlgorithmMismatch,
                    ErrorKind::MissingRequiredClaim(claim) => Refusal::MissingClaim(claim),
                    ErrorKind::InvalidClaimFormat(claim) => Refusal::InvalidClaim {
                        claim,
                        problem: "not a number of seconds".into(),
                    },
                    _ => Refusal::MalformedToken,
                })
            })?;
        let mut identity = identity_from_claims(
            &verified.claims,
            &issuer.claims,
            &issuer.roles,
            AuthMethod::Bearer {
                issuer: issuer.name.clone(),
            },
        )
        .map_err(refused)?;
        identity.user = self.user_id(issuer, identity.user).map_err(refused)?;
        let expires = verified.claims.get("exp").and_then(Value::as_u64);
        self.verified.remember(token, &identity, expires);
        Ok(identity)
    }

    /// The caller's user id from the value of the issuer's user claim: the issuer's prefix,
    /// then the value, so that an issuer cannot name another issuer's users (access rules
    /// name professionals by user id). The one configured issuer without a prefix could
    /// still do so with a value that begins with another's prefix, so such a value is
    /// refused. Local tokens are not checked: whoever can mint them can name anyone.
    fn user_id(&self, issuer: &TrustedIssuer, claimed: String) -> Result<String, Refusal> {
        if issuer.user_prefix.is_empty() {
            let takes_another_prefix = !issuer.is_local
                && self.issuers.values().any(|other| {
                    !other.user_prefix.is_empty() && claimed.starts_with(&other.user_prefix)
                });
            if takes_another_prefix {
                return Err(Refusal::InvalidClaim {
                    claim: issuer.claims.user.clone(),
                    problem: "it begins with another issuer's user prefix".into(),
                });
            }
            return Ok(claimed);
        }
        Ok(format!("{}{claimed}", issuer.user_prefix))
    }
}

/// Whether a bearer token has the shape of a JWT (three base64url parts), as opposed to the
/// administrator's opaque token.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

fn unverified_parts(token: &str) -> Result<(UnverifiedHeader, Map<String, Value>), Refusal> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::MalformedToken);
    };
    let json = |part: &str| -> Result<Map<String, Value>, Refusal> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| Refusal::MalformedToken)?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(object)) => Ok(object),
            _ => Err(Refusal::MalformedToken),
        }
    };
    let header = json(header)?;
    // RFC 7515 section 4.1.11: extensions marked critical must be understood; Kith knows none.
    if header.contains_key("crit") {
        return Err(Refusal::MalformedToken);
    }
    let algorithm = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(Refusal::MalformedToken)?
        .to_owned();
    let key_id = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((UnverifiedHeader { algorithm, key_id }, json(payload)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            user: "u".into(),
            role: Role::Nurse,
            organisation: None,
            organisation_type: None,
            nhs_number: None,
            purpose: None,
            method: AuthMethod::Basic,
        }
    }

    #[test]
    fn remembers_verified_tokens_only_while_they_are_valid() {
        let verified = VerifiedTokens::default();
        verified.remember("live", &identity(), Some(unix_now() + 3600));
        verified.remember("expired", &identity(), Some(unix_now() - 1));
        verified.remember("no expiry", &identity(), None);
        assert_eq!(verified.get("live"), Some(identity()));
        assert_eq!(verified.get("expired"), None);
        assert_eq!(verified.get("no expiry"), None);
        assert_eq!(verified.get("never seen"), None);
        let until = verified.entries.read().unwrap()["live"].1;
        assert!(until <= Instant::now() + VERIFIED_TOKEN_LIFETIME);
    }

    /// A verifier trusting `(issuer, user_prefix)` configured issuers and a local issuer.
    fn verifier(issuers: &[(&str, &str)]) -> TokenVerifier {
        let configured = |name: &str, prefix: &str| {
            TrustedIssuer::configured(&IssuerConfig {
                issuer: name.into(),
                audience: "kith".into(),
                keys: crate::auth::config::KeySource::Discovery,
                algorithms: vec!["RS256".into()],
                claims: ClaimNames::default(),
                roles: Default::default(),
                user_prefix: prefix.into(),
            })
            .unwrap()
        };
        let mut trusted: HashMap<String, TrustedIssuer> = issuers
            .iter()
            .map(|(name, prefix)| ((*name).to_owned(), configured(name, prefix)))
            .collect();
        let local = TrustedIssuer {
            is_local: true,
            ..configured("https://local.example", "")
        };
        trusted.insert(local.name.clone(), local);
        TokenVerifier {
            issuers: trusted,
            leeway: 0,
            timing: KeyTiming {
                cache: Duration::from_secs(60),
                refetch_interval: Duration::from_secs(60),
            },
            fetcher: Fetcher::new(Duration::from_secs(1)),
            verified: VerifiedTokens::default(),
        }
    }

    #[test]
    fn user_ids_carry_their_issuers_prefix() {
        let verifier = verifier(&[
            ("https://hospital.example", ""),
            ("https://cis2.example", "cis2:"),
        ]);
        let user_id = |issuer: &str, claimed: &str| {
            verifier.user_id(&verifier.issuers[issuer], claimed.to_owned())
        };
        assert_eq!(
            user_id("https://cis2.example", "555123"),
            Ok("cis2:555123".to_owned())
        );
        assert_eq!(
            user_id("https://hospital.example", "dr.jones"),
            Ok("dr.jones".to_owned())
        );
        // The unprefixed issuer cannot name the prefixed issuer's users...
        assert_eq!(
            user_id("https://hospital.example", "cis2:555123"),
            Err(Refusal::InvalidClaim {
                claim: "sub".into(),
                problem: "it begins with another issuer's user prefix".into(),
            })
        );
        // ...local tokens can, since whoever mints them can name anyone.
        assert_eq!(
            user_id("https://local.example", "cis2:555123"),
            Ok("cis2:555123".to_owned())
        );
    }

    #[test]
    fn reads_the_header_and_claims_before_verifying() {
        let encode = |value: &str| URL_SAFE_NO_PAD.encode(value);
        let token = format!(
            "{}.{}.sig",
            encode(r#"{"alg":"RS256","kid":"k1"}"#),
            encode(r#"{"iss":"https://id.example"}"#)
        );
        let (header, claims) = unverified_parts(&token).unwrap();
        assert_eq!(header.algorithm, "RS256");
        assert_eq!(header.key_id.as_deref(), Some("k1"));
        assert_eq!(claims["iss"], "https://id.example");
        for malformed in [
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            format!("{}.{}.s", encode("[1]"), encode("{}")),
            format!("{}.{}.s", encode(r#"{"kid":"k"}"#), encode("{}")),
            format!(
                "{}.{}.s",
                encode(r#"{"alg":"RS256","crit":["exp"]}"#),
                encode("{}")
            ),
            format!(
                "{}.{}.s",
                encode(r#"{"alg":"RS256"}"#),
                encode("\"claims\"")
            ),
        ] {
            assert_eq!(
                unverified_parts(&malformed).err(),
                Some(Refusal::MalformedToken),
                "{malformed}"
            );
        }
    }
}
