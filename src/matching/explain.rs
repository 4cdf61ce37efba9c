//! Sentences for excluded candidates: what exactly failed, for the `no_match` reason and for
//! operators. Built only for the first few exclusions ([`super::Exclusions::MAX_EXAMPLES`]).

use super::context::Ctx;
use super::filter::Filter;
use crate::catalogue::CourseSlot;
use crate::catalogue::model::{IntakeStatus, Partner};
use crate::dates::format_date;

pub(super) fn below_min(score: f64, min_score: f64) -> String {
    format!("score {score:.2} below the minimum {min_score:.2}")
}

pub(super) fn course(ctx: &Ctx<'_>, entry: &CourseSlot, filter: Filter) -> String {
    let cases = &entry.course.external_cases;
    match filter {
        Filter::AlreadyMatched => "already among the need's matches".to_owned(),
        Filter::DataPolicy => format!(
            "data policy {} without student NDA does not fit a {} need",
            cases.data_policy.as_str(),
            ctx.profile.visibility.as_str()
        ),
        Filter::NoCapacity => "case intake full".to_owned(),
        Filter::PeriodAfterDeadline => match ctx.profile.deadline {
            Some(deadline) => format!(
                "no open instance has a study period ending by the deadline {}",
                format_date(deadline)
            ),
            None => "no study period fits".to_owned(),
        },
        _ => intake(ctx, entry),
    }
}

fn intake(ctx: &Ctx<'_>, entry: &CourseSlot) -> String {
    let states: Vec<String> = entry
        .course
        .instances
        .iter()
        .map(|i| match &i.case_intake {
            None => format!("{}: takes no cases", i.instance_id),
            Some(intake)
                if intake.status == IntakeStatus::Closed || intake.deadline < ctx.today =>
            {
                format!("{}: case intake closed", i.instance_id)
            }
            Some(intake) => format!(
                "{}: case intake opens {}",
                i.instance_id,
                format_date(intake.opens_at)
            ),
        })
        .collect();
    format!(
        "no case intake open on {}: {}",
        format_date(ctx.today),
        states.join(", ")
    )
}

pub(super) fn partner(ctx: &Ctx<'_>, partner: &Partner, filter: Filter) -> String {
    let subscription = &partner.subscription;
    let profile = ctx.profile;
    match filter {
        Filter::AlreadyMatched => "already among the need's matches".to_owned(),
        Filter::PartnerInactive => "registry status or subscription is not active".to_owned(),
        Filter::SubscriptionPaused => match subscription.paused_until {
            Some(until) => format!("subscription paused until {}", format_date(until)),
            None => "subscription inactive".to_owned(),
        },
        Filter::CallType => match &profile.call {
            Some(call) => format!("does not subscribe to {} calls", call.call_type),
            None => "no company call requested".to_owned(),
        },
        Filter::Visibility => format!("does not accept {} needs", profile.visibility.as_str()),
        Filter::NdaExpired => match partner.nda.expires {
            Some(expires) => format!("NDA expired {}", format_date(expires)),
            None => "NDA not valid".to_owned(),
        },
        Filter::NdaMissing => "no signed NDA, required for a partners_nda need".to_owned(),
        Filter::Region => format!(
            "does not take calls from {}",
            ctx.county.unwrap_or(profile.region.as_str())
        ),
        Filter::Language => format!("takes no calls in {}", profile.language.as_str()),
        Filter::Trl => format!(
            "subscribed from TRL {}, above the call's range",
            subscription.trl_min.unwrap_or(1)
        ),
        _ => String::new(),
    }
}
