//! Who sent this, and may they? Authentication and authorization of a decoded event.
//!
//! Identity comes from the AMQP `user_id` property, which RabbitMQ checks against the user the
//! connection authenticated as, so an organisation cannot claim to be another. The CloudEvent
//! `source` is the sender's own statement and must agree with that identity; a region may only
//! submit needs for itself. Everything here is pure and answers with a [`Rejection`] carrying
//! `unauthenticated` or `unauthorized`.

use std::collections::HashMap;

use crate::event::{CloudEvent, EventType, Issue, RejectReason, Source};
use crate::rejection::Rejection;
use crate::settings::{OrgKind, Organisation};
use crate::transport::Inbound;

/// The configured organisations, looked up by broker user and by id.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    by_user: HashMap<String, Organisation>,
    by_id: HashMap<String, Organisation>,
}

impl Directory {
    /// Index `organisations` (already checked unique by the settings loader).
    pub fn new(organisations: &[Organisation]) -> Self {
        let by_user = organisations
            .iter()
            .map(|o| (o.broker_user.clone(), o.clone()))
            .collect();
        let by_id = organisations
            .iter()
            .map(|o| (o.id.as_str().to_owned(), o.clone()))
            .collect();
        Self { by_user, by_id }
    }

    /// The organisation whose broker user is `user`.
    pub fn by_user(&self, user: &str) -> Option<&Organisation> {
        self.by_user.get(user)
    }

    /// The ids of the configured regions, in id order (the console's region filter).
    pub(crate) fn region_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .by_id
            .values()
            .filter(|o| o.kind == OrgKind::Region)
            .map(|o| o.id.as_str())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The organisation with id `id`.
    pub(crate) fn by_id(&self, id: &str) -> Option<&Organisation> {
        self.by_id.get(id)
    }
}

/// The broker user a delivery was sent as: its AMQP `user_id`, or for a replayed dead letter
/// (which only the hub's side can publish) the original sender's broker user, so the replay is
/// authenticated, authorized and recorded as that sender's, never as the replaying operator's.
pub(crate) fn sent_as<'a>(directory: &'a Directory, inbound: &'a Inbound) -> Option<&'a str> {
    match &inbound.replay {
        Some(replay) => replay
            .sender
            .as_deref()
            .and_then(|id| directory.by_id(id))
            .map(|org| org.broker_user.as_str()),
        None => inbound.user_id.as_deref(),
    }
}

/// The organisation behind `user_id`, or `unauthenticated`.
pub fn authenticate<'d>(
    directory: &'d Directory,
    user_id: Option<&str>,
) -> Result<&'d Organisation, Rejection> {
    let detail = match user_id {
        None => "the message has no AMQP user_id; publish with user_id set to your broker user",
        Some(user) => match directory.by_user(user) {
            Some(org) => return Ok(org),
            None => "the AMQP user_id belongs to no organisation configured in this hub",
        },
    };
    Err(Rejection {
        reason: RejectReason::Unauthenticated,
        detail: detail.to_owned(),
        errors: vec![],
    })
}

/// Which kind of organisation may send `event_type`; `None` for types only the hub emits.
pub const fn sender_kind(event_type: EventType) -> Option<OrgKind> {
    match event_type {
        EventType::NeedSubmitted | EventType::NeedWithdrawn => Some(OrgKind::Region),
        EventType::OfferSubmitted | EventType::CourseUpserted | EventType::CourseRemoved => {
            Some(OrgKind::University)
        }
        EventType::ProposalSubmitted => Some(OrgKind::Company),
        EventType::PartnerUpserted => Some(OrgKind::Registry),
        EventType::ChallengePublished
        | EventType::CallPublished
        | EventType::ChallengeWithdrawn
        | EventType::NeedStatus
        | EventType::MessageRejected => None,
    }
}

/// May `org` send `event`? Checks the kind, the `source`, and a need's `region`.
pub fn authorize(org: &Organisation, event: &CloudEvent) -> Result<(), Rejection> {
    let t = event.event_type;
    let allowed = sender_kind(t);
    if allowed != Some(org.kind) {
        let detail = match allowed {
            None => format!("`{t}` is sent by the hub only"),
            Some(kind) => format!(
                "only a {} may send `{t}`; you are a {}",
                kind.as_str(),
                org.kind.as_str()
            ),
        };
        return Err(unauthorized(
            detail,
            vec![Issue::new("/type", "not allowed for this sender")],
        ));
    }
    let own = Source::for_org(org.id.as_str());
    if event.source != own {
        return Err(unauthorized(
            format!("`source` must be your own, `{}`", own.as_ref()),
            vec![Issue::new("/source", "not the sender's source")],
        ));
    }
    if t == EventType::NeedSubmitted
        && event.data.get("region").and_then(|r| r.as_str()) != Some(org.id.as_str())
    {
        return Err(unauthorized(
            format!(
                "a region submits needs for itself: `region` must be `{}`",
                org.id
            ),
            vec![Issue::new("/data/region", "not the sender's region")],
        ));
    }
    Ok(())
}

fn unauthorized(detail: String, errors: Vec<Issue>) -> Rejection {
    Rejection {
        reason: RejectReason::Unauthorized,
        detail,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::settings::OrgId;

    fn org(id: &str, kind: OrgKind) -> Organisation {
        Organisation {
            id: OrgId::parse(id).expect("id"),
            kind,
            broker_user: id.to_lowercase(),
            display_name: id.to_owned(),
            organisationsnummer: None,
            webhook_url: None,
            webhook_secret: None,
            webhook_secret_env: None,
        }
    }

    fn need_from(source_org: &str, region: &str) -> CloudEvent {
        CloudEvent::new(
            EventType::NeedSubmitted,
            Source::for_org(source_org),
            Some("NEED-1".into()),
            json!({"id": "NEED-1", "region": region}),
        )
    }

    #[test]
    fn unknown_or_missing_users_are_unauthenticated() {
        let dir = Directory::new(&[org("VGR", OrgKind::Region)]);
        assert_eq!(
            authenticate(&dir, Some("vgr")).map(|o| o.id.as_str()),
            Ok("VGR")
        );
        for user in [None, Some("mallory")] {
            let err = authenticate(&dir, user).expect_err("refused");
            assert_eq!(err.reason, RejectReason::Unauthenticated);
        }
    }

    #[test]
    fn only_a_region_submits_needs_and_only_its_own() {
        let vgr = org("VGR", OrgKind::Region);
        assert!(authorize(&vgr, &need_from("VGR", "VGR")).is_ok());
        let chalmers = org("chalmers", OrgKind::University);
        let err = authorize(&chalmers, &need_from("chalmers", "VGR")).expect_err("not a region");
        assert_eq!(
            (err.reason, err.errors[0].instance_path.as_str()),
            (RejectReason::Unauthorized, "/type")
        );
        let err = authorize(&vgr, &need_from("RV", "VGR")).expect_err("spoofed source");
        assert_eq!(err.errors[0].instance_path, "/source");
        let err = authorize(&vgr, &need_from("VGR", "RV")).expect_err("other region");
        assert_eq!(err.errors[0].instance_path, "/data/region");
    }

    #[test]
    fn nobody_sends_hub_only_types() {
        let event = CloudEvent::new(
            EventType::NeedStatus,
            Source::for_org("VGR"),
            Some("N".into()),
            json!({}),
        );
        let err = authorize(&org("VGR", OrgKind::Region), &event).expect_err("hub only");
        assert!(err.detail.contains("hub only"));
    }
}
