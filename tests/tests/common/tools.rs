//! External programs some tests run (Node.js, npm packages, Python): found, installed from a
//! lock file when missing, or, when absent, a skip locally and a failure under `CI=true`.

#![allow(dead_code, reason = "each test file uses a different part of the helpers")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether `program args...` runs and succeeds. When it does not: a message and `false`
/// locally (the caller skips), a panic under `CI=true` (`.ci/run` installs everything).
pub fn available(what: &str, program: &str, args: &[&str]) -> bool {
    let found = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{what} is required under CI (.ci/run installs it)"
        );
        eprintln!("skipping: {what} is not available (CI runs this test)");
    }
    found
}

/// A file of the shared public test data (`../shared/data/<path>` beside the checkout), read in
/// place. When it is missing: a message and `None` locally, a panic under `CI=true`.
pub fn shared_data(path: &str) -> Option<PathBuf> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(path);
    if file.is_file() {
        return Some(file);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is required under CI (the shared data sits beside the checkout)",
        file.display()
    );
    eprintln!("skipping: {} is not there", file.display());
    None
}

/// A folder of this crate (`tests/<name>`).
pub fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// `npm ci` in `dir` unless `dir/node_modules/<package>` is already there.
pub fn npm_install(dir: &Path, package: &str) {
    if dir.join("node_modules").join(package).join("package.json").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status()
        .expect("npm runs (it comes with Node.js)");
    assert!(status.success(), "npm ci in {} failed", dir.display());
}
