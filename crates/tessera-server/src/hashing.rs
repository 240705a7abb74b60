//! A bounded pool for CPU-heavy blocking work (argon2 password hashing).
//!
//! Each argon2id computation takes 19 MiB and tens of milliseconds of a core. Running it on the
//! async runtime would stall every other request on that worker, and running unboundedly many on
//! blocking threads would let a login flood take all memory and cores. So: at most `permits` at
//! once, on tokio's blocking threads, and everyone else waits their turn without holding a
//! runtime worker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tessera_core::{PasswordHash, PasswordHasher};
use tokio::sync::Semaphore;

/// Runs password hashing off the async runtime with bounded concurrency.
#[derive(Debug, Clone)]
pub struct HashingPool {
    hasher: PasswordHasher,
    permits: Arc<Semaphore>,
    completed: Arc<AtomicU64>,
}

impl HashingPool {
    /// A pool running at most `max_concurrent` computations at once.
    pub fn new(hasher: PasswordHasher, max_concurrent: usize) -> Self {
        Self {
            hasher,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            completed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Runs `work` on a blocking thread once a permit is free.
    pub async fn run<T, F>(&self, work: F) -> T
    where
        F: FnOnce(&PasswordHasher) -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the hashing semaphore is never closed");
        let hasher = self.hasher.clone();
        let result = tokio::task::spawn_blocking(move || work(&hasher))
            .await
            .expect("password hashing panicked");
        self.completed.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: zeroize::Zeroizing<String>) -> PasswordHash {
        self.run(move |h| h.hash(&password)).await
    }

    /// Verifies a password against a stored hash.
    pub async fn verify(&self, password: zeroize::Zeroizing<String>, hash: PasswordHash) -> bool {
        self.run(move |h| h.verify(&password, &hash)).await
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
                    pool.run(move |h| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        h.hash("a password long enough");
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
