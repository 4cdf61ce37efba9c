//! Courses: hard filters, score and reasons, top N per university.
//!
//! Filters, in order: the data policy fits the need's visibility; some case intake is open
//! today; the course is not already among the need's matches; then per instance: intake
//! open today, a case left, first study period ends by the need's deadline. An excluded
//! course is reported under the furthest instance filter any of its instances reached. The
//! instance offered is the best one that passes: a preferred study period first, then the
//! earliest period (the tie-break in docs/matching.md). The first two filters are answered from the
//! posting's [`Digest`], and for a course with one open intake (most courses) the instance
//! filters and the instance offered too, so most candidates never touch their instances and
//! failing ones not even their entry.
//!
//! Two judgement calls, both because the contract's own examples require them:
//!
//! - **Language** is a ranking part, not a filter: the published challenge for
//!   NEED-2026-0101 sends a Swedish need to English-taught Chalmers courses. Swedish students
//!   read both; the reasons say when languages differ.
//! - **Data policy vs. visibility**: a `public` need fits any course that takes cases. A
//!   `partners_nda` need fits a course whose students can sign an NDA, or one that only takes
//!   aggregated/anonymised or synthetic data under the region's data terms (TEK901, OMV901 in
//!   the examples); a `no_personal_data` course without NDA gets public needs only.

use time::Date;

use super::context::{Ctx, Work};
use super::explain;
use super::filter::Filter;
use super::outcome::{CourseMatch, UniversityMatches};
use super::profile::NeedLanguage;
use super::rank::{Candidates, Pick, TopN, combine, single_topic_candidates, text_score};
use crate::catalogue::digest::Digest;
use crate::catalogue::index::{Posting, TopicId, TopicSet};
use crate::catalogue::model::{ExternalCases, Instance, IntakeStatus, LanguageCode};
use crate::catalogue::{CourseSlot, InstancePlan};
use crate::dates::date_of_day;

/// Fit weights: preferred university, preferred period, language.
const FIT_UNIVERSITY: f64 = 0.5;
const FIT_PERIOD: f64 = 0.3;
const FIT_LANGUAGE: f64 = 0.2;

/// Matches the need against the catalogue's courses; one group per university.
pub(super) fn match_courses(ctx: &Ctx<'_>, work: &mut Work) -> Vec<UniversityMatches> {
    let catalogue = ctx.catalogue;
    let candidates = Candidates::collect(&catalogue.course_index, &ctx.ordered, ctx.need_topics);
    work.considered += candidates.considered;
    let preferred: Vec<bool> = catalogue
        .universities()
        .iter()
        .map(|org| ctx.profile.preferred_universities.contains(org))
        .collect();
    let mut run = Run {
        ctx,
        groups: vec![TopN::new(ctx.options.max_courses_per_university); preferred.len()],
        preferred,
        work,
    };
    for (overlap, posting) in candidates.descending(ctx.need_topics) {
        run.consider(posting, overlap);
    }
    if let Some(topics) = run.single_topic_scope() {
        let index = &catalogue.course_index;
        single_topic_candidates(index, &topics, ctx.need_topics, |posting| {
            run.consider(posting, 1);
        });
    }
    collect_groups(ctx, run.groups)
}

/// The state of one course match: a top N per university.
struct Run<'r, 'c> {
    ctx: &'r Ctx<'c>,
    groups: Vec<TopN>,
    /// By university index: the need prefers it.
    preferred: Vec<bool>,
    work: &'r mut Work,
}

impl Run<'_, '_> {
    /// The best score a candidate could reach at university `org`: its topic part, perfect
    /// text, and the fit its digest allows.
    fn bound(&self, topic: f64, org: usize, digest: Option<Digest>) -> f64 {
        let mut fit = FIT_UNIVERSITY * f64::from(u8::from(self.preferred[org]));
        fit += match digest {
            Some(digest) => fit_from(self.ctx, digest, digest.open_periods()),
            None => FIT_PERIOD + FIT_LANGUAGE,
        };
        combine(topic, 1.0, fit)
    }

    /// Which posting lists single-topic candidates must still be read from: all need topics,
    /// only the category's (when only candidates covering the category can still enter a
    /// group), or none.
    fn single_topic_scope(&self) -> Option<Vec<TopicId>> {
        let min_score = self.ctx.options.min_score;
        let open = |topic: f64| {
            (0..self.groups.len())
                .any(|org| self.bound(topic, org, None) >= self.groups[org].threshold(min_score))
        };
        if open(self.ctx.topic_part(1, TopicSet::EMPTY)) {
            return Some(self.ctx.ordered.clone());
        }
        let category = self.ctx.category_id()?;
        open(self.ctx.topic_part(1, TopicSet::EMPTY.with(category))).then(|| vec![category])
    }

    fn consider(&mut self, posting: &Posting, overlap: usize) {
        let ctx = self.ctx;
        let (slot, org) = (posting.slot, usize::from(posting.org));
        let topic = ctx.topic_part(overlap, posting.topics);
        let min_score = ctx.options.min_score;
        if self.bound(topic, org, Some(posting.digest)) < self.groups[org].threshold(min_score) {
            return;
        }
        self.work.scored += 1;
        let entry = || ctx.catalogue.course_slot(slot);
        // The entry is read only when the digest cannot reject the candidate.
        let verdict = match quick_check(ctx, posting.digest) {
            Err(filter) => Err(filter),
            Ok(()) => match entry() {
                Some(entry) => evaluate(ctx, entry, slot, topic, self.preferred[org]),
                None => return,
            },
        };
        match verdict {
            Ok(pick) if pick.score >= min_score => {
                self.groups[org].offer(pick, |a, b| code_of(ctx, a.slot) < code_of(ctx, b.slot))
            }
            Ok(pick) => self.work.exclude(Filter::BelowMinScore, || {
                (
                    name(ctx, entry()),
                    explain::below_min(pick.score, min_score),
                )
            }),
            Err(filter) => self.work.exclude(filter, || {
                let detail = entry().map(|e| explain::course(ctx, e, filter));
                (name(ctx, entry()), detail.unwrap_or_default())
            }),
        }
    }
}

/// The filters a posting's digest answers.
fn quick_check(ctx: &Ctx<'_>, digest: Digest) -> Result<(), Filter> {
    if !digest.policy_fits(ctx.profile.visibility) {
        return Err(Filter::DataPolicy);
    }
    if !digest.intake_may_be_open(ctx.today_day) {
        return Err(Filter::IntakeNotOpen);
    }
    match open_instance(ctx, digest) {
        Some(Err(filter)) => Err(filter),
        _ => Ok(()),
    }
}

/// The instance a course with one open intake offers, or the filter it fails, from its
/// digest alone: that intake is open today (checked before, exactly, since the digest's window
/// is its own), so the furthest filter any instance reaches is this instance's capacity or
/// period, and the only instance that can be offered is this one. `None` (read the entry)
/// where [`best_instance`] could decide otherwise: when the need names known courses (that
/// filter comes first and needs the entry), or a day number is saturated.
///
/// Reading a candidate's instances costs cache misses that, with the broker and the
/// database on the same cores, were a tenth of the hub's CPU per need.
fn open_instance(ctx: &Ctx<'_>, digest: Digest) -> Option<Result<Offer, Filter>> {
    if !ctx.profile.known_courses.is_empty() || !ctx.days_exact {
        return None;
    }
    let open = digest.one_open_instance()?;
    let first_period_end = date_of_day(open.first_period_end)?;
    if !open.case_left {
        return Some(Err(Filter::NoCapacity));
    }
    if ctx
        .profile
        .deadline
        .is_some_and(|deadline| first_period_end > deadline)
    {
        return Some(Err(Filter::PeriodAfterDeadline));
    }
    Some(Ok(Offer {
        index: open.index,
        periods: open.periods,
        first_period_end,
    }))
}

/// The instance offered and what ranking reads of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Offer {
    index: usize,
    periods: u8,
    first_period_end: Date,
}

/// The fit part for a course with `digest`, offered in `periods`, without the university.
fn fit_from(ctx: &Ctx<'_>, digest: Digest, periods: u8) -> f64 {
    let preferred_period = periods & ctx.profile.preferred_periods != 0;
    let language = match ctx.profile.language {
        NeedLanguage::Mixed => true,
        NeedLanguage::Sv => digest.taught_in(LanguageCode::Sv),
        NeedLanguage::En => digest.taught_in(LanguageCode::En),
    };
    FIT_PERIOD * f64::from(u8::from(preferred_period))
        + FIT_LANGUAGE * f64::from(u8::from(language))
}

fn collect_groups(ctx: &Ctx<'_>, groups: Vec<TopN>) -> Vec<UniversityMatches> {
    let mut universities: Vec<UniversityMatches> = groups
        .into_iter()
        .enumerate()
        .filter(|(_, group)| !group.is_empty())
        .map(|(index, group)| {
            let university = &ctx.catalogue.universities()[index];
            let explain = (ctx.explain)(university);
            UniversityMatches {
                university: university.clone(),
                courses: group
                    .into_picks()
                    .iter()
                    .filter_map(|pick| course_match(ctx, pick, explain))
                    .collect(),
            }
        })
        .collect();
    universities.sort_by(|a, b| {
        b.best_score()
            .total_cmp(&a.best_score())
            .then_with(|| a.university.cmp(&b.university))
    });
    universities
}

fn evaluate(
    ctx: &Ctx<'_>,
    entry: &CourseSlot,
    slot: u32,
    topic: f64,
    preferred_university: bool,
) -> Result<Pick, Filter> {
    let org = ctx.catalogue.university(entry.org);
    let code = entry.course.course_code.as_str();
    if ctx
        .profile
        .known_courses
        .iter()
        .any(|(o, c)| o == org && c == code)
    {
        return Err(Filter::AlreadyMatched);
    }
    let offer = match open_instance(ctx, entry.digest) {
        Some(offer) => offer?,
        None => {
            let index = best_instance(ctx, entry)?;
            let plan = entry.plans[index];
            Offer {
                index,
                periods: plan.periods,
                first_period_end: plan.first_period_end,
            }
        }
    };
    let fit = FIT_UNIVERSITY * f64::from(u8::from(preferred_university))
        + fit_from(ctx, entry.digest, offer.periods);
    let text = text_score(ctx.hits.count(&entry.terms));
    Ok(Pick {
        score: combine(topic, text, fit),
        period_end: offer.first_period_end,
        slot,
        instance: offer.index,
    })
}

/// The instance to offer, or the furthest filter every instance failed.
fn best_instance(ctx: &Ctx<'_>, entry: &CourseSlot) -> Result<usize, Filter> {
    let mut furthest = Filter::IntakeNotOpen;
    let mut best: Option<(bool, Date, usize)> = None;
    let cases = &entry.course.external_cases;
    for (index, (instance, plan)) in entry.course.instances.iter().zip(&entry.plans).enumerate() {
        match instance_check(ctx, cases, instance, plan) {
            Ok(()) => {
                let not_preferred = plan.periods & ctx.profile.preferred_periods == 0;
                let key = (not_preferred, plan.first_period_end, index);
                if best.is_none_or(|held| key < held) {
                    best = Some(key);
                }
            }
            Err(filter) => furthest = furthest.max(filter),
        }
    }
    best.map(|(_, _, index)| index).ok_or(furthest)
}

fn instance_check(
    ctx: &Ctx<'_>,
    cases: &ExternalCases,
    instance: &Instance,
    plan: &InstancePlan,
) -> Result<(), Filter> {
    let intake = instance
        .case_intake
        .as_ref()
        .filter(|i| i.status == IntakeStatus::Open)
        .filter(|i| i.opens_at <= ctx.today && ctx.today <= i.deadline)
        .ok_or(Filter::IntakeNotOpen)?;
    if intake.cases_accepted >= intake.max_cases.min(cases.max_cases_per_instance) {
        return Err(Filter::NoCapacity);
    }
    match ctx.profile.deadline {
        Some(deadline) if plan.first_period_end > deadline => Err(Filter::PeriodAfterDeadline),
        _ => Ok(()),
    }
}

/// The match of `pick`; with its reasons and shared topics when `explain`.
fn course_match(ctx: &Ctx<'_>, pick: &Pick, explain: bool) -> Option<CourseMatch> {
    let entry = ctx.catalogue.course_slot(pick.slot)?;
    let instance = entry.course.instances.get(pick.instance)?;
    let intake = instance.case_intake.as_ref()?;
    Some(CourseMatch {
        course_code: entry.course.course_code.clone(),
        instance_id: instance.instance_id.clone(),
        academic_year: instance.academic_year.clone(),
        study_periods: instance.study_periods.clone(),
        score: pick.score,
        reasons: if explain {
            super::reasons::course(ctx, entry, pick.instance)
        } else {
            Vec::new()
        },
        topics: if explain {
            ctx.shared_topics(entry.topics)
        } else {
            Vec::new()
        },
        intake_deadline: intake.deadline,
    })
}

fn code_of<'c>(ctx: &Ctx<'c>, slot: u32) -> &'c str {
    ctx.catalogue
        .course_slot(slot)
        .map_or("", |e| e.course.course_code.as_str())
}

fn name(ctx: &Ctx<'_>, entry: Option<&CourseSlot>) -> String {
    entry.map_or_else(String::new, |e| {
        format!(
            "{}:{}",
            ctx.catalogue.university(e.org),
            e.course.course_code
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testkit::{course, instance, need, run};
    use super::super::{MatchOptions, MatchOutcome, NeedProfile};
    use super::*;

    fn excluded(outcome: &MatchOutcome) -> Vec<Filter> {
        outcome
            .exclusions
            .examples
            .iter()
            .map(|e| e.filter)
            .collect()
    }

    /// What a course's digest says of its instances is what its entry says (the instance
    /// offered, or the furthest filter): for every course of a generated catalogue, on days
    /// around the intakes, with deadlines before, between and after the study periods and
    /// without one.
    #[test]
    fn the_digest_answers_the_instance_filters_as_the_entry_does() {
        let catalogue = crate::catalogue::synthetic::catalogue(2_000).unwrap();
        let options = MatchOptions::default();
        let explain = |_: &str| true;
        let (mut failed, mut offered, mut left) = (0, 0, 0);
        for days in [-60, -20, 0, 20, 60] {
            let today = crate::clock::REFERENCE_DATE + time::Duration::days(days);
            for deadline in [
                Some("2027-02-01"),
                Some("2027-04-15"),
                Some("2028-01-01"),
                None,
            ] {
                let mut data = need();
                data["deadline"] = json!(deadline);
                let profile = NeedProfile::from_need(&data).unwrap();
                let ctx = Ctx::new(&profile, &catalogue, &options, today, &explain);
                for entry in (0..2_100).filter_map(|slot| catalogue.course_slot(slot)) {
                    if !entry.digest.intake_may_be_open(ctx.today_day) {
                        continue;
                    }
                    match open_instance(&ctx, entry.digest) {
                        Some(Err(filter)) => {
                            failed += 1;
                            assert_eq!(best_instance(&ctx, entry), Err(filter));
                        }
                        Some(Ok(offer)) => {
                            offered += 1;
                            assert_eq!(best_instance(&ctx, entry), Ok(offer.index));
                            let plan = entry.plans[offer.index];
                            assert_eq!(offer.periods, plan.periods);
                            assert_eq!(offer.first_period_end, plan.first_period_end);
                        }
                        None => left += 1,
                    }
                }
            }
        }
        let counts = format!("{failed} failed, {offered} offered, {left} left to the entry");
        assert!(failed > 500 && offered > 500 && left > 100, "{counts}");
    }

    /// A full course the need already lists is reported as already matched, the filter that
    /// comes first, not as full (which its digest alone would say).
    #[test]
    fn a_known_course_is_already_matched_before_its_digest_says_full() {
        let mut full = course("TST050");
        full["instances"][0]["caseIntake"]["casesAccepted"] = json!(5);
        assert_eq!(
            excluded(&run(&need(), &[full.clone()], &[])),
            [Filter::NoCapacity]
        );
        let mut data = need();
        data["matches"] = json!([{"courseRef": "uni:TST050"}]);
        assert_eq!(
            excluded(&run(&data, &[full], &[])),
            [Filter::AlreadyMatched]
        );
    }

    #[test]
    fn an_open_course_before_the_deadline_matches_with_reasons() {
        let outcome = run(&need(), &[course("TST001")], &[]);
        let matched = &outcome.university("uni").unwrap().courses[0];
        assert_eq!(matched.instance_id, "TST001-LP3");
        assert_eq!(matched.reasons[0], "topics: lean, patient-flow");
        assert!(matched.score > 0.7, "{}", matched.score);
    }

    #[test]
    fn data_policy_must_fit_the_visibility() {
        let mut no_data = course("TST002");
        no_data["externalCases"]["dataPolicy"] = json!("no_personal_data");
        let mut with_nda = no_data.clone();
        with_nda["courseCode"] = json!("TST003");
        with_nda["externalCases"]["ndaPossible"] = json!(true);
        let mut public = need();
        public["visibility"] = json!("public");

        let restricted = run(&need(), &[no_data.clone(), with_nda.clone()], &[]);
        let open = run(&public, &[no_data, with_nda], &[]);

        let codes = |o: &MatchOutcome| -> Vec<String> {
            o.university("uni").map_or(vec![], |u| {
                u.courses.iter().map(|c| c.course_code.clone()).collect()
            })
        };
        assert_eq!(codes(&restricted), ["TST003"]);
        assert_eq!(excluded(&restricted), [Filter::DataPolicy]);
        assert_eq!(codes(&open).len(), 2);
    }

    #[test]
    fn intake_capacity_and_period_filters_report_the_furthest_failure() {
        let mut closed = course("TST004");
        closed["instances"][0]["caseIntake"]["status"] = json!("closed");
        let mut full = course("TST005");
        full["instances"][0]["caseIntake"]["casesAccepted"] = json!(5);
        let mut late = course("TST006");
        late["instances"] = json!([instance("TST006-LP1", "LP1", "2027-08-30", "2027-10-30"),]);

        let outcome = run(&need(), &[closed, full, late], &[]);

        assert!(outcome.universities.is_empty());
        let mut filters = excluded(&outcome);
        filters.sort();
        let expected = [
            Filter::IntakeNotOpen,
            Filter::NoCapacity,
            Filter::PeriodAfterDeadline,
        ];
        assert_eq!(filters, expected);
        assert_eq!(outcome.not_routed.unwrap().code(), "no_match");
    }

    #[test]
    fn the_deadline_day_counts_and_multi_period_instances_use_their_first_period() {
        let mut on_deadline = course("TST007");
        on_deadline["instances"] =
            json!([instance("TST007-LP4", "LP4", "2027-03-22", "2027-06-05"),]);
        let mut long = course("TST008");
        long["instances"] = json!([{
            "instanceId": "TST008-LP3-LP4", "academicYear": "2026/2027",
            "studyPeriods": ["LP3", "LP4"], "startDate": "2027-01-18", "endDate": "2027-06-30",
            "caseIntake": {"opensAt": "2026-10-01", "deadline": "2026-12-04",
                           "status": "open", "maxCases": 5, "casesAccepted": 0}
        }]);

        let outcome = run(&need(), &[on_deadline, long], &[]);

        let courses = &outcome.university("uni").unwrap().courses;
        assert_eq!(courses.len(), 2);
        let long = courses.iter().find(|c| c.course_code == "TST008").unwrap();
        assert!(
            long.reasons
                .iter()
                .any(|r| r.contains("ends about 2027-04-09")),
            "{long:?}"
        );
        assert!(long.reasons.iter().any(|r| r.contains("continues in LP4")));
    }

    #[test]
    fn preferred_period_wins_then_the_earliest_period() {
        let mut two = course("TST009");
        two["instances"] = json!([
            instance("TST009-LP4", "LP4", "2027-03-22", "2027-06-05"),
            instance("TST009-LP3", "LP3", "2027-01-18", "2027-03-20"),
        ]);
        let mut prefers_lp4 = need();
        prefers_lp4["routing"]["preferredStudyPeriods"] = json!(["LP4"]);

        let earliest = run(&need(), &[two.clone()], &[]);
        let preferred = run(&prefers_lp4, &[two], &[]);

        let first = |o: &MatchOutcome| o.university("uni").unwrap().courses[0].instance_id.clone();
        assert_eq!(first(&earliest), "TST009-LP3");
        assert_eq!(first(&preferred), "TST009-LP4");
    }

    #[test]
    fn language_ranks_but_does_not_filter() {
        let mut english = course("TST010");
        english["languageOfInstruction"] = json!(["en"]);

        let outcome = run(&need(), &[course("TST011"), english], &[]);

        let courses = &outcome.university("uni").unwrap().courses;
        assert_eq!(
            courses[0].course_code, "TST011",
            "taught in the need's language"
        );
        assert!(
            courses[1]
                .reasons
                .contains(&"taught in en (the need is in sv)".to_owned())
        );
    }
}
