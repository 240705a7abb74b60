//! Authenticator data (WebAuthn §6.1): the binary structure the authenticator signs. Layout:
//! rpIdHash (32) ‖ flags (1) ‖ signCount (4, big-endian) ‖ attested credential data (if AT) ‖
//! extensions (CBOR map, if ED). Nothing may follow.

use super::{cbor, RelyingParty, UserVerification, WebauthnError};

/// Longest credential ID the specification allows (§5.8.3, §7.1 step 24).
const MAX_CREDENTIAL_ID: usize = 1023;

/// The flags byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// UP: the user touched or otherwise acknowledged the authenticator.
    pub const USER_PRESENT: u8 = 0x01;
    /// UV: the authenticator verified the user (PIN, biometric).
    pub const USER_VERIFIED: u8 = 0x04;
    /// BE: the credential may be backed up / synced (a "multi-device" passkey). Fixed for life.
    pub const BACKUP_ELIGIBLE: u8 = 0x08;
    /// BS: the credential is currently backed up.
    pub const BACKED_UP: u8 = 0x10;
    /// AT: attested credential data follows.
    pub const ATTESTED_CREDENTIAL: u8 = 0x40;
    /// ED: an extensions map follows.
    pub const EXTENSIONS: u8 = 0x80;

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// UP.
    pub fn user_present(self) -> bool {
        self.has(Self::USER_PRESENT)
    }
    /// UV.
    pub fn user_verified(self) -> bool {
        self.has(Self::USER_VERIFIED)
    }
    /// BE.
    pub fn backup_eligible(self) -> bool {
        self.has(Self::BACKUP_ELIGIBLE)
    }
    /// BS.
    pub fn backed_up(self) -> bool {
        self.has(Self::BACKED_UP)
    }
}

/// The credential a registration creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredentialData {
    /// The authenticator model's AAGUID (all zeros when it does not say).
    pub aaguid: [u8; 16],
    /// The credential ID, 1 to 1023 bytes.
    pub credential_id: Vec<u8>,
    /// The credential public key: the exact COSE_Key bytes, checked to be one CBOR item.
    pub public_key: Vec<u8>,
}

/// Parsed authenticator data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData {
    /// SHA-256 of the RP ID the authenticator scoped the credential to.
    pub rp_id_hash: [u8; 32],
    /// The flags.
    pub flags: Flags,
    /// The signature counter (0 for authenticators that keep none).
    pub sign_count: u32,
    /// Present exactly when AT is set.
    pub attested_credential: Option<AttestedCredentialData>,
}

fn malformed(reason: &'static str) -> WebauthnError {
    WebauthnError::MalformedAuthenticatorData(reason)
}

/// Splits `n` bytes off the front of `input`.
fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], WebauthnError> {
    let (head, tail) = input.split_at_checked(n).ok_or(malformed("truncated"))?;
    *input = tail;
    Ok(head)
}

/// Splits a fixed-size field off the front of `input`.
fn take_array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], WebauthnError> {
    let (head, tail) = input
        .split_first_chunk::<N>()
        .ok_or(malformed("truncated"))?;
    *input = tail;
    Ok(*head)
}

impl AuthenticatorData {
    /// Parses authenticator data, refusing truncation, trailing bytes, BS without BE, a
    /// credential ID over 1023 bytes and a public key or extensions that are not CBOR.
    pub fn parse(bytes: &[u8]) -> Result<Self, WebauthnError> {
        let mut rest = bytes;
        let rp_id_hash = take_array::<32>(&mut rest)?;
        let [flags] = take_array::<1>(&mut rest)?;
        let flags = Flags(flags);
        let count = take_array::<4>(&mut rest)?;
        // §6.1: BS may only be set for a backup-eligible credential.
        if flags.backed_up() && !flags.backup_eligible() {
            return Err(malformed("BS set without BE"));
        }
        let attested_credential = if flags.has(Flags::ATTESTED_CREDENTIAL) {
            Some(parse_attested(&mut rest)?)
        } else {
            None
        };
        if flags.has(Flags::EXTENSIONS) {
            // Tessera asks for no extensions, so their outputs are ignored; they still have to be
            // a well-formed map, since the bytes are signed and the layout must be unambiguous.
            let (value, after) = cbor::read_item(rest).map_err(|_| malformed("extensions"))?;
            if !value.is_map() {
                return Err(malformed("extensions are not a map"));
            }
            rest = after;
        }
        if !rest.is_empty() {
            return Err(malformed("trailing bytes"));
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count: u32::from_be_bytes(count),
            attested_credential,
        })
    }

    /// The checks both ceremonies share, in the specification's order: rpIdHash (§7.1 step 13,
    /// §7.2 step 16), UP (steps 14/17), UV when required (steps 15/18).
    pub(crate) fn check(
        &self,
        rp: &RelyingParty,
        user_verification: UserVerification,
    ) -> Result<(), WebauthnError> {
        // Not secret, so an ordinary comparison.
        if self.rp_id_hash != rp.id_hash() {
            return Err(WebauthnError::RpIdMismatch);
        }
        if !self.flags.user_present() {
            return Err(WebauthnError::UserNotPresent);
        }
        user_verification.check(self.flags.user_verified())
    }
}

fn parse_attested(rest: &mut &[u8]) -> Result<AttestedCredentialData, WebauthnError> {
    let aaguid = take_array::<16>(rest)?;
    let len = usize::from(u16::from_be_bytes(take_array::<2>(rest)?));
    if len == 0 || len > MAX_CREDENTIAL_ID {
        return Err(malformed("credential ID length"));
    }
    let credential_id = take(rest, len)?.to_vec();
    // The COSE_Key has no length prefix: decode it to learn where it ends.
    let (_, after) = cbor::read_item(rest).map_err(|_| malformed("credential public key"))?;
    let key_len = rest.len().saturating_sub(after.len());
    let public_key = take(rest, key_len)?.to_vec();
    Ok(AttestedCredentialData {
        aaguid,
        credential_id,
        public_key,
    })
}
