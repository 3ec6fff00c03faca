//! `cargo xtask load`: requests per second and tail latency through a real HTTP server, side by
//! side in one run. The app is the release build of `examples/examples/load_target.rs` on
//! 127.0.0.1; the load comes from `wrk` (Debian's package: `apt-get install wrk`), one thread and
//! 64 keep-alive connections sending `GET /me` with a session cookie, 8 s per measurement after a
//! 2 s warm-up.
//!
//! - **Generator check**: the same bare axum process is loaded by the hyper generator this
//!   command used before and by `wrk`; a generator that is not the bottleneck reaches the higher
//!   rate, and `wrk` with twice the connections reaches no more (the server is saturated).
//! - **The layer against bare axum**: six alternating rounds (bare and the layer with one token,
//!   cache hits, back to back, in turn first) against the same two processes; the medians, and
//!   the target judged on the median of the rounds' own ratios (a drift of the machine between
//!   rounds cancels within a round). With
//!   `LOAD_BEFORE_BINARY=<an older load_target build>`, that build's layer runs in the same
//!   rounds: before and after in one run.
//! - **Other scenarios**, once each: 10 000 distinct tokens (the cache filling, then hitting),
//!   invalid tokens (refusals), and the Redis- and PostgreSQL-backed `Revocable` on every request
//!   (no cache; needs `redis-server` and Debian's `postgresql`, which the command starts on
//!   127.0.0.1, or the scenario is reported as skipped).

mod measure;
mod peers;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use auth_runtime::{SessionTypes, Sessions, SigningKey};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;

use self::measure::{CONNECTIONS, Error, Figures, MEASURE, SECRET, Target, WARM_UP, Wrk, cookie_file, median, micros};

pub(crate) use self::peers::run as run_peers;

/// Alternating rounds of the layer against bare axum (bare first in odd rounds, the layer first in
/// even ones).
const ROUNDS: usize = 6;

#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum LoadSession {
    User { user_id: String },
}

/// What every load run starts from: the release `load_target`, a work folder, `wrk`, and the
/// HS256 session cookies (one token; 10 000 distinct tokens).
struct Setup {
    binary: PathBuf,
    target_dir: PathBuf,
    work: PathBuf,
    wrk: Wrk,
    tokens: Vec<String>,
    one: PathBuf,
    many: PathBuf,
}

impl Setup {
    fn new(root: &Path) -> Result<Setup, Error> {
        let target_dir: PathBuf = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), Into::into);
        let work = target_dir.join("load");
        std::fs::create_dir_all(&work)?;
        let wrk = Wrk::new(&work)?;
        cargo(
            root,
            &["build", "--release", "-p", "auth-examples", "--example", "load_target"],
        )?;
        let sessions: Sessions<LoadSession> = Sessions::builder()
            .signing_key(SigningKey::hs256(SECRET.as_bytes())?)
            .issuer("https://load.example")
            .audience("load")
            .subject_from(|session| match session {
                LoadSession::User { user_id } => Some(user_id.clone()),
            })
            .build()?;
        let tokens = (0..10_000)
            .map(|n| {
                sessions.create(&LoadSession::User {
                    user_id: format!("user-{n}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cookies: Vec<String> = tokens.iter().map(|token| format!("auth-token={token}")).collect();
        Ok(Setup {
            binary: target_dir.join("release").join("examples").join("load_target"),
            one: cookie_file(&work, "one", &cookies[..1])?,
            many: cookie_file(&work, "many", &cookies)?,
            target_dir,
            work,
            wrk,
            tokens,
        })
    }

    /// `load_target` in `mode`.
    fn ours(&self, mode: &str, env: &[(&str, &str)]) -> Result<Target, Error> {
        Target::ours(&self.binary, mode, env)
    }
}

/// Runs cargo with `args` in `root`.
fn cargo(root: &Path, args: &[&str]) -> Result<(), Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo).args(args).current_dir(root).status()?;
    if !status.success() {
        return Err(format!("`cargo {}` failed", args.join(" ")).into());
    }
    Ok(())
}

pub(crate) fn run(root: &Path) -> Result<bool, Error> {
    against_bare(&Setup::new(root)?)
}

/// The generator check, the layer against bare axum in alternating rounds, and the other
/// scenarios; whether the layer reached 95 % of bare axum.
fn against_bare(setup: &Setup) -> Result<bool, Error> {
    let invalid: Vec<String> = setup
        .tokens
        .iter()
        .take(1000)
        .map(|token| format!("auth-token={token}x"))
        .collect();
    let invalid_file = cookie_file(&setup.work, "invalid", &invalid)?;
    let (one_file, many_file) = (&setup.one, &setup.many);
    let wrk =
        |target: &Target, cookies: &Path, connections: usize| setup.wrk.measure_with(target, cookies, connections);
    let one = vec![setup.tokens[0].clone()];

    // The generator check, on one bare process.
    let bare = setup.ours("bare", &[])?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let by_hyper = runtime.block_on(load(bare.addr, &one))?;
    let by_wrk = wrk(&bare, one_file, CONNECTIONS)?;
    let by_wrk_double = wrk(&bare, one_file, 2 * CONNECTIONS)?;
    println!("\ngenerator check, bare axum, GET /me:");
    println!(
        "  the hyper generator, {CONNECTIONS} connections: {:>9.0} req/s",
        by_hyper.per_second()
    );
    println!(
        "  wrk -t1, {CONNECTIONS} connections:             {:>9.0} req/s",
        by_wrk.per_second()
    );
    println!(
        "  wrk -t1, {} connections:            {:>9.0} req/s",
        2 * CONNECTIONS,
        by_wrk_double.per_second()
    );

    // Alternating rounds: bare, layer (and the older build's layer), against the same processes.
    let layer = setup.ours("layer", &[])?;
    let before = match std::env::var_os("LOAD_BEFORE_BINARY") {
        Some(path) => Some(Target::ours(Path::new(&path), "layer", &[])?),
        None => None,
    };
    let (mut bare_rounds, mut layer_rounds, mut before_rounds) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        eprintln!("round {round} of {ROUNDS} ...");
        if round % 2 == 1 {
            bare_rounds.push(wrk(&bare, one_file, CONNECTIONS)?);
            layer_rounds.push(wrk(&layer, one_file, CONNECTIONS)?);
        } else {
            layer_rounds.push(wrk(&layer, one_file, CONNECTIONS)?);
            bare_rounds.push(wrk(&bare, one_file, CONNECTIONS)?);
        }
        if let Some(before) = &before {
            before_rounds.push(wrk(before, one_file, CONNECTIONS)?);
        }
    }
    // The layer's rate over bare axum's within each round (measured back to back, so a drift of
    // the machine between rounds cancels), and their median: what the target is judged on.
    let mut round_ratios: Vec<f64> = bare_rounds
        .iter()
        .zip(&layer_rounds)
        .map(|(bare, layer)| layer.per_second() / bare.per_second())
        .collect();
    round_ratios.sort_by(f64::total_cmp);
    let middle = round_ratios.len() / 2;
    let median_ratio = match round_ratios.len() {
        0 => 0.0,
        odd if odd % 2 == 1 => round_ratios[middle],
        _ => (round_ratios[middle - 1] + round_ratios[middle]) / 2.0,
    };
    let bare_median = median(&mut bare_rounds);
    let mut rows: Vec<(&str, Option<Figures>)> = vec![
        ("bare axum (median of the rounds)", Some(bare_median)),
        ("layer, one token (cache hits, median)", Some(median(&mut layer_rounds))),
    ];
    if !before_rounds.is_empty() {
        rows.push((
            "layer before (LOAD_BEFORE_BINARY, median)",
            Some(median(&mut before_rounds)),
        ));
    }
    drop((layer, before));
    rows.push((
        "layer, 10 000 tokens (filling, then hits)",
        Some(setup.wrk.measure(&setup.ours("layer", &[])?, many_file)?),
    ));
    rows.push((
        "layer, invalid tokens (refusals)",
        Some(setup.wrk.measure(&setup.ours("layer", &[])?, &invalid_file)?),
    ));
    match xtask::redis_server::RedisServer::start(&[]) {
        Ok(redis) => {
            let target = setup.ours("redis", &[("LOAD_REDIS_URL", &redis.url())])?;
            rows.push((
                "Revocable on Redis, every request a miss",
                Some(setup.wrk.measure(&target, many_file)?),
            ));
        }
        Err(_) => rows.push(("Revocable on Redis (skipped: no redis-server)", None)),
    }
    match xtask::postgres_server::PostgresServer::start() {
        Ok(postgres) => {
            let target = setup.ours("postgres", &[("LOAD_DATABASE_URL", &postgres.url())])?;
            rows.push((
                "Revocable on PostgreSQL, every request a miss",
                Some(setup.wrk.measure(&target, many_file)?),
            ));
        }
        Err(_) => rows.push(("Revocable on PostgreSQL (skipped: no PostgreSQL server)", None)),
    }
    drop(bare);

    let bare = rows
        .first()
        .and_then(|(_, figures)| figures.as_ref())
        .map_or(1.0, Figures::per_second);
    println!(
        "\nwrk -t1 -c{CONNECTIONS}, {} s per measurement after {} s of warm-up, GET /me; {ROUNDS} alternating rounds\n",
        MEASURE.as_secs(),
        WARM_UP.as_secs()
    );
    println!(
        "{:<44} {:>10} {:>9} {:>9} {:>9} {:>8} {:>8} {:>12}",
        "scenario", "req/s", "p50", "p99", "p99.9", "vs bare", "non-2xx", "server CPU"
    );
    for (name, figures) in &rows {
        let Some(figures) = figures else {
            println!("{name}");
            continue;
        };
        let ratio = figures.per_second() / bare;
        println!(
            "{name:<44} {:>10.0} {:>9} {:>9} {:>9} {:>7.1}% {:>8} {:>12}",
            figures.per_second(),
            micros(figures.p50),
            micros(figures.p99),
            micros(figures.p999),
            ratio * 100.0,
            figures.errors,
            figures.cpu.map_or_else(
                || "-".to_owned(),
                |cpu| format!("{:.2} µs/req", cpu.as_secs_f64() * 1e6)
            ),
        );
    }
    let rounds: Vec<String> = round_ratios
        .iter()
        .map(|ratio| format!("{:.1} %", ratio * 100.0))
        .collect();
    println!(
        "\nthe layer over bare axum within each round (sorted): {}; median {:.1} %",
        rounds.join(", "),
        median_ratio * 100.0
    );
    let met = median_ratio >= 0.95;
    println!(
        "target: the cache-hit scenario at 95 % or more of bare axum's requests per second (the median of the rounds' ratios): {}",
        if met { "met" } else { "MISSED" }
    );
    Ok(met)
}

/// `CONNECTIONS` connections sending requests until the deadline; latencies of the measured
/// window only.
async fn load(addr: SocketAddr, tokens: &[String]) -> Result<Figures, Error> {
    let cookies: std::sync::Arc<Vec<String>> =
        std::sync::Arc::new(tokens.iter().map(|token| format!("auth-token={token}")).collect());
    let started = Instant::now();
    let measure_from = started + WARM_UP;
    let deadline = measure_from + MEASURE;
    let mut tasks = Vec::new();
    for connection in 0..CONNECTIONS {
        let cookies = std::sync::Arc::clone(&cookies);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, driver) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(driver);
            let mut next = connection;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let cookie = &cookies[next % cookies.len()];
                next += CONNECTIONS;
                let request = http::Request::get("/me")
                    .header(http::header::HOST, "127.0.0.1")
                    .header(http::header::COOKIE, cookie.as_str())
                    .body(Empty::<Bytes>::new())?;
                sender.ready().await?;
                let response = sender.send_request(request).await?;
                let ok = response.status().is_success() || response.status() == http::StatusCode::UNAUTHORIZED;
                response.into_body().collect().await?;
                if now >= measure_from {
                    latencies.push(now.elapsed());
                    if !ok {
                        errors += 1;
                    }
                }
            }
            Ok::<_, Error>((latencies, errors))
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (mut own, own_errors) = task.await??;
        latencies.append(&mut own);
        errors += own_errors;
    }
    latencies.sort_unstable();
    let at = |quantile: f64| {
        let index = ((latencies.len() as f64 * quantile) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(index).copied().unwrap_or_default()
    };
    Ok(Figures {
        requests: latencies.len(),
        errors,
        seconds: MEASURE.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        cpu: None,
        peak_kib: None,
    })
}
