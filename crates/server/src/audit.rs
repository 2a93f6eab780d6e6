//! The audit trail's writer: one task per server that numbers events, chains their hashes
//! and appends them in batches. A request's event is durable before its answer is sent
//! (the handler awaits [`AuditTrail::record`]), so a crash never loses the record of an
//! access that was answered.
//!
//! Several servers may share one PostgreSQL database: each writer appends after the head it
//! knows, and when another got there first (`StoreError::AuditSeqTaken`) it rereads the head
//! and rehashes the batch, so the chain never forks.

use std::sync::Arc;

use access::audit::{AuditEvent, canonical_bytes, chain_hash};
use store::{AuditRow, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Most events one append writes.
const MAX_BATCH: usize = 512;
/// Tries of one batch against other writers before giving up on it.
const MAX_ATTEMPTS: usize = 16;

/// What the writer task is asked to do: append an event, answering when it is durable.
struct Pending {
    event: AuditEvent,
    person_id: Option<uuid::Uuid>,
    /// The event's `records`, as ids.
    ehr_ids: Vec<uuid::Uuid>,
    done: oneshot::Sender<Result<u64, String>>,
}

/// A handle on the writer task; cheap to clone.
#[derive(Clone)]
pub struct AuditTrail {
    sender: mpsc::UnboundedSender<Pending>,
}

impl AuditTrail {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Arc<dyn Store>) -> AuditTrail {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(store, receiver));
        AuditTrail { sender }
    }

    /// Appends an event and waits until it is stored; returns its seq.
    pub async fn record(
        &self,
        event: AuditEvent,
        person_id: Option<uuid::Uuid>,
        ehr_ids: Vec<uuid::Uuid>,
    ) -> Result<u64, String> {
        let (done, outcome) = oneshot::channel();
        self.sender
            .send(Pending {
                event,
                person_id,
                ehr_ids,
                done,
            })
            .map_err(|_| "the audit writer has stopped".to_owned())?;
        outcome
            .await
            .map_err(|_| "the audit writer has stopped".to_owned())?
    }
}

async fn write_loop(store: Arc<dyn Store>, mut receiver: mpsc::UnboundedReceiver<Pending>) {
    let mut head: Option<(u64, [u8; 32])> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let outcome = append(&*store, &mut head, &batch).await;
        for (offset, pending) in batch.drain(..).enumerate() {
            let answer = match &outcome {
                Ok(first) => Ok(first + offset as u64),
                Err(error) => Err(error.clone()),
            };
            let _ = pending.done.send(answer);
        }
    }
}

/// Appends the batch after the head (reading it when unknown or stale); returns the first
/// event's seq.
async fn append(
    store: &dyn Store,
    head: &mut Option<(u64, [u8; 32])>,
    batch: &[Pending],
) -> Result<u64, String> {
    for _ in 0..MAX_ATTEMPTS {
        let (last_seq, last_hash) = match *head {
            Some(known) => known,
            None => store
                .audit_head()
                .await
                .map_err(|error| error.to_string())?
                .unwrap_or((0, [0; 32])),
        };
        let mut previous = last_hash;
        let rows: Vec<AuditRow> = batch
            .iter()
            .enumerate()
            .map(|(offset, pending)| {
                let seq = last_seq + 1 + offset as u64;
                let canonical = canonical_bytes(&pending.event, seq);
                let hash = chain_hash(&previous, &canonical);
                previous = hash;
                AuditRow {
                    seq,
                    time: pending.event.time,
                    person_id: pending.person_id,
                    user: pending.event.user.clone(),
                    break_glass: pending.event.break_glass.is_some(),
                    allowed: pending.event.decision == access::AuditDecision::Allow,
                    canonical,
                    hash,
                    ehr_ids: pending.ehr_ids.clone(),
                }
            })
            .collect();
        let last = rows.last().map(|row| (row.seq, row.hash));
        match store.append_audit(rows).await {
            Ok(()) => {
                *head = last;
                return Ok(last_seq + 1);
            }
            Err(StoreError::AuditSeqTaken(_)) => {
                // Another server appended: read the new head and hash again.
                *head = None;
            }
            Err(error) => {
                *head = None;
                tracing::error!(error = %error, "cannot append to the audit trail");
                return Err(error.to_string());
            }
        }
    }
    Err("the audit trail is contended by other writers; gave up".to_owned())
}
