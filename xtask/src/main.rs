//! Project automation, run as `cargo xtask <command>` (the alias is in `.cargo/config.toml`).
//!
//! No command is implemented yet: the schema export (`cargo xtask schema [--check]`) is tracked
//! as its own issue. Until then this only dispatches and reports unknown commands.

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>\n\ncommands: none yet (the schema export is planned)";

fn main() -> ExitCode {
    let command = std::env::args().nth(1);
    match command.as_deref() {
        None | Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command `{other}`\n\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}
