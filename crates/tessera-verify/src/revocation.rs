//! The in-memory mirror of Tessera's revocation feed (being written).
