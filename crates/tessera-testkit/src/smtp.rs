//! A real SMTP server on loopback for tests (mailin-embedded, run in a thread of the test
//! process), keeping every message it accepts so a test can read the mail Tessera sent. It can
//! be told to refuse mail (a temporary `450` to each recipient), to test retries.

use mailin_embedded::response::OK;
use mailin_embedded::{Handler, Response, Server, SslConfig};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A message the sink accepted.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The whole message as received (headers and body).
    pub data: String,
}

impl ReceivedMail {
    /// The six-digit code after "Your code is ", as Tessera's code mails say it.
    pub fn code(&self) -> String {
        let start = self
            .data
            .find("Your code is ")
            .unwrap_or_else(|| panic!("no code in:\n{}", self.data))
            + "Your code is ".len();
        self.data[start..start + 6].to_owned()
    }

    /// The `Subject` header.
    pub fn subject(&self) -> &str {
        self.data
            .lines()
            .find_map(|line| line.strip_prefix("Subject: "))
            .unwrap_or("")
    }
}

#[derive(Clone)]
struct Collector {
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    refusing: Arc<AtomicBool>,
    current: Option<ReceivedMail>,
}

impl Handler for Collector {
    fn rcpt(&mut self, _to: &str) -> Response {
        if self.refusing.load(Ordering::SeqCst) {
            return Response::custom(450, "Mailbox busy, try again later".into());
        }
        OK
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(ReceivedMail {
            from: from.to_owned(),
            to: to.to_vec(),
            data: String::new(),
        });
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(mail) = &mut self.current {
            mail.data.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(mail) = self.current.take() {
            self.inbox.lock().unwrap().push(mail);
        }
        OK
    }
}

/// An SMTP server on 127.0.0.1 and a free port, for one test.
#[derive(Clone, Debug)]
pub struct MailSink {
    addr: SocketAddr,
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    refusing: Arc<AtomicBool>,
}

impl MailSink {
    /// Starts the server (it runs until the test process ends).
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let addr = listener.local_addr().unwrap();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let refusing = Arc::new(AtomicBool::new(false));
        let mut server = Server::new(Collector {
            inbox: inbox.clone(),
            refusing: refusing.clone(),
            current: None,
        });
        server
            .with_name("sink.test")
            .with_ssl(SslConfig::None)
            .expect("plain SMTP")
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self {
            addr,
            inbox,
            refusing,
        }
    }

    /// `smtp://127.0.0.1:PORT`, for `email.smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Whether to refuse every message (450 to each recipient) from now on.
    pub fn refuse(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.inbox.lock().unwrap().clone()
    }

    /// Waits (up to 15 s) until `count` messages to `to` with subject `subject` have arrived,
    /// and returns the last. (Other messages, such as Tessera's notices of account changes, are
    /// passed over.)
    pub async fn wait_for(&self, to: &str, subject: &str, count: usize) -> ReceivedMail {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mails: Vec<ReceivedMail> = self
                .received()
                .into_iter()
                .filter(|m| m.to.iter().any(|r| r.contains(to)) && m.subject() == subject)
                .collect();
            if mails.len() >= count {
                return mails[count - 1].clone();
            }
            assert!(
                Instant::now() < deadline,
                "{count} mail(s) to {to} about {subject:?} did not arrive; got {:?}",
                self.received()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
