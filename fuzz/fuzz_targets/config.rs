#![no_main]
//! The configuration loader: TOML parsing, typed fields, validation.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    activityd::fuzzing::config(data);
});
