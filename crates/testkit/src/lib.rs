//! Test kit: a loopback stand-in of a deployment's live services ([`standin`]) and a
//! throw-away PKI ([`pki`]). Used by the integration tests and by `scripts/demo.sh`.
#![allow(dead_code)]

pub mod fleet;
pub mod oldtls;
pub mod pki;
pub mod standin;
pub mod zoo;
