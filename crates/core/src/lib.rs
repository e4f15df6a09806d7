//! shipcheck's core model, without a network stack.
//!
//! A [`pack`] is a checklist (YAML) of items, each either an automated check (a probe
//! [`spec`] plus [`matcher`]s) or a manual attestation. A [`profile`] says which packs apply
//! to a deployment and with which variables. The probes crate turns specs into
//! [`observation`]s; the engine judges them into an [`outcome::Run`]; the [`gate`] turns the
//! run into go / no-go; [`statement`]s (attestations, waivers, sign-offs) are what people
//! decided; [`redact`] keeps secrets out of every output.
#![forbid(unsafe_code)]

pub mod account;
pub mod bounded;
pub mod deployment;
pub mod diag;
pub mod duration;
pub mod endpoint;
pub mod error;
pub mod gate;
pub mod hex;
pub mod id;
pub mod include;
pub mod jq;
pub mod matcher;
pub mod observation;
pub mod outcome;
pub mod pack;
pub mod pattern;
pub mod profile;
pub mod redact;
pub mod remedy;
pub mod schedule;
pub mod schema;
pub mod spec;
pub mod statement;
pub mod template;
pub mod text;
pub mod users;
pub mod wildcard;

pub use error::Error;
