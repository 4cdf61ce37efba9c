//! Where a need is in its life, and the only ways it moves on: the state diagram lives on
//! [`NeedState`], next to the states it connects, so that routing (the first move) and the
//! state machine in [`crate::reconcile`] (every later one) both point here.

/// The state of a need.
///
/// ```text
/// received ─► published | unmatched | rejected          (routing, crate::routing)
/// published ─► answered   first positive answer          (reconcile::apply_answer)
/// published | answered ─► closed   respondBy passed      (reconcile::close)
/// received | published | answered | unmatched ─► withdrawn   by the owning region (reconcile::withdraw)
/// ```
///
/// There is no edge back: `answered` means a positive answer was received, even if that
/// recipient's latest answer is now a decline, and `closed` and `withdrawn` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeedState {
    /// Accepted by the hub, not yet routed.
    Received,
    /// Challenges and calls went out; no positive answer yet.
    Published,
    /// No course or partner matched.
    Unmatched,
    /// Refused (e.g. personal data); sent back to the region.
    Rejected,
    /// At least one positive answer arrived.
    Answered,
    /// The respond-by date passed; final.
    Closed,
    /// The region withdrew the need; final.
    Withdrawn,
}

super::string_enum!(NeedState {
    Received => "received",
    Published => "published",
    Unmatched => "unmatched",
    Rejected => "rejected",
    Answered => "answered",
    Closed => "closed",
    Withdrawn => "withdrawn",
});

impl NeedState {
    /// States the close timer closes when respond-by passes: the ones that still wait for
    /// answers.
    pub(crate) const AWAITING_ANSWERS: [NeedState; 2] = [NeedState::Published, NeedState::Answered];
}
