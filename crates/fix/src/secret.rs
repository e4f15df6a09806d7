//! A new random secret from the operating system's generator (getrandom), of the length and
//! alphabet the item requires; rejection sampling keeps every character equally likely.

use shipcheck_core::remedy::Alphabet;

/// `length` characters of `alphabet`.
pub fn generate(length: usize, alphabet: Alphabet) -> Result<String, String> {
    let chars = alphabet.chars();
    // The largest multiple of the alphabet's size below 256: bytes above it are drawn again.
    let limit = 256 - 256 % chars.len();
    let mut out = String::with_capacity(length);
    let mut buf = [0u8; 64];
    while out.len() < length {
        rustix::rand::getrandom(&mut buf, rustix::rand::GetRandomFlags::empty())
            .map_err(|e| format!("no random bytes from the system: {e}"))?;
        for &b in &buf {
            if (b as usize) < limit && out.len() < length {
                out.push(chars[b as usize % chars.len()] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_length_and_alphabet_asked_and_differ() {
        let a = generate(64, Alphabet::Hex).unwrap();
        let b = generate(64, Alphabet::Hex).unwrap();
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
        let c = generate(40, Alphabet::Base64url).unwrap();
        assert!(
            c.bytes()
                .all(|x| x.is_ascii_alphanumeric() || x == b'-' || x == b'_')
        );
    }
}
