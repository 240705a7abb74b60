//! The one way Tessera builds an outbound HTTP client (back-channel logout, the SMS webhook,
//! and the test clients of the workspace): reqwest over rustls on aws-lc-rs, the project's only
//! crypto stack.
//!
//! reqwest's `rustls-tls` feature would make ring rustls' provider, so the workspace turns on
//! `rustls-tls-webpki-roots-no-provider` instead, and every client gets its TLS configuration
//! from [`https_client_builder`]: the aws-lc-rs provider, TLS 1.3 and 1.2, the Mozilla roots of
//! `webpki-roots` (what `rustls-tls` trusted), certificate and host name verification on, and
//! ALPN `h2` then `http/1.1` (as reqwest offers them). No process-wide default provider is
//! installed, so a reqwest client built another way panics ("No provider set").
//!
//! With a preconfigured TLS configuration reqwest ignores its own TLS settings
//! (`add_root_certificate`, `danger_accept_invalid_certs`, `min_tls_version`, …): change the
//! configuration here instead.

use rustls::{ClientConfig, RootCertStore};
use std::sync::Arc;

/// A reqwest client builder whose TLS is rustls on aws-lc-rs with the webpki roots; set the
/// rest (timeouts, redirects, user agent) and build. Plain `http` URLs work as before.
pub fn https_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().use_preconfigured_tls(tls_config(webpki_roots()))
}

/// The Mozilla root certificates, as reqwest's `rustls-tls` trusted them.
fn webpki_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// rustls on aws-lc-rs trusting `roots`, with ALPN as reqwest would set it.
fn tls_config(roots: RootCertStore) -> ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // Fails only for a provider without the cipher suites or key exchanges of TLS 1.2 and
        // 1.3, which aws-lc-rs's default provider has: a constant, like reqwest's own `expect`.
        .expect("aws-lc-rs's default provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::{CertificateError, ServerConfig, ServerConnection, StreamOwned};
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A TLS server on 127.0.0.1 with a fresh self-signed certificate for that address; each of
    /// its `connections` answers one HTTP/1.1 request with `200 ok` if the handshake succeeds.
    /// Returns its port, the certificate, and the thread (ended after `connections`).
    fn self_signed_server(
        connections: usize,
    ) -> (u16, CertificateDer<'static>, std::thread::JoinHandle<()>) {
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = Arc::new(
            ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![cert.clone()], key)
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for _ in 0..connections {
                let (tcp, _) = listener.accept().unwrap();
                let mut tls = StreamOwned::new(ServerConnection::new(config.clone()).unwrap(), tcp);
                // Reading drives the handshake; a client that refuses the certificate ends it
                // with an alert, and this connection is done.
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                if request.ends_with(b"\r\n\r\n") {
                    let _ = tls.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    );
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            }
        });
        (port, cert, server)
    }

    /// Whether `err`'s chain holds rustls' "unknown issuer" certificate error.
    fn is_unknown_issuer(err: &reqwest::Error) -> bool {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(err) = next {
            if let Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) =
                err.downcast_ref::<rustls::Error>()
            {
                return true;
            }
            // `io::Error::source` skips the error it wraps: step into that one instead.
            next = match err.downcast_ref::<std::io::Error>() {
                Some(io) => io
                    .get_ref()
                    .map(|inner| inner as &(dyn std::error::Error + 'static)),
                None => err.source(),
            };
        }
        false
    }

    /// The shared client verifies certificates: a server whose self-signed certificate is not
    /// among the webpki roots is refused with rustls' unknown-issuer error, and no request is
    /// sent. As a control, the same TLS configuration trusting that one certificate gets the
    /// answer, so the refusal is the trust decision, not a TLS stack that cannot connect.
    #[tokio::test]
    async fn an_untrusted_certificate_is_refused() {
        let (port, cert, server) = self_signed_server(2);
        let url = format!("https://127.0.0.1:{port}/");

        let shared = https_client_builder().build().unwrap();
        let err = shared.get(&url).send().await.unwrap_err();
        assert!(is_unknown_issuer(&err), "{err:?}");

        let mut roots = RootCertStore::empty();
        roots.add(cert).unwrap();
        let trusting = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(roots))
            .build()
            .unwrap();
        let response = trusting.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "ok");
        server.join().unwrap();
    }
}
