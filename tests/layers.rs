//! The layers of `src/` stay layers: a module imports only its own layer or lower ones, and no
//! two top-level modules import each other.
//!
//! The order, lowest first, is the one `src/lib.rs` documents. The test reads every `.rs` file
//! under `src/`, takes each `crate::<module>` path outside comments (in `use` lines and in
//! paths written inline), and names the file, the line and the import for every breach.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level modules and their rank: a module may import modules of a lower or equal rank.
/// Equal ranks may not import each other at all (the circle check below catches that too).
const LAYERS: &[(&str, u8)] = &[
    ("configuration", 0),
    ("metrics", 0),
    ("keys", 1),
    ("telemetry", 2),
    ("nostr", 3),
    ("audit", 4),
    ("votes", 5),
    ("store", 6),
    ("actors", 7),
    ("http", 8),
    ("startup", 9),
    ("cli", 10),
];

fn rank(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`None` for `lib.rs` and `main.rs`).
fn owner(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).expect("file under src");
    let first = relative
        .components()
        .next()?
        .as_os_str()
        .to_str()?
        .to_owned();
    let module = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (module != "lib" && module != "main").then_some(module)
}

/// Every top-level module a line of code names through `crate::`, including each name of a
/// grouped `use crate::{a, b::c}`.
fn crate_imports(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let before = &rest[..at];
        rest = &rest[at + "crate::".len()..];
        // `commons_nostr::...` or another crate's `foo_crate::` is not ours.
        if before.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut name = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_start = true,
                    c if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') => {
                        name.push(c)
                    }
                    _ if depth == 0 && !name.is_empty() => {
                        found.push(std::mem::take(&mut name));
                        at_start = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                found.push(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

/// The breaches in the tree at `src`, one line each.
fn breaches(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut problems = Vec::new();
    // importer -> imported -> the first place it happens
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = owner(src, file) else {
            continue;
        };
        let shown = file
            .strip_prefix(src.parent().unwrap_or(src))
            .unwrap_or(file);
        let Some(own_rank) = rank(&module) else {
            problems.push(format!(
                "{}: top-level module `{module}` has no layer: add it to LAYERS in tests/layers.rs and to lib.rs's list",
                shown.display()
            ));
            continue;
        };
        let text = fs::read_to_string(file).expect("readable source");
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let code = code.split(" //").next().unwrap_or(code);
            for imported in crate_imports(code) {
                if imported == module {
                    continue;
                }
                let place = format!("{}:{}: {}", shown.display(), number + 1, code.trim());
                match rank(&imported) {
                    None => {
                        problems.push(format!("{place}: `crate::{imported}` is no known layer"))
                    }
                    Some(r) if r > own_rank => problems.push(format!(
                        "{place}: the `{module}` layer imports `{imported}`, a higher layer"
                    )),
                    Some(_) => {}
                }
                edges
                    .entry(module.clone())
                    .or_default()
                    .entry(imported)
                    .or_insert(place);
            }
        }
    }
    let mut seen = BTreeSet::new();
    for (a, targets) in &edges {
        for (b, place_ab) in targets {
            if let Some(place_ba) = edges.get(b).and_then(|t| t.get(a)) {
                if seen.insert((a.min(b).clone(), a.max(b).clone())) {
                    problems.push(format!(
                        "`{a}` and `{b}` import each other:\n    {place_ab}\n    {place_ba}"
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn no_layer_imports_a_higher_one_and_no_two_modules_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = breaches(&src);
    assert!(
        problems.is_empty(),
        "{} layer breach(es):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn at_most_eight_files_sit_directly_under_src() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let roots: Vec<String> = fs::read_dir(&src)
        .expect("src/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        roots.len() <= 8,
        "{} files directly under src/: {roots:?}",
        roots.len()
    );
}

#[test]
fn the_check_sees_breaches_and_circles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("nostr")).expect("mkdir");
    fs::create_dir_all(src.join("store")).expect("mkdir");
    fs::write(src.join("lib.rs"), "pub mod nostr;\npub mod store;\n").expect("write");
    fs::write(
        src.join("nostr/mod.rs"),
        "//! uses crate::store only in this comment\nuse crate::{store::db, keys};\n",
    )
    .expect("write");
    fs::write(
        src.join("store/mod.rs"),
        "pub fn f() { crate::nostr::g() }\n",
    )
    .expect("write");
    fs::write(src.join("keys.rs"), "use crate::metrics::Metrics;\n").expect("write");
    fs::write(src.join("metrics.rs"), "use crate::keys::Secret;\n").expect("write");
    let problems = breaches(&src);
    let text = problems.join("\n");
    assert!(
        text.contains("src/nostr/mod.rs:2") && text.contains("imports `store`, a higher layer"),
        "{text}"
    );
    assert!(
        text.contains("`nostr` and `store` import each other"),
        "{text}"
    );
    assert!(
        text.contains("`keys` and `metrics` import each other"),
        "{text}"
    );
    assert!(
        text.contains("src/metrics.rs:1") && text.contains("imports `keys`, a higher layer"),
        "{text}"
    );
    assert!(
        !text.contains("nostr/mod.rs:1"),
        "a comment is no import: {text}"
    );
    assert_eq!(problems.len(), 4, "{text}");
}
