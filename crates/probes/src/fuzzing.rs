//! Entry points for the fuzz targets in `fuzz/`: the readers that take outside input, each
//! from bytes. Not a stable API.

use std::path::Path;

use shipcheck_core::spec::args::ArgsProbe;
use shipcheck_core::spec::config::Format;

/// A config file's text in `format`, parsed as the config probe parses it.
pub fn config(text: &str, format: Format) -> Result<serde_json::Value, String> {
    crate::config::parse(text, format)
}

/// A systemd unit's text (written to `scratch` first), read as the args probe reads it.
pub fn systemd_unit(text: &[u8], scratch: &Path) -> Result<Vec<String>, String> {
    std::fs::write(scratch, text).map_err(|e| e.to_string())?;
    crate::args::source::read_unit(scratch).map(|l| l.words)
}

/// A compose file's text (written to `scratch` first), its service `app` read as the args
/// probe reads it.
pub fn compose(text: &[u8], scratch: &Path) -> Result<Vec<String>, String> {
    std::fs::write(scratch, text).map_err(|e| e.to_string())?;
    crate::args::source::read_compose(scratch, "app").map(|l| l.words)
}

/// A command line parsed by `probe`'s flag grammar.
pub fn args(probe: &ArgsProbe, line: &str) -> Result<serde_json::Value, String> {
    crate::args::parse_line(probe, line).map(|(v, _)| v)
}

/// The first bytes a server sent after a ClientHello, read as the TLS probe reads them.
pub fn server_hello(bytes: &[u8]) -> Result<Option<crate::tls::hello::Answer>, String> {
    crate::tls::hello::parse_answer(bytes)
}

/// Bytes a server sent as its first flight, read as the TLS checks read them: the
/// handshake messages, the ServerKeyExchange's curve and DH prime, the ServerHello's
/// extensions, and the same bytes as an SSLv2 answer.
pub fn server_flight(bytes: &[u8]) {
    use crate::tls::{enumerate, hello, renegotiation, sslv2};
    let messages = hello::handshake_messages(bytes);
    let _ = enumerate::named_curve(&messages);
    let _ = enumerate::dh_prime_bits(&messages);
    for (_, body) in &messages {
        let _ = renegotiation::has_extension(body, 0x0017);
    }
    let _ = sslv2::parse(bytes);
}
