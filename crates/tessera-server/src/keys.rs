//! The key ring: signing keys decrypted once and held in memory, and the published JWKS.
//!
//! The ring is rebuilt from the store when keys change (`reload`), reusing already-parsed keys by
//! `kid`, so a signature never re-parses a private key and a reload costs one query when nothing
//! changed.

use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tessera_core::{Clock, KekError, KeyEncryptionKey, KeyState, SigningKeyRecord, TokenLifetimes};
use tessera_jose::{verify_compact, Algorithm, JoseError, JwkSet, SigningKey, VerifiedJws};
use tessera_store::{KeyStore, StoreError};
use time::{Duration, OffsetDateTime};

/// Why the key ring could not be built or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRingError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A stored key did not decrypt under the key-encryption key.
    #[error("signing key {kid}: {source}")]
    Decrypt {
        /// The key that failed.
        kid: String,
        /// Why.
        source: KekError,
    },
    /// A stored key decrypted but is not a usable key of its algorithm.
    #[error("signing key {kid} is not a valid {alg} key: {reason}")]
    Corrupt {
        /// The key.
        kid: String,
        /// Its recorded algorithm.
        alg: String,
        /// What the parser said.
        reason: String,
    },
    /// Key generation failed.
    #[error("could not generate a signing key: {0}")]
    Generate(String),
}

/// A snapshot of the keys in use.
#[derive(Debug)]
struct Snapshot {
    /// The key that signs new tokens, per algorithm.
    signing: HashMap<Algorithm, Arc<SigningKey>>,
    /// Every published key (active and retiring), by kid.
    published: HashMap<String, Arc<SigningKey>>,
    /// The JWKS document, serialised once per change.
    jwks_json: Bytes,
}

/// Signing keys in memory, shared by every request.
#[derive(Debug)]
pub struct KeyRing {
    kek: KeyEncryptionKey,
    snapshot: RwLock<Arc<Snapshot>>,
}

impl KeyRing {
    /// Loads and decrypts every published key from the store. Any key that does not decrypt is
    /// an error: better to refuse to start than to publish a partial key set.
    pub async fn load(
        store: &dyn KeyStore,
        kek: KeyEncryptionKey,
        now: OffsetDateTime,
    ) -> Result<Self, KeyRingError> {
        let records = store.list_signing_keys().await?;
        let snapshot = build_snapshot(&records, &kek, None, now)?;
        Ok(Self {
            kek,
            snapshot: RwLock::new(Arc::new(snapshot)),
        })
    }

    /// Re-reads the key set from the store (after a rotation here or elsewhere).
    pub async fn reload(
        &self,
        store: &dyn KeyStore,
        now: OffsetDateTime,
    ) -> Result<(), KeyRingError> {
        let records = store.list_signing_keys().await?;
        let previous = self.current();
        let next = build_snapshot(&records, &self.kek, Some(&previous), now)?;
        *self.snapshot.write().expect("key ring lock poisoned") = Arc::new(next);
        Ok(())
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .expect("key ring lock poisoned")
            .clone()
    }

    /// The key that signs new tokens with `alg`.
    pub fn signer(&self, alg: Algorithm) -> Option<Arc<SigningKey>> {
        self.current().signing.get(&alg).cloned()
    }

    /// Whether there is a signing key for every algorithm in `algs`.
    pub fn can_sign(&self, algs: &[Algorithm]) -> bool {
        let snapshot = self.current();
        algs.iter().all(|alg| snapshot.signing.contains_key(alg))
    }

    /// The published JWKS document.
    pub fn jwks_json(&self) -> Bytes {
        self.current().jwks_json.clone()
    }

    /// Verifies the signature of a token Tessera issued, against the keys it publishes now and
    /// with an algorithm in `allowed`. Claims are not checked here.
    pub fn verify(&self, token: &str, allowed: &[Algorithm]) -> Result<VerifiedJws, JoseError> {
        let snapshot = self.current();
        let jwks = JwkSet {
            keys: snapshot
                .published
                .values()
                .map(|key| key.public_jwk().clone())
                .collect(),
        };
        verify_compact(token, &jwks, allowed)
    }

    /// The kids currently published.
    pub fn published_kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.current().published.keys().cloned().collect();
        kids.sort();
        kids
    }

    /// Makes sure each algorithm in `algs` has an active key, generating one where missing.
    /// Returns the kids created.
    pub async fn ensure_signing_keys(
        &self,
        store: &dyn KeyStore,
        algs: &[Algorithm],
        lifetimes: &TokenLifetimes,
        grace: Duration,
        clock: &dyn Clock,
    ) -> Result<Vec<String>, KeyRingError> {
        let mut created = Vec::new();
        for &alg in algs {
            if self.signer(alg).is_none() && !created.iter().any(|(a, _)| *a == alg) {
                let kid = rotate(store, &self.kek, alg, lifetimes, grace, clock).await?;
                created.push((alg, kid));
            }
        }
        if !created.is_empty() {
            self.reload(store, clock.now()).await?;
        }
        Ok(created.into_iter().map(|(_, kid)| kid).collect())
    }

    /// Seals a new private key under this ring's KEK (for rotation by an operator).
    pub fn kek(&self) -> &KeyEncryptionKey {
        &self.kek
    }
}

/// Generates a key for `alg`, seals it, and atomically makes it the active key for `alg`; the
/// previous active key stays published until the longest-lived token it signed has expired
/// (plus `grace` for clock skew). Returns the new kid.
pub async fn rotate(
    store: &dyn KeyStore,
    kek: &KeyEncryptionKey,
    alg: Algorithm,
    lifetimes: &TokenLifetimes,
    grace: Duration,
    clock: &dyn Clock,
) -> Result<String, KeyRingError> {
    let now = clock.now();
    let kid = SigningKeyRecord::new_kid(now);
    let key = tokio::task::spawn_blocking({
        let kid = kid.clone();
        move || SigningKey::generate(alg, kid)
    })
    .await
    .map_err(|e| KeyRingError::Generate(e.to_string()))?
    .map_err(|e| KeyRingError::Generate(e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| KeyRingError::Generate(e.to_string()))?;
    let record = SigningKeyRecord {
        kid: kid.clone(),
        alg: alg.as_str().to_owned(),
        sealed_private_key: kek.seal(&kid, &der),
        created_at: now,
        rotated_at: None,
        expires_at: None,
    };
    let expires_at = now + lifetimes.longest_signed() + grace;
    store.rotate_signing_key(&record, now, expires_at).await?;
    Ok(kid)
}

fn build_snapshot(
    records: &[SigningKeyRecord],
    kek: &KeyEncryptionKey,
    previous: Option<&Snapshot>,
    now: OffsetDateTime,
) -> Result<Snapshot, KeyRingError> {
    let mut signing: HashMap<Algorithm, (OffsetDateTime, Arc<SigningKey>)> = HashMap::new();
    let mut published = HashMap::new();
    for record in records {
        let state = record.state(now);
        if state == KeyState::Expired {
            continue;
        }
        let key = match previous.and_then(|p| p.published.get(&record.kid)) {
            Some(key) => key.clone(),
            None => Arc::new(open_key(record, kek)?),
        };
        if state == KeyState::Active {
            // Two active keys for one algorithm can only come from a race between two rotations;
            // the newest wins, the other keeps verifying until it is rotated out.
            let newer = signing
                .get(&key.algorithm())
                .is_none_or(|(created, _)| record.created_at >= *created);
            if newer {
                signing.insert(key.algorithm(), (record.created_at, key.clone()));
            }
        }
        published.insert(record.kid.clone(), key);
    }
    let mut keys: Vec<_> = published.values().map(|k| k.public_jwk().clone()).collect();
    keys.sort_by(|a, b| a.kid.cmp(&b.kid));
    let jwks_json =
        Bytes::from(serde_json::to_vec(&JwkSet { keys }).expect("a JWKS always serialises"));
    Ok(Snapshot {
        signing: signing
            .into_iter()
            .map(|(alg, (_, key))| (alg, key))
            .collect(),
        published,
        jwks_json,
    })
}

fn open_key(record: &SigningKeyRecord, kek: &KeyEncryptionKey) -> Result<SigningKey, KeyRingError> {
    let corrupt = |reason: String| KeyRingError::Corrupt {
        kid: record.kid.clone(),
        alg: record.alg.clone(),
        reason,
    };
    let alg = Algorithm::parse(&record.alg).ok_or_else(|| corrupt("unknown algorithm".into()))?;
    let der = kek
        .open(&record.kid, &record.sealed_private_key)
        .map_err(|source| KeyRingError::Decrypt {
            kid: record.kid.clone(),
            source,
        })?;
    SigningKey::from_pkcs8_der(alg, record.kid.clone(), &der).map_err(|e| corrupt(e.to_string()))
}
