//! The launch files the args probe reads: a systemd unit or a compose file (first byte).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let scratch =
        std::env::temp_dir().join(format!("shipcheck-fuzz-launch-{}", std::process::id()));
    if pick % 2 == 0 {
        let _ = shipcheck_probes::fuzzing::systemd_unit(rest, &scratch.with_extension("service"));
    } else {
        let _ = shipcheck_probes::fuzzing::compose(rest, &scratch.with_extension("yaml"));
    }
});
