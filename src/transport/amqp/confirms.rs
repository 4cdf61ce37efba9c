//! What became of each publish of a batch, from the broker's confirms.
//!
//! lapin answers a publish with `lapin::Result<Confirmation>`, where an ack or a nack may carry
//! a returned (unroutable) message — and, awaited with a deadline, that nests once more. Here
//! it is flattened once, into [`Confirm`], and matched once per kind of caller: in
//! [`outcomes`] for a pipelined batch, in publish.rs for a single publish.
//!
//! A `mandatory` message that reached no queue comes back (`basic.return`) just before its
//! ack, but lapin hands the return to whichever confirm it completes next; after a `multiple`
//! ack that may be a neighbour's, and the returned message's own confirm then looks like a
//! plain ack. So returns are collected over the batch first and matched to messages by
//! `message_id`: a message is unroutable when a return carries its id, whichever confirm
//! brought it.

use std::collections::HashMap;

use lapin::Confirmation;
use lapin::message::BasicReturnMessage;

use crate::transport::{Outbound, TransportError};

/// A message the broker handed back as unroutable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Returned {
    /// The returned message's `message_id`.
    pub(super) message_id: Option<String>,
    /// AMQP reply code (312 NO_ROUTE).
    pub(super) reply_code: u16,
    /// AMQP reply text.
    pub(super) reply_text: String,
}

impl Returned {
    fn of(r: &BasicReturnMessage) -> Self {
        Self {
            message_id: r
                .delivery
                .properties
                .message_id()
                .as_ref()
                .map(|id| id.to_string()),
            reply_code: r.reply_code,
            reply_text: r.reply_text.to_string(),
        }
    }
}

/// The broker's answer to one publish, or why there is none.
#[derive(Debug)]
pub(super) enum Confirm {
    /// Acked; a return may ride along (for this message or a neighbour).
    Ack(Option<Returned>),
    /// Nacked (a full queue with `reject-publish`, or the broker's own trouble).
    Nack(Option<Returned>),
    /// The channel is not in confirm mode.
    NotRequested,
    /// The confirm never came: the channel or connection closed first.
    Lost(lapin::Error),
    /// Not sent, not carried, or its deadline passed.
    Failed(TransportError),
}

impl Confirm {
    /// Flatten lapin's answer.
    pub(super) fn of(answer: lapin::Result<Confirmation>) -> Self {
        match answer {
            Ok(Confirmation::Ack(r)) => Self::Ack(r.as_ref().map(Returned::of)),
            Ok(Confirmation::Nack(r)) => Self::Nack(r.as_ref().map(Returned::of)),
            Ok(Confirmation::NotRequested) => Self::NotRequested,
            Err(e) => Self::Lost(e),
        }
    }

    fn returned(&self) -> Option<&Returned> {
        match self {
            Self::Ack(r) | Self::Nack(r) => r.as_ref(),
            _ => None,
        }
    }
}

/// Each message's fate, from the answers of the whole batch (see the module docs).
pub(super) fn outcomes(
    messages: &[&Outbound],
    answers: Vec<Option<Confirm>>,
) -> Vec<Result<(), TransportError>> {
    let returned: HashMap<Option<String>, Returned> = answers
        .iter()
        .flatten()
        .filter_map(Confirm::returned)
        .map(|r| (r.message_id.clone(), r.clone()))
        .collect();
    messages
        .iter()
        .zip(answers)
        .map(|(message, answer)| outcome(message, answer, &returned))
        .collect()
}

fn outcome(
    message: &Outbound,
    answer: Option<Confirm>,
    returned: &HashMap<Option<String>, Returned>,
) -> Result<(), TransportError> {
    let event_id = message.message_id.clone().unwrap_or_default();
    let exchange = message.exchange.clone();
    let routing_key = message.routing_key.clone();
    match answer {
        // Every index got an answer; this only keeps the function total.
        None => Err(not_published(message, "no outcome recorded", true)),
        Some(Confirm::Failed(e)) => Err(e),
        Some(Confirm::Lost(source)) => Err(TransportError::ConfirmLost { event_id, source }),
        Some(Confirm::NotRequested) => Err(TransportError::ConfirmsNotEnabled { event_id }),
        Some(Confirm::Nack(_)) => Err(TransportError::Nacked {
            event_id,
            exchange,
            routing_key,
        }),
        Some(Confirm::Ack(_)) => match returned.get(&message.message_id) {
            None => Ok(()),
            Some(r) => Err(TransportError::Unroutable {
                event_id,
                exchange,
                routing_key,
                reply_code: r.reply_code,
                reply_text: r.reply_text.clone(),
            }),
        },
    }
}

/// `message` was not published, for `cause`.
pub(super) fn not_published(message: &Outbound, cause: &str, transient: bool) -> TransportError {
    TransportError::NotPublished {
        event_id: message.message_id.clone().unwrap_or_default(),
        cause: cause.to_owned(),
        transient,
    }
}

#[cfg(test)]
mod tests {
    use lapin::BasicProperties;
    use lapin::message::Delivery;

    use super::*;

    fn message(id: &str) -> Outbound {
        Outbound {
            exchange: "samverkan.egress".into(),
            routing_key: format!("VGR.{id}"),
            body: Vec::new(),
            content_type: None,
            message_id: Some(id.into()),
            correlation_id: None,
            kind: None,
            headers: Default::default(),
        }
    }

    fn returned(id: &str) -> BasicReturnMessage {
        let mut delivery = Delivery::mock(0, "".into(), "".into(), false, Vec::new());
        delivery.properties = BasicProperties::default().with_message_id(id.into());
        BasicReturnMessage {
            delivery,
            reply_code: 312,
            reply_text: "NO_ROUTE".into(),
        }
    }

    fn ack(returned: Option<BasicReturnMessage>) -> Option<Confirm> {
        Some(Confirm::of(Ok(Confirmation::Ack(returned))))
    }

    #[test]
    fn a_return_counts_for_its_own_message_whichever_confirm_carried_it() {
        let batch = [message("a"), message("b"), message("c")];
        // One `multiple` ack completed a, b, c; lapin gave b's return to a.
        let answers = vec![ack(Some(returned("b"))), ack(None), ack(None)];
        let results = outcomes(&batch.iter().collect::<Vec<_>>(), answers);
        assert!(results[0].is_ok(), "{results:?}");
        assert!(matches!(
            &results[1],
            Err(TransportError::Unroutable { event_id, reply_code: 312, .. }) if event_id == "b"
        ));
        assert!(results[2].is_ok());
    }

    #[test]
    fn nacks_lost_confirms_and_unsent_messages_are_transient_failures() {
        let batch = [message("a"), message("b"), message("c"), message("d")];
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let answers = vec![
            Some(Confirm::of(Ok(Confirmation::Nack(None)))),
            Some(Confirm::of(Err(io.into()))),
            Some(Confirm::Failed(not_published(&batch[2], "link lost", true))),
            None,
        ];
        let results = outcomes(&batch.iter().collect::<Vec<_>>(), answers);
        assert!(matches!(&results[0], Err(TransportError::Nacked { .. })));
        assert!(matches!(
            &results[1],
            Err(TransportError::ConfirmLost { .. })
        ));
        assert!(matches!(
            &results[2],
            Err(TransportError::NotPublished { .. })
        ));
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().is_err_and(|e| e.is_transient()))
        );
    }
}
