//! Every config reader (JSON, JSON5, YAML, TOML, .env, INI, nginx, Caddyfile); the first
//! byte picks one.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shipcheck_core::spec::config::Format;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let format = match pick % 8 {
        0 => Format::Json,
        1 => Format::Json5,
        2 => Format::Yaml,
        3 => Format::Toml,
        4 => Format::Env,
        5 => Format::Ini,
        6 => Format::Nginx,
        _ => Format::Caddyfile,
    };
    let text = String::from_utf8_lossy(rest);
    let _ = shipcheck_probes::fuzzing::config(&text, format);
});
