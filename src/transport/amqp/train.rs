//! One batch on one link: its messages sent in chunks, their confirms awaited in a sliding
//! window, and — while confirms are outstanding — messages its caller is handed meanwhile
//! ([`More`]) sent after them on the same link, as part of the same batch.
//!
//! **Why a batch can grow while it waits.** A relay that publishes what it was handed only
//! after the batch on the wire is confirmed makes every message committed meanwhile wait for
//! the broker's confirms of others (several milliseconds per batch on a busy broker). Sent at
//! once, it waits only for its own.
//!
//! **Why it stays one batch.** lapin hands a returned (unroutable) message to whichever
//! confirm the broker's next ack completes, which may be another message's (`confirms.rs`), so
//! returns are matched to messages over the whole batch; a message sent as part of another
//! batch on the same link could have its return land in this one and be taken for routed.
//! And a message taken after the link was lost is not sent: sent on a new link, it could
//! overtake earlier ones of the same organisation given back to be published again.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use super::confirms::{Confirm, not_published, outcomes};
use super::limits;
use super::link::Link;
use super::publisher::AmqpPublisher;
use crate::transport::{More, Outbound, TransportError};

/// Messages whose frames are queued together and written in one go (`Publisher::send_all`);
/// the window of confirms slides over such chunks.
const SEND_CHUNK: usize = 64;

type Confirming<'a> = Pin<Box<dyn Future<Output = Confirm> + Send + 'a>>;

/// What a batch on the wire waits for next: the front confirm, or more messages handed over.
enum Event {
    /// The confirm of the oldest message in flight.
    Answered(Confirm),
    /// Messages handed over while confirms are outstanding; sent at once.
    Handed(Vec<Outbound>),
}

/// A batch under way on `link`.
pub(super) struct Train<'a> {
    publisher: &'a AmqpPublisher,
    link: &'a Link,
    window: usize,
    /// One answer per message, first ones then later ones.
    answers: Vec<Option<Confirm>>,
    in_flight: VecDeque<(usize, Confirming<'a>)>,
    /// Why the link is no longer usable, once a send found it so.
    broken: Option<String>,
}

impl<'a> Train<'a> {
    pub(super) fn new(publisher: &'a AmqpPublisher, link: &'a Link, window: usize) -> Self {
        Self {
            publisher,
            link,
            window: window.max(1),
            answers: Vec::new(),
            in_flight: VecDeque::new(),
            broken: None,
        }
    }

    /// Send `first`, then whatever `more` hands over until every confirm is in; each fate in
    /// the order sent.
    pub(super) async fn run<M: More>(
        mut self,
        first: &[Outbound],
        more: &mut M,
    ) -> Vec<Result<(), TransportError>> {
        // Messages handed over after the first ones, in the order sent.
        let mut later: Vec<Vec<Outbound>> = Vec::new();
        self.send(first).await;
        loop {
            let taking = self.broken.is_none() && self.in_flight.len() < self.window;
            let event = match self.in_flight.front_mut() {
                None if taking => more.try_more().map(Event::Handed),
                None => None,
                Some((_, front)) => Some(tokio::select! {
                    biased;
                    answer = front => Event::Answered(answer),
                    next = more.more(), if taking => Event::Handed(next),
                }),
            };
            match event {
                None => break,
                Some(Event::Handed(next)) => {
                    later.push(next);
                    if let Some(next) = later.last() {
                        self.send(next).await;
                    }
                }
                Some(Event::Answered(answer)) => {
                    if let Some((j, _)) = self.in_flight.pop_front() {
                        self.answers[j] = Some(answer);
                    }
                }
            }
        }
        let messages: Vec<&Outbound> = first.iter().chain(later.iter().flatten()).collect();
        outcomes(&messages, self.answers)
    }

    /// Send `messages` (numbered after those sent before) in chunks, keeping at most `window`
    /// confirms outstanding.
    async fn send(&mut self, messages: &[Outbound]) {
        let base = self.answers.len();
        self.answers.extend(messages.iter().map(|_| None));
        let frame_max = self.link.connection.configuration().frame_max();
        let sendable = self.sendable(messages, base, frame_max);
        for chunk in sendable.chunks(SEND_CHUNK.min(self.window)) {
            if let Some(cause) = &self.broken {
                for &i in chunk {
                    let failed = not_published(&messages[i - base], cause, true);
                    self.answers[i] = Some(Confirm::Failed(failed));
                }
                continue;
            }
            while self.in_flight.len() + chunk.len() > self.window
                && let Some((j, confirm)) = self.in_flight.pop_front()
            {
                self.answers[j] = Some(confirm.await);
            }
            let chunk_messages: Vec<&Outbound> =
                chunk.iter().map(|&i| &messages[i - base]).collect();
            let sent = self.link.publisher.send_all(&chunk_messages).await;
            let at = Instant::now();
            for (&i, result) in chunk.iter().zip(sent) {
                match result {
                    Ok(confirm) => {
                        let confirming = self.publisher.confirmation(self.link, confirm, at);
                        self.in_flight.push_back((i, Box::pin(confirming)));
                    }
                    Err(e) => {
                        if !self.link.usable() {
                            self.broken = Some(format!("the broker link was lost mid-batch ({e})"));
                        }
                        self.answers[i] = Some(Confirm::Failed(e));
                    }
                }
            }
        }
    }

    /// The numbers of the `messages` AMQP can carry; the others are answered as
    /// [`TransportError::Unsendable`] (sent, they would cost the link a FRAME_ERROR or never
    /// encode).
    fn sendable(&mut self, messages: &[Outbound], base: usize, frame_max: u32) -> Vec<usize> {
        let max_bytes = self.publisher.max_message_bytes();
        let mut sendable = Vec::with_capacity(messages.len());
        for (k, message) in messages.iter().enumerate() {
            match limits::check(message, frame_max, max_bytes) {
                Ok(()) => sendable.push(base + k),
                Err(reason) => {
                    let event_id = message.message_id.clone().unwrap_or_default();
                    let error = TransportError::Unsendable { event_id, reason };
                    self.answers[base + k] = Some(Confirm::Failed(error));
                }
            }
        }
        sendable
    }
}
