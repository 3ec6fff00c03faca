//! Project automation, run as `cargo xtask <command>` (the alias is in `.cargo/config.toml`).
//!
//! - `cargo xtask schema`: writes the JSON Schema and TypeScript declarations of the examples'
//!   session types into `schema/`.
//! - `cargo xtask schema --check`: fails if a committed file in `schema/` is stale.
//! - `cargo xtask bench`: runs every benchmark and prints the targets of BENCHMARKS.md as ratios.
//! - `cargo xtask load`: requests per second, tail latency and server CPU per request through a
//!   real HTTP server, driven by `wrk`.
//! - `cargo xtask load --peers`: the same side by side with the crates and Node servers a team
//!   would otherwise use.

mod bench;
mod load;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  schema           write schema/*.schema.json and schema/*.d.ts from the examples' session types
  schema --check   fail if the committed files in schema/ are stale
  bench            run every benchmark (about 10 minutes) and print the targets as ratios
  load             drive the layer through a real HTTP server and print requests/s and latency
  load --peers     the same side by side with jwt-authorizer, tower-sessions + axum-login, and
                   OpenAuth's and better-auth's Node servers";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = xtask::workspace_root();
    match args.as_slice() {
        [] | ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        ["schema"] => match xtask::write(&root) {
            Ok(written) => {
                for path in written {
                    println!("wrote {}", path.strip_prefix(&root).unwrap_or(&path).display());
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("cannot write {}: {error}", xtask::SCHEMA_DIR);
                ExitCode::FAILURE
            }
        },
        ["schema", "--check"] => match xtask::check(&root) {
            Ok(staleness) if staleness.is_fresh() => {
                println!("{}/ is up to date", xtask::SCHEMA_DIR);
                ExitCode::SUCCESS
            }
            Ok(staleness) => {
                eprintln!("{staleness}");
                ExitCode::FAILURE
            }
            Err(error) => {
                eprintln!("cannot read {}: {error}", xtask::SCHEMA_DIR);
                ExitCode::FAILURE
            }
        },
        ["bench"] => match bench::run(&root) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => {
                eprintln!("a target was missed (see the table above)");
                ExitCode::FAILURE
            }
            Err(error) => {
                eprintln!("benchmarks failed: {error}");
                ExitCode::FAILURE
            }
        },
        ["load", "--peers"] => match load::run_peers(&root) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => {
                eprintln!("not every goal against the peers was met (see the table above)");
                ExitCode::FAILURE
            }
            Err(error) => {
                eprintln!("load run failed: {error}");
                ExitCode::FAILURE
            }
        },
        ["load"] => match load::run(&root) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => {
                eprintln!("the throughput target was missed (see the table above)");
                ExitCode::FAILURE
            }
            Err(error) => {
                eprintln!("load run failed: {error}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("unknown command `{}`\n\n{USAGE}", args.join(" "));
            ExitCode::FAILURE
        }
    }
}
