//! One webhook target's outbox: the messages decided and not delivered yet, oldest first,
//! bounded in count and bytes.
//!
//! A target that is down for a day must not grow the server's memory and disk without end: when
//! a new message would take the outbox over [`Limits`], the oldest messages are dropped first
//! (the server counts them as `result="dropped"`). The message being sent right now is never
//! the one dropped. A message is sent only once it is *durable* (written to the target's journal,
//! [`crate::alerts::memory`]), so a crash never loses one that a target may have seen.

use crate::config::{DEFAULT_OUTBOX_BYTES, DEFAULT_OUTBOX_MESSAGES};
use captchaai_balance::alerts::AlertState;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

/// How much one target's outbox holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Messages.
    pub max_messages: usize,
    /// Bytes of bodies.
    pub max_bytes: usize,
}

impl Limits {
    /// Whether `messages` holding `bytes` of bodies are over the bound, so the oldest must go:
    /// never down to nothing (the newest message is kept whatever its size).
    pub fn over(&self, messages: usize, bytes: usize) -> bool {
        messages > self.max_messages.max(1) || (bytes > self.max_bytes && messages > 1)
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_messages: DEFAULT_OUTBOX_MESSAGES,
            max_bytes: DEFAULT_OUTBOX_BYTES,
        }
    }
}

/// One message waiting for its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its place in the target's journal (increasing).
    pub seq: u64,
    /// The event's id (the same for every target and every redelivery).
    pub id: String,
    /// The body, fixed when decided.
    pub body: String,
    /// When it was decided (epoch ms).
    pub at: i64,
    /// The account whose alert it is (empty for a message migrated from the old memory file).
    #[serde(default)]
    pub account: String,
    /// The account's alert state after the decision: written with the message, so a crash
    /// before the account's own file is written does not decide (and send) the alert again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertState>,
}

#[derive(Debug)]
struct Queued {
    entry: Arc<Entry>,
    durable: bool,
}

/// One target's pending messages, oldest first.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<Queued>,
    bytes: usize,
    in_flight: Option<u64>,
    next_seq: u64,
}

impl Outbox {
    /// An outbox holding `entries` (read back from disk: durable), in `seq` order.
    pub fn restore(mut entries: Vec<Entry>) -> Outbox {
        entries.sort_by_key(|e| e.seq);
        let next_seq = entries.last().map_or(1, |e| e.seq + 1);
        let mut outbox = Outbox {
            next_seq,
            ..Outbox::default()
        };
        for entry in entries {
            outbox.bytes += entry.body.len();
            outbox.queue.push_back(Queued {
                entry: Arc::new(entry),
                durable: true,
            });
        }
        outbox
    }

    /// The `seq` the next message gets.
    pub fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq.max(1);
        self.next_seq = seq + 1;
        seq
    }

    /// Adds `entry` (durable already when nothing is written to disk), then drops the oldest
    /// messages while the outbox is over `limits`; returns the dropped ones.
    pub fn push(&mut self, entry: Entry, durable: bool, limits: Limits) -> Vec<Arc<Entry>> {
        self.bytes += entry.body.len();
        self.next_seq = self.next_seq.max(entry.seq + 1);
        self.queue.push_back(Queued {
            entry: Arc::new(entry),
            durable,
        });
        self.enforce(limits)
    }

    /// Drops the oldest messages (never the one in flight, never the newest) until the outbox
    /// is within `limits`; returns them.
    pub fn enforce(&mut self, limits: Limits) -> Vec<Arc<Entry>> {
        let mut dropped = Vec::new();
        while limits.over(self.queue.len(), self.bytes) {
            let last = self.queue.len().saturating_sub(1);
            let Some(index) = self
                .queue
                .iter()
                .take(last)
                .position(|q| Some(q.entry.seq) != self.in_flight)
            else {
                break;
            };
            if let Some(gone) = self.queue.remove(index) {
                self.bytes -= gone.entry.body.len();
                dropped.push(gone.entry);
            }
        }
        dropped
    }

    /// The oldest message, once it is durable, marked as in flight; `None` when there is none
    /// (or the oldest is not written yet).
    pub fn next_to_send(&mut self) -> Option<Arc<Entry>> {
        let first = self.queue.front().filter(|q| q.durable)?;
        self.in_flight = Some(first.entry.seq);
        Some(Arc::clone(&first.entry))
    }

    /// Removes message `seq` (delivered or given up); false when it is not here any more (it
    /// was dropped meanwhile).
    pub fn settle(&mut self, seq: u64) -> bool {
        if self.in_flight == Some(seq) {
            self.in_flight = None;
        }
        match self.queue.iter().position(|q| q.entry.seq == seq) {
            Some(index) => {
                if let Some(gone) = self.queue.remove(index) {
                    self.bytes -= gone.entry.body.len();
                }
                true
            }
            None => false,
        }
    }

    /// The send of the message in flight failed: it stays, first in line.
    pub fn release(&mut self) {
        self.in_flight = None;
    }

    /// Every message up to `seq` is on disk now.
    pub fn mark_durable(&mut self, seq: u64) {
        for queued in self.queue.iter_mut().take_while(|q| q.entry.seq <= seq) {
            queued.durable = true;
        }
    }

    /// Message `seq`, if it is still here.
    pub fn get(&self, seq: u64) -> Option<Arc<Entry>> {
        // Mostly the newest: look from the back.
        self.queue
            .iter()
            .rev()
            .find(|q| q.entry.seq == seq)
            .map(|q| Arc::clone(&q.entry))
    }

    /// Whether message `seq` is still here.
    pub fn holds(&self, seq: u64) -> bool {
        self.queue.iter().any(|q| q.entry.seq == seq)
    }

    /// Messages pending.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Bytes of the pending bodies.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, size: usize) -> Entry {
        Entry {
            seq,
            id: format!("m{seq}"),
            body: "x".repeat(size),
            at: 0,
            account: "a".into(),
            alerts: None,
        }
    }

    fn seqs(outbox: &Outbox) -> Vec<u64> {
        outbox.queue.iter().map(|q| q.entry.seq).collect()
    }

    #[test]
    fn the_oldest_go_first_when_over_either_bound() {
        let limits = Limits {
            max_messages: 3,
            max_bytes: 100,
        };
        let mut outbox = Outbox::default();
        for seq in 1..=3 {
            assert!(outbox.push(entry(seq, 10), true, limits).is_empty());
        }
        let dropped = outbox.push(entry(4, 10), true, limits);
        assert_eq!(dropped.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
        assert_eq!(seqs(&outbox), [2, 3, 4]);
        // Over the bytes: as many of the oldest as it takes.
        let dropped = outbox.push(entry(5, 85), true, limits);
        assert_eq!(dropped.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
        assert_eq!((seqs(&outbox), outbox.bytes()), (vec![4, 5], 95));
        // One message bigger than the bound alone is kept (the newest is never dropped).
        let dropped = outbox.push(entry(6, 200), true, limits);
        assert_eq!(dropped.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(seqs(&outbox), [6]);
    }

    #[test]
    fn the_message_in_flight_is_never_dropped_and_only_durable_ones_are_sent() {
        let limits = Limits {
            max_messages: 2,
            max_bytes: 1000,
        };
        let mut outbox = Outbox::default();
        outbox.push(entry(1, 1), false, limits);
        assert!(outbox.next_to_send().is_none(), "not written yet");
        outbox.mark_durable(1);
        assert_eq!(outbox.next_to_send().map(|e| e.seq), Some(1));
        outbox.push(entry(2, 1), true, limits);
        let dropped = outbox.push(entry(3, 1), true, limits);
        assert_eq!(dropped.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);
        assert_eq!(seqs(&outbox), [1, 3]);
        assert!(outbox.settle(1));
        assert!(!outbox.settle(2), "dropped already");
        assert_eq!(outbox.next_to_send().map(|e| e.seq), Some(3));
        outbox.release();
        assert_eq!(outbox.take_seq(), 4);
    }
}
