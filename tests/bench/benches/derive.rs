//! `#[derive(SessionTypes)]` on a 200-variant enum (struct, newtype and unit variants, renames),
//! beside its floor in the same run: `derive/parse` is syn parsing the same input, which any
//! derive pays before it can expand anything; `derive/expand` is parse, check and expansion to
//! tokens, as the compiler runs it (the size of the expansion is printed).
//!
//! Run with: cargo bench -p auth-benches --bench derive
//! (`schema` is on by default in auth-runtime, so that is the expansion users get.)

// The derive's modules, compiled into this benchmark: a proc-macro crate cannot be linked by one.
// Benchmarks build with cfg(test), so the modules' test imports are unused here.
#![allow(dead_code, unreachable_pub, unused_imports)]

#[path = "../../../auth-macros/src/ast.rs"]
mod ast;
#[path = "../../../auth-macros/src/attr.rs"]
mod attr;
#[path = "../../../auth-macros/src/case.rs"]
mod case;
#[path = "../../../auth-macros/src/ctxt.rs"]
mod ctxt;
#[path = "../../../auth-macros/src/expand.rs"]
mod expand;
#[path = "../../../auth-macros/src/fallback.rs"]
mod fallback;
#[path = "../../../auth-macros/src/params.rs"]
mod params;
#[path = "../../../auth-macros/src/valid.rs"]
mod valid;

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use syn::DeriveInput;

const VARIANTS: usize = 200;

/// A session enum of `VARIANTS` variants: a third each struct (three fields, one renamed),
/// newtype and unit, with per-variant renames.
fn source() -> String {
    let mut source = String::from("#[session(rename_all = \"camelCase\")]\nenum Big {\n");
    for index in 0..VARIANTS {
        let _ = match index % 3 {
            0 => writeln!(
                source,
                "    /// Variant {index}.\n    User{index} {{ #[session(rename = \"userID\")] user_id: String, roles: Vec<String>, age: Option<u32> }},"
            ),
            1 => writeln!(
                source,
                "    #[session(rename = \"api-{index}\")]\n    Api{index}(Client{index}),"
            ),
            _ => writeln!(source, "    Guest{index},"),
        };
    }
    source.push_str("}\n");
    source
}

fn bench(c: &mut Criterion) {
    let source = source();
    let expanded = match syn::parse_str::<DeriveInput>(&source).map(|input| expand::derive(&input).to_string()) {
        Ok(tokens) if !tokens.contains("compile_error") => tokens,
        Ok(tokens) => {
            eprintln!("the benchmark enum does not derive: {tokens}");
            return;
        }
        Err(error) => {
            eprintln!("the benchmark enum does not parse: {error}");
            return;
        }
    };
    println!(
        "derive: {VARIANTS} variants, {} bytes of input expand to {} bytes of tokens (schema {})",
        source.len(),
        expanded.len(),
        if cfg!(feature = "schema") { "on" } else { "off" }
    );
    let mut group = c.benchmark_group(format!("derive/{VARIANTS}-variants"));
    group.bench_function("parse", |b| {
        b.iter(|| syn::parse_str::<DeriveInput>(black_box(&source)))
    });
    group.bench_function("expand", |b| {
        b.iter(|| syn::parse_str::<DeriveInput>(black_box(&source)).map(|input| expand::derive(&input)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = bench
}
criterion_main!(benches);
