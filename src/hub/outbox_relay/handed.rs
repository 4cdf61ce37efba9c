//! Rows that commits hand over while a batch is on the wire go out with it
//! ([`Publish::publish_train`](crate::transport::Publish::publish_train)), instead of waiting
//! for the batch's confirms and then for their own.
//!
//! Only what [`Intake`] would put in the next batch anyway is taken, in the same order —
//! whole commits, once a claim has caught up, at most `limit` rows — and only commits whose
//! own deadline is no earlier than the batch's (the batch is given back whole if it is not
//! published by then). The rows taken are judged with the batch; a commit whose deadline has
//! passed is given back, as the next step would.

use std::time::Instant;

use super::RelayConfig;
use super::intake::Intake;
use crate::pipeline::outbox::from_row;
use crate::store::{OutboxRow, Settlement};
use crate::transport::{More, Outbound};

/// What a batch on the wire takes from the intake.
pub(super) struct Handed<'a> {
    intake: &'a mut Intake,
    config: &'a RelayConfig,
    /// The batch's deadline.
    floor: Instant,
    /// Most rows taken.
    limit: usize,
    /// The rows taken, in the order handed to the publisher.
    pub(super) rows: Vec<OutboxRow>,
    /// Rows given back because their deadline had passed.
    pub(super) released: Vec<Settlement>,
}

impl<'a> Handed<'a> {
    pub(super) fn new(
        intake: &'a mut Intake,
        config: &'a RelayConfig,
        floor: Instant,
        limit: usize,
    ) -> Self {
        Self {
            intake,
            config,
            floor,
            limit,
            rows: Vec::new(),
            released: Vec::new(),
        }
    }
}

impl More for Handed<'_> {
    fn try_more(&mut self) -> Option<Vec<Outbound>> {
        let before = self.rows.len();
        self.intake.take_for_batch(
            &mut self.rows,
            &mut self.released,
            self.limit,
            self.config,
            self.floor,
        );
        let taken = self.rows.get(before..).unwrap_or_default();
        (!taken.is_empty()).then(|| taken.iter().map(|row| from_row(&row.message)).collect())
    }

    async fn more(&mut self) -> Vec<Outbound> {
        loop {
            if let Some(messages) = self.try_more() {
                return messages;
            }
            if self.rows.len() >= self.limit || !self.intake.takes_handed() {
                return std::future::pending().await;
            }
            self.intake.wait().await;
        }
    }
}
