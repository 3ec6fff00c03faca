#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    auth_fuzz::sign_in_flow(data);
});
