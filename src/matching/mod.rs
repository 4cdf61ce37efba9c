//! Matching: which courses and companies should receive a need, with scores and reasons.
//!
//! Pure code over plain data: a [`NeedProfile`] extracted from the need, the
//! [`Catalogue`], [`MatchOptions`] and today's date go in; a [`MatchOutcome`] comes out.
//! No I/O and no system clock — the date is an argument ([`crate::clock`]), so the same need,
//! catalogue and date always give the same outcome, down to the order of ties.
//!
//! The steps:
//!
//! 1. **Gates** (`gates`): may the need leave the region at all? Visibility `internal`, no
//!    consent to share, unscanned attachments, stage `idea` or closed, no need owner, a past
//!    deadline, or no targets stop it; *all* failed gates are reported.
//! 2. **Candidates** from the topic index: only entries sharing at least one topic with the
//!    need are looked at — never the whole catalogue. A need without tags therefore matches
//!    nothing; it is reported as `no_tags` rather than compared with everything.
//! 3. **Filters and score** per candidate: courses in `course`, companies in `partner`;
//!    the score formula and the bound that skips hopeless candidates are in `rank`.
//! 4. **Top N**: per university for courses, overall for companies; reasons are formatted
//!    for these only.
//!
//! When nobody is routed to, the outcome says why: the failed gates, or `no_match` with what
//! the candidates failed on. That sentence becomes the `unmatched` need status.

mod context;
mod course;
mod explain;
mod filter;
pub(crate) mod gates;
pub(crate) mod outcome;
mod partner;
pub(crate) mod profile;
pub(crate) mod rank;
mod reasons;
#[cfg(test)]
mod testkit;

use time::Date;

use crate::catalogue::Catalogue;
use context::{Ctx, Work};

pub use crate::clock::{Clock, FixedClock, REFERENCE_DATE, SystemClock};
pub use crate::settings::MatchOptions;
pub use filter::{Excluded, Exclusions, Filter};
pub use outcome::{Blocker, CompanyMatch, CourseMatch, MatchOutcome, NotRouted, UniversityMatches};
pub use profile::{CallRequest, NeedLanguage, NeedProfile, ProfileError, Stage};

/// Matches one need against the catalogue on `today` (Europe/Stockholm).
#[must_use]
pub fn match_need(
    profile: &NeedProfile,
    catalogue: &Catalogue,
    options: &MatchOptions,
    today: Date,
) -> MatchOutcome {
    match_need_for(profile, catalogue, options, today, &|_| true)
}

/// [`match_need`], with reasons and shared topics written only for the matches of the
/// organisations `explain` accepts (by university or partner id); the other matches come with
/// neither. Picks, scores, order and everything else are exactly those of [`match_need`].
///
/// The hub explains only the organisations it can route to: with a country's catalogue most
/// matched universities and partners are not configured in it, and their matches are dropped
/// unread (`routing::keep_configured`), so formatting their reasons would be wasted work.
#[must_use]
pub fn match_need_for(
    profile: &NeedProfile,
    catalogue: &Catalogue,
    options: &MatchOptions,
    today: Date,
    explain: &dyn Fn(&str) -> bool,
) -> MatchOutcome {
    let mut outcome = MatchOutcome::new(&profile.id);
    let blockers = gates::check(profile, today);
    if !blockers.is_empty() {
        outcome.not_routed = Some(NotRouted { blockers });
        return outcome;
    }
    if profile.tags.is_empty() {
        outcome.not_routed = Some(NotRouted {
            blockers: vec![Blocker::NoTags],
        });
        return outcome;
    }
    let ctx = Ctx::new(profile, catalogue, options, today, explain);
    let mut work = Work::default();
    if profile.wants_university {
        outcome.universities = course::match_courses(&ctx, &mut work);
    }
    if profile.call.is_some() {
        outcome.companies = partner::match_partners(&ctx, &mut work);
    }
    outcome.candidates_considered = work.considered;
    outcome.candidates_scored = work.scored;
    outcome.exclusions = work.into_exclusions();
    if !outcome.is_routed() {
        let detail = no_match_detail(profile, &outcome);
        outcome.not_routed = Some(NotRouted {
            blockers: vec![Blocker::NoMatch { detail }],
        });
    }
    outcome
}

/// The `no_match` sentence: what was asked for and what the candidates failed on.
fn no_match_detail(profile: &NeedProfile, outcome: &MatchOutcome) -> String {
    let asked = match (profile.wants_university, profile.call.is_some()) {
        (true, true) => "no course or company",
        (true, false) => "no course (the need asks for no company call)",
        (false, _) => "no company",
    };
    if outcome.candidates_considered == 0 {
        return format!(
            "{asked} shares a topic with the need ({})",
            profile.tags.join(", ")
        );
    }
    format!(
        "{asked} that shares a topic passes the filters: {}",
        outcome.exclusions.summary()
    )
}
