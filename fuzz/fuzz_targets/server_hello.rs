//! The TLS probe's readers of a server's first bytes after a ClientHello: the first answer,
//! and the whole first flight as the deeper checks read it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = shipcheck_probes::fuzzing::server_hello(data);
    shipcheck_probes::fuzzing::server_flight(data);
});
