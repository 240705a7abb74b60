//! Why a WebAuthn ceremony was refused: one variant per check, so the audit trail says which rule
//! failed. Reasons are `&'static str` on purpose: nothing the browser sent is ever copied into an
//! error, so an error can be logged as is.

/// A refused registration or assertion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebauthnError {
    /// The challenge handed back by the caller (from its own store) is not one this module issues.
    #[error("the stored challenge is malformed")]
    MalformedChallenge,
    /// clientDataJSON is not UTF-8 JSON of the expected shape.
    #[error("clientDataJSON is malformed: {0}")]
    MalformedClientData(&'static str),
    /// clientDataJSON's `type` is not the one for this ceremony (a `webauthn.get` presented for a
    /// registration, or the reverse).
    #[error("clientDataJSON is for another ceremony")]
    WrongCeremonyType,
    /// clientDataJSON's `challenge` is not the one issued for this ceremony (replayed or foreign).
    #[error("the challenge is not the one issued")]
    ChallengeMismatch,
    /// clientDataJSON's `origin` is not one of the relying party's origins.
    #[error("the origin is not allowed")]
    OriginNotAllowed,
    /// The ceremony ran inside a cross-origin iframe, which Tessera never embeds itself in.
    #[error("cross-origin ceremonies are refused")]
    CrossOrigin,
    /// clientDataJSON's `topOrigin` is present and not one of the relying party's origins.
    #[error("the top-level origin is not allowed")]
    TopOriginNotAllowed,
    /// The authenticator data is truncated, has trailing bytes or inconsistent flags.
    #[error("authenticator data is malformed: {0}")]
    MalformedAuthenticatorData(&'static str),
    /// The authenticator data was made for another RP ID.
    #[error("the authenticator data is for another relying party")]
    RpIdMismatch,
    /// The UP flag is clear: nobody touched the authenticator.
    #[error("the user was not present")]
    UserNotPresent,
    /// The UV flag is clear while user verification was required.
    #[error("the user was not verified")]
    UserNotVerified,
    /// A registration whose authenticator data carries no credential (AT flag clear).
    #[error("no attested credential data")]
    MissingAttestedCredential,
    /// The attestation object is not the CBOR map the specification describes.
    #[error("the attestation object is malformed: {0}")]
    MalformedAttestation(&'static str),
    /// A packed self-attestation whose signature does not verify with the new credential's key.
    #[error("the attestation signature does not verify")]
    BadAttestationSignature,
    /// The credential's algorithm (or curve) is outside the allow-list: ES256, EdDSA/Ed25519, RS256.
    #[error("unsupported credential algorithm")]
    UnsupportedAlgorithm,
    /// The COSE_Key is malformed or is not a valid key for its algorithm.
    #[error("the credential public key is malformed: {0}")]
    MalformedPublicKey(&'static str),
    /// The assertion signature does not verify with the stored key.
    #[error("the signature does not verify")]
    BadSignature,
    /// The assertion is for another credential than the stored one.
    #[error("the assertion is for another credential")]
    CredentialMismatch,
    /// The BE flag differs from the one recorded at registration: BE is fixed for a credential's
    /// lifetime, so a change means another credential or a lying authenticator.
    #[error("the backup eligibility changed since registration")]
    BackupEligibilityChanged,
    /// The signature counter did not increase: the credential may have been cloned.
    #[error("the signature counter went from {stored} to {presented}")]
    CounterRegressed {
        /// The counter recorded after the last accepted assertion.
        stored: u32,
        /// The counter in this assertion.
        presented: u32,
    },
    /// The browser's JSON response is malformed (bad base64url, wrong `type`, `id` ≠ `rawId`…).
    #[error("the credential response is malformed: {0}")]
    MalformedResponse(&'static str),
}

impl WebauthnError {
    /// A stable snake_case name for audit logs and metrics; unlike the message, it never changes.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedChallenge => "malformed_challenge",
            Self::MalformedClientData(_) => "malformed_client_data",
            Self::WrongCeremonyType => "wrong_ceremony_type",
            Self::ChallengeMismatch => "challenge_mismatch",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::CrossOrigin => "cross_origin",
            Self::TopOriginNotAllowed => "top_origin_not_allowed",
            Self::MalformedAuthenticatorData(_) => "malformed_authenticator_data",
            Self::RpIdMismatch => "rp_id_mismatch",
            Self::UserNotPresent => "user_not_present",
            Self::UserNotVerified => "user_not_verified",
            Self::MissingAttestedCredential => "missing_attested_credential",
            Self::MalformedAttestation(_) => "malformed_attestation",
            Self::BadAttestationSignature => "bad_attestation_signature",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::MalformedPublicKey(_) => "malformed_public_key",
            Self::BadSignature => "bad_signature",
            Self::CredentialMismatch => "credential_mismatch",
            Self::BackupEligibilityChanged => "backup_eligibility_changed",
            Self::CounterRegressed { .. } => "counter_regressed",
            Self::MalformedResponse(_) => "malformed_response",
        }
    }
}
