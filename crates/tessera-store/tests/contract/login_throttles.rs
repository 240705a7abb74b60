//! Per-account sign-in attempt counts.

use super::{race, t};
use std::sync::Arc;
use tessera_core::{
    Admission, LoginThrottlePolicy, SourceThrottlePolicy, ThrottleKey, ThrottleState,
};
use tessera_store::ProbedStore;
use time::Duration;

fn policy() -> LoginThrottlePolicy {
    LoginThrottlePolicy::default()
}

/// Attempts are counted and stored as the policy decides: five admitted, the sixth refused
/// until the lock ends, the refused one not counted; keys are independent.
pub async fn login_throttles_count_lock_and_stay_per_key(store: &dyn ProbedStore) {
    let ada = ThrottleKey::for_username("ada@example.com");
    let bob = ThrottleKey::for_username("bob@example.com");
    assert_eq!(store.find_login_throttle(&ada).await.unwrap(), None);
    for second in 0..5 {
        let admission = store
            .admit_login_attempt(&ada, &policy(), t(second))
            .await
            .unwrap();
        assert_eq!(admission, Admission::Admitted, "attempt {}", second + 1);
    }
    let locked = ThrottleState {
        attempts: 5,
        last_attempt_at: t(4),
        locked_until: Some(t(64)),
    };
    assert_eq!(
        store.find_login_throttle(&ada).await.unwrap(),
        Some(locked.clone())
    );
    let refused = store
        .admit_login_attempt(&ada, &policy(), t(10))
        .await
        .unwrap();
    assert_eq!(refused, Admission::Locked { until: t(64) });
    assert_eq!(
        store.find_login_throttle(&ada).await.unwrap(),
        Some(locked.clone()),
        "a refused attempt changes nothing"
    );
    // Another key is untouched.
    assert_eq!(
        store
            .admit_login_attempt(&bob, &policy(), t(10))
            .await
            .unwrap(),
        Admission::Admitted
    );
    assert_eq!(
        store
            .find_login_throttle(&bob)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        1
    );
    // ...and the locked key stays locked: another key's attempt neither lifts nor moves its
    // lock, and its next attempt is still refused.
    assert_eq!(
        store.find_login_throttle(&ada).await.unwrap(),
        Some(locked.clone())
    );
    assert_eq!(
        store
            .admit_login_attempt(&ada, &policy(), t(11))
            .await
            .unwrap(),
        Admission::Locked { until: t(64) }
    );
    assert_eq!(store.find_login_throttle(&ada).await.unwrap(), Some(locked));
    // After the lock, the next attempt is admitted and locks for twice as long.
    assert_eq!(
        store
            .admit_login_attempt(&ada, &policy(), t(64))
            .await
            .unwrap(),
        Admission::Admitted
    );
    assert_eq!(
        store.find_login_throttle(&ada).await.unwrap(),
        Some(ThrottleState {
            attempts: 6,
            last_attempt_at: t(64),
            locked_until: Some(t(64 + 120)),
        })
    );
}

/// Clearing forgets one key's count (a later attempt starts from one) and no other's; clearing
/// a key without a count is fine.
pub async fn login_throttles_clear_forgets_one_key(store: &dyn ProbedStore) {
    let ada = ThrottleKey::for_username("ada@example.com");
    let bob = ThrottleKey::for_username("bob@example.com");
    for key in [&ada, &bob] {
        for _ in 0..3 {
            store
                .admit_login_attempt(key, &policy(), t(0))
                .await
                .unwrap();
        }
    }
    store.clear_login_attempts(&ada).await.unwrap();
    store.clear_login_attempts(&ada).await.unwrap();
    assert_eq!(store.find_login_throttle(&ada).await.unwrap(), None);
    assert_eq!(
        store
            .find_login_throttle(&bob)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        3
    );
    store
        .admit_login_attempt(&ada, &policy(), t(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .find_login_throttle(&ada)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        1
    );
}

/// The sweep deletes counts whose quiet period has passed (measured from the later of the last
/// attempt and the lock's end) and keeps the others; at the boundary they go.
pub async fn login_throttles_delete_forgotten_boundary(store: &dyn ProbedStore) {
    let policy = policy();
    let quiet = ThrottleKey::for_username("quiet@example.com");
    let locked = ThrottleKey::for_username("locked@example.com");
    store
        .admit_login_attempt(&quiet, &policy, t(0))
        .await
        .unwrap();
    for _ in 0..5 {
        store
            .admit_login_attempt(&locked, &policy, t(0))
            .await
            .unwrap();
    }
    let hour = policy.forget_after.whole_seconds();
    assert_eq!(
        store
            .delete_forgotten_login_throttles(t(hour - 1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .delete_forgotten_login_throttles(t(hour))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.find_login_throttle(&quiet).await.unwrap(), None);
    // The locked key's quiet period starts when its lock ends, a minute later.
    let lock_end = policy.base_lockout.whole_seconds();
    assert_eq!(
        store
            .delete_forgotten_login_throttles(t(lock_end + hour - 1))
            .await
            .unwrap(),
        0
    );
    assert!(store.find_login_throttle(&locked).await.unwrap().is_some());
    assert_eq!(
        store
            .delete_forgotten_login_throttles(t(lock_end + hour))
            .await
            .unwrap(),
        1
    );
}

/// However many attempts at one key arrive at once (on several connections), exactly the free
/// attempts are admitted; the rest are refused, and the stored count says so. Repeated on a
/// fresh key each round, so that both "first attempt ever" and "existing count" race.
pub async fn login_throttles_concurrent_attempts_admit_exactly_the_free_ones(
    store: Arc<dyn ProbedStore>,
) {
    let policy = policy();
    for round in 0..5 {
        let key = ThrottleKey::for_username(&format!("target{round}@example.com"));
        if round % 2 == 1 {
            // Start from an existing count of one.
            store
                .admit_login_attempt(&key, &policy, t(0))
                .await
                .unwrap();
        }
        let already = u32::from(round % 2 == 1);
        let admissions = race(&store, 16, |store, _| {
            let key = key.clone();
            async move {
                store
                    .admit_login_attempt(&key, &policy, t(1))
                    .await
                    .unwrap()
            }
        })
        .await;
        let admitted = admissions
            .iter()
            .filter(|a| **a == Admission::Admitted)
            .count() as u32;
        assert_eq!(
            admitted + already,
            policy.free_attempts,
            "round {round}: {admissions:?}"
        );
        let stored = store.find_login_throttle(&key).await.unwrap().unwrap();
        assert_eq!(stored.attempts, policy.free_attempts);
        assert_eq!(stored.locked_until, Some(t(1) + Duration::minutes(1)));
    }
}

/// The per-source rules are stored and decided like the per-account one: checks admit and
/// store no count; failures fill the bucket up to its burst; a full bucket refuses checks (and
/// further counting) until a step drains; the sweep deletes a drained bucket at its boundary.
pub async fn login_throttles_source_bucket_counts_failures_and_drains(store: &dyn ProbedStore) {
    let rule = SourceThrottlePolicy {
        burst: 3,
        refill_every: Duration::seconds(10),
    };
    let source = ThrottleKey::for_source("192.0.2.7".parse().unwrap());
    for _ in 0..5 {
        let checked = store
            .admit_login_attempt(&source, &rule.check(), t(0))
            .await
            .unwrap();
        assert_eq!(checked, Admission::Admitted);
    }
    let count = |state: Option<ThrottleState>| state.map_or(0, |state| state.attempts);
    assert_eq!(count(store.find_login_throttle(&source).await.unwrap()), 0);
    for _ in 0..3 {
        let counted = store
            .admit_login_attempt(&source, &rule, t(0))
            .await
            .unwrap();
        assert_eq!(counted, Admission::Admitted);
    }
    assert_eq!(count(store.find_login_throttle(&source).await.unwrap()), 3);
    for rule in [&rule.check() as &dyn tessera_core::ThrottleRule, &rule] {
        assert_eq!(
            store
                .admit_login_attempt(&source, rule, t(1))
                .await
                .unwrap(),
            Admission::Locked { until: t(10) }
        );
    }
    assert_eq!(count(store.find_login_throttle(&source).await.unwrap()), 3);
    assert_eq!(
        store
            .admit_login_attempt(&source, &rule.check(), t(10))
            .await
            .unwrap(),
        Admission::Admitted,
        "one step drained"
    );
    // Three failures from t(0) drain by t(30).
    assert_eq!(
        store.delete_forgotten_login_throttles(t(29)).await.unwrap(),
        0
    );
    assert_eq!(
        store.delete_forgotten_login_throttles(t(30)).await.unwrap(),
        1
    );
}
