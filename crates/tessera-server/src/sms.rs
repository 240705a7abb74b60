//! Sending SMS through the operator's provider webhook, and queueing it.
//!
//! Like mail, SMS are queued in the store's outbox ([`AppState::queue_sms`]) and sent by the
//! outbox worker (`workers/outbox.rs`) on any node, with the same retries, so a slow or failing
//! provider never holds up a sign-in. Each request is a JSON `{"to", "body"}` POST signed with
//! HMAC-SHA-256 ([`tessera_core::webhook`]); any 2xx answer means sent.

use crate::app::AppState;
use crate::config::SmsConfig;
use std::time::Duration as StdDuration;
use tessera_core::webhook::{signature, SIGNATURE_HEADER};
use tessera_core::{OutgoingMessage, PhoneNumber, Recipient};
use tessera_store::StoreError;
use zeroize::Zeroizing;

/// How long one webhook call may take before it counts as failed and is retried.
pub const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// Posts SMS to one configured webhook.
pub struct SmsSender {
    http: reqwest::Client,
    url: String,
    secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SmsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSender").field("url", &self.url).finish()
    }
}

impl SmsSender {
    /// The sender for `config`, or `None` when no webhook is configured. (The configuration
    /// was validated at load: an https URL or loopback http, a long enough secret.)
    pub fn from_config(config: &SmsConfig) -> Result<Option<Self>, String> {
        let (Some(url), Some(secret)) = (&config.webhook_url, &config.webhook_secret) else {
            return Ok(None);
        };
        let http = crate::http_client::https_client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(SEND_TIMEOUT)
            .connect_timeout(SEND_TIMEOUT)
            .user_agent(concat!("Tessera/", env!("CARGO_PKG_VERSION"), " sms"))
            .build()
            .map_err(|e| format!("sms: cannot build the HTTP client: {e}"))?;
        Ok(Some(Self {
            http,
            url: url.clone(),
            secret: Zeroizing::new(secret.as_bytes().to_vec()),
        }))
    }

    /// Posts `body` for `to`, signed at `timestamp`; `Err` says why it failed.
    pub async fn send(&self, to: &PhoneNumber, body: &str, timestamp: i64) -> Result<(), String> {
        let payload = serde_json::to_vec(&serde_json::json!({ "to": to.as_str(), "body": body }))
            .map_err(|e| e.to_string())?;
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header(
                SIGNATURE_HEADER,
                signature(&self.secret, timestamp, &payload),
            )
            .body(payload)
            .send()
            .await
            .map_err(|e| format!("webhook: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("webhook answered {}", response.status()))
        }
    }
}

impl AppState {
    /// Whether this server can send SMS (a webhook is configured).
    pub fn can_send_sms(&self) -> bool {
        self.services.sms.is_some()
    }

    /// Queues an SMS to `to` and wakes this server's outbox worker.
    pub async fn queue_sms(&self, to: &PhoneNumber, body: &str) -> Result<(), StoreError> {
        let message = OutgoingMessage::new(
            Recipient::Phone(to.clone()),
            "",
            body,
            self.services.keys.kek(),
            self.services.clock.now(),
        );
        self.services.store.enqueue_message(&message).await?;
        self.signals.mail_wake.notify_one();
        Ok(())
    }
}
