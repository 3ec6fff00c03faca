//! Both crates' layout, checked: dependencies point one way, and no file grows past one job.
//! Every `crate::`, `super::` and `self::` path in `auth-runtime/src` and `auth-macros/src`,
//! unit-test modules included, is resolved to the file of the module it names, and the graph of
//! files must have no cycle. Each module imports from the module that defines the item, never
//! through a re-export at the root (`crate::Sessions` instead of `crate::sessions::Sessions`).
//! `lib.rs` only declares modules and re-exports (and, in the derive, its entry point);
//! `__private` is for generated code and nothing else imports it. No file holds more than
//! [`MAX_LINES`] lines outside its unit-test module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The most lines a source file holds outside its `#[cfg(test)]` module: past that, it is doing
/// more than one job, and the job that grew gets a file of its own.
const MAX_LINES: usize = 500;

fn runtime() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../auth-runtime/src")
}

fn derive() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../auth-macros/src")
}

/// Both crates' source folders, each with its name for messages.
fn crates() -> [(&'static str, PathBuf); 2] {
    [("auth-runtime", runtime()), ("auth-macros", derive())]
}

/// Every `.rs` file under `dir`, as (module path, file): `lib.rs` is `[]`, `token/mod.rs` is
/// `["token"]`, `token/keys.rs` is `["token", "keys"]`.
fn modules(dir: &Path, prefix: &[String], found: &mut BTreeMap<Vec<String>, PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable source folder")
        .map(|entry| entry.expect("readable entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .expect("UTF-8 file name")
            .to_owned();
        if path.is_dir() {
            let mut inner = prefix.to_vec();
            inner.push(name);
            modules(&path, &inner, found);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            let mut module = prefix.to_vec();
            if stem != "mod" && stem != "lib" {
                module.push(stem.to_owned());
            }
            found.insert(module, path);
        }
    }
}

/// Whether a line opens the file's unit-test module (which this crate keeps last in a file).
fn opens_tests(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.starts_with("#[cfg(test)]") || trimmed.starts_with("#[cfg(all(test")
}

/// A file's lines outside its unit-test module.
fn lines_outside_tests(text: &str) -> usize {
    text.lines().take_while(|line| !opens_tests(line)).count()
}

/// A file's code and its unit-test module's code, apart: paths in the test module are resolved
/// from inside it (its `super::` is the file's module).
fn code_and_tests(text: &str) -> (String, String) {
    let split = text
        .lines()
        .position(opens_tests)
        .unwrap_or_else(|| text.lines().count());
    let lines: Vec<&str> = text.lines().collect();
    (code(&lines[..split].join("\n")), code(&lines[split..].join("\n")))
}

/// Code without comments and derive attributes.
fn code(text: &str) -> String {
    let mut kept = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        // `#[derive(crate::SessionTypes)]` runs the derive inside the crate: generated code, not
        // an import of this module's own.
        if trimmed.starts_with("//") || trimmed.starts_with("#[derive(") || trimmed.starts_with("#[session(") {
            continue;
        }
        let line = match line.find("//") {
            Some(index) if !line[..index].contains('"') => &line[..index],
            _ => line,
        };
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// Expands the use tree after `use ` (up to its `;`) into full paths.
fn expand_use(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    match tree.find('{') {
        None => {
            let path = tree.split(" as ").next().unwrap_or(tree).trim();
            if !path.is_empty() {
                out.push(format!("{prefix}{path}"));
            }
        }
        Some(open) => {
            let head = &tree[..open];
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut depth = 0;
            let mut start = 0;
            for (index, character) in inner.char_indices() {
                match character {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand_use(&inner[start..index], &format!("{prefix}{head}"), out);
                        start = index + 1;
                    }
                    _ => {}
                }
            }
            expand_use(&inner[start..], &format!("{prefix}{head}"), out);
        }
    }
}

/// Every path the code names that starts with `crate::`, `super::` or `self::`.
fn paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    // `use` statements: a line that starts one, up to its `;`.
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let Some(tree) = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .find_map(|start| trimmed.strip_prefix(start))
        else {
            continue;
        };
        let mut statement = tree.to_owned();
        while !statement.contains(';') {
            let Some(next) = lines.next() else { break };
            statement.push_str(next);
        }
        let end = statement.find(';').unwrap_or(statement.len());
        expand_use(&statement[..end].replace(['\n', ' '], ""), "", &mut found);
    }
    // Paths written inline (`crate::redirect::found(...)`).
    for start in ["crate::", "super::", "self::"] {
        let mut rest = code;
        while let Some(index) = rest.find(start) {
            let before = rest[..index].chars().last();
            let tail = &rest[index..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            let path = tail[..end].trim_end_matches(':');
            // A bare `crate` is the head of a use tree (`crate::{a, b}`), which the use
            // statements above expand; not the root itself.
            if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':')) && path.contains("::") {
                found.push(path.to_owned());
            }
            rest = &tail[start.len()..];
        }
    }
    found
}

/// The module file a path names: the longest prefix of its segments that is a module; `None` for
/// a path into another crate (`std::`, `serde::`).
fn resolve(path: &str, from: &[String], modules: &BTreeMap<Vec<String>, PathBuf>) -> Option<Vec<String>> {
    let mut segments = path.split("::").filter(|segment| !segment.is_empty());
    // Where the path starts: the root, this module, or its parent.
    let mut base: Vec<String> = match segments.next() {
        Some("crate") => Vec::new(),
        Some("self") => from.to_vec(),
        Some("super") => {
            let mut parent = from.to_vec();
            parent.pop();
            parent
        }
        _ => return None,
    };
    let mut resolved = base.clone();
    for segment in segments {
        if segment == "super" {
            base.pop();
            resolved = base.clone();
            continue;
        }
        base.push(segment.to_owned());
        if modules.contains_key(&base) {
            resolved = base.clone();
        } else {
            break;
        }
    }
    Some(resolved)
}

type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

fn graph(src: &Path) -> (Graph, BTreeMap<Vec<String>, PathBuf>) {
    let mut files = BTreeMap::new();
    modules(src, &[], &mut files);
    let mut graph = Graph::new();
    for (module, file) in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        let (code, tests) = code_and_tests(&text);
        // The unit-test module is a child of the file's module: its `super::` is the file.
        let mut inside_tests = module.clone();
        inside_tests.push("tests".to_owned());
        let found = paths(&code)
            .into_iter()
            .filter_map(|path| resolve(&path, module, &files))
            .chain(
                paths(&tests)
                    .into_iter()
                    .filter_map(|path| resolve(&path, &inside_tests, &files)),
            );
        let edges = graph.entry(module.clone()).or_default();
        for target in found {
            // A module naming an item of its own, or a child module: no edge.
            if &target != module && !target.starts_with(module) {
                edges.insert(target);
            }
        }
    }
    (graph, files)
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "lib.rs".to_owned()
    } else {
        module.join("::")
    }
}

/// A cycle through `start`, if there is one, as the modules along it.
fn cycle_from(graph: &Graph, start: &Vec<String>) -> Option<Vec<Vec<String>>> {
    let mut stack = vec![(start.clone(), vec![start.clone()])];
    let mut seen = BTreeSet::new();
    while let Some((module, trail)) = stack.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if next == start {
                let mut cycle = trail.clone();
                cycle.push(next.clone());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = trail.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn modules_depend_one_way() {
    for (krate, src) in crates() {
        let (graph, _) = graph(&src);
        assert!(graph.len() > 5, "the source tree was not found: {src:?}");
        let cycles: Vec<String> = graph
            .keys()
            .filter(|module| !module.is_empty())
            .filter_map(|module| cycle_from(&graph, module))
            .map(|cycle| cycle.iter().map(|module| name(module)).collect::<Vec<_>>().join(" -> "))
            .collect();
        assert!(
            cycles.is_empty(),
            "{krate}: modules that import from a module that depends on them:\n{}",
            cycles.join("\n")
        );
    }
}

#[test]
fn no_module_imports_through_a_root_reexport() {
    for (krate, src) in crates() {
        let (graph, _) = graph(&src);
        let through_root: Vec<String> = graph
            .iter()
            .filter(|(module, edges)| !module.is_empty() && edges.contains(&Vec::new()))
            .map(|(module, _)| name(module))
            .collect();
        assert!(
            through_root.is_empty(),
            "{krate}: modules naming an item through the crate root instead of the module that defines it: {through_root:?}"
        );
    }
}

#[test]
fn no_file_holds_more_than_one_jobs_worth() {
    let mut crowded = Vec::new();
    for (krate, src) in crates() {
        let mut files = BTreeMap::new();
        modules(&src, &[], &mut files);
        for file in files.values() {
            let text = std::fs::read_to_string(file).expect("readable source");
            let lines = lines_outside_tests(&text);
            if lines > MAX_LINES {
                let relative = file.strip_prefix(&src).unwrap_or(file);
                crowded.push(format!("{krate}/src/{}: {lines} lines", relative.display()));
            }
        }
    }
    assert!(
        crowded.is_empty(),
        "files over {MAX_LINES} lines outside their tests (split them at their seams):\n{}",
        crowded.join("\n")
    );
}

#[test]
fn only_generated_code_uses_the_private_module() {
    let (graph, _) = graph(&runtime());
    let private = vec!["__private".to_owned()];
    let users: Vec<String> = graph
        .iter()
        .filter(|(module, edges)| !module.is_empty() && edges.contains(&private))
        .map(|(module, _)| name(module))
        .collect();
    assert!(users.is_empty(), "modules importing `__private`: {users:?}");
}

#[test]
fn lib_rs_declares_and_reexports_only() {
    let text = std::fs::read_to_string(runtime().join("lib.rs")).expect("lib.rs");
    let code = code(&text);
    for statement in code.split(';').map(str::trim).filter(|statement| !statement.is_empty()) {
        // Drop leading attributes (`#[cfg(...)]`, `#![doc = ...]`) and doc comments.
        let mut rest = statement;
        while rest.starts_with('#') {
            let Some(end) = rest.find(']') else { break };
            rest = rest[end + 1..].trim_start();
        }
        let allowed = ["mod ", "pub mod ", "pub use ", "pub(crate) use ", "use "];
        assert!(
            rest.is_empty() || allowed.iter().any(|start| rest.starts_with(start)),
            "lib.rs holds more than module declarations and re-exports: `{rest}`"
        );
    }
}

#[test]
fn the_checker_sees_a_cycle_and_an_import_through_a_reexport() {
    let mut files = BTreeMap::new();
    for module in [&[][..], &["store"][..], &["store", "memory"][..], &["cache"][..]] {
        files.insert(module.iter().map(|s| s.to_string()).collect::<Vec<_>>(), PathBuf::new());
    }
    let memory = vec!["store".to_owned(), "memory".to_owned()];
    assert_eq!(resolve("super::Store", &memory, &files), Some(vec!["store".to_owned()]));
    assert_eq!(
        resolve("crate::store::memory::MemoryStore", &[], &files),
        Some(memory.clone())
    );
    // Through the root's re-export: an edge to the root, which the checker refuses.
    assert_eq!(
        resolve("crate::MemoryStore", &["cache".to_owned()], &files),
        Some(Vec::new())
    );
    assert_eq!(resolve("std::sync::Arc", &["cache".to_owned()], &files), None);
    let mut uses = Vec::new();
    expand_use("crate::{store::{memory::MemoryStore, Store}, cache}", "", &mut uses);
    assert_eq!(
        uses,
        [
            "crate::store::memory::MemoryStore",
            "crate::store::Store",
            "crate::cache"
        ]
    );
    let mut graph = Graph::new();
    graph
        .entry(memory.clone())
        .or_default()
        .insert(vec!["store".to_owned()]);
    graph
        .entry(vec!["store".to_owned()])
        .or_default()
        .insert(memory.clone());
    assert!(cycle_from(&graph, &memory).is_some());
    // A unit-test module's `super::` is its file's module; `super::super::` the parent.
    let inside = vec!["store".to_owned(), "memory".to_owned(), "tests".to_owned()];
    assert_eq!(resolve("super::MemoryStore", &inside, &files), Some(memory.clone()));
    assert_eq!(
        resolve("super::super::Store", &inside, &files),
        Some(vec!["store".to_owned()])
    );
    let (code, tests) = code_and_tests("use crate::cache;\n#[cfg(test)]\nmod tests {\n    use crate::store;\n}\n");
    assert!(paths(&code).iter().all(|path| path == "crate::cache"));
    assert!(paths(&tests).iter().all(|path| path == "crate::store"));
    assert!(!paths(&tests).is_empty());
    assert_eq!(lines_outside_tests("a\nb\n#[cfg(test)]\nmod tests {}\n"), 2);
}
