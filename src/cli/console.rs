//! `samverkan console hash-password`: the argon2id PHC string of a password read from stdin,
//! for `password_hash` in `[[console.users]]`.
//!
//! The password is read from stdin, never taken as an argument, so it stays out of the shell's
//! history and the process list. Only the first line counts (without its line ending), so
//! `printf '%s' "$PW" | samverkan console hash-password` and typing it both work.

use std::io::{BufRead, Write};

use anyhow::{Context, anyhow};
use clap::Subcommand;

use super::Status;

/// `samverkan console …`
#[derive(Debug, Subcommand)]
pub enum ConsoleCommand {
    /// Read a password from stdin and print its argon2id PHC string (for `password_hash`).
    HashPassword,
}

/// Hash the first line of `input`.
pub(super) fn hash_password(
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(anyhow!("no password on stdin"));
    }
    let hash = crate::console::hash_password(password)?;
    writeln!(out, "{hash}")?;
    Ok(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_is_hashed_and_an_empty_one_refused() {
        let mut out = Vec::new();
        let status = hash_password(&mut "s3cret pass\nignored\n".as_bytes(), &mut out);
        assert_eq!(status.expect("hashed"), Status::Ok);
        let hash = String::from_utf8(out).expect("utf8");
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains("s3cret"));
        assert!(hash_password(&mut "\n".as_bytes(), &mut Vec::new()).is_err());
    }
}
