//! Fetching the issuer's discovery document and JWKS over HTTP (being written).
