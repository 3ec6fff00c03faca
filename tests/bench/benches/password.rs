//! Password hashing on this machine: argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane), a
//! verify, the dummy verify for an unknown account, and OpenAuth's default scrypt record; then
//! a flood: 200 sign-ins at once against the default bound (as many hashes at once as cores,
//! 64 more waiting), printing how many were admitted, how many refused at once, and how long an
//! admitted one waited.

use std::time::{Duration, Instant};

use auth_runtime::password::Passwords;
use criterion::{Criterion, criterion_group, criterion_main};

const PASSWORD: &str = "correct horse battery staple";

/// A two-worker runtime, argon2id at the defaults, and a stored hash of [`PASSWORD`]; `None`
/// (said why) when one cannot be made.
fn setup() -> Option<(tokio::runtime::Runtime, Passwords, String)> {
    let made = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| error.to_string())
        .and_then(|runtime| {
            let passwords = Passwords::new().map_err(|error| error.to_string())?;
            let stored = runtime
                .block_on(passwords.hash(PASSWORD))
                .map_err(|error| error.to_string())?;
            Ok((runtime, passwords, stored))
        });
    match made {
        Ok(made) => Some(made),
        Err(error) => {
            eprintln!("password bench skipped: {error}");
            None
        }
    }
}

fn hashing(c: &mut Criterion) {
    let Some((runtime, passwords, stored)) = setup() else {
        return;
    };
    // OpenAuth's default ScryptHasher record (N=16384, r=8, p=1) of the same password, made by
    // the real package (tests/issuers/openauth-hashes.mjs).
    let openauth = r#"{"hash":"6xF3aY5vvp1gOHVAXMxH+vydlHH975/+Od1dDNF7CUo=","salt":"CUBxexSkJsNEaZstzuzqeQ==","N":16384,"r":8,"p":1}"#;
    let mut group = c.benchmark_group("password");
    group.sample_size(20);
    group.bench_function("argon2id hash (19 MiB, t=2)", |b| {
        b.iter(|| runtime.block_on(passwords.hash(PASSWORD)).is_ok())
    });
    group.bench_function("argon2id verify", |b| {
        b.iter(|| runtime.block_on(passwords.verify(PASSWORD, &stored)).is_ok())
    });
    group.bench_function("unknown account (dummy verify)", |b| {
        b.iter(|| runtime.block_on(passwords.verify_unknown(PASSWORD)).is_ok())
    });
    group.bench_function("OpenAuth scrypt record verify", |b| {
        b.iter(|| runtime.block_on(passwords.verify(PASSWORD, openauth)).is_ok())
    });
    group.finish();
}

/// 200 sign-ins arrive at once; prints what the bound did with them.
fn flood(_: &mut Criterion) {
    let Some((runtime, passwords, stored)) = setup() else {
        return;
    };
    let (admitted, refused, waits, took) = runtime.block_on(async {
        let started = Instant::now();
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let passwords = passwords.clone();
                let stored = stored.clone();
                tokio::spawn(async move {
                    let asked = Instant::now();
                    let result = passwords.verify(PASSWORD, &stored).await;
                    (result.is_ok(), asked.elapsed())
                })
            })
            .collect();
        let (mut admitted, mut refused, mut waits) = (0, 0, Vec::new());
        for task in tasks {
            let Ok((ok, waited)) = task.await else {
                refused += 1;
                continue;
            };
            if ok {
                admitted += 1;
                waits.push(waited);
            } else {
                refused += 1;
            }
        }
        waits.sort();
        (admitted, refused, waits, started.elapsed())
    });
    let median = waits.get(waits.len() / 2).copied().unwrap_or(Duration::ZERO);
    let longest = waits.last().copied().unwrap_or(Duration::ZERO);
    println!(
        "flood of 200 at once: {admitted} admitted, {refused} refused at once (Busy); admitted waited median {median:?}, longest {longest:?}; all done in {took:?}"
    );
}

criterion_group!(benches, hashing, flood);
criterion_main!(benches);
