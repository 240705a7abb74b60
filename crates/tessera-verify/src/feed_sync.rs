//! Keeping a revocation mirror in sync with Tessera's feed over HTTP (being written).
