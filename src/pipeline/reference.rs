//! Reference data: `course.upserted` / `course.removed` from universities and
//! `partner.upserted` from the registry keep the matching catalogue current.
//!
//! Entries are applied to the in-memory, topic-indexed [`crate::catalogue::Catalogue`] after
//! they pass the schema; an entry the catalogue cannot take (e.g. removing a course that does
//! not exist) is refused back to the sender like any other bad event.

use serde_json::Value;

use super::{Outcome, Pipeline};
use crate::catalogue::CatalogueError;
use crate::event::{CloudEvent, EventType, Issue, RejectReason};
use crate::rejection::Rejection;
use crate::settings::Organisation;
use crate::store::{AuditAction, AuditEntry, StoreError, Tx};
use crate::transport::Inbound;

impl Pipeline {
    /// Apply an admitted reference-data event (inbox already recorded in `tx`).
    pub(super) async fn update_reference(
        &self,
        mut tx: Tx,
        inbound: &Inbound,
        sender: &Organisation,
        event: &CloudEvent,
    ) -> Result<Outcome, StoreError> {
        if let Err(err) = self.apply_reference(event.event_type, sender.id.as_str(), &event.data) {
            tx.rollback().await?;
            let rejection = catalogue_rejection(&err);
            return self.refuse_event(inbound, sender, event, rejection).await;
        }
        tx.record_reference(event.event_type.as_str(), &sender.id, &event.data)
            .await?;
        let entry = AuditEntry {
            event_id: Some(event.id.clone()),
            org: Some(sender.id.clone()),
            ..AuditEntry::new(AuditAction::Validated)
        };
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(Outcome::Accepted {
            event_type: event.event_type,
        })
    }
}

impl Pipeline {
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

    /// Re-apply the reference-data events recorded in the store, oldest first, over the
    /// catalogue loaded from files: what events changed survives restarts. Returns how many
    /// were applied.
    pub async fn replay_reference(&self) -> Result<usize, StoreError> {
        let events = self.store.reference_events().await?;
        let mut applied = 0;
        for (t, org, data) in &events {
            let Some(t) = EventType::parse(t) else {
                continue;
            };
            match self.apply_reference(t, org, data) {
                Ok(()) => applied += 1,
                Err(e) => {
                    tracing::warn!(error = %e, org, "recorded reference event no longer applies")
                }
            }
        }
        Ok(applied)
    }
}

fn catalogue_rejection(err: &CatalogueError) -> Rejection {
    let (reason, pointer) = match err {
        CatalogueError::UnknownCourse { .. } => (RejectReason::UnknownCourse, "/data/courseCode"),
        CatalogueError::UnknownInstance { .. } => (RejectReason::UnknownCourse, "/data/instanceId"),
        _ => (RejectReason::SchemaInvalid, "/data"),
    };
    Rejection {
        reason,
        detail: err.to_string(),
        errors: vec![Issue::new(pointer, "not accepted by the catalogue")],
    }
}
