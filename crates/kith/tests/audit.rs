//! `kith audit verify` on a real store: a chain written as the server writes it verifies;
//! one changed, deleted or inserted event is reported at its seq with exit status 1.

use std::process::Command;

use access::audit::{AuditDecision, AuditEvent, GENESIS_HASH, seal};
use store::AuditRow;
use time::macros::datetime;

fn event(number: u64) -> AuditEvent {
    AuditEvent {
        time: datetime!(2026-11-21 10:00 UTC) + time::Duration::seconds(number as i64),
        user: format!("user-{number}"),
        role: Some(access::Role::Clinician),
        organisation: Some("A81001".to_owned()),
        purpose: Some(access::Purpose::DirectCare),
        action: "read".to_owned(),
        object: format!("GET /rest/openehr/v1/ehr/{number}"),
        person: None,
        decision: AuditDecision::Allow,
        reason: "allow care-relationship".to_owned(),
        break_glass: None,
        request_id: format!("request-{number}"),
        client_address: None,
        // Event 2 is a query whose rows showed a record.
        records: if number == 2 {
            vec![RECORD.to_owned()]
        } else {
            Vec::new()
        },
    }
}

const RECORD: &str = "0f5a7a3e-6a4b-4c1e-9d9a-5b8f0e1c2d3e";

fn verify(data_dir: &std::path::Path, extra: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["audit", "verify", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env_remove("KITH_DATABASE_URL")
        .output()
        .expect("runs kith");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_finds_the_first_broken_link() {
    let directory = tempfile::tempdir().expect("tempdir");
    let data_dir = directory.path().join("data");
    {
        let store = store::open_store(None, &data_dir).await.expect("opens");
        let mut previous = GENESIS_HASH;
        let mut rows = Vec::new();
        for seq in 1..=5 {
            let sealed = seal(&previous, seq, &event(seq));
            previous = sealed.hash;
            rows.push(AuditRow {
                seq,
                time: event(seq).time,
                person_id: None,
                user: event(seq).user,
                break_glass: false,
                allowed: true,
                canonical: sealed.canonical,
                hash: sealed.hash,
                ehr_ids: event(seq)
                    .records
                    .iter()
                    .map(|id| uuid::Uuid::parse_str(id).unwrap())
                    .collect(),
            });
        }
        store.append_audit(rows).await.expect("appends");
    }
    let (ok, text) = verify(&data_dir, &[]);
    assert!(ok, "{text}");
    assert!(text.contains("verified: 5 events"), "{text}");
    let head = text
        .split("head ")
        .nth(1)
        .expect("prints the head")
        .trim()
        .to_owned();
    assert!(head.starts_with("5:"), "{head}");

    let database = rusqlite::Connection::open(data_dir.join("kith.db")).expect("opens sqlite");
    let tamper = |sql: &str| database.execute_batch(sql).expect("tampers");
    // Cutting the newest event leaves a valid shorter chain; only the head kept from before
    // shows the cut.
    tamper("DELETE FROM audit_event WHERE seq = 5");
    let (ok, text) = verify(&data_dir, &[]);
    assert!(ok, "{text}");
    let (ok, text) = verify(&data_dir, &["--expect-head", &head]);
    assert!(!ok, "{text}");
    assert!(text.contains("no longer holds event 5"), "{text}");
    // The lookup columns must agree with the hashed event: hiding an event from the review
    // list by its column is found.
    tamper("UPDATE audit_event SET break_glass = 1 WHERE seq = 4");
    let (ok, text) = verify(&data_dir, &[]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("event 4") && text.contains("lookup columns"),
        "{text}"
    );
    tamper("UPDATE audit_event SET break_glass = 0 WHERE seq = 4");
    // So must the records an event names, by which the people shown find it in their access
    // logs: one taken away, or one added, is found.
    let record = format!("X'{}'", RECORD.replace('-', ""));
    for (change, undo, seq) in [
        (
            "DELETE FROM audit_record WHERE seq = 2".to_owned(),
            format!("INSERT INTO audit_record (seq, ehr_id) VALUES (2, {record})"),
            2,
        ),
        (
            format!("INSERT INTO audit_record (seq, ehr_id) VALUES (1, {record})"),
            "DELETE FROM audit_record WHERE seq = 1".to_owned(),
            1,
        ),
    ] {
        tamper(&change);
        let (ok, text) = verify(&data_dir, &[]);
        assert!(!ok, "{text}");
        assert!(
            text.contains(&format!("event {seq}")) && text.contains("lookup columns"),
            "{text}"
        );
        tamper(&undo);
        let (ok, text) = verify(&data_dir, &[]);
        assert!(ok, "{text}");
    }
    // Changing what event 3 says (its decision) breaks the chain at 3.
    tamper(
        "UPDATE audit_event SET canonical = CAST(replace(CAST(canonical AS TEXT), '\"allow\"', '\"deny\"') AS BLOB) WHERE seq = 3",
    );
    let (ok, text) = verify(&data_dir, &[]);
    assert!(!ok, "{text}");
    assert!(text.contains("event 3"), "{text}");
    // Deleting event 2 as well: the first broken link is now 3, where the gap shows.
    tamper("DELETE FROM audit_event WHERE seq = 2");
    let (ok, text) = verify(&data_dir, &[]);
    assert!(!ok);
    assert!(text.contains("event 3"), "{text}");
}
