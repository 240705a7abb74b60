//! Reading one CBOR item (RFC 8949) off the front of a byte string. Authenticator data puts the
//! COSE_Key and the extensions map back to back with no length prefix, so the only way to find
//! where one ends is to decode it and see how many bytes the decoder took.

use ciborium::Value;

/// Nesting deeper than this is refused. Real COSE keys, attestation statements and extension maps
/// nest two or three levels; the bound keeps hostile input from exhausting the stack.
const MAX_DEPTH: usize = 16;

/// The input was not a well-formed CBOR item within the depth limit.
#[derive(Debug)]
pub(crate) struct NotCbor;

/// Decodes the first CBOR item of `input` and returns it with the bytes after it.
pub(crate) fn read_item(input: &[u8]) -> Result<(Value, &[u8]), NotCbor> {
    // The decoder reads exactly the item's bytes from this cursor (it never reads ahead), so what
    // is left in the cursor afterwards is what follows the item.
    let mut rest = input;
    let value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH)
        .map_err(|_| NotCbor)?;
    Ok((value, rest))
}

/// Decodes `input` as exactly one CBOR item, refusing trailing bytes.
pub(crate) fn read_whole(input: &[u8]) -> Result<Value, NotCbor> {
    match read_item(input)? {
        (value, []) => Ok(value),
        _ => Err(NotCbor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(value, &mut out).unwrap();
        out
    }

    #[test]
    fn finds_where_an_item_ends() {
        let first = Value::Map(vec![(Value::Integer(1.into()), Value::Bytes(vec![7; 300]))]);
        let mut bytes = encode(&first);
        bytes.extend_from_slice(&[0xa0, 0x01]);
        let (value, rest) = read_item(&bytes).unwrap();
        assert_eq!(value, first);
        assert_eq!(rest, &[0xa0, 0x01]);
        assert!(read_whole(&bytes).is_err());
        assert!(read_whole(&bytes[..bytes.len() - 2]).is_ok());
    }

    #[test]
    fn refuses_deep_nesting_and_truncation() {
        let deep = [vec![0x81; 64], vec![0x00]].concat();
        assert!(read_item(&deep).is_err());
        assert!(read_item(&[0x5a, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(read_item(&[]).is_err());
    }
}
