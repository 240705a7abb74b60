//! The attestation object (WebAuthn §6.5.4): a CBOR map `{fmt, attStmt, authData}`, and what
//! Tessera does with the statement (§7.1 steps 19–23).
//!
//! Tessera's creation options ask for attestation conveyance `none`: it decides nothing on the
//! authenticator's make or model. So `none` is accepted (with an empty statement), `packed`
//! self-attestation is verified (it costs one signature check with the key already in hand, and
//! a mismatch shows a broken authenticator), and every other statement, `packed` with a
//! certificate chain included, is treated as `none`: neither trusted nor refused, its format
//! recorded. §7.1 step 21 and §13.4.4 allow exactly this for a relying party that does not need
//! attestation; refusing would only lock out authenticators that ignore the conveyance
//! preference, and trusting would need certificate roots Tessera deliberately does not keep.

use ciborium::Value;

use super::{cbor, CredentialPublicKey, WebauthnError};

/// Longest `fmt` kept. Registered identifiers are short ASCII words (§8); the bound keeps an
/// arbitrary string out of the credential record and the audit log.
const MAX_FORMAT_LEN: usize = 32;

/// A decoded attestation object.
#[derive(Debug, Clone, PartialEq)]
pub struct AttestationObject {
    format: String,
    statement: Vec<(Value, Value)>,
    auth_data: Vec<u8>,
}

fn malformed(reason: &'static str) -> WebauthnError {
    WebauthnError::MalformedAttestation(reason)
}

/// Puts `value` into `slot`, refusing a key seen twice (the CBOR decoder does not police that).
fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), WebauthnError> {
    if slot.replace(value).is_some() {
        return Err(malformed("duplicate key"));
    }
    Ok(())
}

impl AttestationObject {
    /// Decodes the attestation object: exactly one CBOR map with text `fmt`, map `attStmt` and
    /// byte-string `authData`; other keys are ignored, trailing bytes refused.
    pub fn parse(bytes: &[u8]) -> Result<Self, WebauthnError> {
        let Value::Map(entries) = cbor::read_whole(bytes).map_err(|_| malformed("not CBOR"))?
        else {
            return Err(malformed("not a map"));
        };
        let (mut format, mut statement, mut auth_data) = (None, None, None);
        for (key, value) in entries {
            match (key.as_text(), value) {
                (Some("fmt"), Value::Text(fmt)) => set_once(&mut format, fmt)?,
                (Some("attStmt"), Value::Map(stmt)) => set_once(&mut statement, stmt)?,
                (Some("authData"), Value::Bytes(data)) => set_once(&mut auth_data, data)?,
                (Some("fmt" | "attStmt" | "authData"), _) => return Err(malformed("wrong type")),
                _ => {}
            }
        }
        let format = format.ok_or(malformed("no fmt"))?;
        let printable = format.bytes().all(|b| b.is_ascii_graphic());
        if format.is_empty() || format.len() > MAX_FORMAT_LEN || !printable {
            return Err(malformed("fmt is not a format identifier"));
        }
        Ok(Self {
            format,
            statement: statement.ok_or(malformed("no attStmt"))?,
            auth_data: auth_data.ok_or(malformed("no authData"))?,
        })
    }

    /// The attestation statement format identifier (`none`, `packed`, `tpm`, …).
    pub fn format(&self) -> &str {
        &self.format
    }

    /// The raw authenticator data, exactly as signed.
    pub fn auth_data(&self) -> &[u8] {
        &self.auth_data
    }

    /// Applies Tessera's attestation policy (see the module documentation) to the statement.
    pub(crate) fn verify_statement(
        &self,
        client_data_hash: &[u8],
        key: &CredentialPublicKey,
    ) -> Result<(), WebauthnError> {
        match self.format.as_str() {
            // §8.7: the statement of `none` is an empty map.
            "none" if self.statement.is_empty() => Ok(()),
            "none" => Err(malformed("none with a statement")),
            "packed" if self.statement_entry("x5c").is_none() => {
                self.verify_packed_self(client_data_hash, key)
            }
            _ => Ok(()),
        }
    }

    fn statement_entry(&self, name: &str) -> Option<&Value> {
        self.statement
            .iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v)
    }

    /// §8.2 verification procedure, self attestation branch: `alg` must be the credential's and
    /// `sig` must verify over authenticatorData ‖ clientDataHash with the credential's own key.
    fn verify_packed_self(
        &self,
        client_data_hash: &[u8],
        key: &CredentialPublicKey,
    ) -> Result<(), WebauthnError> {
        let alg = self
            .statement_entry("alg")
            .and_then(Value::as_integer)
            .and_then(|alg| i64::try_from(alg).ok())
            .ok_or(malformed("packed without alg"))?;
        if alg != key.algorithm().cose_id() {
            return Err(malformed("packed alg differs from the credential's"));
        }
        let Some(Value::Bytes(sig)) = self.statement_entry("sig") else {
            return Err(malformed("packed without sig"));
        };
        let signed = [self.auth_data.as_slice(), client_data_hash].concat();
        key.verify(&signed, sig)
            .map_err(|_| WebauthnError::BadAttestationSignature)
    }
}
