//! The pack loader: any text either loads or is a located error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    if let Err(e) = shipcheck_core::pack::load::load_pack_text("fuzz.yaml", text) {
        let _ = e.to_string();
    }
});
