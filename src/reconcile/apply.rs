//! Applying one answer to a need: the rules in order, then what to record and what to publish.
//!
//! The store decides supersession again when it records the answer (in SQL, so that it holds
//! without the need lock); [`precedence`] uses the same order — millisecond time, then event
//! id — so the two cannot disagree.

use time::OffsetDateTime;

use super::answer::Answer;
use super::deadline::{respond_by_date, window_end};
use super::status::status_data;
use super::{Transition, refuse, unknown_need};
use crate::catalogue::Catalogue;
use crate::dates::format_date;
use crate::event::RejectReason;
use crate::need::{
    AnswerApplied, LatestAnswer, Need, NeedState, NewAnswer, Recipient, RecipientKind,
};
use crate::rejection::Rejection;

/// What an accepted answer does.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerDecision {
    /// What to record (the store's `record_answer`); every accepted
    /// answer goes into the history, superseded or not.
    pub answer: NewAnswer,
    /// Whether it becomes the recipient's latest answer, is older than that one, or is that
    /// one again.
    pub applied: AnswerApplied,
    /// The change to store and publish; `None` when nothing visible changes (a duplicate, or a
    /// superseded answer that moves no state).
    pub transition: Option<Transition>,
}

/// Applies `answer` to `need` (as loaded, `None` when the store has no such need) at `now`.
///
/// # Errors
///
/// A [`Rejection`] for the sender, checked in this order: `unknown_need` when there is no such
/// need, it is another region's than the answer names, or it was not published to the sender
/// (all three alike, see [`unknown_need`]); `unauthorized` when the sender is a recipient of
/// another kind than the answer's (a university sending a proposal, a company an offer);
/// `withdrawn`; `late` when the need is closed or the answer's `time` or `now` is past the end
/// of `respondBy`; `unknown_course` when the named course instance was neither matched for
/// the sender nor is in its catalogue.
pub fn apply_answer(
    need: Option<&Need>,
    answer: &Answer,
    catalogue: &Catalogue,
    now: OffsetDateTime,
) -> Result<AnswerDecision, Rejection> {
    let need = need
        .filter(|n| n.need_id == answer.need_id)
        .filter(|n| answer.region.as_ref().is_none_or(|r| *r == n.region))
        .ok_or_else(|| unknown_need(&answer.need_id))?;
    let recipient = authorize(need, answer)?;
    check_open(need, answer, now)?;
    check_course(recipient, answer, catalogue)?;
    let applied = precedence(recipient.latest.as_ref(), answer);
    Ok(AnswerDecision {
        answer: answer.to_new_answer(&need.region),
        applied,
        transition: transition(need, answer, applied, now),
    })
}

/// The sender's recipient entry, if the need was published to it as the answer's kind. A need
/// that was not published to the sender is unknown to it.
fn authorize<'n>(need: &'n Need, answer: &Answer) -> Result<&'n Recipient, Rejection> {
    let unpublished = matches!(
        need.state,
        NeedState::Received | NeedState::Unmatched | NeedState::Rejected
    );
    let recipient = need
        .recipient(&answer.org_id)
        .filter(|_| !unpublished)
        .ok_or_else(|| unknown_need(&answer.need_id))?;
    if recipient.kind != answer.kind {
        let detail = match recipient.kind {
            RecipientKind::University => {
                "A university answers a challenge with se.samverkan.offer.submitted.v1."
            }
            RecipientKind::Company => {
                "A company answers a call with se.samverkan.proposal.submitted.v1."
            }
        };
        return Err(refuse(
            RejectReason::Unauthorized,
            detail,
            &[("/type", "not the answer type of the sender's kind")],
        ));
    }
    Ok(recipient)
}

/// The need still takes answers: not withdrawn, not closed, its window not ended.
fn check_open(need: &Need, answer: &Answer, now: OffsetDateTime) -> Result<(), Rejection> {
    if need.state == NeedState::Withdrawn {
        return Err(refuse(
            RejectReason::Withdrawn,
            "The region withdrew this need; it takes no more answers.",
            &[],
        ));
    }
    let end = window_end(need);
    let time_late = end.is_some_and(|end| answer.time >= end);
    let now_late = end.is_some_and(|end| now >= end);
    if need.state != NeedState::Closed && !time_late && !now_late {
        return Ok(());
    }
    let detail = need.respond_by.map_or_else(
        || "The need is closed; it takes no more answers.".to_owned(),
        |t| {
            let date = format_date(respond_by_date(t));
            format!(
                "The answer arrived after respondBy {date} (the end of that day, Swedish time)."
            )
        },
    );
    let errors: &[(&str, &str)] = if time_late {
        &[("/time", "after the end of the need's respondBy date")]
    } else {
        &[]
    };
    Err(refuse(RejectReason::Late, &detail, errors))
}

/// A named course must be one matched for the sender, or at least one in its catalogue.
fn check_course(
    recipient: &Recipient,
    answer: &Answer,
    catalogue: &Catalogue,
) -> Result<(), Rejection> {
    let Some(code) = answer.course_code.as_deref() else {
        return Ok(());
    };
    let instance = answer.instance_id.as_deref();
    let matched = recipient.courses.as_array().is_some_and(|courses| {
        courses.iter().any(|c| {
            c["courseCode"].as_str() == Some(code)
                && instance.is_none_or(|i| c["instanceId"].as_str() == Some(i))
        })
    });
    if matched {
        return Ok(());
    }
    let unknown = |pointer, message| {
        refuse(
            RejectReason::UnknownCourse,
            "An answer may name only a course instance of the sender that was matched for this \
             need or is in its catalogue.",
            &[(pointer, message)],
        )
    };
    let course = catalogue
        .course(answer.org_id.as_str(), code)
        .ok_or_else(|| unknown("/data/courseCode", "not a course of the sender"))?;
    match instance {
        Some(i) if !course.instances.iter().any(|known| known.instance_id == i) => Err(unknown(
            "/data/instanceId",
            "not an instance of the named course",
        )),
        _ => Ok(()),
    }
}

/// Where `answer` stands against the recipient's current latest answer.
fn precedence(latest: Option<&LatestAnswer>, answer: &Answer) -> AnswerApplied {
    let Some(latest) = latest else {
        return AnswerApplied::Latest;
    };
    if latest.event_id == answer.event_id {
        return AnswerApplied::Duplicate;
    }
    let key = |t: OffsetDateTime| t.unix_timestamp_nanos() / 1_000_000;
    if (key(answer.time), &answer.event_id) > (key(latest.time), &latest.event_id) {
        AnswerApplied::Latest
    } else {
        AnswerApplied::Superseded
    }
}

fn transition(
    need: &Need,
    answer: &Answer,
    applied: AnswerApplied,
    now: OffsetDateTime,
) -> Option<Transition> {
    let to = if need.state == NeedState::Published && answer.decision.is_positive() {
        NeedState::Answered
    } else {
        need.state
    };
    let visible = match applied {
        AnswerApplied::Latest => true,
        AnswerApplied::Superseded => to != need.state,
        AnswerApplied::Duplicate => false,
    };
    if !visible {
        return None;
    }
    let mut after = need.clone();
    after.state = to;
    after.updated_at = now;
    let mut changed = answer.describe();
    if applied == AnswerApplied::Latest {
        if let Some(r) = after
            .recipients
            .iter_mut()
            .find(|r| r.org_id == answer.org_id)
        {
            r.latest = Some(LatestAnswer {
                event_id: answer.event_id.clone(),
                time: answer.time,
                decision: answer.decision,
                detail: answer.detail.clone(),
            });
        }
    } else {
        changed.push_str(", older than its latest answer, which still counts");
    }
    let status = status_data(&after, &changed, now);
    Some(Transition {
        need: after,
        from: need.state,
        changed,
        status,
    })
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
