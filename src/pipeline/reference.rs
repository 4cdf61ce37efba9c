//! Reference data: `course.upserted` / `course.removed` from universities and
//! `partner.upserted` from the registry keep the matching catalogue current.
//!
//! Every hub instance holds the catalogue in memory, and an event reaches only one of them, so
//! the store's `reference_events` table is the single order of changes: an accepted event is
//! checked against the catalogue, recorded and committed, and only then applied — by
//! [`Pipeline::catch_up_reference`], which applies every recorded event after the last one
//! this instance applied, in id order. The instance that took the event catches up at once;
//! the others within a poll interval (`hub::reference`), and a hub starting later replays them
//! all over the catalogue files. So all instances apply the same changes in the same order and
//! end with the same catalogue. An entry the catalogue cannot take (removing a course that
//! does not exist) is refused back to the sender like any other bad event, and so is a
//! partner entry whose id is not a configured company (`unauthorized`): the registry may
//! describe companies only, never make a region or a university a call recipient.

use serde::Deserialize;
use serde_json::Value;

use super::{Outcome, Pipeline};
use crate::catalogue::{CatalogueError, Course, Partner, check_kind};
use crate::event::{CloudEvent, EventType, Issue, RejectReason};
use crate::rejection::Rejection;
use crate::settings::{OrgId, OrgKind, Organisation};
use crate::store::{AuditAction, AuditEntry, ReferenceEntry, StoreError, Tx};
use crate::transport::Inbound;

impl Pipeline {
    /// Record an admitted reference-data event in `tx` (inbox already recorded). The caller
    /// catches the catalogue up before (`handle`) and after the commit.
    pub(super) async fn update_reference(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        sender: &Organisation,
        event: &CloudEvent,
    ) -> Result<Outcome, StoreError> {
        // `handle` caught the catalogue up just before opening `tx`.
        if let Err(err) = self.check_reference(event.event_type, sender.id.as_str(), &event.data) {
            let rejection = catalogue_rejection(&err);
            return self
                .refuse_after(tx, inbound, sender, event, rejection)
                .await;
        }
        let entry = reference_entry(event.event_type, sender.id.as_str(), &event.data);
        tx.record_reference(event.event_type.as_str(), &sender.id, &event.data, &entry)
            .await?;
        let entry = AuditEntry {
            event_id: Some(event.id.clone()),
            org: Some(sender.id.clone()),
            ..AuditEntry::new(AuditAction::Validated)
        };
        tx.audit(&entry).await?;
        Ok(Outcome::Accepted {
            event_type: event.event_type,
        })
    }

    /// Apply the reference events recorded after the last one this instance applied, in id
    /// order; returns how many were applied. At start that is every event ever recorded,
    /// replayed over the catalogue loaded from files.
    pub async fn catch_up_reference(&self) -> Result<usize, StoreError> {
        // Held across the read: catch-ups run one at a time and never apply out of order.
        let mut seen = self.reference_seen.lock().await;
        let events = self.store.reference_events_after(*seen).await?;
        let mut applied = 0;
        for event in &events {
            *seen = event.id;
            let Some(t) = EventType::parse(&event.event_type) else {
                continue;
            };
            match self.apply_reference(t, &event.org_id, &event.data) {
                Ok(()) => applied += 1,
                Err(e) => tracing::warn!(
                    error = %e,
                    org = %event.org_id,
                    "recorded reference event no longer applies"
                ),
            }
        }
        Ok(applied)
    }

    /// Whether the catalogue would take the event, without changing it.
    fn check_reference(&self, t: EventType, org: &str, data: &Value) -> Result<(), CatalogueError> {
        let catalogue = self.catalogue.read().unwrap_or_else(|p| p.into_inner());
        match t {
            EventType::CourseUpserted => Course::deserialize(data).map(drop).map_err(|source| {
                CatalogueError::InvalidCourse {
                    org: org.to_owned(),
                    code: data["courseCode"].as_str().map(str::to_owned),
                    source,
                }
            }),
            EventType::CourseRemoved => {
                let code = data["courseCode"].as_str().unwrap_or_default();
                let course =
                    catalogue
                        .course(org, code)
                        .ok_or_else(|| CatalogueError::UnknownCourse {
                            org: org.to_owned(),
                            code: code.to_owned(),
                        })?;
                match data.get("instanceId").and_then(Value::as_str) {
                    Some(instance)
                        if !course.instances.iter().any(|i| i.instance_id == instance) =>
                    {
                        Err(CatalogueError::UnknownInstance {
                            org: org.to_owned(),
                            code: code.to_owned(),
                            instance: instance.to_owned(),
                        })
                    }
                    _ => Ok(()),
                }
            }
            _ => {
                let partner = Partner::deserialize(data).map_err(|source| {
                    CatalogueError::InvalidPartner {
                        id: data["id"].as_str().map(str::to_owned),
                        source,
                    }
                })?;
                OrgId::parse(&partner.id).map_err(|source| CatalogueError::InvalidOrg {
                    org: partner.id.clone(),
                    source,
                })?;
                let kind_of = |id: &str| self.directory.by_id(id).map(|o| o.kind);
                check_kind(&partner.id, OrgKind::Company, &kind_of)
            }
        }
    }

    fn apply_reference(&self, t: EventType, org: &str, data: &Value) -> Result<(), CatalogueError> {
        let mut catalogue = self.catalogue.write().unwrap_or_else(|p| p.into_inner());
        match t {
            EventType::CourseUpserted => catalogue.upsert_course(org, data),
            EventType::CourseRemoved => catalogue.remove_course(
                org,
                data["courseCode"].as_str().unwrap_or_default(),
                data.get("instanceId").and_then(Value::as_str),
            ),
            _ => catalogue.upsert_partner(data),
        }
    }
}

/// The catalogue entry a reference event touches, and whether it replaces all of it.
fn reference_entry(t: EventType, org: &str, data: &Value) -> ReferenceEntry {
    match t {
        EventType::PartnerUpserted => ReferenceEntry {
            key: format!("partner:{}", data["id"].as_str().unwrap_or_default()),
            replaces_earlier: true,
        },
        _ => ReferenceEntry {
            key: format!(
                "course:{org}:{}",
                data["courseCode"].as_str().unwrap_or_default()
            ),
            // Removing one instance edits the course; everything else replaces it.
            replaces_earlier: t == EventType::CourseUpserted || data.get("instanceId").is_none(),
        },
    }
}

fn catalogue_rejection(err: &CatalogueError) -> Rejection {
    let (reason, pointer) = match err {
        CatalogueError::UnknownCourse { .. } => (RejectReason::UnknownCourse, "/data/courseCode"),
        CatalogueError::UnknownInstance { .. } => (RejectReason::UnknownCourse, "/data/instanceId"),
        CatalogueError::WrongKind { .. } => (RejectReason::Unauthorized, "/data/id"),
        _ => (RejectReason::SchemaInvalid, "/data"),
    };
    Rejection {
        reason,
        detail: err.to_string(),
        errors: vec![Issue::new(pointer, "not accepted by the catalogue")],
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn whole_entry_changes_replace_earlier_ones_and_instance_removals_do_not() {
        let upsert = reference_entry(
            EventType::CourseUpserted,
            "chalmers",
            &json!({"courseCode": "TEK901"}),
        );
        assert_eq!(upsert.key, "course:chalmers:TEK901");
        assert!(upsert.replaces_earlier);
        let removal = reference_entry(
            EventType::CourseRemoved,
            "chalmers",
            &json!({"courseCode": "TEK901"}),
        );
        assert_eq!(removal, upsert);
        let instance = reference_entry(
            EventType::CourseRemoved,
            "chalmers",
            &json!({"courseCode": "TEK901", "instanceId": "2027-LP3"}),
        );
        assert_eq!(instance.key, upsert.key);
        assert!(!instance.replaces_earlier);
        let partner = reference_entry(
            EventType::PartnerUpserted,
            "registry",
            &json!({"id": "partner-001"}),
        );
        assert_eq!(partner.key, "partner:partner-001");
        assert!(partner.replaces_earlier);
    }
}
