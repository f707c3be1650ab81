//! The one writer to the store. Workers send finished items over a bounded channel; this
//! thread inserts them in batched transactions, so an item is committed together with its
//! observations and errors or not at all.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rusqlite::Connection;

pub use crate::store::items::{ChildResult, ErrorRecord, ItemResult};
use crate::store::items::{insert_error, insert_item};

/// Items per transaction. At 1000 a 200k-file scan spends under 2% of its time committing;
/// single-item transactions made it 8x slower (fsync per commit).
const BATCH_ITEMS: usize = 1000;
/// Longest time a finished item waits for its commit.
const BATCH_AGE: Duration = Duration::from_millis(250);

pub enum WriteMsg {
    /// A worker's finished batch (see `engine::WALK_BATCH`).
    Items(Vec<ItemResult>),
    Error(ErrorRecord),
}

/// Runs until every sender is dropped; returns the number of messages written.
pub fn run(mut conn: Connection, run_id: i64, rx: Receiver<WriteMsg>) -> rusqlite::Result<u64> {
    let mut written = 0u64;
    let mut open = true;
    while open {
        let tx = conn.transaction()?;
        let started = Instant::now();
        let mut in_batch = 0;
        while in_batch < BATCH_ITEMS {
            let wait = BATCH_AGE.saturating_sub(started.elapsed());
            match rx.recv_timeout(wait) {
                Ok(WriteMsg::Items(items)) => {
                    for r in &items {
                        insert_item(&tx, run_id, r)?;
                    }
                    in_batch += items.len();
                    continue;
                }
                Ok(WriteMsg::Error(e)) => insert_error(
                    &tx,
                    run_id,
                    e.source_id,
                    &e.path,
                    e.stage.as_str(),
                    &e.reason,
                )?,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    open = false;
                    break;
                }
            }
            in_batch += 1;
        }
        tx.commit()?;
        written += in_batch as u64;
    }
    Ok(written)
}
