//! Verifying an authentication assertion (WebAuthn §7.2), minus the steps that need storage: the
//! caller finds the stored credential by the response's credential ID, checks it against
//! `allowCredentials` when it sent one, and, when the response carries a user handle, checks that
//! the handle is the credential owner's (step 6) before treating the user as signed in. Then it
//! stores the new counter and backup state.

use aws_lc_rs::digest;

use super::client_data::{Ceremony, CollectedClientData};
use super::{
    AuthenticatorData, Challenge, CredentialPublicKey, RelyingParty, UserVerification,
    WebauthnError,
};

/// The credential record as registration stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// The credential ID.
    pub credential_id: Vec<u8>,
    /// The COSE_Key bytes from [`super::VerifiedCredential::public_key`].
    pub public_key: Vec<u8>,
    /// The counter after the last accepted ceremony.
    pub sign_count: u32,
    /// BE as recorded at registration.
    pub backup_eligible: bool,
}

/// What `navigator.credentials.get()` returned, decoded from base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionResponse {
    /// `rawId`: the credential the authenticator used.
    pub credential_id: Vec<u8>,
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `response.authenticatorData`.
    pub authenticator_data: Vec<u8>,
    /// `response.signature`.
    pub signature: Vec<u8>,
    /// `response.userHandle`: the user ID the credential was created for, always sent by
    /// discoverable credentials. Unverified here: see [`VerifiedAssertion::user_handle`].
    pub user_handle: Option<Vec<u8>>,
}

/// An assertion that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The counter to store (unchanged at 0 for authenticators that keep none).
    pub new_sign_count: u32,
    /// UV: the authenticator verified the user.
    pub user_verified: bool,
    /// BE (equal to the stored value, or the assertion was refused).
    pub backup_eligible: bool,
    /// BS: the credential is backed up now; it may change over the credential's life.
    pub backed_up: bool,
    /// The user handle the authenticator returned. The caller MUST compare it with the user the
    /// stored credential belongs to and refuse on a difference (§7.2 step 6): this module never
    /// sees users, so it cannot.
    pub user_handle: Option<Vec<u8>>,
}

/// Verifies an assertion against the credential the caller looked up by its ID.
pub fn verify_assertion(
    rp: &RelyingParty,
    expected: &Challenge,
    stored: &StoredCredential,
    response: &AssertionResponse,
    user_verification: UserVerification,
) -> Result<VerifiedAssertion, WebauthnError> {
    // Steps 5–7: the response must be for the credential the caller looked up. Credential IDs
    // are not secret, so an ordinary comparison.
    if response.credential_id != stored.credential_id {
        return Err(WebauthnError::CredentialMismatch);
    }
    // Steps 9–15.
    CollectedClientData::parse(&response.client_data_json)?.check(rp, expected, Ceremony::Get)?;
    // Steps 16–18.
    let auth_data = AuthenticatorData::parse(&response.authenticator_data)?;
    auth_data.check(rp, user_verification)?;
    // Steps 21–22. Before the BE and counter checks, so that those (which the caller audits as
    // possible cloning) only ever fire on data the credential's key really signed.
    let key = CredentialPublicKey::from_cose_bytes(&stored.public_key)?;
    let client_data_hash = digest::digest(&digest::SHA256, &response.client_data_json);
    let signed = [
        response.authenticator_data.as_slice(),
        client_data_hash.as_ref(),
    ]
    .concat();
    key.verify(&signed, &response.signature)?;
    // Step 19: BE is fixed when the credential is created.
    if auth_data.flags.backup_eligible() != stored.backup_eligible {
        return Err(WebauthnError::BackupEligibilityChanged);
    }
    // Step 23: a counter that does not grow means two copies of the key exist. The
    // specification leaves the response to the RP; Tessera refuses (the caller audits it).
    let presented = auth_data.sign_count;
    if (presented != 0 || stored.sign_count != 0) && presented <= stored.sign_count {
        return Err(WebauthnError::CounterRegressed {
            stored: stored.sign_count,
            presented,
        });
    }
    Ok(VerifiedAssertion {
        new_sign_count: presented,
        user_verified: auth_data.flags.user_verified(),
        backup_eligible: auth_data.flags.backup_eligible(),
        backed_up: auth_data.flags.backed_up(),
        user_handle: response.user_handle.clone(),
    })
}
