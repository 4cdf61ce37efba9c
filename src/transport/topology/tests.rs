//! The topology as data: names, bindings, validation and the printed plan.

use super::*;

fn topology() -> Topology {
    Topology::new(["VGR", "chalmers", "VGR", "partner-001"], 7).unwrap()
}

#[test]
fn has_the_three_durable_exchanges_of_the_design() {
    let t = topology();
    let kinds: Vec<_> = t.exchanges().iter().map(|e| (e.name, e.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("samverkan.ingress", ExchangeType::Topic),
            ("samverkan.egress", ExchangeType::Topic),
            ("samverkan.dlx", ExchangeType::Fanout),
        ]
    );
}

#[test]
fn hub_queues_come_first_then_one_queue_per_organisation_sorted_and_deduplicated() {
    let t = topology();
    let names: Vec<_> = t.queues().iter().map(|q| q.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "samverkan.hub.ingress",
            "samverkan.hub.dead",
            "samverkan.hub.replay",
            "samverkan.org.VGR",
            "samverkan.org.chalmers",
            "samverkan.org.partner-001",
        ]
    );
    assert_eq!(t.org_ids(), ["VGR", "chalmers", "partner-001"]);
    assert_eq!(t.delivery_limit(), 7);
}

#[test]
fn bindings_follow_the_design() {
    let t = topology();
    let binding = |q: &str| t.queue(q).unwrap().bindings.clone();
    assert_eq!(
        binding(HUB_INGRESS_QUEUE),
        [Binding {
            exchange: INGRESS_EXCHANGE,
            routing_key: "#".into()
        }]
    );
    assert!(binding(HUB_REPLAY_QUEUE).is_empty(), "reached by name only");
    assert_eq!(
        binding(HUB_DEAD_QUEUE),
        [Binding {
            exchange: DEAD_LETTER_EXCHANGE,
            routing_key: String::new()
        }]
    );
    assert_eq!(
        t.org_queue("chalmers").unwrap().bindings,
        [Binding {
            exchange: EGRESS_EXCHANGE,
            routing_key: "chalmers.#".into()
        }]
    );
    assert!(t.org_queue("KTH").is_none());
}

#[test]
fn routing_keys_put_the_organisation_first() {
    assert_eq!(
        Topology::egress_routing_key("VGR", EventType::NeedStatus),
        "VGR.se.samverkan.need.status.v1"
    );
    assert_eq!(
        Topology::ingress_routing_key(EventType::NeedSubmitted),
        "se.samverkan.need.submitted.v1"
    );
    assert_eq!(Topology::org_queue_name("mdu"), "samverkan.org.mdu");
}

#[test]
fn org_ids_that_could_widen_a_binding_are_refused() {
    for bad in [
        "",
        "a.b",
        "VGR.#",
        "*",
        "#",
        "-VGR",
        "_x",
        "é",
        "a b",
        &"x".repeat(64),
    ] {
        let err = Topology::new([bad], 20).unwrap_err();
        assert!(
            matches!(err, TransportError::InvalidOrgId { .. }),
            "{bad:?}: {err}"
        );
    }
    assert!(Topology::new(["x".repeat(63)], 20).is_ok());
    assert!(Topology::new(Vec::<String>::new(), 20).is_ok());
}

#[test]
fn delivery_limit_must_fit_a_positive_long_int() {
    for bad in [0, u32::MAX, i32::MAX as u32 + 1] {
        let err = Topology::new(["VGR"], bad).unwrap_err();
        assert!(
            matches!(err, TransportError::InvalidDeliveryLimit { .. }),
            "{bad}"
        );
    }
    assert!(Topology::new(["VGR"], i32::MAX as u32).is_ok());
}

#[test]
fn describe_prints_every_exchange_queue_and_binding() {
    let text = Topology::new(["VGR", "chalmers"], 20).unwrap().to_string();
    let expected = "\
exchanges (durable):
  samverkan.ingress  topic
  samverkan.egress   topic
  samverkan.dlx      fanout
queues (durable, quorum):
  samverkan.hub.ingress   <- samverkan.ingress \"#\"; dead-lettered to samverkan.dlx after 20 deliveries
  samverkan.hub.dead      <- samverkan.dlx; no delivery limit
  samverkan.hub.replay    <- (default exchange only); dead-lettered to samverkan.dlx after 20 deliveries
  samverkan.org.VGR       <- samverkan.egress \"VGR.#\"; dead-lettered to samverkan.dlx after 20 deliveries
  samverkan.org.chalmers  <- samverkan.egress \"chalmers.#\"; dead-lettered to samverkan.dlx after 20 deliveries
";
    assert_eq!(text, expected);
    assert!(
        Topology::new(Vec::<&str>::new(), 20)
            .unwrap()
            .to_string()
            .contains("no organisations")
    );
}
