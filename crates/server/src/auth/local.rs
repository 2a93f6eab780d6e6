//! Kith's own tokens, for development and integration: an Ed25519 key kept in the data
//! directory signs the tokens `kith token` prints (issuer `kith:<system-id>`, audience
//! `kith`, key id the key's RFC 7638 thumbprint), and `kith serve` trusts them unless local
//! tokens are switched off.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use access::{OrganisationType, Purpose, Role};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Map, Value, json};

use super::claims::normalise_nhs_number;
use super::config::ClaimNames;
use super::keys::{KeySet, VerificationKey};

/// The key's file in the data directory.
pub const SIGNING_KEY_FILE: &str = "token-signing-key.pem";
/// The audience of local tokens.
pub const LOCAL_AUDIENCE: &str = "kith";
/// The longest a local token may live: a token cannot be revoked before it expires.
pub const LONGEST_LOCAL_TOKEN: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a local token lives unless asked otherwise: a working day.
pub const DEFAULT_LOCAL_TOKEN_LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// The issuer of the local tokens of a system.
pub fn local_issuer(system_id: &str) -> String {
    format!("kith:{system_id}")
}

/// Why a local key or token cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum LocalTokenError {
    #[error("cannot read the token signing key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the token signing key {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the token signing key {0} is not an ed25519 private key in pkcs#8 pem")]
    Malformed(PathBuf),
    #[error("no randomness for a new key: {0}")]
    Randomness(String),
    #[error("{0}")]
    Invalid(String),
    #[error("signing the token failed: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
}

/// What a local token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalToken {
    pub user: String,
    pub role: Role,
    pub organisation: Option<String>,
    pub organisation_type: Option<OrganisationType>,
    /// The holder's own NHS number; required for the patient role.
    pub nhs_number: Option<String>,
    pub purpose: Option<Purpose>,
    pub lifetime: Duration,
}

/// The signing key in the data directory.
pub struct LocalSigningKey {
    encoding: EncodingKey,
    public: DecodingKey,
    key_id: String,
}

impl LocalSigningKey {
    /// The key in `<data-dir>/token-signing-key.pem`, created (mode 0600) if there is none.
    /// The key itself is never logged.
    pub fn load_or_create(data_dir: &Path) -> Result<LocalSigningKey, LocalTokenError> {
        let path = data_dir.join(SIGNING_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_pem(&path, &text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Self::create(&path),
            Err(source) => Err(LocalTokenError::Read { path, source }),
        }
    }

    fn create(path: &Path) -> Result<LocalSigningKey, LocalTokenError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|error| LocalTokenError::Randomness(error.to_string()))?;
        let signing = SigningKey::from_bytes(&seed);
        let pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| LocalTokenError::Malformed(path.to_owned()))?;
        let mut options = std::fs::OpenOptions::new();
        // `create_new`: if `kith serve` and `kith token` race to create it, one wins and the
        // other reads the winner's key instead of replacing it.
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = match options.open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| LocalTokenError::Read {
                        path: path.to_owned(),
                        source,
                    })?;
                return Self::from_pem(path, &text);
            }
            Err(source) => {
                return Err(LocalTokenError::Create {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        file.write_all(pem.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|source| LocalTokenError::Create {
                path: path.to_owned(),
                source,
            })?;
        tracing::info!(path = %path.display(), "created the key that signs local tokens");
        Self::from_signing_key(path, &signing)
    }

    fn from_pem(path: &Path, text: &str) -> Result<LocalSigningKey, LocalTokenError> {
        #[cfg(unix)]
        if let Ok(metadata) = std::fs::metadata(path)
            && std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the token signing key can be read by other users; chmod 600 it");
        }
        let signing = SigningKey::from_pkcs8_pem(text)
            .map_err(|_| LocalTokenError::Malformed(path.to_owned()))?;
        Self::from_signing_key(path, &signing)
    }

    fn from_signing_key(
        path: &Path,
        signing: &SigningKey,
    ) -> Result<LocalSigningKey, LocalTokenError> {
        let malformed = |_| LocalTokenError::Malformed(path.to_owned());
        let der = signing.to_pkcs8_der().map_err(malformed)?;
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        let public = DecodingKey::from_ed_der(signing.verifying_key().as_bytes());
        let key_id = Jwk::from_decoding_key(&public, Some(Algorithm::EdDSA))?
            .thumbprint(ThumbprintHash::SHA256)?;
        Ok(LocalSigningKey {
            encoding,
            public,
            key_id,
        })
    }

    /// The key id local tokens carry: the public key's thumbprint.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key, as the server trusts it.
    pub(crate) fn key_set(&self) -> KeySet {
        let key = VerificationKey {
            algorithm: Algorithm::EdDSA,
            key: self.public.clone(),
        };
        KeySet::new([(self.key_id.clone(), std::sync::Arc::new(key))].into())
    }

    /// A signed token for `system_id`'s server.
    pub fn mint(&self, system_id: &str, token: &LocalToken) -> Result<String, LocalTokenError> {
        let invalid = |message: &str| Err(LocalTokenError::Invalid(message.to_owned()));
        if token.lifetime.is_zero() {
            return invalid("a token must live longer than zero seconds");
        }
        if token.lifetime > LONGEST_LOCAL_TOKEN {
            return invalid("a local token may live at most 30 days");
        }
        if token.user.trim().is_empty() {
            return invalid("a token needs a user id");
        }
        let nhs_number = match &token.nhs_number {
            Some(number) => Some(normalise_nhs_number(number).ok_or_else(|| {
                LocalTokenError::Invalid(format!("{number} is not an nhs number of 10 digits"))
            })?),
            None => None,
        };
        if token.role == Role::Patient && nhs_number.is_none() {
            return invalid("a token for the patient role needs the patient's nhs number");
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let names = ClaimNames::default();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(local_issuer(system_id)));
        claims.insert("aud".into(), json!(LOCAL_AUDIENCE));
        claims.insert(names.user, json!(token.user));
        claims.insert(names.role, json!(token.role.code()));
        let optional = [
            (names.organisation, token.organisation.clone()),
            (
                names.organisation_type,
                token.organisation_type.map(|kind| kind.code().to_owned()),
            ),
            (names.nhs_number, nhs_number),
            (
                names.purpose,
                token.purpose.map(|purpose| purpose.code().to_owned()),
            ),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                claims.insert(name, Value::String(value));
            }
        }
        claims.insert("iat".into(), json!(now));
        claims.insert("nbf".into(), json!(now));
        claims.insert("exp".into(), json!(now + token.lifetime.as_secs()));
        claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.key_id.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }
}

/// A token lifetime such as `30m`, `8h` or `7d` (also `s`): a whole number and one unit.
pub fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text} is not a duration such as 30m, 8h or 7d"))?;
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        _ => return Err(format!("{text} is not a duration such as 30m, 8h or 7d")),
    };
    number
        .checked_mul(unit_seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lifetimes() {
        for (text, expected) in [
            ("30m", Some(1800)),
            ("8h", Some(28_800)),
            ("7d", Some(604_800)),
            ("45s", Some(45)),
            ("31d", Some(2_678_400)),
            ("8", None),
            ("h", None),
            ("1.5h", None),
            ("8 h", None),
            ("-1h", None),
            ("99999999999999999999d", None),
        ] {
            assert_eq!(
                parse_lifetime(text).ok().map(|duration| duration.as_secs()),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn creates_the_key_once_and_privately() {
        let directory = tempfile::tempdir().unwrap();
        let first = LocalSigningKey::load_or_create(directory.path()).unwrap();
        let second = LocalSigningKey::load_or_create(directory.path()).unwrap();
        assert_eq!(first.key_id(), second.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(directory.path().join(SIGNING_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn refuses_tokens_it_should_not_mint() {
        let directory = tempfile::tempdir().unwrap();
        let key = LocalSigningKey::load_or_create(directory.path()).unwrap();
        let token = LocalToken {
            user: "dr-jones".into(),
            role: Role::Clinician,
            organisation: Some("RRV".into()),
            organisation_type: None,
            nhs_number: None,
            purpose: None,
            lifetime: DEFAULT_LOCAL_TOKEN_LIFETIME,
        };
        assert!(key.mint("kith.local", &token).is_ok());
        for (change, expected) in [
            (
                LocalToken {
                    lifetime: Duration::from_secs(31 * 24 * 3600),
                    ..token.clone()
                },
                "at most 30 days",
            ),
            (
                LocalToken {
                    role: Role::Patient,
                    ..token.clone()
                },
                "needs the patient's nhs number",
            ),
            (
                LocalToken {
                    nhs_number: Some("12345".into()),
                    ..token.clone()
                },
                "not an nhs number",
            ),
            (
                LocalToken {
                    lifetime: Duration::ZERO,
                    ..token.clone()
                },
                "longer than zero",
            ),
        ] {
            let error = key.mint("kith.local", &change).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}
