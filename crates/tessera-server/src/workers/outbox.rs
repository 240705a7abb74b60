//! The outbox worker: sends queued messages (`tessera_core::outbox`), mail through the
//! configured SMTP server and SMS through the provider's webhook.
//!
//! Each pass claims the due messages with a lease ([`LEASE`], longer than a send may take), so
//! two nodes never send one message at once; a sent message is deleted. A failure (refused,
//! timed out, server down) is retried with the back-channel logout's exponential backoff; a
//! message past [`tessera_core::outbox::MAX_ATTEMPTS`] or an hour old is given up and audited
//! (`mail-abandoned`), since a code that arrives that late is of no use. Requests in this
//! process wake the worker at once; mail queued elsewhere is picked up within
//! [`POLL_INTERVAL`]. Without an SMTP server the worker does not run (and nothing queues).

use crate::app::AppState;
use futures_util::future::join_all;
use std::time::Duration as StdDuration;
use tessera_core::audit::action;
use tessera_core::backchannel::retry_delay;
use tessera_core::{OutgoingMessage, Recipient};
use tessera_store::StoreResult;
use time::Duration;

/// How long a claimed message stays hidden from other claimers (well past
/// [`crate::mailer::SEND_TIMEOUT`]).
pub const LEASE: Duration = Duration::seconds(60);

/// The most messages claimed (and sent concurrently) at once.
pub const BATCH_SIZE: u32 = 8;

/// The longest the worker sleeps between two looks at the outbox when nothing wakes it.
pub const POLL_INTERVAL: StdDuration = StdDuration::from_secs(1);

/// Sends queued mail until the task is aborted. Never panics: store errors are logged and the
/// next pass tries again.
pub async fn run(state: AppState) {
    if state.services.mailer.is_none() && state.services.sms.is_none() {
        return;
    }
    loop {
        let claimed = match send_due(&state).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(error = %err, "could not claim queued mail; retrying");
                0
            }
        };
        if claimed < BATCH_SIZE as usize {
            tokio::select! {
                () = state.signals.mail_wake.notified() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }
}

/// One pass: claims up to [`BATCH_SIZE`] due messages, sends them concurrently (mail by SMTP, SMS
/// by the webhook), and settles each. Returns how many were claimed.
pub async fn send_due(state: &AppState) -> StoreResult<usize> {
    let now = state.services.clock.now();
    let due = state
        .services
        .store
        .claim_messages(now, now + LEASE, BATCH_SIZE)
        .await?;
    let claimed = due.len();
    join_all(due.into_iter().map(|mail| async move {
        let result = match mail.body(state.services.keys.kek()) {
            Ok(body) => send(state, &mail, &body).await,
            Err(err) => Err(format!("the queued body does not open: {err}")),
        };
        settle(state, &mail, result).await;
    }))
    .await;
    Ok(claimed)
}

/// Sends one message by its channel. A channel this server cannot use (its SMTP server or
/// webhook is not configured here, while another node queued the message) is a failure, retried
/// like any other, so a node that can send picks it up.
async fn send(state: &AppState, message: &OutgoingMessage, body: &str) -> Result<(), String> {
    match &message.recipient {
        Recipient::Email(_) => match &state.services.mailer {
            Some(mailer) => mailer.send(message, body).await,
            None => Err("this node has no SMTP server configured".into()),
        },
        Recipient::Phone(number) => match &state.services.sms {
            Some(sms) => {
                let now = state.services.clock.now().unix_timestamp();
                sms.send(number, body, now).await
            }
            None => Err("this node has no SMS webhook configured".into()),
        },
    }
}

/// Deletes a sent message; schedules a retry of a failed one, or gives it up.
async fn settle(state: &AppState, mail: &OutgoingMessage, result: Result<(), String>) {
    let store = &state.services.store;
    let now = state.services.clock.now();
    let outcome = match result {
        Ok(()) => {
            tracing::info!(mail = %mail.id, attempts = mail.attempts, "mail sent");
            store.finish_message(&mail.id).await
        }
        Err(error) if mail.is_spent(now) => {
            tracing::warn!(mail = %mail.id, attempts = mail.attempts, %error, "mail given up");
            state
                .audit(
                    "system",
                    action::MAIL_ABANDONED,
                    &mail.id,
                    Some(&error),
                    serde_json::json!({ "attempts": mail.attempts, "subject": mail.subject }),
                )
                .await;
            store.finish_message(&mail.id).await
        }
        Err(error) => {
            tracing::info!(mail = %mail.id, attempts = mail.attempts, %error, "mail not sent; will retry");
            store
                .retry_message(&mail.id, now + retry_delay(mail.attempts), &error)
                .await
        }
    };
    if let Err(err) = outcome {
        tracing::warn!(mail = %mail.id, error = %err, "could not record a mail outcome; it comes back when its lease ends");
    }
}
