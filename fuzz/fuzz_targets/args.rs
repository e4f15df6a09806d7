//! The args probe's command-line parser, under the flag grammar of the CLASP relay.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shipcheck_core::spec::args::ArgsProbe;
use std::sync::LazyLock;

static PROBE: LazyLock<ArgsProbe> = LazyLock::new(|| {
    serde_saphyr::from_str(
        r#"
source: command
program: relay
flags:
  - {name: ws-port, short: p, aliases: [port], kind: number, default: 7330}
  - {name: auth-port, kind: number}
  - {name: admin-token, kind: path}
  - {name: trust-anchor, kind: path, repeatable: true}
  - {name: verbose, short: v, kind: switch}
  - {name: federation-token, secret: true}
env: [RUST_LOG, LOG_FORMAT]
"#,
    )
    .expect("the grammar parses")
});

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let _ = shipcheck_probes::fuzzing::args(&PROBE, &line);
});
