//! The profile loader, and the variables it resolves for its default environment.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shipcheck_core::profile::Profile;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    match Profile::from_text(std::path::Path::new("shipcheck.yaml"), text) {
        Ok(profile) => {
            let _ = profile.environment(None);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
