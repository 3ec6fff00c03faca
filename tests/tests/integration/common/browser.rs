//! A real headless Chromium for the browser tests: Debian's `chromedriver` started on a free
//! 127.0.0.1 port, one WebDriver session per browser (each a fresh profile: its own cookies), and
//! a screenshot of every step under the target directory.
//!
//! Screenshots go to `target/tmp/browser/<test>/NN-<step>.png`, written when the step happens and
//! before anything about it is asserted, so the last one of a failed test shows the page it failed
//! on. The folder is emptied when the test starts, so it only ever holds one run.

#![allow(dead_code, reason = "each test uses a different part of the helpers")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use super::tools::require;

/// How long a page gets to show what a step waits for. Generous: two cores, shared with builds
/// and other tests. A wait ends as soon as the page is there; this only bounds a failure.
const PAGE_WAIT: Duration = Duration::from_secs(20);

/// The chromedriver process, stopped on drop with every browser it started, whether the test
/// passed or failed (a failed test never reaches `Browser::close`, and killing chromedriver alone
/// would leave its Chromium running).
pub struct Driver {
    child: Child,
    addr: SocketAddr,
    url: String,
    sessions: Mutex<Vec<String>>,
}

impl Driver {
    /// Starts `chromedriver` on a free port and waits until it answers; fails the test, saying
    /// what to install, when chromium or chromium-driver is missing.
    pub fn start() -> Driver {
        require("Chromium (apt install chromium)", "chromium", &["--version"]);
        require(
            "ChromeDriver (apt install chromium-driver)",
            "chromedriver",
            &["--version"],
        );
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        while TcpStream::connect(addr).is_err() {
            assert!(started.elapsed() < PAGE_WAIT, "chromedriver did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            addr,
            url: format!("http://{addr}"),
            sessions: Mutex::new(Vec::new()),
        }
    }

    /// A new headless browser with a fresh profile (no cookies, no history), taking its
    /// screenshots into `target/tmp/browser/<test>/` with file names starting `<prefix>`.
    pub async fn browser(&self, test: &str, prefix: &str) -> Browser {
        let options = serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new",
                // The tests may run as root (CI containers), where Chromium's sandbox cannot start.
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--window-size=900,800",
                "--no-first-run",
                "--disable-extensions",
                // Nothing leaves 127.0.0.1: no sync, no component updates, no safe-browsing lookups.
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".to_owned(), "chrome".into());
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a WebDriver session in headless Chromium");
        if let Ok(Some(id)) = client.session_id().await {
            self.sessions.lock().unwrap_or_else(PoisonError::into_inner).push(id);
        }
        let dir = screenshot_dir(test);
        Browser {
            client,
            dir,
            prefix: prefix.to_owned(),
            step: 0,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // WebDriver's "delete session" quits that browser; one already closed answers 404.
        let sessions = self.sessions.get_mut().unwrap_or_else(PoisonError::into_inner);
        for id in sessions.drain(..) {
            if let Ok(mut stream) = TcpStream::connect(self.addr) {
                let _ = stream.set_read_timeout(Some(PAGE_WAIT));
                let request = format!(
                    "DELETE /session/{id} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    self.addr
                );
                let _ = stream.write_all(request.as_bytes());
                // chromedriver answers once the browser has quit; its headers are enough.
                let mut reply = Vec::new();
                let mut chunk = [0; 512];
                while !reply.windows(4).any(|end| end == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(read) => reply.extend_from_slice(&chunk[..read]),
                    }
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `target/tmp/browser/<test>`, emptied.
fn screenshot_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser").join(test);
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    dir
}

/// Empties a test's screenshot folder, once at its start.
pub fn clear_screenshots(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    eprintln!("screenshots of this test: {}", dir.display());
    dir
}

/// One browser (one WebDriver session, one profile).
pub struct Browser {
    pub client: Client,
    dir: PathBuf,
    prefix: String,
    step: u32,
}

impl Browser {
    /// Saves a screenshot of the page as it is now, named after the step.
    pub async fn shot(&mut self, step: &str) {
        self.step += 1;
        let name = format!("{}{:02}-{step}.png", self.prefix, self.step);
        // A page still navigating cannot be captured ("not attached to an active page"): three
        // tries, 200 ms apart.
        let mut png = self.client.screenshot().await;
        for _ in 0..2 {
            if png.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            png = self.client.screenshot().await;
        }
        let png = png.expect("a screenshot");
        std::fs::write(self.dir.join(&name), png).expect("the screenshot is written");
    }

    /// Opens `url` and screenshots the page as `step`.
    pub async fn open(&mut self, url: &str, step: &str) {
        self.client.goto(url).await.expect("the page opens");
        self.shot(step).await;
    }

    /// Opens `url` without a screenshot: for a page that navigates on by itself (redirects, a
    /// form that submits itself), where a screenshot would race the next navigation.
    pub async fn go(&mut self, url: &str) {
        self.client.goto(url).await.expect("the page opens");
    }

    /// Waits until the address ends with `suffix` (twenty seconds at most), then screenshots the
    /// page as `step`; on a timeout fails with where the browser is and what it shows.
    pub async fn wait_for_url_ending(&mut self, suffix: &str, step: &str) {
        let started = Instant::now();
        while !self.url().await.ends_with(suffix) {
            if started.elapsed() > PAGE_WAIT {
                panic!(
                    "waited for an address ending {suffix:?}; at {}: {}",
                    self.url().await,
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.shot(step).await;
    }

    /// Waits until the page's text contains `text`, then screenshots it as `step`; on a timeout
    /// screenshots what is there and fails with the page's text.
    pub async fn wait_for_text(&mut self, text: &str, step: &str) {
        let started = Instant::now();
        loop {
            let body = self.text().await;
            if body.contains(text) {
                self.shot(step).await;
                return;
            }
            if started.elapsed() > PAGE_WAIT {
                self.shot(&format!("{step}-timed-out")).await;
                panic!("waited for {text:?} on {}; the page says:\n{body}", self.url().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The visible text of the page (empty while it loads).
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The current address.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|url| url.to_string())
            .unwrap_or_default()
    }

    /// Types `value` into the field labelled `label` (found through its `<label>`, as a screen
    /// reader finds it: the test fails if a field has no label).
    pub async fn fill(&self, label: &str, value: &str) {
        let xpath = format!("//label[normalize-space(.)={label:?} or normalize-space(text())={label:?}]");
        let label_element = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|_| panic!("a field labelled {label:?}"));
        let field = match label_element.attr("for").await.expect("the label's for") {
            Some(id) => self
                .client
                .find(Locator::Id(&id))
                .await
                .unwrap_or_else(|_| panic!("the field {id:?} that the label {label:?} names")),
            None => label_element
                .find(Locator::Css("input"))
                .await
                .unwrap_or_else(|_| panic!("a field inside the label {label:?}")),
        };
        field.clear().await.expect("the field clears");
        field.send_keys(value).await.expect("typing into the field");
    }

    /// Clicks the button whose text is `text`.
    pub async fn click(&self, text: &str) {
        self.click_at(
            &format!("//button[normalize-space(.)={text:?}]"),
            &format!("a button {text:?}"),
        )
        .await;
    }

    /// Clicks the link whose text is `text`.
    pub async fn click_link(&self, text: &str) {
        self.click_at(
            &format!("//a[normalize-space(.)={text:?}]"),
            &format!("a link {text:?}"),
        )
        .await;
    }

    /// Clicks the element at `xpath`, which the test describes as `what`.
    async fn click_at(&self, xpath: &str, what: &str) {
        self.client
            .find(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|_| panic!("{what}"))
            .click()
            .await
            .unwrap_or_else(|error| panic!("{what} clicks: {error}"));
    }

    /// Clicks the element whose `id` is `id` (a link another site's page offers, say).
    pub async fn click_id(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|_| panic!("an element #{id}"))
            .click()
            .await
            .expect("the element clicks");
    }

    /// The browser's cookie `name` for the current page's site, if it has one.
    pub async fn cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.client.get_named_cookie(name).await.ok()
    }

    /// Ends the WebDriver session (the browser quits).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A port no one listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}
