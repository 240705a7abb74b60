//! The revocation feed under many streams and many entries, over real HTTP: one store read per
//! new page whatever the number of streams, caps on open streams, and snapshots in pages.

use crate::revocation_feed::{
    assert_entry_event, assert_error, cursor_of, entries, feed, feed_json, jtis, revoke_token,
    setup, EventStream, SseEvent, API,
};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tessera_server::feed::MAX_LIMIT;
use tessera_testkit::{spawn_app_with, TestApp};
use time::Duration as TimeDuration;

/// A server with the feed's stream caps set, and the resource server `API`; returns its secret.
async fn capped(max_streams_per_client: usize, max_streams: usize) -> (TestApp, String) {
    let app = spawn_app_with(|config| {
        config.feed.max_streams_per_client = max_streams_per_client;
        config.feed.max_streams = max_streams;
    })
    .await;
    let secret = app.add_resource_server(API, &[]).await;
    (app, secret)
}

/// A stream refused at a cap: the documented status, `Retry-After`, an OAuth error body.
async fn assert_refused(response: reqwest::Response, status: StatusCode) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse::<u32>()
        .expect("Retry-After in seconds");
    assert!(retry_after > 0);
    let body = assert_error(response, status, "temporarily_unavailable").await;
    assert!(body["error_description"].is_string(), "{body}");
}

#[tokio::test]
async fn many_streams_share_one_store_read_per_new_page() {
    const STREAMS: usize = 50;
    const REVOCATIONS: usize = 20;
    let (app, secret) = capped(STREAMS, STREAMS).await;
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        let mut stream = EventStream::open(&app, &secret, "", None).await;
        assert_eq!(stream.next().await.event.as_deref(), Some("snapshot"));
        streams.push(stream);
    }
    let hub = &app.state.signals.feed;
    assert_eq!(hub.slots().open_streams(), STREAMS);
    let reads_before = hub.entry_reads();
    let stream_reads_before = hub.stream_reads();

    let mut made = Vec::new();
    for i in 0..REVOCATIONS {
        made.push(revoke_token(&app, &format!("fan-{i}"), 600).await);
    }
    // Every stream gets every entry, once, in order.
    for stream in &mut streams {
        for entry in &made {
            assert_entry_event(&stream.next().await, entry, "token-revoked");
        }
    }
    // The store was read for new entries at most once per revocation (fewer when one read
    // found several), not once per stream and revocation (1000 reads before the fan-out).
    let reads = hub.entry_reads() - reads_before;
    assert!(
        (1..=REVOCATIONS as u64).contains(&reads),
        "{reads} store reads for {REVOCATIONS} revocations and {STREAMS} streams"
    );
    assert_eq!(
        hub.stream_reads() - stream_reads_before,
        0,
        "no stream read the store itself"
    );
}

#[tokio::test]
async fn streams_are_capped_per_client_and_in_total_and_a_closed_stream_frees_its_slot() {
    let (app, secret) = capped(2, 3).await;
    let other_secret = app.add_resource_server("api-2", &[]).await;
    let third_secret = app.add_resource_server("api-3", &[]).await;

    let first = EventStream::open(&app, &secret, "", None).await;
    let _second = EventStream::open(&app, &secret, "", None).await;
    // A third stream of the same client is refused; the two open streams go on.
    let response = EventStream::request(&app, API, &secret, "", None).await;
    assert_refused(response, StatusCode::TOO_MANY_REQUESTS).await;
    // Another client still gets one: the third and last of the server.
    let mut other =
        EventStream::of(EventStream::request(&app, "api-2", &other_secret, "", None).await);
    assert_eq!(other.next().await.event.as_deref(), Some("snapshot"));
    // The server is full: a client with none open is refused too, with 503.
    let response = EventStream::request(&app, "api-3", &third_secret, "", None).await;
    assert_refused(response, StatusCode::SERVICE_UNAVAILABLE).await;
    // A refused request changed nothing: three streams are open.
    let slots = app.state.signals.feed.slots();
    assert_eq!(slots.open_streams(), 3);
    assert_eq!(slots.open_streams_of(API), 2);

    // The open streams still deliver.
    let entry = revoke_token(&app, "still-flowing", 600).await;
    assert_entry_event(&other.next().await, &entry, "token-revoked");

    // Closing a stream frees its slot once the server sees the connection gone. The timeout
    // only guards against a hang.
    drop(first);
    tokio::time::timeout(Duration::from_secs(10), async {
        while slots.open_streams_of(API) > 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the closed stream's slot is freed");
    let mut again = EventStream::of(EventStream::request(&app, API, &secret, "", None).await);
    assert_eq!(again.next().await.event.as_deref(), Some("snapshot"));
    assert_eq!(slots.open_streams(), 3);
}

/// Follows a snapshot from `first` (a `GET /revocations` answer) through `?page=`; returns the
/// jtis in order and the snapshot's cursor.
async fn follow_pages(app: &TestApp, secret: &str, first: Value) -> (Vec<String>, i64, usize) {
    let cursor = cursor_of(&first);
    let mut page = first;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        assert_eq!(page["resync"], true, "{page}");
        assert_eq!(
            cursor_of(&page),
            cursor,
            "every page names the snapshot's cursor"
        );
        assert!(entries(&page).len() <= MAX_LIMIT as usize);
        seen.extend(jtis(&page).into_iter().map(str::to_owned));
        pages += 1;
        let Some(next) = page["next"].as_str() else {
            break;
        };
        page = feed_json(app, secret, &format!("?page={next}")).await;
    }
    (seen, cursor, pages)
}

#[tokio::test]
async fn a_snapshot_larger_than_a_page_comes_in_pages_holding_each_live_entry_once() {
    let (app, secret) = setup().await;
    // Entries that expire before the snapshot, among more live ones than one page holds.
    let mut live = Vec::new();
    for i in 0..(MAX_LIMIT as usize + 10) {
        if i % 100 == 0 {
            revoke_token(&app, &format!("short-{i}"), 10).await;
        }
        let jti = format!("live-{i}");
        revoke_token(&app, &jti, 600).await;
        live.push(jti);
    }
    app.clock.advance(TimeDuration::seconds(20));

    let first = feed_json(&app, &secret, "").await;
    assert_eq!(entries(&first).len(), MAX_LIMIT as usize);
    assert!(first["next"].is_string(), "a first page with more to come");
    // An entry made while the client follows the pages is not part of the snapshot: it comes
    // after the snapshot's cursor.
    let later = revoke_token(&app, "later", 600).await;
    let (seen, cursor, pages) = follow_pages(&app, &secret, first).await;
    assert_eq!(pages, 2);
    assert_eq!(seen, live, "every live entry once, in order");
    let after = feed_json(&app, &secret, &format!("?after={cursor}")).await;
    assert_eq!(jtis(&after), ["later"]);
    assert_eq!(cursor_of(&after), later.cursor);

    // A reader behind swept entries gets the same paged snapshot.
    app.state.purge_expired().await.unwrap();
    let behind = feed_json(&app, &secret, "?after=0").await;
    assert_eq!(behind["resync"], true);
    let (seen, _, _) = follow_pages(&app, &secret, behind).await;
    assert_eq!(seen.len(), live.len() + 1);
    assert_eq!(seen.last().map(String::as_str), Some("later"));

    // Continuations that the feed did not hand out are invalid requests; nothing changes.
    let newest = later.cursor;
    for query in [
        "?page=abc".to_owned(),
        "?page=5".to_owned(),
        format!("?page={newest}.{newest}"),
        format!("?page={}.1", newest + 1),
        format!("?page={newest}.1&after=0"),
    ] {
        let response = feed(&app, &secret, &query).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }

    // The stream sends the snapshot as several events; only the last carries an id.
    let mut stream = EventStream::open(&app, &secret, "", None).await;
    let mut seen = Vec::new();
    let mut events: Vec<SseEvent> = vec![stream.next().await];
    assert_eq!(events[0].event.as_deref(), Some("snapshot"));
    while events.last().unwrap().json()["next"].is_string() {
        assert_eq!(
            events.last().unwrap().id,
            None,
            "no id before the last page"
        );
        let event = stream.next().await;
        assert_eq!(event.event.as_deref(), Some("snapshot-continued"));
        events.push(event);
    }
    for event in &events {
        seen.extend(jtis(&event.json()).into_iter().map(str::to_owned));
    }
    assert_eq!(events.len(), 2);
    assert_eq!(
        events.last().unwrap().id.as_deref(),
        Some(newest.to_string().as_str())
    );
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no entry twice");
    assert_eq!(seen.len(), live.len() + 1);
    let next = revoke_token(&app, "after-the-snapshot", 600).await;
    assert_entry_event(&stream.next().await, &next, "token-revoked");
}
