//! `samverkan demo --serve` as a child process: started on a free port, its console URL read
//! from its output, stopped with SIGINT as a person stops it with Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the demo may take to tell its story and start serving (a debug build, a busy CI).
const START: Duration = Duration::from_secs(120);
/// How long it may take to stop after SIGINT.
const STOP: Duration = Duration::from_secs(30);

/// A running `samverkan demo --serve`; killed on drop if not stopped.
pub struct DemoServer {
    child: Child,
    /// The console's URL as printed, e.g. `http://127.0.0.1:41234/console/`.
    pub console_url: String,
    lines: mpsc::Receiver<String>,
    /// Everything the demo printed so far (for failure messages and checks).
    pub output: Vec<String>,
}

impl DemoServer {
    /// Start the demo on a free port and wait until it prints the console's URL.
    pub fn start() -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_samverkan"));
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SAMVERKAN")) {
            command.env_remove(key);
        }
        let mut child = command
            .args(["demo", "--serve", "--listen", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn samverkan demo --serve");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = mpsc::channel();
        // Read every line, so the demo never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut demo = DemoServer {
            child,
            console_url: String::new(),
            lines,
            output: Vec::new(),
        };
        demo.console_url = demo
            .await_line(START, |l| l.starts_with("console: http://"))
            .map_or_else(
                || {
                    panic!(
                        "demo --serve printed no URL within {START:?}:\n{}",
                        demo.text()
                    )
                },
                |line| {
                    let start = line.find("http://").expect("a URL");
                    line[start..]
                        .split_whitespace()
                        .next()
                        .expect("URL")
                        .to_owned()
                },
            );
        demo
    }

    /// The URL of `path` (absolute, e.g. `/console/login`) on the demo's listener.
    pub fn url(&self, path: &str) -> String {
        let origin = self
            .console_url
            .strip_suffix("/console/")
            .expect("the console URL ends in /console/");
        format!("{origin}{path}")
    }

    /// Wait up to `within` for an output line that satisfies `wanted`.
    fn await_line(&mut self, within: Duration, wanted: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else {
                return None;
            };
            self.output.push(line.clone());
            if wanted(&line) {
                return Some(line);
            }
        }
        None
    }

    /// What the demo printed so far.
    pub fn text(&self) -> String {
        self.output.join("\n")
    }

    /// Send SIGINT (Ctrl-C) and wait for the demo to exit; its status and the rest of its output.
    pub fn interrupt(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -INT {pid} failed");
        let deadline = Instant::now() + STOP;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "demo --serve did not stop within {STOP:?} of SIGINT:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends at EOF; whatever it read is in the channel.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.output.push(line);
        }
        (status, self.text())
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
