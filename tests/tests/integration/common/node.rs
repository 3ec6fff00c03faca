//! The one way the tests run a Node.js server (OpenAuth's issuer, better-auth, `oidc-provider`):
//! `node <script> <args>` in a folder of ours, ready once it prints `READY <address>`, and
//! stopped when the handle is dropped, however the test ends.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running Node.js server.
pub struct NodeServer {
    child: Child,
    /// What the server printed after `READY ` (its base URL or issuer).
    pub ready: String,
}

impl NodeServer {
    /// Starts `node <script> <args>` in `dir` with `env`, and waits (a minute at most) for its
    /// `READY` line; `watch` sees every line of its output, from another thread.
    pub fn start(
        dir: &Path,
        script: &str,
        args: &[String],
        env: &[(&str, &str)],
        watch: impl Fn(&str) + Send + 'static,
    ) -> NodeServer {
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready, address) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("READY ") {
                    let _ = ready.send(address.to_owned());
                }
                watch(&line);
            }
        });
        // Dropped (and so stopped) if it never says READY.
        let mut server = NodeServer {
            child,
            ready: String::new(),
        };
        server.ready = address
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{script} in {} prints READY within a minute", dir.display()));
        server
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
