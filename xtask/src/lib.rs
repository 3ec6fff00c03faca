//! `cargo xtask schema`: the JSON Schema and TypeScript declarations of the examples' session
//! types, written into `schema/` at the workspace root. A library as well as a command, so the
//! test suite checks the committed files without running cargo inside cargo.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use auth_runtime::schema::{json_schema_file, typescript};

pub mod postgres_server;
pub mod redis_server;

/// The folder the files are written to, relative to the workspace root.
pub const SCHEMA_DIR: &str = "schema";

/// One generated file: its name in [`SCHEMA_DIR`] and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub name: String,
    pub text: String,
}

/// Every file `cargo xtask schema` writes, generated now.
pub fn generate() -> Vec<Generated> {
    use auth_examples::{opaque, quickstart};
    let file = |name: &str, text: String| Generated {
        name: name.to_owned(),
        text,
    };
    vec![
        file("quickstart.schema.json", json_schema_file::<quickstart::AppSession>()),
        file("quickstart.d.ts", typescript::<quickstart::AppSession>("AppSession")),
        file("opaque.schema.json", json_schema_file::<opaque::AppSession>()),
        file("opaque.d.ts", typescript::<opaque::AppSession>("AppSession")),
    ]
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Writes every file into `root/schema/` and removes files there it no longer generates.
pub fn write(root: &Path) -> io::Result<Vec<PathBuf>> {
    let dir = root.join(SCHEMA_DIR);
    fs::create_dir_all(&dir)?;
    let generated = generate();
    for stale in stale_files(&dir, &generated)? {
        fs::remove_file(dir.join(stale))?;
    }
    let mut written = Vec::new();
    for file in generated {
        let path = dir.join(&file.name);
        fs::write(&path, file.text)?;
        written.push(path);
    }
    Ok(written)
}

/// What is out of date in `root/schema/`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Staleness {
    /// Files that are missing or differ from what would be generated.
    pub outdated: Vec<String>,
    /// Files in the folder that are no longer generated.
    pub extra: Vec<String>,
}

impl Staleness {
    pub fn is_fresh(&self) -> bool {
        self.outdated.is_empty() && self.extra.is_empty()
    }
}

impl fmt::Display for Staleness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for name in &self.outdated {
            writeln!(f, "{SCHEMA_DIR}/{name} is missing or stale")?;
        }
        for name in &self.extra {
            writeln!(f, "{SCHEMA_DIR}/{name} is not generated any more")?;
        }
        write!(f, "run `cargo xtask schema` and commit the result")
    }
}

/// Compares `root/schema/` with what would be generated, writing nothing.
pub fn check(root: &Path) -> io::Result<Staleness> {
    let dir = root.join(SCHEMA_DIR);
    let generated = generate();
    let mut staleness = Staleness::default();
    for file in &generated {
        let current = fs::read_to_string(dir.join(&file.name)).ok();
        if current.as_deref() != Some(file.text.as_str()) {
            staleness.outdated.push(file.name.clone());
        }
    }
    if dir.is_dir() {
        staleness.extra = stale_files(&dir, &generated)?;
    }
    Ok(staleness)
}

fn stale_files(dir: &Path, generated: &[Generated]) -> io::Result<Vec<String>> {
    let mut stale = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if !generated.iter().any(|file| file.name == name) {
            stale.push(name);
        }
    }
    stale.sort();
    Ok(stale)
}
