//! Authentication through the real router: JWTs from an issuer served by a real HTTP server
//! on 127.0.0.1 (discovery and JWKS), a JWKS file, local tokens, HTTP Basic, the
//! administrator's token, the purpose and break-glass headers, and the log of refusals.

#[path = "support/auth.rs"]
mod support;

use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::*;

/// An app trusting one issuer served by a fresh key server with the RSA, P-256 and Ed25519
/// test keys.
async fn app_with_issuer(extra: Value) -> (AuthApp, KeyServer, [TestKey; 3]) {
    let keys = [
        TestKey::rsa("rsa-1"),
        TestKey::ec("ec-1"),
        TestKey::ed25519("ed-1"),
    ];
    let server = KeyServer::start(&[&keys[0], &keys[1], &keys[2]]).await;
    let app = AuthApp::new(json!({"issuers": [server.issuer_config(extra)]}), None).await;
    (app, server, keys)
}

#[tokio::test]
async fn accepts_rs256_es256_and_eddsa_tokens_fetching_keys_once() {
    let (app, server, keys) = app_with_issuer(json!({})).await;
    // Nothing is fetched before the first token: the server starts without the network.
    assert_eq!(server.discovery_fetches(), 0);
    for key in &keys {
        let token = key.sign(&claims(&server.issuer));
        let answer = app.get(Some(&bearer(&token)), &[]).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{:?}: {}",
            key.algorithm,
            answer.body
        );
        let caller = app.whoami(Some(&bearer(&token)), &[]).await.body;
        assert_eq!(caller["user"], "user-1");
        assert_eq!(caller["role"], "clinician");
        assert_eq!(caller["organisation"], "RRV");
        assert_eq!(caller["is_admin"], false);
        assert_eq!(
            caller["method"],
            format!("Bearer {{ issuer: {:?} }}", server.issuer)
        );
    }
    assert_eq!(server.discovery_fetches(), 1);
    assert_eq!(server.jwks_fetches(), 1);
}

/// Each bad token is refused with 401 (403 where the token is good but gives no role), a
/// message naming the class of problem, and a log line naming the reason without the token.
#[tokio::test]
async fn refuses_bad_tokens_and_logs_why_without_the_token() {
    let (app, server, [rsa, ec, ed]) =
        app_with_issuer(json!({"algorithms": ["RS256", "EdDSA"]})).await;
    let issuer = server.issuer.clone();
    let good = claims(&issuer);
    let unsigned = |header: Value, claims: &Value| {
        use base64::Engine;
        let encode = |value: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
        };
        format!("{}.{}.", encode(&header), encode(claims))
    };
    // HS256 with the RSA public key (as PEM) for the secret: the classic confusion attack.
    let public_pem = std::fs::read(format!(
        "{}/tests/data/keys/rsa-public.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let hs256 = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(rsa.kid.clone());
        jsonwebtoken::encode(&header, &good, &EncodingKey::from_secret(&public_pem)).unwrap()
    };
    // Signed by a key that is not the one its key id names.
    let impostor = TestKey {
        kid: rsa.kid.clone(),
        ..TestKey::other_rsa("x")
    };
    let tampered = {
        let token = rsa.sign(&good);
        let parts: Vec<&str> = token.split('.').collect();
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(with(good.clone(), json!({"kith_role": "administrator"})).to_string());
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    let cases: Vec<(&str, String, u16, &str, &str)> = vec![
        (
            "expired",
            rsa.sign(&with(good.clone(), json!({"exp": now() - 3600}))),
            401,
            "the bearer token has expired",
            "expired",
        ),
        (
            "not yet valid",
            rsa.sign(&with(good.clone(), json!({"nbf": now() + 3600}))),
            401,
            "the bearer token is not valid yet",
            "not_yet_valid",
        ),
        (
            "no expiry",
            rsa.sign(&with(good.clone(), json!({"exp": null}))),
            401,
            "the token has no exp claim",
            "missing_claim",
        ),
        (
            "wrong issuer",
            rsa.sign(&with(
                good.clone(),
                json!({"iss": "https://elsewhere.example"}),
            )),
            401,
            "the token's issuer is not trusted",
            "untrusted_issuer",
        ),
        (
            "wrong audience",
            rsa.sign(&with(good.clone(), json!({"aud": "another-service"}))),
            401,
            "the token is not meant for this server (audience)",
            "wrong_audience",
        ),
        (
            "audience list without ours",
            rsa.sign(&with(good.clone(), json!({"aud": ["a", "b"]}))),
            401,
            "the token is not meant for this server (audience)",
            "wrong_audience",
        ),
        (
            "alg none",
            unsigned(json!({"alg": "none", "kid": rsa.kid}), &good),
            401,
            "the token's signing algorithm \"none\" is not accepted",
            "algorithm_not_accepted",
        ),
        (
            "hs256 with the public key as secret",
            hs256,
            401,
            "the token's signing algorithm \"HS256\" is not accepted",
            "algorithm_not_accepted",
        ),
        (
            "an algorithm the issuer is not allowed",
            ec.sign(&good),
            401,
            "the token's signing algorithm \"ES256\" is not accepted",
            "algorithm_not_accepted",
        ),
        (
            "an algorithm its key is not for",
            {
                // EdDSA is allowed, but rsa-1 is an RSA key.
                let mut signed = ed.clone();
                signed.kid = rsa.kid.clone();
                signed.sign(&good)
            },
            401,
            "the token's algorithm is not the one its key is for",
            "algorithm_mismatch",
        ),
        (
            "bad signature (another key)",
            impostor.sign(&good),
            401,
            "the token's signature is not valid",
            "bad_signature",
        ),
        (
            "bad signature (tampered claims)",
            tampered,
            401,
            "the token's signature is not valid",
            "bad_signature",
        ),
        (
            "unknown key id",
            TestKey::rsa("rsa-unknown").sign(&good),
            401,
            "the token's key id is not one of its issuer's keys",
            "unknown_key_id",
        ),
        (
            "no key id",
            {
                let header = Header::new(Algorithm::RS256);
                jsonwebtoken::encode(&header, &good, &rsa.encoding).unwrap()
            },
            401,
            "the token names no key id (kid)",
            "missing_key_id",
        ),
        (
            "malformed",
            "eyJhbGciOiJSUzI1NiJ9.not-base64!.c2ln".to_owned(),
            401,
            "the bearer token is not a well-formed jwt",
            "malformed_token",
        ),
        (
            "not a jwt",
            "an-opaque-token-that-is-not-the-admin-token".to_owned(),
            401,
            "the bearer token is not valid",
            "unknown_token",
        ),
        (
            "no role",
            rsa.sign(&with(good.clone(), json!({"kith_role": null}))),
            403,
            "the credentials give the caller no kith role",
            "no_role",
        ),
        (
            "a role kith does not know",
            rsa.sign(&with(good.clone(), json!({"kith_role": "wizard"}))),
            403,
            "the credentials give the caller no kith role",
            "no_role",
        ),
        (
            "a patient without an nhs number",
            rsa.sign(&with(good.clone(), json!({"kith_role": "patient"}))),
            403,
            "a token for the patient role must carry the patient's nhs number",
            "patient_without_nhs_number",
        ),
        (
            "no user",
            rsa.sign(&with(good.clone(), json!({"sub": null}))),
            401,
            "the token has no sub claim",
            "missing_claim",
        ),
    ];
    let log = LogCapture::default();
    let _guard = log.install();
    for (name, token, status, message, reason) in &cases {
        log.clear();
        let answer = app.get(Some(&bearer(token)), &[]).await;
        assert_eq!(answer.status.as_u16(), *status, "{name}: {}", answer.body);
        assert_eq!(answer.message(), *message, "{name}");
        let expected_code = if *status == 401 {
            "unauthorized"
        } else {
            "forbidden"
        };
        assert_eq!(answer.body["error"], expected_code, "{name}");
        if *status == 401 {
            assert!(
                answer.headers.contains_key("www-authenticate"),
                "{name}: no www-authenticate"
            );
        }
        let logged = log.text();
        assert!(
            logged.contains(&format!("reason=\"{reason}\"")),
            "{name}: the log does not name the reason {reason}: {logged}"
        );
        assert!(
            !logged.contains(token.as_str()),
            "{name}: the token was logged: {logged}"
        );
        // Nor any of its signed parts (a token cut short is as good as the token).
        if let Some(signature) = token.rsplit('.').next().filter(|part| part.len() > 20) {
            assert!(
                !logged.contains(signature),
                "{name}: the signature was logged"
            );
        }
    }
    // Where known, the log names the issuer and the key id.
    log.clear();
    app.get(Some(&bearer(&TestKey::rsa("rsa-unknown").sign(&good))), &[])
        .await;
    let logged = log.text();
    assert!(
        logged.contains(&format!("issuer=Some(\"{issuer}\")")),
        "{logged}"
    );
    assert!(logged.contains("kid=Some(\"rsa-unknown\")"), "{logged}");
}

#[tokio::test]
async fn an_unknown_key_id_refetches_the_key_set_at_most_once_per_interval() {
    let (app, server, [rsa, _, _]) = app_with_issuer(json!({})).await;
    let good = claims(&server.issuer);
    assert_eq!(
        app.get(Some(&bearer(&rsa.sign(&good))), &[]).await.status,
        200
    );
    assert_eq!(server.jwks_fetches(), 1);
    let stranger = TestKey::rsa("rsa-unknown").sign(&good);
    assert_eq!(app.get(Some(&bearer(&stranger)), &[]).await.status, 401);
    assert_eq!(
        server.jwks_fetches(),
        2,
        "an unknown key id refetches the key set"
    );
    for _ in 0..3 {
        assert_eq!(app.get(Some(&bearer(&stranger)), &[]).await.status, 401);
    }
    assert_eq!(
        server.jwks_fetches(),
        2,
        "within 30 seconds an unknown key id does not refetch again"
    );
    // Known keys are still served from the cache.
    assert_eq!(
        app.get(Some(&bearer(&rsa.sign(&good))), &[]).await.status,
        200
    );
    assert_eq!(server.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_rotated_key_is_found_by_refetching() {
    let (app, server, [rsa, ec, _]) = app_with_issuer(json!({})).await;
    let good = claims(&server.issuer);
    assert_eq!(
        app.get(Some(&bearer(&rsa.sign(&good))), &[]).await.status,
        200
    );
    let rotated = TestKey::other_rsa("rsa-2");
    server.publish(&[&rotated, &ec]);
    let answer = app.get(Some(&bearer(&rotated.sign(&good))), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(server.jwks_fetches(), 2);
    assert_eq!(server.discovery_fetches(), 1, "the jwks_uri found is kept");
}

#[tokio::test]
async fn an_unreachable_issuer_is_refused_without_waiting_long() {
    // A port that was free a moment ago: nothing listens there.
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let issuer = format!("http://{address}");
    let app = AuthApp::new(
        json!({"fetch_timeout_seconds": 2, "issuers": [
            {"issuer": issuer, "audience": AUDIENCE, "jwks_uri": format!("{issuer}/jwks")}
        ]}),
        None,
    )
    .await;
    let token = TestKey::rsa("rsa-1").sign(&claims(&issuer));
    let started = std::time::Instant::now();
    let answer = app.get(Some(&bearer(&token)), &[]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.message(),
        "the keys of the token's issuer cannot be fetched; try again later"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn maps_nested_array_and_role_map_claims() {
    let (app, server, [rsa, _, _]) = app_with_issuer(json!({
        "claims": {
            "user": "preferred_username",
            "role": "realm_access.roles",
            "organisation": "nhsid_nrbac_roles.org_code",
            "organisation_type": "org.type",
            "nhs_number": "https://kith.example/nhs_number"
        },
        "roles": {"doctor": "clinician", "R8001": "nurse"}
    }))
    .await;
    let token = rsa.sign(&with(
        claims(&server.issuer),
        json!({
            "preferred_username": "dr.jones",
            "realm_access": {"roles": ["offline_access", "uma_authorization", "doctor", "R8001"]},
            "nhsid_nrbac_roles": [{"org_code": "RRV"}, {"org_code": "RAL"}],
            "org": {"type": "acute-hospital"},
            "https://kith.example/nhs_number": "943 476 5919",
        }),
    ));
    let answer = app.whoami(Some(&bearer(&token)), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["user"], "dr.jones");
    assert_eq!(
        answer.body["role"], "clinician",
        "the first mapped value wins"
    );
    assert_eq!(answer.body["organisation"], "RRV");
    assert_eq!(answer.body["organisation_type"], "acute-hospital");
    assert_eq!(answer.body["nhs_number"], "9434765919");
    // With a role map, the issuer's values are mapped; a Kith code itself is not a role.
    let unmapped = rsa.sign(&with(
        claims(&server.issuer),
        json!({"preferred_username": "x", "realm_access": {"roles": ["clinician"]}}),
    ));
    assert_eq!(app.whoami(Some(&bearer(&unmapped)), &[]).await.status, 403);
}

#[tokio::test]
async fn a_jwks_file_issuer_needs_no_network() {
    let key = TestKey::ec("file-ec");
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&key]).to_string()).unwrap();
    let issuer = "https://cis2.example/openam/oauth2/realms/root/realms/oidc";
    let app = AuthApp::new(
        json!({"issuers": [{"issuer": issuer, "audience": AUDIENCE, "jwks_file": file, "algorithms": ["ES256"]}]}),
        None,
    )
    .await;
    let answer = app
        .get(Some(&bearer(&key.sign(&claims(issuer)))), &[])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let stranger = TestKey::ec("other").sign(&claims(issuer));
    assert_eq!(app.get(Some(&bearer(&stranger)), &[]).await.status, 401);
}

#[tokio::test]
async fn a_missing_jwks_file_stops_the_start() {
    let config = server::auth::AuthenticationConfig::from_json(
        &json!({"issuers": [{"issuer": "https://x.example", "audience": "a", "jwks_file": "/nonexistent/jwks.json"}]})
            .to_string(),
        std::path::Path::new("auth.json"),
    )
    .unwrap();
    let error = server::auth::Authenticator::new(&config, None)
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("/nonexistent/jwks.json"), "{error}");
    for (issuer, expected) in [
        (
            json!({"issuer": "http://id.example", "audience": "a", "discovery": true}),
            "must use https",
        ),
        (
            json!({"issuer": "https://id.example", "audience": "a", "discovery": true, "algorithms": ["HS256"]}),
            "algorithm HS256 is not accepted",
        ),
        (
            json!({"issuer": "https://id.example", "audience": "a", "discovery": true, "algorithms": ["none"]}),
            "algorithm none is not accepted",
        ),
        (
            json!({"issuer": "https://id.example", "audience": "a", "discovery": true, "roles": {"doctor": "surgeon"}}),
            "not a kith role",
        ),
    ] {
        let config = server::auth::AuthenticationConfig::from_json(
            &json!({"issuers": [issuer]}).to_string(),
            std::path::Path::new("auth.json"),
        )
        .unwrap();
        let error = server::auth::Authenticator::new(&config, None)
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains(expected), "{error}");
    }
}

#[tokio::test]
async fn basic_users_sign_in_with_their_password_only() {
    let hash = server::auth::hash_password(b"s3cret horse").unwrap();
    let app = AuthApp::new(
        json!({"users": [{"user": "ehrbase-client", "password_hash": hash, "role": "system",
            "organisation": "RRV", "organisation_type": "acute-hospital"}]}),
        None,
    )
    .await;
    let answer = app
        .whoami(Some(&basic("ehrbase-client", "s3cret horse")), &[])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["user"], "ehrbase-client");
    assert_eq!(answer.body["role"], "system");
    assert_eq!(answer.body["organisation_type"], "acute-hospital");
    assert_eq!(answer.body["method"], "Basic");
    assert_eq!(
        app.get(Some(&basic("ehrbase-client", "s3cret horse")), &[])
            .await
            .status,
        200
    );
    let log = LogCapture::default();
    let _guard = log.install();
    let wrong_password = app.get(Some(&basic("ehrbase-client", "guess")), &[]).await;
    let unknown_user = app.get(Some(&basic("mallory", "s3cret horse")), &[]).await;
    for answer in [&wrong_password, &unknown_user] {
        assert_eq!(answer.status, 401);
        assert_eq!(answer.message(), "the user name or password is wrong");
    }
    let logged = log.text();
    assert!(logged.contains("reason=\"wrong_password\""), "{logged}");
    assert!(logged.contains("reason=\"unknown_user\""), "{logged}");
    assert!(
        !logged.contains("guess") && !logged.contains("s3cret"),
        "{logged}"
    );
    assert!(
        !logged.contains("mallory"),
        "unknown user names are not logged: {logged}"
    );
    let malformed = app.get(Some("Basic not-base64!"), &[]).await;
    assert_eq!(malformed.status, 401);
    // Without Basic users configured, Basic is refused as such.
    let plain = AuthApp::new(json!({}), None).await;
    let answer = plain.get(Some(&basic("ehrbase-client", "x")), &[]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.message(),
        "http basic authentication is not configured"
    );
}

#[tokio::test]
async fn the_administrator_token_keeps_working() {
    let app = AuthApp::new(json!({}), None).await;
    let answer = app.whoami(Some(&bearer(ADMIN_TOKEN)), &[]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["user"], "admin");
    assert_eq!(answer.body["role"], "administrator");
    assert_eq!(answer.body["is_admin"], true);
    assert_eq!(answer.body["method"], "AdminToken");
    assert_eq!(app.get(Some(&bearer(ADMIN_TOKEN)), &[]).await.status, 200);
    let missing = app.get(None, &[]).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.message(),
        "credentials are required (authorization: bearer <token>, or basic)"
    );
    // The empty token of a process that serves nothing matches no request.
    let empty = AuthApp::with_authenticator(server::auth::Authenticator::default()).await;
    assert_eq!(empty.get(Some("Bearer "), &[]).await.status, 401);
}

#[tokio::test]
async fn purpose_comes_from_the_token_else_the_header_and_cannot_be_widened() {
    let (app, server, [rsa, _, _]) = app_with_issuer(json!({})).await;
    let open = bearer(&rsa.sign(&claims(&server.issuer)));
    let fixed = bearer(&rsa.sign(&with(
        claims(&server.issuer),
        json!({"kith_purpose": "direct-care"}),
    )));
    let cases: Vec<(&str, &String, Option<&str>, u16, Value)> = vec![
        ("no purpose at all", &open, None, 200, Value::Null),
        (
            "from the header",
            &open,
            Some("emergency-care"),
            200,
            json!("emergency-care"),
        ),
        (
            "from the header, spaced",
            &open,
            Some(" direct-care "),
            200,
            json!("direct-care"),
        ),
        // Secondary use opens records without a relationship: only credentials grant it.
        (
            "secondary use from the header",
            &open,
            Some("research"),
            403,
            Value::Null,
        ),
        ("from the token", &fixed, None, 200, json!("direct-care")),
        (
            "token and header agree",
            &fixed,
            Some("direct-care"),
            200,
            json!("direct-care"),
        ),
        (
            "header widens the token",
            &fixed,
            Some("research"),
            403,
            Value::Null,
        ),
        ("unknown code", &open, Some("curiosity"), 400, Value::Null),
    ];
    for (name, authorization, header, status, expected) in cases {
        let headers: Vec<(&str, &str)> = header
            .map(|value| ("kith-purpose", value))
            .into_iter()
            .collect();
        let answer = app.whoami(Some(authorization), &headers).await;
        assert_eq!(answer.status.as_u16(), status, "{name}: {}", answer.body);
        if status == 200 {
            assert_eq!(answer.body["purpose"], expected, "{name}");
        }
    }
    let conflict = app.get(Some(&fixed), &[("kith-purpose", "research")]).await;
    assert_eq!(
        conflict.message(),
        "the credentials fix the purpose direct-care; the kith-purpose header cannot change it to research"
    );
    let unknown = app.get(Some(&open), &[("kith-purpose", "curiosity")]).await;
    assert_eq!(unknown.body["error"], "invalid_header");
    assert!(
        unknown.message().contains("\"curiosity\"") && unknown.message().contains("direct-care"),
        "{}",
        unknown.message()
    );
    // A token claiming a purpose Kith does not know is refused outright.
    let bad_claim = bearer(&rsa.sign(&with(
        claims(&server.issuer),
        json!({"kith_purpose": "marketing"}),
    )));
    assert_eq!(app.get(Some(&bad_claim), &[]).await.status, 401);
}

#[tokio::test]
async fn the_break_glass_reason_is_captured_for_the_policy() {
    let app = AuthApp::new(json!({}), None).await;
    let admin = bearer(ADMIN_TOKEN);
    for (header, expected) in [
        (None, Value::Null),
        (
            Some("  unconscious patient in ED, no consent possible  "),
            json!("unconscious patient in ED, no consent possible"),
        ),
        (Some("   "), Value::Null),
    ] {
        let headers: Vec<(&str, &str)> = header
            .map(|value| ("kith-break-glass", value))
            .into_iter()
            .collect();
        let answer = app.whoami(Some(&admin), &headers).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body["break_glass"], expected, "{header:?}");
    }
    let too_long = "x".repeat(1001);
    let answer = app
        .whoami(Some(&admin), &[("kith-break-glass", &too_long)])
        .await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn local_tokens_are_trusted_unless_switched_off() {
    let directory = tempfile::tempdir().unwrap();
    let key = server::auth::LocalSigningKey::load_or_create(directory.path()).unwrap();
    let token = key
        .mint(
            SYSTEM_ID,
            &server::auth::LocalToken {
                user: "9434765919".into(),
                role: access::Role::Patient,
                organisation: None,
                organisation_type: None,
                nhs_number: Some("9434765919".into()),
                purpose: Some(access::Purpose::OwnAccess),
                lifetime: std::time::Duration::from_secs(600),
            },
        )
        .unwrap();
    let app = AuthApp::new(json!({}), Some(directory.path())).await;
    let answer = app.whoami(Some(&bearer(&token)), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["role"], "patient");
    assert_eq!(answer.body["nhs_number"], "9434765919");
    assert_eq!(answer.body["purpose"], "own-access");
    assert_eq!(
        answer.body["method"],
        format!("Bearer {{ issuer: \"kith:{SYSTEM_ID}\" }}")
    );
    let switched_off = AuthApp::new(json!({}), None).await;
    let answer = switched_off.get(Some(&bearer(&token)), &[]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.message(), "the token's issuer is not trusted");
    // Another data directory's key is another key: its tokens are not these.
    let other = tempfile::tempdir().unwrap();
    let other_app = AuthApp::new(json!({}), Some(other.path())).await;
    assert_eq!(other_app.get(Some(&bearer(&token)), &[]).await.status, 401);
}

#[tokio::test]
async fn expired_keys_are_refreshed_and_kept_when_the_refresh_fails() {
    let rsa = TestKey::rsa("rsa-1");
    let server = KeyServer::start(&[&rsa]).await;
    // Every key set is stale at once; a failed fetch waits the default 30 s to be retried.
    let app = AuthApp::new(
        json!({"key_cache_seconds": 0, "issuers": [server.issuer_config(json!({}))]}),
        None,
    )
    .await;
    // Distinct tokens, so that none is answered from the cache of verified tokens.
    let token =
        |number: u32| bearer(&rsa.sign(&with(claims(&server.issuer), json!({"jti": number}))));
    assert_eq!(app.get(Some(&token(1)), &[]).await.status, 200);
    assert_eq!(app.get(Some(&token(2)), &[]).await.status, 200);
    assert_eq!(server.jwks_fetches(), 2, "a stale key set is fetched again");
    *server.jwks.lock().unwrap() = json!({"not": "a key set"});
    let log = LogCapture::default();
    let _guard = log.install();
    let answer = app.get(Some(&token(3)), &[]).await;
    assert_eq!(
        answer.status, 200,
        "the keys fetched before stay in use: {}",
        answer.body
    );
    assert_eq!(server.jwks_fetches(), 3);
    let logged = log.text();
    assert!(
        logged.contains("refreshing the issuer's keys failed") && logged.contains("no keys array"),
        "{logged}"
    );
    assert_eq!(app.get(Some(&token(4)), &[]).await.status, 200);
    assert_eq!(
        server.jwks_fetches(),
        3,
        "a failed fetch is not retried at once"
    );
}

/// With two issuers, user ids are kept apart by the `user_prefix` of one: the partner's
/// token whose user claim is the hospital professional's user id is not that professional,
/// so the care relationship naming them does not let it in, and the hospital (without a
/// prefix) cannot name the partner's users either.
#[tokio::test]
async fn a_prefixed_issuers_users_cannot_pass_for_another_issuers() {
    use axum::body::Body;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let hospital_key = TestKey::rsa("hospital-1");
    let partner_key = TestKey::ec("partner-1");
    let hospital = KeyServer::start(&[&hospital_key]).await;
    let partner = KeyServer::start(&[&partner_key]).await;
    let app = AuthApp::new(
        json!({"issuers": [
            hospital.issuer_config(json!({})),
            partner.issuer_config(json!({"user_prefix": "partner:"})),
        ]}),
        None,
    )
    .await;
    // No organisation: only a relationship naming the caller lets a clinician in.
    let token = |key: &TestKey, server: &KeyServer, user: &str| {
        bearer(&key.sign(&with(
            claims(&server.issuer),
            json!({"sub": user, "kith_org": null}),
        )))
    };
    let dr_jones = token(&hospital_key, &hospital, "dr.jones");
    let impostor = token(&partner_key, &partner, "dr.jones");
    let partner_nurse = token(&partner_key, &partner, "nurse.smith");
    assert_eq!(
        app.whoami(Some(&dr_jones), &[]).await.body["user"],
        "dr.jones"
    );
    assert_eq!(
        app.whoami(Some(&impostor), &[]).await.body["user"],
        "partner:dr.jones"
    );
    // Asked again, the answer comes from the cache of verified tokens, prefixed as well.
    assert_eq!(
        app.whoami(Some(&impostor), &[]).await.body["user"],
        "partner:dr.jones"
    );

    let call = |method: Method, uri: String, authorization: String, body: Option<Value>| {
        let router = app.router.clone();
        async move {
            let mut request = Request::builder()
                .method(method)
                .uri(uri)
                .header("authorization", authorization);
            if body.is_some() {
                request = request.header("content-type", "application/json");
            }
            let body = body.map_or_else(Body::empty, |body| Body::from(body.to_string()));
            let response = router.oneshot(request.body(body).unwrap()).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let admin = bearer(ADMIN_TOKEN);
    let (status, person) = call(
        Method::POST,
        "/api/v1/people".into(),
        admin.clone(),
        Some(json!({"nhs_number": "9434765919", "name": {"family": "Smith"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{person}");
    let person = person["id"].as_str().unwrap().to_owned();
    for professional in ["dr.jones", "partner:nurse.smith"] {
        let (status, body) = call(
            Method::POST,
            format!("/api/v1/people/{person}/relationships"),
            admin.clone(),
            Some(json!({"kind": "care-team", "professional": professional})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let uri = format!("/api/v1/people/{person}");
    // A refused read of a person is a 404: it does not tell whether the person exists.
    for (name, caller, expected) in [
        ("the hospital's dr.jones", &dr_jones, StatusCode::OK),
        ("the partner's dr.jones", &impostor, StatusCode::NOT_FOUND),
        ("the partner's nurse.smith", &partner_nurse, StatusCode::OK),
    ] {
        let (status, body) = call(Method::GET, uri.clone(), caller.clone(), None).await;
        assert_eq!(status, expected, "{name}: {body}");
    }
    // The audit trail names each caller by the prefixed user id.
    let (status, trail) = call(
        Method::GET,
        format!("/api/v1/audit?person_id={person}"),
        admin.clone(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    let reads: Vec<(String, String)> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["action"] == "read")
        .map(|event| {
            (
                event["user"].as_str().unwrap_or_default().to_owned(),
                event["decision"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("dr.jones", "allow"),
        ("partner:dr.jones", "deny"),
        ("partner:nurse.smith", "allow"),
    ]
    .iter()
    .map(|(user, decision)| ((*user).to_owned(), (*decision).to_owned()))
    .collect();
    assert_eq!(reads, expected, "{trail}");
    // The issuer without a prefix cannot name the partner's users.
    let answer = app
        .get(
            Some(&token(&hospital_key, &hospital, "partner:nurse.smith")),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(
        answer.message(),
        "the token's sub claim is not valid: it begins with another issuer's user prefix"
    );
}
