#![no_main]
//! The landmark JSON Lines reader, and the features computed from whatever it accepts.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    activityd::fuzzing::landmarks(data);
});
