//! File formats written by the offline commands: the annotation as CSV (one row per frame)
//! and feature vectors as CSV or NumPy `.npy` (for training).

use std::io::Write;

use crate::classify::Annotation;
use crate::features::{FeatureExtractor, Features, NUM_FEATURES};
use crate::landmarks::LandmarkFrame;

/// One row per frame: `t, activity, confidence`, then one probability per class.
pub fn annotation_csv(doc: &Annotation, w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(w, "t,activity,confidence,{}", doc.classes.join(","))?;
    for f in &doc.frames {
        let probs: Vec<String> = doc
            .classes
            .iter()
            .map(|c| {
                f.probabilities
                    .get(c)
                    .map_or(String::new(), |v| v.to_string())
            })
            .collect();
        writeln!(
            w,
            "{},{},{},{}",
            f.t,
            f.activity,
            f.confidence,
            probs.join(",")
        )?;
    }
    Ok(())
}

/// The feature vector of every frame that has one, with the frame's time.
pub fn feature_rows(frames: &[LandmarkFrame]) -> Vec<(f64, Features)> {
    let mut fx = FeatureExtractor::new();
    frames
        .iter()
        .filter_map(|f| fx.push(f).map(|v| (f.t, v)))
        .collect()
}

/// CSV with a header `t,f000,…,f108`.
pub fn features_csv(rows: &[(f64, Features)], w: &mut dyn Write) -> std::io::Result<()> {
    let header: Vec<String> = (0..NUM_FEATURES).map(|i| format!("f{i:03}")).collect();
    writeln!(w, "t,{}", header.join(","))?;
    for (t, v) in rows {
        let vals: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
        writeln!(w, "{t},{}", vals.join(","))?;
    }
    Ok(())
}

/// NumPy `.npy` (format 1.0): float32 `[N, 110]`, `t` first.
pub fn features_npy(rows: &[(f64, Features)], w: &mut dyn Write) -> std::io::Result<()> {
    let cols = NUM_FEATURES + 1;
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {cols}), }}",
        rows.len()
    );
    // Magic, version 1.0, header padded with spaces to a multiple of 64 bytes.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    w.write_all(b"\x93NUMPY\x01\x00")?;
    w.write_all(&(header.len() as u16).to_le_bytes())?;
    w.write_all(header.as_bytes())?;
    for (t, v) in rows {
        w.write_all(&(*t as f32).to_le_bytes())?;
        for x in v {
            w.write_all(&x.to_le_bytes())?;
        }
    }
    Ok(())
}
