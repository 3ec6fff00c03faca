//! External programs and data some tests need (redis-server, Node.js, npm packages, Python's
//! `jsonschema`, the shared Wycheproof vectors). Those tests are `#[ignore = "needs ..."]`, so a
//! plain `cargo test` reports them as ignored with the reason; once asked for
//! (`--include-ignored`, as `.ci/run` does after installing everything) a missing tool is a
//! failure that says what to install, never a silent pass.

#![allow(dead_code, reason = "each test module uses a different part of the helpers")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Fails the test unless `program args...` runs and succeeds.
pub fn require(what: &str, program: &str, args: &[&str]) {
    let found = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        found,
        "this test needs {what} (`{program}`), which is not available: install it as .ci/run does, or leave the test ignored"
    );
}

/// A file of the shared public test data (`../shared/data/<path>` beside the checkout), read in
/// place; fails the test when it is not there.
pub fn shared_data(path: &str) -> PathBuf {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(path);
    assert!(
        file.is_file(),
        "this test needs {}, the shared test data beside the checkout",
        file.display()
    );
    file
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
