//! TLS material. TLS itself is served by tiny_http's `ssl-openssl` backend
//! (the same OpenSSL that `native-tls` wraps on Linux); this module only
//! loads the configured PEM pair, or makes a self-signed one once, as an
//! appliance does at install, and keeps it beside the database.

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, SubjectAlternativeName};
use openssl::x509::{X509, X509NameBuilder};
use std::io::Write;
use std::path::Path;

pub struct TlsPair {
    pub certificate: Vec<u8>,
    pub private_key: Vec<u8>,
}

/// Reads the pair; when `generate` is set and the files are missing, makes
/// them first. A pair already there is used as it is, whatever its key type
/// (pairs generated before ECDSA were RSA 2048): clients that pinned or
/// trusted it keep working.
pub fn load_or_generate(
    cert_path: &Path,
    key_path: &Path,
    generate: bool,
) -> Result<TlsPair, String> {
    if generate && !cert_path.exists() && !key_path.exists() {
        let (certificate, private_key) =
            self_signed().map_err(|e| format!("cannot make a certificate: {e}"))?;
        write_file(key_path, &private_key, 0o600)?;
        write_file(cert_path, &certificate, 0o644)?;
        log::info!(
            "generated a self-signed certificate: {} (key {})",
            cert_path.display(),
            key_path.display()
        );
    }
    let certificate = std::fs::read(cert_path)
        .map_err(|e| format!("cannot read certificate {}: {e}", cert_path.display()))?;
    let private_key = std::fs::read(key_path)
        .map_err(|e| format!("cannot read private key {}: {e}", key_path.display()))?;
    // fail at start-up, with the file named, rather than on the first client
    X509::from_pem(&certificate)
        .map_err(|e| format!("{}: not a PEM certificate: {e}", cert_path.display()))?;
    PKey::private_key_from_pem(&private_key)
        .map_err(|e| format!("{}: not a PEM private key: {e}", key_path.display()))?;
    Ok(TlsPair {
        certificate,
        private_key,
    })
}

fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(data)
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A self-signed ECDSA P-256 certificate: its handshake signature costs a
/// small fraction of an RSA 2048 one (57,000 against 3,900 signatures a
/// second on one core of the project's machine), and every client since
/// TLS 1.2 accepts it.
fn self_signed() -> Result<(Vec<u8>, Vec<u8>), openssl::error::ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    self_signed_with(&PKey::from_ec_key(EcKey::generate(&group)?)?)
}

/// An RSA 2048 self-signed pair, as versions before ECDSA generated them:
/// what the tests and the bench need to play an older installation.
pub fn self_signed_rsa() -> Result<(Vec<u8>, Vec<u8>), openssl::error::ErrorStack> {
    self_signed_with(&PKey::from_rsa(openssl::rsa::Rsa::generate(2048)?)?)
}

/// A certificate for `localhost`, `127.0.0.1` and `::1`, valid ten years,
/// signed by `key` itself, and the key, both PEM.
fn self_signed_with(
    key: &PKey<openssl::pkey::Private>,
) -> Result<(Vec<u8>, Vec<u8>), openssl::error::ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("O", "XiVO")?;
    name.append_entry_by_text("CN", "localhost")?;
    let name = name.build();

    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(key)?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(3650)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.append_extension(BasicConstraints::new().critical().build()?)?;
    builder.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .ip("::1")
        .build(&builder.x509v3_context(None, None))?;
    builder.append_extension(san)?;
    builder.sign(key, MessageDigest::sha256())?;
    let certificate = builder.build().to_pem()?;
    let private_key = key.private_key_to_pem_pkcs8()?;
    Ok((certificate, private_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = std::env::temp_dir().join(format!("xivo-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let cert = dir.join("c.crt");
        let key = dir.join("c.key");
        let first = load_or_generate(&cert, &key, true).expect("generated");
        let second = load_or_generate(&cert, &key, true).expect("reloaded");
        assert_eq!(first.certificate, second.certificate);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the private key is readable by its owner only");
        std::fs::remove_dir_all(&dir).ok();
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xivo-tls-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn the_generated_certificate_is_ecdsa_p256() {
        let dir = temp_dir("ec");
        let pair = load_or_generate(&dir.join("c.crt"), &dir.join("c.key"), true).expect("made");
        let certificate = X509::from_pem(&pair.certificate).expect("certificate");
        let public = certificate.public_key().expect("public key");
        let ec = public.ec_key().expect("an EC key, not RSA");
        assert_eq!(ec.group().curve_name(), Some(Nid::X9_62_PRIME256V1));
        let private = PKey::private_key_from_pem(&pair.private_key).expect("key");
        assert!(private.public_eq(&public), "the key is the certificate's");
        assert!(
            certificate.verify(&public).expect("verifiable"),
            "self-signed with its own key"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A pair generated by an older version (RSA 2048) stays as it is.
    #[test]
    fn an_existing_rsa_pair_is_kept() {
        let dir = temp_dir("rsa");
        let (cert, key) = (dir.join("c.crt"), dir.join("c.key"));
        let (certificate, private_key) = super::self_signed_rsa().expect("rsa pair");
        std::fs::write(&cert, &certificate).expect("cert");
        std::fs::write(&key, &private_key).expect("key");
        let pair = load_or_generate(&cert, &key, true).expect("loaded");
        assert_eq!(pair.certificate, certificate);
        assert_eq!(pair.private_key, private_key);
        assert_eq!(std::fs::read(&cert).expect("cert"), certificate);
        assert_eq!(std::fs::read(&key).expect("key"), private_key);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn configured_files_are_never_generated() {
        let missing = Path::new("/nonexistent/xivo.crt");
        let error = load_or_generate(missing, Path::new("/nonexistent/xivo.key"), false)
            .err()
            .expect("missing files are an error");
        assert!(error.contains("/nonexistent/xivo.crt"));
    }
}
