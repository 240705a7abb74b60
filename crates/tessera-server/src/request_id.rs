//! Which `X-Request-Id` a request is logged and answered with.
//!
//! A caller may send its own id, so a request can be followed from a proxy or a client into
//! Tessera's log. That id goes into text logs as is, so only a short id of a safe charset is
//! kept: anything else (spaces, quotes, `=`, a kilobyte of text) could forge fields or whole
//! lines in a log reader's eyes (`… request_id=x status=500 user_id=admin`). An unsafe id is
//! dropped and the request gets a fresh one, as if it had sent none.

use axum::extract::Request;
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;

/// The header carrying the request id, in and out.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest caller-chosen id kept (a UUID is 36 characters; W3C trace ids are 32).
pub const MAX_LEN: usize = 64;

/// Whether a caller's id may be kept: 1 to [`MAX_LEN`] characters from `A-Z a-z 0-9 - _ . :`.
pub fn is_acceptable(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Middleware, outside the layer that assigns ids: removes every `X-Request-Id` unless there is
/// exactly one and it [`is_acceptable`], so the request gets a fresh one.
pub async fn drop_unsafe(mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let mut ids = headers.get_all(&HEADER).iter();
    let keep = match (ids.next(), ids.next()) {
        (Some(id), None) => is_acceptable(id.as_bytes()),
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !keep {
        request.headers_mut().remove(&HEADER);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_safe_ids_are_kept_and_others_refused() {
        for ok in [
            "a",
            "req-123",
            "0af7651916cd43dd8448eb211c80319c",
            "4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
            "svc.gateway:42_x",
            &"x".repeat(MAX_LEN),
        ] {
            assert!(is_acceptable(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "x status=500 user_id=admin",
            "a\"b",
            "a=b",
            "tab\there",
            "ümlaut",
            &"x".repeat(MAX_LEN + 1),
        ] {
            assert!(!is_acceptable(bad.as_bytes()), "{bad:?}");
        }
    }
}
