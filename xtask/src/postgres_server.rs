//! The one throwaway PostgreSQL launcher: a cluster made with `initdb` in a fresh folder, run with
//! `pg_ctl` on a free 127.0.0.1 port, stopped and removed when dropped. The tests use it through
//! this crate; `cargo xtask load` too. `initdb` refuses to run as root: as root, every command runs
//! as the package's `postgres` user (`runuser`). Needs nothing but the standard library.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running throwaway cluster; stopped and its folder removed when dropped.
pub struct PostgresServer {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
}

impl PostgresServer {
    /// Makes a cluster (trust authentication for the `postgres` user, on 127.0.0.1 only) and
    /// starts it. An error when PostgreSQL's programs are missing or it does not start.
    pub fn start() -> Result<PostgresServer, String> {
        let bin = bin_dir().ok_or("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|error| format!("no free port: {error}"))?
            .port();
        let data = std::env::temp_dir().join(format!("auth-postgres-{}-{port}", std::process::id()));
        let mut server = PostgresServer {
            bin,
            data,
            port,
            as_postgres: is_root(),
            running: false,
        };
        let data = server.data.display().to_string();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        )?;
        server.restart()?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: as a crash would, no shutdown
    /// checkpoint); its data stays.
    pub fn stop(&mut self) {
        if self.running {
            let data = self.data.display().to_string();
            let _ = self.run("pg_ctl", &["stop", "-D", &data, "-m", "immediate", "-w"]);
            self.running = false;
        }
    }

    /// Starts the server (again) on the same port with the same data, and waits until it accepts
    /// connections (`pg_ctl -w`).
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        let data = self.data.display().to_string();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {data} -c fsync=off -c max_connections=200",
            self.port
        );
        let log = self.data.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &["start", "-D", &data, "-w", "-t", "60", "-l", &log, "-o", &options],
        )?;
        self.running = true;
        Ok(())
    }

    /// Freezes the server and every backend (`SIGSTOP`): connections stay open and answer
    /// nothing, as over a network that went silent. [`resume`](Self::resume) thaws them.
    pub fn pause(&self) -> Result<(), String> {
        self.signal("-STOP")
    }

    /// Thaws what [`pause`](Self::pause) froze (`SIGCONT`).
    pub fn resume(&self) -> Result<(), String> {
        self.signal("-CONT")
    }

    /// Sends `signal` to the postmaster (its pid is the first line of `postmaster.pid`) and to
    /// its children, the backends.
    fn signal(&self, signal: &str) -> Result<(), String> {
        let pidfile = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .map_err(|error| format!("the server is not running: {error}"))?;
        let pid = pidfile.lines().next().unwrap_or_default().trim().to_owned();
        let _ = Command::new("pkill").args([signal, "-P", &pid]).status();
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .map_err(|error| format!("kill: {error}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill {signal} {pid} failed"))
        }
    }

    /// Runs one of PostgreSQL's programs (as `postgres` when we are root); an error with its
    /// output when it fails.
    fn run(&self, program: &str, args: &[&str]) -> Result<Output, String> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .current_dir(std::env::temp_dir())
            .output()
            .map_err(|error| format!("{program} does not start: {error}"))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(format!(
                "{program} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb` (Debian's layout).
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// Whether PostgreSQL's server programs are installed.
pub fn installed() -> bool {
    bin_dir().is_some_and(|bin| Path::new(&bin).join("pg_ctl").exists())
}
