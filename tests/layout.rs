//! The module tree follows the data flow: `src/lib.rs`'s `# Layout` section lists every
//! top-level module, in an order where each module uses only modules listed before it (read
//! from the `crate::…` paths in its source files). So there is no import cycle, and the
//! layout a newcomer reads is the one the code has.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`src/outputs/http/mod.rs` → `outputs`).
fn top_module(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Top-level module → the other top-level modules it names as `crate::name`.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let module = top_module(&f);
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let entry = deps.entry(module.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            // Not part of a longer path such as `activityd::crate_…`.
            if text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                entry.insert(name);
            }
        }
    }
    deps
}

/// The modules `lib.rs` declares, and the order its `# Layout` bullets name them in.
fn layout() -> (BTreeSet<String>, Vec<String>) {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let declared = lib
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("pub(crate) mod "))
                .or_else(|| l.strip_prefix("mod "))?;
            Some(rest.trim_end_matches(';').to_string())
        })
        .collect();
    let order = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! * [`"))
        .filter_map(|l| l.split('`').next())
        .map(String::from)
        .collect();
    (declared, order)
}

#[test]
fn every_module_uses_only_the_modules_listed_before_it() {
    let deps = dependencies();
    let (declared, order) = layout();
    let listed: BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(
        listed, declared,
        "lib.rs's # Layout must name every module it declares, once"
    );
    assert_eq!(
        listed.len(),
        order.len(),
        "a module is listed twice: {order:?}"
    );
    let mut seen = BTreeSet::new();
    let mut wrong = Vec::new();
    for m in &order {
        for d in deps.get(m).into_iter().flatten() {
            if !seen.contains(d) {
                wrong.push(format!("{m} uses {d}, which is listed after it"));
            }
        }
        seen.insert(m.clone());
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_checker_sees_real_dependencies() {
    // The analyser drives pose and classify; the outputs read the pipeline's analyses.
    let deps = dependencies();
    assert!(deps["pipeline"].contains("pose") && deps["pipeline"].contains("classify"));
    assert!(deps["outputs"].contains("pipeline") && deps["outputs"].contains("events"));
    assert!(!deps["classify"].contains("pipeline"));
}
