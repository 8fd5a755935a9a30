//! A small blocking HTTPS/1.1 client with keep-alive, trusting one CA: what the load bench and
//! the tests talk to the webhook with, as the API server would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// One keep-alive connection to the webhook.
pub struct Client {
    stream: BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>,
}

/// An answer: status, content type and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `content-type` header.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl Client {
    /// Connects to `addr`, verifying the server's certificate for `name` against `ca_pem`.
    pub fn connect(addr: SocketAddr, name: &str, ca_pem: &str) -> std::io::Result<Client> {
        Client::connect_alpn(addr, name, ca_pem, Vec::new())
    }

    /// Connects as [`Client::connect`] does, offering the application protocols `alpn`
    /// (`h2`, to speak HTTP/2 frames through [`Client::write_raw`]).
    pub fn connect_alpn(addr: SocketAddr, name: &str, ca_pem: &str, alpn: Vec<Vec<u8>>) -> std::io::Result<Client> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.map_err(io)?).map_err(io)?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(io)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut config = config;
        config.alpn_protocols = alpn;
        let server = ServerName::try_from(name.to_owned()).map_err(io)?;
        let conn = rustls::ClientConnection::new(Arc::new(config), server).map_err(io)?;
        let tcp = TcpStream::connect(addr)?;
        tcp.set_nodelay(true)?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        // Finish the handshake now, so a certificate the client does not trust fails here.
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Client { stream: BufReader::new(stream) })
    }

    /// Sends one request and reads its answer.
    pub fn send(&mut self, method: &str, path: &str, content_type: &str, body: &[u8]) -> std::io::Result<Answer> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: paved\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        self.write_raw(head.as_bytes())?;
        self.write_raw(body)?;
        self.read_answer()
    }

    /// Writes bytes as they are (a request of any shape, or part of one).
    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let out = self.stream.get_mut();
        out.write_all(bytes)?;
        out.flush()
    }

    /// Reads what the server sends until it closes the connection; the bytes read.
    pub fn read_to_end(&mut self) -> std::io::Result<usize> {
        let mut sink = Vec::new();
        match self.stream.read_to_end(&mut sink) {
            Ok(n) => Ok(n),
            // A server that closes without a TLS close_notify has closed all the same.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(sink.len()),
            Err(e) => Err(e),
        }
    }

    /// Reads one answer.
    pub fn read_answer(&mut self) -> std::io::Result<Answer> {
        let mut line = String::new();
        self.stream.read_line(&mut line)?;
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io(format!("no status line: {line:?}")))?;
        let (mut length, mut content_type) = (0usize, String::new());
        loop {
            line.clear();
            if self.stream.read_line(&mut line)? == 0 {
                return Err(io("the connection closed in the headers"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().map_err(io)?,
                    "content-type" => value.trim().clone_into(&mut content_type),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body)?;
        Ok(Answer { status, content_type, body })
    }

    /// POSTs an AdmissionReview to `/validate`.
    pub fn review(&mut self, review: &serde_json::Value) -> std::io::Result<Answer> {
        self.send("POST", "/validate", "application/json", &serde_json::to_vec(review).map_err(io)?)
    }

    /// POSTs an AdmissionReview to `/mutate`.
    pub fn mutate(&mut self, review: &serde_json::Value) -> std::io::Result<Answer> {
        self.send("POST", "/mutate", "application/json", &serde_json::to_vec(review).map_err(io)?)
    }
}
