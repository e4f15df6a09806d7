//! The CLI's integration tests: one test binary, one module per area. Each test runs the
//! built `shipcheck` binary (and its own loopback servers) and asserts what it printed.

mod common;

mod bundles;
mod cert_files;
mod check;
mod commands;
mod dashboard;
mod deployments;
mod evidence;
mod fix;
mod hostile;
mod http;
mod import;
mod integrations;
mod ledger;
mod ledger_integrity;
mod ledger_postgres;
mod ledger_signed;
mod malformed;
mod metrics;
mod nginx;
mod phases;
mod postgres;
mod proxy;
mod realistic;
mod reports;
mod schedule;
mod secrets;
mod serve;
mod signoffs;
mod signoffs_server;
mod systems;
mod tls;
mod tls_old;
mod waivers;
mod zoo;
