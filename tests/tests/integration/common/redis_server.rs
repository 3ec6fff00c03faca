//! A real `redis-server` on 127.0.0.1, on a free port, for the tests that share a store between
//! instances. Those tests are `#[ignore = "needs redis-server"]`; run, they fail without the
//! program (`.ci/run` installs Debian's `redis-server`).

#![allow(dead_code, reason = "each test file uses a different part of the helpers")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::tools;

/// A running `redis-server`; stopped when dropped.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// Extra command-line arguments, kept for restarts.
    args: Vec<String>,
}

impl RedisServer {
    /// Starts a server on a free port; fails the test when `redis-server` is not installed.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// [`start`](Self::start) with extra `redis-server` arguments (`--rename-command`, say).
    pub fn start_with(args: &[&str]) -> RedisServer {
        tools::require("redis-server", "redis-server", &["--version"]);
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer {
            port,
            child: None,
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        };
        server.restart();
        server
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
    pub fn restart(&mut self) {
        self.stop();
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "notice"])
            .args(&self.args)
            .stdout(Stdio::piped())
            .current_dir(std::env::temp_dir())
            .spawn()
            .expect("redis-server starts");
        let mut log = BufReader::new(child.stdout.take().expect("piped output"));
        self.child = Some(child);
        let mut line = String::new();
        loop {
            line.clear();
            let read = log.read_line(&mut line).expect("reads redis-server's output");
            assert!(
                read > 0,
                "redis-server on port {} exited before it was ready",
                self.port
            );
            if line.contains("Ready to accept connections") {
                break;
            }
        }
        // Keep reading what it logs later, so its output pipe never fills.
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        assert!(self.ping(), "redis-server on port {} does not answer", self.port);
    }

    /// Sends one command in Redis's inline form and returns the first line of the reply.
    pub fn command(&self, command: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connects to redis");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        stream.write_all(format!("{command}\r\n").as_bytes()).expect("writes");
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while stream.read(&mut byte).expect("reads") == 1 && byte[0] != b'\n' {
            reply.push(byte[0]);
        }
        String::from_utf8_lossy(&reply).trim_end().to_owned()
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
