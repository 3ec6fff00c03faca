//! `cargo xtask load`: requests per second and tail latency through a real HTTP server, side by
//! side in one run. The app is the release build of `examples/examples/load_target.rs` on
//! 127.0.0.1; the load comes from `wrk` (Debian's package: `apt-get install wrk`), one thread and
//! 64 keep-alive connections sending `GET /me` with a session cookie, 8 s per measurement after a
//! 2 s warm-up.
//!
//! - **Generator check**: the same bare axum process is loaded by the hyper generator this
//!   command used before and by `wrk`; a generator that is not the bottleneck reaches the higher
//!   rate, and `wrk` with twice the connections reaches no more (the server is saturated).
//! - **The layer against bare axum**: four alternating rounds (bare, layer with one token: cache
//!   hits) against the same two processes; the medians and their ratio. With
//!   `LOAD_BEFORE_BINARY=<an older load_target build>`, that build's layer runs in the same
//!   rounds: before and after in one run.
//! - **Other scenarios**, once each: 10 000 distinct tokens (the cache filling, then hitting),
//!   invalid tokens (refusals), and the Redis- and PostgreSQL-backed `Revocable` on every request
//!   (no cache; needs `redis-server` and Debian's `postgresql`, which the command starts on
//!   127.0.0.1, or the scenario is reported as skipped).

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
    /// The server's CPU time (user and system) per request, when measured.
    cpu: Option<Duration>,
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
    if Command::new("wrk").arg("--version").output().is_err() {
        return Err("`wrk` is not installed: apt-get install wrk (the load generator this command uses)".into());
    }
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
    let work = target.join("load");
    std::fs::create_dir_all(&work)?;
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
    let script = work.join("cookie.lua");
    std::fs::write(&script, WRK_SCRIPT)?;
    let lists = |name: &str, tokens: &[String]| -> Result<std::path::PathBuf, Error> {
        let path = work.join(name);
        std::fs::write(&path, tokens.join("\n"))?;
        Ok(path)
    };
    let (one_file, many_file, invalid_file) = (lists("one", &one)?, lists("many", &many)?, lists("invalid", &invalid)?);
    let wrk = |target: &Target, tokens: &Path, connections: usize| run_wrk(target, &script, tokens, connections);

    // The generator check, on one bare process.
    let bare = Target::start(&binary, "bare", &[])?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let by_hyper = runtime.block_on(load(bare.addr, &one))?;
    let by_wrk = wrk(&bare, &one_file, CONNECTIONS)?;
    let by_wrk_double = wrk(&bare, &one_file, 2 * CONNECTIONS)?;
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
    let layer = Target::start(&binary, "layer", &[])?;
    let before = match std::env::var_os("LOAD_BEFORE_BINARY") {
        Some(path) => Some(Target::start(Path::new(&path), "layer", &[])?),
        None => None,
    };
    let (mut bare_rounds, mut layer_rounds, mut before_rounds) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        eprintln!("round {round} of {ROUNDS} ...");
        bare_rounds.push(wrk(&bare, &one_file, CONNECTIONS)?);
        layer_rounds.push(wrk(&layer, &one_file, CONNECTIONS)?);
        if let Some(before) = &before {
            before_rounds.push(wrk(before, &one_file, CONNECTIONS)?);
        }
    }
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
        Some(Target::start(&binary, "layer", &[])?.load(&wrk, &many_file)?),
    ));
    rows.push((
        "layer, invalid tokens (refusals)",
        Some(Target::start(&binary, "layer", &[])?.load(&wrk, &invalid_file)?),
    ));
    match xtask::redis_server::RedisServer::start(&[]) {
        Ok(redis) => {
            let target = Target::start(&binary, "redis", &[("LOAD_REDIS_URL", &redis.url())])?;
            rows.push((
                "Revocable on Redis, every request a miss",
                Some(target.load(&wrk, &many_file)?),
            ));
        }
        Err(_) => rows.push(("Revocable on Redis (skipped: no redis-server)", None)),
    }
    match xtask::postgres_server::PostgresServer::start() {
        Ok(postgres) => {
            let target = Target::start(&binary, "postgres", &[("LOAD_DATABASE_URL", &postgres.url())])?;
            rows.push((
                "Revocable on PostgreSQL, every request a miss",
                Some(target.load(&wrk, &many_file)?),
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
    println!(
        "\ntarget: the cache-hit scenario at 95 % or more of bare axum's requests per second: {}",
        if met { "met" } else { "MISSED" }
    );
    Ok(met)
}

/// Alternating rounds of the layer against bare axum.
const ROUNDS: usize = 4;

/// wrk's script: each request carries the next cookie of the token list (its first argument),
/// and `done` prints the figures this command reads.
const WRK_SCRIPT: &str = r#"
local cookies = {}
local counter = 0
function init(args)
  for line in io.lines(args[1]) do cookies[#cookies + 1] = "auth-token=" .. line end
end
function request()
  counter = counter + 1
  return wrk.format("GET", "/me", { ["Cookie"] = cookies[(counter % #cookies) + 1] })
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("REQUESTS %d\nDURATION_US %d\nNON2XX %d\nSOCKET_ERRORS %d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout))
  io.write(string.format("P50 %d\nP99 %d\nP999 %d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
"#;

/// A load target process on 127.0.0.1, killed when dropped.
struct Target {
    addr: SocketAddr,
    _process: Process,
}

impl Target {
    fn start(binary: &Path, mode: &str, env: &[(&str, &str)]) -> Result<Target, Error> {
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
        eprintln!("{mode}: {} on {addr}", binary.display());
        Ok(Target {
            addr,
            _process: process,
        })
    }

    /// One measurement with `tokens`, then the process ends.
    fn load(
        self,
        wrk: &dyn Fn(&Target, &Path, usize) -> Result<Figures, Error>,
        tokens: &Path,
    ) -> Result<Figures, Error> {
        wrk(&self, tokens, CONNECTIONS)
    }

    /// The process's CPU time so far (user and system), from `/proc`.
    fn cpu(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self._process.0.id())).ok()?;
        // The fields after the command name (which may hold spaces): utime and stime are the
        // 12th and 13th of them.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
    }
}

/// Clock ticks per second of `/proc`'s CPU times (`getconf CLK_TCK`; 100 on Linux by default).
fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100)
}

/// A warm-up, then one measurement, by `wrk -t1 -c<connections>` with `script` over `tokens`,
/// and the target's CPU time per request during it.
fn run_wrk(target: &Target, script: &Path, tokens: &Path, connections: usize) -> Result<Figures, Error> {
    let url = format!("http://{}/me", target.addr);
    let run = |duration: Duration| -> Result<String, Error> {
        let output = Command::new("wrk")
            .args([
                "-t1",
                &format!("-c{connections}"),
                &format!("-d{}s", duration.as_secs()),
            ])
            .arg("-s")
            .arg(script)
            .arg(&url)
            .arg("--")
            .arg(tokens)
            .output()?;
        if !output.status.success() {
            return Err(format!("wrk failed: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    run(WARM_UP)?;
    let cpu_before = target.cpu();
    let report = run(MEASURE)?;
    let cpu_after = target.cpu();
    let value = |name: &str| -> Result<u64, Error> {
        report
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .ok_or_else(|| format!("wrk's report has no {name}: {report}").into())
    };
    Ok(Figures {
        requests: usize::try_from(value("REQUESTS ")?)?,
        errors: usize::try_from(value("NON2XX ")? + value("SOCKET_ERRORS ")?)?,
        seconds: value("DURATION_US ")? as f64 / 1e6,
        p50: Duration::from_micros(value("P50 ")?),
        p99: Duration::from_micros(value("P99 ")?),
        p999: Duration::from_micros(value("P999 ")?),
        cpu: match (cpu_before, cpu_after) {
            (Some(before), Some(after)) => {
                Some(after.saturating_sub(before) / u32::try_from(value("REQUESTS ")?.max(1)).unwrap_or(u32::MAX))
            }
            _ => None,
        },
    })
}

/// The round with the median requests per second.
fn median(rounds: &mut Vec<Figures>) -> Figures {
    rounds.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    let middle = rounds.len() / 2;
    rounds.swap_remove(middle)
}

fn micros(duration: Duration) -> String {
    format!("{} µs", duration.as_micros())
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
    })
}
