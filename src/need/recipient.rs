//! Who a need went to: each matched university or company, what kind it is (which decides what
//! it may answer) and its answer that currently counts.

use serde_json::Value;

use super::answer::LatestAnswer;
use crate::settings::OrgId;

/// Who a recipient is: it decides which decisions it may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecipientKind {
    /// Receives a challenge; answers with an offer or a decline.
    University,
    /// Receives an innovation call; answers with interest, a proposal or a decline.
    Company,
}

super::string_enum!(RecipientKind {
    University => "university",
    Company => "company",
});

/// A recipient of a need, with its latest answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// The university or company.
    pub org_id: OrgId,
    /// Which of the two.
    pub kind: RecipientKind,
    /// Match score.
    pub score: f64,
    /// Match reasons.
    pub reasons: Vec<String>,
    /// Matched courses.
    pub courses: Value,
    /// The answer that currently counts, if any.
    pub latest: Option<LatestAnswer>,
}
