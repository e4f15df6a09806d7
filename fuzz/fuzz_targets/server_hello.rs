//! The TLS probe's reader of a server's first bytes after a ClientHello.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = shipcheck_probes::fuzzing::server_hello(data);
});
