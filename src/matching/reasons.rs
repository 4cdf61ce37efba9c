//! Human-readable reasons for a match, built only for the picks that are sent.
//!
//! Reasons are formatted after ranking, never for candidates that do not make the top N:
//! strings are the most expensive thing matching could produce, and nobody reads the reasons
//! of a course that was not offered.

use super::context::{Ctx, list_reason};
use super::profile::NeedLanguage;
use crate::catalogue::model::{Instance, Visibility};
use crate::catalogue::{CourseSlot, InstancePlan, PartnerSlot};
use crate::dates::{format_date, period_number};

/// Why a course instance matches.
pub(super) fn course(ctx: &Ctx<'_>, entry: &CourseSlot, instance: usize) -> Vec<String> {
    let mut reasons = Vec::new();
    reasons.extend(list_reason("topics", &ctx.shared_topics(entry.topics)));
    reasons.extend(list_reason("text", &ctx.shared_words(&entry.terms)));
    if let (Some(i), Some(plan)) = (
        entry.course.instances.get(instance),
        entry.plans.get(instance),
    ) {
        reasons.push(period_reason(ctx, i, plan));
        reasons.extend(preference_reason(ctx, entry, i));
        reasons.extend(intake_reason(entry, i));
    }
    reasons.push(language_reason(ctx, entry));
    reasons.push(policy_reason(ctx, entry));
    reasons
}

/// `preferred university and study period LP3`, or either part alone.
fn preference_reason(ctx: &Ctx<'_>, entry: &CourseSlot, instance: &Instance) -> Option<String> {
    let preferred = |p: &&String| {
        period_number(p).is_some_and(|n| ctx.profile.preferred_periods & (1 << n) != 0)
    };
    let periods: Vec<&str> = instance
        .study_periods
        .iter()
        .filter(preferred)
        .map(String::as_str)
        .collect();
    let university = ctx.catalogue.university(entry.org);
    let university = ctx
        .profile
        .preferred_universities
        .iter()
        .any(|u| u == university);
    match (university, periods.is_empty()) {
        (true, true) => Some("preferred university".to_owned()),
        (true, false) => Some(format!(
            "preferred university and study period {}",
            periods.join(", ")
        )),
        (false, false) => Some(format!("preferred study period {}", periods.join(", "))),
        (false, true) => None,
    }
}

/// `case intake open until 2026-12-04, 5 of 8 cases left`.
fn intake_reason(entry: &CourseSlot, instance: &Instance) -> Option<String> {
    let intake = instance.case_intake.as_ref()?;
    let capacity = intake
        .max_cases
        .min(entry.course.external_cases.max_cases_per_instance);
    Some(format!(
        "case intake open until {}, {} of {} cases left",
        format_date(intake.deadline),
        capacity.saturating_sub(intake.cases_accepted),
        capacity
    ))
}

fn period_reason(ctx: &Ctx<'_>, instance: &Instance, plan: &InstancePlan) -> String {
    let first = instance.study_periods.first().map_or("", String::as_str);
    let about = if plan.estimated { "about " } else { "" };
    let end = format_date(plan.first_period_end);
    let deadline = match ctx.profile.deadline {
        Some(d) if plan.first_period_end < d => format!(", before deadline {}", format_date(d)),
        Some(d) => format!(", on the deadline {}", format_date(d)),
        None => "; the need has no deadline".to_owned(),
    };
    let rest = instance.study_periods.get(1..).unwrap_or_default();
    let continues = if rest.is_empty() {
        String::new()
    } else {
        format!(" (the instance continues in {})", rest.join(", "))
    };
    format!(
        "period {first} {} ends {about}{end}{deadline}{continues}",
        instance.academic_year
    )
}

fn language_reason(ctx: &Ctx<'_>, entry: &CourseSlot) -> String {
    let taught: Vec<&str> = entry
        .course
        .language_of_instruction
        .iter()
        .map(|l| l.as_str())
        .collect();
    let taught = taught.join(" and ");
    match ctx.profile.language {
        NeedLanguage::Mixed => format!("taught in {taught}; the need mixes sv and en"),
        need if taught.contains(need.as_str()) => format!("taught in {taught}, as the need"),
        need => format!("taught in {taught} (the need is in {})", need.as_str()),
    }
}

fn policy_reason(ctx: &Ctx<'_>, entry: &CourseSlot) -> String {
    let cases = &entry.course.external_cases;
    let visibility = ctx.profile.visibility.as_str();
    if ctx.profile.visibility == Visibility::PartnersNda && cases.nda_possible {
        format!("students can sign an NDA ({visibility} need)")
    } else {
        format!(
            "data policy {} fits a {visibility} need",
            cases.data_policy.as_str()
        )
    }
}

/// Why a company matches.
pub(super) fn company(ctx: &Ctx<'_>, entry: &PartnerSlot) -> Vec<String> {
    let partner = &entry.partner;
    let subscription = &partner.subscription;
    let mut reasons = Vec::new();
    reasons.extend(list_reason("topics", &ctx.shared_topics(entry.subscribed)));
    reasons.extend(list_reason("text", &ctx.shared_words(&entry.terms)));
    reasons.extend(list_reason(
        "capabilities",
        &ctx.shared_topics(entry.capabilities),
    ));
    let regions = super::partner::regions_of(partner);
    reasons.push(match ctx.county {
        _ if regions.iter().any(|r| r == "SE") => "nationwide partner (SE)".to_owned(),
        Some(county) if subscription.regions.is_empty() => format!("region {county} served"),
        Some(county) => format!("region {county} in subscription"),
        None => "region covered".to_owned(),
    });
    reasons.push(match (ctx.profile.visibility, partner.nda.expires) {
        (Visibility::PartnersNda, Some(expires)) => {
            format!("NDA valid until {}", format_date(expires))
        }
        (Visibility::PartnersNda, None) => "NDA signed, no expiry".to_owned(),
        _ => "public need: no NDA required".to_owned(),
    });
    if let Some(call) = &ctx.profile.call {
        let (low, high) = call.trl_range();
        reasons.push(match partner.product_maturity_trl {
            Some(trl) if (low..=high).contains(&trl) => {
                format!("product TRL {trl} within {low}–{high}")
            }
            Some(trl) => format!("product TRL {trl} outside {low}–{high}"),
            None => format!("no product TRL (services); call for TRL {low}–{high}"),
        });
        reasons.push(format!("call type {} subscribed", call.call_type));
    }
    reasons
}
