//! What goes when a user or a client is deleted: everything that belongs to it, and nothing
//! else.

use super::sign_in::{code, login_request, refresh, scope, session};
use super::{public, t, user};
use tessera_core::{
    AuthorizationCode, BrowserSession, Client, CodeRedemption, Consent, RefreshToken, User,
};
use tessera_store::ProbedStore;

/// One of each sign-in aggregate of `user` at `client` (a login request for the client too).
struct Owned {
    session: BrowserSession,
    code: AuthorizationCode,
    token: RefreshToken,
    consent: Consent,
}

async fn give(store: &dyn ProbedStore, user: &User, client: &Client) -> Owned {
    let (session, _) = session(user, 3600);
    let code = code(user, client, 60);
    let token = refresh(user, client, &format!("family-of-{}", user.id));
    let consent = Consent {
        user_id: user.id.clone(),
        client_id: client.id.clone(),
        scope: scope("openid profile"),
        granted_at: t(0),
    };
    store.create_session(&session).await.unwrap();
    store.create_code(&code).await.unwrap();
    store.create_refresh_token(&token).await.unwrap();
    store.save_consent(&consent).await.unwrap();
    Owned {
        session,
        code,
        token,
        consent,
    }
}

/// Whether the code is still stored. Redeeming marks it, so call this once per code.
async fn code_exists(store: &dyn ProbedStore, code: &AuthorizationCode) -> bool {
    match store.redeem_code(&code.code_hash, t(1)).await.unwrap() {
        CodeRedemption::First(found) => {
            assert_eq!(&found, code);
            true
        }
        CodeRedemption::Unknown => false,
        replayed => panic!("{replayed:?}"),
    }
}

/// Whether the refresh token is still stored.
async fn token_exists(store: &dyn ProbedStore, token: &RefreshToken) -> bool {
    match store.find_refresh_token(&token.token_hash).await.unwrap() {
        Some(found) => {
            assert_eq!(&found.token, token);
            true
        }
        None => false,
    }
}

async fn consent_of(store: &dyn ProbedStore, owned: &Owned) -> Option<Consent> {
    store
        .find_consent(&owned.consent.user_id, &owned.consent.client_id)
        .await
        .unwrap()
}

/// Deleting a user deletes their sessions, codes, refresh tokens and consents; another user's
/// and the client's pending login requests stay.
pub async fn deleting_a_user_cascades(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    let app = public("app");
    store.create_user(&ada).await.unwrap();
    store.create_user(&bob).await.unwrap();
    store.create_client(&app).await.unwrap();
    let adas = give(store, &ada, &app).await;
    let bobs = give(store, &bob, &app).await;
    let pending = login_request(&app, 900);
    store.create_login_request(&pending).await.unwrap();

    store.delete_user(&ada.id).await.unwrap();

    assert_eq!(store.find_session(&adas.session.sid).await.unwrap(), None);
    assert_eq!(
        store
            .find_session_by_secret(&adas.session.secret_hash)
            .await
            .unwrap(),
        None
    );
    assert!(!code_exists(store, &adas.code).await);
    assert!(!token_exists(store, &adas.token).await);
    assert_eq!(consent_of(store, &adas).await, None);

    assert_eq!(
        store.find_session(&bobs.session.sid).await.unwrap(),
        Some(bobs.session.clone())
    );
    assert!(code_exists(store, &bobs.code).await);
    assert!(token_exists(store, &bobs.token).await);
    assert_eq!(consent_of(store, &bobs).await, Some(bobs.consent.clone()));
    assert_eq!(
        store.find_login_request(&pending.id).await.unwrap(),
        Some(pending)
    );
    assert_eq!(store.find_client(&app.id).await.unwrap(), Some(app));
}

/// Deleting a client deletes its codes, refresh tokens, consents and pending login requests;
/// another client's stay, and so do the users and their browser sessions.
pub async fn deleting_a_client_cascades(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    let app = public("app");
    let other = public("other-app");
    store.create_user(&ada).await.unwrap();
    store.create_client(&app).await.unwrap();
    store.create_client(&other).await.unwrap();
    let at_app = give(store, &ada, &app).await;
    let at_other = give(store, &ada, &other).await;
    let pending_app = login_request(&app, 900);
    let pending_other = login_request(&other, 900);
    store.create_login_request(&pending_app).await.unwrap();
    store.create_login_request(&pending_other).await.unwrap();

    store.delete_client(&app.id).await.unwrap();

    assert!(!code_exists(store, &at_app.code).await);
    assert!(!token_exists(store, &at_app.token).await);
    assert_eq!(consent_of(store, &at_app).await, None);
    assert_eq!(
        store.find_login_request(&pending_app.id).await.unwrap(),
        None
    );

    assert!(code_exists(store, &at_other.code).await);
    assert!(token_exists(store, &at_other.token).await);
    assert_eq!(
        consent_of(store, &at_other).await,
        Some(at_other.consent.clone())
    );
    assert_eq!(
        store.find_login_request(&pending_other.id).await.unwrap(),
        Some(pending_other)
    );
    for owned in [&at_app, &at_other] {
        assert_eq!(
            store.find_session(&owned.session.sid).await.unwrap(),
            Some(owned.session.clone())
        );
    }
    assert_eq!(store.find_user(&ada.id).await.unwrap(), Some(ada));
}
