//! Every handler runs to completion, even when its client goes away.
//!
//! hyper drops a request's future when the connection closes, and the timeout layer drops it
//! when time runs out. A handler dropped in the middle of a store operation leaves that operation
//! half done from the handler's point of view, and sqlx 0.8.6 cannot always clean up after it: a
//! SQLite transaction opened with a custom `BEGIN IMMEDIATE` and cancelled between its
//! acknowledgement and sqlx's own check is never rolled back, so the pooled connection keeps the
//! write lock and every later transaction on it fails ("attempted to call begin_with at non-zero
//! transaction depth"). bench/run found this: a load generator stopping mid-refresh left the
//! server answering 500 to every refresh (three runs out of three with the release build; none
//! after this change). Running each handler in a task of its own means its store work always
//! finishes (commits or rolls back); a client that left just never reads the answer. A
//! deterministic test needs a way to cancel at that exact point, which the debug build's timing
//! never hit in our attempts; bench/run's refresh rounds are the check.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use tracing::Instrument as _;

/// The middleware: runs the rest of the stack in its own task (in the request's tracing span)
/// and waits for it.
pub async fn middleware(request: Request, next: Next) -> Response {
    match tokio::spawn(next.run(request).in_current_span()).await {
        Ok(response) => response,
        // A panic goes on to the panic-catching layer outside, which answers 500.
        Err(failure) if failure.is_panic() => std::panic::resume_unwind(failure.into_panic()),
        Err(failure) => {
            tracing::error!(error = %failure, "a request task was cancelled");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
