#![no_main]
//! The upload parser: any body, any Content-Type header.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    activityd::fuzzing::multipart(data);
});
