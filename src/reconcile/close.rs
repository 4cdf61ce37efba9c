//! The close timer's step: a need whose answer window has ended closes, and the region gets the
//! final summary.
//!
//! The timer asks the store which needs are due (`Store::needs_due`) and calls [`close`] for
//! each under the need's lock. `close` decides again from the record, so a need that changed
//! in between (withdrawn, or stored with a respond-by instant earlier than the end of its day)
//! is simply not closed yet.

use time::OffsetDateTime;

use super::Transition;
use super::deadline::{respond_by_date, window_end};
use super::status::{Counts, status_data};
use crate::dates::format_date;
use crate::need::{Need, NeedState};

/// Closes `need` when it still awaits answers and its window ended at or before `now`; `None`
/// otherwise.
#[must_use]
pub fn close(need: &Need, now: OffsetDateTime) -> Option<Transition> {
    if !NeedState::AWAITING_ANSWERS.contains(&need.state) {
        return None;
    }
    let end = window_end(need)?;
    if now < end {
        return None;
    }
    let date = format_date(respond_by_date(need.respond_by?));
    let counts = Counts::of(need);
    let changed = format!(
        "closed: respondBy {date} passed; final: {}",
        counts.summary()
    );
    let mut after = need.clone();
    after.state = NeedState::Closed;
    after.state_reason = Some(format!("respondBy {date} passed"));
    after.updated_at = now;
    let status = status_data(&after, &changed, now);
    Some(Transition {
        need: after,
        from: need.state,
        changed,
        status,
    })
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::event::EventType;
    use crate::reconcile::fixture::{NOW, assert_valid, need};

    const END: OffsetDateTime = datetime!(2026-11-27 23:00 UTC);

    #[test]
    fn an_open_need_closes_at_the_end_of_its_respond_by_day() {
        let answered = need(NeedState::Answered);
        assert_eq!(close(&answered, END - Duration::SECOND), None);
        let t = close(&answered, END).unwrap();
        assert_eq!(
            (t.from, t.state()),
            (NeedState::Answered, NeedState::Closed)
        );
        assert_eq!(
            t.changed,
            "closed: respondBy 2026-11-27 passed; final: 0 offers, 0 proposals, 0 interests, \
             0 declines, 3 without an answer"
        );
        assert_eq!(t.status["reason"], "respondBy 2026-11-27 passed");
        assert_valid(EventType::NeedStatus, &t.status);
    }

    #[test]
    fn only_needs_awaiting_answers_close() {
        for state in [
            NeedState::Withdrawn,
            NeedState::Closed,
            NeedState::Unmatched,
        ] {
            assert_eq!(close(&need(state), END), None, "{state}");
        }
        let mut undated = need(NeedState::Published);
        undated.respond_by = None;
        assert_eq!(close(&undated, NOW + Duration::days(365)), None);
    }
}
