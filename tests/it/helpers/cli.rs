//! The `samverkan` binary as a child process, with no `SAMVERKAN…` configuration inherited.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Run the binary with `args`, `stdin` and, of the `SAMVERKAN…` environment, only `env`.
pub fn samverkan_with(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_samverkan"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SAMVERKAN")) {
        cmd.env_remove(key);
    }
    let mut child = cmd
        .envs(env.iter().copied())
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn samverkan");
    // A child that refuses its arguments exits without reading stdin; writing to the closed
    // pipe then fails, and that is not the test's business: its output says what happened.
    match child.stdin.take().expect("stdin").write_all(stdin) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => panic!("write stdin: {e}"),
    }
    child.wait_with_output().expect("samverkan finishes")
}

/// A new API token for `org` from `samverkan tokens issue`, on the store at `store_url`, with
/// the sample organisations.
pub fn issue_token(store_url: &str, org: &str) -> String {
    let config = super::repo_path("config/sample.toml");
    let config = config.to_str().expect("UTF-8 path");
    let args = ["--config", config, "tokens", "issue", org];
    let output = samverkan_with(&args, b"", &[("SAMVERKAN__STORE__URL", store_url)]);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}
