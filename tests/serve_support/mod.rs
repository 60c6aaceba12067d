//! Helpers for the serve tests: start the real binary as a server on 127.0.0.1 (port
//! chosen by the system, read from its first lines), keep its stderr, stop or kill it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_audit2role");

pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// A running server.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT` or `https://...`.
    pub base: String,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `audit2role serve ARGS` (which must include `--listen 127.0.0.1:0`) and waits
    /// until it listens.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with(args, |_| {})
    }

    /// [`Server::start`] with a chance to change the command (limits, environment).
    pub fn start_with(args: &[&str], adjust: impl FnOnce(&mut Command)) -> Server {
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        adjust(&mut command);
        let mut child = command.spawn().expect("the server starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(at) = line.find("listening on ") {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(line[at + "listening on ".len()..].to_string());
                        }
                    }
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let base = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "the server did not start ({status:?}): {}",
                    log.lock().unwrap()
                );
            }
        };
        Server { child, base, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM, and the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop at SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CLI's output for `args`.
/// The server's `/metrics` text.
pub async fn metrics_text(c: &reqwest::Client, s: &Server) -> String {
    c.get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub fn cli(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("the CLI runs")
}

/// A small deterministic generator (xorshift), so that tests need no extra crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// In `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// An `EventList` body of `lines` (JSON events, one per line).
pub fn event_list(lines: &[&str]) -> String {
    format!(
        "{{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{{}},\"items\":[{}]}}",
        lines.join(",")
    )
}

/// A log from the shared generator.
pub fn generated_log(dir: &Path, events: u64, seed: u64, subjects: u64) -> PathBuf {
    let out = dir.join(format!("gen-{seed}.log"));
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/gen_audit_log.py");
    let status = Command::new("python3")
        .arg(tool)
        .args(["--events", &events.to_string()])
        .args(["--seed", &seed.to_string()])
        .args(["--subjects", &subjects.to_string()])
        .args(["--body-ratio", "0.01"])
        .arg("--out")
        .arg(&out)
        .status()
        .expect("python3 runs");
    assert!(status.success());
    out
}
