//! A picture of an annotation: coloured activity segments along a time axis, with the Timed
//! Up and Go test marked, as SVG (people would rather look than read).

use std::fmt::Write;

use crate::classify::Annotation;

fn colour(activity: &str) -> &'static str {
    match activity {
        "walk_toward" => "#1f77b4",
        "walk_away" => "#17becf",
        "walk_across" => "#9edae5",
        "turn" => "#ff7f0e",
        "sit_down" => "#d62728",
        "stand_up" => "#2ca02c",
        "still" => "#c7c7c7",
        "sitting" => "#7f7f7f",
        "other" => "#8c564b",
        _ => "#9467bd",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders `a` as an SVG document.
pub fn svg(a: &Annotation, title: &str) -> String {
    let t0 = a.frames.first().map_or(0.0, |f| f.t);
    let t1 = a.frames.last().map_or(1.0, |f| f.t).max(t0 + 1.0);
    let (left, width, top) = (110.0, 900.0, 40.0);
    let x = |t: f64| left + (t - t0) / (t1 - t0) * width;
    let classes: Vec<&str> = a.classes.iter().map(|s| s.as_str()).collect();
    let row_h = 22.0;
    let height = top + row_h * (classes.len() as f64 + 3.0) + 40.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="15">{title}</text>
"#,
        w = left + width + 30.0,
        title = esc(title)
    );
    // One lane per class, plus the combined lane on top.
    let lane_y = |i: usize| top + row_h * (i as f64 + 1.0);
    let _ = writeln!(s, r#"<text x="10" y="{}">activity</text>"#, top + 15.0);
    for seg in &a.segments {
        let _ = writeln!(
            s,
            r#"<rect x="{:.1}" y="{top}" width="{:.1}" height="{}" fill="{}"><title>{} {:.2}–{:.2} s ({:.0}%)</title></rect>"#,
            x(seg.start),
            (x(seg.end) - x(seg.start)).max(1.0),
            row_h - 4.0,
            colour(&seg.activity),
            seg.activity,
            seg.start,
            seg.end,
            seg.confidence * 100.0
        );
    }
    for (i, c) in classes.iter().enumerate() {
        let y = lane_y(i + 1);
        let _ = writeln!(s, r#"<text x="10" y="{}">{}</text>"#, y + 15.0, esc(c));
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#eee"/>"##,
            y + row_h - 2.0,
            left + width,
            y + row_h - 2.0
        );
        // Probability as a filled curve.
        let mut pts = format!("{left},{}", y + row_h - 2.0);
        for f in &a.frames {
            let p = f
                .probabilities
                .get(*c)
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0);
            let _ = write!(
                pts,
                " {:.1},{:.1}",
                x(f.t),
                y + row_h - 2.0 - p * (row_h - 4.0)
            );
        }
        let _ = write!(pts, " {},{}", left + width, y + row_h - 2.0);
        let _ = writeln!(
            s,
            r#"<polygon points="{pts}" fill="{}" fill-opacity="0.8"/>"#,
            colour(c)
        );
    }
    let axis_y = lane_y(classes.len() + 1) + 5.0;
    let step = [1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0]
        .into_iter()
        .find(|st| (t1 - t0) / st <= 15.0)
        .unwrap_or(600.0);
    let mut t = (t0 / step).ceil() * step;
    let _ = writeln!(
        s,
        r##"<line x1="{left}" y1="{axis_y}" x2="{}" y2="{axis_y}" stroke="#333"/>"##,
        left + width
    );
    while t <= t1 {
        let _ = writeln!(
            s,
            r##"<line x1="{0:.1}" y1="{axis_y}" x2="{0:.1}" y2="{1}" stroke="#333"/><text x="{0:.1}" y="{2}" text-anchor="middle">{3} s</text>"##,
            x(t),
            axis_y + 5.0,
            axis_y + 18.0,
            t
        );
        t += step;
    }
    for tug in &a.tugs {
        let y = axis_y + 26.0;
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{y}" width="{:.1}" height="8" fill="#444"/><text x="{:.1}" y="{}">Timed Up and Go: {:.1} s</text>"##,
            x(tug.start),
            x(tug.end) - x(tug.start),
            x(tug.start),
            y + 22.0,
            tug.total_s
        );
    }
    s.push_str("</svg>\n");
    s
}
