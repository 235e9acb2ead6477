//! One cached value with single-flight: a reading is reused for its time to live, and while it
//! is being fetched every other request waits for that same fetch instead of starting its own.
//!
//! This is what makes a hundred dashboards opening at once cost one upstream request (the API
//! asks for at most one balance call per 30 s, and hammering it with a bad key gets the IP
//! banned). The fetch runs in its own task: a client that disconnects while waiting does not
//! cancel it, so the reading still lands in the cache for everyone else.

use crate::clock::Clock;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A single cache slot shared by all requests.
#[derive(Debug)]
pub struct SingleFlight<T> {
    ttl: Duration,
    clock: Clock,
    slot: Mutex<Slot<T>>,
}

#[derive(Debug)]
struct Slot<T> {
    state: SlotState<T>,
    /// Bumped by [`SingleFlight::invalidate`]: a fetch that started before the bump does not
    /// store its (now outdated) result.
    epoch: u64,
}

#[derive(Debug)]
enum SlotState<T> {
    Empty,
    Fresh { value: T, at: Instant },
    InFlight(watch::Receiver<Option<T>>),
}

impl<T: Clone + Send + Sync + 'static> SingleFlight<T> {
    /// An empty slot whose values live for `ttl` (0: only concurrent requests share).
    pub fn new(ttl: Duration, clock: Clock) -> Arc<SingleFlight<T>> {
        Arc::new(SingleFlight {
            ttl,
            clock,
            slot: Mutex::new(Slot {
                state: SlotState::Empty,
                epoch: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        // The guarded code never panics, but a poisoned lock must not take the server down.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached value, or the result of the fetch in flight, or a new fetch made by `fetch`.
    /// `None` only when the fetch task panicked (the caller answers a server error).
    pub async fn get<F, Fut>(self: &Arc<Self>, fetch: F) -> Option<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        let mut waiting = {
            let mut slot = self.lock();
            match &slot.state {
                SlotState::Fresh { value, at }
                    if self.clock.now().saturating_duration_since(*at) < self.ttl =>
                {
                    return Some(value.clone());
                }
                SlotState::InFlight(rx) => rx.clone(),
                _ => {
                    let (tx, rx) = watch::channel(None);
                    slot.state = SlotState::InFlight(rx.clone());
                    self.spawn_fetch(fetch(), tx, slot.epoch);
                    rx
                }
            }
        };
        let value = waiting.wait_for(Option::is_some).await.ok()?.clone();
        value
    }

    fn spawn_fetch<Fut>(self: &Arc<Self>, fut: Fut, tx: watch::Sender<Option<T>>, epoch: u64)
    where
        Fut: Future<Output = T> + Send + 'static,
    {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            // The fetch runs in a task of its own so that a panic in it surfaces here as an
            // error instead of leaving the slot "in flight" forever.
            let result = tokio::spawn(fut).await;
            let mut slot = this.lock();
            let current = slot.epoch == epoch;
            match result {
                Ok(value) => {
                    if current {
                        slot.state = SlotState::Fresh {
                            value: value.clone(),
                            at: this.clock.now(),
                        };
                    }
                    drop(slot);
                    // Waiters that arrived before an invalidation still get this answer.
                    tx.send_replace(Some(value));
                }
                Err(_) => {
                    if current {
                        slot.state = SlotState::Empty;
                    }
                    // Dropping `tx` wakes the waiters with an error.
                }
            }
        });
    }

    /// Puts a value read before this process started (kept on disk) in an empty slot, as if
    /// fetched `age` ago: it is reused for what is left of its time to live. Does nothing when
    /// the slot holds something, or when the value is too old already.
    pub fn seed(&self, value: T, age: Duration) {
        if age >= self.ttl {
            return;
        }
        let mut slot = self.lock();
        if let SlotState::Empty = slot.state {
            let now = self.clock.now();
            slot.state = SlotState::Fresh {
                value,
                at: now.checked_sub(age).unwrap_or(now),
            };
        }
    }

    /// Forgets the cached value (the mock account was changed): the next request fetches.
    pub fn invalidate(&self) {
        let mut slot = self.lock();
        slot.epoch += 1;
        slot.state = SlotState::Empty;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn shares_one_fetch_and_expires() {
        let clock = Clock::manual();
        let cache = SingleFlight::new(Duration::from_secs(30), clock.clone());
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let fetch = move || {
            let calls = Arc::clone(&counter);
            async move {
                tokio::task::yield_now().await;
                calls.fetch_add(1, Ordering::SeqCst) + 1
            }
        };
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = Arc::clone(&cache);
            let fetch = fetch.clone();
            tasks.push(tokio::spawn(async move { cache.get(fetch).await }));
        }
        for t in tasks {
            assert_eq!(t.await.expect("task"), Some(1));
        }
        assert_eq!(cache.get(fetch.clone()).await, Some(1));
        clock.advance(Duration::from_secs(30));
        assert_eq!(cache.get(fetch.clone()).await, Some(2));
        cache.invalidate();
        assert_eq!(cache.get(fetch).await, Some(3));
    }

    /// With no time to live, only requests that arrive while a fetch is in flight share it.
    /// On the current-thread runtime all 20 tasks queue before the fetch task runs.
    #[tokio::test]
    async fn coalesces_in_flight_requests_even_without_caching() {
        let cache = SingleFlight::new(Duration::ZERO, Clock::manual());
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let cache = Arc::clone(&cache);
                let calls = Arc::clone(&calls);
                tokio::spawn(async move {
                    cache
                        .get(move || async move { calls.fetch_add(1, Ordering::SeqCst) + 1 })
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.expect("task"), Some(1));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let calls2 = Arc::clone(&calls);
        assert_eq!(
            cache
                .get(move || async move { calls2.fetch_add(1, Ordering::SeqCst) + 1 })
                .await,
            Some(2)
        );
    }

    #[tokio::test]
    async fn a_seeded_value_lives_for_what_is_left_of_its_time() {
        let clock = Clock::manual();
        let cache = SingleFlight::new(Duration::from_secs(60), clock.clone());
        cache.seed(1, Duration::from_secs(45));
        assert_eq!(cache.get(|| async { 2 }).await, Some(1));
        clock.advance(Duration::from_secs(15));
        assert_eq!(cache.get(|| async { 3 }).await, Some(3));
        cache.seed(4, Duration::ZERO);
        assert_eq!(cache.get(|| async { 5 }).await, Some(3), "not over a value");
        let old = SingleFlight::new(Duration::from_secs(60), clock);
        old.seed(6, Duration::from_secs(60));
        assert_eq!(old.get(|| async { 7 }).await, Some(7), "too old to seed");
    }

    #[tokio::test]
    async fn a_panicking_fetch_does_not_wedge_the_slot() {
        let cache = SingleFlight::new(Duration::from_secs(30), Clock::manual());
        let got = cache.get(|| async { panic!("boom") }).await;
        assert_eq!(got, None::<u32>);
        assert_eq!(cache.get(|| async { 7 }).await, Some(7));
    }
}
