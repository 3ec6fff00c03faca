//! `cargo xtask bench`: every benchmark in one run, then the targets of BENCHMARKS.md as ratios
//! read back from criterion's estimates, and the clean-build time of auth-macros beside
//! serde_derive's.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error>;

/// Build-time rounds per crate; the median is reported.
const BUILD_ROUNDS: usize = 3;

/// Runs the benchmarks and prints the summary; `Ok(false)` when a target is missed.
pub(crate) fn run(root: &Path) -> Result<bool, Error> {
    let target = target_dir(root);
    let burst_report = target.join("criterion").join("burst-backend-calls.txt");
    cargo(
        root,
        &[
            "bench",
            "-p",
            "auth-benches",
            "--bench",
            "tokens",
            "--bench",
            "cache",
            "--bench",
            "issuers",
        ],
        &[("BURST_REPORT", burst_report.as_os_str())],
    )?;
    cargo(root, &["bench", "-p", "auth-benches", "--bench", "derive"], &[])?;
    let builds = build_times(root, &target)?;

    let criterion = target.join("criterion");
    let median = |group: &str, bench: &str| estimate(&criterion, group, bench);
    let backend = "rust-crypto";
    let mut report = String::new();
    let mut met = true;
    let mut row = |name: &str, ours: f64, baseline: f64, limit: f64, unit: &str| {
        let ratio = ours / baseline;
        let pass = ratio <= limit;
        met &= pass;
        let _ = writeln!(
            report,
            "{name:<48} {ours:>12.3} {unit:<3} {baseline:>12.3} {unit:<3} {ratio:>7.3}  <= {limit:.3}  {}",
            if pass { "met" } else { "MISSED" }
        );
    };
    let us = |nanos: f64| nanos / 1000.0;
    row(
        "HS256 verify vs jsonwebtoken::decode",
        us(median(&format!("HS256_{backend}"), "verify_auth-runtime")?),
        us(median(&format!("HS256_{backend}"), "verify_jsonwebtoken")?),
        0.5,
        "µs",
    );
    for algorithm in ["EdDSA", "ES256"] {
        row(
            &format!("{algorithm} verify vs raw signature check"),
            us(median(&format!("{algorithm}_{backend}"), "verify_auth-runtime")?),
            us(median(&format!("{algorithm}_{backend}"), "verify_raw-signature")?),
            1.1,
            "µs",
        );
    }
    let eddsa = format!("EdDSA_{backend}");
    let overhead = median(&eddsa, "request_layer-cache-hit")? - median(&eddsa, "request_bare")?;
    row(
        "layer overhead on a cache hit vs EdDSA verify",
        us(overhead),
        us(median(&eddsa, "verify_uncached")?),
        1.0 / 30.0,
        "µs",
    );
    row(
        "100 authorization rules vs the layer's cache-hit overhead",
        us(median(&eddsa, "authorize_100-rules")?),
        us(overhead),
        1.0,
        "µs",
    );
    row(
        "another issuer's ES256 token: remote JWKS (warm) vs local key",
        us(median("issuers_ES256", "remote-jwks-warm")?),
        us(median("issuers_ES256", "local-key")?),
        1.05,
        "µs",
    );
    let secs = |duration: Duration| duration.as_secs_f64();
    row(
        "clean build: auth-macros vs serde_derive",
        secs(builds.0),
        secs(builds.1),
        1.0,
        "s",
    );
    let burst = std::fs::read_to_string(&burst_report).unwrap_or_else(|_| "no report written".to_owned());
    println!("\n{:<48} {:>16} {:>16} {:>7}  target", "", "ours", "baseline", "ratio");
    print!("{report}");
    println!("burst of 1000 concurrent requests, one fresh token: {}", burst.trim());
    println!("derive: see derive/200-variants above (parse is the floor, expand the whole derive)");
    Ok(met && burst.trim().starts_with("backend calls per burst: min 1, max 1"))
}

/// Median clean build of auth-macros and of serde_derive, each in its own target directory,
/// alternating so a busy spell of the machine hits both.
fn build_times(root: &Path, target: &Path) -> Result<(Duration, Duration), Error> {
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for round in 1..=BUILD_ROUNDS {
        for (package, times) in [("auth-macros", &mut ours), ("serde_derive", &mut theirs)] {
            let dir = target.join("build-times").join(package);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            let started = Instant::now();
            cargo(
                root,
                &[
                    "build",
                    "--quiet",
                    "-p",
                    package,
                    "--target-dir",
                    &dir.to_string_lossy(),
                ],
                &[],
            )?;
            let took = started.elapsed();
            println!(
                "clean build of {package}, round {round}/{BUILD_ROUNDS}: {:.1} s",
                took.as_secs_f64()
            );
            times.push(took);
        }
    }
    Ok((middle(ours), middle(theirs)))
}

fn middle(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// The median point estimate, in nanoseconds, of one criterion benchmark.
fn estimate(criterion: &Path, group: &str, bench: &str) -> Result<f64, Error> {
    let path = criterion.join(group).join(bench).join("new").join("estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    json["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no median", path.display()).into())
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn cargo(root: &Path, args: &[&str], envs: &[(&str, &std::ffi::OsStr)]) -> Result<(), Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed: {status}", args.join(" ")).into())
    }
}
