//! TLS as clients see it on both HTTPS listeners: session resumption
//! (TLS 1.3 tickets, TLS 1.2 tickets and session ids), a clean close, the
//! protocol versions and suites offered, and which certificate is served
//! (a generated ECDSA P-256 one, an older generated RSA one kept, a
//! configured RSA one). The client is OpenSSL through the `openssl` crate,
//! so that sessions can be kept and offered again.

mod common;

use common::TestServer;
use openssl::nid::Nid;

use openssl::ssl::{
    ShutdownState, Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslSession,
    SslVerifyMode, SslVersion,
};
use openssl::x509::X509;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// What one connection (one request with `Connection: close`) showed.
struct Visit {
    reused: bool,
    version: String,
    cipher: String,
    certificate: X509,
    /// the session to offer next time, taken after the answer was read (a
    /// TLS 1.3 ticket arrives after the handshake)
    session: Option<SslSession>,
    /// the server ended with a close_notify, not a bare TCP close
    clean_close: bool,
    status_line: String,
}

fn client(configure: impl FnOnce(&mut SslContextBuilder)) -> SslContext {
    let mut builder = SslContext::builder(SslMethod::tls_client()).expect("client context");
    // the generated certificate is self-signed
    builder.set_verify(SslVerifyMode::NONE);
    configure(&mut builder);
    builder.build()
}

fn tls13() -> SslContext {
    client(|b| {
        b.set_min_proto_version(Some(SslVersion::TLS1_3))
            .expect("min");
    })
}

fn tls12() -> SslContext {
    client(|b| {
        b.set_max_proto_version(Some(SslVersion::TLS1_2))
            .expect("max");
    })
}

/// TLS 1.2 without tickets: only the server's session cache can resume it.
fn tls12_by_session_id() -> SslContext {
    client(|b| {
        b.set_max_proto_version(Some(SslVersion::TLS1_2))
            .expect("max");
        b.set_options(SslOptions::NO_TICKET);
    })
}

fn handshake(
    address: &str,
    context: &SslContext,
    session: Option<&SslSession>,
) -> Result<openssl::ssl::SslStream<TcpStream>, String> {
    let tcp = TcpStream::connect(address).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut ssl = Ssl::new(context).expect("ssl");
    if let Some(session) = session {
        // SAFETY: the session comes from a connection of this same context
        unsafe { ssl.set_session(session) }.expect("session set");
    }
    ssl.connect(tcp).map_err(|e| e.to_string())
}

fn visit(address: &str, context: &SslContext, session: Option<&SslSession>) -> Visit {
    let mut stream = handshake(address, context, session).expect("handshake");
    stream
        .write_all(b"GET /1.1/infos HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut read_error = None;
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => answer.extend_from_slice(&chunk[..count]),
            Err(error) => {
                read_error = Some(error.to_string());
                break;
            }
        }
    }
    let clean_close =
        read_error.is_none() && stream.get_shutdown().contains(ShutdownState::RECEIVED);
    // our close_notify back: a connection dropped without one makes OpenSSL
    // mark its session not resumable (the server's may be closed already)
    stream.shutdown().ok();
    let ssl = stream.ssl();
    Visit {
        reused: ssl.session_reused(),
        version: ssl.version_str().to_string(),
        cipher: ssl
            .current_cipher()
            .map(|c| c.name().to_string())
            .unwrap_or_default(),
        certificate: ssl.peer_certificate().expect("a certificate"),
        session: ssl.session().map(|s| s.to_owned()),
        clean_close,
        status_line: String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

/// A first connection, then a second offering its session: (first, second).
fn visit_twice(address: &str, context: &SslContext) -> (Visit, Visit) {
    let first = visit(address, context, None);
    let second = visit(address, context, first.session.as_ref());
    (first, second)
}

/// A kind of client: its name, and how its TLS context is made.
type ClientKind = (&'static str, fn() -> SslContext);

const CLIENTS: [ClientKind; 3] = [
    ("TLS 1.3, ticket", tls13),
    ("TLS 1.2, ticket", tls12),
    ("TLS 1.2, session id", tls12_by_session_id),
];

#[test]
fn a_second_connection_resumes_the_first_ones_session_on_both_listeners() {
    let server = TestServer::start();
    for (listener, address) in [("https", &server.https), ("auth", &server.auth)] {
        for (name, make) in CLIENTS {
            let context = make();
            let (first, second) = visit_twice(address, &context);
            let what = format!("{listener}, {name}");
            assert!(!first.reused, "{what}: the first handshake is a full one");
            assert!(
                first.status_line.starts_with("HTTP/1.1 "),
                "{what}: answered, {:?}",
                first.status_line
            );
            assert!(
                first.clean_close,
                "{what}: the server closes with a close_notify"
            );
            assert!(second.reused, "{what}: the second connection is resumed");
            assert!(second.status_line.starts_with("HTTP/1.1 "), "{what}");
            let expected = if name.starts_with("TLS 1.3") {
                "TLSv1.3"
            } else {
                "TLSv1.2"
            };
            assert_eq!(second.version, expected, "{what}");
            // and on: each resumed connection gives a session to resume
            let third = visit(address, &context, second.session.as_ref());
            assert!(third.reused, "{what}: resumed again");
        }
    }
}

#[test]
fn sessions_do_not_outlive_a_restart() {
    let mut server = TestServer::start();
    for (name, make) in CLIENTS {
        let context = make();
        let first = visit(&server.https, &context, None);
        server.stop_with("TERM");
        server.launch();
        let after = visit(&server.https, &context, first.session.as_ref());
        assert!(
            !after.reused,
            "{name}: ticket keys and the session cache are made at start"
        );
        assert!(after.status_line.starts_with("HTTP/1.1 "), "{name}");
    }
}

fn write_permissive_openssl_config(path: &Path) {
    std::fs::write(
        path,
        "openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n\
         [ssl_sect]\nsystem_default = system_default_sect\n\
         [system_default_sect]\nMinProtocol = TLSv1\nCipherString = ALL:@SECLEVEL=0\n",
    )
    .expect("openssl config");
}

/// Old protocols and suites are refused by the server itself, even where
/// the system's OpenSSL configuration would allow them (here, one that
/// allows TLS 1.0 and every suite), and with an RSA certificate, with which
/// RSA key exchange and CBC suites would otherwise be possible.
#[test]
fn tls_before_1_2_and_suites_without_ecdhe_and_aead_are_refused() {
    let certificates = std::env::temp_dir().join(format!("xivo-tls-rsa-{}", std::process::id()));
    std::fs::create_dir_all(&certificates).expect("dir");
    let (cert, key) = write_rsa_pair(&certificates);
    let mut server = TestServer::start_with(&format!(
        "[https]\ncertificate = {cert:?}\nprivate_key = {key:?}\n"
    ));
    let permissive = server.dir.join("permissive.cnf");
    write_permissive_openssl_config(&permissive);
    server.stop_with("TERM");
    server.env.push((
        "OPENSSL_CONF".into(),
        permissive.to_string_lossy().into_owned(),
    ));
    server.launch();
    for (listener, address) in [("https", &server.https), ("auth", &server.auth)] {
        for version in [SslVersion::TLS1, SslVersion::TLS1_1] {
            let old = client(|b| {
                b.set_security_level(0);
                b.set_min_proto_version(Some(version)).expect("min");
                b.set_max_proto_version(Some(version)).expect("max");
                b.set_cipher_list("ALL:@SECLEVEL=0").expect("ciphers");
            });
            assert!(
                handshake(address, &old, None).is_err(),
                "{listener}: {version:?} refused"
            );
        }
        for suite in [
            "AES128-SHA",
            "AES256-GCM-SHA384",
            "ECDHE-RSA-AES128-SHA",
            "ECDHE-RSA-AES256-SHA384",
        ] {
            let weak = client(|b| {
                b.set_security_level(0);
                b.set_max_proto_version(Some(SslVersion::TLS1_2))
                    .expect("max");
                b.set_cipher_list(suite).expect("ciphers");
            });
            assert!(
                handshake(address, &weak, None).is_err(),
                "{listener}: TLS 1.2 with {suite} refused"
            );
        }
        let modern = visit(address, &tls12(), None);
        assert_eq!(modern.version, "TLSv1.2");
        assert!(
            modern.cipher.starts_with("ECDHE-RSA-")
                && (modern.cipher.contains("GCM") || modern.cipher.contains("CHACHA20")),
            "{listener}: {}",
            modern.cipher
        );
        assert_eq!(visit(address, &tls13(), None).version, "TLSv1.3");
    }
    std::fs::remove_dir_all(&certificates).ok();
}

#[test]
fn the_generated_certificate_is_ecdsa_p256_and_served_on_both_listeners() {
    let server = TestServer::start();
    let on_disk =
        X509::from_pem(&std::fs::read(server.dir.join("xivo-confd.crt")).expect("generated"))
            .expect("pem");
    for address in [&server.https, &server.auth] {
        for context in [tls13(), tls12()] {
            let seen = visit(address, &context, None);
            assert_eq!(
                seen.certificate.to_der().expect("der"),
                on_disk.to_der().expect("der")
            );
            let key = seen.certificate.public_key().expect("key");
            let ec = key.ec_key().expect("an EC key");
            assert_eq!(ec.group().curve_name(), Some(Nid::X9_62_PRIME256V1));
            if seen.version == "TLSv1.2" {
                assert!(seen.cipher.starts_with("ECDHE-ECDSA-"), "{}", seen.cipher);
            }
        }
    }
}

/// A pair generated by an older version (RSA) is served as it is, and the
/// files are left alone.
#[test]
fn an_existing_generated_rsa_certificate_is_kept() {
    let mut server = TestServer::start();
    server.stop_with("TERM");
    let (cert, key) = write_rsa_pair(&server.dir);
    std::fs::rename(&cert, server.dir.join("xivo-confd.crt")).expect("cert");
    std::fs::rename(&key, server.dir.join("xivo-confd.key")).expect("key");
    let before = (
        std::fs::read(server.dir.join("xivo-confd.crt")).expect("cert"),
        std::fs::read(server.dir.join("xivo-confd.key")).expect("key"),
    );
    server.launch();
    let seen = visit(&server.https, &tls13(), None);
    assert!(
        seen.certificate.public_key().expect("key").rsa().is_ok(),
        "the RSA certificate is still the one served"
    );
    assert_eq!(
        seen.certificate.to_pem().expect("pem"),
        before.0,
        "the same certificate"
    );
    let (_, resumed) = visit_twice(&server.https, &tls12());
    assert!(resumed.reused);
    let after = (
        std::fs::read(server.dir.join("xivo-confd.crt")).expect("cert"),
        std::fs::read(server.dir.join("xivo-confd.key")).expect("key"),
    );
    assert_eq!(before, after, "the files are not replaced");
}

#[test]
fn a_configured_rsa_certificate_is_served_and_resumes() {
    let certificates = std::env::temp_dir().join(format!("xivo-tls-conf-{}", std::process::id()));
    std::fs::create_dir_all(&certificates).expect("dir");
    let (cert, key) = write_rsa_pair(&certificates);
    let configured = std::fs::read(&cert).expect("cert");
    let server = TestServer::start_with(&format!(
        "[https]\ncertificate = {cert:?}\nprivate_key = {key:?}\n"
    ));
    for address in [&server.https, &server.auth] {
        for (name, make) in CLIENTS {
            let (first, second) = visit_twice(address, &make());
            assert_eq!(
                first.certificate.to_pem().expect("pem"),
                configured,
                "{name}"
            );
            assert!(first.status_line.starts_with("HTTP/1.1 "), "{name}");
            assert!(second.reused, "{name}: resumed");
        }
    }
    assert!(
        !server.dir.join("xivo-confd.crt").exists(),
        "nothing generated when a pair is configured"
    );
    std::fs::remove_dir_all(&certificates).ok();
}

/// A self-signed RSA 2048 pair for localhost, written as cert.pem and key.pem.
fn write_rsa_pair(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (certificate, key) = xivo_confd::http::tls::self_signed_rsa().expect("rsa pair");
    let (cert, private) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certificate).expect("cert");
    std::fs::write(&private, key).expect("key");
    (cert, private)
}
