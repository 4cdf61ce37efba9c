//! The docs match the code: the README lists every reason code and event type the hub has.

use samverkan::event::{EventType, RejectReason};

#[test]
fn readme_lists_every_reason_code_and_event_type() {
    let readme = std::fs::read_to_string(crate::repo_path("README.md")).expect("README.md");
    for reason in RejectReason::ALL {
        assert!(
            readme.contains(&format!("| `{reason}` |")),
            "README lacks reason code {reason}"
        );
    }
    for t in EventType::ALL {
        let row = format!("| `{}` |", t.as_str());
        assert!(readme.contains(&row), "README lacks event type {t}");
        assert!(
            readme.contains(&format!("`{}` |", t.schema_file())),
            "README lacks {t}'s schema"
        );
    }
}

#[test]
fn default_config_documents_every_section_the_readme_names() {
    let defaults = std::fs::read_to_string(crate::repo_path("config/default.toml")).expect("toml");
    for section in [
        "[amqp]",
        "[limits]",
        "[log]",
        "[pii]",
        "[store]",
        "[hub]",
        "[retention]",
        "[matching]",
        "[webhooks]",
    ] {
        assert!(
            defaults.contains(section),
            "config/default.toml lacks {section}"
        );
    }
}
