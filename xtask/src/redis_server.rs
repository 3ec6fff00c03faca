//! The one `redis-server` launcher: a real server on a free 127.0.0.1 port, stopped when dropped.
//! `cargo xtask load` uses it from this crate, the integration tests through this crate (as a
//! dev-dependency), and the Redis benchmarks of `auth-runtime` include this file (`#[path]`), so
//! it needs nothing but the standard library.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `redis-server`; stopped when dropped.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// Extra command-line arguments, kept for restarts.
    args: Vec<String>,
}

impl RedisServer {
    /// Starts a server with `args` besides ours (`--rename-command`, say) and waits until it says
    /// it accepts connections. An error when `redis-server` is missing or does not start.
    pub fn start(args: &[&str]) -> Result<RedisServer, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|error| format!("no free port: {error}"))?
            .port();
        let mut server = RedisServer {
            port,
            child: None,
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        };
        server.restart()?;
        Ok(server)
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops the server (as a crash would: no shutdown command, the process is killed).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it says it accepts
    /// connections (its log line, read from its output: an event, not a clock).
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "notice"])
            .args(&self.args)
            .stdout(Stdio::piped())
            .current_dir(std::env::temp_dir())
            .spawn()
            .map_err(|error| format!("redis-server does not start: {error}"))?;
        let output = child.stdout.take();
        self.child = Some(child);
        let mut log = BufReader::new(output.ok_or("redis-server's output is not piped")?);
        let mut line = String::new();
        loop {
            line.clear();
            let read = log
                .read_line(&mut line)
                .map_err(|error| format!("reading redis-server's output: {error}"))?;
            if read == 0 {
                return Err(format!("redis-server on port {} exited before it was ready", self.port));
            }
            if line.contains("Ready to accept connections") {
                break;
            }
        }
        // Keep reading what it logs later, so its output pipe never fills.
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        if self.ping() {
            Ok(())
        } else {
            Err(format!("redis-server on port {} does not answer", self.port))
        }
    }

    /// Sends one command in Redis's inline form and returns the first line of the reply.
    pub fn command(&self, command: &str) -> Result<String, String> {
        let failed = |error: std::io::Error| format!("`{command}` to redis-server: {error}");
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(failed)?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(failed)?;
        stream.write_all(format!("{command}\r\n").as_bytes()).map_err(failed)?;
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while stream.read(&mut byte).map_err(failed)? == 1 && byte[0] != b'\n' {
            reply.push(byte[0]);
        }
        Ok(String::from_utf8_lossy(&reply).trim_end().to_owned())
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
