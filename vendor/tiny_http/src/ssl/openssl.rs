use crate::connection::Connection;
use crate::util::refined_tcp_stream::Stream as RefinedStream;
use std::error::Error;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

pub(crate) struct OpenSslStream {
    inner: openssl::ssl::SslStream<Connection>,
}

/// An OpenSSL stream which has been split into two mutually exclusive streams (e.g. for read / write)
pub(crate) struct SplitOpenSslStream(Arc<Mutex<OpenSslStream>>);

// These struct methods form the implict contract for swappable TLS implementations
impl SplitOpenSslStream {
    pub(crate) fn peer_addr(&mut self) -> std::io::Result<Option<SocketAddr>> {
        self.0.lock().unwrap().inner.get_mut().peer_addr()
    }

    pub(crate) fn shutdown(&mut self, how: Shutdown) -> std::io::Result<()> {
        let mut stream = self.0.lock().unwrap();
        // xivo-confd patch 14: a close_notify before the TCP FIN. Without
        // it OpenSSL clients see an unexpected EOF, a fatal error that makes
        // their session not resumable: no client could ever resume.
        if how != Shutdown::Read {
            stream.inner.shutdown().ok();
        }
        stream.inner.get_mut().shutdown(how)
    }

    /// xivo-confd patch 9: a handle on the TCP socket under the TLS layer.
    pub(crate) fn socket(&self) -> std::io::Result<Connection> {
        self.0.lock().unwrap().inner.get_ref().try_clone()
    }
}

impl Clone for SplitOpenSslStream {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl Read for SplitOpenSslStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().read(buf)
    }
}

impl Write for SplitOpenSslStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap().flush()
    }
}

impl Read for OpenSslStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for OpenSslStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub(crate) struct OpenSslContext(openssl::ssl::SslContext);

/// xivo-confd patch 13: the TLS 1.2 suites (OpenSSL names), in the order
/// of Mozilla's "intermediate" configuration (its DHE suites left out).
const TLS12_CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
/// The TLS 1.3 suites (all three OpenSSL enables by default).
const TLS13_CIPHERSUITES: &str =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
/// TLS 1.2 sessions kept for resumption by id (OpenSSL's default is
/// 20,480, tens of MB when full); the oldest go first.
const SESSION_CACHE_SIZE: i32 = 4096;

impl OpenSslContext {
    pub fn from_pem(
        certificates: Vec<u8>,
        private_key: Zeroizing<Vec<u8>>,
    ) -> Result<Self, Box<dyn Error + Send + Sync>> {
        use openssl::pkey::PKey;
        use openssl::ssl::{self, SslVerifyMode};
        use openssl::x509::X509;

        let mut ctx = openssl::ssl::SslContext::builder(ssl::SslMethod::tls())?;
        // xivo-confd patch 13: TLS 1.2 and 1.3 only; for 1.2, forward-secret
        // AEAD suites only (ECDHE with AES-GCM or ChaCha20-Poly1305, for
        // ECDSA and RSA certificates alike); for 1.3, OpenSSL's three.
        ctx.set_min_proto_version(Some(ssl::SslVersion::TLS1_2))?;
        ctx.set_cipher_list(TLS12_CIPHERS)?;
        ctx.set_ciphersuites(TLS13_CIPHERSUITES)?;
        ctx.set_options(ssl::SslOptions::NO_COMPRESSION | ssl::SslOptions::NO_RENEGOTIATION);
        // Session resumption: session tickets (OpenSSL's own ticket keys,
        // made at random when this context is built, so a restart
        // invalidates every ticket) and a server-side cache of TLS 1.2
        // sessions for clients that resume by session id. Either can be
        // resumed for OpenSSL's default session lifetime, 300 s. The id
        // context names this server's sessions; each listener has its own
        // context, hence its own cache and ticket keys.
        ctx.set_session_id_context(b"tiny_http")?;
        ctx.set_session_cache_mode(ssl::SslSessionCacheMode::SERVER);
        ctx.set_session_cache_size(SESSION_CACHE_SIZE);
        // one ticket per handshake (OpenSSL sends two): a client opening a
        // connection per request resumes with the ticket it was just given
        ctx.set_num_tickets(1)?;
        let certificate_chain = X509::stack_from_pem(&certificates)?;
        if certificate_chain.is_empty() {
            return Err("Couldn't extract certificate chain from config.".into());
        }
        // The leaf certificate must always be first in the PEM file
        ctx.set_certificate(&certificate_chain[0])?;
        for chain_cert in certificate_chain.into_iter().skip(1) {
            ctx.add_extra_chain_cert(chain_cert)?;
        }
        let key = PKey::private_key_from_pem(&private_key)?;
        ctx.set_private_key(&key)?;
        ctx.set_verify(SslVerifyMode::NONE);
        ctx.check_private_key()?;

        Ok(Self(ctx.build()))
    }

    pub fn accept(
        &self,
        stream: Connection,
    ) -> Result<OpenSslStream, Box<dyn Error + Send + Sync + 'static>> {
        use openssl::ssl::Ssl;
        let session = Ssl::new(&self.0).expect("Failed to create new OpenSSL session");
        let stream = session.accept(stream)?;
        Ok(OpenSslStream { inner: stream })
    }
}

impl From<OpenSslStream> for RefinedStream {
    fn from(stream: OpenSslStream) -> Self {
        RefinedStream::Https(SplitOpenSslStream(Arc::new(Mutex::new(stream))))
    }
}
