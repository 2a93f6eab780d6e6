//! The callers a run measures as (`--as`): the administrator, whose token skips the access
//! policy's facts, and a clinician at a GP practice, who is decided on every request with
//! the person's care relationships and consent directives. This module registers what the
//! clinician's side needs (the practice, the people of the records read, a registered-GP
//! relationship and two directives each) and mints the clinician's token with `kith token`.

use std::path::Path;

use anyhow::{Context as _, bail};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::client::Api;

/// The clinician's practice, their user id, and the practice's type.
pub const PRACTICE: &str = "A81001";
pub const CLINICIAN_USER: &str = "dr-1";
const PRACTICE_TYPE: &str = "gp-practice";

const JSON: Option<&str> = Some("application/json");

/// Who a request is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallerKind {
    /// The administrator token: rule 1 of the policy allows it without reading the
    /// person's relationships or directives; its requests are audited all the same.
    Admin,
    /// A clinician at the practice, token without an organisation type: the server looks
    /// the practice up to learn its type, then reads the person's relationships and
    /// directives.
    Clinician,
    /// The same clinician with the organisation type in the token (`kith token
    /// --org-type gp-practice`), so the server does not look the practice up: the
    /// difference to `clinician` is the cost of that lookup.
    ClinicianOrgType,
}

impl CallerKind {
    pub const ALL: [CallerKind; 3] = [
        CallerKind::Admin,
        CallerKind::Clinician,
        CallerKind::ClinicianOrgType,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CallerKind::Admin => "admin",
            CallerKind::Clinician => "clinician",
            CallerKind::ClinicianOrgType => "clinician-org-type",
        }
    }

    pub fn parse(name: &str) -> Option<CallerKind> {
        CallerKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    pub fn is_admin(self) -> bool {
        self == CallerKind::Admin
    }

    /// The arguments of `kith token` for this caller; None for the administrator.
    fn token_arguments(self) -> Option<Vec<&'static str>> {
        let mut arguments = vec!["--role", "clinician", "--org", PRACTICE, "--user"];
        arguments.push(CLINICIAN_USER);
        match self {
            CallerKind::Admin => None,
            CallerKind::Clinician => Some(arguments),
            CallerKind::ClinicianOrgType => {
                arguments.extend(["--org-type", PRACTICE_TYPE]);
                Some(arguments)
            }
        }
    }
}

/// A caller of a run: its kind and bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub kind: CallerKind,
    pub token: String,
}

/// The `--as` list checked: known names, no repeats, in the order given.
pub fn parse_callers(names: &[String]) -> anyhow::Result<Vec<CallerKind>> {
    let mut kinds = Vec::new();
    for name in names {
        let kind = CallerKind::parse(name).with_context(|| {
            format!("--as {name}: not a caller (admin, clinician, clinician-org-type)")
        })?;
        anyhow::ensure!(!kinds.contains(&kind), "--as names {name} twice");
        kinds.push(kind);
    }
    if kinds.is_empty() {
        kinds.push(CallerKind::Admin);
    }
    Ok(kinds)
}

/// The tokens of `kinds`: the administrator's as given, the others minted with the server
/// binary's `kith token` and the server's data directory (where its signing key is).
pub fn tokens(
    kinds: &[CallerKind],
    binary: &Path,
    data_dir: &Path,
    admin_token: &str,
) -> anyhow::Result<Vec<Caller>> {
    kinds
        .iter()
        .map(|kind| {
            let token = match kind.token_arguments() {
                None => admin_token.to_owned(),
                Some(arguments) => mint_token(binary, data_dir, &arguments)?,
            };
            Ok(Caller { kind: *kind, token })
        })
        .collect()
}

fn mint_token(binary: &Path, data_dir: &Path, arguments: &[&str]) -> anyhow::Result<String> {
    let output = std::process::Command::new(binary)
        .arg("token")
        .args(arguments)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("KITH_DATA_DIR")
        .env_remove("KITH_SYSTEM_ID")
        .env("RUST_LOG", "warn")
        .output()
        .with_context(|| format!("running {} token", binary.display()))?;
    if !output.status.success() {
        bail!(
            "kith token {} failed: {}",
            arguments.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let token = String::from_utf8(output.stdout)
        .context("kith token printed something that is not text")?
        .trim()
        .to_owned();
    anyhow::ensure!(!token.is_empty(), "kith token printed no token");
    Ok(token)
}

/// The NHS numbers of the benchmark's first `count` people: nine digits counted from
/// 400,000,000, skipping those whose Modulus 11 check gives 10 (no valid number), then the
/// check digit. The same every run, so a rerun on the same store finds the same people.
pub fn nhs_numbers(count: usize) -> Vec<String> {
    (400_000_000u32..)
        .filter_map(access::NhsNumber::from_nine_digits)
        .map(|number| number.to_string())
        .take(count)
        .collect()
}

/// Registers the clinician's practice (idempotent: PUT replaces it).
pub async fn register_practice(admin: &Api) -> anyhow::Result<()> {
    let path = format!("/api/v1/organisations/{PRACTICE}");
    let body = json!({"name": "Kith bench practice", "type": PRACTICE_TYPE});
    let answer = admin
        .send(
            Method::PUT,
            &path,
            JSON,
            None,
            Bytes::from(body.to_string()),
        )
        .await?;
    if answer.status != StatusCode::CREATED && answer.status != StatusCode::OK {
        bail!(
            "PUT {path} answered {}: {}",
            answer.status,
            excerpt(&answer.body)
        );
    }
    Ok(())
}

/// A registered person: their id and EHR.
#[derive(Debug, Clone)]
pub struct Registered {
    pub person_id: String,
    pub ehr_id: String,
}

/// Registers a person by NHS number: the server creates their EHR, or adopts the EHR whose
/// EHR_STATUS subject is that number. A person registered by an earlier run on the same
/// store is found instead.
pub async fn register_person(
    admin: &Api,
    nhs_number: &str,
    family: &str,
) -> anyhow::Result<Registered> {
    let body = json!({"nhs_number": nhs_number, "name": {"family": family}});
    let answer = admin
        .send(
            Method::POST,
            "/api/v1/people",
            JSON,
            None,
            Bytes::from(body.to_string()),
        )
        .await?;
    let person = match answer.status {
        StatusCode::CREATED => serde_json::from_slice::<Value>(&answer.body)?,
        StatusCode::CONFLICT => {
            let found = admin
                .expect(
                    Method::GET,
                    &format!("/api/v1/people?nhs_number={nhs_number}"),
                    None,
                    None,
                    Bytes::new(),
                    StatusCode::OK,
                )
                .await?;
            let found: Value = serde_json::from_slice(&found.body)?;
            found["people"][0].clone()
        }
        status => bail!(
            "POST /api/v1/people ({nhs_number}) answered {status}: {}",
            excerpt(&answer.body)
        ),
    };
    let field = |name: &str| {
        person[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("person {nhs_number} has no {name}: {person}"))
    };
    Ok(Registered {
        person_id: field("id")?,
        ehr_id: field("ehr_id")?,
    })
}

/// The circle of care the clinician's reads are decided with: the person registered at the
/// clinician's practice, and two directives in force that do not concern the clinician (no
/// pharmacy may read the record; no research use). What a rerun finds there is kept.
pub async fn put_circle_of_care(admin: &Api, person_id: &str) -> anyhow::Result<()> {
    let relationships = get_list(
        admin,
        &format!("/api/v1/people/{person_id}/relationships"),
        "relationships",
    )
    .await?;
    let registered = relationships.iter().any(|relationship| {
        relationship["kind"] == "registered-gp" && relationship["organisation"] == PRACTICE
    });
    if !registered {
        post(
            admin,
            &format!("/api/v1/people/{person_id}/relationships"),
            json!({"kind": "registered-gp", "organisation": PRACTICE}),
        )
        .await?;
    }
    let consents = get_list(
        admin,
        &format!("/api/v1/people/{person_id}/consents"),
        "consents",
    )
    .await?;
    let text = Value::Array(consents).to_string();
    for (marker, directive) in [
        (
            "pharmacy",
            json!({"decision": "deny", "actors": [{"kind": "organisation-type", "type": "pharmacy"}]}),
        ),
        (
            "research",
            json!({"decision": "deny", "purposes": ["research"]}),
        ),
    ] {
        if !text.contains(marker) {
            post(
                admin,
                &format!("/api/v1/people/{person_id}/consents"),
                directive,
            )
            .await?;
        }
    }
    Ok(())
}

async fn get_list(api: &Api, path: &str, field: &str) -> anyhow::Result<Vec<Value>> {
    let answer = api
        .expect(Method::GET, path, None, None, Bytes::new(), StatusCode::OK)
        .await?;
    let value: Value = serde_json::from_slice(&answer.body)?;
    Ok(value[field].as_array().cloned().unwrap_or_default())
}

async fn post(api: &Api, path: &str, body: Value) -> anyhow::Result<()> {
    api.expect(
        Method::POST,
        path,
        JSON,
        None,
        Bytes::from(body.to_string()),
        StatusCode::CREATED,
    )
    .await?;
    Ok(())
}

fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(400).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benchmark_nhs_numbers_are_valid_and_distinct() {
        let numbers = nhs_numbers(500);
        assert_eq!(numbers.len(), 500);
        for number in &numbers {
            assert!(access::NhsNumber::parse(number).is_ok(), "{number}");
        }
        let mut distinct = numbers.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), numbers.len());
    }

    #[test]
    fn callers_parse_in_order_and_default_to_the_administrator() {
        let names = |list: &[&str]| list.iter().map(|name| name.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_callers(&names(&["clinician", "admin"])).unwrap(),
            vec![CallerKind::Clinician, CallerKind::Admin]
        );
        assert_eq!(parse_callers(&[]).unwrap(), vec![CallerKind::Admin]);
        assert!(parse_callers(&names(&["admin", "admin"])).is_err());
        assert!(parse_callers(&names(&["nurse"])).is_err());
    }
}
