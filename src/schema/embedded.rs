//! The schema files, embedded at compile time so the binary validates from any directory and
//! never fetches a schema over the network.

/// `(file name, contents)` of every schema under `schemas/`, common definitions first.
pub const SCHEMA_FILES: [(&str, &str); 13] = [
    (
        "common.v1.json",
        include_str!("../../schemas/common.v1.json"),
    ),
    ("need.v1.json", include_str!("../../schemas/need.v1.json")),
    (
        "need-withdrawn.v1.json",
        include_str!("../../schemas/need-withdrawn.v1.json"),
    ),
    (
        "challenge.v1.json",
        include_str!("../../schemas/challenge.v1.json"),
    ),
    ("call.v1.json", include_str!("../../schemas/call.v1.json")),
    (
        "challenge-withdrawn.v1.json",
        include_str!("../../schemas/challenge-withdrawn.v1.json"),
    ),
    ("offer.v1.json", include_str!("../../schemas/offer.v1.json")),
    (
        "proposal.v1.json",
        include_str!("../../schemas/proposal.v1.json"),
    ),
    (
        "need-status.v1.json",
        include_str!("../../schemas/need-status.v1.json"),
    ),
    (
        "course.v1.json",
        include_str!("../../schemas/course.v1.json"),
    ),
    (
        "course-removed.v1.json",
        include_str!("../../schemas/course-removed.v1.json"),
    ),
    (
        "partner.v1.json",
        include_str!("../../schemas/partner.v1.json"),
    ),
    (
        "message-rejected.v1.json",
        include_str!("../../schemas/message-rejected.v1.json"),
    ),
];

/// The contents of one embedded schema file, by file name.
pub fn schema_source(file: &str) -> Option<&'static str> {
    SCHEMA_FILES
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, text)| *text)
}
