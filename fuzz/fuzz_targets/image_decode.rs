#![no_main]
//! Still-image decoding (uploads, MJPEG frames): JPEG/PNG checks, limits, decoders.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    activityd::fuzzing::image(data);
});
