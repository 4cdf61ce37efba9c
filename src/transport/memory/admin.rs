//! The in-process broker's dead letters through [`DeadLetterAdmin`], so the demo's console
//! lists, shows and replays them exactly as an operator does on RabbitMQ.
//!
//! Everything happens under the broker's one lock, so a replay is atomic here: a dead letter
//! leaves `samverkan.hub.dead` in the same step as its replay enters `samverkan.hub.replay`
//! (on RabbitMQ the ack follows the confirm; see `amqp::AmqpDeadLetters`).

use std::collections::VecDeque;

use super::{MemoryBroker, lock};
use crate::transport::dead_letter_admin::{
    AdminFuture, DeadLetterAdmin, DeadLetterDetail, DeadLetters, ReplayOutcome, ReplayReport,
    Selector, decide, describe, detail, replay_message,
};
use crate::transport::{HUB_DEAD_QUEUE, TransportError};

impl MemoryBroker {
    fn list_now(&self, limit: usize) -> Result<DeadLetters, TransportError> {
        let mut state = lock(&self.state);
        let dead = state.queue(HUB_DEAD_QUEUE)?;
        let total = u32::try_from(dead.ready.len()).unwrap_or(u32::MAX);
        let messages = dead
            .ready
            .iter()
            .take(limit)
            .map(|s| describe(&s.inbound))
            .collect();
        Ok(DeadLetters::of(total, messages))
    }

    fn show_now(&self, id: &str) -> Result<Option<DeadLetterDetail>, TransportError> {
        let mut state = lock(&self.state);
        let dead = state.queue(HUB_DEAD_QUEUE)?;
        Ok(dead
            .ready
            .iter()
            .find(|s| describe(&s.inbound).id == id)
            .map(|s| detail(&s.inbound)))
    }

    fn replay_now(
        &self,
        selector: &Selector,
        dry_run: bool,
    ) -> Result<ReplayReport, TransportError> {
        let mut state = lock(&self.state);
        let taken: VecDeque<_> = std::mem::take(&mut state.queue(HUB_DEAD_QUEUE)?.ready);
        let mut kept = VecDeque::with_capacity(taken.len());
        let mut items = Vec::new();
        for stored in taken {
            let Some((mut item, go)) = decide(&stored.inbound, selector, dry_run) else {
                kept.push_back(stored);
                continue;
            };
            if go {
                if let Err(e) = state.publish(&replay_message(&stored.inbound), None) {
                    item.outcome = ReplayOutcome::Failed {
                        error: e.to_string(),
                    };
                    kept.push_back(stored);
                }
            } else {
                kept.push_back(stored);
            }
            items.push(item);
        }
        state.queue(HUB_DEAD_QUEUE)?.ready = kept;
        Ok(ReplayReport::of(selector, dry_run, items))
    }
}

impl DeadLetterAdmin for MemoryBroker {
    fn list(&self, limit: usize) -> AdminFuture<'_, DeadLetters> {
        Box::pin(std::future::ready(self.list_now(limit)))
    }

    fn show<'a>(&'a self, id: &'a str) -> AdminFuture<'a, Option<DeadLetterDetail>> {
        Box::pin(std::future::ready(self.show_now(id)))
    }

    fn replay<'a>(&'a self, selector: &'a Selector) -> AdminFuture<'a, ReplayReport> {
        Box::pin(std::future::ready(self.replay_now(selector, false)))
    }

    fn check<'a>(&'a self, selector: &'a Selector) -> AdminFuture<'a, ReplayReport> {
        Box::pin(std::future::ready(self.replay_now(selector, true)))
    }
}
