//! The hosted pages: server-rendered HTML, no JavaScript, strict security headers. The sign-in
//! pages (login, second factor, consent, logout) serve pending sign-ins; `account/` serves the
//! signed-in user's own settings.

pub mod account;
pub mod assets;
pub mod consent;
pub mod enrol_second_factor;
pub mod login;
pub mod logout;
pub mod passkey_sign_in;
pub mod qr;
pub mod second_factor;
pub mod sign_up;
pub mod totp_enrolment;
pub mod user_agent;

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;
use std::sync::OnceLock;
use tessera_store::StoreError;

/// Content Security Policy of every page: the only script is Tessera's own file (the passkey
/// ceremonies, [`assets`]) — no inline script, no `eval`, no other origin — it may only call
/// back to Tessera, nothing else loads, and no page can be framed (clickjacking). `form-action`
/// is left open on purpose: Chrome applies it to the redirect after a form POST, which goes to
/// the client's registered redirect URI.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                   style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("../../templates/base.html")),
            ("login.html", include_str!("../../templates/login.html")),
            ("consent.html", include_str!("../../templates/consent.html")),
            ("error.html", include_str!("../../templates/error.html")),
            ("logout.html", include_str!("../../templates/logout.html")),
            ("message.html", include_str!("../../templates/message.html")),
            ("account.html", include_str!("../../templates/account.html")),
            ("email.html", include_str!("../../templates/email.html")),
            (
                "passkeys.html",
                include_str!("../../templates/passkeys.html"),
            ),
            ("sign_up.html", include_str!("../../templates/sign_up.html")),
            (
                "sign_up_complete.html",
                include_str!("../../templates/sign_up_complete.html"),
            ),
            ("phone.html", include_str!("../../templates/phone.html")),
            (
                "password.html",
                include_str!("../../templates/password.html"),
            ),
            ("devices.html", include_str!("../../templates/devices.html")),
            (
                "forgot_password.html",
                include_str!("../../templates/forgot_password.html"),
            ),
            (
                "reset_password.html",
                include_str!("../../templates/reset_password.html"),
            ),
            (
                "email_codes.html",
                include_str!("../../templates/email_codes.html"),
            ),
            (
                "recovery_codes.html",
                include_str!("../../templates/recovery_codes.html"),
            ),
            (
                "totp_enrol.html",
                include_str!("../../templates/totp_enrol.html"),
            ),
            (
                "second_factor.html",
                include_str!("../../templates/second_factor.html"),
            ),
        ] {
            env.add_template(name, source)
                .expect("shipped templates are valid");
        }
        env.add_global("passkey_script", crate::routes::PASSKEY_SCRIPT);
        env
    })
}

/// Adds the security headers every page carries.
pub fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Renders `template` with `context` as an HTML page with security headers.
pub fn page(
    status: StatusCode,
    template: &str,
    context: impl Serialize,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let html = templates()
        .get_template(template)
        .and_then(|t| t.render(context));
    let mut response = match html {
        Ok(html) => (status, axum::response::Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, template, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    };
    for (name, value) in extra_headers {
        response.headers_mut().append(name, value);
    }
    with_security_headers(response)
}

/// An error page. Used when redirecting to the client is impossible or unsafe (unknown client,
/// unregistered redirect URI) and for problems with the hosted pages themselves.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    #[derive(Serialize)]
    struct Ctx<'a> {
        title: &'a str,
        message: &'a str,
    }
    page(status, "error.html", Ctx { title, message }, Vec::new())
}

/// A page telling the user something (an action done, a step they must take first).
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    #[derive(Serialize)]
    struct Ctx<'a> {
        title: &'a str,
        message: &'a str,
    }
    page(status, "message.html", Ctx { title, message }, Vec::new())
}

/// A `303 See Other` to `location` with the page security headers.
pub fn see_other(location: &str, extra: Vec<(HeaderName, HeaderValue)>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Err(_) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                "Internal error.",
            )
        }
    }
    for (name, value) in extra {
        response.headers_mut().append(name, value);
    }
    with_security_headers(response)
}

/// An error page for a store failure: 503 when the store is unreachable, 500 otherwise.
pub fn store_failure(err: StoreError) -> Response {
    match err {
        StoreError::Unavailable(_) => {
            tracing::warn!(error = %err, "store unavailable");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The service is temporarily unavailable. Try again in a moment.",
            )
        }
        other => {
            tracing::error!(error = %other, "store failure");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                "Something went wrong on our side.",
            )
        }
    }
}

/// An error page for a hosted page whose pending sign-in is gone (or was never this browser's).
pub fn expired_page() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in page has expired",
        "The sign-in request is unknown, has expired, was already completed, or was started in another browser.",
    )
}
