//! Sending mail over SMTP (lettre, rustls on aws-lc-rs), and queueing it.
//!
//! Requests only queue ([`AppState::queue_mail`]): the message goes to the store's outbox and the
//! outbox worker (`workers/outbox.rs`) of any node sends it, so a slow or dead SMTP server never
//! holds up a sign-in. This module decides how the server is reached ([`SmtpTarget`]): TLS from
//! the first byte for `smtps://`, STARTTLS required for `smtp://` unless the host is loopback or
//! the operator set `email.insecure_smtp_plaintext`.

use crate::app::AppState;
use crate::config::EmailConfig;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::net::IpAddr;
use std::time::Duration as StdDuration;
use tessera_core::{Email, OutgoingMessage, Recipient};
use tessera_store::StoreError;
use zeroize::Zeroizing;

/// How long one message may take (connect, TLS, the whole SMTP dialogue) before it counts as
/// failed and is retried.
pub const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(15);

/// How the SMTP server is reached.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<(String, Zeroizing<String>)>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("credentials", &self.credentials.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// The transport security of an SMTP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`smtps://`, usually port 465).
    ImplicitTls,
    /// STARTTLS, required: a server that does not offer it is not sent to.
    StartTls,
    /// No TLS: loopback only, or with `insecure_smtp_plaintext`.
    Plaintext,
}

impl SmtpTarget {
    /// Reads `email.smtp_url`; the error says what is wrong with it.
    pub fn parse(url: &str, config: &EmailConfig) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let loopback = host == "localhost"
            || host
                .parse::<IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false);
        let (security, default_port) = match parsed.scheme() {
            "smtps" => (Security::ImplicitTls, 465),
            "smtp" if loopback || config.insecure_smtp_plaintext => (Security::Plaintext, 25),
            "smtp" => (Security::StartTls, 587),
            other => return Err(format!("scheme {other:?}: use smtp:// or smtps://")),
        };
        let credentials = (!parsed.username().is_empty()).then(|| {
            let decode = |s: &str| percent_decode(s).unwrap_or_else(|| s.to_owned());
            (
                decode(parsed.username()),
                Zeroizing::new(decode(parsed.password().unwrap_or_default())),
            )
        });
        Ok(Self {
            host,
            port: parsed.port().unwrap_or(default_port),
            security,
            credentials,
        })
    }

    /// The transport security chosen.
    pub fn security(&self) -> Security {
        self.security
    }
}

/// Percent-decodes URL userinfo; `None` if it is not valid UTF-8 once decoded.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Sends mail to one configured SMTP server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// The mailer for `config`, or `None` when no SMTP server is configured.
    pub fn from_config(config: &EmailConfig) -> Result<Option<Self>, String> {
        let Some(url) = &config.smtp_url else {
            return Ok(None);
        };
        let target = SmtpTarget::parse(url, config)?;
        let from: Mailbox = config
            .from
            .as_deref()
            .ok_or("email.from is required")?
            .parse()
            .map_err(|e| format!("email.from: {e}"))?;
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|e| format!("TLS set-up: {e}"))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.host)
            .port(target.port)
            .timeout(Some(SEND_TIMEOUT));
        builder = match target.security {
            Security::ImplicitTls => builder.tls(Tls::Wrapper(tls(&target.host)?)),
            Security::StartTls => builder.tls(Tls::Required(tls(&target.host)?)),
            Security::Plaintext => builder.tls(Tls::None),
        };
        if let Some((user, password)) = &target.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.to_string()));
        }
        Ok(Some(Self {
            transport: builder.build(),
            from,
        }))
    }

    /// Sends `mail` whose body (opened from the outbox) is `body`; `Err` says why it failed.
    pub async fn send(&self, mail: &OutgoingMessage, body: &str) -> Result<(), String> {
        let to: Mailbox = mail
            .recipient
            .address()
            .parse()
            .map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| format!("building the message: {e}"))?;
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("no answer within {} s", SEND_TIMEOUT.as_secs())),
        }
    }
}

impl AppState {
    /// Tells `user` by mail that their account's protection changed (`what`, a sentence: a
    /// factor added or removed, the password changed), when the server sends mail. Someone who
    /// took over a session learns nothing from it, but the owner learns of the change. Best
    /// effort: a failure to queue is logged, and the change stands.
    pub async fn notify_account_change(&self, user: &tessera_core::User, what: &str) {
        if !self.can_send_mail() {
            return;
        }
        let body = format!(
            "{what}\n\nIf this was you, there is nothing to do. If it was not, change your \
             password at once and sign out of the devices you do not know (your account page).\n"
        );
        let subject = "Your account's security settings changed";
        if let Err(err) = self.queue_mail(&user.email, subject, &body).await {
            tracing::warn!(error = %err, user_id = %user.id, "could not queue a change notification");
        }
    }

    /// Whether this server can send mail (an SMTP server is configured).
    pub fn can_send_mail(&self) -> bool {
        self.services.mailer.is_some()
    }

    /// Queues a message to `to` and wakes this server's outbox worker. The caller tells the
    /// user the message is on its way; the worker sends it (any node may), retrying failures.
    pub async fn queue_mail(
        &self,
        to: &Email,
        subject: &str,
        body: &str,
    ) -> Result<(), StoreError> {
        let mail = OutgoingMessage::new(
            Recipient::Email(to.clone()),
            subject,
            body,
            self.services.keys.kek(),
            self.services.clock.now(),
        );
        self.services.store.enqueue_message(&mail).await?;
        self.signals.mail_wake.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str, insecure: bool) -> Result<SmtpTarget, String> {
        SmtpTarget::parse(
            url,
            &EmailConfig {
                insecure_smtp_plaintext: insecure,
                ..EmailConfig::default()
            },
        )
    }

    #[test]
    fn plaintext_only_to_loopback_or_when_named_insecure() {
        for (url, insecure, security, port) in [
            ("smtp://127.0.0.1:2525", false, Security::Plaintext, 2525),
            ("smtp://localhost", false, Security::Plaintext, 25),
            ("smtp://[::1]:2525", false, Security::Plaintext, 2525),
            ("smtp://mail.example.com", false, Security::StartTls, 587),
            ("smtp://mail.example.com:25", true, Security::Plaintext, 25),
            (
                "smtps://mail.example.com",
                false,
                Security::ImplicitTls,
                465,
            ),
        ] {
            let target = parse(url, insecure).unwrap();
            assert_eq!((target.security(), target.port), (security, port), "{url}");
        }
        assert!(parse("http://mail.example.com", false).is_err());
        assert!(parse("not a url", false).is_err());
    }

    #[test]
    fn credentials_come_from_the_userinfo_and_are_never_printed() {
        let target = parse("smtps://ada%40example.com:p%40ss@mail.example.com", false).unwrap();
        let (user, password) = target.credentials.clone().unwrap();
        assert_eq!(user, "ada@example.com");
        assert_eq!(password.as_str(), "p@ss");
        assert!(!format!("{target:?}").contains("p@ss"));
    }
}
