//! An HTTPS token endpoint on 127.0.0.1 behind a certificate made for the test (self-signed,
//! for the IP address 127.0.0.1), so a client reaches it only when it trusts that certificate,
//! e.g. through `SSL_CERT_FILE`. Every request that gets past the handshake is counted and
//! answered with fresh tokens.

use crate::token_server::{access_token, read_request};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub struct TlsTokenServer {
    /// `https://127.0.0.1:PORT/oauth/token`.
    pub url: String,
    /// The server's certificate in PEM: the one thing to trust.
    pub cert_pem: String,
    requests: Arc<AtomicUsize>,
}

impl TlsTokenServer {
    pub fn start() -> TlsTokenServer {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}/oauth/token", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(connection) = rustls::ServerConnection::new(config.clone()) else {
                    continue;
                };
                let mut tls = rustls::StreamOwned::new(connection, stream);
                // A client that does not trust us aborts the handshake here.
                let Some((_path, _body)) = read_request(&mut tls) else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let body = json!({
                    "access_token": access_token(3600, "over-tls"),
                    "refresh_token": "rt-tls",
                })
                .to_string();
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        TlsTokenServer {
            url,
            cert_pem: cert.pem(),
            requests,
        }
    }

    /// Requests that got past the TLS handshake.
    pub fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}
