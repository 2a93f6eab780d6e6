//! Issuers' public keys: read from JWKS documents, fetched lazily (discovery, a JWKS URL or
//! a file), cached, refreshed after the cache time, and refetched when a token names a key
//! the cache does not know (at most once per refetch interval).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::config::{KeySource, check_fetch_url};
use super::fetch::Fetcher;

/// One public key and the one algorithm it verifies.
pub(crate) struct VerificationKey {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

/// The usable keys of one JWKS, by key id.
pub(crate) struct KeySet {
    keys: HashMap<String, Arc<VerificationKey>>,
    loaded: Instant,
}

impl KeySet {
    /// Reads a JWKS document. Keys Kith cannot use (encryption keys, other curves, no key
    /// id, a declared algorithm other than the key type's) are left out, each named in the
    /// second part of the answer: issuers publish such keys beside their signing keys.
    pub(crate) fn from_jwks(document: &Value) -> Result<(KeySet, Vec<String>), String> {
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("the document has no keys array")?;
        let mut usable = HashMap::new();
        let mut skipped = Vec::new();
        for (index, value) in keys.iter().enumerate() {
            match verification_key(value) {
                Ok((kid, key)) => {
                    usable.insert(kid, Arc::new(key));
                }
                Err(reason) => skipped.push(format!("key {index}: {reason}")),
            }
        }
        Ok((KeySet::new(usable), skipped))
    }

    pub(crate) fn new(keys: HashMap<String, Arc<VerificationKey>>) -> KeySet {
        KeySet {
            keys,
            loaded: Instant::now(),
        }
    }

    fn get(&self, kid: &str) -> Option<Arc<VerificationKey>> {
        self.keys.get(kid).cloned()
    }
}

/// The key types Kith verifies with, and the algorithm each implies: RSA keys RS256, P-256
/// keys ES256, Ed25519 keys EdDSA. Binding each key to one algorithm is what stops a token
/// from choosing how its signature is checked.
fn verification_key(value: &Value) -> Result<(String, VerificationKey), String> {
    let jwk: Jwk = serde_json::from_value(value.clone())
        .map_err(|error| format!("not a json web key: {error}"))?;
    let kid = jwk.common.key_id.clone().ok_or("no key id (kid)")?;
    if let Some(key_use) = &jwk.common.public_key_use
        && *key_use != PublicKeyUse::Signature
    {
        return Err(format!("{kid}: not a signature key"));
    }
    let decoded_length = |text: &str| URL_SAFE_NO_PAD.decode(text).map(|bytes| bytes.len());
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(parameters) => {
            // Shorter moduli are breakable; NIST and NCSC guidance set 2048 bits as the floor.
            let modulus = URL_SAFE_NO_PAD
                .decode(&parameters.n)
                .map_err(|_| format!("{kid}: the modulus is not base64url"))?;
            let bits = modulus.iter().skip_while(|byte| **byte == 0).count() * 8;
            if bits < 2048 {
                return Err(format!("{kid}: an rsa key shorter than 2048 bits"));
            }
            Algorithm::RS256
        }
        AlgorithmParameters::EllipticCurve(parameters)
            if parameters.curve == EllipticCurve::P256 =>
        {
            // Checked here: a wrong length would otherwise fail only inside the verifier.
            if decoded_length(&parameters.x) != Ok(32) || decoded_length(&parameters.y) != Ok(32) {
                return Err(format!(
                    "{kid}: a p-256 key with coordinates of the wrong length"
                ));
            }
            Algorithm::ES256
        }
        AlgorithmParameters::OctetKeyPair(parameters)
            if parameters.curve == EllipticCurve::Ed25519 =>
        {
            if decoded_length(&parameters.x) != Ok(32) {
                return Err(format!("{kid}: an ed25519 key of the wrong length"));
            }
            Algorithm::EdDSA
        }
        _ => return Err(format!("{kid}: a key type kith does not verify with")),
    };
    if let Some(declared) = jwk.common.key_algorithm
        && declared != KeyAlgorithm::from(algorithm)
    {
        return Err(format!(
            "{kid}: declared for {declared}, which kith does not accept"
        ));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|error| format!("{kid}: {error}"))?;
    Ok((kid, VerificationKey { algorithm, key }))
}

/// Why no key was found for a token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyProblem {
    /// The issuer's key set does not have this key id (after the refetch it may cause).
    Unknown,
    /// The key set could never be loaded; the reason is for the log.
    Unavailable(String),
}

/// How long keys are kept and how often they may be refetched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyTiming {
    pub cache: Duration,
    pub refetch_interval: Duration,
}

enum Source {
    /// Keys given at start that never change (Kith's own local token key).
    Fixed,
    Discovery,
    Uri(String),
    File(PathBuf),
}

#[derive(Default)]
struct RefreshState {
    /// The `jwks_uri` found by discovery; found again if fetching it fails.
    jwks_uri: Option<String>,
    last_failure: Option<Instant>,
    last_unknown_key_fetch: Option<Instant>,
}

/// The keys of one issuer.
pub(crate) struct IssuerKeys {
    issuer: String,
    source: Source,
    current: RwLock<Option<Arc<KeySet>>>,
    /// Held while fetching, so that concurrent requests cause one fetch, not one each.
    refresh: tokio::sync::Mutex<RefreshState>,
}

impl IssuerKeys {
    /// Keys that never change.
    pub(crate) fn fixed(issuer: &str, keys: KeySet) -> IssuerKeys {
        IssuerKeys::with(issuer, Source::Fixed, Some(keys))
    }

    /// The keys of a configured issuer. A JWKS file is read now, so that a missing or broken
    /// file stops the start; URLs are checked now and fetched on the first token.
    pub(crate) fn configured(issuer: &str, source: &KeySource) -> Result<IssuerKeys, String> {
        Ok(match source {
            KeySource::Discovery => {
                check_fetch_url(&discovery_url(issuer))?;
                IssuerKeys::with(issuer, Source::Discovery, None)
            }
            KeySource::JwksUri(uri) => {
                check_fetch_url(uri)?;
                IssuerKeys::with(issuer, Source::Uri(uri.clone()), None)
            }
            KeySource::JwksFile(path) => {
                let keys = read_key_file(issuer, path)?;
                IssuerKeys::with(issuer, Source::File(path.clone()), Some(keys))
            }
        })
    }

    fn with(issuer: &str, source: Source, keys: Option<KeySet>) -> IssuerKeys {
        IssuerKeys {
            issuer: issuer.to_owned(),
            source,
            current: RwLock::new(keys.map(Arc::new)),
            refresh: tokio::sync::Mutex::new(RefreshState::default()),
        }
    }

    fn current(&self) -> Option<Arc<KeySet>> {
        self.current.read().ok().and_then(|current| current.clone())
    }

    fn is_fresh(&self, keys: &KeySet, timing: KeyTiming) -> bool {
        matches!(self.source, Source::Fixed) || keys.loaded.elapsed() < timing.cache
    }

    /// The key with this id, loading or refreshing the key set if needed.
    pub(crate) async fn key(
        &self,
        kid: &str,
        timing: KeyTiming,
        fetcher: &Fetcher,
    ) -> Result<Arc<VerificationKey>, KeyProblem> {
        if let Some(keys) = self.current()
            && self.is_fresh(&keys, timing)
            && let Some(key) = keys.get(kid)
        {
            return Ok(key);
        }
        if matches!(self.source, Source::Fixed) {
            return Err(KeyProblem::Unknown);
        }
        let mut state = self.refresh.lock().await;
        // Another request may have fetched while this one waited.
        let keys = self.current();
        let fresh = keys
            .as_ref()
            .is_some_and(|keys| self.is_fresh(keys, timing));
        if fresh && let Some(key) = keys.as_ref().and_then(|keys| keys.get(kid)) {
            return Ok(key);
        }
        let waited_since = |moment: Option<Instant>| {
            moment.is_none_or(|moment| moment.elapsed() >= timing.refetch_interval)
        };
        let fetch = if fresh {
            // A fresh key set without this key: the issuer may have rotated its keys.
            waited_since(state.last_unknown_key_fetch)
        } else {
            // Never loaded, or expired: load, unless a fetch failed a moment ago.
            waited_since(state.last_failure)
        };
        if fetch {
            if fresh {
                state.last_unknown_key_fetch = Some(Instant::now());
            }
            match self.load(&mut state, fetcher).await {
                Ok(loaded) => {
                    state.last_failure = None;
                    if let Ok(mut current) = self.current.write() {
                        *current = Some(Arc::new(loaded));
                    }
                }
                Err(reason) => {
                    state.last_failure = Some(Instant::now());
                    if keys.is_some() {
                        tracing::warn!(issuer = %self.issuer, %reason, "refreshing the issuer's keys failed; the keys fetched before stay in use");
                    } else {
                        tracing::warn!(issuer = %self.issuer, %reason, "fetching the issuer's keys failed");
                    }
                }
            }
        }
        match self.current() {
            Some(keys) => keys.get(kid).ok_or(KeyProblem::Unknown),
            None => Err(KeyProblem::Unavailable(
                "the issuer's keys could not be fetched".into(),
            )),
        }
    }

    async fn load(&self, state: &mut RefreshState, fetcher: &Fetcher) -> Result<KeySet, String> {
        let document = match &self.source {
            Source::Fixed => return Err("fixed keys are not loaded".into()),
            Source::File(path) => {
                let issuer = self.issuer.clone();
                let path = path.clone();
                return tokio::task::spawn_blocking(move || read_key_file(&issuer, &path))
                    .await
                    .map_err(|error| error.to_string())?;
            }
            Source::Uri(uri) => fetcher.get_json(uri).await?,
            Source::Discovery => {
                let jwks_uri = match &state.jwks_uri {
                    Some(uri) => uri.clone(),
                    None => self.discover(fetcher).await?,
                };
                match fetcher.get_json(&jwks_uri).await {
                    Ok(document) => {
                        state.jwks_uri = Some(jwks_uri);
                        document
                    }
                    Err(error) => {
                        // The issuer may have moved its keys: discover again next time.
                        state.jwks_uri = None;
                        return Err(error);
                    }
                }
            }
        };
        let (keys, skipped) = KeySet::from_jwks(&document)?;
        log_skipped(&self.issuer, &skipped);
        tracing::info!(issuer = %self.issuer, keys = keys.keys.len(), "loaded the issuer's keys");
        Ok(keys)
    }

    /// The `jwks_uri` of the issuer's discovery document, which must name the same issuer
    /// (OpenID Connect Discovery 1.0, section 4.3).
    async fn discover(&self, fetcher: &Fetcher) -> Result<String, String> {
        let url = discovery_url(&self.issuer);
        let document = fetcher.get_json(&url).await?;
        let named = document.get("issuer").and_then(Value::as_str);
        if named != Some(self.issuer.as_str()) {
            return Err(format!(
                "{url} names the issuer {}, not {}",
                named.unwrap_or("(none)"),
                self.issuer
            ));
        }
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{url} has no jwks_uri"))?;
        check_fetch_url(jwks_uri)?;
        Ok(jwks_uri.to_owned())
    }
}

fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

fn read_key_file(issuer: &str, path: &std::path::Path) -> Result<KeySet, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let document: Value = serde_json::from_str(&text)
        .map_err(|error| format!("{} is not json: {error}", path.display()))?;
    let (keys, skipped) =
        KeySet::from_jwks(&document).map_err(|error| format!("{}: {error}", path.display()))?;
    log_skipped(issuer, &skipped);
    if keys.keys.is_empty() {
        return Err(format!("{} holds no key kith can use", path.display()));
    }
    Ok(keys)
}

fn log_skipped(issuer: &str, skipped: &[String]) {
    for reason in skipped {
        tracing::info!(%issuer, %reason, "left out a key of the issuer's key set");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A real P-256 public key's coordinates (RFC 7515, appendix A.3).
    const P256_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const P256_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    #[test]
    fn keeps_only_keys_it_can_verify_with() {
        let ed25519_x = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let short_rsa = URL_SAFE_NO_PAD.encode([0xC5u8; 128]);
        let document = json!({"keys": [
            {"kty": "EC", "crv": "P-256", "x": P256_X, "y": P256_Y, "kid": "ec", "use": "sig"},
            {"kty": "OKP", "crv": "Ed25519", "x": ed25519_x, "kid": "ed", "alg": "EdDSA"},
            {"kty": "EC", "crv": "P-256", "x": P256_X, "y": P256_Y, "kid": "enc", "use": "enc"},
            {"kty": "EC", "crv": "P-256", "x": P256_X, "y": P256_Y},
            {"kty": "OKP", "crv": "Ed25519", "x": ed25519_x, "kid": "ed-hs", "alg": "HS256"},
            {"kty": "RSA", "n": short_rsa, "e": "AQAB", "kid": "short"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": P256_Y, "kid": "bad-length"}
        ]});
        let (keys, skipped) = KeySet::from_jwks(&document).unwrap();
        let mut usable: Vec<_> = keys.keys.keys().cloned().collect();
        usable.sort();
        assert_eq!(usable, ["ec", "ed"]);
        assert_eq!(keys.keys["ec"].algorithm, Algorithm::ES256);
        assert_eq!(keys.keys["ed"].algorithm, Algorithm::EdDSA);
        assert_eq!(skipped.len(), 6, "{skipped:?}");
        assert!(KeySet::from_jwks(&json!({"kids": []})).is_err());
    }
}
