//! Replays the fuzzing corpus and every crash the fuzzers ever found (`fuzz/corpus`,
//! `fuzz/artifacts`, `fuzz/regressions`) through the same entry points, so a fixed crash
//! stays fixed without running the fuzzers.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["corpus", "artifacts", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_file() {
                f(&std::fs::read(&p).unwrap());
                n += 1;
            }
        }
    }
    n
}

#[test]
fn fuzz_inputs_replay_without_panics() {
    use activityd::fuzzing;
    for (target, f) in [
        ("multipart", fuzzing::multipart as fn(&[u8])),
        ("image_decode", fuzzing::image),
        ("landmarks_jsonl", fuzzing::landmarks),
        ("config", fuzzing::config),
    ] {
        let n = replay(target, f);
        assert!(n > 0, "no inputs for {target}");
        eprintln!("{target}: {n} inputs replayed");
    }
}
