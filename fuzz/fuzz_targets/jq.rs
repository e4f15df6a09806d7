//! jq compile and eval under the budget: the expression, a NUL byte, then the input JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;

// Metered as in the `shipcheck` binary, so the memory budget holds here too.
#[global_allocator]
static ALLOCATOR: shipcheck_meter::Metered = shipcheck_meter::Metered;

fuzz_target!(|data: &[u8]| {
    shipcheck_core::jq::set_memory_meter(shipcheck_meter::thread_held);
    let text = String::from_utf8_lossy(data);
    let (code, input) = text.split_once('\0').unwrap_or((&text, "null"));
    let input = serde_json::from_str(input).unwrap_or(serde_json::Value::Null);
    if shipcheck_core::jq::check(code).is_ok() {
        let _ = shipcheck_core::jq::eval(code, &input);
    }
});
