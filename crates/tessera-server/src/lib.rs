//! Tessera's HTTP server: OpenID Connect and OAuth 2.0 endpoints over axum.
//!
//! Only this crate knows HTTP, forms and JSON wire shapes; the domain (`tessera-core`) returns
//! domain results and this crate maps them. Start-up lives in [`app`], operator actions shared
//! by the CLI and tests in [`admin`], and [`serve`] runs the server on a listener the caller
//! bound, until the caller's shutdown future completes.

pub mod access_token;
pub mod admin;
pub mod app;
pub mod authn;
pub mod backchannel;
pub mod client_ip;
pub mod config;
pub mod connections;
mod cookies;
pub mod cors;
pub mod error;
pub mod feed;
pub mod hashing;
mod health;
pub mod http_client;
pub mod kek_source;
pub mod keys;
pub mod mailer;
pub mod oauth;
pub mod oidc;
pub mod request_id;
pub mod revocations;
pub mod routes;
pub mod run_to_completion;
pub mod sms;
pub mod tokens;
pub mod ui;
pub mod workers;

pub use app::{AppState, OpenOptions, StartupError, StartupReport};
pub use config::Config;

use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use std::future::Future;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use request_id::HEADER as REQUEST_ID;

/// The application's routes and middleware.
pub fn router(state: AppState) -> Router {
    let timeout = state.settings.request_timeout;
    Router::new()
        // CORS only where cors.rs says: public documents for any origin, and three endpoints
        // for origins registered per public client. Every other route answers OPTIONS with 405.
        .route(routes::DISCOVERY, cors::public(get(oidc::discovery::get)))
        .route(
            routes::OAUTH_METADATA,
            cors::public(get(oidc::discovery::get)),
        )
        .route(routes::JWKS, cors::public(get(oidc::jwks::get)))
        .route(
            routes::TOKEN,
            cors::per_client(&state, post(oauth::token::post), cors::Methods::POST),
        )
        .route(
            routes::REVOKE,
            cors::per_client(&state, post(oauth::revocation::post), cors::Methods::POST),
        )
        .route(routes::INTROSPECT, post(oauth::introspection::post))
        .route(
            routes::AUTHORIZE,
            get(oidc::authorize::get).post(oidc::authorize::post),
        )
        .route(routes::LOGIN, get(ui::login::get).post(ui::login::post))
        .route(
            routes::ACCOUNT,
            get(ui::account::profile::get).post(ui::account::profile::post),
        )
        .route(
            routes::SIGN_UP,
            get(ui::sign_up::get).post(ui::sign_up::post),
        )
        .route(routes::PASSKEY_SCRIPT, get(ui::assets::passkeys_js))
        .route(
            routes::PASSKEY_SIGN_IN_OPTIONS,
            post(ui::passkey_sign_in::options),
        )
        .route(routes::PASSKEY_SIGN_IN, post(ui::passkey_sign_in::post))
        .route(
            routes::ACCOUNT_PASSKEYS,
            get(ui::account::passkeys::get).post(ui::account::passkeys::post),
        )
        .route(
            routes::ACCOUNT_PASSKEYS_OPTIONS,
            post(ui::account::passkeys::options),
        )
        .route(
            routes::SIGN_UP_COMPLETE,
            get(ui::sign_up::complete_get).post(ui::sign_up::complete_post),
        )
        .route(
            routes::ACCOUNT_EMAIL,
            get(ui::account::email::get).post(ui::account::email::post),
        )
        .route(
            routes::ACCOUNT_EMAIL_CODES,
            get(ui::account::email_codes::get).post(ui::account::email_codes::post),
        )
        .route(
            routes::ACCOUNT_TOTP_REMOVE,
            post(ui::account::totp_removal::post),
        )
        .route(
            routes::ACCOUNT_PHONE,
            get(ui::account::phone::get).post(ui::account::phone::post),
        )
        .route(
            routes::ACCOUNT_PASSWORD,
            get(ui::account::password::get).post(ui::account::password::post),
        )
        .route(
            routes::ACCOUNT_DEVICES,
            get(ui::account::devices::get).post(ui::account::devices::post),
        )
        .route(
            routes::FORGOT_PASSWORD,
            get(ui::account::password_reset::forgot_get)
                .post(ui::account::password_reset::forgot_post),
        )
        .route(
            routes::RESET_PASSWORD,
            get(ui::account::password_reset::reset_get)
                .post(ui::account::password_reset::reset_post),
        )
        .route(
            routes::ACCOUNT_RECOVERY_CODES,
            get(ui::account::recovery_codes::get).post(ui::account::recovery_codes::post),
        )
        .route(
            routes::ACCOUNT_TOTP,
            get(ui::account::totp::get).post(ui::account::totp::post),
        )
        .route(
            routes::ENROL_SECOND_FACTOR,
            get(ui::enrol_second_factor::get).post(ui::enrol_second_factor::post),
        )
        .route(
            routes::SECOND_FACTOR,
            get(ui::second_factor::get).post(ui::second_factor::post),
        )
        .route(
            routes::CONSENT,
            get(ui::consent::get).post(ui::consent::post),
        )
        .route(
            routes::USERINFO,
            cors::per_client(
                &state,
                get(oidc::userinfo::get).post(oidc::userinfo::post),
                cors::Methods::GET_POST,
            ),
        )
        .route(
            routes::END_SESSION,
            get(oidc::logout::get).post(oidc::logout::post),
        )
        .route(routes::REVOCATION_FEED, get(feed::get))
        .route(routes::REVOCATION_STREAM, get(feed::stream))
        .route(routes::HEALTHZ, get(health::healthz))
        .route(routes::READYZ, get(health::readyz))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .with_state(state)
        // Innermost: a request whose client leaves (or whose time runs out) still finishes its
        // store work; see run_to_completion.rs.
        .layer(axum::middleware::from_fn(run_to_completion::middleware))
        // A bug must answer 500, not drop the connection (the panic is logged by the hook).
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        // Log the path only: query strings and bodies may carry codes or tokens.
        .layer(
            TraceLayer::new_for_http()
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                .make_span_with(|request: &Request<_>| {
                    let request_id = request
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id,
                    )
                }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        // Every answer, JSON included: never let a browser sniff a body into HTML or script.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Outermost: a caller's id that could forge log fields is replaced (request_id.rs).
        .layer(axum::middleware::from_fn(request_id::drop_unsafe))
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes in-flight requests.
/// Connections are accepted under the limits of [`connections`]. The background workers ([`workers`]) run beside it and stop with it.
pub async fn serve<F>(listener: TcpListener, state: AppState, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let background = workers::spawn_all(&state);
    let shutting_down = state.signals.shutting_down.clone();
    let shutdown = async move {
        shutdown.await;
        shutting_down.send_replace(true);
    };
    let limits = state.settings.connections;
    let result = connections::serve_connections(listener, router(state), limits, shutdown).await;
    for task in background {
        task.abort();
    }
    result
}
