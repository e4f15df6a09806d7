//! shipcheck: production deployment checklists as code.
//!
//! A [`pack`] is a checklist (YAML) of items, each either an automated check run by a
//! [`probe`] and judged by [`matcher`]s, or a manual attestation. A [`profile`] says which
//! packs apply to a deployment and with which variables. The [`engine`] evaluates the
//! applicable items concurrently into a [`outcome::Run`], the [`gate`] turns the run into
//! go / no-go, and [`report`] renders it. The CLI in `main.rs` only parses and prints.
#![forbid(unsafe_code)]

pub mod attest;
pub mod audit;
pub mod diag;
pub mod duration;
pub mod engine;
pub mod error;
pub mod gate;
pub mod history;
pub mod jq;
pub mod ledger;
pub mod matcher;
pub mod outcome;
pub mod pack;
pub mod probe;
pub mod profile;
pub mod redact;
pub mod report;
pub mod template;

pub use error::Error;
