//! Codes sent by email, and the mail outbox.

use super::{race, t, user};
use std::sync::Arc;
use tessera_core::{CodeCheck, CodePurpose, Email, OutgoingMessage, Recipient, SentCode, UserId};
use tessera_store::{ProbedStore, StoreError};

fn code(user: &UserId, purpose: CodePurpose, hash: &str, at: i64) -> SentCode {
    SentCode {
        user_id: user.clone(),
        purpose,
        code_hash: hash.into(),
        created_at: t(at),
        expires_at: t(at + 600),
    }
}

/// The live code is accepted once; wrong hashes count tries until none are left; an expired,
/// used or replaced code, another purpose's and another user's never match.
pub async fn email_codes_are_used_once_within_their_tries_and_lifetime(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    store.create_user(&ada).await.unwrap();
    store.create_user(&bob).await.unwrap();
    let sign_in = CodePurpose::EmailSignIn;
    let verify = CodePurpose::VerifyEmail;
    store
        .create_sent_code(&code(&ada.id, sign_in, "h1", 0))
        .await
        .unwrap();
    store
        .create_sent_code(&code(&ada.id, verify, "v1", 0))
        .await
        .unwrap();

    let check = |user: &UserId, purpose, hash: &'static str, at| {
        let user = user.clone();
        async move {
            store
                .check_sent_code(&user, purpose, hash, t(at), 5)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        check(&bob.id, sign_in, "h1", 1).await,
        CodeCheck::NoLiveCode
    );
    assert_eq!(
        check(&ada.id, sign_in, "v1", 1).await,
        CodeCheck::Wrong { tries_left: 4 }
    );
    assert_eq!(check(&ada.id, sign_in, "h1", 2).await, CodeCheck::Accepted);
    assert_eq!(
        check(&ada.id, sign_in, "h1", 3).await,
        CodeCheck::NoLiveCode,
        "used once"
    );
    assert_eq!(check(&ada.id, verify, "v1", 3).await, CodeCheck::Accepted);

    // Five wrong tries and the code is dead, even for the right hash.
    store
        .create_sent_code(&code(&ada.id, sign_in, "h2", 10))
        .await
        .unwrap();
    for left in (0..5).rev() {
        assert_eq!(
            check(&ada.id, sign_in, "nope", 11).await,
            CodeCheck::Wrong { tries_left: left }
        );
    }
    assert_eq!(
        check(&ada.id, sign_in, "h2", 12).await,
        CodeCheck::NoLiveCode
    );

    // A new code replaces the old one and its count; it expires at its boundary.
    store
        .create_sent_code(&code(&ada.id, sign_in, "h3", 20))
        .await
        .unwrap();
    assert_eq!(
        check(&ada.id, sign_in, "h2", 21).await,
        CodeCheck::Wrong { tries_left: 4 }
    );
    assert_eq!(
        check(&ada.id, sign_in, "h3", 620).await,
        CodeCheck::NoLiveCode,
        "expired"
    );
    store
        .create_sent_code(&code(&ada.id, sign_in, "h4", 700))
        .await
        .unwrap();
    assert_eq!(
        check(&ada.id, sign_in, "h4", 1299).await,
        CodeCheck::Accepted
    );

    assert_eq!(store.delete_expired_sent_codes(t(1300)).await.unwrap(), 2);
    assert!(matches!(
        store
            .create_sent_code(&code(&user("ghost@example.com").id, sign_in, "g", 0))
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Racing presentations of one right code: exactly one is accepted.
pub async fn email_codes_concurrent_checks_have_one_winner(store: Arc<dyn ProbedStore>) {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    store
        .create_sent_code(&code(&ada.id, CodePurpose::EmailSignIn, "h", 0))
        .await
        .unwrap();
    let id = ada.id.clone();
    let results = race(&store, 8, move |store, _| {
        let id = id.clone();
        async move {
            store
                .check_sent_code(&id, CodePurpose::EmailSignIn, "h", t(1), 5)
                .await
                .unwrap()
        }
    })
    .await;
    let accepted = results
        .iter()
        .filter(|r| **r == CodeCheck::Accepted)
        .count();
    assert_eq!(accepted, 1, "{results:?}");
}

fn mail(id: &str, at: i64) -> OutgoingMessage {
    OutgoingMessage {
        id: id.into(),
        recipient: Recipient::Email(Email::parse("ada@example.com").unwrap()),
        subject: format!("Subject of {id}"),
        sealed_body: vec![1, 2, 3, 0, 255],
        created_at: t(at),
        attempts: 0,
    }
}

/// Messages are claimed oldest first, hidden while leased, come back when the lease ends or a
/// retry is due, and go when finished.
pub async fn mail_outbox_claims_leases_retries_and_finishes(store: &dyn ProbedStore) {
    store.enqueue_message(&mail("m2", 2)).await.unwrap();
    store.enqueue_message(&mail("m1", 1)).await.unwrap();
    store.enqueue_message(&mail("m3", 3)).await.unwrap();
    assert!(
        store
            .claim_messages(t(0), t(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );

    let claimed = store.claim_messages(t(5), t(65), 2).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["m1", "m2"]);
    assert_eq!(
        claimed[0],
        OutgoingMessage {
            attempts: 1,
            ..mail("m1", 1)
        }
    );
    let rest = store.claim_messages(t(6), t(66), 10).await.unwrap();
    assert_eq!(rest.len(), 1, "leased messages are hidden");
    assert_eq!(rest[0].id, "m3");

    store.finish_message("m1").await.unwrap();
    store
        .retry_message("m2", t(30), "connection refused")
        .await
        .unwrap();
    assert!(store
        .claim_messages(t(29), t(90), 10)
        .await
        .unwrap()
        .is_empty());
    let again = store.claim_messages(t(30), t(90), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id.as_str(), again[0].attempts), ("m2", 2));
    let lease_over = store.claim_messages(t(66), t(120), 10).await.unwrap();
    assert_eq!(lease_over.len(), 1, "m3 comes back when its lease ends");
    assert_eq!(
        (lease_over[0].id.as_str(), lease_over[0].attempts),
        ("m3", 2)
    );
    assert!(matches!(
        store.retry_message("m1", t(99), "x").await,
        Err(StoreError::NotFound)
    ));
}

/// An SMS goes through the same outbox: its channel and number come back as queued, and a
/// user's verified number is kept, changed and cleared with the user.
pub async fn outbox_carries_sms_and_users_keep_their_number(store: &dyn ProbedStore) {
    use tessera_core::PhoneNumber;
    let number = PhoneNumber::parse("+44 20 7946 0958").unwrap();
    let sms = OutgoingMessage {
        recipient: Recipient::Phone(number.clone()),
        subject: String::new(),
        ..mail("s1", 1)
    };
    store.enqueue_message(&sms).await.unwrap();
    let claimed = store.claim_messages(t(5), t(65), 10).await.unwrap();
    assert_eq!(claimed, vec![OutgoingMessage { attempts: 1, ..sms }]);

    let mut ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    assert_eq!(
        store
            .find_user(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .phone_number,
        None
    );
    ada.phone_number = Some(number.clone());
    store.update_user(&ada).await.unwrap();
    assert_eq!(
        store
            .find_user(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .phone_number,
        Some(number)
    );
    ada.phone_number = None;
    store.update_user(&ada).await.unwrap();
    assert_eq!(
        store
            .find_user(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .phone_number,
        None
    );
}

/// Two workers claiming at once never get the same message.
pub async fn mail_outbox_concurrent_claims_never_share_a_message(store: Arc<dyn ProbedStore>) {
    for i in 0..12 {
        store
            .enqueue_message(&mail(&format!("m{i:02}"), i))
            .await
            .unwrap();
    }
    let results = race(&store, 4, |store, _| async move {
        store.claim_messages(t(100), t(160), 5).await.unwrap()
    })
    .await;
    let mut ids: Vec<String> = results.into_iter().flatten().map(|m| m.id).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "a message was claimed twice");
    assert_eq!(total, 12);
}

/// A reset link works once, until it expires, and a new one replaces the old.
pub async fn password_resets_are_used_once_and_replaced(store: &dyn ProbedStore) {
    use tessera_core::client::SecretHash;
    use tessera_core::PasswordReset;
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    let reset = |hash: &str, at: i64| PasswordReset {
        token_hash: SecretHash::from_stored(hash.into()),
        user_id: ada.id.clone(),
        created_at: t(at),
        expires_at: t(at + 1800),
    };
    let first = reset("r1", 0);
    store.create_password_reset(&first).await.unwrap();
    let r1 = SecretHash::from_stored("r1".into());
    assert_eq!(
        store.find_password_reset(&r1, t(1)).await.unwrap(),
        Some(first)
    );
    assert_eq!(
        store.find_password_reset(&r1, t(1800)).await.unwrap(),
        None,
        "expired"
    );

    store.create_password_reset(&reset("r2", 10)).await.unwrap();
    assert_eq!(
        store.use_password_reset(&r1, t(11)).await.unwrap(),
        None,
        "replaced"
    );
    let r2 = SecretHash::from_stored("r2".into());
    assert_eq!(
        store.use_password_reset(&r2, t(12)).await.unwrap(),
        Some(ada.id.clone())
    );
    assert_eq!(
        store.use_password_reset(&r2, t(13)).await.unwrap(),
        None,
        "used once"
    );
    assert_eq!(store.find_password_reset(&r2, t(13)).await.unwrap(), None);

    store.create_password_reset(&reset("r3", 20)).await.unwrap();
    assert_eq!(
        store
            .use_password_reset(&SecretHash::from_stored("r3".into()), t(1820))
            .await
            .unwrap(),
        None,
        "expired at its boundary"
    );
    assert_eq!(
        store.delete_expired_password_resets(t(1820)).await.unwrap(),
        1
    );
    assert!(matches!(
        store
            .create_password_reset(&PasswordReset {
                user_id: user("ghost@example.com").id,
                ..reset("g", 0)
            })
            .await,
        Err(StoreError::NotFound)
    ));
}
