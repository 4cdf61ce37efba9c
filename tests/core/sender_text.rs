//! Text a sender wrote never reaches a terminal raw: `samverkan validate` reports a hostile
//! event's property names and unknown type escaped, in text and in JSON. (`dead-letters list`
//! is checked in `dead_letters.rs`.)

use tempfile::TempDir;

use crate::read_json;
use crate::samverkan_with;

/// What must never be printed raw: ESC, BEL, a bidi override, an isolate.
const RAW: [char; 4] = ['\x1b', '\x07', '\u{202e}', '\u{2066}'];

#[test]
fn validate_escapes_what_a_hostile_file_wrote() {
    let dir = TempDir::new().expect("temp dir");
    let mut extra = read_json("schemas/examples/need.v1/valid/NEED-2026-0101.json");
    extra["data"]["\x1b[2J\x1b]0;owned\x07\u{202e}txt"] = 1.into();
    let mut unknown = read_json("schemas/examples/need.v1/valid/NEED-2026-0101.json");
    unknown["type"] = format!("se.evil\x1b[31m\u{2066}{}", "t".repeat(5000)).into();
    let mut files = Vec::new();
    for (name, event) in [("extra.json", extra), ("unknown.json", unknown)] {
        let path = dir.path().join(name);
        std::fs::write(&path, event.to_string()).expect("write");
        files.push(path.display().to_string());
    }
    for format in ["text", "json"] {
        let mut args = vec!["validate", "--format", format];
        args.extend(files.iter().map(String::as_str));
        let output = samverkan_with(&args, b"", &[]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stdout = String::from_utf8(output.stdout).expect("UTF-8");
        for raw in RAW {
            assert!(!stdout.contains(raw), "{format}: {raw:?} printed raw");
        }
        // What a person reads (JSON strings decoded): the escapes, bounded.
        let read = if format == "json" {
            let reports: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
            format!("{reports}").replace(r"\\", r"\")
        } else {
            stdout
        };
        assert!(
            read.contains(r"\u{1b}[2J\u{1b}]0;owned\u{7}\u{202e}txt"),
            "{format}: {read}"
        );
        // The type may be refused for its length or its characters before it is looked up;
        // whichever refusal names it, it is escaped (above) and bounded.
        assert!(!read.contains(&"t".repeat(500)), "{format}: not bounded");
    }
}
