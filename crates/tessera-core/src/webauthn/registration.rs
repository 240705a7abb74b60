//! Registering a new credential (WebAuthn §7.1), minus the steps that need storage: the caller
//! must still refuse a credential ID already registered to any user (step 25) and store the
//! outcome against the user the ceremony was started for.

use aws_lc_rs::digest;

use super::client_data::{Ceremony, CollectedClientData};
use super::{
    AttestationObject, AuthenticatorData, Challenge, CoseAlgorithm, CredentialPublicKey,
    RelyingParty, UserVerification, WebauthnError,
};

/// What `navigator.credentials.create()` returned, decoded from base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationResponse {
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `response.attestationObject`.
    pub attestation_object: Vec<u8>,
    /// `response.transports`, unknown values dropped: hints for later `allowCredentials` and
    /// `excludeCredentials`, never checked.
    pub transports: Vec<String>,
}

/// A credential that passed every registration check: what to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCredential {
    /// The credential ID (1–1023 bytes), from the signed authenticator data.
    pub credential_id: Vec<u8>,
    /// The COSE_Key bytes; [`CredentialPublicKey::from_cose_bytes`] reads them back.
    pub public_key: Vec<u8>,
    /// The key's algorithm.
    pub algorithm: CoseAlgorithm,
    /// The initial signature counter (0 when the authenticator keeps none).
    pub sign_count: u32,
    /// BE: a synced passkey rather than a device-bound key. Must not change afterwards.
    pub backup_eligible: bool,
    /// BS: currently backed up.
    pub backed_up: bool,
    /// UV at registration.
    pub user_verified: bool,
    /// The authenticator model's AAGUID, unattested: a display hint, not a security fact.
    pub aaguid: [u8; 16],
    /// The attestation statement format the authenticator chose (`none`, `packed`, …).
    pub attestation_format: String,
}

/// Verifies a registration ceremony started with `expected` as challenge.
pub fn verify_registration(
    rp: &RelyingParty,
    expected: &Challenge,
    response: &RegistrationResponse,
    user_verification: UserVerification,
) -> Result<VerifiedCredential, WebauthnError> {
    // Steps 5–10: clientDataJSON.
    CollectedClientData::parse(&response.client_data_json)?.check(
        rp,
        expected,
        Ceremony::Create,
    )?;
    // Step 11.
    let client_data_hash = digest::digest(&digest::SHA256, &response.client_data_json);
    // Step 12.
    let attestation = AttestationObject::parse(&response.attestation_object)?;
    let auth_data = AuthenticatorData::parse(attestation.auth_data())?;
    // Steps 13–16 (rpIdHash, UP, UV; BS without BE is refused by the parser). Tessera only ever
    // makes modal requests, so the §7.1 step 14 exemption for conditional create does not apply.
    auth_data.check(rp, user_verification)?;
    let credential = auth_data
        .attested_credential
        .ok_or(WebauthnError::MissingAttestedCredential)?;
    // Step 18: the options offer exactly the allow-list, so "in pubKeyCredParams" is "parses".
    let key = CredentialPublicKey::from_cose_bytes(&credential.public_key)?;
    // Steps 19–23.
    attestation.verify_statement(client_data_hash.as_ref(), &key)?;
    // Step 24 (credential ID ≤ 1023 bytes) is enforced by the parser.
    Ok(VerifiedCredential {
        credential_id: credential.credential_id,
        algorithm: key.algorithm(),
        public_key: credential.public_key,
        sign_count: auth_data.sign_count,
        backup_eligible: auth_data.flags.backup_eligible(),
        backed_up: auth_data.flags.backed_up(),
        user_verified: auth_data.flags.user_verified(),
        aaguid: credential.aaguid,
        attestation_format: attestation.format().to_owned(),
    })
}
