//! A real `redis-server` on 127.0.0.1, on a free port, for the tests that share a store between
//! instances: the one launcher (`xtask::redis_server`, which the benchmarks and `cargo xtask
//! load` use too), with the test's way of failing. Those tests are `#[ignore = "needs
//! redis-server"]`; run, they fail without the program (`.ci/run` installs Debian's).

#![allow(dead_code, reason = "each test file uses a different part of the helpers")]

use super::tools;

/// A running `redis-server`; stopped when dropped.
pub struct RedisServer(xtask::redis_server::RedisServer);

impl RedisServer {
    /// Starts a server on a free port; fails the test when `redis-server` is not installed.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// [`start`](Self::start) with extra `redis-server` arguments (`--rename-command`, say).
    pub fn start_with(args: &[&str]) -> RedisServer {
        tools::require("redis-server", "redis-server", &["--version"]);
        RedisServer(xtask::redis_server::RedisServer::start(args).unwrap_or_else(|error| panic!("{error}")))
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// Stops the server (as a crash would).
    pub fn stop(&mut self) {
        self.0.stop();
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&mut self) {
        self.0.restart().unwrap_or_else(|error| panic!("{error}"));
    }

    /// Sends one command in Redis's inline form and returns the first line of the reply.
    pub fn command(&self, command: &str) -> String {
        self.0.command(command).unwrap_or_else(|error| panic!("{error}"))
    }
}
