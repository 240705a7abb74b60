//! The authenticator-app set-up page, shown by the account page (`ui/account/totp.rs`) and by a
//! sign-in whose policy requires a second factor the user does not have yet
//! (`ui/enrol_second_factor.rs`): the QR code, the `otpauth://` URI and the base32 key, and a
//! form for the first code. The two differ only in where the form goes and which hidden fields
//! it carries; an enrolment started for one cannot be confirmed through the other, as each
//! page checks the enrolment belongs to its own user.

use crate::app::AppState;
use crate::authn::factors::CodeRefused;
use crate::ui::{self, qr};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tessera_core::{TotpFactor, TotpSeed, User, UserId};
use time::OffsetDateTime;

#[derive(Serialize)]
struct EnrolPage<'a> {
    action: &'static str,
    request_id: Option<&'a str>,
    enrolment_id: &'a str,
    csrf_token: &'a str,
    remove_action: Option<&'static str>,
    qr_svg: &'a str,
    key: &'a str,
    uri: &'a str,
    error: Option<&'a str>,
}

/// Where the form posts and what it carries besides the code.
#[derive(Debug)]
pub struct EnrolForm<'a> {
    /// The form's action.
    pub action: &'static str,
    /// The pending sign-in, for an enrolment inside a sign-in.
    pub request_id: Option<&'a str>,
    /// The enrolment being confirmed.
    pub enrolment_id: &'a str,
    /// The browser's CSRF token.
    pub csrf_token: &'a str,
    /// Where to remove the current app, on the account page of a user who has one.
    pub remove_action: Option<&'static str>,
}

/// The set-up page for `user` with `seed`.
pub fn render(
    issuer: &str,
    status: StatusCode,
    user: &User,
    seed: &TotpSeed,
    form: EnrolForm<'_>,
    error: Option<&str>,
    extra: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let uri = seed.otpauth_uri(&issuer_label(issuer), user.email.as_str());
    let Some(qr_svg) = qr::svg(&uri, "QR code to scan with an authenticator app") else {
        tracing::error!("the otpauth URI is too long for a QR code");
        return ui::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            "Something went wrong on our side.",
        );
    };
    ui::page(
        status,
        "totp_enrol.html",
        EnrolPage {
            action: form.action,
            request_id: form.request_id,
            enrolment_id: form.enrolment_id,
            csrf_token: form.csrf_token,
            remove_action: form.remove_action,
            qr_svg: &qr_svg,
            key: &seed.base32(),
            uri: &uri,
            error,
        },
        extra,
    )
}

/// How a refused confirming code is answered: the status, the message on the page shown again,
/// and extra headers.
pub type Refusal = (StatusCode, &'static str, Vec<(HeaderName, HeaderValue)>);

/// The answer to a refused confirming code; `None` when the enrolment itself is gone (the
/// caller shows [`expired`]).
pub fn refusal(refused: CodeRefused, now: OffsetDateTime) -> Option<Refusal> {
    match refused {
        CodeRefused::NoFactor => None,
        CodeRefused::Locked { until } => Some((
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong codes. Wait a few minutes and try again.",
            vec![(
                header::RETRY_AFTER,
                HeaderValue::from((until - now).whole_seconds().max(1)),
            )],
        )),
        CodeRefused::Malformed => Some((
            StatusCode::UNAUTHORIZED,
            "Enter the 6-digit code your authenticator app shows.",
            Vec::new(),
        )),
        CodeRefused::Wrong => Some((
            StatusCode::UNAUTHORIZED,
            "That code was not accepted. Check the app shows this account and enter its current code.",
            Vec::new(),
        )),
    }
}

/// `user`'s enrolment `id`, still waiting at `now`, with its seed opened; otherwise the page to
/// answer (expired, or a store failure).
pub async fn open(
    state: &AppState,
    user: &UserId,
    id: &str,
    now: OffsetDateTime,
) -> Result<(TotpFactor, TotpSeed), Response> {
    let enrolment = match state.services.store.find_totp_enrolment(user, id).await {
        Ok(Some(enrolment)) if enrolment.is_enrolment_open(now) => enrolment,
        Ok(_) => return Err(expired()),
        Err(err) => return Err(ui::store_failure(err)),
    };
    match enrolment.seed(state.services.keys.kek()) {
        Ok(seed) => Ok((enrolment, seed)),
        Err(err) => {
            tracing::error!(error = %err, enrolment = %enrolment.id, "TOTP enrolment seed does not open");
            Err(expired())
        }
    }
}

/// The page for an enrolment that no longer waits (forgotten, replaced, or already confirmed).
pub fn expired() -> Response {
    ui::message_page(
        StatusCode::BAD_REQUEST,
        "This set-up has expired",
        "Open the authenticator set-up page again to get a new code to scan.",
    )
}

/// The name authenticator apps show above the code: the issuer's host (and port, if any).
fn issuer_label(issuer: &str) -> String {
    url::Url::parse(issuer)
        .ok()
        .and_then(|url| {
            url.host_str().map(|host| match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            })
        })
        .unwrap_or_else(|| issuer.to_owned())
}
