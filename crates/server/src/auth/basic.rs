//! HTTP Basic for configured users (clients written for EHRbase's basic mode): Argon2id
//! password hashes in PHC form, checked off the request threads, in the same time whether
//! or not the user exists.

use std::collections::HashMap;

use access::{OrganisationType, Purpose, Role};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};

use super::claims::Identity;
use super::config::{AuthConfigError, BasicUserConfig};
use super::{AuthMethod, Refusal};

struct BasicUser {
    password_hash: String,
    identity: Identity,
}

/// The configured Basic users.
#[derive(Default)]
pub(crate) struct BasicUsers {
    users: HashMap<String, BasicUser>,
    /// Checked when the user does not exist, so that a wrong user name takes as long to
    /// refuse as a wrong password and answers cannot reveal which user names exist.
    dummy_hash: String,
}

impl BasicUsers {
    pub(crate) fn configured(users: &[BasicUserConfig]) -> Result<BasicUsers, AuthConfigError> {
        let mut configured = HashMap::new();
        let mut parameters = None;
        for user in users {
            let invalid =
                |message: &str| AuthConfigError::Invalid(format!("user {}: {message}", user.user));
            let hash = PasswordHash::new(&user.password_hash)
                .map_err(|_| invalid("password_hash is not a phc string"))?;
            if hash.algorithm != argon2::Algorithm::Argon2id.ident() {
                return Err(invalid(
                    "password_hash must be argon2id (kith hash-password prints one)",
                ));
            }
            parameters.get_or_insert(
                Params::try_from(&hash).map_err(|_| invalid("password_hash has bad parameters"))?,
            );
            let role = Role::from_code(&user.role)
                .ok_or_else(|| invalid(&format!("{} is not a kith role", user.role)))?;
            if role == Role::Patient {
                // A patient is identified by their NHS number, which Basic users have not.
                return Err(invalid(
                    "the patient role is for tokens carrying an nhs number",
                ));
            }
            let organisation_type =
                match &user.organisation_type {
                    Some(code) => Some(OrganisationType::from_code(code).ok_or_else(|| {
                        invalid(&format!("{code} is not an organisation type code"))
                    })?),
                    None => None,
                };
            let purpose = match &user.purpose {
                Some(code) => Some(
                    Purpose::from_code(code)
                        .ok_or_else(|| invalid(&format!("{code} is not a purpose code")))?,
                ),
                None => None,
            };
            let identity = Identity {
                user: user.user.clone(),
                role,
                organisation: user.organisation.clone(),
                organisation_type,
                nhs_number: None,
                purpose,
                method: AuthMethod::Basic,
            };
            let known = BasicUser {
                password_hash: user.password_hash.clone(),
                identity,
            };
            if configured.insert(user.user.clone(), known).is_some() {
                return Err(invalid("the user is listed twice"));
            }
        }
        let Some(parameters) = parameters else {
            return Ok(BasicUsers::default());
        };
        let mut random_password = [0u8; 32];
        getrandom::fill(&mut random_password)
            .map_err(|error| AuthConfigError::Invalid(format!("no randomness: {error}")))?;
        let dummy_hash = hash_with(&random_password, parameters)
            .map_err(|error| AuthConfigError::Invalid(format!("hashing failed: {error}")))?;
        Ok(BasicUsers {
            users: configured,
            dummy_hash,
        })
    }

    /// The identity of a user whose password is right.
    pub(crate) async fn verify(&self, user: &str, password: &str) -> Result<Identity, Refusal> {
        if self.users.is_empty() {
            return Err(Refusal::BasicNotConfigured);
        }
        let known = self.users.get(user);
        let hash = known
            .map_or(&self.dummy_hash, |known| &known.password_hash)
            .clone();
        let password = password.to_owned();
        // Argon2 takes tens of milliseconds of one core by design: not on a runtime thread.
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        match known {
            Some(known) if matches => Ok(known.identity.clone()),
            _ => Err(Refusal::WrongPassword {
                user_exists: known.is_some(),
            }),
        }
    }
}

/// An Argon2id PHC string for a password, with Argon2's default parameters (those OWASP
/// recommends) and a random salt.
pub fn hash_password(password: &[u8]) -> Result<String, String> {
    hash_with(password, Params::default())
}

fn hash_with(password: &[u8], parameters: Params) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| format!("no randomness: {error}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|error| error.to_string())?;
    Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        parameters,
    )
    .hash_password(password, &salt)
    .map(|hash| hash.to_string())
    .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(password_hash: &str, role: &str) -> BasicUserConfig {
        BasicUserConfig {
            user: "ehrbase".into(),
            password_hash: password_hash.into(),
            role: role.into(),
            organisation: Some("RRV".into()),
            organisation_type: None,
            purpose: None,
        }
    }

    #[tokio::test]
    async fn verifies_passwords() {
        let hash = hash_password(b"correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        let users = BasicUsers::configured(&[user(&hash, "system")]).unwrap();
        let identity = users.verify("ehrbase", "correct horse").await.unwrap();
        assert_eq!(identity.role, Role::SystemIntegration);
        assert_eq!(identity.organisation.as_deref(), Some("RRV"));
        assert_eq!(
            users.verify("ehrbase", "wrong").await.unwrap_err(),
            Refusal::WrongPassword { user_exists: true }
        );
        assert_eq!(
            users.verify("nobody", "correct horse").await.unwrap_err(),
            Refusal::WrongPassword { user_exists: false }
        );
        assert_eq!(
            BasicUsers::default()
                .verify("ehrbase", "x")
                .await
                .unwrap_err(),
            Refusal::BasicNotConfigured
        );
    }

    #[test]
    fn refuses_unusable_users() {
        let argon2i = "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        let good = hash_password(b"x").unwrap();
        for (config, expected) in [
            (user("plain text", "system"), "not a phc string"),
            (user(argon2i, "system"), "must be argon2id"),
            (user(&good, "superuser"), "not a kith role"),
            (user(&good, "patient"), "patient role"),
        ] {
            let error = BasicUsers::configured(&[config]).err().unwrap().to_string();
            assert!(error.contains(expected), "{error}");
        }
        let twice = [user(&good, "system"), user(&good, "nurse")];
        assert!(
            BasicUsers::configured(&twice)
                .err()
                .unwrap()
                .to_string()
                .contains("listed twice")
        );
    }
}
