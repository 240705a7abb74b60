//! `X-Request-Id`: a caller's own id is kept only if it cannot forge log fields.

use tessera_testkit::spawn_app;

async fn answered_id(app: &tessera_testkit::TestApp, sent: Option<&str>) -> String {
    let mut request = app.http.get(app.url("/healthz"));
    if let Some(id) = sent {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let ids: Vec<_> = response.headers().get_all("x-request-id").iter().collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].to_str().unwrap().to_owned()
}

fn is_uuid(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

#[tokio::test]
async fn a_safe_caller_id_is_kept() {
    let app = spawn_app().await;
    assert_eq!(answered_id(&app, Some("gw-7f3a.42")).await, "gw-7f3a.42");
    assert!(is_uuid(&answered_id(&app, None).await));
}

/// The attack: an id that reads as more log fields (or a huge one) must not reach the log; the
/// request is logged and answered under a fresh id instead.
#[tokio::test]
async fn a_forging_or_oversized_id_is_replaced() {
    let app = spawn_app().await;
    for forged in [
        "x status=500 user_id=admin",
        "\"quoted\"",
        &"a".repeat(65),
        &"b".repeat(8000),
    ] {
        let answered = answered_id(&app, Some(forged)).await;
        assert_ne!(answered, forged);
        assert!(is_uuid(&answered), "{answered}");
    }
}
