//! What every load measurement shares: the target processes (ours and the peers, each printing
//! `LISTENING <addr>`), `wrk` with its script, and the figures read from both.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(super) type Error = Box<dyn std::error::Error + Send + Sync>;

/// Keep-alive connections of one `wrk` thread.
pub(super) const CONNECTIONS: usize = 64;
pub(super) const WARM_UP: Duration = Duration::from_secs(2);
pub(super) const MEASURE: Duration = Duration::from_secs(8);
/// The HS256 secret of the load tokens, ours and jwt-authorizer's.
pub(super) const SECRET: &str = "cargo-xtask-load-secret-0123456789abcdef";

/// One measurement's figures.
pub(super) struct Figures {
    pub(super) requests: usize,
    pub(super) errors: usize,
    pub(super) seconds: f64,
    pub(super) p50: Duration,
    pub(super) p99: Duration,
    pub(super) p999: Duration,
    /// The server's CPU time (user and system) per request, when measured.
    pub(super) cpu: Option<Duration>,
    /// The server's peak resident memory (`VmHWM`) after the measurement, in KiB.
    pub(super) peak_kib: Option<u64>,
}

impl Figures {
    pub(super) fn per_second(&self) -> f64 {
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

/// A server on 127.0.0.1 answering `GET /me`, killed when dropped.
pub(super) struct Target {
    pub(super) addr: SocketAddr,
    process: Process,
}

impl Target {
    /// The release `load_target` in `mode` (see its module docs), with `env`.
    pub(super) fn ours(binary: &Path, mode: &str, env: &[(&str, &str)]) -> Result<Target, Error> {
        let mut command = Command::new(binary);
        command
            .env("LOAD_MODE", mode)
            .env("LOAD_SECRET", SECRET)
            .envs(env.iter().copied());
        Target::spawn(command, mode)
    }

    /// Runs `command` and waits for its `LISTENING <addr>` line.
    pub(super) fn spawn(mut command: Command, label: &str) -> Result<Target, Error> {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let process = Process(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("LISTENING ")
            .ok_or_else(|| format!("{label} said `{}`", line.trim()))?
            .parse()?;
        eprintln!("{label}: listening on {addr}");
        Ok(Target { addr, process })
    }

    /// The process's CPU time so far (user and system), from `/proc`.
    fn cpu(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.process.0.id())).ok()?;
        // The fields after the command name (which may hold spaces): utime and stime are the
        // 12th and 13th of them.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
    }

    /// The process's peak resident memory so far, in KiB, from `/proc`.
    fn peak_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.0.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
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

/// `wrk` with this command's script, written into the work folder.
pub(super) struct Wrk {
    script: PathBuf,
}

impl Wrk {
    /// Checks `wrk` is installed and writes its script into `work`.
    pub(super) fn new(work: &Path) -> Result<Wrk, Error> {
        if Command::new("wrk").arg("--version").output().is_err() {
            return Err("`wrk` is not installed: apt-get install wrk (the load generator this command uses)".into());
        }
        let script = work.join("cookie.lua");
        std::fs::write(&script, WRK_SCRIPT)?;
        Ok(Wrk { script })
    }

    /// A warm-up, then one measurement with [`CONNECTIONS`] connections.
    pub(super) fn measure(&self, target: &Target, cookies: &Path) -> Result<Figures, Error> {
        self.measure_with(target, cookies, CONNECTIONS)
    }

    /// A warm-up, then one measurement by `wrk -t1 -c<connections>` sending the `Cookie` header
    /// values of the file `cookies` in turn; the target's CPU time per request during it and its
    /// peak memory after it.
    pub(super) fn measure_with(&self, target: &Target, cookies: &Path, connections: usize) -> Result<Figures, Error> {
        let url = format!("http://{}/me", target.addr);
        let run = |duration: Duration| -> Result<String, Error> {
            let output = Command::new("wrk")
                .args([
                    "-t1",
                    &format!("-c{connections}"),
                    &format!("-d{}s", duration.as_secs()),
                ])
                .arg("-s")
                .arg(&self.script)
                .arg(&url)
                .arg("--")
                .arg(cookies)
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
        let requests = value("REQUESTS ")?;
        Ok(Figures {
            requests: usize::try_from(requests)?,
            errors: usize::try_from(value("NON2XX ")? + value("SOCKET_ERRORS ")?)?,
            seconds: value("DURATION_US ")? as f64 / 1e6,
            p50: Duration::from_micros(value("P50 ")?),
            p99: Duration::from_micros(value("P99 ")?),
            p999: Duration::from_micros(value("P999 ")?),
            cpu: match (cpu_before, cpu_after) {
                (Some(before), Some(after)) => {
                    Some(after.saturating_sub(before) / u32::try_from(requests.max(1)).unwrap_or(u32::MAX))
                }
                _ => None,
            },
            peak_kib: target.peak_kib(),
        })
    }
}

/// Writes `values` (`Cookie` header values), one per line, to `work/name`.
pub(super) fn cookie_file(work: &Path, name: &str, values: &[String]) -> Result<PathBuf, Error> {
    let path = work.join(name);
    std::fs::write(&path, values.join("\n"))?;
    Ok(path)
}

/// The round with the median requests per second.
pub(super) fn median(rounds: &mut Vec<Figures>) -> Figures {
    rounds.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    let middle = rounds.len() / 2;
    rounds.swap_remove(middle)
}

pub(super) fn micros(duration: Duration) -> String {
    format!("{} µs", duration.as_micros())
}

/// wrk's script: each request carries the next `Cookie` value of the list (its first argument),
/// and `done` prints the figures this command reads.
const WRK_SCRIPT: &str = r#"
local cookies = {}
local counter = 0
function init(args)
  for line in io.lines(args[1]) do cookies[#cookies + 1] = line end
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
