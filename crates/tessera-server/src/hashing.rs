//! A bounded pool for CPU-heavy blocking work (argon2 password hashing).
//!
//! Each argon2id computation takes 19 MiB and tens of milliseconds of a core. Running it on the
//! async runtime would stall every other request on that worker, and running unboundedly many on
//! blocking threads would let a login flood take all memory and cores. So: at most `permits` at
//! once, on tokio's blocking threads, and everyone else waits their turn without holding a
//! runtime worker. Each computation runs in scratch memory kept from one to the next (at most
//! one per permit, made when first needed; see [`HashingMemory`] for why).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tessera_core::{HashingMemory, PasswordHash, PasswordHasher};
use tokio::sync::Semaphore;

/// Runs password hashing off the async runtime with bounded concurrency.
#[derive(Debug, Clone)]
pub struct HashingPool {
    hasher: PasswordHasher,
    permits: Arc<Semaphore>,
    /// Scratch memory not in use; a computation holds a permit while it holds memory, so there
    /// are never more than the permits.
    idle_memory: Arc<Mutex<Vec<HashingMemory>>>,
    completed: Arc<AtomicU64>,
}

impl HashingPool {
    /// A pool running at most `max_concurrent` computations at once.
    pub fn new(hasher: PasswordHasher, max_concurrent: usize) -> Self {
        Self {
            hasher,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            idle_memory: Arc::new(Mutex::new(Vec::new())),
            completed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Runs `work` on a blocking thread once a permit is free, with scratch memory for it.
    pub async fn run<T, F>(&self, work: F) -> T
    where
        F: FnOnce(&PasswordHasher, &mut HashingMemory) -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the hashing semaphore is never closed");
        let hasher = self.hasher.clone();
        let idle_memory = self.idle_memory.clone();
        let result = tokio::task::spawn_blocking(move || {
            let taken = idle_memory.lock().map(|mut idle| idle.pop());
            let mut memory = taken.ok().flatten().unwrap_or_else(|| hasher.new_memory());
            let result = work(&hasher, &mut memory);
            if let Ok(mut idle) = idle_memory.lock() {
                idle.push(memory);
            }
            result
        })
        .await
        .expect("password hashing panicked");
        self.completed.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: zeroize::Zeroizing<String>) -> PasswordHash {
        self.run(move |h, memory| h.hash_in(&password, memory))
            .await
    }

    /// Verifies a password against a stored hash.
    pub async fn verify(&self, password: zeroize::Zeroizing<String>, hash: PasswordHash) -> bool {
        self.run(move |h, memory| h.verify_in(&password, &hash, memory))
            .await
    }

    /// Scratch memories made so far (for tests): never more than the permits.
    pub fn memories(&self) -> usize {
        self.idle_memory.lock().map_or(0, |idle| idle.len())
    }

    /// How many computations have finished since start (for tests and metrics): a sign-in
    /// attempt must cost exactly one, whether or not the account exists.
    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// Permits free right now (for tests and metrics).
    pub fn available_permits(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_runs_more_than_the_bound_at_once() {
        let pool = HashingPool::new(PasswordHasher::owasp(), 2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                let (running, peak) = (running.clone(), peak.clone());
                tokio::spawn(async move {
                    pool.run(move |h, memory| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        h.hash_in("a password long enough", memory);
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            peak.load(Ordering::SeqCst),
            2,
            "both permits used, never more"
        );
        assert_eq!(pool.memories(), 2, "one scratch memory per permit, reused");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_saturated_pool_leaves_the_runtime_free() {
        // One runtime thread only: if hashing ran on it, the ticker below could not advance
        // until every hash was done.
        let pool = HashingPool::new(PasswordHasher::owasp(), 1);
        let hashes: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.hash("some long password".to_owned().into()).await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(pool.available_permits(), 0, "the pool is saturated");
        let ticks = tokio::spawn(async { 3 }).await.unwrap();
        assert_eq!(ticks, 3);
        assert_eq!(
            pool.available_permits(),
            0,
            "other work ran on the runtime while hashes were still queued"
        );
        for h in hashes {
            let hash = h.await.unwrap();
            assert!(
                pool.verify("some long password".to_owned().into(), hash)
                    .await
            );
        }
    }
}
