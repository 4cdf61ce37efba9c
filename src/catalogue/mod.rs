//! Reference data: university courses and company partners, indexed by topic.
//!
//! Universities send `course.upserted` / `course.removed` events, the partner registry sends
//! `partner.upserted`; at start-up the sample catalogues and registry can be loaded from files.
//! Either way the entries end up in one [`Catalogue`], which the matcher reads.
//!
//! Why a catalogue of its own rather than the raw JSON:
//!
//! - **Identity.** A course is identified by its university *and* its code. The university is
//!   the sender of the event (or the owner of the file), never a field of the course data, so
//!   a university cannot publish courses under another's name.
//! - **Speed.** Matching a need must not scan every entry. Entries are indexed
//!   by topic (`index`), each posting carries a `digest` of the entry's filter facts, the
//!   text is tokenized once at upsert, and only entries that could ever be routed to are
//!   indexed at all.
//! - **Typed data.** [`model`] keeps only the fields matching reads, as enums and dates.
//!
//! Loading a file validates each entry against its schema; a bad entry is reported in the
//! [`LoadReport`] and the rest still load.
//!
//! **Kinds.** A partner entry's id must be a configured company (`check_kind`); a course's
//! university is the sender of `course.upserted` (which only a university may send) or the
//! configured owner of a catalogue file, which must be a configured university.

pub(crate) mod digest;
mod entries;
pub(crate) mod index;
mod load;
pub mod model;
pub mod synthetic;

use std::path::PathBuf;

use thiserror::Error;

use crate::event::Issue;
use crate::settings::{OrgIdError, OrgKind};

pub use entries::Catalogue;
pub(crate) use entries::{CourseSlot, InstancePlan, PartnerSlot};
pub use load::{EntryError, LoadReport, strip_annotations};
pub use model::{Course, Partner};

/// Why a catalogue entry or file could not be taken in.
#[derive(Debug, Error)]
pub enum CatalogueError {
    /// The university or partner id is not an organisation id.
    #[error("{org:?} is not an organisation id: {source}")]
    InvalidOrg {
        /// The id as given.
        org: String,
        /// What is wrong with it.
        source: OrgIdError,
    },
    /// The organisation an entry belongs to is not configured as the kind that owns such
    /// entries: a partner must be a configured company, a course's owner a configured
    /// university. Otherwise a region could receive calls, or one organisation could be matched
    /// as two kinds.
    #[error("`{id}` is not a configured {expected}: {}", found_text(*.found))]
    WrongKind {
        /// The partner id or university.
        id: String,
        /// The kind that owns such entries.
        expected: OrgKind,
        /// The kind configured for `id`, if any.
        found: Option<OrgKind>,
    },
    /// Course data that matching cannot read.
    #[error("course {code:?} of {org} cannot be read: {source}")]
    InvalidCourse {
        /// The university.
        org: String,
        /// The course code, when the data has one.
        code: Option<String>,
        /// The first problem found.
        source: serde_json::Error,
    },
    /// Partner data that matching cannot read.
    #[error("partner {id:?} cannot be read: {source}")]
    InvalidPartner {
        /// The partner id, when the data has one.
        id: Option<String>,
        /// The first problem found.
        source: serde_json::Error,
    },
    /// An entry fails its schema (file loading only; events are validated before).
    #[error("entry fails its schema: {}", issues_text(.issues))]
    SchemaInvalid {
        /// Where and what, without values.
        issues: Vec<Issue>,
    },
    /// More distinct topics than a topic bitset holds.
    #[error(
        "topic {topic:?} does not fit: the index holds at most {} topics",
        index::MAX_TOPICS
    )]
    TooManyTopics {
        /// The topic that did not fit.
        topic: String,
    },
    /// More universities than the index numbers (65,536).
    #[error("too many universities for the catalogue index")]
    TooManyUniversities,
    /// `course.removed` for a course the catalogue does not hold.
    #[error("{org} has no course {code}")]
    UnknownCourse {
        /// The university.
        org: String,
        /// The course code.
        code: String,
    },
    /// `course.removed` for an instance the course does not have.
    #[error("course {code} of {org} has no instance {instance}")]
    UnknownInstance {
        /// The university.
        org: String,
        /// The course code.
        code: String,
        /// The instance id.
        instance: String,
    },
    /// A catalogue file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A catalogue document is not JSON.
    #[error("catalogue document is not JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// A catalogue document lacks its entry array.
    #[error("catalogue document has no `{0}` array")]
    NoEntries(&'static str),
}

fn found_text(found: Option<OrgKind>) -> String {
    found.map_or_else(
        || "no organisation with this id is configured".to_owned(),
        |kind| format!("it is configured as a {kind}"),
    )
}

/// `Ok` when `kind_of(id)`, the configured kind of `id`, is `expected`.
///
/// # Errors
///
/// [`CatalogueError::WrongKind`] otherwise.
pub(crate) fn check_kind(
    id: &str,
    expected: OrgKind,
    kind_of: &dyn Fn(&str) -> Option<OrgKind>,
) -> Result<(), CatalogueError> {
    let found = kind_of(id);
    if found == Some(expected) {
        return Ok(());
    }
    Err(CatalogueError::WrongKind {
        id: id.to_owned(),
        expected,
        found,
    })
}

fn issues_text(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|issue| format!("{}: {}", issue.instance_path, issue.message))
        .collect::<Vec<_>>()
        .join("; ")
}
