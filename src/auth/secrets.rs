//! Small cryptographic helpers shared by tokens, Digest and passwords:
//! OS randomness, hex, SHA-256/HMAC, constant-time comparison, PBKDF2.

use md5::Md5;
use sha2::{Digest, Sha256};

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // the OS generator failing is not something to serve requests through
    if let Err(error) = getrandom::fill(&mut bytes) {
        log::error!("the OS random generator failed: {error}");
        std::process::abort();
    }
    bytes
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[(byte >> 4) as usize] as char);
        out.push(DIGITS[(byte & 0xf) as usize] as char);
    }
    out
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A new token: 128 random bits, written like a UUID (36 characters), the
/// shape xivo-auth clients expect.
pub fn new_token() -> String {
    let hex = hex(&random_bytes::<16>());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Whether `text` has the 8-4-4-4-12 hex shape of a token or uuid.
pub fn is_uuid_shaped(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        block_key[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block_key.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block_key.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Compares secrets without an early exit that would leak, through timing,
/// how many leading bytes were right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const PBKDF2_ITERATIONS: usize = 100_000;

/// `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`
pub fn hash_password(password: &str) -> String {
    let salt = random_bytes::<16>();
    let hash = pbkdf2(password, &salt, PBKDF2_ITERATIONS);
    format!(
        "pbkdf2-sha256${PBKDF2_ITERATIONS}${}${}",
        hex(&salt),
        hex(&hash)
    )
}

/// The iterations, salt and hash of a stored password,
/// `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`, as text.
fn hash_parts(stored: &str) -> Option<(&str, &str, &str)> {
    let mut parts = stored.split('$');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("pbkdf2-sha256"), Some(iterations), Some(salt), Some(hash), None) => {
            Some((iterations, salt, hash))
        }
        _ => None,
    }
}

/// Whether `text` is a stored password as `hash_password` writes it (an
/// export carries them so that an import keeps the passwords). Never a
/// password itself: that is at most 64 characters, a hash 118.
pub fn is_password_hash(text: &str) -> bool {
    let Some((iterations, salt, hash)) = hash_parts(text) else {
        return false;
    };
    let hex = |part: &str, length: usize| {
        part.len() == length && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    iterations
        .parse::<usize>()
        .is_ok_and(|n| (1..=10_000_000).contains(&n))
        && !iterations.starts_with('0')
        && hex(salt, 32)
        && hex(hash, 64)
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    let Some((iterations, salt, hash)) = hash_parts(stored) else {
        return false;
    };
    let (Ok(iterations), Some(salt), Some(hash)) =
        (iterations.parse::<usize>(), unhex(salt), unhex(hash))
    else {
        return false;
    };
    if iterations == 0 || iterations > 10_000_000 {
        return false;
    }
    constant_time_eq(&pbkdf2(password, &salt, iterations), &hash)
}

fn pbkdf2(password: &str, salt: &[u8], iterations: usize) -> [u8; 32] {
    let mut out = [0u8; 32];
    // OpenSSL is already linked for TLS; its PBKDF2 cannot fail for these sizes
    if openssl::pkcs5::pbkdf2_hmac(
        password.as_bytes(),
        salt,
        iterations,
        openssl::hash::MessageDigest::sha256(),
        &mut out,
    )
    .is_err()
    {
        log::error!("PBKDF2 failed");
        out = random_bytes::<32>(); // matches nothing
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_passwords_are_told_from_passwords() {
        let stored = hash_password("secret");
        assert!(is_password_hash(&stored), "{stored}");
        assert!(verify_password("secret", &stored));
        for text in [
            "secret",
            "",
            "pbkdf2-sha256$100000$",
            &stored.replace("pbkdf2", "PBKDF2"),
            &stored.to_uppercase(),
            &format!("{stored}$"),
            &stored.replacen("$100000$", "$0$", 1),
            &stored.replacen("$100000$", "$0100000$", 1),
            &stored[..stored.len() - 1],
        ] {
            assert!(!is_password_hash(text), "{text}");
        }
    }

    #[test]
    fn tokens_are_uuid_shaped_and_distinct() {
        let a = new_token();
        let b = new_token();
        assert!(is_uuid_shaped(&a), "{a}");
        assert_eq!(a.len(), 36);
        assert_ne!(a, b);
        assert!(!is_uuid_shaped("abcdef"));
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn passwords_verify_and_are_salted() {
        let stored = hash_password("secret");
        assert!(verify_password("secret", &stored));
        assert!(!verify_password("Secret", &stored));
        assert_ne!(stored, hash_password("secret"));
        assert!(!verify_password("secret", "plain"));
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("zz"), None);
    }
}
