//! Reading a command's input: a file or `-` for stdin, never more than the size limit.
//!
//! A CLI that reads a 10 GiB file into memory before refusing it is a denial of service on the
//! operator's laptop. We read at most `limit + 1` bytes, which is enough to know the input is
//! too large, and report the real size when the file system can tell us.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The name stdin goes by on the command line and in reports.
pub(super) const STDIN: &str = "-";

/// What was read from one input.
#[derive(Debug)]
pub(super) enum Input {
    /// The whole input, at most `limit` bytes.
    Bytes(Vec<u8>),
    /// The input is larger than `limit`; `size` is its length when known, else `limit + 1`.
    TooLarge { size: usize },
}

/// Read `name` (a path, or `-` for stdin) up to `limit` bytes.
pub(super) fn read_limited(name: &str, limit: usize) -> io::Result<Input> {
    if name == STDIN {
        return read_from(io::stdin().lock(), limit, None);
    }
    let file = File::open(Path::new(name))?;
    let known = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if known.is_some_and(|len| len > limit as u64) {
        let size = known
            .and_then(|len| usize::try_from(len).ok())
            .unwrap_or(usize::MAX);
        return Ok(Input::TooLarge { size });
    }
    read_from(file, limit, known)
}

fn read_from(reader: impl Read, limit: usize, known: Option<u64>) -> io::Result<Input> {
    let mut bytes = Vec::with_capacity(known.map_or(8 * 1024, |len| len as usize));
    reader.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Ok(Input::TooLarge { size: bytes.len() });
    }
    Ok(Input::Bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_reading_past_the_limit() {
        let data = [b'x'; 100];
        match read_from(&data[..], 10, None).expect("read") {
            Input::TooLarge { size } => assert_eq!(size, 11),
            Input::Bytes(_) => panic!("should be too large"),
        }
        match read_from(&data[..], 100, None).expect("read") {
            Input::Bytes(b) => assert_eq!(b.len(), 100),
            Input::TooLarge { .. } => panic!("fits exactly"),
        }
    }
}
