//! `cargo xtask load`: requests per second and tail latency through a real HTTP server, side by
//! side in one run. The app is the release build of `examples/examples/load_target.rs` on
//! 127.0.0.1; the load comes from 64 keep-alive HTTP/1.1 connections written here on hyper, each
//! sending `GET /me` as fast as it is answered, for a fixed time per scenario (warm-up excluded).
//!
//! Scenarios: bare axum; behind the layer with one valid token (cache hits); with 10 000
//! distinct valid tokens (the cache filling, then hitting); with invalid tokens (refusals); and
//! with the Redis-backed and the PostgreSQL-backed `Revocable` on every request (no cache; needs
//! `redis-server` and Debian's `postgresql`, which the command starts on 127.0.0.1, or the
//! scenario is reported as skipped).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth_runtime::{SessionTypes, Sessions, SigningKey};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;

type Error = Box<dyn std::error::Error + Send + Sync>;

const CONNECTIONS: usize = 64;
const WARM_UP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(8);
const SECRET: &str = "cargo-xtask-load-secret-0123456789abcdef";

#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum LoadSession {
    User { user_id: String },
}

/// One scenario's figures.
struct Figures {
    requests: usize,
    errors: usize,
    seconds: f64,
    p50: Duration,
    p99: Duration,
    p999: Duration,
}

impl Figures {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// A process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn run(root: &Path) -> Result<bool, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "auth-examples", "--example", "load_target"])
        .current_dir(root)
        .status()?;
    if !status.success() {
        return Err("the load target did not build".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), Into::into);
    let binary = target.join("release").join("examples").join("load_target");
    let sessions: Sessions<LoadSession> = Sessions::builder()
        .signing_key(SigningKey::hs256(SECRET.as_bytes())?)
        .issuer("https://load.example")
        .audience("load")
        .subject_from(|session| match session {
            LoadSession::User { user_id } => Some(user_id.clone()),
        })
        .build()?;
    let token = |n: usize| {
        sessions.create(&LoadSession::User {
            user_id: format!("user-{n}"),
        })
    };
    let one = vec![token(0)?];
    let many = (0..10_000).map(token).collect::<Result<Vec<_>, _>>()?;
    let invalid: Vec<String> = many.iter().take(1000).map(|token| format!("{token}x")).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut rows: Vec<(&str, Option<Figures>)> = vec![
        ("bare axum", Some(scenario(&runtime, &binary, "bare", &[], &one)?)),
        (
            "layer, one token (cache hits)",
            Some(scenario(&runtime, &binary, "layer", &[], &one)?),
        ),
        (
            "layer, 10 000 tokens (filling, then hits)",
            Some(scenario(&runtime, &binary, "layer", &[], &many)?),
        ),
        (
            "layer, invalid tokens (refusals)",
            Some(scenario(&runtime, &binary, "layer", &[], &invalid)?),
        ),
    ];
    match xtask::redis_server::RedisServer::start(&[]) {
        Ok(redis) => rows.push((
            "Revocable on Redis, every request a miss",
            Some(scenario(
                &runtime,
                &binary,
                "redis",
                &[("LOAD_REDIS_URL", &redis.url())],
                &many,
            )?),
        )),
        Err(_) => rows.push(("Revocable on Redis (skipped: no redis-server)", None)),
    }
    match xtask::postgres_server::PostgresServer::start() {
        Ok(postgres) => rows.push((
            "Revocable on PostgreSQL, every request a miss",
            Some(scenario(
                &runtime,
                &binary,
                "postgres",
                &[("LOAD_DATABASE_URL", &postgres.url())],
                &many,
            )?),
        )),
        Err(_) => rows.push(("Revocable on PostgreSQL (skipped: no PostgreSQL server)", None)),
    }

    let bare = rows
        .first()
        .and_then(|(_, figures)| figures.as_ref())
        .map_or(1.0, Figures::per_second);
    println!(
        "\n{CONNECTIONS} connections, {} s per scenario after {} s of warm-up, GET /me\n",
        MEASURE.as_secs(),
        WARM_UP.as_secs()
    );
    println!(
        "{:<44} {:>10} {:>9} {:>9} {:>9} {:>8} {:>7}",
        "scenario", "req/s", "p50", "p99", "p99.9", "vs bare", "errors"
    );
    let mut met = true;
    for (name, figures) in &rows {
        let Some(figures) = figures else {
            println!("{name}");
            continue;
        };
        let ratio = figures.per_second() / bare;
        if name.starts_with("layer, one token") {
            met = ratio >= 0.95;
        }
        println!(
            "{name:<44} {:>10.0} {:>9} {:>9} {:>9} {:>7.1}% {:>7}",
            figures.per_second(),
            micros(figures.p50),
            micros(figures.p99),
            micros(figures.p999),
            ratio * 100.0,
            figures.errors
        );
    }
    println!(
        "\ntarget: the cache-hit scenario at 95 % or more of bare axum's requests per second: {}",
        if met { "met" } else { "MISSED" }
    );
    Ok(met)
}

fn micros(duration: Duration) -> String {
    format!("{} µs", duration.as_micros())
}

/// Starts the load target in `mode`, loads it with `tokens` (round robin), stops it.
fn scenario(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    mode: &str,
    env: &[(&str, &str)],
    tokens: &[String],
) -> Result<Figures, Error> {
    let mut child = Command::new(binary)
        .env("LOAD_MODE", mode)
        .env("LOAD_SECRET", SECRET)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let process = Process(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("LISTENING ")
        .ok_or_else(|| format!("the load target said `{}`", line.trim()))?
        .parse()?;
    eprintln!("{mode}: {} tokens on {addr} ...", tokens.len());
    let figures = runtime.block_on(load(addr, tokens))?;
    drop(process);
    Ok(figures)
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
    })
}
