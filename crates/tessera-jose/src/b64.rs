//! Base64url without padding (RFC 7515 section 2), the only base64 flavour JOSE uses.
//!
//! Decoding is strict: padding characters, the standard-alphabet characters `+` and `/`,
//! whitespace and non-canonical trailing bits are all rejected.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::JoseError;

/// Encodes `input` as base64url without padding.
pub fn encode(input: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(input)
}

/// Appends the base64url (no padding) encoding of `input` to `out`.
pub fn encode_into(input: impl AsRef<[u8]>, out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(input, out);
}

/// Decodes strict base64url without padding.
///
/// # Errors
///
/// Returns [`JoseError::Malformed`] if `input` is not canonical unpadded base64url.
pub fn decode(input: impl AsRef<[u8]>) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(input)
        .map_err(|_| JoseError::Malformed("invalid base64url"))
}

/// Returns the length of the unpadded base64url encoding of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n / 3) * 4
        + match n % 3 {
            0 => 0,
            1 => 2,
            _ => 3,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_length() {
        for n in 0..70 {
            let data: Vec<u8> = (0..n as u8).map(|b| b.wrapping_mul(37)).collect();
            let s = encode(&data);
            assert_eq!(s.len(), encoded_len(n));
            assert!(!s.contains('=') && !s.contains('+') && !s.contains('/'));
            assert_eq!(decode(&s).unwrap(), data);
            let mut appended = String::from("x.");
            encode_into(&data, &mut appended);
            assert_eq!(appended, format!("x.{s}"));
        }
    }

    #[test]
    fn decode_is_strict() {
        // Padding, standard alphabet, whitespace, non-canonical trailing bits.
        for bad in ["QQ==", "QQ=", "+/8", "a b", "QR", "QQ\n"] {
            assert!(
                matches!(decode(bad), Err(JoseError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert_eq!(decode("QQ").unwrap(), b"A");
        assert_eq!(decode("-_8").unwrap(), [0xfb, 0xff]);
    }
}
